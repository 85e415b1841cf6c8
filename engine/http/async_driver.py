"""The async driver: the sync driver's loop, awaiting ``httpx.AsyncClient`` instead of blocking.

Everything that decides (URLs, credentials, retries, decoding, dry runs, what
may be sent at once) is the shared ``DriverCore``; only the waiting differs —
a batch of reads runs as tasks instead of threads.
"""

from __future__ import annotations

import asyncio
import typing as t

import httpx
from cfql.errors import Error
from cfql.http.core import READS_AT_ONCE, ChangeWindow, DriverCore, Settled, changes, pool_limits
from cfql.http.messages import ApiRequest, ApiResponse
from cfql.provider.registry import Registry
from cfql.result import Result
from cfql.settings import Settings

if t.TYPE_CHECKING:
    from cfql.plan.plans import Plan


class AsyncDriver(DriverCore):
    def __init__(self, settings: Settings, registry: Registry, http_client: httpx.AsyncClient | None = None):
        super().__init__(settings, registry)
        self._owns_client = http_client is None
        self.client = http_client or httpx.AsyncClient(
            timeout=settings.timeout, follow_redirects=False, limits=pool_limits(settings)
        )
        self.sleep: t.Callable[[float], t.Awaitable[None]] = asyncio.sleep

    async def run(self, plan: Plan, params: t.Mapping[str, t.Any] | None = None) -> Result:
        """Drive ``plan``'s exchange to its result."""
        steps = self.statement(plan, params)
        try:
            batch = next(steps)
            while True:
                if any(changes(request) for request in batch):
                    batch = steps.send(await self.send_changes(batch))
                    continue
                try:
                    answers = await self.send_all(batch)
                except Error as error:
                    steps.throw(error)  # raises it, marked if earlier requests were applied
                batch = steps.send(answers)
        except StopIteration as done:
            return t.cast(Result, done.value)

    async def send_changes(self, requests: t.Sequence[ApiRequest]) -> list[Settled]:
        """The sync driver's ``send_changes``, as tasks: the same ``ChangeWindow`` decides what starts."""
        window = ChangeWindow(len(requests), self.settings.concurrency)
        running: dict[asyncio.Future[ApiResponse], int] = {}
        try:
            while not window.done:
                for index in window.start():
                    running[asyncio.ensure_future(self.send(requests[index]))] = index
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    error = task.exception()
                    if error is not None and not isinstance(error, Error):
                        raise error  # a bug, not an outcome
                    window.finish(running.pop(task), t.cast(Error, error) if error is not None else task.result())
            return window.settled
        finally:
            for task in running:
                task.cancel()  # only when cancelled or failing with a bug: none is left behind
            await asyncio.gather(*running, return_exceptions=True)

    async def send_all(self, requests: t.Sequence[ApiRequest]) -> list[ApiResponse]:
        """The sync driver's ``send_all``, as tasks: at most ``READS_AT_ONCE`` in flight, answers in request order.

        The first error raised cancels the requests still running or waiting,
        and they are awaited before it propagates, so none is left behind.
        """
        if len(requests) <= 1:
            return [await self.send(request) for request in requests]
        gate = asyncio.Semaphore(READS_AT_ONCE)

        async def one(request: ApiRequest) -> ApiResponse:
            async with gate:
                return await self.send(request)

        tasks = [asyncio.ensure_future(one(request)) for request in requests]
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()  # nothing for those already done
            await asyncio.gather(*tasks, return_exceptions=True)

    async def send(self, request: ApiRequest) -> ApiResponse:
        """The sync driver's ``send``, awaiting: the same attempts, pauses and retries."""
        steps = self.attempts(request, self.build(self.client, request))
        outcome: httpx.Response | httpx.HTTPError | None = None
        while True:
            try:
                step = steps.send(outcome)
            except StopIteration as done:
                return t.cast(ApiResponse, done.value)
            if isinstance(step, httpx.Request):
                try:
                    outcome = await self.client.send(step)
                except httpx.HTTPError as error:
                    outcome = error
            else:
                await self.sleep(step)
                outcome = None

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()
        self.close_endpoints()
