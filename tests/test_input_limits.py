"""Hostile or absurd scenario files: each is refused with located `FILE:LINE: path: message`
problems (a ScenarioError), quickly, never with a traceback, a hang or unbounded memory."""

from __future__ import annotations

import json
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postenroll_sim import ScenarioError, load_scenario, parse_scenario
from postenroll_sim.scenario import yamlread
from postenroll_sim.scenario.loader import read_yaml

from helpers import ROOT

PARSERS = yamlread.parser_names()
MINIMAL = "name: x\nhorizon_days: 10\ncourses: [{id: A, type: online}]\n"


def problems(text: str, file: str = "t.yaml") -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, file)
    return [str(p) for p in info.value.problems]


def one_problem(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# ----- the YAML itself: nesting, aliases, tags, dates, merge keys -------------------------


@pytest.mark.parametrize("parser", PARSERS)
def test_deep_nesting_is_a_located_error(parser):
    text = MINIMAL + "description: " + "[" * 300 + "]" * 300 + "\n"
    with pytest.raises(ScenarioError) as info:
        read_yaml(text, "deep.yaml", parser)
    (problem,) = info.value.problems
    assert problem.line == 4 and "nested more than 50 levels deep" in problem.message
    assert str(problem).startswith("deep.yaml:4: description.0.0.0")


def test_nesting_through_aliases_is_counted():
    levels = "[" * 30 + "x" + "]" * 30
    text = MINIMAL + f"a: &a {levels}\nb: &b [[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]\n"
    found = one_problem(text)
    assert found.startswith("t.yaml:5: b.0.0.") and "nests the data more than 50" in found


BOMB = "\n".join(
    ["a: &a [x,x,x,x,x,x,x,x,x]"]
    + [
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)


@pytest.mark.parametrize("parser", PARSERS)
def test_alias_bomb_is_refused_quickly(parser):
    assert len(BOMB) < 500
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        read_yaml(BOMB, "bomb.yaml", parser)
    assert time.perf_counter() - start < 2
    (problem,) = info.value.problems
    assert str(problem).startswith("bomb.yaml:7: g.0: the aliases expand to more than 1,000,000")


def test_recursive_alias_is_refused():
    found = one_problem(MINIMAL + "a: &a [1, *a]\n")
    assert found.startswith("t.yaml:4: a.1: alias *a is inside the node it refers to")


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!!python/object:os.system x", "!!python/object:os.system"),
        ("!!python/object/apply:os.system [ls]", "!!python/object/apply:os.system"),
        ("!!python/name:os.system {}", "!!python/name:os.system"),
        ("!custom x", "!custom"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!set {a, b}", "!!set"),
        ("!!omap [a: 1]", "!!omap"),
        ("!!str [a]", "!!str"),
    ],
)
def test_unsupported_tags_are_located(value, tag):
    found = one_problem(MINIMAL + f"description: {value}\n")
    assert found == f"t.yaml:4: description: unsupported YAML tag '{tag}'"


def test_core_tags_are_read():
    scenario = parse_scenario(
        "name: !!str 5\nhorizon_days: !!float 10\ncourses: [{id: !!str 7, type: online}]\n"
    )
    assert scenario.name == "5" and scenario.horizon_days == 10.0
    assert scenario.courses[0].id == "7"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2027-02-30", "invalid date '2027-02-30': day is out of range for month"),
        ("2027-13-01", "invalid date '2027-13-01': month must be in 1..12"),
        ("!!timestamp soon", "cannot read 'soon' as !!timestamp: not a date (YYYY-MM-DD)"),
        ("!!int many", "cannot read 'many' as !!int: invalid literal for int()"),
        ("!!bool maybe", "cannot read 'maybe' as !!bool: not one of its values"),
    ],
)
def test_values_that_cannot_be_read_are_located(value, message):
    found = one_problem(MINIMAL + f"start_date: {value}\n")
    assert found.startswith(f"t.yaml:4: start_date: {message}")


