"""Every statement `explain` makes is checked against the run's tables, on random scenarios.

Each row of an account carries the facts its words assert (`claims`, docs/explain.md);
`check_claim` verifies each kind from the enrollments, jobs, events and sessions tables
alone, with no code of explain's own, so a statement that says more than happened fails.
"""

from __future__ import annotations

import json

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postenroll_sim import ScenarioError, parse_scenario, simulate
from postenroll_sim.design.explain import explain

LEARNERS = ["l0", "l1", "l2"]
ONLINE = ["A", "B", "C"]
HORIZON = 20


@st.composite
def scenarios(draw):
    """Rules that are added, edited and removed, inactive courses activated late, removed
    learners, an ILC with few seats and no-shows (sessions run out), and a certificate
    with re-enrollment and due dates (S31-S35)."""
    targets = st.lists(st.sampled_from([*ONLINE, "I"]), min_size=1, max_size=2, unique=True)
    courses, rule_ids, script = [], [], []
    for course in ONLINE:
        rules = []
        for n in range(draw(st.integers(0, 2))):
            rid = f"{course}{n}"
            rule_ids.append((rid, course))
            rules.append(
                {
                    "id": rid,
                    "when": draw(st.sampled_from(["enrolled", "completed"])),
                    "delay_days": draw(st.integers(0, 3)),
                    "courses": draw(targets),
                }
            )
        courses.append(
            {
                "id": course,
                "type": "online",
                "active": course == "A" or draw(st.booleans()),
                "post_enrollments": rules,
            }
        )
    if draw(st.booleans()):  # S31-S35 on A: expiries, re-enrollments and overdue in the horizon
        a = courses[0]
        a["certificate"] = {
            "valid_for": {"days": draw(st.integers(3, 8))},
            "reenroll_before": {"days": draw(st.integers(0, 2))},
            "renew_from": draw(st.sampled_from(["completion", "expiry"])),
        }
        if draw(st.booleans()):
            a["due_after"] = {"days": draw(st.integers(1, 4))}
            a["renewal_due"] = draw(st.sampled_from(["expiry", "due_after"]))
    if draw(st.booleans()):
        courses[1]["due_after"] = {"days": draw(st.integers(1, 4))}
    courses.append(
        {
            "id": "I",
            "type": "ilc",
            "active": draw(st.booleans()),
            "sessions": [
                {"day": day, "capacity": draw(st.integers(1, 2))}
                for day in sorted(draw(st.sets(st.integers(1, HORIZON), min_size=1, max_size=3)))
            ],
            "behaviour": {"no_show_rate": draw(st.sampled_from([0.3, 0.6, 0.9]))},
        }
    )
    for n in range(draw(st.integers(0, 2))):
        rid = f"N{n}"
        source = draw(st.sampled_from(ONLINE))
        day = draw(st.integers(0, 8))
        rule = {"id": rid, "when": draw(st.sampled_from(["enrolled", "completed"]))}
        rule |= {"delay_days": draw(st.integers(0, 3)), "courses": draw(targets)}
        script.append({"day": day, "action": "add_rule", "course": source, "rule": rule})
        rule_ids.append((rid, source, day))
    for entry in rule_ids:
        rid, first = entry[0], entry[2] if len(entry) == 3 else 0
        day = first
        if draw(st.booleans()):
            day += draw(st.integers(0, 5))
            change = draw(
                st.sampled_from(
                    [{"courses": draw(targets)}, {"when": "completed"}, {"delay_days": 0}]
                )
            )
            script.append({"day": day, "action": "edit_rule", "rule": rid, "set": change})
        if draw(st.booleans()):
            day += draw(st.integers(0, 5))
            script.append({"day": day, "action": "remove_rule", "rule": rid})
    removed = {}
    for learner in LEARNERS:
        if draw(st.booleans()):
            removed[learner] = draw(st.integers(1, 12))
    for learner in LEARNERS:
        for course in ONLINE:
            day = 0
            for _ in range(draw(st.integers(0, 2))):
                day += draw(st.integers(0, 3))
                enroll = {"day": day, "action": "enroll", "learner": learner, "course": course}
                day += draw(st.integers(0, 3))
                done = {"day": day, "action": "complete", "learner": learner, "course": course}
                if day < removed.get(learner, HORIZON + 1):
                    script += [enroll, done]
        if draw(st.booleans()) and removed.get(learner, HORIZON + 1) > 0:
            script.append({"day": 0, "action": "enroll", "learner": learner, "course": "I"})
    for learner, day in removed.items():
        script.append({"day": day, "action": "remove_learner", "learner": learner})
    for course in ["B", "C", "I"]:
        if draw(st.booleans()):
            script.append(
                {"day": draw(st.integers(1, 15)), "action": "activate_course", "course": course}
            )
    data = {
        "name": "random explain",
        "horizon_days": HORIZON,
        "seed": draw(st.integers(0, 1000)),
        "courses": courses,
        "learners": LEARNERS,
        "script": script,
    }
    return json.dumps(data)


