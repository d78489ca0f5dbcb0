"""A history's records as columns: the fast reader, and what is done to every record
after reading (the S39 cut, creation order, ignored expiries) as array operations.

`exports.parse_history` reads a history in one of two ways, with one result:

* `fast_columns` parses the file with pyarrow's CSV reader and checks every record with
  array operations; the few cells it does not recognise by pattern (a date format of the
  map, a fractional second, an exponent) go through the row reader's own parser. It
  gives up (None) on the first thing it would have to report, and on any file whose
  physical lines are not one record each (a quoted line break, a blank line), where
  line numbers need the row reader;
* the row reader (`exports._Rows`) then reads the file row by row, locating each problem.

Both end in `Columns`, which `records_of` turns into the `Record`s the replay, `audit`,
`calibrate` and `infer` read. A million records: a few seconds here, against about 20 us
a record row by row (docs/performance.md, the warm start).
"""

from __future__ import annotations

import datetime as dt
import gc
import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..columns import FORMULA_START, METHODS, STATUSES, from_spreadsheet
from ..scenario.base import same_id

MOMENTS = ("enrolled", "started", "completed", "failed", "removed", "expires")
SAME_INSTANT = 1e-6  # days (0.09 s): moments are whole seconds (S1), so this close is one
_SECOND = 86_400
# The cells the arrays parse; anything else goes through the row reader's parser
_DAY_PATTERN = r"^-?[0-9]{1,9}(\.[0-9]{1,25})?$"
_ISO_PATTERN = (
    r"^(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[T ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2}))?"
    r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?)?$"
)


@dataclass
class Columns:
    """Every record of a history, one array (or list) a field; a moment is NaN where the
    record has none, and `dated[m]` says where it was given as a date alone."""

    line: np.ndarray  # int64: the record's line in the file
    record_id: list[str | None]
    learner: list[str]
    course: list[str]
    method: list[str]
    status: list[str | None]
    moments: dict[str, np.ndarray]  # float64 days from day 0
    dated: dict[str, np.ndarray]  # bool
    headers: dict[str, str]  # moment -> the file's header for it
    # Record.columns and .dates_only as read, one int a record: bit k says moment k was
    # given, bit 6+k that it was a date alone, bit 12 that the failure is the export's
    # "completed" date (a vendor's one date for passes and failures, exports._Rows.read)
    shape: np.ndarray
    # (learner codes, pair codes), once: the conflict and repeat checks both need them
    pairs: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.line)

    def take(self, keep: np.ndarray) -> Columns:
        """The records where `keep` (a boolean mask) holds, in their order."""
        where = np.flatnonzero(keep)

        def pick(values: list) -> list:
            return np.array(values, dtype=object)[where].tolist()

        return Columns(
            self.line[keep],
            pick(self.record_id),
            pick(self.learner),
            pick(self.course),
            pick(self.method),
            pick(self.status),
            {m: v[keep] for m, v in self.moments.items()},
            {m: v[keep] for m, v in self.dated.items()},
            self.headers,
            self.shape[keep],
        )


def whole_seconds(days: np.ndarray) -> np.ndarray:
    """columns.whole_second on an array (the same floats, NaN kept)."""
    return np.floor(days * _SECOND + 0.5) / _SECOND


def repeats(columns: Columns) -> bool:
    """Whether some learner has two records of one course."""
    _, pair = _pairs(columns)
    return len(np.unique(pair)) < len(columns)


def _pairs(columns: Columns) -> tuple[np.ndarray, np.ndarray]:
    """Each record's learner code, and a code of its (learner, course) pair."""
    if columns.pairs is None:
        learners, _ = _codes(columns.learner)
        courses, count = _codes(columns.course)
        columns.pairs = (learners, learners * count + courses)
    return columns.pairs


def _codes(values: list[str]) -> tuple[np.ndarray, int]:
    """Each value's code (first appearance order) and how many distinct values."""
    import pandas as pd

    codes, uniques = pd.factorize(np.array(values, dtype=object))
    return codes.astype(np.int64), len(uniques)


# ----- after reading: one path for both readers ------------------------------------------


