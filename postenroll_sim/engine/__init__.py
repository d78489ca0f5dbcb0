"""The engine: LMS state and rule semantics (lms.py), scheduled by a SimPy model (model.py)."""

from .model import Model
from .plan import Plan, compile_plan

__all__ = ["Model", "Plan", "compile_plan"]
