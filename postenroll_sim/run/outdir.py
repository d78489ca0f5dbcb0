"""An output folder holds one run: complete if and only if its `run.json` says so.

A file in the folder is the tool's only by the tool's own record: `run.json` (when it is
a record this tool wrote, checked by `check_record`) and the files it lists. Anything
else is the user's, whatever its name: kept, and a reason to refuse the folder unless
`force` (docs/outputs.md).

Writing (`OutputFolder`): the folder is claimed before the simulation starts (so a bad
`--out` fails in a second, not after an hour) and locked from the claim to the commit
(`flock` on the folder itself: the kernel lets go when the process dies, so a killed run
never blocks the folder), files are staged in a hidden folder *inside* it (same
filesystem, so the final moves are renames), and the commit goes:

1. `run.json` is replaced by one saying `"complete": false` and listing both the new
   files and the old ones it is about to remove (the folder is now visibly incomplete:
   a kill from here on leaves no doubt, and no file of either run becomes the user's);
2. every file the earlier run.json listed is removed;
3. the staged files are moved in;
4. `run.json` is replaced by the full record, `"complete": true`, written last.

Reading (`read_run`): only a complete folder is read, only the files its `run.json`
lists (plain names of the tool's own files, regular files, not links), each checked
against the size and SHA-256 recorded; CSV columns get back the dtypes they were written
with, ids stay text (`007`, `NA`, `1e3` are ids, not numbers).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import functools
import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..columns import (
    AUDIT_TABLES,
    FORMATS,
    MAX_REPLICATIONS,
    TABLES,
    column_kind,
    spreadsheet_frame,
)
from ..errors import OutputError  # noqa: F401 - re-exported

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no folder lock, the staging check only
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:  # pandas is imported where a table is read or written: a CLI that only
    import pandas as pd  # checks a folder starts faster

RUN_JSON = "run.json"
REPORT_NAME = "report.html"
# The tables behind the report's figures, as CSV next to it (report/build.py names them):
# the tool's only when run.json lists them, like every file here.
REPORT_TABLE = re.compile(r"^report-[a-z0-9]+(-[a-z0-9]+)*\.csv$")
MAX_REPORT_TABLES = 1000
MAX_REPORT_TABLE_NAME = 120
STAGING_PREFIX = ".postenroll-staging-"
_STAGING = re.compile(rf"^{re.escape(STAGING_PREFIX)}(\d+)-[0-9a-f]+$")
# Categories are kept in run.json up to this many (course and rule ids, vocabularies), so
# a CSV read back has the same categories as the Parquet would; learner ids are left out.
_KEEP_CATEGORIES = 2000


def is_report_table(name: str) -> bool:
    """A name the tool gives a table behind a report's figure (`report-<name>.csv`)."""
    return len(name) <= MAX_REPORT_TABLE_NAME and REPORT_TABLE.match(name) is not None


def owned_names() -> frozenset[str]:
    """Every file name the tool writes into an output folder (a name alone makes no file
    the tool's: its run.json must list it, see `OutputFolder.claim`)."""
    tables = {f"{name}.{fmt}" for name in TABLES + AUDIT_TABLES for fmt in FORMATS}
    return frozenset(tables | {RUN_JSON, REPORT_NAME})


def _pid_alive(pid: int) -> bool:  # only where there is no flock (see _clean_leftovers)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's live process
        return True
    return True


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# Rows of a Parquet row group; a table written in parts of this many rows is the same
# file as the table written whole. Four times pyarrow's default: each row group stores
# the learner ids' whole dictionary again, and at a million learners a group of 1Mi
# events made that dictionary half the cost of writing the events table (24 s against
# 16 s with 4Mi rows, a fifth smaller file; docs/performance.md).
ROW_GROUP_ROWS = 1 << 22


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """The file `frame.to_parquet(path, index=False)` writes, byte for byte, through
    pyarrow directly: a quarter less time (pandas' own wrapper costs that), and writing
    is most of what a big run spends after simulating (docs/performance.md)."""
    with _ParquetParts(path) as writer:
        writer.write(frame)


class _ArrowFrames:
    """Frames of one schema as Arrow tables. The first is converted by pyarrow's own
    `from_pandas`, which gives the schema; later ones reuse its Arrow dictionaries for the
    categorical columns, so a million learner ids are converted once, not once a part."""

    def __init__(self) -> None:
        self.schema = None
        self.dictionaries: dict[str, Any] = {}

    def convert(self, frame: pd.DataFrame):
        import pyarrow as pa

        if self.schema is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            self.schema = table.schema
            for name, column in zip(table.column_names, table.columns, strict=True):
                if pa.types.is_dictionary(column.type) and column.num_chunks == 1:
                    self.dictionaries[name] = column.chunk(0).dictionary
            return table
        arrays = []
        for name in frame.columns:
            series = frame[name]
            if name in self.dictionaries:
                codes = series.cat.codes.to_numpy()
                missing = codes < 0
                indices = pa.array(codes, mask=missing) if missing.any() else pa.array(codes)
                arrays.append(pa.DictionaryArray.from_arrays(indices, self.dictionaries[name]))
            else:
                arrays.append(pa.array(series, from_pandas=True))
        return pa.Table.from_arrays(arrays, schema=self.schema)


class _ParquetParts:
    """A Parquet file written part by part (pyarrow's `write_table` is a ParquetWriter
    writing one part): parts of ROW_GROUP_ROWS rows make the file one whole table makes."""

    def __init__(self, path: Path):
        self.path = path
        self.writer = None
        self.frames = _ArrowFrames()

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow.parquet as pq

        table = self.frames.convert(frame)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema)
        self.writer.write_table(table, row_group_size=ROW_GROUP_ROWS)

    def __enter__(self) -> _ParquetParts:
        return self

    def __exit__(self, *exc) -> None:
        if self.writer is not None:
            self.writer.close()


