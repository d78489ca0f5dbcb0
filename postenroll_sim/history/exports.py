"""Reading an LMS enrollment history for `audit` (docs/audit.md).

The default input is a CSV file with the documented columns (`learner`, `course`,
`method`, `enrolled_at` or `enrolled_day`, ... ). A vendor export is read through a map
file (`--map MAP.yaml`) that names its columns, maps its values ("System" is a post
enrollment, "Completed" is complete), and sets the time zone, the date format and day 0.

Every problem is located, `HISTORY.csv:LINE: column: message` (the map's own problems
as `MAP.yaml:LINE: key: message`), and all are reported at once as a ScenarioError
(exit 2): nothing is replayed from a history that cannot be read as a whole.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import difflib
import io
import math
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
)

from ..columns import FORMULA_START, METHODS, STATUSES, from_spreadsheet, whole_second
from ..formatting import instant
from ..scenario import Problem, Scenario, ScenarioError
from ..scenario.base import Spec, same_id
from ..scenario.errors import Origin
from ..scenario.loader import exact, read_yaml, validation_problems
from . import columnar
from .columnar import MOMENTS, SAME_INSTANT

# A record's moments (columnar.MOMENTS): its own, the learner's removal (S29: an export's
# "deactivated" date) and the expiry of the certificate its completion awarded (S31; the
# export's is the truth, S39)
FIELDS = (
    "record_id",
    "learner",
    "course",
    "method",
    "status",
    *(f"{moment}_{unit}" for moment in MOMENTS for unit in ("at", "day")),
)
REQUIRED = ("learner", "course", "method")
VALUE_FIELDS = ("method", "status", "course")  # fields whose values a map may translate
_TIME_DIRECTIVES = re.compile(r"%[HIMSpXcTRfz]")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Vendors' words understood without a map (LMS-EXPORTS.md: an automatic re-enrollment
# shows as "Re Enrollment"); a map's own words come first
BUILT_IN_WORDS = {"method": {"re enrollment": "re_enrollment", "re-enrollment": "re_enrollment"}}


@dataclass(slots=True)
class Record:
    """One enrollment record of the history, its moments in days from day 0."""

    line: int
    record_id: str | None
    learner: str
    course: str
    method: str
    status: str | None
    enrolled: float
    started: float | None = None
    completed: float | None = None
    failed: float | None = None
    removed: float | None = None  # when the learner was removed (left the organisation)
    expires: float | None = None  # when the certificate of its completion expires (S31)
    date_only: bool = False  # the enrollment moment is a date without a time of day
    dates_only: frozenset[str] = frozenset()  # every moment given as a date alone
    order: int = 0  # creation order: by enrollment moment, then line
    columns: dict[str, str] = field(default_factory=dict)  # moment -> the file's header


@dataclass
class History:
    file: str
    records: list[Record]
    day0: dt.date | None
    timezone: str
    rows: int = 0
    warnings: list[str] = field(default_factory=list)  # what was read but ignored

    @property
    def post_enrollments(self) -> list[Record]:
        return [r for r in self.records if r.method == "post_enrollment"]

    @property
    def re_enrollments(self) -> list[Record]:
        return [r for r in self.records if r.method == "re_enrollment"]


_NEGATIONS = ("not", "non", "no", "un", "in", "im", "dis")


def _negates(word: str, choice: str) -> bool:
    """`word` is `choice` with a negation in front (NotComplete, Incomplete, non-self):
    the opposite meaning, however close the spelling."""
    w, c = (re.sub(r"[^a-z]", "", t.lower()) for t in (word, choice))
    return any(
        w.startswith(neg)
        and not c.startswith(neg)
        and difflib.SequenceMatcher(None, w[len(neg) :], c).ratio() >= 0.8
        for neg in _NEGATIONS
    )


def _close(word: str, choices) -> str:
    """A suggestion among close spellings that do not turn the meaning around; none
    otherwise (the message says how to map the word)."""
    found = difflib.get_close_matches(str(word), [str(c) for c in choices], n=3, cutoff=0.6)
    found = [c for c in found if not _negates(str(word), c)]
    return f" (did you mean '{found[0]}'?)" if found else ""


# ----- the map file ---------------------------------------------------------------------
# Validated by pydantic models (unknown keys rejected), read and located by the scenario
# loader's YAML reader: every mistake is `MAP.yaml:LINE: path: message`, all at once.


def _text(value: Any) -> Any:
    # YAML may read a header or an export's word as a number, a date or a boolean
    return value if isinstance(value, str) else str(value)


def _column(name: Any) -> str:
    if name not in FIELDS:
        raise exact(
            f"unknown column '{name}'{_close(name, FIELDS)}; columns are {', '.join(FIELDS)}"
        )
    return name


def _header(theirs: Any) -> str:
    if not isinstance(theirs, str | int) or isinstance(theirs, bool) or not str(theirs).strip():
        raise exact(f"the export's header for this column, got {theirs!r}")
    return str(theirs).strip()


def _mapping(example: str):
    def check(value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise exact(f"a mapping {example}, got {value!r}")
        return value

    return BeforeValidator(check)


def _ours(name: str, allowed: tuple[str, ...] | None):
    def check(ours: Any) -> str:
        if not isinstance(ours, str | int) or isinstance(ours, bool):
            raise exact(f"map to one of our values, got {ours!r}")
        ours = str(ours)
        if allowed is not None and ours not in allowed:
            raise exact(
                f"unknown {name} '{ours}'{_close(ours, allowed)}; {name}s are {', '.join(allowed)}"
            )
        return ours

    return BeforeValidator(check)


def _zone(zone: Any) -> str:
    try:
        zoneinfo.ZoneInfo(str(zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # America: a folder
        raise exact(
            f"unknown time zone {zone!r}{_close(zone, sorted(zoneinfo.available_timezones()))}; "
            "use an IANA name such as UTC or Europe/Berlin"
        ) from None
    return str(zone)


def _formats(formats: Any) -> Any:
    return () if formats is None else formats if isinstance(formats, list) else [formats]


def _format(fmt: Any) -> str:
    if not isinstance(fmt, str) or "%" not in fmt:
        raise exact(f"a strptime format such as '%d/%m/%Y %H:%M', got {fmt!r}")
    sample = dt.datetime(2001, 2, 3, 4, 5, 6)
    try:
        back = dt.datetime.strptime(sample.strftime(fmt), fmt)
    except ValueError as exc:
        raise exact(f"not a usable date format: {exc}") from None
    if back.date() != sample.date():
        raise exact(f"{fmt!r} does not name a whole date (year, month and day)")
    return fmt


def _day0(day0: Any) -> Any:
    if isinstance(day0, dt.datetime):
        return day0.date()
    if isinstance(day0, str):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(day0.strip())
    if day0 is None or isinstance(day0, dt.date):
        return day0
    raise exact(f"a date such as 2025-01-06, got {day0!r}")


def _delimiter(delimiter: Any) -> str:
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise exact(f"one character such as ',' or ';', got {delimiter!r}")
    return delimiter


Theirs = Annotated[str, BeforeValidator(_text)]  # an export's word, folded (see _fold)
Folded = Annotated[Theirs, AfterValidator(lambda word: _fold(word))]
Course = Annotated[Theirs, AfterValidator(str.strip)]  # course names match as written


class MapValues(Spec):
    """The export's words for our values, per column (matched ignoring case for the
    methods and statuses; our own words are always understood)."""

    method: Annotated[
        dict[Folded, Annotated[str, _ours("method", METHODS)]],
        _mapping("of the export's values to ours"),
    ] = {}
    status: Annotated[
        dict[Folded, Annotated[str, _ours("status", STATUSES)]],
        _mapping("of the export's values to ours"),
    ] = {}
    course: Annotated[
        dict[Course, Annotated[str, _ours("course", None)]],
        _mapping("of the export's values to ours"),
    ] = {}


class HistoryMap(Spec):
    """How to read one LMS's export: written once per LMS (docs/audit.md, the map file)."""

    model_config = ConfigDict(populate_by_name=True)
    columns: Annotated[
        dict[Annotated[str, BeforeValidator(_column)], Annotated[str, BeforeValidator(_header)]],
        _mapping("of our column names to the file's headers, e.g. learner: Username"),
    ] = {}  # our field -> the file's header
    values: Annotated[MapValues, _mapping("per column, e.g. method: {System: post_enrollment}")] = (
        MapValues()
    )
    timezone: Annotated[str, BeforeValidator(_zone)] = "UTC"
    # strptime formats; empty: ISO 8601
    date_formats: Annotated[
        tuple[Annotated[str, BeforeValidator(_format)], ...], BeforeValidator(_formats)
    ] = Field((), alias="date_format")
    day0: Annotated[dt.date | None, BeforeValidator(_day0)] = None
    delimiter: Annotated[str, BeforeValidator(_delimiter)] = ","
    _origin: Origin | None = PrivateAttr(None)  # where it was read from, to locate problems

    def header(self, name: str) -> str:
        return self.columns.get(name, name)

    def words(self, name: str) -> dict[str, str]:
        """The export's words for one of VALUE_FIELDS: theirs (folded, see _fold) -> ours."""
        return getattr(self.values, name)

    def read_from(self, origin: Origin) -> HistoryMap:
        """The map, knowing the file it was read from (its problems name their lines)."""
        self._origin = origin
        return self

    def problem(self, path: tuple, message: str) -> Problem:
        if self._origin is None:
            return Problem("<map>", None, path, message)
        return self._origin.problem(path, message)


