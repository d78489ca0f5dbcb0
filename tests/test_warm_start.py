"""The warm start (S39-S41): a run that starts from an LMS history cut at day 0.

Deterministic tests on examples/warm-start (a certificate, a job queued before day 0 and
due after, a job due before day 0, an export's own expiry, a removed learner, a record
open at day 0, a learner with no enrollment), located errors, and the split-run
property: a simulated organisation's history, warm-started at day D, forecasts the
second period's monthly counts within its 5-95% band about 90% of the time, and does
not without S40's conditioning.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from postenroll_sim import load_scenario, simulate
from postenroll_sim.engine import recorder, warm
from postenroll_sim.history.warm import cut_scenario, model_for, warm_start_of
from postenroll_sim.qa.audit import history_from_enrollments, write_history
from postenroll_sim.run.lightrun import replication_seeds
from postenroll_sim.scenario import ScenarioError, parse_scenario, stochastic
from postenroll_sim.scenario.models import Scenario

EXAMPLE = Path(__file__).parent.parent / "examples" / "warm-start"


@pytest.fixture(scope="module")
def example():
    scenario = load_scenario(EXAMPLE / "scenario.yaml")
    model = model_for(scenario)
    model.run()
    tables = recorder.tables(model, start_date=scenario.start_date)
    return scenario, model, tables


def _row(frame, **where):
    found = frame
    for column, value in where.items():
        found = found[found[column].astype("str") == value]
    assert len(found) == 1, (where, found)
    return found.iloc[0]


def test_history_rows_are_marked_and_cut_fact_by_fact(example):
    _, model, tables = example
    e = tables["enrollments"]
    assert list(e["source"].cat.categories) == ["history", "simulated"]
    history = e[e["source"] == "history"]
    assert (history["enrolled_day"] < 0).all() and (
        e.loc[e["source"] == "simulated", "enrolled_day"] >= 0
    ).all()
    assert "gus" not in set(e["learner_id"].astype("str"))  # enrolled after day 0: ignored
    fay = _row(e, learner_id="fay", course_id="ONB")  # completed after day 0: open then (S39)
    assert fay["status"] == "in_progress" and pd.isna(fay["completed_day"])
    assert e["enrollment_id"].is_monotonic_increasing and e["enrollment_id"].is_unique
    assert history["job_id"].isna().all()  # the history has no job ids


def test_certificates_their_expiry_and_re_enrollment_jobs_pending_at_day_0(example):
    _, _, tables = example
    c, j = tables["certificates"], tables["jobs"]
    ana = _row(c, learner_id="ana", course_id="FIRE")  # S31: a year from 2026-03-01 10:00
    assert ana["source"] == "history" and ana["expires_at"] == pd.Timestamp("2027-03-01 10:00")
    bo = _row(c, learner_id="bo", course_id="FIRE")  # the export's own expiry wins (S39)
    assert bo["expires_at"] == pd.Timestamp("2027-02-15")
    assert "CODE" not in set(c["course_id"].astype("str"))  # no certificate: expiry ignored
    renew = _row(j, learner_id="bo", kind="re_enrollment")  # due 30 days before, at day 15
    assert (
        renew["due_day"] == 15 and renew["processed_day"] == 15 and renew["outcome"] == "enrolled"
    )
    assert renew["queued_day"] < 0


def test_jobs_queued_before_day_0_run_after_and_those_due_before_are_the_historys(example):
    _, model, tables = example
    j, e = tables["jobs"], tables["enrollments"]
    cy = _row(j, learner_id="cy", rule_id="onb-next")  # completed 2026-12-25, due 2027-01-04
    assert cy["queued_day"] < 0 <= cy["processed_day"] and cy["outcome"] == "enrolled"
    made = _row(e, learner_id="cy", course_id="SAFETY")
    assert made["source"] == "simulated" and made["method"] == "post_enrollment"
    assert "dee" not in set(j["learner_id"].astype("str"))  # processed before day 0: done
    assert _row(e, learner_id="dee", course_id="SAFETY")["source"] == "history"
    assert (j["processed_day"].isna() | (j["processed_day"] >= 0)).all()
    counts = warm_start_of(model).counts
    assert (counts.records, counts.pending, counts.discrepancies) == (9, 3, 0)


def test_removed_learners_leave_and_the_learners_file_adds_people_and_attributes(example):
    _, model, tables = example
    ev = tables["events"]
    left = ev[ev["event"] == "learner_removed"]
    assert list(left["learner_id"].astype("str")) == ["eve"] and (left["day"] < 0).all()
    assert warm_start_of(model).counts.learners == 6  # hal has no enrollment; eve left; ivy later
    added = set(ev.loc[ev["event"] == "learner_added", "learner_id"].astype("str"))
    assert "hal" in added and "ivy" not in added
    result = simulate(load_scenario(EXAMPLE / "scenario.yaml"))
    assert result.warm_start["records"] == 9
    assert (
        dict(
            zip(
                result.enrollments["learner_id"].astype(str),
                result.enrollments["department"].astype(str),
                strict=True,
            )
        )["ana"]
        == "Sales"
    )
    assert (
        result.warnings == [w for w in result.warnings if "CODE" in w] and len(result.warnings) == 1
    )


def test_a_scenario_without_initial_state_has_no_source_column():
    result = simulate(load_scenario(Path(__file__).parent.parent / "scenarios" / "showcase.yaml"))
    assert "source" not in result.enrollments.columns and result.warm_start is None


def test_run_says_what_it_replayed_and_check_sweep_and_replications_run(cli, tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "ex")
    done = cli(
        "run", tmp_path / "ex" / "scenario.yaml", "--out", tmp_path / "out", "-q", "--no-progress"
    )
    assert done.returncode == 0, done.stderr
    assert "replayed 9 history records" in done.stdout and "3 jobs pending at day 0" in done.stdout
    assert "0 discrepancies before day 0" in done.stdout
    again = cli(
        "sweep",
        tmp_path / "ex" / "scenario.yaml",
        "--set",
        "seed=1,2",
        "--replications",
        "2",
        "--out",
        tmp_path / "sweep",
        "-q",
        "--no-progress",
    )
    assert again.returncode == 0, again.stderr
    frame = pd.read_parquet(tmp_path / "sweep" / "enrollments.parquet")
    history = frame[frame["source"] == "history"]
    assert len(history) == 9 * 4  # every replication holds the same history rows (S41)


def _scenario_text(tmp_path, extra: str, start: str = "start_date: 2027-01-01\n") -> str:
    (tmp_path / "h.csv").write_text("learner,course,method,enrolled_at\nana,A,admin,2026-06-01\n")
    return (
        f"name: w\n{start}horizon_days: 30\ncourses:\n  - {{id: A, type: online}}\n"
        f"initial_state:\n  history: h.csv\n{extra}"
    )


def test_mistakes_are_located_all_at_once(tmp_path):
    text = _scenario_text(
        tmp_path,
        "  learners: nobody.csv\nscript:\n  - {day: -5, action: enroll, learner: ana, course: A}\n"
        "population: {initial: 5}\n",
        start="",
    )
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "s.yaml")
    text = str(info.value)
    assert "initial_state.learners: no such file" in text
    assert "initial_state: an initial state needs a start_date" in text
    assert "script.0.day: day -5 is before day 0" in text and "learner action" in text
    assert "population.initial" in text
    with pytest.raises(ScenarioError, match="before day 0: only a scenario with initial_state"):
        parse_scenario(
            "name: x\nhorizon_days: 5\ncourses: [{id: A, type: online}]\n"
            "script: [{day: -1, action: deactivate_course, course: A}]\n"
        )


def test_a_bad_history_is_located_and_exits_2(cli, tmp_path):
    (tmp_path / "s.yaml").write_text(_scenario_text(tmp_path, ""))
    (tmp_path / "h.csv").write_text("learner,course,method,enrolled_at\nana,ZZ,admin,2026-13-01\n")
    done = cli("run", tmp_path / "s.yaml", "--no-progress", "--out", tmp_path / "out")
    assert done.returncode == 2
    assert (
        "h.csv:2: course: unknown course 'ZZ'" in done.stderr
        and "h.csv:2: enrolled_at" in done.stderr
    )


def test_script_rule_changes_before_day_0_are_replayed_with_the_history(tmp_path):
    (tmp_path / "h.csv").write_text(
        "learner,course,method,enrolled_at,completed_at\nana,A,admin,2026-12-01,2026-12-29\n"
    )
    text = (
        "name: w\nstart_date: 2027-01-01\nhorizon_days: 30\ncourses:\n  - {id: A, type: online}\n"
        "  - {id: B, type: online}\ninitial_state: {history: h.csv}\nscript:\n"
        "  - {day: -10, action: add_rule, course: A, rule: {id: R, when: completed, delay_days: 5, courses: [B]}}\n"
    )
    (tmp_path / "s.yaml").write_text(text)
    result = simulate(load_scenario(tmp_path / "s.yaml"))
    job = _row(result.jobs, rule_id="R")  # queued on day -3 by the rule added on day -10
    assert job["queued_day"] == -3 and job["processed_day"] == 2 and job["outcome"] == "enrolled"


def test_cut_scenario_moves_day_0_and_keeps_the_end(example):
    scenario, _, _ = example
    earlier = cut_scenario(scenario, dt.date(2026, 12, 1))
    assert earlier.start_date == dt.date(2026, 12, 1) and earlier.horizon_days == 31 + 90
    model = model_for(earlier)
    model.run()
    counts = warm_start_of(model).counts
    assert counts.records == 7  # cy's, fay's and gus's ONB come after the cut


@pytest.mark.parametrize(
    "dist",
    [
        stochastic.Gamma(dist="gamma", mean=5, cv=1.5),
        stochastic.Gamma(dist="gamma", mean=5, cv=0.4),
        stochastic.Lognormal(dist="lognormal", median=5, sigma=0.8),
        stochastic.Triangular(dist="triangular", min=1, mode=2, max=12),
        stochastic.Uniform(dist="uniform", min=1, max=12),
        stochastic.Exponential(dist="exponential", mean=4),
        stochastic.Empirical(dist="empirical", values=[1, 3, 9, 20], weights=[1, 1, 1, 1]),
    ],
    ids=lambda d: d.dist + str(getattr(d, "cv", "")),
)
def test_conditional_draws_follow_the_law_beyond_the_elapsed_time(dist):
    """S40: X given X > e, against the unconditional law's draws above e (and its survival)."""
    rng = np.random.default_rng(7)
    plain = np.array([warm._draw(dist, rng) for _ in range(20_000)])
    for elapsed in (2.0, 8.0):
        above = plain[plain > elapsed]
        assert warm.survival(dist, elapsed) == pytest.approx(len(above) / len(plain), abs=0.015)
        drawn = np.array([warm.conditional(dist, elapsed, rng) for _ in range(2_000)])
        assert (drawn >= elapsed).all()
        assert drawn.mean() == pytest.approx(above.mean(), rel=0.06)


