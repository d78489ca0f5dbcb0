"""The HTML report and the figures: rendered for every bundled scenario."""

from __future__ import annotations

import html
import re
import textwrap

import pandas as pd
import pytest

from postenroll_sim import analysis as A
from postenroll_sim import plots as P
from postenroll_sim import simulate_replications
from postenroll_sim.report.build import (
    build_report,
    learning_path,
    read_run,
    recertifications,
    write_report,
)
from postenroll_sim.report.pages import png_uri

from helpers import ROOT, assert_run_report, scenario

LIBRARY = sorted((ROOT / "scenarios").glob("*.yaml"))
PNG = b"\x89PNG\r\n\x1a\n"


# Reports other tests render in full and check with assert_run_report: the README tour's
# (the showcase, the compliance run) and test_run_report_and_report_command's.
RENDERED_ELSEWHERE = {
    "showcase",
    "annual-compliance-recertification",
    "ilc-capacity-under-recertification",
}


def _figures_drawn(monkeypatch) -> list:
    """The figures a report draws, as it draws them (pages.sections.png_uri)."""
    from postenroll_sim.report import sections

    drawn = []

    def keep(fig):
        drawn.append(fig)
        return png_uri(fig)

    monkeypatch.setattr(sections, "png_uri", keep)
    return drawn


def _assert_titled_and_labelled(figures) -> None:
    for i, fig in enumerate(figures):
        charts = [ax for ax in fig.axes if ax.axison]
        for ax in charts[:1]:  # a chart (the rule graph is a drawing, with no axes)
            assert ax.get_title(loc="left").strip(), i
            assert ax.get_ylabel() or ax.get_yticklabels(), i
            assert ax.get_xlabel() or ax.get_xticklabels(), i


@pytest.mark.parametrize(
    "path", [p for p in LIBRARY if p.stem not in RENDERED_ELSEWHERE], ids=lambda p: p.stem
)
def test_report_renders_for_every_bundled_scenario(path, tmp_path, monkeypatch, request):
    """Each page, and every chart on it titled with labelled axes. The default scenario's
    page is drawn in full: it has every kind of chart. The other pages here are small
    scenarios' whose figures are built and checked but not drawn to PNG (0.3 s a figure,
    the same drawing code whatever the data); the showcase's, the compliance run's, the
    ILC run's and the comparison, sweep and audit pages are drawn in full elsewhere. One
    replication each: bands across replications are drawn by the README's 4-replication
    run, its comparison and its sweep."""
    spec = scenario(path.read_text())
    result = simulate_replications(spec, 1)
    result.write(tmp_path, source=str(path))
    if path.stem == "default":
        drawn = _figures_drawn(monkeypatch)
    else:
        drawn = request.getfixturevalue("sketched_figures")
    assert_run_report(write_report(tmp_path).read_text(), spec.name)
    _assert_titled_and_labelled(drawn)
    if path.stem == "default":
        kinds = {fig.axes[0].get_title(loc="left").split(":")[0] for fig in drawn if fig.axes}
        assert len(drawn) >= 9 and len(kinds) >= 8, kinds


def test_every_bundled_scenario_has_its_report_rendered_somewhere():
    readme = (ROOT / "README.md").read_text()
    for stem in RENDERED_ELSEWHERE - {"ilc-capacity-under-recertification"}:
        assert f"scenarios/{stem}.yaml" in readme, stem


def test_report_finds_paths_recertification_and_sessions():
    spec = scenario((ROOT / "scenarios" / "default.yaml").read_text())
    assert learning_path(spec) == ["ONB-101", "SAFE-201", "COMP-CUR"]
    assert recertifications(spec) == {"COMP-CUR": 365.0}
    assert A.curricula(spec) == {"COMP-CUR": ["COMP-ETH", "COMP-PRIV"]}