def test_merge_keys_are_expanded_and_keep_the_lines_of_their_anchor():
    text = """\
name: x
horizon_days: 10
courses:
  - &online {id: A, type: online, behaviour: {duration_days: 2, pass_rate: 2}}
  - <<: *online
    id: B
  - {<<: [{id: C, allow_failure: maybe}, *online]}
"""
    found = problems(text)
    # the bad value is written once (line 4) and reported for each course that has it
    assert [f for f in found if "pass_rate" in f] == [
        "t.yaml:4: courses.0.behaviour.pass_rate: Input should be less than or equal to 1, got 2",
        "t.yaml:4: courses.1.behaviour.pass_rate: Input should be less than or equal to 1, got 2",
        "t.yaml:4: courses.2.behaviour.pass_rate: Input should be less than or equal to 1, got 2",
    ]
    # the first merged mapping wins over the second: C's allow_failure comes from line 7
    assert "t.yaml:7: courses.2.allow_failure: Input should be a valid boolean" in found[-1]
    data, origin = read_yaml(text.replace("pass_rate: 2", "pass_rate: 1"), "t.yaml")
    assert data["courses"][1] == {
        "id": "B",
        "type": "online",
        "behaviour": data["courses"][0]["behaviour"],
    }
    assert origin.line_of(("courses", 1, "id")) == 6
    assert origin.line_of(("courses", 1, "type")) == 4


def test_aliased_values_are_copies():
    data, _ = read_yaml(MINIMAL + "a: &a {b: [1]}\nc: *a\nd: {<<: *a}\n", "t.yaml")
    assert data["a"] == data["c"] == data["d"] == {"b": [1]}
    data["a"]["b"].append(2)
    assert data["c"] == data["d"] == {"b": [1]}
    assert data["a"] is not data["c"] and data["a"]["b"] is not data["d"]["b"]


def test_merging_something_else_than_a_mapping_is_located():
    found = one_problem(MINIMAL + "a: {<<: [1, 2]}\n")
    assert found == "t.yaml:4: a.<<: `<<` merges a mapping or a list of mappings into this one"


def test_duplicate_keys_and_documents_are_located():
    found = one_problem("name: x\nhorizon_days: 10\nname: y\n")
    assert found == "t.yaml:3: name: duplicate key 'name' (first on line 1)"
    found = one_problem(MINIMAL + "---\nname: y\n")
    assert found.startswith("t.yaml:4: (top): a scenario file is one YAML document")
    found = one_problem(MINIMAL + "? [a]\n: 1\n")
    assert found.startswith("t.yaml:4: (top): a key must be a single value")


@pytest.mark.skipif(len(PARSERS) < 2, reason="libyaml is not installed")
def test_both_parsers_read_the_repository_scenarios_alike():
    files = sorted((ROOT / "scenarios").glob("*.yaml"))
    files += sorted((ROOT / "tests").rglob("*.yaml"))
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        fast, slow = (read_yaml(text, str(path), parser) for parser in PARSERS)
        assert fast[0] == slow[0], path
        assert fast[1] == slow[1], path


def long_script(steps: int) -> str:
    learners = steps // 4
    lines = ["name: x", "horizon_days: 1000", "courses: [{id: A, type: online}]", "learners:"]
    lines += [f"  - l{i}" for i in range(learners)]
    lines.append("script:")
    for i in range(learners):
        day = i % 900
        lines.append(f"  - {{day: {day}, action: enroll, learner: l{i}, course: A}}")
        lines.append(f"  - {{day: {day}, action: start, learner: l{i}, course: A}}")
        lines.append(f"  - {{day: {day + 1}, action: complete, learner: l{i}, course: A}}")
        lines.append(f"  - {{day: {day + 2}, action: enroll, learner: l{i}, course: A}}")
    return "\n".join(lines) + "\n"


@pytest.mark.skipif("libyaml" not in PARSERS, reason="libyaml is not installed")
def test_a_20000_step_script_loads_in_seconds():
    text = long_script(20_000)
    start = time.perf_counter()
    scenario = parse_scenario(text, "long.yaml")
    assert time.perf_counter() - start < 10  # 20-30 s with ruamel's round-trip loader
    assert len(scenario.script) == 20_000


# ----- the file: encodings, size ------------------------------------------------------


