"""The examples' exports are what their generators make: a change to the engine that moves
a committed history.csv shows here, not as a puzzling backtest or notebook figure."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from helpers import ROOT


@pytest.mark.parametrize("example", ["backtest", "forecast"])
def test_the_committed_history_is_what_make_history_writes(tmp_path, example):
    folder = tmp_path / example
    shutil.copytree(ROOT / "examples" / example, folder)
    (folder / "history.csv").unlink()
    done = subprocess.run(
        [sys.executable, str(folder / "make_history.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    written = (folder / "history.csv").read_bytes()
    assert written == (ROOT / "examples" / example / "history.csv").read_bytes()
