"""RETURNING and SELECT column lists, compiled once into functions over response objects.

Supported: ``*``, plain columns, aliases and ``json_extract(col, '$.a.b[0]')``.
Columns are checked against the method's response schema when the plan is
built, so a typo fails before the request, not after the change was made.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from sqlglot import exp

from cfql.errors import ProgrammingError
from cfql.plan.schema import did_you_mean
from cfql.rows.jsonpath import find_all, has_wildcard, walk
from cfql.sql.values import short_sql

Getter = t.Callable[[t.Mapping[str, t.Any]], t.Any]


@dataclass(frozen=True)
class Projection:
    """Named getters; ``star`` means "every top-level key of the object", in its order."""

    names: tuple[str, ...]
    getters: tuple[Getter, ...]
    star: bool = False

    def columns_for(self, obj: t.Mapping[str, t.Any]) -> list[str]:
        return list(obj) if self.star else list(self.names)

    def row(self, obj: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        if self.star:
            return dict(obj)
        return {name: get(obj) for name, get in zip(self.names, self.getters)}


def compile_projection(
    expressions: t.Sequence[exp.Expression], row_schema: t.Mapping[str, t.Any], context: str
) -> Projection:
    if len(expressions) == 1 and isinstance(expressions[0], exp.Star):
        return Projection((), (), star=True)
    known = (row_schema.get("properties") or {}).keys()
    names, getters = [], []
    for node in expressions:
        names.append(_name(node))
        getters.append(_compile(node, known, context))
    return Projection(tuple(names), tuple(getters))


def _name(node: exp.Expression) -> str:
    """The column's name: its alias, its own name, or (only then, as it is costly) its SQL text."""
    if isinstance(node, exp.Alias):
        return node.alias
    if isinstance(node, exp.Column):
        return node.name
    return node.sql()


def _compile(node: exp.Expression, known: t.Collection[str], context: str) -> Getter:
    if isinstance(node, exp.Alias):
        return _compile(node.this, known, context)
    if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
        return _key_getter(node.name, known, context)
    if isinstance(node, (exp.JSONExtract, exp.JSONExtractScalar)):
        source = node.this
        if isinstance(source, (exp.JSONExtract, exp.JSONExtractScalar)):  # col->'a'->>'b'
            get_source = _compile(source, known, context)
        elif isinstance(source, exp.Column):
            get_source = _key_getter(source.name, known, context)
        else:
            raise ProgrammingError(f"{context}: json_extract needs a column as its first argument, got {short_sql(source)}")
        steps = json_path_steps(node.expression, context)
        return lambda obj: walk(get_source(obj), steps)
    raise ProgrammingError(
        f"{context}: unsupported column expression {short_sql(node)} "
        "(use columns, *, aliases or json_extract(col, '$.path'))"
    )


def _key_getter(name: str, known: t.Collection[str], context: str) -> Getter:
    if known and name not in known:
        raise ProgrammingError(
            f"{context}: unknown column {name!r}{did_you_mean(name, known)}; available: {', '.join(sorted(known))}"
        )
    return lambda obj: obj.get(name)


def json_path_steps(path: exp.Expression, context: str) -> tuple[str | int, ...]:
    if not isinstance(path, exp.JSONPath):
        raise ProgrammingError(f"{context}: json_extract needs a literal path such as '$.id', got {path.sql()}")
    steps: list[str | int] = []
    for part in path.expressions:
        if isinstance(part, exp.JSONPathRoot):
            continue
        if isinstance(part, exp.JSONPathKey) and isinstance(part.this, str):
            steps.append(part.this)
        elif isinstance(part, exp.JSONPathSubscript) and isinstance(part.this, int):
            steps.append(part.this)
        else:
            raise ProgrammingError(f"{context}: unsupported JSON path element {part.sql()!r} in {path.sql()}")
    return tuple(steps)


def row_objects(payload: t.Any, object_key: str | None) -> list[t.Mapping[str, t.Any]]:
    """The objects a response holds under ``object_key`` (a JSONPath): a list, one object, or nothing."""
    if object_key:
        found = find_all(payload, object_key)
        payload = found if has_wildcard(object_key) else (found[0] if found else None)
    if payload is None:
        return []
    if isinstance(payload, list):
        return [item for item in payload if isinstance(item, dict)]
    return [payload] if isinstance(payload, dict) else [{"value": payload}]
