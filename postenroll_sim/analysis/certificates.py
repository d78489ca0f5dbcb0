"""Compliance on certificates (S31-S37): each present learner's state in each certifying
course at any instant, the shares over both denominators, certificates expiring and
re-enrollments falling due per calendar month, and overdue enrollments over time.

States (S37), from the learner's latest certificate of the course awarded by t, with
the window W (`reenroll_before`, else `warn_before`, else none) and the grace (S36):

- `valid`: awarded <= t < expiry - W;
- `expiring`: expiry - W <= t < expiry;
- `grace`: expiry <= t < expiry + grace;
- `expired`: expiry + grace <= t (until a newer certificate is awarded);
- `never`: no certificate awarded by t.

Compliant is valid, expiring or grace. Only present learners count (joined, not yet
removed: the events learner_added and learner_removed). The **assigned** denominator is
the present learners with an enrollment record in the course by t; the **population**
one every present learner. A course without a certificate has no states: nothing here
reads a rule's delay as a validity.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..scenario import Scenario
from ..scenario.certificates import Calendar, Certificate, Period
from .core import (
    HIGH,
    LOW,
    as_str,
    found_replications,
    one_variant,
    period_index,
    replications_of,
)

STATES = ("valid", "expiring", "grace", "expired", "never")
COMPLIANT = ("valid", "expiring", "grace")
DENOMINATORS = ("assigned", "population")


def certified_courses(scenario: Scenario) -> dict[str, Certificate]:
    """The courses that award a certificate (S31), in catalog order: id -> certificate."""
    return {c.id: c.certificate for c in scenario.courses if c.certificate is not None}


def day_of(scenario: Scenario, when: float | str | dt.date | dt.datetime) -> float:
    """An instant as a day number: a number is a day already; a date is 00:00 of that day
    and a date-time (or text such as "2028-01-31 10:00") that instant, from the
    scenario's `start_date` (ValueError without one)."""
    if isinstance(when, int | float | np.integer | np.floating):
        return float(when)
    if scenario.start_date is None:
        raise ValueError(f"{when!r} is a date, but the scenario has no start_date: give a day")
    moment = pd.Timestamp(when).to_pydatetime()
    return Calendar(scenario.start_date).day(moment.replace(tzinfo=None))


def _shifted(days: np.ndarray, period: Period | None, calendar: Calendar, sign: int) -> np.ndarray:
    """`days` plus (sign -1: minus) `period`, by the calendar of S31 (Calendar.add, the one
    definition), once per distinct instant."""
    if period is None or period.amount == 0:
        return days.astype(float)
    values, where = np.unique(days, return_inverse=True)
    moved = np.array([calendar.add(float(v), period, sign) for v in values], dtype=float)
    return moved[where] if len(values) else days.astype(float)


