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
line prints it as `day D: text`. Each statement also carries, in `claims`, the facts its
words assert as plain records (`{"kind": "rule_added_later", "rule": ..., "day": ...}`),
so that every statement can be checked against the run's tables (tests/test_explain.py
does, on random scenarios).
"""

from __future__ import annotations

import datetime as dt
import math
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..columns import TRIGGER_WORDS, TRIGGERS
from ..formatting import days, instant
from ..scenario import Scenario
from ..scenario.rules import Version, rule_versions

COLUMNS = ("day", "event", "course_id", "rule_id", "job_id", "enrollment_id", "text", "claims")

_HOW = {
    "admin": "by an administrator",
    "self": "from the catalog",
    "bundle": "through a bundle (S27)",
    "re_enrollment": "by re-enrollment before expiry (S34)",
}
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


# The scenario's start_date while an account is written: its instants are then dates
# with the day in parentheses (formatting.instant), as every tool says them.
_calendar: ContextVar[dt.date | None] = ContextVar("explain_calendar", default=None)


def _on(value: Any, start: dt.date | None = None) -> str:
    """`day 5`, or with a calendar `2027-01-09 (day 5)` (`2027-01-09 02:00 (day 5.08)`)."""
    start = start if start is not None else _calendar.get()
    return f"day {_day(value)}" if start is None else instant(float(value), start)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


@dataclass
class _Run:
    enrollments: pd.DataFrame  # indexed by enrollment_id
    jobs: pd.DataFrame
    events: pd.DataFrame  # in order, with a `seq` column
    horizon: float
    # The learner's rows as plain records (`_index`): an account looks them up one by one,
    # and a pandas filter per statement made explain slow.
    enr: dict | None = None  # enrollment_id -> row
    jobs_of: dict | None = None  # job_id -> its rows, one per target
    by_kind: dict | None = None  # event -> the learner's events and every rule/course change
    certificates: pd.DataFrame | None = None  # S31-S37 (None: a run written without it)
    certs: dict | None = None  # the learner's: certificate_id -> row
    cert_of: dict | None = None  # enrollment_id -> the certificate it earned
    session_day: dict | None = None  # session_id -> its day (None: no sessions table)


_SHARED_EVENTS = ("rule_added", "rule_edited", "rule_removed", "course_activated")


def _index(run: _Run, learner: str) -> None:
    events = run.events
    chosen = events[
        (events["learner_id"].astype(str) == learner) | events["event"].isin(_SHARED_EVENTS)
    ]
    run.by_kind = {}
    for ev in chosen.itertuples(index=False):
        run.by_kind.setdefault(str(ev.event), []).append(ev)
    mine = run.enrollments[run.enrollments["learner_id"].astype(str) == learner]
    run.enr = {int(r["enrollment_id"]): r for r in mine.to_dict("records")}
    run.jobs_of = {}
    for r in run.jobs.to_dict("records"):
        run.jobs_of.setdefault(int(r["job_id"]), []).append(r)
    certs = run.certificates
    if certs is not None and len(certs):
        certs = certs[certs["learner_id"].astype(str) == learner]
    rows = certs.to_dict("records") if certs is not None else []
    run.certs = {int(r["certificate_id"]): r for r in rows}
    run.cert_of = {int(r["enrollment_id"]): r for r in rows}


def _kind(run: _Run, event: str) -> list:
    return run.by_kind.get(event, [])


def _one_run(result, replication: int | None, variant: str | None) -> _Run:
    if result.events is None or result.enrollments is None or result.jobs is None:
        raise ExplainError("explain needs the enrollments, jobs and events tables of a run")
    frames = {}
    names = ["enrollments", "jobs", "events"]
    if getattr(result, "certificates", None) is not None:
        names.append("certificates")
    for name in names:
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
    sessions = getattr(result, "sessions", None)  # a session's day is the same in every run
    session_day = (
        None
        if sessions is None or "session_id" not in sessions or "day" not in sessions
        else dict(
            zip(sessions["session_id"].astype(str), sessions["day"].astype(float), strict=True)
        )
    )
    return _Run(
        enrollments,
        frames["jobs"],
        events,
        float(result.scenario.horizon_days),
        certificates=frames.get("certificates"),
        session_day=session_day,
    )


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
    _index(run, learner)
    token = _calendar.set(scenario.start_date)
    try:
        rows = _explained(run, scenario, learner, course)
    finally:
        _calendar.reset(token)
    frame = pd.DataFrame([{k: r.get(k) for k in COLUMNS} for r in rows], columns=list(COLUMNS))
    frame.attrs["start_date"] = scenario.start_date  # for as_text
    return frame


def _explained(run: _Run, scenario: Scenario, learner: str, course: str | None) -> list[dict]:
    rows = _account(run, scenario, learner)
    if course is not None:
        leading = {
            job
            for job, rows_ in run.jobs_of.items()
            if any(str(r["target_course_id"]) == course for r in rows_)
        }
        rows = [
            r
            for r in rows
            if r["course_id"] == course or (r["event"] == "job_queued" and r["job_id"] in leading)
        ] + _why_course(run, scenario, learner, course)
        rows.sort(key=lambda r: (r["day"], r["_seq"]))
        rows.insert(0, _answer(run, learner, course))
    return rows


def as_text(frame: pd.DataFrame) -> str:
    """The account as the command line prints it, a statement a line: `day D: text`
    (with a calendar `2027-01-09 (day 5): text`)."""
    start = frame.attrs.get("start_date")
    return "\n".join(
        f"{_on(day, start)}: {text}" if not _missing(day) else text
        for day, text in zip(frame["day"], frame["text"], strict=True)
    )


def _close(value: str, known) -> str:
    import difflib

    close = difflib.get_close_matches(value, sorted(map(str, known))[:5000], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# ----- the chronological account -----------------------------------------------------------


def _row(
    event, day, text, course=None, rule=None, job=None, enrollment=None, seq=0, claims=()
) -> dict:
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
        "claims": tuple(claims),
        "_seq": seq,
    }


def _account(run: _Run, scenario: Scenario, learner: str) -> list[dict]:
    mine = sorted(
        (ev for kind, evs in run.by_kind.items() if kind not in _SHARED_EVENTS for ev in evs),
        key=lambda ev: ev.seq,
    )
    rows = []
    for ev in mine:
        said = _event_text(run, scenario, learner, ev)
        if said is not None:
            text, claims = said
            course = None if _missing(ev.course_id) else str(ev.course_id)
            rule = None if _missing(ev.rule_id) else str(ev.rule_id)
            job = None if _missing(ev.job_id) else int(ev.job_id)
            enrollment = None if _missing(ev.enrollment_id) else int(ev.enrollment_id)
            happened = {
                "kind": "event",
                "event": str(ev.event),
                "day": float(ev.day),
                "course": course,
                "enrollment": enrollment,
                "job": job,
            }
            rows.append(
                _row(
                    str(ev.event),
                    ev.day,
                    text,
                    course,
                    rule,
                    job,
                    enrollment,
                    ev.seq,
                    [happened, *claims],
                )
            )
    pending = [
        job for rows_ in run.jobs_of.values() for job in rows_ if str(job["outcome"]) == "pending"
    ]
    for job in pending:
        which = (
            f"re-enrollment job {job['job_id']} (certificate {job['certificate_id']}, "
            if _is_re_enrollment(job)
            else f"job {job['job_id']} of rule {job['rule_id']} ("
        )
        rows.append(
            _row(
                "job_pending",
                run.horizon,
                f"{which}for {job['target_course_id']}, "
                f"due {_on(job['due_day'])}) is still queued at the horizon (S24)",
                str(job["target_course_id"]),
                None if _missing(job["rule_id"]) else str(job["rule_id"]),
                int(job["job_id"]),
                None,
                len(run.events),
                [
                    {
                        "kind": "job_outcome",
                        "job": int(job["job_id"]),
                        "course": str(job["target_course_id"]),
                        "outcome": "pending",
                        "due_day": float(job["due_day"]),
                    }
                ],
            )
        )
    return rows + _certificates_at_horizon(run, learner)


def _is_re_enrollment(job: dict) -> bool:
    """A re-enrollment job (S34): a job of no rule."""
    return _missing(job["rule_id"])


def _certificates_at_horizon(run: _Run, learner: str) -> list[dict]:
    """When the learner's latest certificate of each course expires, or expired (S31)."""
    latest: dict[str, dict] = {}
    for c in run.certs.values():  # in award order
        latest[str(c["course_id"])] = c
    rows = []
    for course, c in latest.items():
        cid, expires = int(c["certificate_id"]), float(c["expires_day"])
        head = (
            f"{learner}'s latest certificate of {course} is {cid} (awarded {_on(c['awarded_day'])})"
        )
        if not _missing(c["expired_day"]):
            text = f"{head}: it expired on {_on(expires)} and was not renewed (S31)"
        elif expires > run.horizon:
            text = f"{head}: it expires on {_on(expires)}, after the horizon (S31)"
        else:
            text = f"{head}: it expires on {_on(expires)} (S31)"
        claim = {
            "kind": "latest_certificate",
            "certificate": cid,
            "course": course,
            "expires": expires,
            "expired": not _missing(c["expired_day"]),
        }
        rows.append(
            _row("certificate", run.horizon, text, course, seq=len(run.events) + 1, claims=[claim])
        )
    return rows


