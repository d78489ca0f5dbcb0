"""`audit`: a real LMS history against the rules (docs/audit.md).

The shipped example finds exactly its known discrepancies; a history the simulator wrote
audits clean (several bundled scenarios, exact and daily processing); a row deleted,
added or shifted is found as what it is; the S-rules the replay relies on (rule changes,
S19 skips, removal, bundles, curricula) each have a small case; bad input is located.
"""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest

from postenroll_sim import ScenarioError, load_scenario, parse_scenario, simulate
from postenroll_sim.qa.audit import (
    audit,
    history_from_enrollments,
    parse_history,
    parse_map,
    write_history,
)

from helpers import ON_ENROLMENT, ROOT

EXAMPLE = ROOT / "examples" / "audit"
HEADER = "learner,course,method,enrolled_day,started_day,completed_day,failed_day,status\n"


def found(result) -> set[tuple]:
    """Each discrepancy as (kind, learner, course, rule, history line, S-rule)."""
    frame = result.discrepancies
    return {
        (
            row.kind,
            row.learner_id,
            row.course_id,
            None if pd.isna(row.rule_id) else row.rule_id,
            None if pd.isna(row.history_line) else int(row.history_line),
            row.s_rule,
        )
        for row in frame.itertuples(index=False)
    }


def audit_text(scenario_text: str, history_text: str, map_text: str | None = None, **options):
    spec = parse_scenario(textwrap.dedent(scenario_text), "scenario.yaml")
    mapping = parse_map(textwrap.dedent(map_text), "map.yaml") if map_text else None
    history = parse_history(textwrap.dedent(history_text), "history.csv", spec, mapping)
    return audit(spec, history, **options)


# ----- the shipped example ------------------------------------------------------------

EXAMPLE_FINDS = {
    ("off-time", "ben", "SAFETY-REF", "safety-retry", 9, "S3"),
    ("missing", "carl", "SAFETY", "welcome-next", None, "S19.4"),
    ("unexpected", "eve", "CERT", "safety-cert", 20, "S17"),
}


def test_the_example_finds_exactly_its_known_discrepancies():
    spec = load_scenario(EXAMPLE / "scenario.yaml")
    result = audit(spec, EXAMPLE / "history.csv", EXAMPLE / "map.yaml")
    assert found(result) == EXAMPLE_FINDS
    assert result.exit_code == 1
    counts = result.counts
    assert (counts["records"], counts["post_enrollments"], counts["required"]) == (19, 14, 14)
    assert (counts["on_time"], counts["off_time"], counts["missing"]) == (12, 1, 1)
    off = result.discrepancies[result.discrepancies["kind"] == "off-time"].iloc[0]
    assert off["offset_days"] == pytest.approx(3.0)
    assert off["expected_at"] == pd.Timestamp("2025-01-15 02:00")  # the daily run (S3)
    assert "3 days late" in off["explanation"] and "line 8" in off["explanation"]
    # a wider tolerance accepts the late one, and nothing else changes
    wider = audit(spec, EXAMPLE / "history.csv", EXAMPLE / "map.yaml", tolerance_days=3)
    assert found(wider) == {f for f in EXAMPLE_FINDS if f[0] != "off-time"}


def test_the_example_honours_the_rule_change_in_its_script():
    """dora's certificate came 14 days after her test, as the rule edited on day 40 says;
    audited as if the rule had never changed, it is a week late."""
    text = (EXAMPLE / "scenario.yaml").read_text()
    unchanged = parse_scenario(text.split("\nscript:")[0], "unchanged.yaml")
    result = audit(unchanged, EXAMPLE / "history.csv", EXAMPLE / "map.yaml")
    assert found(result) - EXAMPLE_FINDS == {("off-time", "dora", "CERT", "safety-cert", 17, "S3")}
    row = result.discrepancies[result.discrepancies["learner_id"] == "dora"].iloc[0]
    assert row["offset_days"] == pytest.approx(7.0)


def test_cli_audit_prints_counts_writes_the_folder_and_exits_1(tmp_path, cli):
    out = tmp_path / "audit"
    code, stdout, stderr = cli(
        "audit",
        EXAMPLE / "scenario.yaml",
        EXAMPLE / "history.csv",
        "--map",
        EXAMPLE / "map.yaml",
        "--out",
        out,
        "--format",
        "csv",
        "--report",
    )
    assert code == 1, stderr
    assert "3 discrepancies: 1 missing, 1 unexpected, 1 off-time" in stdout
    assert "the rules required 14 post enrollments: 12 on time, 1 off-time, 1 missing" in stdout
    table = pd.read_csv(out / "discrepancies.csv", dtype=str, keep_default_na=False)
    assert sorted(table["kind"]) == ["missing", "off-time", "unexpected"]
    meta = json.loads((out / "run.json").read_text())
    assert meta["complete"] is True and meta["command"] == "audit"
    assert meta["counts"]["discrepancies"] == 3 and meta["tolerance_days"] == pytest.approx(1 / 24)
    assert [f["name"] for f in meta["files"]] == ["discrepancies.csv", "report.html"]
    page = (out / "report.html").read_text()
    assert "carl" in page and "off-time" in page and "safety-retry" in page
    # a run's report command refuses the folder: it holds an audit, not a run
    code, _, stderr = cli("report", out)
    assert code == 2 and "holds an audit" in stderr


