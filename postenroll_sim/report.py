"""A self-contained HTML report of a run: key numbers, tables and every figure, embedded.

Every number is worked out per replication, then shown as the mean with a 5-95% band.
A run of several sweep variants gets a comparison report: the variants side by side,
and each key number's difference against the first variant with a 95% interval
(paired replication by replication: variants share their random streams). Variants are
never added together.

`write_report(folder)` reads the tables and `run.json` that `Result.write` left in the
folder, so a report can be made again later from the files alone.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from . import analysis as A
from . import plots as P
from .analysis.core import replications_of
from .analysis.rules import check_path, curricula, learning_path, recertifications
from .analysis.timing import END_TO_END
from .columns import TABLES
from .outdir import REPORT_NAME, OutputError, OutputFolder, read_meta, read_tables
from .runner import Result
from .scenario import Scenario
from .scenario.diff import compare_scenarios, draws_nothing_at_random
from .summary import enrollments_by_course

__all__ = [
    "ReportError",
    "build_report",
    "check_learner",
    "learning_path",
    "read_run",
    "recertifications",
    "write_report",
]

Progress = Callable[[str], None] | None
Section = tuple[str, str, str]  # title (plain), text (HTML), body (HTML)
esc = html.escape


class ReportError(ValueError):
    """A report that cannot be made as asked (an unknown learner or path course)."""


# ----- formatting ---------------------------------------------------------------------


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(fig) -> str:
    return f"<img src='data:image/png;base64,{_png(fig)}'>"


def _kind(name: str) -> str:
    lowered = name.lower()
    if "share" in lowered or "compliant" in lowered:
        return "share"
    if "days" in lowered:
        return "days"
    return "count"


def _decimals(value: float, kind: str) -> int:
    """Whole numbers for counts from 100 (or whole means), one decimal below."""
    if kind != "count":
        return 1
    return 0 if float(value).is_integer() or abs(value) >= 100 else 1


def _number(value: float, kind: str = "count", decimals: int | None = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    decimals = _decimals(value, kind) if decimals is None else decimals
    if kind == "share":
        return f"{value:.{decimals}%}"
    return f"{value:,.{decimals}f}"


def _band(mean: float, p05: float, p95: float, kind: str, reps: int) -> str:
    """'mean (p05 to p95)', the band in the mean's precision; no band for one replication
    or when every replication had the same value."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    decimals = _decimals(mean, kind)
    text = _number(mean, kind, decimals)
    if reps > 1 and not (p05 == p95 == mean):
        text += (
            f" <span class='band'>({_number(p05, kind, decimals)} to "
            f"{_number(p95, kind, decimals)})</span>"
        )
    return text


def _signed(value: float, kind: str) -> str:
    if value is None or math.isnan(value):
        return "–"
    if value == 0:
        return "0"
    if kind == "share":
        text = f"{value * 100:+.1f} pts"
    elif kind == "days":
        text = f"{value:+,.1f}"
    else:
        whole = float(value).is_integer() or abs(value) >= 100
        text = f"{value:+,.0f}" if whole else f"{value:+,.1f}"
    return text[1:] if not text.strip("-+0.,pts ") else text  # -0.0 (rounded): 0.0


def _table(frame: pd.DataFrame, digits: int = 1, raw: bool = False) -> str:
    """An HTML table; `raw` cells are HTML already (made by this module)."""

    def fmt(value):
        if raw and isinstance(value, str):
            return value
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


def _reps_text(reps: int) -> str:
    return (
        f"Counted in each of the {reps} replications, then the mean, with the 5-95% band "
        "across replications in brackets."
        if reps > 1
        else "One replication."
    )


def _say(progress: Progress, what: str) -> None:
    if progress is not None:
        progress(what)


# ----- choices: path and learner ---------------------------------------------------


def _path_for(scenario: Scenario, path: list[str] | None) -> tuple[list[str], str]:
    if path:
        try:
            return check_path(scenario, list(path)), "given with --path"
        except ValueError as exc:
            raise ReportError(str(exc)) from None
    found = learning_path(scenario)
    return found, (
        "the longest chain of “completed” rules that starts where learners enter "
        "(enrolled by an administrator, on hire or from the catalog), never at a "
        "remediation course; choose another with --path"
    )


def _replications(result: Result) -> list[int]:
    found = replications_of(*result.tables().values())
    return sorted(set(found) | set(range(max(result.replications, 1))))


