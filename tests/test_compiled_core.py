"""The compiled engine core (hatch_build.py, postenroll_sim/engine/compiled.py): which engine
runs, that a stale build never shadows its source, and that both engines write the same
tables byte for byte. (`make test` also runs the semantic tests on the interpreted engine.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from test_properties import scenarios as random_scenarios

from postenroll_sim.columns import TABLES
from postenroll_sim.engine import ENGINE
from postenroll_sim.engine import compiled as selection

from helpers import ROOT

# What both engines must write byte for byte: the bundled scenarios that use the most of
# the engine (script, rule edits, bundles and curricula, ILC sessions, hires and attrition,
# two replications each) and 40 random rule sets (tests/test_properties.py's). Every table
# as CSV, written by one interpreter per engine.
SCENARIOS = ("showcase", "ilc-capacity-under-recertification", "curriculum-automation")
WRITE_TABLES = """
import json, sys
from pathlib import Path
from postenroll_sim import load_scenario, parse_scenario, simulate, simulate_replications
from postenroll_sim.engine import ENGINE
out, random_sets, names = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
for name in names:
    result = simulate_replications(load_scenario(f"scenarios/{name}.yaml"), 2, workers=1)
    for table, frame in result.tables().items():
        frame.to_csv(out / f"{name}-{table}.csv", index=False)
# certificates, re-enrollment and due dates (S31-S35) on a small organisation
from benchmarks.reference import reference_scenario
certified = parse_scenario(reference_scenario(120, 1.2, seed=5, certificates=True, due_dates=True))
for table, frame in simulate(certified).tables().items():
    frame.to_csv(out / f"certified-{table}.csv", index=False)
for i, text in enumerate(json.loads(random_sets.read_text())):
    for table, frame in simulate(parse_scenario(text)).tables().items():
        frame.to_csv(out / f"{i:03d}-{table}.csv", index=False)
print(ENGINE)
"""


@pytest.mark.skipif(ENGINE != "compiled", reason="built without the compiled core")
@settings(
    max_examples=1,  # one draw of 40 rule sets: two interpreters, not two per rule set
    deadline=None,
    phases=[Phase.generate],  # no shrinking: the failure names its rule set itself
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(texts=st.lists(random_scenarios(), min_size=40, max_size=40))
def test_compiled_and_interpreted_engines_write_identical_tables(tmp_path, texts):
    random_sets = tmp_path / "random-rule-sets.json"
    random_sets.write_text(json.dumps(texts))
    for engine in ("compiled", "interpreted"):
        (tmp_path / engine).mkdir(exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-c", WRITE_TABLES, str(tmp_path / engine), random_sets, *SCENARIOS],
            cwd=ROOT,
            env={**os.environ, selection.ENV: engine},
            capture_output=True,
            text=True,
            check=True,
        )
        assert done.stdout.strip() == engine
    files = sorted(p.name for p in (tmp_path / "compiled").iterdir())
    assert len(files) == len(TABLES) * (len(SCENARIOS) + 1 + len(texts))
    assert len((tmp_path / "compiled" / "certified-certificates.csv").read_bytes()) > 5_000
    assert files == sorted(p.name for p in (tmp_path / "interpreted").iterdir())
    for name in files:
        written = (tmp_path / "compiled" / name).read_bytes()
        same = written == (tmp_path / "interpreted" / name).read_bytes()
        rule_set = "" if not name[:3].isdigit() else f" for the rule set:\n{texts[int(name[:3])]}"
        assert same, f"{name} differs{rule_set}"
    assert any(len((tmp_path / "compiled" / n).read_bytes()) > 10_000 for n in files)


def test_the_engine_that_runs_is_the_one_reported(tmp_path):
    script = "import postenroll_sim.engine as e, postenroll_sim.engine.lms as m; print(e.ENGINE, m.__file__)"
    env = {**os.environ, selection.ENV: "interpreted"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    engine, path = done.stdout.split()
    assert engine == "interpreted" and path.endswith("lms.py")
    version = subprocess.run(
        [sys.executable, "-m", "postenroll_sim", "--version"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert "engine: interpreted, POSTENROLL_SIM_ENGINE=interpreted" in version.stdout


@pytest.mark.parametrize("value", ["bogus", "compiled"])
def test_an_engine_that_cannot_run_is_a_one_line_error(value):
    if value == "compiled" and ENGINE == "compiled":
        pytest.skip("the compiled core is built here: asking for it is fine")
    env = {**os.environ, selection.ENV: value}
    done = subprocess.run(
        [sys.executable, "-m", "postenroll_sim", "check", "tests/acceptance"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert selection.ENV in done.stderr.strip().splitlines()[-1]


def _fake_build(folder, sources: dict[str, bytes], compiled: set[str]):
    digests = {}
    for module, text in sources.items():
        (folder / f"{module}.py").write_bytes(text)
        digests[module] = selection.source_digest(folder / f"{module}.py")
    for module in compiled:
        (folder / f"{module}{selection.importlib.machinery.EXTENSION_SUFFIXES[0]}").touch()
    manifest = {"engine": "compiled", "cython": "3.x", "sources": digests}
    (folder / selection.MANIFEST).write_text(json.dumps(manifest))


def test_a_source_edited_after_compilation_runs_interpreted(tmp_path):
    sources = {module: f"# {module}\n".encode() for module in selection.MODULES}
    _fake_build(tmp_path, sources, set(selection.MODULES))
    assert selection.built(tmp_path) == ("compiled", "Cython 3.x")
    (tmp_path / "lms.py").write_text("# lms, edited\n")
    engine, why = selection.built(tmp_path)
    assert engine == "interpreted" and why.startswith("lms.py or .pxd changed after it")
    (tmp_path / "lms.py").write_text("# lms\n")
    assert selection.built(tmp_path)[0] == "compiled"
    (tmp_path / "clock.pxd").write_text("cdef class Clock: pass\n")  # new C declarations
    assert selection.built(tmp_path)[1].startswith("clock.py or .pxd changed")


def test_a_missing_module_or_manifest_runs_interpreted(tmp_path):
    sources = {module: b"" for module in selection.MODULES}
    _fake_build(tmp_path, sources, set(selection.MODULES) - {"clock"})
    assert selection.built(tmp_path)[0] == "interpreted"
    assert "clock was not compiled" in selection.built(tmp_path)[1]
    (tmp_path / selection.MANIFEST).unlink()
    assert selection.built(tmp_path)[0] == "interpreted"
    (tmp_path / selection.MANIFEST).write_text(
        json.dumps({"engine": "interpreted", "reason": "not compiled: no C compiler"})
    )
    assert selection.built(tmp_path) == ("interpreted", "not compiled: no C compiler")
