"""The interactive preview (docs/preview.md): open a scenario, edit its rules in a form,
run the published and the edited version paired, see what changed for a learner, save.

`PreviewModel` (model.py) is the state and every action; `Preview` (widget.py) its
ipywidgets view, in JupyterLab or served as a page by Voila (serve.py, `postenroll-sim
preview`). Names load when first used: ipywidgets only with the widget.
"""

from __future__ import annotations

import importlib

_EXPORTS = {"Preview": ".widget", "PreviewModel": ".model"}
__all__ = ["Preview", "PreviewModel"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
