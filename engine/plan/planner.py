"""From a parsed statement to a plan: which method, which values go where, what comes back."""

from __future__ import annotations

import json
import typing as t

from sqlglot import exp

from cfql.errors import NotSupportedError, ProgrammingError
from cfql.plan.plans import BoundRow, CallPlan, Plan, StaticPlan, check_constants
from cfql.plan.resolver import check_exec, choose_method, find_resource
from cfql.plan.schema import did_you_mean
from cfql.provider.model import Field, Method, Resource
from cfql.provider.registry import Registry
from cfql.rows.projection import Projection, compile_projection
from cfql.sql.dialect import Exec, Piece, Replace, Show, parse_statement, table_parts
from cfql.sql.values import Bind, literal_source, sql_value


def plan_sql(sql: str, registry: Registry, piece: Piece | None = None) -> Plan:
    """Parse and plan one statement; ``piece`` supplies its tokens and where it stands in a script."""
    if piece is None:
        node = parse_statement(sql)
    else:
        node = parse_statement(piece.chunk, piece.chunk_line - 1, piece.tokens)
    return plan_statement(node, sql, registry)


def plan_statement(node: exp.Expression, sql: str, registry: Registry) -> Plan:
    if isinstance(node, exp.Insert):
        return _plan_insert(node, sql, registry)
    if isinstance(node, Replace):
        return _plan_set(node, sql, registry, "replace")
    if isinstance(node, exp.Update):
        return _plan_set(node, sql, registry, "update")
    if isinstance(node, exp.Delete):
        return _plan_delete(node, sql, registry)
    if isinstance(node, exp.Select):
        from cfql.plan.select import plan_select  # SELECT's local SQL is loaded only for a SELECT

        return plan_select(node, sql, registry)  # one read method, pages, local SQL
    if isinstance(node, exp.SetOperation):
        raise NotSupportedError(f"{node.key.upper()} is not supported; run the SELECTs separately")
    if isinstance(node, Exec):
        return _plan_exec(node, sql, registry)
    if isinstance(node, (Show, exp.Describe)):
        from cfql.plan import meta  # loaded only for SHOW and DESCRIBE

        return StaticPlan(sql, meta.producer(node, registry))
    raise NotSupportedError(f"unsupported statement: {sql.strip().split(None, 1)[0].upper()}")


def _plan_insert(node: exp.Insert, sql: str, registry: Registry) -> CallPlan:
    target = node.this
    if not isinstance(target, exp.Schema):
        raise ProgrammingError("INSERT needs a column list: INSERT INTO resource (col, ...) SELECT ...")
    resource = find_resource(registry, table_parts(target.this))
    columns = [c.name for c in target.expressions]
    _no_duplicates(columns)
    value_rows = _insert_rows(node.expression, len(columns))
    method = choose_method(resource, "insert", (), (), anywhere=columns)
    rows = tuple(_row(dict(zip(columns, values)), method.fields) for values in value_rows)
    return _call_plan(sql, method, rows, node.args.get("returning"), "INSERT")


def _insert_rows(source: exp.Expression | None, width: int) -> list[list[exp.Expression]]:
    if isinstance(source, exp.Select) and not source.args.get("from_"):
        rows = [source.expressions]
    elif isinstance(source, exp.Values):
        rows = [tuple_.expressions for tuple_ in source.expressions]
    else:
        raise ProgrammingError("INSERT takes its values from SELECT <values> or VALUES (...) without FROM")
    for values in rows:
        if len(values) != width:
            raise ProgrammingError(f"INSERT has {width} columns but {len(values)} values")
    return [[v.unalias() if isinstance(v, exp.Alias) else v for v in values] for values in rows]


def _plan_set(node: exp.Update, sql: str, registry: Registry, verb: str) -> CallPlan:
    resource = find_resource(registry, table_parts(node.this))
    assignments: dict[str, exp.Expression] = {}
    for assignment in node.expressions:
        if not isinstance(assignment, exp.EQ) or not isinstance(assignment.this, exp.Column):
            raise ProgrammingError(f"SET expects column = value, got {assignment.sql()}")
        name = assignment.this.name
        _no_duplicates([*assignments, name])
        assignments[name] = assignment.expression
    where = _where_params(node.args.get("where"))
    method = choose_method(resource, verb, params=list(where), body=list(assignments))
    row = _row({**where, **assignments}, method.fields)
    return _call_plan(sql, method, (row,), node.args.get("returning"), verb.upper())


