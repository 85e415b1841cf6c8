"""EXPLAIN: what a statement would do, worked out without sending anything.

``EXPLAIN statement`` plans the statement as running it would — every check
the planner makes applies, and a statement it refuses is refused the same
way — then answers, instead of running it, with a Result of two columns,
``part`` and ``detail``: one row per fact, parts in this order.

=========  =====================================================================
part       detail
=========  =====================================================================
statement  the verb and what it targets: ``INSERT · provider.service.resource``
answer     SHOW, DESCRIBE, REGISTRY: what answers instead of a provider's API
method     the method it calls: ``create · POST /shops/{shop}/widgets``; ``none`` when none fits
why        why that method: the resolver's rule, or ``named by EXEC``
candidate  every method the verb offers, and what it lacks or refuses, or why cfql cannot drive it
error      when no method fits: the resolver's error, which running the statement raises
value      each value a call binds and where it goes: ``account_id = 'a' → path parameter``
api        SELECT: each WHERE condition the API answers, and as which parameter
local      SELECT: each part evaluated here — WHERE conditions, GROUP BY, aggregates, HAVING,
           DISTINCT, ORDER BY, LIMIT and OFFSET
pages      SELECT: whether pages after the first are read, how, and up to how many
elements   several requests (the rows of ``VALUES``, the elements of ``IN``): how they are sent
request    each request the statement would send first: ``POST https://...``
headers    that request's headers, as JSON, credentials masked
body       that request's body, as JSON, secret fields masked
note       what else decides what happens: nothing to send, credentials missing
=========  =====================================================================

With several requests (the rows of ``VALUES``, the elements of ``IN``), the
values they share are listed once, and each other ``value``, and each
``request``, ``headers`` and ``body``, starts with the request's ``[n]``.

Values are shown as SQL literals; a secret one (its schema says so, or its
name is one the provider declares secret) is ``***``, and so is every
credential. A ``:name`` shows the value passed for it (masked when secret) or,
when none is, ``:name``. Requests are described by the driver
(``cfql.http.core.DriverCore.explain``) as a dry run describes them, whatever
the connection's settings: nothing is sent, not even where credentials are
missing.

A statement no method fits is still explained — every candidate and what it
lacks, then the resolver's error — since that is when EXPLAIN helps most;
any other refusal (a syntax error, an unknown resource, a bad value) is raised
as running the statement raises it.

In a script an EXPLAIN needs no ``:name`` and provides none: it sends nothing,
so nothing can come of it.

``resolve`` judges a statement's candidate methods from its parse alone; the
shell's toolbar shows its best candidate while a finished statement is typed,
so the toolbar and EXPLAIN say the same.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass

from sqlglot import exp

from cfql.errors import Error, ResolutionError
from cfql.http.messages import Exchange, no_requests
from cfql.plan.clauses import Source
from cfql.plan.plans import BoundRow, CallPlan, StaticPlan, bind_request
from cfql.plan.resolver import Candidate, best, find_resource, judge, judge_exec, judge_select
from cfql.plan.schema import is_secret
from cfql.provider.model import Field, Method, Resource
from cfql.provider.registry import Registry
from cfql.redact import MASK, plan_secrets, redact_body, secret_strings
from cfql.result import Result
from cfql.sql.dialect import DescribeMethod, Exec, Explain, RegistryStatement, Replace, Show, table_parts
from cfql.sql.values import Bind, Deferred, load_json, sql_literal, sql_value

if t.TYPE_CHECKING:
    from cfql.plan.plans import Plan
    from cfql.plan.select import SelectPlan

COLUMNS = ["part", "detail"]
Row = tuple[str, str]
#: The planner's ``plan_statement``, handed in by the planner itself (which dispatches EXPLAIN here).
Planner = t.Callable[[exp.Expression, str, Registry, Source], "Plan"]

_PLACES = {"path": "path parameter", "query": "query parameter", "header": "header", "server": "server variable"}


@dataclass(frozen=True)
class ExplainPlan:
    """What EXPLAIN found when it was planned, and the plan of the statement it explains.

    Its exchange sends nothing. A driver recognises it (``DriverCore.start``,
    ``DriverCore.dry_run``) and runs ``DriverCore.explain`` instead, which adds
    the requests ``explained`` would send first, described as a dry run
    describes them; the exchange alone gives the rest.
    """

    sql: str
    explained: Plan | None  # None when no method fits: nothing would be sent
    head: tuple[Row, ...]  # statement, method, why, candidates, error
    value_part: str  # "value" for a call, "api" for a SELECT's request
    calls: tuple[BoundRow, ...]  # the rows whose values are shown
    tail: tuple[Row, ...] = ()  # SELECT's local parts and pages; SHOW's answer
    describes: bool = False  # whether ``explained`` sends anything the driver can describe
    secrets: tuple[str, ...] = ()  # the statement's secret literals, masked wherever it is shown
    bind_names: frozenset[str] = frozenset()  # a :name not given shows as :name
    provides: frozenset[str] = frozenset()
    max_rows: int | None = None

    def exchange(self, params: t.Mapping[str, t.Any] | None = None) -> Exchange:
        """Everything but the requests, which only a driver can describe (it knows URLs and credentials)."""
        return no_requests(self.result(params or {}, None, []))

    def result(
        self, params: t.Mapping[str, t.Any], requests: t.Sequence[t.Mapping[str, t.Any]] | None, notes: t.Sequence[str]
    ) -> Result:
        """The rows: what was found when planning, the values as ``params`` fill them, the requests
        (as ``DriverCore.describe`` gives them; None: not described) and the driver's ``notes``."""
        rows = list(self.head)
        method = getattr(self.explained, "method", None)
        if isinstance(method, Method):
            rows += [(self.value_part, text) for text in _calls_values(method, self.calls, params)]
        rows += self.tail
        numbered = requests is not None and len(requests) > 1
        for number, request in enumerate(requests or (), 1):
            prefix = f"[{number}] " if numbered else ""
            rows.append(("request", f"{prefix}{request['method']} {request['url']}"))
            rows.append(("headers", prefix + json.dumps(request["headers"], ensure_ascii=False)))
            if request.get("body") is not None:
                rows.append(("body", prefix + json.dumps(request["body"], ensure_ascii=False)))
        if self.describes and requests is not None and not requests:
            why = "LIMIT 0 wants no rows" if self.value_part == "api" else "its WHERE, LIMIT or OFFSET leaves no rows"
            rows.append(("note", f"nothing would be sent: {why}"))
        rows += [("note", note) for note in notes]
        return Result(list(COLUMNS), [dict(zip(COLUMNS, row)) for row in rows], statement=self.sql)


