"""Certificates, re-enrollment before expiry and due dates (S31-S38): tests named after
the rule they check, and worked examples computed by hand from the spec (docs/semantics.md
has the same dates). Every scenario starts on 2027-01-01, so a date is its day number."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from postenroll_sim import ScenarioError, load_scenario, parse_scenario, simulate

from helpers import one, rows

START = pd.Timestamp("2027-01-01")
YEAR_30 = {"valid_for": {"years": 1}, "reenroll_before": {"days": 30}}  # the vendor's example
AT = pd.Timestamp


def day(when: str) -> float:
    """The day number of a date-time written as in the tables' `*_at` columns."""
    return (pd.Timestamp(when) - START) / pd.Timedelta(days=1)


def act(when: str, action: str, learner: str | None = "ann", course: str | None = "A", **more):
    step = {"day": day(when), "action": action, "learner": learner, "course": course, **more}
    return {key: value for key, value in step.items() if value is not None}


def enroll(when: str, **more):
    return act(when, "enroll", **more)


def complete(when: str, **more):
    return act(when, "complete", **more)


def certified(
    certificate: dict | None,
    *script: dict,
    horizon: str = "2030-01-01",
    course: dict | None = None,
    courses: tuple[dict, ...] = (),
    processing: dict | None = None,
    learners: tuple = ("ann",),
):
    """Run course A (online; `course` adds keys) with `certificate` and the script steps."""
    a = {"id": "A", "type": "online", **(course or {})}
    if certificate is not None:
        a["certificate"] = certificate
    data = {
        "name": "certificates",
        "start_date": START.date(),
        "horizon_days": day(horizon),
        **({"processing": processing} if processing else {}),
        "courses": [a, *courses],
        "learners": list(learners),
        "script": list(script),
    }
    return simulate(parse_scenario(yaml.safe_dump(data, sort_keys=False), "inline.yaml"))


def first_year(certificate: dict = YEAR_30, *more: dict, **options):
    """ann enrolled on 4 January 2027 and certified on 31 January 2027 at 10:00."""
    return certified(
        certificate,
        enroll("2027-01-04"),
        complete("2027-01-31 10:00"),
        *more,
        **options,
    )


def certificate(result, number: int) -> pd.Series:
    return one(result.certificates, certificate_id=number)


def reenrollment_jobs(result) -> pd.DataFrame:
    return rows(result.jobs, kind="re_enrollment")


def same(found, wanted) -> bool:
    """Two moments are the same, or both missing (NaT)."""
    return (pd.isna(found) and pd.isna(wanted)) or found == wanted


def events_at(result, when: str) -> list[str]:
    return list(result.events.loc[result.events["at"] == AT(when), "event"])


# ----- S31: a certificate on each completion, calendar periods ---------------------------


def test_S31_a_one_year_certificate_is_valid_from_the_completion_to_its_expiry():
    result = first_year()
    cert = certificate(result, 0)
    assert cert["learner_id"] == "ann" and cert["course_id"] == "A"
    assert cert["enrollment_id"] == 0
    assert cert["awarded_at"] == AT("2027-01-31 10:00")
    assert cert["expires_at"] == AT("2028-01-31 10:00")
    assert cert["awarded_day"] == pytest.approx(30 + 10 / 24)
    assert cert["expires_day"] == pytest.approx(395 + 10 / 24)
    assert cert["source"] == "simulated"
    assert len(result.certificates) == 1  # the re-enrollment of 2028 is never completed
    awarded = one(result.events, event="certificate_awarded")
    assert awarded["at"] == AT("2027-01-31 10:00") and awarded["enrollment_id"] == 0


@pytest.mark.parametrize(
    ("completed", "period", "expires"),
    [
        ("2027-01-31 10:00", {"years": 1}, "2028-01-31 10:00"),
        ("2027-01-31 10:00", {"months": 1}, "2027-02-28 10:00"),  # February has no 31st
        ("2028-01-31 10:00", {"months": 1}, "2028-02-29 10:00"),  # 2028 is a leap year
        ("2028-02-29 10:00", {"years": 1}, "2029-02-28 10:00"),
        ("2027-03-01 10:00", {"years": 1}, "2028-03-01 10:00"),  # the same day, 366 days
        ("2027-03-01 10:00", {"days": 365}, "2028-02-29 10:00"),  # days are exact
        ("2027-05-31 23:59:59", {"months": 1}, "2027-06-30 23:59:59"),  # the same time of day
    ],
)
def test_S31_calendar_periods_keep_the_day_and_clamp_to_the_month_end(completed, period, expires):
    result = certified(
        {"valid_for": period}, enroll(completed), complete(completed), horizon="2030-06-01"
    )
    assert certificate(result, 0)["expires_at"] == AT(expires)


