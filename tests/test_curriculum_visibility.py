"""S26 [decision] with S21: a curriculum enrollment is in progress from the first instant a
member completion counts toward it AND the learner can see it; an invisible one starts when
its course is activated. Superseded enrollments and those of removed learners never become
visible (S21, S29), so they never start. Completion does not wait for visibility."""

from __future__ import annotations

import math

from helpers import one, rows, run

CATALOG = """
name: s26-visible
horizon_days: 40
courses:
  - {id: M1, type: online}
  - {id: M2, type: online}
  - {id: CUR, type: curriculum, members: [M1, M2], active: false}
learners: [ann]
script:
"""


def _run(steps: str):
    return run(CATALOG + steps)


def _started(result) -> list[tuple[float, str]]:
    """(day, learner) of every `started` event of CUR."""
    started = rows(result.events, event="started", course_id="CUR")
    return list(zip(started["day"], started["learner_id"].astype(str), strict=True))


def test_an_inactive_curriculum_starts_at_activation_not_at_the_member_completion():
    result = _run("""  - {day: 0, action: enroll, learner: ann, course: CUR}
  - {day: 0, action: enroll, learner: ann, course: M1}
  - {day: 3, action: complete, learner: ann, course: M1}
  - {day: 10, action: activate_course, course: CUR}
""")
    cur = one(result.enrollments, course_id="CUR")
    assert cur["status"] == "in_progress"
    assert (cur["visible_day"], cur["started_day"]) == (10, 10)
    assert _started(result) == [(10, "ann")]


def test_until_activation_it_stays_not_started_with_no_started_day():
    result = _run("""  - {day: 0, action: enroll, learner: ann, course: CUR}
  - {day: 0, action: enroll, learner: ann, course: M1}
  - {day: 3, action: complete, learner: ann, course: M1}
""")
    cur = one(result.enrollments, course_id="CUR")
    assert cur["status"] == "not_started"
    assert math.isnan(cur["visible_day"]) and math.isnan(cur["started_day"])
    assert _started(result) == []


def test_activation_with_no_member_completion_yet_does_not_start_it():
    result = _run("""  - {day: 0, action: enroll, learner: ann, course: CUR}
  - {day: 0, action: enroll, learner: ann, course: M1}
  - {day: 5, action: activate_course, course: CUR}
  - {day: 8, action: complete, learner: ann, course: M1}
""")
    cur = one(result.enrollments, course_id="CUR")
    assert (cur["status"], cur["visible_day"], cur["started_day"]) == ("in_progress", 5, 8)


def test_completion_does_not_wait_for_visibility():
    result = _run("""  - {day: 0, action: enroll, learner: ann, course: CUR}
  - {day: 0, action: enroll, learner: ann, course: M1}
  - {day: 0, action: enroll, learner: ann, course: M2}
  - {day: 3, action: complete, learner: ann, course: M1}
  - {day: 4, action: complete, learner: ann, course: M2}
  - {day: 10, action: activate_course, course: CUR}
""")
    cur = one(result.enrollments, course_id="CUR")
    assert (cur["status"], cur["completed_day"], cur["visible_day"]) == ("complete", 4, 10)
    assert math.isnan(cur["started_day"])  # completed unseen: never in progress
    assert _started(result) == []


def test_a_removed_learners_curriculum_never_starts():
    result = _run("""  - {day: 0, action: enroll, learner: ann, course: CUR}
  - {day: 0, action: enroll, learner: ann, course: M1}
  - {day: 3, action: complete, learner: ann, course: M1}
  - {day: 5, action: remove_learner, learner: ann}
  - {day: 10, action: activate_course, course: CUR}
""")
    cur = one(result.enrollments, course_id="CUR")
    assert cur["status"] == "not_started"
    assert math.isnan(cur["visible_day"]) and math.isnan(cur["started_day"])
    assert _started(result) == []


def test_a_superseded_curriculum_enrollment_never_starts():
    result = _run("""  - {day: 0, action: enroll, learner: ann, course: CUR}
  - {day: 0, action: enroll, learner: ann, course: M1}
  - {day: 3, action: complete, learner: ann, course: M1}
  - {day: 5, action: enroll, learner: ann, course: CUR}
  - {day: 10, action: activate_course, course: CUR}
""")
    old, new = (row for _, row in rows(result.enrollments, course_id="CUR").iterrows())
    assert old["superseded_day"] == 5
    assert old["status"] == "not_started"
    assert math.isnan(old["visible_day"]) and math.isnan(old["started_day"])
    # the current one (M1 at day 3 counts: no earlier completion of CUR) starts when seen
    assert (new["status"], new["visible_day"], new["started_day"]) == ("in_progress", 10, 10)
    assert _started(result) == [(10, "ann")]


def test_an_active_curriculum_still_starts_at_the_first_counting_completion():
    result = run(
        CATALOG.replace(", active: false", "")
        + """  - {day: 0, action: enroll, learner: ann, course: CUR}
  - {day: 0, action: enroll, learner: ann, course: M1}
  - {day: 3, action: complete, learner: ann, course: M1}
"""
    )
    cur = one(result.enrollments, course_id="CUR")
    assert (cur["status"], cur["visible_day"], cur["started_day"]) == ("in_progress", 0, 3)


def test_activated_at_the_instant_its_last_member_completes_it_never_starts():
    # S26 v2 with S21: visible at day 10 with M1 counting, and M2 completed at day 10 too:
    # the first instant it could start is the instant it completes, so it never starts.
    result = _run("""  - {day: 0, action: enroll, learner: ann, course: CUR}
  - {day: 0, action: enroll, learner: ann, course: M1}
  - {day: 0, action: enroll, learner: ann, course: M2}
  - {day: 3, action: complete, learner: ann, course: M1}
  - {day: 10, action: activate_course, course: CUR}
  - {day: 10, action: complete, learner: ann, course: M2}
""")
    cur = one(result.enrollments, course_id="CUR")
    assert (cur["status"], cur["visible_day"], cur["completed_day"]) == ("complete", 10, 10)
    assert math.isnan(cur["started_day"])
    assert _started(result) == []
