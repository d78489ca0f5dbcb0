"""JSON Schema of scenario files, for editors (e.g. the YAML language server)."""

from __future__ import annotations

import json

from .models import Scenario


def json_schema() -> dict:
    schema = Scenario.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "postenroll-sim scenario"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