# --------------------------------------------------------------------------
# Which methods a statement could mean
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """The methods a statement's verb offers, each judged against the names the statement supplies."""

    resource: Resource
    verb: str  # select, insert, update, replace, delete or exec
    candidates: tuple[Candidate, ...]  # EXEC: the method it names, if the resource has it

    @property
    def closest(self) -> Candidate | None:
        """The method the resolver picks, or when none fits the one that comes closest (``resolver.best``)."""
        return best(self.candidates) if self.candidates else None


@dataclass
class _Supplied:
    """The names a statement supplies, as the planner hands them to the resolver, and their values."""

    params: list[str]
    body: list[str]
    anywhere: list[str]
    values: list[tuple[str, t.Any]]  # every name with each value written for it


def resolve(node: exp.Expression, registry: Registry) -> Resolution | None:
    """How a parsed statement resolves, judged from its parse alone: None for one that calls no method
    (SHOW, DESCRIBE, REGISTRY, a SELECT without FROM). An unknown resource raises the planner's error."""
    found = _target_and_verb(node)
    if found is None:
        return None
    table, verb = found
    resource = find_resource(registry, table_parts(table))
    supplied = _supplied(node)
    if verb == "exec":
        method = resource.methods.get(t.cast(Exec, node).args["method"].name)
        candidates = (judge_exec(method, supplied.anywhere),) if method is not None else ()
    elif verb == "select":
        candidates = tuple(judge_select(m, supplied.params) for m in resource.methods_for("select"))
    else:
        methods = resource.methods_for(verb)
        candidates = tuple(judge(m, supplied.params, supplied.body, supplied.anywhere) for m in methods)
    return Resolution(resource, verb, candidates)


def _target_and_verb(node: exp.Expression) -> tuple[exp.Expression, str] | None:
    if isinstance(node, exp.Insert):
        target = node.this
        return (target.this if isinstance(target, exp.Schema) else target), "insert"
    if isinstance(node, exp.Update):
        return node.this, "replace" if isinstance(node, Replace) else "update"
    if isinstance(node, exp.Delete):
        return node.this, "delete"
    if isinstance(node, Exec):
        return node.this, "exec"
    if isinstance(node, exp.Select):
        from_ = node.args.get("from_")
        return (from_.this, "select") if from_ is not None and isinstance(from_.this, exp.Table) else None
    return None


