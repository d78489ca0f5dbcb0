"""The HTML page of an audit (`audit --report`): counts, each rule's record, every
discrepancy with its explanation. Self-contained, no figures (nothing to import)."""

from __future__ import annotations

import datetime as dt
import html
import math

import pandas as pd

from .replay import _span

_COLOURS = {"missing": "#c62828", "unexpected": "#6a1b9a", "off-time": "#ef6c00"}


def _cell(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "–"
    if isinstance(value, float) and math.isnan(value):
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    return html.escape(str(value))


def _table(frame: pd.DataFrame, columns: list[str], css: str = "") -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for row in frame[columns].itertuples(index=False):
        cells = []
        for name, value in zip(columns, row, strict=True):
            if name == "kind":
                colour = _COLOURS.get(str(value), "#555")
                cells.append(
                    f"<td><span class='kind' style='background:{colour}'>{_cell(value)}</span></td>"
                )
            else:
                cells.append(f"<td class='{name}'>{_cell(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table class='{css}'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


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
    facts_html = (
        "<table class='facts'>"
        + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts)
        + "</table>"
    )
    tiles = "".join(
        f"<div class='tile' style='border-color:{colour}'><b>{value}</b><span>{label}</span></div>"
        for label, value, colour in (
            ("required by the rules", c["required"], "#455a64"),
            ("on time", c["on_time"], "#2e7d32"),
            ("missing", c["missing"], _COLOURS["missing"]),
            ("off-time", c["off_time"], _COLOURS["off-time"]),
            ("unexpected", c["unexpected"], _COLOURS["unexpected"]),
        )
    )
    sections = [
        ("What was audited", facts_html),
        ("Counts", f"<div class='tiles'>{tiles}</div>"),
    ]
    if len(result.rules):
        sections.append(
            (
                "Each rule",
                _table(result.rules, ["rule_id", "required", "on_time", "off_time", "missing"]),
            )
        )
    frame = result.discrepancies
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
        sections.append(("Discrepancies", _table(frame, columns, "discrepancies")))
    else:
        sections.append(("Discrepancies", "<p>None: the history is what the rules say.</p>"))
    body = "".join(
        f"<section><h2>{html.escape(title)}</h2>{content}</section>" for title, content in sections
    )
    made = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    title = f"Audit: {scenario.name}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} - postenroll-sim</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222; background: #fafafa; }}
header {{ background: #263238; color: white; padding: 24px 40px; }}
header h1 {{ margin: 0 0 6px 0; font-size: 24px; }}
header p {{ margin: 0; opacity: 0.8; }}
main {{ max-width: 1200px; margin: 0 auto; padding: 16px 40px 60px; }}
section {{ background: white; border-radius: 8px; padding: 16px 24px; margin: 18px 0; box-shadow: 0 1px 3px rgba(0,0,0,0.08); }}
h2 {{ font-size: 18px; margin: 4px 0 8px; }}
table {{ border-collapse: collapse; margin: 8px 0; font-size: 13px; }}
th, td {{ padding: 4px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }}
thead th {{ border-bottom: 2px solid #ccc; }}
table.facts th {{ font-weight: normal; color: #555; }}
td.explanation {{ max-width: 520px; }}
span.kind {{ color: white; border-radius: 4px; padding: 1px 6px; white-space: nowrap; }}
.tiles {{ display: flex; gap: 12px; flex-wrap: wrap; }}
.tile {{ border-left: 5px solid; padding: 6px 14px; background: #f5f5f5; min-width: 120px; }}
.tile b {{ display: block; font-size: 22px; }}
.tile span {{ color: #555; font-size: 13px; }}
footer {{ color: #888; font-size: 12px; text-align: center; }}
</style></head>
<body><header><h1>{html.escape(title)}</h1><p>{html.escape(result.source)} against {html.escape(result.history.file)}</p></header>
<main>{body}<footer>made by postenroll-sim on {made}; semantics: docs/semantics.md; discrepancies: docs/audit.md</footer></main>
</body></html>
"""
