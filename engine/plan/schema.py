"""Checking values against the manifest's JSON schemas before anything is sent.

This is deliberately a small subset of JSON Schema / OpenAPI 3.0 (type, enum,
bounds, lengths, nullable, required, properties, items, anyOf): the subset the
manifests use. It runs on every call, so it is written for speed, and its
messages name the column path, the bad value and what would be accepted.
Secret values are never shown in messages.
"""

from __future__ import annotations

import difflib
import json
import typing as t

from cfql.errors import DataError

Schema = t.Mapping[str, t.Any]

_JSON_KINDS = {"object": dict, "array": list}


def is_secret(schema: Schema) -> bool:
    return bool(schema.get("x-cfql-secret")) or schema.get("format") == "password"


def show(value: t.Any, schema: Schema | None = None) -> str:
    """A value as a user wrote it (SQL-ish), or ``'***'`` for secrets."""
    if schema is not None and is_secret(schema):
        return "'***'"
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return "'" + text.replace("'", "''") + "'"
    if isinstance(value, (dict, list)):
        text = json.dumps(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return repr(value)


def check(value: t.Any, schema: Schema, where: str) -> t.Any:
    """Return ``value`` normalised for the request (JSON text parsed for object fields), or raise DataError."""
    if value is None:
        if schema.get("nullable") or not _constrains_type(schema):
            return None
        raise DataError(f"column {where}: NULL is not allowed")
    if "anyOf" in schema or "oneOf" in schema:
        return _check_any_of(value, schema, where)
    kind = schema.get("type")
    if kind in _JSON_KINDS and isinstance(value, str):
        value = _parse_json(value, kind, where, schema)
    if kind is not None:
        _check_type(value, kind, schema, where)
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        allowed = ", ".join(show(v) for v in enum)
        raise DataError(f"column {where}: {show(value, schema)} is not one of {allowed}")
    if kind == "object" or (kind is None and isinstance(value, dict) and "properties" in schema):
        return _check_object(value, schema, where)
    if kind == "array":
        items = schema.get("items") or {}
        return [check(item, items, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_bounds(value, schema, where)
    elif isinstance(value, str):
        _check_length(value, schema, where)
    return value


def _constrains_type(schema: Schema) -> bool:
    """A schema with no type, enum or shape accepts anything, NULL included (the SDK's ``object``)."""
    return any(key in schema for key in ("type", "enum", "anyOf", "oneOf", "properties"))


def _parse_json(text: str, kind: str, where: str, schema: Schema) -> t.Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise DataError(
            f"column {where}: expected a JSON {kind} literal, got {show(text, schema)} ({error.msg} at char {error.pos})"
        ) from None


def _check_type(value: t.Any, kind: str, schema: Schema, where: str) -> None:
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind in _JSON_KINDS:
        ok = isinstance(value, _JSON_KINDS[kind])
    else:
        ok = True
    if not ok:
        article = "an" if kind[0] in "aeiou" else "a"
        raise DataError(f"column {where}: expected {article} {kind}, got {show(value, schema)}")


def _check_bounds(value: float, schema: Schema, where: str) -> None:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and value < low:
        raise DataError(f"column {where}: {show(value)} is below the minimum {low}{_range(low, high)}")
    if high is not None and value > high:
        raise DataError(f"column {where}: {show(value)} is above the maximum {high}{_range(low, high)}")


def _range(low: t.Any, high: t.Any) -> str:
    return f" (allowed: {low} to {high})" if low is not None and high is not None else ""


def _check_length(value: str, schema: Schema, where: str) -> None:
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None and len(value) < low:
        raise DataError(f"column {where}: must be at least {low} characters")
    if high is not None and len(value) > high:
        raise DataError(f"column {where}: must be at most {high} characters")


def _check_object(value: dict, schema: Schema, where: str) -> dict:
    properties: Schema = schema.get("properties") or {}
    if not properties and schema.get("additionalProperties", True) is not False:
        return value
    result = {}
    for key, item in value.items():
        if key not in properties:
            raise DataError(f"column {where}: unknown field {key!r}{did_you_mean(key, properties)}")
        result[key] = check(item, properties[key], f"{where}.{key}")
    missing = [name for name in schema.get("required", ()) if name not in value]
    if missing:
        raise DataError(f"column {where}: missing required field {', '.join(missing)}")
    return result


def _check_any_of(value: t.Any, schema: Schema, where: str) -> t.Any:
    branches = schema.get("anyOf") or schema.get("oneOf") or ()
    if isinstance(value, str) and all(b.get("type") in _JSON_KINDS for b in branches):
        value = _parse_json(value, branches[0]["type"], where, schema)
    errors = []
    for branch in branches:
        try:
            return check(value, branch, where)
        except DataError as error:
            errors.append(str(error).split(": ", 1)[-1])
    # The branch whose complaint is about a nested field is usually the one the user meant.
    best = max(errors, key=lambda e: e.count("."), default="no allowed shape")
    raise DataError(f"column {where}: matches none of the {len(branches)} allowed shapes; closest: {best}")


def did_you_mean(name: str, candidates: t.Iterable[str]) -> str:
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""
