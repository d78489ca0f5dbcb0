"""One or more tests per rule of docs/semantics.md, each named after the rule it checks."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers import errors, one, per_course, rows, run

TWO = """
name: two courses
horizon_days: {horizon}
courses:
  - id: A
    type: online
    post_enrollments:
      - {{id: R1, when: {when}, delay_days: {delay}, courses: [B]}}
  - {{id: B, type: online}}
learners: [alice]
script:
{script}
"""


def two(script: str, when: str = "completed", delay: int = 0, horizon: int = 100):
    return run(TWO.format(script=script, when=when, delay=delay, horizon=horizon))


# ----- Time ------------------------------------------------------------------------


def test_S1_days_are_floats_and_start_date_gives_timestamps():
    result = run("""
        name: s1
        start_date: 2027-01-04
        horizon_days: 10
        courses: [{id: A, type: online}]
        learners: [alice]
        script:
          - {day: 2.5, action: enroll, learner: alice, course: A}
        """)
    row = one(result.enrollments, learner_id="alice")
    assert row["enrolled_day"] == 2.5
    assert row["enrolled_at"] == pd.Timestamp("2027-01-06 12:00")
    assert result.enrollments["enrolled_day"].dtype == "float64"
    assert "processed_at" in result.jobs.columns and "at" in result.events.columns


def test_S1_no_start_date_no_timestamp_columns():
    result = two("  - {day: 0, action: enroll, learner: alice, course: A}")
    assert not [c for c in result.enrollments.columns if c.endswith("_at")]


DAILY_13 = """
name: s1 whole seconds
start_date: 2027-01-04
horizon_days: 20
processing: {{mode: daily, hour: {hour}}}
courses:
  - id: A
    type: online
    post_enrollments: [{{id: R1, when: enrolled, delay_days: 0, courses: [B]}}]
  - {{id: B, type: online}}
learners: [alice]
script:
  - {{day: {day}, action: enroll, learner: alice, course: A}}
"""


def test_S1_an_instant_written_to_ten_decimals_is_its_second():
    # S1 v2: 13.5416666667 is 13:00 of day 13 plus 29 microseconds: the instant is
    # 13:00:00, so by S3 the 13:00 run of that day takes its job (it stopped the run
    # with an internal error when the job's run came out before its trigger).
    result = run(DAILY_13.format(hour=13, day=13.5416666667))
    job = one(result.jobs, rule_id="R1")
    thirteen = pd.Timestamp("2027-01-17 13:00:00")  # day 13 is 17 January
    assert job["queued_at"] == job["due_at"] == job["processed_at"] == thirteen
    assert job["queued_day"] == job["due_day"] == job["processed_day"]
    assert one(result.enrollments, course_id="B")["enrolled_at"] == thirteen


def test_S1_a_daily_run_is_stamped_on_the_hour_to_the_second():
    # S1 v2: a 02:00 run is 02:00:00 (it was 01:59:59.999999997: the hour before, to
    # anything that reads it to the second)
    result = run(DAILY_13.format(hour=2, day=5.5))
    job = one(result.jobs, rule_id="R1")
    assert job["processed_at"] == pd.Timestamp("2027-01-10 02:00:00")
    assert job["processed_at"].nanosecond == 0 and job["processed_at"].microsecond == 0


@pytest.mark.parametrize(
    ("day", "at"),
    [
        (1.000004, "2027-01-05 00:00:00"),  # 0.35 s after midnight: midnight
        (1.00001, "2027-01-05 00:00:01"),  # 0.86 s: the next second
        (1 + 0.5 / 86400, "2027-01-05 00:00:01"),  # half a second: up
        (2.999999999, "2027-01-07 00:00:00"),  # a hair before day 3: day 3
    ],
)
def test_S1_every_instant_of_a_scenario_is_rounded_to_the_second(day, at):
    result = run(f"""
        name: s1 rounding
        start_date: 2027-01-04
        horizon_days: 10
        courses:
          - id: I
            type: ilc
            sessions: [{{day: {day!r}, capacity: 1}}]
            behaviour: {{start_after_days: 0}}
        learners:
          - {{id: bob, joined_day: {day!r}}}
        script:
          - {{day: {day!r}, action: enroll, learner: bob, course: I}}
        """)
    stamp = pd.Timestamp(at)
    seconds = (stamp - pd.Timestamp("2027-01-04")).total_seconds()
    assert one(result.enrollments, learner_id="bob")["enrolled_at"] == stamp
    assert one(result.events, event="learner_added")["at"] == stamp
    session = one(result.sessions, course_id="I")
    assert session["day"] == seconds / 86400  # the session is at that second too ...
    assert one(result.enrollments, learner_id="bob")["completed_at"] == stamp  # ... and attended


def test_S1_sampled_durations_are_whole_seconds():
    result = run("""
        name: s1 samples
        start_date: 2027-01-04
        seed: 7
        horizon_days: 60
        courses:
          - id: A
            type: online
            behaviour:
              start_after_days: {dist: exponential, mean: 1.3}
              duration_days: {dist: uniform, min: 0.01, max: 2.7}
        learners: [a, b, c, d, e, f, g, h]
        script:
          - {day: 0.25, action: enroll, learner: a, course: A}
          - {day: 0.25, action: enroll, learner: b, course: A}
          - {day: 0.25, action: enroll, learner: c, course: A}
          - {day: 0.25, action: enroll, learner: d, course: A}
          - {day: 0.25, action: enroll, learner: e, course: A}
          - {day: 0.25, action: enroll, learner: f, course: A}
          - {day: 0.25, action: enroll, learner: g, course: A}
          - {day: 0.25, action: enroll, learner: h, course: A}
        """)
    done = result.enrollments.dropna(subset=["completed_at"])
    assert len(done) == 8
    for column in ("started_at", "completed_at"):
        stamps = done[column]
        assert (stamps == stamps.dt.floor("s")).all()  # no fraction of a second
        # and the day number is that second's
        seconds = (stamps - pd.Timestamp("2027-01-04")).dt.total_seconds()
        assert (done[column.replace("_at", "_day")] == seconds / 86400).all()


@pytest.mark.parametrize("delay", ["-1", "2.5", "five", "true"])
def test_S2_delay_must_be_whole_days(delay):
    found = errors(
        TWO.format(script="  []", when="completed", delay=delay, horizon=10).replace(
            "script:\n  []", "script: []"
        )
    )
    assert len(found) == 1
    assert "inline.yaml:8: courses.0.post_enrollments.0.delay_days:" in found[0]
    assert "S2" in found[0]


def test_S2_delay_zero_is_immediate():
    result = two("""  - {day: 0, action: enroll, learner: alice, course: A}
  - {day: 3, action: complete, learner: alice, course: A}""")
    assert one(result.enrollments, course_id="B")["enrolled_day"] == 3


def test_S3_exact_processing_at_due_time():
    result = two(
        """  - {day: 0, action: enroll, learner: alice, course: A}
  - {day: 3.25, action: complete, learner: alice, course: A}""",
        delay=5,
    )
    job = one(result.jobs, rule_id="R1")
    assert (job["queued_day"], job["due_day"], job["processed_day"]) == (3.25, 8.25, 8.25)


DAILY = """
name: daily
horizon_days: 30
processing: {{mode: daily, hour: 2}}
courses:
  - id: A
    type: online
    post_enrollments:
      - {{id: R1, when: completed, delay_days: {delay}, courses: [B]}}
  - {{id: B, type: online}}
