"""`infer`: the rules read from an LMS history (docs/infer.md).

Histories simulated from known rules (exact and daily processing, a rule with two
targets, a failed trigger, consecutive recertification, admin and self enrollments as
noise, a certificate's re-enrollment) give back those rules, and the skeleton written
from them audits with no discrepancy; ties, edits and bad input are said as documented.
"""

from __future__ import annotations

import textwrap

import pytest

from postenroll_sim import load_scenario, parse_scenario, simulate
from postenroll_sim.design.infer import infer
from postenroll_sim.design.lint import lint_scenario
from postenroll_sim.qa.audit import (
    audit,
    history_from_enrollments,
    parse_history,
    read_history,
    write_history,
)

from helpers import ROOT

KNOWN = """
name: infer known rules
horizon_days: 200
seed: 3
{processing}
default_behaviour:
  start_after_days: {{dist: exponential, mean: 1}}
  duration_days: {{dist: lognormal, median: 2, sigma: 0.5}}
courses:
  - id: A
    type: online
    post_enrollments:
      - {{id: a-next, when: completed, delay_days: 3, courses: [B]}}
  - id: B
    type: online
    post_enrollments:
      - {{id: b-pair, when: completed, delay_days: 0, courses: [C, D]}}
  - {{id: C, type: online}}
  - id: D
    type: online
    post_enrollments:
      - {{id: d-exam, when: completed, delay_days: 1, courses: [EXAM]}}
  - id: EXAM
    type: online
    allow_failure: true
    behaviour:
      start_after_days: {{dist: exponential, mean: 1}}
      duration_days: {{dist: lognormal, median: 1, sigma: 0.5}}
      pass_rate: 0.6
    post_enrollments:
      - {{id: exam-failed, when: failed, delay_days: 2, courses: [REF], allow_consecutive: true}}
      - {{id: exam-cert, when: completed, delay_days: 5, courses: [CERT]}}
  - id: REF
    type: online
    post_enrollments:
      - {{id: ref-retake, when: completed, delay_days: 0, courses: [EXAM]}}
  - id: CERT
    type: online
    post_enrollments:
      - {{id: recert, when: completed, delay_days: 30, courses: [CERT], allow_consecutive: true}}
  - {{id: NOISE, type: online}}
population:
  initial: 60
  hires: {{per_day: 0.3}}
  on_hire:
    - {{course: A}}
    - {{course: NOISE, after_days: {{dist: exponential, mean: 10}}}}
  self_enroll:
    - {{course: C, per_year: 1}}
"""
# (source, when, delay, targets, consecutive) of every rule of KNOWN
RULES = {
    ("A", "completed", 3, ("B",), False),
    ("B", "completed", 0, ("C", "D"), False),
    ("D", "completed", 1, ("EXAM",), False),
    ("EXAM", "failed", 2, ("REF",), True),
    ("EXAM", "completed", 5, ("CERT",), False),
    ("REF", "completed", 0, ("EXAM",), False),
    ("CERT", "completed", 30, ("CERT",), True),
}


def _simulated(text: str, folder):
    spec = parse_scenario(textwrap.dedent(text), "known.yaml")
    run = simulate(spec)
    path = write_history(history_from_enrollments(run.enrollments, run.events), folder / "h.csv")
    history = read_history(path, None)
    return path, infer(history.records, history.day0, str(path))


def _rules(inference) -> set[tuple]:
    return {
        (r.source, r.when, r.delay, tuple(r.targets), r.consecutive)
        for r in inference.rules
        if r.written
    }


def _audits_clean(inference, history, folder, mapping=None):
    skeleton = folder / "skeleton.yaml"
    skeleton.write_text(inference.skeleton(), encoding="utf-8")
    spec = load_scenario(skeleton)
    assert not [f for f in lint_scenario(spec, from_history=True).findings if f.severity != "info"]
    result = audit(spec, history, mapping)
    return result.discrepancies


@pytest.fixture(scope="module", params=["exact", "daily"])
def known(request, tmp_path_factory):
    processing = "processing: {mode: daily, hour: 2}" if request.param == "daily" else ""
    folder = tmp_path_factory.mktemp(request.param)
    path, inference = _simulated(KNOWN.format(processing=processing), folder)
    return request.param, folder, path, inference


