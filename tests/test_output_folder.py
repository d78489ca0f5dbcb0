"""An output folder is one run, complete or visibly incomplete; readers trust only that.

Most checks call the command line in-process (`cli.main`), as a user would run it, but
without paying for a new interpreter each time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from postenroll_sim import load_scenario, simulate
from postenroll_sim.report.build import read_run
from postenroll_sim.run import outdir, runner
from postenroll_sim.run.outdir import OutputError, read_meta

from helpers import ROOT

SCENARIO = ROOT / "tests" / "acceptance" / "01-seed-completed-delay.yaml"
STOCHASTIC = ROOT / "scenarios" / "remediation-on-failure.yaml"


def _listed(folder: Path) -> list[str]:
    return sorted(item["name"] for item in json.loads((folder / "run.json").read_text())["files"])


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_new_run_replaces_every_file_of_the_old_one(cli, tmp_path, sketched_figures):
    out = tmp_path / "out"
    assert cli("run", SCENARIO, "--out", out, "--format", "csv", "--report", "-q")[0] == 0
    assert "report.html" in _files(out) and "events.csv" in _files(out)
    code, _, err = cli("run", SCENARIO, "--out", out, "--tables", "enrollments,jobs", "-q")
    assert code == 0, err
    # nothing of the first run is left: not the other format, not its report
    assert _files(out) == ["enrollments.parquet", "jobs.parquet", "run.json"]
    assert _listed(out) == ["enrollments.parquet", "jobs.parquet"]


def test_run_json_records_what_ran(cli, tmp_path):
    out = tmp_path / "out"
    code, _, err = cli("run", SCENARIO, "--out", out, "--seed", "99", "-q")
    assert code == 0, err
    meta = json.loads((out / "run.json").read_text())
    assert meta["complete"] is True and meta["seed"] == 99 and meta["replications"] == 1
    assert meta["arguments"] == ["run", str(SCENARIO), "--out", str(out), "--seed", "99", "-q"]
    assert (
        meta["engine"] in ("compiled", "interpreted")
        and meta["version"]
        and meta["started"] <= meta["finished"]
    )
    enrollments = next(f for f in meta["files"] if f["table"] == "enrollments")
    assert enrollments["rows"] == len(pd.read_parquet(out / "enrollments.parquet")) == 3
    outdir.verify(out, meta)  # sizes and checksums match the files


def test_a_sweep_records_its_variants_and_honours_a_swept_seed(tmp_path):
    from postenroll_sim.scenario.variants import variants

    result = runner.simulate_variants(variants(STOCHASTIC, ["seed=1,2"]), replications=1)
    assert [v["seed"] for v in result.variants] == [1, 2] and result.seed is None
    by_variant = [frame for _, frame in result.enrollments.groupby("variant", observed=True)]
    first, second = (f.drop(columns="variant").reset_index(drop=True) for f in by_variant)
    assert not first.equals(second)  # seed=1 and seed=2 are two different draws


def test_a_failure_during_the_final_moves_leaves_a_visibly_incomplete_folder(
    cli, tmp_path, monkeypatch
):
    out = tmp_path / "out"
    assert cli("run", SCENARIO, "--out", out, "-q")[0] == 0
    real_replace, moves = os.replace, []

    def replace_then_die(src, dst):
        moves.append(dst)
        if len(moves) == 3:  # run.json marked incomplete, one table moved in, then a failure
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(outdir.os, "replace", replace_then_die)
    code, _, err = cli("run", SCENARIO, "--out", out, "--format", "csv", "-q")
    monkeypatch.setattr(outdir.os, "replace", real_replace)
    assert code == 2 and "No space left on device" in err and "incomplete" in err
    assert json.loads((out / "run.json").read_text())["complete"] is False
    with pytest.raises(OutputError, match="incomplete"):
        read_run(out)
    code, _, err = cli("report", out)
    assert code == 2 and err.count("\n") == 1 and "incomplete" in err
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging left


def test_a_failure_while_staging_keeps_the_previous_run_whole(cli, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert cli("run", SCENARIO, "--out", out, "-q")[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk)
    code, _, err = cli("run", SCENARIO, "--out", out, "--format", "csv", "-q")
    assert code == 2 and err.startswith("postenroll-sim: ") and "Traceback" not in err
    assert f"cannot write to {out}: No space left on device" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    read_run(out)  # still complete and verified


def test_a_killed_runs_staging_folder_is_cleaned_by_the_next_run(cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    leftover = out / f"{outdir.STAGING_PREFIX}{int(dead.stdout)}-abcd"
    leftover.mkdir()
    (leftover / "events.parquet").write_bytes(b"half")
    legacy = tmp_path / ".out.x1y2.tmp"  # how an older version staged, beside the folder
    legacy.mkdir()
    (legacy / "jobs.csv").write_text("x")
    assert cli("run", SCENARIO, "--out", out, "-q")[0] == 0
    assert not leftover.exists() and not legacy.exists()


@pytest.mark.parametrize(
    ("out", "words"),
    [
        ("", "--out is empty"),
        ("/", "root folder"),
        (".", "current directory"),
        ("afile", "is a file"),
        ("afile/sub", "is a file"),
        ("mine", "did not write (notes.txt)"),
    ],
)
def test_unsafe_output_folders_are_refused_before_the_run(cli, tmp_path, monkeypatch, out, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("keep me")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    ran = []
    monkeypatch.setattr(runner, "simulate", lambda *a, **k: ran.append(1))
    code, _, err = cli("run", SCENARIO, "--out", out, "-q")
    assert code == 2 and words in err and err.count("\n") == 1, err
    assert not ran  # refused before simulating anything
    assert (tmp_path / "afile").read_text() == "keep me"
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_force_writes_beside_other_files_and_keeps_them(cli, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert cli("run", SCENARIO, "--out", out, "--force", "-q")[0] == 0
    assert (out / "notes.txt").read_text() == "keep me" and read_meta(out)["complete"]


def test_a_folder_that_cannot_be_written_is_one_line_before_the_run(cli, tmp_path, monkeypatch):
    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", denied)
    code, _, err = cli("run", SCENARIO, "--out", tmp_path / "ro", "-q")
    assert (
        code == 2
        and err.strip() == f"postenroll-sim: cannot create {tmp_path / 'ro'}: Permission denied"
    )


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs a second filesystem")
def test_out_through_a_symlink_to_another_filesystem(cli, tmp_path):
    target = Path("/dev/shm") / f"postenroll-test-{os.getpid()}"
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    try:
        code, _, err = cli("run", SCENARIO, "--out", link, "-q")
        assert code == 0, err
        assert read_meta(target)["complete"] and (target / "enrollments.parquet").is_file()
    finally:
        import shutil

        shutil.rmtree(target, ignore_errors=True)


def test_report_refuses_damaged_folders_in_one_line(cli, tmp_path, sketched_figures):
    out = tmp_path / "out"
    assert cli("run", SCENARIO, "--out", out, "-q")[0] == 0
    data = (out / "events.parquet").read_bytes()
    (out / "events.parquet").write_bytes(data[: len(data) // 2])  # truncated
    code, _, err = cli("report", out)
    assert code == 2 and "changed since the run" in err and err.count("\n") == 1
    (out / "events.parquet").write_bytes(data)
    assert cli("report", out)[0] == 0 and "report.html" in _listed(out)
    (out / "run.json").write_text('{"complete": tr')
    code, _, err = cli("report", out)
    assert code == 2 and "run.json is damaged" in err and err.count("\n") == 1
    code, _, err = cli("report", tmp_path / "nowhere")
    assert code == 2 and "no such folder" in err


def test_csv_read_back_keeps_ids_as_text_and_dtypes(cli, tmp_path):
    path = tmp_path / "ids.yaml"
    path.write_text(
        "name: ids\nhorizon_days: 5\ncourses: [{id: '1e3', type: online}, {id: 'NA', type: online}]\n"
        "learners: ['007', 'null', 'NA']\n"
        "script:\n"
        "  - {day: 0, action: enroll, learner: '007', course: '1e3'}\n"
        "  - {day: 1, action: enroll, learner: 'null', course: 'NA'}\n"
        "  - {day: 2, action: complete, learner: '007', course: '1e3'}\n"
    )
    assert cli("run", path, "--out", tmp_path / "csv", "--format", "csv", "-q")[0] == 0
    from_csv, _ = read_run(tmp_path / "csv")
    assert list(from_csv.enrollments["learner_id"]) == ["007", "null"]
    assert list(from_csv.enrollments["course_id"]) == ["1e3", "NA"]
    original = simulate(load_scenario(path))
    for name in ("enrollments", "jobs", "events"):
        pd.testing.assert_frame_equal(getattr(from_csv, name), getattr(original, name))


def test_parquet_files_are_the_ones_pandas_writes(tmp_path):
    # outdir writes through pyarrow directly, for speed: the bytes must not change (row
    # groups of its own size, larger than pandas' default)
    from postenroll_sim import load_scenario, simulate
    from postenroll_sim.run.outdir import ROW_GROUP_ROWS, write_parquet

    result = simulate(load_scenario(SCENARIO))
    for name, frame in result.tables().items():
        write_parquet(frame, tmp_path / f"{name}.fast.parquet")
        frame.to_parquet(
            tmp_path / f"{name}.pandas.parquet", index=False, row_group_size=ROW_GROUP_ROWS
        )
        fast = (tmp_path / f"{name}.fast.parquet").read_bytes()
        assert fast == (tmp_path / f"{name}.pandas.parquet").read_bytes(), name
