"""`postenroll-sim compare A B`: two rule sets on the same organisation, with common random
numbers, each number's paired difference and what changed beyond noise."""

from __future__ import annotations

import json
import re

import pytest

from postenroll_sim.design.whatif import compare_labels
from postenroll_sim.scenario.diff import compare_scenarios

from helpers import ROOT, scenario

TRAP = ROOT / "tests" / "scenarios" / "repeat-failure.yaml"
FIXED = ROOT / "tests" / "scenarios" / "repeat-failure-fixed.yaml"

# Remediation with a second, unrelated path (WELCOME -> TOUR) that no exam rule touches.
SMALL = """\
name: small remediation
horizon_days: 60
seed: 5
courses:
  - id: EXAM
    type: online
    allow_failure: true
    behaviour: {start_after_days: {dist: exponential, mean: 2}, duration_days: 0.1, pass_rate: 0.5}
    post_enrollments:
      - {id: exam-failed, when: failed, delay_days: 1, courses: [REFRESH], allow_consecutive: true}
      - {id: exam-passed, when: completed, delay_days: 0, courses: [ADVANCED]}
  - id: REFRESH
    type: online
    behaviour: {start_after_days: {dist: exponential, mean: 3}, duration_days: 2}
    post_enrollments:
      - {id: refresh-retake, when: completed, delay_days: 0, courses: [EXAM]}
  - id: ADVANCED
    type: online
    behaviour: {start_after_days: {dist: exponential, mean: 5}, duration_days: 3}
  - id: WELCOME
    type: online
    behaviour: {start_after_days: {dist: exponential, mean: 4}, duration_days: {dist: uniform, min: 1, max: 5}}
    post_enrollments:
      - {id: welcome-tour, when: completed, delay_days: 3, courses: [TOUR]}
  - id: TOUR
    type: online
    behaviour: {start_after_days: {dist: exponential, mean: 10}, duration_days: 1}
population:
  initial: 100
  on_hire: [{course: EXAM}, {course: WELCOME}]
"""
CONSECUTIVE_ON = "courses: [REFRESH], allow_consecutive: true"
CONSECUTIVE_OFF = "courses: [REFRESH], allow_consecutive: false"


@pytest.fixture
def compare(cli):
    """`postenroll-sim compare ARGS...` in this process: (exit code, stdout, stderr)."""
    return lambda *args: cli("compare", *args, "--no-progress")


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def row(out: str, name: str) -> list[str]:
    """The cells of one number's row: A, B, B - A, then the interval (and `*`)."""
    line = next(li for li in out.splitlines() if li.startswith(f"  {name}  "))
    cells = re.split(r"\s{2,}", line[len(name) + 2 :].strip())
    return cells


# ----- scripted: exact output -------------------------------------------------------------


def test_the_repeat_failure_trap_against_its_fix_exactly(compare):
    code, out, err = compare(TRAP, FIXED)
    assert code == 0 and err == ""
    assert out == (
        f"A: repeat-failure ({TRAP})\n"
        f"B: repeat-failure-fixed ({FIXED})\n"
        "horizon 30 days, seed 0, 1 replication of each\n"
        "\n"
        "What differs (B against A):\n"
        "  rule exam-failed: allow_consecutive false -> true\n"
        "\n"
        "                                          A  B  B - A  95% interval\n"
        "key numbers\n"
        "  learners                                1  1      0  exact\n"
        "  enrollment records                      3  4     +1  exact  *\n"
        "  rule jobs                               3  3      0  exact\n"
        "  jobs pending at the horizon             0  0      0  exact\n"
        "enrollment records by course\n"
        "  EXAM                                    2  2      0  exact\n"
        "  REFRESH                                 1  2     +1  exact  *\n"
        "rule outcomes (one per job and target course)\n"
        "  exam-failed: enrolled                   1  2     +1  exact  *\n"
        "  exam-failed: skipped already completed  1  0     -1  exact  *\n"
        "  refresh-retake: enrolled                1  1      0  exact\n"
        "\n"
        "The scenarios draw nothing at random (no population, no behaviour): every "
        "replication is the same, so each difference is exact.\n"
        "* changed: 4 of 9 numbers\n"
    )


