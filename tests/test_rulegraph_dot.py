"""The rule graph as Graphviz DOT (`graph --format dot`, `--out rules.dot`): read back with
a small DOT reader, it has one node per course (named by its id, however quoted) and one
edge per rule version and target, plus the membership lines, as the model says."""

from __future__ import annotations

import re

import pytest

from postenroll_sim.design.rulegraph import build, dot

from helpers import ROOT, scenario

# ids with the characters a DOT quoted ID must escape
QUOTE, BACKSLASH = 'say "hi"', "C:\\dir\\"
ODD = f"""name: 'odd "ids" \\ here'
horizon_days: 30
courses:
  - id: '{QUOTE}'
    type: online
    title: 'the "hello" course \\ with a backslash'
    post_enrollments:
      - {{id: 'r"1', when: completed, delay_days: 0, courses: ['{BACKSLASH}', KIT]}}
  - {{id: '{BACKSLASH}', type: online}}
  - {{id: M, type: online}}
  - {{id: KIT, type: bundle, members: [M]}}
learners: [ann]
script:
  - {{day: 0, action: enroll, learner: ann, course: '{QUOTE}'}}
  - {{day: 5, action: edit_rule, rule: 'r"1', set: {{delay_days: 2}}}}
"""

_TOKEN = re.compile(
    r'\s+|(?P<string>"(?:[^"\\]|\\.)*")|(?P<arrow>->|--)|(?P<punct>[{}\[\];,=])'
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*|-?(?:\d+\.?\d*|\.\d+))"
)


def _tokens(text: str) -> list[str]:
    out, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        assert match, f"not DOT at {text[at : at + 30]!r}"
        at = match.end()
        if match.group("string"):
            body = match.group("string")[1:-1]
            out.append(("id", re.sub(r"\\([\\\"])", r"\1", body)))
        elif match.lastgroup:
            out.append((match.lastgroup, match.group(match.lastgroup)))
    return out


def read_dot(text: str) -> tuple[str, dict[str, dict], list[tuple[str, str, dict]]]:
    """(graph name, {node: attributes}, [(tail, head, attributes)]) of a digraph whose
    statements are `ID = ID`, `node|edge|graph [...]`, `ID [...]` and `ID -> ID [...]`."""
    tokens = _tokens(text)
    position = 0

    def take(kind=None, value=None):
        nonlocal position
        got = tokens[position]
        assert kind is None or got[0] in kind, (got, kind)
        assert value is None or got[1] == value, (got, value)
        position += 1
        return got[1]

    def attributes() -> dict:
        found = {}
        if position < len(tokens) and tokens[position] == ("punct", "["):
            take(value="[")
            while tokens[position] != ("punct", "]"):
                key = take(("word", "id"))
                take(value="=")
                found[key] = take(("word", "id"))
                if tokens[position] == ("punct", ","):
                    take()
            take(value="]")
        return found

    take("word", "digraph")
    name = take(("id", "word"))
    take(value="{")
    nodes: dict[str, dict] = {}
    edges: list[tuple[str, str, dict]] = []
    while tokens[position] != ("punct", "}"):
        first = take(("word", "id"))
        if tokens[position] == ("punct", "="):
            take()
            take(("word", "id"))
        elif tokens[position][0] == "arrow":
            assert take("arrow") == "->"
            edges.append((first, take(("word", "id")), attributes()))
        elif first in ("node", "edge", "graph") and tokens[position - 1][0] == "word":
            attributes()
        else:
            assert first not in nodes, f"node {first!r} twice"
            nodes[first] = attributes()
        take(value=";")
    take(value="}")
    assert position == len(tokens)
    return name, nodes, edges


def test_dot_names_nodes_by_course_id_with_quotes_and_backslashes():
    spec = scenario(ODD)
    model = build(spec)
    name, nodes, edges = read_dot(dot(model))
    assert name == spec.name
    assert set(nodes) == {QUOTE, BACKSLASH, "M", "KIT"} == set(model.nodes)
    assert nodes[QUOTE]["label"].split("\\n")[:2] == [QUOTE, "online"]
    # r"1 before and after its edit (S18), towards both targets; KIT's member M
    rules = [(t, h) for t, h, a in edges if a.get("label", "").startswith('r"1')]
    assert sorted(rules) == sorted((e.source, e.target) for e in model.edges)
    assert len(rules) == 4
    members = [(t, h) for t, h, a in edges if a.get("style") == "dotted"]
    assert members == [("KIT", "M")]
    assert len(edges) == len(rules) + len(members)
    assert {t for t, _, _ in edges} | {h for _, h, _ in edges} <= set(nodes)


def test_re_enrollment_is_a_bold_teal_arrow_from_the_course_to_itself():
    from test_rulegraph import CERTIFIED

    model = build(scenario(CERTIFIED))
    _, nodes, edges = read_dot(dot(model))
    again = [(t, h, a) for t, h, a in edges if a.get("style") == "bold"]
    assert [(t, h, a["label"], a["color"]) for t, h, a in again] == [
        ("FIRE", "FIRE", "re-enroll 30 d before expiry\\nvalid 1 year", "#00838f"),
        ("DRILL", "DRILL", "re-enroll 1 month before expiry\\nexpires 12-31", "#00838f"),
    ]
    rules = [(t, h) for t, h, a in edges if a.get("style") != "bold"]
    assert rules == [(e.source, e.target) for e in model.edges] == [("FIRE", "FIRE")]


@pytest.mark.parametrize("name", ["showcase.yaml", "curriculum-automation.yaml"])
def test_dot_of_a_bundled_scenario_has_every_course_and_rule(cli, tmp_path, name):
    path = ROOT / "scenarios" / name
    proc = cli("graph", path, "--format", "dot")
    assert proc.returncode == 0, proc.stderr
    _, nodes, edges = read_dot(proc.stdout)
    from postenroll_sim import load_scenario

    model = build(load_scenario(path))
    assert list(nodes) == list(model.nodes)
    ruled = [(t, h) for t, h, a in edges if a.get("style") not in ("dotted", "bold")]
    assert ruled == [(e.source, e.target) for e in model.edges]
    out = tmp_path / "rules.gv"
    assert cli("graph", path, "--out", out).returncode == 0
    assert out.read_text(encoding="utf-8") == proc.stdout


def test_format_and_out_must_agree(cli, tmp_path):
    proc = cli(
        "graph", ROOT / "scenarios" / "default.yaml", "--format", "dot", "--out", tmp_path / "x.md"
    )
    assert proc.returncode == 2
    assert "--out must end in .dot, .gv" in proc.stderr
    assert not (tmp_path / "x.md").exists()
