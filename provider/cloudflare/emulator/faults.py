"""Failures on demand: latency, Cloudflare-style rate limiting, 500s and dropped connections.

``Faults`` is the mutable setting (CLI flags and tests change it, even while
the emulator serves); ``FaultInjector`` turns it into per-request decisions.

Determinism: whether request number *n* fails depends only on ``seed`` and
*n* (the emulator's request ordinal), never on timing or thread scheduling,
so a sequential client sees the same failures on every run.

Decidability: by default a 500 or a drop is decided *before* the request is
processed, so the write did not happen and a retry is always safe to
reason about.  With ``fault_after_write=True`` the request is processed and
committed first and only its response is replaced by a 500 or lost; that
simulates the case a reliable client must handle with idempotent retries.

Time: latency and the rate-limit window read a ``Clock``. The emulator's is
the real one; a test hands it one it moves by hand, so whether a window has
slid or a delay was added never depends on how fast the machine is.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Fate = Literal["ok", "drop", "error"]


def parse_rate_limit(text: str) -> tuple[int, float]:
    """``"1200/300"`` → (1200 requests, 300.0 seconds)."""
    count, sep, window = text.partition("/")
    try:
        limit, seconds = int(count), float(window)
    except ValueError:
        limit, seconds = 0, 0.0
    if not sep or limit < 1 or not (0 < seconds < math.inf):
        raise ValueError(f"rate_limit must look like REQUESTS/SECONDS, e.g. 1200/300; got {text!r}")
    return limit, seconds


def _rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number between 0 and 1; got {value!r}")
    return float(value)


def _checked(name: str, value: Any) -> Any:
    """Validate one field, so a bad setting fails where it is made, not mid-request."""
    if name == "latency":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
            raise ValueError(f"latency must be a number of seconds >= 0; got {value!r}")
        return float(value)
    if name in ("error_rate", "drop_rate"):
        return _rate(name, value)
    if name == "rate_limit":
        if value is not None:
            parse_rate_limit(value)
        return value
    if name == "seed":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"seed must be an integer; got {value!r}")
        return value
    if name == "fault_after_write":
        if not isinstance(value, bool):
            raise ValueError(f"fault_after_write must be a boolean; got {value!r}")
        return value
    raise AttributeError(f"Faults has no setting {name!r}")


@dataclass
class Faults:
    """What goes wrong, and how often. Every field may be changed at runtime.

    latency: seconds added before every response.
    rate_limit: ``"REQUESTS/SECONDS"`` sliding window (Cloudflare's is 1200/300);
        over it a request gets 429 with ``Retry-After``. None = no limit.
    error_rate: share of requests answered 500.
    drop_rate: share of requests whose connection is closed without a response.
    seed: makes the 500/drop choice reproducible.
    fault_after_write: apply 500/drop after the request took effect.
    """

    latency: float = 0.0
    rate_limit: str | None = None
    error_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int = 0
    fault_after_write: bool = False

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, _checked(name, value))


class Clock(Protocol):
    """Where the emulator's faults read the time and wait."""

    def now(self) -> float:
        """Seconds on a clock that never goes back."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""


class SystemClock:
    """The real time: ``time.monotonic`` and ``time.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class FaultInjector:
    """Applies a ``Faults`` setting to the stream of requests (thread-safe)."""

    def __init__(self, faults: Faults, clock: Clock | None = None) -> None:
        self.faults = faults
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._lock = threading.Lock()
        self._window_spec: str | None = None
        self._hits: deque[float] = deque()

    def delay(self) -> None:
        """Wait the configured latency, if any, before a request is answered."""
        latency = self.faults.latency
        if latency:
            self.clock.sleep(latency)

    def throttle(self) -> int | None:
        """Record a request against the rate limit; return Retry-After seconds if it is over.

        Refused requests are not counted, so a client that waits as told gets
        through (counting them would lock out a client that retries steadily).
        """
        spec = self.faults.rate_limit
        if spec is None:
            return None
        limit, window = parse_rate_limit(spec)
        now = self.clock.now()
        with self._lock:
            if spec != self._window_spec:  # a new limit starts a fresh window
                self._window_spec, self._hits = spec, deque()
            while self._hits and self._hits[0] <= now - window:
                self._hits.popleft()
            if len(self._hits) >= limit:
                return max(1, math.ceil(self._hits[0] + window - now))
            self._hits.append(now)
            return None

    def fate(self, ordinal: int) -> Fate:
        """Decide from (seed, ordinal) alone whether a request is dropped, fails, or goes through.

        One uniform roll per request: below ``drop_rate`` drops, at or above
        ``1 - error_rate`` fails, so each share is exact on its own.
        """
        faults = self.faults
        if not faults.drop_rate and not faults.error_rate:
            return "ok"
        roll = random.Random(f"{faults.seed}:{ordinal}").random()
        if roll < faults.drop_rate:
            return "drop"
        if roll >= 1 - faults.error_rate:
            return "error"
        return "ok"
