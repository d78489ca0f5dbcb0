"""One version string: `__version__` in postenroll_sim/__init__.py. The package metadata
(pyproject.toml, through hatchling), `postenroll-sim --version` and run.json all read it."""

from __future__ import annotations

import json
import re
import tomllib

import postenroll_sim

from helpers import ROOT

# hatchling's default pattern for a `[tool.hatch.version] path` (hatchling/version/source/regex.py)
HATCH_PATTERN = r"""(?i)^(__version__|VERSION) *= *([\'"])v?(?P<version>.+?)\2"""


def test_pyproject_takes_its_version_from_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"], "write the version once, in __init__.py"
    assert "version" in project["project"]["dynamic"]
    path = project["tool"]["hatch"]["version"]["path"]
    found = re.findall(HATCH_PATTERN, (ROOT / path).read_text(encoding="utf-8"), re.MULTILINE)
    assert [version for _, _, version in found] == [postenroll_sim.__version__]


def test_version_option_and_run_json_show_the_package_version(cli, tmp_path):
    version = postenroll_sim.__version__
    shown = cli("--version")
    assert shown.returncode == 0
    assert shown.stdout.split()[:2] == ["postenroll-sim", version]
    scenario = ROOT / "tests" / "acceptance" / "01-seed-completed-delay.yaml"
    assert cli("run", scenario, "--out", tmp_path / "out", "-q").returncode == 0
    meta = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert meta["version"] == version