def _learner_for(result: Result, learner: str | None) -> tuple[str, int] | None:
    e = result.enrollments
    if e is None or not len(e):
        if learner is not None:
            raise ReportError(f"learner {learner!r}: the run has no enrollments table")
        return None
    ids = e["learner_id"].astype("str")
    if learner is None:
        first = int(e["replication"].min())
        counts = ids[e["replication"] == first].value_counts()
        return str(counts.index[0]), first
    mine = e[ids == str(learner)]
    if not len(mine):
        raise ReportError(f"learner {learner!r} has no enrollment in this run")
    return str(learner), int(mine["replication"].min())


def check_learner(result: Result, learner: str | None) -> None:
    """ReportError when `learner` has no enrollment in the run (in any variant)."""
    if learner is not None:
        for _, single in result.split_variants():
            _learner_for(single, learner)


# ----- one run (any number of replications) ---------------------------------------------


def build_report(
    result: Result,
    source: str = "",
    path: list[str] | None = None,
    learner: str | None = None,
    progress: Progress = None,
) -> str:
    """The report page of a run. A run of several sweep variants gets the comparison
    report. `path` chooses the learning path to time (default: `learning_path`),
    `learner` the learner whose timeline is drawn (default: the one with the most
    enrollments in the first replication); `progress(what)` hears each section."""
    variants = result.split_variants()
    if len(variants) > 1:
        return _comparison(result, variants, source, path, learner, progress)
    label, single = variants[0]
    return _single(single, source, path, learner, progress, label)


def _single(
    result: Result,
    source: str,
    path: list[str] | None,
    learner: str | None,
    progress: Progress,
    label: str | None = None,
) -> str:
    scenario = result.scenario
    e, j = result.enrollments, result.jobs
    horizon, start = scenario.horizon_days, scenario.start_date
    replications = _replications(result)
    reps = len(replications)
    colors = P.course_colors([c.id for c in scenario.courses])
    path, path_reason = _path_for(scenario, path)
    chosen = _learner_for(result, learner)
    sections: list[Section] = []

    _say(progress, "key numbers")
    keys = A.key_numbers(result, path, replications=replications)
    rows = {
        "replications": str(reps),
        "horizon": f"{horizon:g} days" + (f" from {start:%d %b %Y}" if start else ""),
    }
    if label is not None:
        rows["variant"] = html.escape(label)
    for name in keys.columns:
        band = A.summarise(keys[name])
        rows[name] = _band(band["mean"], band["p05"], band["p95"], _kind(name), reps)
    rows["warnings"] = str(len(dict.fromkeys(result.warnings)))
    fact_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in rows.items())
    sections.append(
        (
            "At a glance",
            _reps_text(reps),
            f"<table class='facts'>{fact_rows}</table>",
        )
    )

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
        _say(progress, "enrollment volume")
        table = enrollments_by_course(e, replications)
        sections.append(
            (
                "Enrollments by course and method",
                "Records created during the run, current and superseded: mean per replication"
                + (" (the total's 5-95% band in its own column)." if reps > 1 else "."),
                _table(table),
            )
        )
        volume = A.enrollment_volume(e, horizon, 7.0)
        total = A.enrollment_volume(e, horizon, 7.0, by=None)
        fig = P.stacked_volume(
            volume, start_date=start, colors=colors, replications=reps, total_band=total
        )
        sections.append(("Enrollment volume", "", _img(fig)))

    if j is not None and len(j):
        _say(progress, "rule outcomes")
        outcomes = A.rule_outcomes(j)
        table = outcomes.pivot_table(
            index="rule_id", columns="outcome", values="mean", aggfunc="sum", observed=True
        ).fillna(0)
        table = table.loc[table.sum(axis=1) > 0, table.sum() > 0]
        sections.append(
            (
                "What each rule did",
                "One outcome per job and target course: enrolled, or the reason it was skipped "
                "(S19)" + (", mean per replication." if reps > 1 else "."),
                _img(P.rule_outcome_bars(outcomes, reps)) + _table(table),
            )
        )
        _say(progress, "job backlog")
        backlog = A.job_backlog(j, horizon, max(horizon / 365, 1.0))
        sections.append(
            (
                "Job backlog",
                "Jobs waiting for their delay or the next daily run.",
                _img(P.backlog_curve(backlog, start, reps)),
            )
        )

    if e is not None and path:
        _say(progress, "learning path")
        timing = A.learning_path_timing(e, path, horizon)
        if len(timing):
            summary = A.path_summary(timing, replications)
            curve = A.completion_curve(timing)
            sections.append(
                (
                    f"Learning path: {' → '.join(path)}",
                    f"The path is {esc(path_reason)}. Time from entering each step to completing "
                    "it, and end to end; learners still on a step at the horizon count as not "
                    "done (Kaplan-Meier). " + _reps_text(reps),
                    _img(P.completion_curves(curve, reps, colors)) + _path_table(summary, reps),
                )
            )

    sections += _recertification_sections(result, replications, colors, progress)
    sections += _ilc_sections(result, replications, colors, progress)

    if chosen is not None:
        _say(progress, "learner timeline")
        who, replication = chosen
        timeline = A.learner_timeline(e, j, who, replication, horizon)
        how = (
            "chosen with --learner"
            if learner is not None
            else "the learner with the most enrollments in the first replication; choose "
            "another with --learner"
        )
        sections.append(
            (
                f"One learner's timeline: {who}",
                f"Replication {replication}: {esc(how)}.",
                _img(
                    P.learner_gantt(timeline, who, colors, start, note=f"replication {replication}")
                )
                + _story(result, who, replication),
            )
        )

    if result.warnings:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in dict.fromkeys(result.warnings))
        sections.append(("Warnings", "", f"<ul>{items}</ul>"))
    return _page(scenario.name, scenario.description, source, sections)


