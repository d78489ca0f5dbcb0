"""Pydantic models of a scenario file (the contract in docs/scenarios.md).

These models check the shape of each item: types, allowed keys, ranges. Checks that
relate items to each other (unknown ids, rules on bundles, ...) live in `checks.py`,
so every problem can be reported with its own location, all at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, PrivateAttr, Tag

from ..columns import COURSE_TYPES
from .actions import (  # noqa: F401 - re-exported: each action is defined once, in actions.py
    ACTION_MODELS,
    ACTIONS,
    ActivateCourse,
    AddLearner,
    AddRule,
    AddToBundle,
    Complete,
    DeactivateCourse,
    EditRule,
    Enroll,
    Fail,
    RemoveFromBundle,
    RemoveLearner,
    RemoveRule,
    ScriptAction,
    Start,
)
from .base import (
    FIRST_DATE,
    LAST_DATE,
    Count,
    Day,
    Id,
    PositiveCount,
    PositiveDays,
    Spec,
)
from .errors import Origin
from .rules import DelayDays, LintSettings, Rule, RuleEdit  # noqa: F401 - re-exported
from .stochastic import Behaviour, Population, SessionSpec


class Prerequisites(Spec):
    """S7: courses to complete before self-enrollment; `required` defaults to all."""

    courses: Annotated[list[Id], Field(min_length=1)]
    required: PositiveCount | None = None


class Group(Spec):
    """S26: a group of curriculum members and how many of them must be completed."""

    courses: Annotated[list[Id], Field(min_length=1)]
    required: PositiveCount | None = None


class Course(Spec):
    id: Id
    type: Literal[COURSE_TYPES]
    title: str | None = None
    active: bool = True
    allow_failure: bool = False
    prerequisites: Prerequisites | None = None
    members: list[Id] | None = None
    groups: Annotated[list[Group], Field(min_length=1)] | None = None
    post_enrollments: list[Rule] = []
    sessions: list[SessionSpec] | None = None  # ilc only (S30)
    behaviour: Behaviour | None = None
    lint: LintSettings | None = None


class Learner(Spec):
    id: Id
    joined_day: Day = 0.0


def _learner_shorthand(value: Any) -> Any:
    # `learners: [alice, bob]` is shorthand for `[{id: alice}, {id: bob}]`.
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"id": value}
    return value


class Processing(Spec):
    """S3: `exact` processes a job at its due time; `daily` at the next run at `hour`."""

    mode: Literal["exact", "daily"] = "exact"
    hour: Annotated[Count, Field(ge=0, le=23)] = 0
    cascade_limit: PositiveCount = 1000  # S22 guard, per learner and instant


def _calendar_date(value: dt.date) -> dt.date:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(
            f"must be between {FIRST_DATE} and {LAST_DATE} (the timestamps of the tables "
            f"cannot go further), got {value}"
        )
    return value


# ----- expectations -----------------------------------------------------------------


class ExpectEnrollment(Spec):
    enrollment: dict[str, Any]
    count: Annotated[Count, Field(ge=0)] = 1


class ExpectJob(Spec):
    job: dict[str, Any]
    count: Annotated[Count, Field(ge=0)] = 1


class ExpectError(Spec):
    error: Annotated[str, Field(min_length=1)]


def _expect_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for kind in ("enrollment", "job", "error"):
            if kind in value:
                return kind
    elif isinstance(value, ExpectEnrollment | ExpectJob | ExpectError):
        return type(value).__name__.removeprefix("Expect").lower()
    return None


ExpectItem = Annotated[
    Annotated[ExpectEnrollment, Tag("enrollment")]
    | Annotated[ExpectJob, Tag("job")]
    | Annotated[ExpectError, Tag("error")],
    Discriminator(
        _expect_kind,
        custom_error_type="expect_kind",
        custom_error_message="an expectation is one of `enrollment:`, `job:` or `error:`",
    ),
]


class Scenario(Spec):
    """A whole scenario file. Frozen: the engine never changes its specification."""

    name: Annotated[str, Field(min_length=1)]
    description: str | None = None
    start_date: Annotated[dt.date, AfterValidator(_calendar_date)] | None = None
    horizon_days: PositiveDays
    seed: Annotated[Count, Field(ge=0)] = 0
    processing: Processing = Processing()
    courses: Annotated[list[Course], Field(min_length=1)]
    learners: list[Annotated[Learner, BeforeValidator(_learner_shorthand)]] = []
    script: list[ScriptAction] = []
    expect: list[ExpectItem] = []
    default_behaviour: Behaviour | None = None
    population: Population | None = None
    lint: LintSettings | None = None

    # File and line numbers, so run-time errors can point at the script line.
    _origin: Origin | None = PrivateAttr(default=None)

    @property
    def origin(self) -> Origin | None:
        """Where this scenario was read from: its file and the line of every key and item
        (`origin.line_of(path)`); None for a scenario built in Python."""
        return self._origin


LearnerItem = Annotated[Learner, BeforeValidator(_learner_shorthand)]

__all__ = [
    "ACTION_MODELS",
    "Course",
    "ExpectEnrollment",
    "ExpectError",
    "ExpectItem",
    "ExpectJob",
    "Group",
    "Learner",
    "LearnerItem",
    "LintSettings",
    "Prerequisites",
    "Processing",
    "Rule",
    "RuleEdit",
    "Scenario",
    "ScriptAction",
]
