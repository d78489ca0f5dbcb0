"""lint: for every code a small scenario that triggers it (exact code, line and place) and
the same scenario fixed as the finding suggests, which lints clean. Where a finding
predicts an outcome (a stuck learner, a cascade, a skipped job) the engine is run to
show the prediction holds, and that the fix removes it."""

from __future__ import annotations

import json
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from test_properties import scenarios as random_scenarios

from postenroll_sim import load_scenario, parse_scenario, simulate
from postenroll_sim.design.drawing import layout
from postenroll_sim.design.lint import lint_scenario, text_report
from postenroll_sim.design.rulegraph import build
from postenroll_sim.scenario.errors import dotted
from postenroll_sim.scenario.lintcodes import CODES

from helpers import ROOT, call_budget, chain_text, errors, ladder_text, one, rows, run, scenario

LEARNER_A = """learners: [ana]
script:
  - {day: 0, action: enroll, learner: ana, course: A}
"""

# code -> (scenario, findings as (code, line, path), (old, new) edits that fix it)
CASES = {
    "PE101": (
        """name: repeat failure
horizon_days: 30
courses:
  - id: EXAM
    type: online
    allow_failure: true
    post_enrollments:
      - {id: remedial, when: failed, delay_days: 1, courses: [REFRESH]}
  - id: REFRESH
    type: online
    post_enrollments:
      - {id: retake, when: completed, delay_days: 0, courses: [EXAM]}
learners: [ana]
script:
  - {day: 0, action: enroll, learner: ana, course: EXAM}
  - {day: 1, action: fail, learner: ana, course: EXAM}
  - {day: 3, action: complete, learner: ana, course: REFRESH}
  - {day: 4, action: fail, learner: ana, course: EXAM}
""",
        [("PE101", 8, "courses.0.post_enrollments.0.allow_consecutive")],
        [("courses: [REFRESH]}", "courses: [REFRESH], allow_consecutive: true}")],
    ),
    "PE102": (
        """name: recertification
horizon_days: 400
courses:
  - id: A
    type: online
    post_enrollments:
      - {id: renew, when: completed, delay_days: 365, courses: [A]}
"""
        + LEARNER_A
        + "  - {day: 10, action: complete, learner: ana, course: A}\n",
        [("PE102", 7, "courses.0.post_enrollments.0.allow_consecutive")],
        [("courses: [A]}", "courses: [A], allow_consecutive: true}")],
    ),
    "PE103": (
        """name: curriculum recertification
horizon_days: 400
courses:
  - id: C
    type: curriculum
    members: [M]
    post_enrollments:
      - {id: members, when: enrolled, delay_days: 0, courses: [M]}
      - {id: recert, when: completed, delay_days: 365, courses: [C], allow_consecutive: true}
  - {id: M, type: online}
learners: [ana]
script:
  - {day: 0, action: enroll, learner: ana, course: C}
  - {day: 1, action: complete, learner: ana, course: M}
""",
        [("PE103", 8, "courses.0.post_enrollments.0.allow_consecutive")],
        [("courses: [M]}", "courses: [M], allow_consecutive: true}")],
    ),
    "PE201": (
        """name: a course nobody takes
horizon_days: 30
courses:
  - {id: A, type: online}
  - {id: B, type: online}
"""
        + LEARNER_A,
        [("PE201", 5, "courses.1")],
        [("course: A}", "course: A}\n  - {day: 0, action: enroll, learner: ana, course: B}")],
    ),
    "PE202": (
        """name: a rule on a course nobody takes
horizon_days: 30
courses:
  - {id: A, type: online}
  - id: B
    type: online
    post_enrollments: [{id: next, when: enrolled, delay_days: 0, courses: [A]}]
"""
        + LEARNER_A,
        [("PE202", 5, "courses.1")],
        [("course: A}", "course: B}")],
    ),
    "PE203": (
        """name: nothing fails
horizon_days: 30
courses:
  - id: EXAM
    type: online
    allow_failure: true
    behaviour: {duration_days: 1}
    post_enrollments:
      - {id: remedial, when: failed, delay_days: 0, courses: [REFRESH]}
  - {id: REFRESH, type: online}
population: {initial: 5, on_hire: [{course: EXAM}]}
""",
        [("PE203", 9, "courses.0.post_enrollments.0.when")],
        [("{duration_days: 1}", "{duration_days: 1, pass_rate: 0.8}")],
    ),
    "PE204": (
        """name: nothing completes
horizon_days: 30
courses:
  - id: A
    type: online
    post_enrollments: [{id: next, when: completed, delay_days: 0, courses: [B]}]
  - {id: B, type: online}
"""
        + LEARNER_A,
        [("PE204", 6, "courses.0.post_enrollments.0.when")],
        [("course: A}\n", "course: A}\n  - {day: 2, action: complete, learner: ana, course: A}\n")],
    ),
    "PE205": (
        """name: curriculum members
horizon_days: 60
default_behaviour: {start_after_days: 1, duration_days: 2}
courses:
  - {id: C, type: curriculum, members: [M1, M2]}
  - {id: M1, type: online}
  - {id: M2, type: online}
population: {initial: 3, on_hire: [{course: C}]}
""",
        [("PE205", 5, "courses.0")],
        [
            (
                "members: [M1, M2]}",
                "members: [M1, M2], post_enrollments: "
                "[{id: assign, when: enrolled, delay_days: 0, courses: [M1, M2]}]}",
            )
        ],
    ),
    "PE206": (
        """name: workshop
horizon_days: 30
courses:
  - id: WORKSHOP
    type: ilc
    sessions: [{day: 45, capacity: 10}]
    behaviour: {start_after_days: 1}
population: {initial: 3, on_hire: [{course: WORKSHOP}]}
""",
        [("PE206", 6, "courses.0.sessions")],
        [("day: 45", "day: 20")],
    ),
    "PE301": (
        """name: zero-delay loop
horizon_days: 3
default_behaviour: {start_after_days: 0, duration_days: 0}
courses:
  - id: A
    type: online
    post_enrollments: [{id: AB, when: completed, delay_days: 0, courses: [B], allow_consecutive: true}]
  - id: B
    type: online
    post_enrollments: [{id: BA, when: enrolled, delay_days: 0, courses: [A], allow_consecutive: true}]
"""
        + LEARNER_A,
        [("PE301", 7, "courses.0.post_enrollments.0.courses.0")],
        [("courses: [A], allow_consecutive: true", "courses: [A]")],
    ),
    "PE302": (
        """name: round and round
horizon_days: 30
default_behaviour: {start_after_days: 1, duration_days: 1}
courses:
  - id: A
    type: online
    post_enrollments: [{id: AB, when: completed, delay_days: 0, courses: [B], allow_consecutive: true}]
  - id: B
    type: online
    post_enrollments: [{id: BA, when: completed, delay_days: 2, courses: [A], allow_consecutive: true}]
"""
        + LEARNER_A,
        [("PE302", 7, "courses.0.post_enrollments.0.courses.0")],
        [("courses: [A], allow_consecutive: true", "courses: [A]")],
    ),
    "PE303": (
        """name: enrolled loop
horizon_days: 30
courses:
  - id: A
    type: online
    post_enrollments: [{id: AB, when: enrolled, delay_days: 0, courses: [B]}]
  - id: B
    type: online
    post_enrollments: [{id: BA, when: enrolled, delay_days: 0, courses: [A]}]
"""
        + LEARNER_A,
        [("PE303", 6, "courses.0.post_enrollments.0.courses.0")],
        [("post_enrollments: [{id: BA, when: enrolled, delay_days: 0, courses: [A]}]", "")],
    ),
    "PE401": (
        """name: enrolled into itself
horizon_days: 400
courses:
  - id: A
    type: online
    post_enrollments:
      - {id: again, when: enrolled, delay_days: 0, courses: [A]}
"""
        + LEARNER_A
        + "  - {day: 1, action: complete, learner: ana, course: A}\n",
        [("PE401", 7, "courses.0.post_enrollments.0.courses.0")],
        [
            (
                "when: enrolled, delay_days: 0, courses: [A]",
                "when: completed, delay_days: 365, courses: [A], allow_consecutive: true",
            )
        ],
    ),
    "PE402": (
        """name: two rules, one target
horizon_days: 30
courses:
  - id: A
    type: online
    post_enrollments:
      - {id: first, when: completed, delay_days: 0, courses: [B]}
      - {id: second, when: completed, delay_days: 0, courses: [B, C]}
  - {id: B, type: online}
  - {id: C, type: online}
"""
        + LEARNER_A
        + "  - {day: 1, action: complete, learner: ana, course: A}\n",
        [("PE402", 8, "courses.0.post_enrollments.1.courses.0")],
        [("courses: [B, C]", "courses: [C]")],
    ),
    "PE403": (
        """name: hidden target
horizon_days: 30
courses:
  - id: A
    type: online
    post_enrollments: [{id: hidden, when: enrolled, delay_days: 0, courses: [B]}]
  - {id: B, type: online, active: false}
"""
        + LEARNER_A,
        [("PE403", 6, "courses.0.post_enrollments.0.courses.0")],
        [("course: A}\n", "course: A}\n  - {day: 5, action: activate_course, course: B}\n")],
    ),
    "PE404": (
        """name: prerequisites bypassed
horizon_days: 30
courses:
  - id: A
    type: online
    post_enrollments: [{id: next, when: enrolled, delay_days: 0, courses: [B]}]
  - {id: B, type: online, prerequisites: {courses: [A]}}
"""
        + LEARNER_A
        + "  - {day: 1, action: complete, learner: ana, course: A}\n",
        [("PE404", 6, "courses.0.post_enrollments.0.courses.0")],
        [("when: enrolled", "when: completed")],
    ),
    "PE501": (
        """name: two chains
horizon_days: 400
courses:
  - id: FIRE
    type: online
    certificate: {valid_for: {days: 365}, reenroll_before: {days: 30}}
    post_enrollments:
      - {id: recert, when: completed, delay_days: 350, courses: [FIRE], allow_consecutive: true}
learners: [ana]
script:
  - {day: 0, action: enroll, learner: ana, course: FIRE}
  - {day: 10, action: complete, learner: ana, course: FIRE}
  - {day: 350, action: complete, learner: ana, course: FIRE}
""",
        [("PE501", 8, "courses.0.post_enrollments.0.courses.0")],
        [
            (
                "    post_enrollments:\n      - {id: recert, when: completed, delay_days: 350, "
                "courses: [FIRE], allow_consecutive: true}\n",
                "",
            )
        ],
    ),
    "PE502": (
        """name: certificate shorter than the course
horizon_days: 100
courses:
  - id: FIRE
    type: online
    behaviour: {start_after_days: {dist: uniform, min: 5, max: 15}, duration_days: 30}
    certificate: {valid_for: {days: 30}}
population: {initial: 3, on_hire: [{course: FIRE}]}
""",
        [("PE502", 7, "courses.0.certificate.valid_for")],
        [("{days: 30}", "{days: 365}")],
    ),
    "PE503": (
        """name: overdue while certified
horizon_days: 400
courses:
  - id: FIRE
    type: online
    certificate: {valid_for: {days: 365}, reenroll_before: {days: 60}}
    due_after: {days: 30}
    renewal_due: due_after
"""
        + LEARNER_A.replace("course: A", "course: FIRE")
        + "  - {day: 10, action: complete, learner: ana, course: FIRE}\n",
        [("PE503", 8, "courses.0.renewal_due")],
        [("    renewal_due: due_after\n", "")],
    ),
    "PE901": (
        """name: stale suppression
horizon_days: 30
courses:
  - {id: A, type: online, lint: {ignore: [PE201]}}
"""
        + LEARNER_A,
        [("PE901", 4, "courses.0.lint.ignore.0")],
        [(", lint: {ignore: [PE201]}", "")],
    ),
}


