"""Analysis functions on small hand-built tables with answers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from postenroll_sim import analysis as A

NAN = float("nan")


def enrollments(rows):
    """rows: (replication, learner, course, enrolled, completed, superseded[, type, visible])"""
    out = []
    for i, row in enumerate(rows):
        rep, learner, course, enrolled, completed, superseded, *rest = row
        kind = rest[0] if rest else "online"
        visible = rest[1] if len(rest) > 1 else enrolled
        out.append(
            {
                "replication": rep,
                "enrollment_id": i,
                "learner_id": learner,
                "course_id": course,
                "course_type": kind,
                "method": "admin",
                "rule_id": None,
                "enrolled_day": float(enrolled),
                "visible_day": float(visible),
                "started_day": NAN,
                "completed_day": float(completed),
                "failed_day": NAN,
                "superseded_day": float(superseded),
                "status": "complete" if not math.isnan(completed) else "not_started",
            }
        )
    frame = pd.DataFrame(out)
    for column in ("learner_id", "course_id", "course_type", "method", "status"):
        frame[column] = frame[column].astype("category")
    return frame


def test_enrollment_volume_zero_fills_and_bands_over_replications():
    e = enrollments(
        [
            (0, "x", "A", 0, NAN, NAN),
            (0, "y", "A", 1, NAN, NAN),
            (0, "x", "B", 8, NAN, NAN),
            (1, "x", "A", 15, NAN, NAN),
        ]
    )
    v = A.enrollment_volume(e, horizon_days=20, period_days=7).set_index(
        ["period_day", "course_id"]
    )
    assert len(v) == 6  # 3 periods x 2 courses, every one present
    assert v.loc[(0.0, "A"), "mean"] == 1.0 and v.loc[(0.0, "A"), "p05"] == pytest.approx(0.1)
    assert v.loc[(0.0, "A"), "p95"] == pytest.approx(1.9)
    assert v.loc[(7.0, "A"), "mean"] == 0.0
    assert v.loc[(14.0, "A"), "mean"] == 0.5 and v.loc[(7.0, "B"), "mean"] == 0.5
    total = A.enrollment_volume(e, 20, 7, by=None).set_index("period_day")
    assert list(total["mean"]) == [1.0, 0.5, 0.5]


def test_recertification_load_counts_re_enrollments_after_a_completion():
    e = enrollments(
        [
            (0, "x", "A", 0, 5, 10),
            (0, "x", "A", 10, NAN, NAN),
            (0, "y", "A", 2, NAN, 9),
            (0, "y", "A", 9, NAN, NAN),
        ]
    )
    load = A.recertification_load(e, 20, 7).set_index(["period_day", "course_id"])
    assert load.loc[(7.0, "A"), "mean"] == 1.0  # x's second record; y never completed
    assert load["mean"].sum() == 1.0
    peak = A.recertification_peak(load.reset_index())
    assert peak["period_day"] == 7.0 and peak["mean"] == 1.0


def test_compliance_counts_only_learners_present_and_valid_completions():
    e = enrollments([(0, "a", "A", 0, 2, NAN)])
    events = pd.DataFrame(
        {
            "replication": [0, 0, 0],
            "day": [0.0, 0.0, 10.0],
            "event": ["learner_added", "learner_added", "learner_removed"],
            "learner_id": ["a", "b", "b"],
        }
    )
    c = A.compliance(e, events, ["A"], validity_days=5, horizon_days=12, step_days=1).set_index(
        "day"
    )
    assert c.loc[0.0, "mean"] == 0.0
    assert c.loc[2.0, "mean"] == 0.5 and c.loc[6.0, "mean"] == 0.5
    assert c.loc[7.0, "mean"] == 0.0  # the completion is more than 5 days old
    assert c.loc[10.0, "mean"] == 0.0 and c.loc[12.0, "mean"] == 0.0


def test_job_backlog_counts_queued_not_processed_once_per_job():
    jobs = pd.DataFrame(
        {
            "replication": [0, 0, 0],
            "job_id": [0, 0, 1],
            "queued_day": [0.0, 0.0, 1.0],
            "processed_day": [3.0, 3.0, NAN],  # job 0 has two targets; job 1 is pending
        }
    )
    b = A.job_backlog(jobs, horizon_days=5, step_days=1).set_index("day")
    assert list(b["mean"]) == [1, 2, 2, 1, 1, 1]


def test_rule_outcomes_means_shares_and_zero_rows():
    jobs = pd.DataFrame(
        {
            "replication": [0, 0, 1],
            "rule_id": ["R", "R", "R"],
            "outcome": ["enrolled", "enrolled", "skipped_already_enrolled"],
        }
    )
    o = A.rule_outcomes(jobs).set_index(["rule_id", "outcome"])
    assert o.loc[("R", "enrolled"), "mean"] == 1.0
    assert o.loc[("R", "skipped_already_enrolled"), "mean"] == 0.5
    assert o.loc[("R", "enrolled"), "share"] == pytest.approx(2 / 3)
    assert o.loc[("R", "pending"), "mean"] == 0.0


def test_learning_path_timing_with_learners_still_in_progress():
    e = enrollments(
        [
            (0, "x", "A", 0, 2, NAN),
            (0, "x", "B", 2, 5, NAN),
            (0, "y", "A", 0, 4, NAN),
            (0, "y", "B", 4, NAN, NAN),
        ]
    )
    t = A.learning_path_timing(e, ["A", "B"], horizon_days=10).set_index(["learner_id", "step"])
    assert t.loc[("x", "A"), "duration_days"] == 2 and t.loc[("x", "B"), "duration_days"] == 3
    assert t.loc[("x", "end to end"), "duration_days"] == 5
    assert (
        not t.loc[("y", "B"), "completed"] and t.loc[("y", "B"), "duration_days"] == 6
    )  # censored
    assert t.loc[("y", "end to end"), "duration_days"] == 10
    curve = A.completion_curve(t.reset_index(), points=11, max_days=10)
    b = curve[curve["step"] == "B"].set_index("days")["mean"]
    assert b.loc[2.0] == 0.0 and b.loc[3.0] == 0.5 and b.loc[10.0] == 0.5  # y never counts as done
    summary = A.path_summary(t.reset_index()).set_index("step")
    assert summary.loc["B", "completed_share"] == 0.5
    assert summary.loc["B", "median_days"] == pytest.approx(3.0, abs=0.01)
    assert math.isnan(summary.loc["B", "p90_days"])  # never reached 90%


def test_kaplan_meier_counts_censored_learners_at_risk_until_seen():
    durations = np.array([1.0, 2.0, 3.0, 4.0])
    completed = np.array([True, False, True, True])
    # S(1)=3/4; at t=3 two at risk, one completes: S=3/4*1/2; at t=4: 0
    curve = A.timing.kaplan_meier(durations, completed, np.array([0.5, 1, 2.5, 3, 4]))
    assert list(curve) == pytest.approx([0, 0.25, 0.25, 1 - 3 / 8, 1.0])


def test_session_waits_and_utilisation():
    e = enrollments([(0, "x", "W", 0, 14, NAN, "ilc", 1), (0, "y", "W", 0, NAN, NAN, "ilc", 1)])
    events = pd.DataFrame(
        {
            "replication": [0, 0, 0, 0],
            "day": [3.0, 7.0, 14.0, 5.0],
            "enrollment_id": [0, 0, 0, 1],
            "event": ["session_booked", "session_missed", "session_attended", "session_waitlisted"],
        }
    )
    waits = A.session_waits(events, e).set_index("enrollment_id")
    assert waits.loc[0, "wait_days"] == 13 and waits.loc[0, "missed"] == 1
    assert bool(waits.loc[1, "waitlisted"]) and math.isnan(waits.loc[1, "wait_days"])
    sessions = pd.DataFrame(
        {
            "replication": [0],
            "session_id": ["W@7"],
            "course_id": ["W"],
            "day": [7.0],
            "capacity": [10],
            "booked": [4],
            "attended": [3],
            "missed": [1],
        }
    )
    u = A.seat_utilisation(sessions).iloc[0]
    assert (u["booked_share"], u["attended_share"]) == (0.4, 0.3)


def test_learner_timeline_bars_end_at_completion_supersession_or_horizon():
    e = enrollments(
        [(0, "x", "A", 0, 2, 5), (0, "x", "A", 5, NAN, NAN), (0, "y", "A", 1, NAN, NAN)]
    )
    t = A.learner_timeline(e, None, "x", horizon_days=30)
    assert list(t["until_day"]) == [2.0, 30.0]
    assert list(t["enrolled_day"]) == [0.0, 5.0]
