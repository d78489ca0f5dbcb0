"""`explain`: a learner's history in plain words, with the evidence for each decision."""

from __future__ import annotations

import pytest

from postenroll_sim import load_scenario, simulate
from postenroll_sim.design.explain import ExplainError, as_text, explain

from helpers import ROOT

STORY = ROOT / "tests" / "scenarios" / "explain-story.yaml"


@pytest.fixture(scope="module")
def story():
    return simulate(load_scenario(STORY))


def test_the_whole_story_of_a_learner(story):
    assert as_text(explain(story, "alice")).splitlines() == [
        "day 0: alice joins",
        "day 0: enrolled in A by an administrator: enrollment 0",
        "day 0: enrolled in B by an administrator: enrollment 1",
        "day 3: completed A (enrollment 0)",
        "day 3: completing A queued job 0 of rule R2: due day 8 (5 days later, S3)",
        "day 8: job 0 (rule R2) skipped B: alice's enrollment 1 in B (since day 0) was still "
        "open, and a rule never resets an open enrollment (S19.2); queued by the version of R2 "
        "in force on day 3: the edit on day 6 does not change queued jobs (S18)",
        "day 8: job 0 (rule R2) enrolled alice in C (S19.4); queued by the version of R2 in "
        "force on day 3: the edit on day 6 does not change queued jobs (S18)",
        "day 8: enrolled in C by rule R2 (job 0, queued on day 3 when alice completed A): "
        "enrollment 3; C was inactive: hidden until day 40 (S21)",
        "day 40: C became active: enrollment 3 is visible from now on (S21)",
    ]


def test_a_removed_learners_jobs_are_skipped(story):
    text = as_text(explain(story, "bob"))
    assert "day 7: bob is removed: no new enrollments or triggers from now on" in text
    assert "day 9: job 1 (rule R2) skipped C: bob had been removed (S19.1, S29)" in text


def test_why_not_in_a_course_a_rule_added_too_late(story):
    assert as_text(explain(story, "alice", course="CERT")).splitlines() == [
        "alice was never enrolled in CERT; what could have led there:",
        "day 3: alice completed A on day 3, before rule CERT-R was added on day 10: rules are "
        "not retroactive (S18)",
    ]


def test_why_in_a_course_shows_the_enrollment_and_the_job_that_was_skipped(story):
    frame = explain(story, "alice", course="B")
    assert frame["text"].iloc[0] == (
        "alice is in B: 1 enrollment, the current one 1 (not_started, by admin)"
    )
    assert list(frame["event"]) == ["answer", "enrolled", "job_queued", "job_processed"]
    assert list(frame["job_id"].dropna()) == [0, 0]


def test_already_completed_names_the_completion_and_the_flag():
    result = simulate(load_scenario(ROOT / "tests" / "acceptance" / "04-consecutive-off.yaml"))
    assert as_text(explain(result, "alice")).splitlines()[-1] == (
        "day 3: job 0 (rule R1) skipped B: already completed B on day 1 (enrollment 0), and "
        "rule R1 does not allow consecutive enrollments (S19.3)"
    )


def test_removed_rule_keeps_its_queued_job_and_stops_later_triggers():
    result = simulate(
        load_scenario(ROOT / "tests" / "acceptance" / "03-removal-keeps-queued-jobs.yaml")
    )
    assert as_text(explain(result, "bob", course="B")).splitlines() == [
        "bob was never enrolled in B; what could have led there:",
        "day 6: bob completed A on day 6, after rule R1 was removed on day 5 (S18)",
    ]
    assert "rule R1 was removed on day 5, but jobs already queued still run (S18)" in as_text(
        explain(result, "alice", course="B")
    )


def test_a_stochastic_scenario_explains_the_chosen_replication():
    spec = load_scenario(ROOT / "scenarios" / "remediation-on-failure.yaml")
    result = simulate(spec, replication=1)
    learner = str(result.enrollments["learner_id"].iloc[0])
    frame = explain(result, learner)
    assert list(frame.columns) == [
        "day",
        "event",
        "course_id",
        "rule_id",
        "job_id",
        "enrollment_id",
        "text",
        "claims",
    ]
    assert frame["day"].is_monotonic_increasing and len(frame) >= 3


