"""Hiding secrets in anything cfql shows a person.

A value is secret when its schema says so (``x-cfql-secret`` or
``format: password``) or when its field name is one the provider declares
secret (``x-cfql-config.secretFields``, passed here as ``names``).
"""

from __future__ import annotations

import typing as t

from cfql.plan.schema import is_secret
from cfql.provider.model import Field

MASK = "***"
Names = t.AbstractSet[str]
_NONE: frozenset[str] = frozenset()


def _secret(name: str, schema: t.Mapping[str, t.Any], names: Names) -> bool:
    return is_secret(schema) or (bool(names) and name.lower() in names)


def redact_body(body: t.Mapping[str, t.Any], fields: t.Mapping[str, Field], names: Names = _NONE) -> dict[str, t.Any]:
    return {name: _redact(name, value, fields[name].schema if name in fields else {}, names) for name, value in body.items()}


def _redact(name: str, value: t.Any, schema: t.Mapping[str, t.Any], names: Names) -> t.Any:
    if value is None:
        return None
    if _secret(name, schema, names):
        return MASK
    if isinstance(value, dict):
        properties = _merged_properties(schema)
        return {k: _redact(k, v, properties.get(k, {}), names) for k, v in value.items()}
    if isinstance(value, list):
        items = schema.get("items") or {}
        return [_redact("", v, items, names) for v in value]
    return value


def _merged_properties(schema: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Properties of an object schema, across ``anyOf`` branches: a secret in any branch is secret."""
    merged: dict[str, t.Any] = {}
    for branch in [schema, *schema.get("anyOf", ()), *schema.get("oneOf", ())]:
        for name, prop in (branch.get("properties") or {}).items():
            if name not in merged or is_secret(prop):
                merged[name] = prop
    return merged


def secret_strings(body: t.Mapping[str, t.Any] | None, fields: t.Mapping[str, Field], names: Names = _NONE) -> list[str]:
    """The secret values a request carries, so an error echoing them can be cleaned."""
    found: list[str] = []

    def walk(name: str, value: t.Any, schema: t.Mapping[str, t.Any]) -> None:
        if value is None:
            return
        if _secret(name, schema, names):
            found.append(str(value))
        elif isinstance(value, dict):
            properties = _merged_properties(schema)
            for k, v in value.items():
                walk(k, v, properties.get(k, {}))
        elif isinstance(value, list):
            for v in value:
                walk("", v, schema.get("items") or {})

    for name, value in (body or {}).items():
        walk(name, value, fields[name].schema if name in fields else {})
    return found


def plan_secrets(plan: t.Any) -> list[str]:
    """The secret values written as literals in a planned statement."""
    rows = getattr(plan, "rows", ())
    if not rows:
        return []
    method = plan.method
    return [secret for row in rows for secret in secret_strings(row.constants, method.fields, method.secret_names)]


def redact_statement(sql: str, plan: t.Any) -> str:
    """A statement's text with the secret values its plan carries masked, for echoing it back."""
    return scrub(sql, plan_secrets(plan)) if plan is not None else sql


def scrub(text: str, secrets: t.Iterable[str | None]) -> str:
    """``text`` with every secret (of 3+ characters, to keep messages readable) replaced by the mask."""
    for secret in sorted((s for s in secrets if s and len(s) >= 3), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def secret_paths(schema: t.Mapping[str, t.Any], names: Names = _NONE) -> tuple[tuple[str, ...], ...]:
    """Every key path under ``schema`` that leads to a secret, computed once per method.

    Masking then follows a handful of dict lookups instead of walking whole
    responses, which keeps the per-call cost flat.
    """
    found: list[tuple[str, ...]] = []

    def walk(node: t.Mapping[str, t.Any], path: tuple[str, ...], depth: int) -> None:
        if depth > 12:
            return
        for name, prop in _merged_properties(node).items():
            if _secret(name, prop, names):
                found.append((*path, name))
            else:
                walk(prop, (*path, name), depth + 1)

    walk(schema, (), 0)
    return tuple(dict.fromkeys(found))


def mask_paths(payload: t.Any, paths: t.Iterable[tuple[str, ...]]) -> t.Any:
    """``payload`` with the values at ``paths`` masked; containers on the way are copied, not mutated."""
    for path in paths:
        payload = _mask(payload, path)
    return payload


def _mask(node: t.Any, path: tuple[str, ...]) -> t.Any:
    if not isinstance(node, dict) or path[0] not in node or node[path[0]] is None:
        return node
    key, rest = path[0], path[1:]
    replaced = MASK if not rest else _mask(node[key], rest)
    if replaced is node[key]:
        return node
    return {**node, key: replaced}