def _map_checks(data: dict) -> list[tuple[tuple, str]]:
    """What a key alone cannot say: both units of a moment mapped, one word mapped twice."""
    found: list[tuple[tuple, str]] = []
    columns = data.get("columns")
    columns = columns if isinstance(columns, dict) else {}
    for moment in MOMENTS:
        if f"{moment}_at" in columns and f"{moment}_day" in columns:
            found.append(
                (
                    ("columns", f"{moment}_day"),
                    f"{moment}_at and {moment}_day are both mapped: a moment is a timestamp "
                    "or a day number, not both",
                )
            )
    values = data.get("values")
    for column, table in (values if isinstance(values, dict) else {}).items():
        if column not in VALUE_FIELDS or not isinstance(table, dict):
            continue
        seen: dict[str, str] = {}
        for theirs, ours in table.items():
            if not isinstance(ours, str | int) or isinstance(ours, bool):
                continue  # the model says what is wrong with it
            key = _fold(str(theirs)) if column != "course" else str(theirs).strip()
            if key in seen and seen[key] != str(ours):
                found.append(
                    (("values", column, theirs), f"'{theirs}' is already mapped to '{seen[key]}'")
                )
                continue
            seen.setdefault(key, str(ours))
    return found


def load_map(path: str | Path) -> HistoryMap:
    """Read and check a map file; every problem located (ScenarioError)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), None, (), "no such map file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(str(path), None, (), f"cannot read: {exc}")]) from None
    return parse_map(text, str(path))


def parse_map(text: str, file: str = "<map>") -> HistoryMap:
    data, origin = read_yaml(text, file)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(
            [origin.problem((), "a map file is a mapping of keys (columns, values, ...)")]
        )
    problems: list[Problem] = []
    result = None
    try:
        result = HistoryMap.model_validate(data)
    except ValidationError as exc:
        problems += validation_problems(exc, data, origin, model=HistoryMap)
    problems += [origin.problem(path, message) for path, message in _map_checks(data)]
    if problems:
        raise ScenarioError(problems)
    assert result is not None
    return result.read_from(origin)


def _fold(value: str) -> str:
    """Vendor values are matched without case and extra blanks: 'Re Enrollment' = 're  enrollment'."""
    return " ".join(value.split()).casefold()


# ----- the history file -----------------------------------------------------------------


class _Moments:
    """Turns the text of a moment into days from day 0 (cached: exports repeat dates)."""

    def __init__(self, mapping: HistoryMap, day0: dt.date | None):
        self.zone = zoneinfo.ZoneInfo(mapping.timezone)
        self.formats = mapping.date_formats
        self.origin = dt.datetime.combine(day0, dt.time()) if day0 is not None else None
        self.cache: dict[tuple[str, str], tuple[float, bool]] = {}

    def parse(self, text: str, unit: str) -> tuple[float, bool]:
        key = (text, unit)
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = self._parse(text, unit)
        return found

    def _parse(self, text: str, unit: str) -> tuple[float, bool]:
        """The moment's day number to its whole second (S1 v2: `02:00:00.4` is the 02:00
        run's instant, as the engine rounds the scenario's), and whether it is a date alone."""
        if unit == "day":
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a number of days") from None
            if not math.isfinite(value):
                raise ValueError(f"{text!r} is not a number of days")
            return whole_second(value), False
        moment, date_only = self._timestamp(text)
        if moment.tzinfo is not None:  # an offset or Z: the portal's wall clock
            try:
                moment = moment.astimezone(self.zone).replace(tzinfo=None)
            except OverflowError:  # 9999-12-31T23:00-05:00 is past the calendar's end
                raise ValueError(
                    f"{text!r} is outside the years 1 to 9999 in {self.zone.key}"
                ) from None
        assert self.origin is not None  # checked at the header
        return whole_second((moment - self.origin) / dt.timedelta(days=1)), date_only

    def _timestamp(self, text: str) -> tuple[dt.datetime, bool]:
        if not self.formats:
            try:
                moment = dt.datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(
                    f"{text!r} is not an ISO 8601 date or date-time (such as 2025-01-06 or "
                    "2025-01-06T14:30:00Z); set date_format in the map for other forms"
                ) from None
            return moment, bool(_ISO_DATE.match(text))
        for fmt in self.formats:
            try:
                moment = dt.datetime.strptime(text, fmt)
            except ValueError:
                continue
            return moment, not _TIME_DIRECTIVES.search(fmt)
        shown = " or ".join(repr(f) for f in self.formats)
        raise ValueError(f"{text!r} does not match the date format {shown}")


def read_history(
    path: str | Path,
    scenario: Scenario | None,
    mapping: HistoryMap | None = None,
    warm: bool = False,
    window: bool = True,
) -> History:
    """Read a history CSV for `scenario`. Every problem is located and reported at once
    (ScenarioError): unknown courses, methods and statuses, dates that cannot be read or
    fall outside [day 0, horizon] (unless `window` is False: `calibrate` reads a history
    whatever its dates, which are then any day numbers, negative before day 0), records
    whose dates or status contradict each other, and records that contradict S5, S14 or S27.

    With `scenario` None (`infer` reads a history to guess its catalog) every course is
    known and may fail, no horizon bounds the dates, and day 0 is the map's `day0`, else
    the first day of the history (the day of its first record)."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError([Problem(file, None, (), "no such history file")]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [Problem(file, None, (), f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
        ) from None
    except OSError as exc:
        raise ScenarioError(
            [Problem(file, None, (), f"cannot read: {exc.strerror or exc}")]
        ) from None
    return parse_history(text, file, scenario, mapping, warm, window)


