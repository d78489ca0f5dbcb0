"""The output table contract (docs/outputs.md): column names and the fixed vocabularies.

Kept at the bottom of the package so the scenario checks (expectations name columns)
and the recorder (which builds the tables) share one definition.
"""

from typing import NamedTuple

TABLES = ("enrollments", "jobs", "events", "sessions", "certificates")  # a run writes, in order
AUDIT_TABLES = ("discrepancies",)  # what `audit` writes (docs/audit.md)
FORMATS = ("parquet", "csv")
# The most replications a run may have (SeedSequence.spawn makes them all up front): the
# command line's limit, and so the most a run.json may claim (outdir.check_record).
MAX_REPLICATIONS = 100_000

# S1 v2: instants are whole seconds. Days stay the unit of the tables and the engine,
# each instant the day number of a whole second (`whole_second`), so that two instants
# compare equal exactly when they are the same second.
SECONDS_PER_DAY = 86_400


def whole_second(day: float) -> float:
    """`day` rounded to the nearest second (halves up), as a day number: idempotent, and
    the same second always gives the same float (S1 v2). Infinity (never) stays so."""
    second = (day * SECONDS_PER_DAY + 0.5) // 1.0
    return second / SECONDS_PER_DAY if second == second else day


# ----- CSV cells a spreadsheet can open safely (docs/outputs.md, "Ids in CSV") ------------

# A text cell starting with one of these is a formula to a spreadsheet ("CSV injection":
# `=HYPERLINK(...)`, `@SUM(...)`, `-2+3`); tab and CR too, per OWASP's advice. Scenario
# ids may not start with them; text from elsewhere (an LMS history) is quoted instead.
FORMULA_START = ("=", "+", "-", "@")
_QUOTED_START = (*FORMULA_START, "\t", "\r")
_QUOTE = "'"


def to_spreadsheet(text: str) -> str:
    """`text` as a CSV cell a spreadsheet shows as text: a leading `'` before a formula
    start (`=1+1` -> `'=1+1`, `-5` -> `'-5`), and before a `'` that would otherwise read
    back as one (`'=x` -> `''=x`), so that `from_spreadsheet` undoes it exactly."""
    if text.startswith(_QUOTED_START) or (
        text.startswith(_QUOTE) and text[1:2].startswith((*_QUOTED_START, _QUOTE))
    ):
        return _QUOTE + text
    return text


def from_spreadsheet(text: str) -> str:
    """The text `to_spreadsheet` was given: its one added `'` removed (other text as is)."""
    if text.startswith(_QUOTE) and text[1:2].startswith((*_QUOTED_START, _QUOTE)):
        return text[1:]
    return text


def spreadsheet_frame(frame, decode: bool = False):
    """`frame` with every text cell through `to_spreadsheet` (with `decode`: through
    `from_spreadsheet`); numbers, booleans and timestamps are never altered. The frame
    itself when no cell changes (the usual case: one vectorised look at first letters);
    categories are converted once each, not per row."""
    import pandas as pd

    convert = from_spreadsheet if decode else to_spreadsheet
    starts = [*_QUOTED_START, _QUOTE]
    out = frame
    for at, name in enumerate(frame.columns):
        column = frame.iloc[:, at]
        if isinstance(column.dtype, pd.CategoricalDtype):
            values = column.cat.categories
        elif column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            values = column
        else:
            continue  # numbers, booleans, timestamps: never text
        if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
            continue
        if isinstance(column.dtype, pd.CategoricalDtype):  # few values: a plain loop
            if not any(isinstance(v, str) and v[:1] in starts for v in values):
                continue
        elif not pd.Series(values, copy=False).str[:1].isin(starts).any():
            continue
        changed = [convert(v) if isinstance(v, str) else v for v in values]
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.cat.rename_categories(changed)
        else:
            column = pd.Series(changed, index=column.index, dtype=column.dtype, name=name)
        if out is frame:
            out = frame.copy(deep=False)
        out.isetitem(at, column)
    return out


METHODS = ("admin", "self", "post_enrollment", "bundle", "re_enrollment")  # v2: S34
STATUSES = ("not_started", "in_progress", "complete", "failed")
COURSE_TYPES = ("online", "ilc", "curriculum", "bundle")
LEARNING_TYPES = ("online", "ilc")  # what learners work through; curricula and bundles hold them
TRIGGERS = ("enrolled", "completed", "failed")  # what a rule's `when` may be (S17)
# a job's trigger: a rule's, or a certificate expiring for a re-enrollment job (S34)
JOB_TRIGGERS = (*TRIGGERS, "expiring")
JOB_KINDS = ("rule", "re_enrollment")  # v2: the jobs' `kind`
SOURCES = ("history", "simulated")  # v2: S41, what a record comes from
# the maps shipped with the package, by name (`--map vendor`, `initial_state.map: unified`)
READY_MAPS = ("vendor", "unified")
OUTCOMES = (
    "enrolled",
    "skipped_already_enrolled",
    "skipped_already_completed",
    "skipped_learner_removed",
    "cascade_limit",
    "pending",
    "skipped_renewed",  # v2: S34.2
)
EVENTS = (
    "learner_added",
    "learner_removed",
    "enrolled",
    "self_enroll_rejected",
    "started",
    "completed",
    "failed",
    "superseded",
    "visible",
    "job_queued",
    "job_processed",
    "rule_added",
    "rule_edited",
    "rule_removed",
    "course_activated",
    "course_deactivated",
    "bundle_course_added",
    "bundle_course_removed",
    "bundle_member_skipped",
    "cascade_limit",
    "session_booked",
    "session_waitlisted",
    "session_attended",
    "session_missed",
    "certificate_awarded",  # v2: S31-S37
    "certificate_expired",
    "overdue",  # v2: S35
)

