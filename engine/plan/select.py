"""SELECT: one documented read method, its pages streamed, the rest of the SQL done locally.

What the API can do, it does: top-level ``param = value`` conjuncts of WHERE
that name a parameter of the chosen method go into the request (path or query),
and the method is chosen by the same rule as for every other verb
(``cfql.plan.resolver.resolve``; a SELECT method may filter its rows, here, on a
WHERE name it takes as no parameter). Everything else — other WHERE conditions,
GROUP BY and aggregates, HAVING, DISTINCT, ORDER BY, LIMIT/OFFSET — runs here,
on the rows under the method's ``objectKey``, compiled once into Python
callables when the plan is built (so an unknown column or an unsupported
construct fails before any request is sent).

List methods follow pages as their document declares or implies
(``cfql.plan.pages``): until the API says there are no more, LIMIT is
satisfied (when nothing needs every row first), or ``MAX_PAGES`` pages have
been read — then the rows read so far are returned with ``Result.message``
saying so, and a ``PaginationCapWarning`` is issued. Pages whose number the
first page's totals already tell are asked for as one batch, which the driver
sends at once; rows still come out in page order. Giving the pagination's own
parameter in WHERE (a page number or token) means "that page only".

Expressions are compiled by ``cfql.rows.rowexpr``. Local semantics, in short:
comparisons are typed (``'5' = 5`` is false, and an ordering comparison of
different types is unknown), NULL follows SQL's three-valued logic, LIKE is
case-insensitive (as in StackQL's SQLite backend), and NULLs sort as the
largest value unless NULLS FIRST/LAST says otherwise (as in PostgreSQL, whose
syntax cfql speaks).
"""

from __future__ import annotations

import functools
import json
import typing as t
import warnings
from dataclasses import dataclass, field

from sqlglot import exp

from cfql.errors import (
    DataError,
    NotSupportedError,
    PaginationCapWarning,
    ProgrammingError,
    UnboundParameterError,
)
from cfql.http.messages import ApiRequest, Exchange
from cfql.plan.clauses import count_value
from cfql.plan.pages import Pager
from cfql.plan.plans import CallPlan, answers_many, check_constants
from cfql.plan.resolver import SELECT_NOT_SUPPORTED, Resolution, find_resource, resolve
from cfql.plan.schema import is_number, secret_field, shown
from cfql.provider.model import Method, Pagination, Resource
from cfql.redact import plan_secrets
from cfql.result import Result
from cfql.rows.projection import Projection, compile_projection, row_objects
from cfql.rows.rowexpr import (
    Aggregate,
    Compiler,
    Getter,
    GroupScope,
    Params,
    RowScope,
    and_all,
    has_aggregate,
)
from cfql.sql.values import VALUE_NODES, Bind, Deferred, short_sql, sql_value

if t.TYPE_CHECKING:
    from cfql.provider.registry import Registry

#: Most pages one SELECT reads before it stops and says so (module-wide, not a setting).
MAX_PAGES = 100


def cap_message(pages: int, rows: int) -> str:
    return f"stopped after {pages} pages ({rows} rows); add filters or LIMIT"


# --------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sort:
    key: Getter  # over (record, output row) pairs, see _order_key
    desc: bool
    nulls_first: bool


@dataclass(frozen=True)
class _Grouping:
    keys: tuple[tuple[str, Getter], ...]  # slot, getter over API objects
    aggregates: tuple[Aggregate, ...]
    having: Getter | None


