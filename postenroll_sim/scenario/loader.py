"""Reading scenario files: YAML 1.2 with line numbers, then validation, all errors at once."""

from __future__ import annotations

import codecs
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from ..columns import READY_MAPS
from . import models, stochastic, yamlread
from .checks import check_scenario, close_match, hint_budget
from .dates import resolve_dates
from .errors import Origin, Path, Problem, ScenarioError


def read_yaml(text: str, file: str, parser: str | None = None) -> tuple[Any, Origin]:
    """Parse YAML text into plain data and the line of every key and item. Every failure
    (syntax, a limit of `yamlread`, an unsupported tag, a bad date) is a located
    ScenarioError. `parser` picks the event source (`yamlread.parser_names()`), for tests."""
    try:
        tree = yamlread.read_tree(text, parser)
    except yamlread.YamlProblem as exc:
        raise ScenarioError([Problem(file, exc.line, exc.path, exc.message)]) from None
    return tree.data, Origin(file, tree.lines, tree.aliases)


def _all_models() -> list[type[BaseModel]]:
    stack: list[type[BaseModel]] = [models.Scenario, *models.ACTION_MODELS.values()]
    stack += [models.ExpectEnrollment, models.ExpectJob, models.ExpectEvent, models.ExpectError]
    stack += [models.ExpectBlock, models.RuleEdit]
    stack += list(stochastic.DISTRIBUTION_MODELS)
    seen: set[type] = set()
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        for info in model.model_fields.values():
            for arg in _nested_types(info.annotation):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    stack.append(arg)
    return sorted(seen, key=lambda m: m.__name__)


def _nested_types(annotation: Any) -> list[Any]:
    found = [annotation]
    for arg in getattr(annotation, "__args__", ()) or ():
        found += _nested_types(arg)
    for arg in getattr(annotation, "__metadata__", ()) or ():
        found += _nested_types(arg)
    origin = getattr(annotation, "__origin__", None)
    if origin is not None:
        found.append(origin)
    return found


_MODEL_KEYS = [
    frozenset(info.alias or name for name, info in m.model_fields.items()) for m in _all_models()
]
_KNOWN_KEYS = sorted(set().union(*_MODEL_KEYS))


def _suggest(key: str, siblings: set[str]) -> str | None:
    """The key most likely meant, among those of the models that fit the sibling keys."""
    fitting = [keys for keys in _MODEL_KEYS if siblings <= keys]
    candidates = sorted(set().union(*fitting)) if fitting else _KNOWN_KEYS
    return close_match(key, candidates)


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The model whose keys sit at `loc` below `model` (through its fields), if one does."""
    for part in loc:
        fields = {info.alias or name: info for name, info in model.model_fields.items()}
        info = fields.get(part) if isinstance(part, str) else None
        nested = [
            t
            for t in (_nested_types(info.annotation) if info else ())
            if isinstance(t, type) and issubclass(t, BaseModel)
        ]
        if len(nested) != 1:
            return None
        model = nested[0]
    return model


EXACT = "exact_message"  # a validator's error worded whole: shown as it is, nothing added


def exact(message: str) -> PydanticCustomError:
    """An error for a validator to raise when its message says all (and quotes the value)."""
    return PydanticCustomError(EXACT, "{message}", {"message": message})


def _data_path(loc: tuple, data: Any, names_key: bool) -> tuple[Path, Any, Any]:
    """Map a pydantic error location onto the data, dropping the union tags pydantic adds.
    Returns the path, the value there, and the value's parent."""
    path: list[str | int] = []
    node = parent = data
    for index, part in enumerate(loc):
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            parent, node = node, node[part]
            path.append(part)
        elif (
            names_key and index == len(loc) - 1 and isinstance(part, str) and isinstance(node, dict)
        ):
            path.append(part)  # a missing or unknown key: name it
            parent, node = node, None
    return tuple(path), node, parent


def _message(error: dict, value: Any, parent: Any, model: type[BaseModel] | None = None) -> str:
    kind = error["type"]
    if kind == EXACT:
        return error["ctx"]["message"]
    if kind == "missing":
        return "required key missing"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        siblings = (
            {k for k in parent if k != key and isinstance(k, str)}
            if isinstance(parent, dict)
            else set()
        )
        here = model and _model_at(model, tuple(error["loc"][:-1]))
        if here is None:
            close = _suggest(key, siblings)
            return f"unknown key '{key}'" + (f" (did you mean '{close}'?)" if close else "")
        # the model at the key's place is known: suggest among its keys, and list them
        keys = [info.alias or name for name, info in here.model_fields.items()]
        close = close_match(key, keys)
        hint = f" (did you mean '{close}'?)" if close else ""
        return f"unknown key '{key}'{hint}; keys are {', '.join(keys)}"
    message = error["msg"].removeprefix("Value error, ")
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        what = str(ctx.get("discriminator", "'action'")).strip("'")
        return f"unknown {what} '{ctx.get('tag')}'; expected one of {ctx.get('expected_tags', '')}"
    if kind == "union_tag_not_found":
        return "required key 'action' missing"
    shown = value if not isinstance(value, dict | list) else None
    if shown is not None and "got" not in message:
        text = repr(shown)
        message += f", got {text if len(text) <= 80 else text[:60] + '...'}"
    return message


