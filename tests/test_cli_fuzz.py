"""Random command lines: whatever the flags and values, the command line answers with a
documented exit code (0, 1 or 2) and never a traceback (docs/outputs.md)."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import ROOT

SCENARIO = str(ROOT / "tests" / "acceptance" / "01-seed-completed-delay.yaml")
HISTORY = str(ROOT / "examples" / "audit" / "history.csv")
AUDIT = str(ROOT / "examples" / "audit" / "scenario.yaml")
MAP = str(ROOT / "examples" / "audit" / "map.yaml")
WARM = str(ROOT / "examples" / "warm-start" / "scenario.yaml")  # has an initial_state

VALUES = st.sampled_from(
    ["", "0", "1", "2", "-1", "x", "1e9", "nan", "inf", "2.5", "=cmd", "\udcff", "a,b", "seed=1,2"]
)
PATHS = st.sampled_from(["missing.yaml", "/dev/null", ".", SCENARIO, HISTORY, MAP, "", "\udcff"])
FLAGS = {  # flag -> values it is given (None: a switch)
    "run": {
        "--seed": VALUES,
        "--replications": st.sampled_from(["0", "1", "2", "-3", "x", "1e9"]),
        "--workers": st.sampled_from(["0", "x", "-1"]),
        "--tables": st.sampled_from(["", "jobs", "enrollments,events", "nope", ",", "jobs,jobs"]),
        "--format": st.sampled_from(["csv", "parquet", "xml", ""]),
        "--path": VALUES,
        "--learner": VALUES,
        "--report": None,
        "--force": None,
        "--yes": None,
    },
    "lint": {"--format": st.sampled_from(["text", "json", "yaml"])},
    "check": {"--replications": st.sampled_from(["0", "1", "2", "x", "99999"])},
    "sweep": {
        "--set": st.sampled_from(
            ["seed=1,2", "horizon_days=5,6", "nope=1", "seed=", "=1", "horizon_days=-1,2", "x"]
        ),
        "--seed": VALUES,
        "--replications": st.sampled_from(["1", "2", "0", "x"]),
        "--report": None,
        "--tables": st.sampled_from(["jobs", "nope"]),
    },
    "explain": {
        "--learner": st.sampled_from(["alice", "bob", "nobody", "", "\udcff"]),
        "--course": st.sampled_from(["A", "B", "Q", ""]),
        "--replication": st.sampled_from(["0", "1", "-1", "x"]),
        "--seed": VALUES,
    },
    "graph": {
        "--out": st.sampled_from(["g.png", "g.svg", "g.md", "g.mmd", "g.dot", "g.xyz", "", "."]),
        "--format": st.sampled_from(["mermaid", "dot", "svg", ""]),
        "--run": st.sampled_from([".", "missing", SCENARIO]),
    },
    "report": {
        "--path": VALUES,
        "--learner": VALUES,
        "--force": None,
        "--no-progress": None,
    },
    "schema": {"--out": st.sampled_from(["s.json", ".", "", "sub/s.json"])},
    "audit": {
        "--map": st.sampled_from([MAP, "missing.yaml", "/dev/null", SCENARIO]),
        "--tolerance-days": st.sampled_from(["0", "1", "-1", "nan", "inf", "x"]),
        "--format": st.sampled_from(["csv", "parquet", "x"]),
        "--report": None,
    },
    "calibrate": {
        "--scenario": st.sampled_from([AUDIT, AUDIT, "missing.yaml", "/dev/null", ""]),
        "--map": st.sampled_from([MAP, MAP, "missing.yaml", SCENARIO]),
        "--out": st.sampled_from(["fitted.yaml", ".", "", HISTORY]),
        "--as-of": st.sampled_from(["2025-12-31", "400", "x", "nan", "", "-1"]),
        "--strict": None,
    },
    "backtest": {
        "--cut": st.sampled_from(["2026-12-15", "2026-12-15", "x", "", "2020-01-01", "2027-13-01"]),
        "--until": st.sampled_from(["2027-01-20", "2026-12-01", "x"]),
        "--replications": st.sampled_from(["2", "1", "x", "-1"]),
        "--min-coverage": st.sampled_from(["0.5", "2", "x", "nan"]),
        "--format": st.sampled_from(["csv", "parquet", "x"]),
        "--report": None,
        "--no-progress": None,
    },
    "infer": {
        "--map": st.sampled_from([MAP, "missing.yaml", "/dev/null", SCENARIO]),
        "--out": st.sampled_from(["s.yaml", "", ".", "sub/s.yaml", HISTORY]),
    },
}
# Commands the random lines do not draw yet, and why: a new command is added to FLAGS
# and POSITIONAL, or named here (test_every_command_is_fuzzed_or_says_why).
NOT_FUZZED = {
    "compare": "two simulations a line; its errors: tests/test_compare.py",
    "preview": "serves a page until stopped; its bad inputs: tests/test_exit_codes.py, "
    "tests/test_preview.py",
}
POSITIONAL = {
    "run": st.lists(st.sampled_from([SCENARIO, "missing.yaml", "/dev/null", "."]), max_size=1),
    "lint": st.lists(PATHS, min_size=0, max_size=2),
    "check": st.lists(PATHS, min_size=0, max_size=2),
    "sweep": st.lists(st.sampled_from([SCENARIO, "missing.yaml"]), max_size=1),
    "audit": st.sampled_from([[AUDIT, HISTORY], [AUDIT, SCENARIO], [AUDIT], [HISTORY, AUDIT]]),
    "explain": st.lists(st.sampled_from([SCENARIO, "missing.yaml", "/dev/null"]), max_size=1),
    "graph": st.lists(st.sampled_from([SCENARIO, "missing.yaml", "."]), max_size=1),
    "report": st.lists(st.sampled_from([".", "missing", SCENARIO, "/dev/null"]), max_size=1),
    "schema": st.just([]),
    "calibrate": st.sampled_from([[HISTORY], [HISTORY], [SCENARIO], [], ["missing.csv"]]),
    "backtest": st.sampled_from([[WARM], [WARM], [SCENARIO], [], ["missing.yaml"], ["/dev/null"]]),
    "infer": st.lists(st.sampled_from([HISTORY, SCENARIO, "missing.csv", "/dev/null"]), max_size=1),
}


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(sorted(FLAGS)))
    args = [command, *draw(POSITIONAL[command])]
    for flag in draw(st.lists(st.sampled_from(sorted(FLAGS[command])), max_size=4)):
        values = FLAGS[command][flag]
        args += [flag] if values is None else [flag, draw(values)]
    return args


_runs = itertools.count()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(args=command_lines())
def test_random_command_lines_exit_0_1_or_2_without_a_traceback(cli, tmp_path, args):
    if args[0] in ("run", "sweep", "audit"):
        args += ["--out", str(tmp_path / f"out{next(_runs)}"), "--no-progress"][
            : 2 if args[0] == "audit" else 3
        ]
    code, out, err = cli(*args, cwd=tmp_path)  # what a line writes stays in its folder
    assert code in (0, 1, 2), (args, err)
    assert "Traceback" not in out + err and "internal error" not in err, (args, err)


def test_every_command_is_fuzzed_or_says_why_and_has_a_row_in_the_readme():
    """A new command was in none of the random lines and in no list a test reads."""
    from postenroll_sim.cli import cli as group

    assert sorted(FLAGS) == sorted(POSITIONAL) and not set(FLAGS) & set(NOT_FUZZED)
    assert sorted(group.commands) == sorted({*FLAGS, *NOT_FUZZED})
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in group.commands:
        assert f"| `postenroll-sim {name}" in readme, f"README's command table lacks {name}"