def test_a_latin1_file_is_a_one_line_located_error(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: x\ntitle: café\n".encode("latin-1") + MINIMAL[8:].encode())
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (
        f"{path}:2: (top): not UTF-8 text (byte 0xE9 at column 11); save the file as UTF-8"
    )


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_files_with_a_byte_order_mark_are_read(tmp_path, encoding):
    path = tmp_path / "bom.yaml"
    text = MINIMAL.replace("name: x", "name: café ✓")
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path.write_bytes(data)
    assert load_scenario(path).name == "café ✓"


def test_utf16_without_a_byte_order_mark_is_explained(tmp_path):
    path = tmp_path / "utf16.yaml"
    path.write_bytes(MINIMAL.encode("utf-16-le"))
    with pytest.raises(ScenarioError, match=r"utf16.yaml:1: \(top\): not UTF-8 text \(it has NUL"):
        load_scenario(path)


def test_unreadable_paths_are_one_line_errors(tmp_path):
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(tmp_path)
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "nope.yaml")


def test_read_scenario_text_is_public_and_used_by_sweeps(tmp_path):
    from postenroll_sim.scenario.loader import read_scenario_text
    from postenroll_sim.scenario.variants import variants

    path = tmp_path / "sweep.yaml"
    path.write_bytes(MINIMAL.encode("utf-16"))
    assert read_scenario_text(path) == MINIMAL
    assert [label for label, _ in variants(path, ["horizon_days=5,6"])] == [
        "horizon_days=5",
        "horizon_days=6",
    ]
    path.write_bytes(b"name: \xff\n")
    with pytest.raises(ScenarioError, match="not UTF-8 text"):
        variants(path, ["horizon_days=5"])


# ----- ids ------------------------------------------------------------------------------

IDS = """\
name: x
horizon_days: 10
courses:
  - {id: A, type: online, post_enrollments: [{id: R, when: completed, delay_days: 0, courses: [B]}]}
  - {id: B, type: online}
learners: [ana]
script:
  - {day: 1, action: enroll, learner: ana, course: A}
population: {initial: 1, id_prefix: G}
"""


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("{id: B,", "{id: 1.0,", "courses.1.id"),
        ("{id: B,", "{id: 1e0,", "courses.1.id"),
        ("{id: R,", "{id: 2.5,", "courses.0.post_enrollments.0.id"),
        ("learners: [ana]", "learners: [1.0]", "learners.0"),
        ("learners: [ana]", "learners: [{id: 1e0}]", "learners.0.id"),
    ],
)
def test_decimal_numbers_are_not_ids(old, new, path):
    found = problems(IDS.replace(old, new))
    assert any(
        f".yaml:{4 if 'post' in path else 5 if 'courses' in path else 6}: {path}: an id is text or "
        "a whole number, got the decimal number" in f
        for f in found
    ), found


def test_whole_number_ids_are_text_and_still_unique():
    found = problems(IDS.replace("{id: A,", '{id: "1",').replace("{id: B,", "{id: 1,"))
    assert "t.yaml:5: courses.1.id: duplicate course id '1' (also courses.0)" in found
    found = problems(IDS.replace("{id: B,", "{id: -5,"))
    assert "t.yaml:5: courses.1.id: an id must not start with '-'" in found[-1]


@pytest.mark.parametrize("char", ["\\r", "\\n", "\\t", "\\0", "\\e", "\\x7f", "\\x85", "\\L"])
@pytest.mark.parametrize(
    ("old", "path", "line"),
    [
        ("{id: B,", "courses.1.id", 5),
        ("{id: R,", "courses.0.post_enrollments.0.id", 4),
        ("learners: [ana]", "learners.0", 6),
        ("learner: ana,", "script.0.learner", 8),
    ],
)
def test_control_characters_are_not_in_ids(char, old, path, line):
    key, _, value = old.partition(": ")
    value = value.rstrip(",]").lstrip("[")
    bad = old.replace(value, f'"{value}{char}x"')
    found = problems(IDS.replace(old, bad))
    assert any(
        f.startswith(f"t.yaml:{line}: {path}: an id must not contain control characters")
        for f in found
    ), found


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_ids_that_a_spreadsheet_would_run_are_refused(start):
    found = problems(IDS.replace("B", f'"{start}HYPERLINK(1)"'))
    assert found[0] == (
        f"t.yaml:4: courses.0.post_enrollments.0.courses.0: an id must not start with "
        f"'{start}': a spreadsheet opening the CSV output would read it as a formula, "
        f"got '{start}HYPERLINK(1)'"
    )
    assert found[1].startswith(f"t.yaml:5: courses.1.id: an id must not start with '{start}'")
    assert problems(IDS.replace("id_prefix: G", f'id_prefix: "{start}G"'))[0].startswith(
        "t.yaml:9: population.id_prefix: an id must not start with"
    )


