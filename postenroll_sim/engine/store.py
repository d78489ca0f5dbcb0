"""The engine's own state: every enrollment record, every job and every ILC session of a run.

The LMS (lms.py) creates and updates these records as it applies the rules; the
recorder only reads them once the run is over, to build the `enrollments`, `jobs` and
`sessions` tables (Ciw keeps live state on its individuals and writes data records apart; here
the live state is already columnar, so the recorder reads the columns themselves).

Everything is struct-of-arrays in typed columns indexed by id (learners, courses,
rules and methods as int codes, days as float64): a few bytes a value, no object per
record. Jobs are written once and then only read by id for their learner, so their
other fields are packed rows in a bytearray (one C call a row).
"""

from __future__ import annotations

import struct
from array import array
from typing import NamedTuple

import numpy as np

try:
    import cython

    COMPILED = cython.compiled
except ImportError:  # Cython is needed to build the compiled core, not to run
    COMPILED = False

from ..columns import STATUS_CODE

NAN = float("nan")
NONE = -1  # the code of a missing id (no rule, no job, no enrollment)
NEVER = float("-inf")  # the last completion day of a course never completed
NOT_STARTED = STATUS_CODE["not_started"]
IN_PROGRESS = STATUS_CODE["in_progress"]
COMPLETE = STATUS_CODE["complete"]  # complete and failed are terminal; codes below are open
FAILED = STATUS_CODE["failed"]
assert NOT_STARTED < IN_PROGRESS < COMPLETE < FAILED


def unset(day: float) -> bool:
    """A day column's value for "not yet": NaN, the one float unequal to itself (compiled,
    a C comparison rather than a call of math.isnan)."""
    return day != day