def test_S31_a_period_taken_off_the_expiry_clamps_too():
    # 31 Mar 2027 + 1 year = 31 Mar 2028; 1 month before that is 29 February 2028
    result = certified(
        {"valid_for": {"years": 1}, "reenroll_before": {"months": 1}},
        enroll("2027-03-01"),
        complete("2027-03-31 10:00"),
    )
    job = one(reenrollment_jobs(result))
    assert job["due_at"] == AT("2028-02-29 10:00")


@pytest.mark.parametrize(
    ("again", "replaced", "expired", "expires"),
    [
        # one second before the expiry it is still valid: replaced, and renewed from expiry
        ("2028-01-31 09:59:59", AT("2028-01-31 09:59:59"), pd.NaT, "2029-01-31 10:00"),
        # at the expiry second it is not valid any more (expiries come first, S34): expired,
        # and the new one counts from the completion (S32)
        ("2028-01-31 10:00:00", pd.NaT, AT("2028-01-31 10:00"), "2029-01-31 10:00"),
        ("2028-01-31 10:00:01", pd.NaT, AT("2028-01-31 10:00"), "2029-01-31 10:00:01"),
    ],
)
def test_S31_valid_up_to_but_not_including_the_expiry_second(again, replaced, expired, expires):
    result = first_year(
        {"valid_for": {"years": 1}, "renew_from": "expiry"},  # no window: all validity counts
        enroll("2028-01-20"),
        complete(again),
    )
    old, new = certificate(result, 0), certificate(result, 1)
    assert same(old["replaced_at"], replaced) and same(old["expired_at"], expired)
    assert new["awarded_at"] == AT(again) and new["expires_at"] == AT(expires)


def test_S31_expiry_comes_before_a_script_action_at_the_same_instant():
    result = first_year(
        {"valid_for": {"years": 1}}, enroll("2028-01-20"), complete("2028-01-31 10:00")
    )
    assert events_at(result, "2028-01-31 10:00") == [
        "certificate_expired",
        "completed",
        "certificate_awarded",
    ]


def test_S31_online_ilc_and_curriculum_completions_award_a_failure_does_not():
    cert = {"valid_for": {"days": 100}}
    result = certified(
        cert,
        enroll("2027-01-02", course="M"),
        enroll("2027-01-02", course="CUR"),
        enroll("2027-01-02", course="I"),
        enroll("2027-01-02", course="F"),
        enroll("2027-01-02", course="N"),
        complete("2027-01-10", course="M"),  # the curriculum completes with it (S26)
        act("2027-01-11", "fail", course="F"),
        complete("2027-01-12", course="N"),
        horizon="2027-03-01",
        courses=(
            {"id": "M", "type": "online"},
            {"id": "CUR", "type": "curriculum", "members": ["M"], "certificate": cert},
            {
                "id": "I",
                "type": "ilc",
                "certificate": cert,
                "sessions": [{"day": 9, "capacity": 1}],
                "behaviour": {"start_after_days": 0},
            },
            {"id": "F", "type": "online", "allow_failure": True, "certificate": cert},
            {"id": "N", "type": "online"},  # no certificate: awards none (S31)
        ),
    )
    awarded = result.certificates.set_index("course_id")["awarded_at"].to_dict()
    assert awarded == {"CUR": AT("2027-01-10"), "I": AT("2027-01-10")}


# ----- S32: what a renewal counts from ------------------------------------------------

FROM_EXPIRY = {**YEAR_30, "renew_from": "expiry"}


def test_S32_renewing_inside_the_window_from_expiry_adds_to_the_old_expiry():
    # docs/semantics.md S32: re-enrolled on 1 Jan 2028 10:00 by the job, completed inside
    # the window: the old expiry + 1 year, and that certificate's job 30 days before it
    result = first_year(FROM_EXPIRY, complete("2028-01-12 15:00"))
    old, new = certificate(result, 0), certificate(result, 1)
    assert new["expires_at"] == AT("2029-01-31 10:00")
    assert old["replaced_at"] == AT("2028-01-12 15:00")  # one valid certificate per course
    assert pd.isna(old["expired_at"])  # a replaced certificate never expires on its own
    expired = rows(result.events, event="certificate_expired")
    assert list(expired["enrollment_id"]) == [new["enrollment_id"]]
    assert list(reenrollment_jobs(result)["due_at"]) == [
        AT("2028-01-01 10:00"),
        AT("2029-01-01 10:00"),
    ]


def test_S32_renewing_from_completion_is_the_default():
    result = first_year(YEAR_30, complete("2028-01-12 15:00"))
    assert certificate(result, 1)["expires_at"] == AT("2029-01-12 15:00")
    assert certificate(result, 0)["replaced_at"] == AT("2028-01-12 15:00")


