"""Checking a scenario's `expect` block against its output tables (docs/scenarios.md, section `expect`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .columns import ENROLLMENT_COLUMNS, EXPECT_ALIASES, JOB_COLUMNS
from .scenario import models
from .scenario.errors import Origin

DAY_TOLERANCE = 1e-6
_IDENTITY = ("learner", "course", "target", "rule")  # what "found instead" is narrowed by
_IDENTITY_COLUMNS = (
    "replication",
    "learner_id",
    "course_id",
    "course_type",
    "source_course_id",
    "trigger",
)


@dataclass(frozen=True)
class Failure:
    index: int  # N of expect.N
    where: str  # FILE:LINE: expect.N
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _mask(frame: pd.DataFrame, key: str, value: Any) -> np.ndarray:
    column = EXPECT_ALIASES.get(key, key)
    series = frame[column]
    if value is None:
        return series.isna().to_numpy()
    if column == "day" or column.endswith("_day"):
        try:
            target = float(value)
        except (TypeError, ValueError):
            return np.zeros(len(frame), dtype=bool)
        return ((series - target).abs() <= DAY_TOLERANCE).fillna(False).to_numpy(dtype=bool)
    if column == "at" or column.endswith("_at"):
        return (series == pd.Timestamp(value)).fillna(False).to_numpy(dtype=bool)
    text = series.astype("str")
    return (text == str(value)).fillna(False).to_numpy(dtype=bool)


def matching(frame: pd.DataFrame, fields: dict[str, Any]) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for key, value in fields.items():
        mask &= _mask(frame, key, value)
    return frame[mask]


def _describe(fields: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {'null' if v is None else v}" for k, v in fields.items()) + "}"


def _found_instead(frame: pd.DataFrame, fields: dict[str, Any], shown: list[str]) -> str:
    identity = {k: v for k, v in fields.items() if k in _IDENTITY and v is not None}
    rows = matching(frame, identity) if identity else frame.iloc[:0]
    if rows.empty:
        scope = _describe(identity) if identity else "these fields"
        return f"no rows at all for {scope}"
    columns = [c for c in shown if c in rows.columns]
    lines = [f"rows for {_describe(identity)}:"]
    for _, row in rows.head(8).iterrows():
        lines.append("  " + ", ".join(f"{c}={_fmt(row[c])}" for c in columns))
    if len(rows) > 8:
        lines.append(f"  ... and {len(rows) - 8} more")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "null"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def where(file: str, origin: Origin | None, index: int) -> str:
    """`FILE:LINE: expect.N`, the location every expectation message starts with."""
    line = origin.line_of(("expect", index)) if origin is not None else None
    return f"{file}:{line}: expect.{index}" if line else f"{file}: expect.{index}"


def check_expectations(
    expectations: list[Any],
    tables: dict[str, pd.DataFrame] | None,
    error: str | None,
    origin: Origin | None,
    file: str,
) -> list[Failure]:
    """Each expectation against the tables of a run (or the error that stopped it)."""
    failures = []
    for index, item in enumerate(expectations):
        here = where(file, origin, index)
        if isinstance(item, models.ExpectError):
            if error is None:
                failures.append(
                    Failure(
                        index,
                        here,
                        f"expected the scenario to be rejected with {item.error!r}, but it ran",
                    )
                )
            elif item.error not in error:
                failures.append(
                    Failure(
                        index,
                        here,
                        f"expected an error containing {item.error!r}; the errors were:\n{error}",
                    )
                )
            continue
        if error is not None:
            failures.append(
                Failure(
                    index, here, f"the scenario was rejected, so nothing could be checked:\n{error}"
                )
            )
            continue
        if isinstance(item, models.ExpectEnrollment):
            table, fields, noun = tables["enrollments"], item.enrollment, "enrollment"
            shown = [c for c in ENROLLMENT_COLUMNS if c not in _IDENTITY_COLUMNS]
        else:
            table, fields, noun = tables["jobs"], item.job, "job"
            shown = [c for c in JOB_COLUMNS if c not in _IDENTITY_COLUMNS]
        found = len(matching(table, fields))
        if found != item.count:
            rows = "row" if item.count == 1 else "rows"
            message = (
                f"expected {item.count} {noun} {rows} matching {_describe(fields)}, found {found}"
            )
            shown = list(dict.fromkeys([EXPECT_ALIASES.get(k, k) for k in fields] + shown))
            failures.append(
                Failure(index, here, message + "\n" + _found_instead(table, fields, shown))
            )
    return failures