def _first_after(run: _Run, seq: int, event: str, **match) -> Any:
    """The first event of kind `event` after position `seq` whose columns equal `match`
    (among the learner's events and the rule and course changes)."""
    for ev in _kind(run, event):
        if ev.seq > seq and all(str(getattr(ev, k)) == str(v) for k, v in match.items()):
            return ev
    return None


def _enrollment_text(run: _Run, e: dict, learner: str, seq: int) -> tuple[str, list]:
    course, eid = str(e["course_id"]), int(e["enrollment_id"])
    kind = str(e["course_type"])
    what = f"{kind} {course}" if kind in ("curriculum", "bundle") else course
    method = str(e["method"])
    claims: list[dict] = [
        {
            "kind": "enrollment",
            "enrollment": eid,
            "course": course,
            "method": method,
            "day": float(e["enrolled_day"]),
        }
    ]
    if method == "post_enrollment":
        job = int(e["job_id"])
        found = run.jobs_of.get(job)
        how = f"by rule {e['rule_id']} (job {job}"
        claims[0].update(rule=str(e["rule_id"]), job=job)
        if found:
            j = found[0]
            how += (
                f", queued on {_on(j['queued_day'])} when {learner} "
                f"{_past(str(j['trigger']))} {j['source_course_id']})"
            )
            claims.append(_queued_claim(j))
        else:
            how += ")"
    elif method == "re_enrollment":
        job = int(e["job_id"])
        found = run.jobs_of.get(job)
        claims[0].update(rule=None, job=job)
        how = f"by re-enrollment before expiry (job {job}"
        if found and not _missing(found[0].get("certificate_id")):
            cert = run.certs.get(int(found[0]["certificate_id"]))
            if cert is not None:
                how += (
                    f", for certificate {cert['certificate_id']}, which expires on "
                    f"{_on(cert['expires_day'])}"
                )
                claims.append(_certificate_claim(cert))
        how += ", S34)"
    else:
        how = _HOW.get(method, method)
    text = f"enrolled in {what} {how}: enrollment {eid}"
    due = e.get("due_day")
    if due is not None and not _missing(due):
        text += f"; due {_on(due)}"
        renews = claims[1] if len(claims) > 1 and claims[1]["kind"] == "certificate" else None
        if renews is not None and renews["expires"] == float(due):
            text += ", when the certificate it renews expires"
        text += " (S35)"
        claims.append({"kind": "due", "enrollment": eid, "day": float(due)})
    visible = e["visible_day"]
    if _missing(visible):
        # Why it never became visible (S21): the course stayed inactive, or the enrollment
        # was replaced or its learner removed before the course became active.
        activated = _first_after(run, seq, "course_activated", course_id=course)
        removed = _first_after(run, -1, "learner_removed", learner_id=learner)
        if not _missing(e["superseded_day"]) and (
            activated is None or float(e["superseded_day"]) <= float(activated.day)
        ):
            text += f"; {course} was inactive and it was replaced before it became visible (S21)"
            claims.append({"kind": "replaced_unseen", "enrollment": eid})
        elif activated is None:
            text += f"; {course} is inactive: the learner never saw it within the horizon (S21)"
            claims.append({"kind": "inactive_unseen", "enrollment": eid, "course": course})
        elif removed is not None and removed.seq < activated.seq:
            text += (
                f"; {course} was inactive, and {learner} was removed on {_on(removed.day)}, "
                f"before it became active on {_on(activated.day)}: a removed learner's "
                "enrollments never become visible (S21, S29)"
            )
            claims.append(
                {
                    "kind": "removed_unseen",
                    "enrollment": eid,
                    "course": course,
                    "removed_day": float(removed.day),
                    "activated_day": float(activated.day),
                }
            )
        else:
            text += f"; it never became visible to {learner} within the horizon (S21)"
            claims.append({"kind": "unseen", "enrollment": eid})
    elif float(visible) > float(e["enrolled_day"]):
        text += f"; {course} was inactive: hidden until {_on(visible)} (S21)"
        claims.append(
            {"kind": "hidden_until", "enrollment": eid, "course": course, "day": float(visible)}
        )
    return text, claims


