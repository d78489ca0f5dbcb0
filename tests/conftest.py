"""Fixtures the tests share. Plain helper functions are in helpers.py."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from helpers import CliResult

# CI replays the same examples every run, so a red CI always means a change broke
# something; on a developer's machine the property and fuzz tests explore anew each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `postenroll-sim ARGS...` in this process, as a user would type it: returns
    (returncode, stdout, stderr). No new interpreter per call (tests/test_readme.py and
    one test in test_cli.py run the real executable)."""
    from postenroll_sim.cli import main

    def call(*args, cwd=None) -> CliResult:
        capsys.readouterr()  # what came before is not this command's
        with monkeypatch.context() as scoped:
            if cwd is not None:
                scoped.chdir(cwd)
            with pytest.raises(SystemExit) as info:
                main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(info.value.code or 0, captured.out, captured.err)

    return call


# a valid 1x1 PNG: what a sketched figure is on a page
_SKETCH_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


@pytest.fixture
def sketched_figures(monkeypatch):
    """Pages with their figures built but not drawn to PNG (a 1x1 stand-in), for tests of
    a page's words, numbers and escaping: drawing is a third of a page's time. Every
    kind of chart is drawn by tests/test_report.py (the default scenario's page, the ILC
    run's) and the README tour (the showcase's, the compliance run's, a comparison, a
    sweep and an audit page). Returns the figures the page built, in page order."""
    import base64

    from markupsafe import Markup

    from postenroll_sim.report import sections

    built = []
    uri = Markup("data:image/png;base64," + base64.b64encode(_SKETCH_PNG).decode("ascii"))

    def sketch(fig):
        built.append(fig)
        return uri

    monkeypatch.setattr(sections, "png_uri", sketch)
    return built


def pytest_collection_finish(session):
    """What collection imported lives as long as the test process: frozen, the garbage
    collector no longer scans it at each full collection, and collections come less
    often (figures and frames are cycles freed only by it). A tenth of the suite's CPU
    went to collecting garbage; half of that is left."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


# The longest tests (5-25 s each, `pytest --durations=10`), started first: collected in
# file order they came last on one worker, which then ran on alone after the other had
# finished everything else (`--dist worksteal` balances what is left, not what runs).
LONGEST_FIRST = (
    "test_readme.py::test_the_tour_runs_in_the_order_written",
    # mostly waiting (Voila, a kernel, Chromium): started early, it overlaps the others
    "test_preview_browser.py::test_a_designer_changes_a_delay_in_the_served_page_and_sees_the_learner_change",
    "test_compiled_core.py::test_compiled_and_interpreted_engines_write_identical_tables",
    "test_report.py::test_report_renders_for_every_bundled_scenario[default]",
    "test_interpreted_engine.py::test_the_semantic_tests_pass_on_the_interpreted_engine",
    "test_layers.py::test_every_module_imports_alone_in_a_fresh_interpreter",
    "test_notebooks.py::test_notebook_executes[recertification_and_compliance]",
)


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def order(item):
        name = item.nodeid.rpartition("/")[2]
        return rank.get(name, len(rank))

    items.sort(key=order)  # stable: every other test keeps its place
