"""Simulating without pandas: the replication streams, and the plain-column tables a
`check` matches on (columnar.py).

runner.py (which imports pandas) takes its streams from here, so `run`, `sweep` and
`check` draw the same numbers: replication i of a scenario is the same run in each.
"""

from __future__ import annotations

import numpy as np

from ..engine.columnar import Table, concat
from ..scenario import Scenario

CHECKED_TABLES = ("enrollments", "jobs", "events", "certificates")  # what `expect` matches


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """Independent per-replication streams: SeedSequence(seed).spawn(n)."""
    return np.random.SeedSequence(seed).spawn(replications)


def simulate_columns(
    scenario: Scenario, replications: int = 1, tables: tuple[str, ...] = CHECKED_TABLES
) -> dict[str, Table]:
    """Run `replications` replications of `scenario` in this process, one after another
    (streams from SeedSequence(scenario.seed).spawn), and stack their tables (column
    `replication`): what `simulate_replications` builds, as plain columns, no DataFrames.

    Raises ScenarioError when a script action cannot be applied (located at its line)."""
    from ..engine import recorder
    from ..history.warm import model_for

    runs = []
    for replication, seed in enumerate(replication_seeds(scenario.seed, replications)):
        model = model_for(scenario, seed, record_events="events" in tables)
        model.run()
        runs.append(
            recorder.column_tables(
                model,
                replication=replication,
                start_date=scenario.start_date,
                which=tables,
                release=True,
            )
        )
    return {name: concat(run[name] for run in runs) for name in tables}
