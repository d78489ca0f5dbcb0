"""The engine's machinery below the semantics: the clock's calendar and the recorder's logs.

The semantics tests check outcomes; these check the two places where speed tricks could
silently change them: the order calls run in, and tables built from packed logs.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.reference import reference_scenario
from postenroll_sim import load_scenario, parse_scenario
from postenroll_sim.columns import METHOD_CODE, TABLES
from postenroll_sim.engine import Model, columnar, compile_plan, recorder
from postenroll_sim.engine.clock import SLOTS_PER_DAY, Clock
from postenroll_sim.engine.log import CHUNK_ROWS
from postenroll_sim.engine.model import Driver, Observer, Script
from postenroll_sim.engine.recorder import Recorder
from postenroll_sim.run.lightrun import simulate_columns
from postenroll_sim.run.runner import SerialExecutor, simulate_replications

from helpers import ROOT


def run_clock(setup, horizon=100.0):
    """Run a clock with `setup(clock, log)`; returns the (at, name) calls in run order."""
    env = simpy.Environment()
    clock = Clock(env, horizon)
    log = []
    setup(clock, log)
    env.run()
    return log


def note(log, name):
    return lambda at, payload: log.append((at, name))


def test_calls_run_in_time_then_scheduling_order():
    def setup(clock, log):
        clock.call_at(2.0, note(log, "b"))
        clock.call_at(1.0, note(log, "a"))
        clock.call_at(2.0, note(log, "c"))  # same instant as b, scheduled later
        clock.call_at(2.0 + 1 / SLOTS_PER_DAY, note(log, "d"))  # the next slot

    assert run_clock(setup) == [(1.0, "a"), (2.0, "b"), (2.0, "c"), (2.0625, "d")]


def test_urgent_calls_run_first_at_their_instant_even_when_scheduled_last():
    def setup(clock, log):
        clock.call_at(3.0, note(log, "ordinary"))
        clock.call_at(2.99, note(log, "before"))
        clock.urgent_at(3.0, note(log, "script"))

    assert [name for _, name in run_clock(setup)] == ["before", "script", "ordinary"]


def test_calls_scheduled_into_the_running_slot_follow_what_was_there():
    def setup(clock, log):
        def first(at, payload):
            log.append((at, "first"))
            clock.call_at(at, note(log, "zero delay"))  # same instant: after "second"
            clock.call_at(at + 0.01, note(log, "soon"))  # before "third", same slot

        clock.call_at(5.0, first)
        clock.call_at(5.0, note(log, "second"))
        clock.call_at(5.02, note(log, "third"))

    names = [name for _, name in run_clock(setup)]
    assert names == ["first", "second", "zero delay", "soon", "third"]


def test_nothing_runs_past_the_horizon_and_the_horizon_itself_runs():
    def setup(clock, log):
        clock.call_at(10.0, note(log, "at horizon"))
        clock.call_at(10.0001, note(log, "past"))

    assert run_clock(setup, horizon=10.0) == [(10.0, "at horizon")]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.booleans()), min_size=1, max_size=60))
def test_order_matches_a_plain_sort_by_instant_priority_and_sequence(calls):
    """Against the obvious reference: sort every call by (instant, urgent first, order)."""
    instants = [(tick / 37.0, urgent) for tick, urgent in calls]  # many share a slot or instant

    def setup(clock, log):
        for seq, (at, urgent) in enumerate(instants):
            (clock.urgent_at if urgent else clock.call_at)(at, note(log, seq))

    expected = sorted(range(len(instants)), key=lambda s: (instants[s][0], not instants[s][1], s))
    assert [name for _, name in run_clock(setup, horizon=20.0)] == expected


def test_events_table_is_the_same_whatever_the_batching_spilling_and_release(tmp_path):
    # enough learners for the log to fill (and spill) a few chunks of CHUNK_ROWS
    scenario = parse_scenario(
        reference_scenario(4000, 1.0, certificates=True, due_dates=True), "reference.yaml"
    )

    def run(spill=None):
        model = Model(compile_plan(scenario), spill=spill)
        model.run()
        return model

    whole = recorder.tables(run(), release=False)
    assert len(whole["events"]) > 2 * CHUNK_ROWS
    released = recorder.tables(run(), release=True)
    spilled_model = run(spill=tmp_path / "events.log")
    assert spilled_model.log.spilled >= 2
    spilled = recorder.tables(spilled_model, release=True)
    assert len(spilled_model.log) == 0  # released: the log is empty
    spilled_model.close()
    assert not (tmp_path / "events.log").exists()
    for name, frame in whole.items():
        assert frame.equals(released[name]), name
        assert frame.equals(spilled[name]), name

    size = random.Random(0).randint(1000, 50_000)
    batched = dict(recorder.frame_batches(run(spill=tmp_path / "again.log"), rows=size))
    assert list(batched) == list(whole)
    for name, frames in batched.items():
        batches = list(frames)
        assert {len(b) for b in batches[:-1]} <= {size} and 0 < len(batches[-1]) <= size
        assert pd.concat(batches, ignore_index=True).equals(whole[name]), name
    assert len(whole["events"]) // size > 3  # many batches, across the log's chunks


def test_a_spilled_log_keeps_every_row_in_order_across_many_chunks(tmp_path):
    from postenroll_sim.engine.log import EVENT_ROW, EventLog

    log = EventLog(spill=tmp_path / "log")
    rows = [(i / 3, i % 7, i, -1, i, 1, -1, 2) for i in range(2 * CHUNK_ROWS + 5)]
    for row in rows:
        log.event(*row)
    log.finish()
    assert log.spilled == 2 and len(log) == len(rows)
    expected = b"".join(EVENT_ROW.pack(*row) for row in rows)
    assert b"".join(bytes(c) for c in log.chunks()) == expected  # read twice: still there
    assert b"".join(bytes(c) for c in log.chunks(release=True)) == expected
    assert len(log) == 0 and list(log.chunks()) == []


def test_an_urgent_call_made_while_running_still_runs_first_at_its_instant():
    def setup(clock, log):
        def first(at, payload):
            log.append((at, "first"))
            clock.call_at(at + 0.01, note(log, "ordinary"))
            clock.urgent_at(at + 0.01, note(log, "urgent"))

        clock.call_at(1.0, first)

    assert [name for _, name in run_clock(setup)] == ["first", "urgent", "ordinary"]


def test_a_late_call_runs_after_everything_else_at_its_instant():
    # what the LMS decides at the end of an instant (S26 v2) waits for calls scheduled
    # at that instant after it, and for nothing at a later instant of the slot
    def setup(clock, log):
        def first(at, payload):
            log.append((at, "first"))
            clock.late_at(at, note(log, "late"))
            clock.call_at(at, zero_delay)
            clock.call_at(at + 0.01, note(log, "next instant"))

        def zero_delay(at, payload):
            log.append((at, "zero delay"))
            clock.call_at(at, note(log, "cascade"))

        clock.late_at(2.0, note(log, "late before the run"))
        clock.call_at(2.0, note(log, "ordinary"))
        clock.call_at(1.0, first)

    assert [name for _, name in run_clock(setup)] == [
        "first",
        "zero delay",
        "cascade",
        "late",
        "next instant",
        "ordinary",
        "late before the run",
    ]


def test_progress_hook_sees_simulated_days_advance_to_the_horizon():
    scenario = parse_scenario(reference_scenario(50, 0.5), "reference.yaml")
    days = []
    model = Model(compile_plan(scenario), on_advance=days.append)
    model.run()
    assert days == sorted(days) and len(set(days)) == len(days) > 10
    last_event = recorder.tables(model, which=("events",))["events"]["day"].max()
    # the last report is the start of the slot of the last thing that happened
    assert last_event - 1 / SLOTS_PER_DAY < days[-1] <= last_event <= scenario.horizon_days


def test_many_calls_at_one_instant_keep_their_scheduling_order():
    """A crowded slot (a whole cohort due at once): ties must keep scheduling order."""
    instants = [4.0 + (i % 3) * 0.001 for i in range(300)]

    def setup(clock, log):
        for seq, at in enumerate(instants):
            clock.call_at(at, note(log, seq))

    expected = sorted(range(len(instants)), key=lambda s: (instants[s], s))
    assert [name for _, name in run_clock(setup)] == expected


def test_the_clock_sets_now_to_each_calls_instant_before_running_it():
    """Time has one owner: every call, ordinary, urgent or made while running, sees
    `clock.now` equal to its own instant."""
    seen = []

    def setup(clock, log):
        def check(at, payload):
            seen.append((at, clock.now))
            if payload:
                clock.call_at(at, check, False)  # into the running slot, at the same instant
                clock.urgent_at(at + 0.01, check, False)

        for at in (0.5, 0.5, 1.25, 7.0):
            clock.call_at(at, check, True)
        clock.urgent_at(1.25, check, False)

    run_clock(setup)
    assert len(seen) == 13 and all(at == now for at, now in seen)


def test_scheduling_before_now_is_an_error():
    failures = []

    def setup(clock, log):
        def late(at, payload):
            for schedule in (clock.call_at, clock.urgent_at):
                try:
                    schedule(at - 0.5, note(log, "never"))
                except ValueError as exc:
                    failures.append(str(exc))

        clock.call_at(2.0, late)

    assert run_clock(setup) == [] and len(failures) == 2
    assert "before now (2.0)" in failures[0]


def test_no_engine_module_but_the_clock_sets_the_time_or_reads_recorder_columns():
    """The grep checks of docs/contributing.md, kept honest."""
    from pathlib import Path

    import postenroll_sim

    package = Path(postenroll_sim.__file__).parent
    for path in package.rglob("*.py"):
        text = path.read_text()
        if path.name != "clock.py":
            assert ".now = " not in text, f"{path} sets the time"
        assert "rec.e_" not in text and "rec.j_" not in text, f"{path} reads recorder columns"


def _read(column) -> list:
    """A column's values as they read: texts, numbers, timestamps as text; None if missing."""
    if hasattr(column, "cat") or str(column.dtype) in ("Int32", "str"):
        return [None if pd.isna(v) else v for v in column.astype(object)]
    if str(column.dtype).startswith("datetime64"):
        return [None if pd.isna(v) else str(v) for v in column]
    return [None if v != v else v for v in column.tolist()]


