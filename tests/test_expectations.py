"""Richer expectations (docs/scenarios.md, section `expect`): `event:` items, count ranges,
shares and means over replications, and categorical values checked when a file is loaded.
Every check runs in process on small scenarios."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from postenroll_sim import ScenarioError, parse_scenario
from postenroll_sim.cli import cli
from postenroll_sim.qa.checking import check
from postenroll_sim.run.runner import simulate_replications

pytest_plugins = ["pytester"]

BASE = """\
name: richer expectations
horizon_days: 30
courses:
  - {id: P, type: online}
  - id: A
    type: online
    post_enrollments:
      - {id: R1, when: completed, delay_days: 5, courses: [B]}
  - {id: B, type: online}
  - {id: ADV, type: online, prerequisites: {courses: [P]}}
learners: [alice, bo]
script:
  - {day: 0, action: enroll, learner: alice, course: A}
  - {day: 10, action: complete, learner: alice, course: A}
  - {day: 12, action: enroll, learner: bo, course: ADV, method: self}
expect:
"""

# A stochastic scenario: 60 learners take an exam that 65% pass; failing sends them to a
# refresher, then back to the exam.
STOCHASTIC = """\
name: stochastic exam
horizon_days: 20
seed: 2
courses:
  - id: EXAM
    type: online
    allow_failure: true
    behaviour:
      start_after_days: {dist: exponential, mean: 2}
      duration_days: {dist: fixed, value: 0.1}
      pass_rate: 0.65
    post_enrollments:
      - {id: exam-failed, when: failed, delay_days: 1, courses: [REFRESH], allow_consecutive: true}
      - {id: exam-passed, when: completed, delay_days: 0, courses: [ADVANCED]}
  - id: REFRESH
    type: online
    behaviour:
      start_after_days: {dist: exponential, mean: 3}
      duration_days: {dist: gamma, mean: 2, cv: 0.5}
    post_enrollments:
      - {id: refresh-retake, when: completed, delay_days: 0, courses: [EXAM]}
  - {id: ADVANCED, type: online}
population:
  initial: 60
  on_hire:
    - {course: EXAM, after_days: {dist: uniform, min: 0, max: 14}}