# ----- one replication's table as a part, many parts as one table ------------------------
#
# A run of several replications (runner.simulate_replications_into) has each replication
# write its tables as parts, Arrow IPC files (no encoding to speak of: a worker's copy of
# its columns), into the staging area, or hand them back as bytes (a Dask worker, which
# may not see this disk). The parent appends the parts to each table's file in
# replication order as they are there, and deletes them: a table is never whole in
# memory, and the file is the same whatever ran the replications or when they finished.
# In the Parquet file each part is its own row groups (ROW_GROUP_ROWS rows at most) with
# its own dictionaries: pyarrow unites them on reading, in order, as runner.concat does.

PART_SUFFIX = ".arrow"


def write_part(frames: Iterable[pd.DataFrame], path: Path | None):
    """Write the frames of one table (one schema) as an Arrow IPC file at `path`, made
    whole under a temporary name first; with no path, return the file's bytes (a
    pyarrow Buffer). Returns (path or bytes, rows)."""
    import pyarrow as pa

    converter = _ArrowFrames()
    rows = 0
    temporary = None if path is None else path.with_name(path.name + ".tmp")
    sink = pa.BufferOutputStream() if path is None else pa.OSFile(str(temporary), "wb")
    writer = None
    try:
        for frame in frames:
            table = converter.convert(frame)
            if writer is None:
                writer = pa.ipc.new_file(sink, table.schema)
            if len(frame):
                writer.write_table(table)
            elif not rows:  # an empty table: one empty batch, which keeps its categories
                arrays = [c.chunk(0) if c.num_chunks else pa.array([], c.type) for c in table]
                writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=table.schema))
            rows += len(frame)
        if writer is None:
            raise ValueError("a table has no frames")
        writer.close()
    finally:
        if path is not None:
            sink.close()
    if path is None:
        return sink.getvalue(), rows
    os.replace(temporary, path)
    return path, rows


