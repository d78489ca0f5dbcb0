"""Several replications (and a sweep's, and a comparison's runs) written as each one
finishes (`runner.simulate_replications_into`, what `run --replications N`, `sweep` and
`compare --out` do): each worker writes its tables as parts, the parent appends them in
replication order. The files must not depend on the executor, the number of workers or
the order replications finish in; they read back as the tables a run held in memory
writes (CSV: the same bytes), and the summary says the same."""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import Executor, Future

import pandas as pd
import pytest

from benchmarks.reference import reference_scenario
from postenroll_sim import parse_scenario
from postenroll_sim.design.whatif import what_if
from postenroll_sim.errors import SchedulerError
from postenroll_sim.run import outdir, runner
from postenroll_sim.run.outdir import OutputFolder, read_meta, read_tables
from postenroll_sim.run.summary import (
    digest_text,
    summary_text,
    sweep_digest_text,
    sweep_summary_text,
    variant_table,
)

SCENARIO = parse_scenario(reference_scenario(1500, 1.0), "reference.yaml")
SMALL = parse_scenario(reference_scenario(300, 1.0), "reference.yaml")  # CSV is slow
ROWS = 9_001  # small row groups: each replication's events table comes in several batches


class ReversedExecutor(Executor):
    """Runs the tasks on a thread of its own once all `count` are submitted, the last
    first: replications finish in the opposite order of the serial executor's."""

    def __init__(self, count: int):
        self.count = count
        self.queue: list[tuple[Future, object, tuple]] = []

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        self.queue.append((future, fn, args))
        if len(self.queue) == self.count:
            threading.Thread(target=self._run_all, daemon=True).start()
        return future

    def _run_all(self) -> None:
        for future, fn, args in reversed(self.queue):
            try:
                future.set_result(fn(*args))
            except Exception as exc:
                future.set_exception(exc)


def _staged(tmp_path, name, fmt="parquet", scenario=SCENARIO, replications=3, **how):
    folder = OutputFolder.claim(tmp_path / name)
    staged = runner.simulate_replications_into(folder, scenario, replications, fmt, **how)
    staged.result.commit(folder, staged.files, fmt)
    return tmp_path / name, staged


def assert_frame_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """`pd.testing.assert_frame_equal`, with each categorical column compared as its
    categories (in order) and codes: the same values, checked in a fraction of the time
    (pandas compares the Arrow-backed categories a file reads back with value by value)."""
    assert list(a.columns) == list(b.columns)
    coded = []
    for x in (a, b):
        x = x.copy(deep=False)
        for name in x.columns:
            if isinstance(x[name].dtype, pd.CategoricalDtype):
                x[name] = x[name].cat.codes
        coded.append(x)
    for name in a.columns:
        if isinstance(a[name].dtype, pd.CategoricalDtype):
            assert isinstance(b[name].dtype, pd.CategoricalDtype), name
            assert list(a[name].cat.categories) == list(b[name].cat.categories), name
            assert a[name].cat.categories.dtype == b[name].cat.categories.dtype, name
    pd.testing.assert_frame_equal(*coded)


def _same_tables(folder, in_memory, where, fmt="parquet"):
    """The tables in `folder` read back as those of `in_memory` written into `where` do."""
    in_memory.write(where, format=fmt)
    tables = read_tables(folder, read_meta(folder))
    expected = read_tables(where, read_meta(where))
    assert list(tables) == list(expected)
    for name, frame in expected.items():
        assert_frame_equal(tables[name], frame)
    for name, frame in in_memory.tables().items():  # and as they were, where rows are
        if len(frame):
            assert_frame_equal(tables[name], frame)


def _files(folder):
    meta = json.loads((folder / "run.json").read_text())
    return {item["name"]: (folder / item["name"]).read_bytes() for item in meta["files"]}


def _meta_without_times(folder):
    meta = json.loads((folder / "run.json").read_text())
    for key in ("started", "finished", "arguments"):
        meta.pop(key, None)
    for item in meta["files"]:
        item.pop("sha256")
        item.pop("bytes")
    return meta


@pytest.fixture(scope="module")
def in_memory():
    return runner.simulate_replications(SCENARIO, 3)


