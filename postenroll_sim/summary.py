"""The short text summary `postenroll-sim run` prints: what was enrolled, what each rule did."""

from __future__ import annotations

import pandas as pd

from .columns import METHODS, OUTCOMES


def enrollments_by_course(enrollments: pd.DataFrame) -> pd.DataFrame:
    """Enrollments per course and method (mean per replication), with a total column."""
    reps = max(enrollments["replication"].nunique(), 1)
    table = pd.crosstab(enrollments["course_id"], enrollments["method"], dropna=False) / reps
    table = table.reindex(columns=[m for m in METHODS if m in table.columns])
    table = table.loc[:, table.sum() > 0]
    table["total"] = table.sum(axis=1)
    return table[table["total"] > 0]


def outcomes_by_rule(jobs: pd.DataFrame) -> pd.DataFrame:
    """Job outcomes per rule (one count per job and target, mean per replication)."""
    reps = max(jobs["replication"].nunique(), 1)
    table = pd.crosstab(jobs["rule_id"], jobs["outcome"], dropna=False) / reps
    table = table.reindex(columns=[o for o in OUTCOMES if o in table.columns])
    table = table.loc[:, table.sum() > 0]
    return table[table.sum(axis=1) > 0]


def _fmt(table: pd.DataFrame) -> str:
    whole = (table % 1 == 0).all().all()
    return table.to_string(float_format=(lambda v: f"{v:.0f}") if whole else (lambda v: f"{v:.1f}"))


def summary_text(result, source: str) -> str:
    scenario = result.scenario
    e, j = result.enrollments, result.jobs
    any_table = next(iter(result.tables().values()))
    reps = max(any_table["replication"].nunique(), 1) if len(any_table) else 1
    counts = []
    if e is not None:
        counts.append(f"{len(e) / reps:.0f} enrollments")
    if j is not None:
        counts.append(f"{j.groupby('replication')['job_id'].nunique().sum() / reps:.0f} jobs")
    lines = [
        f"{scenario.name}  ({source})",
        f"horizon {scenario.horizon_days:g} days, {reps} replication{'s' if reps > 1 else ''}"
        + (": " + ", ".join(counts) if counts else "")
        + (", means per replication" if reps > 1 else ""),
    ]
    if e is not None:
        lines += ["", "Enrollments by course and method:"]
        lines.append(_fmt(enrollments_by_course(e)) if len(e) else "  (none)")
    if j is not None:
        lines += ["", "Rule outcomes (one per job and target course):"]
        lines.append(_fmt(outcomes_by_rule(j)) if len(j) else "  (no rule fired)")
    return "\n".join(lines)


def by_variant(result) -> pd.DataFrame:
    """Per variant: means per replication of enrollments, jobs and each job outcome."""
    e, j = result.enrollments, result.jobs
    reps = max(e["replication"].nunique(), 1)
    table = pd.DataFrame(
        {
            "enrollments": e.groupby("variant", observed=True).size() / reps,
            "jobs": j.groupby("variant", observed=True)["job_id"].size() / reps,
        }
    )
    outcomes = pd.crosstab(j["variant"], j["outcome"]) / reps
    outcomes = outcomes.loc[:, outcomes.sum() > 0]
    return table.join(outcomes).fillna(0)


def sweep_summary_text(result, source: str) -> str:
    any_table = next(iter(result.tables().values()))
    reps = max(any_table["replication"].nunique(), 1)
    lines = [
        f"{result.scenario.name}  ({source})",
        f"sweep: {any_table['variant'].nunique()} variants x {reps} replications "
        "(means per replication; job counts are per job and target)",
        "",
    ]
    table = by_variant(result)
    lines.append(_fmt(table) if len(table) else "(enrollments and jobs not built)")
    return "\n".join(lines)
