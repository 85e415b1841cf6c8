"""Resolved statements: reusable plans that bind parameters into API requests (sans-IO).

A plan is built once per statement text (parsing, method resolution and the
checks of literal values all happen then) and cached; executing it only
checks the bound values and fills in the request. That is what makes a
repeated or parametrised statement cheap.

Plans never send anything. ``plan.exchange(params)`` is a generator that
yields the requests it needs and receives their answers (see
``cfql.http.messages``); a driver does the sending.

A value outside the enum or bounds of a document cfql does not ship is kept
(``cfql.plan.schema``): the plan notes it, warns (``SchemaWarning``) each time
its requests are built, and sends it; ``enforce`` turns the notes back into
refusals for a ``--strict`` connection.
"""

from __future__ import annotations

import json
import re
import typing as t
import warnings
from dataclasses import dataclass, field, replace
from urllib.parse import quote

from cfql.errors import DataError, ProgrammingError, SchemaWarning, UnboundParameterError
from cfql.http.messages import SEGMENT_SAFE, ApiRequest, ApiResponse, Exchange, no_requests, sent_forms
from cfql.plan.schema import check, secret_field
from cfql.provider.model import Field, Method
from cfql.redact import MASK, redact_body
from cfql.result import DESPATCHED, Result
from cfql.rows.jsonpath import compile_path
from cfql.rows.projection import Projection, row_objects
from cfql.sql.values import Bind, Deferred, sql_literal

if t.TYPE_CHECKING:
    from cfql.plan.resolver import Resolution

#: The message of a statement that was left without rows, so sent nothing (``INSERT ... WHERE false``).
NOTHING_SENT = "Nothing was sent: the statement has no rows"
#: Most requests one statement may fan out to (the elements of ``param IN (...)``, the rows of ``VALUES``):
#: a longer list is refused when it is planned. Split it into several statements.
MAX_ELEMENTS = 1000


