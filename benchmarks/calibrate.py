"""Benchmark: `postenroll-sim calibrate` on a history of 1,000,000 records (target < 30 s).

    .venv/bin/python -m benchmarks.calibrate                    # 1,000,000 records
    .venv/bin/python -m benchmarks.calibrate --records 100000

The history is drawn with numpy in the audit's format (docs/audit.md), from known
behaviour: 10 online courses (half allow failure), each learner enrolled once in each,
start delays lognormal, durations gamma, 8% abandonment, records open at the export's
day censored, learners hired over the year and removed at 12% a year. The command runs
in a fresh process (its peak RSS is its own); the time is the whole command, the
history read by the audit's loader included, and each estimate is compared with the
truth it was drawn from.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
COURSES = 10
HORIZON = 365.0
MEDIAN, SIGMA = 3.0, 0.8  # start delays
MEAN, CV = 6.0, 0.5  # durations
ABANDON, PASS = 0.08, 0.85


def scenario_text() -> str:
    courses = "\n".join(
        f"  - {{id: C{i}, type: online{', allow_failure: true' if i % 2 else ''}}}"
        for i in range(COURSES)
    )
    return f"name: calibrate benchmark\nhorizon_days: {HORIZON:g}\ncourses:\n{courses}\n"


def write_history(path: Path, records: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    learners = records // COURSES
    joined = np.where(rng.random(learners) < 0.5, 0.0, rng.uniform(0, HORIZON, learners))
    leaves = joined + rng.exponential(365 / -np.log(1 - 0.12), learners)
    removed = np.where(leaves <= HORIZON, np.round(leaves, 5), np.nan)
    learner = np.repeat(np.arange(learners), COURSES)
    course = np.tile(np.arange(COURSES), learners)
    n = len(learner)
    enrolled = joined[learner] + rng.uniform(0, 30, n)
    end = np.minimum(HORIZON, np.nan_to_num(removed[learner], nan=HORIZON))
    keep = enrolled < end
    learner, course, enrolled, end = learner[keep], course[keep], enrolled[keep], end[keep]
    n = len(learner)
    started = enrolled + rng.lognormal(np.log(MEDIAN), SIGMA, n)
    shape = 1 / CV**2
    finish = started + rng.gamma(shape, MEAN / shape, n)
    abandons = rng.random(n) < ABANDON
    passes = (rng.random(n) < PASS) | (course % 2 == 0)
    has_start = started <= end
    done = has_start & ~abandons & (finish <= end)
    frame = {
        "record_id": np.arange(n),
        "learner": np.char.add("L", learner.astype(str)),
        "course": np.char.add("C", course.astype(str)),
        "method": np.full(n, "admin"),
        "status": np.where(
            done,
            np.where(passes, "complete", "failed"),
            np.where(has_start, "in_progress", "not_started"),
        ),
        "enrolled_day": np.round(enrolled, 5),
        "started_day": np.where(has_start, np.round(started, 5), np.nan),
        "completed_day": np.where(done & passes, np.round(finish, 5), np.nan),
        "failed_day": np.where(done & ~passes, np.round(finish, 5), np.nan),
        "removed_day": removed[learner],
    }
    import pandas as pd

    pd.DataFrame(frame).to_csv(path, index=False, lineterminator="\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "s.yaml").write_text(scenario_text())
        history = folder / "history.csv"
        start = time.perf_counter()
        write_history(history, args.records)
        print(f"history: {args.records:,} records drawn in {time.perf_counter() - start:.1f} s")
        command = [sys.executable, "-m", "postenroll_sim", "calibrate", str(history)]
        command += ["--scenario", str(folder / "s.yaml"), "--out", str(folder / "fitted.yaml")]
        command += ["--as-of", f"{HORIZON:g}"]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"calibrate failed ({done.returncode}):\n{done.stderr}")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(done.stdout.split("\nC1 ")[0])
        print(f"calibrate: {seconds:.1f} s, peak RSS {peak:,.0f} MB (target < 30 s)")
        found = {
            key: [float(v) for v in re.findall(rf"{key} ([0-9.]+) ", done.stdout)]
            for key in ("median", "sigma", "mean", "cv")
        }
        truth = {"median": MEDIAN, "sigma": SIGMA, "mean": MEAN, "cv": CV}
        for key, values in found.items():
            worst = max(abs(v - truth[key]) / truth[key] for v in values)
            print(f"  {key}: {len(values)} courses, worst {worst:.1%} from the truth {truth[key]}")


if __name__ == "__main__":
    main()
