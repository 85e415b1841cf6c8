"""From a parsed statement to a plan: which method, which values go where, what comes back.

Before a statement is planned, ``cfql.plan.clauses`` checks that every clause
it carries is one its kind honours; the planners below then honour them all.
"""

from __future__ import annotations

import itertools
import typing as t

from sqlglot import exp

from cfql.errors import Error, NotSupportedError, ProgrammingError
from cfql.plan.clauses import Source, check_clauses, count_value
from cfql.plan.plans import BoundRow, CallPlan, Plan, StaticPlan, check_constants, check_element_count
from cfql.plan.resolver import Resolution, check_exec, find_method, find_resource, resolve
from cfql.provider.model import Method
from cfql.provider.registry import Registry
from cfql.rows.projection import Projection, compile_projection
from cfql.sql.dialect import (
    DescribeMethod,
    Exec,
    Explain,
    Piece,
    RegistryStatement,
    Replace,
    Show,
    parse_statement,
    table_parts,
)
from cfql.sql.values import VALUE_NODES, Bind, literal_source, load_json, short_sql, sql_value

if t.TYPE_CHECKING:
    from cfql.rows.rowexpr import Compiler, Getter


def plan_sql(sql: str, registry: Registry, piece: Piece | None = None) -> Plan:
    """Parse and plan one statement; ``piece`` supplies its tokens and where it stands in a script."""
    if piece is None:
        return plan_statement(parse_statement(sql), sql, registry)
    node = parse_statement(piece.chunk, piece.chunk_line - 1, piece.tokens)
    return plan_statement(node, sql, registry, Source(piece.chunk, piece.tokens, piece.chunk_line))


def plan_statement(node: exp.Expression, sql: str, registry: Registry, source: Source | None = None) -> Plan:
    """Plan a parsed statement; ``source`` locates its tokens, for saying where a refused clause is."""
    source = source or Source(sql)
    kind = _kind(node, sql)
    if kind == "EXPLAIN":
        from cfql.plan.explain import plan_explain  # loaded only for EXPLAIN

        return plan_explain(t.cast(Explain, node), sql, registry, source, plan_statement)
    check_clauses(node, kind, source)
    if kind == "INSERT":
        return _plan_insert(t.cast(exp.Insert, node), sql, registry, source)
    if kind in ("UPDATE", "REPLACE"):
        return _plan_set(t.cast(exp.Update, node), sql, registry, kind.lower())
    if kind == "DELETE":
        return _plan_delete(t.cast(exp.Delete, node), sql, registry)
    if kind == "SELECT":
        from cfql.plan.select import (
            plan_select,  # SELECT's local SQL is loaded only for a SELECT
        )

        return plan_select(t.cast(exp.Select, node), sql, registry)  # one read method, pages, local SQL
    if kind == "EXEC":
        return _plan_exec(t.cast(Exec, node), sql, registry)
    if kind == "REGISTRY":
        from cfql.plan.registry_statements import plan_registry  # loaded only for REGISTRY

        return plan_registry(t.cast(RegistryStatement, node), sql, registry)
    from cfql.plan import meta  # loaded only for SHOW and DESCRIBE

    return StaticPlan(sql, meta.producer(t.cast(Show, node), registry))


#: Statement kinds by node class, in the order they are tested (REPLACE is a kind of UPDATE node).
_KINDS: tuple[tuple[type[exp.Expression], str], ...] = (
    (exp.Insert, "INSERT"),
    (Replace, "REPLACE"),
    (exp.Update, "UPDATE"),
    (exp.Delete, "DELETE"),
    (exp.Select, "SELECT"),
    (Exec, "EXEC"),
    (Show, "SHOW"),
    (exp.Describe, "DESCRIBE"),
    (DescribeMethod, "DESCRIBE"),
    (RegistryStatement, "REGISTRY"),
    (Explain, "EXPLAIN"),
)


