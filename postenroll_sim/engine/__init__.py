"""The engine: LMS state and rule semantics (lms.py), scheduled by a SimPy model (model.py),
and the tables built from its store (recorder.py, columnar.py).

Its hot modules run compiled when the package was built with a C compiler, else
interpreted (compiled.py decides, before any of them is imported). ENGINE says which.
The package's own names load when first used (PEP 562), so asking which engine runs
(`postenroll-sim --version`) does not load SimPy or NumPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .compiled import choose

ENGINE, ENGINE_REASON = choose()

_EXPORTS = {"Model": ".model", "Plan": ".plan", "compile_plan": ".plan"}
__all__ = ["ENGINE", "ENGINE_REASON", "Model", "Plan", "compile_plan"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value  # once loaded, an ordinary attribute
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from .model import Model
    from .plan import Plan, compile_plan