def test_ids_have_a_length_limit():
    assert parse_scenario(IDS.replace("B", "B" * 200))
    found = problems(IDS.replace("B", "B" * 201))
    assert found[1].startswith("t.yaml:5: courses.1.id: an id has at most 200 characters, not 201")


# ----- numbers: finite, and within limits no real organisation reaches ----------------

NUMBERS = """\
name: x
horizon_days: 100
courses:
  - id: A
    type: online
    post_enrollments: [{when: completed, delay_days: 1, courses: [I]}]
    behaviour: {duration_days: {dist: gamma, mean: 2, cv: 0.5}}
  - id: I
    type: ilc
    sessions: [{every_days: 7, capacity: 10}]
population:
  initial: 10
  hires: {per_day: 1}
  self_enroll: [{course: A, per_year: 2}]
"""


@pytest.mark.parametrize(
    ("old", "new", "where", "words"),
    [
        (
            "delay_days: 1",
            "delay_days: .inf",
            "6: courses.0.post_enrollments.0.delay_days",
            "whole number",
        ),
        (
            "delay_days: 1",
            "delay_days: 1e300",
            "6: courses.0.post_enrollments.0.delay_days",
            "at most 36,500",
        ),
        ("capacity: 10", "capacity: 2147483648", "10: courses.1.sessions.0.capacity", "32-bit"),
        (
            "cv: 0.5",
            "cv: 1e-300",
            "7: courses.0.behaviour.duration_days.cv",
            "greater than or equal to 0.001",
        ),
        (
            "cv: 0.5",
            "cv: 1e6",
            "7: courses.0.behaviour.duration_days.cv",
            "less than or equal to 100",
        ),
        ("mean: 2", "mean: 1e308", "7: courses.0.behaviour.duration_days.mean", "at most 36,500"),
        (
            "{dist: gamma, mean: 2, cv: 0.5}",
            "{dist: empirical, values: [1, 2], weights: [1e308, 1e308]}",
            "7: courses.0.behaviour.duration_days.weights",
            "too large or too small",
        ),
        (
            "{dist: gamma, mean: 2, cv: 0.5}",
            "{dist: lognormal, median: 2, sigma: 40}",
            "7: courses.0.behaviour.duration_days.sigma",
            "less than or equal to 10",
        ),
        (
            "{dist: gamma, mean: 2, cv: 0.5}",
            "{dist: uniform, min: 0, max: .inf}",
            "7: courses.0.behaviour.duration_days.max",
            "finite number",
        ),
        (
            "{dist: gamma, mean: 2, cv: 0.5}",
            "{dist: fixed, value: .nan}",
            "7: courses.0.behaviour.duration_days.value",
            "finite number",
        ),
        (
            "every_days: 7",
            "every_days: 0.000001",
            "10: courses.1.sessions.0.every_days",
            "1/16 day",
        ),
        ("horizon_days: 100", "horizon_days: 36501", "2: horizon_days", "at most 36,500"),
        ("initial: 10", "initial: 1099511627776", "12: population.initial", "at most 10,000,000"),
        ("per_day: 1", "per_day: 1e300", "13: population.hires.per_day", "at most 10,000,000"),
        (
            "{per_day: 1}",
            "{schedule: [{day: 1, count: 1099511627776}]}",
            "13: population.hires.schedule.0.count",
            "at most 10,000,000",
        ),
        (
            "per_year: 2",
            "per_year: 1e9",
            "14: population.self_enroll.0.per_year",
            "less than or equal to 365",
        ),
        (
            "capacity: 10}",
            "capacity: 10, first_day: .inf}",
            "10: courses.1.sessions.0.first_day",
            "finite number",
        ),
    ],
)
def test_numbers_that_would_overflow_or_hang_are_located(old, new, where, words):
    assert old in NUMBERS
    found = problems(NUMBERS.replace(old, new))
    assert any(f.startswith(f"t.yaml:{where}:") and words in f for f in found), found


