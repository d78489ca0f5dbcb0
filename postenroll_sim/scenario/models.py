"""Pydantic models of a scenario file (the contract in docs/scenarios.md).

These models check the shape of each item: types, allowed keys, ranges. Checks that
relate items to each other (unknown ids, rules on bundles, ...) live in `checks.py`,
so every problem can be reported with its own location, all at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    model_validator,
)

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
    Id,
    Instant,
    NonNegative,
    PositiveCount,
    PositiveInstant,
    Probability,
    Spec,
    at_most,
)
from .certificates import Certificate, PositivePeriod, RenewalDue
from .errors import Origin, Path
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
    certificate: Certificate | None = None  # S31-S37
    due_after: PositivePeriod | None = None  # S35
    renewal_due: RenewalDue = "expiry"  # S35: a re-enrollment's due instant


class Learner(Spec):
    id: Id
    joined_day: Instant = 0.0


def _learner_shorthand(value: Any) -> Any:
    # `learners: [alice, bob]` is shorthand for `[{id: alice}, {id: bob}]`.
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"id": value}
    return value


LearnerItem = Annotated[
    Learner, BeforeValidator(_learner_shorthand, json_schema_input_type=Learner | Id)
]


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

MAX_EXPECT_REPLICATIONS = 10_000  # `expect: {replications: N}` and `check --replications`


class _Bounds(Spec):
    """`{min: A, max: B}`, either bound optional but not both, A <= B."""

    @model_validator(mode="after")
    def _ordered(self) -> _Bounds:
        low, high = self.min, self.max  # type: ignore[attr-defined]
        if low is None and high is None:
            raise ValueError("give `min`, `max` or both")
        if low is not None and high is not None and low > high:
            raise ValueError(f"min ({low:g}) is greater than max ({high:g})")
        return self

    def holds(self, value: float, tolerance: float = 0.0) -> bool:
        low, high = self.min, self.max  # type: ignore[attr-defined]
        return (low is None or value >= low - tolerance) and (
            high is None or value <= high + tolerance
        )


class CountRange(_Bounds):
    """`count: {min: A, max: B}`: how many rows may match (per replication)."""

    min: Annotated[Count, Field(ge=0)] | None = None
    max: Annotated[Count, Field(ge=0)] | None = None


class ShareRange(_Bounds):
    """`share: {min: A, max: B}`: the share of learners with a match, 0 to 1."""

    min: Probability | None = None
    max: Probability | None = None


class MeanRange(_Bounds):
    """`mean: {min: A, max: B}`: the mean number of matching rows per replication."""

    min: NonNegative | None = None
    max: NonNegative | None = None


def _count_kind(value: Any) -> str | None:
    if isinstance(value, dict | CountRange):
        return "range"
    if isinstance(value, int | float | str | bool):
        return "number"  # the number's own check says what is wrong with 1.5 or "x"
    return None


CountSpec = Annotated[
    Annotated[Annotated[Count, Field(ge=0)], Tag("number")] | Annotated[CountRange, Tag("range")],
    Discriminator(
        _count_kind,
        custom_error_type="count_kind",
        custom_error_message="`count` is a whole number or a range {min: A, max: B}",
    ),
]


class _Matching(Spec):
    """An expectation on the rows of one table: how many match (`count`, default 1, in
    every replication), or over replications the share of learners with a match
    (`share`) or the mean number of matches (`mean`). One of the three."""

    count: Annotated[
        CountSpec,
        Field(
            description="how many rows match, in every replication: a number or "
            "{min: A, max: B} (default 1)"
        ),
    ] = 1
    share: Annotated[
        ShareRange | None,
        Field(
            description="{min: A, max: B}: the share of the learners present with at least "
            "one matching row, averaged over the replications"
        ),
    ] = None
    mean: Annotated[
        MeanRange | None,
        Field(description="{min: A, max: B}: the mean number of matching rows per replication"),
    ] = None

    @model_validator(mode="after")
    def _one_measure(self) -> _Matching:
        given = [
            name
            for name in ("count", "share", "mean")
            if name in self.model_fields_set and getattr(self, name) is not None
        ]
        if len(given) > 1:
            raise ValueError(f"give one of `count`, `share` or `mean`, not {' and '.join(given)}")
        return self

    @property
    def row_fields(self) -> dict[str, Any]:
        """The fields a row must match (the item's `enrollment:`, `job:` or `event:`)."""
        return getattr(self, self.kind)

    @property
    def measure(self) -> str:
        """`count`, `share` or `mean`: what this item bounds."""
        if self.share is not None:
            return "share"
        if self.mean is not None:
            return "mean"
        return "count"

    @property
    def count_range(self) -> tuple[int | None, int | None]:
        if isinstance(self.count, CountRange):
            return self.count.min, self.count.max
        return self.count, self.count


class ExpectEnrollment(_Matching):
    """Rows of the enrollments table matching every field given (docs/scenarios.md)."""

    kind: ClassVar[str] = "enrollment"
    table: ClassVar[str] = "enrollments"
    enrollment: dict[str, Any]


class ExpectJob(_Matching):
    """Rows of the jobs table matching every field given (docs/scenarios.md)."""

    kind: ClassVar[str] = "job"
    table: ClassVar[str] = "jobs"
    job: dict[str, Any]


class ExpectEvent(_Matching):
    """Rows of the events table matching every field given (docs/scenarios.md)."""

    kind: ClassVar[str] = "event"
    table: ClassVar[str] = "events"
    event: dict[str, Any]


class ExpectCertificate(_Matching):
    """Rows of the certificates table matching every field given (docs/scenarios.md)."""

    kind: ClassVar[str] = "certificate"
    table: ClassVar[str] = "certificates"
    certificate: dict[str, Any]


class ExpectError(Spec):
    """Loading or running the scenario must fail with a message containing this text."""

    kind: ClassVar[str] = "error"
    error: Annotated[str, Field(min_length=1)]


EXPECT_KINDS = ("enrollment", "job", "event", "certificate", "error")
_EXPECT_MODELS = (ExpectEnrollment, ExpectJob, ExpectEvent, ExpectCertificate, ExpectError)


def _expect_kind(value: Any) -> str | None:
    # Tags are not the keys themselves: pydantic puts the tag in an error's location,
    # where `job` would be read as the item's `job:` mapping, not the union branch.
    if isinstance(value, dict):
        for kind in EXPECT_KINDS:
            if kind in value:
                return f"expect-{kind}"
    elif isinstance(value, _EXPECT_MODELS):
        return f"expect-{value.kind}"
    return None


ExpectItem = Annotated[
    Annotated[ExpectEnrollment, Tag("expect-enrollment")]
    | Annotated[ExpectJob, Tag("expect-job")]
    | Annotated[ExpectEvent, Tag("expect-event")]
    | Annotated[ExpectCertificate, Tag("expect-certificate")]
    | Annotated[ExpectError, Tag("expect-error")],
    Discriminator(
        _expect_kind,
        custom_error_type="expect_kind",
        custom_error_message="an expectation is one of `enrollment:`, `job:`, `event:`, "
        "`certificate:` or `error:`",
    ),
]


class ExpectBlock(Spec):
    """`expect: {replications: N, items: [...]}`: the items checked over N replications."""

    replications: Annotated[
        PositiveCount, at_most(MAX_EXPECT_REPLICATIONS, "replications of one check")
    ] = 1
    items: list[ExpectItem]


def _block_kind(value: Any) -> str | None:
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict | ExpectBlock):
        return "block"
    return None


