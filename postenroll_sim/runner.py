"""Running scenarios: one replication (`simulate`), many, and writing the tables safely."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from .engine import Model, compile_plan
from .scenario import Scenario

TABLES = ("enrollments", "jobs", "events", "sessions")
FORMATS = ("parquet", "csv")


@dataclass
class Result:
    """The output tables of a run (OUTPUTS.md), plus any warnings (e.g. S22's guard)."""

    scenario: Scenario
    enrollments: pd.DataFrame
    jobs: pd.DataFrame
    events: pd.DataFrame
    sessions: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}

    def write(self, folder: str | os.PathLike, format: str = "parquet") -> list[Path]:
        """Write each table as `<folder>/<table>.<format>`: all files are written to a
        temporary folder first and moved into place only once every one is complete."""
        return write_tables(self.tables(), folder, format)


def write_tables(
    tables: dict[str, pd.DataFrame], folder: str | os.PathLike, format: str = "parquet"
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
    scenario: Scenario, seed: int | np.random.SeedSequence | None = None, replication: int = 0
) -> Result:
    """Run one replication of `scenario`. `seed` defaults to the scenario's own seed.

    Raises ScenarioError when a script action cannot be applied (located at its line)."""
    if not isinstance(seed, np.random.SeedSequence):
        seed = replication_seeds(scenario.seed if seed is None else seed, replication + 1)[
            replication
        ]
    model = Model(compile_plan(scenario), seed)
    model.run()
    tables = model.recorder.tables(replication=replication, start_date=scenario.start_date)
    return Result(scenario, **tables, warnings=list(model.lms.warnings))


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """Independent per-replication streams: SeedSequence(seed).spawn(n)."""
    return np.random.SeedSequence(seed).spawn(replications)


def _one(args: tuple[Scenario, np.random.SeedSequence, int]) -> Result:
    scenario, seed, replication = args
    return simulate(scenario, seed=seed, replication=replication)


def simulate_replications(
    scenario: Scenario,
    replications: int = 1,
    seed: int | None = None,
    executor: Executor | None = None,
    workers: int = 1,
) -> Result:
    """Run `replications` independent replications and stack their tables (column
    `replication`). One code path for every executor; results do not depend on it."""
    seed = scenario.seed if seed is None else seed
    seeds = replication_seeds(seed, replications)
    jobs = [(scenario, seeds[i], i) for i in range(replications)]
    if executor is not None:
        results = list(executor.map(_one, jobs))
    elif workers > 1 and replications > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_one, jobs))
    else:
        results = [_one(job) for job in jobs]
    return combine(scenario, results)


def combine(scenario: Scenario, results: Iterable[Result]) -> Result:
    results = list(results)
    if len(results) == 1:
        return results[0]
    tables = {name: concat([getattr(r, name) for r in results]) for name in TABLES}
    return Result(scenario, **tables, warnings=[w for r in results for w in r.warnings])


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack the tables of several replications, keeping id columns categorical: each
    replication may have generated other learners, so categories are united in order."""
    if len(frames) == 1:
        return frames[0]
    out = pd.concat(frames, ignore_index=True)
    for column in frames[0].columns:
        categorical = isinstance(frames[0][column].dtype, pd.CategoricalDtype)
        if categorical and not isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = union_categoricals([f[column] for f in frames], ignore_order=True)
    return out
