"""Rule-graph problems found without running: rules that can never act, cycles, dead ends."""

from __future__ import annotations

from .scenario import Scenario, models
from .scenario.checks import default_rule_id
from .scenario.errors import Problem


def _rules(scenario: Scenario):
    """Every rule with its id, source course and YAML path (configured and script-added)."""
    for i, course in enumerate(scenario.courses):
        for j, rule in enumerate(course.post_enrollments):
            yield (
                rule.id or default_rule_id(course.id, j + 1),
                course.id,
                rule,
                ("courses", i, "post_enrollments", j),
            )
    counts = {c.id: len(c.post_enrollments) for c in scenario.courses}
    for i, action in sorted(enumerate(scenario.script), key=lambda p: (p[1].day, p[0])):
        if isinstance(action, models.AddRule):
            counts[action.course] += 1
            rule_id = action.rule.id or default_rule_id(action.course, counts[action.course])
            yield rule_id, action.course, action.rule, ("script", i, "rule")


def lint(scenario: Scenario) -> list[Problem]:
    origin = scenario.origin
    file = origin.file if origin else "<scenario>"
    found: list[Problem] = []

    def warn(path, message):
        line = origin.line_of(path) if origin else None
        found.append(Problem(file, line, path, f"warning: {message}"))

    activated = {a.course for a in scenario.script if isinstance(a, models.ActivateCourse)}
    inactive = {c.id for c in scenario.courses if not c.active} - activated
    prerequisites = {c.id for c in scenario.courses if c.prerequisites is not None}
    edges: dict[str, set[str]] = {}
    for rule_id, source, rule, path in _rules(scenario):
        for k, target in enumerate(rule.courses):
            tpath = (*path, "courses", k)
            if target == source and rule.when == "enrolled":
                warn(
                    tpath,
                    f"rule {rule_id} enrolls into its own course when enrolled: the new enrollment is "
                    "always open, so the job is always skipped_already_enrolled (S19.2)",
                )
            if target == source and rule.when == "completed" and not rule.allow_consecutive:
                warn(
                    tpath,
                    f"rule {rule_id} re-enrolls into '{source}' after completing it but allow_consecutive "
                    "is off: it is always skipped_already_completed (S19.3); turn it on for recertification (S20)",
                )
            if target in inactive:
                warn(
                    tpath,
                    f"rule {rule_id} targets inactive course '{target}', never activated in the script: "
                    "learners get enrollments they cannot see (S21)",
                )
            if target in prerequisites:
                warn(
                    tpath,
                    f"rule {rule_id} enrolls into '{target}', which has prerequisites: post enrollment "
                    "bypasses them (S16)",
                )
            if rule.delay_days == 0 and rule.when == "enrolled":
                edges.setdefault(source, set()).add(target)
    for cycle in _cycles(edges):
        warn(
            ("courses",),
            "delay-0 `enrolled` rules form a cycle "
            + " -> ".join([*cycle, cycle[0]])
            + ": it stops only because open enrollments are skipped (S19.2); check it is intended",
        )
    return found


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Simple cycles, each reported once from its smallest node (graphs here are small)."""
    cycles = []
    for start in sorted(edges):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(edges.get(node, ())):
                if nxt == start and len(path) > 1:
                    cycles.append(path)
                elif nxt not in path and nxt > start:
                    stack.append((nxt, [*path, nxt]))
    return cycles
