"""The HTML pages: the run, comparison and sweep report (build.py) from its sections
(sections.py, one class each, in page order), the jinja2 templates and stylesheet every
page shares (templates/, filled by pages.py) and the small parts they show (parts.py).

`write_report`, `build_report` and `read_run` load when first used (PEP 562), so a page
of another room (the audit's) can use the templates without loading the report's analysis.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_BUILD = ("ReportError", "build_report", "check_learner", "read_run", "write_report")
__all__ = ["ReportError", "build_report", "check_learner", "read_run", "write_report"]
assert set(__all__) == set(_BUILD)


def __getattr__(name: str):
    if name in _BUILD:
        value = getattr(importlib.import_module(".build", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from .build import ReportError, build_report, check_learner, read_run, write_report
