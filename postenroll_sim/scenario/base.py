"""Shared building blocks of the scenario models: the base class, checked number and id types,
and the hard limits on what a scenario may ask for (docs/scenarios.md, "Limits")."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from ..columns import FORMULA_START, whole_second

# Hard limits: far beyond any real organisation, near enough to stop a typo from
# overflowing a number, hanging the run or exhausting the memory.
MAX_DAYS = 36_500  # 100 years: the longest horizon, day, delay or duration
SLOT_DAYS = 1 / 16  # the clock's resolution (engine/clock.py SLOTS_PER_DAY)
MAX_CAPACITY = 2**31 - 1  # seats are 32-bit integers in the output tables
MAX_LEARNERS = 10_000_000  # expected learners in one run (100 times a large organisation)
MAX_SESSIONS = 1_000_000  # ILC sessions within the horizon, all courses together
MAX_ID_LENGTH = 200
# Calendar dates: the `*_at` columns are pandas timestamps in nanoseconds (1677-2262).
FIRST_DATE, LAST_DATE = dt.date(1700, 1, 1), dt.date(2262, 4, 10)


class Spec(BaseModel):
    """Base: frozen, unknown keys rejected, numeric ids accepted as text."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def _not_text_or_bool(value: Any) -> Any:
    # YAML `true` or "5" must not pass as a number: a typo is never silently accepted.
    if isinstance(value, bool | str):
        raise ValueError(f"must be a number, got {value!r}")
    if isinstance(value, dt.date):  # a date where only a number of days may be (S1 v2)
        written = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value
        raise ValueError(f"must be a number of days, got the date {written}")
    return value


def _count(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number, got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class SchemaBound:
    """A bound that a validator of the same type checks (with its own message), stated
    in the JSON Schema too (`minimum`, `maximum`, ...) so editors see it."""

    keyword: str
    value: float

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict:
        schema = handler(core_schema)
        schema[self.keyword] = self.value
        return schema


@dataclasses.dataclass(frozen=True)
class _AtMost(AfterValidator, SchemaBound):
    pass


def at_most(limit: float, why: str) -> AfterValidator:
    """An upper bound whose message says why it exists (and the schema's `maximum`)."""

    def check(value: Any) -> Any:
        if value > limit:
            raise ValueError(f"must be at most {limit:,} ({why}), got {value:,}")
        return value

    return _AtMost(func=check, keyword="maximum", value=limit)


Number = Annotated[float, BeforeValidator(_not_text_or_bool), Field(allow_inf_nan=False)]
Day = Annotated[Number, Field(ge=0), at_most(MAX_DAYS, "100 years")]
NonNegative = Annotated[Number, Field(ge=0)]
Positive = Annotated[Number, Field(gt=0)]
PositiveDays = Annotated[Positive, at_most(MAX_DAYS, "100 years")]
# S1 v2: a moment (or a calendar period between moments) read from a scenario is
# rounded to the nearest second once it is valid.
# A day may also be written as a date or a date-time where the scenario has a start_date
# (S1 v2): the loader turns those into day numbers first (scenario/dates.py), so the
# model sees numbers only; the schema says what a file may hold.
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?$"
_DAY_OR_DATE = (
    Annotated[float, Field(ge=0, le=MAX_DAYS)]
    | Annotated[str, Field(pattern=DATE_PATTERN, description="a date or a date-time (S1)")]
)
Instant = Annotated[
    Day,
    AfterValidator(whole_second),
    BeforeValidator(lambda value: value, json_schema_input_type=_DAY_OR_DATE),
]
PositiveInstant = Annotated[PositiveDays, AfterValidator(whole_second)]
# A script step's day: before day 0 (negative) only in a warm start, and only for rule and
# catalog changes (S39; the cross-checks say so, checks.py)
ScriptInstant = Annotated[
    Number,
    Field(ge=-MAX_DAYS),
    at_most(MAX_DAYS, "100 years"),
    AfterValidator(whole_second),
]
Probability = Annotated[Number, Field(ge=0, le=1)]
Count = Annotated[int, BeforeValidator(_count)]
PositiveCount = Annotated[int, BeforeValidator(_count), Field(ge=1)]

# ----- ids ----------------------------------------------------------------------------

# C0 and C1 control characters (tab, CR, LF, NUL, ESC, ...), DEL, the Unicode line and
# paragraph separators, and lone surrogates (which cannot be written as UTF-8).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# An id starting with FORMULA_START (columns.py) is a formula to a spreadsheet opening the
# CSV output ("CSV injection"): refused, so scenario ids reach every table as they are.


def same_id(text: str) -> str:
    """An id in Unicode normal form C: "é" typed as one character or as "e" and a combining
    accent is one learner (or course), as it looks the same in every table. Every id read,
    from a scenario (`id_text`) or a history (audit), passes here."""
    return unicodedata.normalize("NFC", text)


def id_text(value: Any) -> Any:
    """An id as text (in normal form C, `same_id`): whole numbers become text; decimals,
    control characters and spreadsheet formula starts are refused."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # `id: 101` is the id "101" (and -5 starts with '-')
    if isinstance(value, float):
        raise ValueError(
            f"an id is text or a whole number, got the decimal number {value!r} "
            "(1.0 and 1e0 are the same number); put it in quotes if it is text"
        )
    if isinstance(value, str):
        value = same_id(value)
        if len(value) > MAX_ID_LENGTH:
            raise ValueError(f"an id has at most {MAX_ID_LENGTH} characters, not {len(value):,}")
        bad = _CONTROL.search(value)
        if bad is not None:
            raise ValueError(
                f"an id must not contain control characters or line breaks, "
                f"found {bad.group()!r} at position {bad.start() + 1}"
            )
        if value.startswith(FORMULA_START):
            raise ValueError(
                f"an id must not start with '{value[0]}': a spreadsheet opening the CSV "
                "output would read it as a formula"
            )
    return value


# What `id_text` accepts, for the JSON Schema: text without control characters or a formula
# start, or a whole number >= 0 (a negative one starts with '-').
_STARTS = "".join(sorted(FORMULA_START, key=lambda c: c == "-"))  # '-' last: no escape
_ID_PATTERN = f"^(?![{_STARTS}])[^{_CONTROL.pattern[1:-1]}]*$"
_ID_INPUT = (
    Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH, pattern=_ID_PATTERN)]
    | Annotated[int, Field(ge=0)]
)
Id = Annotated[str, Field(min_length=1), BeforeValidator(id_text, json_schema_input_type=_ID_INPUT)]
