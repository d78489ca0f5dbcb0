"""Behaviour, populations and ILC sessions: the statistics, not just that it runs.

Bounds are 4.5 standard errors wide: with fixed seeds these tests are deterministic, and a
correct model would fail one of them by chance less than once in 100,000 seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from postenroll_sim.engine.random import Streams, sampler
from postenroll_sim.scenario import stochastic as st

from helpers import rows, run

Z = 4.5


def within(observed: float, expected: float, se: float) -> bool:
    return abs(observed - expected) <= Z * se


@pytest.mark.parametrize(
    ("dist", "variance"),
    [
        (st.Exponential(dist="exponential", mean=3.0), 9.0),
        (
            st.Lognormal(dist="lognormal", median=2.0, sigma=0.5),
            (math.exp(0.25) - 1) * math.exp(2 * math.log(2) + 0.25),
        ),
        (st.Gamma(dist="gamma", mean=4.0, cv=0.5), 4.0),
        (st.Uniform(dist="uniform", min=1.0, max=3.0), 4 / 12),
        (
            st.Triangular(dist="triangular", min=0.0, mode=1.0, max=4.0),
            (0 + 1 + 16 - 0 - 0 - 4) / 18,
        ),
        (
            st.Empirical(dist="empirical", values=[1.0, 2.0, 5.0], weights=[5.0, 3.0, 2.0]),
            2.1 - 0.0,
        ),
    ],
)
def test_distribution_means(dist, variance):
    draw = sampler(dist, Streams(np.random.SeedSequence(1)).generator("t"))
    values = np.array([draw() for _ in range(20000)])
    if isinstance(dist, st.Empirical):
        variance = float(
            np.average((np.array(dist.values) - dist.mean()) ** 2, weights=dist.weights)
        )
    assert within(values.mean(), dist.mean(), math.sqrt(variance / len(values)))
    assert (values >= 0).all()


def test_fixed_and_plain_numbers_are_constant():
    behaviour = st.Behaviour(start_after_days=2, duration_days={"dist": "fixed", "value": 3})
    assert behaviour.start_after_days.mean() == 2 and behaviour.duration_days.mean() == 3


def test_streams_are_named_not_ordered():
    streams = Streams(np.random.SeedSequence(7))
    a1 = streams.generator("a").random(3)
    streams.generator("b").random(3)
    assert np.array_equal(a1, Streams(np.random.SeedSequence(7)).generator("a").random(3))
    assert not np.array_equal(a1, streams.generator("b").random(3))


COHORT = """
name: cohort
horizon_days: {horizon}
seed: {seed}
courses:
  - id: A
    type: online
    allow_failure: true
    behaviour:
      start_after_days: {{dist: exponential, mean: 2}}
      duration_days: {{dist: exponential, mean: 5}}
      pass_rate: 0.7
      abandon_rate: 0.1
population:
  initial: {n}
  on_hire: [{{course: A}}]
