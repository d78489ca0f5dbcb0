"""The measures the report's sections show, each a `tables.Part`: the analysis part taken
of each chunk of a variant's tables and its join (analysis/*: `volume_counts` and
`volume_band`, ...). Nothing is measured here: each part calls the analysis functions
that the whole-table functions call, so the page shows what they give."""

from __future__ import annotations

import pandas as pd

from .. import analysis as A
from ..analysis import certificates as C
from ..analysis import compare as K
from ..analysis import metrics as M
from ..analysis.timing import END_TO_END
from ..run.runner import concat
from ..run.summary import by_course_counts, by_course_of
from .tables import Chunk, Part

# the columns of the per-learner parts the page reads (the rest would only take memory)
TIMING_COLUMNS = ["replication", "step", "duration_days", "completed"]
WAIT_COLUMNS = [
    "replication",
    "course_id",
    "attended_day",
    "booking_delay_days",
    "seat_wait_days",
    "no_seat",
]
AGAIN_COLUMNS = ["replication", "course_id", "kind"]


def _t(chunk: Chunk, name: str) -> pd.DataFrame | None:
    return getattr(chunk.result, name)


def _horizon(chunk: Chunk) -> float:
    return chunk.result.scenario.horizon_days


def _stacked(parts: list, _joining=None) -> pd.DataFrame:
    return (
        concat([p for p in parts if p is not None]) if any(p is not None for p in parts) else None
    )


def numbers(
    path: list[str] | None, validity: dict[str, float] | None, key_only: bool = False
) -> Part:
    """`comparison_numbers` (the key numbers first) of each variant; `key_only`: the key
    numbers alone (`key_numbers`)."""
    numbers_of = K.chunk_key_numbers if key_only else K.chunk_numbers

    def take(chunk: Chunk):
        return numbers_of(chunk.result, chunk.replications, path, validity)

    key = (
        "numbers",
        key_only,
        tuple(path or ()),
        tuple(sorted(validity.items())) if validity else None,
    )
    return Part(key, take, lambda parts, j: K.joined_numbers(j.scenario, parts))


def rule_counts() -> Part:
    """What each rule did, for the rule graph (`rulegraph.rule_counts`)."""
    from ..design.rulegraph import build
    from ..design.rulegraph import rule_counts as counts

    graphs: dict = {}

    def take(chunk: Chunk):
        jobs = _t(chunk, "jobs")
        if jobs is None or not len(jobs):
            return pd.DataFrame()
        scenario = chunk.result.scenario
        graph = graphs.setdefault(id(scenario), build(scenario))
        return counts(jobs, _t(chunk, "events"), graph)

    return Part(("rule counts",), take, lambda parts, j: parts)


def by_course(bands: bool = True) -> Part:
    """`enrollments_by_course`."""
    return Part(
        ("by course", bands),
        lambda chunk: by_course_counts(_t(chunk, "enrollments"), chunk.replications, bands),
        lambda parts, j: by_course_of(parts, j.replications),
    )


def volume(period_days: float, by: str | None) -> Part:
    """`enrollment_volume`."""
    return Part(
        ("volume", period_days, by),
        lambda chunk: M.volume_counts(_t(chunk, "enrollments"), period_days, by),
        lambda parts, j: M.volume_band(
            parts, j.scenario.horizon_days, period_days, by, j.found_in("enrollments")
        ),
    )


def outcomes() -> Part:
    """`rule_outcomes`."""
    return Part(
        ("outcomes",),
        lambda chunk: M.outcome_counts(_t(chunk, "jobs")),
        lambda parts, j: M.outcomes_band(parts, j.found_in("jobs")),
    )


def backlog() -> Part:
    """`job_backlog`, an instant a day (or a year's 365 instants over a longer run)."""

    def step(horizon: float) -> float:
        return max(horizon / 365, 1.0)

    return Part(
        ("backlog",),
        lambda chunk: M.backlog_counts(_t(chunk, "jobs"), _horizon(chunk), step(_horizon(chunk))),
        lambda parts, j: M.backlog_band(
            parts,
            j.scenario.horizon_days,
            step(j.scenario.horizon_days),
            j.found_in("jobs"),
        ),
    )


def any_value(table: str, column: str, value: str) -> Part:
    """Whether any row of `table` has `value` in `column`."""

    def take(chunk: Chunk) -> bool:
        frame = _t(chunk, table)
        if frame is None or column not in frame:
            return False
        return bool((frame[column].astype("str") == value).any())

    return Part(("any", table, column, value), take, lambda parts, j: any(parts))


def timing(path: list[str]) -> Part:
    """`learning_path_timing`, the columns the path's figure and table read, the steps as
    categories (a row per learner and step of every replication: its bytes count)."""
    steps = pd.CategoricalDtype(list(dict.fromkeys([*path, END_TO_END])))

    def take(chunk: Chunk) -> pd.DataFrame:
        found = A.learning_path_timing(_t(chunk, "enrollments"), path, _horizon(chunk))
        return found[TIMING_COLUMNS].astype({"step": steps})

    return Part(("timing", tuple(path)), take, lambda parts, j: pd.concat(parts, ignore_index=True))


