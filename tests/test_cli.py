"""The command line as a user runs it: exit codes, files written, messages without tracebacks."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

import pandas as pd
import pytest

from postenroll_sim.scenario.schema import json_schema_text

from helpers import ROOT

ACCEPTANCE = ROOT / "tests" / "acceptance"


def real_cli(*args, cwd=None):
    """The installed command in its own process (most tests use the in-process `cli`)."""
    return subprocess.run(
        [sys.executable, "-m", "postenroll_sim", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_run_default_scenario_writes_tables_and_summary(tmp_path):
    proc = real_cli("run", "--out", tmp_path / "out")  # the real executable, once
    assert proc.returncode == 0, proc.stderr
    assert "Enrollments by course and method" in proc.stdout and "Rule outcomes" in proc.stdout
    for table in ("enrollments", "jobs", "events"):
        frame = pd.read_parquet(tmp_path / "out" / f"{table}.parquet")
        assert len(frame) > 0
    enrollments = pd.read_parquet(tmp_path / "out" / "enrollments.parquet")
    assert isinstance(enrollments["learner_id"].dtype, pd.CategoricalDtype)
    assert not list(tmp_path.glob(".out.*"))  # no staging folder left behind


def test_csv_is_byte_identical_across_runs(cli, tmp_path):
    scenario = ROOT / "scenarios" / "remediation-on-failure.yaml"  # random, and small
    for name in ("a", "b"):
        assert (
            cli("run", scenario, "--out", tmp_path / name, "--format", "csv", "-q").returncode == 0
        )
    for table in ("enrollments", "jobs", "events"):
        first = (tmp_path / "a" / f"{table}.csv").read_bytes()
        assert first == (tmp_path / "b" / f"{table}.csv").read_bytes()
        assert len(first.splitlines()) > 2


def test_csv_nulls_are_empty_fields(cli, tmp_path):
    assert (
        cli(
            "run",
            ACCEPTANCE / "01-seed-completed-delay.yaml",
            "--out",
            tmp_path,
            "--format",
            "csv",
            "-q",
        ).returncode
        == 0
    )
    lines = (tmp_path / "enrollments.csv").read_text().splitlines()
    assert lines[0].split(",")[:4] == ["replication", "enrollment_id", "learner_id", "course_id"]
    assert lines[1] == "0,0,alice,A,online,admin,,,0.0,0.0,,10.0,,,complete"


def test_check_exit_codes(cli, tmp_path):
    ok = cli("check", *sorted(ACCEPTANCE.glob("*.yaml")))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("PASS") == len(list(ACCEPTANCE.glob("*.yaml")))

    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(
        (ACCEPTANCE / "01-seed-completed-delay.yaml")
        .read_text()
        .replace("due_day: 15", "due_day: 14")
    )
    failed = cli("check", wrong)
    assert failed.returncode == 1
    assert (
        "wrong.yaml:17: expect.1: expected 1 job row matching" in failed.stdout
        and "due_day=15" in failed.stdout
    )

    invalid = cli(
        "check",
        ROOT / "tests" / "scenarios" / "ten-mistakes.yaml",
        ACCEPTANCE / "01-seed-completed-delay.yaml",
    )
    assert invalid.returncode == 2
    assert "Traceback" not in invalid.stderr and invalid.stderr.count("ten-mistakes.yaml:") == 10


def test_check_expected_error_that_never_comes_fails(cli, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(
        "name: x\nhorizon_days: 3\ncourses: [{id: A, type: online}]\nexpect:\n  - error: allow_failure\n"
    )
    proc = cli("check", path)
    assert proc.returncode == 1 and "but it ran" in proc.stdout


def test_run_invalid_scenario_exit_2_nothing_written(cli, tmp_path):
    proc = cli("run", ROOT / "tests" / "scenarios" / "ten-mistakes.yaml", "--out", tmp_path / "out")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_run_time_script_error_exit_2_nothing_written(cli, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(
        "name: x\nhorizon_days: 3\ncourses: [{id: A, type: online}]\nlearners: [ana]\n"
        "script:\n  - {day: 1, action: start, learner: ana, course: A}\n"
    )
    proc = cli("run", path, "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == f"{path}:6: script.0: day 1: start ana A: cannot start: the learner has no enrollment in this course"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("run", "missing.yaml"),
        ("check", "missing.yaml"),
        ("lint", "missing.yaml"),
        ("run", "--format", "xls"),
        ("run", "--replications", "0"),
        ("frobnicate",),
    ],
)
def test_bad_arguments_exit_2_one_line(cli, args, tmp_path):
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr and proc.stderr.strip()


def test_schema_is_json_and_committed_copy_is_current(cli):
    proc = cli("schema")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert "courses" in schema["properties"] and schema["additionalProperties"] is False
    committed = ROOT / "docs" / "scenario.schema.json"
    assert committed.read_text() == json_schema_text(), (
        "run `make schema` to refresh docs/scenario.schema.json"
    )


def test_lint_reports_rules_that_can_never_act(cli, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("""name: x
horizon_days: 3
courses:
  - id: A
    type: online
    post_enrollments:
      - {id: SELF, when: enrolled, delay_days: 0, courses: [A]}
      - {id: NOCONS, when: completed, delay_days: 365, courses: [A]}
      - {id: HIDDEN, when: completed, delay_days: 0, courses: [B]}
  - id: B
    type: online
    active: false
    post_enrollments: [{id: BACK, when: enrolled, delay_days: 0, courses: [C]}]
  - id: C
    type: online
    post_enrollments: [{id: LOOP, when: enrolled, delay_days: 0, courses: [B]}]