# An export in which no learner has two records of one course has likely lost its history
# records ("current only", LMS-EXPORTS.md): said when it is large enough for that to mean
# something (a handful of records seldom repeats a course anyway)
CURRENT_ONLY_RECORDS = 100


def parse_history(
    text: str,
    file: str,
    scenario: Scenario | None,
    mapping: HistoryMap | None = None,
    warm: bool = False,
    window: bool = True,
) -> History:
    """`warm`: read for a warm start (S39): day 0 is the scenario's `start_date`, moments
    before it are the history and those at or after it are cut (a record created before
    day 0 keeps its facts before day 0 only; one created at or after day 0 is ignored)."""
    mapping = mapping or HistoryMap()
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ScenarioError([Problem(file, 1, (), "empty file: a header line is needed")]) from None
    except csv.Error as exc:
        raise ScenarioError([Problem(file, 1, (), f"not CSV: {exc}")]) from None
    header = [name.strip() for name in header]
    index = _columns(header, mapping, scenario, file, problems)
    if warm:
        day0 = scenario.start_date
    else:
        day0 = mapping.day0 or (scenario.start_date if scenario is not None else None)
    provisional = scenario is None and day0 is None and any(f"{m}_at" in index for m in MOMENTS)
    if provisional:  # day 0 is the history's first day: counted from any date, then moved
        day0 = dt.date(2000, 1, 1)
    if problems:
        raise ScenarioError(problems)

    rows = _Rows(file, header, index, mapping, scenario, day0, problems)
    rows.windowed = window and not warm
    headers = {
        m: header[index[f"{m}_{u}"]] for m in MOMENTS for u in ("at", "day") if f"{m}_{u}" in index
    }
    columns = columnar.fast_columns(text, header, index, rows, _value)
    if columns is not None and columnar.conflicts(columns):
        columns = None  # the row reader says where
    if columns is None:
        columns, count = _read_rows(reader, rows, file, day0, headers, problems)
    else:
        count = len(columns)
    if provisional and len(columns):
        first = math.floor(columns.moments["enrolled"].min() + SAME_INSTANT)
        day0 = day0 + dt.timedelta(days=first)
        columnar.shift(columns, first)
    warnings = []
    if len(columns) >= CURRENT_ONLY_RECORDS and not columnar.repeats(columns):
        warnings.append(
            f"{file}: no learner has two records of one course: the export looks like current "
            "records only (no history), which makes remediation and recertification look "
            "wrong; export the historic enrollments too (LMS-EXPORTS.md)"
        )
    if warm:
        columns = columnar.cut(columns)
    expires = columns.moments["expires"]
    uncertified = sorted(
        {
            course
            for course, expiry in zip(columns.course, expires.tolist(), strict=True)
            if expiry == expiry
            and rows.courses is not None
            and rows.courses[course].certificate is None
        }
    )
    if uncertified:  # S39: an expiry on a course without a certificate is ignored
        expires[np.isin(np.array(columns.course, dtype=object), uncertified)] = np.nan
    history = History(
        file, columnar.records_of(columns, Record), day0, mapping.timezone, count, warnings
    )
    if uncertified:
        history.warnings.append(
            f"{file}: expiry dates on {', '.join(uncertified)} are ignored: "
            f"{'it has' if len(uncertified) == 1 else 'they have'} no certificate in the scenario (S31, S39)"
        )
    return history


