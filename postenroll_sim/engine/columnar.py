"""The output tables as plain columns, without pandas: what a `check` matches on.

The recorder (recorder.py) reads a run's store and events log into these columns once;
`run` and friends wrap them into DataFrames (docs/outputs.md), while `check` matches
its `expect` items on them directly (expect.py), so checking a tiny scenario never
imports pandas. Each column holds numpy arrays, the same ones the DataFrame gets:

- `Coded`: an id or vocabulary column (a pandas categorical): codes into a list of
  categories, -1 for missing;
- `Ints`: whole numbers; `nullable` ones (a pandas Int32 column) are missing where < 0;
- `Floats`: the `*_day` columns, NaN for missing;
- `Times`: the `*_at` twins (datetime64[ns], NaT for missing), with `start_date`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..columns import SECONDS_PER_DAY, is_day_column, timestamp_twin


class Coded:
    """Codes into `categories` (-1: missing): a categorical column."""

    __slots__ = ("categories", "codes")

    def __init__(self, codes: np.ndarray, categories: Sequence[str]):
        self.codes = codes
        self.categories = categories

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, index: np.ndarray) -> Coded:
        return Coded(self.codes[index], self.categories)

    def missing(self) -> np.ndarray:
        return self.codes < 0

    def equals_text(self, text: str) -> np.ndarray:
        try:
            code = list(self.categories).index(text)
        except ValueError:
            return np.zeros(len(self.codes), dtype=bool)
        return self.codes == code

    def value(self, row: int) -> str | None:
        code = int(self.codes[row])
        return None if code < 0 else self.categories[code]


class Ints:
    """Whole numbers; with `nullable`, a negative value is missing (the engine's NONE)."""

    __slots__ = ("nullable", "values")

    def __init__(self, values: np.ndarray, nullable: bool = False):
        self.values = values
        self.nullable = nullable

    def __len__(self) -> int:
        return len(self.values)

    def take(self, index: np.ndarray) -> Ints:
        return Ints(self.values[index], self.nullable)

    def missing(self) -> np.ndarray:
        if self.nullable:
            return self.values < 0
        return np.zeros(len(self.values), dtype=bool)

    def equals_text(self, text: str) -> np.ndarray:
        """Where the number written in decimal is `text` (`str(n)`, as pandas writes it)."""
        try:
            number = int(text)
        except ValueError:
            number = None
        if number is None or str(number) != text:
            return np.zeros(len(self.values), dtype=bool)
        return (self.values == number) & ~self.missing()

    def value(self, row: int) -> int | None:
        number = int(self.values[row])
        return None if self.nullable and number < 0 else number


class Floats:
    """Days (float64), NaN for missing."""

    __slots__ = ("values",)

    def __init__(self, values: np.ndarray):
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    def take(self, index: np.ndarray) -> Floats:
        return Floats(self.values[index])

    def missing(self) -> np.ndarray:
        return np.isnan(self.values)

    def near(self, target: float, tolerance: float) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.abs(self.values - target) <= tolerance

    def equals_text(self, text: str) -> np.ndarray:
        return np.array([v == v and str(v) == text for v in self.values.tolist()], dtype=bool)

    def value(self, row: int) -> float:
        return float(self.values[row])


class Times:
    """Timestamps (datetime64[ns]), NaT for missing: the `*_at` columns."""

    __slots__ = ("values",)

    def __init__(self, values: np.ndarray):
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    def take(self, index: np.ndarray) -> Times:
        return Times(self.values[index])

    def missing(self) -> np.ndarray:
        return np.isnat(self.values)

    def equals_text(self, text: str) -> np.ndarray:
        return np.array([t == text for t in map(_timestamp_text, self.values)], dtype=bool)

    def value(self, row: int) -> Timestamp:
        return Timestamp(self.values[row])


class Timestamp:
    """A value of a `Times` column, written as pandas writes a Timestamp (NaT if missing)."""

    __slots__ = ("value",)

    def __init__(self, value: np.datetime64):
        self.value = value

    def __str__(self) -> str:
        return _timestamp_text(self.value)


_EPOCH = dt.datetime(1970, 1, 1)


def _timestamp_text(value: np.datetime64) -> str:
    """`2024-01-11 12:00:00`, with `.ffffff` or `.fffffffff` when there is a fraction."""
    if np.isnat(value):
        return "NaT"
    seconds, nanoseconds = divmod(int(value.astype("datetime64[ns]").astype(np.int64)), 10**9)
    text = str(_EPOCH + dt.timedelta(seconds=seconds))
    if nanoseconds % 1000:
        return f"{text}.{nanoseconds:09d}"
    if nanoseconds:
        return f"{text}.{nanoseconds // 1000:06d}"
    return text


Column = Coded | Ints | Floats | Times


class Table:
    """Columns by name, all of one length: a pandas-free table."""

    __slots__ = ("columns", "rows")

    def __init__(self, columns: dict[str, Column]):
        self.columns = columns
        self.rows = len(next(iter(columns.values()))) if columns else 0

    def __len__(self) -> int:
        return self.rows

    def __getitem__(self, name: str) -> Column:
        return self.columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def take(self, index: np.ndarray) -> Table:
        """The rows selected by a boolean mask or by positions, in order."""
        return Table({name: column.take(index) for name, column in self.columns.items()})

    def head(self, n: int) -> Table:
        return self.take(np.arange(min(n, self.rows)))

    def value(self, name: str, row: int) -> Any:
        """One value, as it reads: an id text, a number, a timestamp, or None / NaN."""
        return self.columns[name].value(row)


SECOND = 10**9  # nanoseconds


def day_timestamps(days: np.ndarray, start_date: dt.date) -> np.ndarray:
    """Day numbers as datetime64[ns] from `start_date`, exact to the second (S1 v2: an
    instant is a whole second, so a 02:00 run is 02:00:00, never 01:59:59.999999997):
    the day number's second (`whole_second`, as integer seconds), in nanoseconds."""
    missing = np.isnan(days)
    seconds = np.floor(np.where(missing, 0.0, days) * SECONDS_PER_DAY + 0.5).astype(np.int64)
    nanoseconds = seconds * SECOND
    origin = np.datetime64(start_date, "ns").astype(np.int64)
    stamps = (origin + nanoseconds).astype("datetime64[ns]")
    stamps[missing] = np.datetime64("NaT")
    return stamps


def with_timestamps(table: Table, start_date: dt.date) -> Table:
    """docs/outputs.md: with `start_date`, each `*_day` column gets a timestamp twin `*_at`."""
    twins: dict[str, Column] = {}
    for name, column in table.columns.items():
        if is_day_column(name) and isinstance(column, Floats):
            twins[timestamp_twin(name)] = Times(day_timestamps(column.values, start_date))
    return Table({**table.columns, **twins}) if twins else table


def concat(tables: Iterable[Table]) -> Table:
    """Stack the tables of several replications; ids are united by their text (each
    replication may have generated other learners)."""
    tables = list(tables)
    if len(tables) == 1:
        return tables[0]
    columns: dict[str, Column] = {}
    for name, first in tables[0].columns.items():
        parts = [t.columns[name] for t in tables]
        if isinstance(first, Coded):
            columns[name] = _concat_coded(parts)
        elif isinstance(first, Ints):
            columns[name] = Ints(np.concatenate([p.values for p in parts]), first.nullable)
        else:
            columns[name] = type(first)(np.concatenate([p.values for p in parts]))
    return Table(columns)


def _concat_coded(parts: list[Coded]) -> Coded:
    united: dict[str, int] = {}
    codes = []
    for part in parts:
        lookup = [united.setdefault(c, len(united)) for c in part.categories]
        # the code -1 (missing) reads the last entry: -1 again
        codes.append(np.array([*lookup, -1], dtype=np.int64)[part.codes])
    return Coded(np.concatenate(codes), list(united))