def conflicts(columns: Columns) -> bool:
    """Whether a record moved to history changes after a newer one (S14) or a learner is
    removed at two moments (S29): the row reader's checks then say where (a detector
    only: `exports._check_superseding` and `_check_removals` word the problems)."""
    if not len(columns):
        return False
    learners, pair = _pairs(columns)
    enrolled = columns.moments["enrolled"]
    order = np.lexsort((columns.line, enrolled, pair))
    same = pair[order][1:] == pair[order][:-1]
    newer_enrolled = enrolled[order][1:]
    for moment in ("started", "completed", "failed"):
        older = columns.moments[moment][order][:-1]
        if np.any(same & (older > newer_enrolled + SAME_INSTANT)):
            return True
    removed = columns.moments["removed"]
    has = ~np.isnan(removed)
    if has.any():
        by_line = np.lexsort((columns.line,))
        by_line = by_line[has[by_line]]
        who = learners[by_line]
        _, first_at = np.unique(who, return_index=True)
        first = np.full(learners.max() + 1, np.nan)
        first[who[first_at]] = removed[by_line][first_at]
        if np.any(np.abs(removed[by_line] - first[who]) > SAME_INSTANT):
            return True
    return False


def shift(columns: Columns, days: float) -> None:
    """Every moment `days` earlier (a history whose day 0 is its own first day)."""
    for moment, values in columns.moments.items():
        columns.moments[moment] = whole_seconds(values - days)


def cut(columns: Columns) -> Columns:
    """S39: the history at day 0, fact by fact. A record created at or after day 0 is
    ignored; one created before keeps its facts before day 0 and loses the later ones (a
    start, completion, failure, the expiry of a completion it loses, a removal), so it
    may be open at day 0. Its status is then what its remaining dates say."""
    kept = columns.take(columns.moments["enrolled"] < 0)
    for moment in ("started", "completed", "failed", "removed"):
        values = kept.moments[moment]
        values[~(values < 0) & ~np.isnan(values)] = np.nan
    kept.moments["expires"][np.isnan(kept.moments["completed"])] = np.nan
    completed, failed, started = (
        ~np.isnan(kept.moments[m]) for m in ("completed", "failed", "started")
    )
    status = np.where(
        completed,
        "complete",
        np.where(failed, "failed", np.where(started, "in_progress", "not_started")),
    )
    kept.status = status.tolist()
    return kept


def creation_order(columns: Columns) -> np.ndarray:
    """Each record's rank by enrollment moment, then line."""
    order = np.lexsort((columns.line, columns.moments["enrolled"]))
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return rank


def records_of(columns: Columns, record_class: type) -> list:
    """The Records (exports.Record) of `columns`, sharing what rows have in common."""
    values = {m: _or_none(v) for m, v in columns.moments.items()}
    # one `columns` dict and one frozenset a shape (exports.Record.columns, .dates_only)
    shapes: dict[int, tuple[frozenset[str], dict[str, str]]] = {}
    for shape in np.unique(columns.shape).tolist():
        given = [m for at, m in enumerate(MOMENTS) if shape >> at & 1]
        dates = frozenset(m for at, m in enumerate(MOMENTS) if shape >> (at + 6) & 1)
        headers = {m: columns.headers[m] for m in given if m in columns.headers}
        if shape >> 12 & 1:
            headers["failed"] = columns.headers["completed"]
        shapes[shape] = (dates, headers)
    shared = [shapes[s] for s in columns.shape.tolist()]
    collecting = gc.isenabled()
    gc.disable()  # millions of new objects, no cycles among them: a collection is wasted
    try:
        return _records(record_class, columns, values, shared)
    finally:
        if collecting:
            gc.enable()


def _records(record_class, columns, values, shared) -> list:
    return [
        record_class(
            line,
            record_id,
            learner,
            course,
            method,
            status,
            *moments,
            date_only,
            dates,
            rank,
            headers,
        )
        for line, record_id, learner, course, method, status, date_only, (
            dates,
            headers,
        ), rank, *moments in zip(
            columns.line.tolist(),
            columns.record_id,
            columns.learner,
            columns.course,
            columns.method,
            columns.status,
            columns.dated["enrolled"].tolist(),
            shared,
            creation_order(columns).tolist(),
            *(values[m] for m in MOMENTS),
            strict=True,
        )
    ]


def _or_none(values: np.ndarray) -> list:
    """The floats of `values` as a list, None where NaN."""
    objects = values.astype(object)
    objects[np.isnan(values)] = None
    return objects.tolist()