class StagedParts:
    """One table of a run of several replications, staged part by part in order
    (`OutputFolder.stage_parts`): `add` appends a part (an Arrow IPC file `write_part`
    wrote), `close` returns the table's entry for run.json, as `stage_table` does. The
    file is the table of the parts stacked; its categories, as run.json records them,
    are every part's united in order (runner.concat)."""

    def __init__(self, folder: OutputFolder, name: str, fmt: str):
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
        self.folder, self.name, self.fmt = folder, name, fmt
        self.file_name = f"{name}.{fmt}"
        self.path = folder.staging / self.file_name
        self.writer = None  # the Parquet writer; a CSV is appended to
        self.started = False
        self.rows = 0
        self.dtypes: dict[str, Any] | None = None  # the pandas dtypes of the first part
        self.categories: dict[str, dict[str, None] | None] = {}  # united, while few

    def add(self, part: Path) -> None:
        import pyarrow as pa

        try:
            with pa.OSFile(str(part), "rb") as source:
                reader = pa.ipc.open_file(source)
                for index in range(reader.num_record_batches):
                    self._append(reader.get_batch(index))
        except OSError as exc:
            raise OutputError(
                f"cannot write to {self.folder.path}: {exc.strerror or exc}"
            ) from None

    def _append(self, batch) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.dtypes is None:
            empty = batch.slice(0, 0).to_pandas()
            self.dtypes = {column: empty[column].dtype for column in empty.columns}
        self._unite(batch)
        first = not self.started
        self.started = True
        if not batch.num_rows and not first:
            return  # an empty part adds nothing (the first makes the file, as one whole would)
        if self.fmt == "csv":
            spreadsheet_frame(batch.to_pandas()).to_csv(
                self.path,
                index=False,
                lineterminator="\n",
                header=first,
                mode="w" if first else "a",
            )
        else:
            table = pa.Table.from_batches([batch])
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.path, table.schema)
            self.writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.rows += batch.num_rows

    def _unite(self, batch) -> None:
        import pyarrow as pa

        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            if not pa.types.is_dictionary(column.type):
                continue
            known = self.categories.setdefault(name, {})
            if known is None:
                continue  # too many to record (learner ids)
            for value in column.dictionary.to_pylist():
                known[str(value)] = None
            if len(known) > _KEEP_CATEGORIES:
                self.categories[name] = None

    def close(self) -> dict[str, Any]:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.dtypes is None:
            raise ValueError(f"no part of the {self.name} table was staged")
        columns = {}
        for column, dtype in self.dtypes.items():
            if column in self.categories:
                united = self.categories[column]
                columns[column] = {"dtype": "category"}
                if united is not None:
                    columns[column]["categories"] = list(united)
            else:
                columns[column] = {"dtype": str(dtype)}
        return {
            "name": self.file_name,
            "table": self.name,
            "format": self.fmt,
            "rows": self.rows,
            "columns": columns,
            **_fingerprint(self.path),
        }

    def abandon(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
            self.writer = None


def _is_frame(frames: object) -> bool:
    return hasattr(frames, "columns") and hasattr(frames, "to_csv")


def _names_the_folder(method):
    """A failed write says which folder: a full disk's OSError names no file."""

    @functools.wraps(method)
    def writing(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except OSError as exc:
            raise OutputError(f"cannot write to {self.path}: {exc.strerror or exc}") from None

    return writing


@dataclass
class OutputFolder:
    """A folder claimed for one run's output (see the module docstring)."""

    path: Path
    staging: Path
    created: bool  # the folder did not exist before: remove it again if the run fails
    owned: frozenset[str] = frozenset()  # the files here the tool's own run.json lists
    force: bool = False  # files the tool did not write may be replaced by this run's
    lock: int | None = None  # the folder's descriptor, flock-ed until commit or discard
    inputs: tuple[tuple[str, int, int], ...] = ()  # the command's input files, never replaced
    claimed_at: str = field(default_factory=_now)

    @classmethod
    def claim(
        cls,
        folder: str | os.PathLike,
        force: bool = False,
        inputs: Iterable[str | os.PathLike] = (),
        wait: bool = False,
        beside: bool = False,
    ) -> OutputFolder:
        """Check that `folder` may hold this run's output, lock it and reserve a staging
        area in it. Refused (OutputError): an empty name, `/`, the current directory
        (unless `force`), a file, a folder holding files the tool did not write (unless
        `force`, or `beside`: a report added to a run checks only the file it replaces),
        a folder where the output would replace one of the command's `inputs` (always),
        a folder another run holds (unless `wait`: then wait for it), or one that cannot
        be written."""
        text = os.fspath(folder)
        if not text.strip():
            raise OutputError("--out is empty: name a folder for the tables")
        path = Path(text)
        resolved = path.resolve()
        if resolved == Path(resolved.anchor):
            raise OutputError(f"{text}: will not write tables into the root folder")
        if resolved == Path.cwd().resolve() and not force:
            raise OutputError(
                f"{text} is the current directory: choose a folder of its own (or pass --force)"
            )
        if path.exists() and not path.is_dir():
            raise OutputError(f"{text} is a file, not a folder")
        created, lock = _lock(path, resolved, text, wait)
        try:
            _clean_leftovers(path, locked=lock is not None)
            owned, distrusted = _owned(path)
            foreign = sorted(
                entry.name
                for entry in path.iterdir()
                if entry.name not in owned and not _STAGING.match(entry.name)
            )
            if foreign and not force and not beside:
                if distrusted:  # a run.json this tool would not have written owns nothing
                    raise OutputError(
                        f"{distrusted}, so no file in {text} is known to be postenroll-sim's; "
                        "choose an empty or new folder, or pass --force"
                    )
                shown = ", ".join(foreign[:3]) + (
                    f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
                )
                raise OutputError(
                    f"{text} holds files postenroll-sim did not write ({shown}); "
                    "choose an empty or new folder, or pass --force"
                )
            inputs = _file_ids(inputs)
            _refuse_inputs(path, owned, inputs)  # what the commit removes; replaces: commit
            staging = path / f"{STAGING_PREFIX}{os.getpid()}-{os.urandom(4).hex()}"
            staging.mkdir()
        except BaseException as exc:
            if created:
                shutil.rmtree(path, ignore_errors=True)
            _unlock(lock)
            if isinstance(exc, OSError):
                raise OutputError(f"cannot write to {text}: {exc.strerror or exc}") from None
            raise
        return cls(path, staging, created, owned, force, lock, inputs)

    def check_replaceable(self, names: Iterable[str]) -> None:
        """Refuse (OutputError) to replace a file of these names the tool did not write,
        unless the folder was claimed with `force`."""
        if self.force:
            return
        for name in names:
            target = self.path / name
            if name not in self.owned and os.path.lexists(target):
                raise OutputError(
                    f"{target} was not written by postenroll-sim (the folder's run.json does "
                    "not list it); move it away, or pass --force to replace it"
                )

    def discard(self) -> None:
        """The run failed before committing: drop the staging area (and a folder made for it)."""
        shutil.rmtree(self.staging, ignore_errors=True)
        if self.created:
            with contextlib.suppress(OSError):  # only if nothing else appeared in it
                self.path.rmdir()
        self._release()

    def _release(self) -> None:
        lock, self.lock = self.lock, None
        _unlock(lock)

    def __del__(self) -> None:  # a claim dropped without commit or discard lets go too
        self._release()

    def commit(
        self,
        staged: list[dict[str, Any]],
        meta: dict[str, Any],
        kept: list[dict[str, Any]] | tuple = (),
    ) -> list[Path]:
        """Move the staged files in and write run.json last. `staged` lists what
        `stage_table`/`stage_text` returned; `meta` is the rest of the run's record;
        `kept` lists files of this same run already in place (a report added later).
        Only the files the earlier run.json listed are removed; a file the tool did not
        write is replaced only when the folder was claimed with `force`."""
        try:
            _refuse_inputs(self.path, [item["name"] for item in staged], self.inputs)
            self.check_replaceable(item["name"] for item in staged)
            keep = {RUN_JSON} | {item["name"] for item in kept}
            removed = sorted(self.owned - keep)
            record = {**meta, "files": [*kept, *staged], "complete": False, "removing": removed}
            self._write_run_json(record)  # from here the folder is visibly incomplete
            for name in removed:
                target = self.path / name
                if os.path.lexists(target) and not target.is_dir():
                    target.unlink()
            final = []
            for item in staged:
                target = self.path / item["name"]
                os.replace(self.staging / item["name"], target)
                final.append(target)
            del record["removing"]
            record["complete"] = True
            record["finished"] = _now()
            self._write_run_json(record)
            final.append(self.path / RUN_JSON)
            return final
        except OSError as exc:
            raise OutputError(
                f"cannot write to {self.path}: {exc.strerror or exc}; "
                "the folder is incomplete (its run.json says so)"
            ) from None
        except BaseException:
            self.discard()
            raise
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)
            self._release()

    def _write_run_json(self, record: dict[str, Any]) -> None:
        temporary = self.staging / (RUN_JSON + ".part")
        text = json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, self.path / RUN_JSON)

    # ----- staging ---------------------------------------------------------------------

    @_names_the_folder
    def stage_table(
        self, name: str, frames: pd.DataFrame | Iterable[pd.DataFrame], fmt: str
    ) -> dict[str, Any]:
        """Write one table into the staging area; returns its entry for run.json. `frames`
        is the table, or its parts in order (all of one schema), written one after the
        other: the same bytes as the whole table would make, when each Parquet part but
        the last has ROW_GROUP_ROWS rows."""
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
        file_name = f"{name}.{fmt}"
        path = self.staging / file_name
        parts = iter([frames] if _is_frame(frames) else frames)
        first = next(parts)
        rows = len(first)
        columns = {column: _dtype_record(first[column]) for column in first.columns}
        if fmt == "csv":  # text cells a spreadsheet would run as formulas are quoted
            spreadsheet_frame(first).to_csv(path, index=False, lineterminator="\n")
            for frame in parts:
                spreadsheet_frame(frame).to_csv(
                    path, index=False, lineterminator="\n", header=False, mode="a"
                )
                rows += len(frame)
        else:
            with _ParquetParts(path) as writer:
                writer.write(first)
                del first
                for frame in parts:
                    writer.write(frame)
                    rows += len(frame)
        return {
            "name": file_name,
            "table": name,
            "format": fmt,
            "rows": rows,
            "columns": columns,
            **_fingerprint(path),
        }

    def stage_parts(self, name: str, fmt: str) -> StagedParts:
        """A table to stage part by part, in order (`StagedParts`)."""
        return StagedParts(self, name, fmt)

    @_names_the_folder
    def stage_text(self, file_name: str, text: str) -> dict[str, Any]:
        path = self.staging / file_name
        path.write_text(text, encoding="utf-8")
        return {"name": file_name, **_fingerprint(path)}