def _certificate_claim(c: dict) -> dict:
    return {
        "kind": "certificate",
        "certificate": int(c["certificate_id"]),
        "enrollment": int(c["enrollment_id"]),
        "course": str(c["course_id"]),
        "awarded": float(c["awarded_day"]),
        "expires": float(c["expires_day"]),
    }


def _queued_claim(j: dict) -> dict:
    return {
        "kind": "job_queued",
        "job": int(j["job_id"]),
        "rule": None if _missing(j["rule_id"]) else str(j["rule_id"]),
        "trigger": str(j["trigger"]),
        "source": str(j["source_course_id"]),
        "day": float(j["queued_day"]),
        "due_day": float(j["due_day"]),
    }


def _past(trigger: str) -> str:
    return TRIGGER_WORDS[trigger].past


def _event_text(run: _Run, scenario: Scenario, learner: str, ev) -> tuple[str, list] | None:
    """The words for one of the learner's events, and the facts they assert beyond the
    event itself (the event is always a claim: `_account` adds it)."""
    kind = str(ev.event)
    course = None if _missing(ev.course_id) else str(ev.course_id)
    eid = None if _missing(ev.enrollment_id) else int(ev.enrollment_id)
    detail = None if _missing(ev.detail) else str(ev.detail)
    if kind == "learner_added":
        return f"{learner} joins", []
    if kind == "learner_removed":
        return (
            f"{learner} is removed: no new enrollments or triggers from now on; jobs still "
            "queued for them will be skipped (S29)"
        ), []
    if kind == "enrolled":
        return _enrollment_text(run, run.enr[eid], learner, ev.seq)
    if kind == "superseded":
        return (
            f"enrollment {eid} in {course} moved to history: a new enrollment replaced it (S14)"
        ), []
    if kind == "visible":
        return f"{course} became active: enrollment {eid} is visible from now on (S21)", []
    if kind == "started":
        return f"started {course} (enrollment {eid})", []
    if kind == "completed":
        if str(run.enr[eid]["course_type"]) == "curriculum":
            return (
                f"completed curriculum {course}: its member completions met its requirements (S26)"
            ), []
        return f"completed {course} (enrollment {eid})", []
    if kind == "failed":
        return f"failed {course} (enrollment {eid})", []
    if kind == "self_enroll_rejected":
        return (
            f"tried to enroll in {course} from the catalog: rejected, "
            f"{_REJECTED.get(detail, detail)} (S16)"
        ), []
    if kind == "job_queued" and _is_re_enrollment(run.jobs_of[int(ev.job_id)][0]):
        return _reenroll_queued_text(run, run.jobs_of[int(ev.job_id)][0])
    if kind == "job_queued":
        job = int(ev.job_id)
        j = run.jobs_of[job][0]
        delay = float(j["due_day"]) - float(j["queued_day"])
        when = "at once" if delay == 0 else f"{days(delay)} later"
        return (
            f"{TRIGGER_WORDS[str(j['trigger'])].doing} {course} queued job {job} of rule "
            f"{ev.rule_id}: due {_on(j['due_day'])} ({when}, S3)"
        ), [_queued_claim(j)]
    if kind == "job_processed" and _is_re_enrollment(run.jobs_of[int(ev.job_id)][0]):
        return _reenroll_job_text(run, learner, ev)
    if kind == "job_processed":
        return _job_text(run, learner, ev)
    if kind == "certificate_awarded":
        return _awarded_text(run, eid)
    if kind == "certificate_expired":
        c = run.cert_of.get(eid)
        if c is None:  # a run read without its certificates table
            return f"the certificate of {course} earned by enrollment {eid} expired (S31)", []
        return (
            f"certificate {c['certificate_id']} of {course} expired: it was valid from "
            f"{_on(c['awarded_day'])} (S31)"
        ), [{"kind": "expired", "certificate": int(c["certificate_id"]), "day": float(ev.day)}]
    if kind == "overdue":
        started = run.enr[eid]["started_day"]
        started = not _missing(started) and float(started) <= float(ev.day)
        return (
            f"enrollment {eid} in {course} is overdue: it was due on {_on(ev.day)} and "
            f"was not finished by then ({'in progress' if started else 'not started'}, S35)"
        ), [
            {
                "kind": "overdue",
                "enrollment": eid,
                "course": course,
                "due": float(ev.day),
                "started": started,
            }
        ]
    if kind == "bundle_member_skipped":
        reason = (
            "the learner was removed (S29)"
            if detail == "learner_removed"
            else f"enrollment {eid} in {course} was still open (S27)"
        )
        return f"the bundle did not enroll {learner} in {course}: {reason}", []
    if kind == "cascade_limit":
        return f"{detail} for {learner}: further jobs at this instant were not applied (S22)", []
    if kind == "session_booked":
        return f"booked {_session(run, detail, course)}", []
    if kind == "session_attended":  # at the session's own instant: the line's date says it
        if _calendar.get() is not None and (run.session_day or {}).get(str(detail)) is not None:
            return f"attended the session of {course}", []
        return f"attended session {detail} of {course}", []
    if kind == "session_missed":
        return _missed_text(run, ev, course, eid, detail)
    if kind == "session_waitlisted":
        return (
            f"no session of {course} with a free seat is left within the horizon: waiting (S30)"
        ), []
    return None