ENROLLMENT_COLUMNS = (
    "replication",
    "enrollment_id",
    "learner_id",
    "course_id",
    "course_type",
    "method",
    "rule_id",
    "job_id",
    "enrolled_day",
    "visible_day",
    "started_day",
    "completed_day",
    "failed_day",
    "superseded_day",
    "status",
    "due_day",  # v2 (S35): with certificates or due dates in the scenario only
    "source",  # v2 (S41): in a warm start's run (a scenario with initial_state) only
)
JOB_COLUMNS = (
    "replication",
    "job_id",
    "rule_id",
    "learner_id",
    "source_course_id",
    "kind",  # v2 (S34): with certificates or due dates in the scenario only
    "certificate_id",  # (the same)
    "trigger",
    "trigger_enrollment_id",
    "queued_day",
    "due_day",
    "processed_day",
    "target_course_id",
    "outcome",
    "enrollment_id",
    "reason_enrollment_id",
)
CERTIFICATE_COLUMNS = (  # v2: S31-S37
    "replication",
    "certificate_id",
    "learner_id",
    "course_id",
    "enrollment_id",
    "awarded_day",
    "expires_day",
    "replaced_day",
    "expired_day",
    "source",
)
EVENT_COLUMNS = (
    "replication",
    "day",
    "event",
    "learner_id",
    "course_id",
    "enrollment_id",
    "rule_id",
    "job_id",
    "detail",
)

# Integer codes of the vocabularies, in the order above: the engine logs these, the
# recorder turns them back into the categories of the tables.
METHOD_CODE = {name: code for code, name in enumerate(METHODS)}
STATUS_CODE = {name: code for code, name in enumerate(STATUSES)}
COURSE_TYPE_CODE = {name: code for code, name in enumerate(COURSE_TYPES)}
TRIGGER_CODE = {name: code for code, name in enumerate(JOB_TRIGGERS)}
OUTCOME_CODE = {name: code for code, name in enumerate(OUTCOMES)}
EVENT_CODE = {name: code for code, name in enumerate(EVENTS)}


class TriggerWords(NamedTuple):
    """How messages and pages say a trigger (S17), and its colour in the rule graph."""

    plural: str  # "... when they ___ A" (lint)
    singular: str  # "a learner ___ A" (lint)
    past: str  # "alice ___ A on 3 March" (audit)
    origin: str  # "the job (from alice ___ A on 3 March)" (audit)
    doing: str  # "___ A queued job 4" (explain)
    colour: str  # its arrows in the rule graph (picture and Mermaid)
    colour_name: str  # that colour in the graph's legend


# One entry per trigger, in the order of TRIGGERS: everything that words or draws a
# trigger takes it from here (a rule graph's legend lists them all).
TRIGGER_WORDS: dict[str, TriggerWords] = {
    "enrolled": TriggerWords(
        "are enrolled in",
        "is enrolled in",
        "was enrolled in",
        "being enrolled in",
        "enrolling in",
        "#1565c0",
        "blue",
    ),
    "completed": TriggerWords(
        "complete", "completes", "completed", "completed", "completing", "#2e7d32", "green"
    ),
    "failed": TriggerWords("fail", "fails", "failed", "failed", "failing", "#c62828", "red"),
}


def check_trigger_words(triggers: tuple[str, ...], words: dict[str, TriggerWords]) -> None:
    """Every trigger has every word, checked on import: a trigger added to TRIGGERS
    without them would otherwise fail far from here (a KeyError in `graph`, `lint`,
    `explain`, `audit` or a report)."""
    if tuple(words) != triggers or not all(all(w) for w in words.values()):
        raise RuntimeError(
            "columns.TRIGGER_WORDS needs an entry for each trigger of TRIGGERS, in the same "
            f"order, with every word: triggers {list(triggers)}, words for {list(words)}"
        )


check_trigger_words(TRIGGERS, TRIGGER_WORDS)

# Short names an expectation may use for id columns (docs/scenarios.md, section `expect`).
EXPECT_ALIASES = {
    "learner": "learner_id",
    "course": "course_id",
    "rule": "rule_id",
    "target": "target_course_id",
    "job": "job_id",
}

# Whole-number columns (pandas int / Int32); every other `*_id` names a learner, course
# or rule (a categorical of text).
NUMBER_COLUMNS = (
    "replication",
    "enrollment_id",
    "job_id",
    "trigger_enrollment_id",
    "reason_enrollment_id",
    "certificate_id",
)


def is_day_column(name: str) -> bool:
    """`day` and the `*_day` columns: days (float64) since day 0."""
    return name == "day" or name.endswith("_day")


def timestamp_twin(day_column: str) -> str:
    """docs/outputs.md: with `start_date`, each day column has a timestamp twin (`events.day`
    has `at`, `enrolled_day` has `enrolled_at`)."""
    return "at" if day_column == "day" else day_column.removesuffix("_day") + "_at"


def column_kind(name: str) -> str:
    """What a value of the column is: `day`, `timestamp` (a twin), `number` or `text`
    (an id or a vocabulary); what an expectation's value for it must be."""
    if is_day_column(name):
        return "day"
    if name == "at" or name.endswith("_at"):
        return "timestamp"
    return "number" if name in NUMBER_COLUMNS else "text"
