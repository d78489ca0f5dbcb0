"""The commands that run scenarios and read run folders: `run`, `sweep`, `report`."""

from __future__ import annotations

import click

from .base import (
    DEFAULT_SCENARIO,
    WAIT_OPTION,
    PathArg,
    bundled_scenarios,
    check_choices,
    check_size,
    choices,
    cli,
    fail,
    finish,
    load,
    need_file,
    note_workers,
    output_options,
    path_list,
    report_options,
    simulate_into,
)


@cli.command()
@click.argument("scenario", required=False, type=PathArg(dir_okay=False))
@output_options
@report_options
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
    spec = load(source)
    path = path_list(path)
    check_choices(spec, make_report, path, learner)
    check_size([spec], replications, confirmed)
    # before the run: a bad --out fails at once (and the folder is this run's until it ends)
    from ..history.warm import initial_state_files
    from ..run import runner
    from ..run.outdir import OutputFolder
    from ..run.summary import summary_text

    folder = OutputFolder.claim(out, force, inputs=[source, *initial_state_files(spec)], wait=wait)

    def run_it():
        if replications == 1 and not scheduler:  # each table written as it is built
            return runner.simulate_into(
                folder,
                spec,
                fmt,
                seed=seed,
                tables=tables,
                progress=not no_progress,
            )
        note_workers(workers, replications, scheduler)
        return runner.simulate_replications_into(  # each replication written as it ends
            folder,
            spec,
            replications,
            fmt,
            seed=seed,
            workers=workers,
            scheduler=scheduler,
            progress=not no_progress,
            tables=tables,
        )

    result = simulate_into(folder, run_it)
    finish(
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
@click.argument("scenario", type=PathArg(dir_okay=False))
@click.option(
    "--set",
    "sets",
    multiple=True,
    required=True,
    metavar="PATH=V1,V2,...",
    help="A value to vary, e.g. courses.SAFE-201.behaviour.pass_rate=0.7,0.9 (repeatable: "
    "every combination runs).",
)
@output_options
@report_options
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
    need_file(scenario, "scenario")
    if seed is not None and any(option.split("=", 1)[0].strip() == "seed" for option in sets):
        fail(
            "--seed and --set seed=... both choose the seed: every variant would run with "
            "--seed; give only one of them"
        )
    try:
        from ..scenario.variants import variants as scenario_variants

        variants = scenario_variants(scenario, list(sets))
    except ValueError as exc:
        fail(str(exc))
    check_size([spec for _, spec in variants], replications, confirmed)
    path = path_list(path)
    check_choices(variants[0][1], make_report, path, learner)
    from ..run import runner
    from ..run.outdir import OutputFolder
    from ..run.summary import sweep_digest_text, sweep_summary_text, variant_table

    folder = OutputFolder.claim(out, force, inputs=[scenario], wait=wait)
    note_workers(workers, replications * len(variants), scheduler)
    result = simulate_into(
        folder,
        lambda: runner.simulate_variants_into(  # each run written as it ends
            folder,
            variants,
            replications,
            fmt,
            seed=seed,
            workers=workers,
            scheduler=scheduler,
            progress=not no_progress,
            tables=tables,
        ),
    )

    def staged_summary(staged, source):
        table = variant_table(staged.variants)
        labels = [label for label, _ in staged.variants]
        return sweep_digest_text(staged.result.scenario, replications, labels, table, source)

    finish(
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
        staged_summary=staged_summary,
    )


@cli.command()
@click.argument("outdir", type=PathArg(file_okay=False))
@choices
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
            path=path_list(path),
            learner=learner,
            progress=lambda what: status(f"report: {what}"),
            force=force,
            wait=wait,
        )
    except ReportError as exc:
        fail(str(exc))
    finally:
        status.done()
    click.echo(f"wrote {written}")