def test_cli_audit_exit_0_when_clean_and_2_for_bad_arguments(tmp_path, cli):
    showcase = ROOT / "scenarios/showcase.yaml"
    history = tmp_path / "clean.csv"
    write_history(history_from_enrollments(simulate(load_scenario(showcase)).enrollments), history)
    code, out, _ = cli("audit", showcase, history, "--out", tmp_path / "clean")
    assert code == 0 and "no discrepancies" in out
    assert len(pd.read_parquet(tmp_path / "clean" / "discrepancies.parquet")) == 0
    code, _, err = cli("audit", showcase, history, "--report")
    assert code == 2 and "--out" in err
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    code, _, err = cli("audit", showcase, history, "--out", tmp_path / "busy")
    assert code == 2 and "did not write" in err
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["notes.txt"]
    code, _, err = cli("audit", showcase, tmp_path / "nope.csv")
    assert code == 2 and "no such history file" in err
    for bad in ("-1", "nan", "inf"):
        code, _, err = cli("audit", showcase, history, "--tolerance-days", bad)
        assert code == 2 and "tolerance-days" in err, err


# ----- round trip: what the simulator did is what the rules say ---------------------------

ROUND_TRIP = [
    "showcase",  # daily processing, a bundle and its retroactive member, a curriculum, edits, removal
    "remediation-on-failure",
    "sequenced-onboarding",
    "curriculum-automation",
    "bypass-the-catalog",
    "prerequisites-vs-post-enrollments",
    "ilc-capacity-under-recertification",  # attrition: leavers' jobs are skipped (S19.1, S29)
]


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_round_trip_a_simulated_history_audits_clean(name, tmp_path):
    spec = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    run = simulate(spec)
    enrollments = run.enrollments
    path = write_history(
        history_from_enrollments(enrollments, run.events), tmp_path / "history.csv"
    )
    result = audit(spec, path, tolerance_days=0)  # exactly on time, not nearly
    assert result.discrepancies.empty, result.summary()
    posted = int((enrollments["method"] == "post_enrollment").sum())
    assert result.counts["required"] == result.counts["on_time"] == posted > 0


def test_round_trip_covers_daily_processing_bundles_and_curricula():
    spec = load_scenario(ROOT / "scenarios/showcase.yaml")
    assert spec.processing.mode == "daily"
    methods = set(history_from_enrollments(simulate(spec).enrollments)["method"])
    assert methods == {"admin", "bundle", "post_enrollment"}


# ----- planted discrepancies: delete, add, shift a row ----------------------------------


@pytest.fixture(scope="module")
def remediation():
    spec = load_scenario(ROOT / "scenarios/remediation-on-failure.yaml")
    return spec, history_from_enrollments(simulate(spec).enrollments)


def _audit_frame(spec, frame, tmp_path):
    return audit(spec, write_history(frame, tmp_path / "history.csv"))


def _line(frame: pd.DataFrame, label) -> int:
    return frame.index.get_loc(label) + 2  # the header is line 1


def test_a_deleted_post_enrollment_is_missing(remediation, tmp_path):
    spec, history = remediation
    row = history[history["course"] == "ADVANCED"].iloc[0]
    planted = history.drop(index=row.name).reset_index(drop=True)
    result = _audit_frame(spec, planted, tmp_path)
    assert found(result) == {("missing", row.learner, "ADVANCED", "exam-passed", None, "S19.4")}
    assert result.discrepancies.iloc[0]["expected_day"] == row.enrolled_day


def test_an_added_post_enrollment_is_unexpected(remediation, tmp_path):
    spec, history = remediation
    refreshed = set(history.loc[history["course"] == "REFRESH", "learner"])
    learner = sorted(set(history["learner"]) - refreshed)[0]  # never failed: no refresher due
    extra = pd.DataFrame(
        [
            {
                "learner": learner,
                "course": "REFRESH",
                "method": "post_enrollment",
                "status": "not_started",
                "enrolled_day": 60.0,
            }
        ]
    )
    planted = pd.concat([history, extra], ignore_index=True)
    result = _audit_frame(spec, planted, tmp_path)
    assert found(result) == {
        ("unexpected", learner, "REFRESH", "exam-failed", len(planted) + 1, "S17")
    }