def _path_table(summary: pd.DataFrame, reps: int) -> str:
    frame = pd.DataFrame(index=pd.Index(summary["step"], name="step"))
    measures = {
        "learners who started it": ("started", "count"),
        "completed by the horizon": ("completed_share", "share"),
        "median days": ("median_days", "days"),
        "90% done within (days)": ("p90_days", "days"),
    }
    for title, (name, kind) in measures.items():
        cells = []
        for _, row in summary.iterrows():
            if name.endswith("_days") and row[f"{name}_reached"] == 0:
                cells.append("not reached")
                continue
            cell = _band(row[name], row[f"{name}_p05"], row[f"{name}_p95"], kind, reps)
            reached = row.get(f"{name}_reached", reps)
            if name.endswith("_days") and reached < reps:
                cell += f" <span class='band'>reached in {reached:.0f} of {reps}</span>"
            cells.append(cell)
        frame[title] = cells
    return _table(frame, raw=True)


def _recertification_sections(result, replications, colors, progress) -> list[Section]:
    scenario, e, ev = result.scenario, result.enrollments, result.events
    if e is None or not len(e):
        return []
    horizon, start, reps = scenario.horizon_days, scenario.start_date, len(replications)
    recert = recertifications(scenario)
    members = curricula(scenario)
    again = A.re_enrollments(e, members)
    if not recert and not len(again):
        return []
    _say(progress, "recertification load")
    sections = []
    kinds = _kinds_table(again, replications, reps)
    text = (
        "People re-enrolled by a rule into a course they had completed before, each person "
        "once per week and course. A curriculum counts once: the member courses re-taken "
        "for it are counted apart, and so are learners who enrolled themselves again from "
        "the catalog (table). " + _reps_text(reps)
    )
    body = ""
    load = A.recertification_load(e, horizon, 7.0, curricula=members)
    if load["mean"].sum() > 0:
        total = A.recertification_load(e, horizon, 7.0, curricula=members, by=None)
        peak = A.recertification_peak(e, horizon, 7.0, curricula=members)
        when = (
            (pd.Timestamp(start) + pd.Timedelta(days=peak["period_day"])).strftime("%d %b %Y")
            if start
            else f"day {peak['period_day']:g}"
        )
        text += (
            f" Peak: {_band(peak['mean'], peak['p05'], peak['p95'], 'count', reps)} "
            f"{'person' if peak['mean'] == 1 else 'people'} in "
            f"one week (each replication's busiest week); on average the busiest week starts {when}."
        )
        body += _img(P.recertification_bars(load, 7.0, start, colors, reps, total, peak))
    body += kinds
    sections.append(("Recertification load", text, body))
    if ev is not None:
        for course, validity in recert.items():
            _say(progress, f"compliance {course}")
            curve = A.compliance(e, ev, [course], validity, horizon, max(horizon / 100, 1.0))
            latest = curve.iloc[-1]
            sections.append(
                (
                    f"Compliance: {course}",
                    f"Share of learners present holding a completion of {esc(course)} at most "
                    f"{validity:g} days old (its recertification interval), each learner once. "
                    f"At the horizon: {_band(latest['mean'], latest['p05'], latest['p95'], 'share', reps)}. "
                    + _reps_text(reps),
                    _img(P.compliance_curve(curve, validity, [course], start, reps)),
                )
            )
    return sections


