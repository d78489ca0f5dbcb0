"""Answers read from the output tables, for any number of replications.

Every function that counts over time works per replication first, fills the periods
where nothing happened with zero, and then reports the mean over replications with a
5-95% band (`mean`, `p05`, `p95`). Days are floats from day 0 like the tables; pass
`start_date` to `with_dates` to get calendar dates.
"""

from .core import band, period_index, with_dates
from .ilc import seat_utilisation, session_waits
from .metrics import (
    compliance,
    enrollment_volume,
    job_backlog,
    recertification_load,
    recertification_peak,
    rule_outcomes,
)
from .timeline import learner_timeline
from .timing import completion_curve, learning_path_timing, path_summary

__all__ = [
    "band",
    "completion_curve",
    "compliance",
    "enrollment_volume",
    "job_backlog",
    "learner_timeline",
    "learning_path_timing",
    "path_summary",
    "period_index",
    "recertification_load",
    "recertification_peak",
    "rule_outcomes",
    "seat_utilisation",
    "session_waits",
    "with_dates",
]