def test_the_session_resolution_is_the_clock_resolution():
    from postenroll_sim.engine.clock import SLOTS_PER_DAY
    from postenroll_sim.scenario.base import SLOT_DAYS

    assert SLOT_DAYS == 1 / SLOTS_PER_DAY
    parse_scenario(NUMBERS.replace("every_days: 7", f"every_days: {1 / SLOTS_PER_DAY}"))


@pytest.mark.parametrize(
    "dist",
    [
        {"dist": "gamma", "mean": 36_500, "cv": 100},
        {"dist": "gamma", "mean": 1e-9, "cv": 0.001},
        {"dist": "lognormal", "median": 36_500, "sigma": 10},
        {"dist": "exponential", "mean": 36_500},
        {"dist": "empirical", "values": [0, 36_500], "weights": [1e300, 1e-300]},
        {"dist": "empirical", "values": [1, 2], "weights": [5e-324, 5e-324]},
        {"dist": "triangular", "min": 0, "mode": 36_500, "max": 36_500},
        {"dist": "uniform", "min": 36_500, "max": 36_500},
    ],
)
def test_distributions_at_their_limits_draw_finite_days(dist):
    import math

    import numpy as np
    from pydantic import TypeAdapter

    from postenroll_sim.engine.random import sampler
    from postenroll_sim.scenario.stochastic import Distribution

    spec = TypeAdapter(Distribution).validate_python(dist)
    draw = sampler(spec, np.random.default_rng(0))
    values = [draw() for _ in range(3000)]
    assert all(v >= 0 and not math.isnan(v) for v in values)
    assert math.isfinite(spec.mean())


def test_extreme_valid_values_run():
    from postenroll_sim import simulate

    text = (
        NUMBERS.replace("capacity: 10", "capacity: 2147483647")
        .replace("delay_days: 1", "delay_days: 36500")
        .replace("cv: 0.5", "cv: 100")
        .replace("initial: 10", "initial: 3")
        + "learners: [ana]\nscript: [{day: 0, action: enroll, learner: ana, course: A}]\n"
    )
    tables = simulate(parse_scenario(text)).tables()
    assert tables["sessions"]["capacity"].max() == 2147483647


# ----- limits that depend on the horizon: sessions, learners, calendar dates ------------


def test_sessions_within_the_horizon_are_limited():
    series = "{every_days: 0.0625, capacity: 1}"
    text = NUMBERS.replace("horizon_days: 100", "horizon_days: 36500").replace(
        "sessions: [{every_days: 7, capacity: 10}]", f"sessions: [{series}, {series}]"
    )
    found = one_problem(text)
    assert found == (
        "t.yaml:10: courses.1.sessions.1: 584,001 sessions within the horizon here, "
        "1,168,002 so far: a scenario has at most 1,000,000 ILC sessions"
    )


def test_expected_learners_are_limited():
    text = NUMBERS.replace("horizon_days: 100", "horizon_days: 36500").replace(
        "per_day: 1", "per_day: 300"
    )
    assert one_problem(text) == (
        "t.yaml:11: population: about 10,950,010 learners (10 initial, 10,950,000 hired over "
        "36500 days): the limit is 10,000,000 in a run"
    )


@pytest.mark.parametrize(
    ("start", "horizon", "words"),
    [
        ("1600-01-01", 10, "2: start_date: must be between 1700-01-01 and 2262-04-10"),
        ("2262-04-11", 10, "2: start_date: must be between 1700-01-01 and 2262-04-10"),
        ("2200-01-01", 36500, "2: start_date: the run would end after 2262-04-11"),
    ],
)
def test_calendar_dates_stay_within_what_the_tables_can_hold(start, horizon, words):
    text = NUMBERS.replace("horizon_days: 100", f"start_date: {start}\nhorizon_days: {horizon}")
    assert one_problem(text).startswith(f"t.yaml:{words}")


