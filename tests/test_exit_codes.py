"""No traceback reaches a user: every failure has its exit code and a one-line reason."""

from __future__ import annotations

import pytest

from postenroll_sim.run import runner

from helpers import ROOT

SCENARIO = ROOT / "tests" / "acceptance" / "01-seed-completed-delay.yaml"
SCRIPT_ERROR = (
    "name: x\nhorizon_days: 3\ncourses: [{id: A, type: online}]\nlearners: [ana]\n"
    "script:\n  - {day: 1, action: start, learner: ana, course: A}\n"
)


def test_an_internal_error_is_exit_3_with_a_hint_and_debug_shows_the_traceback(
    cli, tmp_path, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(runner, "simulate_into", broken)
    code, _, err = cli("run", SCENARIO, "--out", tmp_path / "out", "-q")
    assert code == 3 and "internal error: RuntimeError: boom" in err and "report" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # the folder made for the run is gone again
    code, _, err = cli("--debug", "run", SCENARIO, "--out", tmp_path / "out", "-q")
    assert code == 3 and "Traceback" in err


def test_a_run_time_script_error_in_a_worker_process_is_located(cli, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(SCRIPT_ERROR)
    args = ("--replications", "2", "--workers", "2", "--out", tmp_path / "out", "-q")
    code, _, err = cli("run", path, *args)
    assert code == 2 and "BrokenProcessPool" not in err
    assert err.strip().splitlines()[0] == (
        f"{path}:6: script.0: day 1: start ana A: cannot start: the learner has no enrollment "
        "in this course"
    )


def test_ctrl_c_stops_serial_replications_at_once(cli, tmp_path, monkeypatch):
    calls = []

    def interrupted(task):
        calls.append(task.replication)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_task", interrupted)
    code, _, err = cli("run", SCENARIO, "--replications", "5", "--out", tmp_path / "o", "-q")
    assert code == 130 and "interrupted" in err and calls == [0]
    assert not (tmp_path / "o").exists()


def test_an_unreachable_dask_scheduler_is_a_one_line_error(cli, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(runner, "MAX_SCHEDULER_WAIT", 1)
    code, _, err = cli(
        "run", SCENARIO, "--scheduler", "tcp://127.0.0.1:9", "--out", tmp_path / "o", "-q"
    )
    assert code == 2 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("address", ["tcp://", "foo:bar:baz", ":99999", "tcp://h:99999"])
def test_a_malformed_scheduler_address_is_a_one_line_error(cli, tmp_path, address):
    pytest.importorskip("distributed")
    code, _, err = cli("run", SCENARIO, "--scheduler", address, "--out", tmp_path / "o", "-q")
    assert code == 2 and err.startswith(f"postenroll-sim: --scheduler {address}: ")
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_a_server_that_is_not_a_dask_scheduler_fails_within_the_wait(cli, tmp_path, monkeypatch):
    """A port that accepts and never answers: Dask's timeout covers reaching the port only,
    so this used to wait for ever, with no message."""
    pytest.importorskip("distributed")
    import socket

    monkeypatch.setattr(runner, "MAX_SCHEDULER_WAIT", 1)
    with socket.create_server(("127.0.0.1", 0)) as server:
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        code, _, err = cli("run", SCENARIO, "--scheduler", address, "--out", tmp_path / "o", "-q")
    assert code == 2 and "Traceback" not in err
    assert err.strip() == (
        f"postenroll-sim: cannot reach the Dask scheduler at {address} within 1 s "
        "(is it a Dask scheduler?)"
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("run", SCENARIO, "--replications", str(10**30)), "--replications"),
        (("run", SCENARIO, "--seed", "-1"), "--seed"),
        (("run", "missing.yaml"), "no such scenario file"),
        (("lint", "missing.yaml"), "no such scenario file"),
    ],
)
def test_bad_arguments_are_exit_2(cli, args, words):
    code, _, err = cli(*args)
    assert code == 2 and words in err and "Traceback" not in err


def test_workers_are_capped_at_tasks_and_cpus(cli, tmp_path, monkeypatch):
    started = []
    real = runner.ProcessPoolExecutor

    def counting(max_workers, **options):  # options: the workers' initializer
        started.append(max_workers)
        return real(max_workers=max_workers, **options)

    monkeypatch.setattr(runner, "ProcessPoolExecutor", counting)
    monkeypatch.setattr(runner.os, "cpu_count", lambda: 2)
    code, _, err = cli(
        "run", SCENARIO, "--replications", "2", "--workers", "1000", "--out", tmp_path / "o", "-q"
    )
    assert code == 0 and started == [2] and "using 2 workers" in err


def test_check_on_a_file_that_is_not_utf8(cli, tmp_path):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(
        "name: caf\xe9\nhorizon_days: 3\ncourses: [{id: A, type: online}]\n".encode("latin-1")
    )
    code, out, err = cli("check", latin)
    assert code == 2 and f"{latin}" in err and "utf-8" in err.lower() and "Traceback" not in err


def test_a_cluster_lost_while_waiting_stops_the_run(monkeypatch):
    """A lost Dask scheduler closes its client; the futures then never finish (or are
    cancelled). run_tasks notices instead of waiting forever."""
    from concurrent.futures import Executor, Future

    class Lost(Executor):
        def __init__(self, cancel: bool):
            self.cancel, self.checks = cancel, 0
            self.lost_message = "lost the Dask scheduler at tcp://x"

        def lost(self):
            self.checks += 1
            return True

        def submit(self, fn, /, *args, **kwargs):
            future = Future()
            if self.cancel:
                future.cancel()
            return future  # never finishes

    monkeypatch.setattr(runner, "WAIT_STEP", 0.01)
    tasks = [runner.Task(None, None, 0)]
    for cancel in (False, True):
        with pytest.raises(runner.SchedulerError, match="lost the Dask scheduler"):
            runner.run_tasks(tasks, Lost(cancel))


def test_an_out_folder_through_a_symlink_loop_is_a_one_line_error(cli, tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    for out in (tmp_path / "a", tmp_path / "a" / "x"):
        code, _, err = cli("run", SCENARIO, "--out", out, "-q")
        assert code == 2 and "internal error" not in err, err
        assert len(err.strip().splitlines()) == 1 and "loop" in err.lower()


@pytest.mark.parametrize(
    "command", ["run", "lint", "check", "audit", "calibrate", "backtest", "infer", "preview"]
)
def test_a_path_that_is_not_utf8_is_a_one_line_error(cli, tmp_path, command):
    """Bytes that are not UTF-8 reach Python as surrogates (surrogateescape), which no
    writer can encode: `--out` of such a name was an internal error."""
    name = str(tmp_path) + "/\udcffout"
    args = {
        "run": ("run", SCENARIO, "--out", name, "-q"),
        "lint": ("lint", name),
        "check": ("check", name),
        "audit": ("audit", SCENARIO, name),
        "calibrate": ("calibrate", name, "--scenario", SCENARIO),
        "backtest": ("backtest", name, "--cut", "2027-01-01"),
        "infer": ("infer", name),
        "preview": ("preview", name),
    }[command]
    code, _, err = cli(*args)
    assert code == 2 and err.strip().endswith(
        "is not valid UTF-8: give paths and values as UTF-8 text (rename the file)"
    )
    assert len(err.strip().splitlines()) == 1


def test_sweep_refuses_seed_both_set_and_given(cli, tmp_path):
    """`--set seed=1,2 --seed 9` ran two identical variants labelled as different seeds."""
    code, _, err = cli("sweep", SCENARIO, "--set", "seed=1,2", "--seed", "9", "--out", tmp_path)
    assert code == 2 and "--seed and --set seed=... both choose the seed" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "command",
    ["run", "lint", "graph", "check", "audit", "calibrate", "backtest", "infer", "preview"],
)
def test_a_fifo_or_dev_null_is_not_a_regular_file(cli, tmp_path, command):
    import os

    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/null"):
        args = (
            (command, SCENARIO, path)
            if command == "audit"
            else (command, path, "--scenario", SCENARIO)
            if command == "calibrate"
            else (command, path, "--cut", "2027-01-01")
            if command == "backtest"
            else (command, path)
        )
        code, _, err = cli(*args)
        assert code == 2 and f"{path}" in err and "not a regular file" in err, err
        assert "no such" not in err


def test_a_history_of_many_bad_rows_prints_the_first_50_and_a_count(cli, tmp_path):
    history = tmp_path / "history.csv"
    history.write_text("learner,course,method,enrolled_day\n" + "ana,NOPE,admin,0\n" * 120)
    code, _, err = cli("audit", ROOT / "examples" / "audit" / "scenario.yaml", history)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 51 and lines[-1] == "... and 70 more problems"
    assert all(line.startswith(f"{history}:") for line in lines[:50])


def test_sigint_of_a_real_run_exits_130_with_one_line(tmp_path):
    """The exit-code table's 130: Ctrl-C (SIGINT) of a running `run`, in a real process
    (the in-process tests raise KeyboardInterrupt themselves)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    args = [sys.executable, "-m", "postenroll_sim", "run", ROOT / "scenarios" / "default.yaml"]
    args += ["--replications", "500", "--out", out, "-q", "--no-progress"]
    process = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # a pytest-xdist worker ignores SIGINT, and an ignored signal stays ignored in its
        # children: give the run the default disposition a terminal's Ctrl-C meets
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not out.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the folder is claimed once the command has loaded: it runs
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip() == "postenroll-sim: interrupted"
    assert not out.exists()  # nothing was written


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("name", ["rules.svg", "rules.md", "schema.json"])
def test_a_full_disk_names_the_file_it_could_not_write(cli, tmp_path, name):
    """A full disk's OSError has no file name: the message was only 'No space left on
    device'. /dev/full is a real full device."""
    target = tmp_path / name
    target.symlink_to("/dev/full")
    args = ("schema",) if name == "schema.json" else ("graph", SCENARIO)
    code, _, err = cli(*args, "--out", target)
    assert (
        code == 2
        and err.strip() == f"postenroll-sim: cannot write {target}: No space left on device"
    )


def test_a_full_disk_while_staging_tables_names_the_folder(cli, tmp_path, monkeypatch):
    import errno
    import os

    import pandas as pd

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    out = tmp_path / "out"
    code, _, err = cli(
        "run", SCENARIO, "--replications", "2", "--format", "csv", "--out", out, "-q"
    )
    assert (
        code == 2
        and err.strip() == f"postenroll-sim: cannot write to {out}: No space left on device"
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("graph", SCENARIO, "--out", ""), "--out is empty: name a file"),  # was exit 3
        (("graph", SCENARIO, "--run", ""), "--run is empty: name a folder"),  # was ignored
        (("schema", "--out", ""), "--out is empty: name a file"),  # was stdout
        (("check", ""), "SCENARIOS is empty"),  # checked every file of the current folder
        (("report", ""), "OUTDIR is empty: name a folder"),  # read the current folder
        (("run", SCENARIO, "--out", ""), "--out is empty"),
        (("compare", SCENARIO, ""), "B is empty: name a file"),
    ],
)
def test_an_empty_path_is_a_one_line_error(cli, tmp_path, args, words):
    """Found by the random command lines once they drew `graph`, `report` and `schema`."""
    code, out, err = cli(*args, cwd=tmp_path)
    assert code == 2 and err.startswith("postenroll-sim: ")
    assert words in err and err.count("\n") == 1 and not list(tmp_path.iterdir()), err