# ----- the facts, read from the tables -------------------------------------------------------


class Tables:
    """The run's tables as plain records (pandas per claim would make the test slow)."""

    def __init__(self, result):
        def records(frame):
            return [
                {k: (None if pd.isna(v) else v) for k, v in row.items()}
                for row in frame.astype(object).to_dict("records")
            ]

        self.e = {r["enrollment_id"]: r for r in records(result.enrollments)}
        self.j = records(result.jobs)
        self.ev = records(result.events)
        self.sessions = records(result.sessions)
        self.c = {r["certificate_id"]: r for r in records(result.certificates)}

    def certs(self, learner: str, course: str) -> list[dict]:
        return [
            c for c in self.c.values() if (c["learner_id"], c["course_id"]) == (learner, course)
        ]

    def events(self, kind: str, **match) -> list[int]:
        """Positions in the events table of the events of `kind` matching `match`."""
        return [
            i
            for i, ev in enumerate(self.ev)
            if ev["event"] == kind and all(str(ev[k]) == str(v) for k, v in match.items())
        ]

    def position(self, kind: str, **match) -> int:
        found = self.events(kind, **match)
        assert len(found) == 1, (kind, match)
        return found[0]

    def jobs(self, **match) -> list[dict]:
        return [j for j in self.j if all(str(j[k]) == str(v) for k, v in match.items())]


