# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Recertification load and compliance, on certificates
#
# `scenarios/annual-compliance-recertification.yaml` rolls an annual compliance
# curriculum out to 1,000 learners over two months. Each completion awards a
# certificate valid for one year (S31); the course's Re-Enrollment enrolls the learner
# again 30 days before it expires (S34), and 14 days of grace follow the expiry (S36).
# Compliance is read from the certificates (S37: valid, expiring, grace, expired,
# never), never from a rule's delay. Questions: how many re-enrollments fall due in
# each month, how compliant is the organisation while it recertifies, and what if the
# re-enrollment came only 7 days before expiry?
#
# Every number is counted in each replication, then given as the mean with its 5-95%
# band across replications; the cell after each claim checks it.

# %%
from pathlib import Path

import pandas as pd

from postenroll_sim import analysis as A
from postenroll_sim import plots as P
from postenroll_sim import simulate_variants
from postenroll_sim.scenario.variants import variants

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
REPS = 2
window = "courses.COMP.certificate.reenroll_before.days"
sweep = simulate_variants(
    variants(ROOT / "scenarios" / "annual-compliance-recertification.yaml", [f"{window}=30,7"]),
    replications=REPS,
)
runs = dict(sweep.split_variants())  # each variant on its own, never added together
result = runs["reenroll_before.days=30"]
scenario = result.scenario
horizon, start = scenario.horizon_days, scenario.start_date
colors = P.course_colors([c.id for c in scenario.courses])
certificate = A.certified_courses(scenario)["COMP"]
assert certificate.valid_for.years == 1 and certificate.reenroll_before.days == 30

due = A.re_enrollments_due_per_month(result.jobs, scenario)
busiest = due.loc[due["mean"].idxmax()]
busiest

# %%
P.monthly_bars(due, "Re-enrollments falling due per calendar month", "jobs due", colors, REPS)

# %% [markdown]
# The roll-out's completions come in January and February 2027, so their
# re-enrollments fall due a year later less 30 days: December 2027 to February 2028,
# with the busiest month, January 2028, bringing more than 400 of them. The next year
# has the same shape, a little smaller (learners leave): the roll-out's wave comes back
# every year. In between, new hires trickle in at a few dozen a month.

# %%
by_month = due.set_index("month")["mean"]
first_year = by_month[by_month.index < pd.Timestamp("2027-12-01")].sum()
winter = by_month[pd.Timestamp("2027-12-01") : pd.Timestamp("2028-02-01")].sum()
next_winter = by_month[pd.Timestamp("2028-12-01") : pd.Timestamp("2029-02-01")].sum()
assert first_year == 0, "nothing falls due in the certificates' first year"
assert busiest["month"] == pd.Timestamp("2028-01-01") and busiest["mean"] > 400, busiest
assert busiest["p05"] <= busiest["mean"] <= busiest["p95"]
assert 0.8 * winter <= next_winter < winter, (winter, next_winter)
print(
    f"busiest: {busiest['month']:%B %Y}, {busiest['mean']:.0f} re-enrollments due "
    f"(5-95%: {busiest['p05']:.0f}-{busiest['p95']:.0f}); Dec-Feb: {winter:.0f}, "
    f"a year later {next_winter:.0f}"
)

# %%
states = {
    label: A.compliance_states_over_time(
        r.certificates, r.enrollments, r.events, r.scenario, step_days=7, courses=["COMP"]
    )
    for label, r in runs.items()
}
P.compliance_states_chart(states["reenroll_before.days=30"], "COMP", start, REPS)

# %% [markdown]
# Each January a band of learners turns **expiring** (the window is open, and they are
# re-enrolled), and most complete before their certificate expires: few reach grace,
# fewer expire. Compliant (valid, expiring or grace) stays above 95% of the assigned
# learners all through the recertification.


# %%
def compliant(run):
    shares = A.compliance_shares(
        run.certificates, run.enrollments, run.events, run.scenario, step_days=7, courses=["COMP"]
    )
    return shares[(shares["over"] == "assigned") & (shares["measure"] == "compliant")]


curves = {label: compliant(r) for label, r in runs.items()}
P.variant_lines(
    curves,
    "day",
    "Compliance on certificates: COMP, share of the assigned learners",
    "share of assigned learners",
    start,
    REPS,
    share=True,
)


# %% [markdown]
# Re-enrolled only 7 days before expiry, most learners cannot finish in time: their
# certificates expire, grace carries some of them, and compliance dips several points
# further each winter. On 1 March 2028 the two settings differ in where learners stand:
# with 7 days, far more are in grace or expired.


# %%
def year_one_and_dip(curve):
    year_one = curve[(curve["day"] > 150) & (curve["day"] < 360)]["mean"].max()
    dip = curve[(curve["day"] > 365) & (curve["day"] < 365 + 120)]["mean"].min()
    return year_one, dip


year_one, dip = year_one_and_dip(curves["reenroll_before.days=30"])
_, late_dip = year_one_and_dip(curves["reenroll_before.days=7"])
march = {label: A.compliance_on(r, "2028-03-01").set_index("measure") for label, r in runs.items()}
lapsed = {label: at.loc[["grace", "expired"], "count"].sum() for label, at in march.items()}
assert year_one > 0.95 and dip > 0.95, (year_one, dip)
assert late_dip < dip - 0.03, (dip, late_dip)
assert lapsed["reenroll_before.days=7"] > 3 * lapsed["reenroll_before.days=30"], lapsed
on_march = march["reenroll_before.days=30"].loc["compliant"]
assert on_march["population"] < on_march["assigned"]  # everyone present: some not assigned yet
print(
    f"compliant before: {year_one:.1%}, lowest while recertifying: {dip:.1%}; with 7 days: "
    f"{late_dip:.1%}. On 1 Mar 2028: {on_march['assigned']:.1%} of the assigned, "
    f"{on_march['population']:.1%} of everyone present; in grace or expired "
    f"{lapsed['reenroll_before.days=30']:.0f} (30 days) against "
    f"{lapsed['reenroll_before.days=7']:.0f} (7 days)"
)
