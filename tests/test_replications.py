"""Replications and sweeps: the same tables whichever executor runs them."""

from __future__ import annotations

import re
import sys

import pandas as pd
import pytest

from postenroll_sim import simulate, simulate_replications
from postenroll_sim.run.runner import SerialExecutor, simulate_variants
from postenroll_sim.scenario import ScenarioError
from postenroll_sim.scenario.variants import variants

from helpers import ROOT, scenario

ORG = """
name: small org
horizon_days: 120
seed: 9
courses:
  - id: A
    type: online
    allow_failure: true
    behaviour: {start_after_days: {dist: exponential, mean: 3}, duration_days: {dist: gamma, mean: 2, cv: 1}, pass_rate: 0.8}
    post_enrollments:
      - {id: again, when: failed, delay_days: 2, courses: [A]}
      - {id: recert, when: completed, delay_days: 30, courses: [A], allow_consecutive: true}
population:
  initial: 60
  hires: {per_day: 0.5}
  attrition: {annual_rate: 0.3}
  on_hire: [{course: A}]
"""


def frames(result):
    return [result.enrollments, result.jobs, result.events, result.sessions]


def assert_same(a, b):
    for x, y in zip(frames(a), frames(b), strict=True):
        pd.testing.assert_frame_equal(x, y)


@pytest.fixture(scope="module")
def spec():
    return scenario(ORG)


@pytest.fixture(scope="module")
def serial(spec):
    return simulate_replications(spec, 4, executor=SerialExecutor())


def test_replications_are_independent_and_numbered(serial):
    e = serial.enrollments
    assert sorted(e["replication"].unique()) == [0, 1, 2, 3]
    counts = e.groupby("replication").size()
    assert counts.nunique() > 1  # different draws per replication
    assert isinstance(e["learner_id"].dtype, pd.CategoricalDtype)


def test_single_run_is_replication_zero(spec, serial):
    alone = simulate(spec)
    first = serial.enrollments[serial.enrollments["replication"] == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone.enrollments, first, check_categorical=False)


def test_process_pool_gives_identical_tables(spec, serial):
    assert_same(serial, simulate_replications(spec, 4, workers=2))


def test_dask_cluster_gives_identical_tables(spec, serial):
    distributed = pytest.importorskip("distributed")
    # workers in this process (threads): the Dask path of the runner (scheduler address,
    # client, futures) without starting two interpreters; results crossing processes are
    # the process pool's test above, schedulers out of reach tests/test_exit_codes.py's
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        assert_same(serial, simulate_replications(spec, 4, scheduler=cluster.scheduler_address))


def test_another_seed_gives_other_tables(spec, serial):
    other = simulate_replications(spec, 4, seed=10)
    assert not serial.enrollments.equals(other.enrollments)


def test_sweep_variants_share_seeds_and_label_rows(tmp_path):
    path = tmp_path / "org.yaml"
    path.write_text(ORG)
    found = variants(
        path, ["courses.A.post_enrollments.recert.delay_days=10,60", "population.initial=60"]
    )
    assert [label for label, _ in found] == [
        "delay_days=10, initial=60",
        "delay_days=60, initial=60",
    ]
    result = simulate_variants(found, replications=2)
    e = result.enrollments
    assert set(e["variant"].astype(str)) == {
        "delay_days=10, initial=60",
        "delay_days=60, initial=60",
    }
    # common random numbers: the same learners are hired on the same days in both variants
    hires = result.events[result.events["event"] == "learner_added"]
    by_variant = [
        g[["replication", "day", "learner_id"]].astype(str).reset_index(drop=True)
        for _, g in hires.groupby("variant", observed=True)
    ]
    pd.testing.assert_frame_equal(*by_variant)
    recert = result.jobs[result.jobs["rule_id"] == "recert"]
    gaps = (
        (recert["due_day"] - recert["queued_day"])
        .round(9)
        .groupby(recert["variant"], observed=True)
        .unique()
    )
    assert {k: list(v) for k, v in gaps.items()} == {
        "delay_days=10, initial=60": [10.0],
        "delay_days=60, initial=60": [60.0],
    }


def test_sweep_errors_are_clear(tmp_path):
    path = tmp_path / "org.yaml"
    path.write_text(ORG)
    with pytest.raises(ScenarioError, match="no item with id or index 'B'"):
        variants(path, ["courses.B.behaviour.pass_rate=0.5"])
    with pytest.raises(
        ScenarioError,
        match=r"pass_rate: Input should be less than or equal to 1, got 1.5 \(with pass_rate=1.5\)",
    ):
        variants(path, ["courses.A.behaviour.pass_rate=0.5,1.5"])


CERTIFIED = """\
name: fire certificate
horizon_days: 100
courses:
  - id: FIRE
    type: online
    certificate: {valid_for: {days: 90}, reenroll_before: {days: 10}}
learners: [ana]
script:
  - {day: 0, action: enroll, learner: ana, course: FIRE}
  - {day: 5, action: complete, learner: ana, course: FIRE}
"""


def test_a_sweep_sets_a_certificate_setting(tmp_path):
    """`--set courses.FIRE.certificate.reenroll_before.days=...`: a nested period (S34).
    ana's certificate expires on day 5 + 90 = 95; the re-enrollment job is due the
    window before it, and each variant is labelled with the period it sets."""
    path = tmp_path / "fire.yaml"
    path.write_text(CERTIFIED)
    found = variants(path, ["courses.FIRE.certificate.reenroll_before.days=14,30,60"])
    assert [label for label, _ in found] == [
        "reenroll_before.days=14",
        "reenroll_before.days=30",
        "reenroll_before.days=60",
    ]
    jobs = simulate_variants(found).jobs
    renewals = jobs[jobs["kind"] == "re_enrollment"]
    assert dict(zip(renewals["variant"].astype(str), renewals["due_day"], strict=True)) == {
        "reenroll_before.days=14": 81.0,
        "reenroll_before.days=30": 65.0,
        "reenroll_before.days=60": 35.0,
    }


