"""The `postenroll-sim` command line: a thin layer over the Python API."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import click

from .expect import check_expectations
from .lint import lint as lint_scenario
from .report import write_report
from .runner import FORMATS, TABLES, simulate, simulate_replications, simulate_variants
from .scenario import ScenarioError, expectations_of, load_scenario
from .scenario.loader import read_yaml
from .scenario.models import ExpectError
from .scenario.schema import json_schema_text
from .scenario.variants import variants as scenario_variants
from .summary import summary_text, sweep_summary_text

DEFAULT_SCENARIO = "default.yaml"


def bundled_scenarios() -> Path:
    """The scenario library: shipped inside the wheel, or the repo's `scenarios/` in a checkout."""
    packaged = resources.files("postenroll_sim") / "_bundled_scenarios"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "scenarios"


def _fail(message: str) -> None:
    click.echo(f"postenroll-sim: {message}", err=True)
    sys.exit(2)


def _load(path: str):
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="postenroll-sim")
def main() -> None:
    """Simulate LMS Post Enrollment rules: who gets enrolled where and when."""


def _parse_tables(ctx, param, value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    unknown = [n for n in names if n not in TABLES]
    if unknown or not names:
        raise click.BadParameter(
            f"{unknown[0] if unknown else value!r}: tables are {', '.join(TABLES)}"
        )
    return names


def _output_options(command):
    """Options shared by `run` and `sweep`."""
    options = [
        click.option(
            "--out",
            "out",
            default="out",
            show_default=True,
            type=click.Path(file_okay=False),
            help="Folder for the output tables.",
        ),
        click.option(
            "--format", "fmt", type=click.Choice(FORMATS), default="parquet", show_default=True
        ),
        click.option(
            "--replications",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="Independent replications (random streams from SeedSequence(seed).spawn).",
        ),
        click.option(
            "--seed", type=click.IntRange(min=0), default=None, help="Override the scenario's seed."
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="Local processes running replications in parallel.",
        ),
        click.option(
            "--scheduler",
            default=None,
            metavar="ADDRESS",
            help="Run on a Dask cluster (default: $DASK_SCHEDULER_ADDRESS); needs the [dist] extra.",
        ),
        click.option("--no-progress", is_flag=True, help="No progress bar on long runs."),
        click.option(
            "--tables",
            "tables",
            default=",".join(TABLES),
            show_default=True,
            callback=_parse_tables,
            help="Tables to build and write (leaving out events saves time and memory).",
        ),
        click.option("--quiet", "-q", is_flag=True, help="Print only where the tables went."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _finish(result, out, fmt, quiet, source, summary, report=False) -> None:
    written = result.write(out, format=fmt, source=source)
    for warning in dict.fromkeys(result.warnings):
        click.echo(f"warning: {warning}", err=True)
    if not quiet:
        click.echo(summary(result, source))
    click.echo("wrote " + ", ".join(str(p) for p in written))
    if report:
        click.echo(f"report: {write_report(out, result, source)}")


@main.command()
@click.argument("scenario", required=False, type=click.Path(dir_okay=False))
@_output_options
@click.option(
    "--report",
    "make_report",
    is_flag=True,
    help="Also write report.html (figures and key numbers).",
)
def run(
    scenario,
    out,
    fmt,
    replications,
    seed,
    workers,
    scheduler,
    no_progress,
    tables,
    quiet,
    make_report,
):
    """Run SCENARIO (default: the bundled organisation scenario) and write its tables."""
    path = scenario or str(bundled_scenarios() / DEFAULT_SCENARIO)
    if not Path(path).is_file():
        _fail(f"no such scenario file: {path}")
    spec = _load(path)
    try:
        if replications == 1 and not scheduler:
            result = simulate(spec, seed=seed, tables=tables, progress=not no_progress)
        else:
            result = simulate_replications(
                spec,
                replications,
                seed=seed,
                workers=workers,
                scheduler=scheduler,
                progress=not no_progress,
                tables=tables,
            )
    except ScenarioError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    _finish(result, out, fmt, quiet, path, summary_text, report=make_report)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option(
    "--set",
    "sets",
    multiple=True,
    required=True,
    metavar="PATH=V1,V2,...",
    help="A value to vary, e.g. courses.SAFE-201.behaviour.pass_rate=0.7,0.9 (repeatable: "
    "every combination runs).",
)
@_output_options
def sweep(
    scenario, sets, out, fmt, replications, seed, workers, scheduler, no_progress, tables, quiet
):
    """Run every variant of SCENARIO x replication; tables get a `variant` column."""
    if not Path(scenario).is_file():
        _fail(f"no such scenario file: {scenario}")
    try:
        variants = scenario_variants(scenario, list(sets))
        result = simulate_variants(
            variants,
            replications,
            seed=seed,
            workers=workers,
            scheduler=scheduler,
            progress=not no_progress,
            tables=tables,
        )
    except ValueError as exc:
        _fail(str(exc))
    except ScenarioError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    _finish(result, out, fmt, quiet, scenario, sweep_summary_text)


@main.command()
@click.argument("outdir", type=click.Path(file_okay=False))
def report(outdir):
    """Write OUTDIR/report.html from the tables a run wrote there (figures embedded)."""
    try:
        click.echo(f"wrote {write_report(outdir)}")
    except FileNotFoundError as exc:
        _fail(str(exc))


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False))
def check(scenarios):
    """Run each SCENARIO and check its `expect` block. Exit 0: all hold; 1: an expectation
    failed; 2: a scenario is invalid (and expected no such error)."""
    status = 0
    for path in scenarios:
        status = max(status, _check_one(path))
    sys.exit(status)


def _check_one(path: str) -> int:
    file = Path(path)
    if not file.is_file():
        click.echo(f"{path}: no such file", err=True)
        return 2
    text = file.read_text(encoding="utf-8")
    error = tables = origin = None
    expectations = None
    try:
        spec = load_scenario(path)
        origin = spec._origin
        expectations = list(spec.expect)
        tables = simulate(spec).tables()
    except ScenarioError as exc:
        error = str(exc)
        if expectations is None:
            expectations = expectations_of(text, path)
            try:
                origin = read_yaml(text, path)[1]
            except ScenarioError:
                origin = None
    if error is not None and not any(isinstance(e, ExpectError) for e in expectations or ()):
        click.echo(error, err=True)
        click.echo(f"INVALID {path}")
        return 2
    if not expectations:
        click.echo(f"NO EXPECTATIONS {path}: it ran, but has no `expect` block to check")
        return 0
    failures = check_expectations(expectations, tables, error, origin, path)
    if failures:
        for failure in failures:
            click.echo(str(failure))
        click.echo(f"FAIL {path}: {len(failures)} of {len(expectations)} expectations failed")
        return 1
    click.echo(f"PASS {path} ({len(expectations)} expectations)")
    return 0


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
def lint(scenario):
    """Report rule-graph problems without running. Exit 0: none; 1: warnings; 2: invalid."""
    if not Path(scenario).is_file():
        _fail(f"no such scenario file: {scenario}")
    problems = lint_scenario(_load(scenario))
    for problem in problems:
        click.echo(str(problem))
    if not problems:
        click.echo(f"{scenario}: no problems found")
    sys.exit(1 if problems else 0)


@main.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write to a file instead of stdout.",
)
def schema(out):
    """Print the JSON Schema of scenario files (for editor validation and completion)."""
    text = json_schema_text()
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