""")
    proc = cli("lint", path)
    assert proc.returncode == 1
    out = proc.stdout
    assert f"{path}:7: courses.0.post_enrollments.0.courses.0: PE401 warning: rule SELF" in out
    assert "PE102 warning: rule NOCONS" in out and "allow_consecutive is off" in out
    assert "PE403 warning: rule HIDDEN enrolls into B, which is inactive" in out
    assert "PE303 info: delay-0 `enrolled` rules BACK, LOOP form a cycle B -> C -> B" in out
    assert (
        f"{path}:4: courses.0: PE202 warning: rules SELF, NOCONS, HIDDEN on A can never fire" in out
    )
    clean = cli("lint", ROOT / "scenarios" / "default.yaml")
    assert clean.returncode == 0, clean.stdout


def test_replications_stack_tables(cli, tmp_path):
    proc = cli(
        "run",
        ACCEPTANCE / "05-recertification.yaml",
        "--replications",
        "3",
        "--workers",
        "2",
        "--out",
        tmp_path,
        "-q",
    )
    assert proc.returncode == 0, proc.stderr
    enrollments = pd.read_parquet(tmp_path / "enrollments.parquet")
    assert sorted(enrollments["replication"].unique()) == [0, 1, 2]
    assert (enrollments.groupby("replication").size() == 3).all()


def test_tables_option_builds_and_writes_only_what_is_asked(cli, tmp_path):
    scenario = ROOT / "scenarios" / "showcase.yaml"
    proc = cli("run", scenario, "--tables", "enrollments,jobs", "--out", tmp_path / "some", "-q")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "some").iterdir()) == [
        "enrollments.parquet",
        "jobs.parquet",
        "run.json",
    ]
    full = cli("run", scenario, "--out", tmp_path / "all", "-q")
    assert full.returncode == 0
    for table in ("enrollments", "jobs"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "some" / f"{table}.parquet"),
            pd.read_parquet(tmp_path / "all" / f"{table}.parquet"),
        )
    bad = cli("run", scenario, "--tables", "enrolments")
    assert bad.returncode == 2 and "tables are enrollments, jobs, events, sessions" in bad.stderr


def test_check_takes_folders_and_many_files_in_one_process(cli, tmp_path):
    proc = cli("check", ACCEPTANCE)
    count = len(list(ACCEPTANCE.glob("*.yaml")))
    assert proc.returncode == 0 and proc.stdout.splitlines()[-1] == (
        f"{count} files: {count} held, 0 failed"
    )
    (tmp_path / "deep").mkdir()
    good = (ACCEPTANCE / "01-seed-completed-delay.yaml").read_text()
    (tmp_path / "deep" / "good.yaml").write_text(good)
    (tmp_path / "bad.yml").write_text(good.replace("enrolled_day: 15}", "enrolled_day: 16}"))
    (tmp_path / "notes.yaml").write_text("expect: [1]\n")  # YAML, but not a scenario
    proc = cli("check", tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1] == "2 files: 1 held, 1 failed"
    empty = cli("check", tmp_path / "deep" / "..")  # the same folder, said differently
    assert empty.returncode == 1
    (tmp_path / "void").mkdir()
    proc = cli("check", tmp_path / "void")
    assert proc.returncode == 2 and "no scenario files with an `expect` block" in proc.stderr


HEAVY = ("pandas", "pyarrow", "matplotlib", "tqdm", "dask", "distributed")


def test_check_imports_no_pandas_nor_plotting_even_when_expectations_fail(tmp_path):
    """`check` matches on plain columns: its start-up pays for none of the table or figure
    libraries, on the failure paths (what was found instead, per replication) too."""
    holds = tmp_path / "holds.yaml"
    holds.write_text((ACCEPTANCE / "01-seed-completed-delay.yaml").read_text())
    fails = tmp_path / "fails.yaml"
    fails.write_text(
        "name: fails\nhorizon_days: 30\nstart_date: 2024-01-01\n"
        "courses:\n  - {id: A, type: online, post_enrollments: [{id: R1, when: completed, "
        "delay_days: 5, courses: [B]}]}\n  - {id: B, type: online}\n"
        "learners: [ann, bo]\nscript:\n  - {day: 0, action: enroll, learner: ann, course: A}\n"
        "  - {day: 10, action: complete, learner: ann, course: A}\n"
        "expect:\n  replications: 2\n  items:\n"
        "    - enrollment: {learner: ann, course: B, enrolled_day: 16}\n"
        "    - enrollment: {course: B}\n      share: {min: 0.9}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "postenroll_sim", "check", holds, fails],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "enrolled_day=2024-01-16 (day 15)" in proc.stdout  # what was found instead, dated
    assert "found 0.5 over 2 replications" in proc.stdout
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "postenroll_sim.engine.lms" in imported  # it did simulate
    assert not sorted(m for m in imported if m.split(".")[0] in HEAVY)


def test_only_the_command_itself_freezes_its_objects_before_exiting(cli):
    """The real command freezes the garbage collector's objects so the interpreter's exit
    does not collect them all; a call from Python (tests, notebooks) must not."""
    before = gc.get_freeze_count()
    code, out, _ = cli("check", ACCEPTANCE / "01-seed-completed-delay.yaml")
    assert code == 0 and "PASS" in out
    assert gc.get_freeze_count() == before
    script = (
        "import gc, sys\nfrom postenroll_sim.cli import main\n"
        f"sys.argv = ['postenroll-sim', 'check', {str(ACCEPTANCE / '01-seed-completed-delay.yaml')!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    print(exc.code, gc.get_freeze_count() > 0)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert proc.stdout.split()[-2:] == ["0", "True"], proc.stdout + proc.stderr