# ----- the split-run property (S40) ------------------------------------------------------

START, CUT, BIN, BINS = dt.date(2026, 1, 5), 60, 10, 9


def _organisation(seed: int) -> dict:
    return {
        "name": "org",
        "start_date": START,
        "horizon_days": CUT + BIN * BINS,
        "seed": seed,
        "courses": [
            {
                "id": "A",
                "type": "online",
                "behaviour": {
                    "start_after_days": {"dist": "gamma", "mean": 15, "cv": 1.3},
                    "duration_days": {"dist": "lognormal", "median": 25, "sigma": 0.9},
                    "abandon_rate": 0.25,
                },
                "post_enrollments": [
                    {"id": "R1", "when": "completed", "delay_days": 7, "courses": ["B"]}
                ],
            },
            {
                "id": "B",
                "type": "online",
                "behaviour": {
                    "start_after_days": {"dist": "exponential", "mean": 5},
                    "duration_days": {"dist": "uniform", "min": 2, "max": 30},
                },
            },
        ],
        "population": {
            "initial": 300,
            "hires": {"per_day": 1.0},
            "attrition": {"annual_rate": 0.2},
            "on_hire": [{"course": "A", "method": "admin", "after_days": 0}],
        },
    }


def _counts(enrollments: pd.DataFrame, offset: float) -> np.ndarray:
    """Per 10-day bin after the cut: A's starts and completions, B's enrollments and completions."""
    edges = np.arange(0, BIN * BINS + 1, BIN)
    out = []
    for column, course in (
        ("started_day", "A"),
        ("completed_day", "A"),
        ("enrolled_day", "B"),
        ("completed_day", "B"),
    ):
        days = enrollments.loc[enrollments["course_id"] == course, column].dropna().to_numpy()
        out.append(np.histogram(days - offset, bins=edges)[0])
    return np.concatenate(out)