def _plan_delete(node: exp.Delete, sql: str, registry: Registry) -> CallPlan:
    resource = find_resource(registry, table_parts(node.this))
    where = _where_params(node.args.get("where"))
    method = choose_method(resource, "delete", params=list(where), body=())
    row = _row(where, method.fields)
    return _call_plan(sql, method, (row,), node.args.get("returning"), "DELETE")


def _plan_exec(node: Exec, sql: str, registry: Registry) -> CallPlan:
    resource = find_resource(registry, table_parts(node.this))
    method = _exec_method(resource, node.args["method"].name)
    body: dict[str, t.Any] = {}
    nodes: dict[str, exp.Expression] = {}
    for param in node.expressions:
        if param.args.get("json"):
            body.update(_json_body(param.expression))
        else:
            name = param.this.name
            _no_duplicates([*body, *nodes, name])
            nodes[name] = param.expression
    check_exec(method, [*body, *nodes])
    row = _row(nodes, method.fields, body)
    return _call_plan(sql, method, (row,), None, "EXEC")


def _exec_method(resource: Resource, name: str) -> Method:
    method = resource.methods.get(name)
    if method is None:
        raise ProgrammingError(
            f"unknown method {resource.id}.{name}{did_you_mean(name, resource.methods)}; "
            f"methods: {', '.join(sorted(resource.methods))}"
        )
    return method


def _json_body(node: exp.Expression) -> dict[str, t.Any]:
    text = sql_value(node, "@@json")
    if isinstance(text, Bind):
        raise ProgrammingError("@@json takes a JSON object literal, not a :parameter")
    try:
        body = json.loads(text) if isinstance(text, str) else None
    except ValueError as error:
        raise ProgrammingError(f"@@json: not valid JSON ({error.msg} at char {error.pos})") from None
    if not isinstance(body, dict):
        raise ProgrammingError("@@json must be a JSON object")
    return body


def _call_plan(
    sql: str, method: Method, rows: tuple, returning: exp.Returning | None, kind: str
) -> CallPlan:
    projection: Projection | None = None
    if returning is not None:
        projection = compile_projection(returning.expressions, method.row_schema, "RETURNING")
    return _finish(CallPlan(sql, method, rows, projection, kind))


def _finish(plan: CallPlan) -> CallPlan:
    names = frozenset(b.name for row in plan.rows for b in row.binds.values())
    return CallPlan(plan.sql, plan.method, plan.rows, plan.projection, plan.kind, names)


def _row(
    nodes: t.Mapping[str, exp.Expression], fields: t.Mapping[str, Field], given: t.Mapping[str, t.Any] | None = None
) -> BoundRow:
    """Values for one call, noting which literal token each came from (so the plan's shape can be reused)."""
    values = {**(given or {}), **{name: sql_value(node, name) for name, node in nodes.items()}}
    sources = {name: source for name, node in nodes.items() if (source := literal_source(node)) is not None}
    return check_constants(values, fields, sources)


def _where_params(where: exp.Where | None) -> dict[str, exp.Expression]:
    """WHERE as ``param = value`` conjuncts (the value nodes); anything else is refused with its text."""
    params: dict[str, exp.Expression] = {}
    if where is None:
        return params
    for conjunct in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        if isinstance(conjunct, exp.Paren):
            conjunct = conjunct.unnest()
        if not (isinstance(conjunct, exp.EQ) and isinstance(conjunct.this, exp.Column)):
            raise ProgrammingError(
                f"WHERE supports only param = value joined by AND, got {conjunct.sql()}"
            )
        name = conjunct.this.name
        _no_duplicates([*params, name])
        params[name] = conjunct.expression
    return params


def _no_duplicates(names: t.Sequence[str]) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise ProgrammingError(f"column {name} is given twice")
        seen.add(name)
