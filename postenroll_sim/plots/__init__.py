"""Figures over the analysis tables: one function per question, each returning a Figure.

Colours follow the course (the same course has the same colour in every figure of a
run), x axes show calendar dates when the scenario has a `start_date`, and every
figure says what it counts and in which unit.
"""

from __future__ import annotations

import datetime as dt
import io

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure as _MatplotlibFigure
from matplotlib.ticker import PercentFormatter

from ..analysis.timing import END_TO_END

# Figures are built as Figure objects, not through pyplot: no backend or display needed.
PALETTE = [*matplotlib.colormaps["tab10"].colors, *matplotlib.colormaps["Dark2"].colors]
OUTCOME_COLORS = {
    "enrolled": "#2e7d32",
    "skipped_already_enrolled": "#f9a825",
    "skipped_already_completed": "#ef6c00",
    "skipped_learner_removed": "#8d6e63",
    "cascade_limit": "#c62828",
    "pending": "#90a4ae",
}
STYLE = {
    "figure.dpi": 110,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titleweight": "bold",
    "axes.titlesize": 12,
    "axes.labelsize": 10,
    "legend.frameon": False,
    "legend.fontsize": 9,
}


class Figure(_MatplotlibFigure):
    """A matplotlib Figure that shows itself in Jupyter (as a PNG) without pyplot: figures
    made here never go through pyplot, so no backend registers a display for them."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


def course_colors(course_ids: list[str]) -> dict[str, tuple]:
    """One colour per course, in catalog order, so a course looks the same everywhere."""
    return {course: PALETTE[i % len(PALETTE)] for i, course in enumerate(course_ids)}


def _x(days, start_date: dt.date | None):
    days = np.asarray(days, dtype=float)
    if start_date is None:
        return days
    return (pd.Timestamp(start_date) + pd.to_timedelta(days, unit="D")).to_numpy()


def _time_axis(ax, start_date: dt.date | None, label: str = "day of the simulation") -> None:
    if start_date is None:
        ax.set_xlabel(label)
    else:
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _figure(width: float = 9, height: float = 4.5) -> tuple[Figure, Axes]:
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot()
    _style(ax)
    return fig, ax


def _style(ax) -> None:
    for key in ("top", "right"):
        ax.spines[key].set_visible(False)
    ax.grid(True, alpha=0.3)
    ax.set_axisbelow(True)


def _replications_note(n: int | None) -> str:
    return f"mean of {n} replications, band: 5-95%" if n and n > 1 else "one replication"


def completion_curves(
    curve: pd.DataFrame,
    replications: int | None = None,
    colors: dict | None = None,
    title: str = "How long each step takes",
) -> Figure:
    """Share of learners who completed each step within t days of starting it (Kaplan-Meier;
    learners still on a step at the horizon count as not done)."""
    fig, ax = _figure()
    colors = colors or {}
    for i, (step, rows) in enumerate(curve.groupby("step", sort=False)):
        color = "black" if step == END_TO_END else colors.get(step, PALETTE[i % len(PALETTE)])
        style = "--" if step == END_TO_END else "-"
        ax.plot(rows["days"], rows["mean"], style, color=color, label=step, linewidth=2)
        ax.fill_between(
            rows["days"], rows["p05"], rows["p95"], color=color, alpha=0.15, linewidth=0
        )
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("days since entering the step")
    ax.set_ylabel("learners who completed it")
    ax.set_title(f"{title}\n", loc="left")
    ax.text(
        0, 1.02, _replications_note(replications), transform=ax.transAxes, fontsize=9, color="0.4"
    )
    ax.legend(loc="lower right")
    return fig


def stacked_volume(
    volume: pd.DataFrame,
    by: str = "course_id",
    period_days: float = 7.0,
    start_date: dt.date | None = None,
    colors: dict | None = None,
    replications: int | None = None,
    title: str = "New enrollments",
    total_band: pd.DataFrame | None = None,
) -> Figure:
    """Stacked bars of new enrollment records per period and group (mean over replications);
    the grey band is the 5-95% range of the total."""
    fig, ax = _figure()
    table = volume.pivot_table(
        index="period_day", columns=by, values="mean", aggfunc="sum", observed=True
    ).fillna(0)
    order = list(dict.fromkeys(volume[by]))  # the analysis keeps catalog order; pivot sorts
    table = table[[c for c in order if c in table.columns]]
    table = table.loc[:, table.sum() > 0]
    x = _x(table.index, start_date)
    width = period_days * 0.9 if start_date is None else pd.Timedelta(days=period_days * 0.9)
    bottom = np.zeros(len(table))
    colors = colors or {}
    for i, column in enumerate(table.columns):
        ax.bar(
            x,
            table[column].to_numpy(),
            width=width,
            bottom=bottom,
            align="edge",
            color=colors.get(column, PALETTE[i % len(PALETTE)]),
            label=column,
            linewidth=0,
        )
        bottom += table[column].to_numpy()
    if total_band is not None and replications and replications > 1:
        mid = _x(total_band["period_day"] + period_days / 2, start_date)
        ax.fill_between(
            mid,
            total_band["p05"],
            total_band["p95"],
            color="0.2",
            alpha=0.15,
            step="mid",
            label="total, 5-95%",
        )
    unit = "week" if period_days == 7 else f"{period_days:g} days"
    ax.set_ylabel(f"records per {unit}")
    ax.set_title(f"{title} per {unit}\n", loc="left")
    ax.text(
        0, 1.02, _replications_note(replications), transform=ax.transAxes, fontsize=9, color="0.4"
    )
    _time_axis(ax, start_date)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def compliance_curve(
    curve: pd.DataFrame,
    validity_days: float,
    courses: list[str],
    start_date: dt.date | None = None,
    replications: int | None = None,
    target: float | None = None,
) -> Figure:
    """Share of present learners holding a completion no older than the validity period."""
    fig, ax = _figure(9, 4)
    x = _x(curve["day"], start_date)
    ax.plot(x, curve["mean"], color="#1565c0", linewidth=2, label="compliant")
    ax.fill_between(x, curve["p05"], curve["p95"], color="#1565c0", alpha=0.18, linewidth=0)
    if target is not None:
        ax.axhline(target, color="#c62828", linestyle=":", label=f"target {target:.0%}")
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("share of learners present")
    ax.set_title(
        f"Compliance: completed {', '.join(courses)} within the last {validity_days:g} days\n",
        loc="left",
    )
    ax.text(
        0, 1.02, _replications_note(replications), transform=ax.transAxes, fontsize=9, color="0.4"
    )
    _time_axis(ax, start_date)
    ax.legend(loc="lower right")
    return fig


def backlog_curve(
    backlog: pd.DataFrame, start_date: dt.date | None = None, replications: int | None = None
) -> Figure:
    """Jobs queued and not yet processed, over time."""
    fig, ax = _figure(9, 3.6)
    x = _x(backlog["day"], start_date)
    ax.plot(x, backlog["mean"], color="#6a1b9a", linewidth=2)
    ax.fill_between(x, backlog["p05"], backlog["p95"], color="#6a1b9a", alpha=0.18, linewidth=0)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("jobs waiting")
    ax.set_title(
        "Job backlog: queued by a rule, not yet processed (delays and daily runs)\n", loc="left"
    )
    ax.text(
        0, 1.02, _replications_note(replications), transform=ax.transAxes, fontsize=9, color="0.4"
    )
    _time_axis(ax, start_date)
    return fig


def rule_outcome_bars(outcomes: pd.DataFrame, replications: int | None = None) -> Figure:
    """Per rule, what its jobs did to each target: enrolled, or why not."""
    table = outcomes.pivot_table(
        index="rule_id", columns="outcome", values="mean", aggfunc="sum", observed=True
    ).fillna(0)
    table = table.loc[table.sum(axis=1) > 0]
    table = table.loc[:, [c for c in OUTCOME_COLORS if c in table.columns and table[c].sum() > 0]]
    fig, ax = _figure(9, max(2.5, 0.55 * len(table) + 1.6))
    left = np.zeros(len(table))
    y = np.arange(len(table))
    for outcome in table.columns:
        values = table[outcome].to_numpy()
        ax.barh(
            y,
            values,
            left=left,
            color=OUTCOME_COLORS[outcome],
            label=outcome.replace("_", " "),
            height=0.6,
        )
        left += values
    for yi, total in zip(y, left, strict=True):
        ax.text(total, yi, f" {total:,.0f}", va="center", fontsize=9, color="0.3")
    ax.set_yticks(y, table.index)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(
        "outcomes (one per job and target course)"
        + (", mean per replication" if replications and replications > 1 else "")
    )
    ax.set_title("What each rule did\n", loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize=8)
    return fig


def learner_gantt(
    timeline: pd.DataFrame,
    learner_id: str,
    colors: dict | None = None,
    start_date: dt.date | None = None,
) -> Figure:
    """A learner's enrollments as bars, one row per course: hatched while the course was
    invisible to them, pale before they started, solid while in progress; a tick where it
    ended (complete) or a cross (failed)."""
    courses = list(dict.fromkeys(timeline["course_id"]))
    fig, ax = _figure(9, max(2.4, 0.5 * len(courses) + 1.5))
    colors = colors or {}
    row = {course: i for i, course in enumerate(courses)}

    def span(a, b):
        left = _x([a], start_date)[0]
        width = b - a if start_date is None else pd.Timedelta(days=float(b - a))
        return left, width

    for _, r in timeline.iterrows():
        y = row[r["course_id"]]
        color = colors.get(r["course_id"], "0.4")
        visible = r["visible_day"] if pd.notna(r["visible_day"]) else r["until_day"]
        started = r["started_day"] if pd.notna(r["started_day"]) else r["until_day"]
        if visible > r["enrolled_day"]:
            ax.broken_barh(
                [span(r["enrolled_day"], visible)],
                (y - 0.3, 0.6),
                facecolors="none",
                edgecolors=color,
                hatch="///",
                linewidth=0.8,
            )
        if started > visible:
            ax.broken_barh([span(visible, started)], (y - 0.3, 0.6), facecolors=color, alpha=0.3)
        if r["until_day"] > started:
            ax.broken_barh(
                [span(started, r["until_day"])], (y - 0.3, 0.6), facecolors=color, alpha=0.9
            )
        if pd.notna(r["end_day"]):
            marker = "v" if r["status"] == "complete" else "X"
            ax.plot(_x([r["end_day"]], start_date), [y], marker=marker, color="black", markersize=6)
        label = r["rule_id"] if isinstance(r["rule_id"], str) else r["method"]
        ax.text(
            _x([r["enrolled_day"]], start_date)[0],
            y - 0.36,
            f" {label}",
            fontsize=7,
            color="0.3",
            va="bottom",
        )
    ax.set_yticks(range(len(courses)), courses)
    ax.set_ylim(len(courses) - 0.4, -0.6)
    ax.grid(axis="y", visible=False)
    ax.set_title(
        f"Learner {learner_id}: enrollments over time (label: the rule or method that enrolled)\n",
        loc="left",
    )
    _time_axis(ax, start_date)
    return fig


def seat_utilisation_bars(
    utilisation: pd.DataFrame, start_date: dt.date | None = None, colors: dict | None = None
) -> Figure:
    """Seats booked and attended per ILC session, against capacity (mean over replications)."""
    per_session = (
        utilisation.groupby(["course_id", "day"], observed=True)[["capacity", "booked", "attended"]]
        .mean()
        .reset_index()
    )
    fig, ax = _figure()
    colors = colors or {}
    for i, (course, rows) in enumerate(per_session.groupby("course_id", observed=True)):
        color = colors.get(str(course), PALETTE[i % len(PALETTE)])
        x = _x(rows["day"], start_date)
        width = 3 if start_date is None else pd.Timedelta(days=3)
        ax.bar(x, rows["booked"], width=width, color=color, alpha=0.35, label=f"{course}: booked")
        ax.bar(
            x, rows["attended"], width=width, color=color, alpha=0.95, label=f"{course}: attended"
        )
        ax.step(
            x,
            rows["capacity"],
            where="mid",
            color="black",
            linewidth=1,
            label="capacity" if i == 0 else None,
        )
    ax.set_ylim(bottom=0)
    ax.set_ylabel("seats per session")
    ax.set_title("ILC sessions: seats booked and attended\n", loc="left")
    _time_axis(ax, start_date)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def wait_histogram(waits: pd.DataFrame) -> Figure:
    """Days from an ILC course becoming visible to attending a session."""
    fig, ax = _figure(7, 3.6)
    values = waits["wait_days"].dropna()
    ax.hist(values, bins=min(40, max(5, len(values) // 10)), color="#00838f", alpha=0.85)
    if len(values):
        median = float(values.median())
        ax.axvline(median, color="black", linestyle="--")
        ax.text(median, ax.get_ylim()[1] * 0.95, f" median {median:.1f} days", va="top")
    ax.set_xlabel("days from the course appearing to attending a session")
    ax.set_ylabel("learners")
    never = int(waits["attended_day"].isna().sum())
    ax.set_title(
        "Waiting for a seat"
        + (f" ({never} never got one within the horizon)" if never else "")
        + "\n",
        loc="left",
    )
    return fig


def recertification_bars(
    load: pd.DataFrame,
    period_days: float = 7.0,
    start_date: dt.date | None = None,
    colors: dict | None = None,
    replications: int | None = None,
) -> Figure:
    """Re-enrollments (of a course completed before) per period, with the peak marked."""
    fig = stacked_volume(
        load,
        by="course_id",
        period_days=period_days,
        start_date=start_date,
        colors=colors,
        replications=replications,
        title="Recertification load: re-enrollments",
    )
    ax = fig.axes[0]
    total = load.groupby("period_day")["mean"].sum()
    if len(total) and total.max() > 0:
        peak_day = float(total.idxmax())
        ax.set_ylim(top=total.max() * 1.12)
        ax.annotate(
            f"peak {total.max():,.0f}",
            xy=(_x([peak_day + period_days / 2], start_date)[0], total.max()),
            xytext=(0, 8),
            textcoords="offset points",
            ha="center",
            fontsize=9,
        )
    return fig