def test_unknown_learner_or_course_is_a_clear_error(story):
    with pytest.raises(ExplainError, match="no learner 'alicee' in this run .did you mean 'alice'"):
        explain(story, "alicee")
    with pytest.raises(ExplainError, match="no course 'CRET'"):
        explain(story, "alice", course="CRET")


def test_the_command_line(cli):
    code, out, _ = cli("explain", STORY, "--learner", "alice", "--course", "CERT")
    assert code == 0 and out.splitlines()[0] == (
        "alice was never enrolled in CERT; what could have led there:"
    )
    code, _, err = cli("explain", STORY, "--learner", "zed")
    assert code == 2 and err == "postenroll-sim: no learner 'zed' in this run\n"


TRUTH = ROOT / "tests" / "scenarios" / "explain-truth.yaml"


@pytest.fixture(scope="module")
def truth():
    return simulate(load_scenario(TRUTH))


def _claims_hold(result, learner, course=None):
    from test_explain_claims import Tables, check_account

    check_account(result, Tables(result), learner, course)


def test_an_edit_that_first_leads_to_a_course_is_not_called_its_addition(truth):
    text = as_text(explain(truth, "alice", course="C"))
    assert "was added" not in text
    assert (
        "day 3: alice completed A on day 3, when rule R did not lead to C: the version in force "
        "then (from the start) was 'completed A -> B'; it was edited on day 5 to "
        "'completed A -> C', and edits are not retroactive (S18)"
    ) in text.splitlines()
    _claims_hold(truth, "alice", "C")


def test_a_removed_learner_never_saw_a_course_activated_after_the_removal(truth):
    text = as_text(explain(truth, "bob"))
    assert "C is inactive" not in text
    assert (
        "C was inactive, and bob was removed on day 8, before it became active on day 10: a "
        "removed learner's enrollments never become visible (S21, S29)"
    ) in text
    _claims_hold(truth, "bob")


def test_a_no_show_at_the_last_session_is_not_promised_a_rebooking(truth):
    lines = as_text(explain(truth, "cy")).splitlines()
    assert "day 2: missed session I@2 of I; books the next one with a free seat, I@4 (S30)" in lines
    assert (
        "day 4: missed session I@4 of I; no later session of I with a free seat is left within "
        "the horizon, so there is no rebooking (S30)"
    ) in lines
    _claims_hold(truth, "cy", "I")


def test_with_a_calendar_a_session_is_said_by_its_date_not_its_id():
    """A session's id is its course and day number (`I@2.39583`): with a start_date the
    account names the session by its date, as every instant (S1 v2)."""
    from postenroll_sim import parse_scenario

    text = TRUTH.read_text(encoding="utf-8").replace(
        "horizon_days: 30", "start_date: 2027-01-04\nhorizon_days: 30"
    )
    text = text.replace("{day: 2, capacity: 5}", "{day: 2027-01-06 09:30, capacity: 5}")
    result = simulate(parse_scenario(text, "dated-truth.yaml"))
    lines = as_text(explain(result, "cy")).splitlines()
    assert "2027-01-04 (day 0): booked the session of I on 2027-01-06 09:30 (day 2.39)" in lines
    assert (
        "2027-01-06 09:30 (day 2.39): missed the session of I on 2027-01-06 09:30 (day 2.39); "
        "books the next one with a free seat, the one on 2027-01-08 (day 4) (S30)"
    ) in lines
    assert "2027-01-08 (day 4): missed the session of I on 2027-01-08 (day 4); no later" in (
        "\n".join(lines)
    )
    assert not [line for line in lines if "@" in line]
    _claims_hold(result, "cy", "I")


CERTIFICATES = ROOT / "tests" / "scenarios" / "explain-certificates.yaml"


@pytest.fixture(scope="module")
def certified():
    return simulate(load_scenario(CERTIFICATES))