@pytest.fixture(scope="module")
def split_runs(tmp_path_factory):
    """Three organisations simulated whole (the truth), each turned into an export (the
    audit format) cut at day 60 and warm-started 25 times: (truth, forecasts) each."""
    folder = tmp_path_factory.mktemp("split")
    runs = []
    for seed in range(3):
        whole = simulate(Scenario.model_validate(_organisation(seed)))
        history = history_from_enrollments(whole.enrollments, whole.events)
        for column in [c for c in history.columns if c.endswith("_day")]:
            history[column] = history[column] - CUT  # day 0 of the forecast: the cut
        write_history(history, folder / f"history-{seed}.csv")
        data = _organisation(seed + 1000)
        data["start_date"] = START + dt.timedelta(days=CUT)
        data["horizon_days"] = BIN * BINS
        data["population"] = {**data["population"], "initial": 0}
        data["initial_state"] = {"history": str(folder / f"history-{seed}.csv")}
        runs.append((_counts(whole.enrollments, CUT), Scenario.model_validate(data)))
    return runs


def _coverage(split_runs, conditioned: bool) -> float:
    inside = []
    for truth, scenario in split_runs:
        forecasts = []
        for seed in replication_seeds(scenario.seed, 25):
            model = model_for(scenario, seed, record_events=False, conditioned=conditioned)
            model.run()
            enrollments = recorder.tables(model, which=("enrollments",))["enrollments"]
            forecasts.append(_counts(enrollments, 0))
        low, high = np.quantile(forecasts, [0.05, 0.95], axis=0)
        inside.append((truth >= low) & (truth <= high))
    return float(np.mean(inside))


