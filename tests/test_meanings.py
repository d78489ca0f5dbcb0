"""Each meaning once (issue 20): rule versions, trigger words, the kinds of script actions."""

from __future__ import annotations

from postenroll_sim import analysis as A
from postenroll_sim.engine.plan import compile_plan
from postenroll_sim.scenario.rules import NEVER, rule_versions

from helpers import scenario

EDITED = """
name: a rule edited twice
horizon_days: 400
courses:
  - id: A
    type: online
    allow_failure: true
    post_enrollments: [{id: R1, when: enrolled, delay_days: 30, courses: [B]}]
  - {id: B, type: online}
  - {id: FIX, type: online}
learners: [x]
script:
  - {day: 9, action: edit_rule, rule: R1, set: {when: failed, courses: [FIX]}}
  - {day: 5, action: edit_rule, rule: R1,
     set: {when: completed, delay_days: 365, courses: [A], allow_consecutive: true}}
  - {day: 0, action: enroll, learner: x, course: A}
"""


def test_rule_versions_follow_the_script_in_run_order():
    # S18: each edit makes a new version from its instant; S23: by day, then file order
    versions = rule_versions(scenario(EDITED))
    assert [(v.rule, v.when, v.targets, v.delay, v.consecutive) for v in versions] == [
        ("R1", "enrolled", ("B",), 30, False),
        ("R1", "completed", ("A",), 365, True),  # the day-5 edit (script item 1)
        ("R1", "failed", ("FIX",), 365, True),  # the day-9 edit keeps delay and consecutive
    ]
    assert [(v.first, v.last, v.since_day, v.until_day) for v in versions] == [
        (0, 2, None, 5.0),  # position 1 is the enroll of day 0
        (2, 3, 5.0, 9.0),
        (3, NEVER, 9.0, None),
    ]
    assert [(v.script_index, v.ended_by) for v in versions] == [(None, 1), (1, 0), (0, None)]
    assert versions[2].changed == {"when", "courses"}


def test_the_engines_plan_holds_the_same_versions():
    spec = scenario(EDITED)
    plan = compile_plan(spec)
    made = {v.script_index: v for v in rule_versions(spec) if v.script_index is not None}
    assert sorted(plan.script_rules) == sorted(made) == [0, 1]
    for index, version in plan.script_rules.items():
        assert plan.rule_ids[version.rule] == made[index].rule
        assert [plan.course_ids[t] for t in version.targets] == list(made[index].targets)
        assert version.delay == made[index].delay


def test_the_analysis_sees_the_versions_an_edit_makes():
    spec = scenario(EDITED)
    # only the edits make A recertify yearly and send failures to FIX
    assert A.recertifications(spec) == {"A": 365.0}
    assert A.remediation_targets(spec) == {"FIX"}