def test_the_files_do_not_depend_on_the_executor_or_the_finish_order(
    tmp_path, monkeypatch, in_memory
):
    monkeypatch.setattr(outdir, "ROW_GROUP_ROWS", ROWS)
    serial, staged = _staged(tmp_path, "serial")
    pool, _ = _staged(tmp_path, "pool", workers=2)
    backwards, _ = _staged(tmp_path, "backwards", executor=ReversedExecutor(3))
    files = _files(serial)
    assert list(files) == [f"{name}.parquet" for name in in_memory.tables()]
    assert _files(pool) == files
    assert _files(backwards) == files
    # nothing but the run's files is left: the parts went with the staging area
    assert sorted(p.name for p in serial.iterdir()) == sorted([*files, "run.json"])

    # what a run in memory writes reads back the same: rows, dtypes, united categories
    _same_tables(serial, in_memory, tmp_path / "whole")
    assert _meta_without_times(serial) == _meta_without_times(tmp_path / "whole")
    assert digest_text(staged.digest, SCENARIO, "x") == summary_text(in_memory, "x")

    # each replication is its own row groups, of at most ROW_GROUP_ROWS rows
    import pyarrow.parquet as pq

    events = pq.ParquetFile(serial / "events.parquet")
    sizes = [events.metadata.row_group(i).num_rows for i in range(events.num_row_groups)]
    per = in_memory.events.groupby("replication").size().tolist()
    assert max(sizes) == ROWS and sum(sizes) == sum(per) and len(sizes) > len(per)


def _dask_parts(tmp_path, name, patch_proof=False):
    """The kinds of part each task of a Dask run (a local cluster) handed back; with
    `patch_proof` the parent's proof is never written, as for workers on another machine
    (where the staging area's path is another folder, or none)."""
    distributed = pytest.importorskip("distributed")
    written = []
    take = runner._Assembly.take

    def spy(self, part):
        written.append({name: type(data).__name__ for name, data in part.parts.items()})
        take(self, part)

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(runner._Assembly, "take", spy)
        if patch_proof:
            patch.setattr(runner, "_leave_proof", lambda staging: ".sink-never-written")
        folder, _ = _staged(tmp_path, name, scheduler=cluster.scheduler_address)
    return folder, written


def test_a_dask_worker_that_sees_the_folder_writes_its_own_parts(tmp_path, in_memory):
    serial, _ = _staged(tmp_path, "serial")
    dask, written = _dask_parts(tmp_path, "dask")
    assert len(written) == 3 and all(set(w.values()) == {"str"} for w in written)
    assert _files(dask) == _files(serial)
    assert not [p for p in os.listdir(dask) if p.startswith(".")]  # proof and parts gone


def test_a_dask_worker_on_another_machine_hands_its_parts_back_as_bytes(tmp_path, in_memory):
    serial, _ = _staged(tmp_path, "serial")
    dask, written = _dask_parts(tmp_path, "dask", patch_proof=True)
    assert len(written) == 3 and all(set(w.values()) == {"Buffer"} for w in written)
    assert _files(dask) == _files(serial)


def test_only_the_proof_with_its_own_name_lets_a_worker_write(tmp_path):
    task = runner.Task(SMALL, None, 0, sink=str(tmp_path), sink_proof=".sink-abc")
    assert not runner.sees_sink(task)  # no proof there
    (tmp_path / ".sink-abc").write_text("another run's")
    assert not runner.sees_sink(task)
    (tmp_path / ".sink-abc").write_text(".sink-abc")
    assert runner.sees_sink(task)
    assert runner.sees_sink(task._replace(sink_proof=None))  # a local pool: always
    assert not runner.sees_sink(task._replace(sink=None))


def test_csv_is_the_bytes_a_run_in_memory_writes(tmp_path):
    whole = runner.simulate_replications(SMALL, 3)
    whole.write(tmp_path / "whole", format="csv")
    streamed, staged = _staged(tmp_path, "streamed", "csv", SMALL, workers=2)
    assert _files(streamed) == _files(tmp_path / "whole")
    assert _meta_without_times(streamed) == _meta_without_times(tmp_path / "whole")
    assert digest_text(staged.digest, SMALL, "x") == summary_text(whole, "x")


