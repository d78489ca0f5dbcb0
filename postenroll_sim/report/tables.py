"""A run's tables as the report reads them: one variant, a few replications at a time.

A report's memory must not grow with the replications of the run it shows, so it never
holds every table of every replication. Each measure a section shows is a `Part`: taken
of each chunk of a variant's tables (the rows of one replication, or of a few small
ones: `CHUNK_ROWS`), and joined over the chunks (`gather`, one pass). The analysis
functions are those parts and joins themselves (analysis/metrics.py and the rest: the
function of the whole tables is the join of one part), so a page computed chunk by chunk
shows what one computed from the whole tables shows, number for number.

`InMemory` splits a `Result` held in memory; `Stored` reads a run folder (or a run's
staging area, for `run --report`) a chunk at a time (`outdir.read_chunks`: the row
groups of the chunk's replications, or the CSV streamed in order). A folder whose rows
are not in the order the run writes them is read whole instead (`eager`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..analysis.core import found_replications, shared_results
from ..columns import TABLES, column_kind
from ..run import outdir
from ..run.outdir import ChunkOrder
from ..run.runner import Result, _malloc_trim
from ..scenario import Scenario

CHUNK_ROWS = outdir.CHUNK_ROWS  # tests set 0 (a replication a chunk) or a huge number (whole)

__all__ = ["ChunkOrder", "Chunk", "InMemory", "Joining", "Part", "RunTables", "Stored", "gather"]


@dataclass
class Chunk:
    """Some replications' rows of one variant's tables (`result`, with its scenario)."""

    result: Result
    replications: list[int]
    label: str | None


@dataclass
class Joining:
    """What a join knows of one variant's run besides the parts: its scenario, the run's
    replications, and the replications found in each table (`found`) with its rows."""

    scenario: Scenario
    replications: list[int]
    found: dict[str, set[int]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def found_in(self, *tables: str) -> list[int]:
        """The replications with rows in any of `tables`, or [0] when none has rows (as
        `analysis.core.replications_of` of the whole tables)."""
        found = set().union(*(self.found.get(t, set()) for t in tables))
        return sorted(found) or [0]


@dataclass(frozen=True)
class Part:
    """A measure of a variant's run taken chunk by chunk: `take(chunk)` of each chunk, in
    order, then `join(taken, joining)` of the list. Parts with equal keys are taken once."""

    key: Hashable
    take: Callable[[Chunk], Any]
    join: Callable[[list, Joining], Any]


def _wanted(column: str) -> bool:
    """The columns a report reads: all but the timestamp twins of the day columns."""
    return column_kind(column) != "timestamp"


class RunTables:
    """What ran (`result`, its tables not necessarily in memory) and its tables, a chunk
    at a time: `names` the tables the run has, `variants` each variant (label, a Result
    with its scenario), `replications` the run's (every replication, found or not)."""

    result: Result
    names: list[str]
    columns: dict[str, list[str]]
    variants: list[tuple[str | None, Result]]
    replications: list[int]

    def chunks(
        self,
        names: Iterable[str] | None = None,
        columns: Iterable[str] | None = None,
        labels: Iterable[str | None] | None = None,
    ) -> Iterator[Chunk]:
        """The chunks of the tables `names` (default: all), of the variants `labels`
        (default: all), holding only `columns` (default: all a report reads)."""
        raise NotImplementedError

    def eager(self) -> InMemory:
        """The same run with every table read whole (for a folder the chunks cannot
        follow)."""
        raise NotImplementedError


def run_replications(result: Result) -> list[int]:
    """A run's replications: those its tables hold, and every one it ran."""
    found = found_replications(*result.tables().values())
    return sorted(set(found) | set(range(max(result.replications, 1))))


def _variant_result(result: Result, label: str | None) -> Result:
    """One variant's Result, no tables: its scenario and what ran (as
    `Result.split_variants` makes it)."""
    if label is None:
        return result
    record = next((v for v in result.variants if str(v.get("label")) == label), {})
    scenario = (
        Scenario.model_validate(record["scenario"])
        if isinstance(record.get("scenario"), dict)
        else result.scenario
    )
    return Result(
        scenario,
        warnings=list(result.warnings),
        seed=record.get("seed", result.seed),
        replications=result.replications,
        started=result.started,
        finished=result.finished,
        warm_start=result.warm_start,
    )


def _grown(sizes: list[int], rows: int) -> list[tuple[int, int]]:
    """Consecutive runs [lo, hi) of `sizes`: one item at least, more while under `rows`."""
    out, lo = [], 0
    while lo < len(sizes):
        hi, size = lo, 0
        while hi < len(sizes) and (hi == lo or size < rows):
            size += sizes[hi]
            hi += 1
        out.append((lo, hi))
        lo = hi
    return out


