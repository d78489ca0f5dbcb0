"""The recorder: observes a run and builds the output tables (docs/outputs.md) once at the end.

When the run is over it reads the engine's own state (engine/store.py) for the
`enrollments` and `jobs` tables and the engine's event log (engine/log.py: packed rows,
written as things happened) for `events`. It never holds or changes the model's state.
Each table is read once into plain columns (columnar.py): `tables` wraps them into
DataFrames, with categorical ids whose categories are the scenario's own id lists;
`column_tables` hands them over as they are (what `check` matches on, without importing
pandas); `frame_batches` builds them one at a time, the events table in batches, for a
run written to disk as it is built (`runner.simulate_into`).
"""

from __future__ import annotations

import datetime as dt
import functools
from array import array
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..columns import (
    COURSE_TYPES,
    EVENTS,
    JOB_KINDS,
    JOB_TRIGGERS,
    METHODS,
    OUTCOMES,
    SOURCES,
    STATUSES,
    TABLES,
)
from .columnar import Coded, Column, Floats, Ints, Table, day_timestamps, with_timestamps
from .log import EVENT_ROW, EventLog
from .store import JOB_DTYPE, OUTCOME_DTYPE, Store

if TYPE_CHECKING:  # pandas is imported by the DataFrame builders only: `check` needs none
    import pandas as pd

    from .model import Model


def _categorical(codes: np.ndarray, categories: Sequence[str]) -> pd.Categorical:
    import pandas as pd

    return pd.Categorical.from_codes(codes, dtype=_categories_dtype(tuple(categories)))


@functools.lru_cache(maxsize=16)  # a few runs' id lists; each at most a learner list
def _categories_dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """One dtype per list of ids, shared by every column and replication that codes into
    it: making an index of text is most of what building a small run's tables costs
    (a tenth of the whole run of a rule set of 5 courses), and equal dtypes make stacking
    replications cheap. Keyed by the ids themselves, so a list that grew is a new key."""
    import pandas as pd

    return pd.CategoricalDtype(pd.Index(categories, dtype="str"))


def forget_dtypes() -> None:
    """Drop the id dtypes kept for the next tables (`_categories_dtype`): a process that
    writes each replication's tables as it ends (run.runner.stream_task) stacks none in
    memory, and each replication's learners are others, so a dtype kept is only its
    learner ids held on to (up to 16 replications' worth)."""
    _categories_dtype.cache_clear()


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


