"""Figures over the analysis tables: one function per question, each returning a Figure.

Colours follow the course (the same course has the same colour in every figure of a
run), x axes show calendar dates when the scenario has a `start_date`, and every
figure says what it counts and in which unit.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
from contextlib import contextmanager

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure as _MatplotlibFigure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from .. import formatting as F
from ..analysis.timing import END_TO_END

# Ids can be in any script (张伟, Ελένη): DejaVu Sans, matplotlib's own font, has no CJK
# glyphs. The installed fonts that have them are added after it as fallbacks (matplotlib
# takes each missing glyph from the next font of the list; Latin text is unchanged), and
# a glyph that no installed font has is drawn as a box without a warning per character
# on stderr (the page and the tables have the id as text).
FALLBACK_FONTS = (
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Noto Sans",
    "Droid Sans Fallback",
    "WenQuanYi Zen Hei",
    "IPAGothic",
    "Arial Unicode MS",
)


def _add_fallback_fonts() -> None:
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    families = list(matplotlib.rcParams["font.sans-serif"])
    at = families.index("DejaVu Sans") + 1 if "DejaVu Sans" in families else 0
    extra = [f for f in FALLBACK_FONTS if f in installed and f not in families]
    matplotlib.rcParams["font.sans-serif"] = families[:at] + extra + families[at:]


_add_fallback_fonts()


@contextmanager
def quiet_glyphs():
    """No "Glyph ... missing from font" warning (one per character) while drawing."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"Glyph \d+ .* missing from", UserWarning)
        yield


# Figures are built as Figure objects, not through pyplot: no backend or display needed.
PALETTE = [*matplotlib.colormaps["tab10"].colors, *matplotlib.colormaps["Dark2"].colors]
OUTCOME_COLORS = {
    "enrolled": "#2e7d32",
    "skipped_already_enrolled": "#f9a825",
    "skipped_already_completed": "#ef6c00",
    "skipped_learner_removed": "#8d6e63",
    "skipped_renewed": "#26a69a",
    "cascade_limit": "#c62828",
    "pending": "#90a4ae",
}
VARIANT_STYLES = ["-", "--", "-.", ":"]
VARIANT_COLORS = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037"]
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

    def savefig(self, *args, **kwargs):
        with quiet_glyphs():
            return super().savefig(*args, **kwargs)

    def draw_without_rendering(self):
        with quiet_glyphs():
            return super().draw_without_rendering()

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


def _edges(days, start_date: dt.date | None) -> np.ndarray:
    """Period edges as numbers matplotlib can draw steps at (date numbers with a start date)."""
    days = np.asarray(days, dtype=float)
    if start_date is None:
        return days
    return mdates.date2num(_x(days, start_date))


def _time_axis(ax, start_date: dt.date | None, label: str = "day of the simulation") -> None:
    if start_date is None:
        ax.set_xlabel(label)
    else:
        ax.xaxis_date()
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
    return (
        f"counted per replication; mean of {n} replications, band: 5-95%"
        if n and n > 1
        else "one replication"
    )


