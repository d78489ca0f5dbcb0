"""Running scenarios: one replication (`simulate`), many, and writing the tables safely."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals
from tqdm import tqdm

from .. import __version__
from ..columns import FORMATS, TABLES
from ..engine import ENGINE, ENGINE_REASON, Model, recorder
from ..errors import OutputError, SchedulerError
from ..history.warm import model_for, warm_start_of
from ..scenario import Scenario
from . import outdir
from .lightrun import replication_seeds
from .outdir import REPORT_NAME, OutputFolder
from .progress import Status
from .summary import Digest

__all__ = [
    "FORMATS",
    "TABLES",
    "Result",
    "simulate",
    "simulate_replications",
    "simulate_replications_into",
    "simulate_variants",
    "simulate_variants_into",
]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class Result:
    """The output tables of a run (docs/outputs.md), plus any warnings (e.g. S22's guard) and
    what ran: the effective seed, the number of replications, the sweep's variants."""

    scenario: Scenario
    enrollments: pd.DataFrame | None = None
    jobs: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    sessions: pd.DataFrame | None = None
    certificates: pd.DataFrame | None = None  # v2: S31-S37
    warnings: list[str] = field(default_factory=list)
    seed: int | None = None
    replications: int = 1
    variants: list[dict[str, Any]] = field(default_factory=list)  # [{label, seed, scenario}]
    command: str | None = None  # "compare" for `postenroll-sim compare` (run.json says so)
    started: str = field(default_factory=_now)
    finished: str | None = None
    # the tables a run written as it was built wrote (`simulate_into`), kept in memory or not
    written: list[str] = field(default_factory=list)
    # a warm start's (S39): records replayed, jobs pending at day 0, discrepancies, ...
    warm_start: dict[str, int] | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables this run built and keeps in memory (all of them unless fewer were asked
        for; none when they were written to disk as they were built and not kept)."""
        return {name: getattr(self, name) for name in TABLES if getattr(self, name) is not None}

    def variant_labels(self) -> list[str]:
        """The sweep's variant labels in sweep order ([] for a run that is not a sweep)."""
        labels = [str(v["label"]) for v in self.variants]
        if not labels:  # tables stacked by hand: the labels in the order they appear
            for frame in self.tables().values():
                if "variant" in frame:
                    labels = [str(v) for v in pd.unique(frame["variant"].dropna())]
                    break
        return labels

    def split_variants(self) -> list[tuple[str | None, Result]]:
        """Each sweep variant as a Result of its own (its rows, its scenario), in sweep
        order; a run that is not a sweep is [(None, itself)]."""
        labels = self.variant_labels()
        if not labels:
            return [(None, self)]
        records = {str(v["label"]): v for v in self.variants}
        out = []
        for label in labels:
            record = records.get(label, {})
            scenario = (
                Scenario.model_validate(record["scenario"])
                if isinstance(record.get("scenario"), dict)
                else self.scenario
            )
            tables = {
                name: frame[frame["variant"].astype("str") == label].reset_index(drop=True)
                if "variant" in frame
                else frame
                for name, frame in self.tables().items()
            }
            out.append(
                (
                    label,
                    Result(
                        scenario,
                        **tables,
                        warnings=list(self.warnings),
                        seed=record.get("seed", self.seed),
                        replications=self.replications,
                        started=self.started,
                        finished=self.finished,
                        warm_start=self.warm_start,
                    ),
                )
            )
        return out

    def meta(self, source: str = "", arguments: list[str] | None = None) -> dict[str, Any]:
        """What run.json records besides the files (docs/outputs.md)."""
        return {
            "tool": "postenroll-sim",
            "version": __version__,
            **({"command": self.command} if self.command else {}),
            "engine": ENGINE,  # compiled or interpreted (engine/compiled.py)
            "engine_detail": ENGINE_REASON,
            "arguments": list(arguments) if arguments is not None else None,
            "source": source,
            "seed": self.seed,
            "replications": self.replications,
            "variants": self.variants,
            "tables": list(self.written or self.tables()),
            "warnings": list(dict.fromkeys(self.warnings)),
            **({"warm_start": self.warm_start} if self.warm_start is not None else {}),
            "started": self.started,
            "scenario": self.scenario.model_dump(mode="json", by_alias=True),
        }

    def write(
        self,
        folder: str | os.PathLike | OutputFolder,
        format: str = "parquet",
        source: str = "",
        force: bool = False,
        report: Callable[[Result, str], str | dict[str, str]] | None = None,
        arguments: list[str] | None = None,
    ) -> list[Path]:
        """Write each table as `<folder>/<table>.<format>` and `run.json` (what ran, each
        file with its rows and SHA-256) last, so the folder is one complete run or
        visibly incomplete, never a mix of two (docs/outputs.md). `folder` may be an
        OutputFolder claimed before the run; a folder holding files the tool did not
        write is refused unless `force`. `report(result, source)` adds report.html."""
        if format not in FORMATS:
            raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
        out = folder if isinstance(folder, OutputFolder) else OutputFolder.claim(folder, force)
        try:
            staged = [out.stage_table(name, frame, format) for name, frame in self.tables().items()]
        except BaseException:
            out.discard()
            raise
        return self.commit(out, staged, format, source, report, arguments)

    def commit(
        self,
        out: OutputFolder,
        staged: list[dict[str, Any]],
        format: str,
        source: str = "",
        report: Callable[[Result, str], str | dict[str, str]] | None = None,
        arguments: list[str] | None = None,
    ) -> list[Path]:
        """Stage report.html too when asked (`report(result, source)`: the page, or every
        file of it by name: the page and the tables behind its figures), then commit what
        is staged, run.json last (OutputFolder.commit)."""
        try:
            if report is not None:
                page = report(self, source)
                files = page if isinstance(page, dict) else {REPORT_NAME: page}
                staged = [*staged, *(out.stage_text(n, text) for n, text in files.items())]
        except BaseException:
            out.discard()
            raise
        return out.commit(staged, {**self.meta(source, arguments), "format": format})


def simulate(
    scenario: Scenario,
    seed: int | np.random.SeedSequence | None = None,
    replication: int = 0,
    tables: tuple[str, ...] | list[str] = TABLES,
    progress: bool = False,
) -> Result:
    """Run one replication of `scenario`. `seed` defaults to the scenario's own seed.
    `tables` names the tables to build (the events log is not even kept without "events").
    `progress` shows simulated days on a progress bar (on a terminal only).

    Raises ScenarioError when a script action cannot be applied (located at its line)."""
    started = _now()

    def build(model: Model, say: Callable[[str], None]) -> dict[str, pd.DataFrame]:
        say("building tables")  # a third of a large run: say so rather than sit at 100%
        built = recorder.tables(
            model,
            which=tuple(tables),
            replication=replication,
            start_date=scenario.start_date,
            release=True,
        )
        warm = warm_start_of(model)
        if warm is not None:  # a learners file's attributes (department, role, ...)
            built = {name: warm.with_attributes(name, frame) for name, frame in built.items()}
        return built

    built, model, seed = _run_model(scenario, seed, replication, tables, progress, build)
    return Result(
        scenario,
        **built,
        warnings=list(model.lms.warnings),
        seed=int(seed.entropy),  # the effective seed: the scenario's, or the one given
        started=started,
        finished=_now(),
        warm_start=_counts(model),
    )


def _counts(model: Model) -> dict[str, int] | None:
    warm = warm_start_of(model)
    return warm.counts.as_dict() if warm is not None else None


@dataclass
class Staged:
    """A run written into its output folder's staging area as it was built
    (`simulate_into`): commit it with `result.commit(folder, files, ...)`."""

    result: Result  # what ran; its tables are in memory only when they were kept
    files: list[dict[str, Any]]  # the staged tables, as run.json lists them
    digest: Digest  # what the summary says of them
    # a sweep's or a comparison's: each variant's label and digest, in sweep order
    variants: list[tuple[str, Digest]] = field(default_factory=list)
    # what each task's `summarize` returned, by variant label (None: not a sweep), in
    # replication order
    summaries: dict[str | None, list[Any]] = field(default_factory=dict)


SPILL_NAME = ".events.log"  # the event log's rows, in the staging area while the run goes


def simulate_into(
    folder: OutputFolder,
    scenario: Scenario,
    format: str = "parquet",
    seed: int | np.random.SeedSequence | None = None,
    tables: tuple[str, ...] | list[str] = TABLES,
    progress: bool = False,
    keep: bool = False,
) -> Staged:
    """Run one replication of `scenario` and write its tables into `folder`'s staging
    area as they are built, one at a time (the events table in batches, its log kept in
    the staging area during the run): at most the run's state plus one table in memory,
    where `simulate` holds every table. `keep` keeps the tables in memory as well (for a
    report). The tables written are the ones `simulate(...).write(folder)` writes, byte
    for byte. Nothing is committed: the caller does that (`Staged`), or discards."""
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    started = _now()
    digest = Digest([0])
    kept: dict[str, pd.DataFrame] | None = {} if keep else None

    def write(model: Model, say: Callable[[str], None]) -> list[dict[str, Any]]:
        pending = dict(
            recorder.frame_batches(
                model,
                which=tuple(name for name in TABLES if name in tables),
                start_date=scenario.start_date,
                rows=None if keep else outdir.ROW_GROUP_ROWS,  # a Parquet row group a batch
            )
        )  # each table is built only as its frames are read

        warm = warm_start_of(model)

        def stage(name: str) -> dict[str, Any]:
            frames = pending[name]
            if warm is not None:
                frames = (warm.with_attributes(name, frame) for frame in frames)
            frames = _taken(name, frames, digest, kept, stop)
            return folder.stage_table(name, frames, format)

        # The events table (the largest; read from the log, not the store) is written on a
        # second thread while this one writes the others: pyarrow encodes without the GIL.
        stop = threading.Event()
        files: dict[str, Any] = {}
        with ThreadPoolExecutor(max_workers=1) as helper:
            events = helper.submit(stage, "events") if "events" in pending else None
            try:
                for name in pending:
                    if name != "events":
                        say(f"writing {name}")
                        files[name] = stage(name)
                if events is not None:
                    say("writing events")
                    files["events"] = events.result()
            except BaseException:
                stop.set()  # Ctrl-C or a failure: the helper stops at its next batch
                raise
        return [files[name] for name in pending]

    spill = folder.staging / SPILL_NAME if "events" in tables else None
    try:
        files, model, seed = _run_model(scenario, seed, 0, tables, progress, write, spill)
    except OSError as exc:  # the log's spill file or a table: the folder is the one place
        raise OutputError(f"cannot write to {folder.path}: {exc.strerror or exc}") from None
    result = Result(
        scenario,
        **(kept or {}),
        warnings=list(model.lms.warnings),
        seed=int(seed.entropy),
        started=started,
        finished=_now(),
        written=[name for name in TABLES if name in tables],
        warm_start=_counts(model),
    )
    return Staged(result, files, digest)


def _taken(
    name: str,
    frames: Iterator[pd.DataFrame],
    digest: Digest,
    kept: dict[str, pd.DataFrame] | None,
    stop: threading.Event,
) -> Iterator[pd.DataFrame]:
    """The frames of one table, passed on as they come, noting what the summary needs."""
    for frame in frames:
        if stop.is_set():
            raise RuntimeError("stopped: writing another table failed")
        digest.add(name, frame)
        if kept is not None:
            kept[name] = frame  # kept: one frame a table (`keep` builds events whole)
        yield frame


def _run_model(scenario, seed, replication, tables, progress, after, spill=None):
    """Simulate one replication and hand the finished model to `after(model, say)` while
    the progress bar still shows (`say` puts a word on it); returns what `after` returned,
    the model and the effective seed sequence."""
    if not isinstance(seed, np.random.SeedSequence):
        seed = replication_seeds(scenario.seed if seed is None else seed, replication + 1)[
            replication
        ]
    tables = tuple(tables)
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise ValueError(f"unknown table {sorted(unknown)[0]!r}; tables are {', '.join(TABLES)}")
    with tqdm(
        total=scenario.horizon_days,
        unit="day",
        bar_format="{l_bar}{bar}| day {n:.0f}/{total:.0f} [{elapsed}<{remaining}{postfix}]",
        disable=None if progress else True,
        leave=False,
    ) as bar:

        def advance(day: float) -> None:
            bar.update(max(day, 0.0) - bar.n)  # (a warm start replays days before day 0)

        def say(what: str) -> None:
            if not bar.disable:
                bar.set_postfix_str(what, refresh=True)

        model = model_for(  # with initial_state, a warm start's (S39-S41)
            scenario,
            seed,
            record_events="events" in tables,
            on_advance=None if bar.disable else advance,  # off a terminal: no calls
            spill=spill,
        )
        try:
            model.run()
            done = after(model, say)
        finally:
            model.close()
    return done, model, seed


class Task(NamedTuple):
    """One replication of one scenario variant: all a worker needs, picklable. A streamed
    task (`streamed`) writes its tables as parts (`stream_task`): into `sink`, a staging
    area the worker shares with the parent, or, with no sink, handed back as bytes; with
    `sink_proof` (a worker that may be on another machine) only a worker that finds that
    file in `sink`, holding its name, writes there, and the others hand bytes back;
    `index` names its parts; `summarize(result, replication)`, when given, is called on
    the task's tables (built whole then) and what it returns goes back with the parts."""

    scenario: Scenario
    seed: np.random.SeedSequence
    replication: int
    variant: str | None = None
    tables: tuple[str, ...] = TABLES
    streamed: bool = False
    sink: str | None = None
    sink_proof: str | None = None
    index: int = 0
    summarize: Callable[[Result, int], Any] | None = None


def run_task(task: Task) -> Result | Part:
    if task.streamed:
        return stream_task(task)
    result = simulate(
        task.scenario, seed=task.seed, replication=task.replication, tables=task.tables
    )
    if task.variant is not None:
        for name, frame in result.tables().items():
            setattr(result, name, _labelled(frame, task.variant))
    return result


def _labelled(frame: pd.DataFrame, variant: str) -> pd.DataFrame:
    """A sweep's rows, with their `variant` column (categorical, one category)."""
    label = pd.Categorical([variant] * len(frame), categories=pd.Index([variant], dtype="str"))
    return frame.assign(variant=label)


@dataclass
class Part:
    """What a streamed task hands back (`stream_task`): where each table's part is (a
    file in the staging area, or its bytes), what the summary needs of it, what ran."""

    index: int
    replication: int
    variant: str | None
    parts: dict[str, Any]  # table -> the part's path (str) or its bytes (a pyarrow Buffer)
    rows: dict[str, int]
    digest: Digest
    warnings: list[str]
    seed: int
    started: str
    finished: str
    warm_start: dict[str, int] | None = None
    summary: Any = None  # what task.summarize returned


def give_back_memory() -> None:
    """Return the memory freed since to the system, between two replications: the model's
    (glibc's heap keeps freed blocks below its top, which pyarrow's allocator, mimalloc,
    never reuses), pyarrow's, and the id dtypes the recorder keeps for stacking tables in
    memory, which hold each replication's learner ids. Without it a process running
    replication after replication, appending their tables, grew by a twentieth of a
    replication each (docs/performance.md)."""
    import gc

    import pyarrow as pa

    recorder.forget_dtypes()  # the replication's learner ids
    gc.collect()  # a model's cycles
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None).malloc_trim  # glibc's; musl has none
    except (OSError, AttributeError):
        return None