def room(size: int) -> int:
    """How much to grow a column or a buffer of `size` by: a quarter of it (enough to make
    growing rare, little enough not to matter at the peak), at least 64 KiB worth."""
    return max(size // 4, 1 << 16)


def _zeros(typecode: str, length: int) -> array:
    return array(typecode, bytes(length * array(typecode).itemsize))


class Enrollments:
    """Every enrollment record (S13-S14), current and history, indexed by enrollment id.

    Each field is a typed array with room to spare; records are written in place and
    `n` counts them (`column()` gives the filled part). Compiled, the field attributes
    are typed views of those arrays (store.pxd), let go of while the arrays grow."""

    COLUMNS = {  # field: its array's typecode
        "learner": "i",
        "course": "i",
        "method": "b",
        "rule": "i",
        "job": "i",
        "enrolled": "d",
        "visible": "d",  # NaN until the learner can see it (S21)
        "started": "d",
        "completed": "d",
        "failed": "d",
        "superseded": "d",  # NaN while current (S14)
        "status": "b",
    }

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0
        self._arrays = tuple(_zeros(code, capacity) for code in self.COLUMNS.values())
        self._view_arrays()

    def _view_arrays(self) -> None:
        (
            self.learner,
            self.course,
            self.method,
            self.rule,
            self.job,
            self.enrolled,
            self.visible,
            self.started,
            self.completed,
            self.failed,
            self.superseded,
            self.status,
        ) = self._arrays

    def _grow(self) -> None:
        """A quarter more room (amortised: a record costs a few writes, not a reallocation;
        a quarter, not double, so that room kept ahead costs little memory at the peak)."""
        self.learner = self.course = self.method = self.rule = self.job = None
        self.enrolled = self.visible = self.started = self.completed = None
        self.failed = self.superseded = self.status = None
        for column in self._arrays:
            column.extend(_zeros(column.typecode, room(len(column))))
        self._view_arrays()

    def __len__(self) -> int:
        return self.n

    def column(self, name: str) -> memoryview:
        """The filled part of one field's array, without copying it (for the tables, once
        the run is over: while a view is held its array cannot grow)."""
        return memoryview(self._arrays[list(self.COLUMNS).index(name)])[: self.n]

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
        eid = self.n
        if eid == len(self._arrays[0]):
            self._grow()
        self.learner[eid] = learner
        self.course[eid] = course
        self.method[eid] = method
        self.rule[eid] = rule
        self.job[eid] = job
        self.enrolled[eid] = day
        self.visible[eid] = visible
        self.started[eid] = NAN
        self.completed[eid] = NAN
        self.failed[eid] = NAN
        self.superseded[eid] = NAN
        self.status[eid] = NOT_STARTED
        self.n = eid + 1
        return eid

    def is_current(self, enrollment: int) -> bool:
        return unset(self.superseded[enrollment])

    def is_visible(self, enrollment: int) -> bool:
        return not unset(self.visible[enrollment])

    def release(self) -> None:
        """Drop every record (the run is over and its table is built)."""
        self.n = 0
        self._arrays = tuple(array(code) for code in self.COLUMNS.values())
        self._view_arrays()


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


class JobRecord(NamedTuple):
    """One job's row, decoded (Jobs.record)."""

    rule: int
    source: int
    trigger: int
    trigger_enrollment: int
    queued: float
    due: float


class OutcomeRecord(NamedTuple):
    """One decision on one job's target (S19-S24), decoded (Jobs.outcome_records)."""

    job: int
    position: int
    target: int
    outcome: int
    processed: float
    enrollment: int
    reason: int


_JOB_SIZE, _OUTCOME_SIZE = JOB_ROW.size, OUTCOME_ROW.size


class Jobs:
    """Every job (S18), indexed by job id, and its outcome for each target (S19-S24)."""

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0
        # each job's learner, read by id while the run goes: a typed array with room to
        # spare, as the enrollments' fields (compiled, `learner` is a typed view of it)
        self._learner = _zeros("i", capacity)
        self.learner = self._learner
        self.rows = bytearray()  # packed JOB_ROWs, in job id order
        self.outcomes = bytearray()  # packed OUTCOME_ROWs, in processing order
        self.n_outcomes = 0
        # Compiled, rows are written in place into room kept ahead in these bytearrays
        # (the same bytes as the struct would pack; see engine/log.py), and `finish`
        # trims them once the run is over.

    def __len__(self) -> int:
        return self.n

    def column(self, name: str) -> memoryview:
        """The filled part of the `learner` field (see Enrollments.column)."""
        if name != "learner":
            raise KeyError(name)
        return memoryview(self._learner)[: self.n]

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
        jid = self.n
        if jid == len(self._learner):
            self.learner = None  # let go of the view while the array grows
            self._learner.extend(_zeros("i", room(jid)))
            self.learner = self._learner
        self.learner[jid] = learner
        self.n = jid + 1
        if COMPILED:
            self._write_job(jid, rule, source, trigger, trigger_enrollment, queued, due)
        else:
            self.rows += JOB_ROW.pack(rule, source, trigger, trigger_enrollment, queued, due)
        return jid

    def record(self, job: int) -> JobRecord:
        """Job `job`'s row, decoded: what it was queued by and when it is due."""
        return JobRecord(*JOB_ROW.unpack_from(self.rows, job * _JOB_SIZE))

    def outcome_records(self, first: int = 0) -> list[OutcomeRecord]:
        """The decisions written so far, from the `first`-th on, in processing order
        (`n_outcomes` is the next one's index): a reader keeps its place with it."""
        end = self.n_outcomes * _OUTCOME_SIZE  # compiled, room to spare follows the rows
        rows = bytes(self.outcomes[first * _OUTCOME_SIZE : end])
        return [OutcomeRecord(*row) for row in OUTCOME_ROW.iter_unpack(rows)]

    def _write_job(self, jid, rule, source, trigger, trigger_enrollment, queued, due) -> None:
        """Compiled only: the JOB_ROW of job `jid`, written in place (x86-64 and arm64
        store the unaligned fields of a packed row as they are)."""
        offset = jid * _JOB_SIZE
        if offset + _JOB_SIZE > len(self.rows):
            self._rows_view = None  # a view pins the bytearray: let go while it grows
            self.rows.extend(bytes(room(len(self.rows))))
            self._rows_view = self.rows
        at = cython.address(self._rows_view[offset])
        cython.cast(cython.pointer(cython.int), at)[0] = rule
        cython.cast(cython.pointer(cython.int), at + 4)[0] = source
        cython.cast(cython.pointer(cython.schar), at + 8)[0] = trigger
        cython.cast(cython.pointer(cython.int), at + 9)[0] = trigger_enrollment
        cython.cast(cython.pointer(cython.double), at + 13)[0] = queued
        cython.cast(cython.pointer(cython.double), at + 21)[0] = due

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
        if COMPILED:
            self._write_outcome(job, position, target, outcome, processed, enrollment, reason)
        else:
            self.outcomes += OUTCOME_ROW.pack(
                job, position, target, outcome, processed, enrollment, reason
            )
        self.n_outcomes += 1

    def _write_outcome(self, job, position, target, outcome, processed, enrollment, reason):
        """Compiled only: the next OUTCOME_ROW, written in place (see _write_job)."""
        offset = self.n_outcomes * _OUTCOME_SIZE
        if offset + _OUTCOME_SIZE > len(self.outcomes):
            self._outcomes_view = None
            self.outcomes.extend(bytes(room(len(self.outcomes))))
            self._outcomes_view = self.outcomes
        at = cython.address(self._outcomes_view[offset])
        cython.cast(cython.pointer(cython.int), at)[0] = job
        cython.cast(cython.pointer(cython.int), at + 4)[0] = position
        cython.cast(cython.pointer(cython.int), at + 8)[0] = target
        cython.cast(cython.pointer(cython.schar), at + 12)[0] = outcome
        cython.cast(cython.pointer(cython.double), at + 13)[0] = processed
        cython.cast(cython.pointer(cython.int), at + 21)[0] = enrollment
        cython.cast(cython.pointer(cython.int), at + 25)[0] = reason

    def finish(self) -> None:
        """The run is over: `rows` and `outcomes` hold exactly the rows written."""
        self._rows_view = self._outcomes_view = None
        del self.rows[self.n * _JOB_SIZE :]
        del self.outcomes[self.n_outcomes * _OUTCOME_SIZE :]

    def release(self) -> None:
        self.n = 0
        self._learner = array("i")
        self.learner = self._learner
        self.rows = bytearray()
        self.outcomes = bytearray()
        self.n_outcomes = 0


class Sessions:
    """Every ILC session of the run (S30), indexed by session id: each course's sessions
    in day order, courses in catalog order. The seats are counted as the run goes, by
    learner behaviour (engine/behaviour.py), which books them; the sessions are all
    known when the run starts, so the columns never grow."""

    COLUMNS = {  # field: its array's typecode
        "course": "i",
        "day": "d",
        "capacity": "i",
        "booked": "i",
        "attended": "i",
        "missed": "i",
    }

    def __init__(self, sessions=()) -> None:
        """`sessions`: each course's sessions (objects with `id`, `course`, `day` and
        `capacity`: the plan's), in that order."""
        listed = [session for course in sessions for session in course]
        self.ids = [session.id for session in listed]
        self.n = len(listed)
        self._arrays = tuple(_zeros(code, self.n) for code in self.COLUMNS.values())
        self._view_arrays()
        for sid, session in enumerate(listed):
            self.course[sid] = session.course
            self.day[sid] = session.day
            self.capacity[sid] = session.capacity

    def _view_arrays(self) -> None:
        (
            self.course,
            self.day,
            self.capacity,
            self.booked,
            self.attended,
            self.missed,
        ) = self._arrays

    def __len__(self) -> int:
        return self.n

    def column(self, name: str) -> memoryview:
        """One field's array, without copying it (see Enrollments.column)."""
        return memoryview(self._arrays[list(self.COLUMNS).index(name)])

    def release(self) -> None:
        self.n = 0
        self.ids = []
        self._arrays = tuple(array(code) for code in self.COLUMNS.values())
        self._view_arrays()


class Store:
    """All of a run's state the tables are made from: learner ids (they grow with hires),
    enrollments, jobs and ILC sessions."""

    def __init__(self, learner_ids: list[str], sessions=()) -> None:
        self.learner_ids = learner_ids
        self.enrollments = Enrollments()
        self.jobs = Jobs()
        self.sessions = Sessions(sessions)
        self.certificates = None  # S31-S36: engine/certificates.py's records, when used