def test_the_learning_path_starts_where_learners_enter_never_at_a_remediation_course():
    remediation = scenario((ROOT / "scenarios" / "remediation-on-failure.yaml").read_text())
    # REFRESH -> EXAM -> ADVANCED is the longest chain of completed rules, but learners
    # enter at EXAM (on hire) and REFRESH is where a failed exam sends them
    assert A.entry_courses(remediation) == ["EXAM"]
    assert A.remediation_targets(remediation) == {"REFRESH"}
    assert learning_path(remediation) == ["EXAM", "ADVANCED"]
    scripted = scenario(
        """
        name: entered by the script
        horizon_days: 10
        courses:
          - {id: Z, type: online, post_enrollments: [{when: completed, delay_days: 0, courses: [A]}]}
          - {id: A, type: online, post_enrollments: [{when: completed, delay_days: 0, courses: [B]}]}
          - {id: B, type: online}
        learners: [x]
        script:
          - {day: 0, action: enroll, learner: x, course: A}
        """
    )
    assert learning_path(scripted) == ["A", "B"]  # not Z -> A -> B: nobody enters at Z
    assert A.check_path(scripted, ["Z", "A"]) == ["Z", "A"]
    with pytest.raises(ValueError, match="no course 'Q'"):
        A.check_path(scripted, ["A", "Q"])


def test_run_report_and_report_command(cli, tmp_path, monkeypatch):
    # `run --report` is the same page by the same code (tests below run it on small files)
    path = ROOT / "scenarios" / "ilc-capacity-under-recertification.yaml"
    proc = cli("run", path, "--out", tmp_path, "-q", "--format", "csv")
    assert proc.returncode == 0 and not (tmp_path / "report.html").exists(), proc.stderr
    drawn = _figures_drawn(monkeypatch)
    again = cli("report", tmp_path)
    assert again.returncode == 0, again.stderr
    page = (tmp_path / "report.html").read_text()
    assert_run_report(page, read_run(tmp_path)[0].scenario.name)
    assert "Instructor-led sessions" in page and "Compliance: FIRST-AID" in page
    _assert_titled_and_labelled(drawn)
    result, source = read_run(tmp_path)
    assert source == str(path) and result.scenario.name.startswith("ILC capacity")
    empty = cli("report", tmp_path / "nothing")
    assert (
        empty.returncode == 2
        and "no such folder" in empty.stderr
        and "Traceback" not in empty.stderr
    )


LEARNERS_400 = """
name: four hundred learners
horizon_days: 20
seed: 3
courses:
  - id: A
    type: online
    behaviour: {start_after_days: {dist: exponential, mean: 2}, duration_days: 1}
population:
  initial: 400
  on_hire: [{course: A}]
"""


def test_a_two_variant_sweep_of_400_learners_reports_400_per_variant(tmp_path, sketched_figures):
    from postenroll_sim.run.runner import simulate_variants
    from postenroll_sim.run.summary import by_variant
    from postenroll_sim.scenario.variants import variants

    path = tmp_path / "org.yaml"
    path.write_text(LEARNERS_400)
    result = simulate_variants(variants(path, ["horizon_days=10,20"]), replications=2)
    split = result.split_variants()
    assert [label for label, _ in split] == ["horizon_days=10", "horizon_days=20"]
    assert [v.scenario.horizon_days for _, v in split] == [10, 20]  # each its own scenario
    for _, single in split:
        keys = A.key_numbers(single)
        assert list(keys["learners"]) == [400.0, 400.0]
    with pytest.raises(ValueError, match="sweep variants"):
        A.enrollment_volume(result.enrollments, 20)  # never pooled silently
    with pytest.raises(ValueError, match="sweep variants"):
        A.key_numbers(result)
    page = build_report(result, str(path))
    learners_row = re.search(r"<tr><th>learners</th>(.*?)</tr>", page).group(1)
    assert learners_row.count(">400<") == 2 and "800" not in learners_row
    assert "2 variants compared" in page and "horizon_days=20 minus horizon_days=10" in page
    assert by_variant(result)["enrollments"].max() <= 400
    # written and read back, the folder makes the same comparison
    result.write(tmp_path / "out", source=str(path))
    again, _ = read_run(tmp_path / "out")
    assert [v.scenario.horizon_days for _, v in again.split_variants()] == [10, 20]
    assert build_report(again).count("<tr><th>learners</th>") == 2  # side by side; difference


