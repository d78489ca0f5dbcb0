"""Which files are scenario tests: what `check FOLDER` and the pytest plugin collect.

A file is judged by its shape, never by whether it can be read (docs/qa.md, "Which
files are scenario tests"): a `.yaml`/`.yml` file whose top-level keys, as written (the
`key:` lines that start in column 0),

1. include `expect` (or a misspelling of it),
2. include at least two of `name`, `horizon_days` and `courses` (every scenario has all
   three), and
3. are all keys of a scenario, or misspellings of one (as an error's did-you-mean finds
   them),

is a scenario test, and it is checked even when it cannot be decoded or parsed (a YAML
typo, UTF-16 or Latin-1): that is a failing, located item, never a silent skip. The same
shape without `expect` is a scenario that is not a test. Anything else (an app config
with `courses:` and `expect:` beside its own keys, a data file) is left alone.

The keys are read from the raw bytes with NUL bytes dropped and anything that is not
UTF-8 replaced, so the ASCII keys of a UTF-16, UTF-32 or Latin-1 file read as they do in
UTF-8. Only the first HEAD_BYTES are read unless those already look like a scenario (one
of the three keys, no foreign key): a 20 MB data file costs one 64 KiB read. A file that
starts with `{` (a flow-style mapping) is recognised when it is small and parses.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal

SUFFIXES = (".yaml", ".yml")
HEAD_BYTES = 64 * 1024
IDENTITY = frozenset({"name", "horizon_days", "courses"})  # every scenario has them
NEAR = 0.8  # difflib ratio for "a misspelling of a scenario key" (`expct`, `horizn_days`)

Kind = Literal["test", "scenario"]

# `key:` at column 0 (plain, or quoted), followed by a space, a comment or the line's end
_TOP_KEY = re.compile(
    r"""^(?:"([^"\n]*)"|'([^'\n]*)'|([A-Za-z_][A-Za-z0-9_-]*))[ \t]*:(?=[ \t\r]|$)""",
    re.M,
)


def lenient_text(data: bytes) -> str:
    """The bytes as text for finding ASCII keys, whatever the encoding: NULs dropped
    (UTF-16/32 with or without a byte-order mark), the rest read as UTF-8 with anything
    else replaced (Latin-1 accents)."""
    return data.replace(b"\x00", b"").decode("utf-8", "replace").lstrip("\ufeff\ufffd")


def top_keys(text: str) -> set[str]:
    """The top-level keys of block-style YAML text: lines starting with `key:`."""
    return {next(g for g in m.groups() if g is not None) for m in _TOP_KEY.finditer(text)}


@lru_cache(maxsize=1)
def scenario_keys() -> frozenset[str]:
    """A scenario file's top-level keys (loaded only for a file that may be one)."""
    from ..scenario.models import Scenario

    return frozenset(info.alias or name for name, info in Scenario.model_fields.items())


def _named(keys: Iterable[str]) -> set[str | None]:
    """Each key as the scenario key it is or misspells; None for a foreign key."""
    known = scenario_keys()
    return {
        key if key in known else next(iter(difflib.get_close_matches(key, known, 1, NEAR)), None)
        for key in keys
    }


def shape(keys: Iterable[str]) -> Kind | None:
    """Rules 1-3 of the module's docstring on a file's top-level keys."""
    named = _named(keys)
    if None in named or len(named & IDENTITY) < 2:
        return None
    return "test" if "expect" in named else "scenario"


def _flow_style(text: str) -> bool:
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "%")):
            return line.removeprefix("---").lstrip().startswith("{")
    return False


def classify(path: str | os.PathLike) -> Kind | None:
    """`test` for a scenario test (readable or not), `scenario` for a scenario without
    `expect`, None for any other file."""
    path = Path(path)
    # only a regular file: opening a FIFO named x.yaml would wait for a writer for ever
    if path.suffix.lower() not in SUFFIXES or not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(HEAD_BYTES)
    except OSError:  # no permission, or gone since: not a file to judge
        return None
    text = lenient_text(head)
    if _flow_style(text):
        return _parsed_shape(path, text) if size <= HEAD_BYTES else None
    keys = top_keys(text)
    if not keys & IDENTITY or None in _named(keys):  # cheap: most YAML is not a scenario
        return None
    if size > HEAD_BYTES:
        from ..scenario.loader import MAX_FILE_BYTES

        if size > MAX_FILE_BYTES:  # shaped like one and too large: the check says so
            return "test"
        keys = top_keys(lenient_text(path.read_bytes()))
    return shape(keys)


def _parsed_shape(path: Path, text: str) -> Kind | None:
    from ..scenario import ScenarioError
    from ..scenario.loader import read_yaml

    try:
        data, _ = read_yaml(text, str(path))
    except ScenarioError:
        return None
    return shape(str(k) for k in data) if isinstance(data, dict) else None


def discover(folder: str | os.PathLike) -> tuple[list[Path], list[Path]]:
    """The scenario tests below `folder` and the scenarios without `expect`, each in
    path order."""
    tests, others = [], []
    for path in sorted(Path(folder).rglob("*")):
        if path.suffix.lower() in SUFFIXES and path.is_file():
            kind = classify(path)
            if kind == "test":
                tests.append(path)
            elif kind == "scenario":
                others.append(path)
    return tests, others