learners: [alice]
script:
  - {{day: 0, action: enroll, learner: alice, course: A}}
  - {{day: {day}, action: complete, learner: alice, course: A}}
"""


@pytest.mark.parametrize(
    ("day", "delay", "processed"),
    [
        (3.5, 0, 4 + 2 / 24),  # after today's run: the next day's
        (3.0, 0, 3 + 2 / 24),  # before today's run: today's
        (3.0, 2, 5 + 2 / 24),
        (3 + 2 / 24, 0, 3 + 2 / 24),  # due exactly at a run time: that run
        (3 + 2 / 24, 1, 4 + 2 / 24),
    ],
)
def test_S3_daily_processing_runs_at_the_hour(day, delay, processed):
    result = run(DAILY.format(day=repr(day), delay=delay))
    job = one(result.jobs, rule_id="R1")
    assert job["due_day"] == pytest.approx(day + delay)
    assert job["processed_day"] == pytest.approx(processed, abs=1e-12)
    assert one(result.enrollments, course_id="B")["enrolled_day"] == job["processed_day"]


# ----- Catalog ---------------------------------------------------------------------


def test_S4_course_types():
    result = run("""
        name: s4
        horizon_days: 5
        courses:
          - {id: O, type: online}
          - {id: I, type: ilc}
          - {id: C, type: curriculum, members: [O]}
          - {id: BD, type: bundle, members: [I]}
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: C}
          - {day: 0, action: enroll, learner: alice, course: BD}
        """)
    types = per_course(result.enrollments, "course_type")
    assert types == {"C": "curriculum", "BD": "bundle", "I": "ilc"}
    found = errors("""
        name: s4
        horizon_days: 5
        courses: [{id: X, type: elearning}]
        """)
    assert "courses.0.type" in found[0] and "'online'" in found[0]


def test_S5_allow_failure_only_on_online_and_ilc():
    found = errors("""
        name: s5
        horizon_days: 5
        courses:
          - {id: O, type: online}
          - {id: C, type: curriculum, members: [O], allow_failure: true}
        """)
    assert found == [
        "inline.yaml:6: courses.1.allow_failure: allow_failure can be set on online and ilc courses only, not on a curriculum (S5)"
    ]


def test_S5_only_allow_failure_courses_can_fail():
    found = errors(
        TWO.format(
            script="  - {day: 0, action: enroll, learner: alice, course: A}\n  - {day: 1, action: fail, learner: alice, course: A}",
            when="completed",
            delay=0,
            horizon=5,
        )
    )
    assert len(found) == 1 and "script.1.course" in found[0] and "allow_failure" in found[0]


def test_S6_course_activity_changes_over_time():
    result = run("""
        name: s6
        horizon_days: 10
        courses: [{id: A, type: online, active: false}]
        learners: [alice]
        script:
          - {day: 1, action: enroll, learner: alice, course: A, method: self}
          - {day: 2, action: activate_course, course: A}
          - {day: 3, action: enroll, learner: alice, course: A, method: self}
          - {day: 4, action: deactivate_course, course: A}
        """)
    assert one(result.events, event="self_enroll_rejected")["detail"] == "course_inactive"
    assert one(result.enrollments, course_id="A")["enrolled_day"] == 3
    assert list(rows(result.events, course_id="A")["event"].astype(str)) == [
        "self_enroll_rejected",
        "course_activated",
        "enrolled",
        "course_deactivated",
    ]


def test_S7_prerequisites_required_count():
    result = run("""
        name: s7
        horizon_days: 10
        courses:
          - {id: P1, type: online}
          - {id: P2, type: online}
          - {id: ANY, type: online, prerequisites: {courses: [P1, P2], required: 1}}
          - {id: ALL, type: online, prerequisites: {courses: [P1, P2]}}
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: P1}
          - {day: 1, action: complete, learner: alice, course: P1}
          - {day: 2, action: enroll, learner: alice, course: ANY, method: self}
          - {day: 2, action: enroll, learner: alice, course: ALL, method: self}
        """)
    assert len(rows(result.enrollments, course_id="ANY", method="self")) == 1
    assert len(rows(result.enrollments, course_id="ALL")) == 0
    assert (
        one(result.events, event="self_enroll_rejected", course_id="ALL")["detail"]
        == "prerequisites_not_met"
    )


# ----- Rules (configuration) ---------------------------------------------------------


def test_S8_no_rules_on_bundles():
    found = errors("""
        name: s8
        horizon_days: 5
        courses:
          - {id: O, type: online}
          - id: BD
            type: bundle
            members: [O]
            post_enrollments: [{when: enrolled, delay_days: 0, courses: [O]}]
        """)
    assert found == [
        "inline.yaml:9: courses.1.post_enrollments: Post Enrollment rules cannot be configured on a bundle (S8)"
    ]


def test_S8_no_rules_added_to_bundles_by_script():
    found = errors("""
        name: s8
        horizon_days: 5
        courses:
          - {id: O, type: online}
          - {id: BD, type: bundle, members: [O]}
        script:
          - {day: 1, action: add_rule, course: BD, rule: {when: enrolled, delay_days: 0, courses: [O]}}
        """)
    assert len(found) == 1 and "script.0.course" in found[0] and "S8" in found[0]


def test_S9_failed_rule_needs_allow_failure_and_never_on_curricula():
    found = errors("""
        name: s9
        horizon_days: 5
        courses:
          - id: O
            type: online
            post_enrollments: [{when: failed, delay_days: 0, courses: [O]}]
          - id: C
            type: curriculum
            members: [O]
            post_enrollments: [{when: failed, delay_days: 0, courses: [O]}]
          - id: F
            type: online
            allow_failure: true
            post_enrollments: [{when: failed, delay_days: 0, courses: [O]}]
        """)
    assert len(found) == 2
    assert "courses.0.post_enrollments.0.when" in found[0] and "allow_failure" in found[0]
    assert "courses.1.post_enrollments.0.when" in found[1] and "curriculum cannot fail" in found[1]


def test_S10_several_targets_a_target_may_be_the_source_and_must_exist():
    result = run("""
        name: s10
        horizon_days: 10
        courses:
          - id: A
            type: online
            post_enrollments:
              - {id: R1, when: completed, delay_days: 1, courses: [B, A, C], allow_consecutive: true}
          - {id: B, type: online}
          - {id: C, type: online}
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 1, action: complete, learner: alice, course: A}
        """)
    assert list(result.jobs["target_course_id"].astype(str)) == ["B", "A", "C"]
    assert list(result.jobs["outcome"].astype(str)) == ["enrolled"] * 3
    assert len(rows(result.enrollments, course_id="A")) == 2
    found = errors(
        TWO.format(script="  []", when="completed", delay=0, horizon=5)
        .replace("courses: [B]", "courses: [Q]")
        .replace("script:\n  []", "script: []")
    )
    assert "courses.0.post_enrollments.0.courses.0: unknown course 'Q'" in found[0]


def test_S10_bundle_target_enrolls_the_bundle_and_its_members():
    result = run("""
        name: s10b
        horizon_days: 10
        courses:
          - id: A
            type: online
            post_enrollments: [{id: R1, when: completed, delay_days: 0, courses: [BD]}]
          - {id: BD, type: bundle, members: [M1, M2]}
          - {id: M1, type: online}
          - {id: M2, type: online}
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 1, action: complete, learner: alice, course: A}
        """)
    assert one(result.enrollments, course_id="BD")["method"] == "post_enrollment"
    assert len(rows(result.enrollments, method="bundle")) == 2


def test_S11_allow_consecutive_defaults_to_off():
    result = two("""  - {day: 0, action: enroll, learner: alice, course: B}
  - {day: 1, action: complete, learner: alice, course: B}
  - {day: 2, action: enroll, learner: alice, course: A}
  - {day: 3, action: complete, learner: alice, course: A}""")
    assert one(result.jobs, rule_id="R1")["outcome"] == "skipped_already_completed"


def test_S12_default_rule_ids_and_uniqueness():
    result = run("""
        name: s12
        horizon_days: 10
        courses:
          - id: A
            type: online
            post_enrollments:
              - {when: enrolled, delay_days: 0, courses: [B]}
              - {when: enrolled, delay_days: 1, courses: [B]}
          - {id: B, type: online}
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 0, action: add_rule, course: A, rule: {when: completed, delay_days: 0, courses: [B]}}
          - {day: 1, action: complete, learner: alice, course: A}
        """)
    assert list(result.jobs["rule_id"].astype(str)) == ["A#1", "A#2", "A#3"]
    found = errors("""
        name: s12
        horizon_days: 10
        courses:
          - id: A
            type: online
            post_enrollments:
              - {id: X, when: enrolled, delay_days: 0, courses: [A]}
              - {id: X, when: completed, delay_days: 0, courses: [A]}
        """)
    assert found == ["inline.yaml:9: courses.0.post_enrollments.1.id: duplicate rule id 'X' (S12)"]


# ----- Enrollments -------------------------------------------------------------------


def test_S13_statuses_and_terminal_states():
    result = run("""
        name: s13
        horizon_days: 10
        courses: [{id: A, type: online, allow_failure: true}, {id: B, type: online}, {id: C, type: online}]
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 0, action: enroll, learner: alice, course: B}
          - {day: 0, action: enroll, learner: alice, course: C}
          - {day: 1, action: start, learner: alice, course: B}
          - {day: 1, action: start, learner: alice, course: C}
          - {day: 2, action: fail, learner: alice, course: A}
          - {day: 3, action: complete, learner: alice, course: C}
        """)
    status = per_course(result.enrollments, "status")
    assert status == {"A": "failed", "B": "in_progress", "C": "complete"}
    found = errors("""
        name: s13
        horizon_days: 10
        courses: [{id: A, type: online}]
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 1, action: complete, learner: alice, course: A}
          - {day: 2, action: complete, learner: alice, course: A}
        """)
    assert found == [
        "inline.yaml:9: script.2: day 2: complete alice A: cannot complete: the current enrollment was already completed on day 1"
    ]


def test_S14_one_current_enrollment_history_keeps_status():
    result = run("""
        name: s14
        horizon_days: 10
        courses: [{id: A, type: online}]
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 1, action: complete, learner: alice, course: A}
          - {day: 4, action: enroll, learner: alice, course: A}
        """)
    first, second = (row for _, row in result.enrollments.iterrows())
    assert (first["status"], first["superseded_day"]) == ("complete", 4)
    assert second["status"] == "not_started" and math.isnan(second["superseded_day"])
    assert one(result.events, event="superseded")["enrollment_id"] == 0


def test_S15_methods():
    result = run("""
        name: s15
        horizon_days: 10
        courses:
          - id: A
            type: online
            post_enrollments: [{id: R, when: enrolled, delay_days: 0, courses: [BD]}]
          - {id: BD, type: bundle, members: [M]}
          - {id: M, type: online}
          - {id: S, type: online}
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 0, action: enroll, learner: alice, course: S, method: self}
        """)
    methods = per_course(result.enrollments, "method")
    assert methods == {"A": "admin", "BD": "post_enrollment", "M": "bundle", "S": "self"}
    bd = one(result.enrollments, course_id="BD")
    assert (bd["rule_id"], bd["job_id"]) == ("R", 0)
    assert pd.isna(one(result.enrollments, course_id="A")["rule_id"])


def test_S16_admin_and_rules_bypass_prerequisites_self_is_gated():
    result = run("""
        name: s16
        horizon_days: 10
        courses:
          - {id: P, type: online}
          - id: A
            type: online
            post_enrollments: [{id: R, when: completed, delay_days: 0, courses: [GATED]}]
          - {id: GATED, type: online, prerequisites: {courses: [P]}}
        learners: [alice, bob, carol]
        script:
          - {day: 0, action: enroll, learner: alice, course: GATED}
          - {day: 0, action: enroll, learner: bob, course: A}
          - {day: 1, action: complete, learner: bob, course: A}
          - {day: 1, action: enroll, learner: carol, course: GATED, method: self}
          - {day: 2, action: enroll, learner: alice, course: GATED, method: self}
          - {day: 3, action: enroll, learner: alice, course: GATED}
        """)
    e = result.enrollments
    assert len(rows(e, learner_id="alice", course_id="GATED")) == 2  # admin, then admin again
    assert one(e, learner_id="bob", course_id="GATED")["method"] == "post_enrollment"
    assert len(rows(e, learner_id="carol")) == 0
    rejected = rows(result.events, event="self_enroll_rejected")
    assert list(rejected["detail"].astype(str)) == ["prerequisites_not_met", "already_enrolled"]
    # [lms] admin re-enrollment of an open enrollment supersedes it
    assert one(e, learner_id="alice", course_id="GATED", enrolled_day=0.0)["superseded_day"] == 3


def test_S17_enrolled_trigger_on_every_new_record_whatever_the_method():
    result = run("""
        name: s17
        horizon_days: 10
        courses:
          - id: A
            type: online
            active: false
            post_enrollments: [{id: R, when: enrolled, delay_days: 0, courses: [B]}]
          - {id: B, type: online}
          - {id: BD, type: bundle, members: [A]}
        learners: [alice, bob]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 1, action: enroll, learner: alice, course: A}
          - {day: 2, action: enroll, learner: bob, course: BD}
        """)
    assert list(result.jobs["trigger_enrollment_id"]) == [
        0,
        2,
        4,
    ]  # inactive, re-enrollment, bundle
    assert set(result.jobs["trigger"].astype(str)) == {"enrolled"}


def test_S17_completed_is_a_pass_only_and_failed_a_failure():
    result = run("""
        name: s17b
        horizon_days: 10
        courses:
          - id: A
            type: online
            allow_failure: true
            post_enrollments:
              - {id: ON-PASS, when: completed, delay_days: 0, courses: [P]}
              - {id: ON-FAIL, when: failed, delay_days: 0, courses: [F]}
          - {id: P, type: online}
          - {id: F, type: online}
        learners: [alice, bob]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 0, action: enroll, learner: bob, course: A}
          - {day: 1, action: fail, learner: alice, course: A}
          - {day: 2, action: complete, learner: bob, course: A}
        """)
    assert set(
        zip(result.jobs["rule_id"].astype(str), result.jobs["learner_id"].astype(str), strict=True)
    ) == {("ON-FAIL", "alice"), ("ON-PASS", "bob")}


def test_S18_snapshot_not_retroactive_and_removal_keeps_queued_jobs():
    result = run("""
        name: s18
        horizon_days: 60
        courses:
          - id: A
            type: online
            post_enrollments: [{id: R, when: completed, delay_days: 10, courses: [B]}]
          - {id: B, type: online}
          - {id: C, type: online}
        learners: [alice, bob, carol]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 0, action: enroll, learner: bob, course: A}
          - {day: 0, action: enroll, learner: carol, course: A}
          - {day: 1, action: complete, learner: alice, course: A}
          - {day: 2, action: edit_rule, rule: R, set: {courses: [C], delay_days: 1}}
          - {day: 3, action: complete, learner: bob, course: A}
          - {day: 4, action: add_rule, course: A, rule: {id: LATE, when: completed, delay_days: 0, courses: [B]}}
          - {day: 5, action: remove_rule, rule: R}
          - {day: 6, action: complete, learner: carol, course: A}
        """)
    jobs = result.jobs
    alice = one(jobs, learner_id="alice")
    assert (alice["target_course_id"], alice["processed_day"]) == (
        "B",
        11,
    )  # queued before the edit
    bob = one(jobs, learner_id="bob")
    assert (bob["target_course_id"], bob["processed_day"]) == ("C", 4)  # the edited rule
    assert list(rows(jobs, learner_id="carol")["rule_id"].astype(str)) == [
        "LATE"
    ]  # R removed, LATE in force
    assert len(rows(jobs, rule_id="LATE")) == 1  # not retroactive for alice and bob


def test_S18_edit_keeps_queued_snapshot_even_while_the_rule_lives_on():
    result = run("""
        name: s18b
        horizon_days: 60
        courses:
          - id: A
            type: online
            post_enrollments: [{id: R, when: completed, delay_days: 10, courses: [B]}]
          - {id: B, type: online}
          - {id: C, type: online}
        learners: [alice, bob]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 0, action: enroll, learner: bob, course: A}
          - {day: 1, action: complete, learner: alice, course: A}
          - {day: 2, action: edit_rule, rule: R, set: {courses: [C], allow_consecutive: true}}
          - {day: 3, action: complete, learner: bob, course: A}
        """)
    assert one(result.jobs, learner_id="alice")["target_course_id"] == "B"
    assert one(result.jobs, learner_id="bob")["target_course_id"] == "C"
    assert one(result.events, event="rule_edited")["day"] == 2


def test_S19_step_order_removed_then_open_then_completed():
    result = run("""
        name: s19
        horizon_days: 30
        courses:
          - id: A
            type: online
            post_enrollments:
              - {id: R, when: completed, delay_days: 5, courses: [OPEN, DONE, FAILED, NEW], allow_consecutive: false}
          - {id: OPEN, type: online}
          - {id: DONE, type: online}
          - {id: FAILED, type: online, allow_failure: true}
          - {id: NEW, type: online}
        learners: [alice, bob]
        script:
          - {day: 0, action: enroll, learner: alice, course: OPEN}
          - {day: 0, action: enroll, learner: alice, course: DONE}
          - {day: 0, action: enroll, learner: alice, course: FAILED}
          - {day: 0, action: complete, learner: alice, course: DONE}
          - {day: 0, action: enroll, learner: alice, course: DONE}
          - {day: 0, action: fail, learner: alice, course: FAILED}
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 0, action: enroll, learner: bob, course: A}
          - {day: 0, action: enroll, learner: bob, course: OPEN}
          - {day: 1, action: complete, learner: alice, course: A}
          - {day: 1, action: complete, learner: bob, course: A}
          - {day: 2, action: remove_learner, learner: bob}
        """)
    alice = rows(result.jobs, learner_id="alice")
    # DONE's current enrollment is open again (re-enrolled), so step 2 wins over step 3
    assert list(alice["outcome"].astype(str)) == [
        "skipped_already_enrolled",
        "skipped_already_enrolled",
        "enrolled",
        "enrolled",
    ]
    failed = rows(result.enrollments, learner_id="alice", course_id="FAILED")
    assert list(failed["status"].astype(str)) == [
        "failed",
        "not_started",
    ]  # terminal current superseded
    assert failed.iloc[0]["superseded_day"] == 6
    bob = rows(result.jobs, learner_id="bob")
    assert set(bob["outcome"].astype(str)) == {"skipped_learner_removed"}  # step 1 before step 2


def test_S19_step3_counts_completions_in_history():
    result = run("""
        name: s19b
        horizon_days: 20
        courses:
          - id: A
            type: online
            post_enrollments: [{id: R, when: completed, delay_days: 0, courses: [T]}]
          - {id: T, type: online, allow_failure: true}
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: T}
          - {day: 1, action: complete, learner: alice, course: T}
          - {day: 2, action: enroll, learner: alice, course: T}
          - {day: 3, action: fail, learner: alice, course: T}
          - {day: 4, action: enroll, learner: alice, course: A}
          - {day: 5, action: complete, learner: alice, course: A}
        """)
    # the current T is failed; the completion is in history and still counts
    assert one(result.jobs)["outcome"] == "skipped_already_completed"


def test_S20_consecutive_on_re_enrolls_completed_and_failed_only_is_always_re_enrolled():
    text = """
        name: s20
        horizon_days: 20
        courses:
          - id: A
            type: online
            post_enrollments:
              - {{id: R, when: completed, delay_days: 0, courses: [T], allow_consecutive: {flag}}}
          - {{id: T, type: online, allow_failure: true}}
        learners: [passed, failed]
        script:
          - {{day: 0, action: enroll, learner: passed, course: T}}
          - {{day: 0, action: enroll, learner: failed, course: T}}
          - {{day: 1, action: complete, learner: passed, course: T}}
          - {{day: 1, action: fail, learner: failed, course: T}}
          - {{day: 2, action: enroll, learner: passed, course: A}}
          - {{day: 2, action: enroll, learner: failed, course: A}}
          - {{day: 3, action: complete, learner: passed, course: A}}
          - {{day: 3, action: complete, learner: failed, course: A}}
        """
    on = run(text.format(flag="true")).jobs
    off = run(text.format(flag="false")).jobs
    assert one(on, learner_id="passed")["outcome"] == "enrolled"
    assert one(off, learner_id="passed")["outcome"] == "skipped_already_completed"
    assert one(on, learner_id="failed")["outcome"] == "enrolled"
    assert one(off, learner_id="failed")["outcome"] == "enrolled"


def test_S21_inactive_target_visible_on_activation_and_never_started_while_hidden():
    result = run("""
        name: s21
        horizon_days: 30
        courses:
          - id: A
            type: online
            post_enrollments: [{id: R, when: enrolled, delay_days: 0, courses: [B]}]
          - {id: B, type: online, active: false}
        learners: [alice, bob]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 0, action: enroll, learner: bob, course: A}
          - {day: 5, action: enroll, learner: bob, course: B}
          - {day: 10, action: activate_course, course: B}
        """)
    alice = one(result.enrollments, learner_id="alice", course_id="B")
    assert (alice["enrolled_day"], alice["visible_day"]) == (0, 10)
    bob = rows(result.enrollments, learner_id="bob", course_id="B")
    assert math.isnan(bob.iloc[0]["visible_day"])  # superseded before activation: never seen
    assert bob.iloc[1]["visible_day"] == 10
    assert len(rows(result.events, event="visible")) == 2
    found = errors("""
        name: s21b
        horizon_days: 30
        courses: [{id: B, type: online, active: false}]
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: B}
          - {day: 1, action: start, learner: alice, course: B}
        """)
    assert len(found) == 1 and "script.1" in found[0] and "cannot see" in found[0]


CHAIN = """
name: chain
horizon_days: 5
processing: {{mode: exact, cascade_limit: {limit}}}
courses:
{courses}
learners: [alice]
script:
  - {{day: 1, action: enroll, learner: alice, course: C0}}
