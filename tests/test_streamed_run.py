"""A single run is written to disk as it is built (`runner.simulate_into`, what
`postenroll-sim run` does): one table at a time, the events table in row-group batches,
the event log kept in the staging area during the run. Its files must be the ones a run
held in memory writes, byte for byte, and its summary the same text."""

from __future__ import annotations

import json

import pytest

from benchmarks.reference import reference_scenario
from postenroll_sim import parse_scenario
from postenroll_sim.run import outdir, runner
from postenroll_sim.run.outdir import OutputFolder
from postenroll_sim.run.summary import digest_text, summary_text

# enough learners for the event log to fill and spill several of its chunks
SCENARIO = parse_scenario(reference_scenario(4000, 1.0), "reference.yaml")
SMALL = parse_scenario(reference_scenario(600, 1.0), "reference.yaml")  # CSV is slow to write


def _without_times(folder):
    meta = json.loads((folder / "run.json").read_text())
    for key in ("started", "finished", "arguments"):
        meta.pop(key, None)
    return meta


@pytest.mark.parametrize(
    ("fmt", "scenario", "rows"), [("parquet", SCENARIO, 7_919), ("csv", SMALL, 997)]
)
def test_a_streamed_run_writes_the_files_a_run_in_memory_writes(
    tmp_path, monkeypatch, fmt, scenario, rows
):
    # small row groups, so the events table is written in many batches
    monkeypatch.setattr(outdir, "ROW_GROUP_ROWS", rows)
    whole = runner.simulate(scenario)
    whole.write(tmp_path / "whole", format=fmt)

    folder = OutputFolder.claim(tmp_path / "streamed")
    seen = []
    stage = folder.stage_table

    def spy(name, frames, fmt):
        def counted():
            for frame in frames:
                seen.append((name, len(frame)))
                # the log was spilled into the staging area, and is read from there
                assert name != "events" or (folder.staging / runner.SPILL_NAME).exists()
                yield frame

        return stage(name, counted(), fmt)

    monkeypatch.setattr(folder, "stage_table", spy)
    staged = runner.simulate_into(folder, scenario, fmt)
    assert staged.result.tables() == {}  # nothing kept in memory
    staged.result.commit(folder, staged.files, fmt)

    events = [rows for name, rows in seen if name == "events"]
    assert len(events) > 10 and set(events[:-1]) == {rows}
    assert sum(events) == len(whole.events)
    for name in whole.tables():
        file = f"{name}.{fmt}"
        assert (tmp_path / "streamed" / file).read_bytes() == (
            tmp_path / "whole" / file
        ).read_bytes(), file
    assert _without_times(tmp_path / "streamed") == _without_times(tmp_path / "whole")
    assert sorted(p.name for p in (tmp_path / "streamed").iterdir()) == sorted(
        p.name for p in (tmp_path / "whole").iterdir()
    )  # the spilled log went with the staging area
    assert digest_text(staged.digest, scenario, "x") == summary_text(whole, "x")


def test_kept_tables_are_the_tables_of_a_run_in_memory(tmp_path):
    whole = runner.simulate(SMALL, tables=("enrollments", "events"))
    folder = OutputFolder.claim(tmp_path / "out")
    staged = runner.simulate_into(folder, SMALL, tables=("enrollments", "events"), keep=True)
    assert list(staged.result.tables()) == ["enrollments", "events"]
    for name, frame in whole.tables().items():
        assert frame.equals(staged.result.tables()[name]), name
    assert [f["table"] for f in staged.files] == ["enrollments", "events"]
    folder.discard()


def test_a_run_that_fails_leaves_neither_tables_nor_its_spilled_log(tmp_path, monkeypatch):
    folder = OutputFolder.claim(tmp_path / "out")

    def broken(*args, **kwargs):
        assert (folder.staging / runner.SPILL_NAME).exists()  # the log went there
        raise RuntimeError("disk full")

    monkeypatch.setattr(folder, "stage_table", broken)
    with pytest.raises(RuntimeError):
        runner.simulate_into(folder, SCENARIO)
    assert not (folder.staging / runner.SPILL_NAME).exists()  # the model closed its log
    folder.discard()
    assert not (tmp_path / "out").exists()
