"""postenroll-sim: simulate LMS Post Enrollment rules on learner populations.

from postenroll_sim import load_scenario, simulate
result = simulate(load_scenario("scenarios/showcase.yaml"))
result.enrollments, result.jobs, result.events

Names are imported when first used (PEP 562), so `import postenroll_sim` and the command
line's start are quick: pandas, the engine and matplotlib load only when needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"  # the one version string: pyproject.toml reads it (hatch)

_EXPORTS = {
    "CheckResult": ".qa.checking",
    "check": ".qa.checking",
    "Result": ".run.runner",
    "simulate": ".run.runner",
    "simulate_replications": ".run.runner",
    "simulate_variants": ".run.runner",
    "Scenario": ".scenario",
    "ScenarioError": ".scenario.errors",
    "load_scenario": ".scenario",
    "parse_scenario": ".scenario",
}
__all__ = [  # noqa: RUF022 - the names of _EXPORTS
    "CheckResult",
    "Result",
    "Scenario",
    "ScenarioError",
    "check",
    "load_scenario",
    "parse_scenario",
    "simulate",
    "simulate_replications",
    "simulate_variants",
]
assert set(__all__) == set(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value  # once loaded, an ordinary attribute
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # for type checkers and editors: the same names, eagerly
    from .qa.checking import CheckResult, check
    from .run.runner import Result, simulate, simulate_replications, simulate_variants
    from .scenario import Scenario, ScenarioError, load_scenario, parse_scenario
