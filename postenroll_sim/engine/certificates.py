"""Certificates, re-enrollment before expiry and due dates (S31-S36): the semantics beside
the Post Enrollment rules (lms.py), which calls in here at a completion, at an enrollment
and for a re-enrollment job. A scenario with neither certificates nor due dates makes no
desk, and the LMS calls nothing here.

A certifying course awards a certificate at every completion (a million a year in a
million-learner organisation), so the desk is compiled with the core (`certificates.pxd`):
an award in days (the usual case) is C arithmetic, and expiries and overdue checks are
handler calls on the clock. Its state is typed columns in the store
(`store.certificates`) that the recorder reads into the `certificates` table.
"""

from __future__ import annotations

import math
from array import array

from ..columns import (
    EVENT_CODE,
    METHOD_CODE,
    OUTCOME_CODE,
    SECONDS_PER_DAY,
    TRIGGER_CODE,
    whole_second,
)
from ..scenario.certificates import Calendar
from .clock import Receiver
from .plan import Plan
from .store import COMPLETE, NAN, NONE

RE_ENROLLMENT = METHOD_CODE["re_enrollment"]  # the LMS's re_enroll makes them (lms.py)
EXPIRING = TRIGGER_CODE["expiring"]
EV_AWARDED = EVENT_CODE["certificate_awarded"]
EV_EXPIRED = EVENT_CODE["certificate_expired"]
EV_OVERDUE = EVENT_CODE["overdue"]
EV_JOB_QUEUED = EVENT_CODE["job_queued"]
EV_JOB_PROCESSED = EVENT_CODE["job_processed"]
O_ENROLLED = OUTCOME_CODE["enrolled"]
O_OPEN = OUTCOME_CODE["skipped_already_enrolled"]
O_REMOVED = OUTCOME_CODE["skipped_learner_removed"]
O_RENEWED = OUTCOME_CODE["skipped_renewed"]
SECONDS = float(SECONDS_PER_DAY)  # compiled: a C double
EXPIRE, OVERDUE = 0, 1  # the desk's calls on the clock (Receiver kinds)


def uses_certificates(plan: Plan) -> bool:
    """Does the scenario award certificates or give due dates (S31, S35)?"""
    return any(c.certificate is not None or c.due_after is not None for c in plan.scenario.courses)


class CertificateRecords:
    """What S31-S36 keep, in typed columns: one row per certificate in award order, the
    certificate each re-enrollment job was queued for, and each enrollment's due instant."""

    def __init__(self, re_enrolls: bool):
        self.re_enrolls = re_enrolls  # jobs tables get `kind` and `certificate_id`
        self.learner, self.course, self.enrollment = array("i"), array("i"), array("i")
        self.awarded, self.expires = array("d"), array("d")
        self.replaced, self.expired = array("d"), array("d")
        self.job_certificate: dict[int, int] = {}  # re-enrollment job -> certificate (S34)
        self.due: dict[int, float] = {}  # enrollment -> due instant (S35)

    def __len__(self) -> int:
        return len(self.learner)