def _awarded_text(run: _Run, eid: int) -> tuple[str, list]:
    """S31, S32: the certificate a completion earned, and the older one it replaced."""
    c = run.cert_of.get(eid)
    if c is None:  # a run read without its certificates table
        return f"awarded a certificate for enrollment {eid} (S31)", []
    cid, course = int(c["certificate_id"]), str(c["course_id"])
    text = (
        f"awarded certificate {cid} of {course} for enrollment {eid}: valid until "
        f"{_on(c['expires_day'])} (S31)"
    )
    claims = [_certificate_claim(c)]
    awarded = float(c["awarded_day"])
    for old in run.certs.values():
        if (
            str(old["course_id"]) == course
            and int(old["certificate_id"]) < cid
            and not _missing(old["replaced_day"])
            and float(old["replaced_day"]) == awarded
        ):
            text += (
                f"; it replaces certificate {old['certificate_id']}, which would have expired "
                f"on {_on(old['expires_day'])} (S32)"
            )
            claims.append(
                {
                    "kind": "replaces",
                    "certificate": cid,
                    "old": int(old["certificate_id"]),
                    "day": awarded,
                }
            )
    return text, claims


def _reenroll_queued_text(run: _Run, j: dict) -> tuple[str, list]:
    """S34: a certificate queues its re-enrollment job when it is awarded."""
    job, due = int(j["job_id"]), float(j["due_day"])
    c = run.certs.get(int(j["certificate_id"]))
    if c is None:  # a run read without its certificates table
        return (
            f"certificate {j['certificate_id']} of {j['source_course_id']} queued "
            f"re-enrollment job {job}: due {_on(due)} (S34)"
        ), [_queued_claim(j) | {"certificate": int(j["certificate_id"])}]
    expires = float(c["expires_day"])
    when = (
        "at once: the expiry less the window is before the award"
        if due == float(j["queued_day"])
        else f"{days(expires - due)} before it expires on {_on(expires)}"
    )
    return (
        f"certificate {c['certificate_id']} of {c['course_id']} queued re-enrollment job {job}: "
        f"due {_on(due)}, {when} (S34)"
    ), [_queued_claim(j) | {"certificate": int(c["certificate_id"])}, _certificate_claim(c)]


