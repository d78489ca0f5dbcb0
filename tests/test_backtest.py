"""The backtest's numbers (analysis/backtest.py), on hand-built tables with known answers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from postenroll_sim.analysis import backtest

CUT = pd.Timestamp("2027-01-15")
UNTIL = pd.Timestamp("2027-04-01")


def _history(rows):
    return pd.DataFrame(rows, columns=["course", "method", "enrolled_at"]).assign(
        enrolled_at=lambda f: pd.to_datetime(f["enrolled_at"], format="ISO8601")
    )


def _forecast(rows):
    frame = pd.DataFrame(rows, columns=["replication", "course_id", "method", "enrolled_at"])
    return frame.assign(enrolled_at=pd.to_datetime(frame["enrolled_at"], format="ISO8601"))


def test_months_run_from_the_cut_to_the_last_instant_before_until():
    assert [str(m) for m in backtest.months(CUT, UNTIL)] == ["2027-01", "2027-02", "2027-03"]
    assert len(backtest.months(CUT, pd.Timestamp("2027-03-02"))) == 3


def test_counts_bands_and_what_is_inside():
    history = _history(
        [
            ("A", "admin", "2027-01-10"),  # before the cut: not compared
            ("A", "admin", "2027-01-20"),
            ("A", "admin", "2027-01-21"),
            ("A", "admin", "2027-02-03"),
            ("B", "post_enrollment", "2027-03-31 23:59:59"),
            ("A", "admin", "2027-04-01"),  # at until: not compared
        ]
    )
    forecast = _forecast(
        [(0, "A", "admin", "2027-01-16"), (0, "A", "admin", "2027-01-17")]
        + [(1, "A", "admin", "2027-01-18")]
        + [(r, "A", "admin", "2027-02-10") for r in range(4)]
        + [(0, "A", "admin", "2027-01-14")]  # before the cut: the history's part of the run
    )
    table = backtest.monthly(history, forecast, CUT, UNTIL, replications=4)
    assert list(table.columns) == [
        "month", "course", "method", "actual", "mean", "p05", "p95", "inside"
    ]  # fmt: skip
    a = table[table["course"] == "A"].set_index("month")
    # January: replications give 2, 1, 0, 0 -> mean 0.75; the history's 2 is inside [0, 1.85]?
    assert a.loc["2027-01", "actual"] == 2
    assert a.loc["2027-01", "mean"] == pytest.approx(0.75)
    assert a.loc["2027-01", "p95"] == pytest.approx(1.85)
    assert not a.loc["2027-01", "inside"]
    # February: every replication 1, history 1: inside a band of width 0
    assert a.loc["2027-02", ["actual", "mean", "p05", "p95"]].tolist() == [1, 1.0, 1.0, 1.0]
    assert a.loc["2027-02", "inside"]
    # March: nothing anywhere for A: a zero inside a zero band
    assert a.loc["2027-03", ["actual", "mean"]].tolist() == [0, 0.0]
    b = table[table["course"] == "B"].set_index("month")
    assert b["actual"].tolist() == [0, 0, 1]
    assert b["mean"].tolist() == [0.0, 0.0, 0.0]
    assert b["inside"].tolist() == [True, True, False]
    # pairs no one shows are not rows
    assert set(zip(table["course"], table["method"], strict=True)) == {
        ("A", "admin"),
        ("B", "post_enrollment"),
    }


def test_scores_coverage_mape_and_bias():
    table = pd.DataFrame(
        {
            "month": ["2027-01", "2027-02", "2027-03", "2027-04"],
            "course": "A",
            "method": "admin",
            "actual": [10, 20, 0, 10],
            "mean": [12.0, 15.0, 1.0, 10.0],
            "p05": [8.0, 16.0, 0.0, 9.0],
            "p95": [14.0, 19.0, 2.0, 11.0],
            "inside": [True, False, True, True],
        }
    )
    s = backtest.scores(table)
    assert (s.cells, s.inside) == (4, 3)
    assert s.coverage == 0.75
    # |12-10|/10, |15-20|/20, |10-10|/10 (the month with actual 0 has no percentage)
    assert s.mape == pytest.approx((0.2 + 0.25 + 0.0) / 3)
    assert s.bias == pytest.approx((38 - 40) / 40)
    assert (s.actual, s.forecast) == (40, 38.0)
    pairs = backtest.by_pair(table)
    assert pairs.loc[0, ["months", "actual", "coverage"]].tolist() == [4, 40, 0.75]


def test_scores_of_nothing_are_not_numbers():
    empty = backtest.monthly(_history([]), _forecast([]), CUT, UNTIL, replications=3)
    assert empty.empty
    s = backtest.scores(empty)
    assert s.cells == 0 and math.isnan(s.coverage) and math.isnan(s.mape)


# ----- the command, on examples/backtest (a simulated organisation's export) -----------

import json  # noqa: E402

from postenroll_sim import load_scenario  # noqa: E402

from helpers import ROOT  # noqa: E402

EXAMPLE = ROOT / "examples" / "backtest" / "scenario.yaml"


@pytest.fixture(scope="module")
def acme():
    """The example's forecast scenario, backtested half a year back over 20 replications."""
    from datetime import date

    from postenroll_sim.qa.backtest import backtest as run_backtest

    return run_backtest(load_scenario(EXAMPLE), date(2026, 7, 1), replications=20)


