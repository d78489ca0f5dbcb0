# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Recertification load and compliance
#
# `scenarios/annual-compliance-recertification.yaml` rolls an annual compliance
# curriculum out to 1,000 learners over two months. Its `completed` rule re-assigns
# it 365 days after each completion (allow_consecutive on). Questions: when is the
# recertification peak, how many people does it bring, and what happens to
# compliance while the organisation recertifies? We also try the rule with a delay
# of 335 days, a month before the certificate expires.
#
# Every number is counted in each replication, then given as the mean with its 5-95%
# band across replications; the cell after each claim checks it.

# %%
from pathlib import Path

from postenroll_sim import analysis as A
from postenroll_sim import plots as P, simulate_variants
from postenroll_sim.scenario.variants import variants

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
REPS = 3
rule = "courses.COMP.post_enrollments.comp-recertify.delay_days"
sweep = simulate_variants(
    variants(ROOT / "scenarios" / "annual-compliance-recertification.yaml", [f"{rule}=365,335"]),
    replications=REPS,
)
runs = dict(sweep.split_variants())  # each variant on its own, never added together
result = runs["delay_days=365"]
scenario, e = result.scenario, result.enrollments
horizon, start = scenario.horizon_days, scenario.start_date
colors = P.course_colors([c.id for c in scenario.courses])
curricula = A.curricula(scenario)  # COMP and its members: one person, not four records

roll_out = scenario.population
assert roll_out.initial == 1000 and roll_out.on_hire[0].after_days.max == 60
load = A.recertification_load(e, horizon, 7, curricula=curricula)
total = A.recertification_load(e, horizon, 7, curricula=curricula, by=None)
peak = A.recertification_peak(e, horizon, 7, curricula=curricula)
peak

# %%
P.recertification_bars(load, 7, start, colors, REPS, total, peak)

# %% [markdown]
# The first completions arrive a few weeks after the roll-out, so the first
# recertification wave comes a year later, in the same shape: a bit over a hundred
# people in its busiest week. A year after that comes a second wave, a little smaller
# (some learners have left): a rule that recertifies "365 days after completion" keeps
# the roll-out's peak alive for ever. Counted as enrollment records the peak would
# look four times as big, since each recertification is one curriculum and three
# member courses.

# %%
weekly = total.set_index("period_day")["mean"]
second_year = weekly[(weekly.index >= 365) & (weekly.index < 730)].max()
third_year = weekly[weekly.index >= 730].max()
records = e[e["enrolled_day"] >= 365].groupby([e["replication"], (e["enrolled_day"] // 7)]).size()
records_peak = records.groupby(level=0).max().mean()
assert 365 <= peak["period_day"] <= 365 + 120, "the peak is a year after the roll-out's completions"
assert weekly[weekly.index + 7 <= 365].sum() == 0, "nobody recertifies in the first year"
assert 100 <= peak["mean"] <= 130, peak
assert 0.6 * second_year <= third_year < second_year, (second_year, third_year)
assert 3.5 <= records_peak / peak["mean"] <= 4.5, records_peak
print(
    f"peak {peak['mean']:.0f} people (5-95%: {peak['p05']:.0f}-{peak['p95']:.0f}) in the week "
    f"from day {peak['period_day']:.0f}; a year later {third_year:.0f}; "
    f"as records it would be {records_peak:.0f}"
)

# %%
compliance = {
    label: A.compliance(r.enrollments, r.events, ["COMP"], 365, horizon, 7)
    for label, r in runs.items()
}
P.variant_lines(
    compliance,
    "day",
    "Compliance: completed COMP within the last 365 days",
    "share of learners present",
    start,
    REPS,
    share=True,
)

# %% [markdown]
# Compliance (a completion of the curriculum no older than 365 days) climbs to about
# 97% after the roll-out, then **dips every year**, to about 70%: a learner's
# certificate expires exactly when the new enrollment arrives, and it takes them
# weeks to complete the members again. Assigned 335 days after completion, a month
# before expiry, the recertification keeps compliance above 90% all the way through.


# %%
def year_one_and_dip(curve):
    year_one = curve[(curve["day"] > 150) & (curve["day"] < 360)]["mean"].max()
    dip = curve[(curve["day"] > 365) & (curve["day"] < 365 + 120)]["mean"].min()
    return year_one, dip


year_one, dip = year_one_and_dip(compliance["delay_days=365"])
_, early_dip = year_one_and_dip(compliance["delay_days=335"])
assert 0.94 <= year_one <= 1.0, year_one
assert 0.6 <= dip <= 0.8 and dip < year_one - 0.1, dip
assert early_dip > 0.9, early_dip
print(
    f"compliance before: {year_one:.0%}, lowest during recertification: {dip:.0%}; "
    f"with 335 days: lowest {early_dip:.0%}"
)
