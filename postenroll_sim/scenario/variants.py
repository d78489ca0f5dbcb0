"""Scenario variants for parameter sweeps: `--set PATH=V1,V2,...` on the plain YAML data.

A PATH is dotted; a list is entered by index or by the `id` of an item, so
`courses.SAFE-201.post_enrollments.safe-to-compliance.delay_days` names one rule's delay
and `courses.FIRE.certificate.reenroll_before.days` a certificate's window (S34); a key
the file does not have is an error with a did-you-mean (the file must set the period
for a sweep to vary it). A variant is labelled by the last part of each key, a
period's unit with its period (`reenroll_before.days=30`).
Values are read as YAML scalars (7, 0.5, true, text), as in a scenario file; a value
given twice, or a PATH given in two --set options, is an error. Each variant is validated like a
file, so a value out of range is reported as clearly as a typo in the file.
"""

from __future__ import annotations

import copy
import itertools
import math
from pathlib import Path as FsPath
from typing import Any

from .certificates import PERIOD_UNITS
from .checks import close_match
from .errors import Problem, ScenarioError
from .loader import read_scenario_text, read_yaml, validate_data
from .models import Scenario
from .yamlread import YamlProblem, read_tree

MAX_VARIANTS = 10_000  # combinations of --set values in one sweep


def parse_set(option: str) -> tuple[str, list[Any]]:
    """'a.b=1,2' -> ('a.b', [1, 2]). A bad option is a ValueError with a one-line message."""
    if "=" not in option:
        raise ValueError(f"--set {option!r}: expected PATH=V1,V2,...")
    path, _, values = option.partition("=")
    path = path.strip()
    if not path or not values:
        raise ValueError(f"--set {option!r}: expected PATH=V1,V2,...")
    parsed: list[Any] = []
    for text in values.split(","):
        try:
            value = read_tree(text).data
        except YamlProblem as exc:
            reason = exc.message.removeprefix("YAML: ")
            raise ValueError(
                f"--set {option!r}: {text.strip()!r} is not a value ({reason}); values are "
                "numbers, true/false or text, separated by commas"
            ) from None
        # 10 and 10.0 are the same variant; 1 and true are not
        if any(v == value and isinstance(v, bool) == isinstance(value, bool) for v in parsed):
            raise ValueError(f"--set {option!r}: the value {text.strip()!r} is given twice")
        parsed.append(value)
    return path, parsed


def _set(data: Any, path: str, value: Any) -> None:
    parts = path.split(".")
    node = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, dict):
            if last:
                node[part] = value
                return
            if part not in node:
                close = close_match(part, [k for k in node if isinstance(k, str)])
                hint = f" (did you mean '{close}'?)" if close else ""
                raise KeyError(
                    f"{where}: no key '{part}' here{hint} (keys: {', '.join(map(str, node))})"
                )
            node = node[part]
        elif isinstance(node, list):
            index = _index(node, part, where)
            if last:
                node[index] = value
                return
            node = node[index]
        else:
            above = ".".join(parts[:depth])
            raise KeyError(f"{where}: {above} is a value ({node!r}), not a mapping or a list")


def _index(items: list, part: str, where: str) -> int:
    if part.isdigit() and int(part) < len(items):
        return int(part)
    for index, item in enumerate(items):
        if isinstance(item, dict) and str(item.get("id")) == part:
            return index
    ids = [str(i.get("id")) for i in items if isinstance(i, dict) and "id" in i]
    raise KeyError(
        f"{where}: no item with id or index '{part}'" + (f" (ids: {', '.join(ids)})" if ids else "")
    )


def _short(key: str) -> str:
    """A variant's label for a key: its last part, with the period it belongs to for a
    period's unit (`reenroll_before.days`, not `days`: S31)."""
    parts = key.split(".")
    return ".".join(parts[-2:]) if parts[-1] in PERIOD_UNITS and len(parts) > 1 else parts[-1]


def variants(path: str | FsPath, sets: list[str]) -> list[tuple[str, Scenario]]:
    """Every combination of the --set values, each validated. Labels say what was set."""
    path = FsPath(path)
    data, origin = read_yaml(read_scenario_text(path), str(path))
    validate_data(copy.deepcopy(data), origin)  # the base file must be valid on its own
    parsed = [parse_set(option) for option in sets]
    seen: set[str] = set()
    for key, _ in parsed:
        if key in seen:
            raise ValueError(
                f"--set: {key} is given twice; give all its values in one --set ({key}=V1,V2,...)"
            )
        seen.add(key)
    combinations = math.prod(len(values) for _, values in parsed)
    if combinations > MAX_VARIANTS:
        raise ValueError(
            f"--set: {combinations:,} combinations of values; a sweep has at most "
            f"{MAX_VARIANTS:,} variants"
        )
    short = [_short(key) for key, _ in parsed]
    names = short if len(set(short)) == len(short) else [key for key, _ in parsed]
    out = []
    for combination in itertools.product(*(values for _, values in parsed)):
        variant = copy.deepcopy(data)
        labels = []
        for (key, _), name, value in zip(parsed, names, combination, strict=True):
            try:
                _set(variant, key, value)
            except KeyError as exc:
                raise ScenarioError(
                    [Problem(str(path), None, (), f"--set {exc.args[0]}")]
                ) from None
            labels.append(f"{name}={value}")
        label = ", ".join(labels)
        try:
            out.append((label, validate_data(variant, origin)))
        except ScenarioError as exc:
            problems = [
                Problem(p.file, p.line, p.path, f"{p.message} (with {label})") for p in exc.problems
            ]
            raise ScenarioError(problems) from None
    return out
