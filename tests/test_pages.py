"""The pages escape what a user wrote: names, ids and descriptions with markup in them
show as text on the run, comparison and audit pages (jinja2 autoescape, pages/)."""

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
        assert html.escape(text, quote=False) in page.replace("&#39;", "'").replace(
            "&#34;", '"'
        ), text  # and escaped where it is


def test_run_comparison_and_audit_pages_escape_what_users_wrote(cli, tmp_path):
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
        '"<script>alert(\'learner\')</script>",<i>A</i>&amp,admin,0,1\n'
        '"o\'neil & co",<i>A</i>&amp,admin,0,\n'
        '"o\'neil & co","B""<script>",post_enrollment,1,\n'
    )
    code, _, err = cli("audit", a, history, "--out", tmp_path / "audit", "--report")
    assert code == 1, err  # alert('learner') is missing B, o'neil has it unexpectedly
    _check((tmp_path / "audit" / "report.html").read_text(), SHOWN[:1] + SHOWN[2:])

