"""Audit a real LMS's enrollment history against the rules of a scenario (docs/audit.md).

    from postenroll_sim import load_scenario
    from postenroll_sim.qa.audit import audit, load_map

    result = audit(load_scenario("scenario.yaml"), "history.csv", load_map("map.yaml"))
    result.discrepancies  # missing, unexpected and off-time post enrollments, explained
    result.exit_code      # 0: the history is what the rules say; 1: it is not

The history is replayed through the engine itself (replay.py); what it is read from
is history.py; the answer is result.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ...columns import spreadsheet_frame
from ...engine import compile_plan
from ...history.exports import (
    History,
    HistoryMap,
    Record,
    load_map,
    parse_history,
    parse_map,
    read_history,
)
from ...history.replay import Replay
from ...scenario import Scenario
from .result import COLUMNS, KINDS, AuditResult, result_of

__all__ = [
    "COLUMNS",
    "DEFAULT_TOLERANCE_DAYS",
    "KINDS",
    "AuditResult",
    "History",
    "HistoryMap",
    "Record",
    "audit",
    "history_from_enrollments",
    "load_map",
    "parse_history",
    "parse_map",
    "read_history",
    "write_history",
]

DEFAULT_TOLERANCE_DAYS = 1 / 24  # one hour either side of when the rules process a job


def audit(
    scenario: Scenario,
    history: History | str | os.PathLike,
    mapping: HistoryMap | str | os.PathLike | None = None,
    tolerance_days: float | None = None,
    source: str = "",
) -> AuditResult:
    """Replay `history` (a History, or a CSV file read with `mapping`) under the catalog
    and rules of `scenario`, and compare what the rules require with what it shows.
    Raises ScenarioError (every problem located) when the history or map cannot be read."""
    map_file = None
    if mapping is not None and not isinstance(mapping, HistoryMap):
        map_file = str(mapping)
        mapping = load_map(mapping)
    if not isinstance(history, History):
        history = read_history(history, scenario, mapping)
    tolerance = DEFAULT_TOLERANCE_DAYS if tolerance_days is None else float(tolerance_days)
    if not 0 <= tolerance < float("inf"):
        raise ValueError(
            f"tolerance_days must be a finite number of days >= 0, got {tolerance_days!r}"
        )
    started = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    replay = Replay(compile_plan(scenario), history, tolerance)
    replay.run()
    result = result_of(replay, scenario, history, tolerance)
    result.source = source or (str(scenario.origin.file) if scenario.origin else "")
    result.map_file = map_file
    result.started = started
    return result


def history_from_enrollments(
    enrollments: pd.DataFrame, events: pd.DataFrame | None = None
) -> pd.DataFrame:
    """A run's `enrollments` table (one replication) as a history in the documented columns
    (`record_id, learner, course, method, status` and the `*_day` numbers): what the LMS
    would export had it behaved as the simulator did. Audited, it shows no discrepancy.
    With the run's `events`, each learner who left has a `removed_day` (S29)."""
    for frame in (enrollments, events):
        if (
            frame is not None
            and "replication" in frame.columns
            and frame["replication"].nunique() > 1
        ):
            raise ValueError("one replication at a time: filter the tables on `replication` first")
    frame = enrollments.sort_values("enrollment_id")
    history = pd.DataFrame(
        {
            "record_id": frame["enrollment_id"].astype("int64").to_numpy(),
            "learner": frame["learner_id"].astype("str").to_numpy(),
            "course": frame["course_id"].astype("str").to_numpy(),
            "method": frame["method"].astype("str").to_numpy(),
            "status": frame["status"].astype("str").to_numpy(),
            "enrolled_day": frame["enrolled_day"].to_numpy(),
            "started_day": frame["started_day"].to_numpy(),
            "completed_day": frame["completed_day"].to_numpy(),
            "failed_day": frame["failed_day"].to_numpy(),
        }
    )
    if events is not None:
        left = events[events["event"] == "learner_removed"]
        removed = dict(zip(left["learner_id"].astype("str"), left["day"], strict=True))
        history["removed_day"] = history["learner"].map(removed).astype("float64")
    return history


def write_history(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a history frame as CSV the way `read_history` reads it (floats exactly; text
    a spreadsheet would run as a formula quoted, which `read_history` undoes)."""
    path = Path(path)
    spreadsheet_frame(frame).to_csv(path, index=False, lineterminator="\n")
    return path
