"""What differs between two scenarios, for `postenroll-sim compare` (docs/designer-tools.md).

A what-if compares two rule sets on the same organisation. What must be the same, or
the comparison means nothing: the course catalog (ids and types), the horizon, the
start date, the population (scripted learners, hires, attrition, where they enter),
what the script makes learners do, and the seed (or one given with `--seed`), so that
both runs draw from the same named random streams. What may differ, and is said in
plain words because it is the point of the comparison: the rules, the script's rule
changes, behaviour, the other course settings (active, allow_failure, prerequisites,
members, sessions; certificates, due dates and re-enrollment, S31-S36, which act like
rules), the script's course and bundle changes, and how jobs are processed.
Names, descriptions, `expect` blocks and `lint` marks are not compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import formatting as F
from .actions import actions_where
from .models import Scenario
from .rules import scenario_rules

# What the script does to learners (their enrollments, who they are) must be the same in
# both; what it does to rules and courses is what a comparison is about. By the kind each
# action declares (scenario/actions.py), so a new action is never left out.
SAME_SCRIPT = {"acts_on": "learner"}
CHANGED_SCRIPT = ({"acts_on": "rule"}, "rule change"), ({"acts_on": "course"}, "course change")
RULE_FIELDS = ("when", "delay_days", "courses", "allow_consecutive")
COURSE_SETTINGS = (
    "active",
    "allow_failure",
    "prerequisites",
    "members",
    "groups",
    "sessions",
    "certificate",  # S31-S34, S36: validity and re-enrollment act like rules
    "due_after",  # S35
    "renewal_due",
)


@dataclass
class ScenarioDiff:
    """`blocking`: why the two cannot be compared (empty when they can); `changes`: what
    differs between them that a comparison is about, one plain sentence each."""

    blocking: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)


def draws_nothing_at_random(scenario: Scenario) -> bool:
    """True when a run of `scenario` draws no random number: no population and no
    behaviour, so learners do only what the script says and every replication is the same."""
    return (
        scenario.population is None
        and scenario.default_behaviour is None
        and all(course.behaviour is None for course in scenario.courses)
    )


def value_text(value: Any) -> str:
    """A value as a scenario file would write it: true, 7, [A, B], {dist: gamma, mean: 2}."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        items = [f"{k}: {value_text(v)}" for k, v in value.items() if v is not None]
        return "{" + ", ".join(items) + "}"
    return str(value)