def lint_of(text: str):
    return lint_scenario(scenario(text))


def found(text: str) -> list[tuple[str, int, str]]:
    return [(f.code, f.line, dotted(f.path)) for f in lint_of(text).findings]


def fixed(code: str) -> str:
    text = CASES[code][0]
    for old, new in CASES[code][2]:
        assert old in text, (code, old)
        text = text.replace(old, new)
    return text


def test_every_code_has_a_case_and_a_section_in_the_docs():
    assert sorted(CASES) == sorted(CODES)
    page = (ROOT / "docs" / "designer-tools.md").read_text()
    for code, (severity, _) in CODES.items():
        assert f"\n### {code} {severity}: " in page, code


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_code_is_found_where_the_trap_is(code):
    text, expected, _ = CASES[code]
    assert found(text) == expected


@pytest.mark.parametrize("code", sorted(CASES))
def test_the_suggested_fix_lints_clean(code):
    result = lint_of(fixed(code))
    assert result.findings == [] and result.suppressed == []


def test_a_finding_reads_as_explanation_and_fix():
    assert text_report(lint_of(CASES["PE101"][0])) == textwrap.dedent(
        """\
        inline.yaml:8: courses.0.post_enrollments.0.allow_consecutive: PE101 warning: repeat-failure trap: rule remedial sends a learner who fails EXAM to REFRESH, but allow_consecutive is off. Learners can take EXAM again (rule retake enrolls them in EXAM again when they complete REFRESH); one who fails it again after completing REFRESH gets no second REFRESH: the job is skipped_already_completed (S19.3) and the learner is left with a failed EXAM and nothing queued
            fix: set allow_consecutive: true on rule remedial, so that every failure leads to REFRESH again (S20); if one remediation per learner is intended, add `lint: {ignore: [PE101]}` to the rule
        inline.yaml: 1 warning"""
    )


