"""Benchmarks: the model against bare SimPy on this machine, memory, scaling, parallelism.

    .venv/bin/python -m benchmarks.run                       # 10k and 100k learners, 1 year
    .venv/bin/python -m benchmarks.run --learners 1000000    # the big one
    .venv/bin/python -m benchmarks.run --scaling --figure docs/scaling.png
                                                             # cost against learners x years
    .venv/bin/python -m benchmarks.run --parallel            # replications on 1 vs 2 workers
    .venv/bin/python -m benchmarks.run --cli --learners 1000000
                                                             # the whole `postenroll-sim run`
    .venv/bin/python -m benchmarks.run --cli --learners 100000 --replications 1,20
                                                             # its memory against replications
    .venv/bin/python -m benchmarks.run --certificates        # with certificates (S31-S34)
    .venv/bin/python -m benchmarks.run --report --learners 20000 --replications 1,5,20
                                                             # `postenroll-sim report`: its
                                                             # memory against replications

Each size runs in a fresh process, so peak RSS is that run's own. Model throughput is
rows of the `events` table per second of simulation; the bare SimPy figure is a loop of
Timeout callbacks with the same number of events, measured in the same process right
after the model (1,000 timeouts pending at a time: SimPy at its fastest).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bare_simpy(events: int, pending: int = 1000) -> float:
    """Callbacks per second of a loop of SimPy Timeouts, each rescheduling the next."""
    import simpy

    env = simpy.Environment()
    draw = random.Random(1).expovariate
    done = [0]

    def callback(_event):
        done[0] += 1
        if done[0] <= events - pending:
            env.timeout(draw(1.0)).callbacks.append(callback)

    for _ in range(pending):
        env.timeout(draw(1.0)).callbacks.append(callback)
    start = time.perf_counter()
    env.run()
    return done[0] / (time.perf_counter() - start)


def measure(learners: int, years: float, tables: str) -> dict:
    """One run of the reference scenario, in this process."""
    import numpy as np

    from benchmarks.reference import reference_scenario
    from postenroll_sim import parse_scenario
    from postenroll_sim.engine import Model, compile_plan, recorder
    from postenroll_sim.run.outdir import write_parquet

    scenario = parse_scenario(
        reference_scenario(learners, years, certificates=_certificates()), "reference.yaml"
    )
    which = tuple(tables.split(","))
    model = Model(
        compile_plan(scenario), np.random.SeedSequence(0), record_events="events" in which
    )
    start = time.perf_counter()
    model.run()
    run_seconds = time.perf_counter() - start
    events = len(model.log)  # before the tables release the logs
    start = time.perf_counter()
    frames = recorder.tables(model, which=which, release=True)
    build_seconds = time.perf_counter() - start
    rows = {name: len(frame) for name, frame in frames.items()}
    memory = {name: int(frame.memory_usage(deep=True).sum()) for name, frame in frames.items()}
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        for name, frame in frames.items():
            write_parquet(frame, Path(folder) / f"{name}.parquet")  # as `run` writes it
        parquet_seconds = time.perf_counter() - start
    result = {
        "learners": learners,
        "years": years,
        "tables": tables,
        "run_s": run_seconds,
        "build_s": build_seconds,
        "parquet_s": parquet_seconds,
        "events": events,
        "rows": rows,
        "bytes_per_row": {k: memory[k] / rows[k] for k in rows if rows[k]},
        "all_bytes_per_row": sum(memory.values()) / max(sum(rows.values()), 1),
    }
    if events:
        result["model_events_per_s"] = events / run_seconds
        # the machine's speed wanders (shared cores): take SimPy's best of three, the
        # strictest baseline for the ratio
        result["simpy_events_per_s"] = max(bare_simpy(min(events, 3_000_000)) for _ in range(3))
        result["ratio"] = result["model_events_per_s"] / result["simpy_events_per_s"]
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def in_subprocess(learners: int, years: float, tables: str) -> dict:
    """One size in fresh processes. The machine's speed wanders by +-30% over minutes, so
    runs of up to 100,000 learner-years are repeated three times and the fastest kept
    (as for the SimPy baseline); bigger ones take minutes and run once."""
    command = [sys.executable, "-m", "benchmarks.run", "--one", str(learners), str(years), tables]
    repeats = 3 if learners * years <= 100_000 else 1
    runs = []
    for _ in range(repeats):
        out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["run_s"])
    best["repeats"] = repeats
    return best


def cli_run(
    learners: int,
    years: float,
    replications: int = 1,
    workers: int = 1,
    source: Path | None = None,
    command: str = "run",
    dask: bool = False,
) -> dict:
    """The whole `postenroll-sim run` of the reference scenario, as a user runs it (every
    table written as Parquet, the summary printed): wall time and peak memory, from the
    kernel's own account. `peak_rss_mb` is the largest single process (wait4's maximum
    over the command and the workers it waited for); `tree_peak_mb` the most the command
    and its workers held at once (their RSS summed, read from /proc every 20 ms).
    `source` runs another checkout's code (`python -m postenroll_sim` with it first on
    the path: the same machine, the same benchmark, main against a branch). `command`
    "sweep" runs two variants (a rule's delay, 0 and 1 day) of `replications` each.
    `dask` runs them on a local Dask cluster of `workers` worker processes (one thread
    each, started before the clock starts) through `--scheduler`; their memory and CPU
    are then not in the figures, which count the command's own processes."""
    import os

    from benchmarks.reference import reference_scenario

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reference.yaml"
        path.write_text(reference_scenario(learners, years, certificates=_certificates()))
        out = Path(folder) / "out"
        env = dict(os.environ)
        if source is not None:
            env["PYTHONPATH"] = str(source)
        argv = [sys.executable, "-m", "postenroll_sim", command, str(path)]
        if command == "sweep":
            argv += ["--set", "courses.ONB-1.post_enrollments.onb-1-2.delay_days=0,1"]
        argv += ["--out", str(out), "--yes", "--no-progress"]
        argv += ["--replications", str(replications)]
        with contextlib.ExitStack() as stack:
            if dask:
                cluster = stack.enter_context(_local_cluster(workers, env))
                argv += ["--scheduler", cluster.scheduler_address]
            else:
                argv += ["--workers", str(workers)]
            start = time.perf_counter()
            process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, env=env, cwd=folder)
            sampler = _TreeSampler(process.pid)
            sampler.start()
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - start
            sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            raise SystemExit(f"postenroll-sim {command} failed with exit code {process.returncode}")
        meta = json.loads((out / "run.json").read_text())
    return {
        "command": command,
        "source": str(source or ROOT),
        "learners": learners,
        "years": years,
        "replications": replications,
        "workers": workers,
        "executor": "dask" if dask else ("pool" if workers > 1 else "serial"),
        "cli_wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),  # the command's and its workers'
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "tree_peak_mb": round(sampler.peak / 1024),
        "parent_peak_mb": round(sampler.parent_peak / 1024),
        "engine": meta["engine"],
        "rows": {item["table"]: item["rows"] for item in meta["files"] if "table" in item},
    }


