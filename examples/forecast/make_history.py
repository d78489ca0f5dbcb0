"""How history.csv was made: truth.yaml simulated once, its enrollments written as the
export an LMS gives (the audit's columns, moments as date-times). Run from the repository:

    .venv/bin/python examples/forecast/make_history.py
"""

from pathlib import Path

import pandas as pd

from postenroll_sim import load_scenario, simulate
from postenroll_sim.qa.audit import history_from_enrollments, write_history

HERE = Path(__file__).resolve().parent

truth = load_scenario(HERE / "truth.yaml")
run = simulate(truth)
history = history_from_enrollments(run.enrollments, run.events)
day0 = pd.Timestamp(truth.start_date)
for column in [c for c in history.columns if c.endswith("_day")]:
    moments = day0 + pd.to_timedelta((history.pop(column) * 86_400).round(), unit="s")
    history[column.replace("_day", "_at")] = moments.dt.strftime("%Y-%m-%d %H:%M:%S")
write_history(history, HERE / "history.csv")
print(
    f"wrote {HERE / 'history.csv'}: {len(history)} records of {history['learner'].nunique()} learners"
)