# ----- the engine does what the findings say ---------------------------------------------


def _outcomes(text: str, rule: str) -> list[str]:
    jobs = run(text).jobs
    return list(rows(jobs, rule_id=rule)["outcome"].astype(str))


def test_pe101_the_second_failure_is_stuck_and_the_fix_sends_to_the_refresher_again():
    assert _outcomes(CASES["PE101"][0], "remedial") == ["enrolled", "skipped_already_completed"]
    assert _outcomes(fixed("PE101"), "remedial") == ["enrolled", "enrolled"]


def test_pe102_recertification_is_skipped_until_consecutive_is_on():
    assert _outcomes(CASES["PE102"][0], "renew") == ["skipped_already_completed"]
    assert _outcomes(fixed("PE102"), "renew") == ["enrolled"]


def test_pe103_the_reassigned_curriculum_never_completes():
    trap = run(CASES["PE103"][0])
    assert list(rows(trap.jobs, rule_id="members")["outcome"].astype(str)) == [
        "enrolled",
        "skipped_already_completed",
    ]
    again = rows(trap.enrollments, course_id="C", enrolled_day=366.0)
    assert list(again["status"].astype(str)) == ["not_started"]
    assert _outcomes(fixed("PE103"), "members") == ["enrolled", "enrolled"]