@contextlib.contextmanager
def _local_cluster(workers: int, env: dict):
    """A Dask cluster on this machine whose worker processes import the code `env` names
    (PYTHONPATH: the checkout under test)."""
    import os

    from distributed import LocalCluster

    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env.get("PYTHONPATH", "")  # the nannies' workers inherit it
    try:
        with LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            yield cluster
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def report_runs(
    learners: int,
    years: float,
    replications: list[int],
    workers: int = 1,
    sources: list[Path | None] | None = None,
    rounds: int = 1,
) -> list[dict]:
    """`postenroll-sim report` of a folder of each number of `replications` of the
    reference scenario, as a user runs it: wall time and peak memory (wait4's maximum) of
    the command alone, in a fresh process. Each folder is made once, by this checkout
    (`run --workers`); `sources` are checkouts whose code makes the report, alternately
    (`--source ../main,.`), `rounds` times round."""
    import os

    from benchmarks.reference import reference_scenario

    found = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reference.yaml"
        path.write_text(reference_scenario(learners, years, certificates=_certificates()))
        outs = {}
        for n in replications:
            outs[n] = Path(folder) / f"out-{n}"
            argv = [sys.executable, "-m", "postenroll_sim", "run", str(path), "--yes", "-q"]
            argv += ["--out", str(outs[n]), "--replications", str(n), "--workers", str(workers)]
            subprocess.run(argv, cwd=folder, check=True, stdout=subprocess.DEVNULL)
        for _ in range(rounds):
            for n in replications:
                for source in sources or [None]:
                    env = dict(os.environ)
                    if source is not None:
                        env["PYTHONPATH"] = str(source)
                    argv = [sys.executable, "-m", "postenroll_sim", "report", str(outs[n])]
                    argv.append("--no-progress")
                    start = time.perf_counter()
                    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, env=env, cwd=folder)
                    _, status, usage = os.wait4(process.pid, 0)
                    wall = time.perf_counter() - start
                    if os.waitstatus_to_exitcode(status):
                        raise SystemExit(f"postenroll-sim report failed on {n} replications")
                    result = {
                        "command": "report",
                        "source": str(source or ROOT),
                        "learners": learners,
                        "years": years,
                        "replications": n,
                        "wall_s": round(wall, 1),
                        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
                        "peak_rss_mb": round(usage.ru_maxrss / 1024),
                    }
                    print(json.dumps(result), flush=True)
                    found.append(result)
    return found