@dataclass(frozen=True)
class BoundRow:
    """Values for one call: constants (already checked) and the binds still to be checked."""

    constants: t.Mapping[str, t.Any]
    binds: t.Mapping[str, Bind]
    # column -> (offset of the literal token it was written as, negated): see engine/shapes.py
    sources: t.Mapping[str, tuple[int, bool]] = field(default_factory=dict)
    # column -> the constraints its constant breaks in a document cfql does not ship (warned about, then sent)
    notes: t.Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class CallPlan:
    """A statement that calls ``method`` once per row and projects the responses."""

    sql: str
    method: Method
    rows: tuple[BoundRow, ...]
    projection: Projection | None
    kind: str  # the SQL verb as written, for messages
    bind_names: frozenset[str] = field(default=frozenset())
    strict: bool = False  # --strict: every document's enums and bounds bind (see ``enforce``)
    #: The path parameter a ``param IN (...)`` list fans out over: one row per element (None: no list).
    element_column: str | None = None
    #: How the resolver chose ``method``: every candidate it judged (what EXPLAIN and the shell's toolbar show).
    resolution: Resolution | None = None
    #: Planned for EXPLAIN, which sends nothing: a warning says what running the statement would send.
    explained: bool = False

    def __post_init__(self) -> None:
        """An element listed twice is refused when the plan is made (also when a cached shape is filled in)."""
        if self.element_column is not None:
            _no_twice(self.method, self.element_column, [_element(row, self.element_column) for row in self.rows])

    @property
    def loose(self) -> bool:
        """Whether a bound value outside its document's enum or bounds is sent with a warning rather than refused."""
        return not (self.strict or self.method.strict_schema)

    @property
    def provides(self) -> frozenset[str]:
        """RETURNING names a script's later statements can use as ``:params`` (none for ``*``)."""
        if self.projection is None or self.projection.star:
            return frozenset()
        return frozenset(self.projection.names)

    @property
    def max_rows(self) -> int | None:
        """One row per request (so one per row of VALUES), unless one answer can hold several objects."""
        if self.projection is None:
            return 0
        return None if answers_many(self.method) else len(self.rows)

    def requests(self, params: t.Mapping[str, t.Any] | None = None) -> list[ApiRequest]:
        """One request per row, each checked before any is sent; what they send outside a third-party
        document's constraints is warned about.

        When there are several, each request names its element (``participant_id = 'p1'``, ``row 2``), so
        that what became of each can be reported.
        """
        notes: list[str] = []
        rows = [self._values(row, params or {}, notes) for row in self.rows]
        column = self.element_column
        if column is not None:
            _no_twice(self.method, column, [values[column] for values in rows])
        warn_sent_anyway(self.method, notes, sent=not self.explained)
        requests = [bind_request(self.method, values) for values in rows]
        if len(requests) > 1:
            labels = (
                (element_label(self.method, column, v[column], number) for number, v in enumerate(rows, 1))
                if column
                else (f"row {number}" for number in range(1, len(rows) + 1))
            )
            requests = [replace(request, element=label) for request, label in zip(requests, labels)]
        return requests

    def _values(self, row: BoundRow, params: t.Mapping[str, t.Any], notes: list[str]) -> dict[str, t.Any]:
        values = dict(row.constants)
        fields, names = self.method.fields, self.method.secret_names
        for found in row.notes.values():
            notes.extend(found)
        loose = notes if self.loose else None
        for name, bind in row.binds.items():
            if bind.name not in params:
                raise UnboundParameterError(f"parameter :{bind.name} (for column {name}) has no value")
            value = params[bind.name]
            values[name] = value if isinstance(value, Deferred) else check(value, fields[name].schema, name, names, loose)
        return values

    def exchange(self, params: t.Mapping[str, t.Any] | None = None) -> Exchange:
        """Send one request per row (started in order); rows from the answers by RETURNING, in the rows' order.

        A statement left without rows (``INSERT ... SELECT ... WHERE false``) sends nothing at all.
        """
        requests = self.requests(params)
        responses = (yield requests) if requests else []
        return self.project(responses)

    def project(self, responses: t.Sequence[ApiResponse | None]) -> Result:
        """Rows from the answers, by the plan's RETURNING; without one, only the despatch message.

        A change (INSERT, UPDATE, REPLACE, DELETE) gives one row per request, in
        order — a row of NULLs for an answer with no object — so that row ``i``
        of the result always belongs to row ``i`` of the statement.
        """
        projection = self.projection
        if projection is None:
            return Result([], [], message=DESPATCHED if self.rows else NOTHING_SENT, statement=self.sql)
        rows: list[dict[str, t.Any]] = []
        columns: list[str] = list(projection.names)
        one_each = self.kind != "EXEC"
        for response in responses:  # None: an element whose request failed or was not sent
            objects = row_objects(response.payload, self.method.object_key) if response is not None else []
            if one_each and not objects:
                rows.append(dict.fromkeys(columns))
            for obj in objects:
                if projection.star and not columns:
                    columns = projection.columns_for(obj)
                rows.append(projection.row(obj))
        return Result(columns, rows, statement=self.sql)


@dataclass(frozen=True)
class StaticPlan:
    """A statement answered without the driver: from the manifests (SHOW, DESCRIBE), or by the
    remote provider registry (REGISTRY), whose ``dry_run`` is what a dry run shows instead of running it."""

    sql: str
    produce: t.Callable[[], Result]
    bind_names: frozenset[str] = field(default=frozenset())
    provides: frozenset[str] = field(default=frozenset())
    max_rows: int | None = None
    dry_run: t.Callable[[], Result] | None = None  # set when ``produce`` itself would send something

    def exchange(self, params: t.Mapping[str, t.Any] | None = None) -> Exchange:
        result = self.produce()
        result.statement = self.sql
        return no_requests(result)


class Plan(t.Protocol):
    """What every resolved statement offers: its binds, what it provides to later statements, and its exchange.

    ``max_rows`` is how many rows its result can have at most (None: no bound
    known). A script checks it before anything runs: a name a later statement
    uses must come from a statement that gives at most one row.
    """

    sql: str

    @property
    def bind_names(self) -> frozenset[str]: ...

    @property
    def provides(self) -> frozenset[str]: ...

    @property
    def max_rows(self) -> int | None: ...

    def exchange(self, params: t.Mapping[str, t.Any] | None = None) -> Exchange: ...