def test_pe501_the_rule_enrolls_once_more_after_the_re_enrollment_and_the_fix_does_not():
    trap = run(CASES["PE501"][0])
    # re-enrolled on day 345 (365 - 30 after the completion on day 10), completed on day
    # 350: the rule's job of day 360 finds it completed and enrolls again (S20)
    assert one(trap.jobs, kind="re_enrollment", due_day=345.0)["outcome"] == "enrolled"
    assert one(trap.jobs, rule_id="recert", due_day=360.0)["outcome"] == "enrolled"
    assert len(rows(trap.enrollments, course_id="FIRE")) == 3
    assert len(rows(run(fixed("PE501")).enrollments, course_id="FIRE")) == 2


def test_pe502_the_certificate_expires_before_the_next_completion():
    # re-enrolled a day after each award, learners still finish after the expiry
    text = CASES["PE502"][0].replace("{days: 30}}", "{days: 30}, reenroll_before: {days: 29}}")
    certs = run(text.replace("horizon_days: 100", "horizon_days: 200")).certificates
    renewals = 0
    for _, mine in certs.sort_values("awarded_day").groupby("learner_id", observed=True):
        awarded, expires = list(mine["awarded_day"]), list(mine["expires_day"])
        assert all(a > e for a, e in zip(awarded[1:], expires, strict=False))
        renewals += len(mine) - 1
    assert renewals >= 3


@pytest.mark.parametrize(
    "behaviour, valid_for, reported",
    [
        ("{duration_days: {dist: lognormal, median: 40, sigma: 1}}", "{days: 39}", True),
        # the median, not the mean (123 days): most learners finish within the validity
        ("{duration_days: {dist: lognormal, median: 40, sigma: 1.5}}", "{days: 41}", False),
        ("{duration_days: {dist: exponential, mean: 60}}", "{days: 41}", True),  # median 41.6
        # a month is up to 31 days: not every certificate is shorter than 30.5 days
        ("{start_after_days: 0.5, duration_days: 30}", "{months: 1}", False),
        ("{duration_days: 30, abandon_rate: 1}", "{days: 10}", False),  # nobody finishes
    ],
)
def test_pe502_compares_the_median_time_with_the_longest_validity(behaviour, valid_for, reported):
    text = (
        CASES["PE502"][0]
        .replace(
            "{start_after_days: {dist: uniform, min: 5, max: 15}, duration_days: 30}", behaviour
        )
        .replace("{days: 30}", valid_for)
        .replace("name: certificate", "start_date: 2027-01-01\nname: certificate")
    )
    assert ("PE502" in {f.code for f in lint_of(text).findings}) == reported