def _supplied(node: exp.Expression) -> _Supplied:
    """INSERT's column list (either place); SET's names (body) and WHERE's (parameters); EXEC's ``@names``."""
    supplied = _Supplied([], [], [], [])
    if isinstance(node, exp.Insert):
        columns = [c.name for c in node.this.expressions] if isinstance(node.this, exp.Schema) else []
        supplied.anywhere = columns
        for row in _insert_rows(node.expression):
            supplied.values += [(name, _value(value)) for name, value in zip(columns, row)]
    elif isinstance(node, exp.Update):
        for assignment in node.expressions:
            if isinstance(assignment, exp.EQ) and isinstance(assignment.this, exp.Column):
                supplied.body.append(assignment.this.name)
                supplied.values.append((assignment.this.name, _value(assignment.expression)))
    elif isinstance(node, Exec):
        for param in node.expressions:
            if param.args.get("json"):
                body = _json_object(param.expression)
                supplied.anywhere += list(body)
                supplied.values += list(body.items())
            else:
                supplied.anywhere.append(param.this.name)
                supplied.values.append((param.this.name, _value(param.expression)))
    where = node.args.get("where") if isinstance(node, (exp.Update, exp.Delete, exp.Select)) else None
    for name, values in _where_equalities(where, either_side=isinstance(node, exp.Select)):
        supplied.params.append(name)
        supplied.values += [(name, _value(value)) for value in values]
    return supplied


def _insert_rows(values: exp.Expression | None) -> list[list[exp.Expression]]:
    if isinstance(values, exp.Select) and not values.args.get("from_"):
        return [[v.unalias() if isinstance(v, exp.Alias) else v for v in values.expressions]]
    if isinstance(values, exp.Values):
        return [list(row.expressions) for row in values.expressions if isinstance(row, exp.Tuple)]
    return []


def _where_equalities(where: exp.Where | None, either_side: bool) -> list[tuple[str, list[exp.Expression]]]:
    """WHERE's top-level ``name = value`` (``value = name`` too, for SELECT) and ``name IN (...)`` conjuncts."""
    found: list[tuple[str, list[exp.Expression]]] = []
    pending = [where.this] if where is not None else []
    while pending:
        node = pending.pop(0)
        if isinstance(node, exp.Paren):
            pending.insert(0, node.this)
        elif isinstance(node, exp.And):
            pending[:0] = [node.this, node.expression]
        elif isinstance(node, exp.EQ):
            sides = [(node.this, node.expression), (node.expression, node.this)] if either_side else [(node.this, node.expression)]
            column = next(((c, v) for c, v in sides if isinstance(c, exp.Column)), None)
            if column is not None:
                found.append((column[0].name, [column[1]]))
        elif isinstance(node, exp.In) and isinstance(node.this, exp.Column):
            found.append((node.this.name, list(node.expressions)))
    return found


def _value(node: exp.Expression) -> t.Any:
    """The value a node writes, or None when it is no value (the planner says so if it matters)."""
    try:
        return sql_value(node, "")
    except Error:
        return None


def _json_object(node: exp.Expression) -> dict[str, t.Any]:
    """``@@json``'s object, or nothing when it is none (the planner says what is wrong with it)."""
    text = _value(node)
    body = _parsed(text) if isinstance(text, str) else None
    return body if isinstance(body, dict) else {}


def _parsed(text: str) -> t.Any:
    """JSON text as its value; text that is no JSON stays as it is."""
    try:
        return load_json(text)
    except ValueError:
        return text


# --------------------------------------------------------------------------
# Planning EXPLAIN
# --------------------------------------------------------------------------


def plan_explain(node: Explain, sql: str, registry: Registry, source: Source, plan_statement: Planner) -> ExplainPlan:
    """Plan the statement ``node`` explains as running it would (``plan_statement`` is the planner's own),
    and work out what EXPLAIN says about it; a statement no method fits is explained all the same."""
    inner = node.this
    try:
        plan = plan_statement(inner, sql, registry, source)
    except ResolutionError as error:
        resolution = resolve(inner, registry)
        if resolution is None:
            raise
        return _unresolved(sql, inner, resolution, error)
    if isinstance(plan, StaticPlan):
        return _answered(sql, inner, plan, registry)
    resolution = t.cast(Resolution, resolve(inner, registry))  # a plan that calls a method has a target
    method: Method = t.cast(t.Any, plan).method
    head = (
        ("statement", f"{resolution.verb.upper()} · {method.resource_id}"),
        ("method", f"{method.name} · {method.http_method} {method.path}"),
        *_why_and_candidates(resolution, method),
    )
    secrets = tuple(plan_secrets(getattr(plan, "call", plan)))
    if isinstance(plan, CallPlan):
        return ExplainPlan(sql, plan, head, "value", plan.rows, tail=_elements(plan), describes=True, secrets=secrets)
    select = t.cast("SelectPlan", plan)
    tail = _select_tail(select, t.cast(exp.Select, inner))
    return ExplainPlan(sql, select, head, "api", select.call.rows, tail=tail, describes=True, secrets=secrets)