# ----- estimated work and the soft limits ------------------------------------------------


def test_estimate_work_counts_learners_days_sessions_and_steps():
    from postenroll_sim.scenario.limits import estimate_work

    text = NUMBERS + (
        "learners: [ana, {id: bo, joined_day: 50}]\n"
        "script: [{day: 20, action: add_learner, learner: cy}]\n"
    )
    work = estimate_work(parse_scenario(text))
    assert work["learners"] == 2 + 1 + 10 + 100  # named, added, initial, hired
    # named 100 + 50, added 80, initial 10 x 100, hires 1/day x 100 days x 50 on average
    assert work["learner_days"] == pytest.approx(150 + 80 + 1000 + 5000)
    assert work["sessions"] == 15  # days 0, 7, ..., 98
    assert work["script_steps"] == 1
    assert work["memory_bytes"] > 0 and work["run_seconds"] > 0


def test_soft_limits_pass_the_bundled_scenarios():
    from postenroll_sim.scenario.limits import soft_limit_problems

    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        assert soft_limit_problems(load_scenario(path), replications=10) == [], path


def test_soft_limits_name_the_estimate():
    from postenroll_sim.scenario.limits import soft_limit_problems

    big = parse_scenario(
        NUMBERS.replace("horizon_days: 100", "horizon_days: 7300")
        .replace("initial: 10", "initial: 6000000")
        .replace("per_day: 1", "per_day: 100")
    )
    found = soft_limit_problems(big, replications=2, memory=64 * 10**9)
    assert found[0] == ("about 6,730,000 learners in a run, more than the soft limit of 5,000,000")
    assert found[1] == (
        "about 92,900,000,000 learner-days (2 replications), more than the soft limit of "
        "5,000,000,000: roughly 28 hours of simulation"
    )
    assert found[2].startswith("about 916.6 GB of memory at the peak (2 replications), more")
    assert found[2].endswith("than this machine's 64.0 GB")
    small = parse_scenario(NUMBERS)
    assert soft_limit_problems(small, memory=1) == [
        "about 0.0 GB of memory at the peak (1 replication), more than this machine's 0.0 GB"
    ]
    assert soft_limit_problems(small) == []


# ----- "did you mean" hints are bounded ------------------------------------------------


def test_thousands_of_unknown_ids_are_reported_in_seconds():
    lines = ["name: x", "horizon_days: 10", "courses:"]
    lines += [
        f"  - {{id: C{i:05d}, type: online, post_enrollments: "
        f"[{{when: completed, delay_days: 0, courses: [Z{i:05d}]}}]}}"
        for i in range(4000)
    ]
    start = time.perf_counter()
    found = problems("\n".join(lines) + "\n")
    assert time.perf_counter() - start < 10  # 53 s when every problem got a hint
    assert len(found) == 4000
    assert found[0].endswith("unknown course 'Z00000' (did you mean 'C00000'?)")
    assert found[-1].endswith("unknown course 'Z03999'")  # past the budget: no hint
    hinted = sum("did you mean" in f for f in found)
    assert 10 <= hinted <= 30


# ----- sweeps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["horizon_days=[1"], "--set 'horizon_days=[1': '[1' is not a value (while parsing"),
        (["horizon_days=10,10"], "--set 'horizon_days=10,10': the value '10' is given twice"),
        (["horizon_days=10,10.0"], "the value '10.0' is given twice"),
        (
            ["horizon_days=10", "horizon_days=20"],
            "--set: horizon_days is given twice; give all its values in one --set",
        ),
        (
            ["seed=" + ",".join(map(str, range(101)))] * 1
            + ["horizon_days=" + ",".join(map(str, range(1, 101)))],
            "--set: 10,100 combinations of values; a sweep has at most 10,000 variants",
        ),
        (["name=!!python/object:os.system x"], "unsupported YAML tag '!!python/object:os.system'"),
    ],
)
def test_sweep_options_are_checked(tmp_path, sets, message):
    from postenroll_sim.scenario.variants import variants

    path = tmp_path / "sweep.yaml"
    path.write_text(MINIMAL)
    with pytest.raises(ValueError) as info:
        variants(path, sets)
    assert message in str(info.value) and "\n" not in str(info.value)