def _kind(node: exp.Expression, sql: str) -> str:
    """The statement kind, which names its whitelist of clauses (``cfql.plan.clauses.HONOURED``)."""
    for cls, kind in _KINDS:
        if isinstance(node, cls):
            return kind
    if isinstance(node, exp.SetOperation):
        raise NotSupportedError(f"{node.key.upper()} is not supported; run the SELECTs separately")
    words = sql.split(None, 2)
    # A node of no kind whose text starts with EXPLAIN is the statement an EXPLAIN explains: name that one.
    word = words[1] if len(words) > 1 and words[0].upper() == "EXPLAIN" else words[0]
    raise NotSupportedError(f"unsupported statement: {word.upper()}")


def _plan_insert(node: exp.Insert, sql: str, registry: Registry, source: Source) -> CallPlan:
    target = node.this
    if not isinstance(target, exp.Schema):
        raise ProgrammingError("INSERT needs a column list: INSERT INTO resource (col, ...) SELECT ...")
    resource = find_resource(registry, table_parts(target.this))
    columns = [c.name for c in target.expressions]
    _no_duplicates(columns)
    value_rows, kept = _insert_rows(node.expression, len(columns), source)
    check_element_count(len(value_rows), "INSERT … VALUES")
    written = _written(pair for values in value_rows for pair in zip(columns, values))
    resolution = resolve(resource, "insert", anywhere=columns, written=written)
    method = resolution.pick.method
    # Every row's values are checked, even those a constant WHERE or LIMIT leaves out: the statement is wrong either way.
    rows = tuple(_row(dict(zip(columns, values)), method) for values in value_rows)
    return _call_plan(sql, method, rows if kept else (), node.args.get("returning"), "INSERT", resolution)


def _insert_rows(
    values: exp.Expression | None, width: int, source: Source
) -> tuple[list[list[exp.Expression]], bool]:
    """The rows of values, and whether they are sent: a SELECT's one row may be filtered out."""
    if isinstance(values, exp.Select) and not values.args.get("from_"):
        rows, kept = [values.expressions], _select_row_kept(values, source)
    elif isinstance(values, exp.Values):
        rows, kept = [_tuple_values(row) for row in values.expressions], True
    else:
        raise ProgrammingError("INSERT takes its values from SELECT <values> or VALUES (...) without FROM")
    for row in rows:
        if len(row) != width:
            raise ProgrammingError(f"INSERT has {width} columns but {len(row)} values")
    return [[v.unalias() if isinstance(v, exp.Alias) else v for v in row] for row in rows], kept


def _tuple_values(row: exp.Expression) -> list[exp.Expression]:
    if not isinstance(row, exp.Tuple):
        raise ProgrammingError(f"VALUES takes rows in parentheses, got {short_sql(row)}")
    return list(row.expressions)


def _select_row_kept(select: exp.Select, source: Source) -> bool:
    """Whether the SELECT side's one row of literals survives its WHERE, LIMIT and OFFSET."""
    where = select.args.get("where")
    if where is not None and _constant_truth(where.this, source) is not True:
        return False  # false or NULL: no row, so no request
    limit = count_value(select.args.get("limit"), "LIMIT")
    offset = count_value(select.args.get("offset"), "OFFSET")
    for clause, value in (("LIMIT", limit), ("OFFSET", offset)):
        if isinstance(value, Bind):
            raise NotSupportedError(
                f"INSERT … SELECT: {clause} takes a number here, not :{value.name} "
                f"(it decides whether anything is sent, before anything is){source.at(clause)}"
            )
    return (limit is None or limit > 0) and not offset