# rows of a table built at a time when it is written as it is built: one Parquet row
# group (outdir.ROW_GROUP_ROWS), so the file is the one the whole table makes
BATCH_ROWS = 1 << 22


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
        warm: bool = False,
    ):
        self.course_ids = course_ids
        # a warm start's run (S41): enrollments and certificates say where they come from
        # (`source`), and jobs processed before day 0 are the history's, taken as done
        self.warm = warm
        self.course_types = np.asarray(course_types, dtype=np.int8)
        self.rule_ids = rule_ids
        self.log = log if log is not None else EventLog()  # the engine writes, we read

    @classmethod
    def of(cls, model: Model) -> Recorder:
        """The recorder of a model's run: the model never holds one (the engine does not
        import the recorder; the recorder observes what the engine kept)."""
        plan = model.plan
        return cls(plan.course_ids, plan.course_types, plan.rule_ids, model.log, model.warm)

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
        replication: int = 0,
        start_date: dt.date | None = None,
        which: tuple[str, ...] = TABLES,
        release: bool = False,
    ) -> dict[str, pd.DataFrame]:
        """Build the tables named in `which` from the run's `store` and this log. With
        `release` (the run is over), columns are used without copying and each table's
        sources are dropped once it is built, so the peak memory is the sources plus one
        table, not the sources plus every table."""
        return self._build(store, replication, start_date, which, release, True)

    def column_tables(
        self,
        store: Store,
        replication: int = 0,
        start_date: dt.date | None = None,
        which: tuple[str, ...] = TABLES,
        release: bool = False,
    ) -> dict[str, Table]:
        """The same tables as `tables`, as plain columns (columnar.py): no pandas."""
        return self._build(store, replication, start_date, which, release, False)

    def _build(self, store, replication, start_date, which, release, frames):
        built = {}
        for name in sorted(which, key=lambda n: n != "events"):  # the largest first
            columns = self._columns(name, store, replication, release)
            if frames:
                frame = to_frame(columns)
                built[name] = add_timestamps(frame, start_date) if start_date is not None else frame
            else:
                table = Table(columns)
                built[name] = with_timestamps(table, start_date) if start_date else table
            del columns
            self._release(name, store, release)
        return {name: built[name] for name in which}

    def _columns(self, name, store, replication, release) -> dict[str, Column]:
        """One whole table; with `release`, columns are the store's own arrays, not copies."""
        if name == "enrollments":
            return self.enrollment_columns(store, replication, copy=not release)
        if name == "jobs":
            return self.job_columns(store, replication, copy=not release)
        if name == "events":
            return self.event_columns(store, replication, release)
        if name == "certificates":
            return self.certificate_columns(store, replication)
        return self.session_columns(store, replication, copy=not release)

    @staticmethod
    def _release(name: str, store: Store, release: bool) -> None:
        if release and name in ("enrollments", "jobs", "sessions"):  # (certificates: small)
            getattr(store, name).release()

    def frame_batches(
        self,
        store: Store,
        replication: int = 0,
        start_date: dt.date | None = None,
        which: tuple[str, ...] = TABLES,
        rows: int | None = BATCH_ROWS,
    ) -> Iterator[tuple[str, Iterator[pd.DataFrame]]]:
        """Each table named in `which`, in that order, as DataFrames of `rows` rows (the
        last fewer; None: whole). A table is built only when its frames are asked for and
        its sources are let go of once it is passed on, so writing them one after the
        other holds the run's state plus one batch at a time (the events table is built
        batch by batch from the log; the others are views of the store, or one copy of
        the jobs, sliced). The run must be over; this empties its store and log."""

        def frames(name: str) -> Iterator[pd.DataFrame]:
            if name == "events":  # in batches from the log, which lets go of them as read
                batches = self.event_batches(store, replication, rows, release=True)
            else:  # built whole (views of the store), passed on in slices
                whole = self._columns(name, store, replication, True)
                batches = _slices(whole, rows)
                del whole
            dtypes: dict[str, pd.CategoricalDtype] = {}
            for columns in batches:
                frame = to_frame(columns, dtypes)
                del columns
                yield add_timestamps(frame, start_date) if start_date is not None else frame
            self._release(name, store, True)

        for name in which:
            yield name, frames(name)

    def enrollments(self, store: Store, replication: int = 0) -> pd.DataFrame:
        return to_frame(self.enrollment_columns(store, replication))

    def jobs(self, store: Store, replication: int = 0) -> pd.DataFrame:
        return to_frame(self.job_columns(store, replication))

    def events(self, store: Store, replication: int = 0) -> pd.DataFrame:
        return to_frame(self.event_columns(store, replication))

    def enrollment_columns(
        self, store: Store, replication: int = 0, copy: bool = True
    ) -> dict[str, Column]:
        """`copy=False`: the store's own arrays (the run is over and nothing will grow them)."""
        e = store.enrollments

        def col(name: str) -> np.ndarray:
            return _view(e.column(name), copy=copy)

        n = len(e)
        course = col("course")
        job = col("job")
        history = col("enrolled") < 0 if self.warm else None
        if history is not None and history.any():  # S41: the history has no job ids
            job = np.where(history, -1, job).astype(job.dtype)
        return {
            "replication": Ints(np.full(n, replication, dtype=np.int32)),
            "enrollment_id": Ints(np.arange(n, dtype=np.int32)),
            "learner_id": Coded(col("learner"), store.learner_ids),
            "course_id": Coded(course, self.course_ids),
            "course_type": Coded(
                self.course_types[course] if n else np.zeros(0, np.int8), COURSE_TYPES
            ),
            "method": Coded(col("method"), METHODS),
            "rule_id": Coded(col("rule"), self.rule_ids),
            "job_id": Ints(job, nullable=True),
            "enrolled_day": Floats(col("enrolled")),
            "visible_day": Floats(col("visible")),
            "started_day": Floats(col("started")),
            "completed_day": Floats(col("completed")),
            "failed_day": Floats(col("failed")),
            "superseded_day": Floats(col("superseded")),
            "status": Coded(col("status"), STATUSES),
            **_due_column(store, n),
            **_source_column(history),
        }

    def job_columns(
        self, store: Store, replication: int = 0, copy: bool = True
    ) -> dict[str, Column]:
        outcomes = _rows(store.jobs.outcomes, OUTCOME_DTYPE)
        order = np.lexsort((outcomes["position"], outcomes["job"]))
        outcomes = outcomes[order]  # a copy, in job and target order
        if self.warm:  # S41: jobs processed or pending at or after day 0 (NaN: pending)
            outcomes = outcomes[~(outcomes["processed"] < 0)]
        job = _field(outcomes, "job")
        jobs = _rows(store.jobs.rows, JOB_DTYPE)[job]
        return {
            "replication": Ints(np.full(len(job), replication, dtype=np.int32)),
            "job_id": Ints(job),
            "rule_id": Coded(_field(jobs, "rule"), self.rule_ids),
            "learner_id": Coded(
                _view(store.jobs.column("learner"), copy=copy)[job], store.learner_ids
            ),
            "source_course_id": Coded(_field(jobs, "source"), self.course_ids),
            **_kind_columns(store, _field(jobs, "rule"), job),
            "trigger": Coded(_field(jobs, "trigger"), JOB_TRIGGERS),
            "trigger_enrollment_id": Ints(_field(jobs, "trigger_enrollment")),
            "queued_day": Floats(_field(jobs, "queued")),
            "due_day": Floats(_field(jobs, "due")),
            "processed_day": Floats(_field(outcomes, "processed")),
            "target_course_id": Coded(_field(outcomes, "target"), self.course_ids),
            "outcome": Coded(_field(outcomes, "outcome"), OUTCOMES),
            "enrollment_id": Ints(_field(outcomes, "enrollment"), nullable=True),
            "reason_enrollment_id": Ints(_field(outcomes, "reason"), nullable=True),
        }

    def certificate_columns(self, store: Store, replication: int = 0) -> dict[str, Column]:
        """The certificates table (S31-S37): one row per certificate, in award order;
        empty (with its columns) when the scenario awards none."""
        records = store.certificates
        n = len(records) if records is not None else 0

        def col(name: str, typecode: str) -> np.ndarray:
            if records is None:
                return np.zeros(0, dtype=_DTYPES[typecode])
            return _view(getattr(records, name))

        return {
            "replication": Ints(np.full(n, replication, dtype=np.int32)),
            "certificate_id": Ints(np.arange(n, dtype=np.int32)),
            "learner_id": Coded(col("learner", "i"), store.learner_ids),
            "course_id": Coded(col("course", "i"), self.course_ids),
            "enrollment_id": Ints(col("enrollment", "i")),
            "awarded_day": Floats(col("awarded", "d")),
            "expires_day": Floats(col("expires", "d")),
            "replaced_day": Floats(col("replaced", "d")),
            "expired_day": Floats(col("expired", "d")),
            "source": Coded(
                (col("awarded", "d") >= 0).astype(np.int8)  # S41: before day 0, the history's
                if self.warm
                else np.full(n, SOURCES.index("simulated"), dtype=np.int8),
                SOURCES,
            ),
        }

    def session_columns(
        self, store: Store, replication: int = 0, copy: bool = True
    ) -> dict[str, Column]:
        """The ILC sessions table (S30): one row per session, seats booked, attended and missed."""
        sessions = store.sessions

        def col(name: str) -> np.ndarray:
            return _view(sessions.column(name), copy=copy)

        n = len(sessions)
        return {
            "replication": Ints(np.full(n, replication, dtype=np.int32)),
            "session_id": Coded(np.arange(n, dtype=np.int32), sessions.ids),
            "course_id": Coded(col("course"), self.course_ids),
            "day": Floats(col("day")),
            "capacity": Ints(col("capacity")),
            "booked": Ints(col("booked")),
            "attended": Ints(col("attended")),
            "missed": Ints(col("missed")),
        }

    def _event_dtypes(self, store: Store) -> dict[str, np.dtype]:
        """Each field of the log in the dtype its table column keeps (categorical codes as
        narrow as pandas makes them)."""
        widths = {
            "event": len(EVENTS),
            "learner": len(store.learner_ids),
            "course": len(self.course_ids),
            "rule": len(self.rule_ids),
            "detail": len(self.details),
        }
        return {
            name: _code_dtype(widths[name]) if name in widths else dtype
            for name, (dtype, _) in EVENT_DTYPE.fields.items()
        }

    def event_columns(
        self, store: Store, replication: int = 0, release: bool = False
    ) -> dict[str, Column]:
        """The whole events table. With `release` (the run is over) the log lets go of each
        chunk as soon as it is copied, so the log and the table never both hold every row
        (at a million learners that is a gigabyte less at the peak)."""
        (table,) = self.event_batches(store, replication, rows=None, release=release)
        return table  # (unpacked, so the generator runs to its end: the log let go of all)

    def event_batches(
        self,
        store: Store,
        replication: int = 0,
        rows: int | None = BATCH_ROWS,
        release: bool = False,
    ) -> Iterator[dict[str, Column]]:
        """The events table `rows` rows at a time, in order (the last batch fewer; one
        batch, maybe empty, when `rows` is None), for writing it without ever holding it
        whole. With `release` (the run is over) the log is emptied as it is read."""
        size = self.n_events if rows is None else rows
        dtypes = self._event_dtypes(store)
        batch, filled, yielded = None, 0, False
        for chunk in self.log.chunks(release):
            data = np.frombuffer(chunk, dtype=EVENT_DTYPE)
            while len(data):
                if batch is None:
                    batch, filled = {f: np.empty(size, d) for f, d in dtypes.items()}, 0
                take = min(size - filled, len(data))
                for field, column in batch.items():
                    column[filled : filled + take] = data[field][:take]
                filled += take
                data = data[take:]
                if filled == size:
                    yield self._event_table(batch, store, replication)
                    batch, yielded = None, True
            del data
        if batch is not None:
            yield self._event_table({f: c[:filled] for f, c in batch.items()}, store, replication)
        elif not yielded:  # no events: an empty table, which still has its columns
            yield self._event_table(
                {f: np.empty(0, d) for f, d in dtypes.items()}, store, replication
            )

    def _event_table(
        self, columns: dict[str, np.ndarray], store: Store, replication: int
    ) -> dict[str, Column]:
        return {
            "replication": Ints(np.full(len(columns["day"]), replication, dtype=np.int32)),
            "day": Floats(columns["day"]),
            "event": Coded(columns["event"], EVENTS),
            "learner_id": Coded(columns["learner"], store.learner_ids),
            "course_id": Coded(columns["course"], self.course_ids),
            "enrollment_id": Ints(columns["enrollment"], nullable=True),
            "rule_id": Coded(columns["rule"], self.rule_ids),
            "job_id": Ints(columns["job"], nullable=True),
            "detail": Coded(columns["detail"], self.details),
        }


