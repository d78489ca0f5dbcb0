"""What a scenario's rule graph says is worth measuring: the learning path, the courses
that recertify, the members of each curriculum."""

from __future__ import annotations

from ..scenario import Scenario
from ..scenario.models import Enroll
from ..scenario.rules import Version, rule_versions


def _rules(scenario: Scenario) -> list[Version]:
    """Every version of every rule ever in force (S18): the catalog's, those the script
    adds and those its edits make."""
    return rule_versions(scenario)


def entry_courses(scenario: Scenario) -> list[str]:
    """Courses learners enter without a rule, in catalog order: enrolled by an
    administrator or by themselves in the script, on hire, or from the catalog
    (`population.self_enroll`)."""
    entered = {a.course for a in scenario.script if isinstance(a, Enroll)}
    if scenario.population is not None:
        entered |= {h.course for h in scenario.population.on_hire}
        entered |= {s.course for s in scenario.population.self_enroll}
    return [c.id for c in scenario.courses if c.id in entered]


def remediation_targets(scenario: Scenario) -> set[str]:
    """Courses a `failed` rule sends learners to."""
    return {t for v in _rules(scenario) if v.when == "failed" for t in v.targets}


MAX_PATH_WORK = 200_000  # steps of the longest-chain search (counted as path length)


def learning_path(scenario: Scenario) -> list[str]:
    """The longest chain of `completed` rules (A -> B -> C ...) that starts where learners
    enter (`entry_courses`), never at a remediation target; without entries in the
    scenario, from a course no rule leads to. Empty when no chain has two steps. A rule
    graph can have exponentially many chains: the search is bounded (`MAX_PATH_WORK`), and
    depth first, so past the bound the answer is the longest chain found by then."""
    edges: dict[str, list[str]] = {}
    for v in _rules(scenario):
        if v.when == "completed":
            nexts = edges.setdefault(v.source, [])
            nexts += [t for t in v.targets if t != v.source and t not in nexts]
    remedial = remediation_targets(scenario)
    targets = {t for v in _rules(scenario) for t in v.targets}
    starts = [c for c in entry_courses(scenario) if c not in remedial and c in edges]
    if not starts:
        starts = [c for c in edges if c not in targets and c not in remedial]
    best: list[str] = []
    spent = 0
    for start in starts:
        stack = [[start]]
        while stack and spent < MAX_PATH_WORK:
            path = stack.pop()
            spent += len(path)
            on = set(path)
            nexts = [t for t in edges.get(path[-1], []) if t not in on]
            if not nexts and len(path) > len(best):
                best = path
            stack.extend([*path, t] for t in reversed(nexts))
    return best if len(best) >= 2 else []


def recertifications(scenario: Scenario) -> dict[str, float]:
    """Courses re-enrolled by their own `completed` rule with consecutive on: course ->
    recertification interval in days (the validity of a completion)."""
    found = {}
    for v in _rules(scenario):
        if (
            v.when == "completed"
            and v.consecutive
            and v.source in v.targets
            and v.delay
            and v.source not in found
        ):
            found[v.source] = float(v.delay)
    return found


def validity_of(scenarios: list[Scenario]) -> dict[str, float]:
    """The recertification intervals of runs compared side by side: the first scenario's,
    and a course only a later one recertifies at that one's interval."""
    validity: dict[str, float] = {}
    for scenario in scenarios:
        for course, days in recertifications(scenario).items():
            validity.setdefault(course, days)
    return validity


def curricula(scenario: Scenario) -> dict[str, list[str]]:
    """Each curriculum's member courses (of every group)."""
    out = {}
    for course in scenario.courses:
        if course.type == "curriculum":
            members = list(course.members or [])
            for group in course.groups or []:
                members += [m for m in group.courses if m not in members]
            out[course.id] = members
    return out


def check_path(scenario: Scenario, path: list[str]) -> list[str]:
    """A path given by hand, checked against the catalog (ValueError names the problem)."""
    path = [p.strip() for p in path if p.strip()]
    ids = {c.id for c in scenario.courses}
    unknown = [p for p in path if p not in ids]
    if unknown:
        raise ValueError(f"path: no course {unknown[0]!r} in the scenario")
    if not path:
        raise ValueError("path: give at least one course")
    if len(set(path)) != len(path):
        raise ValueError("path: a course appears twice")
    return path