"""


def write(tmp_path, text: str, name: str = "s.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def line(text: str, snippet: str) -> int:
    """The 1-based line of the first line holding `snippet`."""
    return next(i for i, row in enumerate(text.splitlines(), 1) if snippet in row)


def failures(result) -> list[str]:
    return [f"{e.where}: {e.failure}" for e in result.failures]


def load_errors(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "x.yaml")
    return [str(p) for p in info.value.problems]


# ----- event items and count ranges -------------------------------------------------


def test_event_items_and_count_ranges_that_hold(tmp_path):
    text = BASE + textwrap.indent(
        textwrap.dedent("""\
        - event: {event: self_enroll_rejected, learner: bo, course: ADV, detail: prerequisites_not_met}
        - event: {event: job_processed, learner: alice, course: B, rule: R1, job: 0, detail: enrolled, day: 15}
        - event: {event: learner_added}
          count: 2
        - job: {learner: alice, rule: R1}
          count: {min: 1, max: 3}
        - enrollment: {learner: bo}
          count: {max: 0}
        - enrollment: {course: A, status: complete}
          count: {min: 1}
        - enrollment: {learner: alice, course: B, method: post_enrollment, rule: R1, enrolled_day: 15}
        """),
        "  ",
    )
    result = check(write(tmp_path, text))
    assert result.status == "pass", result.report()
    assert result.summary() == f"PASS {tmp_path / 's.yaml'} (7 expectations)"
    assert [e.description for e in result.expectations[:4]] == [
        "event {event: self_enroll_rejected, learner: bo, course: ADV, detail: prerequisites_not_met}",
        "event {event: job_processed, learner: alice, course: B, rule: R1, job: 0, detail: enrolled, day: 15}",
        "event {event: learner_added} count: 2",
        "job {learner: alice, rule: R1} count: {min: 1, max: 3}",
    ]


def test_event_item_that_fails_says_what_happened_instead(tmp_path):
    text = (
        BASE
        + "  - event: {event: self_enroll_rejected, learner: bo, course: ADV, detail: course_inactive}\n"
    )
    path = write(tmp_path, text)
    result = check(path)
    assert result.status == "fail" and result.exit_code == 1
    (message,) = failures(result)
    first, *found = message.splitlines()
    assert first == (
        f"{path}:{line(text, 'course_inactive')}: expect.0: expected 1 event row matching "
        "{event: self_enroll_rejected, learner: bo, course: ADV, detail: course_inactive}, found 0"
    )
    assert found[0] == "rows for {learner: bo, course: ADV}:"
    assert "event=self_enroll_rejected" in found[1]
    assert "detail=prerequisites_not_met" in found[1]
    assert result.summary() == f"FAIL {path}: 1 of 1 expectation failed"


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        ("{min: 2}", "expected at least 2 job rows matching {learner: alice, rule: R1}, found 1"),
        (
            "{min: 2, max: 3}",
            "expected 2 to 3 job rows matching {learner: alice, rule: R1}, found 1",
        ),
        ("{max: 0}", "expected 0 job rows matching {learner: alice, rule: R1}, found 1"),
        ("{min: 0, max: 0}", "expected 0 job rows matching {learner: alice, rule: R1}, found 1"),
        ("3", "expected 3 job rows matching {learner: alice, rule: R1}, found 1"),
    ],
)
def test_count_ranges_that_fail(tmp_path, count, expected):
    text = BASE + f"  - job: {{learner: alice, rule: R1}}\n    count: {count}\n"
    path = write(tmp_path, text)
    (message,) = failures(check(path))
    lines = message.splitlines()
    assert lines[0] == f"{path}:{line(text, '- job:')}: expect.0: {expected}"
    assert lines[1] == "rows for {learner: alice, rule: R1}:"
    assert "outcome=enrolled" in lines[2] and "due_day=15" in lines[2]


def test_the_plain_forms_keep_their_messages(tmp_path):
    # docs/scenarios.md and SCENARIO.md: the list form, `count` exact, default 1
    text = (
        BASE
        + "  - enrollment: {learner: bo, course: B}\n  - job: {learner: alice, rule: R1}\n    count: 0\n"
    )
    path = write(tmp_path, text)
    result = check(path)
    assert [e.where for e in result.expectations] == [
        f"{path}:{line(text, '{learner: bo, course: B}')}: expect.0",
        f"{path}:{line(text, '- job:')}: expect.1",
    ]
    assert [e.description for e in result.expectations] == [
        "enrollment {learner: bo, course: B}",
        "job {learner: alice, rule: R1} count: 0",
    ]
    first, second = failures(result)
    assert first.splitlines()[:2] == [
        f"{path}:17: expect.0: expected 1 enrollment row matching {{learner: bo, course: B}}, found 0",
        "no rows at all for {learner: bo, course: B}",
    ]
    assert second.splitlines()[0] == (
        f"{path}:18: expect.1: expected 0 job rows matching {{learner: alice, rule: R1}}, found 1"
    )


def test_a_share_counts_every_learner_present_in_a_single_run(tmp_path):
    # bo joins but is never enrolled (his self-enrollment is rejected): he still counts
    text = BASE + (
        "  - enrollment: {course: A}\n    share: {min: 0.5, max: 0.5}\n"
        "  - event: {event: self_enroll_rejected}\n    share: {min: 0.6}\n"
        "  - enrollment: {method: admin}\n    mean: {min: 1, max: 1}\n"
    )
    path = write(tmp_path, text)
    result = check(path)
    assert [e.ok for e in result.expectations] == [True, False, True]
    assert failures(result) == [
        f"{path}:{line(text, 'self_enroll_rejected}')}: expect.1: expected a share of at least 0.6 "
        "of learners with an event row matching {event: self_enroll_rejected}, found 0.5 "
        "(1 of 2 learners)"
    ]


# ----- what is refused when the file is loaded --------------------------------------


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            "job: {learner: alice, rule: R1, outcome: enroled}",
            "expect.0.job.outcome: unknown outcome 'enroled' (did you mean 'enrolled'?)",
        ),
        (
            "enrollment: {learner: alice, method: post_enrolment}",
            "expect.0.enrollment.method: unknown method 'post_enrolment' (did you mean 'post_enrollment'?)",
        ),
        (
            "enrollment: {learner: alice, status: completed}",
            "expect.0.enrollment.status: unknown status 'completed' (did you mean 'complete'?)",
        ),
        (
            "job: {trigger: complete}",
            "expect.0.job.trigger: unknown trigger 'complete' (did you mean 'completed'?)",
        ),
        (
            "event: {event: self_enrol_rejected, learner: bo}",
            "expect.0.event.event: unknown event 'self_enrol_rejected' (did you mean 'self_enroll_rejected'?)",
        ),
        (
            "enrollment: {course_type: ilt}",
            "expect.0.enrollment.course_type: unknown course type 'ilt' (did you mean 'ilc'?)",
        ),
        (
            "job: {outcome: 42}",
            "expect.0.job.outcome: unknown outcome '42'; the values are: enrolled, "
            "skipped_already_enrolled, skipped_already_completed, skipped_learner_removed, "
            "cascade_limit, pending",
        ),
        (
            "event: {evnt: started}",
            "expect.0.event.evnt: unknown field 'evnt' for event rows (did you mean 'event'?); "
            "fields are: at, course, course_id, day, detail, enrollment_id, event, job, "
            "job_id, learner, learner_id, replication, rule, rule_id",
        ),
        ("event: {target: B}", "expect.0.event.target: unknown field 'target' for event rows"),
        (
            "job: {rule: R1}\n    count: {min: 3, max: 1}",
            "expect.0.count: min (3) is greater than max (1)",
        ),
        ("job: {rule: R1}\n    count: {}", "expect.0.count: give `min`, `max` or both"),
        (
            "job: {rule: R1}\n    count: -1",
            "expect.0.count: Input should be greater than or equal to 0, got -1",
        ),
        (
            "job: {rule: R1}\n    share: {min: 1.5}",
            "expect.0.share.min: Input should be less than or equal to 1, got 1.5",
        ),
        (
            "job: {rule: R1}\n    count: 2\n    share: {min: 0.5}",
            "expect.0: give one of `count`, `share` or `mean`, not count and share",
        ),
        (
            "job: {rule: R1}\n    mean: {min: 1}\n    shares: {min: 0.5}",
            "expect.0.shares: unknown key 'shares' (did you mean 'share'?)",
        ),
        (
            "jobs: {rule: R1}",
            "expect.0: an expectation is one of `enrollment:`, `job:`, `event:`, `certificate:` or `error:`",
        ),
        # a value of the wrong type can never match: an error, never a vacuous `count: 0`
        (
            'enrollment: {learner: alice, course: B, enrolled_day: "15 days"}\n    count: 0',
            "expect.0.enrollment.enrolled_day: must be a number of days (or null), got '15 days'",
        ),
        (
            "enrollment: {enrolled_day: true}\n    count: 0",
            "expect.0.enrollment.enrolled_day: must be a number of days (or null), got True",
        ),
        ("job: {rule: R1}\n    count: x", "expect.0.count: must be a whole number, got 'x'"),
        (
            "job: {job_id: x}\n    count: 0",
            "expect.0.job.job_id: must be a whole number (or null), got 'x'",
        ),
        (
            "job: {replication: 0.5}\n    count: 0",
            "expect.0.job.replication: must be a whole number (or null), got 0.5",
        ),
        (
            "event: {detail: [a, b]}\n    count: 0",
            "expect.0.event.detail: must be a single value, got a mapping or list",
        ),
        (
            "enrollment: {course: A, completed_at: 2024-01-11}",
            "expect.0.enrollment.completed_at: the tables have `completed_at` only with a "
            "start_date; give the scenario one, or match the day column",
        ),
    ],
)
def test_mistakes_in_expectations_are_located_when_loading(item, message):
    text = BASE + f"  - {item}\n"
    found = load_errors(text)
    path = message.split(":")[0].split(".")  # expect.0.KEY...: a key of the item has its line
    number = line(text, f"{path[2]}:") if path[2:3] in (["count"], ["share"], ["shares"]) else 17
    assert any(f.startswith(f"x.yaml:{number}: {message}") for f in found), found


def test_a_misspelled_value_exits_2_from_the_command_line(tmp_path):
    text = BASE + "  - job: {learner: alice, rule: R1, target: B, outcome: enroled}\n"
    path = write(tmp_path, text)
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 2
    assert (
        f"{path}:17: expect.0.job.outcome: unknown outcome 'enroled' (did you mean 'enrolled'?)"
        in result.output
    )


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "expect:\n  replications: 0\n  items: []\n",
            "expect.replications: Input should be greater than or equal to 1",
        ),
        ("expect:\n  replications: 3\n", "expect.items: required key missing"),
        (
            "expect:\n  replication: 3\n  items: []\n",
            "expect.replication: unknown key 'replication' (did you mean 'replications'?)",
        ),
        (
            "expect: 5\n",
            "expect: `expect` is a list of expectations, or {replications: N, items: [...]}",
        ),
        (
            "expect:\n  replications: 2\n  items:\n    - job: {outcome: enroled}\n",
            "expect.items.0.job.outcome: unknown outcome 'enroled' (did you mean 'enrolled'?)",
        ),
    ],
)
def test_mistakes_in_the_block_form_are_located(block, message):
    text = BASE.removesuffix("expect:\n") + block
    found = load_errors(text)
    assert any(message in f for f in found), found


# ----- over replications ------------------------------------------------------------


def _measured(replications: int = 3):
    """The share of learners who went on to ADVANCED and the exam-failed jobs enrolled,
    per replication, counted here from the tables (not by the checker)."""
    tables = simulate_replications(parse_scenario(STOCHASTIC), replications).tables()
    events, enrollments, jobs = tables["events"], tables["enrollments"], tables["jobs"]
    shares, means = [], []
    for r in range(replications):
        present = events[(events.replication == r) & (events.event == "learner_added")]
        advanced = enrollments[
            (enrollments.replication == r) & (enrollments.course_id == "ADVANCED")
        ]
        shares.append(advanced.learner_id.nunique() / present.learner_id.nunique())
        failed = jobs[
            (jobs.replication == r) & (jobs.rule_id == "exam-failed") & (jobs.outcome == "enrolled")
        ]
        means.append(len(failed))
    return shares, means


def test_shares_and_means_over_replications_hold(tmp_path):
    shares, means = _measured()
    assert len(set(shares)) > 1  # the draws differ between replications
    share, mean = float(np.mean(shares)), float(np.mean(means))
    text = STOCHASTIC + textwrap.dedent(f"""\
        expect:
          replications: 3
          items:
            - enrollment: {{course: ADVANCED, rule: exam-passed}}
              share: {{min: {share - 0.01:.4f}, max: {share + 0.01:.4f}}}
            - job: {{rule: exam-failed, outcome: enrolled}}
              mean: {{min: {mean - 0.5}, max: {mean + 0.5}}}
            - event: {{event: failed, course: EXAM}}
              share: {{min: 0.1, max: 0.6}}
            - event: {{event: cascade_limit}}
              count: 0
        """)
    result = check(write(tmp_path, text))
    assert result.status == "pass", result.report()
    assert result.replications == 3
    assert result.summary() == f"PASS {tmp_path / 's.yaml'} (4 expectations over 3 replications)"


def test_wrong_shares_and_means_fail_with_the_value_found(tmp_path):
    shares, means = _measured()
    text = STOCHASTIC + textwrap.dedent("""\
        expect:
          replications: 3
          items:
            - enrollment: {course: ADVANCED, rule: exam-passed}
              share: {min: 0.99}
            - job: {rule: exam-failed, outcome: enrolled}
              mean: {max: 1}
            - enrollment: {course: ADVANCED, rule: exam-passed}
              count: {min: 1, max: 10}
        """)
    path = write(tmp_path, text)
    result = check(path)
    share_fail, mean_fail, count_fail = failures(result)
    share = float(np.mean(shares))
    per = ", ".join(f"{s:.4g} ({round(s * 60)} of 60)" for s in shares)
    assert share_fail == (
        f"{path}:{line(text, 'course: ADVANCED')}: expect.items.0: expected a share of at least 0.99 "
        "of learners with an enrollment row matching {course: ADVANCED, rule: exam-passed}, "
        f"found {share:.4g} over 3 replications (per replication, of the learners present: {per})"
    )
    mean = float(np.mean(means))
    assert mean_fail == (
        f"{path}:{line(text, '- job:')}: expect.items.1: expected a mean of at most 1 job row per "
        "replication matching {rule: exam-failed, outcome: enrolled}, "
        f"found {mean:.4g} over 3 replications (per replication: {', '.join(map(str, means))})"
    )
    counts = [round(s * 60) for s in shares]  # one ADVANCED enrollment per learner here
    assert count_fail.splitlines()[0] == (
        f"{path}:{line(text, 'count:') - 1}: expect.items.2: expected 1 to 10 enrollment rows "
        "matching {course: ADVANCED, rule: exam-passed} in each of 3 replications, "
        f"found {', '.join(map(str, counts))}"
    )
    assert result.summary() == f"FAIL {path}: 3 of 3 expectations failed over 3 replications"
    assert failures(check(path)) == [share_fail, mean_fail, count_fail]  # reproducible


def test_replications_from_the_command_line_override_the_file(tmp_path):
    text = (
        STOCHASTIC + "expect:\n  - event: {event: failed, course: EXAM}\n    share: {max: 0.01}\n"
    )
    path = write(tmp_path, text)
    one = check(path)
    assert one.replications == 1
    assert failures(one)[0].endswith(" of 60 learners)")  # one run: the learners counted
    result = CliRunner().invoke(cli, ["check", "--replications", "2", str(path)])
    assert result.exit_code == 1
    assert "found" in result.output and "over 2 replications (per replication" in result.output
    assert (
        result.output.splitlines()[-1]
        == f"FAIL {path}: 1 of 1 expectation failed over 2 replications"
    )
    assert check(path, replications=2).failures[0].failure in result.output
    bad = CliRunner().invoke(cli, ["check", "--replications", "0", str(path)])
    assert bad.exit_code == 2


def test_a_count_must_hold_in_each_replication(tmp_path):
    _, counts = _measured(2)
    assert counts[0] != counts[1]  # the draws differ between replications
    text = STOCHASTIC + (
        f"expect:\n  replications: 2\n  items:\n"
        f"    - job: {{rule: exam-failed, outcome: enrolled}}\n      count: {counts[0]}\n"
    )
    path = write(tmp_path, text)
    (message,) = failures(check(path))
    lines = message.splitlines()
    assert lines[0] == (
        f"{path}:{line(text, '- job:')}: expect.items.0: expected {counts[0]} job rows "
        "matching {rule: exam-failed, outcome: enrolled} in each of 2 replications, "
        f"found {counts[1]} in replication 1 (per replication: {counts[0]}, {counts[1]})"
    )
    assert lines[1] == "rows for {rule: exam-failed} in replication 1:"
    assert lines[2].startswith("  replication=1, rule_id=exam-failed, outcome=")
    assert lines[-1].startswith("  ... and ")


def test_error_items_work_in_the_block_form(tmp_path):
    text = BASE.replace("courses: [B]", "courses: [NOPE]").removesuffix("expect:\n")
    text += "expect:\n  replications: 2\n  items:\n    - error: unknown course 'NOPE'\n"
    result = check(write(tmp_path, text))
    assert result.status == "pass", result.report()
    assert result.expectations[0].where.endswith(f":{line(text, '- error:')}: expect.items.0")


def test_the_block_form_as_pytest_items(pytester):
    text = STOCHASTIC + textwrap.dedent("""\
        expect:
          replications: 2
          items:
            - event: {event: failed, course: EXAM}
              share: {min: 0.1, max: 0.6}
            - job: {rule: exam-failed}
              mean: {max: 1}
        """)
    pytester.makefile(".yaml", stochastic=text)
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*stochastic.yaml::expect.items.0: event {event: failed, course: EXAM} share: {min: 0.1, max: 0.6} PASSED*",
            "*stochastic.yaml:*: expect.items.1: expected a mean of at most 1 job row per replication*",
        ]
    )


# ----- every column, the `*_at` timestamps included (SCENARIO.md, Expectations) -------

DATED = BASE.replace("horizon_days: 30\n", "horizon_days: 30\nstart_date: 2025-01-01\n").replace(
    "{day: 10, action: complete", "{day: 10.5, action: complete"
)  # alice completes A on 2025-01-11 at 12:00; R1 enrolls her in B 5 days later


@pytest.mark.parametrize(
    ("item", "holds"),
    [
        ("enrollment: {learner: alice, course: A, completed_at: 2025-01-11}", True),  # that day
        ('enrollment: {learner: alice, course: A, completed_at: "2025-01-11 12:00"}', True),
        ("enrollment: {learner: alice, course: A, completed_at: 2025-01-11T12:00:00}", True),
        ('enrollment: {learner: alice, course: A, completed_at: "2025-01-11 13:00"}', False),
        ("enrollment: {learner: alice, course: A, completed_at: 2025-01-10}", False),
        (
            "enrollment: {learner: alice, course: B, started_at: null, enrolled_at: 2025-01-16}",
            True,
        ),
        ('event: {event: enrolled, learner: alice, course: B, at: "2025-01-16 12:00:00"}', True),
        ("job: {learner: alice, rule: R1, queued_at: 2025-01-11, processed_at: 2025-01-16}", True),
        ("job: {learner: alice, rule: R1, due_at: 2025-01-17}", False),
    ],
)
def test_timestamp_columns_match_a_date_or_a_date_time(tmp_path, item, holds):
    result = check(write(tmp_path, DATED + f"  - {item}\n"))
    assert result.status == ("pass" if holds else "fail"), result.report()
    if not holds:  # what was there instead shows the timestamps
        assert "found 0" in result.failures[0].failure and "_at=2025-01-1" in result.report()


def test_every_column_of_the_tables_may_be_matched_with_a_value_of_its_kind():
    """Each column's kind (what an expectation's value must be) is the kind of data the
    tables really hold, and every column of a dated run is a field an item may give."""
    from postenroll_sim.columns import column_kind
    from postenroll_sim.engine.columnar import Coded, Floats, Ints, Times
    from postenroll_sim.run.lightrun import simulate_columns
    from postenroll_sim.scenario.checks import expect_fields

    tables = simulate_columns(parse_scenario(DATED + "  - job: {rule: R1}\n", "x.yaml"), 1)
    held = {Floats: "day", Times: "timestamp", Ints: "number", Coded: "text"}
    for kind, table in (("enrollment", "enrollments"), ("job", "jobs"), ("event", "events")):
        for name, column in tables[table].columns.items():
            assert column_kind(name) == held[type(column)], (table, name)
            assert name in expect_fields(kind), (table, name)


def test_with_a_calendar_the_rows_a_failure_lists_say_their_dates(tmp_path):
    text = BASE.replace("horizon_days: 30\n", "horizon_days: 30\nstart_date: 2027-01-04\n")
    text += "  - job: {learner: alice, rule: R1}\n    count: 2\n"
    (message,) = failures(check(write(tmp_path, text)))
    listed = message.splitlines()[2]
    assert "due_day=2027-01-19 (day 15)" in listed and "queued_day=2027-01-14 (day 10)" in listed
