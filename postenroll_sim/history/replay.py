"""Replaying an LMS history through the engine: what the rules require, against what the
history shows (docs/audit.md).

The history drives the state. Its admin, self and bundle records, and every start,
completion and failure, are applied at their instants as script actions are (before
the jobs of that instant, S23; the scenario's own script actions of that instant come
first: rule changes, course activation, bundle changes, learners joining or leaving).
The scenario's learner actions (enroll, start, complete, fail), its learner behaviour
and its generated population are not replayed: the history says what learners did.

The rules run as in a simulation, in the engine itself (engine/lms.py holds every
S-rule): triggers queue jobs with their snapshot (S17, S18), due per S3, and each job
is decided against the replayed state (S19). Only the last step differs: a job that
would enroll (S19.4) calls `post_enroll`, which this LMS overrides to note what the
rules require, and to look for the history's post-enrollment record that answers it:

* a record at the same instant is the job's own product: it is applied right there,
  so what follows (its `enrolled` trigger, S22 cascades) runs in the engine's order;
* otherwise the requirement waits; a post-enrollment record of that learner and course
  arriving later answers it (on time within the tolerance, else off-time), and one
  never arriving is missing;
* a post-enrollment record arriving before anything requires it answers a job already
  queued for that learner and course (early: on time within the tolerance, else
  off-time) or, with none queued, no rule explains it: unexpected.

Re-enrollments before a certificate's expiry (S34) are met the same way: the engine's
re-enrollment jobs decide what is required, and their S34.4 step calls `re_enroll`,
which this LMS overrides as it does `post_enroll`; the history's `re_enrollment`
records answer them (never a rule's job: the two are the vendor's separate mechanisms,
S38). A history's expiry (`expires_at`) is the certificate's (S39), so the job is due
the window before it.

Every post-enrollment record enters the state when it appears (matched or not), so its
later completion triggers what it triggers in the real LMS. Bundle members and
curriculum progress are records of the history too: the LMS here does not derive them
(S27, S28, S26), it replays them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from ..columns import (
    JOB_TRIGGERS,
    METHOD_CODE,
    OUTCOME_CODE,
    TRIGGER_WORDS,
    TRIGGERS,
    whole_second,
)
from ..engine.lms import LMS
from ..engine.model import Driver, Model, Observer, Script
from ..engine.plan import CURRICULUM, Plan
from ..engine.store import COMPLETE, NEVER, NONE, NOT_STARTED
from ..formatting import instant
from ..scenario import models
from .exports import SAME_INSTANT, History, Record

ENROLL, START, COMPLETE_EVENT, FAIL, REMOVE = range(5)
POST_ENROLLMENT = METHOD_CODE["post_enrollment"]
RE_ENROLLMENT = METHOD_CODE["re_enrollment"]
# the methods whose records answer a job (a rule's, a certificate's): never applied as
# they stand, but met against what the jobs require
ANSWERING = ("post_enrollment", "re_enrollment")
O_OPEN = OUTCOME_CODE["skipped_already_enrolled"]
O_COMPLETED = OUTCOME_CODE["skipped_already_completed"]
O_REMOVED = OUTCOME_CODE["skipped_learner_removed"]
O_CASCADE = OUTCOME_CODE["cascade_limit"]
O_RENEWED = OUTCOME_CODE["skipped_renewed"]


class AuditLMS(LMS):
    """The LMS of a replay: every S-rule as in a simulation, except that a job's S19.4
    step is handed to the replay, and bundle members and curriculum progress come from
    the history instead of being derived."""

    replay: Replay

    def post_enroll(self, learner: int, target: int, rule: int, job: int) -> None:
        self.replay.required(learner, target, rule, job)

    def re_enroll(self, learner: int, course: int, job: int) -> None:
        self.replay.required(learner, course, NONE, job)  # S34.4

    def enroll_from_bundle(self, learner: int, course: int, bundle: int) -> None:
        """S27/S28: the history holds the member records (method bundle); they are replayed."""

    def check_curriculum(self, learner: int, curriculum: int, enrollment: int) -> None:
        """S26: the history holds when a curriculum started and completed; it is replayed."""


@dataclass
class Requirement:
    """A post enrollment the rules require: one job and target (S19.4)."""

    learner: int
    target: int
    rule: int  # NONE for a re-enrollment (S34)
    job: int
    source: int
    trigger: int
    trigger_enrollment: int
    queued: float
    due: float
    expected: float  # when the rules process it: the due time, or the daily run (S3)
    state: (
        tuple | str
    )  # why S19.4 enrolls: Replay._state's facts ("" when answered before the job ran)
    record: Record | None = None
    offset: float = math.nan  # history - expected, in days
    on_time: bool = False
    early: bool = False  # answered by a record that came before the job ran
    # The latest moment the rules may have processed it: `expected`, unless its trigger's
    # moment is a date alone ("some time that day"), then the run for the day's last second
    latest: float = math.nan

    @property
    def re_enrollment(self) -> bool:
        return self.rule == NONE


@dataclass
class Unexpected:
    record: Record
    learner: int
    course: int
    rule: int  # the rule the explanation names, or NONE
    s_rule: str
    explanation: str

    @property
    def re_enrollment(self) -> bool:
        return self.record.method == "re_enrollment"


class ScriptBesideHistory(Script):
    """The scenario's script without its learner actions: what learners did is the
    history's to say."""

    def apply(self, model: Model, step) -> None:
        if step.script_index is not None and step.action.changes == "enrollments":
            return  # what learners did is the history's to say (scenario/actions.py)
        super().apply(model, step)