def _members(scenario) -> dict[str, list[str]]:
    return A.curricula(scenario)


def re_enrollments() -> Part:
    """`re_enrollments` (replication, course and kind of each), a curriculum's members
    apart (each variant's own curricula)."""
    return Part(
        ("again",),
        lambda chunk: A.re_enrollments(_t(chunk, "enrollments"), _members(chunk.result.scenario))[
            AGAIN_COLUMNS
        ],
        _stacked,
    )


def load(period_days: float, by: str | None) -> Part:
    """`recertification_load` (each variant's own curricula)."""
    return Part(
        ("load", period_days, by),
        lambda chunk: M.load_counts(
            _t(chunk, "enrollments"), period_days, None, _members(chunk.result.scenario), by
        ),
        lambda parts, j: M.load_band(
            parts, j.scenario.horizon_days, period_days, None, by, j.found_in("enrollments")
        ),
    )


def peak(period_days: float) -> Part:
    """`recertification_peak` (each variant's own curricula)."""
    return Part(
        ("peak", period_days),
        lambda chunk: M.peak_counts(
            _t(chunk, "enrollments"), period_days, None, _members(chunk.result.scenario)
        ),
        lambda parts, j: M.peak_band(
            parts, j.scenario.horizon_days, period_days, j.found_in("enrollments")
        ),
    )


def expiring() -> Part:
    """`expiring_per_month`."""
    return Part(
        ("expiring",),
        lambda chunk: C.expiring_counts(_t(chunk, "certificates"), chunk.result.scenario),
        lambda parts, j: C.per_month_band(parts, j.scenario, j.found_in("certificates")),
    )


def due() -> Part:
    """`re_enrollments_due_per_month`."""
    return Part(
        ("due",),
        lambda chunk: C.due_counts(_t(chunk, "jobs"), chunk.result.scenario),
        lambda parts, j: C.per_month_band(parts, j.scenario, j.found_in("jobs")),
    )


def overdue() -> Part:
    """`overdue_over_time`, an instant a day (or 365 instants over a longer run)."""

    def step(horizon: float) -> float:
        return max(horizon / 365, 1.0)

    def take(chunk: Chunk):
        horizon = _horizon(chunk)
        return C.overdue_counts(
            _t(chunk, "events"), _t(chunk, "enrollments"), horizon, step(horizon)
        )

    return Part(
        ("overdue",),
        take,
        lambda parts, j: C.overdue_band(
            parts,
            j.scenario.horizon_days,
            step(j.scenario.horizon_days),
            j.found_in("events", "enrollments"),
        ),
    )


def compliance_step(scenario) -> float:
    """The step of the compliance curves: a hundred instants over the horizon, a day at
    least."""
    return max(scenario.horizon_days / 100, 1.0)


def state_counts(courses: list[str], at_horizon: bool = False) -> Part:
    """`compliance_state_counts` of `courses`: every `compliance_step`, or at the horizon
    alone (each variant's own)."""

    def grid(scenario):
        return ([scenario.horizon_days] if at_horizon else None), compliance_step(scenario)

    def take(chunk: Chunk):
        r = chunk.result
        days, step = grid(r.scenario)
        return C.state_counts(
            r.certificates, r.enrollments, r.events, r.scenario, days, step, courses
        )

    def join(parts, j):
        days, step = grid(j.scenario)
        found = j.found_in("certificates", "enrollments", "events")
        return C.joined_state_counts(parts, j.scenario, found, days, step, courses)

    return Part(("states", tuple(courses), at_horizon), take, join)


def sessions() -> Part:
    """The sessions table itself (a row a session and replication: small)."""
    return Part(("sessions",), lambda chunk: _t(chunk, "sessions"), _stacked)


def waits() -> Part:
    """`session_waits`, the columns the page reads."""
    return Part(
        ("waits",),
        lambda chunk: A.session_waits(_t(chunk, "events"), _t(chunk, "enrollments"))[WAIT_COLUMNS],
        lambda parts, j: pd.concat(parts, ignore_index=True),
    )


def rows_of(table: str, replication: int) -> Part:
    """The rows of one replication of `table`."""

    def take(chunk: Chunk):
        if replication not in chunk.replications:
            return None
        frame = _t(chunk, table)
        return frame[frame["replication"] == replication]

    return Part(("rows", table, replication), take, _stacked)


def of_replication(key, chosen: dict, measure) -> Part:
    """`measure(result, who, replication, label)` of the chunk holding the replication
    `chosen[label]` = (who, replication) names (a learner's timeline and story), once."""

    def take(chunk: Chunk):
        if chunk.label not in chosen:
            return None
        who, replication = chosen[chunk.label]
        if replication not in chunk.replications:
            return None
        return measure(chunk.result, who, replication, chunk.label)

    def join(parts, j):
        return next((p for p in parts if p is not None), None)

    return Part((key, tuple(sorted(chosen.items(), key=str))), take, join)