def _reenroll_job_text(run: _Run, learner: str, ev) -> tuple[str, list]:
    """S34 steps 1-4: what the re-enrollment job found when it ran."""
    job = int(ev.job_id)
    j = run.jobs_of[job][0]
    outcome, target = str(j["outcome"]), str(j["target_course_id"])
    cid = int(j["certificate_id"])
    c = run.certs.get(cid)
    claims: list[dict] = [
        {
            "kind": "job_outcome",
            "job": job,
            "course": target,
            "outcome": outcome,
            "day": float(ev.day),
        }
    ]
    if c is None:  # a run read without its certificates table: the job's own words only
        return f"re-enrollment job {job} (certificate {cid}) for {target}: {outcome} (S34)", claims
    head = f"re-enrollment job {job} (certificate {cid}, expiring {_on(c['expires_day'])})"
    claims.append(_certificate_claim(c))
    if outcome == "enrolled":
        text = (
            f"{head} enrolled {learner} in {target} again: the certificate was still the "
            f"latest and {learner} had no open enrollment in {target} (S34.4)"
        )
        claims.append(
            {
                "kind": "nothing_open",
                "course": target,
                "day": float(ev.day),
                "certificate": cid,
                "made": int(j["enrollment_id"]),
            }
        )
    elif outcome == "skipped_renewed":
        newer = next(
            n
            for n in run.certs.values()
            if str(n["course_id"]) == target
            and int(n["certificate_id"]) > cid
            and float(n["awarded_day"]) <= float(ev.day)
        )
        text = (
            f"{head} skipped {target}: {learner} had renewed it since, with certificate "
            f"{newer['certificate_id']} (enrollment {newer['enrollment_id']}, "
            f"{_on(newer['awarded_day'])}), so it needs no re-enrollment (S34.2)"
        )
        claims.append(
            {
                "kind": "renewed",
                "certificate": cid,
                "newer": int(newer["certificate_id"]),
                "day": float(newer["awarded_day"]),
                "job": job,
            }
        )
    elif outcome == "skipped_already_enrolled":
        reason = int(j["reason_enrollment_id"])
        since = run.enr[reason]["enrolled_day"]
        text = (
            f"{head} skipped {target}: {learner}'s enrollment {reason} in {target} (since "
            f"{_on(since)}) was still open (S34.3)"
        )
        claims.append(
            {"kind": "open_at", "enrollment": reason, "course": target, "since": float(since)}
        )
    elif outcome == "skipped_learner_removed":
        text = f"{head} skipped {target}: {learner} had been removed (S34.1, S29)"
    else:
        text = f"{head} for {target}: {outcome}"
    return text, claims


