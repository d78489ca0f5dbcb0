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
# # How long does the onboarding path take?
#
# The scenario `scenarios/sequenced-onboarding.yaml` chains four courses with
# `completed` rules; step 3 waits two days after step 2. New starters arrive at about
# two a day. We run 8 replications and ask: how long is each step, how long is the
# whole path, and how many starters are still on it?
#
# Learners still on a step at the horizon are *censored*: we know they took at least
# that long. The completion curves use the Kaplan-Meier estimator so they count.
# Every number is worked out in each replication, then given as the mean with its
# 5-95% band across replications. The cell after each claim checks it.

# %%
from pathlib import Path

from postenroll_sim import analysis as A
from postenroll_sim import load_scenario, simulate_replications
from postenroll_sim import plots as P

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
scenario = load_scenario(ROOT / "scenarios" / "sequenced-onboarding.yaml")
REPS = 8
result = simulate_replications(scenario, replications=REPS)
e, horizon = result.enrollments, scenario.horizon_days

path = A.learning_path(scenario)  # the chain of completed rules from where starters enter
arrivals = result.events[result.events["event"] == "learner_added"].groupby("replication").size()
delays = result.jobs[result.jobs["rule_id"] == "onb-2-3"]
assert path == ["ONB-1", "ONB-2", "ONB-3", "ONB-4"], "four courses chained"
assert set((delays["due_day"] - delays["queued_day"]).round(6)) == {2.0}, "step 3 waits two days"
assert 1.8 <= (arrivals / horizon).mean() <= 2.2, "about two starters a day"
assert result.replications == REPS
print(f"path {' -> '.join(path)}; {(arrivals / horizon).mean():.2f} starters a day")

timing = A.learning_path_timing(e, path, horizon)
summary = A.path_summary(timing)
summary[
    [
        "step",
        "started",
        "completed_share",
        "median_days",
        "median_days_p05",
        "median_days_p95",
        "p90_days",
    ]
]

# %%
colors = P.course_colors([c.id for c in scenario.courses])
P.completion_curves(A.completion_curve(timing, max_days=40), replications=REPS, colors=colors)

# %% [markdown]
# Each step takes about two and a half days (median): about one day for the learner
# to get round to opening the course and about one to finish it. The end-to-end
# median, about 13 days, is longer than the step medians added up (about 10) plus
# the two-day wait before step 3: times that vary add up to a longer median than
# their medians do. About 3% of the learners who start a step never finish it (the
# abandon rate), so fewer learners complete the whole path than any single step.

# %%
steps = summary.set_index("step")
end_to_end = steps.loc["end to end"]
step_medians = steps.loc[path, "median_days"]
on_path = e[e["course_id"].isin(path)]
to_open = (on_path["started_day"] - on_path["enrolled_day"]).median()
to_finish = (on_path["completed_day"] - on_path["started_day"]).median()
assert step_medians.between(2, 3).all(), step_medians
assert 0.7 <= to_open <= 1.4 and 0.7 <= to_finish <= 1.4, (to_open, to_finish)
assert 12 <= end_to_end["median_days"] <= 15, end_to_end["median_days"]
assert 9 <= step_medians.sum() <= 11, step_medians.sum()
assert end_to_end["median_days"] > step_medians.sum() + 2, "longer than the medians plus the wait"
# abandonment, among learners who started a step at least 20 days before the horizon
started = on_path[on_path["started_day"] < horizon - 20]
abandoned = started["completed_day"].isna().groupby(started["course_id"], observed=True).mean()
assert abandoned.between(0.015, 0.05).all(), abandoned
assert end_to_end["completed_share"] < steps.loc[path, "completed_share"].min()
print(
    f"steps {step_medians.min():.1f}-{step_medians.max():.1f} days (opening {to_open:.1f}, "
    f"finishing {to_finish:.1f}); end to end {end_to_end['median_days']:.1f} days "
    f"(5-95%: {end_to_end['median_days_p05']:.1f}-{end_to_end['median_days_p95']:.1f}) "
    f"against {step_medians.sum():.1f} + 2; abandoned {abandoned.mean():.1%} per step"
)

# %% [markdown]
# Where are the starters now? Enrollment volume per week by course shows the path as
# a steady flow once hiring is under way: from the fifth week on, about 50 records a
# week (two starters a day, seven days, four courses each, less those who stop).

# %%
volume = A.enrollment_volume(e, horizon, 7)
total = A.enrollment_volume(e, horizon, 7, by=None)
steady = total[(total["period_day"] >= 28) & (total["period_day"] + 7 <= horizon)]["mean"]
assert 45 <= steady.mean() <= 58 and steady.std() / steady.mean() < 0.15, steady.describe()
print(
    f"from week 5: {steady.mean():.0f} records a week (lowest {steady.min():.0f}, highest {steady.max():.0f})"
)
P.stacked_volume(
    volume, start_date=scenario.start_date, colors=colors, replications=REPS, total_band=total
)
