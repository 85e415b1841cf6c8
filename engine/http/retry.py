"""When to retry a request, and how long to wait first — safe for mutations.

Like the official SDK, a 429 waits for ``retry-after-ms`` / ``Retry-After``
(seconds or an HTTP date, capped) and everything else backs off exponentially
with jitter. Unlike a blanket retry, a POST (a create) is retried only when it
provably did not take effect: a 429, or a connection that was never
established. A create is never sent twice. PUT, PATCH, DELETE and GET are
idempotent, so they also retry on 5xx, timeouts and dropped connections.

The decisions are pure functions so the sync and async sessions share them.
"""

from __future__ import annotations

import email.utils
import random
import time

import httpx

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
READS = frozenset({"GET", "HEAD", "OPTIONS"})  # every other method may change something
RETRY_STATUSES = frozenset({408, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0

# Raised before a single byte of the request left this machine; any other error
# may come after the server received (and applied) the request.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
_MAYBE_SENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def retry_after_response(response: httpx.Response, http_method: str, attempt: int) -> float | None:
    """Seconds to wait before retrying this response, or None if it must not be retried."""
    status = response.status_code
    if status == 429:
        return _retry_after(response.headers) or backoff(attempt)
    if status in RETRY_STATUSES and http_method in IDEMPOTENT:
        return _retry_after(response.headers) or backoff(attempt)
    return None


def retry_after_error(error: Exception, http_method: str, attempt: int) -> float | None:
    """Seconds to wait before retrying after a transport error, or None."""
    if isinstance(error, NEVER_SENT):
        return backoff(attempt)
    if isinstance(error, _MAYBE_SENT) and http_method in IDEMPOTENT:
        return backoff(attempt)
    return None


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter on the upper quarter, as the SDK does."""
    delay = min(INITIAL_BACKOFF * (2**attempt), MAX_BACKOFF)
    return delay * (1 - 0.25 * random.random())


def _retry_after(headers: httpx.Headers) -> float | None:
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return _cap(float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return _cap(float(value))
    except ValueError:
        pass
    parsed = email.utils.parsedate_to_datetime(value) if _looks_like_date(value) else None
    if parsed is None:
        return None
    return _cap(parsed.timestamp() - time.time())


def _looks_like_date(value: str) -> bool:
    try:
        return email.utils.parsedate_tz(value) is not None
    except (TypeError, ValueError):
        return False


def _cap(seconds: float) -> float:
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)