@dataclass(frozen=True)
class SelectPlan:
    """A SELECT: the first request's binding, and the local stages compiled once."""

    sql: str
    call: CallPlan  # binds path/query values into the first request
    columns: tuple[str, ...] | None  # None for SELECT * (columns come from the rows)
    star_columns: tuple[str, ...]  # schema order, for SELECT *
    output: t.Callable[[t.Any, Params], dict[str, t.Any]]  # record -> output row
    where: Getter | None
    grouping: _Grouping | None
    distinct: bool
    order: tuple[_Sort, ...]
    limit: t.Any  # int, Bind or None
    offset: t.Any  # int, Bind or None
    paged: bool  # the method follows pages (its document declares pagination it takes part in)
    bind_names: frozenset[str] = field(default=frozenset())
    local: tuple[exp.Expression, ...] = ()  # WHERE's conjuncts evaluated here (compiled into ``where``)
    secrets: tuple[str, ...] = ()  # the secret literals of the statement, masked wherever it is echoed

    @property
    def method(self) -> Method:
        return self.call.method

    @property
    def provides(self) -> frozenset[str]:
        """Output column names (for a script's later ``:params``); empty for ``SELECT *``."""
        return frozenset(self.columns or ())

    @property
    def max_rows(self) -> int | None:
        """A bound on the rows: LIMIT, and one for a read of one object (by id) or an aggregate without GROUP BY."""
        single = not answers_many(self.method) or (self.grouping is not None and not self.grouping.keys)
        bound = 1 if single else None
        if isinstance(self.limit, int):
            bound = self.limit if bound is None else min(bound, self.limit)
        return bound

    def requests(self, params: Params | None = None) -> list[ApiRequest]:
        """The first request (later pages depend on the answers)."""
        return self.call.requests(params)

    def rows_wanted(self, params: Params) -> int | None:
        """How many rows reading stops at (OFFSET + LIMIT; 0: no request at all), or None when every row is
        read: no LIMIT (or one not known yet), or ORDER BY or aggregates, which need all rows first."""
        return self._window(params)[2]

    def _window(self, params: Params) -> tuple[int | None, int, int | None]:
        """LIMIT, OFFSET (0 when none) and ``rows_wanted``, worked out together so a read checks its values once."""
        limit = _count(self.limit, params, "LIMIT")
        offset = _count(self.offset, params, "OFFSET") or 0
        wanted = offset + limit if limit is not None and self.grouping is None and not self.order else None
        return limit, offset, wanted

    def pager(self, request: ApiRequest) -> Pager | None:
        """The pages that follow ``request``, the first: None when the method does not page, or when WHERE
        names a page itself (its number or token), which is then the only one read."""
        spec = self.method.pagination
        return Pager(spec) if spec is not None and self.paged and not _page_given(spec, request) else None

    def exchange(self, params: Params | None = None) -> Exchange:
        """Read pages while the rows are wanted, then run the local stages over what came back."""
        params = params or {}
        (request,) = self.call.requests(params)
        missing = sorted(n for n in self.bind_names if n not in params)
        if missing:
            raise UnboundParameterError(f"parameter :{missing[0]} has no value")
        limit, offset, wanted = self._window(params)
        pager = self.pager(request)
        where, output = self.where, self.output
        records: list[t.Any] = []
        pairs: list[tuple[t.Any, dict[str, t.Any]]] = []
        seen: set[str] | None = set() if self.distinct and self.grouping is None else None
        pages = items = 0
        capped = False
        batch = [request] if wanted != 0 else []
        while batch:
            answers = yield batch
            pages += len(batch)
            for response in answers:  # in page order, whichever came first
                page = row_objects(response.payload, self.method.object_key)
                items += len(page)
                for record in page:
                    if where is not None and where(record, params) is not True:
                        continue
                    if self.grouping is not None:
                        records.append(record)
                        continue
                    row = output(record, params)
                    if seen is not None and not _first_time(seen, row):
                        continue
                    pairs.append((record, row))
                if wanted is not None and len(pairs) >= wanted:
                    break
            if pager is None or (wanted is not None and len(pairs) >= wanted):
                break
            still = None if wanted is None else wanted - len(pairs)
            following = pager.following(batch[-1], answers[-1], len(page), rows_wanted=still)
            if following and pages >= MAX_PAGES:
                capped = True
                break
            batch = following[: MAX_PAGES - pages]
        if self.grouping is not None:
            grouped = _group(records, self.grouping, params)
            pairs = [(group, output(group, params)) for group in grouped]
            if self.distinct:
                pairs = list(_distinct(pairs))
        if self.order:
            pairs = _sorted(pairs, self.order, params)
        if offset or limit is not None:
            pairs = pairs[offset : None if limit is None else offset + limit]
        rows = [row for _, row in pairs]
        columns = list(self.columns) if self.columns is not None else _star_columns(rows, self.star_columns)
        message = None
        if capped:
            message = cap_message(pages, items)
            warnings.warn(message, PaginationCapWarning, stacklevel=2)
        return Result(columns, rows, message=message, statement=self.sql)


def _page_given(spec: Pagination, request: ApiRequest) -> bool:
    """Whether the statement names a page itself (its number or token in WHERE): then that page only."""
    if spec.request_location == "body":
        return spec.request_key in (request.body or {})
    if spec.request_location == "header":
        return spec.request_key in request.headers
    return spec.request_key in request.query


def _first_time(seen: set[str], row: dict[str, t.Any]) -> bool:
    key = json.dumps(list(row.items()), sort_keys=True, default=str)
    if key in seen:
        return False
    seen.add(key)
    return True