# Lock descriptors this process holds. A forked worker closes its copies at once: it must
# not keep a folder locked after its parent let go of it, or died (closing a copy does not
# unlock the parent's).
_HELD: set[int] = set()
_LOCK_TRIES = 100  # a folder removed and made again while a run waited for it: lock anew


def _forget_inherited_locks() -> None:
    for fd in _HELD:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_locks)


def _lock(path: Path, resolved: Path, text: str, wait: bool) -> tuple[bool, int | None]:
    """Make the folder if need be and lock it: flock on the folder's own descriptor, so no
    lock file is left behind and the kernel lets go when the process dies, however it
    dies. Returns whether the folder was made, and the descriptor (None: no locks here)."""
    for _ in range(_LOCK_TRIES):
        created = not path.exists()
        try:
            resolved.mkdir(parents=True, exist_ok=True)  # through a symlink to its target
        except (FileExistsError, NotADirectoryError):
            raise OutputError(f"{text}: a part of this path is a file, not a folder") from None
        except OSError as exc:
            raise OutputError(f"cannot create {text}: {exc.strerror or exc}") from None
        if fcntl is None:
            return created, None
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError as exc:
            raise OutputError(f"cannot write to {text}: {exc.strerror or exc}") from None
        try:
            if not _flock(fd, path, text, wait):
                os.close(fd)
                return created, None
            held = os.fstat(fd)
            with contextlib.suppress(FileNotFoundError):
                here = os.stat(path)
                if (here.st_dev, here.st_ino) == (held.st_dev, held.st_ino):
                    _HELD.add(fd)
                    return created, fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the run this one waited for removed the folder: make it and lock again
    raise OutputError(f"{text}: the folder kept being replaced while waiting for it")


def _flock(fd: int, path: Path, text: str, wait: bool) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if not wait:
            raise OutputError(_busy(path, text)) from None
        fcntl.flock(fd, fcntl.LOCK_EX)  # until the other run commits, fails or dies
    except OSError as exc:
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
            return False  # a filesystem without locks (some network ones): unlocked
        raise OutputError(f"cannot lock {text}: {exc.strerror or exc}") from None
    return True


def _busy(path: Path, text: str) -> str:
    with contextlib.suppress(OSError):
        pids = sorted({m.group(1) for e in path.iterdir() if (m := _STAGING.match(e.name))})
    who = f" (process {', '.join(pids)})" if pids else ""
    return (
        f"{text}: another postenroll-sim run{who} is writing here; "
        "wait for it to finish, or pass --wait"
    )


def _unlock(fd: int | None) -> None:
    if fd is not None and fd in _HELD:
        _HELD.discard(fd)
        with contextlib.suppress(OSError):
            os.close(fd)


def _clean_leftovers(folder: Path, locked: bool) -> None:
    """Staging areas of earlier runs that were killed. With the folder locked each one is
    a leftover, whatever process now has the id in its name (a run writing would hold the
    lock); without locks (no flock here) a live process's staging area is a refusal."""
    for entry in folder.iterdir():
        match = _STAGING.match(entry.name)
        if match is None:
            continue
        pid = int(match.group(1))
        if not locked and pid != os.getpid() and _pid_alive(pid):
            raise OutputError(
                f"{folder}: another postenroll-sim run (process {pid}) is writing here"
            )
        shutil.rmtree(entry, ignore_errors=True)
    # an older version staged beside the folder as `.NAME.*.tmp`
    for entry in folder.parent.glob(f".{folder.name}.*.tmp"):
        if entry.is_dir() and all(child.name in owned_names() for child in entry.iterdir()):
            shutil.rmtree(entry, ignore_errors=True)


def _owned(folder: Path) -> tuple[frozenset[str], str | None]:
    """The files here the tool may remove or replace: run.json and the files it lists,
    when it is a record this tool wrote (complete or not); else none, and why not."""
    try:
        record = _load_record(folder / RUN_JSON)
    except OutputError as exc:
        return frozenset(), str(exc)
    if record is None:
        return frozenset(), None
    listed = {item["name"] for item in record["files"]} | set(record.get("removing", ()))
    return frozenset({RUN_JSON} | listed), None


