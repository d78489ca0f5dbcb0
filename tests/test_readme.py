"""The README's commands and Python example work as written: the tour, followed literally
in the order written, in one fresh copy of the repository's files."""

from __future__ import annotations

import glob
import re
import shlex
import shutil
from pathlib import PurePosixPath

import pytest

from postenroll_sim.report.build import read_run

from helpers import ROOT, CliResult, assert_run_report

README = (ROOT / "README.md").read_text()
# what the tour's commands read (and `schema --out docs/...` writes): a fresh clone's files
CLONE = ("scenarios", "examples", "tests/scenarios", "tests/acceptance", "docs")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def _tour() -> list[tuple[str, str]]:
    """Every `postenroll-sim` command line and Python block of the README, in order."""
    steps = []
    for lang, block in re.findall(r"```(console|python)\n(.*?)```", README, flags=re.S):
        if lang == "python":
            steps.append(("python", block))
            continue
        for line in block.splitlines():
            line = line.removeprefix("$ ")
            if line.startswith(".venv/bin/postenroll-sim"):
                steps.append(("console", line.split("  #")[0]))
    return steps


TOUR = _tour()
COMMANDS = [step for kind, step in TOUR if kind == "console"]


def test_the_readme_shows_commands():
    assert len(COMMANDS) >= 4 and any(kind == "python" for kind, _ in TOUR)


def _outs(command: str) -> list[str]:
    return re.findall(r"--out (\S+)", command)


def test_each_step_of_the_tour_writes_a_folder_of_its_own():
    """No step writes into another's folder: not the demo's (`make demo`), not a later
    run over an earlier one, and no file into a run's folder."""
    (demo,) = re.findall(r"postenroll-sim run --out (\S+)", (ROOT / "Makefile").read_text())
    folders, files = [demo], []
    for command in COMMANDS:
        for part in command.split("&&"):
            outs = _outs(part)
            (files if " graph " in part or " schema " in part else folders).extend(outs)
    folders += [m for m in re.findall(r'result\.write\("([^"]+)"', README)]
    paths = [PurePosixPath(f) for f in folders]
    assert len(set(paths)) == len(paths), folders
    for a in paths:
        assert not any(a != b and a.is_relative_to(b) for b in paths), (a, folders)
        assert not any(PurePosixPath(f).is_relative_to(a) for f in files), (a, files)


def _run_as_typed(command: str, cli, cwd) -> CliResult:
    """A README line run as the shell would (`&&` chains, globs), each `postenroll-sim`
    through the command line's own `main` in this process (the installed executable is
    run for real in tests/test_cli.py): what it prints and its exit code."""
    out, err = [], []
    for part in command.split("&&"):
        words = shlex.split(part)
        assert words[0] == ".venv/bin/postenroll-sim", command
        args = [w for word in words[1:] for w in (sorted(glob.glob(word, root_dir=cwd)) or [word])]
        proc = cli(*args, cwd=cwd)
        out.append(proc.stdout)
        err.append(proc.stderr)
        if proc.returncode != 0:
            break
    return CliResult(proc.returncode, "".join(out), "".join(err))


# the examples of what goes wrong: an invalid scenario (2), a lint finding (1), and
# `audit` of the example (1: it finds the discrepancies the example holds)
SHOWN = {"ten-mistakes": 2, "repeat-failure": 1, " audit examples/": 1}


def _reads(step: str, folder: str) -> bool:
    """Whether a step reads what another wrote into `folder` (a word that names it or a
    path inside it, other than the step's own --out)."""
    words = step.split()
    given = [w for i, w in enumerate(words) if i == 0 or words[i - 1] != "--out"]
    return any(PurePosixPath(w.strip("'\"")).is_relative_to(folder) for w in given)