def sees_sink(task: Task) -> bool:
    """Whether this worker writes into the task's sink: always on this machine's pool;
    a Dask worker only when it finds the proof the parent left there (its own name, a
    random one), so a worker on another machine, where the same path may be another
    folder or none, hands its parts back instead."""
    if task.sink is None:
        return False
    if task.sink_proof is None:
        return True
    try:
        return (Path(task.sink) / task.sink_proof).read_text() == task.sink_proof
    except (OSError, UnicodeDecodeError):
        return False


def _leave_proof(staging: Path) -> str:
    """The file `sees_sink` looks for: its name is its content, random per run."""
    import secrets

    name = f".sink-{secrets.token_hex(8)}"
    (staging / name).write_text(name)
    return name


def part_name(index: int, table: str) -> str:
    return f".part-{index:06d}-{table}{outdir.PART_SUFFIX}"


def stream_task(task: Task) -> Part:
    """Run one replication and write each table as a part (outdir.write_part) as it is
    built, batch by batch: at most the run's state plus one batch in memory, as
    `simulate_into`; the event log spills beside the parts (or into a folder of the
    worker's own when there is no sink, removed again)."""
    import shutil
    import tempfile

    started = _now()
    digest = Digest([task.replication])
    kept: dict[str, pd.DataFrame] | None = {} if task.summarize is not None else None
    sink = task.sink if sees_sink(task) else None
    scratch = None if sink is not None else Path(tempfile.mkdtemp(prefix="postenroll-"))
    where = Path(sink) if sink is not None else scratch
    names = tuple(name for name in TABLES if name in task.tables)

    def write(model: Model, say: Callable[[str], None]) -> dict[str, tuple[Any, int]]:
        warm = warm_start_of(model)
        pending = recorder.frame_batches(
            model,
            which=names,
            replication=task.replication,
            start_date=task.scenario.start_date,
            rows=None if kept is not None else outdir.ROW_GROUP_ROWS,
        )
        written = {}
        never = threading.Event()
        for name, frames in pending:
            if warm is not None:
                frames = (warm.with_attributes(name, frame) for frame in frames)
            if task.variant is not None:
                frames = (_labelled(frame, task.variant) for frame in frames)
            frames = _taken(name, frames, digest, kept, never)
            target = where / part_name(task.index, name) if sink is not None else None
            written[name] = outdir.write_part(frames, target)
        return written

    spill = where / f".events-{task.index:06d}.log" if "events" in names else None
    try:
        written, model, seed = _run_model(
            task.scenario, task.seed, task.replication, names, False, write, spill
        )
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    warnings = list(model.lms.warnings)
    give_back_memory()
    summary = None
    if task.summarize is not None:
        one = Result(
            task.scenario,
            **(kept or {}),
            warnings=warnings,
            seed=int(seed.entropy),
            started=started,
            warm_start=_counts(model),
        )
        summary = task.summarize(one, task.replication)
        del one
    return Part(
        index=task.index,
        replication=task.replication,
        variant=task.variant,
        parts={name: str(at) if isinstance(at, Path) else at for name, (at, _) in written.items()},
        rows={name: rows for name, (_, rows) in written.items()},
        digest=digest,
        warnings=warnings,
        seed=int(seed.entropy),
        started=started,
        finished=_now(),
        warm_start=_counts(model),
        summary=summary,
    )