Expect = Annotated[
    Annotated[list[ExpectItem], Tag("list")] | Annotated[ExpectBlock, Tag("block")],
    Discriminator(
        _block_kind,
        custom_error_type="expect_block",
        custom_error_message="`expect` is a list of expectations, or "
        "{replications: N, items: [...]}",
    ),
]


def expect_items(expect: Any) -> tuple[list[Any], Path, int]:
    """The items of an `expect` value (a list or a block), the path of item 0's parent
    and the replications it asks for."""
    if isinstance(expect, ExpectBlock):
        return list(expect.items), ("expect", "items"), expect.replications
    return list(expect or ()), ("expect",), 1


def _path_text(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("a file path, got an empty text")
    return value


FileName = Annotated[str, AfterValidator(_path_text)]


class InitialState(Spec):
    """S39-S41: start from a real LMS, its enrollment history cut at day 0 (`start_date`).
    Paths are relative to the scenario file (the loader makes them absolute); `map` may
    also name a ready-made map (columns.READY_MAPS)."""

    history: FileName  # the audit format (docs/audit.md)
    map: FileName | None = None
    learners: FileName | None = None  # learner, joined_at, removed_at, attribute columns


class Scenario(Spec):
    """A whole scenario file. Frozen: the engine never changes its specification."""

    name: Annotated[str, Field(min_length=1)]
    description: str | None = None
    start_date: Annotated[dt.date, AfterValidator(_calendar_date)] | None = None
    horizon_days: PositiveInstant
    seed: Annotated[Count, Field(ge=0)] = 0
    processing: Processing = Processing()
    courses: Annotated[list[Course], Field(min_length=1)]
    learners: list[LearnerItem] = []
    script: list[ScriptAction] = []
    expect: Expect = []
    default_behaviour: Behaviour | None = None
    # a file of behaviours and rates (as `calibrate` writes), relative to this one
    behaviour_from: Annotated[str, Field(min_length=1)] | None = None
    population: Population | None = None
    initial_state: InitialState | None = None
    lint: LintSettings | None = None

    # File and line numbers, so run-time errors can point at the script line.
    _origin: Origin | None = PrivateAttr(default=None)

    @property
    def origin(self) -> Origin | None:
        """Where this scenario was read from: its file and the line of every key and item
        (`origin.line_of(path)`); None for a scenario built in Python."""
        return self._origin

    @property
    def expectations(self) -> list[ExpectItem]:
        """The items of the `expect` block, in either of its forms."""
        return expect_items(self.expect)[0]

    @property
    def expect_replications(self) -> int:
        """How many replications the `expect` block is checked over (1 unless it says)."""
        return expect_items(self.expect)[2]


__all__ = [
    "ACTION_MODELS",
    "CountRange",
    "Course",
    "Expect",
    "ExpectBlock",
    "ExpectEnrollment",
    "ExpectError",
    "ExpectEvent",
    "ExpectItem",
    "ExpectJob",
    "MeanRange",
    "Group",
    "InitialState",
    "Learner",
    "LearnerItem",
    "LintSettings",
    "Prerequisites",
    "Processing",
    "Rule",
    "RuleEdit",
    "Scenario",
    "ScriptAction",
    "ShareRange",
    "expect_items",
]