def shape_of(
    given: dict[str, np.ndarray], dated: dict[str, np.ndarray], swapped: np.ndarray
) -> np.ndarray:
    """Columns.shape from which moments were given, which as dates, and the swapped failures."""
    shape = swapped.astype(np.int64) << 12
    for at, moment in enumerate(MOMENTS):
        shape |= given[moment].astype(np.int64) << at
        shape |= dated[moment].astype(np.int64) << (at + 6)
    return shape


def columns_of(records: list, headers: dict[str, str]) -> Columns:
    """The row reader's Records as Columns (so that both readers end on one path);
    `headers`: each moment's header in the file."""

    def moment(name: str) -> np.ndarray:
        return np.array(
            [math.nan if (v := getattr(r, name)) is None else v for r in records], np.float64
        )

    given = {m: np.array([m in r.columns for r in records], bool) for m in MOMENTS}
    dated = {m: np.array([m in r.dates_only for r in records], bool) for m in MOMENTS}
    swapped = np.array(
        [r.columns.get("failed", headers.get("failed")) != headers.get("failed") for r in records],
        bool,
    )
    return Columns(
        np.array([r.line for r in records], np.int64),
        [r.record_id for r in records],
        [r.learner for r in records],
        [r.course for r in records],
        [r.method for r in records],
        [r.status for r in records],
        {m: moment(m) for m in MOMENTS},
        dated,
        headers,
        shape_of(given, dated, swapped),
    )


# ----- the fast reader ----------------------------------------------------------------


class _GiveUp(Exception):
    """Something the row reader must see (and most likely report)."""


def fast_columns(
    text: str,
    header: list[str],
    index: dict[str, int],
    rows: object,  # exports._Rows: the row reader's settings and its parsers, shared
    value: Callable,  # exports._value
) -> Columns | None:
    """The history's records as Columns, or None when the row reader must read it."""
    try:
        return _fast_columns(text, header, index, rows, value)
    except _GiveUp:
        return None


