"""Client-side pacing: a token bucket so bulk work runs at the API's limit instead of tripping it.

Many APIs allow N requests per period and then block the
client for a while; waiting a little before each request past the budget is
far cheaper than that block. The default budget is the provider's
(``x-cfql-config.rateLimit``). The bucket starts full (a burst of N) and refills at
N / period per second.
"""

from __future__ import annotations

import threading
import time
import typing as t


def parse_rate_limit(text: str | None) -> tuple[int, float] | None:
    """``"N/SECONDS"`` → (N, SECONDS); ``"0"``, ``"off"`` or None → no pacing."""
    if text is None or text.strip().lower() in ("0", "off", "none", ""):
        return None
    count, sep, period = text.partition("/")
    try:
        n, seconds = int(count), float(period) if sep else 1.0
    except ValueError:
        raise ValueError(f"rate limit {text!r}: expected N/SECONDS, e.g. 1200/300, or 0 for none") from None
    if n <= 0 or seconds <= 0:
        raise ValueError(f"rate limit {text!r}: both numbers must be positive (0 alone turns pacing off)")
    return n, seconds


class TokenBucket:
    """Thread-safe; ``reserve()`` says how long the caller must wait for its token."""

    def __init__(self, capacity: int, period: float, clock: t.Callable[[], float] = time.monotonic):
        self.capacity = capacity
        self.rate = capacity / period
        self._clock = clock
        self._tokens = float(capacity)
        self._updated = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token (possibly going into debt) and return the seconds to wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class Pacer:
    """The bucket plus a hook so a progress bar can show that cfql is waiting, not stuck."""

    def __init__(self, limit: tuple[int, float] | None):
        self.bucket = TokenBucket(*limit) if limit else None
        self.on_wait: t.Callable[[float], None] | None = None

    def delay(self) -> float:
        if self.bucket is None:
            return 0.0
        wait = self.bucket.reserve()
        if wait > 0 and self.on_wait is not None:
            self.on_wait(wait)
        return wait
