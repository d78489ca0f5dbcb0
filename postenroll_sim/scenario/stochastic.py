"""The stochastic half of a scenario: distributions, learner behaviour, populations, ILC sessions."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from .base import (
    MAX_CAPACITY,
    MAX_ID_LENGTH,
    MAX_LEARNERS,
    SLOT_DAYS,
    Count,
    Day,
    Id,
    Instant,
    NonNegative,
    Number,
    PositiveDays,
    PositiveInstant,
    Probability,
    SchemaBound,
    Spec,
    at_most,
    id_text,
)

# Bounds that keep every distribution's numbers finite (numpy draws, means, weights).
MAX_SIGMA = 10.0  # lognormal: exp(sigma^2 / 2) stays finite (and sigma 3 is already extreme)
MIN_CV, MAX_CV = 1e-3, 100.0  # gamma: shape 1 / cv^2 between 1e-4 and 1e6
MAX_PER_YEAR = 365  # self-enrollment attempts per learner and course


class _Dist(Spec):
    def mean(self) -> float:  # pragma: no cover - every distribution overrides it
        raise NotImplementedError


class Fixed(_Dist):
    dist: Literal["fixed"]
    value: Day

    def mean(self) -> float:
        return self.value


class Exponential(_Dist):
    dist: Literal["exponential"]
    mean_: PositiveDays = Field(alias="mean")

    def mean(self) -> float:
        return self.mean_


class Lognormal(_Dist):
    dist: Literal["lognormal"]
    median: PositiveDays
    sigma: Annotated[NonNegative, Field(le=MAX_SIGMA)]

    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)


class Gamma(_Dist):
    dist: Literal["gamma"]
    mean_: PositiveDays = Field(alias="mean")
    cv: Annotated[Number, Field(ge=MIN_CV, le=MAX_CV)]  # coefficient of variation: sd / mean

    def mean(self) -> float:
        return self.mean_


class Uniform(_Dist):
    dist: Literal["uniform"]
    min: Day
    max: Day

    @model_validator(mode="after")
    def _ordered(self):
        if self.max < self.min:
            raise ValueError(f"max ({self.max:g}) must be at least min ({self.min:g})")
        return self

    def mean(self) -> float:
        return (self.min + self.max) / 2


class Triangular(_Dist):
    dist: Literal["triangular"]
    min: Day
    mode: Day
    max: Day

    @model_validator(mode="after")
    def _ordered(self):
        if not self.min <= self.mode <= self.max or self.min == self.max:
            raise ValueError("needs min <= mode <= max and min < max")
        return self

    def mean(self) -> float:
        return (self.min + self.mode + self.max) / 3


class Empirical(_Dist):
    dist: Literal["empirical"]
    values: Annotated[list[Day], Field(min_length=1)]
    weights: list[NonNegative] | None = None

    @field_validator("weights")
    @classmethod
    def _computable(cls, weights: list[float] | None) -> list[float] | None:
        if weights is None:
            return weights
        try:
            total = math.fsum(weights)
        except OverflowError:
            total = math.inf
        if total <= 0:
            raise ValueError("weights must not all be zero")
        # the sampler divides by the sum: it must be a number, and the shares sum to 1
        shares = [w / total for w in weights] if math.isfinite(total) else []
        if not shares or abs(math.fsum(shares) - 1) > 1e-9:
            raise ValueError(
                "weights are too large or too small to compute with; scale them "
                "(only their ratios matter)"
            )
        return weights

    @model_validator(mode="after")
    def _weights(self):
        if self.weights is not None and len(self.weights) != len(self.values):
            raise ValueError(f"{len(self.weights)} weights for {len(self.values)} values")
        return self

    def mean(self) -> float:
        weights = self.weights or [1.0] * len(self.values)
        return sum(v * w for v, w in zip(self.values, weights, strict=True)) / sum(weights)


def median(dist: _Dist) -> float:
    """The value half the draws stay under: exact for every distribution but gamma, whose
    median has no closed form (Wilson-Hilferty: mean x (1 - cv^2 / 9)^3, within 2% for
    cv <= 1, and below the true median beyond)."""
    if isinstance(dist, Fixed):
        return dist.value
    if isinstance(dist, Exponential):
        return dist.mean_ * math.log(2)
    if isinstance(dist, Lognormal):
        return dist.median
    if isinstance(dist, Gamma):
        return dist.mean_ * max(0.0, 1 - dist.cv**2 / 9) ** 3
    if isinstance(dist, Uniform):
        return (dist.min + dist.max) / 2
    if isinstance(dist, Triangular):
        low, mode, high = dist.min, dist.mode, dist.max
        if mode >= (low + high) / 2:
            return low + math.sqrt((high - low) * (mode - low) / 2)
        return high - math.sqrt((high - low) * (high - mode) / 2)
    weights = dist.weights or [1.0] * len(dist.values)  # empirical: the lower median
    half, seen = math.fsum(weights) / 2, 0.0
    for value, weight in sorted(zip(dist.values, weights, strict=True)):
        seen += weight
        if seen >= half:
            return value
    return max(dist.values)


def _number_is_fixed(value: Any) -> Any:
    # A plain number where a distribution is expected means "always this value".
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    return value


_Distributions = Annotated[
    Fixed | Exponential | Lognormal | Gamma | Uniform | Triangular | Empirical,
    Field(discriminator="dist"),
]
Distribution = Annotated[
    _Distributions, BeforeValidator(_number_is_fixed, json_schema_input_type=Day | _Distributions)
]
DISTRIBUTION_MODELS = (Fixed, Exponential, Lognormal, Gamma, Uniform, Triangular, Empirical)


class Behaviour(Spec):
    """What learners do on their own in a course (all times in days).

    The clock starts when the enrollment becomes visible (S21): the learner starts after
    `start_after_days` and finishes `duration_days` after starting. On a curriculum,
    `start_after_days` is the delay before the learner self-enrolls in its member courses.
    """

    start_after_days: Distribution | None = None
    duration_days: Distribution | None = None
    pass_rate: Probability | None = None
    abandon_rate: Probability | None = None
    no_show_rate: Probability | None = None


def _at_least_a_slot(value: float) -> float:
    if value < SLOT_DAYS:
        raise ValueError(
            f"must be at least {SLOT_DAYS} days (1/16 day, the resolution of the "
            f"simulation clock), got {value:g}"
        )
    return value


class SessionSpec(Spec):
    """One ILC session (`day`) or a recurring series (`every_days` from `first_day`)."""

    day: Instant | None = None
    every_days: (
        Annotated[
            PositiveInstant, AfterValidator(_at_least_a_slot), SchemaBound("minimum", SLOT_DAYS)
        ]
        | None
    ) = None
    first_day: Instant | None = None
    until_day: Instant | None = None
    capacity: Annotated[
        Count, Field(ge=1), at_most(MAX_CAPACITY, "seats are 32-bit integers in the tables")
    ]

    @model_validator(mode="after")
    def _one_kind(self):
        if self.day is None and self.every_days is None:
            raise ValueError(
                "a session needs `day`, or `every_days` (with `first_day`) for a series"
            )
        if self.day is not None and (
            self.every_days is not None or self.first_day is not None or self.until_day is not None
        ):
            raise ValueError(
                "give `day` for one session, or `every_days`/`first_day`/`until_day` for a series, not both"
            )
        return self


class Hires(Spec):
    per_day: Annotated[NonNegative, at_most(MAX_LEARNERS, "the learner limit")] | None = None
    schedule: list[HireBatch] | None = None

    @model_validator(mode="after")
    def _one_kind(self):
        if (self.per_day is None) == (self.schedule is None):
            raise ValueError(
                "give either `per_day` (Poisson arrivals) or a `schedule` of {day, count}"
            )
        return self


class HireBatch(Spec):
    day: Instant
    count: Annotated[Count, Field(ge=0), at_most(MAX_LEARNERS, "the learner limit")]


class Attrition(Spec):
    annual_rate: Annotated[float, Field(ge=0, lt=1)]  # share of learners leaving within a year


class OnHire(Spec):
    course: Id
    method: Literal["admin", "self"] = "admin"
    after_days: Annotated[Distribution, Field(validate_default=True)] = 0.0


class SelfEnroll(Spec):
    course: Id
    per_year: Annotated[
        NonNegative, Field(le=MAX_PER_YEAR)
    ]  # attempts per learner per year (Poisson)


class Population(Spec):
    initial: Annotated[Count, Field(ge=0), at_most(MAX_LEARNERS, "the learner limit")] = 0
    hires: Hires | None = None
    attrition: Attrition | None = None
    on_hire: list[OnHire] = []
    self_enroll: list[SelfEnroll] = []
    # generated ids are the prefix and 7 digits; checked as an id, then for the pattern
    id_prefix: Annotated[
        str,
        Field(min_length=1, max_length=MAX_ID_LENGTH - 7, pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$"),
        BeforeValidator(id_text),  # last, or the schema loses the pattern (it still runs first)
    ] = "L"


Hires.model_rebuild()
