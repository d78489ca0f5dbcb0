"""Instructor-led sessions: how full they are, and how long learners wait for a seat.

Two waits, kept apart (docs/analysis.md):

- **booking delay**: from the ILC course becoming visible to the learner to their first
  booking attempt. This is the learner's own delay (`start_after_days`), not the LMS.
- **seat wait**: from the first booking attempt to the session the learner attended
  (later sessions when the first ones were full, or after a missed session).

Every count is made per replication, then reported as the mean with a 5-95% band.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..scenario import Scenario
from .certificates import _per_month
from .core import as_str, one_variant, replications_of, shared, summarise

BOOKING_EVENTS = ["session_booked", "session_waitlisted"]
SEAT_MEASURES = ("capacity", "booked", "attended", "missed")


def seat_utilisation(sessions: pd.DataFrame) -> pd.DataFrame:
    """Per session and replication: booked and attended shares of capacity."""
    one_variant(sessions)
    out = sessions.copy()
    out["booked_share"] = out["booked"] / out["capacity"]
    out["attended_share"] = out["attended"] / out["capacity"]
    return out


def seat_summary(sessions: pd.DataFrame, replications: list[int] | None = None) -> pd.DataFrame:
    """Per ILC course: sessions, seats booked and attended as shares of capacity, each
    worked out per replication, then mean and 5-95% band (rows: measure)."""
    one_variant(sessions)
    replications = replications or replications_of(sessions)
    rows = []
    for course, mine in sessions.groupby(as_str(sessions["course_id"]), sort=False):
        per = mine.groupby("replication")[["capacity", "booked", "attended"]].sum()
        per = per.reindex(replications)
        counts = mine.groupby("replication").size().reindex(replications, fill_value=0)
        for measure, values in {
            "sessions": counts.to_numpy(dtype=float),
            "seats booked (share of capacity)": (per["booked"] / per["capacity"]).to_numpy(),
            "seats attended (share of capacity)": (per["attended"] / per["capacity"]).to_numpy(),
        }.items():
            rows.append({"course_id": course, "measure": measure, **summarise(values)})
    return pd.DataFrame(rows, columns=["course_id", "measure", "mean", "p05", "p95"])


def seats_per_month(sessions: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Seat demand per calendar month (30-day periods without a start date) and ILC
    course: the seats of the sessions held that month (`capacity`), and how many were
    `booked`, `attended` and `missed`, summed per replication, then mean and 5-95% band.
    Columns period_day, month (with a start_date), course_id, measure, mean, p05, p95;
    a month without sessions has zeros."""
    one_variant(sessions)
    replications = replications_of(sessions)
    parts = []
    for measure in SEAT_MEASURES:
        frame = pd.DataFrame(
            {
                "replication": sessions["replication"].to_numpy(),
                "course_id": as_str(sessions["course_id"]).to_numpy(),
                "day": sessions["day"].to_numpy(dtype=float),
                "seats": sessions[measure].to_numpy(dtype=float),
            }
        )
        part = _per_month(frame, "day", scenario, replications, weight="seats")
        part.insert(part.columns.get_loc("course_id") + 1, "measure", measure)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    order = out.sort_values(["course_id", "period_day"], kind="stable").index
    return out.loc[order].reset_index(drop=True)


