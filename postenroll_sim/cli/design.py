"""The designer's commands: `compare` (what-if), `lint`, `graph`, `explain`, `infer`, `schema`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..columns import FORMATS, MAX_REPLICATIONS
from ..scenario.errors import ScenarioError
from .base import (
    FORCE_HELP,
    WAIT_OPTION,
    PathArg,
    check_choices,
    check_size,
    choices,
    cli,
    fail,
    finish,
    history_map,
    load,
    map_file_of,
    map_option,
    need_file,
    note_workers,
    path_list,
    simulate_into,
    writing,
)


@cli.command()
@click.argument("a", type=PathArg(dir_okay=False))
@click.argument("b", type=PathArg(dir_okay=False))
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
    type=PathArg(),
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
@choices
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
        fail("--report writes report.html into the --out folder: name one with --out DIR")
    spec_a, spec_b = load(a), load(b)
    from ..design.whatif import NotComparable, comparable, what_if

    try:
        changes = comparable(spec_a, spec_b, a, b, seed_given=seed is not None)
    except NotComparable as exc:
        fail(str(exc))
    path = path_list(path)
    check_choices(spec_a, make_report, path, learner)
    check_size([spec_a, spec_b], replications, confirmed)
    from ..run.outdir import OutputFolder

    folder = OutputFolder.claim(out, force, inputs=[a, b], wait=wait) if out is not None else None
    note_workers(workers, 2 * replications, None)
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
        run_with=(lambda run_both: simulate_into(folder, run_both)) if folder else None,
        folder=folder,  # each replication written as it ends
        fmt=fmt,
    )
    if folder is None:
        for warning in dict.fromkeys(found.result.warnings):
            click.echo(f"warning: {warning}", err=True)
        click.echo(found.text)
    else:
        finish(
            found.staged,
            folder,
            fmt,
            False,
            f"{a} vs {b}",
            lambda *_: found.text,
            report=make_report,
            path=path,
            learner=learner,
            progress=not no_progress,
            staged_summary=lambda *_: found.text,
        )
    if fail_on_change and found.changed:
        sys.exit(1)


@cli.command()
@click.argument("scenarios", nargs=-1, required=True, type=PathArg(dir_okay=False))
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
        need_file(path, "scenario")
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
@click.argument("scenario", type=PathArg(dir_okay=False))
@click.option(
    "--out",
    type=PathArg(dir_okay=False),
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
    type=PathArg(file_okay=False),
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
        fail(f"--out {out}: the file name must end in {', '.join(GRAPH_FORMATS)}")
    if out and text_format and suffix not in GRAPH_TEXT[text_format]:
        fail(f"--format {text_format}: --out must end in {', '.join(GRAPH_TEXT[text_format])}")
    spec = load(scenario)
    if out and Path(out).exists() and os.path.samefile(out, scenario):
        fail(f"--out {out} is the scenario itself: name another file for the graph")
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
        with writing(path):
            path.write_text(text, encoding="utf-8")
    else:
        from ..design.drawing import rule_graph_figure, too_big_to_draw

        if too_big_to_draw(rules):
            click.echo(f"note: {path} is a summary: {too_big_to_draw(rules)}", err=True)
        figure = rule_graph_figure(rules, stats, note=note)
        with writing(path):
            figure.savefig(path, format=suffix[1:])
    click.echo(f"wrote {path}")


def _run_stats(run_dir: str, spec, rules, scenario: str):
    """What each rule did in the run folder `run_dir`, and a line saying so."""
    from ..design.rulegraph import rule_stats
    from ..report.build import read_run

    result, _ = read_run(run_dir)
    if result.jobs is None:
        fail(f"{run_dir} has no jobs table: run the scenario again with jobs in --tables")
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
@click.argument("scenario", type=PathArg(dir_okay=False))
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

    spec = load(scenario)
    result = simulate(spec, seed=seed, replication=replication)
    try:
        frame = explain_learner(result, learner, course=course)
    except ExplainError as exc:
        fail(str(exc))
    click.echo(as_text(frame))


@cli.command()
@click.option(
    "--out",
    type=PathArg(dir_okay=False),
    default=None,
    help="Write to a file instead of stdout.",
)
def schema(out):
    """Print the JSON Schema of scenario files (for editor validation and completion)."""
    from ..scenario.schema import json_schema_text

    text = json_schema_text()
    if out:
        with writing(Path(out)):
            Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)


@cli.command()
@click.argument("history", type=PathArg(dir_okay=False))
@map_option
@click.option(
    "--out",
    type=PathArg(dir_okay=False),
    default=None,
    help="Write the scenario skeleton (catalog, inferred rules, start date) to this YAML file.",
)
def infer(history, map_file, out):
    """Read the rules an LMS must have from its enrollment HISTORY (CSV): each post
    enrollment matched to the trigger before it, the rules (source, trigger, delay,
    targets, consecutive) with their evidence, and a scenario skeleton that `audit`
    confirms. Exit 0: rules inferred; 1: none could be; 2: bad input (every bad row located)."""
    need_file(history, "history")
    mapping = history_map(map_file)
    for given, what in ((history, "history"), *((m, "map") for m in map_file_of(map_file))):
        if out and given and Path(out).exists() and os.path.samefile(out, given):
            fail(f"--out {out} is the {what} file itself: name another file for the skeleton")
    # The history loader is qa's (design may not import it): the records go down as data
    from ..design.infer import infer as infer_rules
    from ..qa.audit.history import read_history

    loaded = read_history(history, None, mapping)  # every bad row, located, before anything
    result = infer_rules(loaded.records, loaded.day0, history)
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    if out is not None:
        path = Path(out)
        with writing(path):
            path.write_text(result.skeleton(map_file=map_file), encoding="utf-8")
    click.echo(result.summary(out, map_file))
    sys.exit(result.exit_code)
