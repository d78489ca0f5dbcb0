"""Day values written as dates (S1 v2): `day: 2027-01-06` or `day: "2027-01-06 14:30"`.

Where a scenario has a `start_date`, every instant it gives (a script step's `day`, a
learner's `joined_day`, a session's `day`, `first_day` and `until_day`, a hire batch's
`day`) may be a date (midnight that day) or a date-time (the wall clock of the tables,
without a time zone). `resolve_dates` turns each into its day number before anything
else reads the data, so the models, the cross-checks and the engine see days only and a
date gives exactly the tables of the day number it stands for. A date-time is exact to
the second (S1 v2: a moment is rounded to the nearest second).

What cannot be a day is a located problem in plain words: a date without a
`start_date`, a date before it, a date-time with a time zone, text that is not a date.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ..columns import SECONDS_PER_DAY, whole_second
from .errors import Path

# The keys holding an instant, by where they are (the models' `Instant` fields).
_SCRIPT_KEYS = ("day",)
_LEARNER_KEYS = ("joined_day",)
_SESSION_KEYS = ("day", "first_day", "until_day")
_BATCH_KEYS = ("day",)

_LOOKS_LIKE_A_DATE = re.compile(r"^\s*[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
DATE_FORMS = "a date (2027-01-06) or a date-time (2027-01-06 14:30)"


def read_moment(value: Any) -> dt.date | dt.datetime | str | None:
    """`value` as a date or a date-time (YAML's own, or ISO text), None when it is no
    date at all (a number: a day as before), or the reason it is a bad one (text)."""
    if isinstance(value, dt.datetime | dt.date):
        moment = value
    elif isinstance(value, str) and _LOOKS_LIKE_A_DATE.match(value):
        text = value.strip()
        try:
            moment = (
                dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
            )
        except ValueError:
            return f"'{value}' is not {DATE_FORMS}"
    else:
        return None
    if isinstance(moment, dt.datetime) and moment.tzinfo is not None:
        wall = moment.replace(tzinfo=None).isoformat(sep=" ", timespec="minutes")
        return (
            f"'{_shown(value)}' has a time zone; a date-time here is the wall clock of the "
            f"tables (their `*_at` columns), without one: write it as {wall}"
        )
    return moment


def _shown(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def start_of(data: dict) -> dt.date | None | str:
    """The scenario's day 0 as a date, None without one, "bad" when it is not a date
    (its own error is reported where it is)."""
    start = data.get("start_date")
    if start is None:
        return None
    if isinstance(start, dt.datetime):
        return "bad"
    if isinstance(start, dt.date):
        return start
    if isinstance(start, str):
        try:
            return dt.date.fromisoformat(start.strip())
        except ValueError:
            return "bad"
    return "bad"


def day_of(moment: dt.date | dt.datetime, start: dt.date) -> float:
    """The day number of `moment` counted from midnight of `start`, to the second."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time())
    seconds = (moment - dt.datetime.combine(start, dt.time())).total_seconds()
    return whole_second(seconds / SECONDS_PER_DAY)


def _places(data: dict):
    """(path, the mapping, its key) of every instant the data gives."""
    script = data.get("script")
    for index, item in enumerate(script if isinstance(script, list) else ()):
        if isinstance(item, dict):
            for key in _SCRIPT_KEYS:
                if key in item:
                    yield ("script", index, key), item, key
    learners = data.get("learners")
    for index, item in enumerate(learners if isinstance(learners, list) else ()):
        if isinstance(item, dict):
            for key in _LEARNER_KEYS:
                if key in item:
                    yield ("learners", index, key), item, key
    courses = data.get("courses")
    for index, course in enumerate(courses if isinstance(courses, list) else ()):
        sessions = course.get("sessions") if isinstance(course, dict) else None
        for k, item in enumerate(sessions if isinstance(sessions, list) else ()):
            if isinstance(item, dict):
                for key in _SESSION_KEYS:
                    if key in item:
                        yield ("courses", index, "sessions", k, key), item, key
    population = data.get("population")
    hires = population.get("hires") if isinstance(population, dict) else None
    schedule = hires.get("schedule") if isinstance(hires, dict) else None
    for index, item in enumerate(schedule if isinstance(schedule, list) else ()):
        if isinstance(item, dict):
            for key in _BATCH_KEYS:
                if key in item:
                    yield ("population", "hires", "schedule", index, key), item, key


def resolve_dates(data: dict) -> list[tuple[Path, str]]:
    """Replace, in `data` (in place), every instant written as a date by its day number;
    return the problems (path, message) of those that cannot be. A value that is no date
    is left as it is, for the models to judge."""
    found: list[tuple[Path, str]] = []
    start = start_of(data)
    for path, item, key in list(_places(data)):
        moment = read_moment(item[key])
        if moment is None:
            continue
        if isinstance(moment, str):
            found.append((path, moment))
            continue
        written = _shown(item[key])
        if start is None:
            found.append(
                (
                    path,
                    f"{written} is a date, and dates need the scenario's start_date (the "
                    "date of day 0): give the scenario a start_date, or write the day as "
                    "a number of days from the start",
                )
            )
            continue
        if start == "bad":
            found.append((path, f"{written} is a date, but the start_date is not a valid date"))
            continue
        day = day_of(moment, start)
        # S39: with a history (initial_state), the script's rule and course changes may
        # come before the start: they are replayed with it (its checks say which may)
        replayed = path[0] == "script" and isinstance(data.get("initial_state"), dict)
        if day < 0 and not replayed:
            found.append(
                (
                    path,
                    f"{written} is before the start_date {start.isoformat()} (day 0): "
                    "nothing happens before the start",
                )
            )
            continue
        item[key] = day
    return found
