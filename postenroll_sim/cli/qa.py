"""The QA commands: `check` (scenario tests) and `audit` (an LMS history against the rules)."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import click

from ..columns import FORMATS
from .base import (
    FORCE_HELP,
    WAIT_OPTION,
    PathArg,
    arguments,
    cli,
    fail,
    load,
    need_file,
)


@cli.command()
@click.argument("scenarios", nargs=-1, required=True, type=PathArg())
@click.option(
    "--replications",
    type=click.IntRange(1, 10_000),
    default=None,
    help="Check over N replications (random streams from SeedSequence(seed).spawn), "
    "instead of the N of each file's `expect: {replications: N, items: [...]}` (default 1).",
)
def check(scenarios, replications):
    """Run each SCENARIO and check its `expect` block; a folder means every scenario test
    below it (recognised by its shape, readable or not: docs/qa.md). Exit 0: all hold;
    1: an expectation failed, or a file has no expectations; 2: a scenario is invalid
    (and expected no such error)."""
    from ..qa.checking import EXIT_CODES
    from ..qa.discovery import discover

    paths, untested = [], []
    for given in scenarios:
        if Path(given).is_dir():
            found, others = discover(given)
            if not found:
                click.echo(f"{given}: no scenario files with an `expect` block here", err=True)
            paths += [str(p) for p in found]
            untested += others
        else:
            paths.append(given)
    results = [_check_one(path, replications) for path in paths]
    if len(results) > 1:
        count = {s: sum(r == s for r in results) for s in ("pass", "fail", "no_expectations")}
        invalid = len(results) - sum(count.values())
        parts = [f"{count['pass']} held", f"{count['fail']} failed"]
        if count["no_expectations"]:  # not a pass: counted apart (docs/qa.md)
            parts.append(f"{count['no_expectations']} with no expectations")
        if invalid:
            parts.append(f"{invalid} invalid")
        click.echo(f"{len(results)} files: {', '.join(parts)}")
    if untested:  # scenarios, but not tests: said, so that a deleted block is seen
        click.echo(
            f"not checked: {_plural(len(untested), 'scenario file')} without an `expect` block"
            f" ({', '.join(map(str, untested[:5]))}{', ...' if len(untested) > 5 else ''})"
        )
    sys.exit(max((EXIT_CODES[r] for r in results), default=2))


def _check_one(path: str, replications: int | None = None) -> str:
    """Check one file, print what became of it; its status (`invalid` for no file)."""
    from ..qa.checking import check as check_scenario

    if not Path(path).is_file():
        click.echo(
            f"{path}: {'not a regular file' if Path(path).exists() else 'no such file'}", err=True
        )
        return "invalid"
    result = check_scenario(path, replications=replications)
    if result.status == "invalid":
        click.echo(result.error, err=True)
    for failure in result.failures:
        click.echo(f"{failure.where}: {failure.failure}")
    click.echo(result.summary())
    return result.status


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@cli.command()
@click.argument("scenario", type=PathArg(dir_okay=False))
@click.argument("history", type=PathArg(dir_okay=False))
@click.option(
    "--map",
    "map_file",
    type=PathArg(dir_okay=False),
    default=None,
    help="A YAML file that says how to read the LMS's export: columns, values, timezone, "
    "date_format, day0 (docs/audit.md); or a ready-made map's name: vendor, unified.",
)
@click.option(
    "--tolerance-days",
    type=click.FloatRange(min=0),
    default=None,
    help="How far from its due time (or daily run, S3) a post enrollment is still on "
    "time  [default: 1/24, one hour]",
)
@click.option(
    "--out",
    default=None,
    type=PathArg(),
    help="Folder for the discrepancy table (and report.html), with its run.json.",
)
@click.option("--force", is_flag=True, help=FORCE_HELP)
@WAIT_OPTION
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="parquet", show_default=True)
@click.option("--report", "make_report", is_flag=True, help="Also write report.html (needs --out).")
def audit(scenario, history, map_file, tolerance_days, out, force, wait, fmt, make_report):
    """Audit an LMS's enrollment HISTORY (CSV) against the rules of SCENARIO: post
    enrollments the rules require that are missing, unexpected ones, and off-time ones.
    Exit 0: none; 1: discrepancies found; 2: bad input (every bad row located)."""
    need_file(scenario, "scenario")
    need_file(history, "history")
    from ..columns import READY_MAPS

    # a ready-made map by name (`--map vendor`), unless a file of that name is here
    ready = map_file is not None and str(map_file) in READY_MAPS and not os.path.exists(map_file)
    if map_file is not None and not ready:
        need_file(map_file, "map")
    if make_report and out is None:
        fail("--report writes report.html into the --out folder: name one with --out DIR")
    if tolerance_days is not None and not math.isfinite(tolerance_days):
        fail(f"--tolerance-days must be a finite number of days >= 0, got {tolerance_days}")
    from ..qa.audit import audit as audit_history
    from ..qa.audit import load_map, read_history
    from ..run.outdir import OutputFolder

    spec = load(scenario)
    if ready:
        from ..history.warm import ready_map

        mapping = ready_map(str(map_file))
    else:
        mapping = load_map(map_file) if map_file is not None else None
    records = read_history(history, spec, mapping)  # every bad row, located, before anything
    inputs = [scenario, history, *([map_file] if map_file and not ready else [])]
    folder = OutputFolder.claim(out, force, inputs, wait) if out is not None else None
    try:
        result = audit_history(
            spec, records, mapping, tolerance_days=tolerance_days, source=scenario
        )
        result.map_file = map_file
    except BaseException:
        if folder is not None:
            folder.discard()
        raise
    for warning in records.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(result.summary(out))
    if folder is not None:
        written = result.write(folder, format=fmt, report=make_report, arguments=arguments())
        click.echo("wrote " + ", ".join(str(p) for p in written))
    sys.exit(result.exit_code)
