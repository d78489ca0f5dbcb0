"""The pytest plugin: scenario files with an `expect` block run as tests, one per item."""

from __future__ import annotations

import pytest

from postenroll_sim.qa import checking

pytest_plugins = ["pytester"]

PASSING = """\
name: passing
horizon_days: 30
courses:
  - id: A
    type: online
    post_enrollments:
      - {id: R1, when: completed, delay_days: 5, courses: [B]}
  - {id: B, type: online}
learners: [alice]
script:
  - {day: 0, action: enroll, learner: alice, course: A}
  - {day: 10, action: complete, learner: alice, course: A}
expect:
  - enrollment: {learner: alice, course: B, rule: R1, enrolled_day: 15}
  - job: {learner: alice, rule: R1, target: B, outcome: enrolled}
"""


@pytest.fixture
def project(pytester):
    pytester.makefile(".yaml", passing=PASSING)
    pytester.makefile(".yaml", failing=PASSING.replace("enrolled_day: 15", "enrolled_day: 16"))
    rejected = PASSING.replace("courses: [B]", "courses: [NOPE]")
    rejected = rejected[: rejected.index("expect:")] + "expect:\n  - error: unknown course 'NOPE'\n"
    pytester.makefile(".yaml", rejected=rejected)
    pytester.makefile(".yml", unrelated="expect: [1, 2]\nother: true\n")  # not a scenario
    return pytester


def test_each_expectation_is_a_test_and_failures_are_located(project):
    result = project.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=4, failed=1, errors=0)  # 2 + 1 + the rejected one
    result.stdout.fnmatch_lines(
        [
            "*failing.yaml::expect.0*FAILED*",
            "*passing.yaml::expect.0: enrollment {learner: alice, course: B, rule: R1, enrolled_day: 15} PASSED*",
            "*failing.yaml:14: expect.0: expected 1 enrollment row matching*found 0*",
        ]
    )


def test_a_scenario_that_must_be_rejected_passes_when_it_is(project):
    result = project.runpytest("-p", "no:cacheprovider", "-v", "rejected.yaml")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*rejected.yaml::expect.0: error: unknown course 'NOPE' PASSED*"])


def test_an_invalid_scenario_is_one_failing_item_with_its_located_problems(pytester):
    pytester.makefile(".yaml", broken=PASSING.replace("courses: [B]", "courses: [NOPE]"))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        ["*broken.yaml:7: courses.0.post_enrollments.0.courses.0: unknown course 'NOPE'*"]
    )


def test_selection_and_switching_off(project):
    project.runpytest(
        "-p", "no:cacheprovider", "-m", "postenroll_sim", "-k", "passing"
    ).assert_outcomes(passed=2)
    project.runpytest("-p", "no:cacheprovider", "--no-scenarios").assert_outcomes()


def test_each_file_is_simulated_once_however_many_items(project, monkeypatch):
    calls = []
    real = checking.check

    def counting(path):
        calls.append(str(path))
        return real(path)

    monkeypatch.setattr(checking, "check", counting)
    project.runpytest("-p", "no:cacheprovider", "passing.yaml").assert_outcomes(passed=2)
    assert len(calls) == 1


