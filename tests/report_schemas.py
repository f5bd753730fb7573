"""The template's report schemas, made strict for the tests: every key a stage writes is named.

pocgen itself reads a report with the schema as shipped, which lets a key it does not know pass
(a user's note, a field a newer template adds). A test of the stages is stricter: a key the
schema does not name means a stage and its contract drifted apart, and one of them must change.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from pocgen.contract import schemas_dir


def _closed(schema: Any) -> Any:
    """The schema with `additionalProperties: false` wherever it names properties and says
    nothing about others."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    if "properties" in closed and "additionalProperties" not in closed:
        closed["additionalProperties"] = False
    return closed


@cache
def _validators() -> dict[str, Draft202012Validator]:
    schemas = {
        path.name.removesuffix(".schema.json"): _closed(json.loads(path.read_text("utf-8")))
        for path in schemas_dir().glob("*.schema.json")
    }
    registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    return {
        name: Draft202012Validator(schema, registry=registry) for name, schema in schemas.items()
    }


def strict_problem(data: Any, name: str) -> str | None:
    """Why `data` breaks the closed `name` schema (the first problem, with where), or None."""
    error = best_match(_validators()[name].iter_errors(data))
    if error is None:
        return None
    return f"{error.message} at {'.'.join(map(str, error.absolute_path)) or 'the top'}"
