"""The `.pxd` beside an engine module declares exactly the attributes its `.py` classes
assign (docs/contributing.md, "Editing an engine module"): compiled, a class refuses an
attribute its `.pxd` does not declare (AttributeError, on the compiled engine only), and a
declaration the `.py` no longer assigns is a field nobody sets. The interpreted engine
cannot see either, so this test reads both files."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parent.parent / "postenroll_sim" / "engine"
MODULES = sorted(p.stem for p in ENGINE.glob("*.pxd"))

_CLASS = re.compile(r"^cdef class (\w+)(?:\((\w+)\))?:")
# `    cdef [public|readonly] TYPE name, name`: a field (a method has a parenthesis)
_FIELD = re.compile(r"^    cdef (?!class )(?:(?:public|readonly) )?(?P<decl>[^()]+)$")


def pxd_classes(text: str) -> dict[str, tuple[str | None, set[str]]]:
    """Each `cdef class` of a .pxd: its base and the fields it declares itself."""
    classes: dict[str, tuple[str | None, set[str]]] = {}
    current: set[str] | None = None
    for line in text.splitlines():
        line = line.split("#", 1)[0].rstrip()
        if not line:
            continue
        match = _CLASS.match(line)
        if match:
            current = set()
            classes[match.group(1)] = (match.group(2), current)
        elif not line.startswith(" "):
            current = None  # module level again
        elif current is not None and (field := _FIELD.match(line)):
            first, *rest = (part.strip() for part in field.group("decl").split(","))
            current.update([first.split()[-1], *rest])
    return classes


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return [node.target]
    return []


def _self_attributes(target: ast.expr) -> set[str]:
    if isinstance(target, ast.Tuple | ast.List):
        return set().union(*(_self_attributes(item) for item in target.elts))
    if isinstance(target, ast.Starred):
        return _self_attributes(target.value)
    if (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    ):
        return {target.attr}
    return set()


def py_classes(text: str) -> dict[str, tuple[list[str], set[str]]]:
    """Each top-level class of a .py: its bases and the `self.X` it assigns anywhere."""
    classes = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.ClassDef):
            assigned: set[str] = set()
            for inner in ast.walk(node):
                for target in _targets(inner):
                    assigned |= _self_attributes(target)
            bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
            classes[node.name] = (bases, assigned)
    return classes


@cache
def _read(module: str, suffix: str) -> str:
    return (ENGINE / f"{module}{suffix}").read_text(encoding="utf-8")


@cache
def _all_pxd() -> dict[str, tuple[str | None, set[str]]]:
    return {name: c for m in MODULES for name, c in pxd_classes(_read(m, ".pxd")).items()}


@cache
def _all_py() -> dict[str, tuple[list[str], set[str]]]:
    return {name: c for m in MODULES for name, c in py_classes(_read(m, ".py")).items()}


def _declared(name: str, pxd: dict) -> set[str]:
    """The fields of a cdef class with those of its cdef bases."""
    fields: set[str] = set()
    while name in pxd:
        base, own = pxd[name]
        fields |= own
        name = base
    return fields


def test_the_parsers_read_the_forms_the_files_use():
    pxd = pxd_classes(
        "cdef class A(B):\n"
        "    cdef public int[:] x, y  # a comment\n"
        "    cdef readonly unsigned char[:] _z\n"
        "    cdef long long n\n"
        "    @cython.locals(i=int)\n"
        "    cpdef f(self, int i)\n"
        "    cdef int g(self,\n"
        "               int j) except -1\n"
        "cdef int CONSTANT\n"
    )
    assert pxd == {"A": ("B", {"x", "y", "_z", "n"})}
    py = py_classes(
        "class A(B):\n"
        "    def __init__(self):\n"
        "        self.x, (self.y, other.w) = 1, (2, 3)\n"
        "        self.n += 1\n"
        "        self._z: int = 0\n"
        "        def inner():\n"
        "            self.v = 1\n"
    )
    assert py == {"A": (["B"], {"x", "y", "n", "_z", "v"})}


@pytest.mark.parametrize("module", MODULES)
def test_pxd_declares_what_the_py_assigns(module):
    pxd, every_py = _all_pxd(), _all_py()
    own = pxd_classes(_read(module, ".pxd"))
    py = py_classes(_read(module, ".py"))
    problems = []
    for name, (base, fields) in own.items():
        if name not in py:
            problems.append(f"{module}.pxd declares cdef class {name}, {module}.py has none")
            continue
        bases, assigned = py[name]
        if (bases[0] if bases else None) != base:
            problems.append(f"{name}: bases {bases} in the .py, {base} in the .pxd")
        undeclared = assigned - _declared(name, pxd)
        if undeclared:
            problems.append(f"{name} assigns {sorted(undeclared)}: declare them in {module}.pxd")
        # a field is set by the class itself or by a cdef subclass
        subclasses = [sub for sub in pxd if name in _lineage(sub, pxd)]
        set_by = set().union(*(every_py.get(sub, ([], set()))[1] for sub in subclasses))
        unused = fields - set_by
        if unused:
            problems.append(f"{module}.pxd declares {name}.{sorted(unused)}, never assigned")
    assert not problems, "\n".join(problems)


def _lineage(name: str, pxd: dict) -> list[str]:
    """The class and its cdef bases."""
    chain = []
    while name in pxd:
        chain.append(name)
        name = pxd[name][0]
    return chain
