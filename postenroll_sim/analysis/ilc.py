"""Instructor-led sessions: how full they are, and how long learners wait for a seat."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .core import as_str


def seat_utilisation(sessions: pd.DataFrame) -> pd.DataFrame:
    """Per session (all replications): booked and attended shares of capacity."""
    out = sessions.copy()
    out["booked_share"] = out["booked"] / out["capacity"]
    out["attended_share"] = out["attended"] / out["capacity"]
    return out


def session_waits(events: pd.DataFrame, enrollments: pd.DataFrame) -> pd.DataFrame:
    """Per ILC enrollment that attended a session: days from the course becoming visible
    to attending it, and the number of sessions missed on the way. Learners who never
    got a seat within the horizon are listed with `attended_day` null."""
    ilc = enrollments[enrollments["course_type"] == "ilc"][
        ["replication", "enrollment_id", "learner_id", "course_id", "visible_day"]
    ]
    session_events = events[
        events["event"].isin(["session_attended", "session_missed", "session_waitlisted"])
    ]
    attended = (
        session_events[session_events["event"] == "session_attended"]
        .groupby(["replication", "enrollment_id"], observed=True)["day"]
        .min()
        .rename("attended_day")
    )
    missed = (
        session_events[session_events["event"] == "session_missed"]
        .groupby(["replication", "enrollment_id"], observed=True)
        .size()
        .rename("missed")
    )
    waitlisted = (
        session_events[session_events["event"] == "session_waitlisted"]
        .groupby(["replication", "enrollment_id"], observed=True)
        .size()
        .rename("waitlisted")
    )
    keys = ["replication", "enrollment_id"]
    booked_any = pd.concat([attended, missed, waitlisted], axis=1).reset_index()
    booked_any["enrollment_id"] = booked_any["enrollment_id"].astype("int64")
    ilc = ilc.assign(enrollment_id=ilc["enrollment_id"].astype("int64"))
    out = ilc.merge(booked_any, on=keys, how="inner")
    out["missed"] = out["missed"].fillna(0).astype(int)
    out["waitlisted"] = out["waitlisted"].fillna(0).astype(int) > 0
    out["wait_days"] = out["attended_day"] - out["visible_day"]
    out["course_id"] = as_str(out["course_id"])
    return out[
        [
            "replication",
            "learner_id",
            "course_id",
            "enrollment_id",
            "visible_day",
            "attended_day",
            "wait_days",
            "missed",
            "waitlisted",
        ]
    ].astype({"wait_days": np.float64})
