"""The recorder: observes a run and builds the output tables (docs/outputs.md) once at the end.

When the run is over it reads the engine's own state (engine/store.py) for the
`enrollments` and `jobs` tables and the engine's event log (engine/log.py: packed rows,
written as things happened) for `events`. It never holds or changes the model's state. Each table is read once into plain columns (columnar.py):
`tables` wraps them into DataFrames, with categorical ids whose categories are the
scenario's own id lists; `column_tables` hands them over as they are (what `check`
matches on, without importing pandas).
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .columnar import Coded, Column, Floats, Ints, Table, with_timestamps
from .columns import COURSE_TYPES, EVENTS, METHODS, OUTCOMES, STATUSES, TABLES, TRIGGERS
from .engine.log import EVENT_ROW, EventLog
from .engine.store import JOB_DTYPE, OUTCOME_DTYPE, Store

if TYPE_CHECKING:  # pandas is imported by the DataFrame builders only: `check` needs none
    import pandas as pd


def _categorical(codes: np.ndarray, categories: Sequence[str]) -> pd.Categorical:
    import pandas as pd

    return pd.Categorical.from_codes(codes, categories=pd.Index(list(categories), dtype="str"))


def _nullable_int(codes: np.ndarray) -> pd.arrays.IntegerArray:
    import pandas as pd

    return pd.arrays.IntegerArray(codes.astype(np.int32, copy=False), codes < 0)


_DTYPES = {"b": np.int8, "i": np.int32, "d": np.float64}

# day; event, learner, course, enrollment, rule, job, detail: the log's rows (engine/log.py)
EVENT_DTYPE = np.dtype(
    [("day", "=f8")]
    + [(f, "=i4") for f in ("event", "learner", "course", "enrollment", "rule", "job", "detail")]
)
assert EVENT_DTYPE.itemsize == EVENT_ROW.size


EVENT_CHUNK = 1 << 20  # rows converted at a time when the events table is built


def _rows(log: bytearray, dtype: np.dtype) -> np.ndarray:
    return np.frombuffer(log, dtype=dtype) if log else np.zeros(0, dtype=dtype)


def _field(rows: np.ndarray, name: str) -> np.ndarray:
    return np.ascontiguousarray(rows[name])


def _view(column: array | memoryview, copy: bool = True) -> np.ndarray:
    """A numpy array of an array column: a copy while the column may still grow, else a view."""
    dtype = _DTYPES[column.typecode if isinstance(column, array) else column.format]
    if not len(column):
        return np.zeros(0, dtype=dtype)
    view = np.frombuffer(column, dtype=dtype)
    return view.copy() if copy else view


class Recorder:
    """Builds the tables of one replication from a run's store and its event log."""

    def __init__(
        self,
        course_ids: list[str],
        course_types: list[int],
        rule_ids: list[str],
        log: EventLog | None = None,
    ):
        self.course_ids = course_ids
        self.course_types = np.asarray(course_types, dtype=np.int8)
        self.rule_ids = rule_ids
        self.log = log if log is not None else EventLog()  # the engine writes, we read
        self._copy = True

    def code(self, detail: str) -> int:
        return self.log.code(detail)

    @property
    def details(self) -> list[str]:
        return self.log.details

    @property
    def n_events(self) -> int:
        return len(self.log)

    # ----- tables -----------------------------------------------------------------

    def tables(
        self,
        store: Store,
        session_rows: SESSION_ROWS = (),
        replication: int = 0,
        start_date: dt.date | None = None,
        which: tuple[str, ...] = TABLES,
        release: bool = False,
    ) -> dict[str, pd.DataFrame]:
        """Build the tables named in `which` from the run's `store` and this log. With
        `release` (the run is over), columns are used without copying and each table's
        sources are dropped once it is built, so the peak memory is the sources plus one
        table, not the sources plus every table."""
        return self._build(store, session_rows, replication, start_date, which, release, True)

    def column_tables(
        self,
        store: Store,
        session_rows: SESSION_ROWS = (),
        replication: int = 0,
        start_date: dt.date | None = None,
        which: tuple[str, ...] = TABLES,
        release: bool = False,
    ) -> dict[str, Table]:
        """The same tables as `tables`, as plain columns (columnar.py): no pandas."""
        return self._build(store, session_rows, replication, start_date, which, release, False)

    def _build(self, store, session_rows, replication, start_date, which, release, frames):
        builders = {
            "enrollments": (lambda: self.enrollment_columns(store, replication), store.enrollments),
            "jobs": (lambda: self.job_columns(store, replication), store.jobs),
            "events": (lambda: self.event_columns(store, replication), None),  # cut back as built
            "sessions": (
                lambda: session_columns(session_rows, self.course_ids, replication),
                None,
            ),
        }
        self._copy = not release
        built = {}
        for name in sorted(which, key=lambda n: n != "events"):  # the largest first
            make, source = builders[name]
            columns = make()
            if frames:
                frame = to_frame(columns)
                built[name] = add_timestamps(frame, start_date) if start_date is not None else frame
            else:
                table = Table(columns)
                built[name] = with_timestamps(table, start_date) if start_date else table
            del columns
            if release and source is not None:
                source.release()
        self._copy = True
        return {name: built[name] for name in which}

    def _col(self, column: array) -> np.ndarray:
        return _view(column, copy=self._copy)

    def enrollments(self, store: Store, replication: int = 0) -> pd.DataFrame:
        return to_frame(self.enrollment_columns(store, replication))

    def jobs(self, store: Store, replication: int = 0) -> pd.DataFrame:
        return to_frame(self.job_columns(store, replication))

    def events(self, store: Store, replication: int = 0) -> pd.DataFrame:
        return to_frame(self.event_columns(store, replication))

    def enrollment_columns(self, store: Store, replication: int = 0) -> dict[str, Column]:
        e = store.enrollments
        n = len(e)
        course = self._col(e.column("course"))
        return {
            "replication": Ints(np.full(n, replication, dtype=np.int32)),
            "enrollment_id": Ints(np.arange(n, dtype=np.int32)),
            "learner_id": Coded(self._col(e.column("learner")), store.learner_ids),
            "course_id": Coded(course, self.course_ids),
            "course_type": Coded(
                self.course_types[course] if n else np.zeros(0, np.int8), COURSE_TYPES
            ),
            "method": Coded(self._col(e.column("method")), METHODS),
            "rule_id": Coded(self._col(e.column("rule")), self.rule_ids),
            "job_id": Ints(self._col(e.column("job")), nullable=True),
            "enrolled_day": Floats(self._col(e.column("enrolled"))),
            "visible_day": Floats(self._col(e.column("visible"))),
            "started_day": Floats(self._col(e.column("started"))),
            "completed_day": Floats(self._col(e.column("completed"))),
            "failed_day": Floats(self._col(e.column("failed"))),
            "superseded_day": Floats(self._col(e.column("superseded"))),
            "status": Coded(self._col(e.column("status")), STATUSES),
        }

    def job_columns(self, store: Store, replication: int = 0) -> dict[str, Column]:
        outcomes = _rows(store.jobs.outcomes, OUTCOME_DTYPE)
        order = np.lexsort((outcomes["position"], outcomes["job"]))
        outcomes = outcomes[order]  # a copy, in job and target order
        job = _field(outcomes, "job")
        jobs = _rows(store.jobs.rows, JOB_DTYPE)[job]
        return {
            "replication": Ints(np.full(len(job), replication, dtype=np.int32)),
            "job_id": Ints(job),
            "rule_id": Coded(_field(jobs, "rule"), self.rule_ids),
            "learner_id": Coded(self._col(store.jobs.column("learner"))[job], store.learner_ids),
            "source_course_id": Coded(_field(jobs, "source"), self.course_ids),
            "trigger": Coded(_field(jobs, "trigger"), TRIGGERS),
            "trigger_enrollment_id": Ints(_field(jobs, "trigger_enrollment")),
            "queued_day": Floats(_field(jobs, "queued")),
            "due_day": Floats(_field(jobs, "due")),
            "processed_day": Floats(_field(outcomes, "processed")),
            "target_course_id": Coded(_field(outcomes, "target"), self.course_ids),
            "outcome": Coded(_field(outcomes, "outcome"), OUTCOMES),
            "enrollment_id": Ints(_field(outcomes, "enrollment"), nullable=True),
            "reason_enrollment_id": Ints(_field(outcomes, "reason"), nullable=True),
        }

    def event_columns(self, store: Store, replication: int = 0) -> dict[str, Column]:
        n = self.n_events
        widths = {
            "event": len(EVENTS),
            "learner": len(store.learner_ids),
            "course": len(self.course_ids),
            "rule": len(self.rule_ids),
            "detail": len(self.details),
        }
        # each column in the dtype its table column keeps (categorical codes as narrow as
        # pandas makes them), filled from the end of the log in chunks; once the run is
        # over the log is cut back behind each chunk, so the log and the table never both
        # hold every row (at a million learners that is a gigabyte less at the peak)
        columns = {
            name: np.empty(n, _code_dtype(widths[name]) if name in widths else dt_)
            for name, (dt_, _) in EVENT_DTYPE.fields.items()
        }
        log, size = self.log.rows, EVENT_ROW.size
        end = n
        while end > 0:
            start = max(0, end - EVENT_CHUNK)
            with memoryview(log)[start * size : end * size] as chunk:
                rows = np.frombuffer(chunk, dtype=EVENT_DTYPE)
                for name, column in columns.items():
                    column[start:end] = rows[name]
                del rows
            if not self._copy:
                del log[start * size :]
            end = start
        return {
            "replication": Ints(np.full(n, replication, dtype=np.int32)),
            "day": Floats(columns["day"]),
            "event": Coded(columns["event"], EVENTS),
            "learner_id": Coded(columns["learner"], store.learner_ids),
            "course_id": Coded(columns["course"], self.course_ids),
            "enrollment_id": Ints(columns["enrollment"], nullable=True),
            "rule_id": Coded(columns["rule"], self.rule_ids),
            "job_id": Ints(columns["job"], nullable=True),
            "detail": Coded(columns["detail"], self.details),
        }


