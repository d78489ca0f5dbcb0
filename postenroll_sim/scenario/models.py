"""Pydantic models of a scenario file (the contract in SCENARIO.md).

These models check the shape of each item: types, allowed keys, ranges. Checks that
relate items to each other (unknown ids, rules on bundles, ...) live in `checks.py`,
so every problem can be reported with its own location, all at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, PrivateAttr, Tag

from .base import Count, Day, Id, Positive, PositiveCount, Spec
from .errors import Origin
from .lintcodes import CODES
from .stochastic import Behaviour, Population, SessionSpec


def _whole_days(value: Any) -> Any:
    """S2: a delay is a whole number of days >= 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"delay must be a whole number of days >= 0 (S2), got {value!r}")
    if value != value or value < 0 or int(value) != value:
        raise ValueError(f"delay must be a whole number of days >= 0 (S2), got {value!r}")
    return int(value)


DelayDays = Annotated[int, BeforeValidator(_whole_days)]


def _known_code(value: Any) -> Any:
    if isinstance(value, str) and value not in CODES:
        raise ValueError(
            f"unknown lint code, got {value!r} (the codes are listed in docs/designer-tools.md)"
        )
    return value


LintCode = Annotated[Literal[tuple(CODES)], BeforeValidator(_known_code)]  # type: ignore[valid-type]


class LintSettings(Spec):
    """`postenroll-sim lint` findings marked as intended where this key is (docs/designer-tools.md)."""

    ignore: Annotated[list[LintCode], Field(min_length=1)]


class Prerequisites(Spec):
    """S7: courses to complete before self-enrollment; `required` defaults to all."""

    courses: Annotated[list[Id], Field(min_length=1)]
    required: PositiveCount | None = None


class Group(Spec):
    """S26: a group of curriculum members and how many of them must be completed."""

    courses: Annotated[list[Id], Field(min_length=1)]
    required: PositiveCount | None = None


class Rule(Spec):
    """S8-S12: one Post Enrollment rule on a source course."""

    id: Id | None = None
    when: Literal["enrolled", "completed", "failed"]
    delay_days: DelayDays
    courses: Annotated[list[Id], Field(min_length=1)]
    allow_consecutive: bool = False
    lint: LintSettings | None = None


class RuleEdit(Spec):
    """The fields `edit_rule` may change (S18: queued jobs keep their snapshot)."""

    when: Literal["enrolled", "completed", "failed"] | None = None
    delay_days: DelayDays | None = None
    courses: Annotated[list[Id], Field(min_length=1)] | None = None
    allow_consecutive: bool | None = None


class Course(Spec):
    id: Id
    type: Literal["online", "ilc", "curriculum", "bundle"]
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
    if isinstance(value, str | int) and not isinstance(value, bool):
        return {"id": value}
    return value


class Processing(Spec):
    """S3: `exact` processes a job at its due time; `daily` at the next run at `hour`."""

    mode: Literal["exact", "daily"] = "exact"
    hour: Annotated[Count, Field(ge=0, le=23)] = 0
    cascade_limit: PositiveCount = 1000  # S22 guard, per learner and instant


# ----- script actions ---------------------------------------------------------------


class _Action(Spec):
    day: Day


class Enroll(_Action):
    action: Literal["enroll"]
    learner: Id
    course: Id
    method: Literal["admin", "self"] = "admin"


class Start(_Action):
    action: Literal["start"]
    learner: Id
    course: Id


class Complete(_Action):
    action: Literal["complete"]
    learner: Id
    course: Id


class Fail(_Action):
    action: Literal["fail"]
    learner: Id
    course: Id


class AddRule(_Action):
    action: Literal["add_rule"]
    course: Id
    rule: Rule


class EditRule(_Action):
    action: Literal["edit_rule"]
    rule: Id
    set: RuleEdit


class RemoveRule(_Action):
    action: Literal["remove_rule"]
    rule: Id


class DeactivateCourse(_Action):
    action: Literal["deactivate_course"]
    course: Id


class ActivateCourse(_Action):
    action: Literal["activate_course"]
    course: Id


class AddToBundle(_Action):
    action: Literal["add_to_bundle"]
    bundle: Id
    course: Id


class RemoveFromBundle(_Action):
    action: Literal["remove_from_bundle"]
    bundle: Id
    course: Id


class AddLearner(_Action):
    action: Literal["add_learner"]
    learner: Id


class RemoveLearner(_Action):
    action: Literal["remove_learner"]
    learner: Id


ACTION_MODELS: dict[str, type[_Action]] = {
    model.model_fields["action"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in (
        Enroll,
        Start,
        Complete,
        Fail,
        AddRule,
        EditRule,
        RemoveRule,
        DeactivateCourse,
        ActivateCourse,
        AddToBundle,
        RemoveFromBundle,
        AddLearner,
        RemoveLearner,
    )
}

ScriptAction = Annotated[
    Enroll
    | Start
    | Complete
    | Fail
    | AddRule
    | EditRule
    | RemoveRule
    | DeactivateCourse
    | ActivateCourse
    | AddToBundle
    | RemoveFromBundle
    | AddLearner
    | RemoveLearner,
    Field(discriminator="action"),
]

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
    start_date: dt.date | None = None
    horizon_days: Positive
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