class SerialExecutor(Executor):
    """Runs each task in this process when it is submitted: the one-worker executor.
    An error is handed to the caller through the future, like any executor; Ctrl-C is not
    an error of the task: it stops the run at once."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


MAX_SCHEDULER_WAIT = 30  # seconds to reach a Dask scheduler before giving up


_PORTED = ("tcp", "tls", "ws", "wss")  # address schemes written HOST:PORT


def scheduler_address_problem(address: str) -> str:
    """Why `address` is no Dask scheduler address ("" when it may be one), said before
    anything connects (Dask itself fails on a malformed one with a bare ValueError)."""
    scheme, sep, rest = address.rpartition("://")
    if sep and scheme not in _PORTED:
        return ""  # inproc://, ucx://, ...: Dask knows its own forms
    host, colon, port = rest.rpartition(":")
    if not colon or not host or not port.isdigit():
        return "give it as tcp://HOST:PORT (for example tcp://10.0.0.5:8786)"
    if not 0 < int(port) < 65536:
        return f"port {port} is not between 1 and 65535"
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        return "an IPv6 host needs brackets, as in tcp://[::1]:8786"
    return ""


def _connect(client_class, address: str):
    """A Dask client of the scheduler at `address`, or SchedulerError within
    MAX_SCHEDULER_WAIT seconds. Dask's own timeout covers reaching the port, not a server
    there that accepts and never answers its handshake: the connection is made in a
    thread that is waited for only that long (left behind, it dies with the process)."""
    problem = scheduler_address_problem(address)
    if problem:
        raise SchedulerError(f"--scheduler {address}: {problem}")
    made: dict[str, Any] = {}

    def connect() -> None:
        try:
            made["client"] = client_class(address, timeout=MAX_SCHEDULER_WAIT)
        except Exception as exc:  # handed to the caller
            made["error"] = exc

    thread = threading.Thread(target=connect, name="dask-connect", daemon=True)
    thread.start()
    thread.join(MAX_SCHEDULER_WAIT + 1)
    error = made.get("error")
    if thread.is_alive() or isinstance(error, OSError | TimeoutError | ValueError):
        why = f": {error}" if error is not None else " (is it a Dask scheduler?)"
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {address} within {MAX_SCHEDULER_WAIT} s{why}"
        )
    if error is not None:
        raise error
    return made["client"]


def usable_workers(workers: int, tasks: int) -> int:
    """No more local processes than tasks or CPUs (each process imports the whole stack)."""
    return max(1, min(workers, tasks, os.cpu_count() or 1))


@contextmanager
def executor_for(
    workers: int = 1, scheduler: str | None = None, tasks: int | None = None
) -> Iterator[Executor]:
    """The executor for a run: a Dask cluster when a scheduler address is given (or in
    DASK_SCHEDULER_ADDRESS), a process pool for several local workers, else serial."""
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if scheduler:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - depends on the optional extra
            raise SchedulerError(
                "a Dask scheduler needs the optional extra: pip install 'postenroll-sim[dist]'"
            ) from exc
        quiet = _QuietLogs()  # its reconnect attempts log tracebacks to stderr
        try:
            client = _connect(Client, scheduler)
            with client:
                executor = client.get_executor()
                # a lost scheduler closes the client after its reconnect timeout; the futures
                # would then wait forever, so run_tasks asks this while it waits
                executor.lost = lambda: client.status in ("closing", "closed")
                executor.lost_message = f"lost the Dask scheduler at {scheduler}"
                executor.shares_disk = False  # its workers may run on other machines
                yield executor
        finally:
            quiet.restore()
        return
    workers = usable_workers(workers, tasks if tasks is not None else workers)
    if workers > 1:
        pool = ProcessPoolExecutor(
            max_workers=workers, initializer=end_with_parent, initargs=(os.getpid(),)
        )
        pool.window = 2 * workers  # replications submitted and not yet handed back
        try:
            yield pool
        except BaseException:
            # Ctrl-C, SIGTERM (the command line's Terminated) or an error: do not wait for
            # the replications still queued, nor for the ones running
            _stop_workers(pool)
            raise
        pool.shutdown(wait=True)
    else:
        yield SerialExecutor()


PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_CHECK = 1.0  # seconds between a worker's checks that its parent is still there


def end_with_parent(parent: int) -> None:
    """A pool worker's initializer: the worker ends when its parent does, however the
    parent ends (SIGKILL included), so no worker is left running for ever holding the
    caller's pipes. Linux: the kernel kills it (PR_SET_PDEATHSIG); everywhere: a thread
    watches for the parent to be gone (the worker is then another process's child)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler: terminate ends it
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK)
    os._exit(1)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Shut the pool down and end its worker processes now: shutdown alone stops feeding
    them, and the interpreter's exit would wait for the replications they are running."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, AttributeError, ValueError):
            process.terminate()
    for process in processes:
        with contextlib.suppress(OSError, AttributeError, ValueError, AssertionError):
            process.join(PARENT_CHECK * 5)