@pytest.mark.parametrize("shift", [3.0, -0.5])
def test_a_shifted_post_enrollment_is_off_time(remediation, tmp_path, shift):
    """Later: an ADVANCED record moved whole (its learner still completes it). Earlier:
    a refresher enrolled half a day before the rule's one-day delay was over."""
    spec, history = remediation
    planted = history.copy()
    if shift > 0:
        label = planted.index[(planted.course == "ADVANCED") & (planted.completed_day < 100)][0]
        for column in ("enrolled_day", "started_day", "completed_day"):
            planted.loc[label, column] += shift
        rule = "exam-passed"
    else:
        label = planted.index[(planted.course == "REFRESH") & planted.started_day.notna()][0]
        planted.loc[label, "enrolled_day"] += shift
        rule = "exam-failed"
    result = _audit_frame(spec, planted, tmp_path)
    row = planted.loc[label]
    assert found(result) == {
        ("off-time", row.learner, row.course, rule, _line(planted, label), "S3")
    }
    assert result.discrepancies.iloc[0]["offset_days"] == pytest.approx(shift)
    assert ("late" if shift > 0 else "early") in result.discrepancies.iloc[0]["explanation"]


# ----- the replay's semantics, case by case -----------------------------------------------

CHAIN = """
name: chain
horizon_days: 100
courses:
  - id: A
    type: online
    allow_failure: true
    post_enrollments:
      - {id: R1, when: completed, delay_days: 5, courses: [B]}
      - {id: R2, when: failed, delay_days: 1, courses: [C]}
  - id: B
    type: online
    post_enrollments:
      - {id: R3, when: enrolled, delay_days: 0, courses: [D]}
  - {id: C, type: online}
  - {id: D, type: online}
"""


def test_clean_chain_and_a_deleted_link_breaks_what_follows():
    clean = (
        HEADER
        + "ana,A,admin,0,,10,,complete\nana,B,post_enrollment,15,,,,not_started\nana,D,post_enrollment,15,,,,not_started\n"
    )
    assert found(audit_text(CHAIN, clean)) == set()
    # without B, D has no trigger: B is missing and D unexpected (it still enters the state)
    broken = HEADER + "ana,A,admin,0,,10,,complete\nana,D,post_enrollment,15,,,,not_started\n"
    assert found(audit_text(CHAIN, broken)) == {
        ("missing", "ana", "B", "R1", None, "S19.4"),
        ("unexpected", "ana", "D", "R3", 3, "S17"),
    }


def test_an_unexpected_record_still_triggers_its_rules():
    history = (
        HEADER + "bo,B,post_enrollment,20,,,,not_started\nbo,D,post_enrollment,20,,,,not_started\n"
    )
    assert found(audit_text(CHAIN, history)) == {("unexpected", "bo", "B", "R1", 2, "S17")}


def test_a_failure_with_the_vendors_single_end_date_triggers_failed_rules():
    mapping = (
        "columns: {completed_at: Date Completed, enrolled_at: Date Enrolled}\nday0: 2025-01-01\n"
    )
    history = (
        "learner,course,method,Date Enrolled,Date Completed,status\n"
        "cy,A,admin,2025-01-01,2025-01-03 09:00,failed\n"
        "cy,C,post_enrollment,2025-01-04T09:00:00,,not_started\n"
    )
    assert found(audit_text(CHAIN, history, mapping)) == set()


def test_two_rules_wanting_one_course_at_one_instant_miss_it_once():
    scenario = """
    name: twice
    horizon_days: 30
    courses:
      - id: A
        type: online
        post_enrollments:
          - {id: R1, when: completed, delay_days: 2, courses: [X]}
          - {id: R2, when: completed, delay_days: 2, courses: [X]}
      - {id: X, type: online}
    """
    history = HEADER + "ana,A,admin,0,,1,,complete\n"
    assert found(audit_text(scenario, history)) == {("missing", "ana", "X", "R1", None, "S19.4")}
    doubled = (
        history + "ana,X,post_enrollment,3,,,,not_started\nana,X,post_enrollment,3,,,,not_started\n"
    )
    result = audit_text(scenario, doubled)
    assert found(result) == {("unexpected", "ana", "X", "R2", 4, "S19.2")}
    assert "R2's job" in result.discrepancies.iloc[0]["explanation"]
    # one rule, one job, two records: the second repeats the first
    single = scenario.replace(
        "          - {id: R2, when: completed, delay_days: 2, courses: [X]}\n", ""
    )
    result = audit_text(single, doubled)
    assert found(result) == {("unexpected", "ana", "X", "R1", 4, "S19.2")}
    assert (
        "the record on line 3; this one repeats it" in result.discrepancies.iloc[0]["explanation"]
    )


def test_a_record_the_rules_skip_is_unexpected_with_the_reason():
    scenario = """
    name: skip
    horizon_days: 60
    courses:
      - id: A
        type: online
        post_enrollments:
          - {id: R1, when: completed, delay_days: 0, courses: [B]}
      - {id: B, type: online}
    """
    history = HEADER + (
        "ana,B,admin,0,,2,,complete\n"
        "ana,A,admin,3,,5,,complete\n"
        "ana,B,post_enrollment,5,,,,not_started\n"
    )
    result = audit_text(scenario, history)
    assert found(result) == {("unexpected", "ana", "B", "R1", 4, "S19.3")}
    assert "does not allow consecutive" in result.discrepancies.iloc[0]["explanation"]


