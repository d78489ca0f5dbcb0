"""The rule graph: the model lint and the pictures share, its Mermaid text (exact), what
each rule did in a run, and a layout that stays readable (no box over another, no line
through a box) for every bundled scenario and a 20-course programme."""

from __future__ import annotations

import textwrap

import pytest

from postenroll_sim import simulate_replications
from postenroll_sim.design.drawing import layout, rule_graph_figure
from postenroll_sim.design.rulegraph import (
    build,
    cycle_text,
    cycles,
    loop_groups,
    mermaid,
    rule_stats,
)
from postenroll_sim.report.build import build_report
from postenroll_sim.scenario.errors import dotted

from helpers import ROOT, call_budget, chain_text, ladder_text, scenario

SMALL = """name: small
horizon_days: 60
courses:
  - id: EXAM
    type: online
    title: Exam
    allow_failure: true
    post_enrollments:
      - {id: remedial, when: failed, delay_days: 1, courses: [REFRESH]}
      - {id: onward, when: completed, delay_days: 7, courses: [CUR]}
  - id: REFRESH
    type: online
    post_enrollments:
      - {id: retake, when: completed, delay_days: 0, courses: [EXAM], allow_consecutive: true}
  - {id: CUR, type: curriculum, members: [M1, M2]}
  - {id: M1, type: online}
  - {id: M2, type: online, active: false, prerequisites: {courses: [EXAM]}}
  - {id: KIT, type: bundle, members: [M1]}
learners: [ana]
population: {initial: 2, self_enroll: [{course: M1, per_year: 2}]}
script:
  - {day: 0, action: enroll, learner: ana, course: EXAM}
  - {day: 1, action: fail, learner: ana, course: EXAM}
  - {day: 3, action: complete, learner: ana, course: REFRESH}
  - {day: 4, action: fail, learner: ana, course: EXAM}
  - {day: 5, action: edit_rule, rule: onward, set: {delay_days: 14}}
  - {day: 9, action: add_rule, course: CUR, rule: {id: members, when: enrolled, delay_days: 0, courses: [M1, M2]}}
  - {day: 10, action: add_to_bundle, bundle: KIT, course: M2}
  - {day: 20, action: activate_course, course: M2}
  - {day: 30, action: remove_rule, rule: retake}
"""

LIBRARY = sorted((ROOT / "scenarios").glob("*.yaml"))
TWENTY = ROOT / "tests" / "scenarios" / "twenty-courses.yaml"


def test_the_model_has_every_rule_version_member_and_entry():
    graph = build(scenario(SMALL))
    versions = [
        (v.rule, v.source, v.when, v.delay, v.targets, v.consecutive, v.since_day, v.until_day)
        for v in graph.versions
    ]
    assert versions == [
        ("remedial", "EXAM", "failed", 1, ("REFRESH",), False, None, None),
        ("onward", "EXAM", "completed", 7, ("CUR",), False, None, 5),
        ("retake", "REFRESH", "completed", 0, ("EXAM",), True, None, 30),
        ("onward", "EXAM", "completed", 14, ("CUR",), False, 5, None),
        ("members", "CUR", "enrolled", 0, ("M1", "M2"), False, 9, None),
    ]
    assert [dotted(v.path) for v in graph.versions] == [
        "courses.0.post_enrollments.0",
        "courses.0.post_enrollments.1",
        "courses.1.post_enrollments.0",
        "script.4",
        "script.5.rule",
    ]
    assert [(m.container, m.member, m.kind, m.since_day) for m in graph.memberships] == [
        ("CUR", "M1", "curriculum", None),
        ("CUR", "M2", "curriculum", None),
        ("KIT", "M1", "bundle", None),
        ("KIT", "M2", "bundle", 10),
    ]
    assert [(e.course, e.label) for e in graph.entries] == [
        ("M1", "self-enroll 2/yr"),
        ("EXAM", "script"),
    ]
    assert graph.nodes["M2"].activated[0][0] == 20 and not graph.nodes["M2"].active
    assert [cycle_text(c) for c in cycles(graph.edges)] == ["EXAM -> REFRESH -> EXAM"]
    assert len(graph.epochs()) == 4  # at the start, after the edit, the add, the removal
    reach = graph.reach()
    assert reach.enterable == {"EXAM", "REFRESH", "M1"}
    assert reach.failable == {"EXAM"} and reach.completable == {"REFRESH"}