def csv_rows(reader, file: str, problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    """A CSV file's rows after the header, blank ones skipped, each with the line it starts
    on; a row that is not CSV is one problem, and the end of the reading."""
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(Problem(file, line, ("(row)",), f"not CSV: {exc}"))
            return
        if row and not all(not cell.strip() for cell in row):
            yield line, row


def _read_rows(
    reader, rows: _Rows, file: str, day0, headers, problems
) -> tuple[columnar.Columns, int]:
    """The row reader: every row read and checked, each problem located (ScenarioError)."""
    count = 0
    for start, row in csv_rows(reader, file, problems):
        count += 1
        rows.read(start, row)
    problems += _check_superseding(rows.records, file, day0)
    problems += _check_removals(rows.records, file, day0)
    if problems:
        raise ScenarioError(problems)
    return columnar.columns_of(rows.records, headers), count


class _Rows:
    """Reads the history's rows one by one into Records, noting each problem located."""

    windowed = True  # moments only within [day 0, horizon] (not for a warm start, calibrate)

    def __init__(self, file, header, index, mapping: HistoryMap, scenario, day0, problems):
        self.file, self.header, self.index, self.mapping = file, header, index, mapping
        # without a scenario: any course, any date (read_history)
        self.courses = {c.id: c for c in scenario.courses} if scenario is not None else None
        self.moments = _Moments(mapping, day0)
        self.horizon = scenario.horizon_days if scenario is not None else math.inf
        self.day0 = day0
        self.problems = problems
        self.records: list[Record] = []
        self.seen_ids: dict[str, int] = {}
        self.course_map = mapping.words("course")
        self.line = 0
        self.row: list[str] = []

    def cell(self, name: str) -> tuple[str | None, str]:
        """The stripped text of our field `name` (None when empty or absent), and the
        file's header for it (the column the user sees). A spreadsheet-safe cell (`'=x`,
        as write_history writes one) reads as its text (`=x`)."""
        at = self.index.get(name)
        if at is None:
            return None, self.mapping.header(name)
        value = from_spreadsheet(self.row[at].strip())
        if name in ("learner", "course"):
            value = same_id(value)
        return (value or None), self.header[at]

    def bad(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.line, (column,), message))

    def read(self, line: int, row: list[str]) -> None:
        self.line, self.row = line, row
        if len(row) != len(self.header):
            self.bad("(row)", f"{len(row)} fields, but the header has {len(self.header)}")
            return
        before = len(self.problems)
        bad, cell = self.bad, self.cell
        learner, column = cell("learner")
        if learner is None:
            bad(column, "empty: every record names its learner")
        elif learner.startswith(FORMULA_START) or any(ord(ch) < 32 for ch in learner):
            bad(
                column,
                f"{learner!r}: a learner id cannot start with = + - @ or hold control "
                "characters (a spreadsheet would run it as a formula)",
            )
        course, column = cell("course")
        if course is None:
            bad(column, "empty: every record names its course")
        else:
            course = self.course_map.get(course, course)
            if self.courses is not None and course not in self.courses:
                bad(
                    column,
                    f"unknown course {course!r}{_close(course, self.courses)}: "
                    "not in the scenario's catalog",
                )
        method, column = cell("method")
        method = _value(method, column, "method", METHODS, self.mapping, bad, required=True)
        status, status_column = cell("status")
        status = _value(status, status_column, "status", STATUSES, self.mapping, bad, False)
        record_id, column = cell("record_id")
        if record_id is not None:
            if record_id in self.seen_ids:
                bad(column, f"record id {record_id!r} is also on line {self.seen_ids[record_id]}")
            else:
                self.seen_ids[record_id] = line
        found = {moment: self.moment(moment) for moment in MOMENTS}
        if len(self.problems) > before:
            return
        # A vendor export often has one "Date Completed" for passes and failures alike:
        # with status failed and no failure date, that date is when it was failed.
        if status == "failed" and found["failed"] is None and found["completed"] is not None:
            found["failed"], found["completed"] = found["completed"], None
        catalog = self.courses[course] if self.courses is not None else None
        _check_record(found, status, status_column, catalog, bad)
        if len(self.problems) > before:
            return
        enrolled, date_only, _, _ = found["enrolled"]
        self.records.append(
            Record(
                line=line,
                record_id=record_id,
                learner=learner,
                course=course,
                method=method,
                status=status,
                enrolled=enrolled,
                started=found["started"][0] if found["started"] else None,
                completed=found["completed"][0] if found["completed"] else None,
                failed=found["failed"][0] if found["failed"] else None,
                removed=found["removed"][0] if found["removed"] else None,
                expires=found["expires"][0] if found["expires"] else None,
                date_only=date_only,
                dates_only=frozenset(m for m, item in found.items() if item and item[1]),
                columns={m: item[3] for m, item in found.items() if item is not None},
            )
        )

    def moment(self, moment: str) -> tuple[float, bool, str, str] | None:
        """(day, date only, the text, its column) of one moment of the row, or None."""
        unit = "at" if f"{moment}_at" in self.index else "day"
        value, column = self.cell(f"{moment}_{unit}")
        if value is None:
            if moment == "enrolled":
                self.bad(column, "empty: every record needs its enrollment date")
            return None
        try:
            day, date_only = self.moments.parse(value, unit)
        except ValueError as exc:
            self.bad(column, str(exc))
            return None
        if not self.windowed:
            return (day, date_only, value, column)  # (a warm start cuts at day 0: _cut)
        if day < -SAME_INSTANT and self.courses is not None:
            self.bad(
                column,
                f"{value!r} is before day 0{_date_note(self.day0)}: set day0 in a map file "
                "(--map) to an earlier date",
            )
        elif moment == "expires":
            return (day, date_only, value, column)  # a certificate may expire after the horizon
        elif day > self.horizon + SAME_INSTANT:
            self.bad(
                column,
                f"{value!r} is {_on(day, self.day0)}, after the scenario's horizon "
                f"({_on(self.horizon, self.day0)}): "
                "extend horizon_days to cover the history",
            )
        return (min(max(day, 0.0), self.horizon), date_only, value, column)