def test_rule_changes_in_the_script_are_in_force_from_their_day():
    scenario = """
    name: changes
    horizon_days: 60
    courses:
      - id: A
        type: online
        post_enrollments:
          - {id: R1, when: completed, delay_days: 0, courses: [B]}
      - {id: B, type: online}
      - {id: C, type: online}
    learners: [ana, bo, cy]
    script:
      - {day: 10, action: remove_rule, rule: R1}
      - {day: 10, action: add_rule, course: A, rule: {id: R9, when: completed, delay_days: 0, courses: [C]}}
      - {day: 30, action: remove_learner, learner: cy}
    """
    history = HEADER + (
        "ana,A,admin,0,,5,,complete\n"  # R1 in force: B
        "ana,B,post_enrollment,5,,,,not_started\n"
        "bo,A,admin,0,,12,,complete\n"  # R1 removed, R9 added: C, not B
        "bo,B,post_enrollment,12,,,,not_started\n"
        "bo,C,post_enrollment,12,,,,not_started\n"
        "cy,A,admin,0,,40,,complete\n"  # removed on day 30: no trigger (S29)
        "cy,C,post_enrollment,40,,,,not_started\n"
    )
    assert found(audit_text(scenario, history)) == {
        ("unexpected", "bo", "B", None, 5, "S18"),
        ("unexpected", "cy", "C", None, 8, "S29"),
    }


def test_learners_who_left_per_the_history_trigger_nothing():
    history = (
        "learner,course,method,enrolled_day,completed_day,removed_day\n"
        "ana,A,admin,0,3,\n"
        "ana,B,post_enrollment,8,,\n"
        "ana,D,post_enrollment,8,,\n"
        "bo,A,admin,0,3,2\n"  # bo left on day 2: the completion on day 3 queues nothing
        "bo,B,post_enrollment,8,,\n"
    )
    result = audit_text(CHAIN, history)
    assert found(result) == {("unexpected", "bo", "B", None, 6, "S29")}
    assert "bo was removed on day 2" in result.discrepancies.iloc[0]["explanation"]
    with pytest.raises(ScenarioError) as info:
        audit_text(CHAIN, history + "bo,C,admin,1,,4\n")
    assert [str(p) for p in info.value.problems] == [
        "history.csv:7: removed_day: bo was removed on day 4 here, but on day 2 on line 5: "
        "a learner is removed once (S29)"
    ]


def test_bundle_members_and_curriculum_completions_come_from_the_history():
    scenario = """
    name: containers
    horizon_days: 60
    courses:
      - {id: PACK, type: bundle, members: [M1]}
      - id: M1
        type: online
        post_enrollments:
          - {id: on-m1, when: enrolled, delay_days: 1, courses: [N]}
      - {id: N, type: online}
      - id: CUR
        type: curriculum
        members: [M1]
        post_enrollments:
          - {id: cur-done, when: completed, delay_days: 0, courses: [N2]}
      - {id: N2, type: online}
    """
    history = HEADER + (
        "ana,PACK,admin,0,,,,not_started\n"
        "ana,M1,bundle,0,,4,,complete\n"
        "ana,N,post_enrollment,1,,,,not_started\n"
        "ana,CUR,admin,2,,4,,complete\n"
        "ana,N2,post_enrollment,4,,,,not_started\n"
    )
    assert found(audit_text(scenario, history)) == set()
    # the LMS's curriculum did not complete (the history says so): nothing is required
    unfinished = history.replace("ana,CUR,admin,2,,4,,complete", "ana,CUR,admin,2,,,,not_started")
    assert found(audit_text(scenario, unfinished)) == {
        ("unexpected", "ana", "N2", "cur-done", 6, "S17")
    }


DAILY = """
name: daily
start_date: 2025-01-06
horizon_days: 30
processing: {mode: daily, hour: 2}
courses:
  - id: A
    type: online
    post_enrollments:
      - {id: R1, when: completed, delay_days: 2, courses: [B]}
  - {id: B, type: online}
"""


@pytest.mark.parametrize(
    ("zone", "completed", "enrolled", "finds"),
    [
        ("UTC", "2025-01-07 15:00", "2025-01-10 02:10", set()),  # the run of the 10th, 02:00
        ("UTC", "2025-01-07 15:00", "2025-01-10", set()),  # a date alone: that day's run
        ("UTC", "2025-01-07 15:00", "2025-01-11", {"off-time"}),  # a day late
        # a completion given as a date alone happened some time on the 7th: due some time
        # on the 9th (delay 2), so taken by the run of the 9th or of the 10th, 02:00
        ("UTC", "2025-01-07", "2025-01-10", set()),  # the export's usual case, not 22 h late
        ("UTC", "2025-01-07", "2025-01-09", set()),
        ("UTC", "2025-01-07", "2025-01-10 02:30", set()),  # within the hour's tolerance
        ("UTC", "2025-01-07", "2025-01-10 09:00", {"off-time"}),  # 7 h after the last run
        ("UTC", "2025-01-07", "2025-01-11", {"off-time"}),  # no run that day allows
        ("America/New_York", "2025-01-07T14:00:00Z", "2025-01-10T07:00:00Z", set()),  # 02:00 there
        ("UTC", "2025-01-07T14:00:00Z", "2025-01-10T07:00:00Z", {"off-time"}),  # 07:00 here
    ],
)
def test_daily_runs_dates_alone_and_time_zones(zone, completed, enrolled, finds):
    history = (
        "learner,course,method,enrolled_at,completed_at\n"
        f"ana,A,admin,2025-01-06,{completed}\n"
        f"ana,B,post_enrollment,{enrolled},\n"
    )
    result = audit_text(DAILY, history, f"timezone: {zone}\n")
    assert {f[0] for f in found(result)} == finds