def _file_ids(inputs: Iterable[str | os.PathLike]) -> tuple[tuple[str, int, int], ...]:
    """Each input file as (name, device, inode): the file itself, whatever path names it."""
    ids = []
    for item in inputs:
        with contextlib.suppress(OSError, ValueError):
            info = os.stat(item)
            ids.append((os.fspath(item), info.st_dev, info.st_ino))
    return tuple(ids)


def _refuse_inputs(
    folder: Path, names: Iterable[str], inputs: tuple[tuple[str, int, int], ...]
) -> None:
    """A command never removes or replaces one of its own inputs, `force` or not."""
    for name in names:
        try:
            here = os.stat(folder / name)
        except (OSError, ValueError):
            continue
        for item, device, inode in inputs:
            if (device, inode) == (here.st_dev, here.st_ino):
                raise OutputError(
                    f"{item} is an input of this command and writing into {folder} would "
                    f"replace it ({name}); choose another --out"
                )


def _fingerprint(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _dtype_record(column) -> dict[str, Any]:
    import pandas as pd

    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        record: dict[str, Any] = {"dtype": "category"}
        if len(dtype.categories) <= _KEEP_CATEGORIES:
            record["categories"] = [str(c) for c in dtype.categories]
        return record
    return {"dtype": str(dtype)}


# ----- reading ---------------------------------------------------------------------------

# A run.json is a few kilobytes a table and a sweep variant (its scenario); past this it
# was not written by the tool, and is not read into memory to find that out.
MAX_RUN_JSON_BYTES = 256 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# the dtypes `_dtype_record` writes (and `_read_csv` gives back); nothing else is asked of pandas
_DTYPE = re.compile(
    r"^(category|str|string|object|bool|boolean|u?int(8|16|32|64)|U?Int(8|16|32|64)"
    r"|[fF]loat(32|64)|datetime64\[(s|ms|us|ns)\])$"
)
# What each kind of column (columns.column_kind) is written as; a recorded dtype of another
# kind was not written by the tool, and a CSV column with no record reads as its kind's.
_KIND_DTYPE = {
    "number": re.compile(r"^U?[iI]nt(8|16|32|64)$"),
    "day": re.compile(r"^[fF]loat(32|64)$"),
    "timestamp": re.compile(r"^datetime64\[(s|ms|us|ns)\]$"),
}
_KIND_DEFAULT = {"number": "Int64", "day": "float64", "timestamp": "datetime64[s]"}


def _load_record(path: Path) -> dict[str, Any] | None:
    """The run.json at `path`, checked by `check_record` (OutputError saying why it cannot
    be trusted); None when there is none."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):  # a link could point anywhere, a FIFO never ends
        raise OutputError(f"{path} is not a file postenroll-sim wrote (a link or a special file)")
    if info.st_size > MAX_RUN_JSON_BYTES:
        raise OutputError(
            f"{path} is {info.st_size:,} bytes: not a run.json postenroll-sim wrote "
            f"(at most {MAX_RUN_JSON_BYTES:,})"
        )
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise OutputError(f"{path} is damaged ({exc}); run the scenario again") from None
    problem = check_record(meta)
    if problem is not None:
        raise OutputError(f"{path}: {problem}")
    return meta


def _int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def check_record(meta: Any) -> str | None:
    """Why `meta`, a run.json's content, is not a record this tool wrote (None: it is).
    Every value a reader or the folder's claim uses is checked here before it is used:
    file names are the tool's own plain names (so nothing outside the folder is read,
    removed or replaced), counts are bounded, types are the ones written."""
    if not isinstance(meta, dict) or "complete" not in meta or "files" not in meta:
        return (
            "not written by this version of postenroll-sim (no file list); run the scenario again"
        )
    problem = _record_problem(meta)
    return None if problem is None else f"{problem}; the folder was changed since the run"


def _record_problem(meta: dict[str, Any]) -> str | None:
    names = owned_names() - {RUN_JSON}
    if not isinstance(meta["complete"], bool):
        return f"complete: {meta['complete']!r} is not true or false"
    files = meta["files"]
    if not isinstance(files, list) or len(files) > len(names) + MAX_REPORT_TABLES:
        return "files: not a list of the files the tool writes"
    seen: set[str] = set()
    for index, item in enumerate(files):
        where = f"files.{index}"
        if not isinstance(item, dict):
            return f"{where}: not a file entry"
        name = item.get("name")
        if not isinstance(name, str) or (name not in names and not is_report_table(name)):
            return f"{where}.name: {name!r} is not the name of a file postenroll-sim writes"
        if name in seen:
            return f"{where}.name: {name!r} is listed twice"
        seen.add(name)
        if not _int(item.get("bytes"), 0, 2**63 - 1):
            return f"{where}.bytes: {item.get('bytes')!r} is not a size"
        if not isinstance(item.get("sha256"), str) or not _SHA256.match(item["sha256"]):
            return f"{where}.sha256: not a SHA-256"
        if "table" not in item:
            if name != REPORT_NAME and not is_report_table(name):
                return f"{where}: {name!r} has no table"
            continue
        table, fmt = item.get("table"), item.get("format")
        if not isinstance(table, str) or not isinstance(fmt, str) or name != f"{table}.{fmt}":
            return f"{where}: table {table!r} in format {fmt!r} is not the file {name!r}"
        if not _int(item.get("rows"), 0, 2**63 - 1):
            return f"{where}.rows: {item.get('rows')!r} is not a number of rows"
        columns = item.get("columns", {})
        if not isinstance(columns, dict):
            return f"{where}.columns: not a mapping of columns"
        for column, record in columns.items():
            if not isinstance(record, dict) or not isinstance(record.get("dtype"), str):
                return f"{where}.columns.{column}: no dtype"
            if not _DTYPE.match(record["dtype"]):
                return f"{where}.columns.{column}.dtype: {record['dtype']!r} is not one written"
            kind = column_kind(column) if isinstance(column, str) else "text"
            if kind in _KIND_DTYPE and not _KIND_DTYPE[kind].match(record["dtype"]):
                return (
                    f"{where}.columns.{column}.dtype: {record['dtype']!r} is not a {kind} "
                    "column's dtype"
                )
            categories = record.get("categories")
            if categories is not None and (
                not _texts(categories) or len(categories) > _KEEP_CATEGORIES
            ):
                return f"{where}.columns.{column}.categories: not a list of ids"
    if len({item["table"] for item in files if "table" in item}) < sum("table" in i for i in files):
        return "files: a table is listed twice"
    removing = meta.get("removing", [])
    if not _texts(removing) or not all(n in names or is_report_table(n) for n in removing):
        return "removing: not a list of the files the tool writes"
    if "replications" in meta and not _int(meta["replications"], 1, MAX_REPLICATIONS):
        return (
            f"replications: {meta['replications']!r} is not a number of replications "
            f"(1 to {MAX_REPLICATIONS:,})"
        )
    seed = meta.get("seed")
    if seed is not None and not _int(seed, 0, 2**128 - 1):
        return f"seed: {seed!r} is not a seed"
    variants = meta.get("variants", [])
    if not isinstance(variants, list):
        return "variants: not a list of variants"
    labels = set()
    for index, variant in enumerate(variants):
        where = f"variants.{index}"
        if not isinstance(variant, dict) or not isinstance(variant.get("label"), str):
            return f"{where}: not a variant with a label"
        if variant["label"] in labels:
            return f"{where}.label: {variant['label']!r} is listed twice"
        labels.add(variant["label"])
        if variant.get("seed") is not None and not _int(variant["seed"], 0, 2**128 - 1):
            return f"{where}.seed: {variant['seed']!r} is not a seed"
        if not isinstance(variant.get("scenario", {}), dict):
            return f"{where}.scenario: not a scenario"
        if not isinstance(variant.get("source", ""), str):
            return f"{where}.source: not a file name"
    for key, kind in (("scenario", dict), ("source", str), ("format", str)):
        if key in meta and not isinstance(meta[key], kind):
            return f"{key}: {type(meta[key]).__name__} where a {kind.__name__} was written"
    for key in ("warnings", "tables"):
        if key in meta and not _texts(meta[key]):
            return f"{key}: not a list of texts"
    if meta.get("command") not in (None, "compare", "audit"):
        return f"command: {meta['command']!r} is not a command that writes a folder"
    return None


def read_meta(folder: str | os.PathLike) -> dict[str, Any]:
    """The run.json of a complete output folder, checked (`check_record`; OutputError with
    the reason otherwise)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise OutputError(f"{folder}: no such folder")
    meta = _load_record(folder / RUN_JSON)
    if meta is None:
        raise OutputError(
            f"{folder}: no run.json here; is this the --out folder of `postenroll-sim run`?"
        )
    if meta["complete"] is not True:
        raise OutputError(
            f"{folder} is incomplete: the run writing it did not finish; run the scenario again"
        )
    return meta