def check_claim(t: Tables, learner: str, claim: dict) -> None:
    kind = claim["kind"]
    if kind == "event":
        match = {"learner_id": learner, "day": claim["day"]}
        match |= {
            f"{k}_id": claim[k] for k in ("course", "enrollment", "job") if claim[k] is not None
        }
        assert t.events(claim["event"], **match), claim
    elif kind == "enrollment":
        e = t.e[claim["enrollment"]]
        assert (e["learner_id"], e["course_id"]) == (learner, claim["course"])
        assert e["method"] == claim["method"] and e["enrolled_day"] == claim["day"]
        if "job" in claim:
            assert e["job_id"] == claim["job"] and e["rule_id"] == claim["rule"]
    elif kind == "job_queued":
        rows = t.jobs(job_id=claim["job"])
        assert rows and all(r["learner_id"] == learner for r in rows)
        first = rows[0]
        assert first["rule_id"] == claim["rule"] and first["queued_day"] == claim["day"]
        assert first["trigger"] == claim["trigger"] and first["due_day"] == claim["due_day"]
        assert first["source_course_id"] == claim["source"]
        if "certificate" in claim:
            assert first["certificate_id"] == claim["certificate"], claim
    elif kind == "job_outcome":
        rows = t.jobs(job_id=claim["job"], target_course_id=claim["course"])
        assert len(rows) == 1 and rows[0]["outcome"] == claim["outcome"], claim
        if claim["outcome"] == "pending":
            assert rows[0]["processed_day"] is None
        else:
            assert rows[0]["processed_day"] == claim["day"]
    elif kind == "open_at":
        e = t.e[claim["enrollment"]]
        assert (e["learner_id"], e["course_id"]) == (learner, claim["course"])
        assert e["enrolled_day"] == claim["since"]
    elif kind == "completed_by":
        e = t.e[claim["enrollment"]]
        assert e["course_id"] == claim["course"] and e["completed_day"] == claim["day"]
    elif kind == "changed_while_queued":
        queued = t.position("job_queued", job_id=claim["job"])
        processed = min(t.events("job_processed", job_id=claim["job"]))
        change = t.events(claim["event"], rule_id=claim["rule"], day=claim["day"])
        assert any(queued < i < processed for i in change), claim
    elif kind == "hidden_until":
        e = t.e[claim["enrollment"]]
        assert e["visible_day"] == claim["day"] > e["enrolled_day"]
        assert t.events("course_activated", course_id=claim["course"], day=claim["day"])
    elif kind in ("inactive_unseen", "removed_unseen", "replaced_unseen", "unseen"):
        e = t.e[claim["enrollment"]]
        assert e["visible_day"] is None
        created = t.position("enrolled", enrollment_id=claim["enrollment"])
        later = [i for i in t.events("course_activated", course_id=e["course_id"]) if i > created]
        if kind == "inactive_unseen":  # the course stays inactive to the horizon
            assert not later, claim
        elif kind == "removed_unseen":
            removal = t.position("learner_removed", learner_id=learner)
            assert later and removal < later[0]
            assert t.ev[removal]["day"] == claim["removed_day"]
            assert t.ev[later[0]]["day"] == claim["activated_day"]
        elif kind == "replaced_unseen":
            assert e["superseded_day"] is not None
            assert not later or e["superseded_day"] <= t.ev[later[0]]["day"]
    elif kind in ("rebooked", "not_rebooked"):
        missed = t.position(
            "session_missed", enrollment_id=claim["enrollment"], detail=claim["missed"]
        )
        booked = [i for i in t.events("session_booked", enrollment_id=claim["enrollment"])]
        booked = [i for i in booked if i > missed]
        if kind == "rebooked":
            assert booked and t.ev[booked[0]]["detail"] == claim["booked"] != claim["missed"]
        else:  # no later booking, and every later session of the course is full
            assert not booked, claim
            sessions = [s for s in t.sessions if s["course_id"] == claim["course"]]
            day = next(s["day"] for s in sessions if s["session_id"] == claim["missed"])
            assert all(s["booked"] >= s["capacity"] for s in sessions if s["day"] > day), claim
    elif kind == "answer":
        mine = [
            e
            for e in t.e.values()
            if (e["learner_id"], e["course_id"]) == (learner, claim["course"])
        ]
        assert len(mine) == claim["count"]
        if mine:
            current = [e for e in mine if e["superseded_day"] is None]
            assert len(current) == 1 and current[0]["enrollment_id"] == claim["current"]
            assert (current[0]["status"], current[0]["method"]) == (
                claim["status"],
                claim["method"],
            )
    elif kind == "certificate":
        c = t.c[claim["certificate"]]
        assert (c["learner_id"], c["course_id"]) == (learner, claim["course"])
        assert c["enrollment_id"] == claim["enrollment"]
        assert (c["awarded_day"], c["expires_day"]) == (claim["awarded"], claim["expires"])
    elif kind == "replaces":
        old, new = t.c[claim["old"]], t.c[claim["certificate"]]
        assert (old["learner_id"], old["course_id"]) == (new["learner_id"], new["course_id"])
        assert (
            old["replaced_day"] == claim["day"] == new["awarded_day"]
            and claim["old"] < new["certificate_id"]
        )
    elif kind == "expired":
        assert t.c[claim["certificate"]]["expired_day"] == claim["day"], claim
    elif kind == "latest_certificate":
        mine = t.certs(learner, claim["course"])
        latest = max(mine, key=lambda c: c["certificate_id"])
        assert latest["certificate_id"] == claim["certificate"]
        assert latest["expires_day"] == claim["expires"]
        assert (latest["expired_day"] is not None) == claim["expired"], claim
    elif kind == "renewed":
        old, newer = t.c[claim["certificate"]], t.c[claim["newer"]]
        assert (old["learner_id"], old["course_id"]) == (newer["learner_id"], newer["course_id"])
        (job,) = t.jobs(job_id=claim["job"])
        assert claim["certificate"] < claim["newer"]
        assert newer["awarded_day"] == claim["day"] <= job["processed_day"], claim
    elif kind == "nothing_open":
        # every other enrollment of the learner in the course made before the job ran was
        # finished or replaced before it ran, and no newer certificate had been awarded
        (ran,) = [i for i in t.events("job_processed", enrollment_id=claim["made"])]
        for e in t.e.values():
            if (e["learner_id"], e["course_id"]) != (learner, claim["course"]):
                continue
            if (
                e["enrollment_id"] == claim["made"]
                or t.position("enrolled", enrollment_id=e["enrollment_id"]) > ran
            ):
                continue
            ends = [
                i
                for kind_ in ("completed", "failed", "superseded")
                for i in t.events(kind_, enrollment_id=e["enrollment_id"])
            ]
            assert any(i < ran for i in ends), claim
        newer = [
            c
            for c in t.certs(learner, claim["course"])
            if c["certificate_id"] > claim["certificate"] and c["awarded_day"] <= claim["day"]
        ]
        assert not newer, claim
    elif kind == "due":
        assert t.e[claim["enrollment"]]["due_day"] == claim["day"], claim
    elif kind == "overdue":
        e = t.e[claim["enrollment"]]
        assert e["due_day"] == claim["due"] and e["course_id"] == claim["course"]
        for column in ("completed_day", "failed_day", "superseded_day"):
            assert e[column] is None or e[column] > claim["due"], claim
        started = e["started_day"] is not None and e["started_day"] <= claim["due"]
        assert started == claim["started"], claim
    elif kind == "never_certified":
        assert not t.certs(learner, claim["course"]), claim
    elif kind == "no_rule_into":  # re-enrollment jobs (no rule) may enroll there (S34)
        into = t.jobs(target_course_id=claim["course"])
        assert not [j for j in into if j["rule_id"] is not None], claim
    elif kind == "never_triggered":
        assert not t.events(claim["when"], learner_id=learner, course_id=claim["source"])
    else:
        _check_why_not(t, learner, claim)


