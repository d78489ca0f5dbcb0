"""The short text summary `postenroll-sim run` prints: what was enrolled, what each rule did.

With several replications every number is counted per replication, then printed as the
mean with its 5-95% band across replications; a sweep prints each variant apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .columns import METHODS, OUTCOMES

LOW, HIGH = 0.05, 0.95


def _replications(frame: pd.DataFrame, replications: list[int] | None) -> list[int]:
    if replications:
        return list(replications)
    found = sorted(int(r) for r in pd.unique(frame["replication"])) if len(frame) else []
    return found or [0]


def _spread(per_replication: pd.DataFrame) -> pd.Series:
    """'low-high' per column of a (replication x column) table of counts."""
    low = per_replication.quantile(LOW)
    high = per_replication.quantile(HIGH)
    return pd.Series(
        [f"{a:.0f}-{b:.0f}" for a, b in zip(low, high, strict=True)], index=per_replication.columns
    )


def enrollments_by_course(
    enrollments: pd.DataFrame, replications: list[int] | None = None, bands: bool = True
) -> pd.DataFrame:
    """Enrollments per course and method (mean per replication), with a total column and,
    with several replications, the total's 5-95% band (`total 5-95%`)."""
    replications = _replications(enrollments, replications)
    reps = len(replications)
    table = pd.crosstab(enrollments["course_id"], enrollments["method"], dropna=False) / reps
    table = table.reindex(columns=[m for m in METHODS if m in table.columns])
    table = table.loc[:, table.sum() > 0]
    table["total"] = table.sum(axis=1)
    table = table[table["total"] > 0]
    if bands and reps > 1:
        per = (
            pd.crosstab(enrollments["replication"], enrollments["course_id"], dropna=False)
            .reindex(replications, fill_value=0)
            .reindex(columns=table.index, fill_value=0)
        )
        table["total 5-95%"] = _spread(per)
    return table


def outcomes_by_rule(
    jobs: pd.DataFrame, replications: list[int] | None = None, bands: bool = True
) -> pd.DataFrame:
    """Job outcomes per rule (one count per job and target, mean per replication), with
    the 5-95% band of each rule's jobs (`jobs 5-95%`) when there are several replications."""
    replications = _replications(jobs, replications)
    reps = len(replications)
    table = pd.crosstab(jobs["rule_id"], jobs["outcome"], dropna=False) / reps
    table = table.reindex(columns=[o for o in OUTCOMES if o in table.columns])
    table = table.loc[:, table.sum() > 0]
    table = table[table.sum(axis=1) > 0]
    if bands and reps > 1:
        per = (
            pd.crosstab(jobs["replication"], jobs["rule_id"], dropna=False)
            .reindex(replications, fill_value=0)
            .reindex(columns=table.index, fill_value=0)
        )
        table["outcomes 5-95%"] = _spread(per)
    return table


def _fmt(table: pd.DataFrame) -> str:
    numbers = table.select_dtypes("number")
    whole = (numbers % 1 == 0).all().all()
    return table.to_string(float_format=(lambda v: f"{v:.0f}") if whole else (lambda v: f"{v:.1f}"))


def _band_text(values: np.ndarray) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return f"{values.mean():.0f}"
    return (
        f"{values.mean():.0f} (5-95%: {np.quantile(values, LOW):.0f}"
        f"-{np.quantile(values, HIGH):.0f})"
    )


def headline(result, replications: list[int]) -> list[str]:
    """'enrollments 1234 (5-95%: 1200-1260)' and the like, counted per replication."""
    e, j, ev = result.enrollments, result.jobs, result.events
    parts = []

    def per(frame, counter) -> np.ndarray:
        return counter(frame).reindex(replications, fill_value=0).to_numpy()

    if ev is not None:
        added = ev[ev["event"] == "learner_added"]
        parts.append(
            "learners " + _band_text(per(added, lambda f: f.groupby("replication").size()))
        )
    if e is not None:
        parts.append("enrollments " + _band_text(per(e, lambda f: f.groupby("replication").size())))
    if j is not None:
        parts.append(
            "jobs " + _band_text(per(j, lambda f: f.groupby("replication")["job_id"].nunique()))
        )
        pending = j[j["outcome"] == "pending"]
        parts.append(
            "pending at the horizon "
            + _band_text(per(pending, lambda f: f.groupby("replication")["job_id"].nunique()))
        )
    return parts


def summary_text(result, source: str) -> str:
    scenario = result.scenario
    e, j = result.enrollments, result.jobs
    any_table = next(iter(result.tables().values()))
    replications = _replications(any_table, list(range(result.replications)))
    reps = len(replications)
    lines = [
        f"{scenario.name}  ({source})",
        f"horizon {scenario.horizon_days:g} days, {reps} replication{'s' if reps > 1 else ''}"
        + (": mean per replication (5-95% across replications)" if reps > 1 else ""),
        "  " + ", ".join(headline(result, replications)),
    ]
    if e is not None:
        lines += ["", "Enrollments by course and method" + (" (mean):" if reps > 1 else ":")]
        lines.append(_fmt(enrollments_by_course(e, replications)) if len(e) else "  (none)")
    if j is not None:
        lines += [
            "",
            "Rule outcomes (one per job and target course" + (", mean):" if reps > 1 else "):"),
        ]
        lines.append(_fmt(outcomes_by_rule(j, replications)) if len(j) else "  (no rule fired)")
    return "\n".join(lines)


def by_variant(result) -> pd.DataFrame:
    """Per variant: enrollments, jobs and each job outcome, mean per replication, with the
    5-95% band of enrollments and jobs across replications."""
    replications = list(range(max(result.replications, 1)))
    rows = {}
    for label, single in result.split_variants():
        e, j = single.enrollments, single.jobs
        row = {}
        if e is not None:
            per = e.groupby("replication").size().reindex(replications, fill_value=0)
            row["enrollments"] = per.mean()
            row["enrollments 5-95%"] = f"{per.quantile(LOW):.0f}-{per.quantile(HIGH):.0f}"
        if j is not None:
            per = j.groupby("replication")["job_id"].nunique().reindex(replications, fill_value=0)
            row["jobs"] = per.mean()
            row["jobs 5-95%"] = f"{per.quantile(LOW):.0f}-{per.quantile(HIGH):.0f}"
            outcomes = j["outcome"].astype("str").value_counts() / len(replications)
            for outcome in OUTCOMES:
                if outcomes.get(outcome, 0) > 0:
                    row[outcome] = outcomes[outcome]
        rows[label] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "variant"
    ordered = [c for c in ["enrollments", "enrollments 5-95%", "jobs", "jobs 5-95%"] if c in table]
    ordered += [o for o in OUTCOMES if o in table]
    return table[ordered].fillna(0) if len(table.columns) else table


def sweep_summary_text(result, source: str) -> str:
    reps = max(result.replications, 1)
    labels = result.variant_labels()
    lines = [
        f"{result.scenario.name}  ({source})",
        f"sweep: {len(labels)} variants x {reps} replications, each variant on its own "
        "(means per replication, 5-95% across replications; job counts are per job and target)",
        "",
    ]
    table = by_variant(result)
    lines.append(_fmt(table) if len(table.columns) else "(enrollments and jobs not built)")
    return "\n".join(lines)
