"""`calibrate` (docs/calibrate.md): behaviour fitted from a history recovers the behaviour the
history was simulated with, censoring included; the fragment it writes is a scenario's
`behaviour_from`; histories it cannot fit are refused, located."""

from __future__ import annotations

import math

import numpy as np
import pytest

from postenroll_sim import load_scenario, simulate
from postenroll_sim.qa.audit import history_from_enrollments, write_history
from postenroll_sim.qa.calibrate import MIN_RECORDS, calibrate

HORIZON = 365
TRUTH = """\
name: calibrate truth
horizon_days: 365
seed: 3
courses:
  - id: SAFE-101
    type: online
    allow_failure: true
    behaviour:
      start_after_days: {dist: lognormal, median: 3, sigma: 0.8}
      duration_days: {dist: gamma, mean: 6, cv: 0.5}
      pass_rate: 0.8
      abandon_rate: 0.1
    post_enrollments:
      - {when: failed, delay_days: 7, courses: [SAFE-101]}
      - {when: completed, delay_days: 0, courses: [WS-1]}
  - id: WS-1
    type: ilc
    sessions:
      - {every_days: 14, first_day: 7, capacity: 10000}
    behaviour:
      no_show_rate: 0.2
      abandon_rate: 0.05
  - id: NEW-1
    type: online
population:
  initial: 300
  hires: {per_day: 2}
  attrition: {annual_rate: 0.15}
  on_hire:
    - {course: SAFE-101, after_days: 0}
"""


def _history(tmp_path, text: str, name: str = "truth"):
    scenario = tmp_path / f"{name}.yaml"
    scenario.write_text(text)
    spec = load_scenario(scenario)
    run = simulate(spec)
    path = write_history(
        history_from_enrollments(run.enrollments, run.events), tmp_path / f"{name}.csv"
    )
    return spec, scenario, path


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    """A year of a 1,000-learner organisation (2,100 records), censored at the horizon."""
    tmp_path = tmp_path_factory.mktemp("calibrate")
    spec, scenario, history = _history(tmp_path, TRUTH)
    return spec, scenario, history, calibrate(spec, history, as_of=HORIZON)


def _close(estimate, true: float, tolerance: float) -> None:
    """Within `tolerance` (relative) of the truth, and the truth inside its 95% interval."""
    assert abs(estimate.value - true) <= tolerance * true, (estimate, true)
    assert estimate.low <= true <= estimate.high, (estimate, true)


def test_calibrate_recovers_the_behaviour_a_history_was_simulated_with(truth):
    _, _, _, fit = truth
    safe, ws = fit.courses
    assert (safe.course, ws.course) == ("SAFE-101", "WS-1")
    assert safe.start.chosen.family == "lognormal" and safe.duration.chosen.family == "gamma"
    assert safe.start.censored > 0 and safe.duration.censored > 0  # open at the horizon
    _close(safe.start.chosen.params["median"], 3, 0.08)
    _close(safe.start.chosen.params["sigma"], 0.8, 0.08)
    _close(safe.duration.chosen.params["mean"], 6, 0.05)
    _close(safe.duration.chosen.params["cv"], 0.5, 0.08)
    _close(safe.abandon_rate, 0.1, 0.2)
    _close(safe.pass_rate, 0.8, 0.05)
    _close(ws.no_show_rate, 0.2, 0.15)
    _close(ws.abandon_rate, 0.05, 0.3)
    assert ws.start is None and ws.duration is None
    _close(fit.hires, 2, 0.05)
    _close(fit.attrition, 0.15, 0.15)
    assert safe.start.chosen.params["median"].n == safe.start.events > 1000
    # the other families were fitted and lost by AIC
    aic = {f.family: f.aic for f in safe.duration.fits}
    assert set(aic) == {"exponential", "lognormal", "gamma"} and min(aic, key=aic.get) == "gamma"
    assert any("NEW-1" in w for w in fit.warnings)  # a course with no records: said