def test_mermaid_text():
    assert mermaid(build(scenario(SMALL))) == textwrap.dedent(
        """\
        flowchart LR
          n0["EXAM<br/>online · can fail<br/>Exam<br/>▶ script"]
          n1["REFRESH<br/>online"]
          n2["CUR<br/>curriculum<br/>members: M1 + M2"]
          n3["M1<br/>online<br/>▶ self-enroll 2/yr"]
          n4["M2<br/>online · inactive until day 20<br/>needs EXAM"]
          n5["KIT<br/>bundle<br/>members: M1, M2 (from day 10)"]
          n0 -->|"remedial<br/>failed · +1 d<br/>consecutive off"| n1
          n0 -.->|"onward<br/>completed · +7 d<br/>consecutive off<br/>until day 5"| n2
          n1 -.->|"retake<br/>completed · +0 d<br/>consecutive on<br/>until day 30"| n0
          n0 -.->|"onward<br/>completed · +14 d<br/>consecutive off<br/>from day 5"| n2
          n2 -.->|"members<br/>enrolled · +0 d<br/>consecutive off<br/>from day 9"| n3
          n2 -.->|"members<br/>enrolled · +0 d<br/>consecutive off<br/>from day 9"| n4
          n5 -.-|"member"| n3
          n5 -.-|"member from day 10"| n4
          classDef online fill:#e3f2fd,stroke:#1565c0,color:#212121
          class n0,n1,n3,n4 online
          classDef ilc fill:#f3e5f5,stroke:#6a1b9a,color:#212121
          classDef curriculum fill:#e8f5e9,stroke:#2e7d32,color:#212121
          class n2 curriculum
          classDef bundle fill:#fff8e1,stroke:#ef8f00,color:#212121
          class n5 bundle
          classDef inactive stroke-dasharray:5 4,color:#616161
          class n4 inactive
          linkStyle 0 stroke:#c62828,stroke-width:4px
          linkStyle 1 stroke:#2e7d32
          linkStyle 2 stroke:#2e7d32,stroke-width:4px
          linkStyle 3 stroke:#2e7d32
          linkStyle 4 stroke:#1565c0
          linkStyle 5 stroke:#1565c0
          linkStyle 6 stroke:#9e9e9e
          linkStyle 7 stroke:#9e9e9e
        """
    )


def test_mermaid_escapes_what_would_break_it():
    text = SMALL.replace("title: Exam", "title: 'Say \"hi\" <b> | [x] {y} #1'")
    (line,) = [ln for ln in mermaid(build(scenario(text))).splitlines() if "Say" in ln]
    assert line == (
        '  n0["EXAM<br/>online · can fail<br/>Say #34;hi#34; #60;b#62; #124; #91;x#93; '
        '#123;y#125; #35;1<br/>▶ script"]'
    )
    default_id = SMALL.replace("{id: remedial, when", "{when")
    assert '"EXAM#35;1<br/>failed' in mermaid(build(scenario(default_id)))


def test_rule_stats_are_the_mean_per_run():
    result = simulate_replications(scenario(SMALL), 2)
    stats = rule_stats(result.jobs, 2, result.events)
    assert stats[("remedial", "REFRESH", 0)] == {
        "jobs": 2.0,
        "enrolled": 1.0,
        "skipped_already_completed": 1.0,
    }
    assert stats[("retake", "EXAM", 0)] == {"jobs": 1.0, "enrolled": 1.0}
    text = mermaid(build(result.scenario), stats)
    assert 'consecutive off<br/>2 jobs: 1 enrolled<br/>1 already completed"| n1' in text


CERTIFIED = """name: fire safety
start_date: 2027-01-01
horizon_days: 400
courses:
  - id: FIRE
    type: online
    certificate: {valid_for: {years: 1}, reenroll_before: {days: 30}}
    post_enrollments:
      - {id: recert, when: completed, delay_days: 335, courses: [FIRE], allow_consecutive: true}
  - id: DRILL
    type: online
    certificate: {expires_on: "12-31", reenroll_before: {months: 1}}
  - id: WORKSHOP
    type: online
    certificate: {valid_for: {days: 90}}
learners: [ana]
script:
  - {day: 0, action: enroll, learner: ana, course: FIRE}
  - {day: 0, action: enroll, learner: ana, course: DRILL}
  - {day: 0, action: enroll, learner: ana, course: WORKSHOP}
"""


