"""Checking values against the manifest's JSON schemas before anything is sent.

This is deliberately a small subset of JSON Schema / OpenAPI 3.0 (type, enum,
bounds, lengths, nullable, required, properties, items, anyOf): the subset the
manifests use, plus the string formats of ``cfql.plan.formats``. It runs on
every call, so it is written for speed, and its messages name the column
path, the bad value and what would be accepted.

Which checks refuse a value depends on whose document it is. Its *shape* —
type, NULL, required and unknown fields — is always checked. Its
*constraints* — ``enum``, ``minimum``/``maximum`` (and their exclusive forms),
``minLength``/``maxLength``, ``pattern``, ``minItems``/``maxItems`` and
``format`` — bind in a document cfql ships, whose schemas say what the API
accepts; documents written elsewhere are often narrower than their API
(one published DNS API allows only ``ttl`` 1 and record ``type`` A). So
``check`` takes ``notes``: when given, a broken constraint is noted there and
the value kept, for the caller to warn about and send (or to refuse, under
``--strict``: see ``cfql.plan.plans``).

One rule decides which values a message may quote: a scalar of a field that
is not secret. The value of a secret field (by its schema, or by a name the
provider declares secret: ``names``) is shown as ``'***'``, and JSON — text or
structure — is never quoted, since any object may hold a secret somewhere
inside: a message says what kind of value it was, or where its text broke.
"""

from __future__ import annotations

import difflib
import json
import re
import typing as t
from functools import lru_cache

from cfql.errors import DataError
from cfql.sql.values import load_json

Schema = t.Mapping[str, t.Any]

_JSON_KINDS = {"object": dict, "array": list}


Names = t.AbstractSet[str]
_NO_NAMES: frozenset[str] = frozenset()


def is_secret(schema: Schema) -> bool:
    return bool(schema.get("x-cfql-secret")) or schema.get("format") == "password"


def secret_field(where: str, schema: Schema, names: Names = _NO_NAMES) -> bool:
    """Whether the value at column path ``where`` is secret: by its schema, or its name is one of ``names``."""
    if is_secret(schema):
        return True
    return bool(names) and where.rpartition(".")[2].split("[", 1)[0].lower() in names


def shown(value: t.Any, schema: Schema, where: str, names: Names = _NO_NAMES) -> str:
    """A user's value as an error message may show it (the rule in the module docstring)."""
    if secret_field(where, schema, names):
        return "'***'"
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON array"
    return show(value)


def show(value: t.Any) -> str:
    """A value as SQL writes it, cut to 60 characters: a document's own (an enum); for a user's value use ``shown``."""
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


Notes = t.Optional[list[str]]  # broken constraints, noted instead of refused (the module docstring)


