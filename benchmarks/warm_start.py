"""Benchmark: a warm start's replay of a large LMS history (docs/performance.md).

    python -m benchmarks.warm_start --learners 4000 --years 5   # about 200,000 records

Simulates the reference organisation (benchmarks/reference.py, with certificates) for
`--years`, writes its enrollments as a history (the audit format), then times reading it
and warm-starting a one-day forecast from it (the replay of every record through the
engine is the cost; one day of forecast adds little), and reports the peak memory of the
process (ru_maxrss). The target is 5,000,000 records (100,000 learners over five years)
in under 60 s and 4 GB: run it scaled down and extrapolate (the replay is linear in the
records), as docs/performance.md does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import tempfile
import time
from pathlib import Path

from benchmarks.reference import reference_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=4_000)
    parser.add_argument("--years", type=float, default=5.0)
    args = parser.parse_args()

    from postenroll_sim.engine import recorder
    from postenroll_sim.history.warm import initial_state_of, model_for, warm_start_of
    from postenroll_sim.qa.audit import history_from_enrollments, write_history
    from postenroll_sim.run.runner import simulate
    from postenroll_sim.scenario import parse_scenario

    text = reference_scenario(args.learners, args.years, certificates=True)
    data = json.loads(text)
    start = dt.date(2021, 1, 4)
    data["start_date"] = start.isoformat()
    cold = parse_scenario(json.dumps(data))
    began = time.perf_counter()
    whole = simulate(cold, tables=("enrollments", "events"))
    simulated = time.perf_counter() - began
    history = history_from_enrollments(whole.enrollments, whole.events)
    horizon = data["horizon_days"]
    for column in [c for c in history.columns if c.endswith("_day")]:
        history[column] = history[column] - horizon  # day 0 of the forecast: the end
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.csv"
        write_history(history, path)
        del whole
        warm = dict(data)
        warm["start_date"] = (start + dt.timedelta(days=horizon)).isoformat()
        warm["horizon_days"] = 1
        warm["population"] = {**warm["population"], "initial": 0}
        warm["initial_state"] = {"history": str(path)}
        scenario = parse_scenario(json.dumps(warm), str(Path(folder) / "warm.yaml"))
        began = time.perf_counter()
        initial_state_of(scenario)
        read = time.perf_counter() - began
        began = time.perf_counter()
        model = model_for(scenario)
        model.run()
        replayed = time.perf_counter() - began
        began = time.perf_counter()
        tables = recorder.tables(model, start_date=scenario.start_date, release=True)
        built = time.perf_counter() - began
        counts = warm_start_of(model).counts
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # GB (Linux: KiB)
    records = counts.records
    print(
        json.dumps(
            {
                "records": records,
                "learners": counts.learners,
                "pending_at_day_0": counts.pending,
                "simulate_history_s": round(simulated, 2),
                "read_history_s": round(read, 2),
                "replay_and_one_day_s": round(replayed, 2),
                "tables_s": round(built, 2),
                "warm_start_s": round(read + replayed, 2),
                "per_million_records_s": round((read + replayed) / records * 1e6, 2),
                "peak_rss_gb": round(peak, 2),
                "enrollment_rows": len(tables["enrollments"]),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