def _differences(a: Any, b: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(key, value in a, value in b) for every leaf that differs; a distribution is one leaf."""
    leaf = not (isinstance(a, dict) and isinstance(b, dict)) or "dist" in a or "dist" in b
    if leaf:
        return [] if a == b else [(prefix, a, b)]
    out = []
    for key in dict.fromkeys([*a, *b]):
        out += _differences(a.get(key), b.get(key), f"{prefix}.{key}" if prefix else str(key))
    return out


def _changes(a: Any, b: Any, prefix: str = "") -> list[str]:
    """'key a -> b' for every leaf that differs."""
    return [
        f"{key + ' ' if key else ''}{value_text(x)} -> {value_text(y)}"
        for key, x, y in _differences(a, b, prefix)
    ]


def _few(items: list[str], most: int = 4) -> str:
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True) if model is not None else None


def _action_text(action: Any) -> str:
    data = _dump(action)
    day = data.pop("day")
    kind = data.pop("action")
    data.pop("lint", None)
    details = ", ".join(f"{k} {value_text(v)}" for k, v in data.items() if v is not None)
    return f"day {value_text(float(day))} {kind}" + (f" ({details})" if details else "")


def _script(scenario: Scenario, kinds: tuple[type, ...]) -> list[tuple[int, Any]]:
    return [(i, a) for i, a in enumerate(scenario.script) if isinstance(a, kinds)]


def _where(scenario: Scenario, name: str, index: int) -> str:
    origin = scenario.origin
    line = origin.line_of(("script", index)) if origin is not None else None
    return f"{origin.file}:{line}" if line is not None else f"{name} script item {index + 1}"


def _one_sided(
    a: Scenario, b: Scenario, names: tuple[str, str], kinds: tuple[type, ...]
) -> list[tuple[str, str, str]]:
    """Script actions of `kinds` found in one file and not the other (counted, so a
    repeated action counts twice): (name of the file, where, description)."""
    found = []
    texts_a = [(_action_text(x), i) for i, x in _script(a, kinds)]
    texts_b = [(_action_text(x), i) for i, x in _script(b, kinds)]
    for mine, theirs, scenario, name in (
        (texts_a, texts_b, a, names[0]),
        (texts_b, texts_a, b, names[1]),
    ):
        left = [t for t, _ in theirs]
        for text, index in mine:
            if text in left:
                left.remove(text)
            else:
                found.append((name, _where(scenario, name, index), text))
    return found


def compare_scenarios(
    a: Scenario, b: Scenario, names: tuple[str, str] = ("A", "B"), seed_given: bool = False
) -> ScenarioDiff:
    """What blocks comparing `a` with `b`, and what differs between them (see the module)."""
    diff = ScenarioDiff()
    na, nb = names
    _blocking(a, b, na, nb, seed_given, diff.blocking)
    if diff.blocking:
        return diff
    _rules(a, b, na, nb, diff.changes)
    for kind, what in CHANGED_SCRIPT:
        for name, _, text in _one_sided(a, b, names, actions_where(**kind)):
            diff.changes.append(f"script {what} only in {name}: {text}")
    courses_b = {c.id: c for c in b.courses}
    for course in a.courses:
        other = courses_b[course.id]
        for change in _changes(_dump(course.behaviour), _dump(other.behaviour)):
            diff.changes.append(f"{course.id} behaviour: {change}")
        for key in COURSE_SETTINGS:
            for change in _changes(_plain(getattr(course, key)), _plain(getattr(other, key)), key):
                diff.changes.append(f"{course.id}: {change}")
    for change in _changes(_dump(a.default_behaviour), _dump(b.default_behaviour)):
        diff.changes.append(f"default_behaviour: {change}")
    for change in _changes(_dump(a.processing), _dump(b.processing), "processing"):
        diff.changes.append(change)
    return diff


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return _dump(value) if hasattr(value, "model_dump") else value


def _blocking(a: Scenario, b: Scenario, na: str, nb: str, seed_given: bool, out: list[str]) -> None:
    types_a = {c.id: c.type for c in a.courses}
    types_b = {c.id: c.type for c in b.courses}
    if types_a != types_b:
        parts = []
        only_a = [f"{c} ({t})" for c, t in types_a.items() if c not in types_b]
        only_b = [f"{c} ({t})" for c, t in types_b.items() if c not in types_a]
        if only_a:
            parts.append(f"only in {na}: {_few(only_a)}")
        if only_b:
            parts.append(f"only in {nb}: {_few(only_b)}")
        parts += [
            f"{c} is {t} in {na}, {types_b[c]} in {nb}"
            for c, t in types_a.items()
            if c in types_b and types_b[c] != t
        ]
        out.append("the course catalogs differ (" + "; ".join(parts) + ")")
    if a.horizon_days != b.horizon_days:
        out.append(
            f"the horizons differ ({F.days(a.horizon_days)} in {na}, {b.horizon_days:g} in {nb})"
        )
    if a.start_date != b.start_date:
        out.append(
            f"the start dates differ ({value_text(a.start_date)} in {na}, "
            f"{value_text(b.start_date)} in {nb})"
        )
    population = _differences(_dump(a.population), _dump(b.population), "population")
    if a.population is None or b.population is None:
        if population:
            out.append(f"only {na if b.population is None else nb} has a population")
    elif population:
        key, x, y = population[0]
        out.append(
            f"the populations differ ({key}: {value_text(x)} in {na}, {value_text(y)} in {nb})"
        )
    learners_a = [learner.id for learner in a.learners]
    learners_b = [learner.id for learner in b.learners]
    if [_dump(x) for x in a.learners] != [_dump(x) for x in b.learners]:
        only_a = [x for x in learners_a if x not in learners_b]
        only_b = [x for x in learners_b if x not in learners_a]
        detail = (
            ", ".join(
                ([f"only in {na}: {_few(only_a)}"] if only_a else [])
                + ([f"only in {nb}: {_few(only_b)}"] if only_b else [])
            )
            or "the same ids, other joined_day"
        )
        out.append(f"the learners differ ({detail})")
    actions = _one_sided(a, b, (na, nb), actions_where(**SAME_SCRIPT))
    if actions and not out:  # other learners, another catalog: their scripts differ anyway
        name, where, text = actions[0]
        more = f" and {len(actions) - 1} more" if len(actions) > 1 else ""
        out.append(
            f"the scripts differ in what learners do ({where}: {text} is only in {name}{more})"
        )
    if not seed_given and a.seed != b.seed and not out:  # the least of the differences
        out.append(
            f"the seeds differ ({a.seed} in {na}, {b.seed} in {nb}): common random numbers "
            "need one seed; make them equal or pass --seed"
        )


def _rules(a: Scenario, b: Scenario, na: str, nb: str, out: list[str]) -> None:
    """The catalog's rules (not those the script adds) by id."""

    def catalog_rules(scenario: Scenario) -> dict[str, dict[str, Any]]:
        return {
            rule_id: {"on": source, **{k: _plain(getattr(rule, k)) for k in RULE_FIELDS}}
            for rule_id, source, rule, index, _ in scenario_rules(scenario)
            if index is None
        }

    rules_a, rules_b = catalog_rules(a), catalog_rules(b)
    for rule_id, rule in rules_a.items():
        if rule_id not in rules_b:
            out.append(f"rule {rule_id} on {rule['on']}: only in {na}")
            continue
        for change in _changes(rule, rules_b[rule_id]):
            out.append(f"rule {rule_id}: {change}")
    for rule_id, rule in rules_b.items():
        if rule_id not in rules_a:
            out.append(f"rule {rule_id} on {rule['on']}: only in {nb}")
