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
# # Remediation: branching on pass and fail
#
# In `scenarios/remediation-on-failure.yaml` an exam (allow_failure, 65% pass rate)
# has two rules: `exam-failed` sends a learner to a refresher the next day,
# `exam-passed` sends them on to the advanced module. The refresher's own rule sends
# them back to the exam. How many go round the loop, and how many times?

# %%
from pathlib import Path

import pandas as pd

from postenroll_sim import analysis as A
from postenroll_sim import load_scenario, plots as P, simulate_replications

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
scenario = load_scenario(ROOT / "scenarios" / "remediation-on-failure.yaml")
REPS = 5
result = simulate_replications(scenario, replications=REPS)
e = result.enrollments
outcomes = A.rule_outcomes(result.jobs)
P.rule_outcome_bars(outcomes, REPS)

# %%
exam = e[e["course_id"] == "EXAM"]
attempts = exam.groupby(["replication", "learner_id"], observed=True).size()
tries = attempts.value_counts(normalize=True).sort_index().rename("share of learners")
tries.index.name = "exam attempts"
tries.to_frame()

# %% [markdown]
# Every failure queues one refresher job and every completed refresher one retake:
# the loop is a geometric series. With a 65% pass rate, about 35% need a second
# attempt, about 12% a third. The observed shares match that, and the number of
# refresher enrollments equals the number of failed exams whose next-day job ran.

# %%
finished = exam[exam["status"].isin(["complete", "failed"])]
pass_rate = (finished["status"] == "complete").mean()
assert abs(pass_rate - 0.65) < 0.05, pass_rate
failed_jobs = result.jobs[(result.jobs["rule_id"] == "exam-failed") & (result.jobs["outcome"] == "enrolled")]
refreshers = e[e["course_id"] == "REFRESH"]
assert len(failed_jobs) == len(refreshers)
second_try = (attempts >= 2).mean()
assert abs(second_try - 0.35) < 0.06, second_try
print(f"pass rate {pass_rate:.0%}; {second_try:.0%} of learners took the exam at least twice")

# %%
learner = str(attempts.groupby("learner_id", observed=True).max().idxmax())
timeline = A.learner_timeline(e, result.jobs, learner, 0, scenario.horizon_days)
P.learner_gantt(timeline, learner, P.course_colors([c.id for c in scenario.courses]))

# %% [markdown]
# The Gantt chart above follows the learner who needed the most attempts: exam
# (failed, a cross), refresher the next day, the exam again, until the pass (a tick)
# and the advanced module.

# %%
pd.DataFrame({"attempts": [int(attempts.max())]})