SCRIPTED = """
name: three learners
start_date: 2027-01-04
horizon_days: 60
courses:
  - id: A
    type: online
    post_enrollments: [{id: R1, when: completed, delay_days: 5, courses: [B]}]
  - id: B
    type: online
    allow_failure: true
    post_enrollments:
      - {id: R2, when: completed, delay_days: 0, courses: [C]}
      - {id: R3, when: failed, delay_days: 1, courses: [FIX]}
  - id: FIX
    type: online
    post_enrollments: [{id: R4, when: completed, delay_days: 0, courses: [B]}]
  - {id: C, type: online}
learners: [alice, bob, carol]
script:
  - {day: 0, action: enroll, learner: alice, course: A}
  - {day: 0, action: enroll, learner: bob, course: A}
  - {day: 1, action: enroll, learner: carol, course: A}
  - {day: 3, action: complete, learner: alice, course: A}
  - {day: 4, action: complete, learner: bob, course: A}
  - {day: 10, action: complete, learner: alice, course: B}
  - {day: 11, action: fail, learner: bob, course: B}
  - {day: 14, action: complete, learner: bob, course: FIX}
  - {day: 20, action: complete, learner: bob, course: B}
  - {day: 25, action: complete, learner: alice, course: C}
"""


def test_report_path_and_learner_options(cli, tmp_path, sketched_figures):
    path = tmp_path / "three.yaml"
    path.write_text(SCRIPTED)
    out = tmp_path / "out"
    proc = cli("run", path, "--out", out, "--report", "--learner", "alice", "--path", "B,C", "-q")
    assert proc.returncode == 0, proc.stderr
    page = (out / "report.html").read_text()
    assert "One learner&#39;s timeline: alice" in page and "chosen with --learner" in page
    assert "Learning path: B → C" in page and "given with --path" in page
    # without the options: the path from where learners enter, bob (most enrollments)
    assert cli("report", out).returncode == 0
    page = (out / "report.html").read_text()
    assert "Learning path: A → B → C" in page and "timeline: bob" in page
    bad = cli("report", out, "--learner", "nobody")
    assert bad.returncode == 2 and "learner 'nobody' has no enrollment" in bad.stderr
    # a bad path fails before the run; an unknown learner after it keeps the tables
    early = cli("run", path, "--out", tmp_path / "x", "--report", "--path", "A,Q")
    assert early.returncode == 2 and "no course 'Q'" in early.stderr
    assert not (tmp_path / "x" / "run.json").exists()
    late = cli("run", path, "--out", tmp_path / "y", "--report", "--learner", "nobody", "-q")
    assert late.returncode == 2 and "no report: learner 'nobody'" in late.stderr
    assert (tmp_path / "y" / "run.json").exists() and not (tmp_path / "y" / "report.html").exists()
    alone = cli("run", path, "--out", tmp_path / "z", "--learner", "bob")
    assert alone.returncode == 2 and "add --report" in alone.stderr
    assert "Traceback" not in early.stderr + late.stderr + alone.stderr + bad.stderr


def test_timeline_labels_never_overprint_and_have_a_legend():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from postenroll_sim import simulate

    # bob is re-enrolled into B twice a day: twelve labels on one row within a week
    lines = [f"  - {{day: {d / 2}, action: enroll, learner: bob, course: B}}" for d in range(12)]
    spec = scenario(
        "name: crowded\nhorizon_days: 30\ncourses:\n"
        "  - {id: B, type: online, post_enrollments: "
        "[{id: a-long-rule-name, when: enrolled, delay_days: 0, courses: [C]}]}\n"
        "  - {id: C, type: online}\nlearners: [bob]\nscript:\n" + "\n".join(lines)
    )
    r = simulate(spec)
    timeline = A.learner_timeline(r.enrollments, r.jobs, "bob", horizon_days=30)
    fig = P.learner_gantt(timeline, "bob")
    FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    texts = [t for t in ax.texts if t.get_visible() and t.get_text().strip()]
    labels = [
        t for t in texts if t.get_text().strip().split(" +")[0] in {"admin", "a-long-rule-name"}
    ]
    extents = [t.get_window_extent(renderer) for t in labels]
    for i, a in enumerate(extents):
        for b in extents[i + 1 :]:
            assert not a.overlaps(b), "two labels overprint"
    assert any("+" in t.get_text() for t in labels)  # the crowded ones are counted, not lost
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"completed", "failed", "in progress", "enrolled, not yet visible"} <= set(legend)