def certificate_spans(certificates: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Each certificate with the instants its learner's state changes while it is their
    latest (S37): `awarded_day`, `window_day` (expiry - W, at least the award),
    `expires_day`, `grace_end_day` (expiry + grace) and `until_day` (the award of the
    learner's next certificate of the course; infinity if none)."""
    one_variant(certificates)
    calendar = Calendar(scenario.start_date)
    courses = certified_courses(scenario)
    c = certificates.assign(
        learner_id=as_str(certificates["learner_id"]), course_id=as_str(certificates["course_id"])
    )
    c = c[c["course_id"].isin(courses)]
    c = c.sort_values(["replication", "learner_id", "course_id", "awarded_day", "certificate_id"])
    parts = []
    for course, mine in c.groupby("course_id", sort=False):
        certificate = courses[course]
        expires = mine["expires_day"].to_numpy(dtype=float)
        window = _shifted(expires, certificate.window(), calendar, -1)
        parts.append(
            mine.assign(
                window_day=np.maximum(window, mine["awarded_day"].to_numpy(dtype=float)),
                grace_end_day=_shifted(expires, certificate.grace, calendar, 1),
            )
        )
    columns = [
        "replication",
        "certificate_id",
        "learner_id",
        "course_id",
        "awarded_day",
        "window_day",
        "expires_day",
        "grace_end_day",
    ]
    if not parts:
        return pd.DataFrame(columns=[*columns, "until_day"])
    out = pd.concat(parts)[columns]
    out = out.sort_values(
        ["replication", "learner_id", "course_id", "awarded_day", "certificate_id"]
    )
    nxt = out.groupby(["replication", "learner_id", "course_id"], sort=False)["awarded_day"].shift(
        -1
    )
    return out.assign(until_day=nxt.fillna(np.inf).to_numpy(dtype=float)).reset_index(drop=True)


def presence(events: pd.DataFrame) -> pd.DataFrame:
    """Each learner's presence per replication: `joined_day` (learner_added) and
    `left_day` (learner_removed; infinity while present)."""
    ev = events[events["event"].isin(["learner_added", "learner_removed"])]
    frame = pd.DataFrame(
        {
            "replication": ev["replication"].to_numpy(),
            "learner_id": as_str(ev["learner_id"]).to_numpy(),
            "event": as_str(ev["event"]).to_numpy(),
            "day": ev["day"].to_numpy(dtype=float),
        }
    )
    first = frame.groupby(["replication", "learner_id", "event"])["day"].min().unstack("event")
    joined = first.get("learner_added", pd.Series(np.nan, index=first.index))
    left = first.get("learner_removed", pd.Series(np.nan, index=first.index))
    out = pd.DataFrame({"joined_day": joined, "left_day": left.fillna(np.inf)}).dropna()
    return out.reset_index()


def _assigned(enrollments: pd.DataFrame, courses: list[str]) -> pd.DataFrame:
    """Each learner's first enrollment record in each course (the assigned denominator)."""
    e = enrollments
    frame = pd.DataFrame(
        {
            "replication": e["replication"].to_numpy(),
            "learner_id": as_str(e["learner_id"]).to_numpy(),
            "course_id": as_str(e["course_id"]).to_numpy(),
            "day": e["enrolled_day"].to_numpy(dtype=float),
        }
    )
    frame = frame[frame["course_id"].isin(courses)]
    first = frame.groupby(["replication", "learner_id", "course_id"])["day"].min()
    return first.rename("assigned_day").reset_index()


def learner_states(
    certificates: pd.DataFrame,
    enrollments: pd.DataFrame,
    events: pd.DataFrame,
    scenario: Scenario,
    day: float,
    courses: list[str] | None = None,
) -> pd.DataFrame:
    """Each present learner's state in each certifying course at instant `day` (S37):
    columns replication, learner_id, course_id, state, compliant, assigned (an enrollment
    record in the course by then), certificate_id and expires_day of their latest
    certificate (null: never)."""
    one_variant(certificates, enrollments, events)
    known = certified_courses(scenario)
    courses = [c for c in (courses or known) if c in known]
    here = presence(events)
    here = here[(here["joined_day"] <= day) & (here["left_day"] > day)]
    keys = ["replication", "learner_id", "course_id"]
    grid = here[["replication", "learner_id"]].merge(
        pd.DataFrame({"course_id": courses}), how="cross"
    )
    spans = certificate_spans(certificates, scenario)
    spans = spans[(spans["awarded_day"] <= day) & (spans["until_day"] > day)]
    out = grid.merge(spans, on=keys, how="left")
    first = _assigned(enrollments, courses)
    out = out.merge(first, on=keys, how="left")
    state = np.select(
        [
            out["awarded_day"].isna(),
            day < out["window_day"],
            day < out["expires_day"],
            day < out["grace_end_day"],
        ],
        ["never", "valid", "expiring", "grace"],
        "expired",
    )
    out = out.assign(
        state=pd.Categorical(state, categories=STATES),
        compliant=np.isin(state, COMPLIANT),
        assigned=(out["assigned_day"] <= day) | out["awarded_day"].notna(),
        certificate_id=out["certificate_id"].astype("Int64"),
    )
    columns = [*keys, "state", "compliant", "assigned", "certificate_id", "expires_day"]
    return out[columns].sort_values(keys).reset_index(drop=True)


def _state_intervals(spans: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """[start, end) of each state of each certificate span (S37)."""
    a, w = spans["awarded_day"].to_numpy(float), spans["window_day"].to_numpy(float)
    x, g = spans["expires_day"].to_numpy(float), spans["grace_end_day"].to_numpy(float)
    u = spans["until_day"].to_numpy(float)
    bounds = {"valid": (a, w), "expiring": (w, x), "grace": (x, g), "expired": (g, u)}
    return {
        state: (np.minimum(start, u), np.minimum(np.maximum(end, start), u))
        for state, (start, end) in bounds.items()
    }


def _clip(start, end, joined, left):
    """An interval [start, end) kept to the learner's presence [joined, left)."""
    s = np.maximum(start, joined)
    return s, np.maximum(np.minimum(end, left), s)


def _count(starts: np.ndarray, ends: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Intervals [start, end) holding each instant of the grid."""
    return np.searchsorted(np.sort(starts), grid, side="right") - np.searchsorted(
        np.sort(ends), grid, side="right"
    )


def compliance_state_counts(
    certificates: pd.DataFrame,
    enrollments: pd.DataFrame,
    events: pd.DataFrame,
    scenario: Scenario,
    days: list[float] | np.ndarray | None = None,
    step_days: float = 7.0,
    courses: list[str] | None = None,
) -> pd.DataFrame:
    """Per replication, course and instant (`days`, default every `step_days` to the
    horizon): the present learners in each state (S37, `never` split by denominator) and
    both denominators. Columns replication, course_id, day, valid, expiring, grace,
    expired, never_assigned, never_population, assigned, population."""
    one_variant(certificates, enrollments, events)
    part = state_counts(certificates, enrollments, events, scenario, days, step_days, courses)
    replications = replications_of(certificates, enrollments, events)
    return joined_state_counts([part], scenario, replications, days, step_days, courses)


def _courses_and_grid(scenario, days, step_days, courses):
    known = certified_courses(scenario)
    courses = [c for c in (courses or known) if c in known]
    grid = (
        np.asarray(days, dtype=float)
        if days is not None
        else period_index(scenario.horizon_days, step_days)
    )
    return courses, grid


COUNT_COLUMNS = (*STATES[:-1], "never_assigned", "never_population", "assigned", "population")


def joined_state_counts(
    parts: list[pd.DataFrame],
    scenario: Scenario,
    replications: list[int],
    days: list[float] | np.ndarray | None = None,
    step_days: float = 7.0,
    courses: list[str] | None = None,
) -> pd.DataFrame:
    """`compliance_state_counts` from the parts (`state_counts`) of every replication:
    a replication in `replications` that no part counted had nobody (zeros)."""
    courses, grid = _courses_and_grid(scenario, days, step_days, courses)
    counted = {int(r) for part in parts for r in pd.unique(part["replication"])}
    rows = [part for part in parts if len(part)]
    for replication in replications:
        if replication in counted:
            continue
        zeros = np.zeros(len(grid), dtype=np.int64)
        rows += [
            pd.DataFrame(
                {
                    "replication": replication,
                    "course_id": course,
                    "day": grid,
                    **dict.fromkeys(COUNT_COLUMNS, zeros),
                }
            )
            for course in courses
        ]
    if not rows:
        return pd.DataFrame(columns=["replication", "course_id", "day", *STATES[:-1]])
    out = pd.concat(rows, ignore_index=True)
    order = np.argsort(out["replication"].to_numpy(), kind="stable")
    return out.iloc[order].reset_index(drop=True)


def state_counts(
    certificates: pd.DataFrame,
    enrollments: pd.DataFrame,
    events: pd.DataFrame,
    scenario: Scenario,
    days: list[float] | np.ndarray | None = None,
    step_days: float = 7.0,
    courses: list[str] | None = None,
) -> pd.DataFrame:
    """`compliance_state_counts`' part: its rows for the replications found in the tables
    (none for tables without rows)."""
    courses, grid = _courses_and_grid(scenario, days, step_days, courses)
    here = presence(events)
    spans = certificate_spans(certificates, scenario).merge(here, on=["replication", "learner_id"])
    assigned = _assigned(enrollments, courses).merge(here, on=["replication", "learner_id"])
    intervals = _state_intervals(spans)
    for state, (start, end) in intervals.items():
        intervals[state] = _clip(
            start, end, spans["joined_day"].to_numpy(), spans["left_day"].to_numpy()
        )
    held_from = spans.groupby(["replication", "learner_id", "course_id"])["awarded_day"].min()
    assigned = assigned.join(
        held_from.rename("held_day"), on=["replication", "learner_id", "course_id"]
    )
    a_start, a_end = _clip(
        np.fmin(assigned["assigned_day"].to_numpy(), assigned["held_day"].to_numpy()),
        np.full(len(assigned), np.inf),
        assigned["joined_day"].to_numpy(),
        assigned["left_day"].to_numpy(),
    )
    p_start, p_end = here["joined_day"].to_numpy(), here["left_day"].to_numpy()
    rows = []
    span_rep, span_course = spans["replication"].to_numpy(), spans["course_id"].to_numpy()
    as_rep, as_course = assigned["replication"].to_numpy(), assigned["course_id"].to_numpy()
    here_rep = here["replication"].to_numpy()
    for replication in found_replications(certificates, enrollments, events):
        population = _count(p_start[here_rep == replication], p_end[here_rep == replication], grid)
        for course in courses:
            mine = (span_rep == replication) & (span_course == course)
            counts = {
                state: _count(start[mine], end[mine], grid)
                for state, (start, end) in intervals.items()
            }
            held = sum(counts.values())
            sel = (as_rep == replication) & (as_course == course)
            n_assigned = _count(a_start[sel], a_end[sel], grid)
            rows.append(
                pd.DataFrame(
                    {
                        "replication": replication,
                        "course_id": course,
                        "day": grid,
                        **counts,
                        "never_assigned": n_assigned - held,
                        "never_population": population - held,
                        "assigned": n_assigned,
                        "population": population,
                    }
                )
            )
    if not rows:
        return pd.DataFrame(columns=["replication", "course_id", "day", *COUNT_COLUMNS])
    return pd.concat(rows, ignore_index=True)


def _band_of(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    grouped = frame.groupby(keys, sort=False)[value]
    return pd.DataFrame(
        {"mean": grouped.mean(), "p05": grouped.quantile(LOW), "p95": grouped.quantile(HIGH)}
    ).reset_index()


def compliance_states_over_time(
    certificates: pd.DataFrame,
    enrollments: pd.DataFrame,
    events: pd.DataFrame,
    scenario: Scenario,
    step_days: float = 7.0,
    over: str = "assigned",
    courses: list[str] | None = None,
    days: list[float] | np.ndarray | None = None,
) -> pd.DataFrame:
    """Learners in each state over time, for a stacked chart: per course, instant and
    state, the count in each replication, then mean and 5-95% band (`never` is counted
    over the denominator `over`: "assigned" or "population"). Columns course_id, day,
    state, mean, p05, p95."""
    if over not in DENOMINATORS:
        raise ValueError(f"over is one of {', '.join(DENOMINATORS)}")
    counts = compliance_state_counts(
        certificates, enrollments, events, scenario, days, step_days, courses
    )
    return states_band(counts, over)


def states_band(counts: pd.DataFrame, over: str = "assigned") -> pd.DataFrame:
    """`compliance_states_over_time` from the counts of every replication
    (`compliance_state_counts`, or `joined_state_counts` of their parts)."""
    counts = counts.rename(columns={f"never_{over}": "never"})
    long = counts.melt(
        id_vars=["replication", "course_id", "day"], value_vars=list(STATES), var_name="state"
    )
    out = _band_of(long, ["course_id", "day", "state"], "value")
    out["state"] = pd.Categorical(out["state"], categories=STATES)
    return out.sort_values(["course_id", "day", "state"]).reset_index(drop=True)


def compliance_shares(
    certificates: pd.DataFrame,
    enrollments: pd.DataFrame,
    events: pd.DataFrame,
    scenario: Scenario,
    days: list[float] | np.ndarray | None = None,
    step_days: float = 7.0,
    courses: list[str] | None = None,
) -> pd.DataFrame:
    """The share of learners in each state and the compliant share (valid, expiring or
    grace), over both denominators, per replication (an instant with nobody in the
    denominator has no share), then mean and 5-95% band. Columns course_id, day, over,
    measure (a state or "compliant"), mean, p05, p95."""
    counts = compliance_state_counts(
        certificates, enrollments, events, scenario, days, step_days, courses
    )
    return shares_band(counts)


def shares_band(counts: pd.DataFrame) -> pd.DataFrame:
    """`compliance_shares` from the counts of every replication (see `states_band`)."""
    parts = []
    for over in DENOMINATORS:
        total = counts[over].to_numpy(dtype=float)
        total = np.where(total > 0, total, np.nan)
        measures = {
            "compliant": counts[list(COMPLIANT)].sum(axis=1).to_numpy(dtype=float),
            **{s: counts[s].to_numpy(dtype=float) for s in STATES[:-1]},
            "never": counts[f"never_{over}"].to_numpy(dtype=float),
        }
        for measure, values in measures.items():
            parts.append(
                counts[["replication", "course_id", "day"]].assign(
                    over=over, measure=measure, share=values / total
                )
            )
    long = pd.concat(parts, ignore_index=True)
    return _band_of(long, ["course_id", "day", "over", "measure"], "share")


def compliance_on(
    result, when: float | str | dt.date | dt.datetime, courses: list[str] | None = None
) -> pd.DataFrame:
    """Compliance at one instant of a run (`result`: one variant's tables and scenario):
    `when` a day number, a date (00:00 of that day) or a date-time. Per course and
    measure (each state, "compliant"), the count and both shares, per replication then
    mean and band: columns course_id, measure, count, count_p05, count_p95, assigned,
    assigned_p05, assigned_p95, population, population_p05, population_p95."""
    scenario = result.scenario
    day = day_of(scenario, when)
    args = (result.certificates, result.enrollments, result.events, scenario)
    return compliance_at(compliance_state_counts(*args, days=[day], courses=courses), day)


def compliance_at(counts: pd.DataFrame, day: float) -> pd.DataFrame:
    """`compliance_on` from the counts of every replication at that one instant (see
    `states_band`)."""
    shares = shares_band(counts)
    rows = []
    for course, mine in counts.groupby("course_id", sort=False):
        values = {
            "compliant": mine[list(COMPLIANT)].sum(axis=1),
            **{s: mine[s] for s in STATES[:-1]},
            "never": mine["never_assigned"],
        }
        for measure, count in values.items():
            row = {"course_id": course, "measure": measure}
            row.update(_named(count.to_numpy(dtype=float), "count"))
            for over in DENOMINATORS:
                share = shares[
                    (shares["course_id"] == course)
                    & (shares["over"] == over)
                    & (shares["measure"] == measure)
                ].iloc[0]
                row.update(
                    {over: share["mean"], f"{over}_p05": share["p05"], f"{over}_p95": share["p95"]}
                )
            rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["day"] = day
    return out


def _named(values: np.ndarray, name: str) -> dict[str, float]:
    return {
        name: float(values.mean()),
        f"{name}_p05": float(np.quantile(values, LOW)),
        f"{name}_p95": float(np.quantile(values, HIGH)),
    }


# ----- per calendar month ------------------------------------------------------------


def month_starts(scenario: Scenario) -> np.ndarray:
    """The day numbers of the periods counted per month: the first of each calendar month
    the horizon touches (day 0 opens the first), from the `start_date`; without one,
    30-day periods from day 0."""
    horizon = scenario.horizon_days
    if scenario.start_date is None:
        return period_index(horizon, 30.0)
    calendar = Calendar(scenario.start_date)
    first = dt.datetime.combine(scenario.start_date.replace(day=1), dt.time())
    starts = [0.0]
    month = first
    while True:
        year, index = divmod(month.month, 12)
        month = month.replace(year=month.year + year, month=index + 1)
        day = calendar.day(month)
        if day > horizon:
            return np.array(starts)
        starts.append(day)


def _per_month(
    frame: pd.DataFrame,
    day: str,
    scenario: Scenario,
    replications: list[int],
    weight: str | None = None,
) -> pd.DataFrame:
    """Rows of `frame` per period of `month_starts` (by its column `day`, from day 0 to
    the horizon: a warm start's history before day 0 is not a month of the run) and
    course, counted per replication (or summed by the column `weight`), then mean and
    5-95% band: columns period_day, month (with a start_date), course_id, mean, p05, p95."""
    return per_month_band([month_counts(frame, day, scenario, weight)], scenario, replications)


def month_counts(
    frame: pd.DataFrame, day: str, scenario: Scenario, weight: str | None = None
) -> tuple[pd.DataFrame, set[str]]:
    """`_per_month`'s part: rows (or their `weight`) per replication, course and month,
    and the courses found (counted or not)."""
    starts = month_starts(scenario)
    days = frame[day]
    inside = frame[(days >= 0) & (days <= scenario.horizon_days)]
    counts = pd.DataFrame(
        {
            "replication": inside["replication"].to_numpy(),
            "course_id": inside["course_id"].to_numpy(),
            "period": np.searchsorted(starts, inside[day].to_numpy(dtype=float), side="right") - 1,
            "n": 1.0 if weight is None else inside[weight].to_numpy(dtype=float),
        }
    )
    counts = counts.groupby(["replication", "course_id", "period"])["n"].sum().reset_index()
    return counts, set(frame["course_id"].unique())


def per_month_band(parts: list, scenario: Scenario, replications: list[int]) -> pd.DataFrame:
    """`_per_month` from the parts (`month_counts`) of every replication."""
    starts = month_starts(scenario)
    courses = sorted(set().union(*(found for _, found in parts)))
    counts = np.zeros((len(replications), len(courses), len(starts)))
    position = {r: i for i, r in enumerate(replications)}
    inside = pd.concat([part for part, _ in parts], ignore_index=True)
    np.add.at(
        counts,
        (
            inside["replication"].map(position).to_numpy(dtype=int),
            pd.Index(courses).get_indexer(inside["course_id"]),
            inside["period"].to_numpy(dtype=int),
        ),
        inside["n"].to_numpy(dtype=float),
    )
    out = pd.DataFrame(
        {
            "period_day": np.tile(starts, len(courses)),
            "course_id": np.repeat(courses, len(starts)),
            "mean": counts.mean(axis=0).ravel(),
            "p05": np.quantile(counts, LOW, axis=0).ravel(),
            "p95": np.quantile(counts, HIGH, axis=0).ravel(),
        }
    )
    if scenario.start_date is not None:
        out.insert(
            1,
            "month",
            (pd.Timestamp(scenario.start_date) + pd.to_timedelta(out["period_day"], unit="D"))
            .dt.to_period("M")
            .dt.start_time,
        )
    return out


def expiring_per_month(certificates: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Certificates that expired in each calendar month, by course: those not replaced
    before their expiry (a replaced one never expires, S32), by `expired_day`, from day 0 to the
    horizon; per replication, then mean and band (see `_per_month` for the columns)."""
    one_variant(certificates)
    part = expiring_counts(certificates, scenario)
    return per_month_band([part], scenario, replications_of(certificates))


def expiring_counts(certificates: pd.DataFrame, scenario: Scenario) -> tuple:
    """`expiring_per_month`'s part (`month_counts`)."""
    c = certificates[certificates["expired_day"].notna()]
    frame = pd.DataFrame(
        {
            "replication": c["replication"].to_numpy(),
            "course_id": as_str(c["course_id"]).to_numpy(),
            "day": c["expired_day"].to_numpy(dtype=float),
        }
    )
    return month_counts(frame, "day", scenario)


def re_enrollments_due_per_month(jobs: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Re-enrollment jobs (kind `re_enrollment`, S34) falling due in each calendar month
    (by `due_day`, from day 0 to the horizon), by course, whatever their outcome: the analyst's
    "how many recertifications next quarter". Per replication, then mean and band."""
    one_variant(jobs)
    return per_month_band([due_counts(jobs, scenario)], scenario, replications_of(jobs))


def due_counts(jobs: pd.DataFrame, scenario: Scenario) -> tuple:
    """`re_enrollments_due_per_month`'s part (`month_counts`)."""
    if "kind" in jobs:
        j = jobs[as_str(jobs["kind"]) == "re_enrollment"].drop_duplicates(["replication", "job_id"])
    else:
        j = jobs.iloc[:0]
    frame = pd.DataFrame(
        {
            "replication": j["replication"].to_numpy(),
            "course_id": as_str(j["target_course_id"]).to_numpy(),
            "day": j["due_day"].to_numpy(dtype=float),
        }
    )
    return month_counts(frame, "day", scenario)


def overdue_over_time(
    events: pd.DataFrame,
    enrollments: pd.DataFrame,
    horizon_days: float,
    step_days: float = 1.0,
) -> pd.DataFrame:
    """Enrollments overdue at each instant, by course (S35): from their `overdue` event
    until they are completed, failed or superseded, or the learner is removed. Per
    replication, then mean and band: columns day, course_id, mean, p05, p95."""
    one_variant(events, enrollments)
    part = overdue_counts(events, enrollments, horizon_days, step_days)
    return overdue_band([part], horizon_days, step_days, replications_of(events, enrollments))


def overdue_counts(
    events: pd.DataFrame,
    enrollments: pd.DataFrame,
    horizon_days: float,
    step_days: float = 1.0,
) -> dict[tuple[int, str], np.ndarray]:
    """`overdue_over_time`'s part: the enrollments overdue at each instant, per
    replication and course that has any overdue."""
    grid = period_index(horizon_days, step_days)
    late = events[events["event"] == "overdue"]
    late = pd.DataFrame(
        {
            "replication": late["replication"].to_numpy(),
            "enrollment_id": late["enrollment_id"].to_numpy(dtype="int64"),
            "learner_id": as_str(late["learner_id"]).to_numpy(),
            "day": late["day"].to_numpy(dtype=float),
        }
    )
    e = enrollments.assign(enrollment_id=enrollments["enrollment_id"].astype("int64"))
    ended = e["completed_day"].fillna(e["failed_day"]).fillna(e["superseded_day"])
    ends = pd.DataFrame(
        {
            "replication": e["replication"].to_numpy(),
            "enrollment_id": e["enrollment_id"].to_numpy(),
            "course_id": as_str(e["course_id"]).to_numpy(),
            "ended": ended.fillna(np.inf).to_numpy(dtype=float),
        }
    )
    late = late.merge(ends, on=["replication", "enrollment_id"]).merge(
        presence(events), on=["replication", "learner_id"], how="left"
    )
    until = np.fmin(late["ended"].to_numpy(), late["left_day"].fillna(np.inf).to_numpy())
    counts = {}
    for r in sorted(pd.unique(late["replication"])):
        for course in sorted(late["course_id"].unique()):
            sel = ((late["replication"] == r) & (late["course_id"] == course)).to_numpy()
            if sel.any():
                counts[(int(r), course)] = _count(late["day"].to_numpy()[sel], until[sel], grid)
    return counts


def overdue_band(
    parts: list[dict], horizon_days: float, step_days: float, replications: list[int]
) -> pd.DataFrame:
    """`overdue_over_time` from the parts (`overdue_counts`) of every replication; a
    replication or course without overdue enrollments has none at every instant."""
    grid = period_index(horizon_days, step_days)
    found = {key: counts for part in parts for key, counts in part.items()}
    courses = sorted({course for _, course in found})
    counts = np.zeros((len(replications), len(courses), len(grid)))
    for i, r in enumerate(replications):
        for k, course in enumerate(courses):
            if (r, course) in found:
                counts[i, k] = found[(r, course)]
    return pd.DataFrame(
        {
            "day": np.tile(grid, len(courses)),
            "course_id": np.repeat(courses, len(grid)),
            "mean": counts.mean(axis=0).ravel(),
            "p05": np.quantile(counts, LOW, axis=0).ravel(),
            "p95": np.quantile(counts, HIGH, axis=0).ravel(),
        }
    )