def test_a_file_against_itself_changes_nothing(compare):
    code, out, _ = compare(TRAP, TRAP, "--replications", "2", "--fail-on-change")
    assert code == 0  # nothing changed: --fail-on-change does not fail
    assert f"A: {TRAP} (A)\nB: {TRAP} (B)\n" in out  # same stem, same path: told apart
    assert "The two scenarios run the same rules: every difference should be 0." in out
    assert out.endswith("Nothing changed.\n") and "*" not in out
    for name in ("enrollment records", "REFRESH", "exam-failed: skipped already completed"):
        assert row(out, name)[2:] == ["0", "exact"]


def test_fail_on_change_exits_1_when_something_changed(compare):
    code, out, _ = compare(TRAP, FIXED, "--fail-on-change")
    assert code == 1 and "* changed: 4 of 9 numbers" in out


# ----- stochastic: common random numbers, paired intervals ---------------------------------


def test_consecutive_off_shows_fewer_refreshers_beyond_noise(compare, tmp_path):
    a = write(tmp_path, "on.yaml", SMALL)
    b = write(tmp_path, "off.yaml", SMALL.replace(CONSECUTIVE_ON, CONSECUTIVE_OFF))
    code, out, _ = compare(a, b, "--replications", "8")
    assert code == 0
    assert "8 replications of each, paired" in out
    assert (
        "What differs (B against A):\n  rule exam-failed: allow_consecutive true -> false\n" in out
    )
    # what the rule change does, with the right sign, beyond noise
    refresh = row(out, "REFRESH")
    assert refresh[2].startswith("-") and refresh[-1].endswith("*")
    skipped = row(out, "exam-failed: skipped already completed")
    assert skipped[0] == "0.0" and skipped[2].startswith("+") and skipped[-1].endswith("*")
    assert row(out, "learning path: share completed by the horizon")[-1].endswith("*")
    # what it cannot touch: the same learners, and a path no exam rule reaches is the same
    # in every replication (its courses draw from their own random streams)
    for name in (
        "learners",
        "learning path: starters",
        "WELCOME",
        "TOUR",
        "welcome-tour: enrolled",
    ):
        cells = row(out, name)
        assert cells[0] == cells[1] and cells[2:] == ["0", "the same in every replication"], name
    # the time to finish the path for those who do: random, and not changed beyond noise
    median = row(out, "learning path: median days end to end")
    assert median[-1].startswith("[") and not median[-1].endswith("*")
    # a quarter never finish: 90% is never reached in B, and the table says so
    assert row(out, "learning path: p90 days end to end")[1:] == ["– (0/8)", "–", "no value in B"]
    assert "(k/N): the number exists in k of the N replications" in out
    assert re.search(r"\* changed beyond noise \(the 95% interval excludes 0\): \d+ of \d+", out)


def test_identical_stochastic_files_differ_by_zero_everywhere(compare, tmp_path):
    a = write(tmp_path, "a.yaml", SMALL)
    b = write(tmp_path, "b.yaml", SMALL)
    code, out, _ = compare(a, b, "--replications", "3")
    assert code == 0 and out.endswith("Nothing changed beyond noise.\n")
    table = out.split("95% interval\n", 1)[1].split("\n\n")[0]
    numbers = [li for li in table.splitlines() if li.startswith("  ")]
    assert len(numbers) > 10
    for line in numbers:
        assert line.endswith("  0  the same in every replication"), line


def test_one_replication_has_no_interval_and_says_so(compare, tmp_path):
    a = write(tmp_path, "on.yaml", SMALL)
    b = write(tmp_path, "off.yaml", SMALL.replace(CONSECUTIVE_ON, CONSECUTIVE_OFF))
    code, out, _ = compare(a, b, "--fail-on-change")
    assert code == 0  # nothing is flagged without an interval
    assert row(out, "REFRESH")[-1] == "–" and "*" not in out
    assert out.endswith(
        "One replication gives no interval, so nothing is flagged: run with "
        "--replications 20 to see what changed beyond noise.\n"
    )


