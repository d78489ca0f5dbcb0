"""The `postenroll-sim` command line: a thin layer over the Python API.

Exit codes (docs/outputs.md): 0 done; 1 `check`/`lint` found what they look for; 2 the
input or the environment is wrong (a located scenario problem, a bad argument, a folder
that cannot be written or read); 3 an internal error (a bug: please report it);
130 interrupted; 143 terminated (SIGTERM). No traceback reaches a user unless `--debug`
asks for it.
"""

from __future__ import annotations

import gc
import math
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from ..columns import FORMATS, MAX_REPLICATIONS, TABLES
from ..errors import OutputError, SchedulerError, Terminated, UsageProblem
from ..scenario.errors import ScenarioError

# Everything else is imported inside the command that needs it, so `--help`, `check` and
# `lint` do not pay for pandas, the engine or matplotlib before they do anything.

DEFAULT_SCENARIO = "default.yaml"


def bundled_scenarios() -> Path:
    """The scenario library: shipped inside the wheel, or the repo's `scenarios/` in a checkout."""
    from importlib import resources  # 15 ms (tempfile, zipfile): only the commands that need it

    packaged = resources.files("postenroll_sim") / "_bundled_scenarios"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "scenarios"


def _fail(message: str) -> None:
    raise UsageProblem(message)


