"""Helpers the tests share: scenarios written inline as YAML, and row filters over the
tables. (Fixtures live in conftest.py; this is a plain module, imported by name.)"""

from __future__ import annotations

import textwrap
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