def check(value: t.Any, schema: Schema, where: str, names: Names = _NO_NAMES, notes: Notes = None) -> t.Any:
    """Return ``value`` normalised for the request (JSON text parsed for object fields), or raise DataError.

    ``names``: field names the provider declares secret, whose values no message quotes.
    ``notes``: given for a document cfql does not ship; a broken constraint is appended to it, not raised.
    """
    if value is None:
        if schema.get("nullable") or not _constrains_type(schema):
            return None
        raise DataError(f"column {where}: NULL is not allowed")
    if "anyOf" in schema or "oneOf" in schema:
        return _check_any_of(value, schema, where, names, notes)
    kind = schema.get("type")
    if kind in _JSON_KINDS and isinstance(value, str):
        value = _parse_json(value, kind, where)
    if kind is not None:
        _check_type(value, kind, schema, where, names)
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        allowed = ", ".join(show(v) for v in enum)
        _broken(f"column {where}: {shown(value, schema, where, names)} is not one of {allowed}", notes)
    if kind == "object" or (kind is None and isinstance(value, dict) and "properties" in schema):
        return _check_object(value, schema, where, names, notes)
    if kind == "array":
        _check_count(value, schema, where, notes)
        items = schema.get("items") or {}
        return [check(item, items, f"{where}[{i}]", names, notes) for i, item in enumerate(value)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_bounds(value, schema, where, names, notes)
    elif isinstance(value, str):
        _check_length(value, schema, where, notes)
        _check_pattern(value, schema, where, names, notes)
        _check_format(value, schema, where, names, notes)
    return value


def _broken(message: str, notes: Notes) -> None:
    """A constraint the value breaks: refused, or noted when the document is not cfql's."""
    if notes is None:
        raise DataError(message)
    notes.append(message)


def _constrains_type(schema: Schema) -> bool:
    """A schema with no type, enum or shape accepts anything, NULL included (the SDK's ``object``)."""
    return any(key in schema for key in ("type", "enum", "anyOf", "oneOf", "properties"))


def _parse_json(text: str, kind: str, where: str) -> t.Any:
    """JSON text for an object or array field; when it is malformed, say where, never what (see the docstring)."""
    try:
        return load_json(text)
    except ValueError as error:
        raise DataError(
            f"column {where}: expected a JSON {kind} literal, but the text is not valid JSON ({error.msg} at char {error.pos})"
        ) from None


def _check_type(value: t.Any, kind: str, schema: Schema, where: str, names: Names) -> None:
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
        raise DataError(f"column {where}: expected {article} {kind}, got {shown(value, schema, where, names)}")


def _check_bounds(value: float, schema: Schema, where: str, names: Names, notes: Notes) -> None:
    """``minimum``/``maximum``, and ``exclusiveMinimum``/``exclusiveMaximum`` as OpenAPI 3.0 (a flag) or 3.1 (a number) write them."""
    low, high = schema.get("minimum"), schema.get("maximum")
    low_open, high_open = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if is_number(low_open):
        low, low_open = low_open, True
    if is_number(high_open):
        high, high_open = high_open, True
    if low is not None and (value <= low if low_open is True else value < low):
        what = "not above" if low_open is True else "below"
        _broken(f"column {where}: {shown(value, schema, where, names)} is {what} the minimum {low}{_range(low, high)}", notes)
    if high is not None and (value >= high if high_open is True else value > high):
        what = "not below" if high_open is True else "above"
        _broken(f"column {where}: {shown(value, schema, where, names)} is {what} the maximum {high}{_range(low, high)}", notes)


def is_number(value: t.Any) -> bool:
    """A JSON number: an int or float, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _range(low: t.Any, high: t.Any) -> str:
    return f" (allowed: {low} to {high})" if low is not None and high is not None else ""


def _check_length(value: str, schema: Schema, where: str, notes: Notes) -> None:
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None and len(value) < low:
        _broken(f"column {where}: must be at least {low} characters", notes)
    if high is not None and len(value) > high:
        _broken(f"column {where}: must be at most {high} characters", notes)


def _check_count(value: list, schema: Schema, where: str, notes: Notes) -> None:
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None and len(value) < low:
        _broken(f"column {where}: must have at least {low} items, got {len(value)}", notes)
    if high is not None and len(value) > high:
        _broken(f"column {where}: must have at most {high} items, got {len(value)}", notes)


def _check_pattern(value: str, schema: Schema, where: str, names: Names, notes: Notes) -> None:
    """``pattern``, searched as JSON Schema says (unanchored); one Python cannot compile is not checked.

    Only where it binds (``notes`` is None: cfql's documents, ``--strict``): a
    pattern in a document written elsewhere may backtrack for minutes on a long
    value (``^(\\w+\\s?)*$``), which is no price for a warning.
    """
    pattern = schema.get("pattern")
    if not isinstance(pattern, str) or notes is not None:
        return
    compiled = _regex(pattern)
    if compiled is not None and compiled.search(value) is None:
        text = pattern if len(pattern) <= 60 else pattern[:57] + "..."
        _broken(f"column {where}: {shown(value, schema, where, names)} does not match the pattern {text}", notes)


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return None


def _check_format(value: str, schema: Schema, where: str, names: Names, notes: Notes) -> None:
    """The ``format`` the schema states, when it is one ``cfql.plan.formats`` can check."""
    name = schema.get("format")
    if not name:
        return
    known = _formats().get(name)
    if known is not None and not known[1](value):
        _broken(f"column {where}: expected {known[0]}, got {shown(value, schema, where, names)}", notes)


@lru_cache(maxsize=1)
def _formats() -> t.Mapping[str, t.Any]:
    """``cfql.plan.formats.FORMATS``, imported the first time a field states a format, not per value."""
    from cfql.plan.formats import FORMATS

    return FORMATS


def _check_object(value: dict, schema: Schema, where: str, names: Names, notes: Notes) -> dict:
    properties: Schema = schema.get("properties") or {}
    if not properties and schema.get("additionalProperties", True) is not False:
        return value
    result = {}
    for key, item in value.items():
        if key not in properties:
            raise DataError(f"column {where}: unknown field {key!r}{did_you_mean(key, properties)}")
        result[key] = check(item, properties[key], f"{where}.{key}", names, notes)
    missing = [name for name in schema.get("required", ()) if name not in value]
    if missing:
        raise DataError(f"column {where}: missing required field {', '.join(missing)}")
    return result


def _check_any_of(value: t.Any, schema: Schema, where: str, names: Names, notes: Notes) -> t.Any:
    """The first shape the value fits; with ``notes``, failing that, the first it fits but for constraints."""
    branches = schema.get("anyOf") or schema.get("oneOf") or ()
    if isinstance(value, str) and all(b.get("type") in _JSON_KINDS for b in branches):
        value = _parse_json(value, branches[0]["type"], where)
    errors = []
    for branch in branches:
        try:
            return check(value, branch, where, names)
        except DataError as error:
            errors.append(str(error).split(": ", 1)[-1])
    if notes is not None:
        for branch in branches:
            found: list[str] = []
            try:
                checked = check(value, branch, where, names, found)
            except DataError:
                continue
            notes.extend(found)
            return checked
    # The branch whose complaint is about a nested field is usually the one the user meant.
    best = max(errors, key=lambda e: e.count("."), default="no allowed shape")
    raise DataError(f"column {where}: matches none of the {len(branches)} allowed shapes; closest: {best}")


def closest(name: str, candidates: t.Iterable[str]) -> str | None:
    """The candidate ``name`` is most likely a misspelling of, if any is close enough."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: t.Iterable[str]) -> str:
    match = closest(name, candidates)
    return f" (did you mean {match!r}?)" if match else ""