@shared
def session_waits(events: pd.DataFrame, enrollments: pd.DataFrame) -> pd.DataFrame:
    """One row per ILC enrollment whose learner tried to book a session: `visible_day`,
    `booking_day` (the first attempt), `attended_day` (null if they attended none within
    the horizon), `booking_delay_days` (visible to first attempt: the learner's own
    delay), `seat_wait_days` (first attempt to the session attended; null if none),
    `missed` (sessions booked and missed) and `no_seat` (on the waiting list at the
    horizon: no session with a free seat was left)."""
    one_variant(events, enrollments)
    keys = ["replication", "enrollment_id"]
    ilc = enrollments[enrollments["course_type"] == "ilc"][
        ["replication", "enrollment_id", "learner_id", "course_id", "visible_day"]
    ]
    session_events = events[
        events["event"].isin(["session_attended", "session_missed", *BOOKING_EVENTS])
    ]
    by = session_events.groupby(keys, observed=True)
    kind = session_events["event"].astype("str")
    booking = session_events[kind.isin(BOOKING_EVENTS)].groupby(keys, observed=True)["day"].min()
    attended = session_events[kind == "session_attended"].groupby(keys, observed=True)["day"].min()
    missed = session_events[kind == "session_missed"].groupby(keys, observed=True).size()
    last = by["event"].last().astype("str")  # events are in the order they happened
    found = pd.concat(
        [
            booking.rename("booking_day"),
            attended.rename("attended_day"),
            missed.rename("missed"),
            (last == "session_waitlisted").rename("no_seat"),
        ],
        axis=1,
    ).reset_index()
    found = found[found["booking_day"].notna()]
    found["enrollment_id"] = found["enrollment_id"].astype("int64")
    ilc = ilc.assign(enrollment_id=ilc["enrollment_id"].astype("int64"))
    out = ilc.merge(found, on=keys, how="inner")
    out["missed"] = out["missed"].fillna(0).astype(int)
    out["no_seat"] = out["no_seat"].fillna(False).astype(bool)
    out["booking_delay_days"] = out["booking_day"] - out["visible_day"]
    out["seat_wait_days"] = out["attended_day"] - out["booking_day"]
    out["course_id"] = as_str(out["course_id"])
    columns = [
        "replication",
        "learner_id",
        "course_id",
        "enrollment_id",
        "visible_day",
        "booking_day",
        "attended_day",
        "booking_delay_days",
        "seat_wait_days",
        "missed",
        "no_seat",
    ]
    return out[columns].astype({"booking_delay_days": np.float64, "seat_wait_days": np.float64})


WAIT_MEASURES = {
    "learners who tried to book": "tried",
    "attended a session": "attended",
    "no seat within the horizon": "no_seat",
    "median days from visible to first booking attempt": "booking_delay",
    "median days from first booking attempt to the session": "seat_wait",
}


def wait_summary(waits: pd.DataFrame, replications: list[int] | None = None) -> pd.DataFrame:
    """Per ILC course and measure (WAIT_MEASURES): the value in each replication, then
    mean and 5-95% band. Counts are learners per replication; medians are the median of
    each replication (a replication with nobody attending has none and is left out)."""
    replications = replications or replications_of(waits)
    rows = []
    for course, mine in waits.groupby("course_id", sort=False):
        per = {name: [] for name in WAIT_MEASURES.values()}
        for replication in replications:
            r = mine[mine["replication"] == replication]
            per["tried"].append(len(r))
            per["attended"].append(int(r["attended_day"].notna().sum()))
            per["no_seat"].append(int(r["no_seat"].sum()))
            per["booking_delay"].append(
                float(r["booking_delay_days"].median()) if len(r) else np.nan
            )
            seat = r["seat_wait_days"].dropna()
            per["seat_wait"].append(float(seat.median()) if len(seat) else np.nan)
        for measure, key in WAIT_MEASURES.items():
            rows.append({"course_id": course, "measure": measure, **summarise(per[key])})
    return pd.DataFrame(rows, columns=["course_id", "measure", "mean", "p05", "p95"])


def wait_histogram_counts(
    waits: pd.DataFrame,
    column: str = "seat_wait_days",
    bins: np.ndarray | None = None,
    replications: list[int] | None = None,
) -> pd.DataFrame:
    """Learners per bin of `column`, counted per replication, then mean and 5-95% band:
    columns left, right, mean, p05, p95."""
    replications = replications or replications_of(waits)
    values = waits[column].dropna()
    if bins is None:
        top = float(values.max()) if len(values) else 1.0
        width = max(1.0, float(np.ceil(top / 30)))
        bins = np.arange(0.0, top + width + 1e-9, width)
    counts = np.vstack(
        [
            np.histogram(waits.loc[waits["replication"] == r, column].dropna(), bins=bins)[0]
            for r in replications
        ]
    ).astype(float)
    return pd.DataFrame(
        {
            "left": bins[:-1],
            "right": bins[1:],
            "mean": counts.mean(axis=0),
            "p05": np.quantile(counts, 0.05, axis=0),
            "p95": np.quantile(counts, 0.95, axis=0),
        }
    )