def _counts(axis) -> None:
    """A count axis: whole-number ticks only (never 0.25 of a learner)."""
    axis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=2))


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
        ax.plot(
            rows["days"],
            rows["mean"],
            style,
            color=color,
            label=step,
            linewidth=2,
            drawstyle="steps-post",  # Kaplan-Meier curves are steps
        )
        ax.fill_between(
            rows["days"],
            rows["p05"],
            rows["p95"],
            color=color,
            alpha=0.15,
            linewidth=0,
            step="post",
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
    ylabel: str = "records",
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
    # one filled step outline per group (a bar per period, drawn as one shape: fast)
    edges = _edges(
        np.append(table.index.to_numpy(dtype=float), table.index.max() + period_days), start_date
    )
    bottom = np.zeros(len(table))
    colors = colors or {}
    for i, column in enumerate(table.columns):
        top = bottom + table[column].to_numpy()
        ax.stairs(
            top,
            edges,
            baseline=bottom.copy(),
            fill=True,
            color=colors.get(column, PALETTE[i % len(PALETTE)]),
            label=column,
            linewidth=0,
        )
        bottom = top
    if total_band is not None and replications and replications > 1 and len(total_band):
        days = total_band["period_day"].to_numpy(dtype=float)
        ax.stairs(
            total_band["p95"].to_numpy(),
            _edges(np.append(days, days.max() + period_days), start_date),
            baseline=total_band["p05"].to_numpy(),
            fill=True,
            color="0.2",
            alpha=0.18,
            linewidth=0,
            label="total, 5-95%",
        )
    ax.set_ylim(bottom=0)
    unit = "week" if period_days == 7 else ("day" if period_days == 1 else F.days(period_days))
    _counts(ax.yaxis)
    ax.set_ylabel(f"{ylabel} per {unit}")
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
        f"Compliance: completed {', '.join(courses)} within the last {F.days(validity_days)}\n",
        loc="left",
    )
    ax.text(
        0, 1.02, _replications_note(replications), transform=ax.transAxes, fontsize=9, color="0.4"
    )
    _time_axis(ax, start_date)
    ax.legend(loc="lower right")
    return fig


STATE_COLORS = {  # S37: greens while compliant, then amber, red, grey
    "valid": "#2e7d32",
    "expiring": "#9ccc65",
    "grace": "#f9a825",
    "expired": "#c62828",
    "never": "#b0bec5",
}


def compliance_states_chart(
    states: pd.DataFrame,
    course: str,
    start_date: dt.date | None = None,
    replications: int | None = None,
    over: str = "assigned",
) -> Figure:
    """Learners of one certifying course in each compliance state over time, stacked
    (S37; `analysis.compliance_states_over_time`): mean over replications."""
    fig, ax = _figure(9, 4.2)
    mine = states[states["course_id"] == course]
    table = mine.pivot_table(
        index="day", columns="state", values="mean", aggfunc="sum", observed=False
    ).fillna(0)
    table = table[[s for s in STATE_COLORS if s in table.columns]]
    x = _x(table.index.to_numpy(dtype=float), start_date)
    bottom = np.zeros(len(table))
    for state in table.columns:
        top = bottom + table[state].to_numpy()
        ax.fill_between(
            x, bottom, top, step="post", color=STATE_COLORS[state], label=state, linewidth=0
        )
        bottom = top
    ax.set_ylim(bottom=0)
    _counts(ax.yaxis)
    who = "assigned learners" if over == "assigned" else "learners present"
    ax.set_ylabel(f"{who} (count)")
    ax.set_title(f"Compliance states: {course}, {who}\n", loc="left")
    ax.text(
        0, 1.02, _replications_note(replications), transform=ax.transAxes, fontsize=9, color="0.4"
    )
    _time_axis(ax, start_date)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def monthly_bars(
    counts: pd.DataFrame,
    title: str,
    ylabel: str,
    colors: dict | None = None,
    replications: int | None = None,
) -> Figure:
    """Counts per calendar month (or 30-day period without a start date) by course, side
    by side, each with its 5-95% whisker (`analysis.expiring_per_month`,
    `analysis.re_enrollments_due_per_month`)."""
    fig, ax = _figure(9, 4)
    courses = list(dict.fromkeys(counts["course_id"]))
    dated = "month" in counts
    periods = list(dict.fromkeys(counts["month" if dated else "period_day"]))
    x = np.arange(len(periods))
    width = 0.8 / max(len(courses), 1)
    colors = colors or {}
    for i, course in enumerate(courses):
        mine = counts[counts["course_id"] == course]
        mean = mine["mean"].to_numpy()
        spread = np.vstack([mean - mine["p05"].to_numpy(), mine["p95"].to_numpy() - mean])
        ax.bar(
            x + (i - (len(courses) - 1) / 2) * width,
            mean,
            width,
            color=colors.get(course, PALETTE[i % len(PALETTE)]),
            label=course,
            yerr=spread if replications and replications > 1 else None,
            error_kw={"elinewidth": 0.8, "ecolor": "0.3", "capsize": 0},
        )
    labels = [p.strftime("%b %Y") for p in periods] if dated else [f"day {p:g}" for p in periods]
    step = max(1, int(np.ceil(len(periods) / 18)))
    ax.set_xticks(x[::step], labels[::step], rotation=45, ha="right", fontsize=8)
    ax.grid(axis="x", visible=False)
    ax.set_ylim(bottom=0)
    _counts(ax.yaxis)
    ax.set_xlabel("calendar month" if dated else "30-day period from day")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title}\n", loc="left")
    ax.text(
        0, 1.02, _replications_note(replications), transform=ax.transAxes, fontsize=9, color="0.4"
    )
    if courses:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def overdue_curve(
    overdue: pd.DataFrame,
    start_date: dt.date | None = None,
    colors: dict | None = None,
    replications: int | None = None,
) -> Figure:
    """Enrollments overdue at each time, by course (S35; `analysis.overdue_over_time`)."""
    fig, ax = _figure(9, 3.6)
    colors = colors or {}
    for i, (course, mine) in enumerate(overdue.groupby("course_id", sort=False)):
        color = colors.get(course, PALETTE[i % len(PALETTE)])
        x = _x(mine["day"], start_date)
        ax.plot(x, mine["mean"], color=color, linewidth=2, drawstyle="steps-post", label=course)
        ax.fill_between(
            x, mine["p05"], mine["p95"], color=color, alpha=0.18, linewidth=0, step="post"
        )
    ax.set_ylim(bottom=0)
    _counts(ax.yaxis)
    ax.set_ylabel("enrollments overdue")
    ax.set_title("Overdue: open past their due date (S35)\n", loc="left")
    ax.text(
        0, 1.02, _replications_note(replications), transform=ax.transAxes, fontsize=9, color="0.4"
    )
    _time_axis(ax, start_date)
    if len(overdue):
        ax.legend(loc="upper left")
    return fig