def verify(folder: str | os.PathLike, meta: dict[str, Any]) -> None:
    """Every table run.json lists is there, a file of the folder (not a link), unchanged
    since the run (the report is made from the tables, so `postenroll-sim report` may
    make it again)."""
    folder = Path(folder)
    problem = check_record(meta)
    if problem is not None:
        raise OutputError(f"{folder / RUN_JSON}: {problem}")
    for item in meta["files"]:
        if "table" not in item:
            continue
        path = folder / item["name"]
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            info = None
        if info is None or not stat.S_ISREG(info.st_mode):
            what = "missing" if info is None else "not a file the run wrote (a link or a folder)"
            raise OutputError(f"{path} is {what}; the folder is not the run its run.json records")
        if _fingerprint(path) != {"bytes": item["bytes"], "sha256": item["sha256"]}:
            raise OutputError(
                f"{path} changed since the run (it does not match run.json); run the scenario again"
            )


def read_tables(folder: str | os.PathLike, meta: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The tables run.json lists, verified, with the dtypes they were written with."""

    folder = Path(folder)
    verify(folder, meta)
    tables = {}
    for item in meta["files"]:
        if "table" not in item:
            continue
        path = folder / item["name"]
        tables[item["table"]] = read_table_file(path, item["format"], item.get("columns", {}))
    return tables


def read_table_file(path: Path, fmt: str, columns: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One table file, with the dtypes run.json records for its columns (`columns`)."""
    import pandas as pd

    try:
        if fmt == "parquet":
            return pd.read_parquet(path)
        return _read_csv(path, columns)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise OutputError(f"cannot read {path}: {exc}") from None
    except Exception as exc:  # pyarrow's own errors: a damaged file, said in one line
        raise OutputError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None


def _csv_as_text(path: Path) -> pd.DataFrame:
    import csv

    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    with open(path, newline="", encoding="utf-8") as file:
        header = next(csv.reader(file), [])
    if len(set(header)) < len(header):
        raise ValueError("a column name is written twice")
    table = arrow_csv.read_csv(
        path,
        convert_options=arrow_csv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            null_values=[""],
            strings_can_be_null=True,
        ),
    )
    return table.to_pandas()


def _read_csv(path: Path, columns: dict[str, dict[str, Any]]) -> pd.DataFrame:
    # Everything as text first (pyarrow's CSV reader, every column declared a string):
    # ids such as 007, NA, null or 1e3 stay what they were. Nulls were written as empty
    # fields, and ids are never empty.
    frame = _csv_as_text(path)
    frame = spreadsheet_frame(frame, decode=True)  # '=x was written for =x (stage_table)
    return _typed(frame, columns)


