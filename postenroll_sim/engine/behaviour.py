"""What learners do on their own: start, finish (pass or fail), abandon, book ILC sessions.

Driven by one hook: the LMS calls `on_visible(enrollment)` when a learner can first
see an enrollment (S21; Behaviours is the LMS's VisibilityListener). From then on each step is one scheduled callback that
re-checks the state it acts on (the enrollment may have been superseded, completed by
the script, or the learner removed in the meantime) and does nothing if it changed.
"""

from __future__ import annotations

from ..columns import EVENT_CODE
from ..scenario.stochastic import Behaviour
from .clock import LOW_HALF, PAIR_SHIFT, Clock, pair
from .lms import LMS, VisibilityListener
from .plan import CURRICULUM, ILC, Plan
from .random import Streams, constant, sampler, uniforms
from .store import COMPLETE, IN_PROGRESS, NONE, NOT_STARTED, unset

E = EVENT_CODE
EV_SESSION_ATTENDED = E["session_attended"]
EV_SESSION_BOOKED = E["session_booked"]
EV_SESSION_MISSED = E["session_missed"]
EV_SESSION_WAITLISTED = E["session_waitlisted"]
ZERO = constant(0.0)
# the kinds of call a learner's steps are on the clock (Behaviours.receive)
START, BOOK, ENROLL_MEMBERS, FINISH, ATTEND = range(5)


class CourseBehaviour:
    """A course's behaviour with its samplers bound to their own random streams."""

    def __init__(self, course_id: str, spec: Behaviour, allow_failure: bool, streams: Streams):
        def stream(name: str):
            return streams.generator(f"course:{course_id}:{name}")

        self.start_after = (
            sampler(spec.start_after_days, stream("start")) if spec.start_after_days else ZERO
        )
        self.duration = (
            sampler(spec.duration_days, stream("duration")) if spec.duration_days else ZERO
        )
        self.pass_rate = spec.pass_rate if (spec.pass_rate is not None and allow_failure) else 1.0
        self.abandon_rate = spec.abandon_rate or 0.0
        self.no_show_rate = spec.no_show_rate or 0.0
        self.uniform = uniforms(stream("decisions"))


