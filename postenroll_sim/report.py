"""A self-contained HTML report of a run: key numbers, tables and every figure, embedded.

`write_report(folder)` reads the tables and `run.json` that `Result.write` left in the
folder, so a report can be made again later from the files alone.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from . import analysis as A
from . import plots as P
from .columns import TABLES
from .outdir import REPORT_NAME, OutputError, OutputFolder, read_meta, read_tables
from .runner import Result
from .scenario import Scenario
from .summary import enrollments_by_course


def learning_path(scenario: Scenario) -> list[str]:
    """The longest chain of `completed` rules (A -> B -> C ...), as a path to time."""
    edges: dict[str, list[str]] = {}
    for course in scenario.courses:
        for rule in course.post_enrollments:
            if rule.when == "completed":
                edges.setdefault(course.id, []).extend(t for t in rule.courses if t != course.id)
    targets = {t for ts in edges.values() for t in ts}
    best: list[str] = []
    for start in [c for c in edges if c not in targets] or list(edges):
        stack = [[start]]
        while stack:
            path = stack.pop()
            nexts = [t for t in edges.get(path[-1], []) if t not in path]
            if not nexts and len(path) > len(best):
                best = path
            stack.extend([*path, t] for t in nexts)
    return best if len(best) >= 2 else []


def recertifications(scenario: Scenario) -> dict[str, float]:
    """Courses re-enrolled by their own `completed` rule with consecutive on: course ->
    recertification interval in days (the validity of a completion)."""
    found = {}
    for course in scenario.courses:
        for rule in course.post_enrollments:
            if (
                rule.when == "completed"
                and rule.allow_consecutive
                and course.id in rule.courses
                and rule.delay_days
            ):
                found[course.id] = float(rule.delay_days)
    return found


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _table(frame: pd.DataFrame, digits: int = 1) -> str:
    def fmt(value):
        if isinstance(value, float) and value != value:
            return "–"
        if isinstance(value, float):
            return f"{value:,.0f}" if value.is_integer() else f"{value:,.{digits}f}"
        return html.escape(str(value))

    head = "".join(
        f"<th>{html.escape(str(c))}</th>" for c in [frame.index.name or "", *frame.columns]
    )
    rows = "".join(
        "<tr>"
        + f"<th>{html.escape(str(i))}</th>"
        + "".join(f"<td>{fmt(v)}</td>" for v in row)
        + "</tr>"
        for i, row in zip(frame.index, frame.itertuples(index=False), strict=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def build_report(result: Result, source: str = "") -> str:
    scenario = result.scenario
    e, j, ev, s = result.enrollments, result.jobs, result.events, result.sessions
    horizon, start = scenario.horizon_days, scenario.start_date
    reps = int(e["replication"].nunique()) if e is not None and len(e) else 1
    colors = P.course_colors([c.id for c in scenario.courses])
    sections: list[tuple[str, str, str]] = []  # title, text, body

    facts = {
        "replications": reps,
        "horizon": f"{horizon:g} days" + (f" from {start:%d %b %Y}" if start else ""),
        "learners (mean per replication)": (
            ev[ev["event"] == "learner_added"].groupby("replication").size().mean()
            if ev is not None
            else float("nan")
        ),
        "enrollment records": len(e) / reps if e is not None else float("nan"),
        "rule jobs": j.groupby("replication")["job_id"].nunique().mean()
        if j is not None and len(j)
        else 0.0,
        "jobs pending at the horizon": ((j["outcome"] == "pending").sum() / reps)
        if j is not None
        else 0.0,
        "warnings": len(result.warnings),
    }
    fact_rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{v:,.0f}</td></tr>"
        if isinstance(v, float | int)
        else f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in facts.items()
    )
    sections.append(("At a glance", "", f"<table class='facts'>{fact_rows}</table>"))

    from .plots.rulegraph import report_figure

    graph, findings = report_figure(result)
    sections.append(
        (
            "The rules",
            "Courses and the rules between them (docs/designer-tools.md); loops are highlighted.",
            f"<div style='overflow-x:auto'><img style='max-width:none' src='data:image/png;base64,{_png(graph)}'></div>"
            + "".join(f"<p>{html.escape(f)}</p>" for f in findings),
        )
    )

    if e is not None and len(e):
        sections.append(
            (
                "Enrollments by course and method",
                "Records created during the run, current and superseded"
                + (", mean per replication." if reps > 1 else "."),
                _table(enrollments_by_course(e)),
            )
        )
        volume = A.enrollment_volume(e, horizon, 7.0)
        total = A.enrollment_volume(e, horizon, 7.0, by=None)
        fig = P.stacked_volume(
            volume, start_date=start, colors=colors, replications=reps, total_band=total
        )
        sections.append(("Enrollment volume", "", f"<img src='data:image/png;base64,{_png(fig)}'>"))

    if j is not None and len(j):
        outcomes = A.rule_outcomes(j)
        table = outcomes.pivot_table(
            index="rule_id", columns="outcome", values="mean", aggfunc="sum"
        ).fillna(0)
        table = table.loc[table.sum(axis=1) > 0, table.sum() > 0]
        sections.append(
            (
                "What each rule did",
                "One outcome per job and target course: enrolled, or the reason it was skipped (S19).",
                f"<img src='data:image/png;base64,{_png(P.rule_outcome_bars(outcomes, reps))}'>"
                + _table(table),
            )
        )
        backlog = A.job_backlog(j, horizon, max(horizon / 365, 1.0))
        sections.append(
            (
                "Job backlog",
                "Jobs waiting for their delay or the next daily run.",
                f"<img src='data:image/png;base64,{_png(P.backlog_curve(backlog, start, reps))}'>",
            )
        )

    path = learning_path(scenario)
    if e is not None and path:
        timing = A.learning_path_timing(e, path, horizon)
        if len(timing):
            summary = A.path_summary(timing).set_index("step")
            curve = A.completion_curve(timing)
            sections.append(
                (
                    f"Learning path: {' → '.join(path)}",
                    "Time from entering each step to completing it, and end to end. Learners still on a step "
                    "at the horizon count as not done (Kaplan-Meier).",
                    f"<img src='data:image/png;base64,{_png(P.completion_curves(curve, reps, colors))}'>"
                    + _table(_path_table(summary)),
                )
            )

    recert = recertifications(scenario)
    if e is not None and recert:
        load = A.recertification_load(e, horizon, 7.0)
        peak = A.recertification_peak(load)
        text = "Re-enrollments into courses the learner had completed before."
        if peak["period_day"] is not None:
            when = (
                (pd.Timestamp(start) + pd.Timedelta(days=peak["period_day"])).strftime("%d %b %Y")
                if start
                else f"day {peak['period_day']:g}"
            )
            text += f" Peak: {peak['mean']:,.0f} in the week from {when} (5-95%: {peak['p05']:,.0f} to {peak['p95']:,.0f})."
        sections.append(
            (
                "Recertification load",
                text,
                f"<img src='data:image/png;base64,{_png(P.recertification_bars(load, 7.0, start, colors, reps))}'>",
            )
        )
        if ev is not None:
            for course, validity in recert.items():
                curve = A.compliance(e, ev, [course], validity, horizon, max(horizon / 100, 1.0))
                latest = curve["mean"].iloc[-1]
                sections.append(
                    (
                        f"Compliance: {course}",
                        f"Share of learners present holding a completion of {course} at most {validity:g} days old "
                        f"(its recertification interval). At the horizon: {latest:.1%}.",
                        f"<img src='data:image/png;base64,{_png(P.compliance_curve(curve, validity, [course], start, reps))}'>",
                    )
                )

    if s is not None and len(s):
        utilisation = A.seat_utilisation(s)
        body = f"<img src='data:image/png;base64,{_png(P.seat_utilisation_bars(utilisation, start, colors))}'>"
        text = f"{len(s) / reps:,.0f} sessions; seats booked {s['booked'].sum() / s['capacity'].sum():.0%} of capacity, attended {s['attended'].sum() / s['capacity'].sum():.0%}."
        if ev is not None and e is not None:
            waits = A.session_waits(ev, e)
            if len(waits):
                body += f"<img src='data:image/png;base64,{_png(P.wait_histogram(waits))}'>"
                text += f" Median wait from the course appearing to attending: {waits['wait_days'].median():.1f} days."
        sections.append(("Instructor-led sessions", text, body))

    if e is not None and len(e):
        learner = _example_learner(e)
        timeline = A.learner_timeline(e, j, learner, int(e["replication"].min()), horizon)
        sections.append(
            (
                f"One learner's timeline: {learner}",
                "The learner with the most enrollments in the first replication.",
                f"<img src='data:image/png;base64,{_png(P.learner_gantt(timeline, learner, colors, start))}'>",
            )
        )

    if result.warnings:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in dict.fromkeys(result.warnings))
        sections.append(("Warnings", "", f"<ul>{items}</ul>"))
    return _page(scenario, source, sections)


def _path_table(summary: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "learners who started it": summary["started"].round(1),
            "completed by the horizon": [f"{v:.0%}" for v in summary["completed_share"]],
            "median days": [_days(v) for v in summary["median_days"]],
            "90% done within (days)": [_days(v) for v in summary["p90_days"]],
        },
        index=summary.index,
    )


def _days(value: float) -> str:
    return "not reached" if value != value else f"{value:.1f}"


def _example_learner(enrollments: pd.DataFrame) -> str:
    first = enrollments[enrollments["replication"] == enrollments["replication"].min()]
    counts = first["learner_id"].astype("str").value_counts()
    return str(counts.index[0])


def _page(scenario: Scenario, source: str, sections: list[tuple[str, str, str]]) -> str:
    made = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = "".join(
        f"<section><h2>{html.escape(title)}</h2>"
        + (f"<p>{html.escape(text)}</p>" if text else "")
        + content
        + "</section>"
        for title, text, content in sections
    )
    description = (
        f"<p class='lead'>{html.escape(scenario.description)}</p>" if scenario.description else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(scenario.name)} - postenroll-sim report</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222; background: #fafafa; }}
header {{ background: #263238; color: white; padding: 24px 40px; }}
header h1 {{ margin: 0 0 6px 0; font-size: 24px; }}
header p {{ margin: 0; opacity: 0.8; }}
main {{ max-width: 1100px; margin: 0 auto; padding: 16px 40px 60px; }}
section {{ background: white; border-radius: 8px; padding: 16px 24px; margin: 18px 0; box-shadow: 0 1px 3px rgba(0,0,0,0.08); }}
h2 {{ font-size: 18px; margin: 4px 0 8px; }}
p.lead {{ font-size: 15px; }}
img {{ max-width: 100%; display: block; margin: 8px 0; }}
table {{ border-collapse: collapse; margin: 8px 0; font-size: 13px; }}
th, td {{ padding: 4px 10px; border-bottom: 1px solid #eee; text-align: right; }}
th:first-child {{ text-align: left; }}
thead th {{ border-bottom: 2px solid #ccc; }}
table.facts th {{ text-align: left; font-weight: normal; color: #555; }}
table.facts td {{ font-weight: 600; }}
footer {{ color: #888; font-size: 12px; text-align: center; }}
</style></head>
<body><header><h1>{html.escape(scenario.name)}</h1><p>{html.escape(source)}</p></header>
<main>{description}{body}<footer>made by postenroll-sim on {made}; semantics: docs/semantics.md</footer></main>
</body></html>
"""


