"""The command line's ground: the group, `main` (exit codes, no traceback), and the
arguments, options and output-folder steps the commands of every room share.

Exit codes (docs/outputs.md): 0 done; 1 `check`/`lint` found what they look for; 2 the
input or the environment is wrong (a located scenario problem, a bad argument, a folder
that cannot be written or read); 3 an internal error (a bug: please report it);
130 interrupted; 143 terminated (SIGTERM). No traceback reaches a user unless `--debug`
asks for it.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from ..columns import FORMATS, MAX_REPLICATIONS, READY_MAPS, TABLES
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


def fail(message: str) -> None:
    raise UsageProblem(message)


class PathArg(click.Path):
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
            fail(f"{name} is empty: name a {what}")
        return super().convert(value, param, ctx)


def need_file(path: str, what: str) -> None:
    """A one-line reason unless `path` is a regular file (a FIFO or /dev/null is there,
    but is not a file to read a scenario from)."""
    if Path(path).is_file():
        return
    if Path(path).exists():
        fail(f"{what} file {path} is not a regular file")
    fail(f"no such {what} file: {path}")


def map_option(command):
    """`--map`, the same for every command that reads an LMS's export."""
    return click.option(
        "--map",
        "map_file",
        type=PathArg(dir_okay=False),
        default=None,
        help="How to read the LMS's export: a YAML map file (columns, values, timezone, "
        "date_format, day0; docs/audit.md), or a ready-made map's name: "
        f"{', '.join(READY_MAPS)} (docs/warm-start.md).",
    )(command)


def history_map(map_file: str | None):
    """The map `--map` names: a ready-made one by name (unless a file of that name is
    here), else the file (every problem located, exit 2). None without --map."""
    if map_file is None:
        return None
    from ..history.warm import ready_map

    if str(map_file) in READY_MAPS and not os.path.exists(map_file):
        return ready_map(str(map_file))
    need_file(map_file, "map")
    from ..history.exports import load_map

    return load_map(map_file)


def map_file_of(map_file: str | None) -> list[str]:
    """The map among a command's input files: [] for none or a ready-made one."""
    if map_file is None or (str(map_file) in READY_MAPS and not os.path.exists(map_file)):
        return []
    return [map_file]


def load(path: str):
    need_file(path, "scenario")
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


def arguments() -> list[str]:
    obj = click.get_current_context().find_root().obj
    return list(obj.get("argv", [])) if isinstance(obj, dict) else []


def parse_tables(ctx, param, value: str) -> tuple[str, ...]:
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


def output_options(command):
    """Options shared by `run` and `sweep`."""
    options = [
        click.option(
            "--out",
            "out",
            default="out",
            show_default=True,
            type=PathArg(),
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
            callback=parse_tables,
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


def note_workers(workers: int, tasks: int, scheduler: str | None) -> None:
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


def check_size(scenarios, replications: int, confirmed: bool) -> None:
    """Answer before working: a run past a soft limit needs --yes."""
    if confirmed:
        return
    from ..scenario.limits import sweep_limit_problems

    problems = sweep_limit_problems(list(scenarios), replications)  # all at once, as they run
    if problems:
        fail(
            "this run is very large: "
            + "; ".join(problems)
            + ". Make it smaller, or pass --yes to run it anyway"
        )


def simulate_into(out, run_it):
    """Run; if it fails, nothing is left behind in the output folder."""
    try:
        return run_it()
    except BaseException:
        out.discard()
        raise


def report_options(command):
    """What the report shows: `--report` itself, and the path and learner it draws."""
    options = [
        click.option(
            "--report",
            "make_report",
            is_flag=True,
            help="Also write report.html (figures and key numbers; a sweep: the variants "
            "compared).",
        ),
        *choice_options(),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def choice_options():
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


def path_list(path: str | None) -> list[str] | None:
    return [p.strip() for p in path.split(",") if p.strip()] if path is not None else None


def check_choices(spec, make_report: bool, path: list[str] | None, learner) -> None:
    """A bad --path fails before the run, not after it."""
    if (path is not None or learner is not None) and not make_report:
        fail("--path and --learner choose what the report shows: add --report")
    if path is not None:
        from ..analysis.rules import check_path

        try:
            check_path(spec, path)
        except ValueError as exc:
            fail(f"--{exc}")


def finish(
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
    staged_summary=None,
) -> None:
    """Commit the run into its folder (its report too when asked) and say what was
    written. `summary(result, source)` is the text printed; for a run written as it was
    built (`Staged`, no tables in memory), `staged_summary(staged, source)` is (default:
    the digest's summary)."""
    from ..run.progress import Status
    from ..run.runner import Staged

    staged = None
    if isinstance(result, Staged):  # written as it was built: commit what is staged
        written_as_built = result
        staged, result = result.files, result.result
        if staged_summary is None:

            def staged_summary(staged, source):
                from ..run.summary import digest_text

                return digest_text(staged.digest, staged.result.scenario, source)

        def summary(result, source, _staged=written_as_built):
            return staged_summary(_staged, source)

    status = Status(progress)
    builder = None
    problem = None
    if report:
        from ..report.build import ReportError, check_learner, report_files, staged_run

        # a run written as it was built: the report reads the staged tables a few
        # replications at a time, never all of them at once
        tables = result if staged is None else staged_run(out, staged, result)
        try:
            check_learner(tables, learner)
        except ReportError as exc:  # keep the run; say why there is no report
            problem = str(exc)
        else:

            def builder(result, source):
                status("report")
                return report_files(
                    tables,
                    source,
                    path=path,
                    learner=learner,
                    progress=lambda what: status(f"report: {what}"),
                )

    try:
        if staged is None:
            status("writing the tables")
            written = result.write(
                out, format=fmt, source=source, report=builder, arguments=arguments()
            )
        else:
            written = result.commit(out, staged, fmt, source, builder, arguments())
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
    if getattr(result, "warm_start", None) is not None:
        from ..run.summary import warm_start_text

        click.echo(warm_start_text(result.warm_start, result.scenario))
    click.echo("wrote " + ", ".join(str(p) for p in written))
    if problem:
        fail(
            f"no report: {problem}; choose another with "
            f"`postenroll-sim report {out.path} --learner ID`"
        )


def choices(command):
    for option in reversed(choice_options()):
        command = option(command)
    return command


@contextmanager
def writing(path: Path):
    """Write the file `path` (making its folder); a failure names it (a full disk's
    OSError names no file)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
