"""YAML 1.2 text -> plain Python data and the line of every key and item, within hard limits.

The data is built from the parser's event stream in one loop, never by recursion, so a
deeply nested or hostile file is refused with a located problem instead of exhausting
the stack or the memory:

- nesting deeper than `MAX_DEPTH` levels;
- more than `MAX_VALUES` values once aliases are expanded (a 300-byte "billion
  laughs" file expands to 10^9 values: it is refused after reading its 300 bytes);
- an alias to the node that contains it (a recursive structure);
- explicit tags other than YAML's own scalar and collection types (`!!python/object`,
  `!custom`, `!!binary`, `!!set`, ...): a scenario is plain data;
- duplicate keys, complex keys (a list or mapping used as a key), several documents;
- scalars that cannot be read as what they claim, e.g. the date 2027-02-30.

Merge keys (`<<: *base`, `<<: [*a, *b]`) are supported: the mapping's own keys win, then
the merged mappings in order. A merged or aliased value keeps pointing at the lines where
it is written (the anchor), through `Origin.aliases`.

Events come from libyaml (through PyYAML) when it is installed, else from ruamel.yaml's
pure-Python parser (about 20 times slower: 185,000 values take seconds). Both give the
same events; the resolution of plain scalars is YAML 1.2 (ruamel.yaml's rules) either way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml import events as rev
from ruamel.yaml.error import MarkedYAMLError as RuamelMarkedError
from ruamel.yaml.error import YAMLError as RuamelYAMLError
from ruamel.yaml.reader import ReaderError as RuamelReaderError
from ruamel.yaml.resolver import implicit_resolvers
from ruamel.yaml.util import create_timestamp, timestamp_regexp

from .errors import Path

try:  # libyaml, when PyYAML was built with it
    import yaml as _pyyaml

    if not getattr(_pyyaml, "__with_libyaml__", False):  # pragma: no cover - depends on the build
        _pyyaml = None
except ImportError:  # pragma: no cover - PyYAML is optional
    _pyyaml = None

MAX_DEPTH = 50  # levels of nesting; a scenario needs about 7
MAX_VALUES = 1_000_000  # values in a file, aliases expanded (a 160,000-step script)

CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{CORE}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")}

# ----- resolving plain scalars: YAML 1.2, with ruamel.yaml's regular expressions --------

_RESOLVERS: dict[str, list[tuple[str, re.Pattern]]] = {}
for _versions, _tag, _regexp, _first in implicit_resolvers:
    if (1, 2) in _versions:
        for _char in _first:  # the compiled pattern, not ruamel's lazy wrapper (3x slower)
            _RESOLVERS.setdefault(_char, []).append((_tag, _regexp.lazy_self()))


def _int(text: str) -> int:
    digits = text.replace("_", "")
    sign = -1 if digits[:1] == "-" else 1
    digits = digits.lstrip("+-")
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits)


def _float(text: str) -> float:
    digits = text.replace("_", "").lower()
    sign = -1.0 if digits[:1] == "-" else 1.0
    digits = digits.lstrip("+-")
    if digits == ".inf":
        return sign * float("inf")
    if digits == ".nan":
        return float("nan")
    return sign * float(digits)


def _bool(text: str) -> bool:
    return text.lower() == "true"


def _timestamp(text: str) -> dt.date | dt.datetime:
    match = timestamp_regexp.match(text)
    if match is None:
        raise ValueError("not a date (YYYY-MM-DD) or a date and time")
    return create_timestamp(**match.groupdict())


_CONSTRUCT = {
    f"{CORE}int": _int,
    f"{CORE}float": _float,
    f"{CORE}bool": _bool,
    f"{CORE}null": lambda text: None,
    f"{CORE}timestamp": _timestamp,
}


def _matches(tag: str, text: str) -> bool:
    return any(t == tag and r.match(text) for t, r in _RESOLVERS.get(text[:1], ()))


def short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(CORE) if tag.startswith(CORE) else tag


class YamlProblem(Exception):
    """A located problem found while reading the YAML (before any validation)."""

    def __init__(self, line: int | None, path: Path, message: str):
        super().__init__(message)
        self.line, self.path, self.message = line, path, message


def _scalar_value(event: Any, line: int, path: Path) -> Any:
    tag, text = event.tag, event.value
    if tag is None and event.implicit[0]:  # a plain scalar: resolve it
        for resolved, regexp in _RESOLVERS.get(text[:1], ()):
            if regexp.match(text):
                construct = _CONSTRUCT.get(resolved)
                if construct is None:  # '<<' or '=' as a value: text
                    return text
                try:
                    return construct(text)
                except ValueError as exc:
                    if resolved == f"{CORE}timestamp":
                        raise YamlProblem(line, path, f"invalid date '{text}': {exc}") from None
                    return text  # e.g. '_' matches the lax int pattern: it is text
        return text
    if tag is None or tag == "!" or tag == f"{CORE}str":
        return text
    if tag not in _SCALAR_TAGS:
        raise YamlProblem(line, path, f"unsupported YAML tag '{short_tag(tag)}'")
    try:
        if tag in (f"{CORE}bool", f"{CORE}null") and not _matches(tag, text):
            raise ValueError("not one of its values")
        return _CONSTRUCT[tag](text)  # e.g. `!!float 10`: a float, though 10 is an int
    except ValueError as exc:
        raise YamlProblem(line, path, f"cannot read '{text}' as {short_tag(tag)}: {exc}") from None


# ----- the event-driven builder ---------------------------------------------------------

_NO_KEY = object()
_MERGE = object()
(STREAM, DOCUMENT_START, DOCUMENT_END, SCALAR, ALIAS, SEQUENCE, MAPPING, END) = range(8)


def _kinds(module: Any) -> dict[type, int]:
    return {
        module.StreamStartEvent: STREAM,
        module.StreamEndEvent: STREAM,
        module.DocumentStartEvent: DOCUMENT_START,
        module.DocumentEndEvent: DOCUMENT_END,
        module.ScalarEvent: SCALAR,
        module.AliasEvent: ALIAS,
        module.SequenceStartEvent: SEQUENCE,
        module.MappingStartEvent: MAPPING,
        module.SequenceEndEvent: END,
        module.MappingEndEvent: END,
    }


_KIND = _kinds(rev) | (_kinds(_pyyaml.events) if _pyyaml is not None else {})


class _Anchor:
    __slots__ = ("value", "path", "size", "depth")

    def __init__(self, value: Any, path: Path, size: int, depth: int):
        self.value, self.path, self.size, self.depth = value, path, size, depth


class _Frame:
    """An open sequence or mapping."""

    __slots__ = ("value", "path", "is_map", "key", "anchor", "start", "depth", "merges")

    def __init__(self, value: Any, path: Path, anchor: str | None, start: int):
        self.value = value
        self.path = path
        self.is_map = isinstance(value, dict)
        self.key: Any = _NO_KEY  # mappings: the key whose value comes next
        self.anchor = anchor
        self.start = start  # values counted before this one
        self.depth = 0  # levels below this node
        self.merges: list[tuple[Any, Path, int]] = []  # (value of `<<`, its path, its line)


class Tree:
    """Plain data, the line of every key and item, and where aliased values are written."""

    def __init__(self) -> None:
        self.data: Any = None
        self.lines: dict[Path, int] = {(): 1}
        self.aliases: dict[Path, Path] = {}  # path -> the path its text is written at
        self.count = 0  # values, aliases expanded
        self._anchors: dict[str, _Anchor] = {}
        self._open_anchors: set[str] = set()
        self._copies: list[tuple[Any, Any]] = []  # (container, key) holding a shared value

    # Each node: check the limits, then attach it to its parent.

    def build(self, events: Iterable[Any]) -> Tree:
        stack: list[_Frame] = []
        documents = 0
        lines = self.lines
        for event in events:
            kind = _KIND[type(event)]
            if kind == END:
                frame = stack.pop()
                if frame.merges:
                    self._merge(frame)
                if frame.anchor is not None:
                    self._open_anchors.discard(frame.anchor)
                    self._anchors[frame.anchor] = _Anchor(
                        frame.value, frame.path, self.count - frame.start, frame.depth
                    )
                self._attach(stack, frame.value, frame.depth)
                continue
            if kind in (STREAM, DOCUMENT_END):
                continue
            line = event.start_mark.line + 1
            if kind == DOCUMENT_START:
                documents += 1
                if documents > 1:
                    raise YamlProblem(
                        line, (), "a scenario file is one YAML document; found a second one (---)"
                    )
                continue
            parent = stack[-1] if stack else None
            if parent is not None and parent.is_map and parent.key is _NO_KEY:
                self._key(parent, event, kind, line)
                continue
            if parent is None:
                path: Path = ()
            elif parent.is_map:
                path = (*parent.path, "<<" if parent.key is _MERGE else parent.key)
            else:
                path = (*parent.path, len(parent.value))
                lines[path] = line
            if len(path) > MAX_DEPTH:
                raise YamlProblem(line, path, f"nested more than {MAX_DEPTH} levels deep")
            if kind == ALIAS:
                self._alias(stack, event, path, line)
                continue
            self.count += 1
            if self.count > MAX_VALUES:
                raise YamlProblem(
                    line, path, f"more than {MAX_VALUES:,} values in one file (the limit)"
                )
            anchor = event.anchor
            if kind == SCALAR:
                value = _scalar_value(event, line, path)
                if anchor is not None:
                    self._anchors[anchor] = _Anchor(value, path, 1, 0)
                self._attach(stack, value, 0)
                continue
            tag = event.tag
            expected = f"{CORE}map" if kind == MAPPING else f"{CORE}seq"
            if tag is not None and tag != "!" and tag != expected:
                raise YamlProblem(line, path, f"unsupported YAML tag '{short_tag(tag)}'")
            if anchor is not None:
                self._open_anchors.add(anchor)
            stack.append(_Frame({} if kind == MAPPING else [], path, anchor, self.count - 1))
        for container, key in self._copies:  # no value is shared: each use is its own copy
            container[key] = _copy(container[key])
        return self

    def _attach(self, stack: list[_Frame], value: Any, depth: int) -> None:
        if not stack:
            self.data = value
            return
        parent = stack[-1]
        parent.depth = max(parent.depth, depth + 1)
        if not parent.is_map:
            parent.value.append(value)
        elif parent.key is _MERGE:
            parent.merges.append((value, (*parent.path, "<<"), self.lines[(*parent.path, "<<")]))
            parent.key = _NO_KEY
        else:
            parent.value[parent.key] = value
            parent.key = _NO_KEY

    def _key(self, parent: _Frame, event: Any, kind: int, line: int) -> None:
        where = parent.path
        if kind == ALIAS:
            anchor = self._anchors.get(event.anchor)
            key = anchor.value if anchor is not None else None
            if anchor is None or isinstance(key, dict | list):
                raise YamlProblem(line, where, "a key must be a single value, not an alias")
        elif kind != SCALAR:
            raise YamlProblem(line, where, "a key must be a single value, not a list or mapping")
        elif event.tag is None and event.implicit[0] and event.value == "<<":
            if any(p == (*where, "<<") for _, p, _ in parent.merges):
                raise YamlProblem(line, (*where, "<<"), "duplicate key '<<'")
            parent.key = _MERGE
            self.lines[(*where, "<<")] = line
            return
        else:
            key = _scalar_value(event, line, where)
            if event.anchor is not None:
                self._anchors[event.anchor] = _Anchor(key, where, 0, 0)
        if key in parent.value:
            first = self.lines.get((*where, key))
            raise YamlProblem(
                line,
                (*where, key),
                f"duplicate key '{key}'" + (f" (first on line {first})" if first else ""),
            )
        parent.key = key
        self.lines[(*where, key)] = line

    def _alias(self, stack: list[_Frame], event: Any, path: Path, line: int) -> None:
        name = event.anchor
        anchor = self._anchors.get(name)
        if anchor is None or name in self._open_anchors:
            problem = (
                f"alias *{name} is inside the node it refers to (a recursive structure)"
                if name in self._open_anchors
                else f"found undefined alias '{name}'"
            )
            raise YamlProblem(line, path, problem)
        if len(path) + anchor.depth > MAX_DEPTH:
            raise YamlProblem(
                line, path, f"alias *{name} nests the data more than {MAX_DEPTH} levels deep"
            )
        self.count += anchor.size
        if self.count > MAX_VALUES:
            raise YamlProblem(
                line,
                path,
                f"the aliases expand to more than {MAX_VALUES:,} values "
                f"(*{name} alone is {anchor.size:,}); a scenario this large is a mistake or an "
                "alias bomb",
            )
        shared = isinstance(anchor.value, dict | list)
        if shared:
            self.aliases[path] = anchor.path
        parent = stack[-1] if stack else None
        if shared and parent is not None and parent.key is not _MERGE:
            self._copies.append((parent.value, parent.key if parent.is_map else len(parent.value)))
        self._attach(stack, anchor.value, anchor.depth)

    def _merge(self, frame: _Frame) -> None:
        """`<<`: keys of the merged mappings that the mapping does not set itself."""
        mapping = frame.value
        for value, path, line in frame.merges:
            sources = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
            for index, source in sources:
                if not isinstance(source, dict):
                    raise YamlProblem(
                        line, path, "`<<` merges a mapping or a list of mappings into this one"
                    )
                source_path = path if index is None else (*path, index)
                for key, item in source.items():
                    if key not in mapping:
                        mapping[key] = item
                        self.aliases[(*frame.path, key)] = (*source_path, key)
                        if isinstance(item, dict | list):
                            self._copies.append((mapping, key))


def _copy(value: Any) -> Any:
    """A tree copy: every container new, nothing shared (unlike copy.deepcopy's memo)."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


# ----- parsers --------------------------------------------------------------------------


def parser_names() -> list[str]:
    """The event sources available here, fastest first."""
    return (["libyaml"] if _pyyaml is not None else []) + ["ruamel"]


def events(text: str, parser: str | None = None) -> Iterable[Any]:
    parser = parser or parser_names()[0]
    if parser == "libyaml":
        if _pyyaml is None:  # pragma: no cover - depends on the installation
            raise ValueError("libyaml is not available")
        return _pyyaml.parse(text, Loader=_pyyaml.CSafeLoader)
    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 2)
    return yaml.parse(text)


