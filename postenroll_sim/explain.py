"""A learner's history in plain words, with the evidence for every decision.

`explain(result, "alice")` turns the tables of a run into a chronological account:
every enrollment (how, by which rule and job), every trigger and the jobs it queued,
every job's outcome with its reason and the evidence the engine recorded when it
decided (the open or completed enrollment behind a skip: the jobs table's
`reason_enrollment_id`), rule changes that matter (S18), visibility (S21), removal
(S29). With `course="C"` it answers "why is (or isn't) this learner in C?": every
enrollment in C, and every trigger that could have led to C through a rule, with what
became of it.

The account is a DataFrame (one row per statement, `text` the words); the command
line prints it as `day D: text`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .scenario import Scenario, models
from .scenario.rules import scenario_rules, script_order

COLUMNS = ("day", "event", "course_id", "rule_id", "job_id", "enrollment_id", "text")

_HOW = {
    "admin": "by an administrator",
    "self": "from the catalog",
    "bundle": "through a bundle (S27)",
}
_VERB = {"enrolled": "enrolling in", "completed": "completing", "failed": "failing"}
_REJECTED = {
    "course_inactive": "the course is inactive",
    "already_enrolled": "the learner already has an open enrollment in it",
    "prerequisites_not_met": "its prerequisites are not met (S7)",
}


class ExplainError(ValueError):
    """A learner, course or replication the run does not have."""


def _day(value: Any) -> str:
    value = float(value)
    return f"{value:g}"


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


@dataclass
class _Run:
    enrollments: pd.DataFrame  # indexed by enrollment_id
    jobs: pd.DataFrame
    events: pd.DataFrame  # in order, with a `seq` column
    horizon: float


def _one_run(result, replication: int | None, variant: str | None) -> _Run:
    if result.events is None or result.enrollments is None or result.jobs is None:
        raise ExplainError("explain needs the enrollments, jobs and events tables of a run")
    frames = {}
    for name in ("enrollments", "jobs", "events"):
        frame = getattr(result, name)
        if "variant" in frame.columns:
            labels = list(frame["variant"].cat.categories) if len(frame) else []
            if variant is None:
                raise ExplainError(f"this run has variants; choose one of: {', '.join(labels)}")
            frame = frame[frame["variant"].astype(str) == variant]
        replications = sorted(pd.unique(frame["replication"]).tolist())
        chosen = replications[0] if replication is None and replications else replication
        if replications and chosen not in replications:
            raise ExplainError(
                f"no replication {chosen}; this run has replications "
                f"{replications[0]} to {replications[-1]}"
            )
        frames[name] = frame[frame["replication"] == chosen]
    events = frames["events"].reset_index(drop=True)
    events = events.assign(seq=range(len(events)))
    enrollments = frames["enrollments"].set_index("enrollment_id", drop=False)
    return _Run(enrollments, frames["jobs"], events, float(result.scenario.horizon_days))


def explain(
    result,
    learner: str,
    course: str | None = None,
    replication: int | None = None,
    variant: str | None = None,
) -> pd.DataFrame:
    """The account of `learner` in one replication of a run (the first by default)."""
    run = _one_run(result, replication, variant)
    scenario: Scenario = result.scenario
    learners = set(run.events["learner_id"].dropna().astype(str))
    if learner not in learners:
        raise ExplainError(f"no learner '{learner}' in this run{_close(learner, learners)}")
    if course is not None and course not in {c.id for c in scenario.courses}:
        raise ExplainError(
            f"no course '{course}' in this scenario{_close(course, [c.id for c in scenario.courses])}"
        )
    # every job this account quotes is the learner's own: filter the jobs table once
    run.jobs = run.jobs[run.jobs["learner_id"].astype(str) == learner]
    rows = _account(run, scenario, learner)
    if course is not None:
        leading = set(run.jobs.loc[run.jobs["target_course_id"] == course, "job_id"].tolist())
        rows = [
            r
            for r in rows
            if r["course_id"] == course or (r["event"] == "job_queued" and r["job_id"] in leading)
        ] + _why_course(run, scenario, learner, course)
        rows.sort(key=lambda r: (r["day"], r["_seq"]))
        rows.insert(0, _answer(run, learner, course))
    frame = pd.DataFrame([{k: r.get(k) for k in COLUMNS} for r in rows], columns=list(COLUMNS))
    return frame


def as_text(frame: pd.DataFrame) -> str:
    return "\n".join(
        f"day {_day(day)}: {text}" if not _missing(day) else text
        for day, text in zip(frame["day"], frame["text"], strict=True)
    )


def _close(value: str, known) -> str:
    import difflib

    close = difflib.get_close_matches(value, sorted(map(str, known))[:5000], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# ----- the chronological account -----------------------------------------------------------


def _row(event, day, text, course=None, rule=None, job=None, enrollment=None, seq=0) -> dict:
    def clean(value):
        return None if _missing(value) else value

    return {
        "day": float(day) if not _missing(day) else math.nan,
        "event": event,
        "course_id": clean(course),
        "rule_id": clean(rule),
        "job_id": clean(job),
        "enrollment_id": clean(enrollment),
        "text": text,
        "_seq": seq,
    }


def _account(run: _Run, scenario: Scenario, learner: str) -> list[dict]:
    events = run.events
    mine = events[events["learner_id"].astype(str) == learner]
    rules = events[events["event"].isin(["rule_edited", "rule_removed"])]
    rows = []
    for ev in mine.itertuples(index=False):
        text = _event_text(run, scenario, learner, ev, rules)
        if text is not None:
            course = None if _missing(ev.course_id) else str(ev.course_id)
            rule = None if _missing(ev.rule_id) else str(ev.rule_id)
            job = None if _missing(ev.job_id) else int(ev.job_id)
            enrollment = None if _missing(ev.enrollment_id) else int(ev.enrollment_id)
            rows.append(_row(str(ev.event), ev.day, text, course, rule, job, enrollment, ev.seq))
    pending = run.jobs[
        (run.jobs["learner_id"].astype(str) == learner) & (run.jobs["outcome"] == "pending")
    ]
    for job in pending.itertuples(index=False):
        rows.append(
            _row(
                "job_pending",
                run.horizon,
                f"job {job.job_id} of rule {job.rule_id} (for {job.target_course_id}, due day "
                f"{_day(job.due_day)}) is still queued at the horizon (S24)",
                str(job.target_course_id),
                str(job.rule_id),
                int(job.job_id),
                None,
                len(events),
            )
        )
    return rows


def _enrollment_text(run: _Run, e: pd.Series, learner: str) -> str:
    course, eid = str(e["course_id"]), int(e["enrollment_id"])
    kind = str(e["course_type"])
    what = f"{kind} {course}" if kind in ("curriculum", "bundle") else course
    method = str(e["method"])
    if method == "post_enrollment":
        job = int(e["job_id"])
        found = run.jobs[run.jobs["job_id"] == job]
        how = f"by rule {e['rule_id']} (job {job}"
        if len(found):
            j = found.iloc[0]
            how += (
                f", queued on day {_day(j['queued_day'])} when {learner} "
                f"{_past(str(j['trigger']))} {j['source_course_id']})"
            )
        else:
            how += ")"
    else:
        how = _HOW.get(method, method)
    text = f"enrolled in {what} {how}: enrollment {eid}"
    visible = e["visible_day"]
    if _missing(visible):
        if not _missing(e["superseded_day"]):
            text += f"; {course} was inactive and it was replaced before it became visible (S21)"
        else:
            text += f"; {course} is inactive: the learner never saw it within the horizon (S21)"
    elif float(visible) > float(e["enrolled_day"]):
        text += f"; {course} was inactive: hidden until day {_day(visible)} (S21)"
    return text


def _past(trigger: str) -> str:
    words = {"enrolled": "was enrolled in", "completed": "completed", "failed": "failed"}
    return words.get(trigger, f"triggered '{trigger}' on")


def _event_text(run: _Run, scenario: Scenario, learner: str, ev, rules: pd.DataFrame) -> str | None:
    kind = str(ev.event)
    course = None if _missing(ev.course_id) else str(ev.course_id)
    eid = None if _missing(ev.enrollment_id) else int(ev.enrollment_id)
    detail = None if _missing(ev.detail) else str(ev.detail)
    if kind == "learner_added":
        return f"{learner} joins"
    if kind == "learner_removed":
        return (
            f"{learner} is removed: no new enrollments or triggers from now on; jobs still "
            "queued for them will be skipped (S29)"
        )
    if kind == "enrolled":
        return _enrollment_text(run, run.enrollments.loc[eid], learner)
    if kind == "superseded":
        return f"enrollment {eid} in {course} moved to history: a new enrollment replaced it (S14)"
    if kind == "visible":
        return f"{course} became active: enrollment {eid} is visible from now on (S21)"
    if kind == "started":
        return f"started {course} (enrollment {eid})"
    if kind == "completed":
        row = run.enrollments.loc[eid]
        if str(row["course_type"]) == "curriculum":
            return (
                f"completed curriculum {course}: its member completions met its requirements (S26)"
            )
        return f"completed {course} (enrollment {eid})"
    if kind == "failed":
        return f"failed {course} (enrollment {eid})"
    if kind == "self_enroll_rejected":
        return f"tried to enroll in {course} from the catalog: rejected, {_REJECTED.get(detail, detail)} (S16)"
    if kind == "job_queued":
        job = int(ev.job_id)
        j = run.jobs[run.jobs["job_id"] == job].iloc[0]
        delay = float(j["due_day"]) - float(j["queued_day"])
        when = "at once" if delay == 0 else f"{_day(delay)} days later"
        return (
            f"{_VERB.get(str(j['trigger']), str(j['trigger']))} {course} queued job {job} of rule {ev.rule_id}: "
            f"due day {_day(j['due_day'])} ({when}, S3)"
        )
    if kind == "job_processed":
        return _job_text(run, learner, ev, rules)
    if kind == "bundle_member_skipped":
        reason = (
            "the learner was removed (S29)"
            if detail == "learner_removed"
            else f"enrollment {eid} in {course} was still open (S27)"
        )
        return f"the bundle did not enroll {learner} in {course}: {reason}"
    if kind == "cascade_limit":
        return f"{detail} for {learner}: further jobs at this instant were not applied (S22)"
    if kind == "session_booked":
        return f"booked session {detail} of {course}"
    if kind == "session_attended":
        return f"attended session {detail} of {course}"
    if kind == "session_missed":
        return f"missed session {detail} of {course}; books the next one with a free seat (S30)"
    if kind == "session_waitlisted":
        return f"no session of {course} with a free seat is left within the horizon: waiting (S30)"
    return None


def _job_text(run: _Run, learner: str, ev, rules: pd.DataFrame) -> str:
    job, target, rule = int(ev.job_id), str(ev.course_id), str(ev.rule_id)
    rows = run.jobs[(run.jobs["job_id"] == job) & (run.jobs["target_course_id"] == target)]
    j = rows.iloc[0]
    outcome = str(j["outcome"])
    head = f"job {job} (rule {rule})"
    if outcome == "enrolled":
        text = f"{head} enrolled {learner} in {target} (S19.4)"
    elif outcome == "skipped_already_enrolled":
        reason = int(j["reason_enrollment_id"])
        since = run.enrollments.loc[reason, "enrolled_day"]
        text = (
            f"{head} skipped {target}: {learner}'s enrollment {reason} in {target} "
            f"(since day {_day(since)}) was still open, and a rule never resets an open "
            "enrollment (S19.2)"
        )
    elif outcome == "skipped_already_completed":
        reason = int(j["reason_enrollment_id"])
        done = run.enrollments.loc[reason, "completed_day"]
        text = (
            f"{head} skipped {target}: already completed {target} on day {_day(done)} "
            f"(enrollment {reason}), and rule {rule} does not allow consecutive enrollments (S19.3)"
        )
    elif outcome == "skipped_learner_removed":
        text = f"{head} skipped {target}: {learner} had been removed (S19.1, S29)"
    elif outcome == "cascade_limit":
        text = f"{head} was not applied to {target}: the cascade limit was reached (S22)"
    else:
        text = f"{head} for {target}: {outcome}"
    queued = float(j["queued_day"])
    changes = rules[(rules["rule_id"].astype(str) == rule) & (rules["seq"] < ev.seq)]
    changes = changes[changes["day"] >= queued]
    queued_seq = _queued_seq(run, job)
    changes = changes[changes["seq"] > queued_seq]
    for change in changes.itertuples(index=False):
        if str(change.event) == "rule_edited":
            text += (
                f"; queued by the version of {rule} in force on day {_day(queued)}: the edit on "
                f"day {_day(change.day)} does not change queued jobs (S18)"
            )
        else:
            text += (
                f"; rule {rule} was removed on day {_day(change.day)}, but jobs already queued "
                "still run (S18)"
            )
    return text


def _queued_seq(run: _Run, job: int) -> int:
    found = run.events[(run.events["event"] == "job_queued") & (run.events["job_id"] == job)]
    return int(found["seq"].iloc[0]) if len(found) else -1


# ----- "why is (or isn't) this learner in C?" ---------------------------------------------


def _answer(run: _Run, learner: str, course: str) -> dict:
    e = run.enrollments
    mine = e[(e["learner_id"].astype(str) == learner) & (e["course_id"].astype(str) == course)]
    if mine.empty:
        text = f"{learner} was never enrolled in {course}; what could have led there:"
    else:
        current = mine[mine["superseded_day"].isna()].iloc[-1]
        text = (
            f"{learner} is in {course}: {_plural(len(mine), 'enrollment')}, the current one "
            f"{int(current['enrollment_id'])} ({current['status']}, by {current['method']})"
        )
    return _row("answer", math.nan, text, course, seq=-1)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass
class _RuleSpan:
    rule: str
    source: str
    when: str
    targets: tuple[str, ...]
    added_seq: int  # events-table position from which this version is in force
    added_day: float
    ended_seq: int | None  # position where it stopped (edited or removed)
    ended_day: float | None
    ended_by: str | None  # "rule_edited" or "rule_removed"


def _rule_spans(run: _Run, scenario: Scenario) -> list[_RuleSpan]:
    """Every version of every rule, with the stretch of the run it was in force."""
    current: dict[str, _RuleSpan] = {}
    spans: list[_RuleSpan] = []
    added_ids: dict[int, str] = {}
    for rid, source, rule, script_index, _ in scenario_rules(scenario):
        if script_index is None:
            span = _RuleSpan(rid, source, rule.when, tuple(rule.courses), -1, 0.0, None, None, None)
            current[rid] = span
            spans.append(span)
        else:
            added_ids[script_index] = rid
    script = [(i, scenario.script[i]) for i in script_order(scenario.script)]
    changes = run.events[run.events["event"].isin(["rule_added", "rule_edited", "rule_removed"])]
    logged = list(changes.itertuples(index=False))
    for index, action in script:
        if not isinstance(action, models.AddRule | models.EditRule | models.RemoveRule):
            continue
        if isinstance(action, models.AddRule):
            rid = added_ids[index]
            kind = "rule_added"
        else:
            rid = action.rule
            kind = "rule_edited" if isinstance(action, models.EditRule) else "rule_removed"
        match = next(
            (ev for ev in logged if str(ev.rule_id) == rid and str(ev.event) == kind), None
        )
        if match is None:
            continue  # past the horizon: never happened
        logged.remove(match)
        old = current.get(rid)
        if old is not None and kind != "rule_added":
            old.ended_seq, old.ended_day, old.ended_by = match.seq, float(match.day), kind
        if kind == "rule_removed":
            current.pop(rid, None)
            continue
        if kind == "rule_added":
            spec = action.rule
            span = _RuleSpan(
                rid,
                action.course,
                spec.when,
                tuple(spec.courses),
                match.seq,
                float(match.day),
                None,
                None,
                None,
            )
        else:
            edit = action.set
            span = _RuleSpan(
                rid,
                old.source,
                edit.when or old.when,
                tuple(edit.courses) if edit.courses is not None else old.targets,
                match.seq,
                float(match.day),
                None,
                None,
                None,
            )
        current[rid] = span
        spans.append(span)
    return spans


def _why_course(run: _Run, scenario: Scenario, learner: str, course: str) -> list[dict]:
    spans = [s for s in _rule_spans(run, scenario) if course in s.targets]
    if not spans:
        return [
            _row(
                "no_rule",
                math.nan,
                f"no rule ever has {course} among its targets: only direct enrollments "
                "(administrator, catalog, bundle) can put a learner there",
                course,
                seq=-1,
            )
        ]
    events = run.events
    rows = []
    triggers = events[
        (events["learner_id"].astype(str) == learner)
        & (events["event"].isin(["enrolled", "completed", "failed"]))
    ]
    queued = events[
        (events["learner_id"].astype(str) == learner) & (events["event"] == "job_queued")
    ]
    seen_rules = set()
    for span in spans:
        seen_rules.add(span.rule)
        relevant = triggers[
            (triggers["course_id"].astype(str) == span.source) & (triggers["event"] == span.when)
        ]
        for trig in relevant.itertuples(index=False):
            in_force = trig.seq > span.added_seq and (
                span.ended_seq is None or trig.seq < span.ended_seq
            )
            verb = f"{_past(span.when)} {span.source}"
            if in_force:
                job = queued[
                    (queued["rule_id"].astype(str) == span.rule)
                    & (queued["enrollment_id"] == trig.enrollment_id)
                ]
                if job.empty:
                    text = f"{learner} {verb}, but was removed, so rule {span.rule} queued nothing (S29)"
                else:
                    continue  # the queued job and its outcome are already in the account
            elif trig.seq < span.added_seq:
                if span.added_seq >= 0 and _first_version(spans, span):
                    text = (
                        f"{learner} {verb} on day {_day(trig.day)}, before rule {span.rule} was added "
                        f"on day {_day(span.added_day)}: rules are not retroactive (S18)"
                    )
                else:
                    continue  # an earlier version of the rule covers this trigger
            else:
                if span.ended_by == "rule_removed":
                    text = (
                        f"{learner} {verb} on day {_day(trig.day)}, after rule {span.rule} was "
                        f"removed on day {_day(span.ended_day)} (S18)"
                    )
                else:
                    continue  # a later version of the rule covers this trigger
            rows.append(
                _row(
                    "trigger",
                    trig.day,
                    text,
                    course,
                    span.rule,
                    None,
                    int(trig.enrollment_id),
                    trig.seq,
                )
            )
        if relevant.empty:
            rows.append(
                _row(
                    "no_trigger",
                    math.nan,
                    f"rule {span.rule} ({span.when} {span.source} -> {', '.join(span.targets)}): "
                    f"{learner} never {_past(span.when)} {span.source}"
                    + (
                        f" while this version was in force (from day {_day(span.added_day)})"
                        if span.added_seq >= 0
                        else ""
                    ),
                    course,
                    span.rule,
                    seq=-1,
                )
            )
    return rows


def _first_version(spans: list[_RuleSpan], span: _RuleSpan) -> bool:
    return next(s for s in spans if s.rule == span.rule) is span