def test_re_enrollment_is_its_own_arrow_from_the_course_to_itself():
    graph = build(scenario(CERTIFIED))
    assert [(r.course, dotted(r.path)) for r in graph.reenrollments()] == [
        ("FIRE", "courses.0.certificate.reenroll_before"),
        ("DRILL", "courses.1.certificate.reenroll_before"),
    ]  # WORKSHOP's certificate has no re-enrollment: no arrow
    lines = mermaid(graph).splitlines()
    assert lines[4:7] == [
        '  n0 -->|"recert<br/>completed · +335 d<br/>consecutive on"| n0',
        '  n0 ==>|"re-enroll 30 d before expiry<br/>valid 1 year"| n0',
        '  n1 ==>|"re-enroll 1 month before expiry<br/>expires 12-31"| n1',
    ]
    assert lines[-3:] == [
        "  linkStyle 0 stroke:#2e7d32,stroke-width:4px",
        "  linkStyle 1 stroke:#00838f",
        "  linkStyle 2 stroke:#00838f",
    ]


def test_a_scenario_without_re_enrollment_has_no_such_arrow():
    assert "re-enroll" not in mermaid(build(scenario(SMALL)))
    assert build(scenario(SMALL)).reenrollments() == []


# ----- the picture ---------------------------------------------------------------------------


def _unreadable(lay) -> list[str]:
    """Boxes on top of each other, and lines through a box they do not belong to."""
    found = []
    boxes = lay.boxes()
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if a[2] < b[4] and b[2] < a[4] and a[3] < b[5] and b[3] < a[5]:
                found.append(f"{a[:2]} overlaps {b[:2]}")
    for chain, path in lay.lines():
        own = {("node", chain.a), ("node", chain.b)}
        if chain.label is not None:
            own.add(("label", chain.label.key.rule))
        points = [p for poly in path.to_polygons(closed_only=False) for p in poly]
        for kind, name, x0, y0, x1, y1 in boxes:
            inside = any(x0 + 1 < x < x1 - 1 and y0 + 1 < y < y1 - 1 for x, y in points)
            if inside and (kind, name) not in own:
                found.append(f"line {chain.a} -> {chain.b} crosses {kind} {name}")
    return found


@pytest.mark.parametrize("path", [*LIBRARY, TWENTY], ids=lambda p: p.stem)
def test_layout_is_readable(path):
    lay = layout(build(scenario(path.read_text())))
    assert _unreadable(lay) == []
    assert lay.crossings == 0


def test_layout_with_run_labels_is_readable():
    spec = scenario(TWENTY.read_text())
    jobs = simulate_replications(spec, 1).jobs
    lay = layout(build(spec), rule_stats(jobs, 1))
    assert _unreadable(lay) == []
    assert any("enrolled" in line for box in lay.shared.values() for line in box.lines)


def test_re_enrollment_is_drawn_as_a_loop_above_its_course(sketched_figures):
    graph = build(scenario(CERTIFIED))
    lay = layout(graph)
    assert _unreadable(lay) == []
    boxes = {(kind, name): box for kind, name, *box in lay.boxes() if kind == "node"}
    labels = [box for kind, name, *box in lay.boxes() if name == "re-enrollment"]
    assert len(labels) == 2
    fire, drill = lay.nodes["FIRE"], lay.nodes["DRILL"]
    # each label sits over its course (the y axis points down), FIRE's above its rule loop
    for label, node in zip(labels, (fire, drill), strict=True):
        assert label[0] < node.x < label[2] and label[3] <= boxes[("node", node.key)][1]
    (recert,) = [box for kind, name, *box in lay.boxes() if name == "recert"]
    assert labels[0][3] <= recert[1]
    assert lay._edge_lines(graph.reenrollments()[0]) == [
        "re-enroll 30 d before expiry",
        "valid 1 year",
    ]
    figure = rule_graph_figure(graph)
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert "re-enrollment" in legend


