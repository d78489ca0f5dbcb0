"""Certificates, re-enrollment and due dates (S31-S37): the course keys `certificate`,
`due_after` and `renewal_due`, their periods, and the calendar arithmetic on them.

A period is `{days: N}`, `{months: N}` or `{years: N}` (S31). Days are exact; months and
years are calendar periods from the scenario's `start_date`: the same day of the month
at the same time of day, clamped to the month's last day (31 January + 1 month = 28 or
29 February; 29 February + 1 year = 28 February). Instants stay day numbers from day 0,
whole seconds (S1), so the engine and the tables never see a date.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, model_validator

from ..columns import SECONDS_PER_DAY, whole_second
from .base import MAX_DAYS, Count, Spec

PERIOD_UNITS = ("days", "months", "years")
_UNIT_DAYS = {"days": (1, 1), "months": (28, 31), "years": (365, 366)}  # shortest, longest
_MONTH_DAY = re.compile(r"^(\d\d)-(\d\d)$")


class Period(Spec):
    """Exactly one of `days`, `months`, `years`: a whole number (S31)."""

    days: Count | None = None
    months: Count | None = None
    years: Count | None = None

    @model_validator(mode="after")
    def _one_unit(self) -> Period:
        given = [unit for unit in PERIOD_UNITS if getattr(self, unit) is not None]
        if len(given) != 1:
            raise ValueError(
                "a period is one of {days: N}, {months: N} or {years: N}"
                + (f", not {' and '.join(given)} together" if given else "")
            )
        amount = getattr(self, given[0])
        if amount < 0:
            raise ValueError(f"a period is a whole number >= 0, got {amount}")
        if amount * _UNIT_DAYS[given[0]][0] > MAX_DAYS:
            raise ValueError(f"a period is at most 100 years, got {amount} {given[0]}")
        return self

    @property
    def unit(self) -> str:
        return next(unit for unit in PERIOD_UNITS if getattr(self, unit) is not None)

    @property
    def amount(self) -> int:
        return getattr(self, self.unit)

    @property
    def calendar(self) -> bool:
        """Months and years: calendar periods, which need a `start_date`."""
        return self.unit != "days"

    def shortest_days(self) -> int:
        return self.amount * _UNIT_DAYS[self.unit][0]

    def longest_days(self) -> int:
        return self.amount * _UNIT_DAYS[self.unit][1]

    def text(self) -> str:
        unit = self.unit if self.amount != 1 else self.unit[:-1]
        return f"{self.amount} {unit}"


def _positive(period: Period) -> Period:
    if period.amount == 0:
        raise ValueError(f"must be more than 0 {period.unit}")
    return period


PositivePeriod = Annotated[Period, AfterValidator(_positive)]


def _month_day(value: str) -> str:
    """`MM-DD` that exists in some year (`02-29`: the last day of February, S33)."""
    match = _MONTH_DAY.match(str(value))
    if match is None:
        raise ValueError(f'a calendar day is written MM-DD (e.g. "12-31"), got {value!r}')
    month, day = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2028, month)[1]:
        raise ValueError("is not a day of the calendar (02-29 means the last day of February)")
    return str(value)


MonthDay = Annotated[str, AfterValidator(_month_day)]


class Certificate(Spec):
    """S31-S37: a certificate awarded on each completion of the course."""

    valid_for: PositivePeriod | None = None  # S31
    expires_on: MonthDay | None = None  # S33: fixed calendar expiry
    min_valid: PositivePeriod | None = None  # S33: the shortest validity with expires_on
    renew_from: Literal["completion", "expiry"] = "completion"  # S32
    reenroll_before: Period | None = None  # S34: the vendor's Re-Enrollment setting
    grace: Period | None = None  # S36
    warn_before: Period | None = None  # S37: the window without re-enrollment

    @model_validator(mode="after")
    def _consistent(self) -> Certificate:
        if self.valid_for is not None and self.expires_on is not None:
            raise ValueError("give valid_for (a period) or expires_on (MM-DD), not both")
        if self.valid_for is None and self.expires_on is None:
            raise ValueError("a certificate needs valid_for (a period) or expires_on (MM-DD)")
        if self.min_valid is not None and self.expires_on is None:
            raise ValueError("min_valid goes with expires_on (S33); with valid_for, drop it")
        if self.renew_from == "expiry" and self.expires_on is not None:
            raise ValueError(
                "renew_from: expiry cannot go with expires_on: a fixed calendar expiry "
                "does not count from anything (S32)"
            )
        if self.reenroll_before is not None and self.warn_before is not None:
            raise ValueError(
                "give reenroll_before or warn_before, not both: with re-enrollment the "
                "window is reenroll_before (S37)"
            )
        window = self.reenroll_before
        if window is not None:
            shortest = self.valid_for if self.valid_for is not None else self.min_valid
            if self.valid_for is not None and window.longest_days() >= shortest.shortest_days():
                raise ValueError(
                    f"reenroll_before ({window.text()}) must be shorter than valid_for "
                    f"({shortest.text()}): the job would be due at the award (S34)"
                )
            if (
                self.expires_on is not None
                and self.min_valid is not None
                and self.min_valid.longest_days() < window.shortest_days()
            ):
                raise ValueError(
                    f"min_valid ({self.min_valid.text()}) must be at least reenroll_before "
                    f"({window.text()}) (S33)"
                )
        return self

    def window(self) -> Period | None:
        """S37: the window before expiry (reenroll_before, else warn_before)."""
        return self.reenroll_before if self.reenroll_before is not None else self.warn_before

    def calendar_periods(self) -> list[str]:
        """The keys that need a `start_date` (months, years, a calendar day)."""
        out = [
            key
            for key in ("valid_for", "min_valid", "reenroll_before", "grace", "warn_before")
            if getattr(self, key) is not None and getattr(self, key).calendar
        ]
        return out + (["expires_on"] if self.expires_on is not None else [])


RenewalDue = Literal["expiry", "due_after"]


# ----- calendar arithmetic (S31, S33) ----------------------------------------------------


class Calendar:
    """Periods added to and taken from day numbers, from the scenario's `start_date`
    (None: days only; the checks refuse months, years and calendar days without one)."""

    def __init__(self, start_date: dt.date | None):
        self.start = dt.datetime.combine(start_date, dt.time()) if start_date is not None else None

    def moment(self, day: float) -> dt.datetime:
        seconds = round(day * SECONDS_PER_DAY)
        return self.start + dt.timedelta(seconds=seconds)

    def day(self, moment: dt.datetime) -> float:
        return whole_second((moment - self.start).total_seconds() / SECONDS_PER_DAY)

    def add(self, day: float, period: Period, sign: int = 1) -> float:
        """`day` plus (sign -1: minus) `period`, to the second (S31). (Called at every
        award: the fields are read directly, not through `unit` and `amount`.)"""
        days = period.days
        if days is not None:
            return whole_second(day + sign * days)
        months = period.months if period.months is not None else 12 * period.years
        moment = self.moment(day)
        months *= sign
        index = moment.year * 12 + (moment.month - 1) + months
        year, month = divmod(index, 12)
        last = calendar.monthrange(year, month + 1)[1]
        return self.day(moment.replace(year=year, month=month + 1, day=min(moment.day, last)))

    def subtract(self, day: float, period: Period) -> float:
        return self.add(day, period, -1)

    def fixed_expiry(self, completed: float, month_day: str, *least: Period | None) -> float:
        """S33: the end of `month_day` (00:00 of the next day) in the first year where it
        is strictly after the completion and the completion + each period of `least`
        (min_valid, reenroll_before) is not after it."""
        month, day = (int(part) for part in month_day.split("-"))
        done = self.moment(completed)
        earliest = max((self.add(completed, p) for p in least if p is not None), default=completed)
        year = done.year
        while True:
            last = calendar.monthrange(year, month)[1]
            expiry = self.day(dt.datetime(year, month, min(day, last)) + dt.timedelta(days=1))
            if expiry > completed and earliest <= expiry:
                return expiry
            year += 1
