"""The engine: LMS state and rule semantics (lms.py), scheduled by a SimPy model (model.py).

Its hot modules run compiled when the package was built with a C compiler, else
interpreted (compiled_core.py decides, before they are imported). ENGINE says which.
"""

from ..compiled_core import choose

ENGINE, ENGINE_REASON = choose()

from .model import Model  # noqa: E402 - after the choice of compiled or interpreted modules
from .plan import Plan, compile_plan  # noqa: E402

__all__ = ["ENGINE", "ENGINE_REASON", "Model", "Plan", "compile_plan"]
