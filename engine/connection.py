"""The library API: a PEP 249 connection and cursor over a cfql session.

``conn.execute(sql, params)`` returns rows as dicts for scripts and notebooks;
``conn.cursor()`` gives the DB-API interface. Plans are cached by statement
text, so running the same statement again (with other ``:params``) skips
parsing and method resolution entirely.
"""

from __future__ import annotations

import typing as t
from collections import OrderedDict

import httpx

from cfql.errors import InterfaceError
from cfql.http.session import Session
from cfql.plan.planner import plan_sql
from cfql.plan.plans import CallPlan, Plan
from cfql.plan.shapes import ShapeCache
from cfql.provider.registry import Registry, default_registry
from cfql.result import Result
from cfql.settings import Settings
from cfql.sql.dialect import Piece, tokenize

if t.TYPE_CHECKING:
    from cfql.provider.sandbox import Sandbox

apilevel = "2.0"
threadsafety = 1
paramstyle = "named"

_PLAN_CACHE_SIZE = 512


class PlanCache:
    """Statement text → plan, plus plans by shape (see engine/shapes.py); LRU-bounded, one per connection."""

    def __init__(self, registry: Registry, size: int = _PLAN_CACHE_SIZE):
        self._registry = registry
        self._size = size
        self._plans: OrderedDict[str, Plan] = OrderedDict()
        self._shapes = ShapeCache()

    def get(self, sql: str, line_offset: int = 0, piece: Piece | None = None) -> Plan:
        """The plan for ``sql``; ``piece`` (from ``iter_statements``) carries its tokens already."""
        plan = self._plans.get(sql)
        if plan is not None:
            self._plans.move_to_end(sql)
            return plan
        if piece is None:
            piece = Piece(sql, line_offset + 1, 0, sql, line_offset + 1, tokenize(sql))
        plan = self._shapes.lookup(sql, piece.tokens)
        if plan is None:
            plan = plan_sql(sql, self._registry, piece)
            if isinstance(plan, CallPlan):
                self._shapes.remember(plan, piece.tokens)
        self._plans[sql] = plan
        if len(self._plans) > self._size:
            self._plans.popitem(last=False)
        return plan


def attach_sandbox(settings: Settings) -> Sandbox | None:
    """With ``sandbox=True``, start the in-process emulator and point ``settings`` at it."""
    if not settings.sandbox:
        return None
    from cfql.provider.sandbox import start_sandbox

    sandbox = start_sandbox()
    settings.base_url = sandbox.url
    settings.token = sandbox.token
    settings.rate_limit = None  # the sandbox has no rate limit to stay under
    return sandbox


