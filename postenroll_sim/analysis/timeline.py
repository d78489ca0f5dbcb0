"""One learner's story: every enrollment with its dates, and the jobs that made them."""

from __future__ import annotations

import pandas as pd

from .core import as_str, one_variant


def learner_timeline(
    enrollments: pd.DataFrame,
    jobs: pd.DataFrame | None,
    learner_id: str,
    replication: int = 0,
    horizon_days: float | None = None,
) -> pd.DataFrame:
    """One row per enrollment of the learner, in time order: course, method, the rule
    that made it, enrolled/visible/started/end days, how it ended, and the end of the
    bar to draw (`until_day`: the end, or when superseded, or the horizon)."""
    one_variant(enrollments, jobs)
    e = enrollments[
        (enrollments["replication"] == replication)
        & (as_str(enrollments["learner_id"]) == learner_id)
    ]
    out = pd.DataFrame(
        {
            "enrollment_id": e["enrollment_id"].to_numpy(),
            "course_id": as_str(e["course_id"]).to_numpy(),
            "method": as_str(e["method"]).to_numpy(),
            "rule_id": [str(rule) if pd.notna(rule) else None for rule in e["rule_id"]],
            "enrolled_day": e["enrolled_day"].to_numpy(),
            "visible_day": e["visible_day"].to_numpy(),
            "started_day": e["started_day"].to_numpy(),
            "end_day": e["completed_day"].fillna(e["failed_day"]).to_numpy(),
            "superseded_day": e["superseded_day"].to_numpy(),
            "status": as_str(e["status"]).to_numpy(),
        }
    )
    horizon = horizon_days if horizon_days is not None else float(enrollments["enrolled_day"].max())
    out["until_day"] = out["end_day"].fillna(out["superseded_day"]).fillna(horizon)
    if jobs is not None:
        mine = jobs[
            (jobs["replication"] == replication) & (as_str(jobs["learner_id"]) == learner_id)
        ]
        pending = mine[mine["outcome"] == "pending"]
        out.attrs["pending_jobs"] = pd.DataFrame(
            {
                "rule_id": as_str(pending["rule_id"]).to_numpy(),
                "target_course_id": as_str(pending["target_course_id"]).to_numpy(),
                "due_day": pending["due_day"].to_numpy(),
            }
        )
    return out.sort_values(["enrolled_day", "enrollment_id"]).reset_index(drop=True)