def test_the_public_check_function(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(PASSING.replace("enrolled_day: 15", "enrolled_day: 16"))
    result = checking.check(path)
    assert result.status == "fail" and result.exit_code == 1 and not result.ok
    assert [e.ok for e in result.expectations] == [False, True]
    assert result.failures[0].where == f"{path}:14: expect.0"
    assert "found 0" in result.failures[0].failure
    assert result.summary() == f"FAIL {path}: 1 of 2 expectations failed"
    from postenroll_sim import check, load_scenario

    assert check(load_scenario(path)).status == "fail"  # a loaded scenario works too


# ----- which files are scenario tests (postenroll_sim/qa/discovery.py, docs/qa.md) -------

from postenroll_sim.qa import discovery  # noqa: E402

APP_CONFIG = "database: {host: db}\ncourses: [math, physics]\nexpect:\n  status: 200\n"


def _broken(kind: str) -> bytes:
    """The passing scenario made unreadable in one of the ways a user makes it so."""
    if kind == "yaml typo":
        return PASSING.replace("learners: [alice]", "learners: [alice").encode()
    if kind == "utf-16 without a mark":
        return PASSING.encode("utf-16-le")
    if kind == "latin-1":
        return PASSING.replace("name: passing", "name: caf\xe9").encode("latin-1")
    if kind == "utf-32":
        return PASSING.encode("utf-32")
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (PASSING.encode(), "test"),
        (PASSING.encode("utf-16"), "test"),  # with a byte-order mark: readable, a test
        (_broken("yaml typo"), "test"),
        (_broken("utf-16 without a mark"), "test"),
        (_broken("latin-1"), "test"),
        (_broken("utf-32"), "test"),
        (PASSING.replace("expect:", "expct:").encode(), "test"),  # a misspelled `expect`
        (PASSING.replace("horizon_days", "horizn_days").encode(), "test"),
        (PASSING[: PASSING.index("expect:")].encode(), "scenario"),  # no `expect`: not a test
        (APP_CONFIG.encode(), None),  # courses and expect beside an app's own keys
        (b"name: app\ncourses: [a]\nexpect: [1]\ntimeout: 3\n", None),
        (b"expect: [1, 2]\nother: true\n", None),
        (b"- {name: a, horizon_days: 1, courses: [], expect: []}\n", None),  # a list
        (b"{name: x, horizon_days: 3, courses: [{id: A, type: online}], expect: []}\n", "test"),
    ],
)
def test_a_scenario_test_is_known_by_its_shape_readable_or_not(tmp_path, content, kind):
    path = tmp_path / "file.yaml"
    path.write_bytes(content)
    assert discovery.classify(path) == kind
    assert discovery.classify(path.rename(tmp_path / "file.txt")) is None  # YAML names only


