"""postenroll-sim: simulate LMS Post Enrollment rules on learner populations.

from postenroll_sim import load_scenario, simulate
result = simulate(load_scenario("scenarios/onboarding.yaml"))
result.enrollments, result.jobs, result.events
"""

__version__ = "0.1.0"  # before the imports: the runner records it in run.json

from .checking import CheckResult, check
from .runner import Result, simulate, simulate_replications, simulate_variants
from .scenario import Scenario, ScenarioError, load_scenario, parse_scenario

__all__ = [
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
