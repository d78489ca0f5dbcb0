"""Scenario files: every mistake reported at once, located as FILE:LINE: path: message."""

from __future__ import annotations

import re

import pytest

from postenroll_sim import ScenarioError, load_scenario, parse_scenario

from helpers import ROOT, errors, run

LOCATED = re.compile(r"^[^:]+:\d+: [\w.#-]+|\(top\): .+")


def test_ten_mistakes_give_ten_located_messages():
    path = ROOT / "tests" / "scenarios" / "ten-mistakes.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    messages = [str(p) for p in info.value.problems]
    assert len(messages) == 10, "\n".join(messages)
    lines = path.read_text().splitlines()
    for problem in info.value.problems:
        assert LOCATED.match(str(problem)), str(problem)
        # each message points at the line carrying the numbered mistake
        marker = re.search(r"# (\d+)", lines[problem.line - 1]) or re.search(
            r"# (\d+)", lines[problem.line - 2]
        )
        assert marker, f"line {problem.line} is not a marked mistake: {problem}"
    numbers = set()
    for problem in info.value.problems:
        for offset in (1, 2):
            marker = re.search(r"# (\d+)", lines[problem.line - offset])
            if marker:
                numbers.add(int(marker.group(1)))
                break
    assert numbers == set(range(1, 11))


def test_yaml_syntax_error_is_located():
    with pytest.raises(ScenarioError) as info:
        parse_scenario("name: x\ncourses: [\n  {id: A\nhorizon_days: 3\n", "bad.yaml")
    (problem,) = info.value.problems
    assert problem.file == "bad.yaml" and problem.line is not None and "YAML" in problem.message


def test_duplicate_yaml_key_is_an_error():
    with pytest.raises(ScenarioError) as info:
        parse_scenario(
            "name: x\nname: y\nhorizon_days: 3\ncourses: [{id: A, type: online}]\n", "dup.yaml"
        )
    assert "duplicate key" in str(info.value)


def test_unknown_key_suggests_the_right_one():
    found = errors("""
        name: x
        horizon_days: 3
        courses:
          - id: A
            type: online
            post_enrollments: [{when: completed, delay: 0, courses: [A]}]
        """)
    assert (
        "inline.yaml:7: courses.0.post_enrollments.0.delay: unknown key 'delay' (did you mean 'delay_days'?)"
        in found
    )
    assert "inline.yaml:7: courses.0.post_enrollments.0.delay_days: required key missing" in found


def test_required_top_level_keys():
    found = errors("courses: [{id: A, type: online}]\n")
    assert found == [
        "inline.yaml:1: name: required key missing",
        "inline.yaml:1: horizon_days: required key missing",
    ]


def test_missing_file():
    with pytest.raises(ScenarioError) as info:
        load_scenario(ROOT / "nope.yaml")
    assert "no such file" in str(info.value)


