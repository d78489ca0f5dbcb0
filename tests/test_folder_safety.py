"""The output folder is the tool's only by its own record (docs/outputs.md): a file no
run.json of the tool lists is the user's whatever its name, a command never replaces its
own inputs, one run at a time holds a folder, a run's workers end with it, and a
tampered run.json is refused in one line before anything is read or sized from it.

Where a real process is the point (a lock held by another process, concurrent runs,
killing a run with workers) the test starts one; the waits are bounded, never timed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postenroll_sim import load_scenario, simulate
from postenroll_sim.report.build import read_run
from postenroll_sim.run.outdir import STAGING_PREFIX, OutputError, OutputFolder, read_meta

from helpers import ROOT

SCENARIO = ROOT / "tests" / "acceptance" / "01-seed-completed-delay.yaml"
AUDIT = ROOT / "examples" / "audit"
LINUX = sys.platform.startswith("linux")
DEADLINE = 60  # seconds: only ever reached when the behaviour under test is broken

# A small scenario that draws at random: each seed gives other tables.
RANDOM = """\
name: small random
horizon_days: 30
seed: 1
courses:
  - id: EXAM
    type: online
    allow_failure: true
    behaviour:
      start_after_days: {dist: exponential, mean: 2}
      duration_days: {dist: fixed, value: 0.5}
      pass_rate: 0.5
    post_enrollments:
      - {id: retry, when: failed, delay_days: 1, courses: [EXAM], allow_consecutive: true}
population:
  initial: 30
  on_hire:
    - {course: EXAM, after_days: {dist: uniform, min: 0, max: 5}}
