"""The package's rooms (README, "The house"): every module imports alone in a fresh
interpreter, and no room imports one its README row does not allow."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import postenroll_sim

PACKAGE = Path(postenroll_sim.__file__).parent
ROOT = PACKAGE.parent


def _rooms_from_readme() -> list[tuple[str, tuple[str, ...], frozenset[str]]]:
    """The README's table of rooms, bottom first: (room, module prefixes, rooms it may
    import). A row's first cell names its folder (`postenroll_sim/engine/`) or its files
    (`postenroll_sim/columns.py`, `errors.py` (ground)); its last says what it may import."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## The house", 1)[1].split("\n## ", 1)[0]
    rooms = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`postenroll_sim/"):
            continue
        paths = re.findall(r"`([^`]+)`", cells[0])
        named = re.search(r"\((\w+)\)", cells[0].split("`")[-1])
        files = [p.removeprefix("postenroll_sim/") for p in paths]
        room = named.group(1) if named else files[0].rstrip("/")
        prefixes = tuple("postenroll_sim." + f.rstrip("/").removesuffix(".py") for f in files)
        may = cells[2]
        if may == "every room":
            allowed = frozenset(r for r, _, _ in rooms)
        elif may == "nothing":
            allowed = frozenset()
        else:
            allowed = frozenset(r.strip() for r in may.split(","))
        rooms.append((room, prefixes, allowed | {room}))
    return rooms


ROOMS = _rooms_from_readme()
ROOM_NAMES = [room for room, _, _ in ROOMS]


def test_the_readme_names_each_room_once_and_only_rooms_below_it():
    assert ROOM_NAMES[:3] == ["ground", "scenario", "engine"], ROOM_NAMES
    assert {"run", "design", "report", "qa", "cli"} <= set(ROOM_NAMES)
    assert len(set(ROOM_NAMES)) == len(ROOM_NAMES)
    for i, (room, _, allowed) in enumerate(ROOMS):
        assert allowed - {room} <= set(ROOM_NAMES[:i]), f"{room} may import a room above it"


def _room(module: str) -> str | None:
    """The room a module of the package is in; None for the package itself."""
    for room, prefixes, _ in ROOMS:
        if any(f"{module}.".startswith(f"{prefix}.") for prefix in prefixes):
            return room
    return None


def _allowed(room: str | None, imported: str) -> bool:
    """May a module of `room` import `imported`? The package itself (`__version__`, its
    lazy names) is in no room; it may import any, and any may import it."""
    if imported == "postenroll_sim" or room is None:
        return True
    allowed = next(a for r, _, a in ROOMS if r == room)
    return _room(imported) in allowed


def test_every_module_of_the_package_is_in_a_room():
    outside = [m for m in _modules() if _room(m) is None and m != "postenroll_sim"]
    assert not outside, f"modules in no room of the README: {outside}"
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert folders == {r for r in ROOM_NAMES if r != "ground"}, folders


# Each module is imported first in a process of its own, forked from one that has loaded
# the third-party libraries the package uses and, for a module above a layer, that layer
# and the ones below (each already imported alone): the layers import nothing above them
# (test_no_layer_imports_one_above_it), so no cycle runs through one, and to the module
# the process is a fresh interpreter (an import cycle shows only when a module of it is
# imported first), without paying for an interpreter, pandas and pydantic a module.
# The third-party modules loaded beforehand (only the test's speed depends on the list):
LIBRARIES = (
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "pydantic",
    "simpy",
    "yaml",
    "ruamel.yaml",
    "tqdm",
    "matplotlib.pyplot",
)
_CHILDREN = r"""
import importlib, json, os, sys

def forked(task):
    # run task() in a forked child: a pipe to read its JSON answer from, and its pid
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            answer = task()
        except BaseException as exc:
            answer = f"{type(exc).__name__}: {exc}"
        with os.fdopen(write, "w") as out:
            out.write(json.dumps(answer))
        os._exit(0)
    os.close(write)
    return os.fdopen(read), pid

def answer(child):
    pipe, pid = child
    with pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(text) if text else "the import killed the process"

def ours():
    return sorted(m for m in sys.modules if m.startswith("postenroll_sim"))

def load(name):
    before = set(ours())
    importlib.import_module(name)
    return sorted(set(ours()) - before)

stages, libraries = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for library in libraries:
    importlib.import_module(library)
import pydantic  # it imports most of itself when the first model is made
pydantic.create_model("Warm", x=(int, 0))
assert not ours(), ours()
report = {}
for stage in stages:
    running = []
    for name in stage:  # two at a time
        running.append((name, forked(lambda: load(name))))
        if len(running) == 2:
            done, child = running.pop(0)
            report[done] = answer(child)
    for done, child in running:
        report[done] = answer(child)
    if stage is not stages[-1] and all(isinstance(report[name], list) for name in stage):
        for name in stage:  # imported alone: now the layer below the next ones
            importlib.import_module(name)
print(json.dumps(report))
"""


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__main__":  # runs the command line when imported
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_imports_alone_in_a_fresh_interpreter():
    modules = _modules()
    assert "postenroll_sim.engine.recorder" in modules and "postenroll_sim.engine.model" in modules
    # a room at a time, bottom first; the package's front door (postenroll_sim) last
    stages = [[m for m in modules if _room(m) == room] for room in ROOM_NAMES]
    stages.append(["postenroll_sim"])
    done = subprocess.run(
        [sys.executable, "-c", _CHILDREN, json.dumps(stages), json.dumps(LIBRARIES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    failed = {name: answer for name, answer in report.items() if isinstance(answer, str)}
    assert not failed, failed
    assert sorted(report) == sorted(modules)
    for name, loaded in report.items():  # what importing it loaded, lazy imports aside
        above = [m for m in loaded if not _allowed(_room(name), m)]
        assert not above, f"importing {name} loads {above}"


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module of the package `path` imports, anywhere in it (lazy imports too)."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    package = package.removesuffix(".__init__")
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names = [f"{base}.{alias.name}" for alias in node.names] if not node.module else []
            found += [(node.lineno, name) for name in [base, *names]]
    return [(line, name) for line, name in found if name.split(".")[0] == "postenroll_sim"]


def test_no_room_imports_one_its_readme_row_does_not_allow():
    checked = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        room = _room(
            ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        )
        for line, name in _imports(path):
            # `from . import x` names a module or a name: a name is its module's
            while _room(name) is None and "." in name:
                name = name.rpartition(".")[0]
            checked += 1
            assert _allowed(room, name), f"{path.relative_to(ROOT)}:{line}: {room} imports {name}"
    assert checked > 200


def test_a_room_that_imports_a_room_above_it_is_caught(tmp_path):
    """The check itself: the analysis importing the engine (not in its row) fails."""
    assert not _allowed("analysis", "postenroll_sim.engine.model")
    assert not _allowed("engine", "postenroll_sim.run.runner")
    assert _allowed("report", "postenroll_sim.design.explain")
    assert _allowed("cli", "postenroll_sim.qa.audit.replay")
    assert _allowed("run", "postenroll_sim.history.warm")
    assert not _allowed("history", "postenroll_sim.run.runner")


# namedtuple's public methods start with an underscore
_PUBLIC_UNDERSCORED = {"_replace", "_asdict", "_fields", "_make"}


def _private(name: str) -> bool:
    return (
        name.startswith("_")
        and not name.startswith("__")
        and name not in _PUBLIC_UNDERSCORED | {"_"}
    )


def _engine_privates() -> set[str]:
    """Every private name the engine defines: methods, attributes, module names."""
    names = set()
    for path in (PACKAGE / "engine").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return {name for name in names if _private(name)}


def _engine_privates_used(path: Path, engine: set[str]) -> list[str]:
    """Where a module outside the engine reaches into it: a private name imported from
    it, a private attribute of anything but the module's own objects, a subclass of an
    engine class that defines or reads a private name of it."""
    tree = ast.parse(path.read_text(), str(path))
    engine_names = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and "engine" in (node.module or "").split("."):
            for alias in node.names:
                engine_names.add(alias.asname or alias.name)
                if _private(alias.name):
                    found.append(f"{node.lineno}: imports {alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.append(f"{node.lineno}: reads {ast.unparse(node)}")
        if not isinstance(node, ast.ClassDef):
            continue
        if not any(isinstance(b, ast.Name) and b.id in engine_names for b in node.bases):
            continue
        own = {
            target.attr
            for item in ast.walk(node)
            for target in getattr(item, "targets", [getattr(item, "target", None)])
            if isinstance(target, ast.Attribute)
        }
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name in engine:
                found.append(f"{item.lineno}: {node.name} overrides {item.name}")
        for item in ast.walk(node):
            if (
                isinstance(item, ast.Attribute)
                and isinstance(item.value, ast.Name)
                and item.value.id == "self"
                and item.attr in engine
                and item.attr not in own
            ):
                found.append(f"{item.lineno}: {node.name} reads self.{item.attr} of the engine")
    return found


def test_the_audit_extends_the_engine_through_its_public_interface_only():
    engine = _engine_privates()
    assert {"_start", "_daily_hour", "_run_job"} <= engine
    # the audit's replay and reader live in the history room (the warm start uses them too)
    audit = sorted((PACKAGE / "qa" / "audit").rglob("*.py")) + sorted(
        (PACKAGE / "history").rglob("*.py")
    )
    assert len(audit) >= 8
    for path in audit:
        used = _engine_privates_used(path, engine)
        assert not used, f"{path.relative_to(ROOT)}: {used}"


def test_no_module_above_the_engine_reads_a_private_name_of_it():
    """Every driver, observer and reader outside the engine (not only the audit's) uses
    its public interface: no private name the engine defines is read from outside it."""
    engine = _engine_privates()
    for path in sorted(PACKAGE.rglob("*.py")):
        if "engine" in path.relative_to(PACKAGE).parts:
            continue
        used = [  # a private name of some other object (os._exit) is not the engine's
            where
            for where in _engine_privates_used(path, engine)
            if set(re.findall(r"(?<!\w)_\w+", where)) & engine
        ]
        assert not used, f"{path.relative_to(ROOT)}: {used}"
