"""The sync driver: runs a plan's exchange over one pooled ``httpx.Client``, with retries and pacing.

With the async driver, it is the only code that sends anything. A plan yields
batches of requests (see ``cfql.http.messages``); the core hands over what may
go at once (``DriverCore.statement``) — a lone request, a batch of reads, or
the changes of a fanned-out statement, a batch sent by a few daemon threads over
the same client as a ``Window`` says — and the answers go back to the plan in
request order. A dry run describes the first batch instead and sends nothing.
"""

from __future__ import annotations

import queue
import threading
import time
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


#: Seconds between looks at a halt or a failure while waiting for a shared slot.
_SLOT_WAIT = 0.05


class SyncDriver(DriverCore):
    """Sends requests over one pooled httpx.Client, safe to share between a script's threads."""

    def __init__(self, settings: Settings, registry: Registry, http_client: httpx.Client | None = None):
        super().__init__(settings, registry)
        self._client = http_client
        self._client_lock = threading.Lock()
        self._owns_client = http_client is None
        self.sleep: t.Callable[[float], None] = time.sleep
        self._change_slots = threading.BoundedSemaphore(settings.concurrency)  # see ``send_changes``

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

    def run(
        self, plan: Plan, params: t.Mapping[str, t.Any] | None = None, halted: threading.Event | None = None
    ) -> Result:
        """Drive ``plan``'s exchange to its result; once ``halted`` is set (Ctrl-C), no more of its elements start."""
        steps = self.statement(plan, params)
        try:
            batch = next(steps)
            while True:
                if any(changes(request) for request in batch):
                    batch = steps.send(self.send_changes(batch, halted))
                    continue
                try:
                    answers = self.send_all(batch)
                except Error as error:
                    steps.throw(error)  # raises it, marked if earlier requests were applied
                batch = steps.send(answers)
        except StopIteration as done:
            return t.cast(Result, done.value)

    def send_changes(self, requests: t.Sequence[ApiRequest], halted: threading.Event | None = None) -> list[Settled]:
        """Send a batch of changes as ``Window`` says: in order, up to ``--concurrency`` at once, none after a
        failure or once ``halted``; what became of each (its answer, its cfql error, None when not sent).

        The elements of all fanned-out statements share the connection's
        ``--concurrency`` (``_change_slots``), however many statements a script
        runs at once; a lone request is its statement's own.
        """
        return self._settle(requests, self.settings.concurrency, halted, self._change_slots if len(requests) > 1 else None)

    def send_all(self, requests: t.Sequence[ApiRequest]) -> list[ApiResponse]:
        """Send reads at once (at most ``READS_AT_ONCE`` in flight); their answers in request order.

        The first cfql error is raised (of those that failed, the earliest
        request's) once the requests in flight have finished; those not started by then are not sent.
        """
        settled = self._settle(requests, READS_AT_ONCE)
        failed = next((answer for answer in settled if isinstance(answer, Error)), None)
        if failed is not None:
            raise failed
        return t.cast(list[ApiResponse], settled)

    def _settle(
        self,
        requests: t.Sequence[ApiRequest],
        limit: int,
        halted: threading.Event | None = None,
        slots: threading.BoundedSemaphore | None = None,
    ) -> list[Settled]:
        """Send ``requests`` as a ``Window`` of ``limit`` says, and hand back what became of each.

        A lone request, or any batch with a limit of 1, goes from this thread
        unless it must take a slot shared with other statements; otherwise each
        goes from a daemon thread of its own, so that one abandoned after Ctrl-C
        never keeps the process alive. A non-cfql exception in one is a bug: it is raised here.
        """
        window = Window(len(requests), limit, halted)
        if slots is None and (len(requests) == 1 or limit == 1):
            while not window.done:
                for index in window.start():
                    window.finish(index, self._outcome(requests[index]))
            return window.settled
        finished: queue.SimpleQueue[tuple[int, ApiResponse | Error | BaseException]] = queue.SimpleQueue()

        def one(index: int) -> None:
            try:
                finished.put((index, self._outcome(requests[index])))
            except BaseException as error:  # handed to the caller's thread, which must never wait forever
                finished.put((index, error))
            finally:
                if slots is not None:
                    slots.release()

        def take(block: bool) -> None:
            try:
                index, outcome = finished.get() if block else finished.get_nowait()
            except queue.Empty:
                return
            if not isinstance(outcome, (ApiResponse, Error)):
                raise outcome
            window.finish(index, outcome)

        while not window.done:
            while window.can_start:
                # A shared slot is taken before the window hands out the next index, so the elements start in
                # order and one waiting for a slot is not yet started: a failure or a halt meanwhile stops it.
                if slots is not None and not slots.acquire(timeout=_SLOT_WAIT):
                    take(block=False)
                    continue
                started = window.start(most=1)
                if not started:
                    if slots is not None:
                        slots.release()
                    break
                threading.Thread(target=one, args=(started[0],), name="cfql-send", daemon=True).start()
            if not window.done:
                take(block=True)
        return window.settled

    def _outcome(self, request: ApiRequest) -> ApiResponse | Error:
        try:
            return self.send(request)
        except Error as error:
            return error

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
