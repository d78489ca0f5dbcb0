"""The LMS state and the Post Enrollment semantics: the one place the S-rules live.

The LMS owns the run's state (engine/store.py: every enrollment and job, in typed
columns) and knows nothing of SimPy: it reads the current instant from the clock
(`clock.now`, set by the clock alone) and hands the jobs it queues to a JobScheduler
(`schedule_job(job_id, due_day)`; the model decides when they run). It tells the event
log what happened (`log.event`), and never reads anything back from it; it tells a
VisibilityListener (learner behaviour) when a learner can first see an enrollment.
Both are small base classes, so that compiled, these calls are C calls.
Learners are data: int codes into flat arrays, never an object each.
"""

from __future__ import annotations

from array import array

from ..columns import EVENT_CODE, METHOD_CODE, OUTCOME_CODE, TRIGGERS, whole_second
from .certificates import CertificateDesk, uses_certificates
from .clock import Clock, Receiver
from .log import EventLog
from .plan import BUNDLE, COMPLETED, CURRICULUM, ENROLLED, FAILED, Plan, RuleVersion
from .store import COMPLETE, IN_PROGRESS, NAN, NEVER, NONE, NOT_STARTED, Store
from .store import FAILED as FAILED_STATUS

ADMIN = METHOD_CODE["admin"]
SELF = METHOD_CODE["self"]
POST_ENROLLMENT = METHOD_CODE["post_enrollment"]
BUNDLE_METHOD = METHOD_CODE["bundle"]
RE_ENROLLMENT = METHOD_CODE["re_enrollment"]
N_TRIGGERS = len(TRIGGERS)

E = EVENT_CODE
EV_BUNDLE_COURSE_ADDED = E["bundle_course_added"]
EV_BUNDLE_COURSE_REMOVED = E["bundle_course_removed"]
EV_BUNDLE_MEMBER_SKIPPED = E["bundle_member_skipped"]
EV_CASCADE_LIMIT = E["cascade_limit"]
EV_COMPLETED = E["completed"]
EV_COURSE_ACTIVATED = E["course_activated"]
EV_COURSE_DEACTIVATED = E["course_deactivated"]
EV_ENROLLED = E["enrolled"]
EV_FAILED = E["failed"]
EV_JOB_PROCESSED = E["job_processed"]
EV_JOB_QUEUED = E["job_queued"]
EV_LEARNER_ADDED = E["learner_added"]
EV_LEARNER_REMOVED = E["learner_removed"]
EV_RULE_ADDED = E["rule_added"]
EV_RULE_EDITED = E["rule_edited"]
EV_RULE_REMOVED = E["rule_removed"]
EV_SELF_ENROLL_REJECTED = E["self_enroll_rejected"]
EV_STARTED = E["started"]
EV_SUPERSEDED = E["superseded"]
EV_VISIBLE = E["visible"]
O_ENROLLED = OUTCOME_CODE["enrolled"]
O_OPEN = OUTCOME_CODE["skipped_already_enrolled"]
O_COMPLETED = OUTCOME_CODE["skipped_already_completed"]
O_REMOVED = OUTCOME_CODE["skipped_learner_removed"]
O_CASCADE = OUTCOME_CODE["cascade_limit"]
O_PENDING = OUTCOME_CODE["pending"]


class JobScheduler(Receiver):
    """Takes the jobs the LMS queues (S18) and runs them when they are due (the model)."""

    def schedule_job(self, job: int, due: float) -> None:
        raise NotImplementedError


class VisibilityListener(Receiver):
    """Told when a learner can first see an enrollment (S21): learner behaviour."""

    def on_visible(self, enrollment: int) -> None:
        raise NotImplementedError


class ActionError(Exception):
    """A script action that cannot be applied to the state it meets (e.g. no open enrollment)."""