def _count(value: t.Any, params: Params, clause: str) -> int | None:
    if isinstance(value, Bind):
        value = params[value.name]
    if value is None or isinstance(value, Deferred):  # a dry run does not know it yet
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DataError(f"{clause} must be a whole number >= 0, got {shown(value, {}, clause)}")
    return value


def _star_columns(rows: list[dict[str, t.Any]], schema_order: tuple[str, ...]) -> list[str]:
    """Schema order first (as DESCRIBE lists them), then any other keys as first seen."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    if not rows:
        return list(schema_order)
    ordered = set(schema_order)
    return [c for c in schema_order if c in seen] + [c for c in seen if c not in ordered]


def _distinct(pairs: t.Iterable[tuple[t.Any, dict[str, t.Any]]]) -> t.Iterator[tuple[t.Any, dict[str, t.Any]]]:
    seen: set[str] = set()
    for pair in pairs:
        key = json.dumps(list(pair[1].items()), sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            yield pair


def _sorted(pairs: list[tuple[t.Any, dict[str, t.Any]]], order: tuple[_Sort, ...], params: Params) -> list:
    # Stable sorts from the last key to the first; each key is total over every type.
    for sort in reversed(order):
        pairs.sort(key=functools.partial(_order_key, sort, params), reverse=sort.desc)
    return pairs


def _order_key(sort: _Sort, params: Params, pair: tuple[t.Any, dict[str, t.Any]]) -> tuple:
    value = sort.key(pair, params)
    if value is None:
        # reverse=True flips the rank too, so pick the rank that lands where asked
        return (0 if sort.nulls_first != sort.desc else 2, 0, 0)
    return (1, *_value_key(value))


def _value_key(value: t.Any) -> tuple[int, t.Any]:
    """A total order across types: numbers (and booleans), then strings, then JSON structures."""
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, json.dumps(value, sort_keys=True, default=str))


# --------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------


class _Accumulator:
    def __init__(self, spec: Aggregate):
        self.spec = spec
        self.seen: set[str] | None = set() if spec.distinct else None
        self.count = 0
        self.total: t.Any = 0
        self.best: t.Any = None

    def add(self, record: t.Any, params: Params) -> None:
        spec = self.spec
        if spec.arg is None:  # COUNT(*)
            self.count += 1
            return
        value = spec.arg(record, params)
        if value is None:
            return
        if self.seen is not None:
            key = json.dumps(value, sort_keys=True, default=str)
            if key in self.seen:
                return
            self.seen.add(key)
        self.count += 1
        if spec.kind in ("sum", "avg"):
            if not is_number(value):
                raise DataError(f"{spec.slot}: {shown(value, {}, spec.slot)} is not a number")
            self.total += value
        elif spec.kind in ("min", "max") and self._beats_best(value):
            self.best = value

    def _beats_best(self, value: t.Any) -> bool:
        """Whether ``value`` is a new MIN (or MAX); the first non-NULL value always is."""
        if self.best is None:
            return True
        key, best = _value_key(value), _value_key(self.best)
        return key < best if self.spec.kind == "min" else key > best

    def result(self) -> t.Any:
        kind = self.spec.kind
        if kind == "count":
            return self.count
        if kind == "sum":
            return self.total if self.count else None
        if kind == "avg":
            return self.total / self.count if self.count else None
        return self.best


def _group(records: t.Iterable[t.Any], grouping: _Grouping, params: Params) -> list[dict[str, t.Any]]:
    groups: dict[str, tuple[dict[str, t.Any], list[_Accumulator]]] = {}
    keys, specs = grouping.keys, grouping.aggregates
    for record in records:
        values = {slot: get(record, params) for slot, get in keys}
        ident = json.dumps(list(values.values()), sort_keys=True, default=str)
        entry = groups.get(ident)
        if entry is None:
            entry = groups[ident] = (values, [_Accumulator(spec) for spec in specs])
        for accumulator in entry[1]:
            accumulator.add(record, params)
    if not groups and not keys:  # aggregates over no rows: one row (COUNT 0, others NULL)
        groups[""] = ({}, [_Accumulator(spec) for spec in specs])
    out = []
    for values, accumulators in groups.values():
        group = dict(values)
        group.update((a.spec.slot, a.result()) for a in accumulators)
        if grouping.having is None or grouping.having(group, params) is True:
            out.append(group)
    return out


# --------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------

def names_secret(part: exp.Expression, method: Method) -> bool:
    """Whether a part of a SELECT names a column of ``method``'s rows that is secret."""
    columns = method.row_schema.get("properties") or {}
    return any(secret_field(n, columns.get(n) or {}, method.secret_names) for n in (c.name for c in part.find_all(exp.Column)))