def test_count_axes_tick_whole_numbers_for_a_tiny_run():
    from postenroll_sim import simulate

    spec = scenario(SCRIPTED)
    r = simulate(spec)
    h = spec.horizon_days
    figures = [
        (P.stacked_volume(A.enrollment_volume(r.enrollments, h), start_date=spec.start_date), "y"),
        (P.backlog_curve(A.job_backlog(r.jobs, h)), "y"),
        (P.rule_outcome_bars(A.rule_outcomes(r.jobs)), "x"),
    ]
    for fig, axis in figures:
        ax = fig.axes[0]
        ticks = ax.get_yticks() if axis == "y" else ax.get_xticks()
        assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks


def test_figures_show_themselves_in_jupyter():
    fig = P.backlog_curve(A.job_backlog(scenario_jobs(), 5))
    assert fig._repr_png_().startswith(PNG)


def scenario_jobs():
    import pandas as pd

    return pd.DataFrame(
        {"replication": [0], "job_id": [0], "queued_day": [0.0], "processed_day": [2.0]}
    )


def test_reports_of_runs_where_nothing_happened(tmp_path, sketched_figures):
    from postenroll_sim.run.runner import simulate_variants
    from postenroll_sim.scenario.variants import variants

    path = tmp_path / "nobody.yaml"
    path.write_text(
        "name: nobody\nhorizon_days: 10\ncourses:\n"
        "  - {id: A, type: online, post_enrollments: [{when: completed, delay_days: 0, courses: [B]}]}\n"
        "  - {id: B, type: online}\n"
    )
    sweep = simulate_variants(variants(path, ["horizon_days=10,20"]), replications=2)
    page = build_report(sweep)
    assert "2 variants compared" in page and ">nan<" not in page.lower()
    single = build_report(sweep.split_variants()[0][1])
    assert "At a glance" in single and ">nan<" not in single.lower()


def test_the_report_tells_the_chosen_learners_story(cli, tmp_path, sketched_figures):
    path = ROOT / "tests" / "scenarios" / "explain-story.yaml"
    assert (
        cli("run", path, "--out", tmp_path, "--report", "--learner", "alice", "-q").returncode == 0
    )
    page = (tmp_path / "report.html").read_text()
    assert "What happened to alice, and why" in page
    assert (
        "<td>8</td><td>job 0 (rule R2) skipped B: alice's enrollment 1 in B (since day 0) was "
        "still open, and a rule never resets an open enrollment (S19.2)" in html.unescape(page)
    )


def test_a_report_of_a_run_with_tables_left_out_says_what_it_leaves_out(
    cli, tmp_path, sketched_figures
):
    """It used to run the simulation, then stop at the learner's account (which needs the
    jobs table) with an internal error (exit 3), writing nothing."""
    path = ROOT / "tests" / "acceptance" / "01-seed-completed-delay.yaml"
    out = tmp_path / "out"
    code, stdout, err = cli(
        "run", path, "--tables", "enrollments,events", "--report", "--out", out, "-q"
    )
    assert code == 0, err
    line = (
        "the run left out the jobs, sessions, certificates tables (--tables), so the report "
        "leaves out"
    )
    assert err.count(line) == 1 and "report.html" in stdout
    page = (out / "report.html").read_text()
    assert f"Note: {line}" in page and "No account: the run left out the jobs table" in page