def test_a_forecast_calibrated_on_the_history_covers_what_happened_after_the_cut(acme):
    """The history is one run of truth.yaml; the forecast uses the rules and the behaviour
    calibrate fitted from the history: about 90% of the months should fall in the band."""
    s = acme.scores
    assert s.cells == 30  # 5 course-method pairs x 6 months (July to December)
    assert s.coverage >= 0.8
    assert abs(s.bias) < 0.1
    assert s.actual == int(acme.monthly["actual"].sum()) > 300
    assert acme.warm_start["records"] > 1000 and acme.warm_start["pending"] > 0
    assert set(acme.pairs["method"]) == {"admin", "post_enrollment", "re_enrollment"}
    assert acme.exit_code(None) == 0
    assert acme.exit_code(s.coverage) == 0 and acme.exit_code(s.coverage + 0.01) == 1


def test_a_forecast_with_the_wrong_behaviour_is_found_out():
    """The same backtest with learners ten times slower to start than the history shows:
    the coverage drops (the test can fail)."""
    from datetime import date

    from postenroll_sim import parse_scenario
    from postenroll_sim.qa.backtest import backtest as run_backtest

    text = EXAMPLE.read_text().replace(
        "behaviour_from: fitted.yaml",
        "default_behaviour: {start_after_days: {dist: exponential, mean: 100}}",
    )
    wrong = parse_scenario(text, str(EXAMPLE))
    result = run_backtest(wrong, date(2026, 7, 1), replications=10)
    assert result.scores.coverage < 0.6
    assert result.scores.bias < -0.2


def test_the_command_writes_its_tables_page_and_run_json(cli, tmp_path, sketched_figures):
    out = tmp_path / "bt"
    code, text, err = cli(
        "backtest", EXAMPLE, "--cut", "2026-10-01", "--replications", "4", "--out", out,
        "--report", "--min-coverage", "0",
    )  # fmt: skip
    assert code == 0, err
    assert "cut 2026-10-01, forecast to 2027-01-01 (92 days), 4 replications" in text
    assert "coverage" in text and "--min-coverage 0%: met (exit 0)" in text
    meta = json.loads((out / "run.json").read_text())
    assert meta["command"] == "backtest" and meta["cut"] == "2026-10-01"
    table = pd.read_csv(out / "backtest.csv")
    assert list(table["month"].unique()) == ["2026-10", "2026-11", "2026-12"]
    assert meta["scores"]["cells"] == len(table)
    page = (out / "report.html").read_text()
    assert "Backtest: Acme, forecast from its history" in page
    assert "backtest.csv" in page and "/work/" not in page


@pytest.mark.parametrize(
    "args, message",
    [
        (["--cut", "2026-13-01"], "--cut '2026-13-01' is not a date"),
        (["--cut", "2024-01-01"], "is not after the history's first record (2025-01-06)"),
        (["--cut", "2026-07-01", "--until", "2026-06-01"], "is not after --cut 2026-07-01"),
        (["--cut", "2026-07-01", "--report"], "--report writes report.html"),
    ],
)
def test_bad_arguments_are_one_line_errors(cli, args, message):
    code, _, err = cli("backtest", EXAMPLE, *args, "--replications", "2")
    assert code == 2 and message in err and "Traceback" not in err


def test_a_scenario_without_a_history_cannot_be_backtested(cli):
    code, _, err = cli("backtest", ROOT / "scenarios" / "showcase.yaml", "--cut", "2027-01-10")
    assert code == 2 and "has no initial_state" in err