def test_pe501_with_calendar_periods_says_the_calendar_decides():
    text = CASES["PE501"][0].replace("{days: 365}", "{years: 1}")
    (finding,) = lint_of("start_date: 2027-01-01\n" + text).findings
    assert finding.code == "PE501"
    assert "30 days before the certificate expires (the calendar decides)" in finding.message


def test_pe503_a_re_enrollment_is_overdue_while_its_certificate_is_valid():
    def overdue_while_valid(text):
        result = run(text)
        overdue = rows(result.events, event="overdue")
        expires = result.certificates["expires_day"].iloc[0]
        return list(overdue["day"] < expires)

    assert overdue_while_valid(CASES["PE503"][0]) == [True]  # overdue on day 345, expiry 375
    assert overdue_while_valid(fixed("PE503")) == [False]  # due at the expiry


def test_pe206_sessions_past_the_horizon_make_a_course_without_sessions():
    trap = run(CASES["PE206"][0])
    assert set(trap.enrollments["completed_day"]) == {1.0}  # start_after_days 1, no duration
    assert len(trap.sessions) == 0
    ok = run(fixed("PE206"))
    assert set(ok.enrollments["completed_day"]) == {20.0}


def test_pe301_runs_into_the_cascade_guard_and_the_fix_stops_after_one_lap():
    trap = run(
        CASES["PE301"][0].replace(
            "horizon_days: 3", "horizon_days: 3\nprocessing: {cascade_limit: 20}"
        )
    )
    assert "cascade_limit" in set(trap.jobs["outcome"].astype(str))
    assert any("cascade limit" in w for w in trap.warnings)
    assert _outcomes(fixed("PE301"), "BA") == ["skipped_already_completed"]


def test_pe301_needs_every_course_finished_at_once():
    slow = CASES["PE301"][0].replace(
        "courses:\n  - id: A\n    type: online\n",
        "courses:\n  - id: A\n    type: online\n    behaviour: {duration_days: 1}\n",
    )
    assert found(slow) == [("PE302", 8, "courses.0.post_enrollments.0.courses.0")]
    assert "cascade_limit" not in set(run(slow).jobs["outcome"].astype(str))


def test_pe302_learners_go_round_until_the_horizon():
    laps = rows(run(CASES["PE302"][0]).enrollments, course_id="A")
    assert len(laps) == 6  # a lap every 5 days: 1 to start, 1 to finish, B likewise, 2 of delay
    assert len(rows(run(fixed("PE302")).enrollments, course_id="A")) == 1


def test_pe302_a_recertification_without_interval():
    text = CASES["PE102"][0].replace(
        "delay_days: 365, courses: [A]}", "delay_days: 0, courses: [A], allow_consecutive: true}"
    )
    (finding,) = lint_of(text).findings
    assert (finding.code, finding.line) == ("PE302", 7)
    assert "the instant they complete it" in finding.message


def test_pe402_the_second_rule_finds_the_enrollment_open():
    jobs = run(CASES["PE402"][0]).jobs
    assert (
        one(jobs, rule_id="second", target_course_id="B")["outcome"] == "skipped_already_enrolled"
    )


def test_pe401_and_pe303_are_skipped_already_enrolled():
    assert _outcomes(CASES["PE401"][0], "again") == ["skipped_already_enrolled"]
    assert _outcomes(CASES["PE303"][0], "BA") == ["skipped_already_enrolled"]


def test_loops_through_the_same_courses_are_one_finding():
    text = CASES["PE303"][0].replace(
        "courses: [A]}]\n",
        "courses: [A]}, {id: BC, when: enrolled, delay_days: 0, courses: [C]}]\n"
        "  - id: C\n    type: online\n"
        "    post_enrollments: [{id: CB, when: enrolled, delay_days: 0, courses: [B]}]\n",
    )
    (finding,) = lint_of(text).findings
    assert finding.code == "PE303"
    assert "form a cycle A -> B -> A (one of 2 such loops among A, B, C):" in finding.message