@pytest.mark.parametrize(
    ("snippet", "path", "words"),
    [
        ("- {id: C, type: curriculum, members: [BD]}", "courses.2.members.0", "online and ilc"),
        (
            "- {id: C, type: curriculum, members: [NOPE]}",
            "courses.2.members.0",
            "unknown course 'NOPE'",
        ),
        ("- {id: C, type: curriculum}", "courses.2", "needs members or groups"),
        (
            "- {id: C, type: online, members: [A]}",
            "courses.2.members",
            "only curricula and bundles",
        ),
        (
            "- {id: C, type: online, prerequisites: {courses: [A], required: 2}}",
            "courses.2.prerequisites.required",
            "requires 2",
        ),
        (
            "- {id: C, type: online, prerequisites: {courses: [C]}}",
            "courses.2.prerequisites.courses.0",
            "own prerequisite",
        ),
        (
            "- {id: C, type: online, sessions: [{day: 1, capacity: 2}]}",
            "courses.2.sessions",
            "only ilc courses have sessions",
        ),
    ],
)
def test_catalog_cross_checks(snippet, path, words):
    found = errors(f"""
        name: x
        horizon_days: 3
        courses:
          - {{id: A, type: online}}
          - {{id: BD, type: bundle, members: [A]}}
          {snippet}
        """)
    assert len(found) == 1, found
    assert f": {path}: " in found[0] and words in found[0]


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ("{day: 1, action: enroll, learner: zed, course: A}", "unknown learner 'zed'"),
        ("{day: 1, action: enroll, learner: late, course: A}", "joins on day 5"),
        ("{day: 1, action: enroll, learner: ana, course: Q}", "unknown course 'Q'"),
        ("{day: 1, action: complete, learner: ana, course: BD}", "bundle"),
        ("{day: 1, action: complete, learner: ana, course: CUR}", "curriculum"),
        ("{day: 1, action: edit_rule, rule: NOPE, set: {delay_days: 1}}", "unknown rule 'NOPE'"),
        ("{day: 1, action: edit_rule, rule: R, set: {when: failed}}", "allow_failure"),
        ("{day: 1, action: add_to_bundle, bundle: BD, course: A}", "already in bundle"),
        ("{day: 1, action: add_to_bundle, bundle: A, course: A}", "not a bundle"),
        ("{day: 1, action: remove_from_bundle, bundle: BD, course: B}", "not in bundle"),
        ("{day: 1, action: add_learner, learner: ana}", "already exists"),
        ("{day: 11, action: enroll, learner: ana, course: A}", "after the horizon"),
        ("{day: 1, action: enrol, learner: ana, course: A}", "unknown action 'enrol'"),
        ("{day: -1, action: enroll, learner: ana, course: A}", "before day 0"),
        (
            "{day: 1, action: enroll, learner: ana, course: A, method: post_enrollment}",
            "'admin' or 'self'",
        ),
    ],
)
def test_script_checks(action, words):
    found = errors(f"""
        name: x
        horizon_days: 10
        courses:
          - id: A
            type: online
            post_enrollments: [{{id: R, when: completed, delay_days: 0, courses: [B]}}]
          - {{id: B, type: online}}
          - {{id: BD, type: bundle, members: [A]}}
          - {{id: CUR, type: curriculum, members: [A, B]}}
        learners: [ana, {{id: late, joined_day: 5}}]
        script:
          - {action}
        """)
    assert len(found) == 1, found
    assert found[0].startswith("inline.yaml:13: script.0") and words in found[0], found[0]


def test_script_rule_removed_then_edited():
    found = errors("""
        name: x
        horizon_days: 10
        courses:
          - id: A
            type: online
            post_enrollments: [{id: R, when: completed, delay_days: 0, courses: [A], allow_consecutive: true}]
        script:
          - {day: 2, action: edit_rule, rule: R, set: {delay_days: 3}}
          - {day: 1, action: remove_rule, rule: R}
        """)
    assert found == ["inline.yaml:9: script.0.rule: rule 'R' was removed on day 1"]


def test_runtime_script_error_is_located_and_names_the_action():
    found = errors("""
        name: x
        horizon_days: 10
        courses: [{id: A, type: online}]
        learners: [ana]
        script:
          - {day: 3, action: complete, learner: ana, course: A}
        """)
    assert found == [
        "inline.yaml:7: script.0: day 3: complete ana A: cannot complete: the learner has no enrollment in this course"
    ]


def test_expectations_are_checked_against_columns_and_ids():
    found = errors("""
        name: x
        horizon_days: 10
        courses: [{id: A, type: online}]
        learners: [ana]
        expect:
          - enrollment: {learner: anna, course: A, enroled_day: 3}
            count: 0
          - job: {course: A}
        """)
    assert any("expect.0.enrollment.learner: unknown learner 'anna'" in f for f in found)
    assert any("expect.0.enrollment.enroled_day: unknown field 'enroled_day'" in f for f in found)
    assert any("expect.1.job.course: unknown field 'course'" in f for f in found)