def write_report(folder: str | Path, result: Result | None = None, source: str = "") -> Path:
    """Write `report.html` into a complete run folder (reading its tables when `result` is
    None) and record it in the folder's run.json. A run that is still being written
    passes its report to `Result.write` instead (see `build_report`)."""
    folder = Path(folder)
    meta = read_meta(folder)
    if result is None:
        result, source = read_run(folder)
    page = build_report(result, source)
    out = OutputFolder.claim(folder, force=True)  # our own folder: its files are listed
    try:
        item = out.stage_text(REPORT_NAME, page)
    except BaseException:
        out.discard()
        raise
    files = [f for f in meta["files"] if f.get("name") != REPORT_NAME]
    out.commit([item], meta, kept=files)
    return folder / REPORT_NAME


def read_run(folder: str | Path) -> tuple[Result, str]:
    """The tables and scenario of a complete run folder (OutputError when it is not one:
    incomplete, damaged, or not written by `postenroll-sim run`)."""
    folder = Path(folder)
    meta = read_meta(folder)
    if meta.get("command") == "audit":
        raise OutputError(
            f"{folder} holds an audit, not a run: its page is written by "
            "`postenroll-sim audit ... --out DIR --report`"
        )
    tables = read_tables(folder, meta)
    try:
        scenario = Scenario.model_validate(meta["scenario"])
    except (KeyError, ValidationError):
        raise OutputError(
            f"{folder / 'run.json'}: its scenario cannot be read by this version; "
            "run the scenario again"
        ) from None
    result = Result(
        scenario,
        **{name: frame for name, frame in tables.items() if name in TABLES},
        warnings=meta.get("warnings", []),
        seed=meta.get("seed"),
        replications=meta.get("replications", 1),
        variants=meta.get("variants", []),
    )
    return result, meta.get("source", "")
