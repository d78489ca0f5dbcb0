"""The specification layer: scenario files -> frozen, validated `Scenario` objects."""

from .errors import Problem, ScenarioError
from .loader import expectations_of, load_scenario, parse_scenario
from .models import Scenario
from .schema import json_schema

__all__ = [
    "Problem",
    "Scenario",
    "ScenarioError",
    "expectations_of",
    "json_schema",
    "load_scenario",
    "parse_scenario",
]
