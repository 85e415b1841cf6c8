"""``AsyncConnection`` and ``AsyncCursor``: the library API for asyncio applications.

Planning is the sync connection's (same cache, same plans); the async driver
sends. Every statement — calls, SELECT with pages, SHOW/DESCRIBE, scripts —
goes through that one driver, so an ``http_client`` given here sees every request.
"""

from __future__ import annotations

import threading
import typing as t

import httpx
from cfql.connection import open_registry, prepare_script
from cfql.cursor import ResultCursor, Row
from cfql.errors import InterfaceError, NotSupportedError
from cfql.http.async_driver import AsyncDriver
from cfql.plan.cache import PlanCache
from cfql.plan.plans import Plan
from cfql.provider.registry import Registry
from cfql.result import Result
from cfql.script import runner
from cfql.settings import Settings


class AsyncConnection:
    """``async with AsyncConnection(...) as conn: rows = await conn.execute(sql, params)``."""

    def __init__(
        self,
        settings: Settings | None = None,
        http_client: httpx.AsyncClient | None = None,
        registry: Registry | str | None = None,
    ):
        self.settings = settings or Settings()
        self.registry = open_registry(self.settings, registry)
        self.driver = AsyncDriver(self.settings, self.registry, http_client)
        self.plans = PlanCache(self.registry, strict=self.settings.strict)
        self.closed = False

    async def run(self, sql: str, params: t.Mapping[str, t.Any] | None = None) -> Result:
        """Run one statement and return its full Result."""
        self._check_open()
        return await self.driver.run(self.plans.get(sql), params)

    async def run_plan(self, plan: Plan, params: t.Mapping[str, t.Any], halted: threading.Event | None = None) -> Result:
        return await self.driver.run(plan, params, halted)

    async def execute(self, sql: str, params: t.Mapping[str, t.Any] | None = None) -> list[dict[str, t.Any]]:
        return (await self.run(sql, params)).rows

    async def executescript(
        self,
        text: str,
        params: t.Mapping[str, t.Any] | None = None,
        variables: t.Mapping[str, t.Any] | None = None,
        source: str = "<script>",
        concurrency: int | None = None,
    ) -> list[Result]:
        """As ``Connection.executescript``: one Result per statement, up to ``concurrency`` at once."""
        prepared, params, concurrency = prepare_script(self, text, params, variables, source, concurrency)
        results: list[Result] = []
        await runner.run_async(
            self,
            prepared,
            params,
            on_result=lambda _statement, result: results.append(result),
            concurrency=concurrency,
        )
        return results

    def cursor(self) -> AsyncCursor:
        self._check_open()
        return AsyncCursor(self)

    async def commit(self) -> None:
        """Every statement takes effect when it runs; there is nothing to commit."""

    async def rollback(self) -> None:
        raise NotSupportedError("API calls take effect at once and cannot be rolled back")

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self.driver.aclose()

    def _check_open(self) -> None:
        if self.closed:
            raise InterfaceError("the connection is closed")

    async def __aenter__(self) -> AsyncConnection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class AsyncCursor(ResultCursor):
    """The PEP 249 cursor shape with coroutine methods: ``await cur.execute(...)``, ``await cur.fetchall()``."""

    def __init__(self, connection: AsyncConnection):
        super().__init__()
        self.connection = connection

    async def execute(self, sql: str, params: t.Mapping[str, t.Any] | None = None) -> AsyncCursor:
        self._check_open()
        self._load(await self.connection.run(sql, params))
        return self

    async def executemany(self, sql: str, seq_of_params: t.Iterable[t.Mapping[str, t.Any]]) -> AsyncCursor:
        self._check_open()
        self._load_many(sql, [await self.connection.run(sql, params) for params in seq_of_params])
        return self

    async def fetchone(self) -> Row | None:
        return self._fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Row]:
        return self._fetchmany(size)

    async def fetchall(self) -> list[Row]:
        return self._fetchall()

    def __aiter__(self) -> AsyncCursor:
        return self

    async def __anext__(self) -> Row:
        row = self._fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    async def __aenter__(self) -> AsyncCursor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
