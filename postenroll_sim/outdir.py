"""An output folder holds one run: complete if and only if its `run.json` says so.

Writing (`OutputFolder`): the folder is claimed before the simulation starts (so a bad
`--out` fails in a second, not after an hour), files are staged in a hidden folder
*inside* it (same filesystem, so the final moves are renames), and the commit goes:

1. `run.json` is replaced by one saying `"complete": false` (the folder is now visibly
   incomplete: a kill from here on leaves no doubt);
2. every file the tool owns there is removed (tables in both formats, `report.html`);
3. the staged files are moved in;
4. `run.json` is replaced by the full record, `"complete": true`, written last.

Reading (`read_run`): only a complete folder is read, only the files its `run.json`
lists, each checked against the size and SHA-256 recorded; CSV columns get back the
dtypes they were written with, ids stay text (`007`, `NA`, `1e3` are ids, not numbers).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .columns import AUDIT_TABLES, FORMATS, TABLES
from .errors import OutputError  # noqa: F401 - re-exported

if TYPE_CHECKING:  # pandas is imported where a table is read or written: a CLI that only
    import pandas as pd  # checks a folder starts faster

RUN_JSON = "run.json"
REPORT_NAME = "report.html"
STAGING_PREFIX = ".postenroll-staging-"
_STAGING = re.compile(rf"^{re.escape(STAGING_PREFIX)}(\d+)-[0-9a-f]+$")
# Categories are kept in run.json up to this many (course and rule ids, vocabularies), so
# a CSV read back has the same categories as the Parquet would; learner ids are left out.
_KEEP_CATEGORIES = 2000


def owned_names() -> frozenset[str]:
    """Every file name the tool writes into an output folder."""
    tables = {f"{name}.{fmt}" for name in TABLES + AUDIT_TABLES for fmt in FORMATS}
    return frozenset(tables | {RUN_JSON, REPORT_NAME})


def _pid_alive(pid: int) -> bool:
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


class _ParquetParts:
    """A Parquet file written part by part (pyarrow's `write_table` is a ParquetWriter
    writing one part): parts of ROW_GROUP_ROWS rows make the file one whole table makes.
    The first part is converted by pyarrow's own `from_pandas`, which gives the schema;
    later parts reuse its Arrow dictionaries for the categorical columns, so a million
    learner ids are converted once, not once a part."""

    def __init__(self, path: Path):
        self.path = path
        self.writer = None
        self.dictionaries: dict[str, Any] = {}

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            self.writer = pq.ParquetWriter(self.path, table.schema)
            for name, column in zip(table.column_names, table.columns, strict=True):
                if pa.types.is_dictionary(column.type) and column.num_chunks == 1:
                    self.dictionaries[name] = column.chunk(0).dictionary
        else:
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
            table = pa.Table.from_arrays(arrays, schema=self.writer.schema)
        self.writer.write_table(table, row_group_size=ROW_GROUP_ROWS)

    def __enter__(self) -> _ParquetParts:
        return self

    def __exit__(self, *exc) -> None:
        if self.writer is not None:
            self.writer.close()


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
    claimed_at: str = field(default_factory=_now)

    @classmethod
    def claim(cls, folder: str | os.PathLike, force: bool = False) -> OutputFolder:
        """Check that `folder` may hold this run's output and reserve a staging area in it.
        Refused (OutputError): an empty name, `/`, the current directory (unless `force`),
        a file, a folder holding files the tool did not write (unless `force`), a folder
        another live run is writing to, or one that cannot be written."""
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
        created = not path.exists()
        try:
            resolved.mkdir(parents=True, exist_ok=True)  # through a symlink to its target
        except FileExistsError:
            raise OutputError(f"{text}: a part of this path is a file, not a folder") from None
        except NotADirectoryError:
            raise OutputError(f"{text}: a part of this path is a file, not a folder") from None
        except OSError as exc:
            raise OutputError(f"cannot create {text}: {exc.strerror or exc}") from None
        try:
            _clean_leftovers(path)
            foreign = sorted(
                entry.name
                for entry in path.iterdir()
                if entry.name not in owned_names() and not _STAGING.match(entry.name)
            )
            if foreign and not force:
                shown = ", ".join(foreign[:3]) + (
                    f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
                )
                raise OutputError(
                    f"{text} holds files postenroll-sim did not write ({shown}); "
                    "choose an empty or new folder, or pass --force"
                )
            staging = path / f"{STAGING_PREFIX}{os.getpid()}-{os.urandom(4).hex()}"
            staging.mkdir()
        except OutputError:
            if created:
                shutil.rmtree(path, ignore_errors=True)
            raise
        except OSError as exc:
            if created:
                shutil.rmtree(path, ignore_errors=True)
            raise OutputError(f"cannot write to {text}: {exc.strerror or exc}") from None
        return cls(path, staging, created)

    def discard(self) -> None:
        """The run failed before committing: drop the staging area (and a folder made for it)."""
        shutil.rmtree(self.staging, ignore_errors=True)
        if self.created:
            with contextlib.suppress(OSError):  # only if nothing else appeared in it
                self.path.rmdir()

    def commit(
        self,
        staged: list[dict[str, Any]],
        meta: dict[str, Any],
        kept: list[dict[str, Any]] | tuple = (),
    ) -> list[Path]:
        """Move the staged files in and write run.json last. `staged` lists what
        `stage_table`/`stage_text` returned; `meta` is the rest of the run's record;
        `kept` lists files of this same run already in place (a report added later)."""
        try:
            record = {**meta, "files": [*kept, *staged], "complete": False}
            self._write_run_json(record)  # from here the folder is visibly incomplete
            keep = {RUN_JSON} | {item["name"] for item in kept}
            for entry in self.path.iterdir():
                if entry.name in owned_names() and entry.name not in keep:
                    entry.unlink()
            final = []
            for item in staged:
                target = self.path / item["name"]
                os.replace(self.staging / item["name"], target)
                final.append(target)
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
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)

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
        if fmt == "csv":
            first.to_csv(path, index=False, lineterminator="\n")
            for frame in parts:
                frame.to_csv(path, index=False, lineterminator="\n", header=False, mode="a")
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

    @_names_the_folder
    def stage_text(self, file_name: str, text: str) -> dict[str, Any]:
        path = self.staging / file_name
        path.write_text(text, encoding="utf-8")
        return {"name": file_name, **_fingerprint(path)}


def _clean_leftovers(folder: Path) -> None:
    """Staging areas of earlier runs that were killed; a live run's is a refusal."""
    for entry in folder.iterdir():
        match = _STAGING.match(entry.name)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid != os.getpid() and _pid_alive(pid):
            raise OutputError(
                f"{folder}: another postenroll-sim run (process {pid}) is writing here"
            )
        shutil.rmtree(entry, ignore_errors=True)
    # an older version staged beside the folder as `.NAME.*.tmp`
    for entry in folder.parent.glob(f".{folder.name}.*.tmp"):
        if entry.is_dir() and all(child.name in owned_names() for child in entry.iterdir()):
            shutil.rmtree(entry, ignore_errors=True)


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