class _Path(click.Path):
    """click.Path that refuses an empty value in one line: '' names no file, and as a
    folder it would quietly mean the current one (`check ''` checked every file there)."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value == "":
            name = (
                param.opts[0]
                if param is not None and param.opts[0].startswith("-")
                else (param.human_readable_name if param is not None else "the path")
            )
            what = "file" if not self.dir_okay else "folder" if not self.file_okay else "path"
            _fail(f"{name} is empty: name a {what}")
        return super().convert(value, param, ctx)


def _need_file(path: str, what: str) -> None:
    """A one-line reason unless `path` is a regular file (a FIFO or /dev/null is there,
    but is not a file to read a scenario from)."""
    if Path(path).is_file():
        return
    if Path(path).exists():
        _fail(f"{what} file {path} is not a regular file")
    _fail(f"no such {what} file: {path}")


def _load(path: str):
    _need_file(path, "scenario")
    from ..scenario import load_scenario

    return load_scenario(path)


def main(argv: list[str] | None = None) -> None:
    """The entry point: runs the commands and turns every failure into its exit code and a
    message, never a traceback (`--debug` or POSTENROLL_DEBUG=1 show one)."""
    try:
        _main(argv)
    finally:
        if argv is None:
            # The command itself (not a call from Python): the process ends right after
            # this. Freezing what is there spares the interpreter's exit a garbage
            # collection of every object the imports made (pydantic's validators, numpy):
            # 60-80 ms of a tiny `check`. Objects are still freed by their reference
            # counts; files are closed by the commands themselves.
            gc.freeze()


def _terminated(signum, frame) -> None:
    raise Terminated


def _main(argv: list[str] | None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or bool(os.environ.get("POSTENROLL_DEBUG"))
    for arg in args:  # bytes that are not UTF-8 arrive as surrogates: no file could be named
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            click.echo(
                f"postenroll-sim: {shown!r} is not valid UTF-8: give paths and values as "
                "UTF-8 text (rename the file)",
                err=True,
            )
            sys.exit(2)
    try:
        # SIGTERM unwinds like Ctrl-C: a run's workers are ended, its staging area removed
        previous = signal.signal(signal.SIGTERM, _terminated)
    except ValueError:  # not the main thread (a call from Python): leave signals alone
        previous = None
    try:
        status = cli.main(
            args=args, prog_name="postenroll-sim", standalone_mode=False, obj={"argv": args}
        )
    except Terminated:
        click.echo("postenroll-sim: terminated", err=True)
        sys.exit(143)
    except click.exceptions.Abort:
        click.echo("postenroll-sim: interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("postenroll-sim: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ScenarioError as exc:  # located problems: FILE:LINE: path: message
        click.echo(exc.shown(), err=True)
        sys.exit(2)
    except (UsageProblem, OutputError, SchedulerError) as exc:
        click.echo(f"postenroll-sim: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:  # the environment: a full disk, a vanished folder, ...
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        click.echo(f"postenroll-sim: {where}{exc.strerror or exc}", err=True)
        sys.exit(2)
    except RuntimeError as exc:
        if not str(exc).startswith("Symlink loop"):  # Path.resolve before Python 3.13
            _internal_error(exc, debug)
        click.echo(f"postenroll-sim: {exc}", err=True)
        sys.exit(2)
    except MemoryError:
        click.echo(
            "postenroll-sim: out of memory; run fewer learners, a shorter horizon, "
            "fewer replications at once, or leave out the events table (--tables)",
            err=True,
        )
        sys.exit(3)
    except Exception as exc:
        _internal_error(exc, debug)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    sys.exit(status if isinstance(status, int) else 0)


def _internal_error(exc: BaseException, debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exception(exc)
    click.echo(
        f"postenroll-sim: internal error: {type(exc).__name__}: {exc}\n"
        "This is a bug in postenroll-sim; please report it with the command and scenario "
        "(run again with --debug to see the traceback).",
        err=True,
    )
    sys.exit(3)


def _show_version(ctx: click.Context, _param, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from .. import __version__
    from ..engine.compiled import describe

    click.echo(f"postenroll-sim {__version__} ({describe()})")
    ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the version and which engine runs (compiled or interpreted), then exit.",
)
@click.option("--debug", is_flag=True, help="Show the Python traceback of an internal error.")
def cli(debug: bool) -> None:
    """Simulate LMS Post Enrollment rules: who gets enrolled where and when."""


def _arguments() -> list[str]:
    obj = click.get_current_context().find_root().obj
    return list(obj.get("argv", [])) if isinstance(obj, dict) else []


def _parse_tables(ctx, param, value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    unknown = [n for n in names if n not in TABLES]
    if unknown or not names:
        raise click.BadParameter(
            f"{unknown[0] if unknown else value!r}: tables are {', '.join(TABLES)}"
        )
    return names


FORCE_HELP = (
    "Write into a folder holding files postenroll-sim did not write (or the current "
    "directory): they are kept, except one with the name of a file this run writes, "
    "which is replaced. A command's own input files are never replaced."
)
WAIT_OPTION = click.option(
    "--wait",
    is_flag=True,
    help="If another run is writing into the same folder, wait for it to finish "
    "(default: refuse at once, exit 2).",
)


def _output_options(command):
    """Options shared by `run` and `sweep`."""
    options = [
        click.option(
            "--out",
            "out",
            default="out",
            show_default=True,
            type=_Path(),
            help="Folder for the output tables (one run per folder).",
        ),
        click.option("--force", is_flag=True, help=FORCE_HELP),
        WAIT_OPTION,
        click.option(
            "--format", "fmt", type=click.Choice(FORMATS), default="parquet", show_default=True
        ),
        click.option(
            "--replications",
            type=click.IntRange(min=1, max=MAX_REPLICATIONS),
            default=1,
            show_default=True,
            help="Independent replications (random streams from SeedSequence(seed).spawn).",
        ),
        click.option(
            "--seed",
            type=click.IntRange(min=0, max=2**128 - 1),
            default=None,
            help="Override the scenario's seed.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="Local processes running replications in parallel (at most one per CPU "
            "and per replication).",
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
        click.option(
            "--yes",
            "-y",
            "confirmed",
            is_flag=True,
            help="Run even when the estimated work is past a soft limit (docs/scenarios.md).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _note_workers(workers: int, tasks: int, scheduler: str | None) -> None:
    if scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS"):
        return
    from ..run.runner import usable_workers

    used = usable_workers(workers, tasks)
    if used < workers:
        click.echo(
            f"note: using {used} worker{'s' if used != 1 else ''} "
            f"({tasks} run{'s' if tasks != 1 else ''}, {os.cpu_count() or 1} CPUs)",
            err=True,
        )


def _check_size(scenarios, replications: int, confirmed: bool) -> None:
    """Answer before working: a run past a soft limit needs --yes."""
    if confirmed:
        return
    from ..scenario.limits import sweep_limit_problems

    problems = sweep_limit_problems(list(scenarios), replications)  # all at once, as they run
    if problems:
        _fail(
            "this run is very large: "
            + "; ".join(problems)
            + ". Make it smaller, or pass --yes to run it anyway"
        )


def _simulate_into(out, run_it):
    """Run; if it fails, nothing is left behind in the output folder."""
    try:
        return run_it()
    except BaseException:
        out.discard()
        raise


def _report_options(command):
    """What the report shows: `--report` itself, and the path and learner it draws."""
    options = [
        click.option(
            "--report",
            "make_report",
            is_flag=True,
            help="Also write report.html (figures and key numbers; a sweep: the variants "
            "compared).",
        ),
        *_choice_options(),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _choice_options():
    return [
        click.option(
            "--path",
            "path",
            default=None,
            metavar="A,B,C",
            help="The learning path the report times (course ids in order; default: the "
            "longest chain of completed rules from where learners enter).",
        ),
        click.option(
            "--learner",
            default=None,
            metavar="ID",
            help="The learner whose timeline the report draws (default: the one with the "
            "most enrollments in the first replication).",
        ),
    ]


def _path_list(path: str | None) -> list[str] | None:
    return [p.strip() for p in path.split(",") if p.strip()] if path is not None else None


def _check_choices(spec, make_report: bool, path: list[str] | None, learner) -> None:
    """A bad --path fails before the run, not after it."""
    if (path is not None or learner is not None) and not make_report:
        _fail("--path and --learner choose what the report shows: add --report")
    if path is not None:
        from ..analysis.rules import check_path

        try:
            check_path(spec, path)
        except ValueError as exc:
            _fail(f"--{exc}")


def _finish(
    result,
    out,
    fmt,
    quiet,
    source,
    summary,
    report=False,
    path=None,
    learner=None,
    progress=True,
) -> None:
    from ..run.progress import Status
    from ..run.runner import Staged

    staged = None
    if isinstance(result, Staged):  # written as it was built: commit what is staged
        digest, staged, result = result.digest, result.files, result.result

        def summary(result, source, _digest=digest):
            from ..run.summary import digest_text

            return digest_text(_digest, result.scenario, source)

    status = Status(progress)
    builder = None
    problem = None
    if report:
        from ..report.build import ReportError, build_report, check_learner

        try:
            check_learner(result, learner)
        except ReportError as exc:  # keep the run; say why there is no report
            problem = str(exc)
        else:

            def builder(result, source):
                status("report")
                return build_report(
                    result,
                    source,
                    path=path,
                    learner=learner,
                    progress=lambda what: status(f"report: {what}"),
                )

    try:
        if staged is None:
            status("writing the tables")
            written = result.write(
                out, format=fmt, source=source, report=builder, arguments=_arguments()
            )
        else:
            written = result.commit(out, staged, fmt, source, builder, _arguments())
    finally:
        status.done()
    for warning in dict.fromkeys(result.warnings):
        click.echo(f"warning: {warning}", err=True)
    if builder is not None:
        from ..report.build import left_out

        if left_out(result):
            click.echo(f"note: report.html: {left_out(result)}", err=True)
    if not quiet:
        click.echo(summary(result, source))
    click.echo("wrote " + ", ".join(str(p) for p in written))
    if problem:
        _fail(
            f"no report: {problem}; choose another with "
            f"`postenroll-sim report {out.path} --learner ID`"
        )


@cli.command()
@click.argument("scenario", required=False, type=_Path(dir_okay=False))
@_output_options
@_report_options
def run(
    scenario,
    out,
    force,
    wait,
    fmt,
    replications,
    seed,
    workers,
    scheduler,
    no_progress,
    tables,
    quiet,
    confirmed,
    make_report,
    path,
    learner,
):
    """Run SCENARIO (default: the bundled organisation scenario) and write its tables."""
    source = scenario or str(bundled_scenarios() / DEFAULT_SCENARIO)
    spec = _load(source)
    path = _path_list(path)
    _check_choices(spec, make_report, path, learner)
    _check_size([spec], replications, confirmed)
    from ..run import runner
    from ..run.outdir import OutputFolder
    from ..run.summary import summary_text

    # before the run: a bad --out fails at once (and the folder is this run's until it ends)
    folder = OutputFolder.claim(out, force, inputs=[source], wait=wait)

    def run_it():
        if replications == 1 and not scheduler:  # each table written as it is built
            return runner.simulate_into(
                folder,
                spec,
                fmt,
                seed=seed,
                tables=tables,
                progress=not no_progress,
                keep=make_report,  # the report's figures are drawn from the tables
            )
        _note_workers(workers, replications, scheduler)
        return runner.simulate_replications(
            spec,
            replications,
            seed=seed,
            workers=workers,
            scheduler=scheduler,
            progress=not no_progress,
            tables=tables,
        )

    result = _simulate_into(folder, run_it)
    _finish(
        result,
        folder,
        fmt,
        quiet,
        source,
        summary_text,
        report=make_report,
        path=path,
        learner=learner,
        progress=not no_progress,
    )


@cli.command()
@click.argument("scenario", type=_Path(dir_okay=False))
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
@_report_options
def sweep(
    scenario,
    sets,
    out,
    force,
    wait,
    fmt,
    replications,
    seed,
    workers,
    scheduler,
    no_progress,
    tables,
    quiet,
    confirmed,
    make_report,
    path,
    learner,
):
    """Run every variant of SCENARIO x replication; tables get a `variant` column. With
    --report, report.html compares the variants side by side."""
    _need_file(scenario, "scenario")
    if seed is not None and any(option.split("=", 1)[0].strip() == "seed" for option in sets):
        _fail(
            "--seed and --set seed=... both choose the seed: every variant would run with "
            "--seed; give only one of them"
        )
    try:
        from ..scenario.variants import variants as scenario_variants

        variants = scenario_variants(scenario, list(sets))
    except ValueError as exc:
        _fail(str(exc))
    _check_size([spec for _, spec in variants], replications, confirmed)
    path = _path_list(path)
    _check_choices(variants[0][1], make_report, path, learner)
    from ..run import runner
    from ..run.outdir import OutputFolder
    from ..run.summary import sweep_summary_text

    folder = OutputFolder.claim(out, force, inputs=[scenario], wait=wait)
    _note_workers(workers, replications * len(variants), scheduler)
    result = _simulate_into(
        folder,
        lambda: runner.simulate_variants(
            variants,
            replications,
            seed=seed,
            workers=workers,
            scheduler=scheduler,
            progress=not no_progress,
            tables=tables,
        ),
    )
    _finish(
        result,
        folder,
        fmt,
        quiet,
        scenario,
        sweep_summary_text,
        report=make_report,
        path=path,
        learner=learner,
        progress=not no_progress,
    )


def _choices(command):
    for option in reversed(_choice_options()):
        command = option(command)
    return command


@cli.command()
@click.argument("a", type=_Path(dir_okay=False))
@click.argument("b", type=_Path(dir_okay=False))
@click.option(
    "--replications",
    type=click.IntRange(min=1, max=MAX_REPLICATIONS),
    default=1,
    show_default=True,
    help="Replications of each file, paired: replication r of A and of B draw from the "
    "same random streams. 20 give a useful 95% interval; 1 gives none.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0, max=2**128 - 1),
    default=None,
    help="The seed of both runs (default: the files' seed, which must then be the same).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Local processes running replications in parallel.",
)
@click.option(
    "--out",
    default=None,
    type=_Path(),
    help="Also write both runs' tables here (a `variant` column says which), with run.json.",
)
@click.option("--force", is_flag=True, help=FORCE_HELP)
@WAIT_OPTION
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="parquet", show_default=True)
@click.option(
    "--report",
    "make_report",
    is_flag=True,
    help="Also write report.html comparing the two runs, figures overlaid (needs --out).",
)
@_choices
@click.option(
    "--fail-on-change",
    is_flag=True,
    help="Exit 1 when a number changed beyond noise (for CI: a rule edit that should "
    "change nothing).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar on long runs.")
@click.option(
    "--yes",
    "-y",
    "confirmed",
    is_flag=True,
    help="Run even when the estimated work is past a soft limit (docs/scenarios.md).",
)
def compare(
    a,
    b,
    replications,
    seed,
    workers,
    out,
    force,
    wait,
    fmt,
    make_report,
    path,
    learner,
    fail_on_change,
    no_progress,
    confirmed,
):
    """What-if: run A and B (the same catalog and population, other rules) with common
    random numbers and print the paired difference of each number with its 95% interval,
    marking what changed beyond noise. Exit 0: compared (whatever changed; 1 with
    --fail-on-change when something did); 2: bad input or the files cannot be compared."""
    if make_report and out is None:
        _fail("--report writes report.html into the --out folder: name one with --out DIR")
    spec_a, spec_b = _load(a), _load(b)
    from ..design.whatif import NotComparable, comparable, what_if

    try:
        changes = comparable(spec_a, spec_b, a, b, seed_given=seed is not None)
    except NotComparable as exc:
        _fail(str(exc))
    path = _path_list(path)
    _check_choices(spec_a, make_report, path, learner)
    _check_size([spec_a, spec_b], replications, confirmed)
    from ..run.outdir import OutputFolder

    folder = OutputFolder.claim(out, force, inputs=[a, b], wait=wait) if out is not None else None
    _note_workers(workers, 2 * replications, None)
    found = what_if(
        a,
        b,
        spec_a,
        spec_b,
        changes,
        replications,
        seed=seed,
        workers=workers,
        progress=not no_progress,
        path=path,
        run_with=(lambda run_both: _simulate_into(folder, run_both)) if folder else None,
    )
    if folder is None:
        for warning in dict.fromkeys(found.result.warnings):
            click.echo(f"warning: {warning}", err=True)
        click.echo(found.text)
    else:
        _finish(
            found.result,
            folder,
            fmt,
            False,
            f"{a} vs {b}",
            lambda *_: found.text,
            report=make_report,
            path=path,
            learner=learner,
            progress=not no_progress,
        )
    if fail_on_change and found.changed:
        sys.exit(1)


@cli.command()
@click.argument("outdir", type=_Path(file_okay=False))
@_choices
@click.option("--no-progress", is_flag=True, help="Do not say what the report is doing.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace a report.html in OUTDIR that postenroll-sim did not write.",
)
@WAIT_OPTION
def report(outdir, path, learner, no_progress, force, wait):
    """Write OUTDIR/report.html from the tables a run wrote there (figures embedded; a
    sweep's folder: the variants compared side by side)."""
    from ..report.build import ReportError, write_report
    from ..run.progress import Status

    status = Status(not no_progress)
    try:
        written = write_report(
            outdir,
            path=_path_list(path),
            learner=learner,
            progress=lambda what: status(f"report: {what}"),
            force=force,
            wait=wait,
        )
    except ReportError as exc:
        _fail(str(exc))
    finally:
        status.done()
    click.echo(f"wrote {written}")


@cli.command()
@click.argument("scenarios", nargs=-1, required=True, type=_Path())
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
@click.argument("scenarios", nargs=-1, required=True, type=_Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object with every finding, for tools.",
)
@click.option(
    "--history",
    is_flag=True,
    help="The rules of an `audit`: learners come from the LMS's history, so nothing is said "
    "about how they get in or finish (PE201-PE205).",
)
def lint(scenarios, fmt, history):
    """Find the traps in SCENARIO's rules without running it: each finding has a code, a
    severity, FILE:LINE, an explanation and a fix (docs/designer-tools.md). Exit 0: nothing
    at warning level or above; 1: a warning or an error; 2: a scenario is invalid."""
    from ..design.lint import json_report, lint_scenario, text_report
    from ..scenario import load_scenario

    for path in scenarios:
        _need_file(path, "scenario")
    results, invalid = [], []
    for path in scenarios:
        try:
            results.append(lint_scenario(load_scenario(path), from_history=history))
        except ScenarioError as exc:
            click.echo(exc.shown(), err=True)
            invalid += exc.problems
    if fmt == "json":
        click.echo(json_report(results, invalid))
    else:
        for result in results:
            click.echo(text_report(result))
    sys.exit(2 if invalid else 1 if any(r.failing for r in results) else 0)


GRAPH_FORMATS = (".svg", ".png", ".md", ".mmd", ".dot", ".gv")
GRAPH_TEXT = {"mermaid": (".md", ".mmd"), "dot": (".dot", ".gv")}  # --format: its suffixes


@cli.command()
@click.argument("scenario", type=_Path(dir_okay=False))
@click.option(
    "--out",
    type=_Path(dir_okay=False),
    default=None,
    help="rules.svg or rules.png (a picture), rules.md (Mermaid in Markdown), rules.mmd "
    "(Mermaid) or rules.dot / rules.gv (Graphviz DOT); without it the text goes to stdout.",
)
@click.option(
    "--format",
    "text_format",
    type=click.Choice(list(GRAPH_TEXT)),
    default=None,
    help="The text written to stdout: mermaid (default) or dot (Graphviz). With --out, the "
    "file name's ending says it.",
)
@click.option(
    "--run",
    "run_dir",
    type=_Path(file_okay=False),
    default=None,
    metavar="OUTDIR",
    help="A complete run folder: each rule's label says what it did there (jobs, enrolled, "
    "skipped by reason; mean per replication).",
)
def graph(scenario, out, run_dir, text_format):
    """Draw SCENARIO's rule graph: courses as boxes (type, inactive, prerequisites, members,
    where learners enter), rules as arrows labelled with trigger, delay and consecutive,
    loops highlighted. No system program is needed."""
    from ..design.rulegraph import build, dot, mermaid, mermaid_markdown

    suffix = Path(out).suffix.lower() if out else None
    if out and suffix not in GRAPH_FORMATS:
        _fail(f"--out {out}: the file name must end in {', '.join(GRAPH_FORMATS)}")
    if out and text_format and suffix not in GRAPH_TEXT[text_format]:
        _fail(f"--format {text_format}: --out must end in {', '.join(GRAPH_TEXT[text_format])}")
    spec = _load(scenario)
    if out and Path(out).exists() and os.path.samefile(out, scenario):
        _fail(f"--out {out} is the scenario itself: name another file for the graph")
    rules = build(spec)
    stats, note = _run_stats(run_dir, spec, rules, scenario) if run_dir else (None, "")
    if out is None:
        click.echo((dot if text_format == "dot" else mermaid)(rules, stats), nl=False)
        return
    path = Path(out)
    if suffix in (*GRAPH_TEXT["mermaid"], *GRAPH_TEXT["dot"]):
        if suffix == ".md":
            text = mermaid_markdown(rules, scenario, stats, run_dir or "")
        elif suffix == ".mmd":
            text = mermaid(rules, stats)
        else:
            text = dot(rules, stats)
        with _writing(path):
            path.write_text(text, encoding="utf-8")
    else:
        from ..design.drawing import rule_graph_figure, too_big_to_draw

        if too_big_to_draw(rules):
            click.echo(f"note: {path} is a summary: {too_big_to_draw(rules)}", err=True)
        figure = rule_graph_figure(rules, stats, note=note)
        with _writing(path):
            figure.savefig(path, format=suffix[1:])
    click.echo(f"wrote {path}")


@contextmanager
def _writing(path: Path):
    """Write the file `path` (making its folder); a failure names it (a full disk's
    OSError names no file)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def _run_stats(run_dir: str, spec, rules, scenario: str):
    """What each rule did in the run folder `run_dir`, and a line saying so."""
    from ..design.rulegraph import rule_stats
    from ..report.build import read_run

    result, _ = read_run(run_dir)
    if result.jobs is None:
        _fail(f"{run_dir} has no jobs table: run the scenario again with jobs in --tables")
    runs = result.replications * max(1, len(result.variants))
    stats = rule_stats(result.jobs, runs, result.events, rules)
    known = {(e.rule, e.target) for e in rules.edges}
    unknown = sorted({rule for rule, target, _ in stats if (rule, target) not in known})
    if unknown or result.scenario.model_dump() != spec.model_dump():
        click.echo(
            f"note: {run_dir} was run from another version of {scenario}"
            + (f"; rules not drawn: {', '.join(unknown)}" if unknown else "")
            + "; labels count the jobs of the rules that match by id and target",
            err=True,
        )
    per = f"mean of {runs} runs" if runs > 1 else "one run"
    note = (
        f"Labels also say what each rule did in {run_dir} ({per}): jobs, enrolled, skipped and why."
    )
    return stats, note


@cli.command()
@click.argument("scenario", type=_Path(dir_okay=False))
@click.option("--learner", required=True, metavar="ID", help="The learner to explain.")
@click.option(
    "--course", default=None, metavar="ID", help="Why is (or isn't) the learner in this course?"
)
@click.option(
    "--replication",
    type=click.IntRange(min=0, max=MAX_REPLICATIONS - 1),
    default=0,
    show_default=True,
    help="Which replication (the same random streams as in `run --replications N`).",
)
@click.option(
    "--seed", type=click.IntRange(min=0, max=2**128 - 1), default=None, help="Override the seed."
)
def explain(scenario, learner, course, replication, seed):
    """Tell LEARNER's story in SCENARIO in plain words: every enrollment, trigger, job and
    outcome, with the evidence for each decision and the S-rule behind it."""
    from ..design.explain import ExplainError, as_text
    from ..design.explain import explain as explain_learner
    from ..run.runner import simulate

    spec = _load(scenario)
    result = simulate(spec, seed=seed, replication=replication)
    try:
        frame = explain_learner(result, learner, course=course)
    except ExplainError as exc:
        _fail(str(exc))
    click.echo(as_text(frame))


@cli.command()
@click.argument("scenario", type=_Path(dir_okay=False))
@click.argument("history", type=_Path(dir_okay=False))
@click.option(
    "--map",
    "map_file",
    type=_Path(dir_okay=False),
    default=None,
    help="A YAML file that says how to read the LMS's export: columns, values, timezone, "
    "date_format, day0 (docs/audit.md).",
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
    type=_Path(),
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
    _need_file(scenario, "scenario")
    _need_file(history, "history")
    if map_file is not None:
        _need_file(map_file, "map")
    if make_report and out is None:
        _fail("--report writes report.html into the --out folder: name one with --out DIR")
    if tolerance_days is not None and not math.isfinite(tolerance_days):
        _fail(f"--tolerance-days must be a finite number of days >= 0, got {tolerance_days}")
    from ..qa.audit import audit as audit_history
    from ..qa.audit import load_map, read_history
    from ..run.outdir import OutputFolder

    spec = _load(scenario)
    mapping = load_map(map_file) if map_file is not None else None
    records = read_history(history, spec, mapping)  # every bad row, located, before anything
    inputs = [scenario, history, *([map_file] if map_file else [])]
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
    click.echo(result.summary(out))
    if folder is not None:
        written = result.write(folder, format=fmt, report=make_report, arguments=_arguments())
        click.echo("wrote " + ", ".join(str(p) for p in written))
    sys.exit(result.exit_code)


@cli.command()
@click.option(
    "--out",
    type=_Path(dir_okay=False),
    default=None,
    help="Write to a file instead of stdout.",
)
def schema(out):
    """Print the JSON Schema of scenario files (for editor validation and completion)."""
    from ..scenario.schema import json_schema_text

    text = json_schema_text()
    if out:
        with _writing(Path(out)):
            Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
