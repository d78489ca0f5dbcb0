"""The HTML report and the figures: rendered for every bundled scenario."""

from __future__ import annotations

import base64
import re
import subprocess
import sys

import pytest

from postenroll_sim import analysis as A
from postenroll_sim import plots as P
from postenroll_sim import simulate_replications
from postenroll_sim.report import learning_path, read_run, recertifications, write_report

from conftest import ROOT, scenario

LIBRARY = sorted((ROOT / "scenarios").glob("*.yaml"))
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_report_renders_for_every_bundled_scenario(path, tmp_path):
    spec = scenario(path.read_text())
    result = simulate_replications(spec, 2)
    result.write(tmp_path, source=str(path))
    page = write_report(tmp_path).read_text()
    assert f"<h1>{spec.name}</h1>" in page.replace("&#x27;", "'")
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert len(images) >= 3
    assert all(base64.b64decode(i).startswith(PNG) for i in images)
    assert "At a glance" in page and "What each rule did" in page
    assert ">nan<" not in page.lower()


def test_report_finds_paths_recertification_and_sessions():
    spec = scenario((ROOT / "scenarios" / "default.yaml").read_text())
    assert learning_path(spec) == ["ONB-101", "SAFE-201", "COMP-CUR"]
    assert recertifications(spec) == {"COMP-CUR": 365.0}


def test_run_report_and_report_command(tmp_path):
    path = ROOT / "scenarios" / "ilc-capacity-under-recertification.yaml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "postenroll_sim",
            "run",
            str(path),
            "--out",
            str(tmp_path),
            "--report",
            "-q",
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "report.html").read_text()
    assert "Instructor-led sessions" in page and "Compliance: FIRST-AID" in page
    (tmp_path / "report.html").unlink()
    again = subprocess.run(
        [sys.executable, "-m", "postenroll_sim", "report", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0 and (tmp_path / "report.html").exists()
    result, source = read_run(tmp_path)
    assert source == str(path) and result.scenario.name.startswith("ILC capacity")
    empty = subprocess.run(
        [sys.executable, "-m", "postenroll_sim", "report", str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
    )
    assert (
        empty.returncode == 2
        and "no such folder" in empty.stderr
        and "Traceback" not in empty.stderr
    )


def test_every_figure_has_a_title_and_labelled_axes(tmp_path):
    spec = scenario((ROOT / "scenarios" / "default.yaml").read_text())
    r = simulate_replications(spec, 2)
    h, start = spec.horizon_days, spec.start_date
    colors = P.course_colors([c.id for c in spec.courses])
    timing = A.learning_path_timing(r.enrollments, ["ONB-101", "SAFE-201"], h)
    figures = [
        P.completion_curves(A.completion_curve(timing), 2, colors),
        P.stacked_volume(
            A.enrollment_volume(r.enrollments, h), start_date=start, colors=colors, replications=2
        ),
        P.recertification_bars(A.recertification_load(r.enrollments, h), 7, start, colors, 2),
        P.compliance_curve(
            A.compliance(r.enrollments, r.events, ["COMP-CUR"], 365, h, 30),
            365,
            ["COMP-CUR"],
            start,
            2,
        ),
        P.backlog_curve(A.job_backlog(r.jobs, h, 7), start, 2),
        P.rule_outcome_bars(A.rule_outcomes(r.jobs), 2),
        P.learner_gantt(
            A.learner_timeline(r.enrollments, r.jobs, "L0000001", 0, h), "L0000001", colors, start
        ),
        P.seat_utilisation_bars(A.seat_utilisation(r.sessions), start, colors),
        P.wait_histogram(A.session_waits(r.events, r.enrollments)),
    ]
    for i, fig in enumerate(figures):
        ax = fig.axes[0]
        assert ax.get_title(loc="left").strip(), i
        assert ax.get_ylabel() or ax.get_yticklabels(), i
        fig.savefig(tmp_path / f"{i}.png")
        assert (tmp_path / f"{i}.png").read_bytes().startswith(PNG)
    # the same course has the same colour in every figure
    assert colors["ONB-101"] == P.course_colors([c.id for c in spec.courses])["ONB-101"]
