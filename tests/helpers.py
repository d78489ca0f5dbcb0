"""Helpers the tests share: scenarios written inline as YAML, and row filters over the
tables. (Fixtures live in conftest.py; this is a plain module, imported by name.)"""

from __future__ import annotations

import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest

from postenroll_sim import ScenarioError, parse_scenario, simulate

ROOT = Path(__file__).resolve().parent.parent


def scenario(text: str):
    return parse_scenario(textwrap.dedent(text), "inline.yaml")


def run(text: str):
    return simulate(scenario(text))


def errors(text: str) -> list[str]:
    """The located messages a scenario is rejected with (loading or running)."""
    with pytest.raises(ScenarioError) as info:
        run(text)
    return [str(p) for p in info.value.problems]


def rows(frame: pd.DataFrame, **fields) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for key, value in fields.items():
        column = frame[key]
        mask &= (
            column.isna()
            if value is None
            else (column.astype("str") == str(value))
            if isinstance(value, str)
            else (column == value)
        )
    return frame[mask]


def one(frame: pd.DataFrame, **fields) -> pd.Series:
    found = rows(frame, **fields)
    assert len(found) == 1, f"expected one row for {fields}, found {len(found)}:\n{found}"
    return found.iloc[0]


def per_course(frame: pd.DataFrame, column: str) -> dict[str, str]:
    """{course id: value of `column`} for a table with one row per course."""
    return dict(zip(frame["course_id"].astype(str), frame[column].astype(str), strict=True))


class CliResult(NamedTuple):
    """What a finished `postenroll-sim` command left: like subprocess.CompletedProcess."""

    returncode: int
    stdout: str
    stderr: str


def ladder_text(n: int, back: bool = False) -> str:
    """A scenario of n courses where course i has `completed` rules to i+1 and i+2 (and,
    with `back`, the last one a rule back to the first): 2^(n/2) or more paths."""
    lines = ["name: ladder", "horizon_days: 30", "courses:"]
    for i in range(n):
        targets = [f"C{j}" for j in (i + 1, i + 2) if j < n] or (["C0"] if back else [])
        lines.append(f"  - id: C{i}\n    type: online")
        if targets:
            lines.append("    post_enrollments:")
            lines += [
                f"      - {{id: r{i}_{k}, when: completed, delay_days: 1, courses: [{t}], "
                "allow_consecutive: true}"
                for k, t in enumerate(targets)
            ]
    lines.append("learners: [ana]\nscript:\n  - {day: 0, action: enroll, learner: ana, course: C0}")
    return "\n".join(lines) + "\n"


def chain_text(n: int) -> str:
    """A scenario of n courses in a line, each completed one enrolling in the next."""
    lines = ["name: chain", "horizon_days: 30", "courses:"]
    for i in range(n):
        lines.append(f"  - id: C{i}\n    type: online")
        if i + 1 < n:
            lines.append(
                f"    post_enrollments: [{{id: r{i}, when: completed, delay_days: 1, "
                f"courses: [C{i + 1}]}}]"
            )
    lines.append("learners: [ana]\nscript:\n  - {day: 0, action: enroll, learner: ana, course: C0}")
    return "\n".join(lines) + "\n"


class WorkExceeded(Exception):
    pass


@contextmanager
def call_budget(most: int):
    """Fail (instead of hanging) when the code inside makes more than `most` Python calls:
    a bound on the work, not on the time (the machine's speed does not matter)."""
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        calls += 1
        if calls > most:
            raise WorkExceeded(f"more than {most:,} calls")

    previous = sys.gettrace()
    sys.settrace(count)
    try:
        yield
    finally:
        sys.settrace(previous)


PNG = b"\x89PNG\r\n\x1a\n"


def assert_run_report(page: str, name: str) -> None:
    """What every run's report page must have: its title, real PNG figures, the key
    sections, and no number left as nan."""
    import base64
    import html
    import re

    assert f"<h1>{name}</h1>" in html.unescape(page)
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert len(images) >= 3
    assert all(base64.b64decode(i).startswith(PNG) for i in images)
    assert "At a glance" in page and "What each rule did" in page
    assert ">nan<" not in page.lower()


# a rule on enrolment with nightly runs: the audit tests' smallest daily scenario
ON_ENROLMENT = """
name: on enrolment
start_date: 2025-01-06
horizon_days: 10
processing: {mode: daily, hour: 2}
courses:
  - id: A
    type: online
    post_enrollments:
      - {id: R1, when: enrolled, delay_days: 0, courses: [B]}
  - {id: B, type: online}
"""


# S37's worked example (docs/semantics.md): FIRE valid 1 year, re-enrolled 30 days before
# expiry, 14 days of grace. alice completes on 31 Jan 2027 10:00 (expires 31 Jan 2028
# 10:00, window from 1 Jan 2028 10:00, grace to 14 Feb 2028 10:00) and again on
# 20 Feb 2028 12:00 (day 415.5); bob is assigned and never completes; carol is only in
# OTHER; dave leaves on day 100.
CERTIFIED = """
    name: certified
    start_date: 2027-01-01
    horizon_days: 420
    courses:
      - id: FIRE
        type: online
        certificate: {valid_for: {years: 1}, reenroll_before: {days: 30}, grace: {days: 14}}
      - {id: OTHER, type: online}
    learners: [alice, bob, carol, dave]
    script:
      - {day: 3, action: enroll, learner: alice, course: FIRE}
      - {day: 30.416667, action: complete, learner: alice, course: FIRE}
      - {day: 5, action: enroll, learner: bob, course: FIRE}
      - {day: 10, action: enroll, learner: carol, course: OTHER}
      - {day: 6, action: enroll, learner: dave, course: FIRE}
      - {day: 7, action: complete, learner: dave, course: FIRE}
      - {day: 100, action: remove_learner, learner: dave}
      - {day: 415.5, action: complete, learner: alice, course: FIRE}
"""
