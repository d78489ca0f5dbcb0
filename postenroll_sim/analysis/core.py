"""Shared pieces: periods, replications, the mean and 5-95% band."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

LOW, HIGH = 0.05, 0.95


def replications_of(*frames: pd.DataFrame) -> list[int]:
    """Every replication present in any of the frames (a replication with no rows in one
    table still counts: its values there are zero)."""
    found: set[int] = set()
    for frame in frames:
        if frame is not None and "replication" in frame:
            found.update(int(r) for r in pd.unique(frame["replication"]))
    return sorted(found) or [0]


def one_variant(*frames: pd.DataFrame | None) -> None:
    """Refuse tables that hold several sweep variants: counting them together would add
    up different scenarios. Split them first (`Result.split_variants()`)."""
    for frame in frames:
        if frame is not None and "variant" in frame and len(frame):
            labels = pd.unique(frame["variant"].dropna())
            if len(labels) > 1:
                raise ValueError(
                    f"these tables hold {len(labels)} sweep variants; analyse each on its own "
                    "(Result.split_variants()) instead of adding them together"
                )


def summarise(values) -> dict[str, float]:
    """Mean and 5-95% band of one number per replication (NaN values are left out)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return {"mean": float("nan"), "p05": float("nan"), "p95": float("nan")}
    return {
        "mean": float(values.mean()),
        "p05": float(np.quantile(values, LOW)),
        "p95": float(np.quantile(values, HIGH)),
    }


def period_index(horizon_days: float, period_days: float) -> np.ndarray:
    """Start days of the periods covering [0, horizon]."""
    count = int(np.floor(horizon_days / period_days)) + 1
    return np.arange(count, dtype=float) * period_days


def band(
    per_replication: pd.DataFrame,
    index: list[str],
    value: str,
    replications: list[int],
    full_index: pd.MultiIndex | pd.Index | None = None,
) -> pd.DataFrame:
    """Mean and 5-95% band over replications of `value`, after filling every missing
    (replication, index...) combination with zero."""
    keys = ["replication", *index]
    counts = per_replication.groupby(keys, observed=True)[value].sum()
    if full_index is None:
        levels = [sorted(pd.unique(per_replication[k])) for k in index]
        full_index = (
            pd.MultiIndex.from_product(levels, names=index)
            if len(index) > 1
            else pd.Index(levels[0], name=index[0])
        )
    full = pd.MultiIndex.from_tuples(
        [(r, *(i if isinstance(i, tuple) else (i,))) for r in replications for i in full_index],
        names=keys,
    )
    counts = counts.reindex(full, fill_value=0)
    grouped = counts.groupby(level=index, observed=True, sort=False)  # keep the given order
    out = pd.DataFrame(
        {"mean": grouped.mean(), "p05": grouped.quantile(LOW), "p95": grouped.quantile(HIGH)}
    )
    return out.reset_index()


def with_dates(
    frame: pd.DataFrame, start_date: dt.date | None, column: str = "day"
) -> pd.DataFrame:
    """Add a calendar column `date` for a day column, when the scenario has a start date."""
    if start_date is None:
        return frame
    return frame.assign(date=pd.Timestamp(start_date) + pd.to_timedelta(frame[column], unit="D"))


def as_str(series: pd.Series) -> pd.Series:
    return series.astype("str")
