"""Connection settings shared by the CLI, the shell and the library.

An impossible setting (a timeout of 0 or NaN, no workers, negative retries)
is refused when the settings are made, not when the first request hangs or
the first thread fails to start: ``Settings`` raises ``InterfaceError``, and
the CLI's flags use the same checks to fail as usage errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cfql.errors import InterfaceError

# Beyond these a value is a typo, not a wish: a day per request already outlasts any API call
# (and past ~1e11 s the operating system's timers overflow); 100 workers or retries are far past
# what one provider's rate limit lets through.
MAX_TIMEOUT = 86_400.0
MAX_CONCURRENCY = 100
MAX_RETRIES = 100


def check_timeout(value: object) -> float:
    """Seconds per request: a finite number above 0, at most ``MAX_TIMEOUT``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"must be a number of seconds, not {value!r}")
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT:
        raise ValueError(f"must be more than 0 and at most {MAX_TIMEOUT:g} seconds, not {value!r}")
    return float(value)


def check_count(value: object, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"must be a whole number, not {value!r}")
    if not low <= value <= high:
        raise ValueError(f"must be from {low} to {high}, not {value}")
    return value


def check_rate_limit(value: object) -> str | None:
    """``"N/SECONDS"``, ``"0"`` for none, or None for the provider's own."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"must be a string such as '1200/300', not {value!r}")
    from cfql.http.pacing import parse_rate_limit

    parse_rate_limit(value)
    return value


@dataclass
class Settings:
    """Everything a connection needs; ``None`` means "from the environment or the manifest"."""

    token: str | None = None
    api_key: str | None = None
    email: str | None = None
    base_url: str | None = None
    sandbox: bool = False
    timeout: float = 60.0
    retries: int = 2
    rate_limit: str | None = None  # "N/SECONDS" or "0" for none; None: each provider's own (x-cfql-config)
    concurrency: int = 1
    dry_run: bool = False
    debug: bool = False

    def __post_init__(self) -> None:
        checks = {
            "timeout": check_timeout,
            "retries": lambda value: check_count(value, 0, MAX_RETRIES),
            "concurrency": lambda value: check_count(value, 1, MAX_CONCURRENCY),
            "rate_limit": check_rate_limit,
        }
        for name, check in checks.items():
            try:
                setattr(self, name, check(getattr(self, name)))
            except (TypeError, ValueError) as error:
                message = str(error)
                if name == "rate_limit" and message.startswith("rate limit"):
                    raise InterfaceError(message) from None
                raise InterfaceError(f"{name.replace('_', ' ')} {message}") from None

    def __repr__(self) -> str:  # never show credentials, even in a debugger or a log
        hidden = {"token", "api_key"}
        shown = ", ".join(
            f"{k}={'***' if k in hidden and v else repr(v)}" for k, v in self.__dict__.items()
        )
        return f"Settings({shown})"
