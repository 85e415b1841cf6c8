"""The async driver: the sync driver's loop, awaiting ``httpx.AsyncClient`` instead of blocking.

Everything that decides (URLs, credentials, retries, decoding, dry runs, what
may be sent at once: ``Window``) is the shared ``DriverCore``; only the waiting
differs — a batch (a SELECT's pages, a fan-out's elements) runs as tasks instead of threads.
"""

from __future__ import annotations

import asyncio
import threading
import typing as t

import httpx
from cfql.errors import Error
from cfql.http.core import READS_AT_ONCE, DriverCore, Settled, Window, changes, pool_limits
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
        self._change_slots: asyncio.Semaphore | None = None  # made in the running loop, on first use

    async def run(
        self, plan: Plan, params: t.Mapping[str, t.Any] | None = None, halted: threading.Event | None = None
    ) -> Result:
        """Drive ``plan``'s exchange to its result; once ``halted`` is set (Ctrl-C), no more of its elements start."""
        steps = self.statement(plan, params)
        try:
            batch = next(steps)
            while True:
                if any(changes(request) for request in batch):
                    batch = steps.send(await self.send_changes(batch, halted))
                    continue
                try:
                    answers = await self.send_all(batch)
                except Error as error:
                    steps.throw(error)  # raises it, marked if earlier requests were applied
                batch = steps.send(answers)
        except StopIteration as done:
            return t.cast(Result, done.value)

    async def send_changes(self, requests: t.Sequence[ApiRequest], halted: threading.Event | None = None) -> list[Settled]:
        """The sync driver's ``send_changes``, as tasks: the same ``Window``, and the elements of all
        fanned-out statements share the connection's ``--concurrency``."""
        if self._change_slots is None:
            self._change_slots = asyncio.Semaphore(self.settings.concurrency)
        return await self._settle(requests, self.settings.concurrency, halted, self._change_slots if len(requests) > 1 else None)

    async def send_all(self, requests: t.Sequence[ApiRequest]) -> list[ApiResponse]:
        """The sync driver's ``send_all``, as tasks: at most ``READS_AT_ONCE`` in flight, answers in request
        order, the earliest request's cfql error raised once those in flight have finished."""
        settled = await self._settle(requests, READS_AT_ONCE)
        failed = next((answer for answer in settled if isinstance(answer, Error)), None)
        if failed is not None:
            raise failed
        return t.cast(list[ApiResponse], settled)

    async def _settle(
        self,
        requests: t.Sequence[ApiRequest],
        limit: int,
        halted: threading.Event | None = None,
        slots: asyncio.Semaphore | None = None,
    ) -> list[Settled]:
        """The sync driver's ``_settle``, as tasks; cancelled, it cancels those in flight and awaits them.

        Like the sync driver's, a lone request or a batch with a limit of 1 that
        takes no shared slot is awaited here, without a task of its own.
        """
        window = Window(len(requests), limit, halted)

        async def one(request: ApiRequest) -> ApiResponse | Error:
            try:
                return await self.send(request)
            except Error as error:
                return error
            finally:
                if slots is not None:
                    slots.release()

        if slots is None and (len(requests) == 1 or limit == 1):
            while not window.done:
                for index in window.start():
                    window.finish(index, await one(requests[index]))
            return window.settled
        running: dict[asyncio.Future[t.Any], int] = {}
        slot: asyncio.Future[t.Any] | None = None  # a shared slot being waited for: see the sync driver's _settle
        try:
            while not window.done:
                if slot is not None and slot.done():
                    slot = None
                    if window.can_start:
                        (index,) = window.start(most=1)
                        running[asyncio.ensure_future(one(requests[index]))] = index
                    else:
                        t.cast(asyncio.Semaphore, slots).release()  # a failure or a halt came while it was waited for
                    continue
                if slots is None:
                    for index in window.start():
                        running[asyncio.ensure_future(one(requests[index]))] = index
                elif window.can_start and slot is None:
                    slot = asyncio.ensure_future(slots.acquire())
                finished, _ = await asyncio.wait({*running, *([slot] if slot else [])}, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    if task is not slot:
                        window.finish(running.pop(task), task.result())  # a non-cfql exception is a bug: it propagates
            return window.settled
        finally:
            if slot is not None:
                if slot.done() and not slot.cancelled():
                    t.cast(asyncio.Semaphore, slots).release()
                else:
                    slot.cancel()
            for task in running:
                task.cancel()  # only when cancelled or failing with a bug: none is left behind
            await asyncio.gather(*running, return_exceptions=True)

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
