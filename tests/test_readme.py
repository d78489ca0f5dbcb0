"""The README's commands and Python example work as written."""

from __future__ import annotations

import glob
import re
import shlex
import subprocess
import sys

import pytest

from helpers import ROOT, CliResult

README = (ROOT / "README.md").read_text()
BIN = f"{sys.executable.rsplit('/', 1)[0]}/"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def _console_commands() -> list[str]:
    commands = []
    for block in _blocks("console"):
        for line in block.splitlines():
            line = line.removeprefix("$ ")
            if line.startswith(".venv/bin/postenroll-sim"):
                commands.append(line.split("  #")[0])
    return commands


COMMANDS = _console_commands()


def test_the_readme_shows_commands():
    assert len(COMMANDS) >= 4


def _run_as_typed(command: str, cli) -> CliResult:
    """A README line run as the shell would (`&&` chains, globs), each `postenroll-sim`
    through the command line's own `main` in this process (the installed executable is
    run for real in tests/test_cli.py): what it prints and its exit code."""
    out, err = [], []
    for part in command.split("&&"):
        words = shlex.split(part)
        assert words[0] == ".venv/bin/postenroll-sim", command
        args = [w for word in words[1:] for w in (sorted(glob.glob(word, root_dir=ROOT)) or [word])]
        proc = cli(*args, cwd=ROOT)
        out.append(proc.stdout)
        err.append(proc.stderr)
        if proc.returncode != 0:
            break
    return CliResult(proc.returncode, "".join(out), "".join(err))


@pytest.mark.parametrize("command", COMMANDS)  # one test each: the suite runs them in parallel
def test_readme_console_command_runs(command, tmp_path, cli):
    command = command.replace("--out out", f"--out {tmp_path}/out")
    command = command.replace("--run out", f"--run {tmp_path}/out")
    command = command.replace("--out docs/scenario.schema.json", f"--out {tmp_path}/schema.json")
    proc = _run_as_typed(command, cli)
    # the examples of what goes wrong: an invalid scenario (2), a lint finding (1), and
    # `audit` of the example (1: it finds the discrepancies the example holds)
    shown_in = {
        "ten-mistakes": (2, proc.stderr),
        "repeat-failure": (1, proc.stdout),
        " audit examples/": (1, proc.stdout),
    }
    example = next((name for name in shown_in if name in command), None)
    expected, output = shown_in.get(example, (0, ""))
    assert proc.returncode == expected, f"{command}\n{proc.stdout}\n{proc.stderr}"
    if " audit " in command:
        assert "3 discrepancies: 1 missing, 1 unexpected, 1 off-time" in proc.stdout
        assert (tmp_path / "out" / "audit" / "report.html").exists()
    elif " compare " in command:  # the excerpt the README shows is what it prints
        (shown,) = [b for b in _blocks("text") if "What differs (B against A)" in b]
        for line in shown.splitlines():
            if line.strip() != "...":
                assert line in proc.stdout.splitlines(), line
        assert (tmp_path / "out" / "compare" / "report.html").exists()
    elif example:
        shown = [b for b in _blocks("console") if example in b][0]
        for line in shown.splitlines()[1:]:
            if line.startswith(("tests/", "    fix:")):
                assert line in output


def test_readme_python_example_runs(tmp_path, monkeypatch):
    (code,) = _blocks("python")
    monkeypatch.chdir(ROOT)
    code = code.replace('result.write("out"', f'result.write("{tmp_path}/out"')
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "out" / "enrollments.csv").exists()


def test_readme_yaml_example_passes_its_expectations(tmp_path):
    (example,) = [b for b in _blocks("yaml") if "name:" in b]
    path = tmp_path / "example.yaml"
    path.write_text(example)
    proc = subprocess.run(
        [sys.executable, "-m", "postenroll_sim", "check", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
