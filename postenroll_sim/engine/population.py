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
from .clock import Clock
from .lms import LMS
from .plan import Plan
from .random import Streams, exponential, sampler

ADMIN, SELF = METHOD_CODE["admin"], METHOD_CODE["self"]
ID_DIGITS = 7  # L0000001: sortable as text up to ten million learners


class PopulationDriver:
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

    def start(self) -> None:
        for _ in range(self.spec.initial):
            self.join()
        hires = self.spec.hires
        if hires is None:
            return
        if hires.schedule is not None:
            for batch in hires.schedule:
                if batch.count:
                    self.clock.call_at(batch.day, self._hire_batch, batch.count)
        elif self.interarrival is not None:
            self._next_hire(0.0)

    def _next_hire(self, now: float) -> None:
        """Poisson arrivals, streamed: the next arrival is drawn when the previous one happens."""
        self.clock.call_at(now + self.interarrival(), self._hire)  # past the horizon: dropped

    def _hire(self, at: float, _payload: None) -> None:
        self.join()
        self._next_hire(at)

    def _hire_batch(self, at: float, count: int) -> None:
        for _ in range(count):
            self.join()

    def join(self) -> int:
        self.generated += 1
        learner = self.lms.new_learner(f"{self.spec.id_prefix}{self.generated:0{ID_DIGITS}d}")
        now = self.clock.now
        if self.leave is not None:
            self.clock.call_at(now + self.leave(), self._leave, learner)
        for index, (course, method, after) in enumerate(self.on_hire):
            delay = after()
            if delay == 0:
                self._enroll(learner, course, method)
            else:
                self.clock.call_at(now + delay, self._on_hire, (learner, index))
        for index, (_, gap) in enumerate(self.self_enroll):
            self.clock.call_at(now + gap(), self._self_enroll, (learner, index))
        return learner

    def _enroll(self, learner: int, course: int, method: int) -> None:
        if method == SELF:
            self.lms.self_enroll(learner, course)
        else:
            self.lms.enroll(learner, course, ADMIN)

    def _on_hire(self, at: float, payload: tuple[int, int]) -> None:
        learner, index = payload
        if self.lms.removed[learner]:
            return
        course, method, _ = self.on_hire[index]
        self._enroll(learner, course, method)

    def _self_enroll(self, at: float, payload: tuple[int, int]) -> None:
        """Catalog self-enrollment attempts: a Poisson process per learner and course (S16 applies)."""
        learner, index = payload
        if self.lms.removed[learner]:
            return
        course, gap = self.self_enroll[index]
        self.lms.self_enroll(learner, course)
        self.clock.call_at(at + gap(), self._self_enroll, payload)

    def _leave(self, at: float, learner: int) -> None:
        if not self.lms.removed[learner]:
            self.lms.remove_learner(learner)  # S29
