"""The pytest plugin: scenario files with an `expect` block run as tests, one per item."""

from __future__ import annotations

import pytest

from postenroll_sim import checking

pytest_plugins = ["pytester"]

PASSING = """\
name: passing
horizon_days: 30
courses:
  - id: A
    type: online
    post_enrollments:
      - {id: R1, when: completed, delay_days: 5, courses: [B]}
  - {id: B, type: online}
learners: [alice]
script:
  - {day: 0, action: enroll, learner: alice, course: A}
  - {day: 10, action: complete, learner: alice, course: A}
expect:
  - enrollment: {learner: alice, course: B, rule: R1, enrolled_day: 15}
  - job: {learner: alice, rule: R1, target: B, outcome: enrolled}
"""


@pytest.fixture
def project(pytester):
    pytester.makefile(".yaml", passing=PASSING)
    pytester.makefile(".yaml", failing=PASSING.replace("enrolled_day: 15", "enrolled_day: 16"))
    rejected = PASSING.replace("courses: [B]", "courses: [NOPE]")
    rejected = rejected[: rejected.index("expect:")] + "expect:\n  - error: unknown course 'NOPE'\n"
    pytester.makefile(".yaml", rejected=rejected)
    pytester.makefile(".yml", unrelated="expect: [1, 2]\nother: true\n")  # not a scenario
    return pytester


def test_each_expectation_is_a_test_and_failures_are_located(project):
    result = project.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=4, failed=1, errors=0)  # 2 + 1 + the rejected one
    result.stdout.fnmatch_lines(
        [
            "*failing.yaml::expect.0*FAILED*",
            "*passing.yaml::expect.0: enrollment {learner: alice, course: B, rule: R1, enrolled_day: 15} PASSED*",
            "*failing.yaml:14: expect.0: expected 1 enrollment row matching*found 0*",
        ]
    )


def test_a_scenario_that_must_be_rejected_passes_when_it_is(project):
    result = project.runpytest("-p", "no:cacheprovider", "-v", "rejected.yaml")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*rejected.yaml::expect.0: error: unknown course 'NOPE' PASSED*"])


def test_an_invalid_scenario_is_one_failing_item_with_its_located_problems(pytester):
    pytester.makefile(".yaml", broken=PASSING.replace("courses: [B]", "courses: [NOPE]"))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        ["*broken.yaml:7: courses.0.post_enrollments.0.courses.0: unknown course 'NOPE'*"]
    )


def test_selection_and_switching_off(project):
    project.runpytest(
        "-p", "no:cacheprovider", "-m", "postenroll_sim", "-k", "passing"
    ).assert_outcomes(passed=2)
    project.runpytest("-p", "no:cacheprovider", "--no-scenarios").assert_outcomes()


def test_each_file_is_simulated_once_however_many_items(project, monkeypatch):
    calls = []
    real = checking.check

    def counting(path):
        calls.append(str(path))
        return real(path)

    monkeypatch.setattr(checking, "check", counting)
    project.runpytest("-p", "no:cacheprovider", "passing.yaml").assert_outcomes(passed=2)
    assert len(calls) == 1


def test_the_public_check_function(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(PASSING.replace("enrolled_day: 15", "enrolled_day: 16"))
    result = checking.check(path)
    assert result.status == "fail" and result.exit_code == 1 and not result.ok
    assert [e.ok for e in result.expectations] == [False, True]
    assert result.failures[0].where == f"{path}:14: expect.0"
    assert "found 0" in result.failures[0].failure
    assert result.summary() == f"FAIL {path}: 1 of 2 expectations failed"
    from postenroll_sim import check, load_scenario

    assert check(load_scenario(path)).status == "fail"  # a loaded scenario works too
