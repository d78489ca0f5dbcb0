"""How much work a scenario asks for, and the soft limits above which a run should be confirmed.

The hard limits (base.py, checked when the file is loaded) stop what cannot work: a number
that overflows, a series of ten million sessions, a horizon of a thousand years. Below
them a scenario can still ask for more than a machine can give: 8 million learners over
20 years is valid but needs hundreds of gigabytes. `soft_limit_problems` says so before
the run starts, so a command line can ask for confirmation (`--yes`) instead of running
for hours and then being killed for lack of memory.

The estimates are upper bounds of the order of magnitude, from the headcount alone:
attrition and the scenario's rules are not taken into account.
"""

from __future__ import annotations

import math
import os

from .models import AddLearner, Scenario
from .stochastic import Hires, SessionSpec

SOFT_MAX_LEARNERS = 5_000_000  # learners in one run
SOFT_MAX_LEARNER_DAYS = 5e9  # learner-days over all replications (100,000 learners x 137 years)
# Peak memory per learner-year of a run, tables included: 3.6 GB for 1 million learners
# over a year with every table (docs/performance.md). The tables of every replication
# are kept together, so memory grows with replications too.
BYTES_PER_LEARNER_YEAR = 3_600
SECONDS_PER_LEARNER_YEAR = 400e-6  # run time, same benchmark (about 150,000 events/s)


def expected_hires(hires: Hires | None, horizon: float) -> float:
    """Learners hired within [0, horizon]: the Poisson mean, or the scheduled counts."""
    if hires is None:
        return 0.0
    if hires.schedule is not None:
        return float(sum(batch.count for batch in hires.schedule if batch.day <= horizon))
    return (hires.per_day or 0.0) * horizon


def session_count(spec: SessionSpec, horizon: float) -> int:
    """How many sessions one `sessions` entry makes within the horizon (engine/plan.py)."""
    if spec.day is not None:
        return 1 if spec.day <= horizon else 0
    first = spec.first_day or 0.0
    last = min(horizon, spec.until_day if spec.until_day is not None else horizon)
    if spec.every_days is None or last < first:
        return 0
    return math.floor((last - first) / spec.every_days + 1e-9) + 1


def physical_memory() -> int | None:
    """Bytes of physical memory, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not on Linux or macOS
        return None


def estimate_work(scenario: Scenario) -> dict[str, float]:
    """The size of one run of `scenario`, estimated from its headcount and horizon:

    - `learners`: named + added by the script + initial + expected hires;
    - `learner_days`: the days those learners are present (hires present from their
      arrival; nobody leaves);
    - `sessions`: ILC sessions within the horizon; `script_steps`: script actions;
    - `memory_bytes`, `run_seconds`: rough peak memory and run time of one replication,
      from the benchmarks of docs/performance.md.
    """
    horizon = scenario.horizon_days
    named = [horizon - learner.joined_day for learner in scenario.learners]
    added = [horizon - a.day for a in scenario.script if isinstance(a, AddLearner)]
    learners = float(len(named) + len(added))
    learner_days = math.fsum(named) + math.fsum(added)
    population = scenario.population
    if population is not None:
        learners += population.initial
        learner_days += population.initial * horizon
        hires = population.hires
        learners += expected_hires(hires, horizon)
        if hires is not None and hires.schedule is not None:
            learner_days += math.fsum(
                b.count * (horizon - b.day) for b in hires.schedule if b.day <= horizon
            )
        elif hires is not None and hires.per_day:
            learner_days += hires.per_day * horizon * horizon / 2  # on average half the horizon
    learner_years = learner_days / 365
    return {
        "learners": learners,
        "learner_days": learner_days,
        "sessions": float(
            sum(session_count(s, horizon) for c in scenario.courses for s in c.sessions or ())
        ),
        "script_steps": float(len(scenario.script)),
        "memory_bytes": learner_years * BYTES_PER_LEARNER_YEAR,
        "run_seconds": learner_years * SECONDS_PER_LEARNER_YEAR,
    }


def soft_limit_problems(
    scenario: Scenario, replications: int = 1, memory: int | None = None
) -> list[str]:
    """One-line messages, each with the estimate, for every soft limit the run would pass:
    more than SOFT_MAX_LEARNERS learners in a run, more than SOFT_MAX_LEARNER_DAYS
    learner-days in all, or more memory than the machine has (`memory` bytes; default:
    its physical memory). An empty list: go ahead. A command line shows these and runs
    only when the user confirms (`--yes`)."""
    return sweep_limit_problems([scenario], replications, memory)


def sweep_limit_problems(
    scenarios: list[Scenario], replications: int = 1, memory: int | None = None
) -> list[str]:
    """`soft_limit_problems` of a run of several scenarios at once (the variants of a
    sweep, or compare's two files): each run is held to the learner limit, and the
    learner-days and memory of all of them together to theirs, as their tables are kept
    together. A sweep of 5,000 small variants is as large as one run 5,000 times longer."""
    works = [estimate_work(scenario) for scenario in scenarios]
    memory = physical_memory() if memory is None else memory
    found = []
    learners = max((work["learners"] for work in works), default=0.0)
    if learners > SOFT_MAX_LEARNERS:
        found.append(
            f"about {_rounded(learners)} learners in a run, more than the soft limit of "
            f"{SOFT_MAX_LEARNERS:,}"
        )
    times = _times(replications, len(works))
    learner_days = math.fsum(work["learner_days"] for work in works) * max(1, replications)
    if learner_days > SOFT_MAX_LEARNER_DAYS:
        hours = math.fsum(work["run_seconds"] for work in works) * max(1, replications) / 3600
        found.append(
            f"about {_rounded(learner_days)} learner-days ({times}), more than "
            f"the soft limit of {SOFT_MAX_LEARNER_DAYS:,.0f}: roughly {hours:,.0f} hours of "
            "simulation"
        )
    needed = math.fsum(work["memory_bytes"] for work in works) * max(1, replications)
    if memory is not None and needed > memory:
        found.append(
            f"about {needed / 1e9:,.1f} GB of memory at the peak ({times}), "
            f"more than this machine's {memory / 1e9:,.1f} GB"
        )
    return found


def _times(replications: int, variants: int = 1) -> str:
    reps = "1 replication" if replications == 1 else f"{replications} replications"
    return reps if variants == 1 else f"{variants:,} variants x {reps}"


def _rounded(value: float) -> str:
    """Three significant digits, written out: 92,900,000,000."""
    return f"{float(f'{value:.3g}'):,.0f}"