def _columns(
    header: list[str],
    mapping: HistoryMap,
    scenario: Scenario | None,
    file: str,
    problems: list[Problem],
) -> dict[str, int]:
    """Our field -> its index in the row; header problems go to `problems` (line 1)."""
    for at, name in enumerate(header):
        if header.index(name) != at:
            problems.append(
                Problem(file, 1, (name,), f"column {name!r} appears twice in the header")
            )
    index: dict[str, int] = {}
    for name in FIELDS:
        theirs = mapping.header(name)
        if theirs in header:
            index[name] = header.index(theirs)
        elif name in mapping.columns:
            problems.append(
                mapping.problem(
                    ("columns", name),
                    f"the history {file} has no column {theirs!r}{_close(theirs, header)}; "
                    f"its columns are {', '.join(header)}",
                )
            )
    for name in REQUIRED:
        if name not in index and name not in mapping.columns:
            problems.append(
                Problem(
                    file,
                    1,
                    (name,),
                    f"no column '{name}'{_close(name, header)}; the columns are {', '.join(header)} "
                    "(name it in a map file, --map, if the export calls it otherwise)",
                )
            )
    for moment in MOMENTS:
        both = f"{moment}_at" in index and f"{moment}_day" in index
        if both:
            problems.append(
                Problem(
                    file,
                    1,
                    (mapping.header(f"{moment}_day"),),
                    f"both {mapping.header(f'{moment}_at')} and {mapping.header(f'{moment}_day')}: "
                    "a moment is a timestamp or a day number; keep one (or map one, --map)",
                )
            )
    named = set(index) | set(mapping.columns)
    if "enrolled_at" not in named and "enrolled_day" not in named:
        problems.append(
            Problem(
                file,
                1,
                ("enrolled_at",),
                f"no column enrolled_at or enrolled_day; the columns are {', '.join(header)}",
            )
        )
    if (
        scenario is not None
        and any(f"{m}_at" in index for m in MOMENTS)
        and (mapping.day0 or scenario.start_date) is None
    ):
        first = next(mapping.header(f"{m}_at") for m in MOMENTS if f"{m}_at" in index)
        problems.append(
            Problem(
                file,
                1,
                (first,),
                "timestamps need a day 0: the scenario has no start_date; set day0 in a map file (--map)",
            )
        )
    return index


