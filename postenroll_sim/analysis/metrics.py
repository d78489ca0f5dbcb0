"""Counts over time: enrollment volume, recertification load, compliance, job backlog,
and what each rule did."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..columns import OUTCOMES
from .core import HIGH, LOW, as_str, band, period_index, replications_of


def enrollment_volume(
    enrollments: pd.DataFrame,
    horizon_days: float,
    period_days: float = 7.0,
    by: str | None = "course_id",
) -> pd.DataFrame:
    """New enrollment records per period and `by` group (course_id, method, ...; None:
    all together, group "all"): columns period_day, <by or "group">, mean, p05, p95."""
    periods = period_index(horizon_days, period_days)
    labels = (
        as_str(enrollments[by]).to_numpy() if by is not None else np.full(len(enrollments), "all")
    )
    by = by or "group"
    frame = pd.DataFrame(
        {
            "replication": enrollments["replication"].to_numpy(),
            "period_day": np.floor(enrollments["enrolled_day"].to_numpy() / period_days)
            * period_days,
            by: labels,
            "n": 1,
        }
    )
    groups = _categories(enrollments[by]) if by in enrollments else ["all"]
    full = pd.MultiIndex.from_product([periods, groups], names=["period_day", by])
    return band(frame, ["period_day", by], "n", replications_of(enrollments), full)


def _categories(series: pd.Series) -> list[str]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(as_str(series.dropna()).unique())
        return [str(c) for c in series.cat.categories if str(c) in present]
    return sorted(as_str(series.dropna()).unique())


def recertification_load(
    enrollments: pd.DataFrame,
    horizon_days: float,
    period_days: float = 7.0,
    courses: list[str] | None = None,
) -> pd.DataFrame:
    """Re-enrollments per period: new records of a course the learner had completed
    before (recertification). Columns period_day, course_id, mean, p05, p95."""
    e = enrollments
    if courses is not None:
        e = e[as_str(e["course_id"]).isin(courses)]
    e = e.sort_values(["replication", "learner_id", "course_id", "enrollment_id"])
    keys = [e["replication"], as_str(e["learner_id"]), as_str(e["course_id"])]
    done = e["completed_day"].notna().astype(int)
    earlier_completions = done.groupby(keys).cumsum() - done
    recert = e[earlier_completions.to_numpy() > 0]
    frame = pd.DataFrame(
        {
            "replication": recert["replication"].to_numpy(),
            "period_day": np.floor(recert["enrolled_day"].to_numpy() / period_days) * period_days,
            "course_id": as_str(recert["course_id"]).to_numpy(),
            "n": 1,
        }
    )
    groups = courses if courses is not None else _categories(enrollments["course_id"])
    full = pd.MultiIndex.from_product(
        [period_index(horizon_days, period_days), groups], names=["period_day", "course_id"]
    )
    return band(frame, ["period_day", "course_id"], "n", replications_of(enrollments), full)


def recertification_peak(load: pd.DataFrame) -> dict:
    """The busiest period of a recertification load (all courses together)."""
    total = load.groupby("period_day", as_index=False)[["mean", "p05", "p95"]].sum()
    if total.empty or total["mean"].max() <= 0:
        return {"period_day": None, "mean": 0.0, "p05": 0.0, "p95": 0.0}
    row = total.loc[total["mean"].idxmax()]
    return {
        "period_day": float(row["period_day"]),
        "mean": float(row["mean"]),
        "p05": float(row["p05"]),
        "p95": float(row["p95"]),
    }


def compliance(
    enrollments: pd.DataFrame,
    events: pd.DataFrame,
    courses: list[str],
    validity_days: float,
    horizon_days: float,
    step_days: float = 7.0,
) -> pd.DataFrame:
    """Share of the learners present at each time who hold a completion of one of
    `courses` no older than `validity_days`. Columns day, mean, p05, p95 (shares)."""
    grid = period_index(horizon_days, step_days)
    done = enrollments[
        as_str(enrollments["course_id"]).isin(courses) & enrollments["completed_day"].notna()
    ]
    shares = []
    for replication in replications_of(enrollments, events):
        ev = events[events["replication"] == replication]
        learners = as_str(ev["learner_id"])
        joined = (
            ev[ev["event"] == "learner_added"]
            .assign(learner=learners)
            .groupby("learner")["day"]
            .min()
        )
        left = (
            ev[ev["event"] == "learner_removed"]
            .assign(learner=learners)
            .groupby("learner")["day"]
            .min()
        )
        present = (
            pd.DataFrame({"joined": joined}).join(left.rename("left")).fillna({"left": np.inf})
        )
        mine = done[done["replication"] == replication]
        who = as_str(mine["learner_id"]).to_numpy()
        when = mine["completed_day"].to_numpy()
        row = []
        for t in grid:
            active = present[(present["joined"] <= t) & (present["left"] > t)].index
            valid = (when <= t) & (when > t - validity_days)
            holders = np.intersect1d(np.unique(who[valid]), active.to_numpy(dtype=str))
            row.append(len(holders) / len(active) if len(active) else np.nan)
        shares.append(row)
    values = np.array(shares, dtype=float)
    return pd.DataFrame(
        {
            "day": grid,
            "mean": np.nanmean(values, axis=0),
            "p05": np.nanquantile(values, LOW, axis=0),
            "p95": np.nanquantile(values, HIGH, axis=0),
        }
    )


def job_backlog(jobs: pd.DataFrame, horizon_days: float, step_days: float = 1.0) -> pd.DataFrame:
    """Jobs queued and not yet processed at each time (pending ones until the horizon).
    Columns day, mean, p05, p95."""
    grid = period_index(horizon_days, step_days)
    per_job = (
        jobs.groupby(["replication", "job_id"], observed=True)
        .agg(queued=("queued_day", "first"), processed=("processed_day", "first"))
        .reset_index()
    )
    counts = []
    for replication in replications_of(jobs):
        mine = per_job[per_job["replication"] == replication]
        queued = np.sort(mine["queued"].to_numpy())
        processed = np.sort(mine["processed"].fillna(np.inf).to_numpy())
        counts.append(
            np.searchsorted(queued, grid, side="right")
            - np.searchsorted(processed, grid, side="right")
        )
    values = np.array(counts, dtype=float)
    return pd.DataFrame(
        {
            "day": grid,
            "mean": values.mean(axis=0),
            "p05": np.quantile(values, LOW, axis=0),
            "p95": np.quantile(values, HIGH, axis=0),
        }
    )


def rule_outcomes(jobs: pd.DataFrame) -> pd.DataFrame:
    """What each rule did: per rule and outcome, the mean count per replication (one
    per job and target) and the share of the rule's outcomes. Zero where it never happened."""
    frame = pd.DataFrame(
        {
            "replication": jobs["replication"].to_numpy(),
            "rule_id": as_str(jobs["rule_id"]).to_numpy(),
            "outcome": as_str(jobs["outcome"]).to_numpy(),
            "n": 1,
        }
    )
    rules = _categories(jobs["rule_id"])
    full = pd.MultiIndex.from_product([rules, list(OUTCOMES)], names=["rule_id", "outcome"])
    out = band(frame, ["rule_id", "outcome"], "n", replications_of(jobs), full)
    totals = out.groupby("rule_id")["mean"].transform("sum")
    out["share"] = np.where(totals > 0, out["mean"] / totals.where(totals > 0, 1), 0.0)
    return out