def test_split_run_the_second_period_falls_in_the_forecasts_band(split_runs):
    """108 comparisons (3 organisations x 36 ten-day bins of four counts) of the truth
    against the forecast's 5-95% band: about 90% inside (measured: 0.85 with these seeds,
    0.86 on average over twelve others); 0.78 is far above what a biased forecast
    reaches (the next test: 0.60 with these seeds, 0.63 on average)."""
    assert _coverage(split_runs, conditioned=True) >= 0.78


def test_split_run_fails_without_s40s_conditioning(split_runs):
    """The same, each open record drawn afresh at day 0 (its start clock and duration
    restarted, abandonment at its prior rate): the forecast lags the truth."""
    assert _coverage(split_runs, conditioned=False) <= 0.70


VENDOR = (
    "id,userId,courseId,enrollmentType,status,dateAdded,dateStarted,dateCompleted,expiryDate\n"
    "1,ana,FIRE,Admin,Complete,2026-02-20T09:00:00Z,2026-02-25T09:00:00Z,2026-03-01T10:00:00Z,\n"
    "2,cy,ONB,Admin,Complete,2026-12-20T09:00:00Z,,2026-12-25T09:00:00Z,\n"
    "3,cy,SAFETY,System,NotStarted,2027-01-04T09:00:00Z,,,\n"
)


