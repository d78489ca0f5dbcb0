"""Learning-path timing: how long each step takes, and the whole path, end to end.

Learners still on a step at the horizon are not dropped (that would make paths look
faster than they are): their time so far is a censored observation, and completion
curves use the Kaplan-Meier estimator, which counts them as "not done yet" for as
long as they were watched.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .core import HIGH, LOW, as_str, by_replication, one_variant, replications_of, shared, summarise

END_TO_END = "end to end"


@shared
def learning_path_timing(
    enrollments: pd.DataFrame, path: list[str], horizon_days: float
) -> pd.DataFrame:
    """One row per replication, learner and step (plus an `end to end` row per learner):
    `start_day`, `end_day` (null if not completed by the horizon), `duration_days` (to
    completion, or to the horizon when censored) and `completed`.

    A learner enters the path with their first enrollment in `path[0]`. Step i starts at
    their first enrollment in `path[i]` from then on and ends at its first completion."""
    one_variant(enrollments)
    e = enrollments.assign(
        course=as_str(enrollments["course_id"]), learner=as_str(enrollments["learner_id"])
    )
    e = e[e["course"].isin(path)]
    entry = (
        e[e["course"] == path[0]]
        .groupby(["replication", "learner"])["enrolled_day"]
        .min()
        .rename("entry_day")
        .reset_index()
    )
    rows = []
    e = e.merge(entry, on=["replication", "learner"])
    e = e[e["enrolled_day"] >= e["entry_day"]]
    for course in path:
        step = e[e["course"] == course]
        starts = step.groupby(["replication", "learner"])["enrolled_day"].min().rename("start_day")
        done = step.merge(starts.reset_index(), on=["replication", "learner"])
        done = done[done["completed_day"] >= done["start_day"]]
        ends = done.groupby(["replication", "learner"])["completed_day"].min().rename("end_day")
        # every end has its start: a join on the starts (aligning the two indexes costs as
        # much per call as the rest of a replication's step)
        frame = starts.reset_index().merge(
            ends.reset_index(), on=["replication", "learner"], how="left"
        )
        frame["step"] = course
        rows.append(frame)
    last = rows[-1][["replication", "learner", "end_day"]]
    whole = entry.rename(columns={"entry_day": "start_day"}).merge(
        last, on=["replication", "learner"], how="left"
    )
    whole["step"] = END_TO_END
    out = pd.concat([*rows, whole], ignore_index=True)
    out["completed"] = out["end_day"].notna()
    out["duration_days"] = out["end_day"].fillna(horizon_days) - out["start_day"]
    out = out.rename(columns={"learner": "learner_id"})
    order = {name: i for i, name in enumerate([*path, END_TO_END])}
    out = out.sort_values(
        ["replication", "step", "learner_id"], key=lambda s: s.map(order) if s.name == "step" else s
    )
    columns = [
        "replication",
        "learner_id",
        "step",
        "start_day",
        "end_day",
        "duration_days",
        "completed",
    ]
    return out[columns].reset_index(drop=True)


def kaplan_meier(durations: np.ndarray, completed: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Share completed within each grid time, counting censored learners as at risk
    until they were last seen."""
    if len(durations) == 0:
        return np.full(len(grid), np.nan)
    order = np.argsort(durations, kind="stable")
    d, c = durations[order], completed[order].astype(float)
    times, first = np.unique(d, return_index=True)
    events = np.add.reduceat(c, first)
    at_risk = len(d) - first
    survival = np.cumprod(1.0 - events / at_risk)
    position = np.searchsorted(times, grid, side="right") - 1
    return np.where(position >= 0, 1.0 - survival[np.clip(position, 0, None)], 0.0)