def test_a_large_data_file_is_judged_on_its_first_bytes(tmp_path, monkeypatch):
    """A big YAML data file mentioning `expect` is neither parsed nor read whole."""
    data = tmp_path / "data.yaml"
    row = "  - {id: 1, expect: yes, courses: [a, b], horizon_days: 3}\n"
    data.write_text("rows:\n" + row * (3 * discovery.HEAD_BYTES // len(row)))
    read: list[int] = []
    real = discovery.lenient_text
    monkeypatch.setattr(discovery, "lenient_text", lambda b: read.append(len(b)) or real(b))
    from postenroll_sim.scenario import loader

    monkeypatch.setattr(loader, "read_yaml", lambda *a: pytest.fail("parsed a data file"))
    assert discovery.classify(data) is None
    assert read == [discovery.HEAD_BYTES]
    # a large scenario (a long script) is read whole: its `expect` comes last
    steps = "".join(
        f"  - {{day: {d}, action: enroll, learner: alice, course: A}}\n" for d in range(3000)
    )
    big = tmp_path / "big.yaml"
    big.write_text(PASSING.replace("script:\n", "script:\n" + steps))
    assert big.stat().st_size > discovery.HEAD_BYTES and discovery.classify(big) == "test"


def test_unreadable_tests_fail_located_and_other_yaml_is_left_alone(pytester):
    """One run: scenario tests that cannot be read, or check nothing, are failing items
    with a located message; YAML that is not a scenario produces no item at all."""
    for kind in ("yaml typo", "utf-16 without a mark", "latin-1"):
        (pytester.path / f"{kind.replace(' ', '-')}.yaml").write_bytes(_broken(kind))
    (pytester.path / "bom.yaml").write_bytes(PASSING.encode("utf-16"))  # readable: 2 items
    (pytester.path / "empty.yaml").write_text(PASSING[: PASSING.index("expect:")] + "expect: []\n")
    (pytester.path / "app.yaml").write_text(APP_CONFIG)
    (pytester.path / "plain.yaml").write_text(PASSING[: PASSING.index("expect:")])
    result = pytester.runpytest("-p", "no:cacheprovider", "-rf")
    result.assert_outcomes(passed=2, failed=4)
    result.stdout.fnmatch_lines_random(
        [
            "*yaml-typo.yaml:10: (top): YAML: *",
            "*utf-16-without-a-mark.yaml:1: (top): not UTF-8 text (it has NUL bytes*",
            "*latin-1.yaml:1: (top): not UTF-8 text (byte 0xE9*",
            "*empty.yaml:13: expect: it ran, but its `expect` block is missing or empty*",
        ]
    )
    assert "app.yaml" not in result.stdout.str() and "plain.yaml" not in result.stdout.str()


def test_the_files_ini_option_restricts_collection(pytester):
    pytester.mkdir("scenarios")
    pytester.mkdir("other")
    (pytester.path / "scenarios" / "a.yaml").write_text(PASSING)
    (pytester.path / "other" / "b.yaml").write_text(PASSING)
    (pytester.path / "other" / "c.scenario.yml").write_text(PASSING)
    pytester.makeini("[pytest]\npostenroll_sim_files = scenarios/*.yaml *.scenario.yml\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--collect-only", "-q")
    collected = {line.split("::")[0] for line in result.stdout.lines if "::" in line}
    assert collected == {"scenarios/a.yaml", "other/c.scenario.yml"}


def test_check_folder_refuses_every_scenario_test_it_cannot_read(cli, tmp_path):
    (tmp_path / "ok.yaml").write_text(PASSING)
    (tmp_path / "bom.yml").write_bytes(PASSING.encode("utf-16"))
    for kind in ("yaml typo", "utf-16 without a mark", "latin-1"):
        (tmp_path / f"{kind.replace(' ', '-')}.yaml").write_bytes(_broken(kind))
    (tmp_path / "empty.yaml").write_text(PASSING[: PASSING.index("expect:")] + "expect: []\n")
    (tmp_path / "app.yaml").write_text(APP_CONFIG)
    (tmp_path / "plain.yaml").write_text(PASSING[: PASSING.index("expect:")])
    proc = cli("check", tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    for name in ("latin-1", "utf-16-without-a-mark", "yaml-typo"):
        assert f"INVALID {tmp_path / name}.yaml" in lines
        assert f"{tmp_path / name}.yaml:" in proc.stderr
    assert f"PASS {tmp_path / 'bom.yml'} (2 expectations)" in lines
    assert lines[-2:] == [
        "6 files: 2 held, 0 failed, 1 with no expectations, 3 invalid",
        f"not checked: 1 scenario file without an `expect` block ({tmp_path / 'plain.yaml'})",
    ]
    assert "app.yaml" not in proc.stdout + proc.stderr


def test_a_file_with_no_expectations_is_not_a_pass(cli, tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text(PASSING[: PASSING.index("expect:")] + "expect: []\n")
    plain = tmp_path / "plain.yaml"
    plain.write_text(PASSING[: PASSING.index("expect:")])
    for path in (empty, plain):  # the block emptied, or deleted with its key
        result = checking.check(path)
        assert (result.status, result.ok, result.exit_code) == ("no_expectations", False, 1)
        proc = cli("check", path)
        assert proc.returncode == 1 and proc.stdout.startswith(f"NO EXPECTATIONS {path}")
    (tmp_path / "ok.yaml").write_text(PASSING)
    proc = cli("check", tmp_path / "ok.yaml", empty)  # beside a pass, still not held
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1] == "2 files: 1 held, 0 failed, 1 with no expectations"


# ----- fuzz: check folders and the plugin's collection --------------------------------

from types import SimpleNamespace  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from postenroll_sim.qa import pytest_plugin  # noqa: E402

ENCODINGS = ("utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1")
FOREIGN = ("database", "version", "settings", "timeout", "students", "debug", "rows", "data")


@st.composite
def scenario_test(draw) -> bytes:
    """The passing scenario, maybe broken where a user breaks one (a stray character in
    an indented line, never a top-level key), in any encoding."""
    lines = PASSING.replace("name: passing", "name: caf\xe9").splitlines(keepends=True)
    if draw(st.booleans()):
        inner = [i for i, line in enumerate(lines) if line.startswith(" ")]
        i = draw(st.sampled_from(inner))
        at = draw(st.integers(1, len(lines[i]) - 1))
        lines[i] = lines[i][:at] + draw(st.sampled_from("[]{}:,'\"&*!|>%@`\t")) + lines[i][at:]
    if draw(st.booleans()):  # the block emptied: still a test, one that checks nothing
        lines = lines[: lines.index("expect:\n")] + ["expect: []\n"]
    return "".join(lines).encode(draw(st.sampled_from(ENCODINGS)))


@st.composite
def other_yaml(draw) -> bytes:
    """YAML that is not a scenario: an app's own key beside scenario keys, a list, or a
    large data file mentioning them all."""
    form = draw(st.sampled_from(("config", "list", "data")))
    if form == "config":
        keys = draw(st.lists(st.sampled_from(sorted(discovery.IDENTITY) + ["expect"]), unique=True))
        keys += draw(st.lists(st.sampled_from(FOREIGN), min_size=1, max_size=3, unique=True))
        text = "".join(f"{key}: [a, {{id: b}}]\n" for key in draw(st.permutations(keys)))
    elif form == "list":
        text = "- {name: x, horizon_days: 3, courses: [], expect: []}\n"
    else:
        row = "  - {name: r, courses: [a], expect: completed, horizon_days: 2}\n"
        text = "rows:\n" + row * draw(st.integers(1, 3 * discovery.HEAD_BYTES // len(row)))
    return text.encode(draw(st.sampled_from(ENCODINGS)))


def _collected_by_the_plugin(path) -> bool:
    """The plugin's own decision for one file, with the default options."""
    config = SimpleNamespace(
        getoption=lambda name: False,
        getini=lambda name: [] if name == "postenroll_sim_files" else True,
    )
    return pytest_plugin.pytest_collect_file(path, SimpleNamespace(config=config)) is not None


VERDICTS = {"PASS": 0, "FAIL": 1, "NO EXPECTATIONS": 1, "INVALID": 2}


def _verdicts(stdout: str) -> dict[str, str]:
    """`check`'s verdict on each file it names: PASS x (...), FAIL x: ..., INVALID x."""
    found = {}
    for line in stdout.splitlines():
        for word in VERDICTS:
            if line.startswith(word + " "):
                found[line.removeprefix(word + " ").split(" (")[0].split(": ")[0]] = word
    return found


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    files=st.lists(
        st.one_of(scenario_test().map(lambda b: (True, b)), other_yaml().map(lambda b: (False, b))),
        min_size=1,
        max_size=5,
    )
)
def test_fuzz_no_scenario_test_is_skipped_and_nothing_else_is_collected(
    files, tmp_path_factory, cli, monkeypatch
):
    folder = tmp_path_factory.mktemp("fuzz")
    tests = set()
    for index, (is_test, content) in enumerate(files):
        path = folder / f"f{index}.yaml"
        path.write_bytes(content)
        if is_test:
            tests.add(path)
    assert set(discovery.discover(folder)[0]) == tests
    monkeypatch.setattr(pytest_plugin.ScenarioFile, "from_parent", lambda parent, path: path)
    assert {p for p in folder.iterdir() if _collected_by_the_plugin(p)} == tests
    proc = cli("check", folder)
    verdicts = _verdicts(proc.stdout)
    assert set(verdicts) == {str(p) for p in tests}, proc.stdout + proc.stderr
    assert proc.returncode == max((VERDICTS[v] for v in verdicts.values()), default=2)
    assert "Traceback" not in proc.stderr


def test_a_fifo_named_like_a_scenario_is_never_opened(tmp_path):
    # opening a FIFO for reading waits for a writer: discovery must not hang on one
    import os

    from postenroll_sim.qa.discovery import classify, discover

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert classify(fifo) is None
    assert discover(tmp_path) == ([], [])