def select_secrets(node: exp.Select, methods: t.Sequence[Method]) -> list[str]:
    """The string literals of every part of a SELECT that names a secret column of any of ``methods``:
    its columns, each WHERE condition, GROUP BY, HAVING and ORDER BY. A parameter's secret values are
    the ``CallPlan``'s (``plan_secrets``); these are the ones only the local stages see."""
    where, group, having, order = (node.args.get(k) for k in ("where", "group", "having", "order"))
    parts = [
        *node.expressions,
        *(conjuncts(where.this) if where is not None else ()),
        *(group.expressions if group is not None else ()),
        *([having] if having is not None else ()),
        *(order.expressions if order is not None else ()),
    ]
    return [
        literal.this
        for part in parts
        if any(names_secret(part, method) for method in methods)
        for literal in part.find_all(exp.Literal)
        if literal.is_string
    ]


def plan_select(node: exp.Select, sql: str, registry: Registry) -> SelectPlan:
    """Plan a SELECT whose clauses ``cfql.plan.clauses`` has checked (HONOURED["SELECT"])."""
    from_ = node.args.get("from_")
    if from_ is None or not isinstance(from_.this, exp.Table):
        raise ProgrammingError("SELECT needs FROM provider.service.resource")
    table = from_.this
    resource = find_resource(registry, [part.name for part in table.parts])
    if not resource.methods_for("select"):
        raise NotSupportedError(SELECT_NOT_SUPPORTED)
    _check_tree(node, {table.name, table.alias_or_name}, table.alias_or_name)

    where_parts = conjuncts(node.args["where"].this) if node.args.get("where") else []
    resolution, params, local = _resolve(resource, where_parts)
    method = resolution.pick.method
    columns = tuple((method.row_schema.get("properties") or {}).keys())
    bound = check_constants(params, method.fields, names=method.secret_names, loose=not method.strict_schema)
    call = CallPlan(sql, method, (bound,), None, "SELECT", resolution=resolution)

    rows = RowScope(method, columns, [n for m in resource.methods_for("select") for n in m.parameters])
    where = and_all([rows.compiler("WHERE").predicate(c) for c in local])

    distinct = node.args.get("distinct")
    items = node.expressions
    star = len(items) == 1 and isinstance(items[0], exp.Star)
    group_node = node.args.get("group")
    aggregated = bool(group_node) or bool(node.args.get("having")) or any(
        has_aggregate(n) for n in [*items, *_order_nodes(node)]
    )
    if star and aggregated:
        raise ProgrammingError("SELECT * cannot be combined with GROUP BY or aggregate functions; name the columns")

    grouping: _Grouping | None = None
    if aggregated:
        scope = GroupScope(rows, items, group_node.expressions if group_node else [])
        output, names = scope.output()
        having = node.args.get("having")
        having_get = scope.compiler("HAVING").predicate(having.this) if having else None
        order = _compile_order(node, names, scope.compiler("ORDER BY"))
        grouping = _Grouping(tuple(scope.keys.items()), tuple(scope.aggregates.values()), having_get)
    else:
        projection = compile_projection(items, method.row_schema, "SELECT")
        output = _projection_output(projection)
        names = None if star else projection.names
        order = _compile_order(node, names, rows.compiler("ORDER BY"))

    limit = count_value(node.args.get("limit"), "LIMIT")
    offset = count_value(node.args.get("offset"), "OFFSET")
    binds = {b.name for row in call.rows for b in row.binds.values()}
    binds |= {p.name for p in node.find_all(exp.Placeholder) if p.this}
    return SelectPlan(
        sql=sql,
        call=call,
        columns=None if star else tuple(names or ()),
        star_columns=columns,
        output=output,
        where=where,
        grouping=grouping,
        distinct=distinct is not None,
        order=order,
        limit=limit,
        offset=offset,
        paged=method.paged,
        bind_names=frozenset(binds),
        secrets=(*plan_secrets(call), *select_secrets(node, [method])),
        local=tuple(local),
    )


def _check_tree(node: exp.Select, qualifiers: set[str], shown: str) -> None:
    """Refuse what cannot be run locally wherever it hides, and foreign table qualifiers."""
    for sub in node.walk():
        if sub is node or isinstance(sub, (exp.From, exp.Table)) or sub.find_ancestor(exp.From):
            continue
        if isinstance(sub, (exp.Select, exp.Subquery, exp.SetOperation)):
            raise NotSupportedError(f"SELECT: subqueries are not supported ({short_sql(sub)})")
        if isinstance(sub, exp.Window):
            raise NotSupportedError(f"SELECT: window functions are not supported ({short_sql(sub)})")
        if isinstance(sub, exp.Column) and sub.table and sub.table not in qualifiers:
            raise ProgrammingError(
                f"SELECT: unknown table {sub.table!r} in {short_sql(sub)} (the FROM resource is {shown!r})"
            )