"""


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path]),
        "MPLBACKEND": "Agg",
    }


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _listed(folder: Path) -> list[str]:
    return sorted(item["name"] for item in json.loads((folder / "run.json").read_text())["files"])


# ----- a file is the tool's only when its run.json lists it ------------------------------


def test_audit_keeps_its_history_even_when_it_has_a_tables_name(cli, tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    history = exports / "enrollments.csv"  # the user's export, named like a table
    shutil.copy(AUDIT / "history.csv", history)
    before = history.read_bytes()
    args = (
        "audit",
        AUDIT / "scenario.yaml",
        history,
        "--map",
        AUDIT / "map.yaml",
        "--out",
        exports,
    )
    code, _, err = cli(*args)
    assert code == 2 and "did not write (enrollments.csv)" in err and err.count("\n") == 1, err
    assert history.read_bytes() == before
    code, _, err = cli(*args, "--force", "--format", "csv")
    assert code == 1, err  # the example's three discrepancies
    assert history.read_bytes() == before
    assert _names(exports) == ["discrepancies.csv", "enrollments.csv", "run.json"]


def test_a_file_named_like_a_table_is_the_users_until_a_run_json_lists_it(cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "jobs.csv").write_text("mine")
    code, _, err = cli("run", SCENARIO, "--out", out, "-q")
    assert code == 2 and "did not write (jobs.csv)" in err and err.count("\n") == 1, err
    assert cli("run", SCENARIO, "--out", out, "--force", "-q")[0] == 0
    assert (out / "jobs.csv").read_text() == "mine"  # kept: this run writes no jobs.csv
    # the next run removes every file the last run.json lists, and nothing else
    code, _, err = cli("run", SCENARIO, "--out", out, "--force", "--tables", "enrollments", "-q")
    assert code == 0, err
    assert _names(out) == ["enrollments.parquet", "jobs.csv", "run.json"]
    assert (out / "jobs.csv").read_text() == "mine"


def test_a_users_report_html_is_replaced_only_with_force(cli, tmp_path, monkeypatch):
    import postenroll_sim.report.build as report

    # the page itself is test_report.py's subject: a stand-in keeps this test quick
    monkeypatch.setattr(
        report, "report_files", lambda *a, **k: {"report.html": "<html>made</html>"}
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("my notes")
    code, _, err = cli("run", SCENARIO, "--out", out, "--report", "-q")
    assert code == 2 and "did not write (report.html)" in err, err
    (out / "report.html").unlink()
    assert cli("run", SCENARIO, "--out", out, "-q")[0] == 0
    (out / "report.html").write_text("my notes")  # beside a run: `report` adds its own page
    code, _, err = cli("report", out)
    assert code == 2 and "report.html was not written by postenroll-sim" in err, err
    assert err.count("\n") == 1 and (out / "report.html").read_text() == "my notes"
    code, _, err = cli("report", out, "--force")
    assert code == 0, err
    assert (out / "report.html").read_text() == "<html>made</html>"
    assert "report.html" in _listed(out)
    (out / "notes.txt").write_text("mine")  # other files beside a run do not stop a report
    assert cli("report", out)[0] == 0 and (out / "notes.txt").read_text() == "mine"


def test_a_command_never_replaces_its_own_input(cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    scenario = out / "jobs.csv"  # a scenario saved under a table's name, in the folder
    shutil.copy(SCENARIO, scenario)
    code, _, err = cli("run", scenario, "--out", out, "--force", "--format", "csv", "-q")
    assert code == 2 and "is an input of this command" in err and err.count("\n") == 1, err
    assert scenario.read_bytes() == SCENARIO.read_bytes() and _names(out) == ["jobs.csv"]
    # an input the folder's own run.json lists would be removed: refused at the claim,
    # whatever path names it
    run_dir = tmp_path / "run"
    assert cli("run", SCENARIO, "--out", run_dir, "--format", "csv", "-q")[0] == 0
    link = tmp_path / "history.csv"
    link.symlink_to(run_dir / "enrollments.csv")
    for named in (run_dir / "enrollments.csv", link):
        with pytest.raises(OutputError, match="is an input of this command"):
            OutputFolder.claim(run_dir, force=True, inputs=[named])
    read_run(run_dir)  # untouched


def test_graph_never_writes_over_its_scenario(cli, tmp_path):
    scenario = tmp_path / "rules.md"
    shutil.copy(SCENARIO, scenario)
    code, _, err = cli("graph", scenario, "--out", tmp_path / "." / "rules.md")
    assert code == 2 and "is the scenario itself" in err and err.count("\n") == 1, err
    assert scenario.read_bytes() == SCENARIO.read_bytes()


# ----- one run at a time holds a folder ------------------------------------------------

HOLDER = (
    "import sys\n"
    "from postenroll_sim.run.outdir import OutputFolder\n"
    "folder = OutputFolder.claim(sys.argv[1])\n"
    "print('held', flush=True)\n"
    "sys.stdin.readline()\n"
    "folder.discard()\n"
)


def _hold(folder: Path) -> subprocess.Popen:
    """Another process holding `folder` as a run does from its claim to its commit."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert holder.stdout.readline() == "held\n"  # EOF at once if it failed
    return holder


def _waiting_on_a_lock(pid: int) -> bool:
    """/proc/locks lists a process blocked in flock with `->`."""
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == "->" and fields[2] == "FLOCK" and fields[5] == str(pid):
            return True
    return False


@pytest.mark.skipif(not LINUX, reason="flock semantics checked on Linux")
def test_a_folder_is_locked_from_claim_to_commit(cli, tmp_path):
    out = tmp_path / "out"
    holder = _hold(out)
    try:
        code, _, err = cli("run", SCENARIO, "--out", out, "-q")
        assert code == 2 and err.count("\n") == 1, err
        assert f"another postenroll-sim run (process {holder.pid}) is writing here" in err
        assert "--wait" in err
        # the lock refuses, not the staging folder a second run may not have seen yet
        for entry in out.iterdir():
            shutil.rmtree(entry)
        code, _, err = cli("run", SCENARIO, "--out", out, "-q")
        assert code == 2 and "another postenroll-sim run is writing here" in err, err
    finally:
        holder.kill()  # killed: the kernel lets go of its lock
        holder.wait(timeout=DEADLINE)
    assert cli("run", SCENARIO, "--out", out, "-q")[0] == 0
    read_run(out)


