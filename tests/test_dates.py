"""S1 v2: days written as dates and date-times where a scenario has a start_date, and
every tool speaking of instants in dates (formatting.instant) when it has a calendar."""

from __future__ import annotations

import datetime as dt
import html
import io

import pytest

from postenroll_sim.columns import whole_second
from postenroll_sim.formatting import day_number, days, instant, plural

from helpers import ROOT, errors, run, scenario

TABLES = ("enrollments", "jobs", "events", "sessions")

# One scenario twice: its days as numbers, then as the dates and date-times they stand
# for (start 2027-01-04): script steps, a learner's joined_day, one ILC session and a
# series (day, first_day, until_day).
NUMBERS = """
name: dated
start_date: 2027-01-04
horizon_days: 60
processing: {mode: daily, hour: 2}
courses:
  - id: A
    type: online
    post_enrollments: [{id: R1, when: completed, delay_days: 1, courses: [I]}]
  - id: I
    type: ilc
    sessions:
      - {day: 10.5, capacity: 1}
      - {every_days: 7, first_day: 14, until_day: 40, capacity: 5}
learners: [alice, {id: bob, joined_day: 3}]
script:
  - {day: 0, action: enroll, learner: alice, course: A}
  - {day: 1.0833449074074074, action: start, learner: alice, course: A}
  - {day: 2, action: complete, learner: alice, course: A}
  - {day: 3, action: enroll, learner: bob, course: A}
  - {day: 5.5, action: complete, learner: bob, course: A}
"""
DATES = (
    NUMBERS.replace("{day: 10.5,", '{day: "2027-01-14 12:00",')
    .replace("first_day: 14, until_day: 40", "first_day: 2027-01-18, until_day: '2027-02-13'")
    .replace("joined_day: 3}", "joined_day: 2027-01-07}")
    .replace("{day: 0,", "{day: 2027-01-04,")
    .replace("{day: 1.0833449074074074,", "{day: 2027-01-05 02:00:01,")  # YAML's own
    .replace("{day: 2,", "{day: '2027-01-06',")
    .replace("{day: 3,", "{day: 2027-01-07,")
    .replace("{day: 5.5,", '{day: "2027-01-09T12:00",')
)


def _csv(result, name: str) -> str:
    buffer = io.StringIO()
    getattr(result, name).to_csv(buffer, index=False)
    return buffer.getvalue()


def test_dates_give_the_tables_of_the_day_numbers_they_stand_for():
    assert DATES != NUMBERS and "day: 0," not in DATES
    by_number, by_date = run(NUMBERS), run(DATES)
    for name in TABLES:
        assert _csv(by_date, name) == _csv(by_number, name), name
    assert len(by_date.sessions) == 5  # the single session and the series' 4 were made


def test_a_date_time_is_exact_to_the_second():
    spec = scenario(DATES)
    start = spec.script[1]
    assert start.day == whole_second(1 + 2 / 24 + 1 / 86_400) == 93_601 / 86_400
    assert spec.learners[1].joined_day == 3.0 and spec.script[4].day == 5.5
    e = run(DATES).enrollments
    started = e.loc[e["learner_id"].astype(str) == "alice", "started_at"].dropna().iloc[0]
    assert str(started) == "2027-01-05 02:00:01"  # never 02:00:00.999


BAD = """
name: bad
{start}horizon_days: 30
courses:
  - {{id: A, type: online}}
  - {{id: I, type: ilc, sessions: [{{day: {session}, capacity: 3}}]}}
learners: [alice, {{id: bob, joined_day: {joined}}}]
script:
  - {{day: {step}, action: enroll, learner: alice, course: A}}
"""


def _bad(start="start_date: 2027-01-04\n", session="5", joined="0", step="1") -> list[str]:
    return errors(BAD.lstrip().format(start=start, session=session, joined=joined, step=step))


def test_a_date_without_a_start_date_is_a_located_error_in_plain_words():
    found = _bad(start="", session="2027-01-09", joined="'2027-01-04'", step="2027-01-06")
    assert found == [
        f"inline.yaml:{line}: {path}: {date} is a date, and dates need the scenario's "
        "start_date (the date of day 0): give the scenario a start_date, or write the day "
        "as a number of days from the start"
        for line, path, date in (
            (5, "courses.1.sessions.0.day", "2027-01-09"),
            (6, "learners.1.joined_day", "2027-01-04"),
            (8, "script.0.day", "2027-01-06"),
        )
    ]
    assert not any("datetime" in f for f in found)  # never a Python repr


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        (
            "step",
            "2027-01-03",
            "inline.yaml:9: script.0.day: 2027-01-03 is before the start_date 2027-01-04 "
            "(day 0): nothing happens before the start",
        ),
        (
            "joined",
            "2026-12-31 23:00:00",
            "inline.yaml:7: learners.1.joined_day: 2026-12-31 23:00:00 is before the "
            "start_date 2027-01-04 (day 0): nothing happens before the start",
        ),
        (
            "step",
            "2027-02-04",
            "inline.yaml:9: script.0.day: 2027-02-04 (day 31) is after the horizon of "
            "2027-02-03 (day 30)",
        ),
        (
            "session",
            "'2027-01-06 10:00+02:00'",
            "inline.yaml:6: courses.1.sessions.0.day: '2027-01-06 10:00+02:00' has a time "
            "zone; a date-time here is the wall clock of the tables (their `*_at` columns), "
            "without one: write it as 2027-01-06 10:00",
        ),
        (
            "step",
            "2027-01-06T10:00:00Z",
            "inline.yaml:9: script.0.day: '2027-01-06 10:00:00+00:00' has a time zone; a "
            "date-time here is the wall clock of the tables (their `*_at` columns), without "
            "one: write it as 2027-01-06 10:00",
        ),
        (
            "step",
            "'2027-02-30'",
            "inline.yaml:9: script.0.day: '2027-02-30' is not a date (2027-01-06) or a "
            "date-time (2027-01-06 14:30)",
        ),
    ],
)
def test_bad_dates_are_located_errors(where, value, message):
    assert _bad(**{where: value}) == [message]