def _kinds_table(again: pd.DataFrame, replications: list[int], reps: int) -> str:
    """Re-enrollments over the whole run by course and kind (people per replication)."""
    if not len(again):
        return ""
    titles = {
        "rule": "re-enrolled by a rule (recertification)",
        "curriculum member": "member re-taken for its curriculum",
        "catalog re-take": "catalog re-take (self-enrolled again)",
        "admin": "re-enrolled by an administrator",
        "bundle": "re-enrolled by a bundle",
    }
    frame = again.assign(course=again["course_id"].astype("str"))
    rows = {}
    for course, mine in frame.groupby("course", sort=False):
        cells = {}
        for kind, title in titles.items():
            counts = (
                mine[mine["kind"] == kind]
                .groupby("replication")
                .size()
                .reindex(replications, fill_value=0)
            )
            band = A.summarise(counts)
            cells[title] = _band(band["mean"], band["p05"], band["p95"], "count", reps)
        rows[course] = cells
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "course"
    used = [t for k, t in titles.items() if (again["kind"] == k).any()]
    return _table(table[used], raw=True)


def _ilc_sections(result, replications, colors, progress) -> list[Section]:
    scenario, e, ev, s = result.scenario, result.enrollments, result.events, result.sessions
    if s is None or not len(s):
        return []
    _say(progress, "ILC sessions")
    reps, start = len(replications), scenario.start_date
    body = _img(P.seat_utilisation_bars(A.seat_utilisation(s), start, colors, reps))
    summary = A.seat_summary(s, replications)
    text = (
        "Seats booked and attended per session. Waits (docs/analysis.md): the booking delay "
        "runs from the course becoming visible to the learner's first booking attempt (their "
        "own delay); the wait for a seat from that attempt to the session they attended. "
        + _reps_text(reps)
    )
    if ev is not None and e is not None:
        waits = A.session_waits(ev, e)
        if len(waits):
            body += _img(P.wait_histogram(waits, replications))
            summary = pd.concat([summary, A.wait_summary(waits, replications)], ignore_index=True)
    table = pd.DataFrame(
        {
            "course": summary["course_id"],
            "measure": summary["measure"],
            "value": [
                _band(r["mean"], r["p05"], r["p95"], _kind(r["measure"]), reps)
                for _, r in summary.iterrows()
            ],
        }
    ).pivot(index="measure", columns="course", values="value")
    table = table.reindex(list(dict.fromkeys(summary["measure"])))
    body += _table(table, raw=True)
    return [("Instructor-led sessions", text, body)]


# ----- several variants: the comparison report ------------------------------------------