def _chains(tour: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """The tour cut where no step reads an earlier one's folder: each chain holds the
    steps that read each other's output, in the order written, so that the chains can
    run side by side (test_each_step_of_the_tour_writes_a_folder_of_its_own shows no two
    steps write one folder, so a chain sees what it would in the whole tour)."""
    chains: list[list[tuple[str, str]]] = []
    wrote: list[tuple[str, int]] = []  # (folder, its chain)
    for kind, step in tour:
        outs = re.findall(r'result\.write\("([^"]+)"', step) if kind == "python" else _outs(step)
        found = sorted({c for folder, c in wrote if kind == "console" and _reads(step, folder)})
        if len(found) > 1:  # one step reading two chains joins them
            for other in found[1:]:
                chains[found[0]] += chains[other]
                chains[other] = []
            wrote = [(f, found[0] if c in found else c) for f, c in wrote]
        if found:
            chain = found[0]
            chains[chain].append((kind, step))
        else:
            chain = len(chains)
            chains.append([(kind, step)])
        wrote += [(PurePosixPath(folder), chain) for folder in outs]
    return [chain for chain in chains if chain]


CHAINS = _chains(TOUR)


def test_the_tour_is_cut_only_where_no_step_reads_another():
    assert sorted(step for chain in CHAINS for step in chain) == sorted(TOUR)
    for chain in CHAINS:  # the order written, within each chain
        assert [TOUR.index(step) for step in chain] == sorted(TOUR.index(s) for s in chain)
    (report,) = [c for c in CHAINS if any(" report out/showcase" in s for _, s in c)]
    assert report[0][1].startswith(".venv/bin/postenroll-sim run scenarios/showcase.yaml")
    assert len(CHAINS) > 1


@pytest.mark.parametrize(
    "chain",
    CHAINS,
    ids=[
        f"{TOUR.index(c[0]) + 1}-{'python' if c[0][0] == 'python' else c[0][1].split()[1]}"
        for c in CHAINS
    ],
)
def test_the_tour_runs_in_the_order_written(chain, tmp_path, cli, monkeypatch):
    """One pass, as a reader follows it from a fresh clone: each command's exit code and
    the output the README shows, with every earlier step's folder still in place (the
    tour's chains run side by side, each in its own copy)."""
    for part in CLONE:
        shutil.copytree(ROOT / part, tmp_path / part)
    for kind, step in chain:
        if kind == "python":
            with monkeypatch.context() as scoped:
                scoped.chdir(tmp_path)
                exec(compile(step, "README.md", "exec"), {})
            continue
        proc = _run_as_typed(step, cli, tmp_path)
        example = next((name for name in SHOWN if name in step), None)
        expected = SHOWN.get(example, 0)
        assert proc.returncode == expected, f"{step}\n{proc.stdout}\n{proc.stderr}"
        for out in _outs(step):  # what it promised to write is there
            assert (tmp_path / out).exists(), step
        if " audit " in step:
            assert "3 discrepancies: 1 missing, 1 unexpected, 1 off-time" in proc.stdout
            assert (tmp_path / "out" / "audit" / "report.html").exists()
        elif " backtest " in step:  # the coverage line the README shows is what it prints
            (shown,) = [b for b in _blocks("text") if b.startswith("coverage ")]
            assert shown.strip() in proc.stdout.splitlines()
            assert (tmp_path / "out" / "backtest" / "report.html").exists()
        elif " compare " in step:  # the excerpt the README shows is what it prints
            (shown,) = [b for b in _blocks("text") if "What differs (B against A)" in b]
            for line in shown.splitlines():
                if line.strip() != "...":
                    assert line in proc.stdout.splitlines(), line
        elif " report " in step or (" run " in step and step.endswith("--report")):
            folder = tmp_path / (step.split()[2] if " report " in step else _outs(step)[0])
            result, _ = read_run(folder)  # the run's own page, checked as test_report does
            assert_run_report((folder / "report.html").read_text(), result.scenario.name)
        elif example in ("ten-mistakes", "repeat-failure"):
            output = proc.stderr if example == "ten-mistakes" else proc.stdout
            shown = [b for b in _blocks("console") if example in b][0]
            for line in shown.splitlines()[1:]:
                if line.startswith(("tests/", "    fix:")):
                    assert line in output
    if any(kind == "python" for kind, _ in chain):
        assert (tmp_path / "out" / "python" / "enrollments.csv").exists()  # the Python step


def test_readme_yaml_example_passes_its_expectations(tmp_path, cli):
    (example,) = [b for b in _blocks("yaml") if "name:" in b]
    path = tmp_path / "example.yaml"
    path.write_text(example)
    proc = cli("check", path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
