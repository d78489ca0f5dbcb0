"""The preview's command: `preview` serves the interactive preview as a page (Voila)."""

from __future__ import annotations

import importlib.util

import click

from .base import PathArg, cli, fail, load


@cli.command()
@click.argument("scenario", type=PathArg(dir_okay=False))
@click.option(
    "--port",
    type=click.IntRange(min=1, max=65535),
    default=8866,
    show_default=True,
    help="The port to serve on (the next free one when it is taken); 127.0.0.1 only.",
)
@click.option(
    "--ready-timeout",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds to wait for the server to listen before giving up.",
)
def preview(scenario, port, ready_timeout):
    """Serve SCENARIO's interactive preview as a page: the rule graph and lint, a form to
    edit each rule and certificate, a run of the edited rules against the published ones
    for a chosen learner, and Save as YAML with the comments kept (docs/preview.md).
    Ctrl-C stops the server."""
    load(scenario)  # a missing or invalid file is said before any server starts
    if importlib.util.find_spec("voila") is None or importlib.util.find_spec("ipywidgets") is None:
        fail("the preview needs Voila and ipywidgets: pip install 'postenroll-sim[preview]'")
    from ..preview.serve import ServeProblem, serve

    try:
        server = serve(scenario, port=port, ready_timeout=ready_timeout)
    except ServeProblem as exc:
        fail(str(exc))
    click.echo(f"preview of {scenario} at {server.url} (open it in a browser; Ctrl-C stops it)")
    try:
        status = server.process.wait()
    finally:
        server.stop()
    if status:
        last = "\n".join(list(server.said)[-8:])
        fail(f"the preview server ended (exit {status}); its last words:\n{last}")