class Connection:
    def __init__(
        self,
        settings: Settings | None = None,
        http_client: httpx.Client | None = None,
        registry: Registry | None = None,
    ):
        self.settings = settings or Settings()
        self.registry = registry or default_registry()
        self._sandbox = attach_sandbox(self.settings)
        self.session = Session(self.settings, self.registry, http_client)
        self.plans = PlanCache(self.registry)
        self.closed = False

    def run(self, sql: str, params: t.Mapping[str, t.Any] | None = None, line_offset: int = 0) -> Result:
        """Run one statement and return its full Result (columns, rows, message)."""
        self._check_open()
        return self.plans.get(sql, line_offset).run(self.session, params)

    def execute(self, sql: str, params: t.Mapping[str, t.Any] | None = None) -> list[dict[str, t.Any]]:
        """Run one statement; its rows as dicts (empty for statements without RETURNING)."""
        return self.run(sql, params).rows

    def executescript(
        self,
        text: str,
        params: t.Mapping[str, t.Any] | None = None,
        variables: t.Mapping[str, t.Any] | None = None,
        source: str = "<script>",
        concurrency: int | None = None,
    ) -> list[Result]:
        """Run ``;``-separated statements (templates rendered with ``variables``); one Result each.

        Everything is resolved before the first request; RETURNING columns feed
        later ``:params``. A failure raises ``ScriptError`` saying how many ran.
        """
        from cfql.script import runner as script

        self._check_open()
        prepared = script.prepare(self, text, source, variables, params=(params or {}).keys())
        results: list[Result] = []
        script.run(
            self,
            prepared,
            params,
            on_result=lambda _statement, result: results.append(result),
            concurrency=concurrency or self.settings.concurrency,
        )
        return results

    def cursor(self) -> Cursor:
        self._check_open()
        return Cursor(self)

    def commit(self) -> None:
        """Every statement takes effect when it runs; there is nothing to commit."""

    def rollback(self) -> None:
        raise InterfaceError("API calls cannot be rolled back")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.session.close()
        if self._sandbox is not None:
            self._sandbox.stop()

    def _check_open(self) -> None:
        if self.closed:
            raise InterfaceError("the connection is closed")

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Cursor:
    """PEP 249 cursor; ``description`` follows the columns of the last statement."""

    arraysize = 1

    def __init__(self, connection: Connection):
        self.connection = connection
        self.result: Result | None = None
        self._position = 0
        self.closed = False

    @property
    def description(self) -> list[tuple[str, None, None, None, None, None, None]] | None:
        if self.result is None or not self.result.columns:
            return None
        return [(name, None, None, None, None, None, None) for name in self.result.columns]

    @property
    def rowcount(self) -> int:
        return -1 if self.result is None else self.result.rowcount

    def execute(self, sql: str, params: t.Mapping[str, t.Any] | None = None) -> Cursor:
        self._check_open()
        self.result = self.connection.run(sql, params)
        self._position = 0
        return self

    def executemany(self, sql: str, seq_of_params: t.Iterable[t.Mapping[str, t.Any]]) -> Cursor:
        rows: list[dict[str, t.Any]] = []
        last: Result | None = None
        for params in seq_of_params:
            last = self.connection.run(sql, params)
            rows.extend(last.rows)
        self.result = Result(last.columns if last else [], rows, statement=sql)
        self._position = 0
        return self

    def fetchone(self) -> tuple[t.Any, ...] | None:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[t.Any, ...]]:
        size = self.arraysize if size is None else size
        return self._take(self._position + size)

    def fetchall(self) -> list[tuple[t.Any, ...]]:
        return self._take(None)

    def _take(self, end: int | None) -> list[tuple[t.Any, ...]]:
        self._check_open()
        if self.result is None:
            raise InterfaceError("no statement has been executed")
        rows = self.result.rows[self._position : end]
        self._position += len(rows)
        columns = self.result.columns
        return [tuple(row.get(c) for c in columns) for row in rows]

    def setinputsizes(self, sizes: t.Any) -> None:
        """Not needed: values carry their own types."""

    def setoutputsize(self, size: t.Any, column: t.Any = None) -> None:
        """Not needed: values carry their own types."""

    def close(self) -> None:
        self.closed = True

    def _check_open(self) -> None:
        if self.closed:
            raise InterfaceError("the cursor is closed")

    def __iter__(self) -> t.Iterator[tuple[t.Any, ...]]:
        return iter(self.fetchone, None)

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def connect(
    *,
    token: str | None = None,
    api_key: str | None = None,
    email: str | None = None,
    base_url: str | None = None,
    sandbox: bool = False,
    timeout: float = 60.0,
    retries: int = 2,
    rate_limit: str | None = "1200/300",
    concurrency: int = 1,
    dry_run: bool = False,
    debug: bool = False,
    http_client: httpx.Client | None = None,
) -> Connection:
    """Open a connection; credentials default to the environment variables the manifest names."""
    settings = Settings(
        token=token,
        api_key=api_key,
        email=email,
        base_url=base_url,
        sandbox=sandbox,
        timeout=timeout,
        retries=retries,
        rate_limit=rate_limit,
        concurrency=concurrency,
        dry_run=dry_run,
        debug=debug,
    )
    return Connection(settings, http_client=http_client)