"""


def test_behaviour_statistics():
    result = run(COHORT.format(horizon=2000, seed=3, n=4000))
    e = result.enrollments
    assert len(e) == 4000
    wait = (e["started_day"] - e["visible_day"]).to_numpy()
    assert within(wait.mean(), 2.0, 2.0 / math.sqrt(len(wait)))
    finished = e[e["status"].isin(["complete", "failed"])]
    end = finished["completed_day"].fillna(finished["failed_day"])
    duration = (end - finished["started_day"]).to_numpy()
    assert within(duration.mean(), 5.0, 5.0 / math.sqrt(len(duration)))
    abandoned = (e["status"] == "in_progress").mean()
    assert within(abandoned, 0.1, math.sqrt(0.1 * 0.9 / len(e)))
    passed = (finished["status"] == "complete").mean()
    assert within(passed, 0.7, math.sqrt(0.7 * 0.3 / len(finished)))


def test_behaviour_waits_for_visibility_and_stops_for_removed_learners():
    result = run("""
        name: hidden
        horizon_days: 100
        courses:
          - {id: A, type: online, active: false, behaviour: {start_after_days: 1, duration_days: 2}}
          - {id: B, type: online, behaviour: {start_after_days: 5, duration_days: 2}}
        learners: [ana, ben]
        script:
          - {day: 0, action: enroll, learner: ana, course: A}
          - {day: 0, action: enroll, learner: ben, course: B}
          - {day: 3, action: remove_learner, learner: ben}
          - {day: 10, action: activate_course, course: A}
        """)
    ana = rows(result.enrollments, learner_id="ana").iloc[0]
    assert (ana["visible_day"], ana["started_day"], ana["completed_day"]) == (10, 11, 13)
    ben = rows(result.enrollments, learner_id="ben").iloc[0]
    assert ben["status"] == "not_started"  # removed before starting (S29)


def test_curriculum_behaviour_self_enrolls_the_members_still_needed():
    result = run("""
        name: cur
        horizon_days: 100
        courses:
          - {id: A, type: online}
          - {id: B, type: online}
          - {id: C, type: online, prerequisites: {courses: [A]}}
          - id: CUR
            type: curriculum
            groups: [{courses: [A, B], required: 1}, {courses: [C]}]
            behaviour: {start_after_days: 4}
        learners: [ana]
        script:
          - {day: 0, action: enroll, learner: ana, course: CUR}
        """)
    e = result.enrollments
    assert list(rows(e, method="self")["course_id"].astype(str)) == [
        "A"
    ]  # one of A/B needed; A first
    rejected = rows(result.events, event="self_enroll_rejected")
    assert (
        list(rejected["course_id"].astype(str)) == ["C"] and rejected.iloc[0]["day"] == 4
    )  # S16 gates it


def test_hires_attrition_and_self_enrollment_rates():
    result = run("""
        name: org
        horizon_days: 365
        seed: 11
        courses: [{id: CAT, type: online}]
        population:
          initial: 5000
          hires: {per_day: 3}
          attrition: {annual_rate: 0.2}
          self_enroll: [{course: CAT, per_year: 0.5}]
        """)
    events = result.events
    hires = (rows(events, event="learner_added")["day"] > 0).sum()
    assert within(hires, 3 * 365, math.sqrt(3 * 365))
    initial_left = rows(events, event="learner_removed")["learner_id"].astype(str)
    initial_left = initial_left[initial_left <= "L0005000"]
    assert within(len(initial_left) / 5000, 0.2, math.sqrt(0.2 * 0.8 / 5000))
    attempts = len(rows(result.enrollments, method="self")) + len(
        rows(events, event="self_enroll_rejected")
    )
    exposure = 5000 * 365 * (1 - 0.2 / 2) + 3 * 365 * 365 / 2  # learner-days, roughly
    assert abs(attempts - 0.5 * exposure / 365) < 0.05 * 0.5 * exposure / 365
    ids = list(result.enrollments["learner_id"].cat.categories)
    assert ids == sorted(ids) and ids[0] == "L0000001"


def test_hire_schedule_is_exact():
    result = run("""
        name: batches
        horizon_days: 30
        courses: [{id: A, type: online}]
        population:
          hires: {schedule: [{day: 1, count: 3}, {day: 10, count: 2}, {day: 40, count: 9}]}
          on_hire: [{course: A, after_days: 2}]
        """)
    added = rows(result.events, event="learner_added")
    assert list(added["day"]) == [1, 1, 1, 10, 10]
    assert list(result.enrollments["enrolled_day"]) == [3, 3, 3, 12, 12]


ILC = """
name: ilc
horizon_days: 200
seed: {seed}
courses:
  - id: W
    type: ilc
    allow_failure: true
    sessions:
      - {{day: 3, capacity: 5}}
      - {{every_days: 10, first_day: 10, until_day: 150, capacity: 8}}
    behaviour: {{start_after_days: {{dist: exponential, mean: 4}}, no_show_rate: 0.2, pass_rate: 0.9}}
population:
  initial: 120
  hires: {{per_day: 0.5}}
  on_hire: [{{course: W}}]
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ilc_sessions_never_overbooked_and_waits_are_non_negative(seed):
    result = run(ILC.format(seed=seed))
    sessions, events, e = result.sessions, result.events, result.enrollments
    assert list(sessions["day"]) == [3.0, *range(10, 151, 10)]
    assert (sessions["booked"] <= sessions["capacity"]).all()
    assert (sessions["attended"] + sessions["missed"] <= sessions["booked"]).all()
    attended = rows(events, event="session_attended")
    assert len(attended) == sessions["attended"].sum() > 0
    # attendance happens on the session's day and completes (or fails) the course then
    day_of = dict(zip(sessions["session_id"].astype(str), sessions["day"], strict=True))
    assert all(
        day_of[d] == day
        for d, day in zip(attended["detail"].astype(str), attended["day"], strict=True)
    )
    done = e[e["status"].isin(["complete", "failed"])]
    assert len(done) == len(attended)
    end = done["completed_day"].fillna(done["failed_day"])
    assert ((end - done["visible_day"]) >= 0).all()
    booked = rows(events, event="session_booked")
    assert all(
        day_of[d] >= day for d, day in zip(booked["detail"].astype(str), booked["day"], strict=True)
    )
    # a no-show books a later session
    missed = rows(events, event="session_missed")
    share = len(missed) / (len(missed) + len(attended))
    assert within(share, 0.2, math.sqrt(0.2 * 0.8 / (len(missed) + len(attended))))


def test_ilc_learners_wait_when_every_session_is_full():
    result = run("""
        name: full
        horizon_days: 30
        courses:
          - {id: W, type: ilc, sessions: [{day: 5, capacity: 2}], behaviour: {start_after_days: 1}}
        population:
          initial: 5
          on_hire: [{course: W}]
        """)
    assert result.sessions.iloc[0]["booked"] == 2
    assert len(rows(result.events, event="session_waitlisted")) == 3
    assert (result.enrollments["status"] == "complete").sum() == 2


def test_same_seed_same_tables_different_seed_differs():
    first = run(COHORT.format(horizon=100, seed=5, n=300))
    again = run(COHORT.format(horizon=100, seed=5, n=300))
    other = run(COHORT.format(horizon=100, seed=6, n=300))
    assert first.enrollments.equals(again.enrollments) and first.events.equals(again.events)
    assert not first.enrollments.equals(other.enrollments)
