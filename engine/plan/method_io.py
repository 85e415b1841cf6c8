"""DESCRIBE METHOD: what one method takes and what it gives back, from its document alone.

The columns are StackQL's: ``name``, ``type``, ``param_type`` and ``shape``
(and, EXTENDED, ``description``). Inputs come first, as ``input_required`` or
``input_optional``: every name a statement may supply (``Method.fields``:
server variables, path, query and header parameters, body properties), in
the order ``SHOW METHODS`` lists required names — by location (path, query,
header, server, body), by name within one. Then the outputs, in schema order.

Outputs are the columns of the method's rows (``Method.row_schema``), not the
top level of its response: those are the names ``SELECT`` and ``RETURNING``
can use, so a name DESCRIBE METHOD lists is one a statement may write. For a
method without ``objectKey`` the two are the same, as in StackQL's listing of
the response's fields.

``shape`` is, for an object or an array, the JSON Schema subset StackQL's
``shape`` holds (nested properties, items, required, enums, defaults,
descriptions, read/write-only, deprecated) as compact JSON, plus what a
payload must also respect to be accepted: formats, bounds and the
``anyOf``/``oneOf`` alternatives a field may take; "" for a scalar. A default of a secret
property (by its schema or the provider's ``secretFields``) shows as ``***``.

A method cfql cannot drive (``Method.unsupported``) is described all the
same: this is documentation, and nothing is sent.
"""

from __future__ import annotations

import json
import typing as t

from cfql.plan.schema import secret_field
from cfql.provider.model import FIELD_LOCATIONS, Field, Method
from cfql.redact import MASK
from cfql.result import Result

INPUT_REQUIRED, INPUT_OPTIONAL, OUTPUT = "input_required", "input_optional", "output"
_SCALARS = frozenset({"string", "integer", "number", "boolean", "null"})
_SHAPE_KEYS = (
    "type", "format", "nullable", "enum", "default", "minimum", "maximum", "minLength", "maxLength", "required",
    "properties", "items", "anyOf", "oneOf", "allOf", "description", "readOnly", "writeOnly", "deprecated",
)
_ALTERNATIVES = ("anyOf", "oneOf", "allOf")


def describe_method_io(method: Method, extended: bool) -> Result:
    """One row per input, then one per output column of ``method``."""
    secrets = method.secret_names
    rows = [
        _row(f.name, f.schema, INPUT_REQUIRED if f.required else INPUT_OPTIONAL, f.description, secrets)
        for f in inputs(method)
    ]
    for name, schema in (method.row_schema.get("properties") or {}).items():
        rows.append(_row(name, schema, OUTPUT, "", secrets))
    columns = ["name", "type", "param_type", "shape"] + (["description"] if extended else [])
    return Result(columns, rows)


def inputs(method: Method) -> list[Field]:
    """Every name a statement may supply, by location and then by name (as ``Method.required_names``)."""
    rank = {location: i for i, location in enumerate(FIELD_LOCATIONS)}
    return sorted(method.fields.values(), key=lambda f: (rank.get(f.location, len(rank)), f.name))


def schema_type(schema: t.Mapping[str, t.Any]) -> str:
    """The JSON type a value of ``schema`` has: ``string``, ``integer``, ``number``, ``boolean``, ``object``,
    ``array``, or ``any`` when the schema does not say (or its alternatives disagree)."""
    declared = schema.get("type")
    if isinstance(declared, list):  # OpenAPI 3.1: ["string", "null"]
        declared = next((d for d in declared if d != "null"), None)
    if isinstance(declared, str):
        return declared
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    if "enum" in schema:
        kinds = {_json_type(v) for v in schema["enum"] if v is not None}
        return kinds.pop() if len(kinds) == 1 else "any"
    for key in _ALTERNATIVES:
        if isinstance(schema.get(key), list):
            kinds = {schema_type(s) for s in schema[key] if isinstance(s, dict)} - {"null"}
            return kinds.pop() if len(kinds) == 1 else "any"
    return "any"


def _json_type(value: t.Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string" if isinstance(value, str) else "object" if isinstance(value, dict) else "array"


def _row(name: str, schema: t.Mapping[str, t.Any], param_type: str, description: str, secrets: t.AbstractSet[str]) -> dict[str, t.Any]:
    kind = schema_type(schema)
    structured = kind not in _SCALARS
    subset = _subset(name, schema, secrets) if structured else {}
    subset.pop("description", None)  # the row's own description is its column
    return {
        "name": name,
        "type": kind,
        "param_type": param_type,
        "shape": json.dumps(subset, separators=(",", ":"), default=str) if structured and subset else "",
        "description": one_line_description(description, schema),
    }


def one_line_description(description: str, schema: t.Mapping[str, t.Any]) -> str:
    """What a field says of itself, on one line: its own description (a parameter's), else its schema's;
    DESCRIBE METHOD's column and SHOW EXTENDED INSERT's comments say the same."""
    return " ".join((description or str(schema.get("description") or "")).split())


def _subset(
    name: str, schema: t.Mapping[str, t.Any], secrets: t.AbstractSet[str], inside_secret: bool = False
) -> dict[str, t.Any]:
    """The keys of ``schema`` a shape shows, nested properties, items and alternatives in turn; a default
    is masked in a secret field and anywhere inside one (as ``redact_body`` masks the whole value)."""
    secret = inside_secret or secret_field(name, schema, secrets)
    shown: dict[str, t.Any] = {}
    for key in _SHAPE_KEYS:
        if key not in schema:
            continue
        value = schema[key]
        if key == "properties" and isinstance(value, dict):
            value = {k: _subset(k, v, secrets, secret) for k, v in value.items() if isinstance(v, dict)}
        elif key == "items" and isinstance(value, dict):
            value = _subset(name, value, secrets, secret)
        elif key in _ALTERNATIVES and isinstance(value, list):
            value = [_subset(name, v, secrets, secret) for v in value if isinstance(v, dict)]
        elif key == "default" and secret:
            value = MASK
        shown[key] = value
    return shown