def _read_light(table, name) -> list:
    column = table[name]
    values = [column.value(row) for row in range(len(table))]
    if isinstance(column, columnar.Times):
        return [None if str(v) == "NaT" else str(v) for v in values]
    return [None if v is None or v != v else v for v in values]


def test_the_column_tables_of_a_check_read_as_the_dataframes_of_a_run():
    """`check` matches on plain columns (columnar.py), `run` writes DataFrames: both from
    the same store, so every value, missing value and timestamp (to the nanosecond) and
    the stacking of replications must agree."""
    data = json.loads(reference_scenario(60, 0.5, seed=3, certificates=True, due_dates=True))
    data["start_date"] = "2024-02-29"
    scenario = parse_scenario(json.dumps(data), "reference.yaml")
    frames = simulate_replications(scenario, 2, executor=SerialExecutor()).tables()
    light = simulate_columns(scenario, 2, tables=TABLES)
    fractions = seconds = 0
    for name, frame in frames.items():
        assert list(light[name].columns) == list(frame.columns), name
        assert len(light[name]) == len(frame) > 0, name
        for column in frame.columns:
            assert _read_light(light[name], column) == _read(frame[column]), (name, column)
        if "queued_at" in frame:
            stamps = frame["queued_at"]
            fractions += int((stamps != stamps.dt.floor("s")).sum())
            seconds += len(stamps)
    # timestamps were compared too, and each is a whole second (S1 v2)
    assert seconds > 0 and fractions == 0


