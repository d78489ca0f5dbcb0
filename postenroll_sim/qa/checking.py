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

from ..scenario import Scenario, ScenarioError, expectations_of, load_scenario
from ..scenario.errors import Origin
from ..scenario.loader import read_scenario_text, read_yaml
from ..scenario.models import MAX_EXPECT_REPLICATIONS, ExpectError, expect_items

NOTHING_CHECKED = "it ran, but its `expect` block is missing or empty: nothing was checked"
Status = Literal["pass", "fail", "invalid", "no_expectations"]
# A file with nothing to check is not a pass: it exits 1 like a failure (docs/qa.md).
EXIT_CODES = {"pass": 0, "no_expectations": 1, "fail": 1, "invalid": 2}


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
    replications: int = 1  # how many replications the expectations were checked over

    @property
    def ok(self) -> bool:
        return self.status == "pass"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def failures(self) -> list[Expectation]:
        return [e for e in self.expectations if not e.ok]

    def summary(self) -> str:
        n = len(self.expectations)
        over = f" over {self.replications} replications" if self.replications > 1 else ""
        if self.status == "pass":
            return f"PASS {self.path} ({_plural(n, 'expectation')}{over})"
        if self.status == "fail":
            failed = f"{len(self.failures)} of {_plural(n, 'expectation')} failed"
            return f"FAIL {self.path}: {failed}{over}"
        if self.status == "invalid":
            return f"INVALID {self.path}"
        return f"NO EXPECTATIONS {self.path}: {NOTHING_CHECKED}"

    def report(self) -> str:
        """Every failed expectation (located, with what was found instead), then the summary."""
        lines = [f"{e.where}: {e.failure}" for e in self.failures]
        if self.status == "invalid" and self.error:
            lines.append(self.error)
        return "\n".join([*lines, self.summary()])


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def check(source: str | os.PathLike | Scenario, replications: int | None = None) -> CheckResult:
    """Load and simulate a scenario (a file, or a loaded `Scenario`) and check each item of
    its `expect` block. An invalid scenario is `invalid` unless it expects that error.

    The scenario is simulated once: over the replications its block asks for
    (`expect: {replications: N, items: [...]}`), or `replications` when given, with the
    standard streams (`SeedSequence(seed).spawn(N)`), so a check is reproducible."""
    if replications is not None and not 1 <= replications <= MAX_EXPECT_REPLICATIONS:
        raise ValueError(
            f"replications must be 1 to {MAX_EXPECT_REPLICATIONS:,}, got {replications}"
        )
    error = tables = None
    expectations: list[Any] | None = None
    prefix: tuple = ("expect",)
    if isinstance(source, Scenario):
        path = source.origin.file if source.origin is not None else "<scenario>"
        scenario, origin = source, source.origin
    else:
        path, scenario, origin = os.fspath(source), None, None
    try:
        if scenario is None:
            scenario = load_scenario(path)
            origin = scenario.origin
        expectations, prefix, asked = expect_items(scenario.expect)
        replications = replications or asked
        tables = _simulate(scenario, replications)
    except ScenarioError as exc:
        error = str(exc)
        if expectations is None:
            expectations, prefix, origin = _expectations_despite(path)
    if error is not None and not any(isinstance(e, ExpectError) for e in expectations or ()):
        return CheckResult(path, "invalid", error=error)
    start_date = scenario.start_date if scenario is not None else None
    return _result(
        path, expectations or [], tables, error, origin, prefix, replications or 1, start_date
    )


def _simulate(scenario: Scenario, replications: int) -> dict[str, Any]:
    # plain columns, no DataFrames (pandas is not even imported), in this process: a
    # check is one of many (files, pytest items), each cheap
    from ..run.lightrun import simulate_columns

    return simulate_columns(scenario, replications)


def _result(
    path, expectations, tables, error, origin, prefix, replications, start_date=None
) -> CheckResult:
    from .expect import check_expectations

    if not expectations:
        return CheckResult(path, "no_expectations")
    failures = {
        f.index: f
        for f in check_expectations(
            expectations, tables, error, origin, path, prefix, replications, start_date
        )
    }
    items = [
        Expectation(
            index,
            _where(path, origin, index, prefix),
            _describe(item),
            failures[index].message if index in failures else None,
        )
        for index, item in enumerate(expectations)
    ]
    return CheckResult(path, "fail" if failures else "pass", items, error, replications)


def _expectations_despite(path: str) -> tuple[list[Any] | None, tuple, Origin | None]:
    """The items of the `expect` block of a file that was rejected (it may expect exactly
    that), the path of their list (`expect` or `expect.items`) and the file's lines."""
    try:
        text = read_scenario_text(path)  # as the loader reads it: UTF-16 with a mark too
    except ScenarioError:
        return None, ("expect",), None
    try:
        data, origin = read_yaml(text, path)
    except ScenarioError:
        data, origin = None, None
    block = isinstance(data, dict) and isinstance(data.get("expect"), dict)
    return expectations_of(text, path), ("expect", "items") if block else ("expect",), origin


def _where(path: str, origin: Origin | None, index: int, prefix: tuple = ("expect",)) -> str:
    from .expect import where

    return where(path, origin, index, prefix)


def _describe(item: Any) -> str:
    """The item as written: `job {learner: alice, outcome: enrolled} count: {min: 1}`."""
    data = item.model_dump(exclude_defaults=True)
    kind = getattr(item, "kind", None) or next(iter(data), "expect")
    value = data.pop(kind, None)
    text = f"{kind} {_mapping(value)}" if isinstance(value, dict) else f"{kind}: {value}"
    for key, extra in data.items():
        if isinstance(extra, dict):  # a range: the bounds given
            extra = _mapping({k: v for k, v in extra.items() if v is not None})
        text += f" {key}: {extra}"
    return text


def _mapping(value: dict) -> str:
    return "{" + ", ".join(f"{k}: {'null' if v is None else v}" for k, v in value.items()) + "}"


def scenario_files(folder: str | os.PathLike) -> list[Path]:
    """Every scenario test below `folder` (docs/qa.md: by its shape, readable or not),
    in path order."""
    from .discovery import discover

    return discover(folder)[0]