def run_tasks(tasks: list[Task], executor: Executor, progress: bool = False) -> list[Result]:
    """Run tasks on any concurrent.futures executor; results come back in task order, so
    they are the same whichever executor ran them. The bar exists before the first task
    is submitted, so it advances as each finishes even on the serial executor."""
    with tqdm(total=len(tasks), unit="run", disable=None if progress else True, leave=False) as bar:
        futures = []
        for task in tasks:
            future = executor.submit(run_task, task)
            future.add_done_callback(lambda _: bar.update(1))
            futures.append(future)
            if future.done() and not future.cancelled() and future.exception() is not None:
                break  # the serial executor ran it already: no point running the rest
        lost = getattr(executor, "lost", None)
        while wait(futures, timeout=WAIT_STEP).not_done:
            if lost is not None and lost():
                raise SchedulerError(executor.lost_message)
        if lost is not None and any(future.cancelled() for future in futures):
            raise SchedulerError(executor.lost_message)  # a closing client cancels them
    return [future.result() for future in futures]


WAIT_STEP = 1.0  # seconds between checks that a cluster is still there


def each_done(
    tasks: list[Task], executor: Executor, progress: bool = False
) -> Iterator[tuple[int, Any]]:
    """Run tasks on any concurrent.futures executor and yield (index, result) of each as
    it finishes; ties in task order. At most `executor.window` tasks are submitted and
    not yet handed back (the serial executor: one; a process pool: two a worker; a
    cluster: all of them, it decides), so a streamed run's parts do not pile up. A task's
    error is raised when it comes back; a worker process that died, or a Dask worker lost
    more often than Dask retries, is a SchedulerError (one line)."""
    window = max(1, getattr(executor, "window", None) or len(tasks))
    if isinstance(executor, SerialExecutor):
        window = 1
    lost = getattr(executor, "lost", None)
    queue = iter(enumerate(tasks))
    running: dict[Future, int] = {}
    with tqdm(total=len(tasks), unit="run", disable=None if progress else True, leave=False) as bar:

        def feed() -> None:
            while len(running) < window:
                item = next(queue, None)
                if item is None:
                    return
                future = executor.submit(run_task, item[1])
                future.add_done_callback(lambda _: bar.update(1))
                running[future] = item[0]

        feed()
        while running:
            done, _ = wait(running, timeout=WAIT_STEP, return_when=FIRST_COMPLETED)
            if not done:
                if lost is not None and lost():
                    raise SchedulerError(executor.lost_message)
                continue
            for future in sorted(done, key=running.__getitem__):
                index = running.pop(future)
                if future.cancelled():
                    raise SchedulerError(getattr(executor, "lost_message", "a run was cancelled"))
                yield index, _outcome(future, tasks[index])
            feed()