def conjuncts(node: exp.Expression) -> list[exp.Expression]:
    """A WHERE condition's top-level AND-ed parts, parentheses around them removed."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return conjuncts(node.this) + conjuncts(node.expression)
    return [node]



def _param_conjunct(node: exp.Expression) -> tuple[str, t.Any] | None:
    """``name = literal|:bind`` (either way round), or None."""
    if not isinstance(node, exp.EQ):
        return None
    for column, value in ((node.this, node.expression), (node.expression, node.this)):
        if isinstance(column, exp.Column) and isinstance(value, VALUE_NODES):
            if isinstance(value, exp.Neg) and not isinstance(value.this, exp.Literal):
                continue
            return column.name, sql_value(value, column.name)
    return None


def _resolve(
    resource: Resource, parts: list[exp.Expression]
) -> tuple[Resolution, dict[str, t.Any], list[exp.Expression]]:
    """Pick the method (``resolve``: a WHERE name it takes as no parameter may be a column of its rows);
    split WHERE into the parameters it sends and the conditions evaluated locally."""
    methods = resource.methods_for("select")
    param_names = {n for m in methods for n in m.parameters}
    row_columns = {n for m in methods for n in (m.row_schema.get("properties") or {})}
    candidates: dict[str, tuple[exp.Expression, t.Any]] = {}
    rest: list[exp.Expression] = []
    for conjunct in parts:
        pair = _param_conjunct(conjunct)
        if pair is not None and pair[0] in candidates and pair[0] not in row_columns:
            raise ProgrammingError(f"WHERE gives {pair[0]} twice")
        if pair is not None and pair[0] in param_names and pair[0] not in candidates:
            candidates[pair[0]] = (conjunct, pair[1])
        else:
            rest.append(conjunct)
    for conjunct in rest:  # a parameter that is no column can only be a parameter
        for column in conjunct.find_all(exp.Column):
            if column.name in param_names and column.name not in row_columns:
                raise ProgrammingError(
                    f"WHERE: {column.name} is an API parameter, not a column; give it as "
                    f"{column.name} = value joined to the rest of WHERE by AND (got {short_sql(conjunct)})"
                )
    written = [(name, value) for name, (_, value) in candidates.items()]
    resolution = resolve(resource, "select", params=list(candidates), written=written)
    sent = [n for n in candidates if n in resolution.pick.method.parameters]
    params = {n: candidates[n][1] for n in sent}
    local = [c for c in parts if not any(c is candidates[n][0] for n in sent)]
    return resolution, params, local


def _projection_output(projection: Projection) -> t.Callable[[t.Any, Params], dict[str, t.Any]]:
    row = projection.row
    return lambda record, params: row(record)


def _order_nodes(node: exp.Select) -> list[exp.Expression]:
    order = node.args.get("order")
    return [o.this for o in order.expressions] if order else []


def _compile_order(node: exp.Select, names: t.Sequence[str] | None, compiler: Compiler) -> tuple[_Sort, ...]:
    order = node.args.get("order")
    if not order:
        return ()
    sorts = []
    for ordered in order.expressions:
        key = ordered.this
        get: Getter
        if isinstance(key, exp.Literal) and not key.is_string:
            if names is None:
                raise NotSupportedError("ORDER BY position needs named columns, not SELECT *")
            position = int(sql_value(key, "ORDER BY")) if key.this.isdigit() else 0
            if not 1 <= position <= len(names):
                raise ProgrammingError(f"ORDER BY {short_sql(key)}: SELECT has {len(names)} column(s)")
            name = names[position - 1]
            get = _output_getter(name)
        elif isinstance(key, exp.Column) and not key.table and names is not None and key.name in names:
            get = _output_getter(key.name)
        else:
            record_get = compiler.value(key)
            get = _record_getter(record_get)
        sorts.append(_Sort(get, bool(ordered.args.get("desc")), bool(ordered.args.get("nulls_first"))))
    return tuple(sorts)


def _output_getter(name: str) -> Getter:
    return lambda pair, params: pair[1].get(name)


def _record_getter(get: Getter) -> Getter:
    return lambda pair, params: get(pair[0], params)