class LMS:
    def __init__(
        self,
        plan: Plan,
        clock: Clock,
        log: EventLog,
        scheduler: JobScheduler,
    ):
        self.plan = plan
        self.clock = clock  # the one owner of time: read clock.now, never set it
        # each run its own copy of the learner ids: hires append
        self.store = Store(list(plan.learner_ids), plan.sessions)
        self.learner_ids = self.store.learner_ids
        self.enrollments = self.store.enrollments
        self.jobs = self.store.jobs
        self.rec = log  # what happened, for the events table (never read back)
        self.observers = ()  # the model's (engine/model.py Observer): told of each enrollment
        self.scheduler = scheduler
        self.nc = plan.n_courses
        # the catalog's structure, read on every completion (S7, S26)
        self.prerequisites = plan.prerequisites
        self.curricula_of = plan.curricula_of
        self.groups = plan.groups
        self.course_types = plan.course_types
        self.active = list(plan.active)
        self.bundle_members = [list(m) for m in plan.bundle_members]
        # Per learner, and per learner and course in flat typed arrays indexed by
        # learner * nc + course (learners are dense codes): no hashing, 1-8 bytes a slot.
        # Compiled, the attributes are typed views of these arrays (lms.pxd).
        learners, slots = len(self.learner_ids), len(self.learner_ids) * self.nc
        self._no_courses = array("i", [NONE]) * self.nc  # one learner's empty slots
        self._never_completed = array("d", [NEVER]) * self.nc
        self._arrays = (
            array("b", [False]) * learners,  # removed (S29)
            array("i", [NONE]) * slots,  # the current enrollment (S14), or NONE
            array("d", [NEVER]) * slots,  # the last completion day, or NEVER
            array("i", [NONE]) * slots,  # ... and its enrollment (evidence)
        )
        self._view_arrays()
        self.invisible: dict[
            int, list[int]
        ] = {}  # course -> enrollments waiting for activation (S21)
        self.to_start: list[int] = []  # curricula that may start at the end of this instant (S26)
        self.bundle_holders: list[dict[int, int]] = [
            {} for _ in plan.course_ids
        ]  # bundle -> learner -> enrollment
        # Rules in force: a version per rule, and per course the rules in definition order.
        self.version_of: dict[int, RuleVersion] = {}
        self.course_rules: list[list[int]] = [[] for _ in plan.course_ids]
        self.in_force: list[tuple[RuleVersion, ...]] = [()] * (
            N_TRIGGERS * self.nc
        )  # course * N_TRIGGERS + trigger
        self.job_version: list[RuleVersion] = []  # job id -> snapshot (S18)
        for version in plan.initial_rules:
            self._put_rule(version)
        self.cascade_limit = plan.scenario.processing.cascade_limit
        self._guard_at = NAN
        self._guard_counts: dict[int, int] = {}
        self.warnings: list[str] = []
        # Told of each enrollment its learner can first see (S21); the behaviour layer
        # sets it. None: learners do nothing on their own.
        self.listener: VisibilityListener | None = None
        self.method_detail = [log.code(m) for m in METHOD_CODE]
        self.outcome_detail = [
            log.code(name) for name in sorted(OUTCOME_CODE, key=OUTCOME_CODE.get)
        ]
        # S31-S36: certificates, re-enrollment and due dates, when the scenario has any
        self.desk = CertificateDesk(self, plan) if uses_certificates(plan) else None
        if self.desk is not None:
            self.store.certificates = self.desk.records
        # per course: awards certificates; gives its enrollments a due instant (S35). Read
        # at every completion and enrollment, so compiled that is a C look-up, not a call.
        desk = self.desk
        self.certified = array(
            "b", [desk is not None and desk.certifies(c) for c in range(self.nc)]
        )
        self.dated = array("b", [desk is not None and desk.dates(c) for c in range(self.nc)])

    # ----- rules in force (S18) -------------------------------------------------------

    def _put_rule(self, version: RuleVersion) -> None:
        rules = self.course_rules[version.source]
        if version.rule not in rules:
            rules.append(version.rule)
        self.version_of[version.rule] = version
        self._refresh(version.source)

    def _refresh(self, course: int) -> None:
        versions = [self.version_of[r] for r in self.course_rules[course]]
        for trigger in range(N_TRIGGERS):  # every trigger of columns.TRIGGERS
            self.in_force[course * N_TRIGGERS + trigger] = tuple(
                v for v in versions if v.when == trigger
            )

    def add_rule(self, version: RuleVersion) -> None:
        """S18: a new rule acts on triggers from now on, never on earlier ones."""
        self._put_rule(version)
        self.rec.event(self.clock.now, EV_RULE_ADDED, NONE, version.source, NONE, version.rule)

    def edit_rule(self, version: RuleVersion) -> None:
        """S18 [decision]: jobs already queued keep the snapshot they were queued with;
        `version` (the plan's, rule_versions) is in force from now on."""
        self._put_rule(version)
        self.rec.event(self.clock.now, EV_RULE_EDITED, NONE, version.source, NONE, version.rule)

    def remove_rule(self, rule: int) -> None:
        """S18: removing a rule never cancels jobs already queued."""
        version = self.version_of.pop(rule)
        self.course_rules[version.source].remove(rule)
        self._refresh(version.source)
        self.rec.event(self.clock.now, EV_RULE_REMOVED, NONE, version.source, NONE, rule)

    # ----- triggers and jobs (S17-S24) ------------------------------------------------

    def _trigger(self, learner: int, course: int, trigger: int, enrollment: int) -> None:
        """S17/S18: every rule on `course` in force now whose `when` matches queues one job."""
        versions = self.in_force[course * N_TRIGGERS + trigger]
        if not versions or self.removed[learner]:  # S29: a removed learner triggers nothing
            return
        now = self.clock.now
        rec = self.rec
        for version in versions:
            rule, _, _, delay, _, _ = version
            due = whole_second(now + delay)  # S3: due at t + d (S1: to the second)
            job = self.jobs.new(rule, learner, course, trigger, enrollment, now, due)
            self.job_version.append(version)
            rec.event(now, EV_JOB_QUEUED, learner, course, enrollment, rule, job)
            self.scheduler.schedule_job(job, due)

    def process_job(self, job: int) -> None:
        """S19/S20 for each target in order, under the S22 cascade guard."""
        rec = self.rec
        version = self.job_version[job]
        if version is None:  # a re-enrollment job (S34), outside the S22 guard
            self.desk.process(job)
            return
        learner = self.jobs.learner[job]
        now = self.clock.now
        if now != self._guard_at:
            self._guard_at = now
            self._guard_counts.clear()
        count = self._guard_counts.get(learner, 0) + 1
        self._guard_counts[learner] = count
        if count > self.cascade_limit:
            self._cascade_stop(job, learner, version)
            return
        nc, ens = self.nc, self.enrollments
        rule, _, _, _, targets, consecutive = version
        for position, target in enumerate(targets):
            key = learner * nc + target
            enrollment = reason = NONE  # reason: the enrollment that decided a skip (evidence)
            if self.removed[learner]:
                outcome = O_REMOVED  # S19.1
            elif (cur := self.current[key]) >= 0 and ens.status[cur] < COMPLETE:
                outcome, reason = O_OPEN, cur  # S19.2: an open enrollment is never reset by a rule
            elif not consecutive and self.last_completed[key] != NEVER:
                # S19.3 (S20: with consecutive on this step is skipped)
                outcome, reason = O_COMPLETED, self.completed_by[key]
            else:
                outcome = O_ENROLLED  # S19.4
                enrollment = self.enrollments.n  # the id enroll() is about to create
            self.jobs.outcome(job, position, target, outcome, now, enrollment, reason)
            rec.event(
                now,
                EV_JOB_PROCESSED,
                learner,
                target,
                enrollment,
                rule,
                job,
                self.outcome_detail[outcome],
            )
            if outcome == O_ENROLLED:
                self.post_enroll(learner, target, rule, job)

    def post_enroll(self, learner: int, target: int, rule: int, job: int) -> None:
        """S19.4: the job enrolls the learner (an audit of a real LMS history overrides this
        to note what the rules require instead of doing it)."""
        self.enroll(learner, target, POST_ENROLLMENT, rule, job)

    def re_enroll(self, learner: int, course: int, job: int) -> None:
        """S34.4: a re-enrollment job enrolls the learner in the course again (called by
        the certificate desk; an audit overrides this, as post_enroll, to note what the
        certificates require instead of doing it)."""
        self.enroll(learner, course, RE_ENROLLMENT, NONE, job)

    def _cascade_stop(self, job: int, learner: int, version: RuleVersion) -> None:
        """S22 guard: past the limit a job is not applied; its outcome says why."""
        for position, target in enumerate(version.targets):
            self.jobs.outcome(job, position, target, O_CASCADE, self.clock.now, NONE)
            self.rec.event(
                self.clock.now,
                EV_JOB_PROCESSED,
                learner,
                target,
                NONE,
                version.rule,
                job,
                self.outcome_detail[O_CASCADE],
            )
        if self._guard_counts[learner] == self.cascade_limit + 1:
            message = (
                f"day {self.clock.now:g}: learner '{self.plan.learner_ids[learner]}' reached the cascade limit of "
                f"{self.cascade_limit} jobs at one instant (S22); further jobs at this instant are not applied"
            )
            self.warnings.append(message)
            self.rec.event(
                self.clock.now,
                EV_CASCADE_LIMIT,
                learner,
                version.source,
                NONE,
                version.rule,
                job,
                self.rec.code(f"more than {self.cascade_limit} jobs at one instant"),
            )

    def pending_jobs(self, jobs: list[int]) -> None:
        """S24: jobs still queued at the horizon are reported as pending."""
        for job in sorted(jobs):
            if self.job_version[job] is None:  # a re-enrollment job (S34)
                self.jobs.outcome(job, 0, self.desk.pending(job), O_PENDING, NAN, NONE)
                continue
            for position, target in enumerate(self.job_version[job].targets):
                self.jobs.outcome(job, position, target, O_PENDING, NAN, NONE)

    # ----- enrollments (S13-S16, S21, S25-S28) ------------------------------------------

    def enroll(
        self, learner: int, course: int, method: int, rule: int = NONE, job: int = NONE
    ) -> int:
        """Create a new current enrollment, superseding the previous one (S14), and fire its
        `enrolled` trigger (S17). Callers have already applied their own gates (S16, S19, S27)."""
        rec, ens = self.rec, self.enrollments
        now = self.clock.now
        key = learner * self.nc + course
        previous = self.current[key]
        if previous >= 0:  # S14: the old record moves to history with its status
            ens.superseded[previous] = now
            rec.event(now, EV_SUPERSEDED, learner, course, previous)
        active = self.active[course]
        enrollment = ens.new(learner, course, method, rule, job, now, now if active else NAN)
        self.current[key] = enrollment
        if self.dated[course]:
            self.desk.enrolled(enrollment, method)  # S35: its due instant
        for observer in self.observers:  # before what the enrollment sets off
            observer.enrolled(enrollment)
        if not active:  # S21: created and reported, invisible until the course is active
            self.invisible.setdefault(course, []).append(enrollment)
        rec.event(
            now, EV_ENROLLED, learner, course, enrollment, rule, job, self.method_detail[method]
        )
        self._trigger(learner, course, ENROLLED, enrollment)
        kind = self.course_types[course]
        if kind == CURRICULUM:
            self.check_curriculum(learner, course, enrollment)  # S26: checked when enrolled
        elif kind == BUNDLE:
            self.bundle_holders[course][learner] = enrollment
            for member in list(self.bundle_members[course]):  # S27
                self.enroll_from_bundle(learner, member, course)
        if active and self.listener is not None:
            self.listener.on_visible(enrollment)
        return enrollment

    def enroll_from_bundle(self, learner: int, course: int, bundle: int) -> None:
        """S27: a bundle enrolls each member course, subject to S19 steps 1-2 only. (An audit
        of a real LMS history overrides this: the history holds the member records.)"""
        if self.removed[learner]:
            reason = "learner_removed"
        elif self.is_open(learner, course):
            reason = "already_enrolled"
        else:
            self.enroll(learner, course, BUNDLE_METHOD)
            return
        self.rec.event(
            self.clock.now,
            EV_BUNDLE_MEMBER_SKIPPED,
            learner,
            course,
            self.current[learner * self.nc + course],
            NONE,
            NONE,
            self.rec.code(reason),
        )

    def is_open(self, learner: int, course: int) -> bool:
        current = self.current[learner * self.nc + course]
        return current >= 0 and self.enrollments.status[current] < COMPLETE

    def self_enroll(self, learner: int, course: int) -> int:
        """S16: self-enrollment is rejected (and recorded) when the course is inactive, the
        learner already has an open enrollment, or prerequisites (S7) are not met."""
        if not self.active[course]:
            reason = "course_inactive"
        elif self.is_open(learner, course):
            reason = "already_enrolled"
        elif not self.prerequisites_met(learner, course):
            reason = "prerequisites_not_met"
        else:
            return self.enroll(learner, course, SELF)
        self.rec.event(
            self.clock.now,
            EV_SELF_ENROLL_REJECTED,
            learner,
            course,
            NONE,
            NONE,
            NONE,
            self.rec.code(reason),
        )
        return NONE

    def prerequisites_met(self, learner: int, course: int) -> bool:
        """S7: enough of the listed courses completed, ever (current or history)."""
        requirement = self.prerequisites[course]
        if requirement is None:
            return True
        courses, required = requirement
        base = learner * self.nc
        done = 0
        for needed in courses:
            if self.last_completed[base + needed] != NEVER:
                done += 1
        return done >= required

    def start(self, enrollment: int) -> None:
        ens, now = self.enrollments, self.clock.now
        ens.status[enrollment] = IN_PROGRESS
        ens.started[enrollment] = now
        self.rec.event(now, EV_STARTED, ens.learner[enrollment], ens.course[enrollment], enrollment)

    def complete(self, enrollment: int) -> None:
        """A pass: the `completed` trigger (S17), then every curriculum holding the course (S26)."""
        ens, now = self.enrollments, self.clock.now
        learner, course = ens.learner[enrollment], ens.course[enrollment]
        ens.status[enrollment] = COMPLETE
        ens.completed[enrollment] = now
        key = learner * self.nc + course
        self.last_completed[key] = now
        self.completed_by[key] = enrollment
        self.rec.event(now, EV_COMPLETED, learner, course, enrollment)
        if self.certified[course]:
            self.desk.award(enrollment)  # S34 order: the certificate before the rule jobs
        self._trigger(learner, course, COMPLETED, enrollment)
        for curriculum in self.curricula_of[course]:
            current = self.current[learner * self.nc + curriculum]
            if current >= 0 and ens.status[current] < COMPLETE:
                self.check_curriculum(learner, curriculum, current)

    def fail(self, enrollment: int) -> None:
        rec = self.rec
        self.enrollments.status[enrollment] = FAILED_STATUS
        self.enrollments.failed[enrollment] = self.clock.now
        rec.event(
            self.clock.now,
            EV_FAILED,
            self.enrollments.learner[enrollment],
            self.enrollments.course[enrollment],
            enrollment,
        )
        self._trigger(
            self.enrollments.learner[enrollment],
            self.enrollments.course[enrollment],
            FAILED,
            enrollment,
        )

    def counts_for(self, learner: int, curriculum: int, member: int) -> bool:
        """S26: a member completion counts when it happened strictly after the learner's
        previous completion of the curriculum (first enrollment: any earlier one counts)."""
        base = learner * self.nc
        return self.last_completed[base + member] > self.last_completed[base + curriculum]

    def _curriculum_progress(self, learner: int, curriculum: int) -> tuple[bool, bool]:
        """S26: (every group has its required count, at least one member completion counts)."""
        satisfied = True
        progress = False
        for members, required in self.groups[curriculum]:
            done = 0
            for member in members:
                if self.counts_for(learner, curriculum, member):
                    done += 1
            progress = progress or done > 0
            satisfied = satisfied and done >= required
        return satisfied, progress

    def check_curriculum(self, learner: int, curriculum: int, enrollment: int) -> None:
        """S26: complete at the first instant every group has its required count of member
        completions that count (see counts_for), visible or not."""
        satisfied, progress = self._curriculum_progress(learner, curriculum)
        if satisfied:
            self.complete(enrollment)
        elif (
            progress
            and self.enrollments.status[enrollment] == NOT_STARTED
            and self.enrollments.is_visible(enrollment)
        ):
            # S26 [decision]: in progress once a member counts and the learner can see it (S21);
            # an invisible one starts when it becomes visible (set_active).
            self.start_curriculum_later(enrollment)

    def start_curriculum_later(self, enrollment: int) -> None:
        """S26 v2: a curriculum whose requirements are met at the instant of its first
        counting completion goes straight to complete, never started. So whether it starts
        is decided once everything else at this instant has run (clock.late_at)."""
        if not self.to_start:
            self.clock.late_at(self.clock.now, self._start_curricula)
        self.to_start.append(enrollment)

    def _start_curricula(self, at: float, payload: object) -> None:
        """S26 [decision], S21: the end of an instant; start each curriculum noted at it that
        is still current, visible and not started (not completed meanwhile)."""
        pending, self.to_start = self.to_start, []
        ens = self.enrollments
        for enrollment in pending:
            if (
                ens.status[enrollment] == NOT_STARTED
                and ens.is_current(enrollment)
                and ens.is_visible(enrollment)
            ):
                self.start(enrollment)

    # ----- catalog changes (S6, S21, S28) -----------------------------------------------

    def set_active(self, course: int, active: bool) -> None:
        was_active = self.active[course]
        self.active[course] = active
        self.rec.event(
            self.clock.now, EV_COURSE_ACTIVATED if active else EV_COURSE_DEACTIVATED, NONE, course
        )
        if active and not was_active:
            rec = self.rec
            for enrollment in self.invisible.pop(course, ()):
                # S21: current enrollments become visible; superseded ones and those of removed
                # learners never do [decision].
                if (
                    self.enrollments.is_current(enrollment)
                    and not self.removed[self.enrollments.learner[enrollment]]
                ):
                    learner = self.enrollments.learner[enrollment]
                    self.enrollments.visible[enrollment] = self.clock.now
                    rec.event(self.clock.now, EV_VISIBLE, learner, course, enrollment)
                    if (
                        self.course_types[course] == CURRICULUM
                        and self.enrollments.status[enrollment] == NOT_STARTED
                        and self._curriculum_progress(learner, course)[1]
                    ):
                        # S26 [decision]: starts once it can be seen (S21), unless it
                        # completes at this instant too
                        self.start_curriculum_later(enrollment)
                    if self.listener is not None:
                        self.listener.on_visible(enrollment)

    def add_to_bundle(self, bundle: int, course: int) -> None:
        """S28: the exception to non-retroactivity: everyone holding the bundle gets the course."""
        self.bundle_members[bundle].append(course)
        self.rec.event(
            self.clock.now,
            EV_BUNDLE_COURSE_ADDED,
            NONE,
            course,
            NONE,
            NONE,
            NONE,
            self.rec.code(self.plan.course_ids[bundle]),
        )
        holders = sorted(self.bundle_holders[bundle].items(), key=lambda item: item[1])
        for learner, _ in holders:
            self.enroll_from_bundle(learner, course, bundle)

    def remove_from_bundle(self, bundle: int, course: int) -> None:
        """S28: removing a course from a bundle unenrolls no one."""
        self.bundle_members[bundle].remove(course)
        self.rec.event(
            self.clock.now,
            EV_BUNDLE_COURSE_REMOVED,
            NONE,
            course,
            NONE,
            NONE,
            NONE,
            self.rec.code(self.plan.course_ids[bundle]),
        )

    # ----- learners (S29) --------------------------------------------------------------

    def add_learner(self, learner: int) -> None:
        self.rec.event(self.clock.now, EV_LEARNER_ADDED, learner)

    def _view_arrays(self) -> None:
        self.removed, self.current, self.last_completed, self.completed_by = self._arrays

    def new_learner(self, learner_id: str) -> int:
        """A generated learner joins now; returns its code."""
        code = self.new_learners([learner_id])
        self.add_learner(code)
        return code

    def new_learners(self, learner_ids: list[str]) -> int:
        """Codes and per-learner state for learners about to join, made in one go (the
        initial headcount: a million at once); returns the first code. Each joins when
        `add_learner` is called for it."""
        first, count = len(self.learner_ids), len(learner_ids)
        self.learner_ids.extend(learner_ids)
        # a compiled view pins its array's memory: let go of the views while they grow
        self.removed = self.current = self.last_completed = self.completed_by = None
        removed, current, last_completed, completed_by = self._arrays
        removed.frombytes(bytes(count))  # False
        current.extend(self._no_courses * count)
        last_completed.extend(self._never_completed * count)
        completed_by.extend(self._no_courses * count)
        self._view_arrays()
        return first

    def remove_learner(self, learner: int) -> None:
        """S29: no new enrollments or triggers; open enrollments stay; queued jobs get skipped."""
        self.removed[learner] = True
        self.rec.event(self.clock.now, EV_LEARNER_REMOVED, learner)

    # ----- script actions on a learner's current enrollment --------------------------------

    def open_enrollment(self, learner: int, course: int, verb: str) -> int:
        current = self.current[learner * self.nc + course]
        if current < 0:
            raise ActionError(f"cannot {verb}: the learner has no enrollment in this course")
        status = self.enrollments.status[current]
        if status >= COMPLETE:
            word = "completed" if status == COMPLETE else "failed"
            raise ActionError(
                f"cannot {verb}: the current enrollment was already {word} "
                f"on day {_day(self.enrollments.completed[current] if status == COMPLETE else self.enrollments.failed[current])}"
            )
        return current

    def script_start(self, learner: int, course: int) -> None:
        enrollment = self.open_enrollment(learner, course, "start")
        if self.enrollments.status[enrollment] == IN_PROGRESS:
            raise ActionError(
                f"cannot start: already started on day {_day(self.enrollments.started[enrollment])}"
            )
        if not self.enrollments.is_visible(enrollment):
            raise ActionError(
                "cannot start: the course is inactive, so the learner cannot see it (S21)"
            )
        self.start(enrollment)


def _day(value: float) -> str:
    return f"{value:g}"