def completion_curve(
    timing: pd.DataFrame, points: int = 200, max_days: float | None = None
) -> pd.DataFrame:
    """Share of learners who completed each step within t days (Kaplan-Meier), per
    replication, then the mean and 5-95% band: columns step, days, mean, p05, p95."""
    if max_days is None:  # up to where nearly everyone who completes has completed
        done = timing.loc[timing["completed"], "duration_days"]
        max_days = (
            float(done.quantile(0.99) * 1.25) if len(done) else float(timing["duration_days"].max())
        )
        max_days = max(max_days, 1.0)
    grid = np.linspace(0.0, max_days, points)
    frames = []
    replications = replications_of(timing)
    for step, rows in timing.groupby("step", sort=False, observed=True):
        found = by_replication(rows)
        empty = rows.iloc[:0]
        curves = np.vstack(
            [
                kaplan_meier(g["duration_days"].to_numpy(), g["completed"].to_numpy(), grid)
                for g in (found.get(r, empty) for r in replications)
            ]
        )
        frames.append(
            pd.DataFrame(
                {
                    "step": step,
                    "days": grid,
                    "mean": np.nanmean(curves, axis=0),
                    "p05": np.nanquantile(curves, LOW, axis=0),
                    "p95": np.nanquantile(curves, HIGH, axis=0),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


SUMMARY_MEASURES = ("started", "completed_share", "median_days", "p90_days")


def path_measures(timing: pd.DataFrame, replications: list[int] | None = None) -> pd.DataFrame:
    """Each step's measures in each replication (the numbers `path_summary` summarises):
    columns step, replication and SUMMARY_MEASURES; a replication where nobody started
    the step has started 0 and the rest NaN. One pass over the rows of each step."""
    replications = replications or replications_of(timing)
    out = {"step": [], "replication": [], **{name: [] for name in SUMMARY_MEASURES}}
    for step, rows in timing.groupby("step", sort=False, observed=True):
        of = rows["replication"].to_numpy()
        order = np.argsort(of, kind="stable")
        sorted_of = of[order]
        durations = rows["duration_days"].to_numpy(dtype=float)[order]
        completed = rows["completed"].to_numpy(dtype=bool)[order]
        for replication in replications:
            lo = np.searchsorted(sorted_of, replication, side="left")
            hi = np.searchsorted(sorted_of, replication, side="right")
            mine, done = durations[lo:hi], completed[lo:hi]
            out["step"].append(step)
            out["replication"].append(replication)
            out["started"].append(hi - lo)
            if hi > lo:
                grid = np.linspace(0.0, float(mine.max()) or 1.0, 2000)
                curve = kaplan_meier(mine, done, grid)
                out["completed_share"].append(float(done.mean()))
                out["median_days"].append(_quantile(grid, curve, 0.5))
                out["p90_days"].append(_quantile(grid, curve, 0.9))
            else:
                for name in ("completed_share", "median_days", "p90_days"):
                    out[name].append(np.nan)
    return pd.DataFrame(out)


def path_summary(timing: pd.DataFrame, replications: list[int] | None = None) -> pd.DataFrame:
    """Per step, worked out in each replication, then the mean over replications with a
    5-95% band: learners who started it (`started`), the share of them who completed it
    by the horizon (`completed_share`), and the Kaplan-Meier median and 90th percentile
    in days (`median_days`, `p90_days`). Each measure has `<measure>_p05` and
    `<measure>_p95` columns; a percentile a replication never reached is left out of its
    mean (`<measure>_reached` says in how many replications it was reached)."""
    replications = replications or replications_of(timing)
    measures = path_measures(timing, replications)
    out = []
    for step, per in measures.groupby("step", sort=False):
        row = {"step": step}
        for name in SUMMARY_MEASURES:
            values = per[name].to_numpy(dtype=float)
            band = summarise(values)
            row[name], row[f"{name}_p05"], row[f"{name}_p95"] = (
                band["mean"],
                band["p05"],
                band["p95"],
            )
            if name in ("median_days", "p90_days"):
                row[f"{name}_reached"] = int(np.sum(~np.isnan(values)))
        row["replications"] = len(replications)
        out.append(row)
    return pd.DataFrame(out)


def _quantile(grid: np.ndarray, curve: np.ndarray, share: float) -> float:
    reached = np.nonzero(curve >= share)[0]
    return float(grid[reached[0]]) if len(reached) else float("nan")