def test_the_table_holds_every_estimate_the_fragment_writes(truth):
    _, _, _, fit = truth
    table = fit.table()
    assert list(table.columns) == [
        "course", "key", "family", "parameter", "value", "low", "high", "n", "method"
    ]  # fmt: skip
    row = table.set_index(["course", "key", "parameter"])
    safe, ws = fit.courses
    median = safe.start.chosen.params["median"]
    got = row.loc[("SAFE-101", "start_after_days", "median")]
    assert (got["family"], got["value"], got["low"], got["high"], got["n"]) == (
        "lognormal", median.value, median.low, median.high, median.n
    )  # fmt: skip
    assert row.loc[("WS-1", "no_show_rate", ""), "value"] == ws.no_show_rate.value
    assert row.loc[("(population)", "hires.per_day", ""), "n"] == fit.hires.n
    # one row per number of the fragment's behaviour: distribution parameters and rates
    numbers = sum(
        len(v) - 1 if isinstance(v, dict) else 1
        for c in fit.courses
        for v in c.behaviour().values()
    )
    assert len(table) == numbers + 2  # and hires, attrition
    assert (table["low"] <= table["value"]).all() and (table["value"] <= table["high"]).all()


def test_open_records_are_censored_not_dropped(tmp_path):
    """Durations long against the history (mean 20 days, a 60-day history, hires all
    along): the completed ones alone are short; the censored fit is not."""
    text = TRUTH.replace("horizon_days: 365", "horizon_days: 60").replace(
        "mean: 6, cv: 0.5", "mean: 20, cv: 0.6"
    )
    text = text.replace("per_day: 2", "per_day: 10").replace("abandon_rate: 0.1", "abandon_rate: 0")
    spec, _, history = _history(tmp_path, text)
    fit = calibrate(spec, history, as_of=60)
    duration = fit.courses[0].duration
    assert duration.censored > 0.3 * duration.events
    completed = [
        r.completed - r.started for r in _records(spec, history) if r.completed and r.started
    ]
    assert np.mean(completed) < 0.75 * 20  # dropping the open records: far too short
    _close(duration.chosen.params["mean"], 20, 0.12)


def _records(spec, history):
    from postenroll_sim.qa.audit import read_history

    return read_history(history, spec).records


def test_a_delay_every_record_shares_is_fixed(tmp_path):
    text = TRUTH.replace("start_after_days: {dist: lognormal, median: 3, sigma: 0.8}", "")
    spec, _, history = _history(tmp_path, text)
    start = calibrate(spec, history).courses[0].start
    assert start.chosen.family == "fixed" and start.spec() == {"dist": "fixed", "value": 0.0}
    assert "every one of the" in start.aic_text()


def test_the_fragment_is_a_scenarios_behaviour_from_and_the_scenario_wins(truth, tmp_path):
    _, _, _, fit = truth
    (tmp_path / "fitted.yaml").write_text(fit.fragment())
    text = TRUTH.replace("seed: 3", "seed: 3\nbehaviour_from: fitted.yaml")
    text = text.replace(
        "    behaviour:\n      start_after_days: {dist: lognormal, median: 3, sigma: 0.8}\n"
        "      duration_days: {dist: gamma, mean: 6, cv: 0.5}\n      pass_rate: 0.8\n"
        "      abandon_rate: 0.1\n",
        "    behaviour: {pass_rate: 0.5}\n",
    )
    text = text.replace("  hires: {per_day: 2}\n  attrition: {annual_rate: 0.15}\n", "")
    (tmp_path / "uses.yaml").write_text(text)
    spec = load_scenario(tmp_path / "uses.yaml")
    safe = spec.courses[0].behaviour
    assert safe.pass_rate == 0.5  # the scenario's own key
    assert safe.duration_days.dist == "gamma" and safe.duration_days.mean_ == pytest.approx(
        fit.courses[0].duration.chosen.params["mean"].value, rel=1e-3
    )
    assert spec.courses[1].behaviour.no_show_rate == pytest.approx(0.19, abs=0.05)
    assert spec.population.hires.per_day == pytest.approx(2, rel=0.05)
    assert spec.population.attrition.annual_rate == pytest.approx(0.15, rel=0.15)
    run = simulate(spec.model_copy(update={"horizon_days": 30.0}))
    assert (run.enrollments["status"] == "failed").any()


