"""The sync driver: runs a plan's exchange over one pooled ``httpx.Client``, with retries and pacing.

With the async driver, it is the only code that sends anything. A plan yields
batches of requests (see ``cfql.http.messages``); each request of a batch is
sent in turn, and the answers go back to the plan. A dry run describes the
first batch instead and sends nothing.
"""

from __future__ import annotations

import threading
import time
import typing as t

import httpx
from cfql.errors import Error
from cfql.http.core import DriverCore, pool_limits
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
            request = next(steps)
            while True:
                try:
                    answer = self.send(request)
                except Error as error:
                    steps.throw(error)  # raises it, marked if earlier requests were applied
                request = steps.send(answer)
        except StopIteration as done:
            return t.cast(Result, done.value)

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
