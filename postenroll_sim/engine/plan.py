"""Compile a validated Scenario into integer-coded tables the engine works on.

Learners, courses and rules become dense int codes; the script becomes a timeline in
the order S23 runs it. Nothing here changes during a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from ..columns import COURSE_TYPE_CODE, LEARNING_TYPES, TRIGGER_CODE, whole_second
from ..scenario import models
from ..scenario.rules import rule_versions, scenario_rules, script_order
from ..scenario.stochastic import Behaviour

# codes of the vocabularies defined once in columns.py
TYPE_CODE = COURSE_TYPE_CODE
ONLINE, ILC, CURRICULUM, BUNDLE = (TYPE_CODE[t] for t in ("online", "ilc", "curriculum", "bundle"))
ENROLLED, COMPLETED, FAILED = (TRIGGER_CODE[t] for t in ("enrolled", "completed", "failed"))  # S17


class RuleVersion(NamedTuple):
    """A rule as it is at one instant; jobs carry one of these as their snapshot (S18)."""

    rule: int
    source: int
    when: int
    delay: int
    targets: tuple[int, ...]
    consecutive: bool


class Session(NamedTuple):
    id: str
    course: int
    day: float
    capacity: int


class Step(NamedTuple):
    """One timeline entry: a script action (index into the script) or a learner joining."""

    day: float
    script_index: int | None  # None: a learner from `learners` joining on its `joined_day`
    action: object  # a models.* action, or the learner code for a join


@dataclass(frozen=True)
class Plan:
    """A scenario compiled to int codes: built whole by `compile_plan`, never changed."""

    scenario: models.Scenario
    learner_ids: list[str]  # named learners; a run copies it and appends hires
    course_ids: list[str]
    course_types: list[int]
    allow_failure: list[bool]
    active: list[bool]  # at day 0
    prerequisites: list[tuple[tuple[int, ...], int] | None]
    groups: list[tuple[tuple[tuple[int, ...], int], ...]]  # curricula: (members, required)
    bundle_members: list[list[int]]  # at day 0
    curricula_of: list[tuple[int, ...]]  # course -> curricula holding it
    rule_ids: list[str]
    initial_rules: list[RuleVersion]
    script_rules: dict[int, RuleVersion]  # script index of an add_rule/edit_rule -> what it makes
    timeline: list[list[Step]]  # grouped by day, in S23 order
    initial_learners: list[int]
    behaviour: list[Behaviour | None]  # the course's own, or default_behaviour
    sessions: list[list[Session]]  # ilc: by day (S30)
    course_code: dict[str, int] = field(repr=False)
    learner_code: dict[str, int] = field(repr=False)
    rule_code: dict[str, int] = field(repr=False)

    @property
    def n_courses(self) -> int:
        return len(self.course_ids)

    def course(self, course_id: str) -> int:
        return self.course_code[course_id]

    def learner(self, learner_id: str) -> int:
        return self.learner_code[learner_id]

    def rule(self, rule_id: str) -> int:
        return self.rule_code[rule_id]


def compile_plan(scenario: models.Scenario) -> Plan:
    course_ids = [c.id for c in scenario.courses]
    course_code = {cid: i for i, cid in enumerate(course_ids)}
    learner_ids = [learner.id for learner in scenario.learners]
    learner_ids += [a.learner for a in scenario.script if isinstance(a, models.AddLearner)]
    learner_code = {lid: i for i, lid in enumerate(learner_ids)}

    # S12: rule ids, defaults numbered per course in file order, continued by add_rule.
    rule_ids = [rule_id for rule_id, *_ in scenario_rules(scenario)]
    rule_code = {rid: i for i, rid in enumerate(rule_ids)}
    # S18: every version is known before the run; the script's put them in force.
    initial_rules: list[RuleVersion] = []
    script_rules: dict[int, RuleVersion] = {}
    for v in rule_versions(scenario):
        version = RuleVersion(
            rule=rule_code[v.rule],
            source=course_code[v.source],
            when=TRIGGER_CODE[v.when],
            delay=v.delay,
            targets=tuple(course_code[c] for c in v.targets),
            consecutive=v.consecutive,
        )
        if v.script_index is None:
            initial_rules.append(version)
        else:
            script_rules[v.script_index] = version

    groups = [_groups(course, course_code) for course in scenario.courses]
    curricula_of: list[list[int]] = [[] for _ in course_ids]
    for cur, cur_groups in enumerate(groups):
        for members, _ in cur_groups:
            for member in members:
                if cur not in curricula_of[member]:
                    curricula_of[member].append(cur)

    default = scenario.default_behaviour
    return Plan(
        scenario=scenario,
        learner_ids=learner_ids,
        course_ids=course_ids,
        course_types=[TYPE_CODE[c.type] for c in scenario.courses],
        allow_failure=[c.allow_failure for c in scenario.courses],
        active=[c.active for c in scenario.courses],
        prerequisites=[_prerequisites(c, course_code) for c in scenario.courses],
        groups=groups,
        bundle_members=[
            [course_code[m] for m in (c.members or ())] if c.type == "bundle" else []
            for c in scenario.courses
        ],
        curricula_of=[tuple(x) for x in curricula_of],
        rule_ids=rule_ids,
        initial_rules=initial_rules,
        script_rules=script_rules,
        timeline=_timeline(scenario, learner_code),
        initial_learners=[learner_code[ln.id] for ln in scenario.learners if ln.joined_day == 0],
        behaviour=[
            c.behaviour
            if c.behaviour is not None
            else (default if c.type in LEARNING_TYPES else None)
            for c in scenario.courses
        ],
        sessions=[
            _expand_sessions(course_code[c.id], c, scenario.horizon_days) for c in scenario.courses
        ],
        course_code=course_code,
        learner_code=learner_code,
        rule_code=rule_code,
    )


def _groups(course: models.Course, course_code: dict[str, int]):
    """S26: a curriculum's groups as (member codes, required count); () for other courses."""
    if course.type != "curriculum":
        return ()
    raw = [models.Group(courses=course.members)] if course.members is not None else course.groups
    return tuple(
        (
            tuple(course_code[m] for m in g.courses),
            g.required if g.required is not None else len(g.courses),
        )
        for g in raw
    )


