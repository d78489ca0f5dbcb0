"""Analysis functions on small hand-built tables with answers worked out by hand."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from postenroll_sim import analysis as A

from helpers import ROOT

NAN = float("nan")


def enrollments(rows):
    """rows: (replication, learner, course, enrolled, completed, superseded[, type, visible,
    method])"""
    out = []
    for i, row in enumerate(rows):
        rep, learner, course, enrolled, completed, superseded, *rest = row
        kind = rest[0] if rest else "online"
        visible = rest[1] if len(rest) > 1 and rest[1] is not None else enrolled
        method = rest[2] if len(rest) > 2 else "admin"
        out.append(
            {
                "replication": rep,
                "enrollment_id": i,
                "learner_id": learner,
                "course_id": course,
                "course_type": kind,
                "method": method,
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


RULE = "post_enrollment"


def test_recertification_load_counts_rule_re_enrollments_after_a_completion():
    e = enrollments(
        [
            (0, "x", "A", 0, 5, 10),
            (0, "x", "A", 10, NAN, NAN, "online", None, RULE),
            (0, "y", "A", 2, NAN, 9),
            (0, "y", "A", 9, NAN, NAN, "online", None, RULE),
        ]
    )
    load = A.recertification_load(e, 20, 7).set_index(["period_day", "course_id"])
    assert load.loc[(7.0, "A"), "mean"] == 1.0  # x's second record; y never completed
    assert load["mean"].sum() == 1.0
    peak = A.recertification_peak(e, 20, 7)
    assert peak["period_day"] == 7.0 and peak["mean"] == 1.0


def test_shared_results_compute_a_measure_once_per_tables_and_only_while_open():
    from postenroll_sim.analysis import core, metrics

    e = enrollments([(0, "x", "A", 0, 5, 10), (0, "x", "A", 10, NAN, NAN, "online", None, RULE)])
    calls = []
    measure = metrics.re_enrollments.__wrapped__  # the measure itself, counted here

    @core.shared
    def counted(frame):
        calls.append(1)
        return measure(frame)

    with core.shared_results():
        first = counted(e)
        first["edited"] = 1  # one caller's edit ...
        again = counted(e)
        assert "edited" not in again and len(calls) == 1  # ... is not the next caller's
        counted(e.copy())  # other tables: computed for them
        assert len(calls) == 2
    counted(e)
    counted(e)
    assert len(calls) == 4  # outside: every call computes anew


def test_the_recertification_measures_share_one_computation_of_re_enrollments(monkeypatch):
    from postenroll_sim.analysis import core, metrics

    e = enrollments([(0, "x", "A", 0, 5, 10), (0, "x", "A", 10, NAN, NAN, "online", None, RULE)])
    calls = []
    measure = metrics.re_enrollments.__wrapped__

    @core.shared
    def counted(frame, curricula=None):
        calls.append(1)
        return measure(frame, curricula)

    monkeypatch.setattr(metrics, "re_enrollments", counted)
    with core.shared_results():
        load = A.recertification_load(e, 20, 7)
        peak = A.recertification_peak(e, 20, 7)
    assert len(calls) == 1 and load["mean"].sum() == 1.0 and peak["mean"] == 1.0


def test_a_page_is_the_same_with_measures_shared_or_not(monkeypatch, sketched_figures):
    import contextlib
    import re

    from postenroll_sim import parse_scenario, simulate_replications
    from postenroll_sim.report import build as R

    spec = parse_scenario((ROOT / "scenarios" / "remediation-on-failure.yaml").read_text())
    result = simulate_replications(spec, 2)
    shared = R.build_report(result)
    monkeypatch.setattr(R, "shared_results", contextlib.nullcontext)
    alone = R.build_report(result)
    made = r"\d{4}-\d\d-\d\d \d\d:\d\d"  # when the page was made
    assert re.sub(made, "", shared) == re.sub(made, "", alone)


def test_a_person_recertifying_a_two_member_curriculum_counts_once():
    """A curriculum and its two members are three records, one person. A re-take from
    the catalog is no recertification: it is counted apart."""
    cur = "curriculum"
    e = enrollments(
        [
            (0, "x", "CUR", 0, 20, 400, cur),
            (0, "x", "M1", 0, 10, 400, "online", None, RULE),
            (0, "x", "M2", 0, 20, 400, "online", None, RULE),
            (0, "x", "CUR", 385, NAN, NAN, cur, None, RULE),  # the recertification
            (0, "x", "M1", 385, NAN, NAN, "online", None, RULE),  # its members, by a rule
            (0, "x", "M2", 386, NAN, NAN, "online", None, "self"),
            (0, "y", "CAT", 0, 3, 390),
            (0, "y", "CAT", 390, NAN, NAN, "online", None, "self"),  # a catalog re-take
        ]
    )
    curricula = {"CUR": ["M1", "M2"]}
    kinds = A.re_enrollments(e, curricula).set_index(["learner_id", "course_id"])["kind"]
    assert kinds.loc[("x", "CUR")] == "rule"
    assert kinds.loc[("x", "M1")] == kinds.loc[("x", "M2")] == "curriculum member"
    assert kinds.loc[("y", "CAT")] == "catalog re-take"
    load = A.recertification_load(e, 420, 7, curricula=curricula)
    assert load["mean"].sum() == 1.0
    assert load.set_index(["period_day", "course_id"]).loc[(385.0, "CUR"), "mean"] == 1.0
    total = A.recertification_load(e, 420, 7, curricula=curricula, by=None)
    assert total["mean"].sum() == 1.0 and set(total["group"]) == {"all"}
    assert A.recertification_peak(e, 420, 7, curricula=curricula)["mean"] == 1.0
    retakes = A.recertification_load(e, 420, 7, curricula=curricula, kind="catalog re-take")
    assert retakes.set_index(["period_day", "course_id"]).loc[(385.0, "CAT"), "mean"] == 1.0
    with pytest.raises(ValueError, match="curricula"):  # members would count as people
        A.recertification_load(e, 420, 7)


def test_recertification_peak_is_each_replications_busiest_week_in_people():
    # replication 0: two people in week 1; replication 1: one person in week 2
    e = enrollments(
        [
            (0, "x", "A", 0, 1, 8),
            (0, "x", "A", 8, NAN, NAN, "online", None, RULE),
            (0, "x", "B", 0, 1, 9),
            (0, "x", "B", 9, NAN, NAN, "online", None, RULE),  # x again: still one person
            (0, "y", "A", 0, 1, 10),
            (0, "y", "A", 10, NAN, NAN, "online", None, RULE),
            (1, "x", "A", 0, 1, 15),
            (1, "x", "A", 15, NAN, NAN, "online", None, RULE),
        ]
    )
    peak = A.recertification_peak(e, 20, 7)
    assert peak["period_day"] == 7.0
    assert peak["mean"] == 1.5 and peak["p05"] == pytest.approx(1.05)


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
            "replication": [0, 0, 0, 0, 0],
            "day": [3.0, 7.0, 7.0, 14.0, 5.0],
            "enrollment_id": [0, 0, 0, 0, 1],
            "event": [
                "session_booked",
                "session_missed",
                "session_booked",  # a no-show books again
                "session_attended",
                "session_waitlisted",
            ],
        }
    )
    waits = A.session_waits(events, e).set_index("enrollment_id")
    # visible on day 1, first booking attempt on day 3, the session attended on day 14
    assert waits.loc[0, "booking_delay_days"] == 2 and waits.loc[0, "seat_wait_days"] == 11
    assert waits.loc[0, "missed"] == 1 and not waits.loc[0, "no_seat"]
    assert bool(waits.loc[1, "no_seat"]) and math.isnan(waits.loc[1, "seat_wait_days"])
    assert waits.loc[1, "booking_delay_days"] == 4
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


def test_ilc_waits_of_six_replications_are_means_per_replication():
    """Each of six replications: one learner attends after waiting 2 days for a seat (4 in
    the last), one never gets a seat. Per replication: 1 without a seat, not 6."""
    rows, events = [], []
    for rep in range(6):
        rows += [(rep, "a", "W", 0, 10, NAN, "ilc", 0), (rep, "b", "W", 0, NAN, NAN, "ilc", 0)]
        wait = 4.0 if rep == 5 else 2.0
        events += [
            (rep, 1.0, 2 * rep, "session_booked"),
            (rep, 1.0 + wait, 2 * rep, "session_attended"),
            (rep, 1.0, 2 * rep + 1, "session_waitlisted"),
        ]
    e = enrollments(rows)
    e["replication"] = [r[0] for r in rows]
    ev = pd.DataFrame(events, columns=["replication", "day", "enrollment_id", "event"])
    waits = A.session_waits(ev, e)
    summary = A.wait_summary(waits).set_index("measure")
    assert summary.loc["no seat within the horizon", "mean"] == 1.0
    assert summary.loc["learners who tried to book", "mean"] == 2.0
    seat = summary.loc["median days from first booking attempt to the session"]
    assert seat["mean"] == pytest.approx(14 / 6) and seat["p95"] == pytest.approx(3.5)
    assert summary.loc["median days from visible to first booking attempt", "mean"] == 1.0
    counts = A.wait_histogram_counts(waits, "seat_wait_days", bins=np.array([0.0, 3.0, 6.0]))
    assert list(counts["mean"]) == pytest.approx([5 / 6, 1 / 6])


def test_seat_summary_is_per_replication():
    sessions = pd.DataFrame(
        {
            "replication": [0, 0, 1, 1],
            "course_id": ["W", "W", "W", "W"],
            "day": [7.0, 14.0, 7.0, 14.0],
            "capacity": [10, 10, 10, 10],
            "booked": [10, 0, 5, 5],
            "attended": [8, 0, 5, 5],
        }
    )
    s = A.seat_summary(sessions).set_index("measure")
    assert s.loc["sessions", "mean"] == 2.0
    assert s.loc["seats booked (share of capacity)", "mean"] == 0.5
    assert s.loc["seats attended (share of capacity)", "p95"] == pytest.approx(0.5 - 0.1 * 0.05)


def test_seats_per_month_sum_each_months_sessions_per_replication():
    from postenroll_sim import parse_scenario

    spec = parse_scenario(
        "name: seats\nstart_date: 2027-01-01\nhorizon_days: 59\ncourses:\n"
        "  - {id: W, type: ilc, sessions: [{every_days: 7, first_day: 6, capacity: 10}]}\n"
    )
    sessions = pd.DataFrame(
        {
            "replication": [0, 0, 0, 1, 1, 1],
            "course_id": ["W"] * 6,
            "day": [6.0, 13.0, 34.0, 6.0, 13.0, 34.0],  # 7 and 14 January, 4 February
            "capacity": [10] * 6,
            "booked": [10, 4, 1, 6, 2, 3],
            "attended": [8, 4, 1, 6, 2, 3],
            "missed": [2, 0, 0, 0, 0, 0],
        }
    )
    out = A.seats_per_month(sessions, spec)
    assert list(out.columns) == [
        "period_day", "month", "course_id", "measure", "mean", "p05", "p95"
    ]  # fmt: skip
    cell = out.set_index(["month", "measure"])
    jan, feb, mar = (pd.Timestamp(f"2027-0{m}-01") for m in (1, 2, 3))
    assert cell.loc[(jan, "capacity"), ["mean", "p05", "p95"]].tolist() == [20.0, 20.0, 20.0]
    # January: replication 0 booked 14 seats, replication 1 booked 8
    assert cell.loc[(jan, "booked"), "mean"] == 11.0
    assert cell.loc[(jan, "booked"), "p05"] == pytest.approx(8 + 0.05 * 6)
    assert cell.loc[(jan, "missed"), "mean"] == 1.0
    assert cell.loc[(feb, "booked"), "mean"] == 2.0 and cell.loc[(feb, "capacity"), "mean"] == 10
    assert cell.loc[(mar, "booked"), "mean"] == 0.0  # the horizon's month: no session in it
    assert list(out["measure"][:4]) == ["capacity", "booked", "attended", "missed"]


def test_variants_are_never_added_together():
    e = enrollments([(0, "x", "A", 0, NAN, NAN), (0, "x", "A", 0, NAN, NAN)])
    e["variant"] = pd.Categorical(["v=1", "v=2"])
    with pytest.raises(ValueError, match="2 sweep variants"):
        A.enrollment_volume(e, 7)
    assert len(A.enrollment_volume(e[e["variant"] == "v=1"], 7)) == 2


def test_path_summary_is_per_replication_then_mean_and_band():
    e = enrollments(
        [
            (0, "x", "A", 0, 2, NAN),
            (0, "y", "A", 0, 4, NAN),
            (1, "x", "A", 0, 6, NAN),
            (1, "y", "A", 0, NAN, NAN),
        ]
    )
    t = A.learning_path_timing(e, ["A"], horizon_days=10)
    s = A.path_summary(t).set_index("step").loc["A"]
    assert s["started"] == 2.0 and s["completed_share"] == 0.75
    assert s["completed_share_p05"] == pytest.approx(0.525)
    # replication 0: median 2 (x done at 2, y at 4); replication 1: 6 (y censored at 10)
    assert s["median_days"] == pytest.approx(4.0, abs=0.02)
    assert s["median_days_reached"] == 2


def test_paired_difference_and_its_interval():
    base = pd.Series([10.0, 12.0, 11.0, 13.0])
    other = pd.Series([11.0, 13.5, 12.0, 14.5])
    d = A.difference(base, other)
    # differences 1, 1.5, 1, 1.5: mean 1.25, sd 0.2887, t(3) = 3.182
    assert d["mean"] == pytest.approx(1.25)
    assert d["high"] - d["mean"] == pytest.approx(3.182 * 0.288675 / 2, rel=1e-4)
    unpaired = A.difference(base, other, paired=False)
    assert unpaired["mean"] == pytest.approx(1.25) and unpaired["low"] < d["low"]
    assert math.isnan(A.difference(base[:1], other[:1])["low"])  # one replication: no interval


# ----- compliance on certificates (S37), per month, overdue (S35) -------------------------


@pytest.fixture(scope="module")
def certified():
    from postenroll_sim import simulate

    from helpers import CERTIFIED, scenario

    return simulate(scenario(CERTIFIED))


@pytest.mark.parametrize(
    ("when", "alice"),
    [  # docs/semantics.md, S37's table; then the renewal of 20 Feb 2028 12:00
        ("2027-01-20 12:00", "never"),
        ("2027-06-01", "valid"),
        ("2028-01-01 09:59:59", "valid"),
        ("2028-01-01 10:00:00", "expiring"),
        ("2028-01-31 09:59:59", "expiring"),
        ("2028-01-31 10:00:00", "grace"),
        ("2028-02-14 09:59:59", "grace"),
        ("2028-02-14 10:00:00", "expired"),
        ("2028-02-20 11:59:59", "expired"),
        ("2028-02-20 12:00:00", "valid"),
    ],
)
def test_each_learners_compliance_state_at_an_instant(certified, when, alice):
    r = certified
    day = A.day_of(r.scenario, when)
    states = A.learner_states(r.certificates, r.enrollments, r.events, r.scenario, day)
    got = {row.learner_id: (row.state, row.assigned) for row in states.itertuples()}
    # dave left on day 100: not present, so in no state; carol is present, never assigned
    expected_dave = {} if day >= 100 else {"dave": ("valid", True)}
    assert got == {
        "alice": (alice, day >= 3),
        "bob": ("never", day >= 5),
        "carol": ("never", False),
        **expected_dave,
    }
    counts = A.compliance_state_counts(
        r.certificates, r.enrollments, r.events, r.scenario, days=[day]
    ).iloc[0]
    # the counts over time agree with the learners' states
    assert counts[alice if alice != "never" else "never_assigned"] >= 1
    assert counts["population"] == len(got)
    assert counts["assigned"] == sum(assigned for _, assigned in got.values())


def test_compliance_on_a_date_over_both_denominators(certified):
    # 1 Feb 2028 00:00: alice in grace (compliant), bob never; carol present, unassigned
    at = A.compliance_on(certified, dt.date(2028, 2, 1)).set_index("measure")
    assert at.attrs["day"] == 396.0
    assert at.loc["compliant", "count"] == 1 and at.loc["grace", "count"] == 1
    assert at.loc["compliant", "assigned"] == pytest.approx(1 / 2)
    assert at.loc["compliant", "population"] == pytest.approx(1 / 3)
    assert at.loc["never", "assigned"] == pytest.approx(1 / 2)
    assert at.loc["never", "population"] == pytest.approx(2 / 3)
    assert at.loc["valid", "count"] == 0 and at.loc["expired", "count"] == 0
    # a day number is the same instant; a date needs a start date
    pd.testing.assert_frame_equal(A.compliance_on(certified, 396.0).set_index("measure"), at)
    undated = certified.scenario.model_copy(update={"start_date": None})
    with pytest.raises(ValueError, match="no start_date"):
        A.day_of(undated, "2028-02-01")


def test_a_course_without_a_certificate_has_no_compliance_states(certified):
    counts = A.compliance_state_counts(
        certified.certificates,
        certified.enrollments,
        certified.events,
        certified.scenario,
        days=[50.0],
        courses=["OTHER", "FIRE"],
    )
    assert list(counts["course_id"]) == ["FIRE"]


def _certificates(rows):
    """rows: (replication, course, expired_day or NAN)"""
    return pd.DataFrame(
        [
            {
                "replication": rep,
                "certificate_id": i,
                "learner_id": f"l{i}",
                "course_id": course,
                "expired_day": expired,
            }
            for i, (rep, course, expired) in enumerate(rows)
        ]
    )


def test_certificates_expiring_per_calendar_month_with_the_band_over_replications(certified):
    spec = certified.scenario  # starts 1 Jan 2027; horizon day 420 (24 Feb 2028)
    table = _certificates(
        [
            (0, "FIRE", 31.5),  # 1 Feb 2027 12:00
            (0, "FIRE", 58.99),  # 28 Feb 2027
            (0, "FIRE", NAN),  # replaced before it expired: never expires (S32)
            (1, "FIRE", 59.0),  # 1 Mar 2027 00:00
            (1, "FIRE", 500.0),  # past the horizon
        ]
    )
    out = A.expiring_per_month(table, spec).set_index("month")
    assert out.index[0] == pd.Timestamp("2027-01-01") and out.index[-1] == pd.Timestamp(
        "2028-02-01"
    )
    assert len(out) == 14 and out["mean"].sum() == 1.5  # (2 + 1) / 2 replications
    feb, mar = out.loc[pd.Timestamp("2027-02-01")], out.loc[pd.Timestamp("2027-03-01")]
    assert (feb["mean"], feb["p05"], feb["p95"]) == (1.0, pytest.approx(0.1), 1.9)
    assert (mar["mean"], mar["p05"], mar["p95"]) == (0.5, 0.05, pytest.approx(0.95))
    assert out.loc[pd.Timestamp("2027-03-01"), "period_day"] == 59.0


def test_a_warm_starts_history_before_day_0_is_no_month_of_the_run(certified):
    """A warm start's certificates table holds the history's too (S41): those that
    expired before day 0 (negative days) are not counted in any month of the run (they
    once fell into the last month, the index -1 of the months)."""
    spec = certified.scenario
    table = _certificates([(0, "FIRE", -40.0), (0, "FIRE", -0.5), (0, "FIRE", 31.5)])
    out = A.expiring_per_month(table, spec).set_index("month")
    assert out["mean"].sum() == 1 and out.loc[pd.Timestamp("2027-02-01"), "mean"] == 1
    assert out["mean"].iloc[-1] == 0


def test_re_enrollments_falling_due_per_month_and_overdue_over_time(certified):
    r = certified
    due = A.re_enrollments_due_per_month(r.jobs, r.scenario).set_index("month")
    # alice's two certificates: jobs due 1 Jan 2028 10:00 and (past the horizon) 2029
    assert due["mean"].sum() == 2 and due.loc[pd.Timestamp("2028-01-01"), "mean"] == 1
    # dave's job (certificate of day 7) falls due 7 Dec 2027, after he left: it is
    # counted all the same (skipped_learner_removed, S34.1)
    assert due.loc[pd.Timestamp("2027-12-01"), "mean"] == 1
    late = A.overdue_over_time(r.events, r.enrollments, r.scenario.horizon_days, 1.0)
    late = late.set_index("day")["mean"]
    # alice's re-enrollment is due at the expiry (31 Jan 2028 10:00, day 395.42, S35) and
    # open until she completes it on day 415.5
    assert late.loc[395.0] == 0 and late.loc[396.0] == 1 and late.loc[415.0] == 1
    assert late.loc[416.0] == 0
