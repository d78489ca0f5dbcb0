"""The history's two readers (history/columnar.py): the fast one, by columns, reads every
file it accepts exactly as the row reader does, and leaves every file it would have to
report on (or whose lines it cannot number) to the row reader."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postenroll_sim import ScenarioError, parse_scenario
from postenroll_sim.history import columnar, exports
from postenroll_sim.history.exports import parse_history, parse_map

from helpers import ROOT

SCENARIO = parse_scenario(
    textwrap.dedent(
        """\
        name: reader
        start_date: 2025-01-06
        horizon_days: 400
        courses:
          - id: A
            type: online
            allow_failure: true
            certificate: {valid_for: {days: 365}}
            post_enrollments:
              - {id: a-b, when: completed, delay_days: 0, courses: [B]}
          - {id: B, type: online}
          - {id: K, type: bundle, members: [B]}
        """
    ),
    "scenario.yaml",
)


def both(text: str, scenario=SCENARIO, mapping=None, **options):
    """What each reader makes of `text`: its History, or the problems it reports."""
    results = []
    for fast in (True, False):
        saved = columnar.fast_columns
        if not fast:
            columnar.fast_columns = lambda *args: None
        try:
            results.append(parse_history(text, "history.csv", scenario, mapping, **options))
        except ScenarioError as exc:
            results.append([str(p) for p in exc.problems])
        finally:
            columnar.fast_columns = saved
    return results


def same(text: str, **options):
    fast, rows = both(text, **options)
    if isinstance(rows, list):
        assert fast == rows
    else:
        assert not isinstance(fast, list), fast
        assert (fast.records, fast.warnings, fast.rows, fast.day0) == (
            rows.records,
            rows.warnings,
            rows.rows,
            rows.day0,
        )
    return rows


def test_a_plain_export_is_read_by_columns_alone(monkeypatch):
    """The fast reader is the one that reads it (it would be an idle copy otherwise)."""
    text = (
        "learner,course,method,enrolled_at,completed_at,status\n"
        "ana,A,admin,2025-01-06T09:00:00,2025-01-08T10:30:00Z,complete\n"
        "ben,A,self,2025-01-07,,not_started\n"
    )

    def no_rows(*args):
        raise AssertionError("the row reader ran")

    monkeypatch.setattr(exports._Rows, "read", no_rows)
    history = parse_history(text, "history.csv", SCENARIO)
    ana, ben = history.records
    assert (ana.learner, ana.completed, ana.line) == ("ana", 2 + 10.5 / 24, 2)
    assert ana.expires is None and ana.dates_only == frozenset()
    assert (ben.enrolled, ben.date_only, ben.dates_only) == (1.0, True, frozenset({"enrolled"}))


CASES = {
    "day numbers": "learner,course,method,enrolled_day,completed_day,status\n"
    "ana,A,admin,0.5,1.25,complete\nben,A,admin,1e1,,\n",
    "zones and dates": "learner,course,method,enrolled_at,completed_at,expires_at\n"
    "ana,A,admin,2025-01-06 09:00,2025-01-07T23:30:00+05:30,2026-01-07\n"
    "ben,A,post_enrollment,2025-01-06T09:00:00.6,2025-02-01T01:00Z,\n",
    "spreadsheet quotes and blanks": "learner,course,method,enrolled_day\n"
    " '=ana , A ,  Admin ,  3 \nben,A,SELF,'-0\n",
    "a quoted line break": 'learner,course,method,enrolled_day\n"an\na",A,admin,1\nben,A,admin,2\n',
    "a blank line": "learner,course,method,enrolled_day\nana,A,admin,1\n\nben,A,admin,2\n",
    "a failure on the completion date": "learner,course,method,enrolled_day,completed_day,status\n"
    "ana,A,admin,1,3,failed\n",
    "an unknown course": "learner,course,method,enrolled_day\nana,Z,admin,1\n",
    "a bundle started": "learner,course,method,enrolled_day,started_day\nana,K,admin,1,2\n",
    "superseded, then changed": "learner,course,method,enrolled_day,completed_day\n"
    "ana,A,admin,0,9\nana,A,admin,5,\n",
    "removed twice": "learner,course,method,enrolled_day,removed_day\n"
    "ana,A,admin,0,9\nana,B,admin,1,8\n",
    "no such date": "learner,course,method,enrolled_at\nana,A,admin,2025-02-30\n",
    "after the horizon": "learner,course,method,enrolled_day\nana,A,admin,401\n",
    "duplicate ids": "record_id,learner,course,method,enrolled_day\n7,ana,A,admin,1\n7,ben,A,admin,2\n",
    "a short row": "learner,course,method,enrolled_day\nana,A,admin\n",
    # each of the record checks alone (exports._check_record), which the columns repeat
    "started before enrolled": "learner,course,method,enrolled_day,started_day\nana,A,admin,3,2\n",
    "completed before started": "learner,course,method,enrolled_day,started_day,completed_day\n"
    "ana,A,admin,1,3,2\n",
    "completed and failed": "learner,course,method,enrolled_day,completed_day,failed_day\n"
    "ana,A,admin,1,2,3\n",
    "an expiry without a completion": "learner,course,method,enrolled_day,expires_day\n"
    "ana,A,admin,1,30\n",
    "an expiry before the completion": "learner,course,method,enrolled_day,completed_day,expires_day\n"
    "ana,A,admin,1,5,4\n",
    "complete without a date": "learner,course,method,enrolled_day,status\nana,A,admin,1,complete\n",
    "failed without a date": "learner,course,method,enrolled_day,status\nana,A,admin,1,failed\n",
    "open with an end": "learner,course,method,enrolled_day,completed_day,status\n"
    "ana,A,admin,1,2,in_progress\n",
    "not started with a start": "learner,course,method,enrolled_day,started_day,status\n"
    "ana,A,admin,1,2,not_started\n",
    "a course that cannot be failed": "learner,course,method,enrolled_day,failed_day\nana,B,admin,1,2\n",
    "an expiry without a certificate": "learner,course,method,enrolled_day,completed_day,expires_day\n"
    "ana,B,admin,1,2,30\n",
}


@pytest.mark.parametrize("name", CASES)
def test_each_quirk_reads_the_same_either_way(name):
    same(CASES[name])


@pytest.mark.parametrize("warm", [False, True])
def test_a_warm_start_cuts_the_same_either_way(warm):
    text = (
        "learner,course,method,enrolled_day,started_day,completed_day,expires_day,removed_day\n"
        "ana,A,admin,-30,-20,-10,300,\nben,A,admin,-5,-2,3,200,\ncid,B,admin,2,,,,\n"
        "dan,A,admin,-40,-30,,,5\n"
    )
    history = same(text, window=False, warm=warm)  # (calibrate reads negative days too)
    assert len(history.records) == (3 if warm else 4)


def test_the_shipped_examples_read_the_same_either_way():
    from postenroll_sim import load_scenario

    example = ROOT / "examples" / "audit"
    mapping = parse_map((example / "map.yaml").read_text(), str(example / "map.yaml"))
    same(
        (example / "history.csv").read_text(),
        scenario=load_scenario(example / "scenario.yaml"),
        mapping=mapping,
    )
    example = ROOT / "examples" / "backtest"
    same((example / "history.csv").read_text(), scenario=None)


DAY0 = dt.datetime(2025, 1, 6)
moments = st.one_of(
    st.floats(-5, 420, allow_nan=False).map(repr),
    st.integers(-2, 410).map(str),
    st.datetimes(DAY0 - dt.timedelta(days=3), DAY0 + dt.timedelta(days=405)).map(
        lambda d: d.isoformat(sep=" ", timespec="seconds")
    ),
    st.datetimes(DAY0, DAY0 + dt.timedelta(days=100)).map(lambda d: d.date().isoformat()),
    st.datetimes(DAY0, DAY0 + dt.timedelta(days=100)).map(
        lambda d: d.isoformat(timespec="minutes") + "Z"
    ),
    st.just(""),
    st.just(" x "),
)
rows = st.tuples(
    st.sampled_from(["ana", "ben", " cid", "'=dan"]),
    st.sampled_from(["A", "B", "K", "A "]),
    st.sampled_from(["admin", "Self", "post_enrollment", "re enrollment"]),
    moments,
    moments,
    moments,
    st.sampled_from(["", "complete", "failed", "in_progress", "not_started"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows, min_size=1, max_size=8), st.booleans())
def test_any_history_reads_the_same_either_way(records, warm):
    """Generated histories, good and bad alike: one History, or the same problems."""
    lines = ["learner,course,method,enrolled_at,started_at,completed_at,status"]
    for learner, course, method, enrolled, started, completed, status in records:
        lines.append(
            ",".join(
                [learner, course, method, enrolled or "2025-01-06", started, completed, status]
            )
        )
    same("\n".join(lines) + "\n", window=not warm, warm=warm)
    day_lines = [line.replace("_at", "_day") for line in lines]
    same("\n".join(day_lines) + "\n", window=not warm, warm=warm)