def tables(
    model: Model,
    which: tuple[str, ...] = TABLES,
    replication: int = 0,
    start_date: dt.date | None = None,
    release: bool = False,
) -> dict[str, pd.DataFrame]:
    """A finished run's tables, built from the model's store and its log (`release`:
    drop each table's sources once it is built; see `Recorder.tables`)."""
    return Recorder.of(model).tables(
        model.store,
        replication=replication,
        start_date=start_date,
        which=which,
        release=release,
    )


def column_tables(
    model: Model,
    which: tuple[str, ...] = TABLES,
    replication: int = 0,
    start_date: dt.date | None = None,
    release: bool = False,
) -> dict[str, Table]:
    """The same tables as `tables`, as plain columns (columnar.py): no pandas."""
    return Recorder.of(model).column_tables(
        model.store,
        replication=replication,
        start_date=start_date,
        which=which,
        release=release,
    )


def frame_batches(
    model: Model,
    which: tuple[str, ...] = TABLES,
    replication: int = 0,
    start_date: dt.date | None = None,
    rows: int | None = BATCH_ROWS,
) -> Iterator[tuple[str, Iterator[pd.DataFrame]]]:
    """A finished run's tables one at a time, in batches of `rows`, each built when asked
    for and its sources dropped (`Recorder.frame_batches`)."""
    return Recorder.of(model).frame_batches(
        model.store,
        replication=replication,
        start_date=start_date,
        which=which,
        rows=rows,
    )