def test_S32_an_early_renewal_before_the_window_counts_from_the_completion():
    # the early bird of docs/semantics.md, enrolled again by an administrator
    result = first_year(FROM_EXPIRY, enroll("2027-11-15"), complete("2027-11-20 09:00"))
    old, new = certificate(result, 0), certificate(result, 1)
    assert new["expires_at"] == AT("2028-11-20 09:00")
    assert old["replaced_at"] == AT("2027-11-20 09:00")
    jobs = reenrollment_jobs(result).set_index("certificate_id")
    assert jobs.loc[1, "due_at"] == AT("2028-10-21 09:00")
    assert jobs.loc[0, "outcome"] == "skipped_renewed"  # S34.2, on 1 Jan 2028


def test_S32_a_renewal_in_grace_counts_from_the_completion_and_replaces_nothing():
    result = first_year({**FROM_EXPIRY, "grace": {"days": 14}}, complete("2028-02-05 10:00"))
    old, new = certificate(result, 0), certificate(result, 1)
    assert new["expires_at"] == AT("2029-02-05 10:00")
    assert old["expired_at"] == AT("2028-01-31 10:00") and pd.isna(old["replaced_at"])


def test_S32_without_a_window_a_renewal_any_time_while_valid_counts_from_expiry():
    no_window = {"valid_for": {"years": 1}, "renew_from": "expiry"}
    result = first_year(no_window, enroll("2027-05-25"), complete("2027-06-01 08:00"))
    assert certificate(result, 1)["expires_at"] == AT("2029-01-31 10:00")


@pytest.mark.parametrize(
    ("again", "expires"),
    [("2027-11-20 09:00", "2028-11-20 09:00"), ("2028-01-12 15:00", "2029-01-31 10:00")],
)
def test_S32_S37_warn_before_is_the_window_of_a_course_without_reenrollment(again, expires):
    warned = {"valid_for": {"years": 1}, "warn_before": {"days": 30}, "renew_from": "expiry"}
    result = first_year(warned, enroll("2027-11-15"), complete(again))
    assert certificate(result, 1)["expires_at"] == AT(expires)
    assert result.jobs.empty  # a warning window queues no re-enrollment


def test_S32_monthly_renewals_from_expiry_add_to_the_clamped_expiry():
    # 31 Jan + 1 month = 28 Feb; renewed from there, 28 Mar (not 31 Mar)
    monthly = {"valid_for": {"months": 1}, "renew_from": "expiry"}
    result = first_year(monthly, enroll("2027-02-10"), complete("2027-02-20"))
    assert list(result.certificates["expires_at"]) == [
        AT("2027-02-28 10:00"),
        AT("2027-03-28 10:00"),
    ]


# ----- S33: fixed calendar expiry -------------------------------------------------------


@pytest.mark.parametrize(
    ("completed", "expires"),
    [
        ("2027-03-10 10:00", "2028-01-01"),  # + 6 months is 10 Sep 2027: this year
        ("2027-08-15 10:00", "2029-01-01"),  # + 6 months is past 31 Dec 2027: next year
        ("2027-07-01 00:00:00", "2028-01-01"),  # exactly 6 months: enough
        ("2027-07-01 00:00:01", "2029-01-01"),  # one second short
    ],
)
def test_S33_expires_at_the_end_of_the_day_with_at_least_min_valid(completed, expires):
    fixed = {"expires_on": "12-31", "min_valid": {"months": 6}}
    result = certified(fixed, enroll("2027-03-01"), complete(completed))
    assert certificate(result, 0)["expires_at"] == AT(expires)


@pytest.mark.parametrize(
    ("completed", "expires"),
    [
        ("2027-05-01", "2028-03-01"),
        ("2028-05-01", "2029-03-01"),
        ("2028-02-29 12:00", "2028-03-01"),
    ],
)
def test_S33_02_29_is_the_last_day_of_february(completed, expires):
    result = certified({"expires_on": "02-29"}, enroll("2027-03-01"), complete(completed))
    assert certificate(result, 0)["expires_at"] == AT(expires)


@pytest.mark.parametrize(
    ("completed", "expires"),
    [("2027-12-02 00:00:00", "2028-01-01"), ("2027-12-02 00:00:01", "2029-01-01")],
)
def test_S33_min_valid_defaults_to_reenroll_before(completed, expires):
    fixed = {"expires_on": "12-31", "reenroll_before": {"days": 30}}
    result = certified(fixed, enroll("2027-11-01"), complete(completed))
    assert certificate(result, 0)["expires_at"] == AT(expires)


def test_S33_min_valid_is_at_least_reenroll_before_in_every_month():
    # 1 Feb 2027 + 1 month is 1 Mar 2027 00:00, the end of 28 February: but that leaves
    # 28 days, less than the 30-day window, so the certificate runs to 28 February 2028
    fixed = {"expires_on": "02-28", "min_valid": {"months": 1}, "reenroll_before": {"days": 30}}
    result = certified(fixed, enroll("2027-01-20"), complete("2027-02-01"))
    assert certificate(result, 0)["expires_at"] == AT("2028-02-29")  # the end of 28 Feb
    assert one(reenrollment_jobs(result))["due_at"] == AT("2028-01-30")