def test_figures_of_non_latin_ids_draw_without_font_warnings(tmp_path):
    """Ids in CJK script filled stderr with one "Glyph ... missing from font" warning per
    character and figure; a font with the glyphs is used where one is installed."""
    import warnings

    from postenroll_sim.design.drawing import rule_graph_figure
    from postenroll_sim.design.rulegraph import build

    spec = scenario(
        "name: cjk\nhorizon_days: 20\ncourses:\n"
        "  - id: 入门\n    type: online\n    behaviour: {start_after_days: 1, duration_days: 2}\n"
        "    post_enrollments: [{id: 下一步, when: completed, delay_days: 1, courses: [进阶]}]\n"
        "  - {id: 进阶, type: online, behaviour: {start_after_days: 1, duration_days: 2}}\n"
        "learners: [张伟]\nscript:\n  - {day: 0, action: enroll, learner: 张伟, course: 入门}\n"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = build_report(simulate_replications(spec, 1))
        rule_graph_figure(build(spec)).savefig(tmp_path / "rules.png")
    assert "张伟" in page
    assert [str(w.message) for w in caught] == []


def test_compliance_is_counted_on_certificates_and_their_tables_sit_next_to_the_report(
    cli, tmp_path, sketched_figures
):
    import json

    from helpers import CERTIFIED

    path = tmp_path / "certified.yaml"
    path.write_text(textwrap.dedent(CERTIFIED))
    out = tmp_path / "out"
    proc = cli("run", path, "--out", out, "--report", "-q", "--learner", "bob")
    assert proc.returncode == 0, proc.stderr
    page = html.unescape((out / "report.html").read_text())
    # at the horizon (day 420): alice valid (renewed on day 415.5), bob never; carol is
    # present and not assigned; dave left (S37)
    assert "Compliance: FIRE" in page and "window 30 days before expiry, grace 14 days" in page
    assert "compliant: 50.0% of the assigned learners" in page
    assert "33.3% of everyone present" in page
    assert "Certificates expiring, re-enrollments due, overdue" in page
    # S34: re-enrollment jobs are counted apart from the rules' jobs, and said in the backlog
    from postenroll_sim.analysis import key_numbers
    from postenroll_sim.report.build import read_run

    numbers = key_numbers(read_run(out)[0]).iloc[0]
    jobs = pd.read_parquet(out / "jobs.parquet")
    kinds = jobs.groupby("kind", observed=True)["job_id"].nunique()
    assert kinds["re_enrollment"] > 0
    assert numbers["rule jobs"] == kinds.get("rule", 0)
    assert numbers["re-enrollment jobs (S34)"] == kinds["re_enrollment"]
    assert "Re-enrollment jobs (S34) wait from the award" in page
    files = {f["name"] for f in json.loads((out / "run.json").read_text())["files"]}
    tables = sorted(n for n in files if n.startswith("report-"))
    assert tables == [
        "report-certificates-expiring-per-month.csv",
        "report-compliance-states-fire.csv",
        "report-overdue-over-time.csv",
        "report-re-enrollments-due-per-month.csv",
    ]
    for name in tables:
        assert f"href='{name}'" in (out / "report.html").read_text() and (out / name).is_file()
    states = pd.read_csv(out / "report-compliance-states-fire.csv")
    last = states[states["day"] == states["day"].max()].set_index("state")["mean"]
    assert last["valid"] == 1 and last["never"] == 1 and last[["grace", "expired"]].sum() == 0
    # `report` again replaces them; a file of such a name the tool did not write is kept
    # unless --force
    (out / "report-overdue-over-time.csv").unlink()
    assert cli("report", out).returncode == 0
    assert (out / "report-overdue-over-time.csv").is_file()
    meta = json.loads((out / "run.json").read_text())
    meta["files"] = [f for f in meta["files"] if f["name"] != "report-overdue-over-time.csv"]
    (out / "run.json").write_text(json.dumps(meta))  # now the user's file
    refused = cli("report", out)
    assert refused.returncode == 2 and "report-overdue-over-time.csv was not written" in (
        refused.stderr
    )
    assert cli("report", out, "--force").returncode == 0


def test_a_course_recertified_by_a_rule_without_a_certificate_gets_no_compliance(
    sketched_figures,
):
    spec = scenario(
        """
        name: rule only
        horizon_days: 60
        courses:
          - id: A
            type: online
            post_enrollments:
              - {id: again, when: completed, delay_days: 20, courses: [A], allow_consecutive: true}
        learners: [alice]
        script:
          - {day: 0, action: enroll, learner: alice, course: A}
          - {day: 1, action: complete, learner: alice, course: A}
        """
    )
    result = simulate_replications(spec, 1)
    page = html.unescape(build_report(result))
    assert "Compliance: A" in page
    assert "A awards no certificate, so there is no validity to be compliant with" in page
    assert "rule's delay (20 days)" in page and "compliant at the horizon" not in page
    keys = A.key_numbers(result)
    assert not [k for k in keys.columns if "compliant" in k]


def test_report_table_names_are_the_tools_own():
    from postenroll_sim.run.outdir import check_record, is_report_table

    assert is_report_table("report-compliance-states-fire.csv")
    for name in ("report-../x.csv", "report-.csv", "report-a.csv.exe", "report-A.csv", "x.csv"):
        assert not is_report_table(name), name
    entry = {"bytes": 1, "sha256": "0" * 64}
    assert check_record({"complete": True, "files": [{"name": "report-a-b.csv", **entry}]}) is None
    bad = check_record({"complete": True, "files": [{"name": "report-../a.csv", **entry}]})
    assert "is not the name of a file postenroll-sim writes" in bad