def _due_column(store: Store, n: int) -> dict[str, Column]:
    """S35: `due_day`, in a run that uses certificates or due dates (v2 columns); a run
    that uses neither has the tables it always had."""
    records = store.certificates
    if records is None:
        return {}
    due = np.full(n, np.nan)
    if records.due:
        due[np.fromiter(records.due, np.int64)] = np.fromiter(records.due.values(), np.float64)
    return {"due_day": Floats(due)}


def _source_column(history: np.ndarray | None) -> dict[str, Column]:
    """S41: `source` (history or simulated), in a warm start's run only."""
    if history is None:
        return {}
    return {"source": Coded(np.where(history, 0, 1).astype(np.int8), SOURCES)}


def _kind_columns(store: Store, rules: np.ndarray, jobs: np.ndarray) -> dict[str, Column]:
    """S34: the jobs' `kind` and `certificate_id`, in a run that uses certificates or due
    dates (v2 columns)."""
    records = store.certificates
    if records is None:
        return {}
    certificate = np.full(int(jobs.max()) + 1 if len(jobs) else 0, -1, dtype=np.int32)
    if records.job_certificate:
        keys = np.fromiter(records.job_certificate, np.int64)
        certificate[keys] = np.fromiter(records.job_certificate.values(), np.int32)
    return {
        "kind": Coded((rules < 0).astype(np.int8), JOB_KINDS),
        "certificate_id": Ints(certificate[jobs], nullable=True),
    }


