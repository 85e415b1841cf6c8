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


def secret_strings(body: t.Mapping[str, t.Any] | None, fields: t.Mapping[str, Field]) -> list[str]:
    """The secret values a request carries, so an error echoing them can be cleaned."""
    found: list[str] = []

    def walk(value: t.Any, schema: t.Mapping[str, t.Any]) -> None:
        if value is None:
            return
        if is_secret(schema):
            found.append(str(value))
        elif isinstance(value, dict):
            properties = _merged_properties(schema)
            for k, v in value.items():
                walk(v, properties.get(k, {}))
        elif isinstance(value, list):
            for v in value:
                walk(v, schema.get("items") or {})

    for name, value in (body or {}).items():
        if name in fields:
            walk(value, fields[name].schema)
    return found


def redact_statement(sql: str, plan: t.Any) -> str:
    """A statement's text with the secret values its plan carries masked, for echoing it back."""
    rows = getattr(plan, "rows", ())
    fields = plan.method.fields if rows else {}
    secrets = [secret for row in rows for secret in secret_strings(row.constants, fields)]
    return scrub(sql, secrets)


def scrub(text: str, secrets: t.Iterable[str | None]) -> str:
    """``text`` with every secret (of 3+ characters, to keep messages readable) replaced by the mask."""
    for secret in sorted((s for s in secrets if s and len(s) >= 3), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def has_secrets(schema: t.Mapping[str, t.Any], _seen: set[int] | None = None) -> bool:
    """Whether any value under ``schema`` is marked secret (response redaction is skipped if not)."""
    seen = _seen if _seen is not None else set()
    if id(schema) in seen:
        return False
    seen.add(id(schema))
    if is_secret(schema):
        return True
    children = [*(schema.get("properties") or {}).values(), *schema.get("anyOf", ()), *schema.get("oneOf", ())]
    if isinstance(schema.get("items"), dict):
        children.append(schema["items"])
    return any(has_secrets(child, seen) for child in children)