@pytest.mark.parametrize(
    ("trigger", "record"),
    [
        # 0.4 s after the run of the 7th is its second: on time at tolerance 0 (it was
        # 0.4 s late); the run's day is 1 + 2/24
        ("2025-01-06T09:00:00", "2025-01-07T02:00:00.4"),
        ("2025-01-06T09:00:00", "2025-01-07T01:59:59.6"),
        # a trigger at 02:00:00.4 is at 02:00, so that run takes its job (S3, S23: the
        # history's records come before the jobs of their instant): it was the next night's
        ("2025-01-07T02:00:00.4", "2025-01-07T02:00:00.4"),
        ("2025-01-07T02:00:00.4+00:00", "2025-01-07T03:00:00.2+01:00"),
    ],
)
def test_history_moments_are_whole_seconds(trigger, record):
    """S1 v2: every moment read from a history is its whole second, so a sub-second
    fraction is judged against the 02:00 run exactly (hand-worked: the run is at
    2025-01-07 02:00:00, day 1 + 1/12)."""
    history = (
        f"learner,course,method,enrolled_at\nana,A,admin,{trigger}\n"
        f"ana,B,post_enrollment,{record}\n"
    )
    result = audit_text(ON_ENROLMENT, history, tolerance_days=0)
    assert found(result) == set()
    assert result.counts["on_time"] == 1
    (b,) = [r for r in result.history.records if r.course == "B"]
    assert b.enrolled == 1 + 1 / 12  # exactly the run's day number, not 0.4 s after it


def test_an_offset_is_a_whole_number_of_seconds():
    """S1: history minus the run, two whole seconds, is one too: exactly -0.25 (6 h
    early), not the float difference -0.2499999999999999."""
    history = (
        "learner,course,method,enrolled_at\nana,A,admin,2025-01-06T09:00\n"
        "ana,B,post_enrollment,2025-01-06T20:00\n"
    )
    (offset,) = audit_text(ON_ENROLMENT, history).discrepancies["offset_days"]
    assert offset == -0.25


def test_history_day_numbers_are_whole_seconds_too():
    """`*_day` moments too: 1.0833333 (01:59:59.997) is the 02:00 run's second."""
    history = (
        "learner,course,method,enrolled_day\nana,A,admin,1.0833333\n"
        "ana,B,post_enrollment,1.0833337\n"
    )
    result = audit_text(ON_ENROLMENT, history, tolerance_days=0)
    assert found(result) == set()
    assert {r.enrolled for r in result.history.records} == {1 + 1 / 12}


# ----- bad input: every problem located, all at once -------------------------------------


def test_bad_rows_are_located_all_at_once():
    history = (
        "learner,course,method,enrolled_day,completed_day,failed_day,status\n"
        "ana,A,admin,0,3,,complete\n"
        "ana,Z,admin,0,,,not_started\n"
        "ana,A,manual,0,,,not_started\n"
        "ana,A,admin,zero,,,not_started\n"
        "ana,B,admin,5,4,,complete\n"
        "ana,C,admin,5,,,complete\n"
        "ana,C,admin,500,,,not_started\n"
        "ana,B,admin,1,2\n"
        "ana,D,admin,1,,3,failed\n"
        "=cmd,D,admin,1,,,not_started\n"
    )
    with pytest.raises(ScenarioError) as info:
        audit_text(CHAIN, history)
    assert [str(p) for p in info.value.problems] == [
        "history.csv:3: course: unknown course 'Z': not in the scenario's catalog",
        "history.csv:4: method: unknown method 'manual'; map it under values.method in a map "
        "file (--map) to one of admin, self, post_enrollment, bundle, re_enrollment",
        "history.csv:5: enrolled_day: 'zero' is not a number of days",
        "history.csv:6: completed_day: '4' is before the record was enrolled (5)",
        "history.csv:7: status: status complete, but the record has no completion date",
        "history.csv:8: enrolled_day: '500' is day 500, after the scenario's horizon (day 100): "
        "extend horizon_days to cover the history",
        "history.csv:9: (row): 5 fields, but the header has 7",
        "history.csv:10: failed_day: D cannot be failed: it does not allow failure (S5)",
        "history.csv:11: learner: '=cmd': a learner id cannot start with = + - @ or hold control "
        "characters (a spreadsheet would run it as a formula)",
    ]


