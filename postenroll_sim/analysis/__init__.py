"""Answers read from the output tables, for any number of replications.

Every function works per replication first (counts over time fill the periods where
nothing happened with zero), then reports the mean over replications with a 5-95% band
(`mean`, `p05`, `p95`). Tables of a sweep hold several variants: analyse each on its
own (`Result.split_variants()`); the functions refuse to add variants together. Days
are floats from day 0 like the tables; pass `start_date` to `with_dates` to get
calendar dates.
"""

from .certificates import (
    COMPLIANT,
    STATES,
    certified_courses,
    compliance_on,
    compliance_shares,
    compliance_state_counts,
    compliance_states_over_time,
    day_of,
    expiring_per_month,
    learner_states,
    overdue_over_time,
    re_enrollments_due_per_month,
)
from .compare import (
    COUNTED,
    ENROLLMENTS,
    KEY_NUMBERS,
    RULE_OUTCOMES,
    compare_numbers,
    comparison_numbers,
    difference,
    key_numbers,
    variant_differences,
)
from .core import band, one_variant, period_index, summarise, with_dates
from .ilc import (
    seat_summary,
    seat_utilisation,
    seats_per_month,
    session_waits,
    wait_histogram_counts,
    wait_summary,
)
from .metrics import (
    compliance,
    enrollment_volume,
    job_backlog,
    re_enrollments,
    recertification_load,
    recertification_peak,
    rule_outcomes,
)
from .rules import (
    check_path,
    curricula,
    entry_courses,
    learning_path,
    recertifications,
    remediation_targets,
    validity_of,
)
from .timeline import learner_timeline
from .timing import completion_curve, learning_path_timing, path_summary

__all__ = [
    "COMPLIANT",
    "COUNTED",
    "ENROLLMENTS",
    "KEY_NUMBERS",
    "RULE_OUTCOMES",
    "STATES",
    "band",
    "certified_courses",
    "check_path",
    "compare_numbers",
    "comparison_numbers",
    "completion_curve",
    "compliance",
    "compliance_on",
    "compliance_shares",
    "compliance_state_counts",
    "compliance_states_over_time",
    "curricula",
    "day_of",
    "difference",
    "enrollment_volume",
    "entry_courses",
    "expiring_per_month",
    "job_backlog",
    "key_numbers",
    "learner_states",
    "learner_timeline",
    "learning_path",
    "learning_path_timing",
    "one_variant",
    "overdue_over_time",
    "path_summary",
    "period_index",
    "re_enrollments",
    "re_enrollments_due_per_month",
    "recertification_load",
    "recertification_peak",
    "recertifications",
    "remediation_targets",
    "rule_outcomes",
    "seat_summary",
    "seat_utilisation",
    "seats_per_month",
    "session_waits",
    "summarise",
    "validity_of",
    "variant_differences",
    "wait_histogram_counts",
    "wait_summary",
    "with_dates",
]