def _constant_truth(condition: exp.Expression, source: Source) -> bool | None:
    """A WHERE over literals, evaluated now with SQL's three-valued logic (``cfql.rows.rowexpr``)."""
    from cfql.rows.rowexpr import Compiler  # loaded only for a WHERE, as for a SELECT

    def leaf(node: exp.Expression, compiler: Compiler) -> Getter | None:
        if isinstance(node, exp.Placeholder):
            raise NotSupportedError(
                f"INSERT … SELECT: WHERE cannot use :{node.name} (it decides whether anything is sent, "
                f"before anything is){source.at('WHERE')}"
            )
        if isinstance(node, (exp.Column, exp.Star, exp.JSONExtract, exp.JSONExtractScalar, exp.AggFunc)):
            raise NotSupportedError(
                f"INSERT … SELECT: WHERE can only compare literals (there is no FROM), got {short_sql(node)}"
                + source.at("WHERE")
            )
        return None

    return Compiler("INSERT … SELECT: WHERE", leaf).predicate(condition)(None, {})


def _plan_set(node: exp.Update, sql: str, registry: Registry, verb: str) -> CallPlan:
    resource = find_resource(registry, table_parts(node.this))
    assignments: dict[str, exp.Expression] = {}
    for assignment in node.expressions:
        if not isinstance(assignment, exp.EQ) or not isinstance(assignment.this, exp.Column):
            raise ProgrammingError(f"SET expects column = value, got {short_sql(assignment)}")
        name = assignment.this.name
        _no_duplicates([*assignments, name])
        assignments[name] = assignment.expression
    where = _where_params(node.args.get("where"))
    written = _written([*where.items(), *assignments.items()])
    resolution = resolve(resource, verb, params=list(where), body=list(assignments), written=written)
    method = resolution.pick.method
    rows, column = _element_rows(where, method, assignments)
    return _call_plan(sql, method, rows, node.args.get("returning"), verb.upper(), resolution, column)


def _plan_delete(node: exp.Delete, sql: str, registry: Registry) -> CallPlan:
    resource = find_resource(registry, table_parts(node.this))
    where = _where_params(node.args.get("where"))
    resolution = resolve(resource, "delete", params=list(where), written=_written(where.items()))
    method = resolution.pick.method
    rows, column = _element_rows(where, method, {})
    return _call_plan(sql, method, rows, node.args.get("returning"), "DELETE", resolution, column)


def _element_rows(
    where: t.Mapping[str, exp.Expression], method: Method, assignments: t.Mapping[str, exp.Expression]
) -> tuple[tuple[BoundRow, ...], str | None]:
    """The calls a WHERE makes: one, or one per element of its ``param IN (...)`` (and that param's name).

    A list fans out over a path parameter only: each element then names
    another object, so each request is one statement's worth. A list on a
    query or body value would mean something else to every API (a filter, a
    set), so it is refused rather than guessed at.
    """
    lists = [name for name, node in where.items() if isinstance(node, exp.In)]
    if not lists:
        return (_row({**where, **assignments}, method),), None
    if len(lists) > 1:
        raise NotSupportedError(
            f"WHERE has more than one IN list ({', '.join(lists)}); a statement fans out over one list: "
            "run one statement per value of the others"
        )
    name = lists[0]
    field_ = method.parameters.get(name)
    if field_ is None or field_.location != "path":
        where_is = f"a {field_.location} parameter" if field_ is not None else "not a parameter"
        raise NotSupportedError(
            f"{name} IN (...): a list sends one request per element, over a path parameter of {method.name}; "
            f"{name} is {where_is}"
        )
    elements = t.cast(exp.In, where[name]).expressions
    if not elements:
        raise ProgrammingError(f"{name} IN (): the list is empty, so the statement would send nothing")
    check_element_count(len(elements), f"{name} IN (...)")
    return tuple(_row({**where, name: element, **assignments}, method) for element in elements), name


def _plan_exec(node: Exec, sql: str, registry: Registry) -> CallPlan:
    resource = find_resource(registry, table_parts(node.this))
    method = find_method(resource, node.args["method"].name)
    body: dict[str, t.Any] = {}
    nodes: dict[str, exp.Expression] = {}
    for param in node.expressions:
        if param.args.get("json"):
            body.update(_json_body(param.expression))
        else:
            name = param.this.name
            _no_duplicates([*body, *nodes, name])
            nodes[name] = param.expression
    resolution = check_exec(method, [*body, *nodes], itertools.chain(body.items(), _written(nodes.items())))
    row = _row(nodes, method, body)
    return _call_plan(sql, method, (row,), None, "EXEC", resolution)


