"""Cross-checks of a scenario: everything that relates one item to another.

Runs on the plain YAML data even when some items failed their shape check, validating
each item on its own, so one bad course does not hide the mistakes elsewhere.
Each check names the S-rule it enforces.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..columns import (
    CERTIFICATE_COLUMNS,
    COURSE_TYPES,
    ENROLLMENT_COLUMNS,
    EVENT_COLUMNS,
    EVENTS,
    EXPECT_ALIASES,
    JOB_COLUMNS,
    JOB_KINDS,
    JOB_TRIGGERS,
    LEARNING_TYPES,
    METHODS,
    OUTCOMES,
    SOURCES,
    STATUSES,
    column_kind,
    is_day_column,
    timestamp_twin,
)
from ..formatting import instant
from . import models, stochastic
from .base import FIRST_DATE, LAST_DATE, MAX_DAYS, MAX_LEARNERS, MAX_SESSIONS
from .dates import start_of
from .errors import Path
from .limits import expected_hires, session_count
from .rules import RuleNumbering, default_rule_id  # noqa: F401 - default_rule_id re-exported

Found = list[tuple[Path, str]]

_ACTION = TypeAdapter(models.ScriptAction)
_LEARNER = TypeAdapter(models.LearnerItem)
COURSE_KINDS = LEARNING_TYPES  # what curricula and bundles may hold


def _valid(adapter_or_model: Any, value: Any) -> Any:
    try:
        if isinstance(adapter_or_model, TypeAdapter):
            return adapter_or_model.validate_python(value)
        return adapter_or_model.model_validate(value)
    except ValidationError:
        return None


def _raw_id(item: Any) -> str | None:
    value = item.get("id") if isinstance(item, dict) else item
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    return None


@dataclass
class _Catalog:
    types: dict[str, str | None] = field(default_factory=dict)  # None: type itself invalid
    allow_failure: dict[str, bool] = field(default_factory=dict)
    bundle_members: dict[str, list[str]] = field(default_factory=dict)


# "Did you mean" hints compare a name with every candidate (difflib): a file with
# thousands of unknown ids among thousands of known ones would take minutes. The hints of
# one file share a budget of comparisons; past it, problems are reported without a hint.
HINT_BUDGET = 100_000  # about 0.3 s of difflib
_hint_budget: ContextVar[list[int] | None] = ContextVar("hint_budget", default=None)


@contextmanager
def hint_budget() -> Iterator[None]:
    """Hints within this block share one budget (the outermost block's)."""
    token = _hint_budget.set([HINT_BUDGET]) if _hint_budget.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _hint_budget.reset(token)


def close_match(value: str, candidates: Collection[Any], cutoff: float = 0.6) -> str | None:
    """The candidate most like `value`, while the budget of hints lasts."""
    left = _hint_budget.get() or [HINT_BUDGET]
    if left[0] < len(candidates) or not candidates:
        return None
    left[0] -= len(candidates)
    close = difflib.get_close_matches(value, [str(c) for c in candidates], n=1, cutoff=cutoff)
    return close[0] if close else None


# The scenario's start_date while it is checked: messages then name instants by their
# date, as every tool does (formatting.instant).
_calendar: ContextVar[dt.date | None] = ContextVar("calendar", default=None)


def check_scenario(data: dict) -> Found:
    start = start_of(data)
    token = _calendar.set(start if isinstance(start, dt.date) else None)
    try:
        with hint_budget():
            return _check_scenario(data)
    finally:
        _calendar.reset(token)


def _check_scenario(data: dict) -> Found:
    found: Found = []
    catalog = _check_courses(data.get("courses"), found)
    numbering = RuleNumbering()  # S12, continued by the script's add_rule
    rule_ids = _check_rules(data.get("courses"), catalog, numbering, found)
    learners = _check_learners(data.get("learners"), found)
    script_learners, script_rules = _check_script(
        data, catalog, learners, rule_ids, numbering, found
    )
    dated = data.get("start_date") is not None  # the tables have `*_at` columns
    if not dated:
        _check_calendar_periods(data.get("courses"), found)
    # a warm start's learners are the history's: its expectations may name any (S39)
    expected_learners = None if isinstance(data.get("initial_state"), dict) else script_learners
    _check_expect(data.get("expect"), catalog, expected_learners, script_rules, dated, found)
    _check_population(data.get("population"), catalog, script_learners, found)
    _check_behaviour(data.get("default_behaviour"), ("default_behaviour",), None, found)
    _check_initial_state(data, found)
    _check_limits(data, found)
    return found


def _check_initial_state(data: dict, found: Found) -> None:
    """S39: a warm start cuts its history at day 0, the scenario's `start_date`; the
    history's learners are the organisation then, so no headcount is generated beside them."""
    state = data.get("initial_state")
    if not isinstance(state, dict):
        return
    if data.get("start_date") is None:
        found.append(
            (
                ("initial_state",),
                "an initial state needs a start_date: day 0 is the date the history is cut "
                "at (S39)",
            )
        )
    population = data.get("population")
    initial = population.get("initial") if isinstance(population, dict) else None
    if isinstance(initial, int) and not isinstance(initial, bool) and initial > 0:
        found.append(
            (
                ("population", "initial"),
                "with initial_state the history's learners are the organisation at day 0 "
                "(S40): remove population.initial (hires and attrition still apply)",
            )
        )


def _check_limits(data: dict, found: Found) -> None:
    """Hard limits that depend on the horizon: calendar dates, sessions, learners."""
    horizon = data.get("horizon_days")
    if (
        isinstance(horizon, bool)
        or not isinstance(horizon, int | float)
        or not 0 < horizon <= MAX_DAYS
    ):
        return  # the shape check reports it
    start = data.get("start_date")
    end = LAST_DATE + dt.timedelta(days=1)  # midnight after the last start date
    if (
        isinstance(start, dt.date)
        and FIRST_DATE <= start <= LAST_DATE
        and start.toordinal() + horizon > end.toordinal()
    ):
        found.append(
            (
                ("start_date",),
                f"the run would end after {end} ({start} + {_day(horizon)} days): "
                "the timestamps of the tables cannot go further",
            )
        )
    total = 0
    courses = data.get("courses") if isinstance(data.get("courses"), list) else []
    for index, course in enumerate(courses):
        sessions = course.get("sessions") if isinstance(course, dict) else None
        for k, item in enumerate(sessions if isinstance(sessions, list) else []):
            spec = _valid(stochastic.SessionSpec, item)
            if spec is None:
                continue
            count = session_count(spec, horizon)
            total += count
            if total > MAX_SESSIONS:
                found.append(
                    (
                        ("courses", index, "sessions", k),
                        f"{count:,} sessions within the horizon here, {total:,} so far: "
                        f"a scenario has at most {MAX_SESSIONS:,} ILC sessions",
                    )
                )
                break
        if total > MAX_SESSIONS:
            break
    population = data.get("population")
    spec = _valid(stochastic.Population, population) if isinstance(population, dict) else None
    if spec is not None:
        learners = spec.initial + expected_hires(spec.hires, horizon)
        if learners > MAX_LEARNERS:
            hires = expected_hires(spec.hires, horizon)
            found.append(
                (
                    ("population",),
                    f"about {learners:,.0f} learners ({spec.initial:,} initial, {hires:,.0f} "
                    f"hired over {_day(horizon)} days): the limit is {MAX_LEARNERS:,} in a run",
                )
            )


def _check_courses(raw: Any, found: Found) -> _Catalog:
    catalog = _Catalog()
    if not isinstance(raw, list):
        return catalog
    first_seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        course_id = _raw_id(item)
        if course_id is None:
            continue
        if course_id in first_seen:
            found.append(
                (
                    (("courses", index, "id")),
                    f"duplicate course id '{course_id}' (also courses.{first_seen[course_id]})",
                )
            )
            continue
        first_seen[course_id] = index
        kind = item.get("type") if isinstance(item, dict) else None
        catalog.types[course_id] = (
            kind if kind in ("online", "ilc", "curriculum", "bundle") else None
        )
        catalog.allow_failure[course_id] = (
            bool(item.get("allow_failure")) if isinstance(item, dict) else False
        )

    for index, item in enumerate(raw):
        course = _valid(models.Course, item)
        if course is None:
            continue
        here: Path = ("courses", index)
        kind = course.type
        if course.allow_failure and kind not in COURSE_KINDS:
            found.append(
                (
                    (*here, "allow_failure"),
                    f"allow_failure can be set on online and ilc courses only, not on a {kind} (S5)",
                )
            )
        if course.members is not None and kind in COURSE_KINDS:
            found.append(
                (
                    (*here, "members"),
                    f"only curricula and bundles have members; '{course.id}' is {kind}",
                )
            )
        if course.groups is not None and kind != "curriculum":
            found.append(
                ((*here, "groups"), f"only curricula have groups; '{course.id}' is {kind}")
            )
        if kind == "curriculum":
            if course.members is not None and course.groups is not None:
                found.append(((*here, "groups"), "give either members or groups, not both"))
            elif course.members is None and course.groups is None:
                found.append((here, f"curriculum '{course.id}' needs members or groups (S26)"))
            elif course.members is not None and not course.members:
                found.append(
                    ((*here, "members"), "a curriculum needs at least one member course (S26)")
                )
        if course.members is not None and kind in ("curriculum", "bundle"):
            _check_members(course.members, (*here, "members"), catalog, found, owner=kind)
            if kind == "bundle":
                catalog.bundle_members[course.id] = list(course.members)
        elif kind == "bundle":
            catalog.bundle_members[course.id] = []
        for g, group in enumerate(course.groups or ()):
            group_path = (*here, "groups", g)
            _check_members(
                group.courses, (*group_path, "courses"), catalog, found, owner="curriculum"
            )
            if group.required is not None and group.required > len(group.courses):
                found.append(
                    (
                        (*group_path, "required"),
                        f"requires {group.required} courses but the group has {len(group.courses)}",
                    )
                )
        if course.prerequisites is not None:
            pre = course.prerequisites
            pre_path = (*here, "prerequisites")
            for k, other in enumerate(pre.courses):
                if other == course.id:
                    found.append(
                        ((*pre_path, "courses", k), "a course cannot be its own prerequisite")
                    )
                elif other not in catalog.types:
                    found.append(
                        ((*pre_path, "courses", k), _unknown("course", other, catalog.types))
                    )
            if pre.required is not None and pre.required > len(pre.courses):
                found.append(
                    (
                        (*pre_path, "required"),
                        f"requires {pre.required} courses but lists {len(pre.courses)}",
                    )
                )
        if course.sessions is not None and kind != "ilc":
            found.append(
                (
                    (*here, "sessions"),
                    f"only ilc courses have sessions (S30); '{course.id}' is {kind}",
                )
            )
        if course.behaviour is not None:
            _check_behaviour(item.get("behaviour"), (*here, "behaviour"), course, found)
        _check_certificate(course, here, found)
    return catalog


def _check_calendar_periods(raw: Any, found: Found) -> None:
    """S31, S33: months, years and calendar days count from `start_date` (a scenario
    without one has days only)."""
    for index, item in enumerate(raw if isinstance(raw, list) else ()):
        course = _valid(models.Course, item)
        if course is None:
            continue
        keys = (
            [("certificate", key) for key in course.certificate.calendar_periods()]
            if (course.certificate is not None)
            else []
        )
        if course.due_after is not None and course.due_after.calendar:
            keys.append(("due_after",))
        for key in keys:
            found.append(
                (
                    ("courses", index, *key),
                    f"{key[-1]} counts in calendar {'days' if key[-1] == 'expires_on' else 'months or years'}: "
                    "give the scenario a start_date, or use {days: N} (S31)",
                )
            )


def _check_certificate(course: models.Course, here: Path, found: Found) -> None:
    """S31, S35: certificates and due dates on courses learners complete."""
    for key in ("certificate", "due_after"):
        if getattr(course, key) is not None and course.type == "bundle":
            found.append(
                (
                    (*here, key),
                    f"a bundle has no {key.replace('_', ' ')}: it is never completed (S27); "
                    "set it on its member courses",
                )
            )
    if course.renewal_due == "due_after" and course.due_after is None:
        found.append(
            ((*here, "renewal_due"), "renewal_due: due_after needs due_after on the course (S35)")
        )
    if course.renewal_due == "due_after" and (
        course.certificate is None or course.certificate.reenroll_before is None
    ):
        found.append(
            (
                (*here, "renewal_due"),
                "renewal_due is the due instant of re-enrollments: the course has no "
                "certificate with reenroll_before (S34, S35)",
            )
        )


def _check_behaviour(raw: Any, path: Path, course: models.Course | None, found: Found) -> None:
    """Behaviour keys must make sense for the course they describe (S5, S25, S27, S30)."""
    behaviour = _valid(stochastic.Behaviour, raw) if raw is not None else None
    if behaviour is None or course is None:  # default_behaviour applies where it fits
        return
    given = behaviour.model_dump(exclude_none=True)
    if course.type == "bundle":
        found.append((path, "a bundle has no behaviour: learners act in its member courses (S27)"))
    elif course.type == "curriculum":
        extra = sorted(set(given) - {"start_after_days"})
        if extra:
            found.append(
                (
                    (*path, extra[0]),
                    "on a curriculum, behaviour has only start_after_days: "
                    "the delay before learners self-enroll in its member courses (S25)",
                )
            )
    else:
        if "pass_rate" in given and not course.allow_failure:
            found.append(
                ((*path, "pass_rate"), f"pass_rate needs allow_failure: true on '{course.id}' (S5)")
            )
        if "no_show_rate" in given and course.type != "ilc":
            found.append(
                ((*path, "no_show_rate"), "no_show_rate applies to ilc courses only (S30)")
            )


def _check_population(raw: Any, catalog: _Catalog, named: set[str], found: Found) -> None:
    if not isinstance(raw, dict):
        return
    population = _valid(stochastic.Population, raw)
    if population is not None:
        generated = re.compile(rf"^{re.escape(population.id_prefix)}\d{{7}}$")
        clashes = sorted(learner for learner in named if generated.match(learner))
        if clashes:
            found.append(
                (
                    ("population", "id_prefix") if "id_prefix" in raw else ("population",),
                    f"named learner '{clashes[0]}' has the form of a generated id "
                    f"({population.id_prefix} and 7 digits); rename it or set population.id_prefix",
                )
            )
    models_of = {"on_hire": stochastic.OnHire, "self_enroll": stochastic.SelfEnroll}
    for key, model in models_of.items():
        entries = raw.get(key) if isinstance(raw.get(key), list) else []
        for index, item in enumerate(entries):
            entry = _valid(model, item)  # one by one: a mistake elsewhere hides none of these
            if entry is not None and entry.course not in catalog.types:
                found.append(
                    (
                        ("population", key, index, "course"),
                        _unknown("course", entry.course, catalog.types),
                    )
                )


def _check_members(
    members: list[str], path: Path, catalog: _Catalog, found: Found, owner: str
) -> None:
    for k, member in enumerate(members):
        if member not in catalog.types:
            found.append(((*path, k), _unknown("course", member, catalog.types)))
        elif catalog.types[member] not in COURSE_KINDS and catalog.types[member] is not None:
            found.append(
                (
                    (*path, k),
                    f"'{member}' is a {catalog.types[member]}; a {owner} holds online and ilc courses only",
                )
            )
    for member, n in Counter(members).items():
        if n > 1:
            found.append((path, f"'{member}' is listed {n} times"))


def _unknown(kind: str, value: str, known: Collection[Any]) -> str:
    close = close_match(value, known)
    hint = f" (did you mean '{close}'?)" if close else ""
    return f"unknown {kind} '{value}'{hint}"


def check_rule(
    rule: models.Rule | models.RuleEdit, source: str, path: Path, catalog: _Catalog, found: Found
) -> None:
    """S8-S10 for one rule (or the fields an edit sets) on course `source`."""
    kind = catalog.types.get(source)
    if rule.when == "failed":
        if kind == "curriculum":
            found.append(
                (
                    (*path, "when"),
                    f"a curriculum cannot fail, so '{source}' cannot have a `failed` rule (S9)",
                )
            )
        elif kind is not None and not catalog.allow_failure.get(source):
            found.append(
                ((*path, "when"), f"`when: failed` needs allow_failure: true on '{source}' (S9)")
            )
    for k, target in enumerate(rule.courses or ()):
        if target not in catalog.types:
            found.append(((*path, "courses", k), _unknown("course", target, catalog.types)))
    for target, n in Counter(rule.courses or ()).items():
        if n > 1:
            found.append(((*path, "courses"), f"'{target}' is listed {n} times"))


def _check_rules(
    raw: Any, catalog: _Catalog, numbering: RuleNumbering, found: Found
) -> dict[str, str]:
    """Every configured rule: S8 (not on bundles), S9, S10, S12 (unique ids). Returns id -> course."""
    rule_ids: dict[str, str] = {}
    if not isinstance(raw, list):
        return rule_ids
    for index, item in enumerate(raw):
        # Rules are checked one by one, so a mistake elsewhere in the course hides none of them.
        source = _raw_id(item)
        raw_rules = item.get("post_enrollments") if isinstance(item, dict) else None
        if source is None or not isinstance(raw_rules, list) or not raw_rules:
            continue
        here: Path = ("courses", index, "post_enrollments")
        if catalog.types.get(source) == "bundle":
            found.append((here, "Post Enrollment rules cannot be configured on a bundle (S8)"))
            continue
        for number, raw_rule in enumerate(raw_rules):
            rule = _valid(models.Rule, raw_rule)
            rule_id = numbering.next_id(source, rule.id if rule is not None else None)
            if rule is None:
                continue  # its own shape problems are reported by the models
            path = (*here, number)
            check_rule(rule, source, path, catalog, found)
            if rule_id in rule_ids:
                found.append(
                    ((*path, "id") if rule.id else path, f"duplicate rule id '{rule_id}' (S12)")
                )
            rule_ids[rule_id] = source
    return rule_ids


def _check_learners(raw: Any, found: Found) -> dict[str, float]:
    learners: dict[str, float] = {}
    if not isinstance(raw, list):
        return learners
    for index, item in enumerate(raw):
        learner = _valid(_LEARNER, item)
        if learner is None:
            continue
        if learner.id in learners:
            found.append((("learners", index), f"duplicate learner id '{learner.id}'"))
        else:
            learners[learner.id] = learner.joined_day
    return learners


class _ScriptWalk:
    """The state the script changes, as far as its static checks need it (the actions'
    `check` methods ask it: see actions.ScriptCheck). Walked in the order the script runs."""

    def __init__(
        self,
        catalog: _Catalog,
        learners: dict[str, float],
        rule_ids: dict[str, str],
        numbering: RuleNumbering,
        added_when: dict[str, tuple[float, int]],
        found: Found,
    ):
        self.catalog = catalog
        self.learners = learners  # declared: id -> joined_day
        self.added_when = added_when  # added by the script: id -> (day, script index)
        self.known_learners = set(learners) | set(added_when)  # for hints
        self.present = set(learners)
        self.removed: dict[str, float] = {}
        self.rules = dict(rule_ids)  # in force: id -> source course
        self.ever_rules = dict(rule_ids)
        self.removed_rules: dict[str, float] = {}
        self.numbering = numbering
        self.bundles = {b: list(members) for b, members in catalog.bundle_members.items()}
        self.found = found

    def problem(self, path: Path, message: str) -> None:
        self.found.append((path, message))

    def learner_ok(self, path: Path, learner: str, day: float) -> None:
        here = (*path, "learner")
        if learner in self.removed:
            self.problem(
                here, f"learner '{learner}' was removed on {_on(self.removed[learner])} (S29)"
            )
        elif learner in self.learners and self.learners[learner] > day:
            self.problem(here, f"learner '{learner}' joins on {_on(self.learners[learner])}")
        elif learner not in self.present:
            if learner in self.added_when:
                when, i = self.added_when[learner]
                self.problem(
                    here, f"learner '{learner}' is added later, on {_on(when)} (script.{i})"
                )
            else:
                self.problem(
                    here,
                    _unknown("learner", learner, self.known_learners)
                    + "; declare it in `learners` or add it with add_learner",
                )

    def course_kind(self, path: Path, key: str, course: str) -> str | None:
        if course not in self.catalog.types:
            self.problem((*path, key), _unknown("course", course, self.catalog.types))
            return None
        return self.catalog.types[course]

    def allows_failure(self, course: str) -> bool:
        return bool(self.catalog.allow_failure.get(course))

    def check_rule(self, rule: models.Rule | models.RuleEdit, source: str, path: Path) -> None:
        check_rule(rule, source, path, self.catalog, self.found)

    def add_rule(self, path: Path, course: str, rule: models.Rule) -> None:
        rule_id = self.numbering.next_id(course, rule.id)
        if rule_id in self.ever_rules:
            self.problem((*path, "rule", "id"), f"duplicate rule id '{rule_id}' (S12)")
        self.rules[rule_id] = self.ever_rules[rule_id] = course

    def rule_in_force(self, path: Path, rule: str) -> str | None:
        if rule in self.rules:
            return self.rules[rule]
        if rule in self.removed_rules:
            self.problem(
                (*path, "rule"),
                f"rule '{rule}' was removed on {_on(self.removed_rules[rule])}",
            )
        else:
            self.problem((*path, "rule"), _unknown("rule", rule, self.ever_rules))
        return None

    def remove_rule(self, rule: str, day: float) -> None:
        self.removed_rules[rule] = day
        del self.rules[rule]

    def bundle_members(self, path: Path, bundle: str) -> list[str] | None:
        kind = self.course_kind(path, "bundle", bundle)
        if kind is not None and kind != "bundle":
            self.problem((*path, "bundle"), f"'{bundle}' is a {kind}, not a bundle")
            return None
        return self.bundles.get(bundle) if kind == "bundle" else None

    def add_learner(self, path: Path, learner: str) -> None:
        if learner in self.learners or learner in self.present:
            self.problem((*path, "learner"), f"learner '{learner}' already exists")
        self.present.add(learner)

    def remove_learner(self, learner: str, day: float) -> None:
        self.removed.setdefault(learner, day)


def _check_script(
    data: dict,
    catalog: _Catalog,
    learners: dict[str, float],
    rule_ids: dict[str, str],
    numbering: RuleNumbering,
    found: Found,
) -> tuple[set[str], set[str]]:
    """Walk the script in the order it runs (day, then file order: S23) with a small model of
    the state it changes, so misuse is reported statically with the action's own line. Each
    action checks itself (actions.py); this only orders them and holds the state."""
    raw = data.get("script")
    if not isinstance(raw, list):
        return set(learners), set(rule_ids)
    horizon = data.get("horizon_days")
    horizon = (
        horizon if isinstance(horizon, int | float) and not isinstance(horizon, bool) else None
    )
    actions = [(index, _valid(_ACTION, item)) for index, item in enumerate(raw)]
    actions = sorted(
        ((i, a) for i, a in actions if a is not None), key=lambda pair: (pair[1].day, pair[0])
    )
    added_when = {a.learner: (a.day, i) for i, a in actions if isinstance(a, models.AddLearner)}
    walk = _ScriptWalk(catalog, learners, rule_ids, numbering, added_when, found)
    warm = isinstance(data.get("initial_state"), dict)
    for index, action in actions:
        path: Path = ("script", index)
        if action.day < 0 and not warm:
            walk.problem(
                (*path, "day"),
                f"day {_day(action.day)} is before day 0: only a scenario with initial_state "
                "replays script steps before day 0 (S39)",
            )
            continue  # (what else it says depends on a day it cannot have)
        if action.day < 0 and action.changes == "enrollments":
            walk.problem(
                (*path, "day"),
                f"day {_day(action.day)} is before day 0, where the history says what learners "
                f"did: {action.action} is a learner action; only rule and catalog changes are "
                "replayed before day 0 (S39)",
            )
            continue
        if horizon is not None and action.day > horizon:
            walk.problem(
                (*path, "day"),
                f"{_on(action.day)} is after the horizon "
                + (f"({_day(horizon)})" if _calendar.get() is None else f"of {_on(horizon)}"),
            )
        action.check(walk, path)
    return set(learners) | set(added_when), set(walk.ever_rules)


# The fixed vocabularies of the tables' categorical columns: a value outside is a typo.
VOCABULARIES = {
    "method": METHODS,
    "status": STATUSES,
    "course_type": COURSE_TYPES,
    "trigger": JOB_TRIGGERS,
    "kind": JOB_KINDS,
    "source": SOURCES,
    "outcome": OUTCOMES,
    "event": EVENTS,
}
_EXPECT_COLUMNS = {
    "enrollment": ENROLLMENT_COLUMNS,
    "job": JOB_COLUMNS,
    "event": EVENT_COLUMNS,
    "certificate": CERTIFICATE_COLUMNS,
}


def expect_fields(kind: str) -> list[str]:
    """The field names an `enrollment:`, `job:` or `event:` item may use: every column of
    its table (the `*_at` twins included), and the short names."""
    columns = _EXPECT_COLUMNS[kind]
    aliases = {k for k, c in EXPECT_ALIASES.items() if c in columns}
    if kind != "job":
        aliases.discard("target")  # target_course_id is a job column only
    twins = {timestamp_twin(c) for c in columns if is_day_column(c)}
    return sorted(set(columns) | aliases | twins)


def expect_moment(value: Any) -> dt.date | dt.datetime | None:
    """The date or date-time an expectation gives for a `*_at` column (YAML's own dates,
    or ISO text such as `2025-01-15 10:00`); None if it is neither. A date-time is the
    wall clock of the tables: no time zone."""
    if isinstance(value, dt.date):
        moment: dt.date | dt.datetime = value
    elif isinstance(value, str):
        try:
            moment = (
                dt.date.fromisoformat(value)
                if len(value) == 10
                else dt.datetime.fromisoformat(value)
            )
        except ValueError:
            return None
    else:
        return None
    if isinstance(moment, dt.datetime) and moment.tzinfo is not None:
        return None
    return moment


def _value_problem(column: str, value: Any, dated: bool) -> str | None:
    """What is wrong with the type of an expectation's value for `column`, or None: a
    value that can never match is an error, not a vacuous `count: 0` pass."""
    kind = column_kind(column)
    if kind == "timestamp" and not dated:
        return (
            f"the tables have `{column}` only with a start_date; "
            "give the scenario one, or match the day column"
        )
    if value is None:
        return None
    shown = repr(value) if not isinstance(value, dict | list) else "a mapping or list"
    if kind == "day" and not (isinstance(value, int | float) and not isinstance(value, bool)):
        return f"must be a number of days (or null), got {shown}"
    if kind == "timestamp" and expect_moment(value) is None:
        return (
            "must be a date (2025-01-15) or a date-time without a time zone "
            f"(2025-01-15 10:00), got {shown}"
        )
    if kind == "number" and not (isinstance(value, int) and not isinstance(value, bool)):
        return f"must be a whole number (or null), got {shown}"
    if kind == "text" and not isinstance(value, str | int | float):
        return f"must be a single value, got {shown}"
    return None


def _check_expect(
    raw: Any,
    catalog: _Catalog,
    learners: set[str] | None,
    rules: set[str],
    dated: bool,
    found: Found,
) -> None:
    if isinstance(raw, dict) and isinstance(raw.get("items"), list):
        raw, prefix = raw["items"], ("expect", "items")
    elif isinstance(raw, list):
        prefix = ("expect",)
    else:
        return
    for index, item in enumerate(raw):
        # Checked on the plain data: a bad `count` does not hide a misspelled field.
        kind = (
            next((k for k in models.EXPECT_KINDS[:3] if k in item), None)
            if isinstance(item, dict)
            else None
        )
        if kind is None or not isinstance(item[kind], dict):
            continue
        here: Path = (*prefix, index)
        names = expect_fields(kind)
        for key, value in item[kind].items():
            path: Path = (*here, kind, key)
            if key not in names:
                close = close_match(str(key), names)
                hint = f" (did you mean '{close}'?)" if close else ""
                found.append(
                    (
                        path,
                        f"unknown field '{key}' for {kind} rows{hint}; "
                        f"fields are: {', '.join(names)}",
                    )
                )
                continue
            column = EXPECT_ALIASES.get(key, key)
            problem = _value_problem(column, value, dated)
            if problem is not None:
                found.append((path, problem))
                continue
            if value is None:
                continue
            if column == "learner_id" and learners is not None and str(value) not in learners:
                found.append((path, _unknown("learner", str(value), learners)))
            elif (
                column in ("course_id", "target_course_id", "source_course_id")
                and str(value) not in catalog.types
            ):
                found.append((path, _unknown("course", str(value), catalog.types)))
            elif column == "rule_id" and str(value) not in rules:
                found.append((path, _unknown("rule", str(value), rules)))
            elif column in VOCABULARIES and str(value) not in VOCABULARIES[column]:
                found.append((path, _unknown_value(column, value, VOCABULARIES[column])))


def _unknown_value(column: str, value: Any, vocabulary: tuple[str, ...]) -> str:
    """`unknown outcome 'enroled' (did you mean 'enrolled'?)`, or the values to choose from."""
    text = str(value)
    close = close_match(text, vocabulary)
    if close:
        return f"unknown {column.replace('_', ' ')} '{text}' (did you mean '{close}'?)"
    return f"unknown {column.replace('_', ' ')} '{text}'; the values are: {', '.join(vocabulary)}"


def _on(value: float) -> str:
    """`day 5`, or with a calendar `2027-01-09 (day 5)`."""
    start = _calendar.get()
    return f"day {_day(value)}" if start is None else instant(value, start)


def _day(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