SESSION_ROWS = list[tuple[str, int, float, int, int, int, int]]


def _code_dtype(categories: int) -> np.dtype:
    """The dtype pandas gives the codes of a categorical with that many categories."""
    for dtype in (np.int8, np.int16, np.int32):
        if categories < np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def session_columns(
    rows: SESSION_ROWS, course_ids: list[str], replication: int = 0
) -> dict[str, Column]:
    """The ILC sessions table (S30): one row per session, seats booked, attended and missed."""
    ids = [r[0] for r in rows]
    return {
        "replication": Ints(np.full(len(rows), replication, dtype=np.int32)),
        "session_id": Coded(np.arange(len(ids), dtype=np.int32), ids),
        "course_id": Coded(np.array([r[1] for r in rows], dtype=np.int32), course_ids),
        "day": Floats(np.array([r[2] for r in rows], dtype=np.float64)),
        "capacity": Ints(np.array([r[3] for r in rows], dtype=np.int32)),
        "booked": Ints(np.array([r[4] for r in rows], dtype=np.int32)),
        "attended": Ints(np.array([r[5] for r in rows], dtype=np.int32)),
        "missed": Ints(np.array([r[6] for r in rows], dtype=np.int32)),
    }


def sessions_frame(rows: SESSION_ROWS, course_ids: list[str], replication: int = 0) -> pd.DataFrame:
    return to_frame(session_columns(rows, course_ids, replication))


def to_frame(columns: dict[str, Column]) -> pd.DataFrame:
    """A DataFrame of the columns, without copying them: ids and vocabularies become
    categoricals whose categories are the scenario's own id lists, nullable ids Int32."""
    import pandas as pd

    data = {}
    for name, column in columns.items():
        if isinstance(column, Coded):
            data[name] = _categorical(column.codes, column.categories)
        elif isinstance(column, Ints) and column.nullable:
            data[name] = _nullable_int(column.values)
        else:
            data[name] = column.values
    return pd.DataFrame(copy=False, data=data)


def add_timestamps(frame: pd.DataFrame, start_date: dt.date) -> pd.DataFrame:
    """docs/outputs.md: with `start_date`, each `*_day` column gets a timestamp twin `*_at`."""
    import pandas as pd

    origin = pd.Timestamp(start_date)
    twins = {}
    for column in frame.columns:
        if column == "day" or column.endswith("_day"):
            name = "at" if column == "day" else column.removesuffix("_day") + "_at"
            twins[name] = origin + pd.to_timedelta(frame[column].to_numpy(), unit="D")
    if not twins:
        return frame
    return frame.assign(**twins)
