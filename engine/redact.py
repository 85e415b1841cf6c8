"""Hiding secrets in anything cfql shows a person.

A value is secret when its schema says so (``x-cfql-secret`` or
``format: password``) or when its field name is one the provider declares
secret (``x-cfql-config.secretFields``, passed here as ``names``).
"""

from __future__ import annotations

import json
import re
import typing as t

from cfql.plan.schema import is_secret
from cfql.provider.model import Field

MASK = "***"
Names = t.AbstractSet[str]
_NONE: frozenset[str] = frozenset()


_SECRET_WORDS = frozenset(
    {
        "TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWORDS", "PASSWD", "PASSPHRASE", "PASS",
        "KEY", "KEYS", "APIKEY", "CREDENTIAL", "CREDENTIALS", "AUTH", "PRIVATE", "COOKIE", "SESSION",
    }
)
_SECRET_ENDINGS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY")
_NAME_WORDS = re.compile(r"[^A-Z0-9]+")


def looks_secret(name: str) -> bool:
    """Whether a name (of an environment variable, a shell variable) says it holds a secret.

    A word of the name (split at ``_``, ``-``, ``.`` ...) is TOKEN, KEY, SECRET,
    PASSWORD, PASS, CREDENTIAL(S), AUTH, PRIVATE, COOKIE or SESSION (or a plural), or
    ends in TOKEN, SECRET, PASSWORD or APIKEY: ``GITHUB_TOKEN``, ``AWS_SECRET_ACCESS_KEY``,
    ``DB_PASSWORD``, ``MYAPIKEY``. Whole words only, so ``MONKEY_NAME`` stays visible.
    """
    words = [word for word in _NAME_WORDS.split(name.upper()) if word]
    return any(word in _SECRET_WORDS or word.endswith(_SECRET_ENDINGS) for word in words)


def _secret(name: str, schema: t.Mapping[str, t.Any], names: Names) -> bool:
    return is_secret(schema) or (bool(names) and name.lower() in names)


def redact_body(body: t.Mapping[str, t.Any], fields: t.Mapping[str, Field], names: Names = _NONE) -> dict[str, t.Any]:
    shown = {}
    for name, value in body.items():
        schema, text = _entry(name, fields)
        value = _redact(name, _parsed(value) if text else value, schema, names)
        shown[name] = json.dumps(value) if text and isinstance(value, dict) else value
    return shown


def _entry(key: str, fields: t.Mapping[str, Field]) -> tuple[t.Mapping[str, t.Any], bool]:
    """A body entry's schema, and whether it travels as JSON text, for a body keyed by SQL names or the API's.

    A request's body has the API's names (``data__name`` is sent as
    ``name``), and naive_DesiredState sends the fields inside ``DesiredState``
    as its JSON text: their secrets are inside that text.
    """
    if key in fields:
        return fields[key].schema, False
    inside = {f.api_name: f.schema for f in fields.values() if f.inside == key}
    if inside:
        return {"type": "object", "properties": inside}, True
    wire = (f.schema for f in fields.values() if f.location == "body" and not f.inside and f.api_name == key)
    return next(wire, {}), False


def _parsed(value: t.Any) -> t.Any:
    try:
        return json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return value


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
        schema, text = _entry(name, fields)
        walk(name, _parsed(value) if text else value, schema)
    return found


def plan_secrets(plan: t.Any) -> list[str]:
    """The secret values written as literals in a planned statement."""
    listed = getattr(plan, "secrets", None)  # EXPLAIN's plan lists those of the statement it explains
    if listed is not None:
        return list(listed)
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
        items = node.get("items")
        if isinstance(items, dict):  # a list's objects (a list method's rows): ``EVERY_ITEM`` in the path
            walk(items, (*path, EVERY_ITEM), depth + 1)
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


#: The step of a ``secret_paths`` path into every item of a list (never its last step).
EVERY_ITEM = "[*]"


def _mask(node: t.Any, path: tuple[str, ...]) -> t.Any:
    if path[0] == EVERY_ITEM and isinstance(node, list):
        masked = [_mask(item, path[1:]) for item in node]
        return node if all(new is old for new, old in zip(masked, node)) else masked
    if not isinstance(node, dict) or path[0] not in node or node[path[0]] is None:
        return node
    key, rest = path[0], path[1:]
    replaced = MASK if not rest else _mask(node[key], rest)
    if replaced is node[key]:
        return node
    return {**node, key: replaced}
