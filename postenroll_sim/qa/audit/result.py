"""The answer of an audit: the discrepancy table, counts, and writing them to a folder."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ... import __version__
from ...columns import JOB_TRIGGERS
from ...engine.store import NONE
from ...history.exports import History
from ...history.replay import Replay, when
from ...history.replay import span as _span
from ...run.outdir import REPORT_NAME, OutputFolder
from ...scenario import Scenario

KINDS = ("missing", "unexpected", "off-time")
TABLE = "discrepancies"
COLUMNS = (
    "kind",
    "learner_id",
    "course_id",
    "rule_id",
    "trigger",
    "trigger_course_id",
    "trigger_day",
    "trigger_line",
    "due_day",
    "expected_day",
    "history_day",
    "offset_days",
    "history_line",
    "record_id",
    "s_rule",
    "explanation",
)
SHOWN = 20  # discrepancies printed on screen; the table has them all


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class AuditResult:
    """What the rules required against what the history shows (docs/audit.md)."""

    scenario: Scenario
    history: History
    discrepancies: pd.DataFrame
    rules: pd.DataFrame  # per rule: required, on_time, off_time, missing
    counts: dict[str, int]
    tolerance_days: float
    source: str = ""  # the scenario file
    map_file: str | None = None
    started: str = field(default_factory=_now)
    finished: str | None = None

    @property
    def exit_code(self) -> int:
        """0: the history is what the rules say; 1: it is not."""
        return 1 if len(self.discrepancies) else 0

    def summary(self, folder: str | os.PathLike | None = None) -> str:
        c = self.counts
        processing = self.scenario.processing
        around = (
            "the due time (processing: exact, S3)"
            if processing.mode == "exact"
            else f"the daily run at {processing.hour:02d}:00 that takes the job (S3)"
        )
        lines = [
            f"audit of {self.history.file} under {self.source or self.scenario.name}",
            f"history: {_n(c['records'], 'record')} of {_n(c['learners'], 'learner')}, "
            f"{_n(c['post_enrollments'], 'post enrollment')}",
            f"on time: within {_span(self.tolerance_days)} of {around}",
            f"the rules required {_n(c['required'], 'post enrollment')}: {c['on_time']} on time, "
            f"{c['off_time']} off-time, {c['missing']} missing",
            f"the history's post enrollments: {c['answered']} answer a rule, "
            f"{c['unexpected']} unexpected",
        ]
        if c["re_required"] or c["re_enrollments"]:  # S34: only where there are any
            lines[3:5] = [
                f"the rules required {_n(c['required'] - c['re_required'], 'post enrollment')}: "
                f"{c['on_time'] - c['re_on_time']} on time, {c['off_time'] - c['re_off_time']} "
                f"off-time, {c['missing'] - c['re_missing']} missing",
                f"the history's post enrollments: {c['answered'] - c['re_answered']} answer a "
                f"rule, {c['unexpected'] - c['re_unexpected']} unexpected",
                f"the certificates required {_n(c['re_required'], 're-enrollment')}: "
                f"{c['re_on_time']} on time, {c['re_off_time']} off-time, {c['re_missing']} missing",
                f"the history's re-enrollments: {c['re_answered']} answer a certificate, "
                f"{c['re_unexpected']} unexpected",
            ]
        lines[1] += f", {_n(c['re_enrollments'], 're-enrollment')}" if c["re_enrollments"] else ""
        total = len(self.discrepancies)
        if not total:
            lines.append("no discrepancies: the history is what the rules say")
            return "\n".join(lines)
        lines.append(
            f"{_n(total, 'discrepancy', 'discrepancies')}: {c['missing']} missing, "
            f"{c['unexpected']} unexpected, {c['off_time']} off-time"
        )
        for row in self.discrepancies.head(SHOWN).itertuples(index=False):
            line = row.history_line if not pd.isna(row.history_line) else None
            where = (
                f"line {line}"
                if line is not None
                else f"no record; expected on {when(row.expected_day, self.history.day0)}"
            )
            lines.append(
                f"  {row.kind}: {row.learner_id} in {row.course_id} ({where}, {row.s_rule})"
            )
            lines.append(f"    {row.explanation}")
        if total > SHOWN:
            shown = (
                f" in {Path(folder) / TABLE}.*"
                if folder is not None
                else " (--out DIR for the table)"
            )
            lines.append(f"  ... and {total - SHOWN} more{shown}")
        return "\n".join(lines)

    def meta(self, arguments: list[str] | None = None) -> dict[str, Any]:
        """What run.json records besides the files (docs/audit.md)."""
        history = Path(self.history.file)
        return {
            "tool": "postenroll-sim",
            "version": __version__,
            "command": "audit",
            "arguments": list(arguments) if arguments is not None else None,
            "source": self.source,
            "history": {
                "file": self.history.file,
                "rows": self.history.rows,
                **_fingerprint(history),
            },
            "map": self.map_file,
            "tolerance_days": self.tolerance_days,
            "day0": self.history.day0.isoformat() if self.history.day0 else None,
            "timezone": self.history.timezone,
            "counts": dict(self.counts),
            "tables": [TABLE],
            "warnings": list(self.history.warnings),
            "started": self.started,
            "scenario": self.scenario.model_dump(mode="json", by_alias=True),
        }

    def write(
        self,
        folder: str | os.PathLike | OutputFolder,
        format: str = "parquet",
        report: bool = False,
        force: bool = False,
        arguments: list[str] | None = None,
    ) -> list[Path]:
        """`<folder>/discrepancies.<format>`, `report.html` with `report`, and run.json
        last: the output folder contract of docs/outputs.md, as `Result.write` keeps it."""
        out = folder if isinstance(folder, OutputFolder) else OutputFolder.claim(folder, force)
        try:
            staged = [out.stage_table(TABLE, self.discrepancies, format)]
            if report:
                from .page import audit_page

                staged.append(out.stage_text(REPORT_NAME, audit_page(self)))
        except BaseException:
            out.discard()
            raise
        return out.commit(staged, {**self.meta(arguments), "format": format})


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _fingerprint(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def result_of(
    replay: Replay, scenario: Scenario, history: History, tolerance: float
) -> AuditResult:
    """The tables and counts of a finished replay."""
    plan, lms = replay.plan, replay.lms
    rows = []
    for requirement in replay.requirements:
        if requirement.record is not None and requirement.on_time:
            continue
        record = requirement.record
        rows.append(
            {
                "kind": "missing" if record is None else "off-time",
                "learner_id": lms.learner_ids[requirement.learner],
                "course_id": plan.course_ids[requirement.target],
                "rule_id": None if requirement.re_enrollment else plan.rule_ids[requirement.rule],
                "trigger": JOB_TRIGGERS[requirement.trigger],
                "trigger_course_id": plan.course_ids[requirement.source],
                "trigger_day": requirement.queued,
                "trigger_line": _line(replay, requirement.trigger_enrollment),
                "due_day": requirement.due,
                "expected_day": requirement.expected,
                "history_day": record.enrolled if record is not None else np.nan,
                "offset_days": requirement.offset if record is not None else np.nan,
                "history_line": record.line if record is not None else None,
                "record_id": record.record_id if record is not None else None,
                "s_rule": ("S34.4" if requirement.re_enrollment else "S19.4")
                if record is None
                else "S3",
                "explanation": replay.explain(requirement),
            }
        )
    for item in replay.unexpected:
        rows.append(
            {
                "kind": "unexpected",
                "learner_id": lms.learner_ids[item.learner],
                "course_id": plan.course_ids[item.course],
                "rule_id": plan.rule_ids[item.rule] if item.rule != NONE else None,
                "trigger": None,
                "trigger_course_id": None,
                "trigger_day": np.nan,
                "trigger_line": None,
                "due_day": np.nan,
                "expected_day": np.nan,
                "history_day": item.record.enrolled,
                "offset_days": np.nan,
                "history_line": item.record.line,
                "record_id": item.record.record_id,
                "s_rule": item.s_rule,
                "explanation": item.explanation,
            }
        )
    rows.sort(
        key=lambda r: (
            r["history_day"] if r["kind"] == "unexpected" else r["expected_day"],
            r["learner_id"],
            r["course_id"],
            KINDS.index(r["kind"]),
        )
    )
    frame = _frame(rows, plan, lms.learner_ids)
    if history.day0 is not None:
        frame = _timestamps(frame, history.day0)

    counts = {
        "records": len(history.records),
        "learners": len({r.learner for r in history.records}),
        "post_enrollments": len(history.post_enrollments),
        "required": len(replay.requirements),
        "on_time": sum(1 for r in replay.requirements if r.record is not None and r.on_time),
        "off_time": sum(1 for r in replay.requirements if r.record is not None and not r.on_time),
        "missing": sum(1 for r in replay.requirements if r.record is None),
        "unexpected": len(replay.unexpected),
    }
    counts["answered"] = counts["on_time"] + counts["off_time"]
    renewals = [r for r in replay.requirements if r.re_enrollment]  # S34
    counts |= {
        "re_enrollments": len(history.re_enrollments),
        "re_required": len(renewals),
        "re_on_time": sum(1 for r in renewals if r.record is not None and r.on_time),
        "re_off_time": sum(1 for r in renewals if r.record is not None and not r.on_time),
        "re_missing": sum(1 for r in renewals if r.record is None),
        "re_unexpected": sum(1 for u in replay.unexpected if u.re_enrollment),
    }
    counts["re_answered"] = counts["re_on_time"] + counts["re_off_time"]
    counts["discrepancies"] = counts["off_time"] + counts["missing"] + counts["unexpected"]
    return AuditResult(
        scenario, history, frame, _per_rule(replay), counts, tolerance, finished=_now()
    )


def _line(replay: Replay, enrollment: int) -> int | None:
    index = replay.record_of.get(enrollment)
    return replay.records[index].line if index is not None else None


def _frame(rows: list[dict], plan, learner_ids: list[str]) -> pd.DataFrame:
    def category(values, categories) -> pd.Categorical:
        return pd.Categorical(values, categories=pd.Index(list(categories), dtype="str"))

    column = {name: [row[name] for row in rows] for name in COLUMNS}
    learners = list(dict.fromkeys(learner_ids))
    return pd.DataFrame(
        {
            "kind": category(column["kind"], KINDS),
            "learner_id": category(column["learner_id"], learners),
            "course_id": category(column["course_id"], plan.course_ids),
            "rule_id": category(column["rule_id"], plan.rule_ids),
            "trigger": category(column["trigger"], JOB_TRIGGERS),
            "trigger_course_id": category(column["trigger_course_id"], plan.course_ids),
            "trigger_day": np.asarray(column["trigger_day"], dtype=np.float64),
            "trigger_line": pd.array(column["trigger_line"], dtype="Int32"),
            "due_day": np.asarray(column["due_day"], dtype=np.float64),
            "expected_day": np.asarray(column["expected_day"], dtype=np.float64),
            "history_day": np.asarray(column["history_day"], dtype=np.float64),
            "offset_days": np.asarray(column["offset_days"], dtype=np.float64),
            "history_line": pd.array(column["history_line"], dtype="Int32"),
            "record_id": pd.array(column["record_id"], dtype="str"),
            "s_rule": pd.array(column["s_rule"], dtype="str"),
            "explanation": pd.array(column["explanation"], dtype="str"),
        },
        columns=list(COLUMNS),
    )


def _timestamps(frame: pd.DataFrame, day0: dt.date) -> pd.DataFrame:
    """Each `*_day` column's twin `*_at`: the portal's wall clock, to the millisecond (as
    docs/outputs.md gives a run's tables theirs, without the float noise of a day count)."""
    origin = pd.Timestamp(day0)
    twins = {
        column.removesuffix("_day") + "_at": origin
        + pd.to_timedelta(frame[column].to_numpy(), unit="D").round("ms")
        for column in frame.columns
        if column.endswith("_day")
    }
    return frame.assign(**twins)


def _per_rule(replay: Replay) -> pd.DataFrame:
    plan = replay.plan
    counts: dict[str, list[int]] = {}
    for requirement in replay.requirements:
        if requirement.re_enrollment:
            continue  # no rule's: a certificate's (S34), counted apart
        row = counts.setdefault(plan.rule_ids[requirement.rule], [0, 0, 0, 0])
        row[0] += 1
        if requirement.record is None:
            row[3] += 1
        elif requirement.on_time:
            row[1] += 1
        else:
            row[2] += 1
    frame = pd.DataFrame(
        [[rule, *values] for rule, values in counts.items()],
        columns=["rule_id", "required", "on_time", "off_time", "missing"],
    )
    order = {rule: i for i, rule in enumerate(plan.rule_ids)}
    return frame.sort_values("rule_id", key=lambda s: s.map(order)).reset_index(drop=True)