# ----- S34: re-enrollment before expiry -------------------------------------------------


def test_S34_the_reenrollment_job_is_due_the_window_before_expiry_and_enrolls():
    result = first_year()
    job = one(result.jobs)
    assert job["kind"] == "re_enrollment" and pd.isna(job["rule_id"])
    assert job["trigger"] == "expiring" and job["trigger_enrollment_id"] == 0
    assert job["certificate_id"] == 0
    assert job["source_course_id"] == job["target_course_id"] == "A"
    assert job["queued_at"] == AT("2027-01-31 10:00")
    assert job["due_at"] == job["processed_at"] == AT("2028-01-01 10:00")  # 30 x 86,400 s
    assert job["due_day"] == pytest.approx(365 + 10 / 24)
    assert job["outcome"] == "enrolled"
    again = one(result.enrollments, enrollment_id=job["enrollment_id"])
    assert again["method"] == "re_enrollment" and again["job_id"] == job["job_id"]
    assert pd.isna(again["rule_id"]) and again["enrolled_at"] == AT("2028-01-01 10:00")
    first = one(result.enrollments, enrollment_id=0)  # S14: the completed one, superseded
    assert first["status"] == "complete" and first["superseded_at"] == AT("2028-01-01 10:00")


def test_S34_a_window_before_the_award_makes_the_job_due_at_the_award():
    # expires at the end of 28 March 2027; a month before that is 28 February 00:00 (no
    # 29th in 2027), before the completion at 12:00: the job is due, and runs, at once
    fixed = {"expires_on": "03-28", "reenroll_before": {"months": 1}}
    result = certified(fixed, enroll("2027-02-01"), complete("2027-02-28 12:00"))
    assert certificate(result, 0)["expires_at"] == AT("2027-03-29")
    job = one(result.jobs)
    assert job["queued_at"] == job["due_at"] == job["processed_at"] == AT("2027-02-28 12:00")
    assert job["outcome"] == "enrolled"


REMOVE = act("2027-12-01", "remove_learner", course=None)
RENEW = (enroll("2027-11-15"), complete("2027-11-20 09:00"))
REOPEN = enroll("2027-11-25")


@pytest.mark.parametrize(
    ("steps", "outcome"),
    [
        ((REMOVE,), "skipped_learner_removed"),  # S34.1
        ((*RENEW,), "skipped_renewed"),  # S34.2
        ((REOPEN,), "skipped_already_enrolled"),  # S34.3
        ((*RENEW, REOPEN, REMOVE), "skipped_learner_removed"),  # removed comes first
        ((*RENEW, REOPEN), "skipped_renewed"),  # renewed before open
        ((), "enrolled"),  # S34.4
    ],
)
def test_S34_the_first_step_that_holds_decides(steps, outcome):
    result = first_year(YEAR_30, *steps)
    job = one(reenrollment_jobs(result), certificate_id=0)
    assert job["processed_at"] == AT("2028-01-01 10:00")
    assert job["outcome"] == outcome
    made = rows(result.enrollments, method="re_enrollment", job_id=job["job_id"])
    assert len(made) == (outcome == "enrolled")
    if outcome == "skipped_already_enrolled":  # the evidence: the open enrollment
        assert (
            job["reason_enrollment_id"]
            == one(result.enrollments, enrolled_at=AT("2027-11-25"))["enrollment_id"]
        )


def test_S24_S34_a_reenrollment_job_past_the_horizon_is_pending():
    job = one(first_year(horizon="2027-12-31").jobs)
    assert job["outcome"] == "pending" and pd.isna(job["processed_day"])
    assert job["target_course_id"] == "A" and job["due_at"] == AT("2028-01-01 10:00")


def test_S34_S21_reenrollment_into_an_inactive_course_waits_to_be_seen():
    result = first_year(
        YEAR_30,
        act("2027-12-01", "deactivate_course", learner=None),
        act("2028-02-01", "activate_course", learner=None),
    )
    again = one(result.enrollments, method="re_enrollment")
    assert again["enrolled_at"] == AT("2028-01-01 10:00")  # created and reported (S21)
    assert again["visible_at"] == AT("2028-02-01")


def test_S34_reenrollment_bypasses_prerequisites():
    result = first_year(
        YEAR_30,
        enroll("2027-06-01", method="self"),  # the gate is there: ann never did P
        course={"prerequisites": {"courses": ["P"]}},
        courses=({"id": "P", "type": "online"},),
    )
    rejected = one(result.events, event="self_enroll_rejected")
    assert rejected["detail"] == "prerequisites_not_met"
    assert one(result.jobs)["outcome"] == "enrolled"
    assert len(rows(result.enrollments, method="re_enrollment")) == 1