def test_a_bad_certificate_path_in_a_sweep_is_a_clear_error(tmp_path):
    path = tmp_path / "fire.yaml"
    path.write_text(CERTIFIED)
    with pytest.raises(
        ScenarioError, match=r"no key 'renew_before' here \(did you mean 'reenroll_before'\?\)"
    ):
        variants(path, ["courses.FIRE.certificate.renew_before.days=14"])
    with pytest.raises(
        ScenarioError, match=r"reenroll_before.days is a value \(10\), not a mapping or a list"
    ):
        variants(path, ["courses.FIRE.certificate.reenroll_before.days.x=14"])
    with pytest.raises(
        ScenarioError, match=r"must be shorter than valid_for .*\(with reenroll_before.days=90\)"
    ):
        variants(path, ["courses.FIRE.certificate.reenroll_before.days=30,90"])


def test_sweep_command(cli, tmp_path, sketched_figures):
    path = tmp_path / "org.yaml"
    path.write_text(ORG)
    proc = cli(
        "sweep",
        path,
        "--set",
        "courses.A.behaviour.pass_rate=0.5,0.9",
        "--replications",
        "2",
        "--out",
        tmp_path / "out",
        "--format",
        "csv",
        "--no-progress",
        "--report",
    )
    assert proc.returncode == 0, proc.stderr
    assert "pass_rate=0.5" in proc.stdout and "pass_rate=0.9" in proc.stdout
    assert "each variant on its own" in proc.stdout and "enrollments 5-95%" in proc.stdout
    # the report compares the variants; `report` on the sweep's folder makes the same page
    from postenroll_sim.report.build import write_report

    page = (tmp_path / "out" / "report.html").read_text()
    (tmp_path / "out" / "report.html").unlink()
    for text in (page, write_report(tmp_path / "out").read_text()):
        assert "2 variants compared" in text and "Key numbers side by side" in text
        assert "Difference against the first variant (pass_rate=0.5)" in text
        assert "pass_rate=0.9 minus pass_rate=0.5" in text and "Compliance: A" in text
    jobs = pd.read_csv(tmp_path / "out" / "jobs.csv")
    assert set(jobs["variant"]) == {"pass_rate=0.5", "pass_rate=0.9"}
    failed_share = jobs[jobs["rule_id"] == "again"].groupby("variant").size()
    assert failed_share["pass_rate=0.5"] > failed_share["pass_rate=0.9"]
    bad = cli("sweep", path, "--set", "nonsense")
    assert (
        bad.returncode == 2
        and "expected PATH=V1,V2" in bad.stderr
        and "Traceback" not in bad.stderr
    )


def test_every_library_scenario_runs():
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        result = simulate(scenario(path.read_text()))
        assert len(result.enrollments) > 0, path


def test_stacking_replications_unites_categories_in_order_and_keeps_codes():
    """Replications generate different learners: the stacked id column stays categorical,
    its categories are every replication's in order of first appearance, values unchanged."""
    import pandas as pd

    from postenroll_sim.run.runner import concat

    def frame(replication, learners, values):
        categories = pd.Index(learners, dtype="str")
        return pd.DataFrame(
            {
                "replication": [replication] * len(values),
                "learner_id": pd.Categorical(values, categories=categories),
                "course_id": pd.Categorical(["A"] * len(values), categories=["A", "B"]),
            }
        )

    first = frame(0, ["L1", "L2", "L3"], ["L3", "L1"])
    second = frame(1, ["L1", "L4"], ["L4", "L1", "L4"])
    stacked = concat([first, second])
    assert isinstance(stacked["learner_id"].dtype, pd.CategoricalDtype)
    assert list(stacked["learner_id"].cat.categories) == ["L1", "L2", "L3", "L4"]
    assert stacked["learner_id"].astype(str).tolist() == ["L3", "L1", "L4", "L1", "L4"]
    assert stacked["course_id"].dtype == first["course_id"].dtype  # equal categories: untouched
    assert stacked["replication"].tolist() == [0, 0, 1, 1, 1]


def test_the_summary_gives_the_spread_across_replications(spec):
    from postenroll_sim.run.summary import summary_text

    text = summary_text(simulate_replications(spec, 3), "org.yaml")
    assert "3 replications: mean per replication (5-95% across replications)" in text
    assert re.search(r"enrollments \d+ \(5-95%: \d+-\d+\)", text)
    assert "total 5-95%" in text and "outcomes 5-95%" in text
    single = summary_text(simulate(spec), "org.yaml")
    assert "5-95%" not in single


def test_long_steps_say_what_they_do_on_a_terminal_only():
    import io

    from postenroll_sim.run.progress import Status

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen, pipe = Terminal(), io.StringIO()
    for stream in (screen, pipe):
        status = Status(True, stream)
        status("building tables")
        status("report: recertification load")
        status.done()
    assert (
        "building tables" in screen.getvalue()
        and "report: recertification load" in screen.getvalue()
    )
    assert screen.getvalue().endswith("\r\x1b[K")  # the line is cleared when done
    assert pipe.getvalue() == ""  # never into a pipe or a log
    quiet = Terminal()
    Status(False, quiet)("building tables")  # --no-progress
    assert quiet.getvalue() == ""


def test_a_single_run_says_when_it_builds_its_tables(spec, monkeypatch):
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    simulate(spec, progress=True)
    assert "day 120/120" in screen.getvalue() and "building tables" in screen.getvalue()