def _json_body(node: exp.Expression) -> dict[str, t.Any]:
    text = sql_value(node, "@@json")
    if isinstance(text, Bind):
        raise ProgrammingError("@@json takes a JSON object literal, not a :parameter")
    try:
        body = load_json(text) if isinstance(text, str) else None
    except ValueError as error:
        raise ProgrammingError(f"@@json: not valid JSON ({error.msg} at char {error.pos})") from None
    if not isinstance(body, dict):
        raise ProgrammingError("@@json must be a JSON object")
    return body


def _call_plan(
    sql: str,
    method: Method,
    rows: tuple,
    returning: exp.Returning | None,
    kind: str,
    resolution: Resolution,
    element_column: str | None = None,
) -> CallPlan:
    projection: Projection | None = None
    if returning is not None:
        projection = compile_projection(returning.expressions, method.row_schema, "RETURNING")
    names = frozenset(b.name for row in rows for b in row.binds.values())
    return CallPlan(sql, method, rows, projection, kind, names, element_column=element_column, resolution=resolution)


def _written(nodes: t.Iterable[tuple[str, exp.Expression]]) -> t.Iterator[tuple[str, t.Any]]:
    """Each name with each value written for it (every element of an IN list), for a ResolutionError to
    carry: EXPLAIN masks the secret ones when no method fits. What is no value is left out (refused later).
    Lazy: only a ResolutionError reads it, so a statement that resolves never works it out."""
    for name, node in nodes:
        for each in node.expressions if isinstance(node, exp.In) else [node]:
            try:
                yield name, sql_value(each, name)
            except Error:
                continue


def _row(nodes: t.Mapping[str, exp.Expression], method: Method, given: t.Mapping[str, t.Any] | None = None) -> BoundRow:
    """Values for one call, noting which literal token each came from (so the plan's shape can be reused)."""
    values = {**(given or {}), **{name: _value(node, name) for name, node in nodes.items()}}
    sources = {name: source for name, node in nodes.items() if (source := literal_source(node)) is not None}
    return check_constants(values, method.fields, sources, method.secret_names, loose=not method.strict_schema)


def _value(node: exp.Expression, name: str) -> t.Any:
    """``sql_value``; an expression that is no value is refused with its string literals masked."""
    inner = node
    while isinstance(inner, exp.Paren):
        inner = inner.this
    negated_number = isinstance(inner, exp.Neg) and isinstance(inner.this, exp.Literal) and not inner.this.is_string
    if not isinstance(inner, VALUE_NODES) or (isinstance(inner, exp.Neg) and not negated_number):
        raise ProgrammingError(f"column {name}: only literals and :parameters are allowed as values, got {short_sql(node)}")
    return sql_value(node, name)


def _where_params(where: exp.Where | None) -> dict[str, exp.Expression]:
    """WHERE as ``param = value`` and ``param IN (value, ...)`` conjuncts: the value node, or the ``exp.In``
    of a list (see ``_element_rows``); anything else is refused with its text."""
    params: dict[str, exp.Expression] = {}
    if where is None:
        return params
    for conjunct in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        if isinstance(conjunct, exp.Paren):
            conjunct = conjunct.unnest()
        listed = isinstance(conjunct, exp.In) and not conjunct.args.get("query") and not conjunct.args.get("unnest")
        if not ((isinstance(conjunct, exp.EQ) or listed) and isinstance(conjunct.this, exp.Column)):
            raise ProgrammingError(
                f"WHERE supports only param = value and param IN (value, ...) joined by AND, got {short_sql(conjunct)}"
            )
        name = conjunct.this.name
        _no_duplicates([*params, name])
        params[name] = conjunct if listed else conjunct.expression
    return params


def _no_duplicates(names: t.Sequence[str]) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise ProgrammingError(f"column {name} is given twice")
        seen.add(name)
