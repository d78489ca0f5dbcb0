"""Compile a validated Scenario into integer-coded tables the engine works on.

Learners, courses and rules become dense int codes; the script becomes a timeline in
the order S23 runs it. Nothing here changes during a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from ..columns import COURSE_TYPE_CODE, LEARNING_TYPES, TRIGGER_CODE
from ..scenario import models
from ..scenario.rules import scenario_rules, script_order
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


@dataclass
class Plan:
    scenario: models.Scenario
    learner_ids: list[str]
    course_ids: list[str]
    course_types: list[int]
    allow_failure: list[bool]
    active: list[bool]
    prerequisites: list[tuple[tuple[int, ...], int] | None]
    groups: list[
        tuple[tuple[tuple[int, ...], int], ...]
    ]  # curricula: (members, required) per group
    bundle_members: list[list[int]]
    curricula_of: list[tuple[int, ...]]  # course -> curricula holding it
    rule_ids: list[str]
    initial_rules: list[RuleVersion]
    added_rule_ids: dict[int, int] = field(default_factory=dict)  # script index -> rule code
    timeline: list[list[Step]] = field(default_factory=list)  # grouped by day, in S23 order
    initial_learners: list[int] = field(default_factory=list)
    behaviour: list[Behaviour | None] = field(default_factory=list)  # own, or default_behaviour
    sessions: list[list[Session]] = field(default_factory=list)  # ilc: by day (S30)
    course_code: dict[str, int] = field(default_factory=dict, repr=False)
    learner_code: dict[str, int] = field(default_factory=dict, repr=False)
    rule_code: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def n_courses(self) -> int:
        return len(self.course_ids)

    def course(self, course_id: str) -> int:
        return self.course_code[course_id]

    def learner(self, learner_id: str) -> int:
        return self.learner_code[learner_id]

    def rule(self, rule_id: str) -> int:
        return self.rule_code[rule_id]

    def version(
        self,
        rule: int,
        source: int,
        spec: models.Rule | models.RuleEdit,
        base: RuleVersion | None = None,
    ) -> RuleVersion:
        """A new snapshot of rule `rule`: `spec`'s fields over `base` (for edits)."""
        when = spec.when if spec.when is not None else None
        return RuleVersion(
            rule=rule,
            source=source,
            when=TRIGGER_CODE[when] if when is not None else base.when,
            delay=spec.delay_days if spec.delay_days is not None else base.delay,
            targets=tuple(self.course(c) for c in spec.courses)
            if spec.courses is not None
            else base.targets,
            consecutive=spec.allow_consecutive
            if spec.allow_consecutive is not None
            else base.consecutive,
        )


def compile_plan(scenario: models.Scenario) -> Plan:
    course_ids = [c.id for c in scenario.courses]
    course_code = {cid: i for i, cid in enumerate(course_ids)}
    learner_ids = [learner.id for learner in scenario.learners]
    learner_ids += [a.learner for a in scenario.script if isinstance(a, models.AddLearner)]
    learner_code = {lid: i for i, lid in enumerate(learner_ids)}

    # S12: rule ids, defaults numbered per course in file order, continued by add_rule.
    rule_ids: list[str] = []
    rule_specs: list[tuple[str, models.Rule]] = []
    added_rule_ids: dict[int, int] = {}
    for rule_id, source, rule, script_index, _ in scenario_rules(scenario):
        if script_index is None:
            rule_specs.append((source, rule))
        else:
            added_rule_ids[script_index] = len(rule_ids)
        rule_ids.append(rule_id)
    order = script_order(scenario.script)

    groups = []
    for course in scenario.courses:
        if course.type != "curriculum":
            groups.append(())
            continue
        raw_groups = (
            [models.Group(courses=course.members)] if course.members is not None else course.groups
        )
        groups.append(
            tuple(
                (
                    tuple(course_code[m] for m in g.courses),
                    g.required if g.required is not None else len(g.courses),
                )
                for g in raw_groups
            )
        )
    curricula_of: list[list[int]] = [[] for _ in course_ids]
    for cur, cur_groups in enumerate(groups):
        for members, _ in cur_groups:
            for member in members:
                if cur not in curricula_of[member]:
                    curricula_of[member].append(cur)

    plan = Plan(
        scenario=scenario,
        learner_ids=learner_ids,
        course_ids=course_ids,
        course_types=[TYPE_CODE[c.type] for c in scenario.courses],
        allow_failure=[c.allow_failure for c in scenario.courses],
        active=[c.active for c in scenario.courses],
        prerequisites=[
            (
                tuple(course_code[p] for p in c.prerequisites.courses),
                c.prerequisites.required
                if c.prerequisites.required is not None
                else len(c.prerequisites.courses),
            )
            if c.prerequisites is not None
            else None
            for c in scenario.courses
        ],
        groups=groups,
        bundle_members=[
            [course_code[m] for m in (c.members or ())] if c.type == "bundle" else []
            for c in scenario.courses
        ],
        curricula_of=[tuple(x) for x in curricula_of],
        rule_ids=rule_ids,
        initial_rules=[],
        added_rule_ids=added_rule_ids,
    )
    plan.course_code = course_code
    plan.learner_code = learner_code
    plan.rule_code = {rid: i for i, rid in enumerate(rule_ids)}
    plan.initial_rules = [
        plan.version(code, course_code[source], spec)
        for code, (source, spec) in enumerate(rule_specs)
    ]

    # The timeline: learners joining after day 0, then script actions; at one instant
    # joins come first, then actions in file order (S23).
    steps = [
        Step(ln.joined_day, None, learner_code[ln.id])
        for ln in scenario.learners
        if ln.joined_day > 0
    ]
    steps += [Step(scenario.script[i].day, i, scenario.script[i]) for i in order]
    steps.sort(key=lambda s: (s.day, s.script_index is not None))  # joins first
    plan.initial_learners = [learner_code[ln.id] for ln in scenario.learners if ln.joined_day == 0]
    timeline: list[list[Step]] = []
    for step in steps:
        if timeline and timeline[-1][0].day == step.day:
            timeline[-1].append(step)
        else:
            timeline.append([step])
    plan.timeline = timeline
    default = scenario.default_behaviour
    plan.behaviour = [
        c.behaviour if c.behaviour is not None else (default if c.type in LEARNING_TYPES else None)
        for c in scenario.courses
    ]
    plan.sessions = [
        _expand_sessions(course_code[c.id], c, scenario.horizon_days) for c in scenario.courses
    ]
    return plan


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
        while (day := first + k * spec.every_days) <= last:
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