"""


def chain(n: int, limit: int = 1000):
    courses = (
        "\n".join(
            f"  - {{id: C{i}, type: online, post_enrollments: [{{id: R{i}, when: enrolled, delay_days: 0, courses: [C{i + 1}]}}]}}"
            for i in range(n)
        )
        + f"\n  - {{id: C{n}, type: online}}"
    )
    return run(CHAIN.format(courses=courses, limit=limit))


def test_S22_cascades_run_fifo_at_one_instant():
    result = chain(5)
    assert list(result.enrollments["course_id"].astype(str)) == ["C0", "C1", "C2", "C3", "C4", "C5"]
    assert set(result.enrollments["enrolled_day"]) == {1.0}
    assert list(result.jobs["job_id"]) == [0, 1, 2, 3, 4]


def test_S22_cascade_guard_stops_and_warns():
    result = chain(10, limit=3)
    outcomes = list(result.jobs["outcome"].astype(str))
    assert outcomes == ["enrolled"] * 3 + ["cascade_limit"]
    assert len(result.warnings) == 1 and "cascade limit" in result.warnings[0]
    assert len(rows(result.events, event="cascade_limit")) == 1


def test_S22_v2_every_job_processed_for_a_learner_at_one_instant_counts():
    # S22 v2: the guard counts the jobs processed for one learner at one instant, not
    # only one chain's. Daily runs at 02:00 (S3): four unrelated jobs queued during day
    # 1 are all processed by the day-2 run; with a limit of 3 the fourth is stopped.
    result = run("""
        name: s22 v2
        horizon_days: 5
        processing: {mode: daily, hour: 2, cascade_limit: 3}
        courses:
          - {id: A, type: online, post_enrollments: [{id: RA, when: completed, delay_days: 0, courses: [TA]}]}
          - {id: B, type: online, post_enrollments: [{id: RB, when: completed, delay_days: 0, courses: [TB]}]}
          - {id: C, type: online, post_enrollments: [{id: RC, when: completed, delay_days: 0, courses: [TC]}]}
          - {id: D, type: online, post_enrollments: [{id: RD, when: completed, delay_days: 0, courses: [TD]}]}
          - {id: TA, type: online}
          - {id: TB, type: online}
          - {id: TC, type: online}
          - {id: TD, type: online}
        learners: [alice]
        script:
          - {day: 1, action: enroll, learner: alice, course: A}
          - {day: 1, action: enroll, learner: alice, course: B}
          - {day: 1, action: enroll, learner: alice, course: C}
          - {day: 1, action: enroll, learner: alice, course: D}
          - {day: 1.25, action: complete, learner: alice, course: A}
          - {day: 1.5, action: complete, learner: alice, course: B}
          - {day: 1.75, action: complete, learner: alice, course: C}
          - {day: 1.875, action: complete, learner: alice, course: D}
        """)
    jobs = result.jobs.sort_values("job_id")
    assert set(jobs["processed_day"]) == {2 + 2 / 24}  # one run, one instant
    assert list(jobs["outcome"].astype(str)) == ["enrolled"] * 3 + ["cascade_limit"]
    assert len(result.warnings) == 1


def test_S22_default_guard_is_1000_jobs():
    result = chain(1002)
    assert (result.jobs["outcome"] == "enrolled").sum() == 1000
    assert list(result.jobs["outcome"].astype(str))[-1] == "cascade_limit"


def test_S23_script_first_then_jobs_in_queue_order_then_new_delay_zero_jobs():
    result = run("""
        name: s23
        horizon_days: 20
        courses:
          - id: A
            type: online
            post_enrollments: [{id: RA, when: completed, delay_days: 5, courses: [B]}]
          - id: X
            type: online
            post_enrollments: [{id: RX, when: completed, delay_days: 4, courses: [Y]}]
          - id: Y
            type: online
            post_enrollments: [{id: RY, when: enrolled, delay_days: 0, courses: [Z]}]
          - {id: B, type: online}
          - {id: Z, type: online}
        learners: [alice, bob]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 0, action: enroll, learner: bob, course: X}
          - {day: 0, action: enroll, learner: bob, course: A}
          - {day: 1, action: complete, learner: alice, course: A}
          - {day: 1, action: complete, learner: bob, course: A}
          - {day: 2, action: complete, learner: bob, course: X}
          - {day: 6, action: enroll, learner: alice, course: B}
        """)
    # day 6: the script enrolls alice in B before RA's job runs, which then finds B open
    assert one(result.jobs, learner_id="alice")["outcome"] == "skipped_already_enrolled"
    processed = rows(result.events, event="job_processed", day=6.0)
    # jobs due at day 6 in queue order (RA alice, RA bob, RX bob), then RY's delay-0 job
    assert list(processed["rule_id"].astype(str)) == ["RA", "RA", "RX", "RY"]
    assert list(processed["learner_id"].astype(str)) == ["alice", "bob", "bob", "bob"]


def test_S23_learner_steps_and_jobs_of_an_instant_run_in_the_order_scheduled():
    # S23 v2, worked by hand. Day 0: alice completes A (RA's job J1 is queued, due day
    # 2), then bob enrolls in F and starts it at once; his finish is scheduled for day
    # 2, after J1. Day 2: the script enrolls carol in X first (RX's delay-0 job J2 is
    # queued now). Then everything due at day 2 in the order it was scheduled: J1
    # (alice into B, whose RB queues the delay-0 job J3), bob's finish, J2, and J3
    # last (queued during that processing: at the end of that queue). The engine used
    # to run an instant's jobs as one group, so J2 and J3 ran before bob's finish.
    result = run("""
        name: s23 v2
        horizon_days: 10
        courses:
          - id: A
            type: online
            post_enrollments: [{id: RA, when: completed, delay_days: 2, courses: [B]}]
          - id: B
            type: online
            post_enrollments: [{id: RB, when: enrolled, delay_days: 0, courses: [C]}]
          - id: X
            type: online
            post_enrollments: [{id: RX, when: enrolled, delay_days: 0, courses: [Y]}]
          - {id: C, type: online}
          - {id: Y, type: online}
          - id: F
            type: online
            behaviour: {start_after_days: 0, duration_days: 2}
        learners: [alice, bob, carol]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 0, action: complete, learner: alice, course: A}
          - {day: 0, action: enroll, learner: bob, course: F}
          - {day: 2, action: enroll, learner: carol, course: X}
        """)
    day2 = rows(result.events, day=2.0)
    happened = [
        (str(e), str(learner), str(course))
        for e, learner, course in zip(
            day2["event"], day2["learner_id"], day2["course_id"], strict=True
        )
        if e in ("enrolled", "completed", "job_processed")
    ]
    assert happened == [
        ("enrolled", "carol", "X"),  # the script first
        ("job_processed", "alice", "B"),  # J1: scheduled on day 0, before bob's finish
        ("enrolled", "alice", "B"),
        ("completed", "bob", "F"),  # bob's finish, scheduled on day 0
        ("job_processed", "carol", "Y"),  # J2: queued on day 2 by the script
        ("enrolled", "carol", "Y"),
        ("job_processed", "alice", "C"),  # J3: queued while J1 ran, at the end
        ("enrolled", "alice", "C"),
    ]


def test_S30_v2_a_session_at_the_moment_of_booking_is_in_reach():
    # S30 v2: a learner books the earliest session with a seat that starts at or after
    # the moment they book, to the second (S1). ann books at day 2.5, the second of the
    # first session; ben books one second later (2.500011574 is 12:00:01), too late.
    result = run("""
        name: s30 v2
        horizon_days: 10
        courses:
          - id: I
            type: ilc
            sessions: [{day: 2.5, capacity: 5}, {day: 3, capacity: 5}]
            behaviour: {start_after_days: 0}
        learners: [ann, ben]
        script:
          - {day: 2.5, action: enroll, learner: ann, course: I}
          - {day: 2.500011574, action: enroll, learner: ben, course: I}
        """)
    booked = rows(result.events, event="session_booked")
    assert dict(zip(booked["learner_id"].astype(str), booked["detail"], strict=True)) == {
        "ann": "I@2.5",
        "ben": "I@3",
    }
    assert one(result.enrollments, learner_id="ann")["completed_day"] == 2.5


def test_S24_jobs_queued_at_the_horizon_are_pending():
    result = two(
        """  - {day: 0, action: enroll, learner: alice, course: A}
  - {day: 5, action: complete, learner: alice, course: A}""",
        delay=30,
        horizon=20,
    )
    job = one(result.jobs)
    assert (
        job["outcome"] == "pending"
        and math.isnan(job["processed_day"])
        and pd.isna(job["enrollment_id"])
    )
    assert job["due_day"] == 35


def test_S24_a_job_due_at_the_horizon_still_runs():
    result = two(
        """  - {day: 0, action: enroll, learner: alice, course: A}
  - {day: 5, action: complete, learner: alice, course: A}""",
        delay=15,
        horizon=20,
    )
    assert one(result.jobs)["outcome"] == "enrolled"


# ----- Curricula ---------------------------------------------------------------------

CURRICULUM = """
name: curriculum
horizon_days: 100
courses:
  - {id: A, type: online}
  - {id: B, type: online}
  - {id: C, type: online}
  - id: CUR
    type: curriculum
    groups:
      - {courses: [A]}
      - {courses: [B, C], required: 1}
    post_enrollments:
      - {id: RECERT, when: completed, delay_days: 10, courses: [CUR], allow_consecutive: true}
