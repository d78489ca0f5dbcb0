"""Every script error docs/scenarios.md lists, one case each: located as `inline.yaml:LINE: script.N`
(static checks add the offending key: `script.N.course`), naming what went wrong.

Run-time errors (engine/lms.py `ActionError`) also name the day, action, learner and course;
static ones (scenario/checks.py) are found before anything runs. Either way the scenario is
rejected as a whole: exit 2 from the CLI, no tables written."""

from __future__ import annotations

import pytest

from helpers import errors, run

# Line 15 is script.0, line 16 script.1, and so on.
BASE = """
    name: x
    horizon_days: 10
    courses:
      - id: A
        type: online
        post_enrollments: [{{id: R, when: completed, delay_days: 0, courses: [B]}}]
      - {{id: B, type: online}}
      - {{id: F, type: online, allow_failure: true}}
      - {{id: H, type: online, active: false}}
      - {{id: BD, type: bundle, members: [A]}}
      - {{id: CUR, type: curriculum, members: [A, B]}}
    learners: [ana]
    script:
{steps}
    """


def script_errors(*steps: str) -> list[str]:
    return errors(BASE.format(steps="\n".join(f"      - {step}" for step in steps)))


CASES = {
    # start on an enrollment already in progress
    "start-in-progress": (
        [
            "{day: 0, action: enroll, learner: ana, course: A}",
            "{day: 1, action: start, learner: ana, course: A}",
            "{day: 2, action: start, learner: ana, course: A}",
        ],
        "inline.yaml:17: script.2: day 2: start ana A: ",
        ["cannot start", "already started on day 1"],
    ),
    # start on an enrollment the learner cannot see (S21)
    "start-not-visible": (
        [
            "{day: 0, action: enroll, learner: ana, course: H}",
            "{day: 1, action: start, learner: ana, course: H}",
        ],
        "inline.yaml:16: script.1: day 1: start ana H: ",
        ["cannot start", "inactive", "cannot see", "S21"],
    ),
    # start / complete / fail with no enrollment at all
    "start-no-enrollment": (
        ["{day: 1, action: start, learner: ana, course: A}"],
        "inline.yaml:15: script.0: day 1: start ana A: ",
        ["cannot start", "no enrollment"],
    ),
    "complete-no-enrollment": (
        ["{day: 1, action: complete, learner: ana, course: A}"],
        "inline.yaml:15: script.0: day 1: complete ana A: ",
        ["cannot complete", "no enrollment"],
    ),
    "fail-no-enrollment": (
        ["{day: 1, action: fail, learner: ana, course: F}"],
        "inline.yaml:15: script.0: day 1: fail ana F: ",
        ["cannot fail", "no enrollment"],
    ),
    # start / complete / fail when the current enrollment is no longer open
    "start-after-complete": (
        [
            "{day: 0, action: enroll, learner: ana, course: A}",
            "{day: 1, action: complete, learner: ana, course: A}",
            "{day: 2, action: start, learner: ana, course: A}",
        ],
        "inline.yaml:17: script.2: day 2: start ana A: ",
        ["cannot start", "already completed on day 1"],
    ),
    "complete-after-complete": (
        [
            "{day: 0, action: enroll, learner: ana, course: A}",
            "{day: 1, action: complete, learner: ana, course: A}",
            "{day: 2, action: complete, learner: ana, course: A}",
        ],
        "inline.yaml:17: script.2: day 2: complete ana A: ",
        ["cannot complete", "already completed on day 1"],
    ),
    "fail-after-fail": (
        [
            "{day: 0, action: enroll, learner: ana, course: F}",
            "{day: 1, action: fail, learner: ana, course: F}",
            "{day: 2, action: fail, learner: ana, course: F}",
        ],
        "inline.yaml:17: script.2: day 2: fail ana F: ",
        ["cannot fail", "already failed on day 1"],
    ),
    # fail on a course without allow_failure (S5)
    "fail-without-allow-failure": (
        [
            "{day: 0, action: enroll, learner: ana, course: A}",
            "{day: 1, action: fail, learner: ana, course: A}",
        ],
        "inline.yaml:16: script.1.course: ",
        ["cannot fail 'A'", "allow_failure", "S5"],
    ),
    # any action for a learner after remove_learner (S29)
    **{
        f"{verb}-after-remove-learner": (
            [
                "{day: 0, action: enroll, learner: ana, course: F}",
                "{day: 1, action: remove_learner, learner: ana}",
                f"{{day: 2, action: {verb}, learner: ana, course: F}}"
                if verb != "remove_learner"
                else "{day: 2, action: remove_learner, learner: ana}",
            ],
            "inline.yaml:17: script.2.learner: ",
            ["learner 'ana' was removed on day 1", "S29"],
        )
        for verb in ("enroll", "start", "complete", "fail", "remove_learner")
    },
    "add-learner-after-remove-learner": (
        [
            "{day: 1, action: remove_learner, learner: ana}",
            "{day: 2, action: add_learner, learner: ana}",
        ],
        "inline.yaml:16: script.1.learner: ",
        ["learner 'ana' already exists"],
    ),
    # add_learner for a learner who already exists
    "add-declared-learner": (
        ["{day: 1, action: add_learner, learner: ana}"],
        "inline.yaml:15: script.0.learner: ",
        ["learner 'ana' already exists"],
    ),
    "add-learner-twice": (
        [
            "{day: 1, action: add_learner, learner: bo}",
            "{day: 2, action: add_learner, learner: bo}",
        ],
        "inline.yaml:16: script.1.learner: ",
        ["learner 'bo' already exists"],
    ),
    # edit_rule / remove_rule of a rule that was removed
    "edit-removed-rule": (
        [
            "{day: 1, action: remove_rule, rule: R}",
            "{day: 2, action: edit_rule, rule: R, set: {delay_days: 3}}",
        ],
        "inline.yaml:16: script.1.rule: ",
        ["rule 'R' was removed on day 1"],
    ),
    "remove-removed-rule": (
        [
            "{day: 1, action: remove_rule, rule: R}",
            "{day: 2, action: remove_rule, rule: R}",
        ],
        "inline.yaml:16: script.1.rule: ",
        ["rule 'R' was removed on day 1"],
    ),
    # add_to_bundle of a course already in the bundle
    "add-to-bundle-configured-member": (
        ["{day: 1, action: add_to_bundle, bundle: BD, course: A}"],
        "inline.yaml:15: script.0.course: ",
        ["'A' is already in bundle 'BD'"],
    ),
    "add-to-bundle-added-member": (
        [
            "{day: 1, action: add_to_bundle, bundle: BD, course: B}",
            "{day: 2, action: add_to_bundle, bundle: BD, course: B}",
        ],
        "inline.yaml:16: script.1.course: ",
        ["'B' is already in bundle 'BD'"],
    ),
    # a day past the horizon
    "day-past-horizon": (
        ["{day: 10.5, action: activate_course, course: H}"],
        "inline.yaml:15: script.0.day: ",
        ["day 10.5 is after the horizon (10)"],
    ),
    # start / complete / fail on a curriculum (S26) or a bundle (S27)
    **{
        f"{verb}-curriculum": (
            [
                "{day: 0, action: enroll, learner: ana, course: CUR}",
                f"{{day: 1, action: {verb}, learner: ana, course: CUR}}",
            ],
            "inline.yaml:16: script.1.course: ",
            ["'CUR' is a curriculum", "S26"],
        )
        for verb in ("start", "complete", "fail")
    },
    **{
        f"{verb}-bundle": (
            [
                "{day: 0, action: enroll, learner: ana, course: BD}",
                f"{{day: 1, action: {verb}, learner: ana, course: BD}}",
            ],
            "inline.yaml:16: script.1.course: ",
            ["'BD' is a bundle", "S27"],
        )
        for verb in ("start", "complete", "fail")
    },
}