# ----- any mutation of a valid scenario: a Scenario or a ScenarioError, nothing else ----

VALID = """\
name: Mutations
start_date: 2027-01-04
horizon_days: 60
seed: 3
processing: {mode: daily, hour: 2, cascade_limit: 50}
courses:
  - id: A
    type: online
    allow_failure: true
    post_enrollments:
      - {id: R1, when: completed, delay_days: 2, courses: [B]}
      - {id: R2, when: failed, delay_days: 0, courses: [A], allow_consecutive: true}
    behaviour:
      start_after_days: {dist: exponential, mean: 2}
      duration_days: {dist: lognormal, median: 3, sigma: 0.5}
      pass_rate: 0.8
      abandon_rate: 0.05
  - id: B
    type: ilc
    sessions:
      - {day: 10, capacity: 5}
      - {every_days: 7, first_day: 3, until_day: 50, capacity: 20}
    behaviour: {start_after_days: {dist: gamma, mean: 4, cv: 0.5}, no_show_rate: 0.1}
  - {id: C, type: online, prerequisites: {courses: [A], required: 1}}
  - {id: D, type: online, behaviour: {duration_days: {dist: triangular, min: 1, mode: 2, max: 5}}}
  - {id: E, type: online, behaviour: {duration_days: {dist: empirical, values: [1, 2], weights: [1, 2]}}}
  - {id: CUR, type: curriculum, groups: [{courses: [A, C], required: 1}]}
  - {id: BND, type: bundle, members: [D, E]}
default_behaviour: {start_after_days: 1, duration_days: {dist: uniform, min: 1, max: 4}}
learners: [ana, {id: bo, joined_day: 5}]
population:
  initial: 20
  hires: {per_day: 0.5}
  attrition: {annual_rate: 0.1}
  on_hire: [{course: A, method: admin, after_days: {dist: fixed, value: 1}}]
  self_enroll: [{course: E, per_year: 4}]
  id_prefix: G
script:
  - {day: 0, action: enroll, learner: ana, course: A}
  - {day: 1, action: start, learner: ana, course: A}
  - {day: 3, action: add_rule, course: C, rule: {id: R9, when: enrolled, delay_days: 1, courses: [D]}}
  - {day: 4, action: edit_rule, rule: R9, set: {delay_days: 3}}
  - {day: 5, action: add_learner, learner: cy}
  - {day: 6, action: add_to_bundle, bundle: BND, course: A}
  - {day: 8, action: remove_learner, learner: cy}
expect:
  - enrollment: {learner: ana, course: B, method: post_enrollment, rule: R1}
  - job: {learner: ana, rule: R1, target: B}
    count: 1
"""
EXTREMES = [
    *["1e308", "-1", ".nan", ".inf", "-.inf", "0", "1.0", "1e0", "-0.0", "1e-300", "0x10", "_"],
    *["true", "null", "''", "[]", "{}", "2027-02-30", "9999-12-31", "0001-01-01", "*nope", "&a"],
    *["017", "0o17", "ä", "'ZZZ'", "[A,A]", "0.000001", str(2**40), str(2**31)],
    *['"=x"', '"+1"', '"@a"', '"-a"', '"a\\rb"', '"a\\tb"', '"a\\u0000b"', '"\\u2028"'],
    *["!!python/object:os.system x", "!foo x", "!!binary aGk=", "!!set {a}", "x" * 300],
    "[" * 60 + "]" * 60,
    "{a: " * 55 + "1" + "}" * 55,
    "{dist: gamma, mean: 1, cv: 1e-300}",
    "{dist: empirical, values: [1, 2], weights: [1e308, 1e308]}",
    "{dist: lognormal, median: 1e300, sigma: 30}",
]
VALUE_AT = re.compile(r"((?:^|[{,\[]\s*)[\w-]+:\s*)([^,{}\[\]\n]+)")
LINES = VALID.splitlines()