def test_a_bad_fragment_is_located_in_the_fragment(tmp_path):
    (tmp_path / "fitted.yaml").write_text(
        "courses:\n  SAFE-10:\n    pass_rate: 0.5\n  NEW-1:\n    pass_rate: 0.5\n"
        "  WS-1:\n    duration_days: {dist: gamma, mean: -1, cv: 0.5}\nfoo: 1\n"
    )
    (tmp_path / "s.yaml").write_text(TRUTH.replace("seed: 3", "behaviour_from: fitted.yaml"))
    from postenroll_sim.scenario import ScenarioError

    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "s.yaml")
    shown = str(info.value).replace(str(tmp_path) + "/", "")
    assert shown.splitlines() == [
        "fitted.yaml:2: courses.SAFE-10: unknown course 'SAFE-10' (did you mean 'SAFE-101'?): "
        "not in the scenario's catalog",
        "fitted.yaml:5: courses.NEW-1.pass_rate: pass_rate needs allow_failure: true on "
        "'NEW-1' (S5)",
        "fitted.yaml:7: courses.WS-1.duration_days.mean: Input should be greater than 0, got -1",
        "fitted.yaml:8: foo: unknown key 'foo'; keys are courses, population",
    ]
    (tmp_path / "s.yaml").write_text(TRUTH.replace("seed: 3", "behaviour_from: nope.yaml"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "s.yaml")
    assert (
        str(info.value)
        == f"{tmp_path}/s.yaml:3: behaviour_from: {tmp_path}/nope.yaml: no such file"
    )


def test_the_command_prints_each_estimate_and_writes_the_fragment(cli, truth, tmp_path):
    _, scenario, history, _ = truth
    out = tmp_path / "fitted.yaml"
    code, stdout, err = cli("calibrate", history, "--scenario", scenario, "--out", out)
    assert code == 0, err
    assert "start_after_days  lognormal median" in stdout and "AIC: lognormal" in stdout
    assert "hires.per_day" in stdout and "(exact Poisson)" in stdout
    assert stdout.strip().endswith(f"wrote {out}")
    assert "warning:" in err and "NEW-1" in err
    assert "# " in out.read_text() and "behaviour_from" in out.read_text()
    assert not list(tmp_path.glob(".*partial"))


def test_histories_it_cannot_fit_are_refused_located(cli, truth, tmp_path):
    _, scenario, history, _ = truth
    lines = history.read_text().splitlines()
    few = tmp_path / "few.csv"
    few.write_text("\n".join(lines[:MIN_RECORDS]) + "\n")
    code, _, err = cli("calibrate", few, "--scenario", scenario)
    assert code == 2 and err.strip() == (
        f"{few}: (top): {MIN_RECORDS - 1} records: calibrate needs at least {MIN_RECORDS} "
        f"(and {MIN_RECORDS} per course it fits)"
    )
    # no completion of WS-1: skipped with a warning, or refused with --strict
    header, rows = lines[0], lines[1:]
    kept = [r for r in rows if ",WS-1," not in r or ",complete," not in r]
    open_ws = tmp_path / "open.csv"
    open_ws.write_text("\n".join([header, *kept]) + "\n")
    first = next(i for i, r in enumerate(kept, start=2) if ",WS-1," in r)
    code, out, err = cli("calibrate", open_ws, "--scenario", scenario)
    message = f"{open_ws}:{first}: course: WS-1: "
    assert code == 0 and f"warning: {message}" in err and "no completion" in err
    assert "WS-1" not in out
    code, _, err = cli("calibrate", open_ws, "--scenario", scenario, "--strict")
    assert code == 2 and err.startswith(message) and "not fitted" in err
    # nothing fitted at all: refused, each course's reason located
    only_ws = tmp_path / "ws.csv"
    only_ws.write_text("\n".join([header, *(r for r in kept if ",WS-1," in r)]) + "\n")
    code, _, err = cli("calibrate", only_ws, "--scenario", scenario)
    assert code == 2 and err.startswith(f"{only_ws}:2: course: WS-1: ")
    # an export cannot show what happened after it was made
    code, _, err = cli("calibrate", history, "--scenario", scenario, "--as-of", "100")
    assert code == 2 and "after --as-of (day 100)" in err and f"{history}:" in err
    code, _, err = cli("calibrate", history, "--scenario", scenario, "--as-of", "2027-01-01")
    assert code == 2 and "the history has day numbers" in err


def test_estimates_are_written_plainly(truth):
    from postenroll_sim.qa.calibrate import _key, _num

    assert [_num(v) for v in (0.000012345, 1234567.0, 2.0, 0.1, 0.0)] == [
        "0.00001234",
        "1235000",
        "2",
        "0.1",
        "0",
    ]
    assert [_key(k) for k in ("SAFE-101", "yes", "1", "a: b")] == [
        "SAFE-101",
        '"yes"',
        '"1"',
        '"a: b"',
    ]
    assert math.isfinite(truth[3].courses[0].duration.chosen.aic)


def test_a_date_only_export_is_read_through_its_map(cli, truth, tmp_path):
    """A vendor-style export (its headers, its words, dates alone): same-day starts are
    zeros at the export's resolution (at most a day), and the fit still finds the truth
    within what dates allow."""
    import datetime as dt

    import pandas as pd

    _, _, history, _ = truth
    frame = pd.read_csv(history)
    day0 = dt.date(2026, 1, 5)

    def dates(column):
        return frame[column].map(
            lambda d: "" if pd.isna(d) else (day0 + dt.timedelta(days=int(d))).isoformat()
        )

    export = pd.DataFrame(
        {
            "User": frame["learner"],
            "Course Code": frame["course"],
            "Type": frame["method"].map({"admin": "Admin", "post_enrollment": "System"}),
            "Date Enrolled": dates("enrolled_day"),
            "Date Started": dates("started_day"),
            "Date Completed": dates("completed_day"),
            "Date Failed": dates("failed_day"),
        }
    )
    export.to_csv(tmp_path / "export.csv", index=False)
    (tmp_path / "map.yaml").write_text(
        "columns: {learner: User, course: Course Code, method: Type, enrolled_at: Date Enrolled,"
        " started_at: Date Started, completed_at: Date Completed, failed_at: Date Failed}\n"
        "values: {method: {Admin: admin, System: post_enrollment}}\n"
        f"day0: {day0.isoformat()}\n"
    )
    code, out, err = cli(
        "calibrate", tmp_path / "export.csv", "--scenario", truth[1], "--map",
        tmp_path / "map.yaml", "--as-of", "2027-01-04", "--out", tmp_path / "f.yaml",
    )  # fmt: skip
    assert code == 0, err
    import yaml

    fitted = yaml.safe_load((tmp_path / "f.yaml").read_text())["courses"]["SAFE-101"]
    start = fitted["start_after_days"]
    assert start["dist"] == "lognormal" and abs(start["median"] - 3) < 0.6  # +-1 day each
    assert abs(fitted["pass_rate"] - 0.8) < 0.05
    # the end of 2027-01-04, in the export's calendar
    assert "2026-01-05 (day 0) to 2027-01-05 (day 365) (open records censored there)" in out