def test_the_check_finds_a_line_through_a_box(monkeypatch):
    from postenroll_sim.design import drawing as plot

    route = plot._Layout._route

    def astray(self, chain):
        points = route(self, chain)
        return [points[0], *((x, y + 60, s) for x, y, s in points[1:-1]), points[-1]]

    monkeypatch.setattr(plot._Layout, "_route", astray)
    assert _unreadable(layout(build(scenario(TWENTY.read_text()))))


def test_twenty_courses_in_layers_along_the_rules():
    lay = layout(build(scenario(TWENTY.read_text())))
    assert len([b for b in lay.boxes() if b[0] == "node"]) == 20
    x = {course: item.x for course, item in lay.nodes.items()}
    assert x["ONB-1"] < x["ONB-2"] < x["ONB-3"] < x["ONB-4"] < x["SAFE"] < x["COMPLIANCE"]
    assert x["COMPLIANCE"] < x["ETHICS"] == x["PRIVACY"] == x["SECURITY"]
    back = [c for c in lay.chains if not c.forward]
    assert [(c.edge.rule, c.a, c.b) for c in back] == [("safe-retake", "SAFE", "SAFE-REF")]
    fig = rule_graph_figure(build(scenario(TWENTY.read_text())))
    assert fig.get_figwidth() < 25 and fig.get_figheight() < 6  # inches


# ----- the command and the report ----------------------------------------------------------