def bind_request(method: Method, values: t.Mapping[str, t.Any]) -> ApiRequest:
    """The request ``values`` (checked, by SQL name) make: each put where its field's document says.

    Server variables fill the server URL (``ApiRequest.server``), header
    parameters become headers, body properties go under their API names —
    inside ``request.base`` and, for ``naive_DesiredState``, inside the wrapping property.
    """
    fields = method.fields
    path_values: dict[str, str] = {}
    query: dict[str, t.Any] = {}
    headers: dict[str, str] = {}
    server: dict[str, str] = {}
    body: dict[str, t.Any] | None = dict(method.body_base or {}) if method.has_body else None
    inner: dict[str, t.Any] = {}
    for field_ in fields.values():
        if field_.default is not None and field_.name not in values and field_.location == "header":
            headers[field_.api_name] = header_value(field_.name, field_.default)
    secrets: list[str] = []
    for name, value in values.items():
        field_ = fields[name]
        location = field_.location
        if location != "body" and not isinstance(value, Deferred) and secret_field(name, field_.schema, method.secret_names):
            secrets.append(value if isinstance(value, str) else json.dumps(value))
        if location == "path":
            path_values[name] = encode_path_segment(name, value)
        elif location == "query":
            query[field_.api_name] = value
        elif location == "header":
            headers[field_.api_name] = header_value(name, value)
        elif location == "server":
            server[name] = server_value(field_, value)
        elif body is not None:
            (inner if field_.inside else body)[field_.api_name] = value
    if method.body_wrap and body is not None and inner:
        body[method.body_wrap] = inner if any(isinstance(v, Deferred) for v in inner.values()) else json.dumps(inner)
    return ApiRequest(
        method=method,
        http_method=method.http_method,
        path=method.path.format_map(path_values),
        query=query,
        body=body,
        headers=headers,
        server=server,
        secrets=sent_forms(*secrets),
    )


def header_value(name: str, value: t.Any) -> str:
    """A header parameter's text; a line break or NUL would start another header, so it is refused."""
    if isinstance(value, Deferred):
        return f":{value.name}"
    text = value if isinstance(value, str) else json.dumps(value)
    if any(ch in text for ch in "\r\n\0"):
        raise DataError(f"header parameter {name}: the value holds a line break or NUL character")
    return text


#: What a server variable may hold: one host label or path segment, never a character that changes the URL's shape.
_SERVER_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]*")


def server_value(field_: Field, value: t.Any) -> str:
    """A server variable's value, checked to stay in its place: a value such as ``evil.example/`` would carry credentials elsewhere."""
    if isinstance(value, Deferred):
        return f":{value.name}"
    text = str(value) if not isinstance(value, bool) else ""
    if not _SERVER_VALUE.fullmatch(text) or ".." in text:
        raise DataError(
            f"server variable {field_.name}: {text[:40]!r} is not a host label or path segment "
            "(letters, digits, '.', '_', '~', '-')"
        )
    return text


def encode_path_segment(name: str, value: t.Any) -> str:
    """Percent-encode a path parameter so that no value can leave its segment.

    ``/``, ``?``, ``#``, ``%``, CR/LF and non-ASCII are escaped (as the SDK does);
    ``.`` and ``..`` are refused, since a proxy that normalises the path would
    send the call elsewhere, and so is an empty value, which would merge segments.
    """
    if isinstance(value, Deferred):
        return value
    text = value if isinstance(value, str) else str(value)
    if text in ("", ".", ".."):
        raise DataError(f"column {name}: a path parameter cannot be {text!r}")
    return quote(text, safe=SEGMENT_SAFE)


def check_element_count(count: int, what: str) -> None:
    """Refuse, when planning, a statement that would send more than ``MAX_ELEMENTS`` requests."""
    if count > MAX_ELEMENTS:
        raise ProgrammingError(
            f"{what} has {count} elements; one statement sends at most {MAX_ELEMENTS} requests: split it"
        )