def test_a_40_course_ladder_and_a_3000_course_chain_lint_in_linear_work():
    """The loop search used to follow every path (2^20 and more on the ladder, no answer
    in a minute) and every course scanned every rule (cubic on the chain)."""
    for text in (ladder_text(40), chain_text(3000)):
        spec = scenario(text)
        with call_budget(1_000_000):
            findings = lint_scenario(spec).findings
        assert findings and not [f for f in findings if f.code.startswith("PE3")]


def test_a_ladder_with_a_way_back_is_one_bounded_loop_finding():
    spec = scenario(ladder_text(40, back=True))
    with call_budget(2_000_000):
        (loop,) = [f for f in lint_scenario(spec).findings if f.code == "PE302"]
    assert loop.message.startswith("rules r0_0, r1_1, ")
    assert "(one of at least " in loop.message and "C19 and 28 more)" in loop.message


# ----- reasons in the messages -----------------------------------------------------------


def test_self_enrollment_that_is_always_rejected_is_no_way_in():
    text = """name: x
horizon_days: 30
courses:
  - {id: A, type: online, active: false}
  - {id: B, type: online, prerequisites: {courses: [A]}}
population: {initial: 2, self_enroll: [{course: A, per_year: 2}, {course: B, per_year: 2}]}
"""
    messages = [(f.code, f.line, f.message) for f in lint_of(text).findings]
    assert messages == [
        (
            "PE201",
            4,
            "no learner can ever be enrolled in A: its only way in is self-enrollment, always "
            "rejected: it is inactive and never activated (S16); self-enrollment in B, which "
            "needs it, is always rejected (S16)",
        ),
        (
            "PE201",
            5,
            "no learner can ever be enrolled in B: its only way in is self-enrollment, always "
            "rejected: its prerequisites can never be met (S7): nobody completes A",
        ),
    ]


def test_a_course_after_a_dead_rule_is_reported_at_the_rule_only():
    text = CASES["PE204"][0].replace(
        "  - {id: B, type: online}",
        "  - {id: B, type: online, post_enrollments: [{id: then, when: enrolled, delay_days: 0, courses: [C]}]}\n"
        "  - {id: C, type: online}",
    )
    assert [f.code for f in lint_of(text).findings] == ["PE204"]


def test_deactivating_a_target_for_good_is_reported_at_the_script_line():
    text = CASES["PE403"][0].replace("active: false", "active: true") + (
        "  - {day: 9, action: deactivate_course, course: B}\n"
    )
    (finding,) = lint_of(text).findings
    assert (finding.code, finding.line, dotted(finding.path)) == ("PE403", 11, "script.1")
    assert finding.message.startswith("the script deactivates B on day 9 and never activates it")
    reactivated = text + "  - {day: 12, action: activate_course, course: B}\n"
    assert lint_of(reactivated).findings == []


# ----- script edits that create a trap -------------------------------------------------------


def test_add_rule_that_creates_the_trap_is_reported_at_the_script_line():
    text = (
        CASES["PE101"][0].replace(
            "    post_enrollments:\n      - {id: remedial, when: failed, delay_days: 1, courses: [REFRESH]}\n",
            "",
        )
        + "  - {day: 5, action: add_rule, course: EXAM, rule: {id: remedial, when: failed, delay_days: 1, courses: [REFRESH]}}\n"
    )
    assert found(text) == [("PE101", 17, "script.4.rule.allow_consecutive")]


def test_edit_rule_that_turns_consecutive_off_is_reported_at_the_edit():
    text = fixed("PE101") + (
        "  - {day: 6, action: edit_rule, rule: remedial, set: {allow_consecutive: false}}\n"
    )
    assert found(text) == [("PE101", 19, "script.4.set.allow_consecutive")]


def test_edit_rule_that_closes_a_zero_delay_loop_is_reported_at_the_edit():
    text = fixed("PE301") + (
        "  - {day: 2, action: edit_rule, rule: BA, set: {allow_consecutive: true}}\n"
    )
    assert found(text) == [("PE301", 14, "script.1.set")]