def test_different_seeds_need_seed(compare, tmp_path):
    a = write(tmp_path, "a.yaml", SMALL)
    b = write(tmp_path, "b.yaml", SMALL.replace("seed: 5", "seed: 6"))
    code, _, err = compare(a, b)
    assert code == 2
    assert err == (
        f"postenroll-sim: cannot compare {a} (A) with {b} (B): the seeds differ (5 in A, 6 in "
        "B): common random numbers need one seed; make them equal or pass --seed\n"
    )
    code, out, _ = compare(a, b, "--seed", "9", "--replications", "2")
    assert code == 0 and "seed 9, 2 replications" in out
    assert out.endswith("Nothing changed beyond noise.\n")  # the same scenario, one seed


# ----- what cannot be compared: one line, exit 2 ------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("horizon_days: 60", "horizon_days: 90"), "the horizons differ (60 days in A, 90 in B)"),
        (
            ("  - id: TOUR\n    type: online", "  - id: TOUR\n    type: ilc"),
            "the course catalogs differ (TOUR is online in A, ilc in B)",
        ),
        (
            ("  - id: TOUR\n", "  - id: TOURS\n"),
            "the course catalogs differ (only in A: TOUR (online); only in B: TOURS (online))",
        ),
        (
            ("initial: 100", "initial: 120"),
            "the populations differ (population.initial: 100 in A, 120 in B)",
        ),
        (
            ("horizon_days: 60", "horizon_days: 60\nstart_date: 2027-01-04"),
            "the start dates differ (not set in A, 2027-01-04 in B)",
        ),
    ],
)
def test_incomparable_files_are_refused_in_one_line(compare, tmp_path, change, message):
    a = write(tmp_path, "a.yaml", SMALL)
    text = SMALL.replace(*change)
    if "TOURS" in text:
        text = text.replace("courses: [TOUR]", "courses: [TOURS]")
    b = write(tmp_path, "b.yaml", text)
    code, out, err = compare(a, b)
    assert code == 2 and out == ""
    assert err == f"postenroll-sim: cannot compare {a} (A) with {b} (B): {message}\n"


def test_a_script_that_makes_learners_do_other_things_is_refused(compare, tmp_path):
    other = TRAP.read_text().replace("{day: 3, action: complete", "{day: 2, action: complete")
    b = write(tmp_path, "b.yaml", other)
    code, _, err = compare(TRAP, b)
    assert code == 2 and err.count("\n") == 1
    assert (
        f"the scripts differ in what learners do ({TRAP}:29: day 3 complete (learner ana, "
        "course REFRESH) is only in A and 1 more)" in err
    )


def test_bad_input_exits_2(compare, tmp_path):
    code, _, err = compare(TRAP, tmp_path / "missing.yaml")
    assert code == 2 and "no such scenario file" in err
    code, _, err = compare(TRAP, FIXED, "--report")
    assert code == 2 and "--report writes report.html into the --out folder" in err
    code, _, err = compare(TRAP, ROOT / "tests" / "scenarios" / "ten-mistakes.yaml")
    assert code == 2 and "ten-mistakes.yaml:4: procesing" in err


# ----- what differs, in words ----------------------------------------------------------------


def test_what_differs_lists_rules_behaviour_settings_and_script_rule_changes():
    a = scenario(SMALL)
    b = scenario(
        SMALL.replace("pass_rate: 0.5", "pass_rate: 0.7")
        .replace("delay_days: 3, courses: [TOUR]", "delay_days: 3, courses: [TOUR, ADVANCED]")
        .replace(
            "  - id: ADVANCED\n    type: online",
            "  - id: ADVANCED\n    type: online\n    active: false",
        )
        + "script:\n  - {day: 10, action: activate_course, course: ADVANCED}\n"
        "  - {day: 20, action: edit_rule, rule: exam-passed, set: {delay_days: 2}}\n"
    )
    found = compare_scenarios(a, b)
    assert found.blocking == []
    assert found.changes == [
        "rule welcome-tour: courses [TOUR] -> [TOUR, ADVANCED]",
        "script rule change only in B: day 20 edit_rule (rule exam-passed, set {delay_days: 2})",
        "script course change only in B: day 10 activate_course (course ADVANCED)",
        "EXAM behaviour: pass_rate 0.5 -> 0.7",
        "ADVANCED: active true -> false",
    ]
    assert compare_scenarios(a, a).changes == []