def test_a_date_where_a_number_of_days_belongs_says_so():
    found = errors(
        BAD.lstrip()
        .format(start="start_date: 2027-01-04\n", session=5, joined=0, step=1)
        .replace("horizon_days: 30", "horizon_days: 2027-02-03")
    )
    assert found == [
        "inline.yaml:3: horizon_days: must be a number of days, got the date 2027-02-03"
    ]


def test_instants_plural_and_day_numbers():
    start = dt.date(2027, 1, 4)
    assert instant(5, start) == "2027-01-09 (day 5)"
    assert instant(5 + 2 / 24, start) == "2027-01-09 02:00 (day 5.08)"
    assert instant(whole_second(5 + 1 / 86_400), start) == "2027-01-09 00:00:01 (day 5)"
    assert instant(5 + 2 / 24) == "day 5.08333"  # without a calendar: as ever
    assert day_number(5.999) == "5.99"  # cut, never the next day's number
    assert (days(1), days(1.0), days(2), days(0.5)) == ("1 day", "1 day", "2 days", "0.5 days")
    assert plural(1, "replication") == "1 replication" and plural(3, "variant") == "3 variants"


def test_explain_summary_and_lint_speak_in_dates(cli, tmp_path):
    path = tmp_path / "dated.yaml"
    path.write_text(NUMBERS.replace("{day: 10.5,", "{day: 70,"))  # one session past the end
    code, out, _ = cli("explain", path, "--learner", "alice")
    assert code == 0
    assert "2027-01-05 02:00:01 (day 1.08): started A (enrollment 0)" in out
    assert "due 2027-01-07 (day 3) (1 day later, S3)" in out
    assert "1.08334" not in out and "(day 3.08333)" not in out
    code, out, _ = cli("run", path, "--out", tmp_path / "out", "--format", "csv")
    assert code == 0
    assert "horizon 60 days, 2027-01-04 to 2027-03-05 (day 60), 1 replication" in out
    path.write_text(
        NUMBERS.replace("{day: 10.5, capacity: 1}", "{day: 70, capacity: 1}").replace(
            "until_day: 40", "until_day: 12"
        )
    )
    code, out, _ = cli("lint", path)
    assert "none falls within the horizon of 2027-01-04 (day 0) to 2027-03-05 (day 60)" in out


def test_without_a_calendar_the_words_stay_as_they_were(cli, tmp_path):
    path = tmp_path / "plain.yaml"
    path.write_text(NUMBERS.replace("start_date: 2027-01-04\n", ""))
    code, out, _ = cli("explain", path, "--learner", "alice")
    assert "day 1.08334: started A (enrollment 0)" in out and "2027" not in out
    code, out, _ = cli("run", path, "--out", tmp_path / "out", "--format", "csv")
    assert "horizon 60 days, 1 replication" in out


def test_audit_says_when_in_dates():
    from postenroll_sim.qa.audit.replay import when

    assert when(9 + 2 / 24, dt.date(2025, 1, 6)) == "2025-01-15 02:00 (day 9.08)"
    assert when(9 + 2 / 24, None) == "day 9.083"


def test_the_report_of_a_scripted_scenario_leads_with_each_learner(tmp_path, sketched_figures):
    from postenroll_sim.report import build_report
    from postenroll_sim.report.pages import file_names

    page = html.unescape(build_report(run(NUMBERS), str(tmp_path / "deep" / "dated.yaml")))
    assert str(tmp_path) not in page and "<p>dated.yaml</p>" in page  # no machine path
    sections = page.split("<h2>")
    assert sections[1].startswith("What happened to each learner")
    assert "<td class='text'>by rule R1</td>" in sections[1]
    assert "started 2027-01-05 02:00:01 (day 1.08); completed 2027-01-06 (day 2)" in page
    assert "730 days" not in page and "60 days, 2027-01-04 to 2027-03-05 (day 60)" in page
    assert "<th>when</th><th>what happened</th>" in page
    assert "onclick=\"this.classList.toggle('zoomed')\"" in page  # the rule graph zooms
    assert (
        file_names("a /home/x/y/s.yaml vs b.yaml and C:\\u\\t.yaml")
        == "a s.yaml vs b.yaml and t.yaml"
    )
    assert ROOT.exists()


def test_a_run_time_script_error_names_the_date():
    found = errors(
        """
        name: t
        start_date: 2027-01-04
        horizon_days: 30
        courses: [{id: A, type: online}]
        learners: [alice]
        script:
          - {day: "2027-01-06 09:30", action: complete, learner: alice, course: A}
        """
    )
    assert found == [
        "inline.yaml:8: script.0: 2027-01-06 09:30 (day 2.39): complete alice A: cannot "
        "complete: the learner has no enrollment in this course"
    ]


def test_the_rule_graph_names_script_days_by_their_dates(cli):
    code, text, _ = cli("graph", ROOT / "scenarios" / "showcase.yaml")
    assert code == 0
    assert "inactive until 2027-02-18 (day 45)" in text  # a course activated by the script
    assert "until 2027-03-05 (day 60)" in text and "from 2027-03-05 (day 60)" in text  # an edit
    assert "TOOL-CHAT (from 2027-01-24 (day 20))" in text  # a bundle member added
    assert "day 45" not in text.replace("(day 45)", "")
