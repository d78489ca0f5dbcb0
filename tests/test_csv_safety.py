"""Every CSV the tool writes is safe to open in a spreadsheet (docs/outputs.md, "Ids in
CSV"): a text cell a spreadsheet would run as a formula (= + - @, tab, CR) is written
with a leading `'`; numbers never are. The project's own readers (read_run and
read_tables on an output folder, read_history on a history) undo it, so ids round-trip.
"""

from __future__ import annotations

import csv
import textwrap

import pandas as pd
import pytest

from postenroll_sim import ScenarioError, load_scenario, parse_scenario
from postenroll_sim.columns import TABLES, from_spreadsheet, spreadsheet_frame, to_spreadsheet
from postenroll_sim.qa.audit import parse_history, read_history, write_history
from postenroll_sim.report.build import read_run
from postenroll_sim.run.outdir import read_meta, read_tables

from helpers import ON_ENROLMENT

FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_cells(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_spreadsheet_safe(path) -> None:
    """No cell a spreadsheet would run: none starts with a formula character, but a
    number (-0.25 is a spreadsheet's number too)."""
    for line, row in enumerate(csv_cells(path), start=1):
        for cell in row:
            assert not cell.startswith(FORMULA) or _number(cell), f"{path}:{line}: {cell!r}"


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-5", "'-5"),  # text that looks like a negative number is text: quoted too
        ("@SUM(1)", "'@SUM(1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),  # a quote that would read back as ours is doubled
        ("''", "'''"),
        ("'x", "'x"),  # any other text is as it was
        ("'", "'"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_the_one_rule_and_its_inverse(text, written):
    assert to_spreadsheet(text) == written
    assert from_spreadsheet(written) == text


def test_a_frame_keeps_numbers_and_converts_text_and_categories():
    frame = pd.DataFrame(
        {
            "n": [-5, 3],
            "x": [-0.5, float("nan")],
            "label": pd.Categorical(["=a", "b"]),
            "text": pd.Series(["-5", None], dtype="str"),
        }
    )
    safe = spreadsheet_frame(frame)
    assert safe["n"].tolist() == [-5, 3] and safe["x"].iloc[0] == -0.5
    assert list(safe["label"].cat.categories) == ["'=a", "b"]
    assert safe["text"].iloc[0] == "'-5" and pd.isna(safe["text"].iloc[1])
    assert [str(d) for d in safe.dtypes] == [str(d) for d in frame.dtypes]
    pd.testing.assert_frame_equal(spreadsheet_frame(safe, decode=True), frame)
    plain = frame.iloc[1:]
    plain = plain.assign(label=pd.Categorical(["b"]))
    assert spreadsheet_frame(plain) is plain  # nothing to quote: the same frame, no copy


# ----- audit: the history's record ids reach discrepancies.csv -----------------------------

SCENARIO = ON_ENROLMENT  # an enrolled rule on A, daily runs at 02:00

# the history's cells as the file has them; `'=q` is an export's spreadsheet-safe `=q`
RECORD_IDS = ['=HYPERLINK("http://x","y")', "-5", "@SUM(1)", "+1", "'=q"]


def _history(path) -> None:
    rows = [
        ("record_id", "learner", "course", "method", "enrolled_at"),
        (RECORD_IDS[0], "ana", "A", "admin", "2025-01-06T09:00"),
        (RECORD_IDS[1], "ana", "B", "post_enrollment", "2025-01-08T02:00"),  # a day late
        (RECORD_IDS[2], "''=bob", "B", "post_enrollment", "2025-01-07T02:00"),  # unexpected
        (RECORD_IDS[3], "cy", "A", "admin", "2025-01-06T09:00"),
        (RECORD_IDS[4], "cy", "B", "post_enrollment", "2025-01-06T20:00"),  # 6 h early
    ]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def test_audit_record_ids_are_written_safely_and_read_back(tmp_path, cli):
    scenario, history, out = tmp_path / "s.yaml", tmp_path / "h.csv", tmp_path / "out"
    scenario.write_text(SCENARIO)
    _history(history)
    code, _, err = cli("audit", scenario, history, "--out", out, "--format", "csv")
    assert code == 1, err
    path = out / "discrepancies.csv"
    assert_spreadsheet_safe(path)
    rows = csv_cells(path)
    table = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    by_id = {row["record_id"]: row for row in table}
    assert set(by_id) == {"'-5", "'@SUM(1)", "'=q"}
    assert by_id["'@SUM(1)"]["learner_id"] == "''=bob"  # the learner '=bob
    assert by_id["'=q"]["offset_days"] == "-0.25"  # a number is never quoted
    read = read_tables(out, read_meta(out))["discrepancies"]
    assert set(read["record_id"]) == {"-5", "@SUM(1)", "=q"}
    assert "'=bob" in set(read["learner_id"])


def test_a_history_written_by_write_history_reads_back_as_it_was(tmp_path):
    frame = pd.DataFrame(
        {
            "record_id": ["=1+1", "-5", "'=x", "'plain"],
            "learner": ["'=ana", "ana", "''b", "'c"],
            "course": ["A", "B", "A", "A"],
            "method": ["admin", "post_enrollment", "admin", "admin"],
            "enrolled_day": [0.375, -0.0, 1.0, 2.0],
        }
    )
    path = write_history(frame, tmp_path / "h.csv")
    assert_spreadsheet_safe(path)
    assert csv_cells(path)[2][-1] == "-0.0"  # numbers as they are
    spec = parse_scenario(textwrap.dedent(SCENARIO), "s.yaml")
    records = read_history(path, spec).records
    assert [r.record_id for r in records] == frame["record_id"].tolist()
    assert [r.learner for r in records] == frame["learner"].tolist()


def test_a_learner_id_given_quoted_is_still_checked():
    """`'=cmd` in an export reads as `=cmd`, which a learner id cannot be."""
    spec = parse_scenario(textwrap.dedent(SCENARIO), "s.yaml")
    with pytest.raises(ScenarioError, match="a learner id cannot start with"):
        parse_history("learner,course,method,enrolled_day\n'=cmd,A,admin,0\n", "h.csv", spec)


# ----- runs, sweeps and comparisons -----------------------------------------------------

RUN = """
name: quoted ids
horizon_days: 5
courses:
  - id: "'=Q"
    type: online
    post_enrollments:
      - {id: "'-r", when: enrolled, delay_days: 1, courses: [B]}
  - {id: B, type: online}
learners: ["'@ana"]
script:
  - {day: 0, action: enroll, learner: "'@ana", course: "'=Q"}
"""


def test_run_and_compare_tables_are_safe_and_read_back(tmp_path, cli):
    """Scenario ids cannot start with a formula (refused when loaded), but may start with
    a quote; the file names `compare` labels its variants with can be anything."""
    a, b = tmp_path / "=a.yaml", tmp_path / "@b.yaml"
    for path in (a, b):
        path.write_text(RUN)
    out = tmp_path / "cmp"
    code, _, err = cli("compare", a, b, "--out", out, "--format", "csv", "--no-progress")
    assert code == 0, err
    written = sorted(out.glob("*.csv"))
    assert len(written) == len(TABLES)
    for path in written:
        assert_spreadsheet_safe(path)
    enrollments = csv_cells(out / "enrollments.csv")
    assert "''=Q" in {cell for row in enrollments for cell in row}
    result, _ = read_run(out)
    assert set(result.enrollments["variant"]) == {"=a", "@b"}
    assert set(result.enrollments["course_id"]) == {"'=Q", "B"}
    assert set(result.enrollments["learner_id"]) == {"'@ana"}
    single = load_scenario(a)
    assert single.courses[0].id == "'=Q"