def test_stacking_column_tables_unites_the_ids_of_each_replication():
    def table(replication, codes, ids):
        return columnar.Table(
            {
                "replication": columnar.Ints(np.full(len(codes), replication)),
                "learner_id": columnar.Coded(np.array(codes, dtype=np.int8), ids),
                "job_id": columnar.Ints(np.array(codes), nullable=True),
            }
        )

    both = columnar.concat([table(0, [0, -1, 1], ["x", "y"]), table(1, [1, 0, -1], ["y", "z"])])
    assert [both.value("learner_id", row) for row in range(6)] == ["x", None, "y", "z", "y", None]
    assert [both.value("job_id", row) for row in range(6)] == [0, None, 1, 1, 0, None]
    assert both["replication"].values.tolist() == [0, 0, 0, 1, 1, 1]


def test_the_event_log_holds_exactly_the_packed_rows_however_many():
    # compiled, rows are written in place into room kept ahead (which grows many times
    # here); interpreted, packed and appended: the same bytes either way
    from postenroll_sim.engine.log import EVENT_ROW, EventLog

    log = EventLog()
    expected = bytearray()
    for i in range(150_000):
        row = (i / 7, i % 40, i, -1, 2 * i, i % 3 - 1, -1, 5)
        log.event(*row)
        expected += EVENT_ROW.pack(*row)
    assert len(log) == 150_000
    log.finish()
    assert b"".join(bytes(chunk) for chunk in log.chunks()) == bytes(expected)
    assert len(log) == 150_000