@pytest.mark.parametrize(
    "code, action, expected",
    [
        (
            "PE203",
            "{day: 5, action: edit_rule, rule: hidden, set: {when: failed}}",
            ("PE203", 14, "script.2.set.when"),
        ),
        (
            "PE403",
            "{day: 5, action: add_rule, course: A, rule: {id: later, when: enrolled, delay_days: 0, courses: [C]}}",
            ("PE403", 14, "script.2.rule.courses.0"),
        ),
        (
            "PE401",
            "{day: 5, action: edit_rule, rule: hidden, set: {courses: [A]}}",
            ("PE401", 14, "script.2.set.courses.0"),
        ),
        (
            "PE402",
            "{day: 5, action: add_rule, course: A, rule: {id: again, when: enrolled, delay_days: 0, courses: [B]}}",
            ("PE402", 14, "script.2.rule.courses.0"),
        ),
    ],
)
def test_script_changes_that_create_a_trap_are_reported_at_the_script_line(code, action, expected):
    base = fixed("PE403").replace(
        "  - {id: B, type: online, active: false}",
        "  - {id: B, type: online, active: false}\n  - {id: C, type: online, active: false}",
    )
    base = base.replace(
        "    type: online\n    post_enrollments",
        "    type: online\n    allow_failure: true\n    post_enrollments",
    )
    base = base.replace(
        "  - {day: 5, action: activate_course, course: B}\n",
        "  - {day: 1, action: activate_course, course: B}\n",
    )
    assert found(base) == [("PE201", 9, "courses.2")]
    text = base + f"  - {action}\n"
    assert expected in found(text)
    assert [f for f in found(text) if f[0] == code] == [expected]


def test_a_removed_rule_no_longer_closes_a_loop():
    text = CASES["PE302"][0] + "  - {day: 2, action: remove_rule, rule: BA}\n"
    assert found(text) == [("PE302", 7, "courses.0.post_enrollments.0.courses.0")]
    edited = fixed("PE302") + "  - {day: 2, action: edit_rule, rule: BA, set: {delay_days: 5}}\n"
    assert found(edited) == []


# ----- marking a finding as intended --------------------------------------------------------


@pytest.mark.parametrize(
    "where, old, new, line",
    [
        (
            "rule",
            "courses: [REFRESH]}",
            "courses: [REFRESH], lint: {ignore: [PE101]}}",
            8,
        ),
        (
            "course",
            "    allow_failure: true\n",
            "    allow_failure: true\n    lint: {ignore: [PE101]}\n",
            7,
        ),
        ("top level", "horizon_days: 30\n", "horizon_days: 30\nlint: {ignore: [PE101]}\n", 3),
    ],
)
def test_lint_ignore_marks_a_finding_as_intended(where, old, new, line):
    result = lint_of(CASES["PE101"][0].replace(old, new))
    assert result.findings == []
    (suppressed,) = result.suppressed
    assert suppressed.code == "PE101" and suppressed.suppressed_by == f"inline.yaml:{line}"
    assert text_report(result) == (
        "inline.yaml: no problems found (1 marked as intended with `lint: ignore`)"
    )


def test_an_ignore_of_another_code_hides_nothing():
    text = CASES["PE101"][0].replace(
        "courses: [REFRESH]}", "courses: [REFRESH], lint: {ignore: [PE102]}}"
    )
    assert found(text) == [
        ("PE101", 8, "courses.0.post_enrollments.0.allow_consecutive"),
        ("PE901", 8, "courses.0.post_enrollments.0.lint.ignore.0"),
    ]


def test_an_unknown_code_is_a_located_scenario_error():
    text = CASES["PE101"][0].replace(
        "horizon_days: 30\n", "horizon_days: 30\nlint: {ignore: [PE999]}\n"
    )
    assert errors(text) == [
        "inline.yaml:3: lint.ignore.0: unknown lint code, got 'PE999' (the codes are listed in "
        "docs/designer-tools.md)"
    ]


# ----- the command ----------------------------------------------------------------------------


def test_lint_command_text_and_exit_codes(cli, tmp_path):
    trap, info, clean = tmp_path / "trap.yaml", tmp_path / "info.yaml", tmp_path / "clean.yaml"
    trap.write_text(CASES["PE101"][0])
    info.write_text(CASES["PE303"][0])
    clean.write_text(fixed("PE101"))
    status, out, _ = cli("lint", trap)
    assert status == 1
    assert out.splitlines()[0].startswith(
        f"{trap}:8: courses.0.post_enrollments.0.allow_consecutive: PE101 warning: repeat-failure trap"
    )
    assert out.splitlines()[-1] == f"{trap}: 1 warning"
    assert cli("lint", info)[0] == 0  # info only
    status, out, _ = cli("lint", clean)
    assert (status, out) == (0, f"{clean}: no problems found\n")
    assert cli("lint", clean, trap)[0] == 1


