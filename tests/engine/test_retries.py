"""Retries are safe for mutations: a create is never sent twice; pacing keeps under the rate limit."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from cfql import APIError, OperationalError, connect
from cfql.connection import Connection
from cfql.http.pacing import TokenBucket, parse_rate_limit

from .conftest import MEETINGS, Recorder

CREATE = f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'a', 'b', 't'"
PATCH = f"UPDATE {MEETINGS} SET title = 't' WHERE meeting_id = 'm' AND account_id = 'a' AND app_id = 'b'"


def flaky(*failures: Exception | httpx.Response) -> tuple[Recorder, httpx.Client]:
    """A transport that fails in the given ways, then succeeds."""
    recorder = Recorder()
    pending = list(failures)

    def handler(request: httpx.Request) -> httpx.Response:
        recorder.requests.append(request)
        if pending:
            failure = pending.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return failure
        return httpx.Response(200, json={"success": True, "data": {"id": "m"}})

    return recorder, httpx.Client(transport=httpx.MockTransport(handler))


def run(sql: str, *failures: Exception | httpx.Response, retries: int = 2) -> Recorder:
    recorder, client = flaky(*failures)
    with connect(token="t", http_client=client, retries=retries) as conn:
        conn.driver.sleep = recorder.sleep
        conn.execute(sql)
    return recorder


def test_429_waits_for_retry_after_ms() -> None:
    recorder = run(CREATE, httpx.Response(429, headers={"retry-after-ms": "1500"}))
    assert len(recorder.requests) == 2 and recorder.waits == [1.5]


def test_429_retry_after_seconds_and_http_date_are_capped() -> None:
    recorder = run(CREATE, httpx.Response(429, headers={"retry-after": "3"}))
    assert recorder.waits == [3.0]
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    recorder = run(CREATE, httpx.Response(429, headers={"retry-after": later}))
    assert recorder.waits == [60.0]


def test_post_is_not_retried_after_a_500() -> None:
    with pytest.raises(APIError, match="HTTP 500"):
        run(CREATE, httpx.Response(500, json={"success": False, "error": {"code": 500, "message": "boom"}}))


@pytest.mark.parametrize("error", [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("Server disconnected"), httpx.ReadError("reset")])
def test_post_is_not_retried_when_it_may_have_arrived(error: Exception) -> None:
    recorder, client = flaky(error)
    with connect(token="t", http_client=client) as conn, pytest.raises(OperationalError):
        conn.driver.sleep = recorder.sleep
        conn.execute(CREATE)
    assert len(recorder.requests) == 1


def test_post_is_retried_when_the_connection_never_opened() -> None:
    recorder = run(CREATE, httpx.ConnectError("refused"))
    assert len(recorder.requests) == 2


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(503), httpx.Response(500), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("Server disconnected")],
)
def test_idempotent_methods_retry_on_5xx_timeouts_and_drops(failure: Exception | httpx.Response) -> None:
    recorder = run(PATCH, failure)
    assert len(recorder.requests) == 2
    assert 0.375 <= recorder.waits[0] <= 0.5  # first backoff: 0.5 s less up to 25 % jitter


def test_retries_are_bounded_and_back_off_exponentially() -> None:
    with pytest.raises(APIError, match="HTTP 503"):
        run(PATCH, *[httpx.Response(503)] * 4, retries=3)


def test_retries_zero_means_one_attempt() -> None:
    with pytest.raises(APIError):
        run(PATCH, httpx.Response(503), retries=0)


def test_4xx_other_than_429_is_never_retried(conn: Connection, recorder: Recorder) -> None:
    recorder.reply(404, {"success": False, "error": {"code": 404, "message": "nope"}})
    with pytest.raises(APIError):
        conn.execute(PATCH)
    assert len(recorder.requests) == 1


def test_token_bucket_allows_a_burst_then_paces() -> None:
    now = [0.0]
    bucket = TokenBucket(3, 3.0, clock=lambda: now[0])
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(1.0)
    assert bucket.reserve() == pytest.approx(2.0)
    now[0] = 10.0
    assert bucket.reserve() == 0.0


def test_pacing_waits_are_taken_before_requests(recorder: Recorder) -> None:
    with connect(token="t", rate_limit="2/10", http_client=httpx.Client(transport=httpx.MockTransport(recorder))) as conn:
        conn.driver.sleep = recorder.sleep
        for _ in range(4):
            conn.execute(CREATE)
    assert len(recorder.requests) == 4
    assert len(recorder.waits) == 2 and recorder.waits[1] > recorder.waits[0] > 4


@pytest.mark.parametrize("text, parsed", [("1200/300", (1200, 300.0)), ("0", None), ("off", None), (None, None), ("10/1.5", (10, 1.5))])
def test_parse_rate_limit(text: str | None, parsed: tuple[int, float] | None) -> None:
    assert parse_rate_limit(text) == parsed


@pytest.mark.parametrize("text", ["abc", "10/x", "-1/5", "5/0"])
def test_bad_rate_limit(text: str) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        parse_rate_limit(text)
