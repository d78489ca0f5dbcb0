"""The engine's own state: every enrollment record and every job of a run.

The LMS (lms.py) creates and updates these records as it applies the rules; the
recorder only reads them once the run is over, to build the `enrollments` and `jobs`
tables (Ciw keeps live state on its individuals and writes data records apart; here
the live state is already columnar, so the recorder reads the columns themselves).

Everything is struct-of-arrays in typed columns indexed by id (learners, courses,
rules and methods as int codes, days as float64): a few bytes a value, no object per
record. Jobs are written once and then only read by id for their learner, so their
other fields are packed rows in a bytearray (one C call a row).
"""

from __future__ import annotations

import math
import struct
from array import array

import numpy as np

from ..columns import STATUS_CODE

NAN = float("nan")
NONE = -1  # the code of a missing id (no rule, no job, no enrollment)
NOT_STARTED = STATUS_CODE["not_started"]
IN_PROGRESS = STATUS_CODE["in_progress"]
COMPLETE = STATUS_CODE["complete"]  # complete and failed are terminal; codes below are open
FAILED = STATUS_CODE["failed"]
assert NOT_STARTED < IN_PROGRESS < COMPLETE < FAILED


class Enrollments:
    """Every enrollment record (S13-S14), current and history, indexed by enrollment id.
    (Compiled, this is a C type: store.pxd declares its fields.)"""

    COLUMNS = (
        "learner",
        "course",
        "method",
        "rule",
        "job",
        "enrolled",
        "visible",
        "started",
        "completed",
        "failed",
        "superseded",
        "status",
    )

    def __init__(self) -> None:
        self.learner = array("i")
        self.course = array("i")
        self.method = array("b")
        self.rule = array("i")
        self.job = array("i")
        self.enrolled = array("d")
        self.visible = array("d")  # NaN until the learner can see it (S21)
        self.started = array("d")
        self.completed = array("d")
        self.failed = array("d")
        self.superseded = array("d")  # NaN while current (S14)
        self.status = array("b")

    def __len__(self) -> int:
        return len(self.learner)

    def new(
        self,
        learner: int,
        course: int,
        method: int,
        rule: int,
        job: int,
        day: float,
        visible: float,
    ) -> int:
        eid = len(self.learner)
        self.learner.append(learner)
        self.course.append(course)
        self.method.append(method)
        self.rule.append(rule)
        self.job.append(job)
        self.enrolled.append(day)
        self.visible.append(visible)
        self.started.append(NAN)
        self.completed.append(NAN)
        self.failed.append(NAN)
        self.superseded.append(NAN)
        self.status.append(NOT_STARTED)
        return eid

    def is_current(self, enrollment: int) -> bool:
        return math.isnan(self.superseded[enrollment])

    def is_visible(self, enrollment: int) -> bool:
        return not math.isnan(self.visible[enrollment])

    def release(self) -> None:
        """Drop every record (the run is over and its table is built)."""
        for name in self.COLUMNS:
            setattr(self, name, array(getattr(self, name).typecode))


# rule, source, trigger, trigger enrollment, queued, due
JOB_ROW = struct.Struct("=iibidd")
JOB_DTYPE = np.dtype(
    [
        ("rule", "=i4"),
        ("source", "=i4"),
        ("trigger", "=i1"),
        ("trigger_enrollment", "=i4"),
        ("queued", "=f8"),
        ("due", "=f8"),
    ]
)
# job, position, target, outcome, processed, enrollment, reason: the enrollment that
# decided a skip (the open one for S19.2, the last completed one for S19.3), else NONE
OUTCOME_ROW = struct.Struct("=iiibdii")
OUTCOME_DTYPE = np.dtype(
    [
        ("job", "=i4"),
        ("position", "=i4"),
        ("target", "=i4"),
        ("outcome", "=i1"),
        ("processed", "=f8"),
        ("enrollment", "=i4"),
        ("reason", "=i4"),
    ]
)
assert JOB_DTYPE.itemsize == JOB_ROW.size and OUTCOME_DTYPE.itemsize == OUTCOME_ROW.size


class Jobs:
    """Every job (S18), indexed by job id, and its outcome for each target (S19-S24)."""

    def __init__(self) -> None:
        self.learner = array("i")  # read by id while the run goes
        self.rows = bytearray()  # packed JOB_ROWs, in job id order
        self.outcomes = bytearray()  # packed OUTCOME_ROWs, in processing order

    def __len__(self) -> int:
        return len(self.learner)

    def new(
        self,
        rule: int,
        learner: int,
        source: int,
        trigger: int,
        trigger_enrollment: int,
        queued: float,
        due: float,
    ) -> int:
        jid = len(self.learner)
        self.learner.append(learner)
        self.rows += JOB_ROW.pack(rule, source, trigger, trigger_enrollment, queued, due)
        return jid

    def outcome(
        self,
        job: int,
        position: int,
        target: int,
        outcome: int,
        processed: float,
        enrollment: int,
        reason: int = NONE,
    ) -> None:
        self.outcomes += OUTCOME_ROW.pack(
            job, position, target, outcome, processed, enrollment, reason
        )

    def release(self) -> None:
        self.learner = array("i")
        self.rows = bytearray()
        self.outcomes = bytearray()


class Store:
    """All of a run's state the tables are made from: learner ids (they grow with hires),
    enrollments and jobs."""

    def __init__(self, learner_ids: list[str]) -> None:
        self.learner_ids = learner_ids
        self.enrollments = Enrollments()
        self.jobs = Jobs()