def test_lint_command_json(cli, tmp_path):
    path = tmp_path / "trap.yaml"
    path.write_text(
        CASES["PE402"][0].replace(
            "horizon_days: 30\n", "horizon_days: 30\nlint: {ignore: [PE303]}\n"
        )
    )
    status, out, _ = cli("lint", path, "--format", "json")
    report = json.loads(out)
    assert status == 1
    assert [(f["code"], f["severity"], f["line"], f["path"]) for f in report["findings"]] == [
        ("PE901", "info", 3, "lint.ignore.0"),
        ("PE402", "warning", 9, "courses.0.post_enrollments.1.courses.0"),
    ]
    first = report["findings"][1]
    assert first["file"] == str(path) and first["fix"].startswith("remove B from rule second")
    assert first["title"] == CODES["PE402"][1] and first["subjects"] == ["rule:second", "course:A"]
    assert report["counts"] == {"error": 0, "warning": 1, "info": 1}
    assert report["suppressed"] == [] and report["invalid"] == []


def test_lint_command_invalid_scenario_exits_2(cli, tmp_path):
    bad = ROOT / "tests" / "scenarios" / "ten-mistakes.yaml"
    status, out, err = cli("lint", bad, "--format", "json")
    assert status == 2 and "procesing: unknown key" in err
    assert json.loads(out)["invalid"][0]["path"] == "procesing"


# ----- "cannot" is certain: random rule sets against the engine ------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=random_scenarios())
def test_what_lint_says_never_happens_does_not_happen(text):
    spec = parse_scenario(text, "random.yaml")
    result = lint_scenario(spec)
    run_ = simulate(spec)
    entered = set(run_.enrollments["course_id"].astype(str))
    rules_run = set(run_.jobs["rule_id"].astype(str))
    for finding in result.findings:
        courses = [s[7:] for s in finding.subjects if s.startswith("course:")]
        rules = [s[5:] for s in finding.subjects if s.startswith("rule:")]
        if finding.code in ("PE201", "PE202"):
            assert courses[0] not in entered, str(finding)
        if finding.code in ("PE202", "PE203", "PE204"):
            assert not set(rules) & rules_run, str(finding)
        if finding.code == "PE401":
            jobs = rows(run_.jobs, rule_id=rules[0], target_course_id=courses[0])
            other = jobs[~jobs["outcome"].isin(["skipped_already_enrolled", "pending"])]
            # the one way round it: the script finishes the course at the instant it enrolls
            finished = {
                (a.learner, a.day)
                for a in spec.script
                if a.action in ("complete", "fail") and a.course == courses[0]
            }
            for learner, day in zip(
                other["learner_id"].astype(str), other["queued_day"], strict=True
            ):
                assert (learner, day) in finished, str(finding)
    lay = layout(build(spec))
    assert lay.crossings >= 0 and lay.boxes()


def test_an_audits_rules_are_not_dead_ends_its_learners_come_from_the_history(cli):
    # examples/audit: the catalog and rules alone; what learners did is in history.csv
    path = ROOT / "examples" / "audit" / "scenario.yaml"
    spec = load_scenario(path)
    assert lint_scenario(spec, from_history=True).findings == []
    assert "PE202" in {f.code for f in lint_scenario(spec).findings}
    code, out, _ = cli("lint", "--history", path)
    assert code == 0 and out.endswith("no problems found\n")


def test_the_two_chains_example_is_warned_and_does_what_the_warning_says(cli):
    """examples/two-chains (S38): lint warns PE501, and the run enrolls the learner twice,
    by re-enrollment and then by the rule, as its expectations and the warning say."""
    example = ROOT / "examples" / "two-chains" / "recertification-two-chains.yaml"
    code, out, _ = cli("lint", example)
    assert code == 1 and "PE501 warning" in out and "within 15 days" in out
    code, out, _ = cli("check", example)
    assert code == 0 and "PASS" in out