CERTIFIED = """\
name: fire certificate
horizon_days: 100
courses:
  - id: FIRE
    type: online
    certificate: {valid_for: {days: 60}, reenroll_before: {days: 10}}
    due_after: {days: 20}
  - {id: DRILL, type: online}
learners: [ana]
script:
  - {day: 0, action: enroll, learner: ana, course: FIRE}
  - {day: 5, action: complete, learner: ana, course: FIRE}
"""


def test_certificate_settings_may_differ_and_are_said(compare, tmp_path):
    """Validity, re-enrollment and due dates (S31-S36) act like rules: a comparison is
    about them, so they may differ, and each difference is said in words."""
    b_text = (
        CERTIFIED.replace("reenroll_before: {days: 10}", "reenroll_before: {days: 30}")
        .replace("due_after: {days: 20}", "due_after: {days: 25}")
        .replace(
            "  - {id: DRILL, type: online}",
            "  - {id: DRILL, type: online, certificate: {valid_for: {days: 30}}}",
        )
    )
    found = compare_scenarios(scenario(CERTIFIED), scenario(b_text))
    assert found.blocking == []
    assert found.changes == [
        "FIRE: certificate.reenroll_before.days 10 -> 30",
        "FIRE: due_after.days 20 -> 25",
        "DRILL: certificate not set -> {valid_for: {days: 30}, renew_from: completion}",
    ]
    code, out, err = compare(
        write(tmp_path, "a.yaml", CERTIFIED), write(tmp_path, "b.yaml", b_text)
    )
    assert code == 0, err
    assert "  FIRE: certificate.reenroll_before.days 10 -> 30" in out.splitlines()
    assert "run the same rules" not in out


def test_labels_are_the_file_stems_or_their_paths():
    assert compare_labels("x/a.yaml", "y/b.yaml") == ("a", "b")
    assert compare_labels("x/a.yaml", "y/a.yaml") == ("x/a.yaml", "y/a.yaml")
    assert compare_labels("a.yaml", "a.yaml") == ("a.yaml (A)", "a.yaml (B)")


def test_the_example_differs_from_the_bundled_scenario_in_one_rule_only():
    from postenroll_sim.scenario import load_scenario

    found = compare_scenarios(
        load_scenario(ROOT / "scenarios" / "remediation-on-failure.yaml"),
        load_scenario(ROOT / "examples" / "compare" / "remediation-one-refresher.yaml"),
    )
    assert found.blocking == []
    assert found.changes == ["rule exam-failed: allow_consecutive true -> false"]


# ----- the folder and the comparison page ---------------------------------------------------


def test_out_and_report_write_one_run_and_a_comparison_page(compare, tmp_path, sketched_figures):
    from postenroll_sim.report.build import write_report

    a = write(tmp_path, "on.yaml", SMALL)
    b = write(tmp_path, "off.yaml", SMALL.replace(CONSECUTIVE_ON, CONSECUTIVE_OFF))
    out_dir = tmp_path / "out"
    code, out, _ = compare(a, b, "--replications", "3", "--out", out_dir, "--report")
    assert code == 0 and "What differs (B against A):" in out
    assert out.splitlines()[-1].startswith(f"wrote {out_dir / 'enrollments.parquet'}")
    meta = json.loads((out_dir / "run.json").read_text())
    assert meta["complete"] and meta["command"] == "compare" and meta["seed"] == 5
    assert [(v["label"], v["source"]) for v in meta["variants"]] == [
        ("on", str(a)),
        ("off", str(b)),
    ]
    page = (out_dir / "report.html").read_text()
    (out_dir / "report.html").unlink()
    again = write_report(out_dir).read_text()  # `report` on the folder: the same page
    for text in (page, again):
        assert "<title>on compared with off - postenroll-sim report</title>" in text
        assert "<li>rule exam-failed: allow_consecutive true -&gt; false</li>" in text
        assert "What changed: B (off) minus A (on)" in text
        assert "<th>A: on</th><th>B: off</th><th>B minus A</th>" in text
        changed = re.search(r"<tr><th>REFRESH</th>(.*?)</tr>", text).group(1)
        assert "<td class='changed'>-" in changed
        tour = re.search(r"<tr><th>TOUR</th>(.*?)</tr>", text).group(1)
        assert "class='changed'" not in tour and "the same in every replication" in tour
        assert "Key numbers side by side" not in text  # the means are in the one table