def _elements(plan: CallPlan) -> tuple[Row, ...]:
    """How a statement of several requests sends them (``cfql.http.core.Window``)."""
    if len(plan.rows) < 2 or plan.kind == "EXEC":
        return ()
    each = f"element of {plan.element_column} IN (...)" if plan.element_column else "row of VALUES"
    return (
        (
            "elements",
            f"{len(plan.rows)} requests, one per {each}, started in order and up to --concurrency at once; "
            "the first failure stops those not started, and the result says what became of each",
        ),
    )


def _why_and_candidates(resolution: Resolution, chosen: Method) -> list[Row]:
    if resolution.verb == "exec":
        return [("why", "named by EXEC"), *(("candidate", _candidate(c, chosen)) for c in resolution.candidates)]
    fitting = [c for c in resolution.candidates if c.fits and c.method is not chosen]
    fit = "gets every name it requires and accepts every name given"
    if not fitting:
        why = f"the only {resolution.verb.upper()} method that fits: it {fit}"
    else:
        why = f"it {fit}, as {len(fitting)} other(s) do, and requires the most names"
    return [("why", why), *(("candidate", _candidate(c, chosen)) for c in resolution.candidates)]


def _candidate(candidate: Candidate, chosen: Method | None) -> str:
    method = candidate.method
    if method is chosen:
        return f"{method.name}: chosen"
    if candidate.fits and not method.unsupported and chosen is not None:
        return f"{method.name}: fits, but {chosen.name} requires more names"
    return f"{method.name}: {candidate.shortfall}"


def _unresolved(sql: str, node: exp.Expression, resolution: Resolution, error: ResolutionError) -> ExplainPlan:
    """EXPLAIN of a statement no method fits: the candidates and what each lacks, then the resolver's error."""
    head = (
        ("statement", f"{resolution.verb.upper()} · {resolution.resource.id}"),
        ("method", "none: no method fits"),
        *(("candidate", _candidate(c, None)) for c in resolution.candidates),
        ("error", str(error)),
    )
    return ExplainPlan(sql, None, head, "value", (), secrets=tuple(_written_secrets(node, resolution)))


def _written_secrets(node: exp.Expression, resolution: Resolution) -> list[str]:
    """The secret values the statement writes, by any candidate's fields: masked where it is shown."""
    found: list[str] = []
    for name, value in _supplied(node).values:
        for candidate in resolution.candidates:
            method = candidate.method
            field_ = method.fields.get(name)
            if field_ is None or value is None or isinstance(value, Bind):
                continue
            if isinstance(value, str) and field_.type_name in ("object", "array"):
                value = _parsed(value)
            found += secret_strings({name: value}, method.fields, method.secret_names)
    return found


def _answered(sql: str, node: exp.Expression, plan: StaticPlan, registry: Registry) -> ExplainPlan:
    """SHOW, DESCRIBE and REGISTRY: answered without a provider's API."""
    if isinstance(node, RegistryStatement):
        statement = f"REGISTRY {node.this.name.upper()}"
        answer = f"the provider registry at {registry.hub_url}, not a provider's API; these are the fetches running it makes"
    else:
        statement = f"SHOW {node.this.name.upper()}" if isinstance(node, Show) else (
            "DESCRIBE METHOD" if isinstance(node, DescribeMethod) else "DESCRIBE"
        )
        answer = "the provider documents (manifests) installed here: no API call"
    head = (("statement", statement), ("answer", answer))
    return ExplainPlan(sql, plan, head, "value", (), describes=plan.dry_run is not None)


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------


def _calls_values(method: Method, calls: t.Sequence[BoundRow], params: t.Mapping[str, t.Any]) -> list[str]:
    """The values of every call: those all calls share once, then each call's own after its ``[n]``."""
    each = [_values(method, call, params) for call in calls]
    shared = [line for line in each[0] if all(line in lines for lines in each)] if len(each) > 1 else []
    own = [f"[{number}] {line}" for number, lines in enumerate(each, 1) for line in lines if line not in shared]
    return shared + (own if len(each) > 1 else each[0] if each else [])