def element_label(method: Method, column: str, value: t.Any, number: int | None = None) -> str:
    """``participant_id = 'p1'``: an element as messages name it. A secret field's value is masked, and
    then the element's place in the list (``number``) says which one it is: ``element 2: key = ***``."""
    if isinstance(value, (Bind, Deferred)):
        return f"{column} = :{value.name}"
    shown = redact_body({column: value}, method.fields, method.secret_names)[column]
    if shown == MASK:
        return f"element {number}: {column} = {MASK}" if number is not None else f"{column} = {MASK}"
    return f"{column} = {sql_literal(shown)}"


def _element(row: BoundRow, column: str) -> t.Any:
    return row.binds[column] if column in row.binds else row.constants[column]


def _no_twice(method: Method, column: str, values: t.Sequence[t.Any]) -> None:
    """Each element of an IN list is one request: the same one twice would repeat a change."""
    seen: set[str] = set()
    for value in values:
        if isinstance(value, Deferred):  # a dry run's value not known yet
            continue
        key = f":{value.name}" if isinstance(value, Bind) else str(value)
        if key in seen:
            raise ProgrammingError(
                f"{column} IN (...): {element_label(method, column, value)} is listed twice; each element is one request"
            )
        seen.add(key)


def answers_many(method: Method) -> bool:
    """Whether one answer of ``method`` can hold several row objects: its rows are a list, or it pages."""
    if method.paged:
        return True
    schema = method.response_schema
    for step in compile_path(method.object_key) if method.object_key else ():
        if step is None:
            return True
        if isinstance(step, str):
            schema = (schema.get("properties") or {}).get(step, {})
        else:
            schema = schema.get("items", {})
    return schema.get("type") == "array"


def check_constants(
    values: t.Mapping[str, t.Any],
    fields: t.Mapping[str, Field],
    sources: t.Mapping[str, tuple[int, bool]] | None = None,
    names: t.AbstractSet[str] = frozenset(),
    loose: bool = False,
) -> BoundRow:
    """Split a row into checked constants and binds; constants fail here, before any request.

    ``names``: the field names the provider declares secret (their values are never quoted in errors).
    ``loose``: the document is not cfql's (``not Method.strict_schema``): broken enums and bounds are
    noted in ``BoundRow.notes`` instead of refused.
    """
    constants, binds, notes = {}, {}, {}
    for name, value in values.items():
        if isinstance(value, Bind):
            binds[name] = value
            continue
        found: list[str] | None = [] if loose else None
        constants[name] = check(value, fields[name].schema, name, names, found)
        if found:
            notes[name] = tuple(found)
    return BoundRow(constants, binds, dict(sources or {}), notes)


def warn_sent_anyway(method: Method, notes: t.Iterable[str], sent: bool = True) -> None:
    """One ``SchemaWarning`` per broken constraint of a third-party document (the CLI prints ``cfql: warning: ...``);
    ``sent``: False under EXPLAIN, which sends nothing."""
    done = "sent anyway" if sent else "running the statement would send it anyway"
    for note in dict.fromkeys(notes):
        warnings.warn(
            SchemaWarning(f"{note}; {done}: the document of {method.resource_id} is not one cfql ships (--strict refuses it)"),
            stacklevel=3,
        )


def enforce(plan: t.Any) -> t.Any:
    """``plan`` for a ``--strict`` connection: what a third-party document's constraints forbid is refused, as in cfql's own.

    A constant that broke one is refused now, before anything runs; the plan
    (or a SELECT's call) is marked ``strict``, so that bound values are too.
    """
    if isinstance(plan, CallPlan):
        broken = next((found[0] for row in plan.rows for found in row.notes.values()), None)
        if broken is not None:
            raise DataError(broken)
        return plan if plan.strict or plan.method.strict_schema else replace(plan, strict=True)
    call = getattr(plan, "call", None)  # a SELECT binds its request through a CallPlan
    if isinstance(call, CallPlan):
        strict = enforce(call)
        return plan if strict is call else replace(plan, call=strict)
    return plan