def read_meta(folder: str | os.PathLike) -> dict[str, Any]:
    """The run.json of a complete output folder (OutputError with the reason otherwise)."""
    folder = Path(folder)
    path = folder / RUN_JSON
    if not folder.is_dir():
        raise OutputError(f"{folder}: no such folder")
    if not path.is_file():
        raise OutputError(
            f"{folder}: no run.json here; is this the --out folder of `postenroll-sim run`?"
        )
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise OutputError(f"{path} is damaged ({exc}); run the scenario again") from None
    if not isinstance(meta, dict) or "complete" not in meta or "files" not in meta:
        raise OutputError(
            f"{path} was not written by this version of postenroll-sim (no file list); "
            "run the scenario again"
        )
    if meta.get("complete") is not True:
        raise OutputError(
            f"{folder} is incomplete: the run writing it did not finish; run the scenario again"
        )
    return meta


def verify(folder: str | os.PathLike, meta: dict[str, Any]) -> None:
    """Every table run.json lists is there, unchanged since the run (the report is made
    from the tables, so `postenroll-sim report` may make it again)."""
    folder = Path(folder)
    for item in meta["files"]:
        if "table" not in item:
            continue
        path = folder / str(item.get("name"))
        if not path.is_file():
            raise OutputError(f"{path} is missing; the folder is not the run its run.json records")
        if _fingerprint(path) != {"bytes": item.get("bytes"), "sha256": item.get("sha256")}:
            raise OutputError(
                f"{path} changed since the run (it does not match run.json); run the scenario again"
            )


def read_tables(folder: str | os.PathLike, meta: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The tables run.json lists, verified, with the dtypes they were written with."""
    import pandas as pd

    folder = Path(folder)
    verify(folder, meta)
    tables = {}
    for item in meta["files"]:
        if "table" not in item:
            continue
        path = folder / item["name"]
        try:
            if item["format"] == "parquet":
                tables[item["table"]] = pd.read_parquet(path)
            else:
                tables[item["table"]] = _read_csv(path, item.get("columns", {}))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise OutputError(f"cannot read {path}: {exc}") from None
        except Exception as exc:  # pyarrow's own errors: a damaged file, said in one line
            raise OutputError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None
    return tables


def _read_csv(path: Path, columns: dict[str, dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    # Everything as text first: ids such as 007, NA, null or 1e3 must stay what they were.
    # Nulls were written as empty fields, and ids are never empty.
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    out = {}
    for name in frame.columns:
        record = columns.get(name, {"dtype": "str"})
        kind = record.get("dtype", "str")
        column = frame[name]
        if kind == "category":
            categories = record.get("categories")
            if categories is None:
                categories = pd.unique(column.dropna())
            out[name] = pd.Categorical(column, categories=pd.Index(list(categories), dtype="str"))
        elif kind.startswith("datetime64"):
            out[name] = pd.to_datetime(column).astype(kind)
        elif kind in ("str", "object", "string"):
            out[name] = column
        else:
            out[name] = column.astype(kind)
    return pd.DataFrame(out)
