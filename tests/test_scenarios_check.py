"""The acceptance scenarios (ported from the spec as project files) and the bundled scenario
library, checked through the same code path as `postenroll-sim check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from postenroll_sim import ScenarioError, load_scenario, simulate
from postenroll_sim.expect import check_expectations
from postenroll_sim.scenario.models import ExpectError

from helpers import ROOT

ACCEPTANCE = sorted((ROOT / "tests" / "acceptance").glob("*.yaml"))
LIBRARY = sorted((ROOT / "scenarios").glob("*.yaml"))


def _check(path: Path):
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        from postenroll_sim.scenario import expectations_of

        expectations = expectations_of(path.read_text(), str(path))
        assert expectations and any(isinstance(e, ExpectError) for e in expectations), str(exc)
        return check_expectations(expectations, None, str(exc), None, str(path)), len(expectations)
    tables = simulate(scenario).tables()
    return check_expectations(list(scenario.expect), tables, None, scenario.origin, str(path)), len(
        scenario.expect
    )


@pytest.mark.parametrize("path", ACCEPTANCE, ids=lambda p: p.stem)
def test_acceptance_scenario(path):
    failures, count = _check(path)
    assert count > 0
    assert not failures, "\n".join(map(str, failures))


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_library_scenario_runs_and_holds_its_expectations(path):
    failures, _ = _check(path)
    assert not failures, "\n".join(map(str, failures))


def test_there_are_acceptance_scenarios():
    assert len(ACCEPTANCE) >= 9 and LIBRARY


def test_a_wrong_expectation_fails_with_what_was_found():
    path = ACCEPTANCE[0]
    text = path.read_text().replace("enrolled_day: 15}", "enrolled_day: 16}")
    from postenroll_sim import parse_scenario

    scenario = parse_scenario(text, "x.yaml")
    failures = check_expectations(
        list(scenario.expect), simulate(scenario).tables(), None, scenario.origin, "x.yaml"
    )
    assert len(failures) == 1
    message = str(failures[0])
    assert message.startswith("x.yaml:16: expect.0: expected 1 enrollment row matching")
    assert "found 0" in message and "enrolled_day=15" in message