def _outcome(future: Future, task: Task) -> Any:
    try:
        return future.result()
    except BrokenExecutor:  # every run still pending fails so: which one's worker died is not said
        raise SchedulerError(
            "a worker process ended abruptly (killed, or out of memory?) while the "
            "replications ran; nothing was written (try fewer --workers)"
        ) from None
    except Exception as exc:
        if type(exc).__name__ == "KilledWorker":  # distributed's, after its retries
            raise SchedulerError(
                f"Dask workers kept dying while they ran {_what(task)}; nothing was written"
            ) from None
        raise


def _what(task: Task) -> str:
    variant = f" of variant {task.variant}" if task.variant is not None else ""
    return f"replication {task.replication}{variant}"


class _Assembly:
    """A streamed run's tables put together in the staging area as its parts come back:
    each part is appended (outdir.StagedParts) as soon as every task before it is in, then
    deleted, so the files are the same whatever the executor and the order tasks finish."""

    def __init__(self, folder: OutputFolder, format: str, count: int):
        self.folder = folder
        self.format = format
        self.tables: dict[str, outdir.StagedParts] = {}  # made as the first part comes
        self.count = count
        self.ready: dict[int, Part] = {}
        self.next = 0
        self.parts: list[Part] = []  # every part taken, without its data, in task order

    def take(self, part: Part) -> None:
        for name, data in list(part.parts.items()):
            if not isinstance(data, str):  # bytes from a worker that has not this disk
                path = self.folder.staging / part_name(part.index, name)
                try:
                    with open(path, "wb") as file:
                        file.write(memoryview(data))
                except OSError as exc:
                    raise OutputError(
                        f"cannot write to {self.folder.path}: {exc.strerror or exc}"
                    ) from None
                part.parts[name] = str(path)
        self.ready[part.index] = part
        while self.next in self.ready:
            done = self.ready.pop(self.next)
            for name in TABLES:
                if name not in done.parts:
                    continue
                if name not in self.tables:
                    self.tables[name] = self.folder.stage_parts(name, self.format)
                path = Path(done.parts[name])
                self.tables[name].add(path)
                path.unlink()
            done.parts = {}
            self.parts.append(done)
            self.next += 1
            give_back_memory()

    def close(self) -> list[dict[str, Any]]:
        if self.next != self.count:
            raise RuntimeError(f"{self.count - self.next} runs did not come back")
        return [self.tables[name].close() for name in TABLES if name in self.tables]

    def abandon(self) -> None:
        for table in self.tables.values():
            table.abandon()


