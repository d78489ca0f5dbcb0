"""Certificates, re-enrollment before expiry and due dates (S31-S38): tests named after
the rule they check, and worked examples computed by hand from the spec (docs/semantics.md
has the same dates). Every scenario starts on 2027-01-01, so a date is its day number."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest
import yaml

from helpers import one, rows
from postenroll_sim import ScenarioError, parse_scenario, simulate

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
            {"id": "I", "type": "ilc", "certificate": cert, "sessions": [{"day": 9, "capacity": 1}], "behaviour": {"start_after_days": 0}},
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
    assert list(reenrollment_jobs(result)["due_at"]) == [AT("2028-01-01 10:00"), AT("2029-01-01 10:00")]


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
    assert list(result.certificates["expires_at"]) == [AT("2027-02-28 10:00"), AT("2027-03-28 10:00")]


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
    [("2027-05-01", "2028-03-01"), ("2028-05-01", "2029-03-01"), ("2028-02-29 12:00", "2028-03-01")],
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
