"""`behaviour_from: FILE`: behaviour and population rates kept in a file of their own (the
fragment `postenroll-sim calibrate` writes; docs/calibrate.md).

    courses:
      SAFE-101:                       # a course of the scenario's catalog
        start_after_days: {dist: lognormal, median: 3.1, sigma: 0.79}
        duration_days: {dist: gamma, mean: 6.0, cv: 0.51}
        pass_rate: 0.79
        abandon_rate: 0.09
    population:
      hires: {per_day: 1.97}
      attrition: {annual_rate: 0.148}

Precedence, key by key: what the scenario writes wins. A course's `behaviour` key in the
scenario is kept, and each key it does not give comes from the fragment; a course the
fragment does not name keeps its own behaviour (or `default_behaviour`). The fragment's
`hires` and `attrition` fill those the scenario's `population` does not give; a
scenario without a `population` block takes none of them (write `population: {}`).
The fragment's problems are located in it (`FRAGMENT:LINE: path: message`): unknown
keys, bad values, a course not in the catalog, a key the course cannot have (S5, S25,
S27, S30).
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError

from .base import Id, Spec
from .errors import Origin, Problem, ScenarioError
from .stochastic import Attrition, Behaviour, Hires

BEHAVIOUR_KEYS = tuple(Behaviour.model_fields)


def _mapping(value: Any) -> Any:
    return {} if value is None else value


class FragmentPopulation(Spec):
    hires: Hires | None = None
    attrition: Attrition | None = None


class BehaviourFragment(Spec):
    """A `behaviour_from` file: behaviours by course id, and population rates."""

    courses: Annotated[dict[Id, Behaviour], BeforeValidator(_mapping)] = {}
    population: FragmentPopulation | None = None


def fragment_path(scenario_file: str, given: str) -> FsPath:
    """The fragment's path: relative to the scenario's folder (a scenario read from text,
    `<scenario>`, to the current one)."""
    path = FsPath(given)
    if path.is_absolute() or scenario_file.startswith("<"):
        return path
    return FsPath(scenario_file).parent / path


def load_fragment(scenario, origin: Origin) -> BehaviourFragment:
    """Read and check the fragment `scenario.behaviour_from` names, against its catalog."""
    from .checks import _check_behaviour, close_match
    from .loader import read_scenario_text, read_yaml, validation_problems

    path = fragment_path(origin.file, scenario.behaviour_from)
    try:
        text = read_scenario_text(path)
    except ScenarioError as exc:  # no such file: said where the scenario names it
        reason = exc.problems[0].message if exc.problems else "cannot read"
        raise ScenarioError([origin.problem(("behaviour_from",), f"{path}: {reason}")]) from None
    data, where = read_yaml(text, str(path))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(
            [where.problem((), "a behaviour_from file is a mapping: courses, population")]
        )
    problems: list[Problem] = []
    fragment = None
    try:
        fragment = BehaviourFragment.model_validate(data)
    except ValidationError as exc:
        problems += validation_problems(exc, data, where, model=BehaviourFragment)
    catalog = {c.id: c for c in scenario.courses}
    raw_courses = data.get("courses") if isinstance(data.get("courses"), dict) else {}
    for key, raw in raw_courses.items():
        course = catalog.get(str(key))
        if course is None:
            close = close_match(str(key), list(catalog))
            problems.append(
                where.problem(
                    ("courses", key),
                    f"unknown course '{key}'"
                    + (f" (did you mean '{close}'?)" if close else "")
                    + ": not in the scenario's catalog",
                )
            )
            continue
        found: list = []
        _check_behaviour(raw, ("courses", key), course, found)
        problems += [where.problem(p, m) for p, m in found]
    if problems:
        raise ScenarioError(problems)
    assert fragment is not None
    return fragment


def apply_fragment(scenario, fragment: BehaviourFragment):
    """The scenario with the fragment's behaviours and rates where it gives none (the
    precedence in the module's text)."""
    courses = []
    for course in scenario.courses:
        fitted = fragment.courses.get(course.id)
        if fitted is None:
            courses.append(course)
            continue
        own = course.behaviour
        values = {
            key: getattr(own, key)
            if own is not None and getattr(own, key) is not None
            else getattr(fitted, key)
            for key in BEHAVIOUR_KEYS
        }
        courses.append(course.model_copy(update={"behaviour": Behaviour.model_construct(**values)}))
    population = scenario.population
    if population is not None and fragment.population is not None:
        population = population.model_copy(
            update={
                "hires": population.hires
                if population.hires is not None
                else fragment.population.hires,
                "attrition": population.attrition
                if population.attrition is not None
                else fragment.population.attrition,
            }
        )
    return scenario.model_copy(update={"courses": courses, "population": population})