def test_job_rows_and_outcomes_are_exactly_the_packed_rows_however_many():
    # as the event log: compiled, written in place into room kept ahead; the same bytes
    from postenroll_sim.engine.store import JOB_ROW, OUTCOME_ROW, Jobs

    jobs = Jobs(capacity=4)
    rows, outcomes = bytearray(), bytearray()
    for i in range(60_000):
        job = (i % 11, i % 5, i % 3, i * 2 - 1, i / 3, i / 3 + 7)
        assert jobs.new(job[0], i % 97, *job[1:]) == i
        rows += JOB_ROW.pack(*job)
        outcome = (i, 0, i % 9, i % 6, i / 2, -1, i - 1)
        jobs.outcome(*outcome)
        outcomes += OUTCOME_ROW.pack(*outcome)
    jobs.finish()
    assert (len(jobs), jobs.n_outcomes) == (60_000, 60_000)
    assert bytes(jobs.rows) == bytes(rows) and bytes(jobs.outcomes) == bytes(outcomes)
    assert list(jobs.column("learner")[:5]) == [0, 1, 2, 3, 4]


def test_the_store_counts_the_ilc_sessions_seats_and_the_recorder_reads_them_there():
    scenario = load_scenario(ROOT / "scenarios" / "ilc-capacity-under-recertification.yaml")
    model = Model(compile_plan(scenario))
    model.run()
    events = recorder.tables(model, which=("events",))["events"]
    plan = model.plan
    # the store alone (no event log, no learner behaviour) makes the table, as for the others
    alone = Recorder(plan.course_ids, plan.course_types, plan.rule_ids)
    sessions = alone.tables(model.store, which=("sessions",))["sessions"]
    assert len(sessions) == len(model.store.sessions) > 0
    for column, event in (
        ("booked", "session_booked"),
        ("attended", "session_attended"),
        ("missed", "session_missed"),
    ):
        said = events[events["event"] == event]["detail"].astype(str).value_counts()
        counted = sessions.set_index(sessions["session_id"].astype(str))[column]
        assert counted.sum() > 0, column
        assert counted.to_dict() == {s: int(said.get(s, 0)) for s in counted.index}, column