def test_a_staging_folder_whose_process_id_was_reused_does_not_block(cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / f"{STAGING_PREFIX}1-abcd"  # process 1 is alive, and no run
    stale.mkdir()
    code, _, err = cli("run", SCENARIO, "--out", out, "-q")
    assert code == 0, err
    assert not stale.exists() and read_meta(out)["complete"]


@pytest.mark.skipif(not Path("/proc/locks").is_file(), reason="reads /proc/locks")
def test_wait_waits_for_the_run_holding_the_folder(cli, tmp_path):
    out = tmp_path / "out"
    holder = _hold(out)
    seen = []

    def release_once_waited_for() -> None:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline and not _waiting_on_a_lock(os.getpid()):
            time.sleep(0.02)
        seen.append(_waiting_on_a_lock(os.getpid()))
        holder.stdin.write("\n")
        holder.stdin.flush()

    releaser = threading.Thread(target=release_once_waited_for)
    releaser.start()
    try:
        code, _, err = cli("run", SCENARIO, "--out", out, "--wait", "-q")
    finally:
        releaser.join(DEADLINE)
        holder.kill()
        holder.wait(timeout=DEADLINE)
    assert seen == [True] and code == 0, err
    read_run(out)


@pytest.mark.skipif(not LINUX, reason="flock semantics checked on Linux")
def test_concurrent_runs_into_one_folder_never_mix(tmp_path):
    scenario = tmp_path / "random.yaml"
    scenario.write_text(RANDOM)
    out = tmp_path / "out"
    runs = {
        seed: subprocess.Popen(
            [sys.executable, "-m", "postenroll_sim", "run", str(scenario), "--out", str(out)]
            + ["--seed", str(seed), "--format", "csv", "-q", "--no-progress"]
            + (["--wait"] if seed == 1 else []),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for seed in (1, 2)
    }
    for seed, run in runs.items():
        _, err = run.communicate(timeout=DEADLINE * 2)
        if seed == 2 and run.returncode == 2:  # no --wait: refused while the other ran
            assert "another postenroll-sim run" in err and err.count("\n") == 1, err
        else:
            assert run.returncode == 0, err
    result, _ = read_run(out)  # complete, every listed file as recorded
    assert _names(out) == sorted(["run.json", *_listed(out)])
    # one run's tables, the one of the seed its run.json records: never a mix of two
    alone = simulate(load_scenario(scenario), seed=result.seed)
    for name in ("enrollments", "jobs", "events"):
        pd.testing.assert_frame_equal(getattr(result, name), getattr(alone, name))


# ----- a run's workers end with it -----------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent has not collected it


@pytest.mark.skipif(not LINUX, reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_killing_a_run_ends_its_workers_and_frees_the_callers_pipes(tmp_path, how):
    command = [
        sys.executable,
        "-m",
        "postenroll_sim",
        "run",
        str(ROOT / "scenarios" / "default.yaml"),
    ]
    command += ["--workers", "2", "--replications", "40", "--tables", "enrollments"]
    command += ["--out", str(tmp_path / "out"), "--no-progress", "-q"]
    parent = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    workers: list[int] = []
    try:
        deadline, mine = time.monotonic() + DEADLINE, b""
        while len(workers) < 2 and time.monotonic() < deadline and parent.poll() is None:
            time.sleep(0.05)
            mine = Path(f"/proc/{parent.pid}/cmdline").read_bytes()  # once it has exec'd
            workers = [  # forked: the same command line (the resource tracker has its own)
                pid
                for pid in _children(parent.pid)
                if Path(f"/proc/{pid}/cmdline").read_bytes() == mine
            ]
        assert len(workers) == 2, parent.poll()
        parent.send_signal(how)
        output = {}
        readers = [
            threading.Thread(target=lambda s=s, n=n: output.__setitem__(n, s.read()))
            for n, s in (("out", parent.stdout), ("err", parent.stderr))
        ]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(DEADLINE)
        assert not any(r.is_alive() for r in readers), "the caller's pipes never reached EOF"
        assert parent.wait(timeout=DEADLINE) == (143 if how == signal.SIGTERM else -how)
        deadline = time.monotonic() + DEADLINE
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_running(pid) for pid in workers)
        if how == signal.SIGTERM:
            assert output["err"].decode() == "postenroll-sim: terminated\n"
            assert not (tmp_path / "out").exists()  # the folder it made, removed again
    finally:  # whatever failed above, leave no process behind
        parent.kill()
        for pid in workers:
            with contextlib.suppress(OSError):  # still this run's worker (not a reused id)
                if _running(pid) and Path(f"/proc/{pid}/cmdline").read_bytes() == mine:
                    os.kill(pid, signal.SIGKILL)
        parent.wait(timeout=DEADLINE)


# ----- a tampered run.json is refused before it is used ---------------------------------


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """A complete CSV run folder, made once; each test tampers with a copy."""
    out = tmp_path_factory.mktemp("made") / "run"
    result = simulate(load_scenario(SCENARIO))
    result.write(out, format="csv", source=str(SCENARIO))
    return out


def _copy(folder: Path, where: Path) -> Path:
    copy = where / "run"
    shutil.copytree(folder, copy)
    return copy


def _rewrite(folder: Path, change) -> None:
    meta = json.loads((folder / "run.json").read_text())
    change(meta)
    (folder / "run.json").write_text(json.dumps(meta))


def _table_entry(meta: dict, table: str) -> dict:
    return next(item for item in meta["files"] if item.get("table") == table)


TAMPERED = {
    "replications: 10**12": (
        lambda m, x: m.update(replications=10**12),
        "replications: 1000000000000 is not a number of replications",
    ),
    "a file outside the folder": (
        lambda m, x: _table_entry(m, "sessions").update(name="../x/sessions.csv"),
        "files.3.name: '../x/sessions.csv' is not the name of a file postenroll-sim writes",
    ),
    "an absolute path": (
        lambda m, x: _table_entry(m, "sessions").update(name=str(x / "sessions.csv")),
        "is not the name of a file postenroll-sim writes",
    ),
    "replications as text": (lambda m, x: m.update(replications="3"), "replications: '3'"),
    "files as text": (lambda m, x: m.update(files="sessions.csv"), "files: not a list"),
    "a variant that is no mapping": (lambda m, x: m.update(variants=[1]), "variants.0:"),
    "an unknown dtype": (
        lambda m, x: _table_entry(m, "jobs")["columns"]["job_id"].update(dtype="complex128"),
        "dtype: 'complex128' is not one written",
    ),
    "a number column recorded as text": (
        lambda m, x: _table_entry(m, "jobs")["columns"]["replication"].update(dtype="str"),
        "columns.replication.dtype: 'str' is not a number column's dtype",
    ),
    "categories that are no ids": (
        lambda m, x: _table_entry(m, "jobs")["columns"]["rule_id"].update(categories=[1, 2]),
        "categories: not a list of ids",
    ),
    "a seed below zero": (lambda m, x: m.update(seed=-1), "seed: -1 is not a seed"),
    "a size that is no number": (
        lambda m, x: _table_entry(m, "jobs").update(bytes="12"),
        "bytes: '12' is not a size",
    ),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_tampered_run_json_is_refused_by_every_reader(cli, run_folder, tmp_path, case):
    change, words = TAMPERED[case]
    folder = _copy(run_folder, tmp_path)
    elsewhere = tmp_path / "x"  # what a path out of the folder would find: a valid table
    elsewhere.mkdir()
    shutil.copy(folder / "sessions.csv", elsewhere / "sessions.csv")
    _rewrite(folder, lambda meta: change(meta, elsewhere))
    for command in (("report", folder), ("graph", SCENARIO, "--run", folder)):
        code, out, err = cli(*command)
        assert code == 2 and err.count("\n") == 1 and words in err, (command, err)
        assert "Traceback" not in err and not (folder / "report.html").exists()
    with pytest.raises(OutputError, match="the folder was changed since the run"):
        read_run(folder)
    # a record the tool would not have written owns nothing: the folder is not reused ...
    code, _, err = cli("run", SCENARIO, "--out", folder, "-q")
    assert code == 2 and "known to be postenroll-sim's" in err and err.count("\n") == 1, err
    # ... unless forced, and then nothing it names outside the folder is touched
    assert cli("run", SCENARIO, "--out", folder, "--force", "-q")[0] == 0
    assert (elsewhere / "sessions.csv").is_file() and read_meta(folder)["complete"]


def test_csv_columns_without_a_recorded_dtype_read_as_their_kind(cli, run_folder, tmp_path):
    """Found by the fuzz below: with `columns` gone from the jobs' entry, its `replication`
    read as text and the first join of two tables was an internal error (exit 3)."""
    folder = _copy(run_folder, tmp_path)
    _rewrite(folder, lambda meta: _table_entry(meta, "jobs").pop("columns"))
    code, _, err = cli("graph", SCENARIO, "--run", folder)
    assert code == 0, err
    jobs = read_run(folder)[0].jobs
    assert pd.api.types.is_integer_dtype(jobs["replication"])
    assert pd.api.types.is_float_dtype(jobs["queued_day"])
    # categories that lack a value in the file would turn it into a null: refused instead
    _rewrite(
        folder,
        lambda meta: _table_entry(meta, "events")["columns"]["rule_id"].update(categories=["zz"]),
    )
    code, _, err = cli("graph", SCENARIO, "--run", folder)
    assert code == 2 and "rule_id holds values its recorded categories lack" in err, err


def test_a_listed_file_that_is_a_link_is_not_read(cli, run_folder, tmp_path):
    folder = _copy(run_folder, tmp_path)
    outside = tmp_path / "sessions.csv"
    (folder / "sessions.csv").rename(outside)  # same bytes, same checksum: only the place differs
    (folder / "sessions.csv").symlink_to(outside)
    code, _, err = cli("report", folder)
    assert code == 2 and "not a file the run wrote" in err and err.count("\n") == 1, err
    (folder / "run.json").unlink()
    (folder / "run.json").symlink_to(run_folder / "run.json")
    code, _, err = cli("report", folder)
    assert code == 2 and "run.json is not a file postenroll-sim wrote" in err, err


# Values a tampered run.json might hold: JSON of every kind, and the hostile ones.
_HOSTILE = st.sampled_from(
    ["../x/sessions.csv", "/etc/passwd", "sessions.csv", "report.html", "run.json", "category"]
    + ["datetime64[ns]", "complex128", 10**12, 2**128, -1, 0, "", "audit", "compare"]
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | _HOSTILE,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _places(value, path=()):
    """Every place in a run.json (keys and list items) a change could be made."""
    yield path
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, inner in items:
        if key != "scenario":  # the scenario is validated as a scenario: its own fuzz tests
            yield from _places(inner, (*path, key))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzz_tampered_run_json_is_exit_2_or_success(cli, run_folder, tmp_path_factory, data):
    folder = _copy(run_folder, tmp_path_factory.mktemp("fuzz"))
    meta = json.loads((folder / "run.json").read_text())
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        places = [p for p in _places(meta) if p]
        path = data.draw(st.sampled_from(places), label="where")
        parent = meta
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans(), label="remove") and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(_JSON, label="value")
    (folder / "run.json").write_text(json.dumps(meta))
    code, _, err = cli("graph", SCENARIO, "--run", folder)  # read_run: what every reader reads
    assert code in (0, 2) and "Traceback" not in err, (code, err)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("postenroll-sim: "), err
    # the claim of a folder (every writer's first step) judges the record too: the command
    # line says an OutputError in one line, exit 2
    try:
        OutputFolder.claim(folder).discard()
    except OutputError as exc:
        assert "\n" not in str(exc)