def _session(run: _Run, session_id: str, course: str, the_next: bool = False) -> str:
    """`session I@2 of I`; with a calendar, by its date (a session's id is its course and
    day number: `the session of WS on 2027-01-20 09:30 (day 16.39)`, not `WS@16.3958`)."""
    day = (run.session_day or {}).get(str(session_id))
    if _calendar.get() is None or day is None:
        return str(session_id) if the_next else f"session {session_id} of {course}"
    return f"the one on {_on(day)}" if the_next else f"the session of {course} on {_on(day)}"


def _missed_text(run: _Run, ev, course: str, eid: int, detail: str) -> tuple[str, list]:
    """A no-show books again (S30), if a later session with a free seat is left: say which
    happened, from the event that followed."""
    booked = _first_after(run, ev.seq, "session_booked", enrollment_id=eid)
    if booked is not None and float(booked.day) == float(ev.day):
        return (
            f"missed {_session(run, detail, course)}; books the next one with a free seat, "
            f"{_session(run, booked.detail, course, the_next=True)} (S30)"
        ), [{"kind": "rebooked", "enrollment": eid, "missed": detail, "booked": str(booked.detail)}]
    return (
        f"missed {_session(run, detail, course)}; no later session of {course} with a free "
        "seat is left within the horizon, so there is no rebooking (S30)"
    ), [{"kind": "not_rebooked", "enrollment": eid, "course": course, "missed": detail}]


def _job_text(run: _Run, learner: str, ev) -> tuple[str, list]:
    job, target, rule = int(ev.job_id), str(ev.course_id), str(ev.rule_id)
    j = next(r for r in run.jobs_of[job] if str(r["target_course_id"]) == target)
    outcome = str(j["outcome"])
    head = (
        f"job {job} (rule {rule})"
        if str(j["trigger"]) != "expiring"
        else f"re-enrollment job {job}"
    )
    claims: list[dict] = [
        {
            "kind": "job_outcome",
            "job": job,
            "course": target,
            "outcome": outcome,
            "day": float(ev.day),
        }
    ]
    if outcome == "enrolled":
        step = "S34.4" if str(j["trigger"]) == "expiring" else "S19.4"
        text = f"{head} enrolled {learner} in {target} ({step})"
    elif outcome == "skipped_already_enrolled":
        reason = int(j["reason_enrollment_id"])
        since = run.enr[reason]["enrolled_day"]
        text = (
            f"{head} skipped {target}: {learner}'s enrollment {reason} in {target} "
            f"(since {_on(since)}) was still open, and a rule never resets an open "
            "enrollment (S19.2)"
        )
        claims.append(
            {"kind": "open_at", "enrollment": reason, "course": target, "since": float(since)}
        )
    elif outcome == "skipped_already_completed":
        reason = int(j["reason_enrollment_id"])
        done = run.enr[reason]["completed_day"]
        text = (
            f"{head} skipped {target}: already completed {target} on {_on(done)} "
            f"(enrollment {reason}), and rule {rule} does not allow consecutive enrollments (S19.3)"
        )
        claims.append(
            {"kind": "completed_by", "enrollment": reason, "course": target, "day": float(done)}
        )
    elif outcome == "skipped_learner_removed":
        text = f"{head} skipped {target}: {learner} had been removed (S19.1, S29)"
    elif outcome == "cascade_limit":
        text = f"{head} was not applied to {target}: the cascade limit was reached (S22)"
    else:
        text = f"{head} for {target}: {outcome}"
    queued = float(j["queued_day"])
    queued_seq = _queued_seq(run, job)
    changes = sorted(
        (
            c
            for kind in ("rule_edited", "rule_removed")
            for c in _kind(run, kind)
            if str(c.rule_id) == rule and queued_seq < c.seq < ev.seq and c.day >= queued
        ),
        key=lambda c: c.seq,
    )
    for change in changes:
        if str(change.event) == "rule_edited":
            text += (
                f"; queued by the version of {rule} in force on {_on(queued)}: the edit on "
                f"{_on(change.day)} does not change queued jobs (S18)"
            )
        else:
            text += (
                f"; rule {rule} was removed on {_on(change.day)}, but jobs already queued "
                "still run (S18)"
            )
        claims.append(
            {
                "kind": "changed_while_queued",
                "job": job,
                "rule": rule,
                "event": str(change.event),
                "day": float(change.day),
            }
        )
    return text, claims


