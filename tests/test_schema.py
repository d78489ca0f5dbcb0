"""The JSON Schema of scenario files (docs/scenario.schema.json) is standard JSON Schema,
accepts every scenario the project ships or tests with, and refuses what the loader
refuses in the shape of a file (a schema cannot see the cross-checks: ids that exist, ...)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from postenroll_sim.scenario import ScenarioError, parse_scenario
from postenroll_sim.scenario.loader import read_scenario_text, read_yaml
from postenroll_sim.scenario.schema import json_schema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json_schema()
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)

# Every keyword of the draft 2020-12 vocabularies (core, applicator, validation, format,
# meta-data): anything else is ignored by editors, as `ge: 0` was.
KEYWORDS = {
    "$schema", "$id", "$ref", "$defs", "$anchor", "$dynamicRef", "$dynamicAnchor",
    "$vocabulary", "$comment", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
    "dependentSchemas", "prefixItems", "items", "contains", "properties",
    "patternProperties", "additionalProperties", "propertyNames", "unevaluatedItems",
    "unevaluatedProperties", "type", "const", "enum", "multipleOf", "maximum",
    "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern",
    "maxItems", "minItems", "uniqueItems", "maxContains", "minContains", "maxProperties",
    "minProperties", "required", "dependentRequired", "format", "title", "description",
    "default", "deprecated", "readOnly", "writeOnly", "examples",
}  # fmt: skip

# Files under the scanned folders that are not scenarios at all.
NOT_SCENARIOS = {
    "examples/audit/map.yaml": "an audit map (docs/audit.md), not a scenario",
    "examples/backtest/fitted.yaml": "a behaviour fragment calibrate wrote (docs/calibrate.md)",
    "examples/forecast/fitted.yaml": "a behaviour fragment calibrate wrote (docs/calibrate.md)",
}
# Scenario files meant to be refused, and why; the schema must refuse them too.
REFUSED_BY_SCHEMA = {
    "tests/scenarios/ten-mistakes.yaml": "lint's and validation's ten mistakes: "
    "misspelt keys (`procesing`) among them",
}
# Files meant to be refused for a reason only the cross-checks see: their shape is right.
REFUSED_BY_CROSS_CHECKS = {
    "tests/acceptance/08-failed-rule-needs-allow-failure.yaml": "a `when: failed` rule on "
    "a course without allow_failure (S9)",
    "tests/acceptance/11-script-cannot-start-a-curriculum.yaml": "the script starts a "
    "curriculum (S26)",
}


def _as_json(value):
    """YAML data as an editor's JSON Schema validator sees it: dates are text."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _scenario_files() -> list[str]:
    found = [
        *ROOT.glob("scenarios/*.yaml"),
        *ROOT.glob("tests/acceptance/*.yaml"),
        *ROOT.glob("tests/scenarios/*.yaml"),
        *ROOT.glob("examples/**/*.yaml"),
    ]
    names = sorted(str(p.relative_to(ROOT)) for p in found)
    return [name for name in names if name not in NOT_SCENARIOS]


def _schema_errors(data) -> list[str]:
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}"
        for e in VALIDATOR.iter_errors(_as_json(data))
    ]


def _keywords(node, found: set[str]) -> set[str]:
    if isinstance(node, list):
        for item in node:
            _keywords(item, found)
    elif isinstance(node, dict):
        found.update(node)
        for key, value in node.items():
            if key in ("properties", "patternProperties", "$defs", "dependentSchemas"):
                for sub in value.values():
                    _keywords(sub, found)
            elif key not in ("default", "const", "enum", "examples"):
                _keywords(value, found)
    return found


def test_schema_is_standard_draft_2020_12():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    unknown = _keywords(SCHEMA, set()) - KEYWORDS
    assert not unknown, f"not JSON Schema keywords (editors ignore them): {sorted(unknown)}"


def test_the_lists_of_files_name_files_that_exist():
    files = set(_scenario_files()) | set(NOT_SCENARIOS)
    for name in (*NOT_SCENARIOS, *REFUSED_BY_SCHEMA, *REFUSED_BY_CROSS_CHECKS):
        assert name in files, name


@pytest.mark.parametrize("name", _scenario_files())
def test_every_shipped_and_test_scenario_file(name):
    text = read_scenario_text(ROOT / name)
    data, _ = read_yaml(text, name)
    errors = _schema_errors(data)
    try:
        parse_scenario(text, name)
        loads = True
    except ScenarioError:
        loads = False
    if name in REFUSED_BY_SCHEMA:
        assert not loads and errors, f"{name} is listed as refused: {REFUSED_BY_SCHEMA[name]}"
    elif name in REFUSED_BY_CROSS_CHECKS:
        assert not loads, f"{name} is listed as refused: {REFUSED_BY_CROSS_CHECKS[name]}"
        assert not errors, errors
    else:
        assert loads, f"{name} does not load: list it, with the reason, if that is meant"
        assert not errors, errors