def test_the_rules_are_recovered_with_their_targets_trigger_and_consecutive(known):
    mode, _, _, inference = known
    assert _rules(inference) == RULES
    assert (inference.processing.mode, inference.processing.hour) == (
        ("daily", 2) if mode == "daily" else ("exact", None)
    )
    assert inference.exit_code == 0 and not inference.unexplained
    for rule in inference.rules:
        assert rule.confidence == "high" and not rule.missed, rule.text()
        if mode == "exact":  # S3: exact delays; a daily run's spread within the day after
            assert min(rule.gaps) == max(rule.gaps) == rule.delay
        else:
            assert rule.delay <= min(rule.gaps) and max(rule.gaps) <= rule.delay + 1
            assert max(rule.gaps) - min(rule.gaps) > 0.5
    pair = next(r for r in inference.rules if r.source == "B")
    assert pair.targets == ["C", "D"]  # one rule, its targets in the order they were made
    assert pair.skipped["skipped_already_enrolled"] >= 0


def test_noise_enrollments_make_no_rule(known):
    """Admin (NOISE, on hire) and self (C) records are triggers, never a rule's product."""
    _, _, _, inference = known
    assert not [r for r in inference.rules if "NOISE" in (r.source, *r.targets)]
    assert all(p.method == "post_enrollment" for r in inference.rules for p in r.records)


def test_the_skeleton_lints_and_audits_with_no_discrepancy(known):
    _, folder, path, inference = known
    assert _audits_clean(inference, path, folder).empty
    text = inference.skeleton()
    assert "horizon_days: 200" in text and "allow_failure: true" in text
    assert "courses: [C, D]" in text and "allow_consecutive: true" in text


def test_a_certificates_reenrollment_window_is_read_from_its_reenrollments(tmp_path):
    path, inference = _simulated(
        """
        name: fire
        horizon_days: 200
        seed: 5
        default_behaviour:
          start_after_days: {dist: exponential, mean: 2}
          duration_days: {dist: lognormal, median: 2, sigma: 0.5}
        courses:
          - id: FIRE
            type: online
            certificate: {valid_for: {days: 60}, reenroll_before: {days: 10}}
            post_enrollments:
              - {id: fire-next, when: completed, delay_days: 2, courses: [DRILL]}
          - {id: DRILL, type: online}
        population: {initial: 30, on_hire: [{course: FIRE}]}
        """,
        tmp_path,
    )
    (certificate,) = inference.certificates
    assert (certificate.course, certificate.after, certificate.missed) == ("FIRE", 50, 0)
    assert _rules(inference) == {("FIRE", "completed", 2, ("DRILL",), False)}
    assert "re-enrolled" not in inference.summary() and "50 days after each completion" in (
        inference.summary()
    )
    assert _audits_clean(inference, path, tmp_path).empty


HEADER = "learner,course,method,enrolled_day,completed_day,status\n"


def _infer_text(text: str):
    spec = None
    history = parse_history(textwrap.dedent(text), "history.csv", spec)
    return history, infer(history.records, history.day0, "history.csv")


def test_a_tie_is_resolved_by_the_shorter_delay_and_said():
    """Both learners complete A two days after enrolling: `completed + 3` and `enrolled +
    5` explain B equally well; the shorter delay wins and the summary names the other."""
    _, inference = _infer_text(
        HEADER
        + "al,A,admin,0.25,2.25,complete\nal,B,post_enrollment,5.25,,not_started\n"
        + "bo,A,admin,10.5,12.5,complete\nbo,B,post_enrollment,15.5,,not_started\n"
    )
    (rule,) = inference.rules
    assert (rule.source, rule.when, rule.delay) == ("A", "completed", 3)
    assert rule.ambiguous == ["B: when A is enrolled, after 5 days"]
    assert "ambiguous: as well explained by B: when A is enrolled, after 5 days" in (
        inference.summary()
    )


def test_a_delay_edited_midway_is_one_rule_and_a_script_edit(tmp_path):
    rows = []
    for n, (done, delay) in enumerate([(1.5, 2), (4.25, 2), (9.75, 2), (30.5, 7), (41.25, 7)]):
        rows.append(f"l{n},A,admin,{done - 1},{done},complete")
        rows.append(f"l{n},B,post_enrollment,{done + delay},,not_started")
    history, inference = _infer_text(HEADER + "\n".join(rows) + "\n")
    (rule,) = inference.rules
    assert (rule.delay, rule.edit, rule.missed) == (2, (7, 30.0), [])
    assert "{day: 30, action: edit_rule, rule: A-completed, set: {delay_days: 7}}" in (
        inference.skeleton()
    )
    assert _audits_clean(inference, history, tmp_path).empty