class _TreeSampler:
    """The RSS of a process and all its descendants, summed, sampled on a thread (from
    /proc: Linux only); `peak` the most seen (kB), `parent_peak` the process's own
    high-water mark (VmHWM, kB)."""

    STEP = 0.02

    def __init__(self, pid: int):
        import threading

        self.pid = pid
        self.peak = 0
        self.parent_peak = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def _tree(self) -> list[int]:
        found, queue = [], [self.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            for children in Path(f"/proc/{pid}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    queue += [int(c) for c in children.read_text().split()]
        return found

    @staticmethod
    def _status(pid: int) -> dict[str, int]:
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            return {}
        out = {}
        for line in lines:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
        return out

    def _run(self) -> None:
        while not self.done.is_set():
            total = 0
            for pid in self._tree():
                status = self._status(pid)
                total += status.get("VmRSS", 0)
                if pid == self.pid:
                    self.parent_peak = max(self.parent_peak, status.get("VmHWM", 0))
            self.peak = max(self.peak, total)
            self.done.wait(self.STEP)


def parallel(learners: int, replications: int) -> dict:
    from benchmarks.reference import reference_scenario
    from postenroll_sim import parse_scenario
    from postenroll_sim.run.runner import simulate_replications

    scenario = parse_scenario(reference_scenario(learners, 1.0), "reference.yaml")
    timings = {1: math.inf, 2: math.inf}
    for _ in range(2):  # best of two: the machine's speed wanders
        for workers in (1, 2):
            start = time.perf_counter()
            simulate_replications(scenario, replications, workers=workers)
            timings[workers] = min(timings[workers], time.perf_counter() - start)
    return {
        "learners": learners,
        "replications": replications,
        "seconds_1": timings[1],
        "seconds_2": timings[2],
        "speedup": timings[1] / timings[2],
        "machine_ceiling": machine_ceiling(),
    }


def _bare_simpy_seconds(events: int) -> float:
    start = time.perf_counter()
    bare_simpy(events)
    return time.perf_counter() - start


def machine_ceiling(loops: int = 4, events: int = 2_000_000) -> float:
    """What 2 processes give this machine on pure CPU work with no data to move: the same
    bare SimPy loops run in 1 process, then on a pool of 2 (best of two each)."""
    from concurrent.futures import ProcessPoolExecutor

    one = two = math.inf
    for _ in range(2):
        start = time.perf_counter()
        for _ in range(loops):
            _bare_simpy_seconds(events)
        one = min(one, time.perf_counter() - start)
        with ProcessPoolExecutor(2) as pool:
            start = time.perf_counter()
            list(pool.map(_bare_simpy_seconds, [events] * loops))
            two = min(two, time.perf_counter() - start)
    return one / two


def table(results: list[dict]) -> str:
    lines = [
        "| learners | years | tables | run s | events | model ev/s | SimPy ev/s | ratio | peak RSS MB | bytes/row | build s | Parquet s |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['learners']:,} | {r['years']:g} | {r['tables']} | {r['run_s']:.1f} | {r['events']:,} | "
            f"{r.get('model_events_per_s', 0):,.0f} | {r.get('simpy_events_per_s', 0):,.0f} | "
            f"{r.get('ratio', 0):.2f} | {r['peak_rss_mb']:,.0f} | {r['all_bytes_per_row']:.1f} | "
            f"{r['build_s']:.1f} | {r['parquet_s']:.1f} |"
        )
    return "\n".join(lines)


def scaling_figure(results: list[dict], path: str) -> None:
    """Run time against learners (one line per horizon, log-log, slope-1 guide), and run
    time and peak memory against the work done (rows of the events table)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (by_size, by_work, memory) = plt.subplots(1, 3, figsize=(13, 4), layout="constrained")
    horizons = sorted({r["years"] for r in results})
    for years in horizons:
        chosen = sorted((r for r in results if r["years"] == years), key=lambda r: r["learners"])
        learners = np.array([r["learners"] for r in chosen])
        seconds = np.array([r["run_s"] for r in chosen])
        by_size.plot(learners, seconds, "o-", label=f"{years:g} year(s)")
        events = np.array([r["events"] for r in chosen]) / 1e6
        by_work.scatter(events, seconds, label=f"{years:g} year(s)", zorder=3)
        memory.scatter(events, [r["peak_rss_mb"] for r in chosen], zorder=3)
    smallest = min(results, key=lambda r: r["learners"] * r["years"])
    guide = np.array([smallest["learners"], max(r["learners"] for r in results)])
    by_size.plot(guide, smallest["run_s"] * guide / guide[0], ":", color="0.5", label="linear")
    by_size.set(xscale="log", yscale="log", xlabel="learners", ylabel="run time (s)")
    events = np.array([r["events"] for r in results]) / 1e6
    seconds = np.array([r["run_s"] for r in results])
    slope = float(events @ seconds / (events @ events))  # least squares through the origin
    grid = np.linspace(0, events.max() * 1.05, 50)
    by_work.plot(grid, slope * grid, color="0.6", lw=1, label=f"{slope:.1f} s per million rows")
    by_work.set(xlabel="events table rows (millions)", ylabel="run time (s)")
    memory.set(xlabel="events table rows (millions)", ylabel="peak RSS (MB), every table")
    for ax in (by_size, by_work, memory):
        ax.grid(alpha=0.3)
    for ax in (by_work, memory):
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
    by_size.legend(frameon=False)
    by_work.legend(frameon=False)
    fig.suptitle("Reference scenario: cost against learners, horizon and work")
    fig.savefig(path, dpi=110)


STARTUP_SCENARIO = """name: three learners
horizon_days: 30
courses:
  - {id: A, type: online, post_enrollments: [{id: R1, when: completed, delay_days: 5, courses: [B]}]}
  - {id: B, type: online}
learners: [ann, bo, cy]
script:
  - {day: 0, action: enroll, learner: ann, course: A}
  - {day: 10, action: complete, learner: ann, course: A}
expect:
  - enrollment: {learner: ann, course: B, rule: R1, enrolled_day: 15}
"""


def startup(repeats: int = 7) -> dict:
    """Wall time of what a QA suite pays per process, over `repeats` fresh runs of each
    command: (min, median, max) seconds."""
    import statistics
    import tempfile
    import time

    folder = Path(tempfile.mkdtemp())
    path = folder / "three.yaml"
    path.write_text(STARTUP_SCENARIO)
    command = [str(Path(sys.executable).with_name("postenroll-sim"))]
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import postenroll_sim": [sys.executable, "-c", "import postenroll_sim"],
        "postenroll-sim --help": [*command, "--help"],
        "postenroll-sim check (3 learners)": [*command, "check", str(path)],
        "postenroll-sim check x 20 files": [*command, "check", *[str(path)] * 20],
    }
    results = {}
    for name, argv in cases.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        results[name] = (min(times), statistics.median(times), max(times))
    return results


def _certificates() -> bool:
    """`--certificates`: the reference scenario's compliance curriculum awards certificates
    with re-enrollment (S31, S34); an environment variable, so the fresh process of each
    size sees it too."""
    import os

    return os.environ.get("BENCH_CERTIFICATES") == "1"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", default="10000,100000", help="comma-separated sizes")
    parser.add_argument("--years", type=float, default=1.0)
    parser.add_argument("--tables", default="enrollments,jobs,events,sessions")
    parser.add_argument("--scaling", action="store_true", help="run a grid of learners x years")
    parser.add_argument(
        "--parallel", action="store_true", help="replications per minute, 1 vs 2 workers"
    )
    parser.add_argument("--figure", help="with --scaling: save the scaling figure here")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument(
        "--startup",
        action="store_true",
        help="start-up of the command line (min, median and max of --repeats runs)",
    )
    parser.add_argument("--repeats", type=int, default=7, help="with --startup: runs of each")
    parser.add_argument(
        "--cli",
        action="store_true",
        help="the whole `postenroll-sim run` of each --learners size: wall time, peak memory",
    )
    parser.add_argument(
        "--replications",
        default="1",
        help="with --cli: comma-separated numbers of replications (`run --replications N`)",
    )
    parser.add_argument("--workers", type=int, default=1, help="with --cli: --workers")
    parser.add_argument(
        "--command", choices=("run", "sweep"), default="run", help="with --cli: which command"
    )
    parser.add_argument(
        "--source",
        help="with --cli: comma-separated checkouts whose code to run, alternately "
        "(default: this one), e.g. ../main,.",
    )
    parser.add_argument("--rounds", type=int, default=1, help="with --cli: times round")
    parser.add_argument(
        "--dask",
        action="store_true",
        help="with --cli: run on a local Dask cluster of --workers processes (--scheduler)",
    )
    parser.add_argument(
        "--certificates",
        action="store_true",
        help="the compliance curriculum awards a certificate with re-enrollment 30 days "
        "before expiry, instead of its recertification rule",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="`postenroll-sim report` of a folder of each --replications of each --learners "
        "size (made with --workers): wall time, peak memory",
    )
    args = parser.parse_args()
    if args.certificates:
        import os

        os.environ["BENCH_CERTIFICATES"] = "1"
    if args.cli:
        sources = [Path(p) for p in args.source.split(",")] if args.source else [None]
        for _ in range(args.rounds):  # alternating the checkouts: the machine's speed wanders
            for n in args.learners.split(","):
                for replications in [int(r) for r in args.replications.split(",")]:
                    for source in sources:
                        found = cli_run(
                            int(n),
                            args.years,
                            replications,
                            args.workers,
                            source,
                            args.command,
                            args.dask,
                        )
                        print(json.dumps(found), flush=True)
        return
    if args.report:
        sources = [Path(p) for p in args.source.split(",")] if args.source else None
        replications = [int(r) for r in args.replications.split(",")]
        for n in args.learners.split(","):
            report_runs(int(n), args.years, replications, args.workers, sources, args.rounds)
        return
    if args.startup:
        print("| command | min | median | max |\n|---|---:|---:|---:|")
        for name, (low, middle, high) in startup(args.repeats).items():
            print(f"| {name} | {low:.2f} | {middle:.2f} | {high:.2f} |")
        return
    if args.one:
        print(json.dumps(measure(int(args.one[0]), float(args.one[1]), args.one[2])))
        return
    if args.parallel:
        print(json.dumps(parallel(20000, 8)))
        return
    if args.scaling:
        grid = [(n, y) for y in (0.5, 1.0, 2.0) for n in (10_000, 30_000, 100_000, 300_000)]
        results = [in_subprocess(n, y, args.tables) for n, y in grid]
        if args.figure:
            scaling_figure(results, args.figure)
    else:
        results = [in_subprocess(int(n), args.years, args.tables) for n in args.learners.split(",")]
    for r in results:
        print(json.dumps(r), file=sys.stderr)
    print(table(results))


if __name__ == "__main__":
    main()