def _value(text, column, name, allowed, mapping: HistoryMap, bad, required: bool) -> str | None:
    if text is None:
        if required:
            bad(column, f"empty: every record has a {name}")
        return None
    folded = _fold(text)
    mapped = mapping.words(name).get(folded) or BUILT_IN_WORDS.get(name, {}).get(folded)
    if mapped is not None:
        return mapped
    for value in allowed:
        if folded == value:
            return value
    known = list(mapping.words(name)) + list(BUILT_IN_WORDS.get(name, {})) + list(allowed)
    bad(
        column,
        f"unknown {name} {text!r}{_close(folded, known)}; map it under values.{name} in a map "
        f"file (--map) to one of {', '.join(allowed)}",
    )
    return None


def _on(day: float, day0: dt.date | None) -> str:
    """`day 5` without a calendar, else `2027-01-09 (day 5)` (formatting.instant)."""
    return f"day {day:g}" if day0 is None else instant(day, day0)


def _date_note(day0: dt.date | None) -> str:
    return f" ({day0.isoformat()})" if day0 is not None else ""


def _check_record(found, status, status_column, course, bad) -> None:
    """One record's dates and status agree with each other and with the catalog."""
    enrolled = found["enrolled"][0]
    for moment in ("started", "completed", "failed"):
        item = found[moment]
        if item is not None and item[0] < enrolled - SAME_INSTANT:
            bad(item[3], f"{item[2]!r} is before the record was enrolled ({found['enrolled'][2]})")
    started = found["started"]
    for moment in ("completed", "failed"):
        item = found[moment]
        if item is not None and started is not None and item[0] < started[0] - SAME_INSTANT:
            bad(item[3], f"{item[2]!r} is before the record was started ({started[2]})")
    if found["completed"] is not None and found["failed"] is not None:
        bad(found["failed"][3], "a record is completed or failed, not both")
    expires = found["expires"]
    if expires is not None:
        if found["completed"] is None:
            bad(
                expires[3],
                "an expiry, but no completion: a certificate is awarded on completion (S31)",
            )
        elif expires[0] <= found["completed"][0] + SAME_INSTANT:
            bad(
                expires[3],
                f"{expires[2]!r} is not after the completion ({found['completed'][2]}) (S31)",
            )
    ended = "complete" if found["completed"] else "failed" if found["failed"] else None
    if status == "complete" and found["completed"] is None:
        bad(status_column, "status complete, but the record has no completion date")
    if status == "failed" and found["failed"] is None:
        bad(status_column, "status failed, but the record has no failure (or completion) date")
    if status in ("not_started", "in_progress") and ended is not None:
        bad(
            status_column,
            f"status {status}, but the record has a {'completion' if ended == 'complete' else 'failure'} date",
        )
    if status == "not_started" and started is not None:
        bad(status_column, "status not_started, but the record has a start date")
    if course is None:  # no catalog to check against (read_history without a scenario)
        return
    if course.type == "bundle":
        for moment in ("started", "completed", "failed"):
            if found[moment] is not None:
                bad(
                    found[moment][3],
                    f"a bundle enrollment is never {moment} (S27): {course.id} is a bundle",
                )
    elif found["failed"] is not None and not course.allow_failure:
        bad(
            found["failed"][3],
            f"{course.id} cannot be failed: it does not allow failure (S5)"
            + (
                "; a curriculum completes or stays open (S26)"
                if course.type == "curriculum"
                else ""
            ),
        )