def validation_problems(
    exc: ValidationError,
    data: Any,
    origin: Origin,
    prefix: Path = (),
    model: type[BaseModel] | None = None,
) -> list[Problem]:
    """Every error of a validation, located in the file. With `model` (the one validated),
    an unknown key is matched against the keys of the model at its place."""
    problems = []
    for error in exc.errors(include_url=False):
        names_key = error["type"] in ("missing", "extra_forbidden")
        path, value, parent = _data_path(tuple(error["loc"]), data, names_key)
        path = (*prefix, *path)
        problems.append(origin.problem(path, _message(error, value, parent, model)))
    return problems


def parse_scenario(text: str, file: str = "<scenario>") -> models.Scenario:
    """Load a scenario from YAML text. Raises ScenarioError with every problem found."""
    data, origin = read_yaml(text, file)
    return validate_data(data, origin)


def validate_data(data: Any, origin: Origin) -> models.Scenario:
    """Validate plain scenario data (as read by read_yaml): shapes, then cross-checks."""
    if not isinstance(data, dict):
        raise ScenarioError(
            [origin.problem((), "a scenario file is a mapping of keys (name, courses, ...)")]
        )
    # S1 v2: days written as dates become day numbers before anything reads them
    dated = resolve_dates(data)
    problems: list[Problem] = [origin.problem(path, message) for path, message in dated]
    bad_dates = {path for path, _ in dated}
    problems += _initial_state_files(data, origin)
    scenario = None
    with hint_budget():
        try:
            scenario = models.Scenario.model_validate(data)
        except ValidationError as exc:
            problems += [
                p for p in validation_problems(exc, data, origin) if p.path not in bad_dates
            ]
        problems += [origin.problem(path, message) for path, message in check_scenario(data)]
    if problems:
        raise ScenarioError(problems)
    assert scenario is not None
    if scenario.behaviour_from is not None:  # docs/calibrate.md: the scenario's own keys win
        from .fragment import apply_fragment, load_fragment

        scenario = apply_fragment(scenario, load_fragment(scenario, origin))
    scenario._origin = origin
    return scenario


def _initial_state_files(data: dict, origin: Origin) -> list[Problem]:
    """S39: the files of `initial_state`, relative to the scenario file, made absolute (so
    a worker in another folder reads the same ones); a missing one is a located problem.
    A ready-made map is named, not a file (`map: vendor`)."""
    state = data.get("initial_state")
    if not isinstance(state, dict):
        return []
    folder = FsPath(origin.file).parent if not origin.file.startswith("<") else FsPath()
    problems = []
    for key in ("history", "map", "learners"):
        value = state.get(key)
        if not isinstance(value, str) or not value.strip():
            continue  # the model says what is wrong with it
        if key == "map" and value in READY_MAPS:
            continue
        path = (folder / value).resolve()
        if not path.is_file():
            shown = f"{value!r}" + (f" ({path})" if str(path) != value else "")
            ready = f", nor a ready-made map ({', '.join(READY_MAPS)})" if key == "map" else ""
            problems.append(origin.problem(("initial_state", key), f"no such file {shown}{ready}"))
        state[key] = str(path)
    return problems


MAX_FILE_BYTES = 32 * 1024 * 1024  # a 160,000-step script is about 10 MB

_BOMS = (  # UTF-32 first: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _not_text(file: str, data: bytes, start: int, encoding: str) -> ScenarioError:
    line = data.count(b"\n", 0, start) + 1
    column = start - (data.rfind(b"\n", 0, start) + 1) + 1
    return ScenarioError(
        [
            Problem(
                file,
                line,
                (),
                f"not {encoding} text (byte 0x{data[start]:02X} at column {column}); "
                "save the file as UTF-8",
            )
        ]
    )


def read_scenario_text(path: str | FsPath) -> str:
    """The text of a scenario file. UTF-8, with or without a byte-order mark; UTF-16 and
    UTF-32 are read when they start with one. Anything else, a missing or unreadable file,
    or a file over MAX_FILE_BYTES is a one-line ScenarioError."""
    path = FsPath(path)
    file = str(path)

    def fail(message: str, line: int | None = None) -> ScenarioError:
        return ScenarioError([Problem(file, line, (), message)])

    try:
        size = path.stat().st_size
        if path.is_dir():
            raise fail("is a directory, not a scenario file")
        if size > MAX_FILE_BYTES:
            raise fail(f"the file is {size:,} bytes; a scenario file is at most {MAX_FILE_BYTES:,}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise fail("no such file") from None
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or exc}") from None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding).removeprefix("\ufeff")
            except UnicodeDecodeError as exc:
                raise _not_text(file, data, exc.start, encoding.upper()) from None
    if b"\x00" in data:
        start = data.index(b"\x00")
        raise fail(
            "not UTF-8 text (it has NUL bytes: UTF-16 without a byte-order mark?); "
            "save the file as UTF-8",
            data.count(b"\n", 0, start) + 1,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_text(file, data, exc.start, "UTF-8") from None


def load_scenario(path: str | FsPath) -> models.Scenario:
    """Load and validate a scenario file. Raises ScenarioError (every problem, located)."""
    return parse_scenario(read_scenario_text(path), str(path))


def expectations_of(text: str, file: str) -> list[Any] | None:
    """The items of the `expect` block of a scenario, even when the rest is invalid (for
    `check`): a list, whether the block is a list or `{replications: N, items: [...]}`."""
    try:
        data, _ = read_yaml(text, file)
    except ScenarioError:
        return None
    if not isinstance(data, dict) or "expect" not in data:
        return None
    try:
        expect = TypeAdapter(models.Expect).validate_python(data["expect"])
    except ValidationError:
        return None
    return models.expect_items(expect)[0]