class _Watch(Observer):
    """Notes what the model tells its observers, with what the store holds at that moment."""

    def __init__(self) -> None:
        self.scheduled, self.processed, self.created = {}, [], []

    def start(self, model: Model) -> None:
        self.model = model

    def job_scheduled(self, job: int, at: float) -> None:
        self.scheduled[job] = at

    def job_processing(self, job: int) -> None:
        self.processed.append((job, self.model.clock.now))

    def enrolled(self, enrollment: int) -> None:
        store = self.model.store
        self.created.append((enrollment, len(store.jobs)))


def test_observers_see_every_job_and_enrollment_as_the_tables_record_them():
    scenario = load_scenario(ROOT / "scenarios" / "remediation-on-failure.yaml")
    watch = _Watch()
    model = Model(compile_plan(scenario), observers=[watch])
    watch.start(model)
    model.run()
    tables = recorder.tables(model, which=("enrollments", "jobs"))
    enrollments, jobs = tables["enrollments"], tables["jobs"]
    assert [e for e, _ in watch.created] == list(enrollments["enrollment_id"])
    # told before the enrollment's `enrolled` trigger queues anything (S17)
    for enrollment, jobs_then in watch.created:
        queued_by_it = jobs[jobs["trigger_enrollment_id"] == enrollment]["job_id"]
        assert all(job >= jobs_then for job in queued_by_it)
    assert sorted(watch.scheduled) == sorted(set(jobs["job_id"]))
    processed = jobs.drop_duplicates("job_id").dropna(subset=["processed_day"])
    assert len(processed) > 0
    assert sorted(watch.processed) == sorted(
        zip(processed["job_id"], processed["processed_day"], strict=True)
    )
    for job, due in zip(jobs["job_id"], jobs["due_day"], strict=True):
        assert watch.scheduled[job] == model.run_at(due)


class _Late(Driver):
    """A driver of its own: a learner the script does not name enrolls on day 2."""

    def start(self, model: Model) -> None:
        self.model = model
        self.learner = model.lms.new_learner("zoe")
        model.clock.urgent_at(2.0, self.enroll, None)

    def enroll(self, at: float, payload: object) -> None:
        lms = self.model.lms
        lms.enroll(self.learner, self.model.plan.course("A"), METHOD_CODE["admin"])


class _NoLearnerActions(Script):
    def apply(self, model: Model, step) -> None:
        if step.script_index is None or step.action.action not in ("enroll", "fail", "complete"):
            super().apply(model, step)


def test_a_model_runs_the_drivers_it_is_given_and_the_store_decodes_its_rows():
    scenario = load_scenario(ROOT / "tests" / "acceptance" / "02-failed-remediation.yaml")
    model = Model(compile_plan(scenario), script=_NoLearnerActions(), drivers=[_Late()])
    model.run()
    e = recorder.tables(model, which=("enrollments",))["enrollments"]
    assert [(str(r.learner_id), str(r.course_id)) for r in e.itertuples()] == [("zoe", "A")]
    assert e["enrolled_day"].tolist() == [2.0]
    # the default script and no extra driver: the acceptance scenario's own run
    model = Model(compile_plan(scenario))
    model.run()
    jobs = recorder.tables(model, which=("jobs",))["jobs"]
    records = [model.store.jobs.record(job) for job in jobs["job_id"]]
    assert [r.queued for r in records] == jobs["queued_day"].tolist()
    assert [r.trigger_enrollment for r in records] == jobs["trigger_enrollment_id"].tolist()
    decided = model.store.jobs.outcome_records()
    assert sorted((d.job, d.processed) for d in decided) == sorted(
        zip(jobs["job_id"], jobs["processed_day"], strict=True)
    )
    assert model.store.jobs.outcome_records(len(decided)) == []
