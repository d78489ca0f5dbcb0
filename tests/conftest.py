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
