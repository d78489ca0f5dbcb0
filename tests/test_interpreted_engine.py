"""The semantic and acceptance tests again, on the interpreted engine (the same modules
uncompiled): one nested pytest in a process of its own, since the engine is chosen when
the package is first imported. It runs beside the rest of the suite instead of after it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from postenroll_sim.engine import ENGINE
from postenroll_sim.engine import compiled as selection

from helpers import ROOT

# the tests whose every case must hold on both engines (random rule sets, certificates
# and due dates among them, and a certified organisation are compared byte for byte by
# tests/test_compiled_core.py: test_certificates.py runs on the compiled engine only, to
# keep make test under 90 s)
BOTH_ENGINES = (
    "tests/test_semantics.py",
    "tests/test_scenarios_check.py",
    "tests/test_curriculum_visibility.py",
)


@pytest.mark.skipif(ENGINE != "compiled", reason="the suite itself runs interpreted here")
def test_the_semantic_tests_pass_on_the_interpreted_engine():
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
        + ["-o", "addopts=", *BOTH_ENGINES],
        cwd=ROOT,
        env={**os.environ, selection.ENV: "interpreted"},
        capture_output=True,
        text=True,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]
    assert " passed" in summary and "failed" not in summary, summary