def _comparison(
    result: Result,
    variants: list[tuple[str, Result]],
    source: str,
    path: list[str] | None,
    learner: str | None,
    progress: Progress,
) -> str:
    first = variants[0][1].scenario
    replications = _replications(result)
    reps = len(replications)
    path, path_reason = _path_for(first, path)
    validity = recertifications(first)
    for _, v in variants[1:]:  # courses only another variant recertifies, at its interval
        for course, days in recertifications(v.scenario).items():
            validity.setdefault(course, days)
    seeds = {str(v.get("seed")) for v in result.variants} if result.variants else {"same"}
    paired = len(seeds) == 1
    sections: list[Section] = []

    records = {str(r.get("label")): r for r in result.variants}
    compared = result.command == "compare"  # `postenroll-sim compare A B`: two files
    described = pd.DataFrame(
        {
            **(
                {"file": [str(records.get(label, {}).get("source", "")) for label, _ in variants]}
                if compared
                else {}
            ),
            "seed": [str(records.get(label, {}).get("seed", "")) for label, _ in variants],
            "horizon (days)": [f"{v.scenario.horizon_days:g}" for _, v in variants],
        },
        index=pd.Index([label for label, _ in variants], name="variant"),
    )
    changes = ""
    if compared and len(variants) == 2:
        found = compare_scenarios(first, variants[1][1].scenario, ("A", "B"), seed_given=True)
        items = "".join(f"<li>{esc(c)}</li>" for c in found.changes)
        changes = (
            f"<p>What differs in B ({esc(variants[1][0])}) against A ({esc(variants[0][0])}):</p>"
            f"<ul>{items}</ul>"
            if items
            else "<p>The two scenarios run the same rules: every difference should be 0.</p>"
        )
    sections.append(
        (
            (
                f"A: {variants[0][0]}, B: {variants[1][0]}; {reps} replication"
                f"{'s' if reps > 1 else ''} each"
                if compared and len(variants) == 2
                else f"{len(variants)} variants, {reps} replication{'s' if reps > 1 else ''} each"
            ),
            (
                "A and B are each run on their own; nothing below adds them together. "
                if compared
                else "Each variant is one scenario run on its own; nothing below adds "
                "variants together. "
            )
            + (
                "The variants share their replication seeds (common random numbers): "
                "replication r of every variant met the same learners on the same days."
                if paired
                else "The variants ran with different seeds: differences are between "
                "independent samples."
            ),
            _table(described) + changes,
        )
    )

    keys = {}
    for label, v in variants:
        _say(progress, f"key numbers: {label}")
        keys[label] = A.comparison_numbers(v, path, validity, replications)
    names = list(dict.fromkeys(n for k in keys.values() for n in k[A.KEY_NUMBERS].columns))
    if not (compared and len(variants) == 2):  # compare: the means go in the table of changes
        side = pd.DataFrame(index=pd.Index(names, name="key number"))
        for label, numbers in keys.items():
            frame = numbers[A.KEY_NUMBERS]
            side[label] = [_mean_cell(frame, name, reps) for name in names]
        sections.append(
            (
                "Key numbers side by side",
                _reps_text(reps) + (f" Learning path: {esc(' → '.join(path))}." if path else ""),
                _table(side, raw=True),
            )
        )

    if len(variants) > 1:
        exact = all(draws_nothing_at_random(v.scenario) for _, v in variants)
        base_label, base = next(iter(keys.items()))
        tables = {
            f"{label} minus {base_label}": A.compare_numbers(base, numbers, paired, exact)
            for label, numbers in list(keys.items())[1:]
        }
        how = (
            "paired replication by replication (common random numbers)"
            if paired
            else "as independent samples (Welch)"
        )
        if exact:
            note = (
                "The scenarios draw nothing at random (no population, no behaviour): every "
                "replication is the same, so each difference is exact."
            )
        elif reps > 1:
            note = f"Mean difference with its 95% interval in brackets, {esc(how)}."
        else:
            note = (
                "Mean difference; one replication gives no interval, so nothing is marked: "
                "run with --replications 20."
            )
        marked = "changed" if exact else "changed beyond noise: the 95% interval excludes 0"
        count = sum(int(t["changed"].sum()) for t in tables.values())
        note += (
            f" <span class='changed'>Highlighted</span>: {marked} ({count} "
            f"{'difference' if count == 1 else 'differences'})."
            if exact or reps > 1
            else ""
        )
        if compared and len(variants) == 2:
            sections.append(
                (
                    f"What changed: B ({variants[1][0]}) minus A ({base_label})",
                    f"A and B: {_reps_text(reps).lower()[:-1]}"
                    + (f"; learning path: {esc(' → '.join(path))}" if path else "")
                    + f". B minus A: {note[0].lower()}{note[1:]}",
                    _difference_table(tables, exact, reps, means=keys),
                )
            )
        else:
            sections.append(
                (
                    f"Difference against the first variant ({base_label})",
                    note,
                    _difference_table(tables, exact, reps),
                )
            )

    sections += _compare_volumes(variants, replications, progress)
    sections += _compare_rules(variants, progress)
    if path:
        sections += _compare_path(variants, path, path_reason, replications, progress)
    sections += _compare_recertification(variants, validity, replications, progress)
    sections += _compare_ilc(variants, replications, progress)

    if learner is not None:
        for label, v in variants:
            _say(progress, f"learner timeline: {label}")
            who, replication = _learner_for(v, learner)
            timeline = A.learner_timeline(
                v.enrollments, v.jobs, who, replication, v.scenario.horizon_days
            )
            colors = P.course_colors([c.id for c in v.scenario.courses])
            sections.append(
                (
                    f"Learner {who}: {label}",
                    f"Variant {esc(label)}, replication {replication}.",
                    _img(
                        P.learner_gantt(
                            timeline,
                            who,
                            colors,
                            v.scenario.start_date,
                            note=f"variant {label}, replication {replication}",
                        )
                    )
                    + _story(v, who, replication, label),
                )
            )

    if result.warnings:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in dict.fromkeys(result.warnings))
        sections.append(("Warnings", "", f"<ul>{items}</ul>"))
    title = (
        f"{variants[0][0]} compared with {variants[1][0]}"
        if compared and len(variants) == 2
        else f"{first.name}: {len(variants)} variants compared"
    )
    return _page(title, first.description, source, sections)


