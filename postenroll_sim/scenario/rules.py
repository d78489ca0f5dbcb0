"""Post Enrollment rules as a scenario states them (S2, S8-S12), and their ids (S12).

A rule without an id is `<source course id>#<n>`, n counting the rules of that course
from 1: first those configured on the course (file order), then those the script adds
(in the order the script runs: by day, then file order). `RuleNumbering` is that count,
used by everything that names rules (validation, the engine's plan, lint, explain).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from ..columns import TRIGGERS
from .base import MAX_DAYS, Id, Spec
from .lintcodes import CODES


def _whole_days(value: Any) -> Any:
    """S2: a delay is a whole number of days >= 0 (and at most 100 years)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"delay must be a whole number of days >= 0 (S2), got {value!r}")
    if not math.isfinite(value) or value < 0 or int(value) != value:
        raise ValueError(f"delay must be a whole number of days >= 0 (S2), got {value!r}")
    if value > MAX_DAYS:
        raise ValueError(f"delay must be at most {MAX_DAYS:,} days (100 years), got {value:,}")
    return int(value)


DelayDays = Annotated[
    int,
    BeforeValidator(_whole_days, json_schema_input_type=Annotated[int, Field(ge=0, le=MAX_DAYS)]),
]
When = Literal[TRIGGERS]  # enrolled | completed | failed (S9, S17)


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


class Rule(Spec):
    """S8-S12: one Post Enrollment rule on a source course."""

    id: Id | None = None
    when: When
    delay_days: DelayDays
    courses: Annotated[list[Id], Field(min_length=1)]
    allow_consecutive: bool = False
    lint: LintSettings | None = None


class RuleEdit(Spec):
    """The fields `edit_rule` may change (S18: queued jobs keep their snapshot)."""

    when: When | None = None
    delay_days: DelayDays | None = None
    courses: Annotated[list[Id], Field(min_length=1)] | None = None
    allow_consecutive: bool | None = None


def default_rule_id(course_id: str, number: int) -> str:
    """S12: a rule without an id is `<source course id>#<n>`, n counting from 1."""
    return f"{course_id}#{number}"


class RuleNumbering:
    """The S12 count of rules per course, as rules are met in order."""

    def __init__(self) -> None:
        self._count: Counter[str] = Counter()

    def next_id(self, course_id: str, given: str | None) -> str:
        """The id of the next rule on `course_id`: its own, or the default (S12)."""
        self._count[course_id] += 1
        return given or default_rule_id(course_id, self._count[course_id])


def scenario_rules(scenario) -> Iterator[tuple[str, str, Rule, int | None, tuple]]:
    """Every rule of a validated scenario with its id, in S12 order: (rule id, source course,
    rule, script index or None for a configured rule, its path in the file)."""
    from .actions import AddRule

    numbering = RuleNumbering()
    for c, course in enumerate(scenario.courses):
        for r, rule in enumerate(course.post_enrollments):
            path = ("courses", c, "post_enrollments", r)
            yield numbering.next_id(course.id, rule.id), course.id, rule, None, path
    for index in script_order(scenario.script):
        action = scenario.script[index]
        if isinstance(action, AddRule):
            rule_id = numbering.next_id(action.course, action.rule.id)
            yield rule_id, action.course, action.rule, index, ("script", index, "rule")


def script_order(script) -> list[int]:
    """The indexes of script actions in the order they run: by day, then file order (S23)."""
    return sorted(range(len(script)), key=lambda i: (script[i].day, i))
