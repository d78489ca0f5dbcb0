"""A scenario's text with a designer's edits applied: the YAML read and written back by
ruamel.yaml's round trip, so that comments, flow lists (`courses: [B]`), folded text and
the file's indentation stay as they were and only the values edited change.

The project's loader reads with libyaml (fast, line numbers, no comments kept:
`scenario/yamlread.py`); writing a file back needs the comments, hence ruamel here. The
edited text is then read by the loader like any file, so what the preview runs and what
it saves are the same text.
"""

from __future__ import annotations

import io
from typing import Any

# the settings a form may change, and where they live in the file
RULE_FIELDS = ("when", "delay_days", "courses", "allow_consecutive")
CERTIFICATE_FIELDS = ("reenroll_before",)
PERIOD_UNITS = ("days", "months", "years")


class EditProblem(ValueError):
    """An edit that cannot be written into the file (its place is not there)."""


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML()  # round trip: comments, order, flow style and quotes kept
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line that was not folded
    return yaml


def _load(text: str):
    """The round-trip tree and a YAML writer set to the file's own indentation."""
    from ruamel.yaml.util import load_yaml_guess_indent

    _, sequence, offset = load_yaml_guess_indent(text)
    yaml = _yaml()
    yaml.indent(mapping=2, sequence=sequence or 2, offset=offset or 0)
    return yaml.load(text), yaml


def _at(tree: Any, path: tuple) -> Any:
    node = tree
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            raise EditProblem(f"nothing at {'.'.join(map(str, path))} in the file") from None
    return node


def _set(mapping: Any, key: str, value: Any, after: tuple[str, ...] = ()) -> None:
    """Set `key` of a round-trip mapping, keeping its place (and a flow list's style) if it
    is there, else adding it after the first of `after` present (else at the end)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    current = mapping.get(key)
    if isinstance(value, list) and isinstance(current, CommentedSeq):
        del current[:]
        current.extend(value)
        return
    if isinstance(value, dict) and isinstance(current, CommentedMap):
        for old in list(current):
            del current[old]
        current.update(value)
        return
    if isinstance(value, list | dict):
        new = CommentedSeq(value) if isinstance(value, list) else CommentedMap(value)
        new.fa.set_flow_style()  # `[A, B]`, `{days: 30}`: as the library's files write them
        value = new
    if key in mapping:
        mapping[key] = value
        return
    keys = list(mapping)
    places = [keys.index(k) + 1 for k in after if k in mapping]
    mapping.insert(places[0] if places else len(keys), key, value)


def apply_edits(text: str, rules: dict[tuple, dict], certificates: dict[tuple, dict]) -> str:
    """`text` with each rule at its path (`("courses", 1, "post_enrollments", 0)`) given
    the settings of its dict, and each certificate at its path (`("courses", 3,
    "certificate")`) its re-enrollment window (`None`: no re-enrollment). No edits: the
    text itself, byte for byte."""
    if not rules and not certificates:
        return text
    tree, yaml = _load(text)
    for path, settings in rules.items():
        rule = _at(tree, path)
        for key, value in settings.items():
            if key not in RULE_FIELDS:
                raise EditProblem(f"a rule's {key} is not edited here")
            if key == "allow_consecutive" and not value and key not in rule:
                continue  # off is the default: nothing to write
            _set(rule, key, value, after=("courses", "delay_days", "when"))
    for path, settings in certificates.items():
        certificate = _at(tree, path)
        for key, value in settings.items():
            if key not in CERTIFICATE_FIELDS:
                raise EditProblem(f"a certificate's {key} is not edited here")
            if value is None:
                if key in certificate:
                    del certificate[key]
                continue
            _set(certificate, key, value, after=("min_valid", "valid_for", "expires_on"))
    out = io.StringIO()
    yaml.dump(tree, out)
    return out.getvalue()