@st.composite
def mutated_scenarios(draw):
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        kind = draw(st.sampled_from(["value", "value", "value", "drop", "copy", "chars", "key"]))
        if kind == "value":
            spots = list(VALUE_AT.finditer(line))
            if spots:
                spot = draw(st.sampled_from(spots))
                text = st.text(max_size=8).map(lambda t: json.dumps(t))  # any character
                new = draw(st.one_of(st.sampled_from(EXTREMES), text))
                lines[i] = line[: spot.start(2)] + new + line[spot.end(2) :]
        elif kind == "drop":
            del lines[i]
        elif kind == "copy":
            lines.insert(i, line)
        elif kind == "chars":
            at = draw(st.integers(0, len(line)))
            lines[i] = line[:at] + draw(st.text(max_size=4)) + line[at:]
        else:
            key = draw(st.sampled_from(["x:", "<<:", "? a:", "1:", "null:", "deep: " + "[" * 80]))
            lines[i] = re.sub(r"[a-z_]+:", key, line, count=1)
    return "\n".join(lines) + "\n"


def test_the_valid_scenario_is_valid():
    from postenroll_sim import simulate

    simulate(parse_scenario(VALID))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_scenarios())
def test_mutated_scenarios_load_or_give_located_problems(text):
    from postenroll_sim.scenario.limits import estimate_work, soft_limit_problems

    try:
        scenario = parse_scenario(text, "m.yaml")
    except ScenarioError as exc:
        assert all(p.file == "m.yaml" for p in exc.problems)
        assert all("\n" not in str(p) for p in exc.problems)
        return
    estimate_work(scenario)
    soft_limit_problems(scenario, replications=3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_scenarios())
def test_mutated_scenarios_through_the_command_line_exit_0_or_2_and_leave_no_partial_folder(
    tmp_path_factory, text
):
    """As a user would: `run` a broken file. Exit 0 or 2, never a traceback or an internal
    error (3), and the output folder is a complete run or absent, never half-written."""
    import contextlib
    import io

    from postenroll_sim import cli
    from postenroll_sim.run.outdir import read_meta, verify

    folder = tmp_path_factory.mktemp("fuzz")
    path, out = folder / "m.yaml", folder / "out"
    path.write_text(text, encoding="utf-8")
    err = io.StringIO()
    with (
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
        pytest.raises(SystemExit) as info,
    ):
        cli.main(["run", str(path), "--out", str(out), "-q", "--no-progress", "--format", "csv"])
    code = info.value.code or 0
    message = err.getvalue()
    assert code in (0, 2), message
    assert "Traceback" not in message and "internal error" not in message
    if code == 0:
        verify(out, read_meta(out))  # complete, every file as run.json records it
    else:
        assert not out.exists(), sorted(p.name for p in out.iterdir())


def test_a_value_with_a_newline_is_quoted_on_one_line():
    # found by the mutation test above: an unknown action "\n" was echoed raw
    text = VALID.replace("action: start, learner: ana", 'action: "\\n", learner: ana', 1)
    assert text != VALID
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "m.yaml")
    [problem] = [str(p) for p in info.value.problems if "unknown action" in str(p)]
    assert "\n" not in problem and "unknown action '\\n'" in problem


def test_a_sweep_is_held_to_the_soft_limits_as_a_whole(cli, tmp_path):
    """Each of 2,000 variants is small (2.8 million learner-days), so the per-variant check
    let the sweep run, until it ran out of memory (exit 3)."""
    path = tmp_path / "sweep.yaml"
    path.write_text(
        "name: x\nhorizon_days: 400\ncourses: [{id: A, type: online}]\n"
        "population: {initial: 7000}\n"
    )
    seeds = ",".join(map(str, range(2000)))
    code, _, err = cli("sweep", path, "--set", f"seed={seeds}", "--out", tmp_path / "o")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "this run is very large: about 5,600,000,000 learner-days (2,000 variants x 1 " in err
    assert not (tmp_path / "o").exists()