def test_S34_S17_a_reenrollment_is_an_enrolled_trigger_for_rules():
    result = first_year(
        YEAR_30,
        complete("2027-02-01", course="B"),
        course={
            "post_enrollments": [
                {
                    "id": "R",
                    "when": "enrolled",
                    "delay_days": 0,
                    "courses": ["B"],
                    "allow_consecutive": True,
                }
            ]
        },
        courses=({"id": "B", "type": "online"},),
    )
    again = one(result.enrollments, method="re_enrollment")
    rule_job = one(result.jobs, rule_id="R", trigger_enrollment_id=again["enrollment_id"])
    assert rule_job["trigger"] == "enrolled" and rule_job["outcome"] == "enrolled"
    b = one(result.enrollments, enrollment_id=rule_job["enrollment_id"])
    assert b["course_id"] == "B" and b["enrolled_at"] == AT("2028-01-01 10:00")


@pytest.mark.parametrize(
    ("completed", "due", "processed"),
    [
        ("2027-01-31 10:00", "2028-01-01 10:00", "2028-01-02 02:00"),  # the next 02:00 run
        ("2027-01-31 02:00", "2028-01-01 02:00", "2028-01-01 02:00"),  # due at a run: that run
    ],
)
def test_S34_S3_reenrollment_jobs_are_processed_by_the_daily_run(completed, due, processed):
    result = certified(
        YEAR_30,
        enroll("2027-01-04"),
        complete(completed),
        processing={"mode": "daily", "hour": 2},
    )
    job = one(result.jobs)
    assert job["due_at"] == AT(due) and job["processed_at"] == AT(processed)
    assert one(result.enrollments, method="re_enrollment")["enrolled_at"] == AT(processed)


def test_S34_order_at_one_completion_certificate_then_its_job_then_rule_jobs():
    result = first_year(
        YEAR_30,
        course={
            "post_enrollments": [
                {"id": "R", "when": "completed", "delay_days": 0, "courses": ["B"]}
            ]
        },
        courses=({"id": "B", "type": "online"},),
    )
    at = result.events[result.events["at"] == AT("2027-01-31 10:00")]
    assert list(at["event"])[:4] == ["completed", "certificate_awarded", "job_queued", "job_queued"]
    queued = at[at["event"] == "job_queued"]["job_id"].tolist()
    jobs = result.jobs.set_index("job_id")
    assert [jobs.loc[j, "kind"] for j in queued] == ["re_enrollment", "rule"]


def test_S34_a_zero_window_job_runs_after_its_certificate_expired():
    result = first_year({"valid_for": {"years": 1}, "reenroll_before": {"days": 0}})
    assert events_at(result, "2028-01-31 10:00") == [
        "certificate_expired",  # expiries first
        "job_processed",
        "superseded",
        "enrolled",
        "overdue",  # S35: due at the expiry it renews, checked last
    ]
    assert one(result.jobs)["outcome"] == "enrolled"


def test_S34_S35_a_daily_run_past_the_expiry_reenrolls_overdue_at_once():
    # a job due at the expiry (31 Jan 2028 10:00) runs at the next 02:00 run: the
    # re-enrollment is due at that expiry, already past, so it is overdue when it is made
    # (it stopped the run with an internal error: its overdue check was in the past)
    result = first_year(
        {"valid_for": {"years": 1}, "reenroll_before": {"days": 0}},
        processing={"mode": "daily", "hour": 2},
    )
    again = one(result.enrollments, method="re_enrollment")
    assert again["enrolled_at"] == AT("2028-02-01 02:00")
    assert again["due_at"] == AT("2028-01-31 10:00")
    assert events_at(result, "2028-02-01 02:00")[-2:] == ["enrolled", "overdue"]


# ----- S35: due dates and overdue ----------------------------------------------------------

DUE_30 = {"due_after": {"days": 30}}


def test_S35_due_after_gives_the_due_instant_and_an_overdue_event():
    result = certified(None, enroll("2027-03-01 09:00"), course=DUE_30)
    row = one(result.enrollments)
    assert row["due_at"] == AT("2027-03-31 09:00") and row["due_day"] == pytest.approx(89.375)
    assert row["status"] == "not_started"  # overdue is not a status (S13)
    overdue = one(result.events, event="overdue")
    assert overdue["at"] == AT("2027-03-31 09:00") and overdue["enrollment_id"] == 0
    assert result.certificates.empty  # due dates apply without a certificate (S31)


@pytest.mark.parametrize(("done", "late"), [("2027-03-31 09:00:00", 0), ("2027-03-31 09:00:01", 1)])
def test_S35_completing_at_the_due_second_is_on_time(done, late):
    result = certified(None, enroll("2027-03-01 09:00"), complete(done), course=DUE_30)
    assert len(rows(result.events, event="overdue")) == late


