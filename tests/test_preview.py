"""The interactive preview without a browser (docs/preview.md): its model edits the YAML
keeping everything else, runs published against edited for a learner, keeps a draft,
saves; the widget is a thin view over it; the command refuses bad input before serving.
The served page in a real browser: tests/test_preview_browser.py."""

from __future__ import annotations

import difflib
import shutil
import threading
from pathlib import Path

import pytest

from helpers import ROOT

SHOWCASE = ROOT / "scenarios" / "showcase.yaml"

CERTIFIED = """\
name: certificates   # a comment kept
start_date: 2027-01-04
horizon_days: 400
courses:
  - id: FIRE
    type: online
    certificate:
      valid_for: {days: 100}   # a short one
    post_enrollments:
      - {id: R1, when: completed, delay_days: 5, courses: [DRILL]}   # once
  - {id: DRILL, type: online}
learners: [ana]
script:
  - {day: 0, action: enroll, learner: ana, course: FIRE}
  - {day: 2, action: complete, learner: ana, course: FIRE}
"""


@pytest.fixture
def model(tmp_path):
    from postenroll_sim.preview import PreviewModel

    return PreviewModel(SHOWCASE, drafts=tmp_path / "drafts")


def _changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_every_library_file_is_written_back_as_it_was_read():
    """The round trip (ruamel, the file's own indentation) changes nothing by itself, so
    an edit changes only what it edits: every scenario of the library and examples."""
    import io

    from postenroll_sim.preview.edits import _load

    files = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted(ROOT.glob("examples/*/*.yaml"))
    assert len(files) >= 12
    for path in files:
        text = path.read_text(encoding="utf-8")
        tree, yaml = _load(text)
        out = io.StringIO()
        yaml.dump(tree, out)
        assert out.getvalue() == text, path


def test_a_delay_edit_changes_that_line_only_and_runs_earlier_for_the_learner(model):
    assert model.edited_text() == model.published_text  # no edits: the file itself
    model.set_rule("safe-to-compliance", delay_days=3)
    assert _changed_lines(model.published_text, model.edited_text()) == [
        "-        delay_days: 7",
        "+        delay_days: 3",
    ]
    assert model.changes() == ["rule safe-to-compliance: delay_days 7 -> 3"]
    assert model.edited().courses[1].post_enrollments[1].delay_days == 3
    seen = []
    outcome = model.run("ana", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]  # scripted: one replication of each version is exact
    table = outcome.learner_table.set_index("course")
    # ana completes SAFE-201 on day 3; 3 days later, at the 02:00 run (S3), not day 10.08
    row = table.loc["COMP-CUR"]
    assert row["published: enrolled"] == "2027-01-14 02:00 (day 10.08)"
    assert row["edited: enrolled"] == "2027-01-10 02:00 (day 6.08)"
    assert row["what changed"] == "enrolled 4 days earlier"
    assert row["how"] == "rule safe-to-compliance"
    assert table.loc["ONB-101", "what changed"] == ""
    assert (
        "2027-01-10 02:00 (day 6.08): enrolled in curriculum COMP-CUR by rule safe-to-compliance"
        in outcome.story
    )
    assert "rule safe-to-compliance: delay_days 7 -> 3" in outcome.comparison
    # back at the published value: no edit left
    model.set_rule("safe-to-compliance", delay_days=7)
    assert model.rule_edits == {} and model.edited_text() == model.published_text


def test_rule_and_certificate_edits_keep_comments_and_flow_style(tmp_path):
    from postenroll_sim.preview import PreviewModel

    path = tmp_path / "certs.yaml"
    path.write_text(CERTIFIED, encoding="utf-8")
    m = PreviewModel(path, drafts=tmp_path / "drafts")
    assert m.reenroll_before("FIRE") is None
    m.set_reenroll_before("FIRE", (30, "days"))
    m.set_rule("R1", courses=["FIRE", "DRILL"], allow_consecutive=True, when="completed")
    text = m.edited_text()
    assert "valid_for: {days: 100}   # a short one\n      reenroll_before: {days: 30}\n" in text
    assert (
        "{id: R1, when: completed, delay_days: 5, courses: [FIRE, DRILL], allow_consecutive: true}"
        in text
    )
    assert "name: certificates   # a comment kept" in text
    scenario = m.edited()
    assert scenario.courses[0].certificate.reenroll_before.days == 30
    assert len(_changed_lines(CERTIFIED, text)) == 3  # the rule's line changed, one added
    m.set_reenroll_before("FIRE", None)
    assert "reenroll_before" not in m.edited_text()