def backlog_curve(
    backlog: pd.DataFrame,
    start_date: dt.date | None = None,
    replications: int | None = None,
    re_enrollments: bool = False,
) -> Figure:
    """Jobs queued and not yet processed, over time (`re_enrollments`: certificates'
    re-enrollment jobs among them, S34)."""
    fig, ax = _figure(9, 3.6)
    x = _x(backlog["day"], start_date)
    ax.plot(x, backlog["mean"], color="#6a1b9a", linewidth=2, drawstyle="steps-post")
    ax.fill_between(
        x, backlog["p05"], backlog["p95"], color="#6a1b9a", alpha=0.18, linewidth=0, step="post"
    )
    ax.set_ylim(bottom=0)
    _counts(ax.yaxis)
    ax.set_ylabel("jobs waiting")
    queued = "by a rule or a re-enrollment (S34)" if re_enrollments else "by a rule"
    ax.set_title(
        f"Job backlog: queued {queued}, not yet processed (delays and daily runs)\n", loc="left"
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
    _counts(ax.xaxis)
    ax.set_xlabel(
        "outcomes (one per job and target course)"
        + (", mean per replication" if replications and replications > 1 else "")
    )
    ax.set_title("What each rule did\n", loc="left")
    ax.text(
        0, 1.02, _replications_note(replications), transform=ax.transAxes, fontsize=9, color="0.4"
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize=8)
    return fig


def learner_gantt(
    timeline: pd.DataFrame,
    learner_id: str,
    colors: dict | None = None,
    start_date: dt.date | None = None,
    note: str | None = None,
) -> Figure:
    """A learner's enrollments as bars, one row per course: hatched while the course was
    invisible to them, pale before they started, solid while in progress; a dot where it
    was completed, a cross where it was failed, a bar where a newer record moved it to
    history. Each bar is labelled with the rule (or method) that enrolled; labels that
    would overprint move below the bar, or are counted on the label before them."""
    courses = list(dict.fromkeys(timeline["course_id"]))
    fig, ax = _figure(9, max(2.8, 0.62 * len(courses) + 2.2))
    colors = colors or {}
    row = {course: i for i, course in enumerate(courses)}
    half = 0.2  # half the bar height; labels sit in the gap between rows

    def span(a, b):
        left = _x([a], start_date)[0]
        width = b - a if start_date is None else pd.Timedelta(days=float(b - a))
        return left, width

    labels = []
    for _, r in timeline.iterrows():
        y = row[r["course_id"]]
        color = colors.get(r["course_id"], "0.4")
        visible = r["visible_day"] if pd.notna(r["visible_day"]) else r["until_day"]
        started = r["started_day"] if pd.notna(r["started_day"]) else r["until_day"]
        if visible > r["enrolled_day"]:
            ax.broken_barh(
                [span(r["enrolled_day"], visible)],
                (y - half, 2 * half),
                facecolors="none",
                edgecolors=color,
                hatch="///",
                linewidth=0.8,
            )
        if started > visible:
            ax.broken_barh(
                [span(visible, started)], (y - half, 2 * half), facecolors=color, alpha=0.3
            )
        if r["until_day"] > started:
            ax.broken_barh(
                [span(started, r["until_day"])], (y - half, 2 * half), facecolors=color, alpha=0.9
            )
        if pd.notna(r["end_day"]):
            complete = r["status"] == "complete"
            ax.plot(
                _x([r["end_day"]], start_date),
                [y],
                marker="o" if complete else "X",
                color="black",
                markersize=6 if complete else 7,
                linestyle="none",
            )
        elif pd.notna(r["superseded_day"]):
            ax.plot(
                _x([r["superseded_day"]], start_date),
                [y],
                marker="|",
                color="black",
                markersize=12,
                linestyle="none",
            )
        label = r["rule_id"] if isinstance(r["rule_id"], str) else r["method"]
        labels.append((y, r["enrolled_day"], str(label)))
    ax.set_yticks(range(len(courses)), courses)
    ax.set_ylim(len(courses) - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    ax.set_title(
        f"Learner {learner_id}: enrollments over time (label: the rule or method that enrolled)\n",
        loc="left",
    )
    if note:
        ax.text(0, 1.02, note, transform=ax.transAxes, fontsize=9, color="0.4")
    _time_axis(ax, start_date)
    fig.legend(handles=_gantt_legend(), loc="outside lower center", ncol=3, fontsize=8)
    _place_labels(fig, ax, labels, start_date, half)
    return fig


def _gantt_legend() -> list:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    grey = "0.45"
    return [
        Patch(facecolor="none", edgecolor=grey, hatch="///", label="enrolled, not yet visible"),
        Patch(facecolor=grey, alpha=0.3, label="visible, not started"),
        Patch(facecolor=grey, alpha=0.9, label="in progress"),
        Line2D([], [], marker="o", color="black", linestyle="none", label="completed"),
        Line2D([], [], marker="X", color="black", linestyle="none", label="failed"),
        Line2D(
            [],
            [],
            marker="|",
            color="black",
            markersize=12,
            linestyle="none",
            label="moved to history (newer record)",
        ),
    ]


def _place_labels(fig, ax, labels, start_date, half) -> None:
    """Write each bar's label above it; one that would overprint a label already placed
    in its row goes below the bar; if both places are taken it is counted (`+n`) on the
    label it would have covered."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    with quiet_glyphs():  # measuring text draws it
        _place_each_label(fig, ax, labels, start_date, half)


def _place_each_label(fig, ax, labels, start_date, half) -> None:
    fig.draw_without_rendering()  # lay the figure out so text sizes are final
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    placed: dict[tuple[int, int], list] = {}  # (row, lane) -> [(text, extent)]
    for y, day, label in sorted(labels, key=lambda item: (item[0], item[1])):
        x = _x([day], start_date)[0]
        for lane, (offset, va) in enumerate(((-half - 0.03, "bottom"), (half + 0.03, "top"))):
            text = ax.text(
                x, y + offset, f" {label}", fontsize=7, color="0.25", va=va, clip_on=True
            )
            extent = text.get_window_extent(renderer)
            if extent.x1 > box.x1:  # near the right edge: end the label at the bar's start
                text.set_horizontalalignment("right")
                text.set_text(f"{label} ")
                extent = text.get_window_extent(renderer)
            taken = placed.setdefault((y, lane), [])
            if not any(extent.overlaps(other) for _, other in taken):
                taken.append((text, extent))
                break
            text.remove()
        else:  # no room in either lane: count it on the last label above the bar
            neighbour, _ = placed[(y, 0)][-1]
            base, _, more = neighbour.get_text().partition(" +")
            neighbour.set_text(f"{base} +{int(more or 0) + 1}")
            placed[(y, 0)][-1] = (neighbour, neighbour.get_window_extent(renderer))


def seat_utilisation_bars(
    utilisation: pd.DataFrame,
    start_date: dt.date | None = None,
    colors: dict | None = None,
    replications: int | None = None,
) -> Figure:
    """Seats booked and attended per ILC session, against capacity: the mean over
    replications, with the 5-95% band of seats booked as a whisker."""
    grouped = utilisation.groupby(["course_id", "day"], observed=True)
    per_session = grouped[["capacity", "booked", "attended"]].mean()
    per_session["booked_p05"] = grouped["booked"].quantile(0.05)
    per_session["booked_p95"] = grouped["booked"].quantile(0.95)
    per_session = per_session.reset_index()
    fig, ax = _figure()
    colors = colors or {}
    for i, (course, rows) in enumerate(per_session.groupby("course_id", observed=True)):
        color = colors.get(str(course), PALETTE[i % len(PALETTE)])
        x = _x(rows["day"], start_date)
        gaps = np.diff(np.sort(rows["day"].to_numpy()))
        days = float(min(max(gaps.min() * 0.6, 1.0), 10.0)) if len(gaps) else 3.0
        width = days if start_date is None else pd.Timedelta(days=days)
        ax.bar(x, rows["booked"], width=width, color=color, alpha=0.35, label=f"{course}: booked")
        ax.bar(
            x, rows["attended"], width=width, color=color, alpha=0.95, label=f"{course}: attended"
        )
        if replications and replications > 1:
            ax.errorbar(
                x,
                rows["booked"],
                yerr=[rows["booked"] - rows["booked_p05"], rows["booked_p95"] - rows["booked"]],
                fmt="none",
                ecolor="0.3",
                elinewidth=0.8,
                capsize=1.5,
                label="booked, 5-95%" if i == 0 else None,
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
    _counts(ax.yaxis)
    ax.set_ylabel("seats per session")
    ax.set_title("ILC sessions: seats booked and attended\n", loc="left")
    ax.text(
        0, 1.02, _replications_note(replications), transform=ax.transAxes, fontsize=9, color="0.4"
    )
    _time_axis(ax, start_date)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def wait_histogram(waits: pd.DataFrame, replications: list[int] | None = None) -> Figure:
    """Two waits of ILC learners (docs/analysis.md), learners per bin counted in each
    replication, then the mean (bars) and 5-95% band (whiskers): left, from the course
    becoming visible to the first booking attempt (the learner's own delay); right, from
    that attempt to the session attended."""
    from ..analysis.core import replications_of
    from ..analysis.ilc import wait_histogram_counts

    replications = replications or replications_of(waits)
    n = len(replications)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(10, 3.8), layout="constrained")
        axes = fig.subplots(1, 2)
    panels = [
        ("booking_delay_days", "days from the course appearing to booking", "#8e24aa"),
        ("seat_wait_days", "days from booking to the session attended", "#00838f"),
    ]
    for ax, (column, label, color) in zip(axes, panels, strict=True):
        _style(ax)
        counts = wait_histogram_counts(waits, column, replications=replications)
        widths = counts["right"] - counts["left"]
        ax.bar(counts["left"], counts["mean"], width=widths * 0.92, align="edge", color=color)
        if n > 1:
            ax.errorbar(
                counts["left"] + widths / 2,
                counts["mean"],
                yerr=[counts["mean"] - counts["p05"], counts["p95"] - counts["mean"]],
                fmt="none",
                ecolor="0.3",
                elinewidth=0.8,
                capsize=1.5,
            )
        medians = waits.dropna(subset=[column]).groupby("replication")[column].median()
        if len(medians):
            median = float(medians.mean())
            ax.axvline(median, color="black", linestyle="--", linewidth=1)
            ax.text(
                median,
                0.98,
                f" median {median:.1f} days" + (" (mean of replications)" if n > 1 else ""),
                va="top",
                transform=ax.get_xaxis_transform(),
                fontsize=9,
            )
        ax.set_xlabel(label)
        ax.set_ylim(bottom=0)
        _counts(ax.yaxis)
        ax.set_ylabel("learners" + (" (mean per replication)" if n > 1 else ""))
    no_seat = (
        waits[waits["no_seat"]].groupby("replication").size().reindex(replications, fill_value=0)
    )
    never = ""
    if no_seat.sum():
        never = f"; no seat within the horizon: {no_seat.mean():,.1f} learners"
        if n > 1:
            never += (
                f" per replication (5-95%: {no_seat.quantile(0.05):,.0f}"
                f"-{no_seat.quantile(0.95):,.0f})"
            )
    axes[0].set_title("ILC: booking delay (the learner's own)\n", loc="left")
    axes[1].set_title("ILC: waiting for a seat\n", loc="left")
    for ax in axes:
        ax.text(
            0,
            1.02,
            f"learners per bin counted per replication; mean of {n}, whiskers: 5-95%"
            if n > 1
            else "one replication",
            transform=ax.transAxes,
            fontsize=8,
            color="0.4",
        )
    if never:
        fig.supxlabel(never.lstrip("; "), x=0.01, ha="left", fontsize=9, color="0.3")
    return fig


def recertification_bars(
    load: pd.DataFrame,
    period_days: float = 7.0,
    start_date: dt.date | None = None,
    colors: dict | None = None,
    replications: int | None = None,
    total_band: pd.DataFrame | None = None,
    peak: dict | None = None,
) -> Figure:
    """People re-enrolled by a rule into a course they completed before, per period and
    course (a curriculum counts once, its members apart), with the 5-95% band of all
    courses together (`total_band`: `recertification_load(..., by=None)`) and the peak
    (`recertification_peak`) marked."""
    fig = stacked_volume(
        load,
        by="course_id",
        period_days=period_days,
        start_date=start_date,
        colors=colors,
        replications=replications,
        title="Recertification load: people re-enrolled",
        total_band=total_band,
        ylabel="people",
    )
    ax = fig.axes[0]
    total = load.groupby("period_day")["mean"].sum()
    top = float(total.max()) if len(total) else 0.0
    if total_band is not None and len(total_band):
        top = max(top, float(total_band["p95"].max()))
    if top > 0:
        ax.set_ylim(top=top * 1.18)
    if peak is not None and peak.get("period_day") is not None:
        day = peak["period_day"]
        who = "person" if round(peak["mean"], 1) == 1 else "people"
        text = f"peak {peak['mean']:,.{0 if peak['mean'] >= 10 else 1}f} {who} in a week"
        if replications and replications > 1:
            text += f" (5-95%: {peak['p05']:,.0f}-{peak['p95']:,.0f})"
        ax.annotate(
            text,
            xy=(_x([day + period_days / 2], start_date)[0], float(total.get(day, 0.0))),
            xytext=(0, 12),
            textcoords="offset points",
            ha="center",
            fontsize=9,
            arrowprops={"arrowstyle": "-", "color": "0.5"},
        )
    return fig


def variant_lines(
    curves: dict[str, pd.DataFrame],
    x: str,
    title: str,
    ylabel: str,
    start_date: dt.date | None = None,
    replications: int | None = None,
    share: bool = False,
    counts: bool = False,
    xlabel: str | None = None,
) -> Figure:
    """One line per sweep variant (its mean over replications) with its 5-95% band: the
    variants side by side, never added together. `x` is a day column (dates with
    `start_date`) or "days" (a duration)."""
    fig, ax = _figure(9, 4.2)
    for i, (label, curve) in enumerate(curves.items()):
        color = VARIANT_COLORS[i % len(VARIANT_COLORS)]
        if x == "period_day" and len(curve) >= 2:  # the last period drawn as wide as the rest
            last = curve.iloc[[-1]].assign(period_day=2 * curve[x].iloc[-1] - curve[x].iloc[-2])
            curve = pd.concat([curve, last], ignore_index=True)
        xs = curve[x].to_numpy() if x == "days" else _x(curve[x], start_date)
        style = VARIANT_STYLES[i % len(VARIANT_STYLES)]  # overlapping lines stay apart
        steps = "post" if x in ("period_day", "days") else None  # counts per period; KM steps
        ax.plot(
            xs,
            curve["mean"],
            style,
            color=color,
            linewidth=2,
            label=label,
            drawstyle="steps-post" if steps else "default",
        )
        ax.fill_between(
            xs, curve["p05"], curve["p95"], color=color, alpha=0.15, linewidth=0, step=steps
        )
    if share:
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        ax.set_ylim(bottom=0)
    if counts:
        _counts(ax.yaxis)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title}\n", loc="left")
    ax.text(
        0, 1.02, _replications_note(replications), transform=ax.transAxes, fontsize=9, color="0.4"
    )
    if x == "days":
        ax.set_xlabel(xlabel or "days")
    else:
        _time_axis(ax, start_date)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="variant")
    return fig


def backtest_panels(table: pd.DataFrame, replications: int, most: int = 9) -> Figure:
    """A backtest (`analysis.backtest.monthly`): for each (course, method) pair, by volume
    (at most `most`), the history's monthly counts (dots: filled inside the forecast's
    5-95% band, hollow outside) against the forecast's mean (line) and band."""
    volume = table.groupby(["course", "method"], sort=False)["actual"].sum()
    volume = volume.add(table.groupby(["course", "method"], sort=False)["mean"].sum())
    pairs = list(volume.sort_values(ascending=False, kind="stable").index[:most])
    columns = min(3, max(len(pairs), 1))
    rows = max(1, int(np.ceil(len(pairs) / columns)))
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(3.4 * columns + 0.6, 2.5 * rows + 1.0), layout="constrained")
        axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    for ax, (course, method) in zip(axes, pairs, strict=False):
        _style(ax)
        mine = table[(table["course"] == course) & (table["method"] == method)]
        when = pd.PeriodIndex(mine["month"], freq="M").to_timestamp().to_numpy()
        ax.fill_between(when, mine["p05"], mine["p95"], color=PALETTE[0], alpha=0.25, lw=0)
        ax.plot(when, mine["mean"], color=PALETTE[0], lw=1.5, label="forecast (mean, 5-95%)")
        inside = mine["inside"].to_numpy()
        ax.plot(when[inside], mine["actual"][inside], "o", color="0.15", ms=4, label="history")
        ax.plot(
            when[~inside],
            mine["actual"][~inside],
            "o",
            mfc="white",
            mec="#c0392b",
            ms=5,
            label="history, outside the band",
        )
        ax.set_title(f"{course} ({method.replace('_', ' ')})", loc="left", fontsize=10)
        ax.set_ylim(bottom=0)
        _counts(ax.yaxis)
        ax.set_ylabel("enrollments a month", fontsize=8)
        ax.set_xlabel("calendar month", fontsize=8)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %y"))
        ax.tick_params(axis="x", labelsize=7, rotation=45)
    for ax in axes[len(pairs) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels() if pairs else ([], [])
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8)
    fig.suptitle(
        f"History after the cut against the forecast ({_replications_note(replications)})",
        x=0.01,
        ha="left",
        fontsize=11,
    )
    return fig