def _prerequisites(course: models.Course, course_code: dict[str, int]):
    """S7: (course codes, how many must be completed), or None."""
    pre = course.prerequisites
    if pre is None:
        return None
    return (
        tuple(course_code[p] for p in pre.courses),
        pre.required if pre.required is not None else len(pre.courses),
    )


def _timeline(scenario: models.Scenario, learner_code: dict[str, int]) -> list[list[Step]]:
    """Learners joining after day 0 and the script's actions, grouped by day; at one
    instant joins come first, then actions in file order (S23)."""
    steps = [
        Step(ln.joined_day, None, learner_code[ln.id])
        for ln in scenario.learners
        if ln.joined_day > 0
    ]
    steps += [
        Step(scenario.script[i].day, i, scenario.script[i]) for i in script_order(scenario.script)
    ]
    steps.sort(key=lambda s: (s.day, s.script_index is not None))  # joins first
    timeline: list[list[Step]] = []
    for step in steps:
        if timeline and timeline[-1][0].day == step.day:
            timeline[-1].append(step)
        else:
            timeline.append([step])
    return timeline


def _expand_sessions(code: int, course: models.Course, horizon: float) -> list[Session]:
    """One-off sessions and recurring series, within the horizon, in day order (S30)."""
    days: list[tuple[float, int]] = []
    for spec in course.sessions or ():
        if spec.day is not None:
            days.append((spec.day, spec.capacity))
            continue
        first = spec.first_day or 0.0
        last = min(horizon, spec.until_day if spec.until_day is not None else horizon)
        k = 0
        while (day := whole_second(first + k * spec.every_days)) <= last:  # S1
            days.append((day, spec.capacity))
            k += 1
    days = [d for d in days if d[0] <= horizon]
    days.sort(key=lambda d: d[0])
    sessions, seen = [], {}
    for day, capacity in days:
        label = f"{course.id}@{day:g}"
        seen[label] = seen.get(label, 0) + 1
        sessions.append(
            Session(label if seen[label] == 1 else f"{label}#{seen[label]}", code, day, capacity)
        )
    return sessions