def _queued_seq(run: _Run, job: int) -> int:
    found = _first_after(run, -1, "job_queued", job_id=job)
    return -1 if found is None else int(found.seq)


# ----- "why is (or isn't) this learner in C?" ---------------------------------------------


def _answer(run: _Run, learner: str, course: str) -> dict:
    mine = [e for e in run.enr.values() if str(e["course_id"]) == course]
    if not mine:
        text = f"{learner} was never enrolled in {course}; what could have led there:"
        claim = {"kind": "answer", "course": course, "count": 0}
    else:
        current = [e for e in mine if _missing(e["superseded_day"])][-1]
        text = (
            f"{learner} is in {course}: {_plural(len(mine), 'enrollment')}, the current one "
            f"{int(current['enrollment_id'])} ({current['status']}, by {current['method']})"
        )
        claim = {
            "kind": "answer",
            "course": course,
            "count": len(mine),
            "current": int(current["enrollment_id"]),
            "status": str(current["status"]),
            "method": str(current["method"]),
        }
    return _row("answer", math.nan, text, course, seq=-1, claims=[claim])


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
    added_by: str | None = (
        None  # None (in the scenario from the start), "rule_added" or "rule_edited"
    )

    def in_force(self, seq: int) -> bool:
        return self.added_seq < seq and (self.ended_seq is None or seq < self.ended_seq)

    def words(self) -> str:
        return f"{self.when} {self.source} -> {', '.join(self.targets)}"


_LOGGED = {"add_rule": "rule_added", "edit_rule": "rule_edited", "remove_rule": "rule_removed"}


def _rule_spans(run: _Run, scenario: Scenario) -> list[_RuleSpan]:
    """Every version of every rule (S18, `rule_versions`), with the stretch of the run it
    was in force: from the event that made it to the one that ended it."""
    current: dict[str, _RuleSpan] = {}
    spans: list[_RuleSpan] = []
    changes: list[tuple[int, int, str, Version | None]] = []  # (position, index, rule, made)
    for v in rule_versions(scenario):
        if v.script_index is None:
            span = _RuleSpan(v.rule, v.source, v.when, v.targets, -1, 0.0, None, None, None)
            current[v.rule] = span
            spans.append(span)
        else:
            changes.append((v.first, v.script_index, v.rule, v))
        if v.ended_by is not None and scenario.script[v.ended_by].action == "remove_rule":
            changes.append((int(v.last), v.ended_by, v.rule, None))
    logged = sorted(
        (ev for kind in _LOGGED.values() for ev in _kind(run, kind)), key=lambda ev: ev.seq
    )
    for _, index, rid, version in sorted(changes, key=lambda c: c[0]):  # in run order (S23)
        kind = _LOGGED[scenario.script[index].action]
        match = next(
            (ev for ev in logged if str(ev.rule_id) == rid and str(ev.event) == kind), None
        )
        if match is None:
            continue  # past the horizon: never happened
        logged.remove(match)
        old = current.get(rid)
        if old is not None and kind != "rule_added":
            old.ended_seq, old.ended_day, old.ended_by = match.seq, float(match.day), kind
        if version is None:  # removed
            current.pop(rid, None)
            continue
        span = _RuleSpan(
            rid,
            version.source,
            version.when,
            version.targets,
            match.seq,
            float(match.day),
            None,
            None,
            None,
            kind,
        )
        current[rid] = span
        spans.append(span)
    return spans