def _check_removals(records: list[Record], file: str, day0: dt.date | None) -> list[Problem]:
    """A learner is removed once: every row that says when must say the same."""
    problems = []
    first: dict[str, Record] = {}
    for record in sorted(records, key=lambda r: r.line):
        if record.removed is None:
            continue
        earlier = first.setdefault(record.learner, record)
        if abs(earlier.removed - record.removed) > SAME_INSTANT:
            problems.append(
                Problem(
                    file,
                    record.line,
                    (record.columns["removed"],),
                    f"{record.learner} was removed on {_on(record.removed, day0)} here, but on "
                    f"{_on(earlier.removed, day0)} on line {earlier.line}: a learner is removed "
                    "once (S29)",
                )
            )
    return problems


def _check_superseding(records: list[Record], file: str, day0: dt.date | None) -> list[Problem]:
    """S14: a record moved to history keeps its state. So nothing happens to a record
    after a newer record of the same learner and course was enrolled."""
    problems = []
    by_pair: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        by_pair.setdefault((record.learner, record.course), []).append(record)
    for pair in by_pair.values():
        pair.sort(key=lambda r: (r.enrolled, r.line))
        for older, newer in zip(pair, pair[1:], strict=False):
            for moment in ("started", "completed", "failed"):
                day = getattr(older, moment)
                if day is not None and day > newer.enrolled + SAME_INSTANT:
                    problems.append(
                        Problem(
                            file,
                            older.line,
                            (older.columns[moment],),
                            f"{moment} on {_on(day, day0)}, after line {newer.line} enrolled "
                            f"{older.learner} in {older.course} again on "
                            f"{_on(newer.enrolled, day0)}: "
                            "a record moved to history keeps its state (S14)",
                        )
                    )
    return problems
