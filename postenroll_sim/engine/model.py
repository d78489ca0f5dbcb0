"""The SimPy model: schedules script steps and job runs, and lets the LMS apply the rules.

No process per learner or per job: everything is a call on the clock (engine/clock.py,
one SimPy process). Script steps are grouped by day, one urgent call a day; each job is
one ordinary call at the instant it is processed, scheduled when it is queued. The
clock runs an instant's urgent calls first, then its ordinary calls in the order they
were scheduled, which is the S23 tie order: script actions (file order), then jobs and
learner steps in the order they were scheduled, then what is scheduled for that
instant while it runs (delay-0 jobs, a step with no wait) at the end of that queue.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Sequence

import numpy as np
import simpy

from ..columns import SECONDS_PER_DAY
from ..formatting import instant
from ..scenario import ScenarioError
from ..scenario.errors import Problem
from .behaviour import Behaviours
from .clock import Clock
from .lms import LMS, ActionError, JobScheduler
from .log import EventLog, NullLog
from .plan import Plan, Step
from .population import PopulationDriver
from .random import Streams

RUN_JOB = 0  # the kind of the model's calls on the clock
SECONDS = float(SECONDS_PER_DAY)  # compiled: a C double (model.pxd)


def daily_run_at(due: float, hour: int) -> float:
    """S3 `daily`: the first run at `hour` at or after `due` (a job due exactly at a run
    time is processed by that run). Counted in whole seconds (S1), where float sums are
    exact: the run is never before `due`, and at `hour`:00:00 to the second."""
    offset = hour * 3600.0
    second = (due * SECONDS + 0.5) // 1.0
    runs = -((offset - second) // SECONDS)  # whole days from day 0's run, rounded up
    return (runs * SECONDS + offset) / SECONDS


class Driver:
    """What drives a run besides the rules (the script, a history to replay): `start(model)`
    is called once, at day 0, after the LMS and the clock exist and before time moves;
    it adds learners (`model.lms.add_learner`, `new_learner`) and schedules its own calls
    (`model.clock.urgent_at` for what happens at an instant before its jobs, S23;
    `model.clock.call_at` for after), which act on `model.lms` through its public
    methods. See docs/engine.md, "Extending the engine"."""

    def start(self, model: Model) -> None:
        raise NotImplementedError


class Observer:
    """Told of what the engine does, without changing it (desmod's probes): subclass and
    override the hooks wanted; each is called at the moment it names, `model.clock.now`."""

    def job_scheduled(self, job: int, at: float) -> None:
        """Job `job` was queued; it will be processed at `at` (S3; maybe past the horizon)."""

    def job_processing(self, job: int) -> None:
        """Job `job` is about to be processed (S19): the LMS decides it right after."""

    def enrolled(self, enrollment: int) -> None:
        """Enrollment `enrollment` was just created (S13, any method), before its `enrolled`
        trigger (S17) and what else it sets off; its record is in `model.store.enrollments`."""


class Script(Driver):
    """The scenario's script (the default driver): its named learners join at day 0, and
    each of its days is one urgent call, its steps applied in file order (S23)."""

    def __init__(self) -> None:
        self.step: Step | None = None  # the step being applied: errors are located at it

    def start(self, model: Model) -> None:
        for learner in model.plan.initial_learners:
            model.lms.add_learner(learner)
        self.model = model
        for group_index, group in enumerate(model.plan.timeline):  # past horizon: dropped
            model.clock.urgent_at(group[0].day, self.run_day, group_index)

    def run_day(self, at: float, group: int) -> None:
        for step in self.model.plan.timeline[group]:
            self.step = step
            self.apply(self.model, step)
        self.step = None

    def apply(self, model: Model, step: Step) -> None:
        """One step: a learner of `learners` joining on its day, or a script action (each
        action applies itself, scenario/actions.py). A driver may override it to leave
        some out."""
        if step.script_index is None:
            model.lms.add_learner(step.action)
        else:
            step.action.apply(model.lms, model.plan, step.script_index)


class Model(JobScheduler):
    # The LMS a model drives, unless it is given another (`lms_type`): an audit of a real
    # LMS history (postenroll_sim/qa/audit) drives a subclass that notes what the rules
    # require instead of enrolling.
    lms_type: type[LMS] = LMS

    def __init__(
        self,
        plan: Plan,
        seed: np.random.SeedSequence | None = None,
        record_events: bool = True,
        on_advance: Callable[[float], None] | None = None,
        spill: str | os.PathLike | None = None,
        *,
        lms_type: type[LMS] | None = None,
        script: Driver | None = None,
        behaviour: bool = True,
        population: bool = True,
        drivers: Sequence[Driver] = (),
        observers: Sequence[Observer] = (),
        start: float = 0.0,
    ):
        """`on_advance(day)` is called as simulated time moves on (a few thousand times a
        year), for progress displays. `spill`: a file for the event log to keep its rows
        in rather than in memory (engine/log.py); `close()` removes it.

        The run's drivers and observers (docs/engine.md, "Extending the engine"):
        `lms_type`, the LMS class (default `Model.lms_type`); `script`, the driver of the
        scenario's script (default `Script()`); `behaviour` and `population`, whether
        learners act on their own and the generated headcount is hired; `drivers`, more
        drivers, started after those; `observers`, told of each job scheduled and
        processed and each enrollment created; `start`, the first instant, a whole day at
        or before day 0 (a warm start replays a history before day 0 first, S39: its
        driver starts behaviour and the population at day 0 itself)."""
        self.plan = plan
        self.env = simpy.Environment()
        # nobody asked for the events table: a log that keeps nothing
        self.log = EventLog(spill) if record_events else NullLog()
        self.clock = Clock(self.env, plan.scenario.horizon_days, start)
        # a warm start's run (S39-S41): the tables hold the history's rows, marked `source`
        self.warm = False
        self.clock.on_advance = on_advance
        self.lms = (lms_type or self.lms_type)(plan, self.clock, self.log, self)
        self.store = self.lms.store
        streams = Streams(seed if seed is not None else np.random.SeedSequence(plan.scenario.seed))
        self.behaviours = Behaviours(self.clock, self.lms, plan, streams) if behaviour else None
        headcount = plan.scenario.population
        self.population = (
            PopulationDriver(self.clock, self.lms, plan, headcount, streams)
            if headcount and population
            else None
        )
        self.script = script if script is not None else Script()
        self.drivers = tuple(drivers)
        self.observers = tuple(observers)
        self.lms.observers = self.observers
        processing = plan.scenario.processing
        self._daily_hour = processing.hour if processing.mode == "daily" else None
        self._horizon = plan.scenario.horizon_days
        self._past_horizon: list[int] = []  # jobs that would run after it: pending (S24)
        # one call on the clock a job
        self._run_job_code = self.clock.handler(self, RUN_JOB, self._run_job)

    # ----- jobs -------------------------------------------------------------------

    def schedule_job(self, job: int, due: float) -> None:
        """S3: a job due at `due` runs at its instant (`exact`) or at the next daily run,
        as its own call: S23 orders it among the instant's other calls by when it was
        queued."""
        at = self.run_at(due)
        for observer in self.observers:
            observer.job_scheduled(job, at)
        if at > self._horizon:
            self._past_horizon.append(job)  # the clock would drop it: pending (S24)
        else:
            self.clock.call(at, self._run_job_code, job)

    def remove_observer(self, observer: Observer) -> None:
        """`observer` is told nothing more (a warm start's replay, once day 0 is reached:
        what it watched for is over, and every job after would cost a call)."""
        self.observers = tuple(o for o in self.observers if o is not observer)
        self.lms.observers = self.observers

    def run_at(self, due: float) -> float:
        """S3: when a job due at `due` is processed (`exact`: then; `daily`: the next run)."""
        return due if self._daily_hour is None else daily_run_at(due, self._daily_hour)

    def receive(self, kind: int, at: float, arg: int) -> None:
        self._run_job(at, arg)  # the model's one kind of call on the clock (RUN_JOB)

    def _run_job(self, at: float, job: int) -> None:
        for observer in self.observers:
            observer.job_processing(job)
        self.lms.process_job(job)

    # ----- run --------------------------------------------------------------------

    def run(self) -> None:
        # The model makes no reference cycles, but millions of live objects make Python's
        # cyclic collector rescan them over and over (20% of the run at 40,000 learners;
        # the initial headcount alone creates millions).
        collecting = gc.isenabled()
        gc.disable()
        try:
            self.script.start(self)  # day 0: named learners, then the script's days
            if self.population is not None:
                self.population.start()
            for driver in self.drivers:
                driver.start(self)
            # The clock schedules nothing past the horizon, so the run ends by itself
            # after the last call at or before it ([0, horizon] is closed).
            self.env.run()
            self.clock.finish()
            self.log.finish()
            self.lms.pending_jobs(self._past_horizon)
            self._past_horizon = []
            self.store.jobs.finish()
        except ActionError as exc:
            raise self._located(exc) from None
        finally:
            if collecting:
                gc.enable()

    def close(self) -> None:
        """Remove the event log's spill file, if it has one."""
        self.log.close()

    def _located(self, exc: ActionError) -> ScenarioError:
        step = self.script.step
        scenario = self.plan.scenario
        origin = scenario.origin
        index = step.script_index if step is not None and step.script_index is not None else -1
        action = step.action if step is not None else None
        when = (
            f"day {step.day:g}"
            if scenario.start_date is None
            else instant(step.day, scenario.start_date)
        )
        what = f"{when}: {action.action} {getattr(action, 'learner', '')} {getattr(action, 'course', '')}".rstrip()
        message = f"{what}: {exc}"
        path = ("script", index)
        if origin is None:
            return ScenarioError([Problem("<scenario>", None, path, message)])
        return ScenarioError([origin.problem(path, message)])
