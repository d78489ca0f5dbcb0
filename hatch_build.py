"""Build hook: compile the engine's hot modules with Cython when a C compiler is there.

The modules (postenroll_sim/engine/compiled.py, MODULES) are ordinary Python, typed
with Cython's pure-Python annotations; compiled, they run the same semantics several
times faster. Without Cython or a C compiler the package installs as it is and runs
interpreted: the build prints one line saying so and still succeeds.

    pip install .            # a wheel with the compiled modules (or without, see above)
    pip install -e .         # compiles in place, beside the sources (make setup)
    python hatch_build.py    # recompile in place what changed since (make does it)

POSTENROLL_SIM_BUILD=interpreted skips the compilation. A manifest
(postenroll_sim/engine/_compiled.json) records how the build went and a checksum of
each source it compiled, so a source edited afterwards is never shadowed by a stale
compiled module: the engine then runs interpreted until it is rebuilt.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
ENGINE = ROOT / "postenroll_sim" / "engine"
SKIP_ENV = "POSTENROLL_SIM_BUILD"


def _selection():
    """postenroll_sim/engine/compiled.py, loaded by path (the package's dependencies may
    not be installed in the build environment)."""
    spec = importlib.util.spec_from_file_location("_engine_selection", ENGINE / "compiled.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _notice(message: str) -> None:
    print(f"postenroll-sim: {message}", file=sys.stderr, flush=True)


def _replace(source: Path, target: Path) -> None:
    """Put a file in place by renaming a copy over it: a process that has the old compiled
    module loaded keeps it intact (writing over a loaded library would crash it)."""
    partial = target.with_name(target.name + ".part")
    shutil.copy2(source, partial)
    os.replace(partial, target)


def compile_engine(build_dir: Path, inplace: bool) -> dict:
    """Compile every module; returns the manifest. Raises when it cannot."""
    selection = _selection()
    import Cython
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension

    # Checksums of the sources as they are when compiling starts: a module edited while
    # it compiles then no longer matches, and runs interpreted until rebuilt (never stale).
    digests = {name: selection.source_digest(ENGINE / f"{name}.py") for name in selection.MODULES}
    extensions = [
        Extension(f"{selection.PACKAGE}.{name}", [str(ENGINE / f"{name}.py")])
        for name in selection.MODULES
    ]
    cores = os.cpu_count() or 1
    _notice(
        f"compiling the engine core: {len(extensions)} modules with Cython {Cython.__version__}, "
        f"then C, on {cores} core{'s' if cores > 1 else ''} (about a minute; "
        f"POSTENROLL_SIM_BUILD=interpreted skips it)"
    )
    modules = cythonize(
        extensions,
        language_level=3,
        quiet=True,
        nthreads=cores,  # Cython's translation of the modules in parallel, as the C below
        build_dir=str(build_dir / "c"),
        include_path=[str(ROOT)],  # the .pxd files beside the modules give their C types
        # Python annotations are for readers and type checkers; C types come from the .pxd
        # files. Bounds stay checked, so a bug is an IndexError rather than a crash; the
        # engine never counts from the end of an array, so a negative index is such a bug
        # too (wraparound off), and the C code need not test for one at every access.
        compiler_directives={
            "binding": False,
            "annotation_typing": False,
            "wraparound": False,
            "show_performance_hints": False,  # (hundreds of lines a first `make` would show)
        },
    )
    distribution = Distribution({"name": "postenroll-sim-engine", "ext_modules": modules})
    distribution.script_name = "hatch_build.py"
    command = distribution.get_command_obj("build_ext")
    command.inplace = False
    command.build_lib = str(build_dir / "lib")
    command.build_temp = str(build_dir / "tmp")
    command.parallel = cores
    command.ensure_finalized()
    command.run()
    built = {}
    for name in selection.MODULES:
        [artifact] = (build_dir / "lib" / "postenroll_sim" / "engine").glob(f"{name}.*")
        built[name] = artifact
    if inplace:
        for artifact in built.values():
            _replace(artifact, ENGINE / artifact.name)
    return {
        "engine": "compiled",
        "cython": Cython.__version__,
        "platform": sysconfig.get_platform(),
        "sources": {name: digests[name] for name in built},
        "artifacts": {name: artifact.name for name, artifact in built.items()},
        "_built": {name: str(artifact) for name, artifact in built.items()},
    }


def _why(exc: Exception) -> str:
    """A few words on why the core was not compiled."""
    if isinstance(exc, ImportError):
        return f"{exc.name or 'Cython'} is not installed"
    kind = type(exc).__name__
    if "Compile" in kind or "Exec" in kind or "Link" in kind:
        return "no working C compiler (or no Python headers) here"
    text = " ".join(str(exc).split())
    return f"{kind}: {text[:160]}"


def build(build_dir: Path, inplace: bool) -> dict:
    """Compile if possible; the manifest either way (with the reason when not compiled)."""
    selection = _selection()
    for stale in ENGINE.glob("*" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so")):
        if inplace and stale.stem.split(".")[0] in selection.MODULES:
            stale.unlink()
    if os.environ.get(SKIP_ENV, "").strip().lower() == "interpreted":
        manifest = {"engine": "interpreted", "reason": f"built with {SKIP_ENV}=interpreted"}
    else:
        try:
            started = time.perf_counter()
            manifest = compile_engine(build_dir, inplace)
            manifest["_seconds"] = time.perf_counter() - started
        except Exception as exc:  # no Cython, no compiler, no Python headers: run interpreted
            manifest = {"engine": "interpreted", "reason": f"not compiled: {_why(exc)}"}
    if manifest["engine"] == "compiled":
        _notice(
            f"compiled the engine core with Cython {manifest['cython']} "
            f"in {manifest['_seconds']:.0f} s"
        )
    else:
        _notice(f"the engine will run interpreted ({manifest['reason']})")
    public = {k: v for k, v in manifest.items() if not k.startswith("_")}
    (build_dir / selection.MANIFEST).write_text(json.dumps(public, indent=2) + "\n")
    if inplace:
        _replace(build_dir / selection.MANIFEST, ENGINE / selection.MANIFEST)
    return manifest


try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run as a script: no hatchling needed
    BuildHookInterface = object


class CompiledEngineHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel":
            return
        build_dir = Path(tempfile.mkdtemp(prefix="postenroll-build-"))
        self._build_dir = build_dir
        selection = _selection()
        if version == "editable":  # the sources are imported in place: compile beside them
            build(build_dir, inplace=True)
            return
        manifest = build(build_dir, inplace=False)
        include = build_data.setdefault("force_include", {})
        include[str(build_dir / selection.MANIFEST)] = f"postenroll_sim/engine/{selection.MANIFEST}"
        if manifest["engine"] == "compiled":
            for artifact in manifest["_built"].values():
                include[artifact] = f"postenroll_sim/engine/{Path(artifact).name}"
            build_data["pure_python"] = False
            build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict, artifact_path: str) -> None:
        shutil.rmtree(getattr(self, "_build_dir", ""), ignore_errors=True)


if __name__ == "__main__":
    engine, why = _selection().built()
    if engine == "compiled" and "--force" not in sys.argv:
        sys.exit(0)  # every module is compiled from its current source
    with tempfile.TemporaryDirectory(prefix="postenroll-build-") as folder:
        result = build(Path(folder), inplace=True)
    sys.exit(0 if result["engine"] == "compiled" or "--allow-interpreted" in sys.argv else 1)
