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
# recertification peak, how big is it, and what happens to compliance while the
# organisation recertifies?

# %%
from pathlib import Path

from postenroll_sim import analysis as A
from postenroll_sim import load_scenario, plots as P, simulate_replications

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
scenario = load_scenario(ROOT / "scenarios" / "annual-compliance-recertification.yaml")
REPS = 6
result = simulate_replications(scenario, replications=REPS)
horizon, start = scenario.horizon_days, scenario.start_date
colors = P.course_colors([c.id for c in scenario.courses])

load = A.recertification_load(result.enrollments, horizon, 7, courses=["COMP"])
peak = A.recertification_peak(load)
peak

# %%
P.recertification_bars(load, 7, start, colors, REPS)

# %% [markdown]
# The first wave of completions arrives a few weeks after the roll-out, so the first
# recertification wave comes a year later, in the same shape, and again a year after
# that: a rule that recertifies "365 days after completion" keeps the original
# roll-out's peak alive for ever.

# %%
assert 365 <= peak["period_day"] <= 365 + 120, "the peak is a year after the roll-out's completions"
first_year = load[load["period_day"] + 7 <= 365]["mean"].sum()  # weeks wholly inside year one
assert first_year == 0, "nobody recertifies in the first year"
print(f"peak: {peak['mean']:.0f} re-enrollments in the week from day {peak['period_day']:.0f}")

# %%
compliance = A.compliance(result.enrollments, result.events, ["COMP"], 365, horizon, 7)
P.compliance_curve(compliance, 365, ["COMP"], start, REPS, target=0.9)

# %% [markdown]
# Compliance (a completion of the curriculum no older than 365 days) climbs during
# the roll-out, then **dips every year**: a learner's certificate expires exactly when
# the new enrollment arrives, and it takes them weeks to complete the members again.
# To stay compliant the recertification would have to be assigned *before* expiry,
# for example with a delay of 335 days.

# %%
year_one = compliance[(compliance["day"] > 150) & (compliance["day"] < 360)]["mean"].max()
during_recert = compliance[(compliance["day"] > 365) & (compliance["day"] < 365 + 120)]["mean"].min()
assert during_recert < year_one - 0.1, "compliance drops while everyone recertifies"
print(f"compliance before: {year_one:.0%}, lowest during recertification: {during_recert:.0%}")