def _stream(
    folder: OutputFolder,
    tasks: list[Task],
    format: str,
    executor: Executor | None,
    workers: int,
    scheduler: str | None,
    progress: bool,
) -> tuple[list[dict[str, Any]], list[Part]]:
    """Run streamed tasks and stage their tables: what `simulate_replications_into` and
    `simulate_variants_into` share."""
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")

    def run(chosen: Executor) -> tuple[list[dict[str, Any]], list[Part]]:
        # a Dask worker writes its own parts where it sees the staging area (a local
        # cluster, or a shared file system), else hands them back as bytes
        proof = None if getattr(chosen, "shares_disk", True) else _leave_proof(folder.staging)
        sink = str(folder.staging)
        mine = [
            task._replace(streamed=True, sink=sink, sink_proof=proof, index=i)
            for i, task in enumerate(tasks)
        ]
        assembly = _Assembly(folder, format, len(mine))
        try:
            for _, part in each_done(mine, chosen, progress):
                assembly.take(part)
            return assembly.close(), assembly.parts
        except BaseException:
            assembly.abandon()
            raise

    try:
        if executor is not None:
            return run(executor)
        with executor_for(workers, scheduler, tasks=len(tasks)) as chosen:
            return run(chosen)
    except OSError as exc:
        raise OutputError(f"cannot write to {folder.path}: {exc.strerror or exc}") from None