class InMemory(RunTables):
    """A Result whose tables are in memory, split into chunks (slices of each table: its
    rows are in replication order; a table that is not is one chunk, whole)."""

    def __init__(self, result: Result) -> None:
        self.result = result
        tables = result.tables()
        self.names = list(tables)
        self.columns = {name: list(frame.columns) for name, frame in tables.items()}
        self.variants = result.split_variants()
        self.replications = run_replications(result)

    def eager(self) -> InMemory:
        return self

    def chunks(self, names=None, columns=None, labels=None) -> Iterator[Chunk]:
        labels = None if labels is None else set(labels)
        for label, variant in self.variants:
            if labels is not None and label not in labels:
                continue
            tables = {
                name: frame if columns is None else frame[[c for c in frame if c in columns]]
                for name, frame in variant.tables().items()
                if names is None or name in names
            }
            bounds = {name: self._bounds(frame) for name, frame in tables.items()}
            if any(b is None for b in bounds.values()):  # not in replication order: whole
                yield self._chunk(variant, tables, self.replications, label)
                continue
            sizes = [
                sum(int(b[i + 1] - b[i]) for b in bounds.values())
                for i in range(len(self.replications))
            ]
            for lo, hi in _grown(sizes, CHUNK_ROWS):
                rows = {
                    name: frame.iloc[bounds[name][lo] : bounds[name][hi]].reset_index(drop=True)
                    for name, frame in tables.items()
                }
                yield self._chunk(variant, rows, self.replications[lo:hi], label)

    def _bounds(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Where each replication's rows start (and the last ends), or None when the rows
        are not in replication order."""
        replication = frame["replication"].to_numpy()
        if len(replication) > 1 and (np.diff(replication) < 0).any():
            return None
        return np.searchsorted(replication, [*self.replications, self.replications[-1] + 1])

    @staticmethod
    def _chunk(variant: Result, tables: dict, replications: list[int], label) -> Chunk:
        result = Result(
            variant.scenario,
            **tables,
            warnings=variant.warnings,
            seed=variant.seed,
            replications=variant.replications,
            warm_start=variant.warm_start,
        )
        return Chunk(result, list(replications), label)


class Stored(RunTables):
    """A run's tables in files (a folder's, verified first, or a run's staging area):
    `items` the run.json entries of its tables; `result` what ran, without tables."""

    def __init__(self, folder: str | Path, items: list[dict[str, Any]], result: Result) -> None:
        self.folder = Path(folder)
        self.items = [item for item in items if "table" in item and item["table"] in TABLES]
        self.result = result
        self.names = [item["table"] for item in self.items]
        self.columns = {item["table"]: list(item.get("columns", {})) for item in self.items}
        if not result.variants and any("variant" in c for c in self.columns.values()):
            self.variants = None  # labels only the rows know: read whole (`eager`)
        else:
            labels = [str(v["label"]) for v in result.variants] or [None]
            self.variants = [(label, _variant_result(result, label)) for label in labels]
        self.replications = list(range(max(result.replications, 1)))

    def eager(self) -> InMemory:
        tables = {
            item["table"]: outdir.read_table_file(
                self.folder / item["name"], item["format"], item.get("columns", {})
            )
            for item in self.items
        }
        whole = replace(self.result, **tables)  # what ran, with its tables
        return InMemory(whole)

    def chunks(self, names=None, columns=None, labels=None) -> Iterator[Chunk]:
        if self.variants is None:
            raise ChunkOrder("variants only the rows name")
        wanted = _wanted if columns is None else set(columns).__contains__
        items = [i for i in self.items if names is None or i["table"] in names]
        keys = [(label, r) for label, _ in self.variants for r in self.replications]
        only = None
        if labels is not None:
            chosen = set(labels)
            only = {i for i, (label, _) in enumerate(keys) if label in chosen}
        variants = dict(self.variants)
        found = outdir.read_chunks(self.folder, items, keys, wanted, CHUNK_ROWS, only)

        def chunk(positions: list[int], frames: dict) -> Chunk:
            label = keys[positions[0]][0]
            return InMemory._chunk(variants[label], frames, [keys[p][1] for p in positions], label)

        while True:  # each chunk made and yielded unnamed: the caller's is the only hold on it
            try:
                yield chunk(*next(found))
            except StopIteration:
                return


def gather(
    tables: RunTables,
    needs: dict[str | None, list[Part]],
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str | None, dict[Hashable, Any]], dict[str | None, Joining]]:
    """Every part each variant needs (`needs`, by label), taken in one pass over the
    chunks and joined: (by label, each part's key -> its join) and each variant's
    `Joining` (the replications and rows found in each table)."""
    parts = {label: {p.key: p for p in found} for label, found in needs.items()}
    taken: dict = {label: {key: [] for key in found} for label, found in parts.items()}
    joining = {
        label: Joining(variant.scenario, tables.replications)
        for label, variant in tables.variants
        if label in needs
    }
    done, total = 0, len(tables.replications) * len(needs)
    for chunk in tables.chunks(labels=list(needs)):
        done += _take(chunk, parts[chunk.label], taken[chunk.label], joining[chunk.label])
        del chunk
        _give_back()  # the chunk's tables go back before the next is read
        if progress is not None and total > 1:
            progress(f"read {done} of {total} replications")
    joined = {
        label: {key: part.join(taken[label][key], joining[label]) for key, part in found.items()}
        for label, found in parts.items()
    }
    return joined, joining


def _give_back() -> None:
    """The memory a chunk's tables took, back to the system: Arrow's pool and glibc's heap
    (as runner.give_back_memory, without its full garbage collection: tables hold no
    cycles, and a collection per chunk cost a tenth of the pass)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _take(chunk: Chunk, parts: dict, taken: dict, context: Joining) -> int:
    """Every part of one chunk, and the replications and rows found in it."""
    for name, frame in chunk.result.tables().items():
        context.found.setdefault(name, set()).update(found_replications(frame))
        context.rows[name] = context.rows.get(name, 0) + len(frame)
    with shared_results():  # a measure several parts ask for, once per chunk
        for key, part in parts.items():
            taken[key].append(part.take(chunk))
    return len(chunk.replications)