def test_kept_tables_are_read_back_for_a_report(tmp_path, in_memory):
    folder = OutputFolder.claim(tmp_path / "kept")
    staged = runner.simulate_replications_into(folder, SCENARIO, 3, keep=True)
    assert list(staged.result.tables()) == list(in_memory.tables())
    for name, frame in in_memory.tables().items():
        if len(frame):  # (an empty table reads back with no categories, as it always did)
            assert_frame_equal(staged.result.tables()[name], frame)
    folder.discard()


def test_a_sweep_and_a_comparison_say_what_they_say_in_memory(tmp_path):
    variants = [("low", SMALL), ("high", SMALL.model_copy(update={"seed": 99}))]
    whole = runner.simulate_variants(variants, 2)
    folder = OutputFolder.claim(tmp_path / "sweep")
    staged = runner.simulate_variants_into(folder, variants, 2, workers=2)
    staged.result.commit(folder, staged.files, "parquet")
    _same_tables(tmp_path / "sweep", whole, tmp_path / "sweep-whole")
    text = sweep_digest_text(SMALL, 2, ["low", "high"], variant_table(staged.variants), "x.yaml")
    assert text == sweep_summary_text(whole, "x.yaml")
    assert "low" in text and "high" in text

    text = reference_scenario(300, 1.0)
    later = text.replace('"delay_days": 1,', '"delay_days": 9,', 1)  # B: a rule waits longer
    assert later != text
    b = parse_scenario(later, "b.yaml")
    found = what_if("a.yaml", "b.yaml", SMALL, b, ["a change"], 3)
    out = OutputFolder.claim(tmp_path / "compare")
    streamed = what_if("a.yaml", "b.yaml", SMALL, b, ["a change"], 3, folder=out, workers=2)
    assert streamed.staged is not None and streamed.result.tables() == {}
    assert streamed.text == found.text
    pd.testing.assert_frame_equal(streamed.table, found.table)
    streamed.staged.result.commit(out, streamed.staged.files, "parquet")
    _same_tables(tmp_path / "compare", found.result, tmp_path / "compare-whole")


def test_a_failed_replication_leaves_no_folder_and_no_parts(cli, tmp_path, monkeypatch):
    path = tmp_path / "org.yaml"
    path.write_text(reference_scenario(200, 0.5))
    stream = runner.stream_task

    def second_fails(task):
        if task.replication == 2:  # the first two are appended to the staged tables already
            assert "events.parquet" in [entry.name for entry in os.scandir(task.sink)]
            raise RuntimeError("boom")
        return stream(task)

    monkeypatch.setattr(runner, "stream_task", second_fails)
    code, _, err = cli("run", path, "--replications", "4", "--out", tmp_path / "out", "-q")
    assert code == 3 and "boom" in err
    assert not (tmp_path / "out").exists()


def test_a_worker_process_that_dies_is_one_line_and_no_folder(cli, tmp_path, monkeypatch):
    path = tmp_path / "org.yaml"
    path.write_text(reference_scenario(200, 0.5))
    (tmp_path / "out").mkdir()
    code, _, _ = cli("run", path, "--out", tmp_path / "out", "-q")
    before = _files(tmp_path / "out")
    stream = runner.stream_task

    def dies(task):
        if task.replication == 1:
            os._exit(9)  # as the kernel's out-of-memory killer would end it
        return stream(task)

    monkeypatch.setattr(runner, "stream_task", dies)
    args = ("--replications", "3", "--workers", "2", "--out", tmp_path / "out", "-q", "--force")
    code, _, err = cli("run", path, *args)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "a worker process ended abruptly" in err and "nothing was written" in err
    assert _files(tmp_path / "out") == before  # the run before it, untouched
    assert not any(p.name.startswith(".postenroll-staging-") for p in (tmp_path / "out").iterdir())


def test_each_done_turns_a_lost_worker_into_one_line():
    class KilledWorker(Exception):  # distributed's, when Dask gave up retrying
        pass

    class Broken(Executor):
        def submit(self, fn, /, *args, **kwargs) -> Future:
            future: Future = Future()
            future.set_exception(KilledWorker("('run_task-123', <WorkerState ...>)"))
            return future

    task = runner.Task(SMALL, None, 4, "v1")
    with pytest.raises(SchedulerError, match="kept dying while they ran replication 4 of v"):
        list(runner.each_done([task], Broken()))