learners: [alice]
script:
"""


def test_S25_curriculum_enrollment_does_not_enroll_members():
    result = run(CURRICULUM + "  - {day: 0, action: enroll, learner: alice, course: CUR}\n")
    assert list(result.enrollments["course_id"].astype(str)) == ["CUR"]


def test_S26_groups_and_first_instant_requirements_are_met():
    result = run(
        CURRICULUM
        + """  - {day: 0, action: enroll, learner: alice, course: CUR}
  - {day: 0, action: enroll, learner: alice, course: A}
  - {day: 0, action: enroll, learner: alice, course: C}
  - {day: 2, action: complete, learner: alice, course: A}
  - {day: 3, action: complete, learner: alice, course: C}
"""
    )
    cur = rows(result.enrollments, course_id="CUR").iloc[0]
    assert (cur["started_day"], cur["completed_day"]) == (2, 3)  # in progress at the first member
    assert one(result.jobs)["due_day"] == 13


def test_S26_v2_completed_at_the_instant_of_its_first_counting_completion_never_starts():
    # S26 v2: both members complete at day 3 (two script actions, one instant): the
    # first counting completion and the requirements met are the same instant, so the
    # curriculum goes straight to complete, with no started_day and no `started` event.
    result = run("""
        name: s26 v2
        horizon_days: 10
        courses:
          - {id: M1, type: online}
          - {id: M2, type: online}
          - {id: CUR, type: curriculum, members: [M1, M2]}
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: CUR}
          - {day: 0, action: enroll, learner: alice, course: M1}
          - {day: 0, action: enroll, learner: alice, course: M2}
          - {day: 3, action: complete, learner: alice, course: M1}
          - {day: 3, action: complete, learner: alice, course: M2}
        """)
    cur = one(result.enrollments, course_id="CUR")
    assert cur["status"] == "complete" and cur["completed_day"] == 3.0
    assert math.isnan(cur["started_day"])
    assert rows(result.events, event="started", course_id="CUR").empty


def test_S26_v2_two_of_three_counting_at_one_instant_complete_it_never_started():
    # S26 v2 with a group's required count: M1 and M3 complete at day 4 (2 of 3 required):
    # the first counting completion and the requirement met are one instant, no start.
    result = run("""
        name: s26 v2 two of three
        horizon_days: 10
        courses:
          - {id: M1, type: online}
          - {id: M2, type: online}
          - {id: M3, type: online}
          - {id: CUR, type: curriculum, groups: [{courses: [M1, M2, M3], required: 2}]}
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: CUR}
          - {day: 0, action: enroll, learner: alice, course: M1}
          - {day: 0, action: enroll, learner: alice, course: M3}
          - {day: 4, action: complete, learner: alice, course: M1}
          - {day: 4, action: complete, learner: alice, course: M3}
        """)
    cur = one(result.enrollments, course_id="CUR")
    assert (cur["status"], cur["completed_day"]) == ("complete", 4.0)
    assert math.isnan(cur["started_day"])
    assert rows(result.events, event="started", course_id="CUR").empty


def test_S26_v2_a_learner_step_later_in_the_instant_completes_it_never_started():
    # S26 v2 across an instant's calls (S23): the script completes M1 at day 3, then the
    # learner's own finish of M2 (started day 1, 2 days long) runs at the same instant and
    # meets the requirements: complete at day 3, never started.
    result = run("""
        name: s26 v2 one instant, two calls
        horizon_days: 10
        courses:
          - {id: M1, type: online}
          - {id: M2, type: online, behaviour: {start_after_days: 1, duration_days: 2}}
          - {id: CUR, type: curriculum, members: [M1, M2]}
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: CUR}
          - {day: 0, action: enroll, learner: alice, course: M1}
          - {day: 0, action: enroll, learner: alice, course: M2}
          - {day: 3, action: complete, learner: alice, course: M1}
        """)
    m2 = one(result.enrollments, course_id="M2")
    assert m2["completed_day"] == 3.0  # the learner's step, not the script
    cur = one(result.enrollments, course_id="CUR")
    assert (cur["status"], cur["completed_day"]) == ("complete", 3.0)
    assert math.isnan(cur["started_day"])


def test_S26_v2_a_delay_0_chain_that_completes_it_within_the_instant_never_starts_it():
    # S26 v2 with S22/S23: the script completes M1 at day 3; its delay-0 rule enrolls M2,
    # which the learner starts and finishes at once (no wait), all at day 3, after every
    # call that was due then: the curriculum is complete at day 3, never started.
    result = run("""
        name: s26 v2 delay-0 chain
        horizon_days: 10
        courses:
          - id: M1
            type: online
            post_enrollments: [{id: NEXT, when: completed, delay_days: 0, courses: [M2]}]
          - {id: M2, type: online, behaviour: {start_after_days: 0, duration_days: 0}}
          - {id: CUR, type: curriculum, members: [M1, M2]}
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: CUR}
          - {day: 0, action: enroll, learner: alice, course: M1}
          - {day: 3, action: complete, learner: alice, course: M1}
        """)
    assert one(result.enrollments, course_id="M2")["completed_day"] == 3.0
    cur = one(result.enrollments, course_id="CUR")
    assert (cur["status"], cur["completed_day"]) == ("complete", 3.0)
    assert math.isnan(cur["started_day"])
    assert rows(result.events, event="started", course_id="CUR").empty


def test_S26_only_completions_after_the_previous_curriculum_completion_count():
    result = run(
        CURRICULUM
        + """  - {day: 0, action: enroll, learner: alice, course: A}
  - {day: 0, action: enroll, learner: alice, course: B}
  - {day: 1, action: complete, learner: alice, course: A}
  - {day: 2, action: complete, learner: alice, course: B}
  - {day: 5, action: enroll, learner: alice, course: CUR}
  - {day: 20, action: enroll, learner: alice, course: A}
  - {day: 21, action: complete, learner: alice, course: A}
  - {day: 30, action: enroll, learner: alice, course: B}
  - {day: 31, action: complete, learner: alice, course: B}
