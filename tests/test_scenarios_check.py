"""The acceptance scenarios (ported from the spec as project files) and the bundled scenario
library, checked through the public `check()` that `postenroll-sim check` and the pytest
plugin use. (The acceptance files also run as plugin items, one per expectation.)"""

from __future__ import annotations

import pytest

from postenroll_sim import check, parse_scenario

from helpers import ROOT

ACCEPTANCE = sorted((ROOT / "tests" / "acceptance").glob("*.yaml"))
LIBRARY = sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", ACCEPTANCE, ids=lambda p: p.stem)
def test_acceptance_scenario(path):
    result = check(path)
    assert result.status == "pass" and result.expectations, result.report()


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_library_scenario_runs_and_holds_its_expectations(path):
    result = check(path)  # a library file without an `expect` block runs all the same
    assert result.status in ("pass", "no_expectations"), result.report()


def test_there_are_acceptance_scenarios():
    assert len(ACCEPTANCE) >= 11 and LIBRARY


def test_a_wrong_expectation_fails_with_what_was_found(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(ACCEPTANCE[0].read_text().replace("enrolled_day: 15}", "enrolled_day: 16}"))
    result = check(path)
    assert result.status == "fail" and len(result.failures) == 1
    failure = result.failures[0]
    assert failure.where == f"{path}:16: expect.0"
    assert failure.failure.startswith("expected 1 enrollment row matching")
    assert "found 0" in failure.failure and "enrolled_day=15" in failure.failure
    assert check(parse_scenario(path.read_text(), str(path))).status == "fail"