def test_ready_made_maps_read_a_vendor_export_for_audit_and_the_warm_start(cli, tmp_path):
    (tmp_path / "vendor.csv").write_text(VENDOR)
    text = (EXAMPLE / "scenario.yaml").read_text()
    audited = text.split("initial_state:")[0].replace(
        "start_date: 2027-01-01", "start_date: 2026-01-01"
    )
    (tmp_path / "audit.yaml").write_text(audited.replace("horizon_days: 90", "horizon_days: 380"))
    done = cli("audit", tmp_path / "audit.yaml", tmp_path / "vendor.csv", "--map", "vendor")
    assert done.returncode == 0, done.stdout + done.stderr  # cy's SAFETY is on time
    assert "history: 3 records" in done.stdout
    warm_text = text.replace("history: history.csv", "history: vendor.csv\n  map: vendor")
    (tmp_path / "warm.yaml").write_text(warm_text.replace("  learners: learners.csv", ""))
    model = model_for(load_scenario(tmp_path / "warm.yaml"))
    model.run()
    assert warm_start_of(model).counts.records == 2  # cy's SAFETY is after day 0


def test_every_command_that_reads_an_export_takes_the_ready_made_maps(cli, tmp_path):
    """audit, calibrate and infer share one --map: a ready-made name works for each, and
    a missing map file is one line, exit 2, for each."""
    (tmp_path / "vendor.csv").write_text(VENDOR)
    text = (EXAMPLE / "scenario.yaml").read_text().split("initial_state:")[0]
    (tmp_path / "s.yaml").write_text(
        text.replace("start_date: 2027-01-01", "start_date: 2026-01-01").replace(
            "horizon_days: 90", "horizon_days: 380"
        )
    )
    inferred = cli("infer", tmp_path / "vendor.csv", "--map", "vendor")
    assert inferred.returncode == 0, inferred.stderr
    assert "3 records of 2 learners" in inferred.stdout
    assert "when ONB is completed, enroll in SAFETY after 10 days" in inferred.stdout
    # three records are read through the map, then found too few to fit
    fitted = cli(
        "calibrate", tmp_path / "vendor.csv", "--scenario", tmp_path / "s.yaml", "--map", "vendor"
    )
    assert fitted.returncode == 2
    assert "3 records: calibrate needs at least 20" in fitted.stderr
    for command in (
        ("infer", tmp_path / "vendor.csv"),
        ("calibrate", tmp_path / "vendor.csv", "--scenario", tmp_path / "s.yaml"),
        ("audit", tmp_path / "s.yaml", tmp_path / "vendor.csv"),
    ):
        missing = cli(*command, "--map", tmp_path / "nope.yaml")
        assert missing.returncode == 2
        assert "no such map file" in missing.stderr and "Traceback" not in missing.stderr


def test_a_history_without_repeated_records_is_said_to_look_current_only():
    from postenroll_sim.history.exports import parse_history

    scenario = load_scenario(EXAMPLE / "scenario.yaml")
    rows = "".join(f"l{i},CODE,self,{i / 2}\n" for i in range(100))
    history = parse_history("learner,course,method,enrolled_day\n" + rows, "h.csv", scenario)
    assert any("current records only" in w for w in history.warnings)
    again = parse_history(
        "learner,course,method,enrolled_day\n" + rows + "l1,CODE,self,60\n", "h.csv", scenario
    )
    assert not again.warnings


def test_a_warm_start_gives_the_same_tables_on_every_executor():
    """Each replication replays the history where it runs (a pool's worker process, a
    Dask worker), read from the file the scenario names: the tables are the same as in
    this process, `source` column included. (Dask's workers are threads here, as in
    tests/test_replications.py: the pool is the test of crossing processes.)"""
    distributed = pytest.importorskip("distributed")
    from postenroll_sim import simulate_replications
    from postenroll_sim.run.runner import SerialExecutor

    spec = load_scenario(EXAMPLE / "scenario.yaml")
    serial = simulate_replications(spec, 3, executor=SerialExecutor())
    assert set(serial.enrollments["source"]) == {"history", "simulated"}
    pooled = simulate_replications(spec, 3, workers=2)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        dask = simulate_replications(spec, 3, scheduler=cluster.scheduler_address)
    for other in (pooled, dask):
        for name in ("enrollments", "jobs", "certificates"):
            pd.testing.assert_frame_equal(getattr(serial, name), getattr(other, name))
    assert serial.warm_start == dask.warm_start and serial.warm_start["records"] > 0
