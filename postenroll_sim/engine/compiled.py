"""Which engine runs: the hot modules compiled to C (Cython, built with the package) or the
same Python source interpreted (docs/performance.md, section "The compiled core").

The build (hatch_build.py at the top of the repository) compiles MODULES when it finds
Cython and a C compiler, and writes MANIFEST beside them: how it went and a checksum of
each source it compiled. This module reads that manifest before any engine module is
imported and decides, once per process:

- compiled: every module was compiled from the source that is there now;
- interpreted: nothing was compiled (no C compiler, or a checkout that was never
  built), a source changed after it was compiled (`make setup` rebuilds), or
  POSTENROLL_SIM_ENGINE=interpreted asks for it (CI runs the semantic tests both ways).

When the compiled modules must not run, a finder on `sys.meta_path` loads the `.py`
files in their place (an extension module would otherwise win over its source).
It imports only the standard library (the build hook loads it by path), and the engine
package loads its modules lazily, so `postenroll-sim --version` can ask it without loading
the engine.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path

PACKAGE = "postenroll_sim.engine"
# The hot path: the LMS semantics, its state, the clock, learner behaviour, samplers.
MODULES = (
    "behaviour",
    "certificates",
    "clock",
    "lms",
    "log",
    "model",
    "population",
    "random",
    "store",
)
MANIFEST = "_compiled.json"
ENV = "POSTENROLL_SIM_ENGINE"
CHOICES = ("auto", "compiled", "interpreted")
HERE = Path(__file__).resolve().parent  # the modules and their manifest


def source_digest(path: Path) -> str:
    """A checksum of a module's source and of its C declarations (the `.pxd` beside it)."""
    digest = hashlib.sha256(path.read_bytes())
    declarations = path.with_suffix(".pxd")
    if declarations.exists():
        digest.update(declarations.read_bytes())
    return digest.hexdigest()


def _extension(folder: Path, module: str) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = folder / f"{module}{suffix}"
        if candidate.exists():
            return candidate
    return None


def _wanted() -> str:
    return os.environ.get(ENV, "auto").strip().lower() or "auto"


def status(folder: Path = HERE) -> tuple[str, str]:
    """(engine, why): "compiled" or "interpreted", and a few words on why."""
    wanted = _wanted()
    if wanted not in CHOICES:
        return "interpreted", f"{ENV}={wanted!r} is not one of {', '.join(CHOICES)}"
    if wanted == "interpreted":
        return "interpreted", f"{ENV}=interpreted"
    return built(folder)


def built(folder: Path = HERE) -> tuple[str, str]:
    """(engine, why) as built: can the compiled modules there run the sources there?"""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "interpreted", "never compiled (built without the compiled core)"
    if manifest.get("engine") != "compiled":
        return "interpreted", manifest.get("reason") or "built without the compiled core"
    digests = manifest.get("sources", {})
    for module in MODULES:
        source = folder / f"{module}.py"
        if _extension(folder, module) is None or module not in digests:
            return "interpreted", f"{module} was not compiled; `make setup` rebuilds the core"
        if source.exists() and source_digest(source) != digests[module]:
            return "interpreted", (
                f"{module}.py or .pxd changed after it was compiled; `make setup` rebuilds the core"
            )
    return "compiled", f"Cython {manifest.get('cython', '?')}"


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Loads the engine's `.py` files even where compiled ones sit beside them."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, module = fullname.rpartition(".")
        if package != PACKAGE or module not in MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, HERE / f"{module}.py")


def choose() -> tuple[str, str]:
    """Decide for this process (before the engine's modules are imported)."""
    engine, why = status()
    wanted = _wanted()
    if wanted not in CHOICES or (wanted == "compiled" and engine != "compiled"):
        from ..errors import UsageProblem

        if wanted not in CHOICES:
            raise UsageProblem(f"{ENV}={wanted!r} is not one of {', '.join(CHOICES)}")
        raise UsageProblem(f"{ENV}=compiled, but the compiled engine cannot run: {why}")
    if engine == "interpreted" and not any(isinstance(f, _SourceFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFinder())
    return engine, why


def describe() -> str:
    engine, why = status()
    return f"engine: {engine}, {why}"
