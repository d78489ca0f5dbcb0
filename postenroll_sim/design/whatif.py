"""What-if: two scenarios with the same catalog and population and other rules, run with
common random numbers, and each number's paired difference with its 95% interval
(docs/designer-tools.md, "compare").

`comparable` says whether two files may be compared (scenario/diff.py decides what may
differ); `what_if` runs them and compares, the command line (`compare`) only prints and
files what it returns. The comparison page of a sweep or a compare folder compares its
variants with the same `analysis.variant_differences`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..analysis.compare import (
    differences_of,
    joined_numbers,
    replication_numbers,
    variant_differences,
)
from ..analysis.rules import learning_path, validity_of
from ..run.outdir import OutputFolder
from ..run.runner import Result, Staged, simulate_variants, simulate_variants_into
from ..run.summary import comparison_text
from ..scenario import Scenario
from ..scenario.diff import compare_scenarios


class NotComparable(ValueError):
    """Two scenarios that cannot be compared: the reasons, in one line."""


def compare_labels(a: str, b: str) -> tuple[str, str]:
    """The two runs' labels: the files' stems; their paths when the stems are equal."""
    if Path(a).stem != Path(b).stem:
        return Path(a).stem, Path(b).stem
    if a != b:
        return a, b
    return f"{a} (A)", f"{b} (B)"


def comparable(spec_a: Scenario, spec_b: Scenario, a: str, b: str, seed_given: bool) -> list[str]:
    """What differs between the two scenarios, as lines for the reader; NotComparable
    when something that must be the same differs (the catalog, the population, the
    seed unless one is given)."""
    found = compare_scenarios(spec_a, spec_b, ("A", "B"), seed_given=seed_given)
    if found.blocking:
        raise NotComparable(f"cannot compare {a} (A) with {b} (B): " + "; ".join(found.blocking))
    return found.changes


@dataclass(frozen=True)
class WhatIf:
    result: Result  # both runs' tables, a `variant` column saying which (none: staged)
    table: pd.DataFrame  # `analysis.compare_numbers`: B minus A, one row per number
    text: str  # what `compare` prints
    staged: Staged | None = None  # written into a folder as it ran (`what_if(folder=...)`)

    @property
    def changed(self) -> bool:
        """Did a number change beyond noise (exactly, when nothing is drawn at random)?"""
        return bool(self.table["changed"].any())


def what_if(
    a: str,
    b: str,
    spec_a: Scenario,
    spec_b: Scenario,
    changes: list[str],
    replications: int = 1,
    seed: int | None = None,
    workers: int = 1,
    progress: bool = False,
    path: list[str] | None = None,
    run_with: Callable[[Callable[[], Result | Staged]], Result | Staged] | None = None,
    executor: Executor | None = None,
    folder: OutputFolder | None = None,
    fmt: str = "parquet",
    keep: bool = False,
) -> WhatIf:
    """Run A and B paired (replication r of each draws the same streams) and compare
    every number. `path` is the learning path timed (default: A's); `run_with` wraps the
    run (the command line discards its folder when it fails); `executor` runs the
    replications (the preview's counts them and can stop between two). With `folder`,
    both runs are written into its staging area as each replication ends, in `fmt`, and
    each replication's numbers are taken by its worker, so no table is ever whole in
    memory (`keep`: the tables are read back for a report); commit `WhatIf.staged`."""
    labels = compare_labels(a, b)
    path = path if path is not None else learning_path(spec_a)
    validity = validity_of([spec_a, spec_b])
    pairs = [(labels[0], spec_a), (labels[1], spec_b)]

    def run_both() -> Result | Staged:
        if folder is not None:
            return simulate_variants_into(
                folder,
                pairs,
                replications,
                fmt,
                seed=seed,
                workers=workers,
                progress=progress,
                executor=executor,
                keep=keep,
                summarize=functools.partial(replication_numbers, path=path, validity=validity),
            )
        return simulate_variants(
            pairs,
            replications,
            seed=seed,
            workers=workers,
            progress=progress,
            executor=executor,
        )

    ran = run_with(run_both) if run_with is not None else run_both()
    staged = ran if isinstance(ran, Staged) else None
    result = staged.result if staged is not None else ran
    result.command = "compare"
    for record, source in zip(result.variants, (a, b), strict=True):
        record["source"] = source
    if staged is not None:
        numbers = {label: joined_numbers(spec, staged.summaries[label]) for label, spec in pairs}
        differences, exact = differences_of(numbers, [spec_a, spec_b])
    else:
        (_, run_a), (_, run_b) = result.split_variants()
        _, differences, exact = variant_differences(
            [(labels[0], run_a), (labels[1], run_b)], path, validity, list(range(replications))
        )
    table = differences[labels[1]]
    text = comparison_text(
        table,
        labels,
        (a, b),
        changes,
        replications,
        result.seed,
        spec_a.horizon_days,
        exact=exact,
        start_date=spec_a.start_date,
    )
    return WhatIf(result, table, text, staged)