@pytest.mark.parametrize(
    ("steps", "course", "overdue"),
    [
        ((enroll("2027-03-20"),), DUE_30, ["2027-04-19"]),  # the superseded one is never late
        ((act("2027-03-20", "remove_learner", course=None),), DUE_30, []),
        ((), {**DUE_30, "active": False}, ["2027-03-31 09:00"]),  # unseen, late all the same
    ],
)
def test_S35_only_a_current_open_enrollment_of_a_present_learner_is_overdue(steps, course, overdue):
    result = certified(None, enroll("2027-03-01 09:00"), *steps, course=course)
    assert list(rows(result.events, event="overdue")["at"]) == [AT(o) for o in overdue]


@pytest.mark.parametrize(
    ("enrolled", "due"),
    [("2027-01-31 10:00", "2027-02-28 10:00"), ("2027-03-31 10:00", "2027-04-30 10:00")],
)
def test_S35_due_after_in_months_clamps_to_the_month_end(enrolled, due):
    result = certified(None, enroll(enrolled), course={"due_after": {"months": 1}})
    assert one(result.enrollments)["due_at"] == AT(due)


def test_S35_a_reenrollment_is_due_at_the_expiry_it_renews():
    result = first_year()  # a course without due_after
    assert pd.isna(one(result.enrollments, enrollment_id=0)["due_day"])
    assert one(result.enrollments, method="re_enrollment")["due_at"] == AT("2028-01-31 10:00")
    # at that second: the certificate expires first, the overdue check comes last
    assert events_at(result, "2028-01-31 10:00") == ["certificate_expired", "overdue"]


@pytest.mark.parametrize(
    ("processing", "renewal_due", "enrolled", "due"),
    [
        (None, "expiry", "2027-12-02 10:00", "2028-01-31 10:00"),
        (None, "due_after", "2027-12-02 10:00", "2028-01-01 10:00"),
        ({"mode": "daily", "hour": 2}, "expiry", "2027-12-03 02:00", "2028-01-31 10:00"),
        ({"mode": "daily", "hour": 2}, "due_after", "2027-12-03 02:00", "2028-01-02 02:00"),
    ],
)
def test_S35_renewal_due_expiry_or_due_after(processing, renewal_due, enrolled, due):
    result = first_year(
        {"valid_for": {"years": 1}, "reenroll_before": {"days": 60}},
        course={**DUE_30, "renewal_due": renewal_due},
        processing=processing,
    )
    again = one(result.enrollments, method="re_enrollment")
    assert again["enrolled_at"] == AT(enrolled) and again["due_at"] == AT(due)
    assert one(result.enrollments, enrollment_id=0)["due_at"] == AT("2027-02-03")  # 4 Jan + 30 d


# ----- S36, S37: grace, and the certificate events -------------------------------------------


def test_S36_grace_does_not_move_the_expiry():
    result = first_year({**YEAR_30, "grace": {"days": 14}})
    cert = certificate(result, 0)
    assert cert["expires_at"] == cert["expired_at"] == AT("2028-01-31 10:00")
    assert one(result.events, event="certificate_expired")["at"] == AT("2028-01-31 10:00")


def test_S37_awarded_at_each_completion_expired_only_when_not_replaced():
    result = first_year(
        {"valid_for": {"days": 100}},
        enroll("2027-03-01"),
        complete("2027-03-10"),  # replaces the first (valid until 11 May)
        enroll("2027-07-01"),
        complete("2027-07-01 12:00"),  # after the second expired on 18 June
        horizon="2027-09-01",
    )
    assert list(rows(result.events, event="certificate_awarded")["at"]) == [
        AT("2027-01-31 10:00"),
        AT("2027-03-10"),
        AT("2027-07-01 12:00"),
    ]
    assert list(rows(result.events, event="certificate_expired")["at"]) == [AT("2027-06-18")]
    third = certificate(result, 2)  # expires 9 Oct, past the horizon: no event, no expired_day
    assert third["expires_at"] == AT("2027-10-09 12:00") and pd.isna(third["expired_day"])


# ----- S38: a recertification rule and re-enrollment on one course ---------------------------

RECERT_RULE = {
    "post_enrollments": [
        {
            "id": "RECERT",
            "when": "completed",
            "delay_days": 335,
            "courses": ["A"],
            "allow_consecutive": True,
        }
    ]
}