def _typed(frame: pd.DataFrame, columns: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """A CSV's text (decoded) with the dtypes run.json records for its columns."""
    import pandas as pd

    out = {}
    for name in frame.columns:
        record = columns.get(name) or {"dtype": _KIND_DEFAULT.get(column_kind(name), "str")}
        kind = record.get("dtype", "str")
        column = frame[name]
        if kind == "category":
            categories = record.get("categories")
            if categories is None:
                categories = pd.unique(column.dropna())
            categories = pd.Index(list(categories), dtype="str")
            if not column.dropna().isin(categories).all():
                raise ValueError(f"column {name} holds values its recorded categories lack")
            out[name] = pd.Categorical(column, categories=categories)
        elif kind.startswith("datetime64"):
            out[name] = pd.to_datetime(column).astype(kind)
        elif kind in ("str", "object", "string"):
            out[name] = column
        else:
            out[name] = column.astype(kind)
    return pd.DataFrame(out)


# ----- a run read a few replications at a time --------------------------------------------
#
# A report needs every table of one replication at once, never of all of them
# (report/tables.py): `read_chunks` reads the tables in lockstep, the rows of a few
# replications (of one variant) at a time. Parquet: the row groups holding them (each
# replication is its own row groups when written as it ended), only the columns asked
# for; CSV: streamed in the order the run wrote its rows. Both give each replication's
# rows as reading the whole file and selecting them would.

CHUNK_ROWS = 500_000  # rows of all tables together a chunk grows to (at least one key)


class ChunkOrder(Exception):
    """The tables' rows are not in the order of the keys (variant, replication) asked for:
    a folder written some other way, read whole instead."""


class _Keys:
    """The keys (variant label or None, replication) of a chunked read, by position."""

    def __init__(self, keys: list[tuple[str | None, int]]) -> None:
        import numpy as np
        import pandas as pd

        self.labelled = bool(keys) and keys[0][0] is not None
        if self.labelled:
            self.index = pd.MultiIndex.from_tuples(keys)
        else:
            top = max((r for _, r in keys), default=-1) + 1
            self.lookup = np.full(top, -1, dtype=np.int64)
            for i, (_, r) in enumerate(keys):
                if r >= 0:
                    self.lookup[r] = i

    def positions(self, frame) -> Any:
        """Each row's position in the keys (by its variant and replication columns)."""
        import numpy as np
        import pandas as pd

        if self.labelled != ("variant" in frame.columns):
            raise ChunkOrder("a variant column where none was expected, or none")
        replication = pd.to_numeric(frame["replication"]).to_numpy(dtype=np.int64)
        if self.labelled:
            found = pd.MultiIndex.from_arrays([frame["variant"].astype("str"), replication])
            positions = self.index.get_indexer(found)
        else:
            inside = (replication >= 0) & (replication < len(self.lookup))
            if not inside.all():
                raise ChunkOrder("a replication not asked for")
            positions = self.lookup[replication]
        if (positions < 0).any():
            raise ChunkOrder("a key not asked for")
        return positions


class _ParquetTable:
    """One Parquet table, its rows of each key found in its row groups (their statistics,
    or their key columns read when a group holds several keys)."""

    def __init__(self, path: Path, keys: _Keys, wanted) -> None:
        import numpy as np
        import pyarrow.parquet as pq

        self.file = pq.ParquetFile(path)
        names = self.file.schema_arrow.names
        self.columns = [c for c in names if wanted(c)]
        self.segments: dict[int, list[tuple[int, int, int]]] = {}
        key_columns = [c for c in ("variant", "replication") if c in names]
        last = -1
        for group in range(self.file.num_row_groups):
            meta = self.file.metadata.row_group(group)
            if not meta.num_rows:
                continue
            single = self._single_key(meta, names, key_columns)
            if single is not None:
                positions = np.full(meta.num_rows, keys.positions(single)[0])
            else:
                read = self.file.read_row_group(group, columns=key_columns).to_pandas()
                positions = keys.positions(read)
            if positions[0] < last or (np.diff(positions) < 0).any():
                raise ChunkOrder("rows out of order")
            last = int(positions[-1])
            starts = np.flatnonzero(np.r_[True, positions[1:] != positions[:-1]])
            for start, stop in zip(starts, [*starts[1:], len(positions)], strict=True):
                self.segments.setdefault(int(positions[start]), []).append(
                    (group, int(start), int(stop))
                )
        self.cached: tuple[int, Any] | None = None

    @staticmethod
    def _single_key(meta, names, key_columns):
        """The one key of a row group, from its statistics (None: not known so)."""
        import pandas as pd

        values = {}
        for name in key_columns:
            stats = meta.column(names.index(name)).statistics
            if stats is None or not stats.has_min_max or not stats.has_null_count:
                return None
            if stats.null_count:
                return None
            if stats.min != stats.max:
                return None
            values[name] = [stats.min]
        return pd.DataFrame(values)

    def rows(self, position: int) -> int:
        return sum(stop - start for _, start, stop in self.segments.get(position, []))

    def take(self, position: int) -> list:
        pieces = []
        for group, start, stop in self.segments.get(position, []):
            if self.cached is None or self.cached[0] != group:
                self.cached = (group, self.file.read_row_group(group, columns=self.columns))
            pieces.append(self.cached[1].slice(start, stop - start))
        return pieces

    def frame(self, pieces: list) -> pd.DataFrame:
        import pyarrow as pa

        if not pieces:  # the rows of no key: an empty frame with the file's dictionaries
            sizes = [
                self.file.metadata.row_group(g).num_rows for g in range(self.file.num_row_groups)
            ]
            if not sizes:
                return self.file.schema_arrow.empty_table().select(self.columns).to_pandas()
            group = sizes.index(min(sizes))
            pieces = [self.file.read_row_group(group, columns=self.columns).slice(0, 0)]
        return pa.concat_tables(pieces).to_pandas()

    def forget(self) -> None:
        self.cached = None

    def done(self) -> None:
        self.cached = None


class _CsvTable:
    """One CSV table streamed in order, its text decoded; typed a chunk at a time."""

    BLOCK = 4 << 20

    def __init__(self, path: Path, keys: _Keys, wanted, record: dict[str, dict[str, Any]]) -> None:
        import csv

        import pyarrow as pa
        from pyarrow import csv as arrow_csv

        with open(path, newline="", encoding="utf-8") as file:
            header = next(csv.reader(file), [])
        if len(set(header)) < len(header):
            raise ValueError("a column name is written twice")
        self.columns = [c for c in header if wanted(c) or c in ("variant", "replication")]
        self.keys, self.record = keys, record
        self.reader = arrow_csv.open_csv(
            path,
            read_options=arrow_csv.ReadOptions(block_size=self.BLOCK),
            convert_options=arrow_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                include_columns=self.columns,
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
        self.wanted = [c for c in self.columns if wanted(c)]
        self.batch = None
        self.positions = None
        self.at = 0
        self.last = -1

    def _next(self) -> bool:
        import numpy as np

        try:
            batch = self.reader.read_next_batch()
        except StopIteration:
            self.batch = None
            return False
        frame = spreadsheet_frame(batch.to_pandas(), decode=True)
        positions = self.keys.positions(frame) if len(frame) else np.empty(0, dtype=int)
        if len(positions) and (positions[0] < self.last or (np.diff(positions) < 0).any()):
            raise ChunkOrder("rows out of order")
        if len(positions):
            self.last = int(positions[-1])
        self.batch, self.positions, self.at = frame, positions, 0
        return True

    def take(self, position: int) -> list:
        import numpy as np

        pieces = []
        while True:
            if self.batch is None or self.at >= len(self.batch):
                if not self._next():
                    return pieces
                continue
            found = int(self.positions[self.at])
            if found != position:
                if found < position:
                    raise ChunkOrder("rows out of order")
                return pieces
            stop = self.at + int(np.searchsorted(self.positions[self.at :], position, "right"))
            pieces.append(self.batch.iloc[self.at : stop])
            self.at = stop

    def frame(self, pieces: list) -> pd.DataFrame:
        import pandas as pd

        if pieces:
            text = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
            text = text.reset_index(drop=True)
        else:
            text = pd.DataFrame({c: pd.Series([], dtype="str") for c in self.columns})
        return _typed(text[self.wanted], self.record)

    def forget(self) -> None:
        pass  # the stream's batch is where the next chunk starts

    def done(self) -> None:
        if (self.batch is not None and self.at < len(self.batch)) or self._next():
            raise ChunkOrder("rows of no key asked for")


def read_chunks(
    folder: str | os.PathLike,
    items: list[dict[str, Any]],
    keys: list[tuple[str | None, int]],
    wanted=lambda column: True,
    rows: int = CHUNK_ROWS,
    only: set[int] | None = None,
):
    """The tables run.json lists in `items`, read a few keys at a time: yields (the
    positions in `keys` of a chunk's keys, {table: frame of their rows}). `keys` are
    (variant label or None, replication) in the order the run wrote its rows; a chunk
    holds consecutive keys of one label, one at least, more while it has fewer than
    `rows` rows; `wanted(column)` chooses the columns read; `only`: the positions of the
    keys to yield (the rest are skipped, or read past in a CSV). ChunkOrder (before or
    while yielding) when the files are not written in that order. The caller verifies
    the folder first (`verify`)."""
    folder = Path(folder)
    positions = _Keys(keys)
    tables = {}
    for item in items:
        path = folder / item["name"]
        with _reading(path):
            if item["format"] == "parquet":
                tables[item["table"]] = _ParquetTable(path, positions, wanted)
            else:
                tables[item["table"]] = _CsvTable(path, positions, wanted, item.get("columns", {}))
    paths = {item["table"]: folder / item["name"] for item in items}
    position = 0
    while position < len(keys):
        if only is not None and position not in only:
            for name, table in tables.items():
                if isinstance(table, _CsvTable):  # a stream: its rows are read past
                    with _reading(paths[name]):
                        table.take(position)
            position += 1
            continue
        label = keys[position][0]
        chunk, pieces, size = [], {name: [] for name in tables}, 0
        while (
            position < len(keys)
            and keys[position][0] == label
            and (only is None or position in only)
            and (not chunk or size < rows)
        ):
            for name, table in tables.items():
                with _reading(paths[name]):
                    found = table.take(position)
                pieces[name] += found
                size += sum(len(piece) for piece in found)
            chunk.append(position)
            position += 1
        # no name here holds the frames while the caller uses them: the next chunk is read
        # after they are gone
        yield chunk, _frames(tables, pieces, paths)
    for name, table in tables.items():
        with _reading(paths[name]):
            table.done()


def _frames(tables: dict, pieces: dict, paths: dict) -> dict:
    """A chunk's frames from its pieces (emptied as they are used)."""
    frames = {}
    for name, table in tables.items():
        with _reading(paths[name]):
            frames[name] = table.frame(pieces.pop(name))
        table.forget()  # the Arrow copy goes before the chunk is used, not after
    return frames


@contextlib.contextmanager
def _reading(path: Path):
    """Errors reading a table file as OutputError naming it (ChunkOrder goes through)."""
    try:
        yield
    except ChunkOrder:
        raise
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise OutputError(f"cannot read {path}: {exc}") from None
    except Exception as exc:  # pyarrow's own errors: a damaged file, said in one line
        raise OutputError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None