def _joined_digest(parts: list[Part], replications: int) -> Digest:
    digest = Digest(list(range(replications)))
    for part in parts:
        digest.absorb(part.digest)
    return digest


def _streamed_result(scenario: Scenario, parts: list[Part], **what: Any) -> Result:
    return Result(
        scenario,
        warnings=[w for part in parts for w in part.warnings],
        started=min(part.started for part in parts),
        finished=max(part.finished for part in parts),
        warm_start=parts[0].warm_start,
        **what,
    )


def simulate_replications_into(
    folder: OutputFolder,
    scenario: Scenario,
    replications: int = 1,
    format: str = "parquet",
    seed: int | None = None,
    executor: Executor | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
    tables: tuple[str, ...] | list[str] = TABLES,
    keep: bool = False,
) -> Staged:
    """`simulate_replications`, written into `folder`'s staging area as each replication
    finishes (its tables as parts, by the worker itself, appended in replication order):
    memory holds one replication a worker, never the stacked tables. The files read back
    as the tables `simulate_replications(...).write(folder)` writes (the same rows,
    dtypes and categories; each replication is its own row groups). `keep` reads the
    tables back into the result (for a report). Nothing is committed (`Staged`)."""
    effective = scenario.seed if seed is None else seed
    seeds = replication_seeds(effective, replications)
    tasks = [Task(scenario, seeds[i], i, None, tuple(tables)) for i in range(replications)]
    files, parts = _stream(folder, tasks, format, executor, workers, scheduler, progress)
    result = _streamed_result(
        scenario,
        parts,
        seed=effective,
        replications=replications,
        written=[f["table"] for f in files],
    )
    if keep:
        _read_back(folder, files, result)
    return Staged(result, files, _joined_digest(parts, replications))


def simulate_variants_into(
    folder: OutputFolder,
    variants: list[tuple[str, Scenario]],
    replications: int = 1,
    format: str = "parquet",
    seed: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
    tables: tuple[str, ...] | list[str] = TABLES,
    executor: Executor | None = None,
    keep: bool = False,
    summarize: Callable[[Result, int], Any] | None = None,
) -> Staged:
    """`simulate_variants`, written into `folder`'s staging area as each run finishes
    (see `simulate_replications_into`). Each variant's digest is in `Staged.variants`;
    `summarize(result, replication)`, when given, is called on each run's tables in its
    worker (one variant, one replication) and what it returns is in `Staged.summaries`,
    by label, in replication order."""
    tasks, records = _variant_tasks(variants, replications, seed, tables)
    if summarize is not None:
        tasks = [task._replace(summarize=summarize) for task in tasks]
    files, parts = _stream(folder, tasks, format, executor, workers, scheduler, progress)
    shared = {r["seed"] for r in records}
    result = _streamed_result(
        variants[0][1],
        parts,
        seed=shared.pop() if len(shared) == 1 else None,
        replications=replications,
        variants=records,
        written=[f["table"] for f in files],
    )
    if keep:
        _read_back(folder, files, result)
    digests = [
        (label, _joined_digest([p for p in parts if p.variant == label], replications))
        for label, _ in variants
    ]
    summaries = {label: [p.summary for p in parts if p.variant == label] for label, _ in variants}
    return Staged(result, files, _joined_digest(parts, replications), digests, summaries)


def _read_back(folder: OutputFolder, files: list[dict[str, Any]], result: Result) -> None:
    """The staged tables, read into `result` (what a report draws from)."""
    for item in files:
        path = folder.staging / item["name"]
        columns = item.get("columns", {})
        setattr(result, item["table"], outdir.read_table_file(path, item["format"], columns))


