"""Shared pieces: periods, replications, the mean and 5-95% band."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

LOW, HIGH = 0.05, 0.95

# ----- one page, each measure computed once -------------------------------------------

_SHARED: ContextVar[dict | None] = ContextVar("postenroll_sim_shared_results", default=None)
_F = TypeVar("_F", bound=Callable[..., Any])


@contextmanager
def shared_results() -> Iterator[None]:
    """While open, each `@shared` measure is computed once per tables and arguments: for
    a page whose sections ask for the same measure (the recertifications behind the load,
    its peak, the key numbers and the table of kinds), built from tables nobody changes
    meanwhile. Outside it every call computes anew, so a notebook that edits a table and
    asks again gets a fresh answer."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def shared(measure: _F) -> _F:
    """Mark a measure whose result `shared_results` may hand to every caller (a shallow
    copy of it: pandas' copy-on-write keeps one caller's edits from the others)."""

    @functools.wraps(measure)
    def call(*args, **kwargs):
        results = _SHARED.get()
        if results is None:
            return measure(*args, **kwargs)
        try:
            key = (measure.__qualname__, _key(args), _key(sorted(kwargs.items())))
            hash(key)
        except TypeError:
            return measure(*args, **kwargs)
        if key not in results:  # the tables are kept with it: their ids stay theirs
            results[key] = (measure(*args, **kwargs), args, kwargs)
        found = results[key][0]
        return found.copy(deep=False) if isinstance(found, pd.DataFrame | pd.Series) else found

    return call  # type: ignore[return-value]


def _key(value):
    if isinstance(value, pd.DataFrame | pd.Series):
        return ("table", id(value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _key(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_key(v) for v in value))
    return value


def replications_of(*frames: pd.DataFrame) -> list[int]:
    """Every replication present in any of the frames (a replication with no rows in one
    table still counts: its values there are zero)."""
    found: set[int] = set()
    for frame in frames:
        if frame is not None and "replication" in frame:
            found.update(int(r) for r in pd.unique(frame["replication"]))
    return sorted(found) or [0]


def found_replications(*frames: pd.DataFrame | None) -> list[int]:
    """The replications with rows in any of the frames, and none besides: what a part of
    a measure taken of some replications' rows counts (`replications_of` gives [0] for
    frames with no rows, which a part of one replication must not claim)."""
    found: set[int] = set()
    for frame in frames:
        if frame is not None and "replication" in frame:
            found.update(int(r) for r in pd.unique(frame["replication"]))
    return sorted(found)


@dataclass(frozen=True)
class Found:
    """The values a column holds, and the order it lists them in: a categorical column's
    categories, else none (the values sort). Found values of several replications' rows
    unite (`united`) into what the column of all of them would give (`categories_of`)."""

    values: frozenset
    order: tuple | None = None

    @classmethod
    def of(cls, series: pd.Series) -> Found:
        if isinstance(series.dtype, pd.CategoricalDtype):  # the codes say which are found
            codes = series.cat.codes.to_numpy()
            found = series.cat.categories[np.unique(codes[codes >= 0])]
            order = tuple(str(c) for c in series.cat.categories)
            return cls(frozenset(str(c) for c in found), order)
        return cls(frozenset(as_str(series.dropna()).unique()))


def united(found: list[Found]) -> list[str]:
    """The values of every part, in their categories' order (united in order, as stacking
    the parts unites them), or sorted when the column is not categorical."""
    values = frozenset().union(*(f.values for f in found))
    orders = [f.order for f in found if f.order is not None]
    if not orders:
        return sorted(values)
    order = dict.fromkeys(c for o in orders for c in o)
    return [c for c in order if c in values]


def categories_of(series: pd.Series) -> list[str]:
    """The values found in a column: in its categories' order, or sorted."""
    return united([Found.of(series)])


def by_replication(frame: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """Each replication's rows, found in one pass (not one filter per replication)."""
    return dict(list(frame.groupby("replication", sort=False, observed=True)))


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
    """`series.astype("str")`; a categorical's categories converted once and taken by
    code (six times faster than pandas' own, which converts row by row)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = series.cat.categories.astype("str")
        codes = series.cat.codes.to_numpy()
        values = categories.take(codes, allow_fill=True, fill_value=np.nan)
        return pd.Series(values, index=series.index, name=series.name, copy=False)
    return series.astype("str")