def test_a_re_enrollment_its_certificate_expiry_and_the_overdue_renewal(certified):
    # valid 100 days from the completion on day 10: expires day 110; re-enrollment 30 days
    # before, on day 80 (S34), due at the expiry (S35); not done then: overdue
    lines = as_text(explain(certified, "ana")).splitlines()
    assert lines[1] == "day 0: enrolled in FIRE by an administrator: enrollment 0; due day 20 (S35)"
    assert lines[3:6] == [
        "day 10: awarded certificate 0 of FIRE for enrollment 0: valid until day 110 (S31)",
        "day 10: certificate 0 of FIRE queued re-enrollment job 0: due day 80, 30 days before "
        "it expires on day 110 (S34)",
        "day 80: re-enrollment job 0 (certificate 0, expiring day 110) enrolled ana in FIRE "
        "again: the certificate was still the latest and ana had no open enrollment in FIRE "
        "(S34.4)",
    ]
    assert lines[-4:] == [
        "day 80: enrolled in FIRE by re-enrollment before expiry (job 0, for certificate 0, "
        "which expires on day 110, S34): enrollment 7; due day 110, when the certificate it "
        "renews expires (S35)",
        "day 110: certificate 0 of FIRE expired: it was valid from day 10 (S31)",
        "day 110: enrollment 7 in FIRE is overdue: it was due on day 110 and was not finished "
        "by then (not started, S35)",
        "day 150: ana's latest certificate of FIRE is 0 (awarded day 10): it expired on day 110 "
        "and was not renewed (S31)",
    ]
    _claims_hold(certified, "ana")


def test_why_a_learner_was_not_re_enrolled(certified):
    bob = as_text(explain(certified, "bob"))
    assert (
        "day 60: awarded certificate 4 of FIRE for enrollment 5: valid until day 160 (S31); it "
        "replaces certificate 1, which would have expired on day 110 (S32)"
    ) in bob
    assert (
        "day 80: re-enrollment job 1 (certificate 1, expiring day 110) skipped FIRE: bob had "
        "renewed it since, with certificate 4 (enrollment 5, day 60), so it needs no "
        "re-enrollment (S34.2)"
    ) in bob
    assert "it expires on day 160, after the horizon (S31)" in bob
    assert (
        "skipped FIRE: dan's enrollment 6 in FIRE (since day 75) was still open (S34.3)"
    ) in as_text(explain(certified, "dan"))
    assert "skipped FIRE: eve had been removed (S34.1, S29)" in as_text(explain(certified, "eve"))
    for learner in ("bob", "dan", "eve"):
        _claims_hold(certified, learner)


def test_a_re_enrollment_job_still_queued_at_the_horizon_in_dates(tmp_path):
    from postenroll_sim import parse_scenario

    scenario = parse_scenario(
        """
name: pending re-enrollment
start_date: 2027-01-04
horizon_days: 60
courses:
  - {id: FIRE, type: online, certificate: {valid_for: {days: 100}, reenroll_before: {days: 30}}}
learners: [ana]
script:
  - {day: 2027-01-04, action: enroll, learner: ana, course: FIRE}
  - {day: "2027-01-06 14:30", action: complete, learner: ana, course: FIRE}
""",
        "pending.yaml",
    )
    text = as_text(explain(simulate(scenario), "ana"))
    assert (
        "2027-03-05 (day 60): re-enrollment job 0 (certificate 0, for FIRE, due 2027-03-17 "
        "14:30 (day 72.6)) is still queued at the horizon (S24)"
    ) in text


def test_why_a_learner_who_never_completed_is_not_re_enrolled(certified):
    lines = as_text(explain(certified, "cy", course="FIRE")).splitlines()
    assert "day 20: enrollment 2 in FIRE is overdue: it was due on day 20 and was not " in (
        "\n".join(lines)
    )
    assert (
        "FIRE re-enrolls learners before their certificate expires (S34), but cy never earned a "
        "certificate of FIRE"
    ) in lines
    _claims_hold(certified, "cy", "FIRE")


def test_a_run_without_its_certificates_table_is_still_explained(certified):
    from dataclasses import replace

    bare = replace(certified, certificates=None)
    lines = as_text(explain(bare, "bob")).splitlines()
    assert "day 10: awarded a certificate for enrollment 1 (S31)" in lines
    assert "day 80: re-enrollment job 1 (certificate 1) for FIRE: skipped_renewed (S34)" in lines