def _slices(columns: dict[str, Column], rows: int | None) -> Iterator[dict[str, Column]]:
    """The table in slices of `rows` rows (views, not copies); one, maybe empty, at least."""
    n = len(next(iter(columns.values())))
    step = max(n, 1) if rows is None else rows
    for start in range(0, max(n, 1), step):
        window = slice(start, start + step)
        yield {name: column.take(window) for name, column in columns.items()}


def _code_dtype(categories: int) -> np.dtype:
    """The dtype pandas gives the codes of a categorical with that many categories."""
    for dtype in (np.int8, np.int16, np.int32):
        if categories < np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def to_frame(
    columns: dict[str, Column], dtypes: dict[str, pd.CategoricalDtype] | None = None
) -> pd.DataFrame:
    """A DataFrame of the columns, without copying them: ids and vocabularies become
    categoricals whose categories are the scenario's own id lists, nullable ids Int32.
    `dtypes` keeps each categorical's dtype for the next batch of the same table (at a
    million learners, making the learner ids an index again costs a tenth of a second)."""
    import pandas as pd

    data = {}
    for name, column in columns.items():
        if isinstance(column, Coded):
            if dtypes is None:
                data[name] = _categorical(column.codes, column.categories)
                continue
            dtype = dtypes.get(name)
            if dtype is None:
                dtype = dtypes[name] = _categorical(column.codes[:0], column.categories).dtype
            data[name] = pd.Categorical.from_codes(column.codes, dtype=dtype)
        elif isinstance(column, Ints) and column.nullable:
            data[name] = _nullable_int(column.values)
        else:
            data[name] = column.values
    return pd.DataFrame(copy=False, data=data)


def add_timestamps(frame: pd.DataFrame, start_date: dt.date) -> pd.DataFrame:
    """docs/outputs.md: with `start_date`, each `*_day` column gets a timestamp twin `*_at`."""
    twins = {}
    for column in frame.columns:
        if column == "day" or column.endswith("_day"):
            name = "at" if column == "day" else column.removesuffix("_day") + "_at"
            # the same timestamps as the columns' (exact to the second, S1)
            twins[name] = day_timestamps(frame[column].to_numpy(dtype=np.float64), start_date)
    if not twins:
        return frame
    return frame.assign(**twins)