class Replay(Driver, Observer):
    """The engine driven by a history (see the module docstring): a driver of the model,
    which applies the history's records, and an observer of its jobs."""

    def __init__(
        self,
        plan: Plan,
        history: History,
        tolerance: float,
        *,
        lms_type: type[AuditLMS] | None = None,
        script: Script | None = None,
        drivers: tuple[Driver, ...] = (),
        **model,
    ):
        """`lms_type`, `script`, `drivers` (started before this one) and the other keyword
        arguments of Model (`seed`, `record_events`, `start`, ...) are a warm start's
        (history/warm.py); an audit uses the defaults."""
        model.setdefault("record_events", False)
        self.model = Model(
            plan,
            lms_type=lms_type or AuditLMS,
            script=script if script is not None else ScriptBesideHistory(),
            behaviour=False,  # learners do only what the history says
            population=False,  # the history's learners are the ones there are
            drivers=[*drivers, self],
            observers=[self],
            **model,
        )
        self.plan, self.clock, self.lms = plan, self.model.clock, self.model.lms
        self.lms.replay = self
        self.history = history
        self.tolerance = tolerance
        self.records = history.records
        n = len(self.records)
        self.eid = [NONE] * n  # record -> its enrollment in the replay
        self.record_of: dict[int, int] = {}  # enrollment -> record
        self.deferred: list[list[int] | None] = [None] * n  # events met before the record
        self.learner_code: list[int] = [0] * n
        self.course_code = [plan.course(r.course) for r in self.records]
        # keyed (learner, course, method): post enrollments and re-enrollments to come
        self.unapplied: dict[tuple[int, int, int], list[int]] = {}
        self.outstanding: dict[tuple[int, int, int], list[Requirement]] = {}
        self.pending: dict[int, dict[int, float]] = {}  # learner -> queued job -> its instant
        self.due_at: dict[float, int] = {}  # instant -> jobs still to run then
        self.claimed: set[tuple[int, int]] = set()  # (job, target) answered before it ran
        self.requirements: list[Requirement] = []
        self.requirement_of: dict[tuple[int, int], Requirement] = {}  # (job, target) ->
        self.unexpected: list[Unexpected] = []
        self.last_decision: dict[tuple[int, int, int], tuple[int, int, float, int]] = {}
        self._decoded = 0  # the jobs' outcomes read into last_decision so far
        # the history's events in order (kinds, records), and each instant's slice of them
        self._kinds: list[int] = []
        self._indices: list[int] = []
        self._groups: list[tuple[int, int]] = []
        self.removed_on = {
            action.learner: action.day
            for action in plan.scenario.script
            if isinstance(action, models.RemoveLearner)
        }

    # ----- driving the engine -----------------------------------------------------------

    def run(self) -> None:
        self.model.run()

    def start(self, model: Model) -> None:
        """Day 0, after the script's named learners and days: the learners only the
        history knows, and its records at their instants (after the script's, S23)."""
        plan, lms, records = self.plan, self.lms, self.records
        # the scenario's learners, and any an earlier driver added (a learners file); the
        # history's others in the order they first appear
        known = {learner: code for code, learner in enumerate(lms.learner_ids)}
        names = [record.learner for record in records]
        for learner in dict.fromkeys(names):
            if learner not in known:
                known[learner] = lms.new_learner(learner)
        self.learner_code = [known[learner] for learner in names]
        # Every fact of every record as one event (instant, tier, creation order, kind,
        # record), in that order: a curriculum completes after the member completion that
        # completes it (tier 1); a learner leaves after everything else of the instant (2)
        n = len(records)
        index = np.arange(n, dtype=np.int64)
        order = np.array([r.order for r in records], np.int64)
        answering = np.array([r.method in ANSWERING for r in records], bool)
        curriculum = np.array([plan.course_types[c] == CURRICULUM for c in self.course_code], bool)

        def moment(name: str) -> np.ndarray:
            return np.array(
                [math.nan if (v := getattr(r, name)) is None else v for r in records], np.float64
            )

        enrolled = moment("enrolled")
        parts = [(enrolled, 0, ENROLL, ~answering)]
        for name, kind in (("started", START), ("completed", COMPLETE_EVENT), ("failed", FAIL)):
            days = moment(name)
            tier = curriculum.astype(np.int64) if kind == COMPLETE_EVENT else 0
            parts.append((days, tier, kind, ~np.isnan(days)))
        removed = moment("removed")
        first_removal: dict[int, int] = {}  # learner -> a record saying when they were removed
        for at in np.flatnonzero(~np.isnan(removed)).tolist():
            first_removal.setdefault(self.learner_code[at], at)
        leaving = np.zeros(n, bool)
        leaving[np.fromiter(first_removal.values(), np.int64, len(first_removal))] = True
        for at in first_removal.values():
            self.removed_on.setdefault(records[at].learner, records[at].removed)
        parts.append((removed, 2, REMOVE, leaving))
        day, tier, created, kind, which = (
            np.concatenate(column)
            for column in zip(
                *(
                    (
                        days[mask],
                        np.broadcast_to(tier, n)[mask],
                        order[mask],
                        np.full(int(mask.sum()), code, np.int64),
                        index[mask],
                    )
                    for days, tier, code, mask in parts
                ),
                strict=True,
            )
        )
        by = np.lexsort((which, kind, created, tier, day))
        day, self._kinds, self._indices = day[by], kind[by].tolist(), which[by].tolist()
        starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]]) if len(day) else index[:0]
        bounds = np.r_[starts, len(day)].astype(np.int64).tolist()
        urgent_at = self.clock.urgent_at
        for group, (at, first) in enumerate(zip(day[starts].tolist(), bounds, strict=False)):
            self._groups.append((first, bounds[group + 1]))
            urgent_at(at, self._run_history, group)
        # the post-enrollment and re-enrollment records: met against the jobs when they appear
        call_at, unapplied = self.clock.call_at, self.unapplied
        arriving = np.flatnonzero(answering)
        arriving = arriving[np.lexsort((order[arriving], enrolled[arriving]))].tolist()
        for at in arriving:
            record = records[at]
            call_at(record.enrolled, self._arrive, at)
            key = (self.learner_code[at], self.course_code[at], METHOD_CODE[record.method])
            unapplied.setdefault(key, []).append(at)

    def job_scheduled(self, job: int, at: float) -> None:
        self.pending.setdefault(self.lms.jobs.learner[job], {})[job] = at
        self.due_at[at] = self.due_at.get(at, 0) + 1

    def job_processing(self, job: int) -> None:
        at = self.pending[self.lms.jobs.learner[job]].pop(job, None)
        if at is not None:
            self.due_at[at] -= 1

    # ----- the history's records ----------------------------------------------------------

    def _run_history(self, at: float, group: int) -> None:
        first, end = self._groups[group]
        for kind, index in zip(self._kinds[first:end], self._indices[first:end], strict=True):
            if kind == REMOVE:
                self.lms.remove_learner(self.learner_code[index])
            elif kind == ENROLL:
                record = self.records[index]
                method = METHOD_CODE[record.method]
                self._entered(
                    index,
                    self.lms.enroll(self.learner_code[index], self.course_code[index], method),
                )
            elif self.eid[index] == NONE:
                self.deferred[index] = [*(self.deferred[index] or ()), kind]
            else:
                self._event(kind, self.eid[index])

    def _entered(self, index: int, enrollment: int) -> None:
        expires = self.records[index].expires
        desk = self.lms.desk
        if expires is not None and desk is not None:  # its completion's certificate (S39)
            desk.given_expiry[enrollment] = expires
        self.eid[index] = enrollment
        self.record_of[enrollment] = index
        for kind in self.deferred[index] or ():
            self._event(kind, enrollment)
        self.deferred[index] = None

    def _event(self, kind: int, enrollment: int) -> None:
        lms = self.lms
        status = lms.enrollments.status[enrollment]
        if kind == START:
            if status == NOT_STARTED:
                lms.start(enrollment)
        elif status < COMPLETE:
            (lms.complete if kind == COMPLETE_EVENT else lms.fail)(enrollment)

    def _enter_post_enrollment(self, index: int, rule: int, job: int) -> None:
        """A post-enrollment or re-enrollment record enters the state, as the job's product."""
        learner, course = self.learner_code[index], self.course_code[index]
        method = METHOD_CODE[self.records[index].method]
        self.unapplied[(learner, course, method)].remove(index)
        self._entered(index, self.lms.enroll(learner, course, method, rule, job))

    def _method(self, job: int) -> int:
        """What a job makes: a rule's a post enrollment, a certificate's a re-enrollment (S34)."""
        return RE_ENROLLMENT if self.lms.job_version[job] is None else POST_ENROLLMENT

    def _targets(self, job: int) -> tuple[int, ...]:
        version = self.lms.job_version[job]
        return (self.lms.desk.pending(job),) if version is None else version.targets

    # ----- requirements and the records that answer them -------------------------------

    def required(self, learner: int, target: int, rule: int, job: int) -> None:
        """S19.4 in an audit: the rules require this enrollment now."""
        if (job, target) in self.claimed:
            return  # a record answered this job before it ran
        now = self.clock.now
        method = self._method(job)
        for index in self.unapplied.get((learner, target, method), ()):
            if abs(self.records[index].enrolled - now) <= SAME_INSTANT:  # the job's own product
                requirement = self._requirement(
                    learner, target, job, now, self._state(learner, target, job)
                )
                self._answer(requirement, index)
                self._enter_post_enrollment(index, rule, job)
                return
        waiting = self.outstanding.setdefault((learner, target, method), [])
        if any(abs(other.expected - now) <= self.tolerance for other in waiting):
            return  # the rules enroll once: that enrollment would make this job skip (S19.2)
        requirement = self._requirement(
            learner, target, job, now, self._state(learner, target, job)
        )
        waiting.append(requirement)

    def _arrive(self, at: float, index: int) -> None:
        """A post-enrollment record of the history appears (after the jobs of its instant)."""
        if self.eid[index] != NONE:
            return  # a job of this instant answered it already
        if self.due_at.get(at):  # jobs due now have not run yet: they come first (S23)
            self.clock.call_at(at, self._arrive, index)
            return
        record = self.records[index]
        learner, course = self.learner_code[index], self.course_code[index]
        method = METHOD_CODE[record.method]
        candidates = []
        for requirement in self.outstanding.get((learner, course, method), ()):
            offset, on_time = self._judge(record, requirement.expected, requirement.latest)
            candidates.append((not on_time, abs(offset), 0, requirement.expected, requirement))
        for job, expected in self.pending.get(learner, {}).items():
            if (
                self._method(job) == method
                and course in self._targets(job)
                and (job, course) not in self.claimed
            ):
                offset, on_time = self._judge(record, expected, self._latest(job, expected))
                candidates.append((not on_time, abs(offset), 1, expected, job))
        if not candidates:
            self.unexpected.append(self._unexplained(index, learner, course))
            self._enter_post_enrollment(index, NONE, NONE)
            return
        *_, chosen = min(candidates, key=lambda c: c[:4])
        if isinstance(chosen, Requirement):
            self.outstanding[(learner, course, method)].remove(chosen)
            requirement = chosen
        else:
            self.claimed.add((chosen, course))
            expected = self.pending[learner][chosen]
            requirement = self._requirement(learner, course, chosen, expected, "")
            requirement.early = True
        self._answer(requirement, index)
        self._enter_post_enrollment(index, requirement.rule, requirement.job)

    def _judge(self, record: Record, expected: float, latest: float) -> tuple[float, bool]:
        """(history - the rules, in days; on time?) of a record answering a job the rules
        process at `expected`, or as late as `latest` when its trigger's time of day is
        unknown. The offset is to the nearer end of that window (0 inside it)."""
        at = record.enrolled
        offset = at - latest if at > latest else min(at - expected, 0.0)
        if latest == expected:
            offset = at - expected
        offset = whole_second(offset)  # S1: a number of seconds (-0.25, not -0.2499999999999999)
        if abs(offset) <= self.tolerance + SAME_INSTANT:
            return offset, True
        # a date without a time of day is on time on any day the rules may process it
        day = math.floor(at + SAME_INSTANT)
        first, last = (math.floor(t + SAME_INSTANT) for t in (expected, latest))
        return offset, record.date_only and first <= day <= last

    def _latest(self, job: int, expected: float) -> float:
        """When the rules process `job` at the latest: a trigger given as a date alone
        happened some time that day (docs/audit.md), up to its last second."""
        _, _, trigger, trigger_enrollment, queued, due = self.lms.jobs.record(job)
        index = self.record_of.get(trigger_enrollment)
        if index is None:
            return expected
        record = self.records[index]
        moment, anchor = JOB_TRIGGERS[trigger], queued
        if self._method(job) == RE_ENROLLMENT:  # due the window before the expiry (S34)
            moment = "completed" if record.expires is None else "expires"
            anchor = queued if record.expires is None else record.expires
        if moment not in record.dates_only:
            return expected
        late = due + math.floor(anchor + SAME_INSTANT) + 1 - anchor - 1 / 86_400
        return self.model.run_at(late)

    def _answer(self, requirement: Requirement, index: int) -> None:
        record = self.records[index]
        requirement.record = record
        requirement.offset, requirement.on_time = self._judge(
            record, requirement.expected, requirement.latest
        )

    def _requirement(
        self, learner: int, target: int, job: int, expected: float, state: tuple | str
    ) -> Requirement:
        rule, source, trigger, trigger_enrollment, queued, due = self.lms.jobs.record(job)
        requirement = Requirement(
            learner,
            target,
            rule,
            job,
            source,
            trigger,
            trigger_enrollment,
            queued,
            due,
            expected,
            state,
        )
        requirement.latest = self._latest(job, expected)
        self.requirements.append(requirement)
        self.requirement_of[(job, target)] = requirement
        return requirement

    def _state(self, learner: int, target: int, job: int) -> tuple:
        """What the learner had in the target when the job ran, as facts (put in words
        only for a discrepancy, `state_text`): what the job makes, the target, the
        learner's current enrollment in it (closed, or the job would skip) and their
        last completion of it then."""
        lms = self.lms
        key = learner * lms.nc + target
        return (self._method(job), target, lms.current[key], lms.last_completed[key])

    def state_text(self, facts: tuple) -> str:
        """Why S19.4 (S34.4) enrolls: what the learner had in the target when the job ran."""
        method, target, current, completed = facts
        name = self.plan.course_ids[target]
        if method == RE_ENROLLMENT:
            held = (
                "" if current < 0 else f" (line {self._line(current)} was {self._ended(current)})"
            )
            return f"had no open enrollment in {name}{held}"
        if current < 0:
            return f"had no enrollment in {name}"
        status = self.lms.enrollments.status[current]
        line = self._line(current)
        if status == COMPLETE:
            return (
                f"had completed {name} (line {line}) and the rule allows consecutive "
                "enrollments (S20)"
            )
        ever = (
            f", completed it on {self.when(completed)} and the rule allows consecutive enrollments (S20)"
            if completed != NEVER
            else " (failing is not completing, S20)"
        )
        return f"had failed {name} (line {line}){ever}"

    # ----- explanations ----------------------------------------------------------------

    def _ended(self, enrollment: int) -> str:
        status = self.lms.enrollments.status[enrollment]
        return "completed" if status == COMPLETE else "failed"

    def expiry_text(self, job: int) -> str:
        """A re-enrollment job's certificate in words: when it expires, and from what."""
        desk = self.lms.desk
        records = desk.records
        certificate = records.job_certificate[job]
        enrollment = records.enrollment[certificate]
        index = self.record_of.get(enrollment)
        course = self.plan.scenario.courses[records.course[certificate]].certificate
        given = index is not None and self.records[index].expires is not None
        source = (
            f"the history's expiry, line {self.records[index].line}"
            if given
            else f"valid for {course.valid_for.text()}, S31"
            if course.valid_for is not None
            else f"expires on {course.expires_on}, S33"
        )
        return f"expires on {self.when(records.expires[certificate])} ({source})"

    def reenrollment_text(self, course: int) -> str:
        cert = self.plan.scenario.courses[course].certificate
        name = self.plan.course_ids[course]
        return f"Re-enrollment into {name} {cert.reenroll_before.text()} before its certificate expires (S34)"

    def _line(self, enrollment: int) -> str:
        index = self.record_of.get(enrollment)
        return str(self.records[index].line) if index is not None else "?"

    def when(self, day: float) -> str:
        """A moment in words: its date and time when day 0 is a date, and its day number
        (formatting.instant, the way every tool says it)."""
        return when(day, self.history.day0)

    def _decisions(self) -> None:
        """Read the jobs' outcomes written since the last call (engine/store.py)."""
        jobs = self.lms.jobs
        for decided in jobs.outcome_records(self._decoded):
            key = (jobs.learner[decided.job], decided.target, self._method(decided.job))
            self.last_decision[key] = (
                decided.job,
                decided.outcome,
                decided.processed,
                decided.reason,
            )
        self._decoded = jobs.n_outcomes

    def _unexplained(self, index: int, learner: int, course: int) -> Unexpected:
        """Why no rule in force explains a post-enrollment record, as far as the replay knows."""
        self._decisions()
        record = self.records[index]
        plan, lms = self.plan, self.lms
        name = plan.course_ids[course]
        who = lms.learner_ids[learner]
        head = (
            f"The history enrolls {who} in {name} by "
            f"{'a re-enrollment' if record.method == 're_enrollment' else 'a rule'} on "
            f"{self.when(record.enrolled)} "
            f"(line {record.line}), but no rule in force requires it: "
        )
        if lms.removed[learner]:
            removed = self.removed_on.get(who)
            on = f" on {self.when(removed)}" if removed is not None else ""
            return Unexpected(
                record,
                learner,
                course,
                NONE,
                "S29",
                f"{head}{who} was removed{on}, and a removed learner fires no triggers and "
                "gets no enrollments (S29).",
            )
        method = METHOD_CODE[record.method]
        if method == RE_ENROLLMENT:
            return self._unexplained_re_enrollment(index, learner, course, head)
        decision = self.last_decision.get((learner, course, method))
        if decision is not None:
            job, outcome, processed, reason = decision
            rule, source, trigger, trigger_enrollment, queued, _ = lms.jobs.record(job)
            verb = TRIGGER_WORDS[TRIGGERS[trigger]].origin
            ran = (
                f"{plan.rule_ids[rule]}'s job (from {who} {verb} {plan.course_ids[source]} on "
                f"{self.when(queued)}, line {self._line(trigger_enrollment)}) ran on "
                f"{self.when(processed)} and "
            )
            answered = self.requirement_of.get((job, course))
            if outcome == O_OPEN:
                why, s_rule = (
                    f"skipped {name}: {who} already had an open enrollment in it "
                    f"(line {self._line(reason)})",
                    "S19.2",
                )
            elif outcome == O_COMPLETED:
                why, s_rule = (
                    f"skipped {name}: {who} had already completed it (line {self._line(reason)}) "
                    "and the rule does not allow consecutive enrollments",
                    "S19.3",
                )
            elif outcome == O_REMOVED:
                why, s_rule = f"skipped {name}: {who} had been removed (S29)", "S19.1"
            elif outcome == O_CASCADE:
                why, s_rule = f"did not enroll in {name}: the cascade limit stopped it", "S22"
            elif answered is not None and answered.record is not None:
                why, s_rule = (
                    f"its enrollment is the record on line {answered.record.line}; this one "
                    "repeats it (the rules enroll once: the first would make a second job skip)",
                    "S19.2",
                )
            else:
                why = s_rule = None
            if why is not None:
                return Unexpected(
                    record, learner, course, rule, s_rule, f"{head}{ran}{why} ({s_rule})."
                )
        rules = [v for v in lms.version_of.values() if course in v.targets]
        if rules:
            listed = "; ".join(self.rule_text(v) for v in rules)
            return Unexpected(
                record,
                learner,
                course,
                rules[0].rule if len(rules) == 1 else NONE,
                "S17",
                f"{head}the rules that enroll into {name} ({listed}) had no trigger by {who} "
                "that queued a job due by then (S17, S18).",
            )
        return Unexpected(
            record,
            learner,
            course,
            NONE,
            "S18",
            f"{head}no rule in force on that day enrolls into {name} (S18).",
        )

    def _unexplained_re_enrollment(
        self, index: int, learner: int, course: int, head: str
    ) -> Unexpected:
        """Why no re-enrollment job explains a re-enrollment record (S34)."""
        plan, lms = self.plan, self.lms
        name, who = plan.course_ids[course], lms.learner_ids[learner]
        cert = plan.scenario.courses[course].certificate
        if cert is None or cert.reenroll_before is None:
            what = "awards no certificate" if cert is None else "has no re-enrollment"
            return Unexpected(
                self.records[index],
                learner,
                course,
                NONE,
                "S34",
                f"{head}{name} {what} in the scenario (reenroll_before, S34).",
            )
        decision = self.last_decision.get((learner, course, RE_ENROLLMENT))
        if decision is not None:
            job, outcome, processed, reason = decision
            ran = (
                f"the re-enrollment job of {who}'s certificate of {name} (which "
                f"{self.expiry_text(job)}) ran on {self.when(processed)} and "
            )
            why = {
                O_OPEN: (
                    f"skipped: {who} had an open enrollment in it (line {self._line(reason)})",
                    "S34.3",
                ),
                O_RENEWED: (f"skipped: {who}'s certificate had been renewed since", "S34.2"),
                O_REMOVED: (f"skipped: {who} had been removed (S29)", "S34.1"),
            }.get(outcome)
            answered = self.requirement_of.get((job, course))
            if why is None and answered is not None and answered.record is not None:
                why = (
                    f"its re-enrollment is the record on line {answered.record.line}; this one "
                    "repeats it",
                    "S34.4",
                )
            if why is not None:
                text, s_rule = why
                return Unexpected(
                    self.records[index],
                    learner,
                    course,
                    NONE,
                    s_rule,
                    f"{head}{ran}{text} ({s_rule}).",
                )
        return Unexpected(
            self.records[index],
            learner,
            course,
            NONE,
            "S34",
            f"{head}{who} held no certificate of {name} whose re-enrollment was due by then "
            f"({self.reenrollment_text(course)}).",
        )

    def explain(self, requirement: Requirement) -> str:
        """A missing or off-time requirement in words: the rule, its trigger, S3, S19."""
        plan, lms = self.plan, self.lms
        who = lms.learner_ids[requirement.learner]
        target = plan.course_ids[requirement.target]
        version = lms.job_version[requirement.job]
        trigger = JOB_TRIGGERS[requirement.trigger]
        run = (
            f", taken by the daily run of {self.when(requirement.expected)}"
            if requirement.expected != requirement.due
            else ""
        )
        record = requirement.record
        if version is None:  # a re-enrollment job (S34)
            text = (
                f"{self.reenrollment_text(requirement.target)}. {who} completed {target} on "
                f"{self.when(requirement.queued)} (line {self._line(requirement.trigger_enrollment)}); "
                f"the certificate {self.expiry_text(requirement.job)}, so the re-enrollment "
                f"job was due on {self.when(requirement.due)}{run} (S3). "
            )
            if record is None:
                return (
                    text
                    + f"{who} then {self.state_text(requirement.state)}, so the LMS re-enrolls (S34.4); "
                    f"the history has no re-enrollment of {who} in {target} that answers it."
                )
        else:
            text = (
                f"Rule {self.rule_text(version)}. {who} {TRIGGER_WORDS[trigger].past} "
                f"{plan.course_ids[requirement.source]} on {self.when(requirement.queued)} "
                f"(line {self._line(requirement.trigger_enrollment)}), so the job was due on "
                f"{self.when(requirement.due)}{run} (S3). "
            )
        if record is None:
            return (
                text
                + f"{who} then {self.state_text(requirement.state)}, so the rule enrolls (S19.4); the "
                f"history has no post enrollment of {who} in {target} that answers it."
            )
        late = "late" if requirement.offset > 0 else "early, before the job ran"
        return (
            text + f"The history enrolled {who} in {target} on {self.when(record.enrolled)} "
            f"(line {record.line}): {span(abs(requirement.offset))} {late}; the tolerance "
            f"is {span(self.tolerance)}."
        )

    def rule_text(self, version) -> str:
        plan = self.plan
        delay = (
            "at once"
            if version.delay == 0
            else f"after {version.delay} day{'s' if version.delay != 1 else ''}"
        )
        targets = ", ".join(plan.course_ids[t] for t in version.targets)
        consecutive = ", consecutive enrollments allowed" if version.consecutive else ""
        return (
            f"{plan.rule_ids[version.rule]}: when {plan.course_ids[version.source]} is "
            f"{TRIGGERS[version.when]}, enroll in {targets} {delay}{consecutive}"
        )


def when(day: float, day0: dt.date | None) -> str:
    """`day 2.083` without a calendar, else `2027-01-06 02:00 (day 2.08)`."""
    return f"day {round(day, 3):g}" if day0 is None else instant(day, day0)


def span(days: float) -> str:
    """A duration in words: minutes or hours below a day, days above."""
    if days < 1 / 24:
        minutes = days * 1440
        return f"{minutes:.3g} minute{'' if round(minutes, 3) == 1 else 's'}"
    if days < 1:
        hours = days * 24
        return f"{hours:.3g} hour{'' if round(hours, 3) == 1 else 's'}"
    return f"{days:.4g} day{'' if days == 1 else 's'}"
