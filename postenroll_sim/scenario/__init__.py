"""The specification layer: scenario files -> frozen, validated `Scenario` objects.

Names are imported when first used (PEP 562): `ScenarioError` and `Problem` cost nothing,
the pydantic models and the YAML reader load with `load_scenario` and friends.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import Problem, ScenarioError

_EXPORTS = {
    "Scenario": ".models",
    "expectations_of": ".loader",
    "load_scenario": ".loader",
    "parse_scenario": ".loader",
    "json_schema": ".schema",
}
__all__ = [
    "Problem",
    "Scenario",
    "ScenarioError",
    "expectations_of",
    "json_schema",
    "load_scenario",
    "parse_scenario",
]
assert set(__all__) == {"Problem", "ScenarioError", *_EXPORTS}


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from .loader import expectations_of, load_scenario, parse_scenario
    from .models import Scenario
    from .schema import json_schema
