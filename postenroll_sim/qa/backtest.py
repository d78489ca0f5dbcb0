"""`postenroll-sim backtest`: would the forecast have been right? The scenario (with an
`initial_state`) is warm-started at a cut date inside its history (S39-S41, the history
cut there), simulated to a later date over replications, and what the history shows
after the cut is compared, month by month, per course and method, with the forecast's
mean and 5-95% band (`analysis/backtest.py`; docs/backtest.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ..analysis import backtest as numbers
from ..formatting import days as span_of_days
from ..history.exports import History, read_history
from ..history.warm import cut_scenario, map_of
from ..run.outdir import REPORT_NAME, OutputFolder
from ..run.runner import simulate_replications
from ..scenario import Problem, Scenario, ScenarioError

TABLES = ("backtest", "backtest_pairs")  # the monthly cells; the scores of each pair


class BacktestProblem(ValueError):
    """A cut or an end the history cannot be backtested at (a one-line exit 2)."""


@dataclass
class BacktestResult:
    scenario: Scenario
    source: str
    history: History
    cut: dt.date
    until: dt.date
    replications: int
    seed: int | None
    monthly: pd.DataFrame  # analysis.backtest.monthly
    pairs: pd.DataFrame  # analysis.backtest.by_pair
    scores: numbers.Scores
    warm_start: dict[str, int] | None = None
    warnings: list[str] = field(default_factory=list)

    def exit_code(self, min_coverage: float | None) -> int:
        """1 when `--min-coverage` is given and the coverage falls short of it."""
        if min_coverage is None:
            return 0
        coverage = self.scores.coverage
        return 0 if coverage == coverage and coverage >= min_coverage else 1

    def summary(self, min_coverage: float | None = None) -> str:
        s = self.scores
        lines = [
            f"backtest of {self.source} against {_shown(self.history.file)}",
            f"cut {self.cut.isoformat()}, forecast to {self.until.isoformat()} "
            f"({span_of_days((self.until - self.cut).days)}), {self.replications} replications"
            + (f", seed {self.seed}" if self.seed is not None else ""),
        ]
        if self.warm_start is not None:
            w = self.warm_start
            lines.append(
                f"warm start at the cut: {w['records']:,} history records replayed, "
                f"{w['pending']:,} jobs pending, {w['open']:,} open enrollments continued"
            )
        lines.append(
            f"after the cut: {s.actual:,} enrollments in the history, "
            f"{s.forecast:,.1f} forecast (mean)"
        )
        if s.cells:
            lines.append(
                f"coverage {s.coverage:.0%} ({s.inside} of {s.cells} course-method-months "
                f"inside the forecast's 5-95% band); MAPE {_pct(s.mape)}; bias {_signed(s.bias)}"
            )
        else:
            lines.append("nothing to compare: no enrollment after the cut, in either")
        if len(self.pairs):
            lines.append("per course and method:")
            width = max(
                len(f"{c} ({m})") for c, m in zip(self.pairs.course, self.pairs.method, strict=True)
            )
            for row in self.pairs.itertuples(index=False):
                name = f"{row.course} ({row.method})"
                lines.append(
                    f"  {name:<{width}}  {row.actual:>6,} actual  {row.forecast:>8,.1f} forecast"
                    f"  coverage {row.coverage:>4.0%}  MAPE {_pct(row.mape):>5}  "
                    f"bias {_signed(row.bias):>5}"
                )
        if min_coverage is not None:
            met = self.exit_code(min_coverage) == 0
            lines.append(
                f"--min-coverage {min_coverage:.0%}: {'met' if met else 'NOT met'} (exit {0 if met else 1})"
            )
        return "\n".join(lines)

    def meta(self, arguments: list[str] | None, fmt: str) -> dict[str, Any]:
        s = self.scores
        return {
            "tool": "postenroll-sim",
            "version": __version__,
            "command": "backtest",
            "arguments": list(arguments) if arguments is not None else None,
            "source": self.source,
            "history": self.history.file,
            "cut": self.cut.isoformat(),
            "until": self.until.isoformat(),
            "replications": self.replications,
            "seed": self.seed,
            "scores": {
                "cells": s.cells,
                "inside": s.inside,
                "coverage": _number(s.coverage),
                "mape": _number(s.mape),
                "bias": _number(s.bias),
                "actual": s.actual,
                "forecast": s.forecast,
            },
            "warm_start": self.warm_start,
            "tables": list(TABLES),
            "format": fmt,
            "warnings": list(self.warnings),
        }

    def write(
        self,
        folder: OutputFolder,
        fmt: str = "csv",
        report: bool = False,
        arguments: list[str] | None = None,
    ) -> list[Path]:
        """`backtest.<fmt>` (the monthly cells), `backtest_pairs.<fmt>`, `report.html`
        with `report`, run.json last (the output folder contract, docs/outputs.md)."""
        try:
            staged = [
                folder.stage_table("backtest", self.monthly, fmt),
                folder.stage_table("backtest_pairs", self.pairs, fmt),
            ]
            if report:
                staged.append(
                    folder.stage_text(REPORT_NAME, backtest_page(self, f"backtest.{fmt}"))
                )
        except BaseException:
            folder.discard()
            raise
        return folder.commit(staged, self.meta(arguments, fmt))


def _shown(path: str) -> str:
    """A path as the user would type it: relative to the working folder when inside it
    (initial_state's files are made absolute when the scenario is read)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _number(value: float) -> float | None:
    return None if value != value else float(value)


def _pct(value: float) -> str:
    return "–" if value != value else f"{value:.0%}"


def _signed(value: float) -> str:
    return "–" if value != value else f"{value:+.0%}"


def history_frame(history: History) -> pd.DataFrame:
    """Every record's course, method and creation moment (a timestamp on the history's
    calendar, to the second)."""
    day0 = pd.Timestamp(history.day0)
    days = pd.Series([r.enrolled for r in history.records], dtype="float64")
    return pd.DataFrame(
        {
            "course": pd.Series([r.course for r in history.records], dtype="str"),
            "method": pd.Series([r.method for r in history.records], dtype="str"),
            "enrolled_at": day0 + pd.to_timedelta((days * 86_400).round(), unit="s"),
        }
    )


def last_date(history: History) -> dt.date:
    """The day after the history's last moment: the default end of a backtest."""
    last = max(
        max(d for d in (r.enrolled, r.started, r.completed, r.failed, r.removed) if d is not None)
        for r in history.records
    )
    moment = pd.Timestamp(history.day0) + pd.Timedelta(seconds=round(last * 86_400))
    return moment.date() + dt.timedelta(days=1)


def backtest(
    scenario: Scenario,
    cut: dt.date,
    until: dt.date | None = None,
    replications: int = 20,
    seed: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
    source: str = "scenario",
) -> BacktestResult:
    """Warm-start `scenario` at `cut`, simulate to `until` (default: the day after the
    history's last moment) and compare with what the history shows in between."""
    state = scenario.initial_state
    if state is None:
        raise BacktestProblem(
            f"{source} has no initial_state: a backtest cuts the scenario's history "
            "(initial_state.history) at --cut and forecasts from there"
        )
    # the whole history, after the cut too (a warm start reads only what comes before)
    history = read_history(state.history, scenario, map_of(state.map), window=False)
    if not history.records:
        raise ScenarioError([Problem(history.file, None, (), "the history has no records")])
    end = until or last_date(history)
    first = (
        pd.Timestamp(history.day0) + pd.Timedelta(days=min(r.enrolled for r in history.records))
    ).date()
    if cut <= first:
        raise BacktestProblem(
            f"--cut {cut} is not after the history's first record ({first}): "
            "there is nothing to warm-start from"
        )
    if end <= cut:
        raise BacktestProblem(f"the end of the backtest ({end}) is not after --cut {cut}")
    try:
        forecast_scenario = cut_scenario(scenario, cut, end)
    except ValueError as exc:
        raise BacktestProblem(str(exc)) from None
    forecast = simulate_replications(
        forecast_scenario,
        replications,
        seed=seed if seed is not None else scenario.seed,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        tables=("enrollments",),
    )
    cut_at, end_at = pd.Timestamp(cut), pd.Timestamp(end)
    enrollments = forecast.enrollments[["replication", "course_id", "method", "enrolled_at"]]
    table = numbers.monthly(history_frame(history), enrollments, cut_at, end_at, replications)
    return BacktestResult(
        scenario=scenario,
        source=source,
        history=history,
        cut=cut,
        until=end,
        replications=replications,
        seed=forecast.seed,
        monthly=table,
        pairs=numbers.by_pair(table),
        scores=numbers.scores(table),
        warm_start=forecast.warm_start,
        warnings=list(history.warnings) + list(forecast.warnings),
    )


def backtest_page(result: BacktestResult, data_file: str | None = None) -> str:
    """The page of a backtest: its scores, the figure of history against forecast, the
    table of each pair and of each month."""
    from ..plots import backtest_panels
    from ..report.pages import png_uri, render

    s = result.scores
    facts = [
        ("scenario", result.source),
        ("history", result.history.file),
        ("cut", result.cut.isoformat()),
        (
            "forecast to",
            f"{result.until.isoformat()} ({span_of_days((result.until - result.cut).days)})",
        ),
        ("replications", f"{result.replications} (seed {result.seed})"),
    ]
    if result.warm_start is not None:
        w = result.warm_start
        facts.append(
            (
                "warm start at the cut",
                f"{w['records']:,} records replayed, {w['pending']:,} jobs pending, "
                f"{w['open']:,} open enrollments continued (S39, S40)",
            )
        )
    tiles = [
        ("coverage (months inside the 5-95% band)", "–" if s.cells == 0 else f"{s.coverage:.0%}"),
        ("mean absolute percentage error", _pct(s.mape)),
        ("bias (forecast against history)", _signed(s.bias)),
        ("enrollments after the cut: history", f"{s.actual:,}"),
        ("forecast (mean)", f"{s.forecast:,.1f}"),
    ]
    figure = png_uri(backtest_panels(result.monthly, result.replications)) if s.cells else None
    pairs = [
        [
            row.course,
            row.method.replace("_", " "),
            f"{row.months}",
            f"{row.actual:,}",
            f"{row.forecast:,.1f}",
            _pct(row.coverage),
            _pct(row.mape),
            _signed(row.bias),
        ]
        for row in result.pairs.itertuples(index=False)
    ]
    months = [
        [
            row.month,
            row.course,
            row.method.replace("_", " "),
            f"{row.actual:,}",
            f"{row.mean:,.1f}",
            f"{row.p05:,.1f} – {row.p95:,.1f}",
            "yes" if row.inside else "no",
        ]
        for row in result.monthly.itertuples(index=False)
    ]
    return render(
        "backtest.html",
        heading=f"Backtest: {result.scenario.name}",
        source=result.source,
        history=result.history.file,
        facts=facts,
        tiles=tiles,
        figure=figure,
        pairs=pairs,
        months=months,
        warnings=result.warnings,
        data_file=data_file,
    )
