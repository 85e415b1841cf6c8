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
credential. A ``:name`` shows the value passed for it, as the request would
carry it (JSON text for an object field is that object, its secret parts
masked), or, when none is, ``:name``. Requests are described by the driver
(``cfql.http.core.DriverCore.explain``) as a dry run describes them, whatever
the connection's settings: nothing is sent, not even where credentials are
missing, and a value a third-party document's constraints refuse is warned
about as one running the statement would send.

A statement no method fits is still explained — every candidate and what it
lacks, then the resolver's error — since that is when EXPLAIN helps most;
any other refusal (a syntax error, an unknown resource, a bad value) is raised
as running the statement raises it.

In a script an EXPLAIN needs no ``:name`` and provides none: it sends nothing,
so nothing can come of it.

The ``why`` and ``candidate`` rows are the resolver's own judgement, the one
that chose the method (``CallPlan.resolution``, or for a statement no method
fits the ResolutionError's), put in the resolver's words
(``cfql.plan.resolver.preferred``, ``beaten``); the shell's toolbar shows the
same judgement, so neither has reasons of its own.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass, replace

from sqlglot import exp

from cfql.errors import DataError, ResolutionError
from cfql.http.messages import Exchange, no_requests
from cfql.plan.clauses import Source
from cfql.plan.plans import BoundRow, CallPlan, StaticPlan, bind_request
from cfql.plan.resolver import Candidate, Resolution, beaten, preferred
from cfql.plan.schema import check
from cfql.provider.model import Field, Method
from cfql.provider.registry import Registry
from cfql.redact import MASK, plan_secrets, redact_body, secret_strings
from cfql.result import Result
from cfql.sql.dialect import DescribeMethod, Exec, Explain, RegistryStatement, Show
from cfql.sql.values import Bind, Deferred, load_json, sql_literal

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
    head: tuple[Row, ...]  # statement, then answer (SHOW, DESCRIBE, REGISTRY) or method, why, candidates, error
    value_part: str  # "value" for a call, "api" for a SELECT's request
    calls: tuple[BoundRow, ...]  # the rows whose values are shown
    tail: tuple[Row, ...] = ()  # SELECT's local parts (its pages follow, as the values given decide them); elements
    describes: bool = False  # whether ``explained`` sends anything the driver can describe
    secrets: tuple[str, ...] = ()  # the statement's secret literals, masked wherever it is shown
    bind_names: frozenset[str] = frozenset()  # none: an EXPLAIN needs no :name (one not given shows as :name)
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
        if self.value_part == "api":
            rows.append(("pages", _pages(t.cast("SelectPlan", self.explained), params)))
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
# Planning EXPLAIN
# --------------------------------------------------------------------------

#: The statements that call a provider's method, which EXPLAIN explains even when no method fits.
_CALLS = (exp.Insert, exp.Update, exp.Delete, exp.Select, Exec)


def plan_explain(node: Explain, sql: str, registry: Registry, source: Source, plan_statement: Planner) -> ExplainPlan:
    """Plan the statement ``node`` explains as running it would (``plan_statement`` is the planner's own),
    and work out what EXPLAIN says about it; a statement no method fits is explained all the same."""
    inner = node.this
    try:
        plan = plan_statement(inner, sql, registry, source)
    except ResolutionError as error:
        if error.resolution is None or not isinstance(inner, _CALLS):
            raise
        return _unresolved(sql, inner, error)
    if isinstance(plan, StaticPlan):
        return _answered(sql, inner, plan, registry)
    call: CallPlan = getattr(plan, "call", plan)  # a SELECT binds its request through a CallPlan
    resolution = t.cast(Resolution, call.resolution)  # the planner records it on every plan that calls a method
    method = call.method
    head = (
        ("statement", f"{resolution.verb.upper()} · {method.resource_id}"),
        ("method", f"{method.name} · {method.http_method} {method.path}"),
        *_why_and_candidates(resolution),
    )
    unsent = replace(call, explained=True)  # its warnings say what running it would send
    if plan is call:
        return ExplainPlan(sql, unsent, head, "value", call.rows, tail=_elements(call), describes=True, secrets=tuple(plan_secrets(call)))
    select = t.cast("SelectPlan", plan)
    tail = _select_tail(select, t.cast(exp.Select, inner))
    return ExplainPlan(sql, replace(select, call=unsent), head, "api", call.rows, tail=tail, describes=True, secrets=select.secrets)


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


def _why_and_candidates(resolution: Resolution) -> list[Row]:
    chosen = resolution.pick
    why = "named by EXEC" if resolution.verb == "exec" else preferred(resolution)
    return [("why", why), *(("candidate", _candidate(c, chosen)) for c in resolution.candidates)]


def _candidate(candidate: Candidate, chosen: Candidate | None) -> str:
    """A candidate's row: ``chosen``, why the resolver put the chosen one first, or what it lacks."""
    name = candidate.method.name
    if candidate is chosen:
        return f"{name}: chosen"
    if chosen is not None and candidate.fits and not candidate.method.unsupported:
        return f"{name}: {beaten(candidate, chosen)}"
    return f"{name}: {candidate.shortfall}"


def _unresolved(sql: str, node: exp.Expression, error: ResolutionError) -> ExplainPlan:
    """EXPLAIN of a statement no method fits: the candidates and what each lacks, then the resolver's error."""
    resolution = t.cast(Resolution, error.resolution)
    head = (
        ("statement", f"{resolution.verb.upper()} · {resolution.resource_id}"),
        ("method", "none: no method fits"),
        *(("candidate", _candidate(c, None)) for c in resolution.candidates),
        ("error", str(error)),
    )
    methods = [c.method for c in resolution.candidates]
    secrets = _written_secrets(error.written, methods)
    if isinstance(node, exp.Select):
        from cfql.plan.select import select_secrets

        secrets += select_secrets(node, methods)
    return ExplainPlan(sql, None, head, "value", (), secrets=tuple(secrets))


def _written_secrets(written: t.Iterable[tuple[str, t.Any]], methods: t.Sequence[Method]) -> list[str]:
    """The secret values among those the statement writes, by any candidate's fields: masked where it is shown."""
    found: list[str] = []
    for name, value in written:
        for method in methods:
            field_ = method.fields.get(name)
            if field_ is not None and value is not None and not isinstance(value, Bind):
                found += secret_strings({name: _as_sent(method, field_, value)}, method.fields, method.secret_names)
    return found


def _answered(sql: str, node: exp.Expression, plan: StaticPlan, registry: Registry) -> ExplainPlan:
    """SHOW, DESCRIBE and REGISTRY: answered without a provider's API."""
    if isinstance(node, RegistryStatement):
        statement = f"REGISTRY {node.this.name.upper()}"
        answer = f"the provider registry at {registry.hub_url}, not a provider's API; these are the fetches running it makes"
    else:
        kind = node.this.name.upper() if isinstance(node, Show) else ""
        statement = f"SHOW {kind}{' INTO' if kind == 'INSERT' else ''}" if isinstance(node, Show) else (
            "DESCRIBE METHOD" if isinstance(node, DescribeMethod) else "DESCRIBE"
        )
        answer = "cfql itself: no API call" if kind == "VERSION" else "the provider documents (manifests) installed here: no API call"
    head = (("statement", statement), ("answer", answer))
    return ExplainPlan(sql, plan, head, "value", (), describes=plan.dry_run is not None)


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------


def _calls_values(method: Method, calls: t.Sequence[BoundRow], params: t.Mapping[str, t.Any]) -> list[str]:
    """The values of every call: those all calls share once, then each call's own after its ``[n]``.

    Calls share a value when they give the same one, not when it only reads
    the same: two different secrets both show as ``***``.
    """
    each = [_values(method, call, params) for call in calls]
    if len(each) < 2:
        return [line for _, line in each[0]] if each else []
    shared = [key for key, _ in each[0] if all(key in dict(lines) for lines in each[1:])]
    own = [f"[{number}] {line}" for number, lines in enumerate(each, 1) for key, line in lines if key not in shared]
    return [line for key, line in each[0] if key in shared] + own


def _values(method: Method, call: BoundRow, params: t.Mapping[str, t.Any]) -> list[tuple[tuple[str, str], str]]:
    """``name = value → place`` for each value of one call, parameters in the document's order, then the
    body; each keyed by the name and the value itself (what tells calls apart)."""
    given = {**call.constants, **call.binds}
    lines = []
    for name in dict.fromkeys([*method.parameters, *method.body_fields]):
        if name not in given:
            continue
        field_, value = method.fields[name], given[name]
        if isinstance(value, Bind) and (value.name not in params or isinstance(params[value.name], Deferred)):
            key, text = f":{value.name}", f":{value.name}"
        else:
            if isinstance(value, Bind):
                value = _as_sent(method, field_, params[value.name])  # checked as the request checks it
            key = json.dumps([type(value).__name__, value], sort_keys=True, default=str)
            text = _shown(method, name, value)
            if isinstance(given[name], Bind):
                text += f" (:{given[name].name})"
        lines.append(((name, key), f"{name} = {text} → {_place(field_)}"))
    return lines


def _as_sent(method: Method, field_: Field, value: t.Any) -> t.Any:
    """``value`` as the request carries it (JSON text parsed for an object field), so its secrets are found."""
    try:
        return check(value, field_.schema, field_.name, method.secret_names, [])
    except DataError:  # refused when the statement runs; what it holds is still masked where it is shown
        return _parsed(value) if isinstance(value, str) and field_.type_name in ("object", "array") else value


def _parsed(text: str) -> t.Any:
    """JSON text as its value; text that is no JSON stays as it is."""
    try:
        return load_json(text)
    except ValueError:
        return text


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
    """The parts of a SELECT evaluated here: the WHERE conditions the planner kept local, then the rest."""
    method = plan.method
    rows: list[Row] = [("local", f"WHERE {_sql(conjunct, method)}") for conjunct in plan.local]
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
    return tuple(rows)


def _sql(node: exp.Expression, method: Method) -> str:
    """A part of the statement as SQL; its string literals masked when it names a secret column."""
    from cfql.plan.select import names_secret

    if names_secret(node, method):
        node = node.transform(lambda n: exp.Literal.string(MASK) if isinstance(n, exp.Literal) and n.is_string else n)
    return " ".join(node.sql().split())


def _pages(plan: SelectPlan, params: t.Mapping[str, t.Any]) -> str:
    """Whether and how pages after the first are read, and when the reading stops, for the values given."""
    from cfql.plan.pages import PAGES_AT_ONCE
    from cfql.plan.select import MAX_PAGES

    method = plan.method
    spec = method.pagination
    given = {**{name: Deferred(name) for name in plan.bind_names}, **params}  # as the dry run fills them
    if plan.rows_wanted(given) == 0:
        return "none: LIMIT 0 wants no rows"
    if spec is None or not plan.paged:
        return f"one request: {method.name} does not page"
    (call,) = plan.call.rows
    first = bind_request(method, {**call.constants, **{n: given[b.name] for n, b in call.binds.items()}})
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