class CertificateDesk(Receiver):
    def __init__(self, lms, plan: Plan):
        self.lms = lms
        # the LMS's state, read here (compiled: typed), changed only as the LMS does
        self.clock, self.rec = lms.clock, lms.rec
        self.enrollments, self.jobs = lms.enrollments, lms.jobs
        self.nc = lms.nc
        scenario = plan.scenario
        self.calendar = Calendar(scenario.start_date)
        self.certificate = [c.certificate for c in scenario.courses]
        self.due_after = [c.due_after for c in scenario.courses]
        self.renewal_due = [c.renewal_due for c in scenario.courses]
        # per course, what an award needs when it is plain days (the usual case, C
        # arithmetic compiled): the validity, NaN where S31-S33 need the calendar or the
        # certificate held (renew_from: expiry); the window before expiry, NaN for none
        self.valid_days = array("d", [self._plain_days(c) for c in self.certificate])
        self.window_days = array("d", [self._window_days(c) for c in self.certificate])
        self.records = CertificateRecords(
            any(c is not None and c.reenroll_before is not None for c in self.certificate)
        )
        self.held: dict[int, int] = {}  # learner * nc + course -> the latest certificate
        # enrollment -> the expiry a history gives the certificate its completion awards
        # (an audit's `expires_at`): where an export has one, it is the truth (S39)
        self.given_expiry: dict[int, float] = {}
        self.expire_code = self.clock.handler(self, EXPIRE, self._expire)
        self.overdue_code = self.clock.handler(self, OVERDUE, self._check_overdue)

    def receive(self, kind: int, at: float, arg: int) -> None:
        if kind == EXPIRE:
            self._expire(at, arg)
        else:
            self._check_overdue(at, arg)

    @staticmethod
    def _plain_days(cert) -> float:
        if cert is None or cert.valid_for is None or cert.renew_from == "expiry":
            return NAN
        days = cert.valid_for.days
        return float(days) if days is not None else NAN

    @staticmethod
    def _window_days(cert) -> float:
        if cert is None or cert.reenroll_before is None or cert.reenroll_before.days is None:
            return NAN
        return float(cert.reenroll_before.days)

    def certifies(self, course: int) -> bool:
        return self.certificate[course] is not None

    def dates(self, course: int) -> bool:
        """Do the course's enrollments get a due instant (S35: `due_after`, or a
        re-enrollment, which is always due)?"""
        cert = self.certificate[course]
        return self.due_after[course] is not None or (
            cert is not None and cert.reenroll_before is not None
        )

    # ----- S31-S34: awarding ------------------------------------------------------------

    def expiry(self, course: int, key: int, now: float) -> float:
        """S31-S33: when a certificate awarded now expires."""
        valid = self.valid_days[course]
        if valid == valid:  # plain days (S31): not NaN
            second = ((now + valid) * SECONDS + 0.5) // 1.0  # S1: whole_second, written out
            return second / SECONDS
        cert = self.certificate[course]
        if cert.expires_on is not None:
            # S33: min_valid defaults to, and is at least, reenroll_before: in every month
            # ({months: 1} from 1 February is 28 days, short of a 30-day window)
            return self.calendar.fixed_expiry(
                now, cert.expires_on, cert.min_valid, cert.reenroll_before
            )
        base = now
        held = self.held.get(key)
        records = self.records
        if cert.renew_from == "expiry" and held is not None and records.expires[held] > now:
            # S32: renewing while valid, inside the window (without one: any time valid)
            window = cert.window()
            opens = (
                self.calendar.subtract(records.expires[held], window) if window else -math.inf
            )  # (no window: any time valid; a warm start replays negative days, S39)
            if now >= opens:
                base = records.expires[held]
        return self.calendar.add(base, cert.valid_for)

    def award(self, enrollment: int) -> None:
        """S31: a completion of a certifying course. After its `completed` event and before
        the rule jobs it queues (S34 order): the older certificate replaced (S32), the new
        one awarded, its expiry and re-enrollment job scheduled."""
        records, ens = self.records, self.enrollments
        now = self.clock.now
        learner, course = ens.learner[enrollment], ens.course[enrollment]
        key = learner * self.nc + course
        expires = self.given_expiry.pop(enrollment, NAN) if self.given_expiry else NAN
        if expires != expires:  # none given (NaN)
            expires = self.expiry(course, key, now)
        held = self.held.get(key, NONE)
        if held != NONE and records.expires[held] > now:
            records.replaced[held] = now  # S32: at most one valid certificate per course
        certificate = len(records.learner)
        records.learner.append(learner)
        records.course.append(course)
        records.enrollment.append(enrollment)
        records.awarded.append(now)
        records.expires.append(expires)
        records.replaced.append(NAN)
        records.expired.append(NAN)
        self.held[key] = certificate
        self.rec.event(now, EV_AWARDED, learner, course, enrollment, NONE, NONE, NONE)
        self.clock.call_first(expires, self.expire_code, certificate)  # before all else there
        if self.certificate[course].reenroll_before is not None:  # S34
            window = self.window_days[course]
            if window == window:  # plain days
                due = ((expires - window) * SECONDS + 0.5) // 1.0 / SECONDS
            else:
                due = whole_second(
                    self.calendar.subtract(expires, self.certificate[course].reenroll_before)
                )
            if due < now:
                due = now
            job = self.jobs.new(NONE, learner, course, EXPIRING, enrollment, now, due)
            self.lms.job_version.append(None)  # no rule version: the desk processes it
            records.job_certificate[job] = certificate
            self.rec.event(now, EV_JOB_QUEUED, learner, course, enrollment, NONE, job, NONE)
            self.lms.scheduler.schedule_job(job, due)

    def _expire(self, at: float, certificate: int) -> None:
        """S37: `certificate_expired` at the expiry of a certificate not replaced before."""
        records = self.records
        if records.replaced[certificate] == records.replaced[certificate]:  # replaced: not NaN
            return
        records.expired[certificate] = at
        self.rec.event(
            at,
            EV_EXPIRED,
            records.learner[certificate],
            records.course[certificate],
            records.enrollment[certificate],
            NONE,
            NONE,
            NONE,
        )

    # ----- S34: re-enrollment jobs ----------------------------------------------------

    def process(self, job: int) -> None:
        """S34 steps 1-4 for a re-enrollment job."""
        lms, records, ens = self.lms, self.records, self.enrollments
        now = self.clock.now
        learner = self.jobs.learner[job]
        certificate = records.job_certificate[job]
        course = records.course[certificate]
        key = learner * self.nc + course
        current = lms.current[key]
        enrollment = reason = NONE
        if lms.removed[learner]:
            outcome = O_REMOVED  # S34.1
        elif self.held[key] != certificate:
            # S34.2 [decision]: a newer certificate was awarded since (replacing this one,
            # or after it expired: a renewal in grace is a renewal too)
            outcome = O_RENEWED
        elif current >= 0 and ens.status[current] < COMPLETE:
            outcome, reason = O_OPEN, current  # S34.3
        else:
            outcome = O_ENROLLED  # S34.4
            enrollment = ens.n
        self.jobs.outcome(job, 0, course, outcome, now, enrollment, reason)
        self.rec.event(
            now,
            EV_JOB_PROCESSED,
            learner,
            course,
            enrollment,
            NONE,
            job,
            lms.outcome_detail[outcome],
        )
        if outcome == O_ENROLLED:
            lms.re_enroll(learner, course, job)  # S34.4 (an audit notes it instead)

    def pending(self, job: int) -> int:
        """The target of a re-enrollment job still queued at the horizon (S24)."""
        return self.records.course[self.records.job_certificate[job]]

    # ----- S35: due dates -------------------------------------------------------------

    def enrolled(self, enrollment: int, method: int) -> None:
        """S35: the due instant of a new enrollment, and its overdue check."""
        course = self.enrollments.course[enrollment]
        due_after = self.due_after[course]
        if due_after is None and method != RE_ENROLLMENT:
            return  # (every enrollment of the run comes here: the usual case first)
        now = self.clock.now
        renews = self._renews(enrollment) if method == RE_ENROLLMENT else None
        if renews is not None and (self.renewal_due[course] == "expiry" or due_after is None):
            due = self.records.expires[renews]
        elif due_after is not None:
            due = self.calendar.add(now, due_after)
        else:
            return
        self.records.due[enrollment] = due
        # after all else there; a re-enrollment a history makes after the expiry it was
        # due by (an audit's) is overdue at once
        self.clock.call_late(max(due, now), self.overdue_code, enrollment)

    def _renews(self, enrollment: int) -> int | None:
        """The certificate a re-enrollment renews: its job's (S34); one an audit's history
        makes without a job renews the learner's latest certificate, if any."""
        ens = self.enrollments
        found = self.records.job_certificate.get(ens.job[enrollment])
        if found is None:
            found = self.held.get(ens.learner[enrollment] * self.nc + ens.course[enrollment])
        return found

    def _check_overdue(self, at: float, enrollment: int) -> None:
        """S35: still the current, open enrollment of a present learner at its due instant."""
        ens = self.enrollments
        learner = ens.learner[enrollment]
        if (
            ens.status[enrollment] < COMPLETE
            and ens.is_current(enrollment)
            and not self.lms.removed[learner]
        ):
            self.rec.event(
                at, EV_OVERDUE, learner, ens.course[enrollment], enrollment, NONE, NONE, NONE
            )
