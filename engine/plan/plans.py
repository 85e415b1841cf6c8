"""Resolved statements: reusable plans that bind parameters into API requests (sans-IO).

A plan is built once per statement text (parsing, method resolution and the
checks of literal values all happen then) and cached; executing it only
checks the bound values and fills in the request. That is what makes a
repeated or parametrised statement cheap.

Plans never send anything. ``plan.exchange(params)`` is a generator that
yields the requests it needs and receives their answers (see
``cfql.http.messages``); a driver does the sending.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field
from urllib.parse import quote

from cfql.errors import DataError, UnboundParameterError
from cfql.http.messages import ApiRequest, ApiResponse, Exchange, no_requests
from cfql.plan.schema import check
from cfql.provider.model import Field, Method
from cfql.result import DESPATCHED, Result
from cfql.rows.projection import Projection, row_objects
from cfql.sql.values import Bind, Deferred


@dataclass(frozen=True)
class BoundRow:
    """Values for one call: constants (already checked) and the binds still to be checked."""

    constants: t.Mapping[str, t.Any]
    binds: t.Mapping[str, Bind]
    # column -> (offset of the literal token it was written as, negated): see engine/shapes.py
    sources: t.Mapping[str, tuple[int, bool]] = field(default_factory=dict)


@dataclass(frozen=True)
class CallPlan:
    """A statement that calls ``method`` once per row and projects the responses."""

    sql: str
    method: Method
    rows: tuple[BoundRow, ...]
    projection: Projection | None
    kind: str  # the SQL verb as written, for messages
    bind_names: frozenset[str] = field(default=frozenset())

    @property
    def provides(self) -> frozenset[str]:
        """RETURNING names a script's later statements can use as ``:params`` (none for ``*``)."""
        if self.projection is None or self.projection.star:
            return frozenset()
        return frozenset(self.projection.names)

    def requests(self, params: t.Mapping[str, t.Any] | None = None) -> list[ApiRequest]:
        return [self._request(row, params or {}) for row in self.rows]

    def _request(self, row: BoundRow, params: t.Mapping[str, t.Any]) -> ApiRequest:
        values = dict(row.constants)
        fields = self.method.fields
        for name, bind in row.binds.items():
            if bind.name not in params:
                raise UnboundParameterError(f"parameter :{bind.name} (for column {name}) has no value")
            value = params[bind.name]
            values[name] = value if isinstance(value, Deferred) else check(value, fields[name].schema, name)
        path_values, query, body = {}, {}, {} if self.method.has_body else None
        for name, value in values.items():
            location = fields[name].location
            if location == "path":
                path_values[name] = encode_path_segment(name, value)
            elif location == "query":
                query[name] = value
            elif body is not None:
                body[name] = value
        return ApiRequest(
            method=self.method,
            http_method=self.method.http_method,
            path=self.method.path.format_map(path_values),
            query=query,
            body=body,
        )

    def exchange(self, params: t.Mapping[str, t.Any] | None = None) -> Exchange:
        """Send one request per row, in order; rows from the answers by RETURNING."""
        requests = self.requests(params)
        responses = yield requests
        return self.project(responses)

    def project(self, responses: t.Sequence[ApiResponse]) -> Result:
        """Rows from the answers, by the plan's RETURNING; without one, only the despatch message."""
        projection = self.projection
        if projection is None:
            return Result([], [], message=DESPATCHED, statement=self.sql)
        rows: list[dict[str, t.Any]] = []
        columns: list[str] = list(projection.names)
        for response in responses:
            for obj in row_objects(response.payload, self.method.object_key):
                if projection.star and not columns:
                    columns = projection.columns_for(obj)
                rows.append(projection.row(obj))
        return Result(columns, rows, statement=self.sql)


@dataclass(frozen=True)
class StaticPlan:
    """A statement answered from the manifests alone (SHOW, DESCRIBE): its exchange sends nothing."""

    sql: str
    produce: t.Callable[[], Result]
    bind_names: frozenset[str] = field(default=frozenset())
    provides: frozenset[str] = field(default=frozenset())

    def exchange(self, params: t.Mapping[str, t.Any] | None = None) -> Exchange:
        result = self.produce()
        result.statement = self.sql
        return no_requests(result)


class Plan(t.Protocol):
    """What every resolved statement offers: its binds, what it provides to later statements, and its exchange."""

    sql: str

    @property
    def bind_names(self) -> frozenset[str]: ...

    @property
    def provides(self) -> frozenset[str]: ...

    def exchange(self, params: t.Mapping[str, t.Any] | None = None) -> Exchange: ...


# The characters RFC 3986 allows in a path segment, which the official SDK leaves as they are.
_SEGMENT_SAFE = "!$&'()*+,;=:@"


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
    return quote(text, safe=_SEGMENT_SAFE)


def check_constants(
    values: t.Mapping[str, t.Any],
    fields: t.Mapping[str, Field],
    sources: t.Mapping[str, tuple[int, bool]] | None = None,
) -> BoundRow:
    """Split a row into checked constants and binds; constants fail here, before any request."""
    constants, binds = {}, {}
    for name, value in values.items():
        if isinstance(value, Bind):
            binds[name] = value
        else:
            constants[name] = check(value, fields[name].schema, name)
    return BoundRow(constants, binds, dict(sources or {}))
