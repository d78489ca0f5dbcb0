"""A self-contained HTML report of a run: key numbers, tables and every figure, embedded.

Every number is worked out per replication, then shown as the mean with a 5-95% band.
A run of several sweep variants gets a comparison report: the variants side by side,
and each key number's difference against the first variant with a 95% interval
(paired replication by replication: variants share their random streams). Variants are
never added together.

The page is `report/templates/report.html`; its sections are the classes of
`report/sections.py`, in page order. `write_report(folder)` reads the tables and
`run.json` that `Result.write` left in the folder, so a report can be made again later
from the files alone. It reads them one replication at a time (report/tables.py), so
its memory does not grow with the replications of the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from ..analysis.core import shared_results
from ..analysis.rules import check_path, learning_path, recertifications
from ..columns import TABLES, spreadsheet_frame
from ..run.outdir import (
    MAX_REPORT_TABLE_NAME,
    MAX_REPORT_TABLES,
    REPORT_NAME,
    OutputError,
    OutputFolder,
    is_report_table,
    read_meta,
    read_tables,
    verify,
)
from ..run.runner import Result
from ..scenario import Scenario
from .pages import render
from .sections import Comparison, Run, blocks, tables_text
from .tables import ChunkOrder, InMemory, RunTables, Stored

__all__ = [
    "ReportError",
    "build_report",
    "check_learner",
    "learning_path",
    "open_run",
    "read_run",
    "recertifications",
    "report_files",
    "write_report",
]

Progress = Callable[[str], None] | None
MAX_TIMED_STEPS = 20  # steps of the default learning path the report times and draws


class ReportError(ValueError):
    """A report that cannot be made as asked (an unknown learner or path course)."""


# ----- choices: path and learner ---------------------------------------------------


def _path_for(scenario: Scenario, path: list[str] | None) -> tuple[list[str], str]:
    if path:
        try:
            return check_path(scenario, list(path)), "given with --path"
        except ValueError as exc:
            raise ReportError(str(exc)) from None
    found = learning_path(scenario)
    first = (
        f" (its first {MAX_TIMED_STEPS} of {len(found)} steps)"
        if len(found) > MAX_TIMED_STEPS
        else ""
    )
    return found[:MAX_TIMED_STEPS], (
        "the longest chain of “completed” rules that starts where learners enter "
        f"(enrolled by an administrator, on hire or from the catalog), never at a "
        f"remediation course{first}; choose another with --path"
    )


def _learner_for(
    tables: RunTables, label: str | None, learner: str | None
) -> tuple[str, int] | None:
    """The learner whose timeline a variant's page draws and their replication: `learner`
    in the first replication they have an enrollment in, or the one with the most
    enrollments in the first replication that has any (the chunks are in replication
    order: the scan stops at the first that answers)."""
    columns = ["replication", "learner_id", "variant"]
    seen = False
    if "enrollments" in tables.names:
        for chunk in tables.chunks(["enrollments"], columns, [label]):
            e = chunk.result.enrollments
            if not len(e):
                continue
            seen = True
            ids = e["learner_id"].astype("str")
            if learner is None:
                first = int(e["replication"].min())
                counts = ids[e["replication"] == first].value_counts()
                return str(counts.index[0]), first
            mine = e[ids == str(learner)]
            if len(mine):
                return str(learner), int(mine["replication"].min())
    if learner is None:
        return None
    if not seen:
        raise ReportError(f"learner {learner!r}: the run has no enrollments table")
    raise ReportError(f"learner {learner!r} has no enrollment in this run")


def check_learner(result: Result | RunTables, learner: str | None) -> None:
    """ReportError when `learner` has no enrollment in the run (in any variant)."""
    if learner is not None:
        tables = _tables_of(result)
        try:
            for label, _ in tables.variants:
                _learner_for(tables, label, learner)
        except ChunkOrder:
            check_learner(tables.eager(), learner)


def _tables_of(result: Result | RunTables) -> RunTables:
    tables = result if isinstance(result, RunTables) else InMemory(result)
    if tables.variants is None:  # variants only its rows name: read whole
        tables = tables.eager()
    return tables


# ----- the page: one run (any number of replications), or its variants compared --------


def build_report(
    result: Result | RunTables,
    source: str = "",
    path: list[str] | None = None,
    learner: str | None = None,
    progress: Progress = None,
) -> str:
    """The report page of a run. A run of several sweep variants gets the comparison
    report. `path` chooses the learning path to time (default: `learning_path`),
    `learner` the learner whose timeline is drawn (default: the one with the most
    enrollments in the first replication); `progress(what)` hears each section."""
    return report_files(result, source, path, learner, progress)[REPORT_NAME]


def report_files(
    result: Result | RunTables,
    source: str = "",
    path: list[str] | None = None,
    learner: str | None = None,
    progress: Progress = None,
) -> dict[str, str]:
    """Every file of the report by name: `report.html` (as `build_report`) and the table
    behind each figure that has one, as CSV (`report-<name>.csv`, which the page names
    under its figure). `Result.write` and `write_report` put them next to the tables.
    `result` is a run's Result, or its tables on disk (`open_run`), read a chunk at a
    time."""
    tables = _tables_of(result)
    try:
        return _report_files(tables, source, path, learner, progress)
    except ChunkOrder:  # files not in the order a run writes them: read them whole
        return _report_files(tables.eager(), source, path, learner, progress)


def _report_files(tables: RunTables, source, path, learner, progress) -> dict[str, str]:
    with shared_results():  # the sections ask for some measures more than once
        variants = tables.variants
        if len(variants) > 1:
            return _comparison(tables, source, path, learner, progress)
        return _single(tables, source, path, learner, progress)


def _single(
    tables: RunTables,
    source: str,
    path: list[str] | None,
    learner: str | None,
    progress: Progress,
) -> str:
    label, result = tables.variants[0]
    scenario = result.scenario
    path, path_reason = _path_for(scenario, path)
    run = Run(
        result,
        tables.replications,
        path,
        path_reason,
        learner,
        _learner_for(tables, label, learner),
        label,
        progress,
        tables,
    )
    shown = blocks("single", run)
    return _files(scenario.name, scenario.description, source, shown, left_out(tables.result))


def _comparison(
    tables: RunTables,
    source: str,
    path: list[str] | None,
    learner: str | None,
    progress: Progress,
) -> str:
    result, variants = tables.result, tables.variants
    first = variants[0][1].scenario
    path, path_reason = _path_for(first, path)
    chosen = {}
    if learner is not None:
        chosen = {label: _learner_for(tables, label, learner) for label, _ in variants}
    context = Comparison(
        result,
        variants,
        tables.replications,
        path,
        path_reason,
        chosen,
        progress,
        tables,
    )
    title = (
        f"{variants[0][0]} compared with {variants[1][0]}"
        if context.ab
        else f"{first.name}: {len(variants)} variants compared"
    )
    shown = blocks("comparison", context)
    return _files(title, first.description, source, shown, left_out(result))


def left_out(result: Result) -> str:
    """One line on what a report cannot show because the run left tables out
    (`--tables`), or "" when it has them all."""
    have = set(result.written) | set(result.tables())  # written to disk, or in memory
    missing = [name for name in TABLES if name not in have]
    if not missing:
        return ""
    return (
        f"the run left out the {tables_text(missing)} (--tables), so the report leaves out "
        "what is drawn from them"
    )


def _files(name: str, description: str | None, source: str, shown: list, note: str) -> dict:
    """The page and the tables behind its figures, each given a file name of its own
    (`report-<name>.csv`, numbered when two figures would share one)."""
    tables: dict[str, str] = {}
    for block in shown:
        for part in block.parts:
            if getattr(part, "data", None) is None or len(tables) >= MAX_REPORT_TABLES:
                continue
            file = _table_name(part.name or block.title, tables)
            part.file = file
            tables[file] = spreadsheet_frame(part.data).to_csv(
                index=False, lineterminator="\n", date_format="%Y-%m-%d %H:%M:%S"
            )
    return {REPORT_NAME: _page(name, description, source, shown, note), **tables}


def _table_name(name: str, taken: dict) -> str:
    """`report-<slug>.csv` of `name` (ids in any script: what is not a-z or 0-9 becomes
    a hyphen), within the name length run.json accepts, numbered when taken."""
    slug = "-".join(re.findall(r"[a-z0-9]+", name.lower())) or "figure"
    room = MAX_REPORT_TABLE_NAME - len("report-") - len("-0000.csv")
    slug = slug[:room].strip("-") or "figure"
    file, n = f"report-{slug}.csv", 1
    while file in taken:
        n += 1
        file = f"report-{slug}-{n}.csv"
    assert is_report_table(file), file
    return file


def _page(name: str, description: str | None, source: str, shown: list, note: str = "") -> str:
    return render(
        "report.html",
        heading=name,
        description=description,
        note=note,
        source=source,
        blocks=shown,
    )


# ----- folders ----------------------------------------------------------------------


def write_report(
    folder: str | Path,
    result: Result | None = None,
    source: str = "",
    path: list[str] | None = None,
    learner: str | None = None,
    progress: Progress = None,
    force: bool = False,
    wait: bool = False,
) -> Path:
    """Write `report.html` into a complete run folder (reading its tables when `result` is
    None) and record it in the folder's run.json. A `report.html` the run did not write
    is replaced only with `force`; the folder is locked meanwhile (`wait`: wait for
    another run holding it). A run that is still being written passes its report to
    `Result.write` instead (see `build_report`)."""
    folder = Path(folder)
    read_meta(folder)  # a folder that is no run is said so before it is claimed
    out = OutputFolder.claim(folder, force=force, wait=wait, beside=True)
    try:
        meta = read_meta(folder)  # again, now that no other run can change it
        out.check_replaceable([REPORT_NAME])
        if result is None:
            result, source = open_run(folder)
        files = report_files(result, source, path=path, learner=learner, progress=progress)
        out.check_replaceable(files)  # a CSV of that name the user put there: --force
        items = [out.stage_text(name, text) for name, text in files.items()]
    except BaseException:
        out.discard()
        raise
    # the earlier report's files go (the commit removes what is listed and not kept)
    kept = [f for f in meta["files"] if f["name"] != REPORT_NAME and not is_report_table(f["name"])]
    out.commit(items, meta, kept=kept)
    return folder / REPORT_NAME


def read_run(folder: str | Path) -> tuple[Result, str]:
    """The tables and scenario of a complete run folder (OutputError when it is not one:
    incomplete, damaged, or not written by `postenroll-sim run`)."""
    folder = Path(folder)
    meta = _run_meta(folder)
    tables = read_tables(folder, meta)
    return _run_result(folder, meta, tables), meta.get("source", "")


def open_run(folder: str | Path) -> tuple[RunTables, str]:
    """`read_run`, its tables left on disk (verified first) to be read a few replications
    at a time (`report_files` does)."""
    folder = Path(folder)
    meta = _run_meta(folder)
    verify(folder, meta)
    written = [item["table"] for item in meta["files"] if "table" in item]
    result = _run_result(folder, meta, {})
    result.written = [name for name in TABLES if name in written]
    return Stored(folder, meta["files"], result), meta.get("source", "")


def staged_run(folder: OutputFolder, files: list[dict], result: Result) -> RunTables:
    """The tables a run staged in its folder (`runner.Staged.files`), read a few
    replications at a time, for the report it commits with them."""
    return Stored(folder.staging, files, result)


def _run_meta(folder: Path) -> dict:
    meta = read_meta(folder)
    if meta.get("command") == "audit":
        raise OutputError(
            f"{folder} holds an audit, not a run: its page is written by "
            "`postenroll-sim audit ... --out DIR --report`"
        )
    return meta


def _run_result(folder: Path, meta: dict, tables: dict) -> Result:
    try:
        scenario = Scenario.model_validate(meta["scenario"])
        for variant in meta.get("variants", []):
            if "scenario" in variant:  # a dict: read_meta checked the record's shape
                Scenario.model_validate(variant["scenario"])
    except (KeyError, ValidationError):
        raise OutputError(
            f"{folder / 'run.json'}: its scenario cannot be read by this version; "
            "run the scenario again"
        ) from None
    result = Result(
        scenario,
        **{name: frame for name, frame in tables.items() if name in TABLES},
        warnings=meta.get("warnings", []),
        seed=meta.get("seed"),
        replications=meta.get("replications", 1),
        variants=meta.get("variants", []),
        command=meta.get("command"),
    )
    return result