"""
    )
    cur = rows(result.enrollments, course_id="CUR")
    assert list(cur["enrolled_day"]) == [5, 15, 41]
    assert list(cur["completed_day"].fillna(-1)) == [
        5,
        31,
        -1,
    ]  # A at 21 and B at 31 are after day 5


def test_S27_bundle_enrolls_members_skipping_open_ones_each_an_enrolled_trigger():
    result = run("""
        name: s27
        horizon_days: 10
        courses:
          - {id: BD, type: bundle, members: [M1, M2]}
          - id: M1
            type: online
            post_enrollments: [{id: R, when: enrolled, delay_days: 0, courses: [N]}]
          - {id: M2, type: online}
          - {id: N, type: online}
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: M2}
          - {day: 1, action: enroll, learner: alice, course: BD}
        """)
    e = result.enrollments
    assert one(e, course_id="M1")["method"] == "bundle"
    assert len(rows(e, course_id="M2")) == 1  # open already: skipped
    assert one(result.events, event="bundle_member_skipped")["detail"] == "already_enrolled"
    assert one(result.jobs)["trigger_enrollment_id"] == one(e, course_id="M1")["enrollment_id"]
    assert pd.isna(one(e, course_id="BD")["completed_day"])


def test_S28_course_added_to_bundle_reaches_holders_removal_unenrolls_no_one():
    result = run(
        """
        name: s28
        horizon_days: 30
        courses:
          - {id: BD, type: bundle, members: [M1]}
          - {id: M1, type: online}
          - {id: M2, type: online}
        learners: [alice, bob, carol]
        script:
          - {day: 0, action: enroll, learner: bob, course: BD}
          - {day: 1, action: enroll, learner: alice, course: BD}
          - {day: 2, action: remove_learner, learner: carol}
          - {day: 5, action: add_to_bundle, bundle: BD, course: M2}
          - {day: 6, action: remove_from_bundle, bundle: BD, course: M1}
          - {day: 7, action: enroll, learner: carol, course: M1}
        """.replace("  - {day: 7, action: enroll, learner: carol, course: M1}\n", "")
    )
    m2 = rows(result.enrollments, course_id="M2")
    assert list(m2["learner_id"].astype(str)) == ["bob", "alice"]  # in bundle-enrollment order
    assert set(m2["enrolled_day"]) == {5}
    assert len(rows(result.enrollments, course_id="M1")) == 2
    assert rows(result.enrollments, course_id="M1")["superseded_day"].isna().all()


def test_S29_removed_learner_jobs_skipped_no_triggers_enrollments_stay():
    result = two(
        """  - {day: 0, action: enroll, learner: alice, course: A}
  - {day: 1, action: complete, learner: alice, course: A}
  - {day: 2, action: remove_learner, learner: alice}""",
        delay=5,
    )
    assert one(result.jobs)["outcome"] == "skipped_learner_removed"
    assert len(result.enrollments) == 1 and result.enrollments.iloc[0]["status"] == "complete"
    found = errors(
        TWO.format(
            when="completed",
            delay=0,
            horizon=10,
            script="""  - {day: 0, action: enroll, learner: alice, course: A}
  - {day: 2, action: remove_learner, learner: alice}
  - {day: 3, action: complete, learner: alice, course: A}""",
        )
    )
    assert found == ["inline.yaml:14: script.2.learner: learner 'alice' was removed on day 2 (S29)"]


def test_S29_removed_learner_open_enrollment_never_becomes_visible():
    result = run("""
        name: s29
        horizon_days: 10
        courses: [{id: A, type: online, active: false}]
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 1, action: remove_learner, learner: alice}
          - {day: 2, action: activate_course, course: A}
        """)
    row = one(result.enrollments)
    assert row["status"] == "not_started" and math.isnan(row["visible_day"])
