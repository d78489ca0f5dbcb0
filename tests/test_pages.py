"""The pages escape what a user wrote: names, ids and descriptions with markup in them
show as text on the run, comparison and audit pages (jinja2 autoescape, report/templates/)."""

from __future__ import annotations

import html

NASTY = """
name: <script>alert("name")</script> & 'quotes'
description: "<script>alert('description')</script> & co"
horizon_days: 20
courses:
  - id: <i>A</i>&amp
    type: online
    post_enrollments:
      - {id: "<b>R1</b>", when: completed, delay_days: DELAY, courses: ['B"<script>']}
  - {id: 'B"<script>', type: online}
learners: ["<script>alert('learner')</script>", "o'neil & co"]
script:
  - {day: 0, action: enroll, learner: "<script>alert('learner')</script>", course: <i>A</i>&amp}
  - {day: 0, action: enroll, learner: "o'neil & co", course: <i>A</i>&amp}
  - {day: 1, action: complete, learner: "<script>alert('learner')</script>", course: <i>A</i>&amp}
"""
SHOWN = [  # as the page's text must read them
    "<script>alert(\"name\")</script> & 'quotes'",
    "<script>alert('description')</script> & co",
    "<i>A</i>&amp",
    "<b>R1</b>",
    'B"<script>',
    "<script>alert('learner')</script>",
    "o'neil & co",
]


def _check(page: str, shown: list[str]) -> None:
    lowered = page.lower()
    assert "<script" not in lowered and "<i>" not in lowered and "<b>r1" not in lowered
    for text in shown:
        assert text in html.unescape(page), text  # shown, as text
        assert html.escape(text, quote=False) in page.replace("&#39;", "'").replace("&#34;", '"'), (
            text
        )  # and escaped where it is


def test_run_comparison_and_audit_pages_escape_what_users_wrote(cli, tmp_path, sketched_figures):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(NASTY.replace("DELAY", "0"))
    b.write_text(NASTY.replace("DELAY", "2"))
    run = cli("run", a, "--out", tmp_path / "run", "--report", "-q")
    assert run.returncode == 0, run.stderr
    _check((tmp_path / "run" / "report.html").read_text(), SHOWN[:6])  # o'neil: in figures

    code, _, err = cli("compare", a, b, "--out", tmp_path / "cmp", "--report")
    assert code == 0, err
    _check((tmp_path / "cmp" / "report.html").read_text(), SHOWN[1:5])  # titled by file

    history = tmp_path / "history.csv"
    history.write_text(
        "learner,course,method,enrolled_day,completed_day\n"
        "\"<script>alert('learner')</script>\",<i>A</i>&amp,admin,0,1\n"
        '"o\'neil & co",<i>A</i>&amp,admin,0,\n'
        '"o\'neil & co","B""<script>",post_enrollment,1,\n'
    )
    code, _, err = cli("audit", a, history, "--out", tmp_path / "audit", "--report")
    assert code == 1, err  # alert('learner') is missing B, o'neil has it unexpectedly
    _check((tmp_path / "audit" / "report.html").read_text(), SHOWN[:1] + SHOWN[2:])


def test_one_way_to_write_numbers_for_the_summary_and_the_pages():
    from postenroll_sim import formatting as F
    from postenroll_sim.report import sections
    from postenroll_sim.run import summary

    assert summary.number_kind is F.number_kind is sections.number_kind
    kinds = [F.number_kind(n) for n in ("learners", "median days", "share completed", "x")]
    assert kinds == ["count", "days", "share", "count"]
    assert [F.number(v) for v in (1234.0, 12.34, 123.4, float("nan"), None)] == [
        "1,234",
        "12.3",
        "123",
        "–",
        "–",
    ]
    assert F.number(0.25, "share") == "25.0%" and F.number(3.0, "days") == "3.0"
    assert F.signed(0.05, "share") == "+5.0 pts" and F.signed(0.0, "count") == "0"
    assert F.signed(-0.04, "days") == "0.0"  # rounds to nothing: no sign
    assert F.signed(-187.0, "count") == "-187" and F.signed(2.25, "count", 1) == "+2.2"
    assert F.band(10.0, 8.0, 12.0, "count", 4) == ("10", "(8 to 12)")
    assert F.band(10.0, 8.0, 12.0, "count", 1) == ("10", None)  # one replication: no band
    assert F.band(0.5, 0.5, 0.5, "share", 4) == ("50.0%", None)  # every replication the same