def test_an_invalid_edit_is_located_and_neither_runs_nor_saves(model, tmp_path):
    from postenroll_sim.scenario import ScenarioError

    model.set_rule("onb-next", when="failed")  # ONB-101 has no allow_failure (S9)
    problems = model.problems()
    assert len(problems) == 1 and problems[0].startswith(
        f"{SHOWCASE}:26: courses.0.post_enrollments.0.when: "
    )
    assert "allow_failure" in problems[0]
    with pytest.raises(ScenarioError):
        model.run("ana")
    with pytest.raises(ScenarioError):
        model.save(tmp_path / "out.yaml")
    assert not (tmp_path / "out.yaml").exists()
    with pytest.raises(KeyError):
        model.set_rule("no-such-rule", delay_days=1)
    with pytest.raises(ValueError):
        model.set_rule("onb-next", courses=[])


def test_a_cancelled_run_stops_between_two_replications(model):
    from postenroll_sim.preview.model import Cancelled

    def cancel_after_first(done, total):
        model.cancel()

    with pytest.raises(Cancelled, match="after 1 of 4 runs"):
        model.run("ana", replications=2, progress=cancel_after_first)
    assert model.outcome is None
    assert model.run("ana", replications=1).replications == 1  # the next run is not cancelled


def test_edits_survive_a_new_preview_of_the_same_file_until_saved(tmp_path):
    """A page reload is a new kernel: the draft brings the edits back."""
    from postenroll_sim.preview import PreviewModel

    path = tmp_path / "showcase.yaml"
    shutil.copy(SHOWCASE, path)
    drafts = tmp_path / "drafts"
    first = PreviewModel(path, drafts=drafts)
    first.set_rule("safe-to-compliance", delay_days=3)
    first.learner = "ben"
    first.save_draft()
    again = PreviewModel(path, drafts=drafts)
    assert again.rule_edits == {"safe-to-compliance": {"delay_days": 3}}
    assert again.learner == "ben" and again.restored.startswith("restored 1 unsaved edit")
    # the file changed on disk: the draft is not applied to another version, and the
    # file is not overwritten with edits made on the old one
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited elsewhere\n")
    other = PreviewModel(path, drafts=drafts)
    assert other.rule_edits == {} and "another version" in other.restored
    from postenroll_sim.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="changed on disk"):
        again.save()
    # saved under another name, then over its own file: the draft is gone
    copy = again.save(tmp_path / "copy.yaml")
    assert "delay_days: 3" in copy.read_text() and "# Consecutive on:" in copy.read_text()
    fresh = PreviewModel(path, drafts=drafts)
    fresh.set_rule("safe-to-compliance", delay_days=5)
    fresh.save()
    assert fresh.rule_edits == {} and fresh.settings("safe-to-compliance").delay_days == 5
    assert not fresh.draft_path().exists()
    assert "delay_days: 5" in path.read_text() and "# edited elsewhere" in path.read_text()


def test_the_widget_is_a_view_of_the_model(tmp_path, monkeypatch):
    pytest.importorskip("ipywidgets")
    from postenroll_sim.preview import Preview, PreviewModel

    monkeypatch.setattr(PreviewModel, "rule_graph_svg", lambda self: "<svg></svg>")
    view = Preview(SHOWCASE, drafts=tmp_path)
    view.rule.value = "safe-to-compliance"
    assert view.delay.value == 7 and view.when.value == "completed"
    view.delay.value = 3
    assert view.model.rule_edits == {"safe-to-compliance": {"delay_days": 3}}
    assert "delay_days 7 -&gt; 3" in view.edits.value
    view.learner.value = "ana"
    view._on_run(None)
    view._thread.join(timeout=60)
    assert "enrolled 4 days earlier" in view.learner_view.value
    assert "pe-done" in view.progress_text.value and view.tabs.selected_index == 2
    assert view.run_button.disabled is False and view.cancel_button.disabled is True
    view.rule.value = "onb-next"
    view.when.value = "failed"  # ONB-101 has no allow_failure: located, shown; Run refused
    assert "allow_failure" in view.edits.value and view.run_button.disabled
    view._on_reset(None)
    assert view.model.rule_edits == {} and view.when.value == "completed"
    view.rule.value = "safe-to-compliance"
    assert view.delay.value == 7 and not view.run_button.disabled


