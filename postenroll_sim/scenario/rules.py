"""Post Enrollment rules as a scenario states them (S2, S8-S12), and their ids (S12).

A rule without an id is `<source course id>#<n>`, n counting the rules of that course
from 1: first those configured on the course (file order), then those the script adds
(in the order the script runs: by day, then file order). `RuleNumbering` is that count,
used by everything that names rules (validation, the engine's plan, lint, explain).

`rule_versions` is the other meaning everything shares: every version of every rule
(S18), with the script position and day that made it and the one that replaced or
removed it. The engine's plan, the rule graph (and lint over it), explain and the
analysis all take rules from it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from ..columns import TRIGGERS
from .base import MAX_DAYS, Id, Spec
from .errors import Path
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


NEVER = math.inf  # `last` of a version that is never replaced
RULE_FIELDS = ("when", "delay_days", "courses", "allow_consecutive")


@dataclass(frozen=True)
class Version:
    """One version of a rule (S18): in force from script position `first` to `last`
    (exclusive; 0 is the file's own rules, p + 1 the script action at position p in run
    order). Jobs queued while it is in force keep it, whatever the script does later."""

    rule: str
    source: str
    when: str
    delay: int
    targets: tuple[str, ...]
    consecutive: bool
    path: Path  # the rule in `courses`, or the script action that made this version
    target_paths: tuple[Path, ...]
    first: int = 0
    last: float = NEVER
    since_day: float | None = None  # the script day that made it (None: from the start)
    until_day: float | None = None  # the script day that replaced or removed it
    changed: frozenset[str] = frozenset()  # fields an edit set (all, for a new rule)
    script_index: int | None = None  # the add_rule or edit_rule that made it
    ended_by: int | None = None  # the edit_rule or remove_rule that ended it

    def field_path(self, name: str) -> Path:
        """Where `name` of this version is written (the edit's key, or the rule)."""
        if self.path[0] == "script" and len(self.path) == 2:  # an edit_rule
            return (*self.path, "set", name) if name in self.changed else (*self.path, "rule")
        return (*self.path, name)


def rule_versions(scenario) -> list[Version]:
    """Every version of every rule of a validated scenario (S18): the file's own rules in
    S12 order, then each version the script makes, in the order the script runs (S23).
    An edit makes a new version from its instant and ends the one in force; a removal
    ends it. (Whether the run reaches an action's day is the run's business.)"""
    from .actions import AddRule, EditRule, RemoveRule

    versions: list[Version] = []
    latest: dict[str, int] = {}  # rule id -> index of its version in force
    added_ids: dict[int, str] = {}  # script index -> the id of the rule it adds (S12)
    every = frozenset(RULE_FIELDS)
    for rule_id, source, rule, script_index, path in scenario_rules(scenario):
        if script_index is None:
            latest[rule_id] = len(versions)
            versions.append(_version(rule_id, source, rule, path, every))
        else:
            added_ids[script_index] = rule_id
    for p, i in enumerate(script_order(scenario.script), start=1):
        action = scenario.script[i]
        if isinstance(action, AddRule):
            rule_id = added_ids[i]
            latest[rule_id] = len(versions)
            path = ("script", i, "rule")
            versions.append(
                _version(rule_id, action.course, action.rule, path, every, p, action.day, i)
            )
        elif isinstance(action, EditRule | RemoveRule) and action.rule in latest:
            k = latest[action.rule]
            old = versions[k]
            versions[k] = replace(old, last=p, until_day=action.day, ended_by=i)
            if isinstance(action, RemoveRule):
                del latest[action.rule]
                continue
            new = action.set
            targets = tuple(new.courses) if new.courses is not None else old.targets
            target_paths = (
                tuple(("script", i, "set", "courses", t) for t in range(len(targets)))
                if new.courses is not None
                else old.target_paths
            )
            latest[action.rule] = len(versions)
            versions.append(
                Version(
                    rule=old.rule,
                    source=old.source,
                    when=new.when if new.when is not None else old.when,
                    delay=new.delay_days if new.delay_days is not None else old.delay,
                    targets=targets,
                    consecutive=new.allow_consecutive
                    if new.allow_consecutive is not None
                    else old.consecutive,
                    path=("script", i),
                    target_paths=target_paths,
                    first=p,
                    since_day=action.day,
                    changed=frozenset(n for n in RULE_FIELDS if getattr(new, n) is not None),
                    script_index=i,
                )
            )
    return versions


def _version(rule_id, source, rule: Rule, path, every, first=0, day=None, index=None) -> Version:
    return Version(
        rule=rule_id,
        source=source,
        when=rule.when,
        delay=rule.delay_days,
        targets=tuple(rule.courses),
        consecutive=rule.allow_consecutive,
        path=path,
        target_paths=tuple((*path, "courses", k) for k in range(len(rule.courses))),
        first=first,
        since_day=day,
        changed=every,
        script_index=index,
    )