# A small scenario using most of the format; each case below changes one value in it.
BASE = {
    "name": "schema probe",
    "start_date": "2027-01-04",
    "horizon_days": 30,
    "processing": {"mode": "daily", "hour": 2},
    "courses": [
        {
            "id": "A",
            "type": "online",
            "post_enrollments": [{"when": "completed", "delay_days": 0, "courses": ["B"]}],
            "behaviour": {
                "start_after_days": {"dist": "exponential", "mean": 2},
                "duration_days": {"dist": "lognormal", "median": 1, "sigma": 0.5},
                "abandon_rate": 0.1,
            },
        },
        {"id": "B", "type": "ilc", "sessions": [{"every_days": 7, "first_day": 1, "capacity": 5}]},
    ],
    "learners": [{"id": "ann"}],
    "script": [{"day": 0, "action": "enroll", "learner": "ann", "course": "A"}],
    "expect": [{"enrollment": {"learner_id": "ann", "course_id": "A"}}],
    "population": {"initial": 2, "on_hire": [{"course": "A"}], "attrition": {"annual_rate": 0.1}},
}
A = ("courses", 0)
RULE = (*A, "post_enrollments", 0)
SESSION = ("courses", 1, "sessions", 0)
ACCEPTED = [  # the shorthands and forms docs/scenarios.md documents
    (("learners",), ["ann", "bob", 7]),
    (("learners",), [{"id": "ann"}, {"id": "bob", "joined_day": 2.5}]),
    ((*A, "behaviour", "duration_days"), 3),
    ((*A, "behaviour", "start_after_days"), {"dist": "gamma", "mean": 2, "cv": 0.5}),
    (("learners",), [{"id": "ann"}, {"id": 101}]),  # a whole number is the id "101"
    (("name",), 2024),  # numbers are text where text is asked
    ((*RULE, "delay_days"), 36_500),
    (("expect", 0, "count"), {"min": 1}),
    (("expect",), {"replications": 3, "items": [{"job": {"rule_id": "A#1"}, "count": 0}]}),
    (("expect",), [{"event": {"event": "enrolled"}, "share": {"min": 0.5}}]),
    ((*SESSION, "every_days"), 1 / 16),
    (("horizon_days",), 36_500),
    (("processing",), {"mode": "daily", "hour": 23, "cascade_limit": 5}),
]
REFUSED = [  # each value breaks a rule of docs/scenarios.md
    (("horizon_days",), -5),
    (("horizon_days",), 0),
    (("horizon_days",), 36_501),
    (("horizon_days",), "30"),
    (("seed",), -1),
    (("seed",), 1.5),
    ((*RULE, "delay_days"), 1.5),
    ((*RULE, "delay_days"), -1),
    ((*RULE, "delay_days"), 36_501),
    ((*RULE, "when"), "started"),
    ((*RULE, "courses"), []),
    ((*RULE, "colour"), "red"),  # an unknown key
    (("procesing",), {"mode": "daily"}),
    ((*SESSION, "capacity"), 0),
    ((*SESSION, "capacity"), 2**31),
    ((*SESSION, "every_days"), 0.05),
    (("processing", "hour"), 24),
    (("processing", "mode"), "weekly"),
    ((*A, "type"), "webinar"),
    ((*A, "id"), "=1+1"),
    ((*A, "id"), "line\nbreak"),
    ((*A, "id"), "x" * 201),
    ((*A, "id"), -5),
    ((*A, "id"), ""),
    (("learners",), ["ann", True]),
    ((*A, "behaviour", "abandon_rate"), 1.5),
    ((*A, "behaviour", "duration_days"), -1),
    ((*A, "behaviour", "duration_days"), {"dist": "normal", "mean": 1}),
    ((*A, "behaviour", "duration_days", "sigma"), 11),
    (("courses",), []),
    (("name",), ""),
    (("start_date",), "2027-02-30"),
    (("script", 0, "action"), "promote"),
    (
        ("script", 0, "day"),
        -36_501,
    ),  # (-1 is the loader's to refuse: only a warm start has it, S39)
    (("expect", 0, "count"), -1),
    (("expect",), {"replications": 10_001, "items": []}),
    (("population", "attrition", "annual_rate"), 1),
]


def _changed(path: tuple, value) -> dict:
    data = copy.deepcopy(BASE)
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


def _loads(data: dict) -> bool:
    try:
        parse_scenario(json.dumps(data))  # JSON is YAML 1.2
    except ScenarioError:
        return False
    return True


def test_the_base_scenario_is_valid():
    assert _loads(BASE) and not _schema_errors(BASE)


@pytest.mark.parametrize(("path", "value"), ACCEPTED, ids=lambda v: repr(v)[:40])
def test_schema_and_loader_accept(path, value):
    data = _changed(path, value)
    assert _loads(data)
    assert not _schema_errors(data)


@pytest.mark.parametrize(("path", "value"), REFUSED, ids=lambda v: repr(v)[:40])
def test_schema_and_loader_refuse(path, value):
    data = _changed(path, value)
    assert not _loads(data)
    assert _schema_errors(data), f"the schema accepts {'.'.join(map(str, path))}: {value!r}"
