"""Each meaning once (issue 20): rule versions, trigger words, the kinds of script actions."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from postenroll_sim import analysis as A
from postenroll_sim import columns
from postenroll_sim.columns import TRIGGER_WORDS, TRIGGERS, TriggerWords, check_trigger_words
from postenroll_sim.design import lint, rulegraph
from postenroll_sim.design.drawing import rule_graph_figure
from postenroll_sim.engine.plan import compile_plan
from postenroll_sim.scenario.rules import NEVER, rule_versions

from helpers import ROOT, scenario

EDITED = """
name: a rule edited twice
horizon_days: 400
courses:
  - id: A
    type: online
    allow_failure: true
    post_enrollments: [{id: R1, when: enrolled, delay_days: 30, courses: [B]}]
  - {id: B, type: online}
  - {id: FIX, type: online}
learners: [x]
script:
  - {day: 9, action: edit_rule, rule: R1, set: {when: failed, courses: [FIX]}}
  - {day: 5, action: edit_rule, rule: R1,
     set: {when: completed, delay_days: 365, courses: [A], allow_consecutive: true}}
  - {day: 0, action: enroll, learner: x, course: A}
"""


def test_rule_versions_follow_the_script_in_run_order():
    # S18: each edit makes a new version from its instant; S23: by day, then file order
    versions = rule_versions(scenario(EDITED))
    assert [(v.rule, v.when, v.targets, v.delay, v.consecutive) for v in versions] == [
        ("R1", "enrolled", ("B",), 30, False),
        ("R1", "completed", ("A",), 365, True),  # the day-5 edit (script item 1)
        ("R1", "failed", ("FIX",), 365, True),  # the day-9 edit keeps delay and consecutive
    ]
    assert [(v.first, v.last, v.since_day, v.until_day) for v in versions] == [
        (0, 2, None, 5.0),  # position 1 is the enroll of day 0
        (2, 3, 5.0, 9.0),
        (3, NEVER, 9.0, None),
    ]
    assert [(v.script_index, v.ended_by) for v in versions] == [(None, 1), (1, 0), (0, None)]
    assert versions[2].changed == {"when", "courses"}


def test_the_engines_plan_holds_the_same_versions():
    spec = scenario(EDITED)
    plan = compile_plan(spec)
    made = {v.script_index: v for v in rule_versions(spec) if v.script_index is not None}
    assert sorted(plan.script_rules) == sorted(made) == [0, 1]
    for index, version in plan.script_rules.items():
        assert plan.rule_ids[version.rule] == made[index].rule
        assert [plan.course_ids[t] for t in version.targets] == list(made[index].targets)
        assert version.delay == made[index].delay


def test_the_analysis_sees_the_versions_an_edit_makes():
    spec = scenario(EDITED)
    # only the edits make A recertify yearly and send failures to FIX
    assert A.recertifications(spec) == {"A": 365.0}
    assert A.remediation_targets(spec) == {"FIX"}


# ----- trigger words --------------------------------------------------------------------

STARTED = TriggerWords("start", "starts", "started", "started", "starting", "#6a1b9a", "purple")


def test_every_trigger_has_every_word():
    check_trigger_words(TRIGGERS, TRIGGER_WORDS)  # what importing columns checks
    for trigger in TRIGGERS:
        words = TRIGGER_WORDS[trigger]
        assert all(isinstance(w, str) and w.strip() for w in words), trigger
        assert re.fullmatch(r"#[0-9a-f]{6}", words.colour), trigger
    with pytest.raises(RuntimeError, match="started"):
        check_trigger_words((*TRIGGERS, "started"), TRIGGER_WORDS)  # a trigger, no words
    colours = [w.colour for w in TRIGGER_WORDS.values()]
    assert len(set(colours)) == len(colours)  # the graph tells triggers apart


@pytest.fixture
def started(monkeypatch):
    """A new trigger `started` given its words in the one table, and the rule graph of
    every scenario with each `completed` rule turned into a `started` one (the engine
    never fires it: what is under test is what words and draws a trigger)."""
    monkeypatch.setattr(columns, "TRIGGERS", (*TRIGGERS, "started"))
    monkeypatch.setitem(TRIGGER_WORDS, "started", STARTED)
    real = rulegraph.build

    def build(spec):
        graph = real(spec)
        graph.versions = [
            replace(v, when="started") if v.when == "completed" else v for v in graph.versions
        ]
        return graph

    monkeypatch.setattr(rulegraph, "build", build)
    monkeypatch.setattr(lint, "build", build)


def test_a_new_trigger_is_drawn_and_worded_from_its_table_entry(
    started, cli, tmp_path, sketched_figures
):
    path = ROOT / "tests" / "acceptance" / "01-seed-completed-delay.yaml"
    proc = cli("graph", path)
    assert proc.returncode == 0, proc.stderr
    assert "started" in proc.stdout and f"stroke:{STARTED.colour}" in proc.stdout
    proc = cli("graph", path, "--out", tmp_path / "rules.md")
    assert proc.returncode == 0, proc.stderr
    assert "purple `started`" in (tmp_path / "rules.md").read_text()
    figure = rule_graph_figure(rulegraph.build(scenario(path.read_text())))  # what --out .png draws
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert [f"when {t}" for t in TRIGGER_WORDS] == labels[: len(TRIGGER_WORDS)]
    proc = cli("run", path, "--out", tmp_path / "run", "--report", "-q", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    assert "started" in (tmp_path / "run" / "report.html").read_text()


# ----- the kinds of script actions ------------------------------------------------------


def test_every_action_declares_its_kind_and_the_groupings_follow():
    from postenroll_sim.scenario import actions as act

    for model in act.ACTIONS:
        assert model.acts_on in act.ACTS_ON and model.changes in act.CHANGES, model
    # compare: what learners do and who they are must match; rules and courses may differ
    assert set(act.actions_where(acts_on="learner")) == {
        *(act.Enroll, act.Start, act.Complete, act.Fail),
        *(act.AddLearner, act.RemoveLearner),
    }
    assert set(act.actions_where(acts_on="rule")) == {act.AddRule, act.EditRule, act.RemoveRule}
    assert set(act.actions_where(acts_on="course")) == {
        *(act.ActivateCourse, act.DeactivateCourse, act.AddToBundle, act.RemoveFromBundle)
    }
    # audit: the history says what learners did; everything else the scenario's script does
    assert set(act.actions_where(changes="enrollments")) == {
        act.Enroll,
        act.Start,
        act.Complete,
        act.Fail,
    }


def test_an_action_without_a_kind_is_refused(monkeypatch):
    from typing import Literal

    from postenroll_sim.scenario import actions as act

    with pytest.raises(TypeError, match="Withdraw must declare acts_on"):

        class Withdraw(act.Action):
            action: Literal["withdraw"]
            learner: str

    class Bare:  # registered by hand, without going through Action
        __name__ = "Bare"

    monkeypatch.setattr(act, "ACTIONS", (*act.ACTIONS, Bare))
    with pytest.raises(TypeError, match="Bare must declare acts_on"):
        act.actions_where(acts_on="rule")


def test_a_new_action_is_grouped_by_its_kind(monkeypatch):
    from typing import Literal

    from postenroll_sim.scenario import actions as act

    class Withdraw(act.Action):
        acts_on = "learner"
        changes = "enrollments"
        action: Literal["withdraw"]

    class Rename(act.Action):
        acts_on = "course"
        changes = "catalog"
        action: Literal["rename_course"]

    monkeypatch.setattr(act, "ACTIONS", (*act.ACTIONS, Withdraw, Rename))
    assert Withdraw in act.actions_where(acts_on="learner")  # compare: must be the same
    assert Withdraw in act.actions_where(changes="enrollments")  # audit: not replayed
    assert Rename in act.actions_where(acts_on="course")  # compare: reported
    assert Rename not in act.actions_where(changes="enrollments")  # audit: applied