@pytest.mark.parametrize(
    ("completed", "enrolls", "skips", "at", "skipped_at"),
    [
        # a 365-day year: both due 1 Jan 2028 10:00; the re-enrollment job was queued first
        ("2027-01-31 10:00", "re_enrollment", "rule", "2028-01-01 10:00", "2028-01-01 10:00"),
        # a 366-day year (29 Feb 2028): the rule job a day before the re-enrollment job
        ("2027-03-01 10:00", "rule", "re_enrollment", "2028-01-30 10:00", "2028-01-31 10:00"),
    ],
)
def test_S38_rule_and_reenrollment_each_skip_by_their_own_steps(
    completed, enrolls, skips, at, skipped_at
):
    result = certified(YEAR_30, enroll("2027-01-04"), complete(completed), course=RECERT_RULE)
    jobs = result.jobs.set_index("kind")
    assert jobs.loc[enrolls, "outcome"] == "enrolled" and jobs.loc[enrolls, "processed_at"] == AT(
        at
    )
    assert jobs.loc[skips, "outcome"] == "skipped_already_enrolled"  # S19.2 or S34.3
    assert jobs.loc[skips, "processed_at"] == AT(skipped_at)
    assert len(rows(result.enrollments, course_id="A")) == 2  # never enrolled twice


def test_S38_a_reenrollment_job_after_the_rule_enrolled_and_was_completed_is_renewed():
    result = certified(
        YEAR_30,
        enroll("2027-01-04"),
        complete("2027-03-01 10:00"),
        complete("2028-01-30 12:00"),  # the rule's enrollment, completed before 31 January
        course=RECERT_RULE,
        horizon="2028-06-01",
    )
    first = one(result.jobs, kind="re_enrollment", certificate_id=0)
    assert first["outcome"] == "skipped_renewed" and first["processed_at"] == AT("2028-01-31 10:00")


# ----- validation: located errors --------------------------------------------------------

COURSE = """\
name: refused
{start}
horizon_days: 10
courses:
  - id: A
    type: {type}
    {keys}
learners: [ann]
"""
DATED = "start_date: 2027-01-01"
UNDATED = "# no start_date"


@pytest.mark.parametrize(
    ("start", "kind", "keys", "where", "words"),
    [
        (
            UNDATED,
            "online",
            "certificate: {valid_for: {months: 12}}",
            "certificate.valid_for",
            "start_date",
        ),
        (
            UNDATED,
            "online",
            "certificate: {valid_for: {years: 1}}",
            "certificate.valid_for",
            "start_date",
        ),
        (
            UNDATED,
            "online",
            "certificate: {expires_on: '12-31'}",
            "certificate.expires_on",
            "start_date",
        ),
        (
            UNDATED,
            "online",
            "certificate: {valid_for: {days: 90}, grace: {months: 1}}",
            "certificate.grace",
            "start_date",
        ),
        (UNDATED, "online", "due_after: {months: 1}", "due_after", "start_date"),
        (
            DATED,
            "online",
            "certificate: {valid_for: {years: 1}, reenroll_before: {days: 365}}",
            "certificate",
            "shorter than valid_for",
        ),
        (
            UNDATED,
            "online",
            "certificate: {valid_for: {days: 30}, reenroll_before: {days: 30}}",
            "certificate",
            "shorter than valid_for",
        ),
        (
            DATED,
            "online",
            "certificate: {valid_for: {months: 1}, reenroll_before: {days: 28}}",
            "certificate",
            "shorter than valid_for",
        ),
        (
            UNDATED,
            "bundle",
            "certificate: {valid_for: {days: 30}}",
            "certificate",
            "a bundle has no certificate",
        ),
        (UNDATED, "bundle", "due_after: {days: 30}", "due_after", "a bundle has no due after"),
        (
            UNDATED,
            "online",
            "certificate: {valid_for: {days: 30, months: 1}}",
            "certificate.valid_for",
            "not days and months together",
        ),
        (
            UNDATED,
            "online",
            "certificate: {valid_for: {days: 1.5}}",
            "certificate.valid_for.days",
            "whole number",
        ),
        (
            UNDATED,
            "online",
            "certificate: {valid_for: {days: -1}}",
            "certificate.valid_for",
            ">= 0",
        ),
        (
            UNDATED,
            "online",
            "certificate: {valid_for: {days: 0}}",
            "certificate.valid_for",
            "more than 0",
        ),
        (
            UNDATED,
            "online",
            "certificate: {valid_for: {weeks: 2}}",
            "certificate.valid_for.weeks",
            "unknown key",
        ),
        (UNDATED, "online", "due_after: {days: 2.5}", "due_after.days", "whole number"),
        (
            DATED,
            "online",
            "certificate: {expires_on: '02-30'}",
            "certificate.expires_on",
            "not a day of the calendar",
        ),
        (
            DATED,
            "online",
            "certificate: {expires_on: '04-31'}",
            "certificate.expires_on",
            "not a day of the calendar",
        ),
        (
            DATED,
            "online",
            "certificate: {expires_on: '12-31', renew_from: expiry}",
            "certificate",
            "renew_from: expiry cannot go with expires_on",
        ),
        (
            UNDATED,
            "online",
            "certificate: {valid_for: {days: 90}, reenroll_before: {days: 30}, warn_before: {days: 30}}",
            "certificate",
            "not both",
        ),
        (
            DATED,
            "online",
            "certificate: {expires_on: '12-31', min_valid: {days: 10}, reenroll_before: {days: 30}}",
            "certificate",
            "min_valid (10 days) must be at least reenroll_before (30 days)",
        ),
        (
            UNDATED,
            "online",
            "renewal_due: due_after\n    certificate: {valid_for: {days: 90}, reenroll_before: {days: 30}}",
            "renewal_due",
            "needs due_after",
        ),
    ],
)
def test_certificate_mistakes_are_located(start, kind, keys, where, words):
    text = COURSE.format(start=start, type=kind, keys=keys)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "inline.yaml")
    found = [str(p) for p in info.value.problems]
    assert len(found) == 1, found
    assert found[0].startswith(f"inline.yaml:7: courses.0.{where}: "), found[0]
    assert words in found[0], found[0]