def _line_at(text: str, position: int | None) -> int | None:
    if position is None:
        return None
    return text.count("\n", 0, max(0, position)) + 1


_MARKED = (RuamelMarkedError,) + ((_pyyaml.MarkedYAMLError,) if _pyyaml is not None else ())
_READER = (RuamelReaderError,) + ((_pyyaml.reader.ReaderError,) if _pyyaml is not None else ())
_ANY_YAML = (RuamelYAMLError,) + ((_pyyaml.YAMLError,) if _pyyaml is not None else ())


def read_tree(text: str, parser: str | None = None) -> Tree:
    """Parse YAML text. Raises YamlProblem (located) for every kind of failure."""
    try:
        return Tree().build(events(text, parser))
    except YamlProblem:
        raise
    except _MARKED as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise YamlProblem(line, (), f"YAML: {message}") from None
    except _READER as exc:
        character = exc.character
        shown = f"#x{ord(character):02x}" if isinstance(character, bytes) else f"#x{character:04x}"
        raise YamlProblem(
            _line_at(text, exc.position), (), f"YAML: unacceptable character {shown}: {exc.reason}"
        ) from None
    except _ANY_YAML as exc:  # pragma: no cover - the parsers mark almost every error
        raise YamlProblem(None, (), f"YAML: {str(exc).splitlines()[0]}") from None
