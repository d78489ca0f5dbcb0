"""Numbers as text, one way for the summary printed by the command line and for the
HTML pages: what kind a number is (a share, days or a count), how many decimals it
gets, and how a difference is signed."""

from __future__ import annotations

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