def test_timestamps_past_year_9999_or_before_year_1_and_a_tzdata_folder_are_located():
    """Each was an internal error (exit 3): an OverflowError converting to the portal's
    time zone, and the OSError of opening tzdata's folder `America` as a zone."""
    history = (
        "learner,course,method,enrolled_at\n"
        "ana,A,admin,9999-12-31T23:00:00-05:00\n"
        "ana,B,admin,0001-01-01T01:00:00+05:00\n"
    )
    with pytest.raises(ScenarioError) as info:
        audit_text(DAILY, history, "timezone: America/New_York\n")
    assert [str(p) for p in info.value.problems] == [
        "history.csv:2: enrolled_at: '9999-12-31T23:00:00-05:00' is outside the years 1 to "
        "9999 in America/New_York",
        "history.csv:3: enrolled_at: '0001-01-01T01:00:00+05:00' is outside the years 1 to "
        "9999 in America/New_York",
    ]
    with pytest.raises(ScenarioError) as info:
        parse_map("timezone: America\n", "map.yaml")
    (problem,) = info.value.problems
    assert str(problem).startswith("map.yaml:1: timezone: unknown time zone 'America'")


def test_a_record_changed_after_it_was_superseded_is_located():
    history = HEADER + "ana,A,admin,0,,9,,complete\nana,A,admin,5,,,,not_started\n"
    with pytest.raises(ScenarioError) as info:
        audit_text(CHAIN, history)
    assert [str(p) for p in info.value.problems] == [
        "history.csv:2: completed_day: completed on day 9, after line 3 enrolled ana in A again "
        "on day 5: a record moved to history keeps its state (S14)"
    ]


def test_map_problems_and_missing_columns_are_located():
    with pytest.raises(ScenarioError) as info:
        parse_map(
            "columns: {learnr: Username, course: Course Code}\n"
            "values:\n  method: {System: post_enrolment}\n"
            "timezone: Europe/Londn\ndate_fmt: x\n",
            "map.yaml",
        )
    assert [str(p) for p in info.value.problems] == [
        "map.yaml:1: columns.learnr: unknown column 'learnr' (did you mean 'learner'?); columns "
        "are record_id, learner, course, method, status, enrolled_at, enrolled_day, started_at, "
        "started_day, completed_at, completed_day, failed_at, failed_day, removed_at, removed_day, "
        "expires_at, expires_day",
        "map.yaml:3: values.method.System: unknown method 'post_enrolment' (did you mean "
        "'post_enrollment'?); methods are admin, self, post_enrollment, bundle, re_enrollment",
        "map.yaml:4: timezone: unknown time zone 'Europe/Londn' (did you mean 'Europe/London'?); "
        "use an IANA name such as UTC or Europe/Berlin",
        "map.yaml:5: date_fmt: unknown key 'date_fmt' (did you mean 'date_format'?); keys are "
        "columns, values, timezone, date_format, day0, delimiter",
    ]
    with pytest.raises(ScenarioError) as info:
        audit_text(CHAIN, "user,course,method,enrolled_at\nana,A,admin,2025-01-01\n")
    assert [str(p) for p in info.value.problems] == [
        "history.csv:1: learner: no column 'learner'; the columns are user, course, method, "
        "enrolled_at (name it in a map file, --map, if the export calls it otherwise)",
        "history.csv:1: enrolled_at: timestamps need a day 0: the scenario has no start_date; "
        "set day0 in a map file (--map)",
    ]


def test_a_time_zone_that_is_a_folder_of_zones_is_located():
    """`America` is a folder of tzdata, not a zone (it was an unlocated OS error)."""
    with pytest.raises(ScenarioError) as info:
        parse_map("timezone: America\n", "map.yaml")
    (problem,) = [str(p) for p in info.value.problems]
    assert problem.startswith("map.yaml:1: timezone: unknown time zone 'America'")


def test_the_map_is_a_model_that_forbids_unknown_keys_with_the_documented_keys():
    """The map file is a pydantic model (`extra="forbid"`) whose keys are the ones
    docs/audit.md documents; the shipped example validates."""
    from pydantic import ValidationError

    from postenroll_sim.qa.audit import HistoryMap

    with pytest.raises(ValidationError):
        HistoryMap.model_validate({"colour": "red"})
    keys = [info.alias or name for name, info in HistoryMap.model_fields.items()]
    table = (ROOT / "docs" / "audit.md").read_text().split("## The map file")[1].split("##")[0]
    documented = [line.split("`")[1] for line in table.splitlines() if line.startswith("| `")]
    assert keys == documented
    mapping = parse_map((EXAMPLE / "map.yaml").read_text(), "map.yaml")
    assert mapping.header("learner") == "Username"
    assert mapping.words("method")["re enrollment"] == "post_enrollment"  # folded


def test_an_unknown_map_key_is_matched_against_the_keys_at_its_place():
    """A misspelt key inside `values` is suggested among the value columns (method,
    status, course), not among the map's top-level keys or a scenario's."""
    with pytest.raises(ScenarioError) as info:
        parse_map("timezone: UTC\nvalues:\n  metod: {System: post_enrollment}\n", "map.yaml")
    (problem,) = [str(p) for p in info.value.problems]
    assert problem.startswith("map.yaml:3: values.metod: unknown key 'metod'")
    assert "(did you mean 'method'?); keys are method, status, course" in problem