def _values(method: Method, call: BoundRow, params: t.Mapping[str, t.Any]) -> list[str]:
    """``name = value → place`` for each value of one call: parameters in the document's order, then the body."""
    given = {**call.constants, **call.binds}
    lines = []
    for name in dict.fromkeys([*method.parameters, *method.body_fields]):
        if name not in given:
            continue
        field_, value = method.fields[name], given[name]
        if isinstance(value, Bind):
            bound = params.get(value.name, Deferred(value.name))
            text = f":{value.name}" if isinstance(bound, Deferred) else f"{_shown(method, name, bound)} (:{value.name})"
        else:
            text = _shown(method, name, value)
        lines.append(f"{name} = {text} → {_place(field_)}")
    return lines


def _shown(method: Method, name: str, value: t.Any) -> str:
    """A value as SQL writes it, masked when its field is secret (and inside an object, its secret fields)."""
    shown = redact_body({name: value}, method.fields, method.secret_names)[name]
    return MASK if shown == MASK else sql_literal(shown)


def _place(field_: Field) -> str:
    place = _PLACES.get(field_.location, "body")
    if field_.api_name != field_.name or field_.location == "header":
        place += f" {field_.api_name}"
    if field_.inside:
        place += f", inside {field_.inside}"
    return place


# --------------------------------------------------------------------------
# SELECT: what the API does, what is done here, and pages
# --------------------------------------------------------------------------


def _select_tail(plan: SelectPlan, node: exp.Select) -> tuple[Row, ...]:
    from cfql.plan.select import local_conditions

    method = plan.method
    rows: list[Row] = [("local", f"WHERE {_sql(conjunct, method)}") for conjunct in local_conditions(plan, node)]
    group = node.args.get("group")
    if group is not None:
        rows.append(("local", f"GROUP BY {', '.join(_sql(e, method) for e in group.expressions)}"))
    aggregates = [a for part in (*node.expressions, node.args.get("having"), node.args.get("order")) if part is not None for a in part.find_all(exp.AggFunc)]
    if aggregates:
        rows.append(("local", "aggregates " + ", ".join(dict.fromkeys(_sql(a, method) for a in aggregates))))
    for clause in ("having", "order"):
        if node.args.get(clause) is not None:
            rows.append(("local", _sql(node.args[clause], method)))
    if plan.distinct:
        rows.append(("local", "DISTINCT"))
    bounds = [_sql(node.args[clause], method) for clause in ("limit", "offset") if node.args.get(clause) is not None]
    if bounds:
        rows.append(("local", " ".join(bounds)))
    rows.append(("pages", _pages(plan)))
    return tuple(rows)


def _sql(node: exp.Expression, method: Method) -> str:
    """A part of the statement as SQL; its string literals masked when it names a secret column."""
    columns = method.row_schema.get("properties") or {}
    names = [c.name for c in node.find_all(exp.Column)]
    if any(n.lower() in method.secret_names or is_secret(columns.get(n) or {}) for n in names):
        node = node.transform(lambda n: exp.Literal.string(MASK) if isinstance(n, exp.Literal) and n.is_string else n)
    return " ".join(node.sql().split())


def _pages(plan: SelectPlan) -> str:
    """Whether and how pages after the first are read, and when the reading stops."""
    from cfql.plan.pages import PAGES_AT_ONCE
    from cfql.plan.select import MAX_PAGES

    method = plan.method
    spec = method.pagination
    (call,) = plan.call.rows
    first = bind_request(method, {**call.constants, **{n: Deferred(b.name) for n, b in call.binds.items()}})
    if spec is None or not plan.paged:
        return f"one request: {method.name} does not page"
    if plan.pager(first) is None:
        return f"one page: WHERE gives {spec.request_key}, so only that page is read"
    if spec.numbering is not None:
        how = f"numbered pages ({spec.request_key}; up to {PAGES_AT_ONCE} asked for at once when the totals say how many remain)"
    elif spec.request_location == "request":
        how = f"the next-page link in {_token_source(spec.response_location, spec.response_key or 'Link')}"
    else:
        how = (
            f"the token in {_token_source(spec.response_location, spec.response_key)}, "
            f"sent back as {spec.request_key} in the {spec.request_location}"
        )
    if plan.grouping is not None or plan.order:
        until = "reads every page (ORDER BY and aggregates need all rows) until the API has no more"
    elif plan.limit is not None:
        until = "stops when the API has no more or LIMIT is met"
    else:
        until = "stops when the API has no more"
    return f"follows pages by {how}; {until}, reading {MAX_PAGES} pages at most"


def _token_source(location: str, key: str) -> str:
    return f"the {key} header" if location == "header" else f"the response at {key}"
