"""Fuzz `postenroll-sim audit` (hypothesis, few examples): random history rows (odd
timestamps, offsets past the year 9999, sub-second fractions, unknown statuses, formula-
like and non-Latin ids, empty cells) and random map files, on the shipped example.

Whatever the input, the command answers 0, 1 or 2 (never an internal error, never a
traceback), and every cell of every CSV it writes is safe to open in a spreadsheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_csv_safety import assert_spreadsheet_safe

from postenroll_sim.columns import METHODS, STATUSES

from helpers import ROOT

EXAMPLE = ROOT / "examples" / "audit"
COURSES = ("WELCOME", "SAFETY", "SAFETY-REF", "HANDBOOK", "CERT")
FUZZ = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ids a spreadsheet would run, ids that read back as such, non-Latin, control characters
ODD_TEXT = st.one_of(
    st.sampled_from(
        [
            "=1+1",
            '=HYPERLINK("http://x")',
            "-5",
            "+1",
            "@SUM(1)",
            "\tx",
            "'=x",
            "''",
            "'",
            "名前",
            "Ωmega",
            "e\u0301",
            "a\nb",
            "",
            " ",
        ]
    ),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
)


def _written(moment: dt.datetime, draw, fmt: str | None, date_only: bool) -> str:
    """`moment` as an export writes it: a map's format, or ISO 8601 with a T or a blank,
    sub-second fractions and an offset (the portal's clock is UTC without a map)."""
    if fmt is not None:
        return moment.strftime(fmt.split(" ")[0] if date_only else fmt)
    if date_only:
        return moment.date().isoformat()
    offset = draw(st.sampled_from(["", "", "Z", "+00:00"]))
    return moment.isoformat(sep=draw(st.sampled_from(["T", " "]))) + offset


ODD_MOMENT = st.one_of(
    st.sampled_from(
        [
            "9999-12-31T23:00:00-05:00",
            "0001-01-01T00:30:00+01:00",
            "9999-12-31T23:59:59.999999",
            "2025-01-07T02:00:00.4+14:00",
            "2025-02-30",
            "2025-01-07T25:00",
            "31/12/9999 23:59",
            "",
            "yesterday",
            "1e308",
            "nan",
        ]
    ),
    ODD_TEXT,
)
FIELDS = ("record_id", "learner", "course", "method", "status", "enrolled", "started", "ended")


@st.composite
def history_row(draw, fmt: str | None = None, words: dict | None = None) -> list[str]:
    """record_id, learner, course, method, status, enrolled_at, started_at, completed_at,
    failed_at: a plausible record (moments in order, sub-second fractions, dates alone),
    in which one field may be odd. The learner `''=eve` is the text `'=eve`."""
    words = words or {}
    course = draw(st.sampled_from(COURSES))
    method = draw(st.sampled_from(words.get("method", METHODS)))
    statuses = words.get("status", STATUSES)
    enrolled = draw(st.datetimes(dt.datetime(2025, 1, 6), dt.datetime(2025, 3, 30)))
    date_only = draw(st.integers(0, 3)) == 0
    started = ended = None
    ends = ["open", "started", "completed", *(["failed"] if course == "SAFETY" else [])]
    end = draw(st.sampled_from(ends))  # only SAFETY allows failure (S5)
    if end != "open":
        started = enrolled + draw(st.timedeltas(dt.timedelta(0), dt.timedelta(days=2)))
    if end in ("completed", "failed"):
        ended = started + draw(st.timedeltas(dt.timedelta(0), dt.timedelta(days=3)))
    status = {"open": 0, "started": 1, "completed": 2, "failed": 3}[end]
    cells = {
        "record_id": draw(ODD_TEXT),  # any text at all reaches the discrepancy table
        "learner": draw(st.sampled_from(["ana", "ben", "名前", "''=eve", "e\u0301", "\u00e9"])),
        "course": course,
        "method": method,
        "status": draw(st.sampled_from(["", statuses[min(status, len(statuses) - 1)]])),
        "enrolled": _written(enrolled, draw, fmt, date_only),
        "started": "" if started is None else _written(started, draw, fmt, date_only),
        "ended": "" if ended is None else _written(ended, draw, fmt, date_only),
    }
    if draw(st.integers(0, 4)) == 0:  # one field odd, in a fifth of the rows
        name = draw(st.sampled_from(FIELDS))
        odd = ODD_MOMENT if name in ("enrolled", "started", "ended") else ODD_TEXT
        cells[name] = draw(st.one_of(odd, st.sampled_from(["NotComplete", "System", "NOPE"])))
    completed, failed = (cells["ended"], "") if end != "failed" else ("", cells["ended"])
    return [*(cells[name] for name in FIELDS[:-1]), completed, failed]


def _csv(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    """The history file; each record id made unique by its line (a formula stays one)."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([f"{row[0]}{line}", *row[1:]] for line, row in enumerate(rows, start=2))
    return text.getvalue()


def _audit_answers(cli, folder, history_text: str, *options) -> None:
    history, out = folder / "history.csv", folder / "out"
    history.write_text(history_text, encoding="utf-8")
    code, stdout, stderr = cli(
        "audit", EXAMPLE / "scenario.yaml", history, *options, "--out", out, "--format", "csv"
    )
    assert code in (0, 1, 2), stderr
    assert "Traceback" not in stdout + stderr and "internal error" not in stderr, stderr
    if code == 2:
        assert stderr.strip(), "exit 2 says why"
        return
    for path in out.glob("*.csv"):
        assert_spreadsheet_safe(path)


HEADER = [
    "record_id",
    "learner",
    "course",
    "method",
    "status",
    "enrolled_at",
    "started_at",
    "completed_at",
    "failed_at",
]  # our columns (docs/audit.md)


@FUZZ
@given(rows=st.lists(history_row(), min_size=1, max_size=6), drop=st.sampled_from([None, 4, 6]))
def test_fuzz_histories_answer_0_1_or_2_and_write_safe_csv(rows, drop, cli, tmp_path_factory):
    header = list(HEADER)
    if drop is not None:  # without status, or without started_at
        header.pop(drop)
        rows = [row[:drop] + row[drop + 1 :] for row in rows]
    folder = tmp_path_factory.mktemp("history")
    _audit_answers(cli, folder, _csv(header, rows))


# ----- map files --------------------------------------------------------------------------

EXPORT_HEADER = [
    "Record",
    "Username",
    "Course Code",
    "Enrollment Type",
    "Status",
    "Date Enrolled",
    "Date Started",
    "Date Completed",
    "Failed On",
]


BREAKS = {  # one thing wrong with a map, as users get them wrong
    "column": ("columns", "  learnr: Username"),
    "both units": ("columns", "  enrolled_day: Date Enrolled"),
    "method": ("values", "  method: {System: post_enrolment, Admin: [1], Self: '=x'}"),
    "status": ("values", '  status: {NotComplete: complete, x: , "\'=x": failed}'),
    "timezone": ("timezone", "timezone: America"),
    "zone": ("timezone", "timezone: 5"),
    "format": ("date_format", "date_format: '%Q'"),
    "formats": ("date_format", "date_format: []"),
    "delimiter": ("delimiter", "delimiter: ';;'"),
    "day0": ("day0", "day0: 2025-13-01"),
    "late day0": ("day0", "day0: 9999-12-31"),
}


@st.composite
def map_file(draw) -> tuple[str, str, str]:
    """A map for the export, right or with one thing wrong (or not a map at all), and the
    date format and delimiter the export uses."""
    fmt = draw(st.sampled_from(["%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"]))
    delimiter = draw(st.sampled_from([",", ";"]))
    zone = draw(st.sampled_from(["Europe/London", "UTC", "Pacific/Kiritimati", "America/New_York"]))
    keys = {
        "columns": "columns:\n"
        + "".join(
            f"  {ours}: {theirs!r}\n" for ours, theirs in zip(HEADER, EXPORT_HEADER, strict=True)
        ),
        "values": None,  # below: the method's and the status's words
        "timezone": f"timezone: {zone}\n",
        "date_format": f"date_format: [{fmt!r}, {fmt.split(' ')[0]!r}]\n",  # a date alone too
        "delimiter": f"delimiter: {delimiter!r}\n",
        "day0": "day0: 2025-01-06\n",
    }
    words = {
        "method": "  method: {System: post_enrollment, Admin: admin, Self: self, "
        "Re Enrollment: post_enrollment}",
        "status": "  status: {Not Started: not_started, In Progress: in_progress, "
        "Completed: complete, Failed: failed, NotComplete: not_started}",
    }
    broken = draw(st.sampled_from([None, None, None, None, *BREAKS, "text"]))
    if broken == "text":
        text = draw(st.sampled_from(["- a list\n", "columns: [\n", "\x00\xff", "", "columns: 5\n"]))
        return text, fmt, delimiter
    if broken is not None:
        key, line = BREAKS[broken]
        if key == "columns":
            keys[key] += line + "\n"
        elif key == "values":
            words[broken] = line
        else:
            keys[key] = line + "\n"
    keys["values"] = "values:\n" + "".join(line + "\n" for line in words.values())
    return "".join(keys.values()), fmt, delimiter


@FUZZ
@given(
    found=map_file(),
    rows=st.data(),
)
def test_fuzz_maps_answer_0_1_or_2_and_write_safe_csv(found, rows, cli, tmp_path_factory):
    text, fmt, delimiter = found
    words = {
        "method": ["System", "Admin", "Self", "Re Enrollment"],
        "status": ["Not Started", "In Progress", "Completed", "Failed", "NotComplete"],
    }
    body = rows.draw(st.lists(history_row(fmt, words), min_size=1, max_size=5))
    folder = tmp_path_factory.mktemp("map")
    (folder / "map.yaml").write_text(text, encoding="utf-8", errors="surrogateescape")
    history = _csv(EXPORT_HEADER, body, delimiter)
    _audit_answers(cli, folder, history, "--map", folder / "map.yaml")
