"""The HTML page of an audit (`audit --report`): counts, each rule's record, every
discrepancy with its explanation. Self-contained, no figures (nothing to import); the
template is `report/templates/audit.html`, on the pages' shared base and stylesheet."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ...history.replay import span as _span
from ...report.pages import render

KINDS = ("missing", "unexpected", "off-time")  # each has its colour in style.css


def _cell(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "–"
    if isinstance(value, float) and math.isnan(value):
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


@dataclass
class _Table:
    columns: list[str]
    rows: list[list[tuple[str, str]]]  # (column, text) per cell
    css: str = ""


def _table(frame: pd.DataFrame, columns: list[str], css: str = "") -> _Table:
    rows = [
        [(name, _cell(value)) for name, value in zip(columns, row, strict=True)]
        for row in frame[columns].itertuples(index=False)
    ]
    return _Table(columns, rows, css)


def audit_page(result) -> str:
    """The page for an AuditResult."""
    c = result.counts
    scenario = result.scenario
    processing = scenario.processing
    facts = [
        ("history", result.history.file),
        ("map", result.map_file or "none: the documented columns"),
        (
            "records",
            f"{c['records']} of {c['learners']} learners, {c['post_enrollments']} post enrollments",
        ),
        (
            "day 0",
            f"{result.history.day0.isoformat()} ({result.history.timezone})"
            if result.history.day0
            else "day numbers",
        ),
        (
            "processing",
            "exact: a job runs when it is due (S3)"
            if processing.mode == "exact"
            else f"daily: due jobs run at {processing.hour:02d}:00 (S3)",
        ),
        ("on time", f"within {_span(result.tolerance_days)} of when the rules process the job"),
    ]
    tiles = [
        ("required by the rules", c["required"], "required"),
        ("on time", c["on_time"], "on-time"),
        ("missing", c["missing"], "missing"),
        ("off-time", c["off_time"], "off-time"),
        ("unexpected", c["unexpected"], "unexpected"),
    ]
    rules = None
    if len(result.rules):
        rules = _table(result.rules, ["rule_id", "required", "on_time", "off_time", "missing"])
    frame = result.discrepancies
    discrepancies = None
    if len(frame):
        when = "history_at" if "history_at" in frame.columns else "history_day"
        expected = "expected_at" if "expected_at" in frame.columns else "expected_day"
        columns = [
            "kind",
            "learner_id",
            "course_id",
            "rule_id",
            expected,
            when,
            "history_line",
            "s_rule",
            "explanation",
        ]
        discrepancies = _table(frame, columns, "discrepancies")
    return render(
        "audit.html",
        heading=f"Audit: {scenario.name}",
        source=result.source,
        history=result.history.file,
        facts=facts,
        tiles=tiles,
        rules=rules,
        discrepancies=discrepancies,
        kinds=KINDS,
    )
