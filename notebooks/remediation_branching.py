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
# # Remediation: branching on pass and fail
#
# In `scenarios/remediation-on-failure.yaml` an exam (allow_failure, 65% pass rate)
# has two rules: `exam-failed` sends a learner to a refresher the next day,
# `exam-passed` sends them on to the advanced module. The refresher's own rule sends
# them back to the exam. How many go round the loop, and how many times?
#
# The answer hides a trap: `exam-failed` has *Allow Consecutive Enrollments* off. A
# second failure queues a job for the refresher, which the learner has completed
# before, so the job is skipped (S19): the learner gets nothing. We run the scenario
# as it is and with `allow_consecutive: true` on `exam-failed`, 5 replications each;
# every number is counted per replication, and the cell after each claim checks it.

# %%
from pathlib import Path

import pandas as pd

from postenroll_sim import analysis as A
from postenroll_sim import plots as P
from postenroll_sim import simulate_variants
from postenroll_sim.scenario.variants import variants

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
REPS = 5
setting = "courses.EXAM.post_enrollments.exam-failed.allow_consecutive"
sweep = simulate_variants(
    variants(ROOT / "scenarios" / "remediation-on-failure.yaml", [f"{setting}=false,true"]),
    replications=REPS,
)
runs = dict(sweep.split_variants())  # "allow_consecutive=False" is the scenario as it is
result = runs["allow_consecutive=False"]
scenario, e, jobs = result.scenario, result.enrollments, result.jobs
colors = P.course_colors([c.id for c in scenario.courses])
P.rule_outcome_bars(A.rule_outcomes(jobs), REPS)

# %% [markdown]
# Exam attempts per learner, as a share of learners (mean over replications):


# %%
def attempts_of(run):
    exam = run.enrollments[run.enrollments["course_id"] == "EXAM"]
    return exam.groupby(["replication", "learner_id"], observed=True).size()


def attempt_shares(run):
    shares = attempts_of(run).groupby(level=0).value_counts(normalize=True).unstack(fill_value=0)
    return shares.mean().rename("share of learners").rename_axis("exam attempts")


attempt_shares(result).to_frame()

# %% [markdown]
# About 65% pass the exam at the first attempt and about 35% fail and take it a
# second time after the refresher. **Nobody takes it a third time**: a second failure
# queues a refresher job that is skipped because the learner has completed the
# refresher before (the orange part of `exam-failed` above). About 12% of the
# learners (35% of 35%) are left with a failed exam and never reach the advanced
# module.

# %%
exam = e[e["course_id"] == "EXAM"]
finished = exam[exam["status"].isin(["complete", "failed"])]
pass_rate = (finished["status"] == "complete").mean()
attempts = attempts_of(result)
learners = attempts.groupby(level=0).size()
last = exam.sort_values("enrollment_id").groupby(["replication", "learner_id"], observed=True)
stuck = (last["status"].last() == "failed").groupby(level=0).sum()
skipped = jobs[
    (jobs["rule_id"] == "exam-failed") & (jobs["outcome"] == "skipped_already_completed")
]
advanced = e[e["course_id"] == "ADVANCED"].groupby("replication").size()
assert 0.6 <= pass_rate <= 0.7, pass_rate
assert attempts.max() == 2, "nobody takes a third attempt"
assert 0.29 <= (attempts >= 2).mean() <= 0.41
assert (skipped.groupby("replication").size() == stuck).all(), (
    "each second failure: one skipped job"
)
assert 0.08 <= (stuck / learners).mean() <= 0.16
assert (advanced == learners - stuck).all(), "everyone else reaches the advanced module"
refresher_jobs = jobs[(jobs["rule_id"] == "exam-failed") & (jobs["outcome"] == "enrolled")]
assert len(refresher_jobs) == (e["course_id"] == "REFRESH").sum()
print(
    f"pass rate {pass_rate:.0%}; {(attempts >= 2).mean():.0%} took the exam twice; "
    f"{(stuck / learners).mean():.1%} stuck after a second failure "
    f"({stuck.mean():.1f} learners per replication)"
)

# %% [markdown]
# The learner below failed twice: the exam (a cross where it failed), the refresher
# the next day (a dot where it was completed), the exam again, failed again, and then
# nothing.

# %%
stuck_learners = last["status"].last()
learner = str(stuck_learners[stuck_learners == "failed"].loc[0].index[0])
timeline = A.learner_timeline(e, jobs, learner, 0, scenario.horizon_days)
assert list(timeline.loc[timeline["course_id"] == "EXAM", "status"]) == ["failed", "failed"]
assert (timeline["course_id"] == "REFRESH").sum() == 1
assert "ADVANCED" not in set(timeline["course_id"])
P.learner_gantt(timeline, learner, colors, note="replication 0")

# %% [markdown]
# With `allow_consecutive: true` on `exam-failed` the loop goes on: every failure
# sends the learner to the refresher again. Then the shares follow a geometric
# series: about 35% need a second attempt, about 12% a third, and nobody is left
# stuck.

# %%
fixed = runs["allow_consecutive=True"]
fixed_attempts = attempts_of(fixed)
third = (fixed_attempts >= 3).mean()
fixed_exam = fixed.enrollments[fixed.enrollments["course_id"] == "EXAM"]
done = fixed_exam[fixed_exam["status"].isin(["complete", "failed"])]
fail_rate = (done["status"] == "failed").mean()
reached = (
    fixed.enrollments[fixed.enrollments["course_id"] == "ADVANCED"].groupby("replication").size()
)
assert 0.29 <= (fixed_attempts >= 2).mean() <= 0.41
assert 0.08 <= third <= 0.16 and abs(third - fail_rate**2) < 0.04, (third, fail_rate)
assert (reached >= 0.99 * fixed_attempts.groupby(level=0).size()).all(), "nobody stuck"
print(f"{third:.1%} took a third attempt (the geometric series says {fail_rate**2:.1%})")
pd.concat({label: attempt_shares(run) for label, run in runs.items()}, axis=1).fillna(0)