def _mean_cell(frame: pd.DataFrame, name: str, reps: int) -> str:
    """A number's mean over replications with its 5-95% band (HTML)."""
    values = frame[name] if name in frame else pd.Series(dtype=float)
    band = A.summarise(values)
    cell = _band(band["mean"], band["p05"], band["p95"], _kind(name), reps)
    have = int(values.notna().sum())
    if 0 < have < reps:  # a percentile some replications never reached, ...
        cell += f" <span class='band'>in {have} of {reps} replications</span>"
    return cell


def _difference_table(
    tables: dict[str, pd.DataFrame],
    exact: bool,
    reps: int,
    means: dict[str, dict[str, pd.DataFrame]] | None = None,
) -> str:
    """The differences of `A.compare_numbers` (one column per variant against the first),
    a header row per group, each cell that changed highlighted; with `means` (each
    variant's `A.comparison_numbers`), first a column of means per variant."""
    first = next(iter(tables.values()))
    means = means or {}
    columns = [
        *(f"{'AB'[i]}: {label}" if len(means) == 2 else label for i, label in enumerate(means)),
        *(("B minus A",) if len(means) == 2 else tables),
    ]
    head = "".join(f"<th>{esc(c)}</th>" for c in ["number", *columns])
    rows = []
    for group, frame in first.groupby(level="group", sort=False):
        rows.append(f"<tr class='group'><th colspan='{len(columns) + 1}'>{esc(group)}</th></tr>")
        for key in frame.index:
            cells = [
                f"<td>{_mean_cell(numbers.get(key[0], pd.DataFrame()), key[1], reps)}</td>"
                if key[1] in numbers.get(key[0], pd.DataFrame()) or key[0] not in A.COUNTED
                else f"<td>{_number(0.0)}</td>"
                for numbers in means.values()
            ]
            for table in tables.values():
                if key not in table.index:
                    cells.append("<td>–</td>")
                    continue
                d = table.loc[key]
                kind = _kind(key[1])
                cell = _signed(d["difference"], kind)
                if d["exact"] and not exact:
                    cell += " <span class='band'>(the same in every replication)</span>"
                elif not d["exact"] and not math.isnan(d["low"]):
                    cell += (
                        f" <span class='band'>[{_signed(d['low'], kind)}, "
                        f"{_signed(d['high'], kind)}]</span>"
                    )
                if 0 < d["n"] < reps:  # a number some replications do not have
                    cell += f" <span class='band'>in {d['n']} of {reps} replications</span>"
                changed = " class='changed'" if d["changed"] else ""
                cells.append(f"<td{changed}>{cell}</td>")
            rows.append(f"<tr><th>{esc(key[1])}</th>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _overlay_period(horizon_days: float) -> tuple[float, str]:
    """The period of the overlaid count lines: weeks, or 4 weeks past a year (weekly
    counts that alternate with fortnightly sessions would draw two combs over each other)."""
    return (7.0, "week") if horizon_days <= 366 else (28.0, "4 weeks")


def _whole_periods(curve: pd.DataFrame, days: float, horizon_days: float) -> pd.DataFrame:
    """The periods that end by the horizon: a last, shorter period would draw as a drop."""
    whole = curve[curve["period_day"] + days <= horizon_days + 1e-9]
    return whole if len(whole) else curve


def _compare_volumes(variants, replications, progress) -> list[Section]:
    if any(v.enrollments is None for _, v in variants):
        return []
    _say(progress, "enrollment volume")
    reps = len(replications)
    first = variants[0][1].scenario
    days, period = _overlay_period(first.horizon_days)
    curves = {
        label: _whole_periods(
            A.enrollment_volume(v.enrollments, v.scenario.horizon_days, days, by=None),
            days,
            v.scenario.horizon_days,
        )
        for label, v in variants
    }
    fig = P.variant_lines(
        curves,
        "period_day",
        f"New enrollment records per {period}, by variant",
        f"records per {period}",
        first.start_date,
        reps,
        counts=True,
    )
    table = pd.concat(
        {
            label: enrollments_by_course(v.enrollments, replications, bands=False)["total"]
            for label, v in variants
        },
        axis=1,
    ).fillna(0.0)
    table.index = table.index.astype("str")
    table.index.name = "course"
    return [
        (
            "Enrollment volume",
            f"All courses together per {period}; the table gives the records per course over the "
            "whole run (mean per replication).",
            _img(fig) + _table(table),
        )
    ]


def _compare_rules(variants, progress) -> list[Section]:
    if any(v.jobs is None for _, v in variants):
        return []
    _say(progress, "rule outcomes")
    frames = {}
    for label, v in variants:
        outcomes = A.rule_outcomes(v.jobs)
        frames[label] = outcomes.set_index(["rule_id", "outcome"])["mean"]
    table = pd.concat(frames, axis=1).fillna(0.0)
    table = table[table.sum(axis=1) > 0]
    table.index = [f"{rule}: {outcome.replace('_', ' ')}" for rule, outcome in table.index]
    table.index.name = "rule: outcome"
    return [
        (
            "What each rule did",
            "One outcome per job and target course, mean per replication, by variant.",
            _table(table),
        )
    ]


def _compare_path(variants, path, reason, replications, progress) -> list[Section]:
    _say(progress, "learning path")
    reps = len(replications)
    if any(v.enrollments is None for _, v in variants):
        return []
    curves, rows = {}, {}
    timings = {
        label: A.learning_path_timing(v.enrollments, path, v.scenario.horizon_days)
        for label, v in variants
    }
    timings = {label: t for label, t in timings.items() if len(t)}
    if not timings:
        return []
    done = pd.concat(
        [
            t.loc[t["completed"] & (t["step"] == END_TO_END), "duration_days"]
            for t in timings.values()
        ]
    )
    longest = max(float(done.quantile(0.99) * 1.25), 1.0) if len(done) else None
    for label, timing in timings.items():  # one time axis for every variant
        curve = A.completion_curve(timing[timing["step"] == END_TO_END], max_days=longest)
        curves[label] = curve
        summary = A.path_summary(timing, replications).set_index("step")
        whole = summary.loc[END_TO_END]
        rows[label] = {
            "learners who started it": _band(
                whole["started"], whole["started_p05"], whole["started_p95"], "count", reps
            ),
            "completed by the horizon": _band(
                whole["completed_share"],
                whole["completed_share_p05"],
                whole["completed_share_p95"],
                "share",
                reps,
            ),
            **{
                f"{name} days end to end": _band(
                    whole[f"{key}_days"],
                    whole[f"{key}_days_p05"],
                    whole[f"{key}_days_p95"],
                    "days",
                    reps,
                )
                + (
                    f" <span class='band'>reached in {int(whole[f'{key}_days_reached'])} of {reps}</span>"
                    if whole[f"{key}_days_reached"] < reps
                    else ""
                )
                for name, key in (("median", "median"), ("p90", "p90"))
            },
        }
    if not curves:
        return []
    fig = P.variant_lines(
        curves,
        "days",
        f"Learning path {' → '.join(path)}: completed end to end within t days",
        "learners who completed the path",
        replications=reps,
        share=True,
        xlabel="days since entering the path",
    )
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "variant"
    return [
        (
            f"Learning path: {' → '.join(path)}",
            f"The path is {esc(reason)}. Kaplan-Meier per replication (learners still on the path "
            "at the horizon count as not done). " + _reps_text(reps),
            _img(fig) + _table(table, raw=True),
        )
    ]


def _compare_recertification(variants, validity, replications, progress) -> list[Section]:
    if not validity or any(v.enrollments is None for _, v in variants):
        return []
    _say(progress, "recertification load")
    reps = len(replications)
    first = variants[0][1].scenario
    curves, peaks = {}, {}
    days, period = _overlay_period(first.horizon_days)
    for label, v in variants:
        members = curricula(v.scenario)
        curves[label] = _whole_periods(
            A.recertification_load(
                v.enrollments, v.scenario.horizon_days, days, curricula=members, by=None
            ),
            days,
            v.scenario.horizon_days,
        )
        peak = A.recertification_peak(
            v.enrollments, v.scenario.horizon_days, 7.0, curricula=members
        )
        peaks[label] = {
            "peak people in one week": _band(peak["mean"], peak["p05"], peak["p95"], "count", reps)
        }
    sections = [
        (
            "Recertification load",
            f"People re-enrolled by a rule into a course they completed before, per {period}, "
            "all courses together (each person once; a curriculum's members are not counted "
            "again); the peak is each replication's busiest week. " + _reps_text(reps),
            _img(
                P.variant_lines(
                    curves,
                    "period_day",
                    f"Recertification load: people re-enrolled per {period}, by variant",
                    f"people per {period}",
                    first.start_date,
                    reps,
                    counts=True,
                )
            )
            + _table(
                pd.DataFrame.from_dict(peaks, orient="index").rename_axis("variant"), raw=True
            ),
        )
    ]
    if any(v.events is None for _, v in variants):
        return sections
    for course, days in validity.items():
        _say(progress, f"compliance {course}")
        curves = {
            label: A.compliance(
                v.enrollments,
                v.events,
                [course],
                days,
                v.scenario.horizon_days,
                max(v.scenario.horizon_days / 100, 1.0),
            )
            for label, v in variants
        }
        sections.append(
            (
                f"Compliance: {course}",
                f"Share of learners present holding a completion of {esc(course)} at most {days:g} "
                "days old, the same validity for every variant. " + _reps_text(reps),
                _img(
                    P.variant_lines(
                        curves,
                        "day",
                        f"Compliance: completed {course} within the last {days:g} days",
                        "share of learners present",
                        first.start_date,
                        reps,
                        share=True,
                    )
                ),
            )
        )
    return sections


def _compare_ilc(variants, replications, progress) -> list[Section]:
    if any(v.sessions is None or not len(v.sessions) for _, v in variants):
        return []
    _say(progress, "ILC sessions")
    reps = len(replications)
    columns = {}
    for label, v in variants:
        summary = A.seat_summary(v.sessions, replications)
        if v.events is not None and v.enrollments is not None:
            waits = A.session_waits(v.events, v.enrollments)
            summary = pd.concat([summary, A.wait_summary(waits, replications)], ignore_index=True)
        columns[label] = pd.Series(
            [
                _band(r["mean"], r["p05"], r["p95"], _kind(r["measure"]), reps)
                for _, r in summary.iterrows()
            ],
            index=[f"{r['course_id']}: {r['measure']}" for _, r in summary.iterrows()],
        )
    table = pd.concat(columns, axis=1).fillna("–")
    table.index.name = "course: measure"
    return [
        (
            "Instructor-led sessions",
            "Seats and waits by variant (the waits are defined in docs/analysis.md). "
            + _reps_text(reps),
            _table(table, raw=True),
        )
    ]


# ----- the page ---------------------------------------------------------------------


def _page(name: str, description: str | None, source: str, sections: list[Section]) -> str:
    from markupsafe import Markup

    from .pages import render

    # (interim) the sections are still HTML made here, user ids escaped where used
    shown = [(title, Markup(text), Markup(content)) for title, text, content in sections]
    return render(
        "report.html", heading=name, description=description, source=source, sections=shown
    )


# ----- folders ----------------------------------------------------------------------


def write_report(
    folder: str | Path,
    result: Result | None = None,
    source: str = "",
    path: list[str] | None = None,
    learner: str | None = None,
    progress: Progress = None,
    force: bool = False,
    wait: bool = False,
) -> Path:
    """Write `report.html` into a complete run folder (reading its tables when `result` is
    None) and record it in the folder's run.json. A `report.html` the run did not write
    is replaced only with `force`; the folder is locked meanwhile (`wait`: wait for
    another run holding it). A run that is still being written passes its report to
    `Result.write` instead (see `build_report`)."""
    folder = Path(folder)
    read_meta(folder)  # a folder that is no run is said so before it is claimed
    out = OutputFolder.claim(folder, force=force, wait=wait, beside=True)
    try:
        meta = read_meta(folder)  # again, now that no other run can change it
        out.check_replaceable([REPORT_NAME])
        if result is None:
            _say(progress, "reading the tables")
            result, source = read_run(folder)
        page = build_report(result, source, path=path, learner=learner, progress=progress)
        item = out.stage_text(REPORT_NAME, page)
    except BaseException:
        out.discard()
        raise
    files = [f for f in meta["files"] if f["name"] != REPORT_NAME]
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
        for variant in meta.get("variants", []):
            if "scenario" in variant:  # a dict: read_meta checked the record's shape
                Scenario.model_validate(variant["scenario"])
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
        command=meta.get("command"),
    )
    return result, meta.get("source", "")


def _story(result: Result, learner: str, replication: int, variant: str | None = None) -> str:
    """The learner's account from `explain` (docs/explain.md), under the timeline."""
    if result.events is None:
        return "<p>(The events table was left out of this run, so there is no account.)</p>"
    from .explain import explain

    if variant is not None and "variant" not in result.events.columns:
        variant = None  # a variant already split out of its sweep
    frame = explain(result, learner, replication=replication, variant=variant)
    rows = "".join(
        f"<tr><td>{'' if math.isnan(day) else f'{day:g}'}</td><td>{html.escape(str(text))}</td></tr>"
        for day, text in zip(frame["day"], frame["text"], strict=True)
    )
    return (
        f"<h3>What happened to {html.escape(learner)}, and why</h3>"
        "<p>Each step with its reason and the rule of docs/semantics.md behind it "
        f"(<code>postenroll-sim explain SCENARIO --learner {html.escape(learner)}</code>).</p>"
        f"<table class='story'><tr><th>day</th><th>what happened</th></tr>{rows}</table>"
    )
