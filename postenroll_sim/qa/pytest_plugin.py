"""A pytest plugin: scenario files with an `expect` block are collected as tests.

Installed with the package (the `pytest11` entry point), so in any project that has
postenroll-sim installed, `pytest path/` runs every scenario test under `path` (a YAML
file recognised by its shape, discovery.py; other YAML is left alone): one test item
per expectation, named `expect.N: <the item>`
(`expect.items.N` when the block is `{replications: N, items: [...]}`), failing with
`FILE:LINE: expect.N: ...` and what was found instead. A scenario that cannot be loaded
or run, even one that cannot be decoded or parsed, is one failing item (unless it
expects exactly that error), and so is one whose `expect` block is empty. Each file is
simulated once per test process (over the replications its block asks for), however
many items it has; with `pytest -n auto` (pytest-xdist) items may be spread over
processes.

Select with the usual means: a path, `-k NAME` (file and expectation names), or
`-m postenroll_sim` for scenario items only. `--no-scenarios` (or the ini option
`postenroll_sim_scenarios = false`) turns collection off; the ini option
`postenroll_sim_files = GLOB ...` collects only files whose name (or, for a pattern
with a `/`, whose path) matches one of the patterns, as `python_files` does.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path, PurePath
from typing import Any

import pytest

SUFFIXES = (".yaml", ".yml")
_RESULTS: dict[tuple[str, float], Any] = {}  # (path, mtime) -> CheckResult, per process


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("postenroll-sim")
    group.addoption(
        "--no-scenarios",
        action="store_true",
        default=False,
        help="do not collect postenroll-sim scenario files (YAML with an `expect` block)",
    )
    parser.addini(
        "postenroll_sim_scenarios",
        "collect postenroll-sim scenario files with an `expect` block as tests",
        type="bool",
        default=True,
    )
    parser.addini(
        "postenroll_sim_files",
        "glob patterns of the scenario files to collect (a name, or a path with `/`); "
        "default: every .yaml/.yml file shaped like a scenario test",
        type="args",
        default=[],
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postenroll_sim: an expectation of a postenroll-sim scenario file"
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix not in SUFFIXES:
        return None
    config = parent.config
    if config.getoption("--no-scenarios") or not config.getini("postenroll_sim_scenarios"):
        return None
    patterns = config.getini("postenroll_sim_files")
    if patterns and not any(_matches(file_path, p) for p in patterns):
        return None
    from .discovery import classify

    if classify(file_path) != "test":
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


def _matches(path: Path, pattern: str) -> bool:
    """`python_files`-style: a pattern with a `/` matches the end of the path, any other
    the file name."""
    return PurePath(path).match(pattern) if "/" in pattern else fnmatch(path.name, pattern)


def _result(path: Path):
    from .checking import check

    key = (str(path), path.stat().st_mtime)
    if key not in _RESULTS:
        _RESULTS[key] = check(path)
    return _RESULTS[key]


class ScenarioFile(pytest.File):
    def collect(self):
        from ..scenario.errors import dotted
        from .checking import _describe, _expectations_despite

        expectations, prefix, _ = _expectations_despite(str(self.path))
        if not expectations:  # the expect block itself is malformed: one item says why
            yield ScenarioItem.from_parent(self, name="load", index=None, description="load")
            return
        for index, item in enumerate(expectations):
            description = _describe(item)
            name = f"{dotted((*prefix, index))}: {description}"  # expect.N or expect.items.N
            yield ScenarioItem.from_parent(self, name=name, index=index, description=description)


def _nothing_checked(path: Path) -> str:
    """`FILE:LINE: expect: ...`, located at the `expect` key."""
    from ..scenario import ScenarioError
    from ..scenario.loader import read_scenario_text, read_yaml
    from .checking import NOTHING_CHECKED

    try:
        _, origin = read_yaml(read_scenario_text(path), str(path))
    except ScenarioError:  # it ran, so it reads; a file changed meanwhile is not located
        origin = None
    line = origin.line_of(("expect",)) if origin is not None else None
    return f"{path}:{line}: expect: {NOTHING_CHECKED}" if line else f"{path}: {NOTHING_CHECKED}"


class ScenarioExpectationFailed(Exception):
    """An expectation that does not hold (or a scenario that could not be checked)."""


class ScenarioItem(pytest.Item):
    def __init__(self, *, index: int | None, description: str, **kwargs):
        super().__init__(**kwargs)
        self.index = index
        self.description = description
        self.add_marker(pytest.mark.postenroll_sim)

    def runtest(self) -> None:
        result = _result(self.path)
        if result.status == "invalid":
            raise ScenarioExpectationFailed(result.error or f"{self.path}: invalid scenario")
        if result.status == "no_expectations":  # an emptied block is not a pass
            raise ScenarioExpectationFailed(_nothing_checked(self.path))
        if self.index is None:
            failures = result.failures
            if failures:
                raise ScenarioExpectationFailed(
                    "\n".join(f"{f.where}: {f.failure}" for f in failures)
                )
            return
        expectation = result.expectations[self.index]
        if expectation.failure is not None:
            raise ScenarioExpectationFailed(f"{expectation.where}: {expectation.failure}")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ScenarioExpectationFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        line = None
        result = _RESULTS.get((str(self.path), self.path.stat().st_mtime))
        if result is not None and self.index is not None and self.index < len(result.expectations):
            where = result.expectations[self.index].where
            parts = where.split(":")
            line = int(parts[1]) - 1 if len(parts) > 2 and parts[1].isdigit() else None
        # not a suffix of the node id, so pytest shows the id as it is (dots and all)
        return self.path, line, f"{self.name} ({self.path.name})"
