"""Hiding secrets (fields the manifest marks secret) in anything cfql shows a person."""

from __future__ import annotations

import typing as t

from engine.schema import is_secret
from provider.model import Field

MASK = "***"


def redact_body(body: t.Mapping[str, t.Any], fields: t.Mapping[str, Field]) -> dict[str, t.Any]:
    return {
        name: redact_value(value, fields[name].schema) if name in fields else value
        for name, value in body.items()
    }


def redact_value(value: t.Any, schema: t.Mapping[str, t.Any]) -> t.Any:
    if value is None:
        return None
    if is_secret(schema):
        return MASK
    if isinstance(value, dict):
        properties = _merged_properties(schema)
        return {k: redact_value(v, properties.get(k, {})) for k, v in value.items()}
    if isinstance(value, list):
        items = schema.get("items") or {}
        return [redact_value(v, items) for v in value]
    return value


def _merged_properties(schema: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Properties of an object schema, across ``anyOf`` branches: a secret in any branch is secret."""
    merged: dict[str, t.Any] = {}
    for branch in [schema, *schema.get("anyOf", ()), *schema.get("oneOf", ())]:
        for name, prop in (branch.get("properties") or {}).items():
            if name not in merged or is_secret(prop):
                merged[name] = prop
    return merged
