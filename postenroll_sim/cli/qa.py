"""The QA commands: `check` (scenario tests) and `audit` (an LMS history against the rules)."""

from __future__ import annotations

import math
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
    history_map,
    load,
    map_file_of,
    map_option,
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
@map_option
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
    mapping = history_map(map_file)
    if make_report and out is None:
        fail("--report writes report.html into the --out folder: name one with --out DIR")
    if tolerance_days is not None and not math.isfinite(tolerance_days):
        fail(f"--tolerance-days must be a finite number of days >= 0, got {tolerance_days}")
    from ..qa.audit import audit as audit_history
    from ..qa.audit import read_history
    from ..run.outdir import OutputFolder

    spec = load(scenario)
    records = read_history(history, spec, mapping)  # every bad row, located, before anything
    inputs = [scenario, history, *map_file_of(map_file)]
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


@cli.command()
@click.argument("history", type=PathArg(dir_okay=False))
@click.option(
    "--scenario",
    "scenario",
    required=True,
    type=PathArg(dir_okay=False),
    help="The scenario whose catalog the history is read against (its courses, which allow "
    "failure, the ILC sessions).",
)
@map_option
@click.option(
    "--out",
    default=None,
    type=PathArg(dir_okay=False),
    help="Write the fitted behaviour as a scenario fragment (YAML) a scenario takes with "
    "`behaviour_from: FILE`.",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="DATE|DAY",
    help="When the export was made: open records are censored there  [default: the "
    "history's last moment]",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse the history (exit 2) when a course cannot be fitted, instead of skipping it "
    "with a warning.",
)
def calibrate(history, scenario, map_file, out, as_of, strict):
    """Fit each course's behaviour (start delay, duration, pass rate, abandonment, ILC
    no-shows) and the population's hires and attrition from an LMS HISTORY (CSV), open
    records censored; print each estimate with its sample size, interval and fit, and
    write them as a scenario fragment (--out). Exit 0: fitted; 2: bad input, or nothing
    could be fitted (every problem located)."""
    need_file(history, "history")
    mapping = history_map(map_file)
    spec = load(scenario)
    if out is not None:
        target = Path(out).resolve()
        for given in (history, scenario, map_file):
            if given is not None and Path(given).resolve() == target:
                fail(f"--out {out} is one of the command's input files: name another file")
        if Path(out).is_dir():
            fail(f"--out {out} is a folder: name a file such as fitted.yaml")
    from ..qa.audit import read_history
    from ..qa.calibrate import calibrate as fit_history
    from ..qa.calibrate import no_collection

    with no_collection():
        records = read_history(history, spec, mapping, window=False)
        result = fit_history(spec, records, as_of=_as_of(as_of, records), strict=strict)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    for problem in result.skipped:
        click.echo(f"warning: {problem}", err=True)
    click.echo(result.summary())
    if out is not None:
        from .base import writing

        path = Path(out)
        staging = path.with_name(f".{path.name}.partial")
        with writing(staging):
            staging.write_text(result.fragment(), encoding="utf-8")
        with writing(path):
            staging.replace(path)  # whole, or not there
        click.echo(f"wrote {path}")


def _as_of(text: str | None, history) -> float | None:
    """--as-of as a day number of the history: a number of days, or a date (date-time)
    counted from the history's day 0."""
    if text is None:
        return None
    import datetime as dt

    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            fail(f"--as-of {text!r}: a date such as 2027-01-31, or a day number")
        return value
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--as-of {text!r}: a date such as 2027-01-31 (or a date-time), or a day number")
    if history.day0 is None:
        fail(
            f"--as-of {text!r}: the history has day numbers, not dates (no day 0): give a day "
            "number"
        )
    if moment.tzinfo is not None:
        import zoneinfo

        moment = moment.astimezone(zoneinfo.ZoneInfo(history.timezone)).replace(tzinfo=None)
    if moment.time() == dt.time() and len(text.strip()) == 10:
        moment += dt.timedelta(days=1)  # a date alone: the export was made at its end
    return (moment - dt.datetime.combine(history.day0, dt.time())) / dt.timedelta(days=1)


def _date_option(text: str | None, option: str):
    """A date given on the command line (`2027-03-01`), or a one-line exit 2."""
    import datetime as dt

    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2027-03-01")


@cli.command()
@click.argument("scenario", type=PathArg(dir_okay=False))
@click.option(
    "--cut",
    required=True,
    metavar="DATE",
    help="Warm-start the scenario here (YYYY-MM-DD): the history before it is replayed "
    "(S39), what it shows from it on is what the forecast is compared with.",
)
@click.option(
    "--until",
    default=None,
    metavar="DATE",
    help="Forecast to here  [default: the day after the history's last moment]",
)
@click.option(
    "--replications",
    type=click.IntRange(2, 10_000),
    default=20,
    show_default=True,
    help="Replications of the forecast (its 5-95% band).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0, max=2**128 - 1),
    default=None,
    help="Override the scenario's seed.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Local processes running replications in parallel.",
)
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 1),
    default=None,
    metavar="X",
    help="Exit 1 when fewer than this share of the course-method-months lie inside the "
    "forecast's 5-95% band (0.8: 80%).",
)
@click.option(
    "--out",
    default=None,
    type=PathArg(),
    help="Folder for the backtest tables (and report.html), with its run.json.",
)
@click.option("--force", is_flag=True, help=FORCE_HELP)
@WAIT_OPTION
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--report", "make_report", is_flag=True, help="Also write report.html (needs --out).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def backtest(
    scenario, cut, until, replications, seed, workers, min_coverage, out, force, wait, fmt,
    make_report, no_progress,
):  # fmt: skip
    """Would the forecast have been right? Warm-start SCENARIO (which has an initial_state)
    at --cut, simulate to --until, and compare month by month, per course and method, what
    its history shows after the cut with the forecast's mean and 5-95% band: coverage,
    mean absolute percentage error, bias. Exit 0; 1: --min-coverage not met; 2: bad input."""
    cut_date = _date_option(cut, "--cut")
    until_date = _date_option(until, "--until")
    if make_report and out is None:
        fail("--report writes report.html into the --out folder: name one with --out DIR")
    spec = load(scenario)
    if spec.initial_state is None:
        fail(
            f"{scenario} has no initial_state: a backtest cuts the scenario's history "
            "(initial_state.history, docs/scenarios.md) at --cut and forecasts from there"
        )
    from ..qa.backtest import BacktestProblem
    from ..qa.backtest import backtest as run_backtest
    from ..run.outdir import OutputFolder

    inputs = [scenario, spec.initial_state.history]
    folder = OutputFolder.claim(out, force, inputs, wait) if out is not None else None
    try:
        result = run_backtest(
            spec,
            cut_date,
            until_date,
            replications=replications,
            seed=seed,
            workers=workers,
            progress=not no_progress and sys.stderr.isatty(),
            source=scenario,
        )
    except BacktestProblem as exc:
        if folder is not None:
            folder.discard()
        fail(str(exc))
    except BaseException:
        if folder is not None:
            folder.discard()
        raise
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(result.summary(min_coverage))
    if folder is not None:
        written = result.write(folder, fmt, report=make_report, arguments=arguments())
        click.echo("wrote " + ", ".join(str(p) for p in written))
    sys.exit(result.exit_code(min_coverage))
