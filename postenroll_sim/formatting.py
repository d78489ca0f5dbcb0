"""Numbers as text, one way for the summary printed by the command line and for the
HTML pages: what kind a number is (a share, days or a count), how many decimals it
gets, and how a difference is signed."""

from __future__ import annotations

import datetime as dt
import math

MISSING = "–"  # a number a replication (or a run) does not have


def number_kind(name: str) -> str:
    """How a number reads, from its name: a share (printed in %), days, or a count."""
    lowered = name.lower()
    if "share" in lowered or "compliant" in lowered:
        return "share"
    if "days" in lowered:
        return "days"
    return "count"


def decimals(value: float, kind: str) -> int:
    """Whole numbers for counts from 100 (or whole means), one decimal below; one
    decimal for shares (in %) and days."""
    if kind != "count":
        return 1
    return 0 if float(value).is_integer() or abs(value) >= 100 else 1


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float, kind: str = "count", places: int | None = None) -> str:
    """`value` in its kind's way (`places` decimals, else `decimals`)."""
    if is_missing(value):
        return MISSING
    places = decimals(value, kind) if places is None else places
    if kind == "share":
        return f"{value:.{places}%}"
    return f"{value:,.{places}f}"


def signed(value: float, kind: str, places: int | None = None) -> str:
    """A difference with its sign: a share's in percentage points, "0" for none."""
    if is_missing(value):
        return MISSING
    if value == 0:
        return "0"
    if kind == "share":
        text = f"{value * 100:+.1f} pts"
    else:
        places = decimals(value, kind) if places is None else places
        text = f"{value:+,.{places}f}"
    return text[1:] if not text.strip("-+0.,pts ") else text  # -0.0 (rounded): 0.0


def band(mean: float, p05: float, p95: float, kind: str, reps: int) -> tuple[str, str | None]:
    """A mean and its 5-95% band across replications, `(mean, "(p05 to p95)")`, the band
    in the mean's precision; no band (None) for one replication or when every
    replication had the same value."""
    if is_missing(mean):
        return MISSING, None
    places = decimals(mean, kind)
    text = number(mean, kind, places)
    if reps > 1 and not (p05 == p95 == mean):
        return text, f"({number(p05, kind, places)} to {number(p95, kind, places)})"
    return text, None


def table_number(value: float, digits: int = 1) -> str:
    """A cell of a table of means: whole when it is, else `digits` decimals."""
    if is_missing(value):
        return MISSING
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.{digits}f}"


# ----- words and instants ------------------------------------------------------------------


def plural(count: float, word: str, words: str | None = None) -> str:
    """`1 day`, `2 days`, `0.5 days`: the count (whole when it is) and its word."""
    shown = f"{count:,.0f}" if float(count).is_integer() else f"{count:g}"
    return f"{shown} {word if count == 1 else (words or word + 's')}"


def days(count: float) -> str:
    """A span of days: `1 day`, `30 days`, `0.5 days`."""
    return plural(count, "day")


SECONDS_PER_DAY = 86_400  # as columns.SECONDS_PER_DAY (ground modules import nothing)


def day_number(day: float, places: int = 2) -> str:
    """A day number as a person reads it beside its date: whole when it is, else at
    most `places` decimals, cut rather than rounded so that it never names the next
    day (`5.08`, never `5.08333`; 23:59 on day 5 is `5.99`, not `6`)."""
    scale = 10**places
    cut = math.floor(float(day) * scale + 1e-6) / scale  # 1e-6: 0.29 * 100 is 28.999...
    return f"{cut:.{places}f}".rstrip("0").rstrip(".")


def moment(day: float, start_date) -> dt.datetime:
    """The wall-clock moment of `day` (to the second) from midnight of `start_date`."""
    seconds = int(round(float(day) * SECONDS_PER_DAY))
    return dt.datetime.combine(start_date, dt.time()) + dt.timedelta(seconds=seconds)


def instant(day: float, start_date: dt.date | None = None) -> str:
    """An instant of a run in words, the one way every tool says it: with a calendar
    (`start_date`, day 0 at its midnight) `2027-01-06 (day 5)` or `2027-01-06 02:00
    (day 5.08)`, seconds shown only when there are some (instants are whole seconds,
    S1); without one, as ever, `day 5.08333`."""
    if is_missing(day):
        return MISSING
    if math.isinf(day):
        return "never"
    if start_date is None:
        return f"day {float(day):g}"
    when = moment(day, start_date)
    if when.time() == dt.time():
        text = when.date().isoformat()
    else:
        text = when.isoformat(sep=" ", timespec="minutes" if when.second == 0 else "seconds")
    return f"{text} (day {day_number(day)})"


def date_of(day: float, start_date: dt.date) -> str:
    """The calendar date of `day` alone (`2027-01-06`)."""
    return moment(day, start_date).date().isoformat()