def test_certificate_mistakes_in_a_file_are_located_and_refused_by_check(tmp_path, cli):
    path = tmp_path / "refused.yaml"
    path.write_text(
        COURSE.format(start=UNDATED, type="online", keys="certificate: {valid_for: {years: 1}}")
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value.problems[0]).startswith(f"{path}:7: courses.0.certificate.valid_for: ")
    done = cli("check", path)
    assert done.returncode == 2 and f"{path.name}:7: courses.0.certificate.valid_for" in done.stderr
    assert "Traceback" not in done.stderr


# ----- tables: a run without certificates is a v1 run -------------------------------------

V1_ENROLLMENTS = (
    "replication,enrollment_id,learner_id,course_id,course_type,method,rule_id,job_id,"
    "enrolled_day,visible_day,started_day,completed_day,failed_day,superseded_day,status,"
    "enrolled_at,visible_at,started_at,completed_at,failed_at,superseded_at"
)
V1_JOBS = (
    "replication,job_id,rule_id,learner_id,source_course_id,trigger,trigger_enrollment_id,"
    "queued_day,due_day,processed_day,target_course_id,outcome,enrollment_id,"
    "reason_enrollment_id,queued_at,due_at,processed_at"
)
WITHOUT_CERTIFICATES = """\
name: v1
start_date: 2027-01-01
horizon_days: 10
courses:
  - id: A
    type: online
    post_enrollments: [{id: R, when: enrolled, delay_days: 1, courses: [B]}]
  - {id: B, type: online}
learners: [ann]
script:
  - {day: 0, action: enroll, learner: ann, course: A}
"""


def test_a_run_without_certificates_writes_the_v1_columns_and_an_empty_certificates_table(
    tmp_path, cli
):
    path = tmp_path / "v1.yaml"
    path.write_text(WITHOUT_CERTIFICATES)
    done = cli("run", path, "--out", tmp_path / "out", "--format", "csv")
    assert done.returncode == 0, done.stderr
    header = {
        name: (tmp_path / "out" / f"{name}.csv").read_text().splitlines()
        for name in ("enrollments", "jobs", "certificates")
    }
    assert header["enrollments"][0] == V1_ENROLLMENTS and len(header["enrollments"]) == 3
    assert header["jobs"][0] == V1_JOBS and len(header["jobs"]) == 2
    assert header["certificates"][0].startswith(
        "replication,certificate_id,learner_id,course_id,enrollment_id,awarded_day,expires_day,replaced_day,expired_day"
    )
    assert len(header["certificates"]) == 1  # the header only
    result = simulate(parse_scenario(WITHOUT_CERTIFICATES, "v1.yaml"))
    assert result.certificates.empty and "due_day" not in result.enrollments.columns
    assert "kind" not in result.jobs.columns and "certificate_id" not in result.jobs.columns


def test_a_run_with_a_certificate_gets_due_day_kind_and_certificate_id():
    result = first_year()
    assert {"due_day", "due_at"} <= set(result.enrollments.columns)
    assert {"kind", "certificate_id"} <= set(result.jobs.columns)


def test_the_summary_lists_the_re_enrollment_outcomes_apart_from_the_rules(cli, tmp_path):
    """S34: re-enrollment jobs belong to no rule; the summary on screen shows their
    outcomes by course, and a run without certificates shows no such table."""
    from helpers import ROOT

    certified = ROOT / "tests" / "acceptance" / "12-certificate-reenrollment.yaml"
    code, out, err = cli("run", certified, "--out", tmp_path / "a", "--no-progress")
    assert code == 0, err
    assert "Re-enrollment outcomes (S34" in out
    table = out.split("Re-enrollment outcomes", 1)[1]
    assert "enrolled" in table.splitlines()[1]
    plain = ROOT / "tests" / "acceptance" / "01-seed-completed-delay.yaml"
    code, out, err = cli("run", plain, "--out", tmp_path / "b", "--no-progress")
    assert code == 0 and "Re-enrollment outcomes" not in out, err
