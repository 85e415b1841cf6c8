"""Fixtures for engine unit tests: a connection whose HTTP goes to a recording MockTransport."""

from __future__ import annotations

import json
import typing as t

import httpx
import pytest

from cfql import connect
from cfql.connection import Connection


class Recorder:
    """Records every request and answers with the next queued response (default: 200 success)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.responses: list[httpx.Response] = []
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        """Stands in for time.sleep: retries and pacing are recorded, not waited for."""
        if seconds:
            self.waits.append(seconds)

    def reply(self, status: int = 200, body: t.Any = None, times: int = 1, **kwargs: t.Any) -> None:
        for _ in range(times):
            self.responses.append(httpx.Response(status, json=body, **kwargs))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.responses:
            return self.responses.pop(0)
        return httpx.Response(200, json={"success": True, "data": {"id": "m-1", "token": "tok"}})

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    @property
    def last_body(self) -> t.Any:
        content = self.last.content
        return json.loads(content) if content else None


def no_requests(request: httpx.Request) -> httpx.Response:
    """A MockTransport handler for a connection that must send nothing: any request fails the test.

    An AssertionError, not ``pytest.fail``: the script runner's workers hand an ``Exception`` back to the
    main thread, but a BaseException such as pytest's ``Failed`` would leave ``executescript`` waiting.
    """
    raise AssertionError(f"a request was sent: {request.method} {request.url}")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def conn(recorder: Recorder) -> t.Iterator[Connection]:
    with connect(token="test-token", http_client=httpx.Client(transport=httpx.MockTransport(recorder))) as connection:
        connection.driver.sleep = recorder.sleep
        yield connection


MEETINGS = "cloudflare.realtime_kit.meetings"