@pytest.mark.parametrize(("steps", "location", "words"), CASES.values(), ids=CASES.keys())
def test_script_error_is_located(steps, location, words):
    found = script_errors(*steps)
    assert len(found) == 1, found
    assert found[0].startswith(location), found[0]
    for word in words:
        assert word in found[0], (word, found[0])


def test_the_set_up_steps_of_these_cases_run():
    """The cases' set-up steps are fine on their own: each error comes from its last step."""
    run(
        BASE.format(
            steps="\n".join(
                f"      - {step}"
                for step in (
                    "{day: 0, action: enroll, learner: ana, course: A}",
                    "{day: 0, action: enroll, learner: ana, course: F}",
                    "{day: 0, action: enroll, learner: ana, course: H}",
                    "{day: 0, action: enroll, learner: ana, course: CUR}",
                    "{day: 0, action: enroll, learner: ana, course: BD}",
                    "{day: 1, action: fail, learner: ana, course: F}",
                    "{day: 1, action: add_to_bundle, bundle: BD, course: B}",
                    "{day: 1, action: remove_rule, rule: R}",
                    "{day: 1, action: add_learner, learner: bo}",
                    "{day: 2, action: remove_learner, learner: ana}",
                    "{day: 10, action: activate_course, course: H}",
                )
            )
        )
    )


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (  # static (scenario/checks.py)
            "{day: 1, action: start, learner: ana, course: CUR}",
            "script.1.course: 'CUR' is a curriculum",
        ),
        (  # run time (engine/lms.py)
            "{day: 1, action: start, learner: ana, course: H}",
            "script.1: day 1: start ana H: cannot start",
        ),
    ],
    ids=["static", "run-time"],
)
def test_cli_exit_2_and_no_tables(cli, tmp_path, step, message):
    path = tmp_path / "x.yaml"
    path.write_text(
        "name: x\nhorizon_days: 3\n"
        "courses: [{id: A, type: online}, {id: H, type: online, active: false},"
        " {id: CUR, type: curriculum, members: [A]}]\n"
        "learners: [ana]\nscript:\n"
        "  - {day: 0, action: enroll, learner: ana, course: " + step.split("course: ")[1] + "\n"
        "  - " + step + "\n"
    )
    proc = cli("run", path, "--out", tmp_path / "out")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().startswith(f"{path}:7: {message}"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
