"""Running scenarios: one replication (`simulate`), many, and writing the tables safely."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals
from tqdm import tqdm

from .engine import Model, compile_plan
from .scenario import Scenario

TABLES = ("enrollments", "jobs", "events", "sessions")
FORMATS = ("parquet", "csv")


@dataclass
class Result:
    """The output tables of a run (OUTPUTS.md), plus any warnings (e.g. S22's guard)."""

    scenario: Scenario
    enrollments: pd.DataFrame | None = None
    jobs: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    sessions: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables this run built (all four unless fewer were asked for)."""
        return {name: getattr(self, name) for name in TABLES if getattr(self, name) is not None}

    def write(
        self, folder: str | os.PathLike, format: str = "parquet", source: str = ""
    ) -> list[Path]:
        """Write each table as `<folder>/<table>.<format>`, and `run.json` (the scenario
        and what ran, so `postenroll-sim report` can be run on the folder later). All
        files go to a temporary folder first and are moved into place only once all are complete."""
        replications = sorted(
            {int(r) for frame in self.tables().values() for r in pd.unique(frame["replication"])}
        )
        meta = {
            "source": source,
            "replications": len(replications) or 1,
            "tables": list(self.tables()),
            "warnings": self.warnings,
            "scenario": self.scenario.model_dump(mode="json", by_alias=True),
        }
        return write_tables(self.tables(), folder, format, meta)


def write_tables(
    tables: dict[str, pd.DataFrame],
    folder: str | os.PathLike,
    format: str = "parquet",
    meta: dict | None = None,
) -> list[Path]:
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        written = []
        for name, frame in tables.items():
            path = staging / f"{name}.{format}"
            if format == "csv":
                frame.to_csv(path, index=False, lineterminator="\n")
            else:
                frame.to_parquet(path, index=False)
            written.append(path)
        if meta is not None:
            path = staging / "run.json"
            path.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            written.append(path)
        folder.mkdir(parents=True, exist_ok=True)
        final = []
        for path in written:
            target = folder / path.name
            os.replace(path, target)
            final.append(target)
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
        bar_format="{l_bar}{bar}| day {n:.0f}/{total:.0f} [{elapsed}<{remaining}]",
        disable=None if progress else True,
        leave=False,
    ) as bar:

        def advance(day: float) -> None:
            bar.update(day - bar.n)

        model = Model(
            compile_plan(scenario),
            seed,
            record_events="events" in tables,
            on_advance=None if bar.disable else advance,  # off a terminal: no calls
        )
        model.run()
    built = model.recorder.tables(
        replication=replication, start_date=scenario.start_date, which=tables, release=True
    )
    return Result(scenario, **built, warnings=list(model.lms.warnings))


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """Independent per-replication streams: SeedSequence(seed).spawn(n)."""
    return np.random.SeedSequence(seed).spawn(replications)


class Task(NamedTuple):
    """One replication of one scenario variant: all a worker needs, picklable."""

    scenario: Scenario
    seed: np.random.SeedSequence
    replication: int
    variant: str | None = None
    tables: tuple[str, ...] = TABLES


def run_task(task: Task) -> Result:
    result = simulate(
        task.scenario, seed=task.seed, replication=task.replication, tables=task.tables
    )
    if task.variant is not None:
        for name, frame in result.tables().items():
            label = pd.Categorical(
                [task.variant] * len(frame), categories=pd.Index([task.variant], dtype="str")
            )
            setattr(result, name, frame.assign(variant=label))
    return result


class SerialExecutor(Executor):
    """Runs each task in this process when it is submitted: the one-worker executor."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future, like any executor
            future.set_exception(exc)
        return future


@contextmanager
def executor_for(workers: int = 1, scheduler: str | None = None) -> Iterator[Executor]:
    """The executor for a run: a Dask cluster when a scheduler address is given (or in
    DASK_SCHEDULER_ADDRESS), a process pool for several local workers, else serial."""
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if scheduler:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - depends on the optional extra
            raise RuntimeError(
                "a Dask scheduler needs the optional extra: pip install 'postenroll-sim[dist]'"
            ) from exc
        with Client(scheduler) as client:
            yield client.get_executor()
    elif workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield pool
    else:
        yield SerialExecutor()


def run_tasks(tasks: list[Task], executor: Executor, progress: bool = False) -> list[Result]:
    """Run tasks on any concurrent.futures executor; results come back in task order, so
    they are the same whichever executor ran them."""
    futures = [executor.submit(run_task, task) for task in tasks]
    with tqdm(total=len(tasks), unit="run", disable=None if progress else True, leave=False) as bar:
        for _ in as_completed(futures):
            bar.update(1)
    return [future.result() for future in futures]


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
    seeds = replication_seeds(scenario.seed if seed is None else seed, replications)
    tasks = [Task(scenario, seeds[i], i, None, tuple(tables)) for i in range(replications)]
    return _run(scenario, tasks, executor, workers, scheduler, progress)


def simulate_variants(
    variants: list[tuple[str, Scenario]],
    replications: int = 1,
    seed: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
    tables: tuple[str, ...] = TABLES,
) -> Result:
    """Every variant x replication, tables stacked with a `variant` column. Variants share
    the replication seeds, so their differences come from the change, not the draw."""
    base = variants[0][1]
    seeds = replication_seeds(base.seed if seed is None else seed, replications)
    tasks = [
        Task(scenario, seeds[i], i, label, tuple(tables))
        for label, scenario in variants
        for i in range(replications)
    ]
    return _run(base, tasks, None, workers, scheduler, progress)


def _run(
    scenario: Scenario,
    tasks: list[Task],
    executor: Executor | None,
    workers: int,
    scheduler: str | None,
    progress: bool,
) -> Result:
    """The one path every multi-run takes: the given executor, or the one chosen for it."""
    if executor is not None:
        return combine(scenario, run_tasks(tasks, executor, progress))
    with executor_for(workers, scheduler) as chosen:
        return combine(scenario, run_tasks(tasks, chosen, progress))


def combine(scenario: Scenario, results: Iterable[Result]) -> Result:
    results = list(results)
    if len(results) == 1:
        return results[0]
    names = results[0].tables()
    tables = {name: concat([r.tables()[name] for r in results]) for name in names}
    return Result(scenario, **tables, warnings=[w for r in results for w in r.warnings])


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
