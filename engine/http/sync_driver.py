"""The sync driver: runs a plan's exchange over one pooled ``httpx.Client``, with retries and pacing.

With the async driver, it is the only code that sends anything. A plan yields
batches of requests (see ``cfql.http.messages``); the core hands over what may
go at once (``DriverCore.statement``) — a lone request, or a batch of reads
sent by a few threads over the same client — and the answers go back to the
plan in request order. A dry run describes the first batch instead and sends nothing.
"""

from __future__ import annotations

import threading
import time
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


class SyncDriver(DriverCore):
    """Sends requests over one pooled httpx.Client, safe to share between a script's threads."""

    def __init__(self, settings: Settings, registry: Registry, http_client: httpx.Client | None = None):
        super().__init__(settings, registry)
        self._client = http_client
        self._client_lock = threading.Lock()
        self._owns_client = http_client is None
        self.sleep: t.Callable[[float], None] = time.sleep

    @property
    def client(self) -> httpx.Client:
        """Created on first use: building the TLS context costs more than a dry run does in all.

        Concurrent statements reach this at once; the lock makes sure they share
        one client (a discarded one would close its sockets under another thread).
        """
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = httpx.Client(
                        timeout=self.settings.timeout, follow_redirects=False, limits=pool_limits(self.settings)
                    )
        return self._client

    def run(self, plan: Plan, params: t.Mapping[str, t.Any] | None = None) -> Result:
        """Drive ``plan``'s exchange to its result."""
        steps = self.statement(plan, params)
        try:
            batch = next(steps)
            while True:
                if any(changes(request) for request in batch):
                    batch = steps.send(self.send_changes(batch))
                    continue
                try:
                    answers = self.send_all(batch)
                except Error as error:
                    steps.throw(error)  # raises it, marked if earlier requests were applied
                batch = steps.send(answers)
        except StopIteration as done:
            return t.cast(Result, done.value)

    def send_changes(self, requests: t.Sequence[ApiRequest]) -> list[Settled]:
        """Send a batch of changes as ``ChangeWindow`` says (in order, up to ``--concurrency`` at once, none
        after a failure); what became of each: its answer, its cfql error, or None when it was not sent."""
        window = ChangeWindow(len(requests), self.settings.concurrency)
        if len(requests) == 1 or self.settings.concurrency == 1:  # one after another, on this thread
            while not window.done:
                for index in window.start():
                    try:
                        window.finish(index, self.send(requests[index]))
                    except Error as error:
                        window.finish(index, error)
            return window.settled
        from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

        pool = ThreadPoolExecutor(max_workers=min(self.settings.concurrency, len(requests)), thread_name_prefix="cfql-send")
        try:
            running: dict[Future[ApiResponse], int] = {}
            while not window.done:
                for index in window.start():
                    running[pool.submit(self.send, requests[index])] = index
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    error = future.exception()
                    if error is not None and not isinstance(error, Error):
                        raise error  # a bug, not an outcome
                    window.finish(running.pop(future), t.cast(Error, error) if error is not None else future.result())
            return window.settled
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def send_all(self, requests: t.Sequence[ApiRequest]) -> list[ApiResponse]:
        """Send requests at once (at most ``READS_AT_ONCE`` in flight); their answers in request order.

        The first cfql error is raised (of those that failed, the earliest
        request's); requests not started by then are cancelled, and those in
        flight are waited for, so no thread outlives the call.
        """
        if len(requests) <= 1:
            return [self.send(request) for request in requests]
        from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait  # only a list's known pages need it

        pool = ThreadPoolExecutor(max_workers=min(READS_AT_ONCE, len(requests)), thread_name_prefix="cfql-send")
        try:
            futures = [pool.submit(self.send, request) for request in requests]
            wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in futures if f.done() and not f.cancelled() and f.exception() is not None), None)
            if failed is not None:
                raise t.cast(BaseException, failed.exception())
            return [future.result() for future in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def send(self, request: ApiRequest) -> ApiResponse:
        """Send one request (paced, retrying where safe) and return its answer, or raise a cfql error."""
        steps = self.attempts(request, self.build(self.client, request))
        outcome: httpx.Response | httpx.HTTPError | None = None
        while True:
            try:
                step = steps.send(outcome)
            except StopIteration as done:
                return t.cast(ApiResponse, done.value)
            if isinstance(step, httpx.Request):
                try:
                    outcome = self.client.send(step)
                except httpx.HTTPError as error:
                    outcome = error
            else:
                self.sleep(step)
                outcome = None

    def close(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()
        self.close_endpoints()