def test_graph_command_writes_mermaid_png_svg_and_markdown(cli, tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    status, out, _ = cli("graph", path)
    assert status == 0 and out == mermaid(build(scenario(SMALL)))
    for name, start in (
        ("g/rules.png", b"\x89PNG"),
        ("g/rules.svg", b"<?xml"),
        ("rules.md", b"# Rule graph: small"),
    ):
        status, out, _ = cli("graph", path, "--out", tmp_path / name)
        assert (status, out) == (0, f"wrote {tmp_path / name}\n")
        assert (tmp_path / name).read_bytes().startswith(start)
    page = (tmp_path / "rules.md").read_text()
    assert "\n```mermaid\nflowchart LR\n" in page and "\n```\n\nBoxes are courses" in page
    status, _, err = cli("graph", path, "--out", tmp_path / "rules.jpg")
    assert status == 2
    assert (
        err
        == f"postenroll-sim: --out {tmp_path / 'rules.jpg'}: the file name must end in .svg, .png, .md, .mmd, .dot, .gv\n"
    )


def test_graph_command_with_a_run(cli, tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    result = simulate_replications(scenario(SMALL), 2)
    result.write(tmp_path / "run", source=str(path))
    status, out, err = cli("graph", path, "--run", tmp_path / "run", "--out", tmp_path / "r.md")
    assert status == 0 and err == ""
    page = (tmp_path / "r.md").read_text()
    assert "with what each rule did in" in page
    assert (
        "remedial<br/>failed · +1 d<br/>consecutive off<br/>2 jobs: 1 enrolled<br/>1 already completed"
        in page
    )
    assert cli("graph", path, "--run", tmp_path / "run", "--out", tmp_path / "r.png")[0] == 0
    other = tmp_path / "other.yaml"
    other.write_text(SMALL.replace("id: remedial", "id: remedy"))
    status, _, err = cli("graph", other, "--run", tmp_path / "run")
    assert status == 0 and "rules not drawn: remedial" in err
    (tmp_path / "run" / "run.json").unlink()
    status, _, err = cli("graph", path, "--run", tmp_path / "run")
    assert status == 2
    assert (
        err
        == f"postenroll-sim: {tmp_path / 'run'}: no run.json here; is this the --out folder of `postenroll-sim run`?\n"
    )


def test_the_report_shows_the_rules_and_the_lint_findings(sketched_figures):
    trap = SMALL.replace(
        "{id: KIT, type: bundle, members: [M1]}",
        "{id: KIT, type: bundle, members: [M1]}\n  - {id: X, type: online}",
    )
    page = build_report(simulate_replications(scenario(trap), 1))
    assert "<h2>The rules</h2>" in page
    assert page.index("<h2>The rules</h2>") < page.index("<h2>What each rule did</h2>")
    assert "PE201 warning: no learner can ever be enrolled in X" in page


EDITED = """
name: an edited rule
horizon_days: 20
courses:
  - id: A
    type: online
    post_enrollments:
      - {id: R, when: completed, delay_days: 1, courses: [B]}
  - {id: B, type: online}
learners: [a1, a2, a3, a4]
script:
  - {day: 0, action: enroll, learner: a1, course: A}
  - {day: 0, action: enroll, learner: a2, course: A}
  - {day: 0, action: enroll, learner: a3, course: A}
  - {day: 0, action: enroll, learner: a4, course: A}
  - {day: 1, action: complete, learner: a1, course: A}
  - {day: 1, action: complete, learner: a2, course: A}
  - {day: 5, action: complete, learner: a4, course: A}
  - {day: 5, action: edit_rule, rule: R, set: {delay_days: 2}}
  - {day: 6, action: complete, learner: a3, course: A}
"""


def test_an_edited_rules_numbers_are_on_the_version_that_queued_the_jobs(cli, tmp_path):
    # a1, a2 and a4 (on day 5, before the edit in file order: S23) are queued by the first
    # version of R, a3 by the edit (S18: a job keeps the version that queued it)
    path = tmp_path / "edited.yaml"
    path.write_text(EDITED)
    status, _, err = cli("run", path, "--out", tmp_path / "run")
    assert status == 0, err
    status, _, err = cli("graph", path, "--run", tmp_path / "run", "--out", tmp_path / "r.mmd")
    assert status == 0 and err == ""
    edges = [line for line in (tmp_path / "r.mmd").read_text().splitlines() if "|" in line]
    assert edges[0].startswith(
        '  n0 -.->|"R<br/>completed · +1 d<br/>consecutive off<br/>until day 5'
    )
    assert "3 jobs: 3 enrolled" in edges[0]
    assert edges[1].startswith(
        '  n0 -.->|"R<br/>completed · +2 d<br/>consecutive off<br/>from day 5'
    )
    assert "1 job: 1 enrolled" in edges[1]


def test_without_the_events_table_a_job_counts_by_its_queued_day():
    result = simulate_replications(scenario(EDITED), 1)
    graph = build(result.scenario)
    exact = rule_stats(result.jobs, 1, result.events, graph)
    assert exact[("R", "B", 0)]["jobs"] == 3 and exact[("R", "B", 1)]["jobs"] == 1
    by_day = rule_stats(result.jobs, 1, None, graph)  # day 5 ties go to the new version
    assert by_day[("R", "B", 0)]["jobs"] == 2 and by_day[("R", "B", 1)]["jobs"] == 2


def test_a_big_rule_graph_is_summarised_and_its_report_stays_bounded():
    """An 81-course ladder: its chains of `completed` rules are too many to search all (the
    report's default path used to hang) and its picture too big to draw in useful time."""
    from postenroll_sim.design.drawing import report_figure
    from postenroll_sim.report.build import _path_for

    spec = scenario(ladder_text(81))
    result = simulate_replications(spec, 1, tables=("jobs",))
    with call_budget(2_000_000):
        path, why = _path_for(spec, None)
        figure, findings, summarised = report_figure(result)
    assert len(path) == 20 and "(its first 20 of 81 steps)" in why
    assert summarised.startswith("81 courses and 159 rule arrows and memberships: too many")
    assert figure.get_size_inches()[0] < 10 and findings
    assert mermaid(build(spec)).count("-->") == 159  # the text still has every rule


def test_every_edge_inside_a_strongly_connected_group_is_on_a_loop():
    graph = build(scenario(chain_text(300).replace("courses: [C299]", "courses: [C299, C290]")))
    with call_budget(100_000):
        ((courses, inside),) = loop_groups(graph.edges)
    assert courses == [f"C{i}" for i in range(290, 299)]  # C298 leads back to C290
    assert [(e.rule, e.target) for e in inside] == [
        *((f"r{i}", f"C{i + 1}") for i in range(290, 298)),
        ("r298", "C290"),
    ]
    assert [cycle_text(c) for c in cycles(graph.edges)] == [
        " -> ".join(f"C{i}" for i in [*range(290, 299), 290])
    ]