def _fast_columns(text, header, index, rows, value) -> Columns:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    first_end = text.find("\n")
    if first_end < 0 or '"' in text[:first_end]:
        raise _GiveUp  # no records, or a header the row reader reads
    body = text[first_end + 1 :].rstrip("\r\n")
    if not body:
        raise _GiveUp
    if (
        text.count("\r") != text.count("\r\n")
        or "\n\n" in body
        or "\n\r\n" in body
        or body.startswith(("\n", "\r\n"))
    ):
        raise _GiveUp  # lone CRs or blank lines: line numbers need the row reader
    lines = body.count("\n") + 1
    names = [f"c{at}" for at in range(len(header))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=rows.mapping.delimiter, newlines_in_values=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        raise _GiveUp from None
    if table.num_rows != lines:
        raise _GiveUp
    n = table.num_rows

    def raw(name: str):
        at = index.get(name)
        return None if at is None else table.column(at).combine_chunks()

    def text_column(name: str, convert: Callable[[str], str | None]) -> list:
        """Each distinct cell converted once, exactly as the row reader converts it."""
        column = raw(name)
        if column is None:
            return [None] * n
        encoded = pc.dictionary_encode(column)
        converted = np.array([convert(cell) for cell in encoded.dictionary.to_pylist()], object)
        return converted[encoded.indices.to_numpy(zero_copy_only=False)].tolist()

    def plain_column(name: str) -> list | None:
        """Ids that are ASCII text with nothing to undo (no control characters, no
        spreadsheet quote): their stripped cells as they are, without a look at each."""
        column = raw(name)
        if column is None:
            return [None] * n
        if (
            not pc.all(pc.string_is_ascii(column)).as_py()
            or pc.any(pc.match_substring_regex(column, r"[\x00-\x1f]|^ *'")).as_py()
        ):
            return None
        values = np.array(pc.utf8_trim_whitespace(column).to_pylist(), dtype=object)
        values[values == ""] = None
        return values.tolist()

    def cell(text: str) -> str:
        return from_spreadsheet(text.strip())

    def learner_of(text: str) -> str:
        learner = same_id(cell(text))
        if not learner or learner.startswith(FORMULA_START) or any(ord(ch) < 32 for ch in learner):
            raise _GiveUp
        return learner

    courses = rows.courses

    def course_of(text: str) -> str:
        course = same_id(cell(text))
        if not course:
            raise _GiveUp
        course = rows.course_map.get(course, course)
        if courses is not None and course not in courses:
            raise _GiveUp
        return course

    def word(name: str, allowed, required: bool) -> Callable[[str], str | None]:
        def convert(text: str) -> str | None:
            problems = []
            found = value(
                cell(text) or None,
                "",
                name,
                allowed,
                rows.mapping,
                lambda *a: problems.append(a),
                required,
            )
            if problems:
                raise _GiveUp
            return found

        return convert

    learner = text_column("learner", learner_of)
    course = text_column("course", course_of)
    method = text_column("method", word("method", METHODS, True))
    status = text_column("status", word("status", STATUSES, False))
    record_id = plain_column("record_id")
    if record_id is None:
        record_id = text_column("record_id", lambda text: cell(text) or None)
    given_ids = [r for r in record_id if r is not None]
    if len(set(given_ids)) != len(given_ids):
        raise _GiveUp

    moments: dict[str, np.ndarray] = {}
    dated: dict[str, np.ndarray] = {}
    headers: dict[str, str] = {}
    for moment in MOMENTS:
        unit = "at" if f"{moment}_at" in index else "day"
        name = f"{moment}_{unit}"
        column = raw(name)
        if column is None:
            moments[moment], dated[moment] = np.full(n, np.nan), np.zeros(n, bool)
            continue
        headers[moment] = header[index[name]]
        moments[moment], dated[moment] = _moment_column(column, unit, rows, pa, pc)
        if moment == "enrolled" and np.isnan(moments[moment]).any():
            raise _GiveUp  # every record needs its enrollment date
        if rows.windowed:
            _window(moments[moment], moment, rows)

    # a vendor's one "Date Completed" for passes and failures alike (exports._Rows.read)
    failed_status = np.array([s == "failed" for s in status], bool)
    swapped = failed_status & np.isnan(moments["failed"]) & ~np.isnan(moments["completed"])
    if swapped.any():
        moments["failed"] = np.where(swapped, moments["completed"], moments["failed"])
        moments["completed"] = np.where(swapped, np.nan, moments["completed"])
        dated["failed"] = np.where(swapped, dated["completed"], dated["failed"])
        dated["completed"] = dated["completed"] & ~swapped
    given = {m: ~np.isnan(v) for m, v in moments.items()}
    _check_records(moments, status, course, courses)
    line = np.arange(2, n + 2, dtype=np.int64)
    shape = shape_of(given, dated, swapped)
    return Columns(line, record_id, learner, course, method, status, moments, dated, headers, shape)


def _moment_column(column, unit: str, rows, pa, pc) -> tuple[np.ndarray, np.ndarray]:
    """(days, given as a date alone) of one moment column; empty cells NaN."""
    n = len(column)
    trimmed = pc.utf8_trim_whitespace(column)
    empty = pc.equal(trimmed, "").to_numpy(zero_copy_only=False)
    days = np.full(n, np.nan)
    dates = np.zeros(n, bool)
    if unit == "day":
        regular = pc.match_substring_regex(trimmed, _DAY_PATTERN).to_numpy(zero_copy_only=False)
        if regular.any():
            numbers = pc.cast(pc.filter(trimmed, pa.array(regular)), pa.float64()).to_numpy()
            days[regular] = whole_seconds(numbers)
    elif rows.mapping.date_formats:
        regular = np.zeros(n, bool)  # a map's own formats: the row reader's parser, per cell
    else:
        regular = pc.match_substring_regex(trimmed, _ISO_PATTERN).to_numpy(zero_copy_only=False)
        if regular.any():
            parts = pc.extract_regex(pc.filter(trimmed, pa.array(regular)), _ISO_PATTERN)
            seconds, date_alone, ok = _iso_seconds(parts, rows, pa, pc)
            where = np.flatnonzero(regular)
            bad = where[~ok]
            regular[bad] = False  # out of range, or no such date: the row reader's parser
            days[where[ok]] = seconds[ok] / _SECOND
            dates[where[ok]] = date_alone[ok]
    odd = np.flatnonzero(~regular & ~empty)
    if len(odd):
        cells = pc.take(column, pa.array(odd)).to_pylist()
        for at, text in zip(odd.tolist(), cells, strict=True):
            cell = from_spreadsheet(text.strip())
            if not cell:
                continue
            try:
                days[at], dates[at] = rows.moments.parse(cell, unit)
            except ValueError:
                raise _GiveUp from None
    return days, dates


def _iso_seconds(parts, rows, pa, pc):
    """Whole seconds from day 0 of ISO 8601 cells (naive: the portal's wall clock; with an
    offset or Z: turned into it), whether each is a date alone, and which were readable."""
    import pandas as pd

    def field(name: str) -> np.ndarray:
        values = pc.struct_field(parts, name)
        present = pc.not_equal(values, "").to_numpy(zero_copy_only=False)
        numbers = np.zeros(len(values), np.int64)
        if present.any():
            numbers[present] = pc.cast(pc.filter(values, pa.array(present)), pa.int64()).to_numpy()
        return numbers

    dates_text = pc.struct_field(parts, "date")
    year = pc.cast(pc.utf8_slice_codeunits(dates_text, 0, 4), pa.int64()).to_numpy()
    ok = (year >= 1900) & (year <= 2199)
    try:
        day_numbers = (
            pc.cast(pc.cast(dates_text, pa.date32()), pa.int32()).to_numpy().astype(np.int64)
        )
    except pa.ArrowInvalid:  # 2025-02-30: the row reader's parser says what is wrong
        day_numbers = np.zeros(len(dates_text), np.int64)
        ok[:] = False
    hour, minute, second = field("hour"), field("minute"), field("second")
    ok &= (hour < 24) & (minute < 60) & (second < 60)
    date_alone = pc.equal(pc.struct_field(parts, "hour"), "").to_numpy(zero_copy_only=False)
    seconds = day_numbers * _SECOND + hour * 3600 + minute * 60 + second
    zone = pc.struct_field(parts, "zone").to_pylist()
    aware = np.array([z != "" for z in zone], bool)
    if aware.any():
        offsets = np.array(
            [
                0
                if z in ("", "Z")
                else (1 if z[0] == "+" else -1) * (int(z[1:3]) * 3600 + int(z[4:6]) * 60)
                for z in zone
            ],
            np.int64,
        )
        ok &= ~aware | (np.abs(offsets) < 24 * 3600)
        convert = aware & ok  # (the others go to the row reader's parser)
        wall = (
            pd.to_datetime(seconds[convert] - offsets[convert], unit="s", utc=True)
            .tz_convert(rows.moments.zone)
            .tz_localize(None)
            .as_unit("s")
            .asi8
        )
        seconds[convert] = wall
    origin = (rows.day0 - dt.date(1970, 1, 1)).days * _SECOND
    return seconds - origin, date_alone, ok


def _window(days: np.ndarray, moment: str, rows) -> None:
    """exports._Rows.moment's bounds: nothing before day 0, nothing but an expiry after
    the horizon; moments within a second of either bound are on it."""
    given = ~np.isnan(days)
    if rows.courses is not None and np.any(given & (days < -SAME_INSTANT)):
        raise _GiveUp
    if moment == "expires":
        return
    if np.any(given & (days > rows.horizon + SAME_INSTANT)):
        raise _GiveUp
    days[given] = np.minimum(np.maximum(days[given], 0.0), rows.horizon)


def _check_records(moments, status, course, courses) -> None:
    """exports._check_record on every record at once: any record it would refuse gives up."""
    nan = np.isnan
    enrolled = moments["enrolled"]
    started, completed, failed, expires = (
        moments[m] for m in ("started", "completed", "failed", "expires")
    )
    bad = np.zeros(len(enrolled), bool)
    for values in (started, completed, failed):
        bad |= values < enrolled - SAME_INSTANT
    for values in (completed, failed):
        bad |= values < started - SAME_INSTANT
    bad |= ~nan(completed) & ~nan(failed)
    bad |= ~nan(expires) & (nan(completed) | (expires <= completed + SAME_INSTANT))
    words = np.array([s or "" for s in status])
    bad |= (words == "complete") & nan(completed)
    bad |= (words == "failed") & nan(failed)
    bad |= np.isin(words, ("not_started", "in_progress")) & (~nan(completed) | ~nan(failed))
    bad |= (words == "not_started") & ~nan(started)
    if courses is not None:
        kinds = {
            c: (courses[c].type == "bundle", bool(courses[c].allow_failure)) for c in set(course)
        }
        bundle = np.array([kinds[c][0] for c in course], bool)
        failable = np.array([kinds[c][1] for c in course], bool)
        bad |= bundle & (~nan(started) | ~nan(completed) | ~nan(failed))
        bad |= ~nan(failed) & ~bundle & ~failable
    if bad.any():
        raise _GiveUp
