"""Benchmark: a warm start's replay of a large LMS history (docs/performance.md).

    python -m benchmarks.warm_start --learners 4000 --years 5   # about 200,000 records

Simulates the reference organisation (benchmarks/reference.py, with certificates) for
`--years`, writes its enrollments as a history (the audit format), then times reading it
and warm-starting a one-day forecast from it (the replay of every record through the
engine is the cost; one day of forecast adds little), and reports the peak memory of the
process (ru_maxrss). The target is 5,000,000 records (100,000 learners over five years)
in under 60 s and 4 GB: run it scaled down and extrapolate (the replay is linear in the
records), as docs/performance.md does.

    python -m benchmarks.warm_start --forecast --learners 100000 --years 1

times a year's forecast after the warm start against a cold year of the same organisation:
model events per second from day 0 on (wall time from when simulated time reaches day 0,
the replay behind it) against the cold run's, each in a fresh process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.reference import reference_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=4_000)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--forecast", action="store_true", help="a year's forecast, warm vs cold")
    parser.add_argument("--part", help=argparse.SUPPRESS)  # one measurement, in a fresh process
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        print(json.dumps(_part(args.part, Path(args.folder), args.learners)))
        return
    if args.forecast:
        forecast(args.learners, args.years)
        return

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


def _history(learners: int, years: float, folder: Path) -> dict:
    """The reference organisation simulated for `years` as a history (the audit format),
    with the scenario that warm-starts a year's forecast from it."""
    from postenroll_sim.qa.audit import history_from_enrollments, write_history
    from postenroll_sim.run.runner import simulate
    from postenroll_sim.scenario import parse_scenario

    data = json.loads(reference_scenario(learners, years, certificates=True))
    start = dt.date(2021, 1, 4)
    data["start_date"] = start.isoformat()
    whole = simulate(parse_scenario(json.dumps(data)), tables=("enrollments", "events"))
    history = history_from_enrollments(whole.enrollments, whole.events)
    horizon = data["horizon_days"]
    for column in [c for c in history.columns if c.endswith("_day")]:
        history[column] = history[column] - horizon
    write_history(history, folder / "history.csv")
    cold = json.loads(reference_scenario(learners, 1.0, certificates=True))
    cold["start_date"] = (start + dt.timedelta(days=horizon)).isoformat()
    (folder / "cold.json").write_text(json.dumps(cold))
    warm = dict(cold)
    warm["population"] = {**warm["population"], "initial": 0}
    warm["initial_state"] = {"history": "history.csv"}
    (folder / "warm.json").write_text(json.dumps(warm))
    return {"records": len(history)}


def _part(name: str, folder: Path, learners: int) -> dict:
    """One run (cold, warm, or replay only) in this process: seconds and events of day 0 on."""
    import numpy as np

    from postenroll_sim.engine import Model, compile_plan, recorder
    from postenroll_sim.history.warm import model_for
    from postenroll_sim.scenario import parse_scenario

    scenario = parse_scenario((folder / f"{name}.json").read_text(), str(folder / f"{name}.yaml"))
    day0 = []  # when simulated time first reaches day 0 (the replay, if any, is behind)

    def advanced(day: float) -> None:
        if day >= 0 and not day0:
            day0.append(time.perf_counter())

    began = time.perf_counter()
    if name == "cold":
        model = Model(compile_plan(scenario), np.random.SeedSequence(0), True, on_advance=advanced)
    else:
        model = model_for(scenario, record_events=True, on_advance=advanced)
    model.run()
    ended = time.perf_counter()
    events = recorder.tables(model, which=("events",), start_date=None)["events"]
    return {
        "seconds": ended - began,
        "from_day0": ended - (day0[0] if day0 else began),
        "events": int((events["day"] >= 0).sum()),
    }


def forecast(learners: int, years: float) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        made = _history(learners, years, folder)
        parts = {}
        for part in ("warm", "cold"):
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.warm_start",
                    "--part",
                    part,
                    "--folder",
                    name,
                    "--learners",
                    str(learners),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            parts[part] = json.loads(done.stdout)
    warm_seconds = parts["warm"]["from_day0"]
    warm_events = parts["warm"]["events"]
    warm_rate = warm_events / warm_seconds
    cold_rate = parts["cold"]["events"] / parts["cold"]["from_day0"]
    print(
        json.dumps(
            {
                "learners": learners,
                "history_years": years,
                "history_records": made["records"],
                "replay_s": round(parts["warm"]["seconds"] - parts["warm"]["from_day0"], 2),
                "warm_forecast_s": round(warm_seconds, 2),
                "warm_forecast_events": warm_events,
                "warm_events_per_s": round(warm_rate),
                "cold_s": round(parts["cold"]["from_day0"], 2),
                "cold_events": parts["cold"]["events"],
                "cold_events_per_s": round(cold_rate),
                "warm_over_cold": round(warm_rate / cold_rate, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