def _why_course(run: _Run, scenario: Scenario, learner: str, course: str) -> list[dict]:
    spans = _rule_spans(run, scenario)
    into = [s for s in spans if course in s.targets]
    spec = next(c for c in scenario.courses if c.id == course)
    reenrolls = spec.certificate is not None and spec.certificate.reenroll_before is not None
    rows = []
    if reenrolls and not any(str(c["course_id"]) == course for c in run.certs.values()):
        rows.append(
            _row(
                "no_certificate",
                math.nan,
                f"{course} re-enrolls learners before their certificate expires (S34), but "
                f"{learner} never earned a certificate of {course}",
                course,
                seq=-1,
                claims=[{"kind": "never_certified", "course": course}],
            )
        )
    if not into:
        also = " and re-enrollment before expiry (S34)" if reenrolls else ""
        return rows + [
            _row(
                "no_rule",
                math.nan,
                f"no rule ever has {course} among its targets: only direct enrollments "
                f"(administrator, catalog, bundle){also} can put a learner there",
                course,
                seq=-1,
                claims=[{"kind": "no_rule_into", "course": course}],
            )
        ]
    triggers = sorted(
        (ev for kind in TRIGGERS for ev in _kind(run, kind)),
        key=lambda ev: ev.seq,
    )
    for rule in dict.fromkeys(s.rule for s in into):
        versions = [s for s in spans if s.rule == rule]
        leading = [s for s in into if s.rule == rule]
        source = versions[0].source
        whens = list(dict.fromkeys(s.when for s in leading))
        relevant = [t for t in triggers if str(t.course_id) == source and str(t.event) in whens]
        for trig in relevant:
            said = _why_not(run, rule, versions, leading, trig, learner, course)
            if said is not None:
                text, claim = said
                rows.append(
                    _row(
                        "trigger",
                        trig.day,
                        text,
                        course,
                        rule,
                        None,
                        int(trig.enrollment_id),
                        trig.seq,
                        [claim],
                    )
                )
        for when in whens:
            if any(str(t.event) == when for t in relevant):
                continue
            span = next(s for s in leading if s.when == when)
            rows.append(
                _row(
                    "no_trigger",
                    math.nan,
                    f"rule {rule} ({span.words()}): {learner} never {_past(when)} {source}",
                    course,
                    rule,
                    seq=-1,
                    claims=[
                        {"kind": "never_triggered", "rule": rule, "source": source, "when": when}
                    ],
                )
            )
    return rows


def _why_not(
    run: _Run,
    rule: str,
    versions: list[_RuleSpan],
    leading: list[_RuleSpan],
    trig,
    learner: str,
    course: str,
) -> tuple[str, dict] | None:
    """Why the trigger `trig` did not lead `rule` to queue a job into `course`, from the
    version of the rule in force at that instant (S18); None when it did (the job and its
    outcome are already in the account)."""
    verb = f"{learner} {_past(str(trig.event))} {trig.course_id} on {_on(trig.day)}"
    eid = int(trig.enrollment_id)
    at = next((s for s in versions if s.in_force(trig.seq)), None)
    base = {"rule": rule, "course": course, "trigger_enrollment": eid, "trigger": str(trig.event)}
    if at is not None and course in at.targets and at.when == str(trig.event):
        if _first_after(run, -1, "job_queued", rule_id=rule, enrollment_id=eid) is not None:
            return None
        return (
            f"{verb}, but rule {rule} queued no job for it (S18)",
            {"kind": "no_job", **base},
        )
    if at is None:
        first = versions[0]
        if trig.seq < first.added_seq:
            return (
                f"{verb}, before rule {rule} was added on {_on(first.added_day)}: rules are "
                "not retroactive (S18)",
                {"kind": "rule_added_later", "day": first.added_day, **base},
            )
        ended = [s for s in versions if s.ended_seq is not None and s.ended_seq < trig.seq]
        last = ended[-1]
        return (
            f"{verb}, after rule {rule} was removed on {_on(last.ended_day)} (S18)",
            {"kind": "rule_removed_before", "day": last.ended_day, **base},
        )
    # A version was in force, but it did not lead to this course on this trigger: name it
    # and the edit that made (or unmade) the version that does.
    since = "from the start" if at.added_by is None else f"since {_on(at.added_day)}"
    then = f"the version in force then ({since}) was '{at.words()}'"
    later = next((s for s in leading if s.added_seq > trig.seq and s.when == str(trig.event)), None)
    claim = {"kind": "version_not_into", "in_force_when": at.when, **base}
    if later is not None:
        return (
            f"{verb}, when rule {rule} did not lead to {course}: {then}; it was edited on "
            f"{_on(later.added_day)} to '{later.words()}', and edits are not retroactive (S18)",
            {**claim, "edited_day": later.added_day, "edit": "later"},
        )
    edited = at.added_day
    return (
        f"{verb}, after rule {rule} was edited on {_on(edited)} so that it no longer "
        f"leads to {course}: {then} (S18)",
        {**claim, "edited_day": edited, "edit": "earlier"},
    )
