"""``AsyncConnection``: the library API for asyncio applications, on httpx.AsyncClient.

Planning is shared with the sync connection (same cached plans); only sending
differs. Statements that are not single API calls (SELECT with pagination)
run on a worker thread with a sync session, so every statement works here too.
"""

from __future__ import annotations

import asyncio
import time
import typing as t

import httpx

from cfql.connection import PlanCache, attach_sandbox
from cfql.errors import InterfaceError
from cfql.http.session import DRY_RUN_COLUMNS, Session, SessionCore, pool_limits
from cfql.plan.plans import ApiRequest, CallPlan
from cfql.provider.registry import Registry, default_registry
from cfql.result import Result
from cfql.settings import Settings


class AsyncSession(SessionCore):
    def __init__(self, settings: Settings, registry: Registry, http_client: httpx.AsyncClient | None = None):
        super().__init__(settings, registry)
        self._owns_client = http_client is None
        self.client = http_client or httpx.AsyncClient(
            timeout=settings.timeout, follow_redirects=False, limits=pool_limits(settings)
        )

    async def send(self, request: ApiRequest) -> t.Any:
        """The same retry rules as ``Session.send``, awaiting instead of blocking."""
        http_request = self.build(self.client, request)
        attempt = 0
        while True:
            pause = self.pacer.delay()
            if pause:
                await asyncio.sleep(pause)
            started = time.monotonic()
            try:
                response = await self.client.send(http_request)
            except httpx.HTTPError as error:
                wait = self.next_wait(request, attempt, error=error)
                if wait is None:
                    raise self.transport_error(request, error, attempt) from None
            else:
                self._log(request, f"{response.status_code} in {1000 * (time.monotonic() - started):.0f} ms")
                wait = self.next_wait(request, attempt, response=response)
                if wait is None:
                    return self.decode(request, response)
            await asyncio.sleep(wait)
            attempt += 1

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()


class AsyncConnection:
    """``async with AsyncConnection(...) as conn: rows = await conn.execute(sql, params)``."""

    def __init__(
        self,
        settings: Settings | None = None,
        http_client: httpx.AsyncClient | None = None,
        registry: Registry | None = None,
    ):
        self.settings = settings or Settings()
        self.registry = registry or default_registry()
        self._sandbox = attach_sandbox(self.settings)
        self.session = AsyncSession(self.settings, self.registry, http_client)
        self.plans = PlanCache(self.registry)
        self._sync_session: Session | None = None
        self.closed = False

    async def run(self, sql: str, params: t.Mapping[str, t.Any] | None = None) -> Result:
        if self.closed:
            raise InterfaceError("the connection is closed")
        plan = self.plans.get(sql)
        params = params or {}
        if not isinstance(plan, CallPlan):
            return await asyncio.to_thread(plan.run, self._sync(), params)
        requests = plan.requests(params)
        if self.settings.dry_run:
            return Result(DRY_RUN_COLUMNS, [self.session.describe(r) for r in requests], statement=sql)
        answers = [(r, await self.session.send(r)) for r in requests]
        return self.session.project(plan, answers)

    async def execute(self, sql: str, params: t.Mapping[str, t.Any] | None = None) -> list[dict[str, t.Any]]:
        return (await self.run(sql, params)).rows

    def _sync(self) -> Session:
        if self._sync_session is None:
            self._sync_session = Session(self.settings, self.registry, pacer=self.session.pacer)
        return self._sync_session

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self.session.aclose()
        if self._sync_session is not None:
            self._sync_session.close()
        if self._sandbox is not None:
            self._sandbox.stop()

    async def __aenter__(self) -> AsyncConnection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
