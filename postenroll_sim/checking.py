"""Checking scenario files against their `expect` blocks, from Python.

    from postenroll_sim import check
    result = check("tests/acceptance/01-seed-completed-delay.yaml")
    assert result.ok, result.report()

`check` is what `postenroll-sim check` and the pytest plugin run: it loads the file,
simulates it once, and checks every expectation, each located `FILE:LINE: expect.N`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .scenario import Scenario, ScenarioError, expectations_of, load_scenario
from .scenario.errors import Origin
from .scenario.loader import read_yaml
from .scenario.models import ExpectError

Status = Literal["pass", "fail", "invalid", "no_expectations"]
EXIT_CODES = {"pass": 0, "no_expectations": 0, "fail": 1, "invalid": 2}


@dataclass(frozen=True)
class Expectation:
    """One item of an `expect` block and what became of it."""

    index: int
    where: str  # FILE:LINE: expect.N
    description: str  # the item as written, e.g. "enrollment {learner: alice, course: B}"
    failure: str | None  # what was found instead; None when it holds

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking one scenario file."""

    path: str
    status: Status
    expectations: list[Expectation] = field(default_factory=list)
    error: str | None = None  # the located problems, when the scenario was rejected

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "no_expectations")

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def failures(self) -> list[Expectation]:
        return [e for e in self.expectations if not e.ok]

    def summary(self) -> str:
        n = len(self.expectations)
        if self.status == "pass":
            return f"PASS {self.path} ({_plural(n, 'expectation')})"
        if self.status == "fail":
            return f"FAIL {self.path}: {len(self.failures)} of {_plural(n, 'expectation')} failed"
        if self.status == "invalid":
            return f"INVALID {self.path}"
        return f"NO EXPECTATIONS {self.path}: it ran, but has no `expect` block to check"

    def report(self) -> str:
        """Every failed expectation (located, with what was found instead), then the summary."""
        lines = [f"{e.where}: {e.failure}" for e in self.failures]
        if self.status == "invalid" and self.error:
            lines.append(self.error)
        return "\n".join([*lines, self.summary()])


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def check(source: str | os.PathLike | Scenario) -> CheckResult:
    """Load and simulate a scenario (a file, or a loaded `Scenario`) and check each item of
    its `expect` block. An invalid scenario is `invalid` unless it expects that error."""
    from .runner import simulate

    error = tables = None
    expectations: list[Any] | None = None
    if isinstance(source, Scenario):
        path = source.origin.file if source.origin is not None else "<scenario>"
        scenario, origin = source, source.origin
    else:
        path, scenario, origin = os.fspath(source), None, None
    try:
        if scenario is None:
            scenario = load_scenario(path)
            origin = scenario.origin
        expectations = list(scenario.expect)
        tables = simulate(scenario).tables()
    except ScenarioError as exc:
        error = str(exc)
        if expectations is None:
            expectations, origin = _expectations_despite(path)
    if error is not None and not any(isinstance(e, ExpectError) for e in expectations or ()):
        return CheckResult(path, "invalid", error=error)
    return _result(path, expectations or [], tables, error, origin)


def _result(path, expectations, tables, error, origin) -> CheckResult:
    from .expect import check_expectations

    if not expectations:
        return CheckResult(path, "no_expectations")
    failures = {f.index: f for f in check_expectations(expectations, tables, error, origin, path)}
    items = [
        Expectation(
            index,
            _where(path, origin, index),
            _describe(item),
            failures[index].message if index in failures else None,
        )
        for index, item in enumerate(expectations)
    ]
    return CheckResult(path, "fail" if failures else "pass", items, error)


def _expectations_despite(path: str) -> tuple[list[Any] | None, Origin | None]:
    """The `expect` block of a file that was rejected (it may expect exactly that)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None, None
    try:
        origin = read_yaml(text, path)[1]
    except ScenarioError:
        origin = None
    return expectations_of(text, path), origin


def _where(path: str, origin: Origin | None, index: int) -> str:
    from .expect import where

    return where(path, origin, index)


def _describe(item: Any) -> str:
    data = item.model_dump(exclude_defaults=True)
    kind = next(iter(data), "expect")
    value = data.get(kind)
    if isinstance(value, dict):
        fields = ", ".join(f"{k}: {'null' if v is None else v}" for k, v in value.items())
        text = f"{kind} {{{fields}}}"
    else:
        text = f"{kind}: {value}"
    extra = {k: v for k, v in data.items() if k != kind}
    return text + "".join(f" {k}: {v}" for k, v in extra.items())
