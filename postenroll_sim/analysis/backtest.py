"""A backtest's numbers (`postenroll-sim backtest`): what a history shows after a cut date
against what a forecast warm-started at the cut (S39-S41) says, month by month, per
course and method.

Everything here is from tables: the history's records after the cut (course, method and
the moment each was created) and the forecast's `enrollments` table (every replication).
A month is a calendar month of the scenario's calendar; the first and the last may be
partial (the cut, or `--until`, falls inside them): the history and the forecast cover
the same part of them, so they compare as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# the band a month's actual count must fall in to be "inside" (5-95% over replications)
LOW, HIGH = 0.05, 0.95


@dataclass(frozen=True)
class Scores:
    """How well the forecast matched: over every (month, course, method) cell."""

    cells: int  # month x (course, method) pairs seen in the history or the forecast
    inside: int  # cells whose actual count lies in the forecast's 5-95% band
    mape: float  # mean |forecast mean - actual| / actual, over cells with actual > 0
    bias: float  # (sum of forecast means - sum of actuals) / sum of actuals
    actual: int  # records in the history after the cut
    forecast: float  # the forecast's mean number of enrollments after the cut

    @property
    def coverage(self) -> float:
        return self.inside / self.cells if self.cells else float("nan")


def months(cut: pd.Timestamp, until: pd.Timestamp) -> pd.PeriodIndex:
    """The calendar months from the cut's to the one holding the last instant before
    `until`."""
    last = until - pd.Timedelta(seconds=1)
    return pd.period_range(cut.to_period("M"), last.to_period("M"), freq="M")


def _counts(frame: pd.DataFrame, cut: pd.Timestamp, until: pd.Timestamp, by: list[str]):
    at = frame["enrolled_at"]
    inside = frame[(at >= cut) & (at < until)]
    keys = [inside["enrolled_at"].dt.to_period("M").rename("month")]
    keys += [inside[name] if name == "replication" else inside[name].astype(str) for name in by]
    return inside.groupby(keys, observed=True).size()


def monthly(
    actual: pd.DataFrame,
    forecast: pd.DataFrame,
    cut: pd.Timestamp,
    until: pd.Timestamp,
    replications: int,
) -> pd.DataFrame:
    """One row per month and (course, method) pair: the history's count (`actual`), the
    forecast's mean and 5-95% band over its replications (a replication with no such
    enrollment counts 0), and whether the actual count is inside the band.

    `actual`: columns `course`, `method`, `enrolled_at`; `forecast`: the enrollments
    table, `replication`, `course_id`, `method`, `enrolled_at`. Only enrollments created
    in [cut, until) count; pairs that neither shows at all are left out (a method no
    record and no run uses would be a trivially covered row of zeros)."""
    span = months(cut, until)
    history = _counts(actual, cut, until, ["course", "method"])
    simulated = _counts(
        forecast.rename(columns={"course_id": "course"}),
        cut,
        until,
        ["replication", "course", "method"],
    )
    pairs = sorted(
        set(zip(history.index.get_level_values(1), history.index.get_level_values(2), strict=True))
        | set(
            zip(
                simulated.index.get_level_values(2),
                simulated.index.get_level_values(3),
                strict=True,
            )
        )
    )
    rows = []
    reps = np.arange(replications)
    per_rep = simulated.to_dict()
    for course, method in pairs:
        for month in span:
            counts = np.array(
                [per_rep.get((month, rep, course, method), 0) for rep in reps], dtype=float
            )
            count = int(history.get((month, course, method), 0))
            low, high = np.quantile(counts, [LOW, HIGH])
            rows.append(
                {
                    "month": str(month),
                    "course": course,
                    "method": method,
                    "actual": count,
                    "mean": float(counts.mean()),
                    "p05": float(low),
                    "p95": float(high),
                    "inside": bool(low <= count <= high),
                }
            )
    columns = ["month", "course", "method", "actual", "mean", "p05", "p95", "inside"]
    return pd.DataFrame(rows, columns=columns)


def scores(table: pd.DataFrame) -> Scores:
    """Coverage, mean absolute percentage error and bias of a `monthly` table."""
    seen = table["actual"] > 0
    errors = (table["mean"] - table["actual"]).abs()[seen] / table["actual"][seen]
    total = int(table["actual"].sum())
    predicted = float(table["mean"].sum())
    return Scores(
        cells=len(table),
        inside=int(table["inside"].sum()),
        mape=float(errors.mean()) if seen.any() else float("nan"),
        bias=(predicted - total) / total if total else float("nan"),
        actual=total,
        forecast=predicted,
    )


def by_pair(table: pd.DataFrame) -> pd.DataFrame:
    """The scores of each (course, method) pair: its months, coverage, MAPE and bias."""
    rows = []
    for (course, method), part in table.groupby(["course", "method"], sort=True):
        s = scores(part)
        rows.append(
            {
                "course": course,
                "method": method,
                "months": s.cells,
                "actual": s.actual,
                "forecast": s.forecast,
                "coverage": s.coverage,
                "mape": s.mape,
                "bias": s.bias,
            }
        )
    return pd.DataFrame(
        rows,
        columns=["course", "method", "months", "actual", "forecast", "coverage", "mape", "bias"],
    )