class Behaviours(VisibilityListener):
    def __init__(self, clock: Clock, lms: LMS, plan: Plan, streams: Streams):
        self.clock = clock
        self.lms = lms
        self.rec = lms.rec  # to report events
        self.enrollments = lms.enrollments  # the LMS's state: read here, changed only by the LMS
        self.plan = plan
        self.by_course: list[CourseBehaviour | None] = [
            CourseBehaviour(course_id, spec, plan.allow_failure[c], streams)
            if spec is not None
            else None
            for c, (course_id, spec) in enumerate(zip(plan.course_ids, plan.behaviour, strict=True))
        ]
        # The seats are counted in the store (S30): each course's sessions are the ids from
        # first_open_session (those before it are past or full) to end_of_sessions.
        self.sessions = lms.store.sessions
        self.detail = [lms.rec.code(sid) for sid in self.sessions.ids]  # as event details
        self.first_open_session = []
        self.end_of_sessions = []
        end = 0
        for course in plan.sessions:
            self.first_open_session.append(end)
            end += len(course)
            self.end_of_sessions.append(end)
        self.waiting: list[list[int]] = [
            [] for _ in plan.course_ids
        ]  # enrollments with no seat yet
        # the clock's handler code of each kind of step (clock.handler)
        start = clock.handler(self, START, self._start)
        book = clock.handler(self, BOOK, self._book)
        enroll_members = clock.handler(self, ENROLL_MEMBERS, self._enroll_members)
        self._finish_code = clock.handler(self, FINISH, self._finish)
        self._attend_code = clock.handler(self, ATTEND, self._attend_paired)
        # what a learner does first once an enrollment is visible, per course
        self.first_step = [
            enroll_members
            if kind == CURRICULUM
            else book
            if kind == ILC and plan.sessions[c]
            else start
            for c, kind in enumerate(plan.course_types)
        ]
        lms.listener = self if any(self.by_course) else None

    def receive(self, kind: int, at: float, arg: int) -> None:
        """A step of a learner's, from the clock (`arg`: the enrollment; for ATTEND, the
        enrollment and the session's id in the store, paired)."""
        if kind == FINISH:
            self._finish(at, arg)
        elif kind == START:
            self._start(at, arg)
        elif kind == BOOK:
            self._book(at, arg)
        elif kind == ATTEND:
            self._attend_paired(at, arg)
        else:
            self._enroll_members(at, arg)

    def _still_open(self, enrollment: int, status: int) -> bool:
        ens = self.enrollments
        return (
            ens.status[enrollment] == status
            and unset(ens.superseded[enrollment])  # still current (S14)
            and not self.lms.removed[ens.learner[enrollment]]
        )

    # ----- the hook ----------------------------------------------------------------

    def on_visible(self, enrollment: int) -> None:
        course = self.enrollments.course[enrollment]
        behaviour = self.by_course[course]
        if behaviour is None:
            return
        self.clock.call(
            self.clock.now + behaviour.start_after(), self.first_step[course], enrollment
        )

    # ----- a warm start (S40): enrollments open at day 0 continue -------------------------

    def start_at(self, enrollment: int, at: float) -> None:
        """S40: an open enrollment's first step (start, book a session, enroll in members)
        at `at`, as if its start delay ended then (engine/warm.py draws it)."""
        self.clock.call(at, self.first_step[self.enrollments.course[enrollment]], enrollment)

    def finish_at(self, enrollment: int, at: float) -> None:
        """S40: a started enrollment finishes (passes or fails) at `at`."""
        self.clock.call(at, self._finish_code, enrollment)

    def book_now(self, enrollment: int) -> None:
        """S40: an open ILC enrollment books a session now (S30; exports hold no bookings)."""
        self._book_after(enrollment, self.clock.now, False)

    # ----- online courses (and ILCs without sessions) ----------------------------------

    def _start(self, at: float, enrollment: int) -> None:
        if not self._still_open(enrollment, NOT_STARTED):
            return
        lms = self.lms
        lms.start(enrollment)
        behaviour = self.by_course[self.enrollments.course[enrollment]]
        if behaviour.abandon_rate and behaviour.uniform() < behaviour.abandon_rate:
            return  # started, never finished
        self.clock.call(at + behaviour.duration(), self._finish_code, enrollment)

    def _finish(self, at: float, enrollment: int) -> None:
        if not self._still_open(enrollment, IN_PROGRESS):
            return
        self._result(enrollment)

    def _result(self, enrollment: int) -> None:
        behaviour = self.by_course[self.enrollments.course[enrollment]]
        if behaviour.pass_rate < 1.0 and behaviour.uniform() >= behaviour.pass_rate:
            self.lms.fail(enrollment)
        else:
            self.lms.complete(enrollment)

    # ----- curricula: learners enroll themselves in the members they still need ---------

    def _enroll_members(self, at: float, enrollment: int) -> None:
        ens, lms = self.enrollments, self.lms
        if ens.status[enrollment] >= COMPLETE or not self._still_open(
            enrollment, ens.status[enrollment]
        ):
            return
        learner, curriculum = ens.learner[enrollment], ens.course[enrollment]
        for members, required in self.plan.groups[curriculum]:
            missing = required - sum(1 for m in members if lms.counts_for(learner, curriculum, m))
            for member in members:
                if missing <= 0:
                    break
                if lms.counts_for(learner, curriculum, member):
                    continue
                if not lms.is_open(learner, member):
                    lms.self_enroll(learner, member)  # S16 applies: it may be rejected
                missing -= 1

    # ----- ILC sessions (S30) ----------------------------------------------------------

    def _book(self, at: float, enrollment: int) -> None:
        if not self._still_open(enrollment, NOT_STARTED):
            return
        behaviour = self.by_course[self.enrollments.course[enrollment]]
        if behaviour.abandon_rate and behaviour.uniform() < behaviour.abandon_rate:
            return  # never books
        self._book_after(enrollment, at, strictly=False)

    def _book_after(self, enrollment: int, day: float, strictly: bool) -> None:
        """Book the earliest session with a free seat at `day` or later (strictly later after
        a no-show); with none left within the horizon the learner waits (S30)."""
        course = self.enrollments.course[enrollment]
        sessions = self.sessions
        end = self.end_of_sessions[course]
        # Sessions in the past or full stay so (seats are never given back): skip them for good.
        index = self.first_open_session[course]
        while index < end and (
            sessions.day[index] < day or sessions.booked[index] >= sessions.capacity[index]
        ):
            index += 1
        self.first_open_session[course] = index
        learner = self.enrollments.learner[enrollment]
        for candidate in range(index, end):
            if sessions.booked[candidate] >= sessions.capacity[candidate] or (
                strictly and sessions.day[candidate] <= day
            ):
                continue
            sessions.booked[candidate] += 1
            self.rec.event(
                self.clock.now,
                EV_SESSION_BOOKED,
                learner,
                course,
                enrollment,
                NONE,
                NONE,
                self.detail[candidate],
            )
            self.clock.call(sessions.day[candidate], self._attend_code, pair(enrollment, candidate))
            return
        self.waiting[course].append(enrollment)
        self.rec.event(self.clock.now, EV_SESSION_WAITLISTED, learner, course, enrollment)

    def _attend_paired(self, at: float, arg: int) -> None:
        self._attend(at, arg >> PAIR_SHIFT, arg & LOW_HALF)

    def _attend(self, at: float, enrollment: int, session: int) -> None:
        rec, lms, ens, sessions = self.rec, self.lms, self.enrollments, self.sessions
        status = ens.status[enrollment]
        if status >= COMPLETE or not self._still_open(enrollment, status):
            return
        course = ens.course[enrollment]
        behaviour = self.by_course[course]
        learner = ens.learner[enrollment]
        detail = self.detail[session]
        if behaviour.no_show_rate and behaviour.uniform() < behaviour.no_show_rate:
            sessions.missed[session] += 1
            rec.event(at, EV_SESSION_MISSED, learner, course, enrollment, NONE, NONE, detail)
            self._book_after(enrollment, sessions.day[session], strictly=True)  # books again
            return
        sessions.attended[session] += 1
        rec.event(at, EV_SESSION_ATTENDED, learner, course, enrollment, NONE, NONE, detail)
        if status == NOT_STARTED:
            lms.start(enrollment)
        self._result(enrollment)
