"""Checking a scenario's `expect` block against its output tables (docs/scenarios.md, section `expect`).

The tables are the plain columns of columnar.py (what the recorder's `column_tables`
builds), not DataFrames: a check never imports pandas.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..columns import (
    CERTIFICATE_COLUMNS,
    ENROLLMENT_COLUMNS,
    EVENT_COLUMNS,
    EXPECT_ALIASES,
    JOB_COLUMNS,
    is_day_column,
)
from ..engine.columnar import Floats, Table, Times
from ..formatting import instant
from ..scenario import models
from ..scenario.checks import expect_moment
from ..scenario.errors import Origin, Path, dotted

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


def _mask(table: Table, key: str, value: Any) -> np.ndarray:
    """Where the column `key` (or the column it is short for) matches `value`: None
    matches a missing value, a `*_day` number the days within DAY_TOLERANCE, a `*_at`
    date that day and a date-time that instant, anything else the value's text (a
    missing value matches no text)."""
    column = EXPECT_ALIASES.get(key, key)
    values = table[column]
    if value is None:
        return values.missing()
    # the loader has checked each value's type (scenario/checks.py, _value_problem)
    if is_day_column(column) and isinstance(values, Floats):
        return values.near(float(value), DAY_TOLERANCE)
    if isinstance(values, Times):
        return _at(values, expect_moment(value))
    return values.equals_text(str(value))


def _at(values: Times, moment: dt.date | dt.datetime | None) -> np.ndarray:
    """SCENARIO.md, Expectations: a date matches any time that day, a date-time the
    instant within DAY_TOLERANCE (as a day number does)."""
    stamps = values.values.astype("datetime64[ns]")
    if isinstance(moment, dt.datetime):
        tolerance = np.timedelta64(round(DAY_TOLERANCE * 86_400e9), "ns")
        return np.abs(stamps - np.datetime64(moment, "ns")) <= tolerance  # NaT: False
    if isinstance(moment, dt.date):
        return stamps.astype("datetime64[D]") == np.datetime64(moment, "D")
    return np.zeros(len(values), dtype=bool)


def matching(table: Table, fields: dict[str, Any]) -> Table:
    mask = np.ones(len(table), dtype=bool)
    for key, value in fields.items():
        mask &= _mask(table, key, value)
    return table.take(mask)


def _describe(fields: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {'null' if v is None else v}" for k, v in fields.items()) + "}"


def _found_instead(
    table: Table,
    fields: dict[str, Any],
    shown: list[str],
    scope: str = "",
    start_date: dt.date | None = None,
) -> str:
    identity = {k: v for k, v in fields.items() if k in _IDENTITY and v is not None}
    rows = matching(table, identity) if identity else table.head(0)
    if not len(rows):
        what = _describe(identity) if identity else "these fields"
        return f"no rows at all for {what}{scope}"
    columns = [c for c in shown if c in rows]
    lines = [f"rows for {_describe(identity)}{scope}:"]
    for row in range(min(len(rows), 8)):
        lines.append(
            "  " + ", ".join(f"{c}={_fmt(rows.value(c, row), c, start_date)}" for c in columns)
        )
    if len(rows) > 8:
        lines.append(f"  ... and {len(rows) - 8} more")
    return "\n".join(lines)


def _fmt(value: Any, column: str = "", start_date: dt.date | None = None) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "null"
    if (
        start_date is not None
        and column.endswith(("_day", "day"))
        and isinstance(value, float | int)
    ):
        return instant(float(value), start_date)  # 2027-01-16 02:00 (day 10.08), S1 v2
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def where(file: str, origin: Origin | None, index: int, prefix: Path = ("expect",)) -> str:
    """`FILE:LINE: expect.N` (`expect.items.N` in the block form), the location every
    expectation message starts with."""
    path = (*prefix, index)
    line = origin.line_of(path) if origin is not None else None
    return f"{file}:{line}: {dotted(path)}" if line else f"{file}: {dotted(path)}"


def check_expectations(
    expectations: list[Any],
    tables: dict[str, Table] | None,
    error: str | None,
    origin: Origin | None,
    file: str,
    prefix: Path = ("expect",),
    replications: int = 1,
    start_date: dt.date | None = None,
) -> list[Failure]:
    """Each expectation against the tables of a run (or the error that stopped it).
    With `replications` > 1 the tables hold that many replications (column
    `replication`, 0 to N-1): `count` must hold in each, `share` and `mean` are
    averaged over them. With `start_date` the rows a failure lists show their moments as
    dates (formatting.instant)."""
    failures = []
    for index, item in enumerate(expectations):
        here = where(file, origin, index, prefix)
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
        message = _check_rows(item, tables, replications, start_date)
        if message is not None:
            failures.append(Failure(index, here, message))
    return failures


_SHOWN = {
    "enrollments": [c for c in ENROLLMENT_COLUMNS if c not in _IDENTITY_COLUMNS],
    "jobs": [c for c in JOB_COLUMNS if c not in _IDENTITY_COLUMNS],
    "events": [c for c in EVENT_COLUMNS if c not in _IDENTITY_COLUMNS],
    "certificates": [c for c in CERTIFICATE_COLUMNS if c not in _IDENTITY_COLUMNS],
}
_TOLERANCE = 1e-9  # shares and means are compared with their bounds this loosely
_LISTED = 20  # per-replication values listed in a message, at most


def _check_rows(
    item: Any, tables: dict[str, Table], replications: int, start_date: dt.date | None = None
) -> str | None:
    """What is wrong with one `enrollment:`, `job:` or `event:` item, or None."""
    table, fields, noun = tables[item.table], item.row_fields, item.kind
    rows = matching(table, fields)
    counts = _per_replication(rows, replications)
    shown = list(dict.fromkeys([EXPECT_ALIASES.get(k, k) for k in fields] + _SHOWN[item.table]))
    if replications > 1:
        shown = ["replication", *shown]
    described = _describe(fields)
    if item.measure == "count":
        low, high = item.count_range
        bad = [r for r, n in enumerate(counts) if not _within(n, low, high)]
        if not bad:
            return None
        expected = f"expected {_bounds(low, high)} {noun} {_rows(low, high)} matching "
        expected += described
        if replications == 1:
            message = f"{expected}, found {counts[0]}"
            return message + "\n" + _found_instead(table, fields, shown, start_date=start_date)
        if len(bad) == replications:
            found = f"found {_values(counts)}"
        else:
            found = "found " + ", ".join(f"{counts[r]} in replication {r}" for r in bad[:5])
            if len(bad) > 5:
                more = len(bad) - 5
                found += f" and in {more} more replication{'s' if more > 1 else ''}"
            found += f" (per replication: {_values(counts)})"
        message = f"{expected} in each of {replications} replications, {found}"
        first = table.take(table["replication"].values == bad[0])
        return (
            message
            + "\n"
            + _found_instead(first, fields, shown, f" in replication {bad[0]}", start_date)
        )
    if item.measure == "mean":
        value = float(np.mean(counts))
        if item.mean.holds(value, _TOLERANCE):
            return None
        number = _bounds(item.mean.min, item.mean.max)
        message = (
            f"expected a mean of {number} {noun} {_rows(item.mean.min, item.mean.max)} "
            f"per replication matching "
            f"{described}, found {_num(value)}"
        )
        if replications > 1:
            message += f" over {replications} replications (per replication: {_values(counts)})"
    else:
        present = _present_learners(tables, replications)
        with_match = _learners_with_a_row(rows, replications)
        shares = [m / p if p else 0.0 for m, p in zip(with_match, present, strict=True)]
        value = float(np.mean(shares))
        if item.share.holds(value, _TOLERANCE):
            return None
        number = _bounds(item.share.min, item.share.max)
        message = (
            f"expected a share of {number} of learners with {_a(noun)} row matching "
            f"{described}, found {_num(value)}"
        )
        each = [
            f"{_num(s)} ({m} of {p})" for s, m, p in zip(shares, with_match, present, strict=True)
        ]
        if replications == 1:
            message += f" ({with_match[0]} of {present[0]} learners)"
        else:
            listed = ", ".join(each[:_LISTED]) + (", ..." if len(each) > _LISTED else "")
            message += (
                f" over {replications} replications (per replication, of the learners "
                f"present: {listed})"
            )
    if not len(rows):  # nothing matched at all: what is there instead
        message += "\n" + _found_instead(table, fields, shown, start_date=start_date)
    return message


def _rows(low: float | None, high: float | None) -> str:
    """`row` after 1, at least 1 and at most 1; `rows` otherwise (0 rows, 1 to 3 rows)."""
    one = (low == high == 1) or (1 in (low, high) and None in (low, high))
    return "row" if one else "rows"


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _per_replication(rows: Table, replications: int) -> list[int]:
    return _count(rows["replication"].values, replications)


def _count(replication: np.ndarray, replications: int) -> list[int]:
    codes = replication.astype(np.int64, copy=False)
    return [int(n) for n in np.bincount(codes, minlength=replications)[:replications]]


def _present_learners(tables: dict[str, Table], replications: int) -> list[int]:
    """Learners present in each replication: everyone who joined (a `learner_added` event)."""
    events = tables["events"]
    return _distinct_learners(
        events.take(events["event"].equals_text("learner_added")), replications
    )


def _learners_with_a_row(rows: Table, replications: int) -> list[int]:
    return _distinct_learners(rows.take(~rows["learner_id"].missing()), replications)


def _distinct_learners(rows: Table, replications: int) -> list[int]:
    """How many different learners the rows name, in each replication."""
    learner = rows["learner_id"].codes.astype(np.int64) + 1  # 0: none
    replication = rows["replication"].values.astype(np.int64)
    pairs = np.unique(replication * (len(rows["learner_id"].categories) + 1) + learner)
    return _count(pairs // (len(rows["learner_id"].categories) + 1), replications)


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _bounds(low: float | None, high: float | None) -> str:
    """`1`, `1 to 3`, `at least 1`, `at most 3`."""
    if high == 0:
        return "0"
    if low is not None and high is not None:
        return _num(low) if low == high else f"{_num(low)} to {_num(high)}"
    return f"at least {_num(low)}" if low is not None else f"at most {_num(high)}"


def _num(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.1f}"


def _values(values: list[float]) -> str:
    text = ", ".join(_num(v) for v in values[:_LISTED])
    return text + (", ..." if len(values) > _LISTED else "")