@pytest.mark.parametrize(
    ("text", "path", "shown"),
    [
        ("columns: [Username]\n", "columns", "got ['Username']"),
        ("values: [method]\n", "values", "got ['method']"),
        ("values:\n  status: {Done: [complete]}\n", "values.status.Done", "got ['complete']"),
        ("date_format: [5]\n", "date_format.0", "got 5"),
        ("day0: [2025]\n", "day0", "got [2025]"),
    ],
)
def test_a_map_value_of_the_wrong_type_is_located_and_shown(text, path, shown):
    with pytest.raises(ScenarioError) as info:
        parse_map(text, "map.yaml")
    (problem,) = [str(p) for p in info.value.problems]
    assert problem.startswith(f"map.yaml:{text.count(chr(10))}: {path}: ")
    assert problem.endswith(shown)


def test_cli_every_map_mistake_at_once_exit_2_with_its_line(tmp_path, cli):
    map_file = tmp_path / "map.yaml"
    map_file.write_text(
        "columns:\n"
        "  learner: Username\n"
        "  enrolled_at: [Date]\n"  # 3: a header that is a list
        "values:\n"
        "  status: {Completed: complete}\n"
        "  metod: {System: post_enrollment}\n"  # 6: a misspelt value column
        "timezone: Europe/Londn\n"  # 7: a misspelt zone
        "delimter: ';'\n"  # 8: a misspelt key
        "day0: 2025-01-06\n"
    )
    code, out, err = cli(
        "audit", EXAMPLE / "scenario.yaml", EXAMPLE / "history.csv", "--map", map_file
    )
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert [line.split(": ")[:2] for line in lines] == [
        [f"{map_file}:3", "columns.enrolled_at"],
        [f"{map_file}:6", "values.metod"],
        [f"{map_file}:7", "timezone"],
        [f"{map_file}:8", "delimter"],
    ]
    assert "did you mean 'method'?" in lines[1]
    assert "did you mean 'Europe/London'?" in lines[2]
    assert "did you mean 'delimiter'?" in lines[3]


def test_cli_bad_history_exit_2_with_located_lines_and_no_traceback(tmp_path, cli):
    history = tmp_path / "vendor.csv"
    history.write_text(
        (EXAMPLE / "history.csv").read_text().replace("18/01/2025 02:01", "31/02/2025 02:01")
        + "zed,WELCOME,Imported,06/01/2025 09:00,,,Completed\n"
    )
    code, _, err = cli("audit", EXAMPLE / "scenario.yaml", history, "--map", EXAMPLE / "map.yaml")
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith(f"{history}:5: Date Enrolled: '31/02/2025 02:01' does not match")
    assert lines[1].startswith(f"{history}:21: Enrollment Type: unknown method 'Imported'")


@pytest.mark.parametrize(
    ("status", "suggestion"),
    [
        ("NotComplete", None),  # the opposite of complete: no "did you mean 'complete'?"
        ("Incomplete", None),
        ("Non-Complete", None),
        ("Completd", "complete"),  # a close spelling with the same meaning
        ("not startd", "not_started"),
    ],
)
def test_a_status_suggestion_never_turns_the_meaning_around(status, suggestion):
    history = f"learner,course,method,enrolled_at,status\nana,A,admin,2025-01-06,{status}\n"
    with pytest.raises(ScenarioError) as info:
        audit_text(DAILY, history)
    (message,) = [str(p) for p in info.value.problems]
    assert "map it under values.status" in message
    if suggestion is None:
        assert "did you mean" not in message
    else:
        assert f"did you mean '{suggestion}'" in message


def test_history_ids_are_normalised_like_the_scenarios():
    nfc, nfd = "\u00c9", "E\u0301"  # a course É: one character, or E and an accent
    scenario = DAILY.replace("id: B,", f"id: {nfc},").replace("courses: [B]", f"courses: [{nfc}]")
    history = (
        "learner,course,method,enrolled_at,completed_at\n"
        "ana,A,admin,2025-01-06,2025-01-07 15:00\n"
        f"ana,{nfd},post_enrollment,2025-01-10 02:10,\n"
    )
    assert found(audit_text(scenario, history)) == set()  # the post enrollment, on time


# ----- re-enrollment before expiry (S34): the certificates' jobs decide ------------------

CERTIFIED = """\
name: fire certificates
horizon_days: 200
courses:
  - id: FIRE
    type: online
    certificate: {valid_for: {days: 100}, reenroll_before: {days: 10}}
  - {id: DRILL, type: online}
"""
CERT_HEADER = "learner,course,method,enrolled_day,completed_day,expires_day,status\n"


