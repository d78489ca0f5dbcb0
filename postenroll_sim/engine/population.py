"""Generated learners: the initial headcount, hires (streamed), attrition and on-hire enrollments.

Hires arrive through one long-lived SimPy process that draws the next arrival only when
the previous one has happened, so nothing is scheduled up front. Each learner's own
future (leaving, on-hire enrollments, catalog self-enrollments) is drawn when they join
and scheduled only if it falls within the horizon.
"""

from __future__ import annotations

import math

from ..columns import METHOD_CODE
from ..scenario.stochastic import Population
from .clock import LOW_HALF, PAIR_SHIFT, Clock, Receiver, pair
from .lms import LMS
from .plan import Plan
from .random import Streams, exponential, sampler

ADMIN, SELF = METHOD_CODE["admin"], METHOD_CODE["self"]
ID_DIGITS = 7  # L0000001: sortable as text up to ten million learners
# the kinds of the population's calls on the clock (PopulationDriver.receive)
HIRE, HIRE_BATCH, LEAVE, ON_HIRE, SELF_ENROLL = range(5)


class PopulationDriver(Receiver):
    def __init__(self, clock: Clock, lms: LMS, plan: Plan, spec: Population, streams: Streams):
        self.clock = clock
        self.lms = lms
        self.plan = plan
        self.spec = spec
        self.generated = 0
        self.interarrival = None
        if spec.hires is not None and spec.hires.per_day:
            self.interarrival = exponential(1.0 / spec.hires.per_day, streams.generator("hires"))
        self.leave = None
        if spec.attrition is not None and spec.attrition.annual_rate > 0:
            daily_hazard = -math.log(1.0 - spec.attrition.annual_rate) / 365.0
            self.leave = exponential(1.0 / daily_hazard, streams.generator("attrition"))
        self.on_hire = [
            (
                plan.course(entry.course),
                SELF if entry.method == "self" else ADMIN,
                sampler(entry.after_days, streams.generator(f"on_hire:{i}:{entry.course}")),
            )
            for i, entry in enumerate(spec.on_hire)
        ]
        self.self_enroll = [
            (
                plan.course(entry.course),
                exponential(
                    365.0 / entry.per_year, streams.generator(f"self_enroll:{i}:{entry.course}")
                ),
            )
            for i, entry in enumerate(spec.self_enroll)
            if entry.per_year > 0
        ]
        # the clock's handler code of each kind of call (clock.handler)
        self._hire_code = clock.handler(self, HIRE, self._hire)
        self._hire_batch_code = clock.handler(self, HIRE_BATCH, self._hire_batch)
        self._leave_code = clock.handler(self, LEAVE, self._leave)
        self._on_hire_code = clock.handler(self, ON_HIRE, self._on_hire)
        self._self_enroll_code = clock.handler(self, SELF_ENROLL, self._self_enroll)

    def receive(self, kind: int, at: float, arg: int) -> None:
        """A call from the clock: `arg` is a learner (LEAVE), a learner and the index of
        its on-hire or self-enrollment entry, paired, or a number of hires."""
        if kind == ON_HIRE:
            self._on_hire(at, arg)
        elif kind == LEAVE:
            self._leave(at, arg)
        elif kind == SELF_ENROLL:
            self._self_enroll(at, arg)
        elif kind == HIRE:
            self._hire(at, arg)
        else:
            self._hire_batch(at, arg)

    def start(self) -> None:
        count = self.spec.initial
        first = self.lms.new_learners([self._next_id() for _ in range(count)])
        for learner in range(first, first + count):  # each joins in turn, as a hire would
            self._joined(learner)
        hires = self.spec.hires
        if hires is None:
            return
        if hires.schedule is not None:
            for batch in hires.schedule:
                if batch.count:
                    self.clock.call(batch.day, self._hire_batch_code, batch.count)
        elif self.interarrival is not None:
            self._next_hire(0.0)

    def _next_hire(self, now: float) -> None:
        """Poisson arrivals, streamed: the next arrival is drawn when the previous one happens."""
        self.clock.call(now + self.interarrival(), self._hire_code)  # past the horizon: dropped

    def _hire(self, at: float, _arg: int = 0) -> None:
        self.join()
        self._next_hire(at)

    def _hire_batch(self, at: float, count: int) -> None:
        for _ in range(count):
            self.join()

    def _next_id(self) -> str:
        self.generated += 1
        return f"{self.spec.id_prefix}{self.generated:0{ID_DIGITS}d}"

    def join(self) -> int:
        learner = self.lms.new_learners([self._next_id()])
        self._joined(learner)
        return learner

    def _joined(self, learner: int) -> None:
        """A learner joins now: logged, and its future drawn and scheduled."""
        self.lms.add_learner(learner)
        now = self.clock.now
        if self.leave is not None:
            self.clock.call(now + self.leave(), self._leave_code, learner)
        for index, (course, method, after) in enumerate(self.on_hire):
            delay = after()
            if delay == 0:
                self._enroll(learner, course, method)
            else:
                self.clock.call(now + delay, self._on_hire_code, pair(learner, index))
        for index, (_, gap) in enumerate(self.self_enroll):
            self.clock.call(now + gap(), self._self_enroll_code, pair(learner, index))

    def attrite(self, learner: int) -> None:
        """S40: a learner already present (a warm start's history) is subject to
        attrition from now on (exponential: memoryless), without on-hire enrollments."""
        if self.leave is not None:
            self.clock.call(self.clock.now + self.leave(), self._leave_code, learner)

    def _enroll(self, learner: int, course: int, method: int) -> None:
        if method == SELF:
            self.lms.self_enroll(learner, course)
        else:
            self.lms.enroll(learner, course, ADMIN)

    def _on_hire(self, at: float, arg: int) -> None:
        learner, index = arg >> PAIR_SHIFT, arg & LOW_HALF
        if self.lms.removed[learner]:
            return
        course, method, _ = self.on_hire[index]
        self._enroll(learner, course, method)

    def _self_enroll(self, at: float, arg: int) -> None:
        """Catalog self-enrollment attempts: a Poisson process per learner and course (S16 applies)."""
        learner, index = arg >> PAIR_SHIFT, arg & LOW_HALF
        if self.lms.removed[learner]:
            return
        course, gap = self.self_enroll[index]
        self.lms.self_enroll(learner, course)
        self.clock.call(at + gap(), self._self_enroll_code, arg)

    def _leave(self, at: float, learner: int) -> None:
        if not self.lms.removed[learner]:
            self.lms.remove_learner(learner)  # S29
