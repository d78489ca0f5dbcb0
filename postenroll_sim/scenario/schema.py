"""JSON Schema of scenario files, for editors (e.g. the YAML language server).

Standard JSON Schema (draft 2020-12), derived from the scenario models. What the models
check in Python is stated where it is checked (`SchemaBound`, `at_most`, the
`json_schema_input_type` of a shorthand's validator); this module only puts pydantic's
output into standard words. The cross-checks of `checks.py` (ids that exist, a day within
the horizon, ...) are beyond a schema: a file the schema accepts may still be refused.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from .models import Scenario

DIALECT = "https://json-schema.org/draft/2020-12/schema"

# pydantic writes a numeric constraint it applies after a validator under its own name
# (`ge: 0`), which every JSON Schema tool ignores.
_STANDARD = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}
# pydantic's OpenAPI `discriminator`: not JSON Schema (each branch's `const` already decides).
_NOT_STANDARD = {"discriminator"}
# Keywords whose value maps names to schemas (the names are not keywords).
_NAMED_SCHEMAS = {"properties", "patternProperties", "$defs", "dependentSchemas"}


class _ScenarioSchema(GenerateJsonSchema):
    def str_schema(self, schema: Any) -> dict:
        # Spec's coerce_numbers_to_str: `name: 2024` is the text "2024". Where text has a
        # pattern (ids, id_prefix) the model's own validator decides which numbers pass.
        text = super().str_schema(schema)
        return text if "pattern" in text else {"anyOf": [text, {"type": "number"}]}


def _standard(node: Any) -> Any:
    """The schema with pydantic's constraint names made standard, recursively."""
    if isinstance(node, list):
        return [_standard(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NOT_STANDARD:
            continue
        if key in _NAMED_SCHEMAS and isinstance(value, dict):
            out[key] = {name: _standard(sub) for name, sub in value.items()}
        elif key in ("default", "const", "enum", "examples"):
            out[key] = value  # values, not schemas
        else:
            out[_STANDARD.get(key, key)] = _standard(value)
    return out


def json_schema() -> dict:
    schema = _standard(
        Scenario.model_json_schema(mode="validation", schema_generator=_ScenarioSchema)
    )
    schema["$schema"] = DIALECT
    schema["title"] = "postenroll-sim scenario"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