def test_a_trigger_with_no_record_is_an_exception_and_a_skipped_one_is_not():
    rows = [
        "al,A,admin,0,1.5,complete",
        "al,B,post_enrollment,3.5,,not_started",
        "bo,A,admin,0,2.25,complete",
        "bo,B,post_enrollment,4.25,,not_started",
        "cy,B,admin,0,,not_started",  # open in B: the rule skips cy (S19.2)
        "cy,A,admin,0,3.75,complete",
        "di,A,admin,0,5.5,complete",  # nothing: an exception
        "ed,A,admin,10,,not_started",  # the history goes on past every job's day
    ]
    _, inference = _infer_text(HEADER + "\n".join(rows) + "\n")
    (rule,) = inference.rules
    assert rule.skipped == {"skipped_already_enrolled": 1}
    assert [t.learner for t, _ in rule.missed] == ["di"]
    assert rule.confidence == "medium"


def test_a_learner_removed_before_the_job_ran_is_skipped_not_an_exception():
    """The removal is said on the learner's rows of other courses (docs/audit.md: "on
    any of their rows"): fy left on day 3, before the job due on day 4 (S19.1, S29);
    gus, not removed, is the one exception."""
    header = HEADER.replace("status", "status,removed_day")
    rows = [
        "al,A,admin,0,1.5,complete,",
        "al,B,post_enrollment,3.5,,not_started,",
        "bo,A,admin,0,2.25,complete,",
        "bo,B,post_enrollment,4.25,,not_started,",
        "fy,A,admin,0,2,complete,3",
        "gus,A,admin,0,5.5,complete,",
        "ed,A,admin,10,,not_started,",  # the history goes on past every job's day
    ]
    _, inference = _infer_text(header + "\n".join(rows) + "\n")
    (rule,) = inference.rules
    assert rule.skipped == {"skipped_learner_removed": 1}
    assert [t.learner for t, _ in rule.missed] == ["gus"]


def test_cli_infer_on_the_audit_example_writes_a_skeleton_audit_confirms(cli, tmp_path):
    example = ROOT / "examples" / "audit"
    out = tmp_path / "skeleton.yaml"
    code, text, err = cli(
        "infer", example / "history.csv", "--map", example / "map.yaml", "--out", out
    )
    assert code == 0, err
    assert "processing: daily at 02:00" in text
    assert "WELCOME-enrolled: when WELCOME is enrolled, enroll in HANDBOOK at once" in text
    assert "when SAFETY is completed, enroll in CERT after 7 days (from 2025-02-17" in text
    assert f"wrote {out}" in text
    skeleton = out.read_text(encoding="utf-8")  # the history's name, not the machine's path
    assert 'name: "Inferred from history.csv"' in skeleton and str(example) in skeleton
    assert cli("lint", "--history", out).returncode == 0
    code, text, _ = cli("audit", out, example / "history.csv", "--map", example / "map.yaml")
    assert code == 1 and "2 discrepancies: 1 missing, 1 unexpected, 0 off-time" in text


def test_cli_infer_bad_input_exits_2_located_and_no_rule_exits_1(cli, tmp_path):
    history = tmp_path / "h.csv"
    assert cli("infer", tmp_path / "missing.csv").returncode == 2
    history.write_text(HEADER + "al,A,admin,0,,done\nal,B,sometimes,1,,not_started\n")
    code, _, err = cli("infer", history)
    assert code == 2 and "Traceback" not in err
    assert f"{history}:2: status: unknown status 'done'" in err
    assert f"{history}:3: method: unknown method 'sometimes'" in err
    history.write_text(HEADER + "al,A,admin,0,1,complete\n")
    code, text, _ = cli("infer", history, "--out", tmp_path / "s.yaml")
    assert code == 1 and "0 rules inferred" in text
    assert load_scenario(tmp_path / "s.yaml").courses[0].id == "A"  # the catalog is written
    code, _, err = cli("infer", history, "--out", history)
    assert code == 2 and "is the history file itself" in err
