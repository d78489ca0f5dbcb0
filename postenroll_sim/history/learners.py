"""A warm start's learners file (S39, docs/scenarios.md `initial_state.learners`): the
organisation's people, with or without an enrollment, when they joined and left, and any
attributes (department, role, site, ...) an analyst breaks the answers down by.

    learner,joined_at,removed_at,department,role
    ana,2023-04-03,,Sales,rep
    ben,2021-09-01,2024-11-30,Ops,lead

Only `learner` is required; `joined_at` / `joined_day` and `removed_at` / `removed_day`
are moments read as the history's are (the map's time zone and date format); every other
column is an attribute, kept as text. Cut at day 0 as the history is: a learner who
joins at or after day 0 is not there yet (a backtest compares hires against them), and a
removal at or after day 0 has not happened yet. Every problem is located,
`LEARNERS.csv:LINE: column: message`, all at once (ScenarioError).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from ..columns import (
    CERTIFICATE_COLUMNS,
    ENROLLMENT_COLUMNS,
    EVENT_COLUMNS,
    FORMULA_START,
    JOB_COLUMNS,
    from_spreadsheet,
)
from ..scenario import Problem, Scenario, ScenarioError
from ..scenario.base import same_id
from .exports import HistoryMap, _Moments, csv_rows

MOMENT_COLUMNS = ("joined_at", "joined_day", "removed_at", "removed_day")
# names an attribute cannot take: the tables' own columns (the attribute columns join them)
RESERVED = frozenset(
    (*ENROLLMENT_COLUMNS, *JOB_COLUMNS, *CERTIFICATE_COLUMNS, *EVENT_COLUMNS, "variant")
) | {
    "learner",
    *MOMENT_COLUMNS,
}


@dataclass
class LearnerRow:
    line: int
    learner: str
    joined: float | None  # days from day 0; None: before anything the history shows
    removed: float | None
    attributes: tuple[str | None, ...]


@dataclass
class LearnersFile:
    file: str
    attributes: tuple[str, ...]  # the attribute columns, in the file's order
    rows: list[LearnerRow] = field(default_factory=list)
    ignored: int = 0  # learners who join at or after day 0 (S39: not there yet)


def read_learners(
    path: str | Path, scenario: Scenario, mapping: HistoryMap | None = None
) -> LearnersFile:
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError([Problem(file, None, (), "no such learners file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(file, None, (), f"cannot read: {exc}")]) from None
    return parse_learners(text, file, scenario, mapping)


def parse_learners(
    text: str, file: str, scenario: Scenario, mapping: HistoryMap | None = None
) -> LearnersFile:
    mapping = mapping or HistoryMap()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ScenarioError([Problem(file, 1, (), "empty file: a header line is needed")]) from None
    except csv.Error as exc:
        raise ScenarioError([Problem(file, 1, (), f"not CSV: {exc}")]) from None
    problems: list[Problem] = []
    learner_header = mapping.header("learner")
    if learner_header not in header:
        problems.append(
            Problem(
                file,
                1,
                ("learner",),
                f"no column {learner_header!r}; the columns are {', '.join(header)}",
            )
        )
    for at, name in enumerate(header):
        if header.index(name) != at:
            problems.append(
                Problem(file, 1, (name,), f"column {name!r} appears twice in the header")
            )
    for moment in ("joined", "removed"):
        if f"{moment}_at" in header and f"{moment}_day" in header:
            problems.append(
                Problem(file, 1, (f"{moment}_day",), f"both {moment}_at and {moment}_day: keep one")
            )
    attributes = tuple(n for n in header if n not in MOMENT_COLUMNS and n != learner_header)
    for name in attributes:
        if name in RESERVED or not name:
            problems.append(
                Problem(
                    file,
                    1,
                    (name,),
                    f"an attribute cannot be called {name!r}: the tables have a column of that "
                    "name; rename it (e.g. learner_" + (name or "attribute") + ")",
                )
            )
    if (
        any(c.endswith("_at") and c in header for c in MOMENT_COLUMNS)
        and scenario.start_date is None
    ):
        problems.append(
            Problem(file, 1, ("joined_at",), "timestamps need the scenario's start_date")
        )
    if problems:
        raise ScenarioError(problems)
    index = {name: header.index(name) for name in header}
    moments = _Moments(mapping, scenario.start_date)
    result = LearnersFile(file, attributes)
    seen: dict[str, int] = {}
    for line, row in csv_rows(reader, file, problems):
        if len(row) != len(header):
            problems.append(
                Problem(
                    file, line, ("(row)",), f"{len(row)} fields, but the header has {len(header)}"
                )
            )
            continue
        learner = same_id(from_spreadsheet(row[index[learner_header]].strip()))
        if not learner:
            problems.append(
                Problem(file, line, (learner_header,), "empty: every row names its learner")
            )
            continue
        if learner.startswith(FORMULA_START):
            problems.append(
                Problem(
                    file,
                    line,
                    (learner_header,),
                    f"{learner!r}: a learner id cannot start with = + - @",
                )
            )
            continue
        if learner in seen:
            problems.append(
                Problem(
                    file, line, (learner_header,), f"{learner!r} is also on line {seen[learner]}"
                )
            )
            continue
        seen[learner] = line
        found: dict[str, float | None] = {}
        for moment in ("joined", "removed"):
            unit = "at" if f"{moment}_at" in index else "day" if f"{moment}_day" in index else None
            found[moment] = None
            if unit is None:
                continue
            column = f"{moment}_{unit}"
            cell = from_spreadsheet(row[index[column]].strip())
            if not cell:
                continue
            try:
                found[moment] = moments.parse(cell, unit)[0]
            except ValueError as exc:
                problems.append(Problem(file, line, (column,), str(exc)))
        joined, removed = found["joined"], found["removed"]
        if joined is not None and removed is not None and removed < joined:
            problems.append(Problem(file, line, ("removed_at",), "removed before they joined"))
            continue
        if joined is not None and not joined < 0:
            result.ignored += 1  # S39: joins at or after day 0: not there yet
            continue
        if removed is not None and not removed < 0:
            removed = None  # S39: not removed yet at day 0 (attrition models what comes)
        values = tuple(from_spreadsheet(row[index[name]].strip()) or None for name in attributes)
        result.rows.append(LearnerRow(line, learner, joined, removed, values))
    if problems:
        raise ScenarioError(problems)
    return result