def test_the_widget_says_a_learner_not_in_the_run_and_shows_restored_edits(tmp_path, monkeypatch):
    """An unknown learner is said as such (not "nothing changed"), with the run's
    learners; no learner chosen says the field now lists them; a reload shows the form
    of the rule whose edit the draft restored, not the first rule."""
    pytest.importorskip("ipywidgets")
    from postenroll_sim.preview import Preview, PreviewModel

    monkeypatch.setattr(PreviewModel, "rule_graph_svg", lambda self: "<svg></svg>")
    path = tmp_path / "showcase.yaml"
    shutil.copy(SHOWCASE, path)
    view = Preview(path, drafts=tmp_path / "drafts")
    view.rule.value = "safe-to-compliance"
    view.delay.value = 3
    view.learner.value = "nobody"
    view._on_run(None)
    view._thread.join(timeout=60)
    shown = view.learner_view.value
    assert "nobody</b>: no enrollment in either version" in shown
    assert "nothing changed" not in shown and "ana, ben, chloe, dev" in shown
    assert "no learner &#x27;nobody&#x27; in this run" in view.story.value
    view.learner.value = ""
    view._on_run(None)
    view._thread.join(timeout=60)
    assert "the Learner field now lists the 4 of this run" in view.learner_view.value
    again = Preview(path, drafts=tmp_path / "drafts")
    assert again.rule.value == "safe-to-compliance" and again.delay.value == 3


def test_a_rule_the_script_adds_is_labelled_with_its_date(tmp_path):
    from postenroll_sim.preview import PreviewModel

    path = tmp_path / "added.yaml"
    path.write_text(
        CERTIFIED
        + "  - {day: 2027-03-01, action: add_rule, course: DRILL,"
        + " rule: {id: R2, when: completed, delay_days: 1, courses: [FIRE]}}\n",
        encoding="utf-8",
    )
    model = PreviewModel(path, drafts=tmp_path / "drafts")
    assert model.rules["R2"].label == "R2 (on DRILL, added on 2027-03-01 (day 56))"
    assert model.rules["R1"].label == "R1 (on FIRE)"


def test_the_widget_cancels_a_run_from_another_thread(tmp_path, monkeypatch):
    pytest.importorskip("ipywidgets")
    from postenroll_sim.preview import Preview, PreviewModel

    monkeypatch.setattr(PreviewModel, "rule_graph_svg", lambda self: "<svg></svg>")
    view = Preview(SHOWCASE, drafts=tmp_path)
    started, release = threading.Event(), threading.Event()

    def slow(done, total):  # the first replication is done: the designer presses Cancel
        started.set()
        release.wait(10)

    view._on_progress = slow
    view.replications.value = 3
    view._on_run(None)
    assert started.wait(30)
    view.cancel_button.click()
    release.set()
    view._thread.join(timeout=30) if view._thread else None
    assert "cancelled after 1 of 6 runs" in view.progress_text.value
    assert view.run_button.disabled is False


def test_preview_refuses_a_missing_or_invalid_scenario_before_serving(cli, tmp_path, monkeypatch):
    from postenroll_sim.preview import serve

    monkeypatch.setattr(serve, "serve", lambda *a, **k: pytest.fail("a server was started"))
    code, out, err = cli("preview", tmp_path / "missing.yaml")
    assert (
        code == 2
        and err.strip() == f"postenroll-sim: no such scenario file: {tmp_path / 'missing.yaml'}"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nhorizon_days: 10\ncourses: []\n")
    code, out, err = cli("preview", bad)
    assert code == 2 and err.startswith(f"{bad}:3: courses:")


def test_the_bundled_notebook_shows_the_preview_and_nothing_else():
    import json

    from postenroll_sim.preview.serve import KERNEL, NOTEBOOK, SCENARIO_ENV

    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    (cell,) = notebook["cells"]
    source = "".join(cell["source"])
    assert cell["cell_type"] == "code" and not cell["outputs"]
    assert f'Preview(os.environ["{SCENARIO_ENV}"])' in source
    assert notebook["metadata"]["kernelspec"]["name"] == KERNEL
    assert Path(NOTEBOOK).parent.name == "preview"