def _check_why_not(t: Tables, learner: str, claim: dict) -> None:
    """A trigger of the learner's that the rule did not turn into a job into the course."""
    trigger = t.position(claim["trigger"], enrollment_id=claim["trigger_enrollment"])
    jobs = t.jobs(
        rule_id=claim["rule"],
        trigger_enrollment_id=claim["trigger_enrollment"],
        trigger=claim["trigger"],
    )
    assert not any(j["target_course_id"] == claim["course"] for j in jobs), claim  # none into it
    kind = claim["kind"]
    if kind == "rule_added_later":
        added = t.events("rule_added", rule_id=claim["rule"])
        assert not jobs and len(added) == 1 and added[0] > trigger
        assert t.ev[added[0]]["day"] == claim["day"]
    elif kind == "rule_removed_before":
        removed = t.events("rule_removed", rule_id=claim["rule"])
        assert not jobs and len(removed) == 1 and removed[0] < trigger
        assert t.ev[removed[0]]["day"] == claim["day"]
    elif kind == "version_not_into":
        edits = t.events("rule_edited", rule_id=claim["rule"], day=claim["edited_day"])
        later = claim["edit"] == "later"
        assert any((i > trigger) if later else (i < trigger) for i in edits), claim
        # the version in force acted on this trigger (into other courses) if its `when` matched
        assert bool(jobs) == (claim["in_force_when"] == claim["trigger"]), claim
    elif kind == "no_job":
        assert not jobs
    else:
        raise AssertionError(f"a claim kind the check does not know: {kind}")


def check_account(result, tables: Tables, learner: str, course: str | None = None) -> None:
    frame = explain(result, learner, course=course)
    for text, claims in zip(frame["text"], frame["claims"], strict=True):
        assert claims, f"a statement with no checkable claim: {text}"
        for claim in claims:
            try:
                check_claim(tables, learner, claim)
            except AssertionError as error:
                raise AssertionError(f"{text!r} claims {claim}, which the tables deny") from error


# A learner's whole account and the account of one course per example: explain is a few
# pandas filters a call, and the suite must stay fast.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.sampled_from(LEARNERS), st.sampled_from([*ONLINE, "I"]))
def test_every_explain_statement_holds_in_the_tables(text, learner, course):
    try:
        result = simulate(parse_scenario(text, "random.yaml"))
    except ScenarioError:
        return  # a script the run refuses (it names the action): nothing to explain
    tables = Tables(result)
    check_account(result, tables, learner)
    check_account(result, tables, learner, course)
