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
# # How long does the onboarding path take?
#
# The scenario `scenarios/sequenced-onboarding.yaml` chains four courses with
# `completed` rules; step 3 waits two days after step 2. New starters arrive at about
# two a day. We run 8 replications and ask: how long is each step, how long is the
# whole path, and how many starters are still on it?
#
# Learners still on a step at the horizon are *censored*: we know they took at least
# that long. The completion curves use the Kaplan-Meier estimator so they count.

# %%
from pathlib import Path

from postenroll_sim import analysis as A
from postenroll_sim import load_scenario, plots as P, simulate_replications

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
scenario = load_scenario(ROOT / "scenarios" / "sequenced-onboarding.yaml")
result = simulate_replications(scenario, replications=8)
path = ["ONB-1", "ONB-2", "ONB-3", "ONB-4"]
timing = A.learning_path_timing(result.enrollments, path, scenario.horizon_days)
summary = A.path_summary(timing)
summary

# %%
colors = P.course_colors([c.id for c in scenario.courses])
P.completion_curves(A.completion_curve(timing, max_days=40), replications=8, colors=colors)

# %% [markdown]
# Each step takes a few days (most of it is the learner getting round to opening the
# course); the end-to-end median is longer than the sum of the step medians would
# suggest only by the two-day cooling-off delay and the spread of the steps. A few
# percent never finish a step (the 3% abandon rate, compounded over four steps).

# %%
steps = summary.set_index("step")
end_to_end = steps.loc["end to end"]
step_medians = steps.loc[path, "median_days"].sum()
assert end_to_end["median_days"] >= step_medians * 0.8, "the whole path takes about as long as its steps"
assert end_to_end["median_days"] >= 2, "the two-day delay between step 2 and 3 is part of every path"
# compounding abandonment: the whole path is completed by fewer learners than any single step
assert end_to_end["completed_share"] < steps.loc[path, "completed_share"].min()
print(f"median {end_to_end['median_days']:.1f} days end to end; "
      f"{1 - end_to_end['completed_share']:.0%} of starters not through at the horizon")

# %% [markdown]
# Where are the starters now? Enrollment volume per week by course shows the path as
# a steady flow once hiring is under way.

# %%
volume = A.enrollment_volume(result.enrollments, scenario.horizon_days, 7)
total = A.enrollment_volume(result.enrollments, scenario.horizon_days, 7, by=None)
P.stacked_volume(volume, start_date=scenario.start_date, colors=colors, replications=8, total_band=total)