class _QuietLogs:
    """Loggers set to critical-only for the duration of a run, then restored."""

    NAMES = ("distributed", "tornado", "asyncio")

    def __init__(self) -> None:
        known = list(logging.root.manager.loggerDict)  # Dask sets levels on its children too
        names = [n for n in known if n.split(".")[0] in self.NAMES] + list(self.NAMES)
        self.levels = {name: logging.getLogger(name).level for name in names}
        for name in names:
            logging.getLogger(name).setLevel(logging.CRITICAL)

    def restore(self) -> None:
        for name, level in self.levels.items():
            logging.getLogger(name).setLevel(level)


def simulate_replications(
    scenario: Scenario,
    replications: int = 1,
    seed: int | None = None,
    executor: Executor | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
    tables: tuple[str, ...] = TABLES,
) -> Result:
    """Run `replications` independent replications (streams from SeedSequence(seed).spawn)
    and stack their tables (column `replication`). One code path for every executor."""
    effective = scenario.seed if seed is None else seed
    seeds = replication_seeds(effective, replications)
    tasks = [Task(scenario, seeds[i], i, None, tuple(tables)) for i in range(replications)]
    result = _run(tasks, executor, workers, scheduler, progress)
    status = Status(progress)
    status(f"stacking the tables of {replications} replications")
    try:
        return combine(scenario, result, seed=effective, replications=replications)
    finally:
        status.done()


def simulate_variants(
    variants: list[tuple[str, Scenario]],
    replications: int = 1,
    seed: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
    tables: tuple[str, ...] = TABLES,
    executor: Executor | None = None,
) -> Result:
    """Every variant x replication, tables stacked with a `variant` column. Variants share
    the replication seeds (unless the sweep varies `seed` itself), so their differences
    come from the change, not the draw. `executor` runs the tasks when given (the
    preview's, which counts them and stops between two when asked); else one is chosen."""
    tasks, records = _variant_tasks(variants, replications, seed, tables)
    results = _run(tasks, executor, workers, scheduler, progress)
    base = variants[0][1]
    shared = {r["seed"] for r in records}
    status = Status(progress)
    status(f"stacking the tables of {len(tasks)} runs")
    try:
        return combine(
            base,
            results,
            seed=shared.pop() if len(shared) == 1 else None,
            replications=replications,
            variants=records,
        )
    finally:
        status.done()


def _variant_tasks(
    variants: list[tuple[str, Scenario]],
    replications: int,
    seed: int | None,
    tables: tuple[str, ...] | list[str],
) -> tuple[list[Task], list[dict[str, Any]]]:
    """Every variant x replication as a task, and each variant's record for run.json."""
    tasks, records = [], []
    for label, scenario in variants:
        effective = scenario.seed if seed is None else seed
        seeds = replication_seeds(effective, replications)
        records.append(
            {
                "label": label,
                "seed": effective,
                "scenario": scenario.model_dump(mode="json", by_alias=True),
            }
        )
        tasks += [Task(scenario, seeds[i], i, label, tuple(tables)) for i in range(replications)]
    return tasks, records


def _run(
    tasks: list[Task],
    executor: Executor | None,
    workers: int,
    scheduler: str | None,
    progress: bool,
) -> list[Result]:
    """The one path every multi-run takes: the given executor, or the one chosen for it."""
    if executor is not None:
        return run_tasks(tasks, executor, progress)
    with executor_for(workers, scheduler, tasks=len(tasks)) as chosen:
        return run_tasks(tasks, chosen, progress)


def combine(
    scenario: Scenario,
    results: Iterable[Result],
    seed: int | None,
    replications: int,
    variants: list[dict[str, Any]] | None = None,
) -> Result:
    """One Result from several runs (replications, variants), tables stacked. `seed` is
    the effective seed, or None when variants ran with seeds of their own."""
    results = list(results)
    names = results[0].tables()
    tables = {name: concat([r.tables()[name] for r in results]) for name in names}
    return Result(
        scenario,
        **tables,
        warnings=[w for r in results for w in r.warnings],
        seed=seed,
        replications=replications,
        variants=variants or [],
        started=min(r.started for r in results),
        finished=max((r.finished or r.started) for r in results),
        warm_start=results[0].warm_start,  # every replication replays the same history
    )


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack the tables of several replications, keeping id columns categorical: each
    replication may have generated other learners, so categories are united in order.
    Categories are united before stacking: stacking unequal ones would turn millions of
    codes into strings and back."""
    if len(frames) == 1:
        return frames[0]
    aligned = [frame.copy(deep=False) for frame in frames]
    for column in frames[0].columns:
        dtypes = [frame[column].dtype for frame in frames]
        if isinstance(dtypes[0], pd.CategoricalDtype) and any(d != dtypes[0] for d in dtypes):
            united = union_categoricals(
                [pd.Categorical([], dtype=d) for d in dtypes], ignore_order=True
            ).categories
            for frame in aligned:
                frame[column] = frame[column].cat.set_categories(united)
    return pd.concat(aligned, ignore_index=True)