def test_behaviour_population_and_distribution_mistakes_are_located():
    found = errors("""
        name: x
        horizon_days: 10
        courses:
          - id: A
            type: online
            behaviour:
              start_after_days: {dist: exponential, mean: -2}
              duration_days: {dist: lognormal, median: 5}
              pass_rate: 0.8
              no_show_rate: 1.5
          - {id: I, type: ilc, sessions: [{every_days: 7, capacity: 0}]}
          - {id: CUR, type: curriculum, members: [A], behaviour: {duration_days: 3}}
          - {id: BD, type: bundle, members: [A], behaviour: {start_after_days: 1}}
          - {id: T, type: online, behaviour: {duration_days: {dist: triangular, min: 5, mode: 2, max: 9}}}
        default_behaviour: {duration_days: {dist: weibull, shape: 2}}
        population:
          initial: 10
          hires: {per_day: 1, schedule: [{day: 1, count: 2}]}
          attrition: {annual_rate: 1.2}
          on_hire: [{course: NOPE}]
        """)
    expected = [
        ("inline.yaml:8: courses.0.behaviour.start_after_days.mean:", "greater than 0"),
        ("inline.yaml:9: courses.0.behaviour.duration_days.sigma:", "required key missing"),
        ("inline.yaml:11: courses.0.behaviour.no_show_rate:", "less than or equal to 1"),
        ("inline.yaml:12: courses.1.sessions.0.capacity:", "greater than or equal to 1"),
        ("inline.yaml:13: courses.2.behaviour.duration_days:", "only start_after_days"),
        ("inline.yaml:14: courses.3.behaviour:", "a bundle has no behaviour"),
        ("inline.yaml:15: courses.4.behaviour.duration_days:", "min <= mode <= max"),
        ("inline.yaml:16: default_behaviour.duration_days:", "unknown dist 'weibull'"),
        ("inline.yaml:19: population.hires:", "either `per_day`"),
        ("inline.yaml:20: population.attrition.annual_rate:", "less than 1"),
        ("inline.yaml:21: population.on_hire.0.course:", "unknown course 'NOPE'"),
    ]
    for prefix, words in expected:
        assert any(f.startswith(prefix) and words in f for f in found), (prefix, words, found)
    # pass_rate without allow_failure is reported once the behaviour block itself is valid
    found = errors("""
        name: x
        horizon_days: 10
        courses: [{id: A, type: online, behaviour: {pass_rate: 0.8, no_show_rate: 0.1}}]
        """)
    assert len(found) == 2 and "needs allow_failure" in found[0] and "ilc courses only" in found[1]


def test_numeric_ids_are_text():
    scenario = parse_scenario(
        "name: x\nhorizon_days: 3\ncourses: [{id: 101, type: online}]\nlearners: [7]\n"
    )
    assert scenario.courses[0].id == "101" and scenario.learners[0].id == "7"


def test_scenario_is_frozen():
    scenario = parse_scenario("name: x\nhorizon_days: 3\ncourses: [{id: A, type: online}]\n")
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own ValidationError
        scenario.name = "y"


def test_named_learner_cannot_look_like_a_generated_one():
    found = errors("""
        name: x
        horizon_days: 3
        courses: [{id: A, type: online}]
        learners: [L0000001]
        population: {initial: 2}
        """)
    assert found == [
        "inline.yaml:6: population: named learner 'L0000001' has the form of a generated id "
        "(L and 7 digits); rename it or set population.id_prefix"
    ]


def test_ids_in_nfc_and_nfd_are_one_id():
    """ "é" as one character (NFC) and as "e" + a combining accent (NFD) print the same:
    they were two learners. Ids are normalised to NFC where they are read."""
    nfc, nfd = "\u00e9va", "e\u0301va"
    text = (
        "name: x\nhorizon_days: 5\ncourses: [{id: A, type: online}]\n"
        f"learners: [{nfc}]\nscript:\n  - {{day: 0, action: enroll, learner: {nfd}, course: A}}\n"
    )
    assert list(run(text).enrollments["learner_id"].astype(str)) == [nfc]
    assert errors(text.replace(f"learners: [{nfc}]", f"learners: [{nfc}, {nfd}]")) == [
        f"inline.yaml:4: learners.1: duplicate learner id '{nfc}'"
    ]