def test_re_enrollments_are_missing_unexpected_or_off_time_like_post_enrollments():
    """ana completes FIRE on day 5: valid 100 days, expiry 105, re-enrolled 10 days
    before, on day 95 (S34); the vendor's "Re Enrollment" needs no map. ben (completed
    day 10, due 100) has none: missing. cy (completed 20, due 110) is re-enrolled on
    113: 3 days late. dee never held a certificate: her re-enrollment is unexpected."""
    result = audit_text(
        CERTIFIED,
        CERT_HEADER + "ana,FIRE,admin,0,5,,complete\n"
        "ana,FIRE,Re Enrollment,95,,,not_started\n"
        "ben,FIRE,admin,0,10,,complete\n"
        "cy,FIRE,admin,0,20,,complete\n"
        "cy,FIRE,re_enrollment,113,,,not_started\n"
        "dee,DRILL,admin,0,,,not_started\n"
        "dee,FIRE,re-enrollment,50,,,not_started\n",
    )
    assert found(result) == {
        ("missing", "ben", "FIRE", None, None, "S34.4"),
        ("off-time", "cy", "FIRE", None, 6, "S3"),
        ("unexpected", "dee", "FIRE", None, 8, "S34"),
    }
    frame = result.discrepancies.set_index("learner_id")
    assert frame.loc["ben", "due_day"] == 100.0 and frame.loc["ben", "trigger"] == "expiring"
    assert frame.loc["cy", "offset_days"] == 3.0
    assert "expires on day 120 (valid for 100 days, S31)" in frame.loc["cy", "explanation"]
    assert "held no certificate of FIRE" in frame.loc["dee", "explanation"]
    c = result.counts
    assert (c["re_enrollments"], c["re_required"], c["re_on_time"]) == (3, 3, 1)
    assert (c["re_off_time"], c["re_missing"], c["re_unexpected"]) == (1, 1, 1)
    assert c["required"] == 3 and c["discrepancies"] == 3  # no rule required anything
    summary = result.summary()
    assert "the certificates required 3 re-enrollments: 1 on time, 1 off-time, 1 missing" in summary
    assert "the history's re-enrollments: 2 answer a certificate, 1 unexpected" in summary


def test_a_post_enrollment_never_answers_a_re_enrollment():
    """The rule's jobs and the certificate's are separate mechanisms (S38): a post
    enrollment at the re-enrollment's instant is unexpected, the re-enrollment missing."""
    result = audit_text(
        CERTIFIED,
        CERT_HEADER + "ana,FIRE,admin,0,5,,complete\nana,FIRE,post_enrollment,95,,,not_started\n",
    )
    assert found(result) == {
        ("missing", "ana", "FIRE", None, None, "S34.4"),
        ("unexpected", "ana", "FIRE", None, 3, "S18"),
    }


def test_the_historys_expiry_is_the_certificates():
    """With `expires_day` (`expires_at`), the history's expiry is the truth (S39): ana's
    certificate expires on day 150, not 105, so the re-enrollment is due on 140."""
    history = (
        CERT_HEADER
        + "ana,FIRE,admin,0,5,{expires},complete\nana,FIRE,re_enrollment,140,,,not_started\n"
    )
    assert audit_text(CERTIFIED, history.format(expires=150)).discrepancies.empty
    computed = audit_text(CERTIFIED, history.format(expires=""))
    assert found(computed) == {("off-time", "ana", "FIRE", None, 3, "S3")}  # 45 days late
    given = audit_text(CERTIFIED, history.format(expires=150).replace(",140,", ",141,"))
    assert (
        "expires on day 150 (the history's expiry, line 2)"
        in given.discrepancies.iloc[0]["explanation"]
    )


def test_bad_expiries_are_located_and_one_on_a_course_without_certificate_is_ignored():
    with pytest.raises(ScenarioError) as raised:
        audit_text(
            CERTIFIED,
            CERT_HEADER + "ana,FIRE,admin,0,,50,not_started\nben,FIRE,admin,0,20,10,complete\n",
        )
    assert [str(p) for p in raised.value.problems] == [
        "history.csv:2: expires_day: an expiry, but no completion: a certificate is awarded "
        "on completion (S31)",
        "history.csv:3: expires_day: '10' is not after the completion (20) (S31)",
    ]
    result = audit_text(CERTIFIED, CERT_HEADER + "ana,DRILL,admin,0,5,400,complete\n")
    assert result.discrepancies.empty and result.history.records[0].expires is None
    assert result.history.warnings == [
        "history.csv: expiry dates on DRILL are ignored: it has no certificate in the "
        "scenario (S31, S39)"
    ]
    assert result.meta()["warnings"] == result.history.warnings


def test_round_trip_a_simulated_certificate_history_audits_clean(tmp_path):
    spec = load_scenario(ROOT / "scenarios" / "certificates-fire-safety.yaml")
    run = simulate(spec)
    path = write_history(
        history_from_enrollments(run.enrollments, run.events), tmp_path / "history.csv"
    )
    result = audit(spec, path, tolerance_days=0)
    assert result.discrepancies.empty, result.summary()
    renewed = int((run.enrollments["method"] == "re_enrollment").sum())
    assert result.counts["re_required"] == result.counts["re_on_time"] == renewed > 0
