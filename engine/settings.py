"""Connection settings shared by the CLI, the shell and the library.

An impossible setting (a timeout of 0 or NaN, no workers, negative retries)
is refused when the settings are made, not when the first request hangs or
the first thread fails to start: ``Settings`` raises ``InterfaceError``, and
the CLI's flags use the same checks to fail as usage errors.
"""

from __future__ import annotations

import math
import os
import re
import typing as t
from dataclasses import dataclass
from urllib.parse import urlsplit

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


def check_auth(value: object, what: str = "auth") -> dict[str, dict[str, t.Any]] | None:
    """StackQL's per-provider auth override (``--auth``): a JSON object (text or mapping) of auth objects.

    None means ``$CFQL_AUTH``, if set. Only the shape is checked here; a type
    cfql cannot send is refused before the first request to that provider.
    """
    if value is None:
        value, what = os.environ.get("CFQL_AUTH") or None, "CFQL_AUTH"
        if value is None:
            return None
    from cfql.provider.auth import AuthConfigError, parse_overrides

    try:
        return parse_overrides(value, what)
    except AuthConfigError as error:
        raise InterfaceError(str(error)) from None


_NAMED_URL = re.compile(r"(?P<name>[A-Za-z0-9_.-]+)=(?P<url>.+)")


def check_base_url(value: object) -> str | t.Sequence[str] | t.Mapping[str, str] | None:
    """``--base-url``: each URL absolute http(s); ``PROVIDER=URL`` names the provider it serves."""
    for name, url in base_urls(value).items():
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            where = f" for {name}" if name else ""
            raise ValueError(f"{url!r}{where} is not an http(s) URL")
    return value  # type: ignore[return-value]


def base_urls(value: object) -> dict[str, str]:
    """The base URLs by provider name ("" for a URL that names none)."""
    if value is None:
        return {}
    if isinstance(value, t.Mapping):
        return {str(k): str(v) for k, v in value.items()}
    items = [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    found: dict[str, str] = {}
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"must be a URL or PROVIDER=URL, not {item!r}")
        match = _NAMED_URL.fullmatch(item)
        name, url = (match["name"], match["url"]) if match and "://" not in match["name"] else ("", item)
        if name in found:
            raise ValueError(f"names {name or 'no provider'} twice")
        found[name] = url
    return found


@dataclass
class Settings:
    """Everything a connection needs; ``None`` means "from the environment or the manifest"."""

    token: str | None = None
    api_key: str | None = None
    email: str | None = None
    # One URL for the one provider a session uses, or "PROVIDER=URL" (several, as a list or mapping)
    base_url: str | t.Sequence[str] | t.Mapping[str, str] | None = None
    sandbox: bool = False
    timeout: float = 60.0
    retries: int = 2
    rate_limit: str | None = None  # "N/SECONDS" or "0" for none; None: each provider's own (x-cfql-config)
    concurrency: int = 1
    dry_run: bool = False
    debug: bool = False
    # Refuse values outside the enums and bounds of documents cfql does not ship (default: warn and send them)
    strict: bool = False
    # StackQL's --registry: a folder, a file:// URL or its JSON form; None: $CFQL_REGISTRY or the shipped providers
    registry: str | None = None
    provider_versions: t.Mapping[str, str] | None = None  # pinned versions by provider name
    # {"okta": {"type": "api_key", ...}}: replaces a provider's config.auth; None: $CFQL_AUTH, if set
    auth: t.Mapping[str, t.Mapping[str, t.Any]] | str | None = None

    def __post_init__(self) -> None:
        self.auth = check_auth(self.auth)
        checks = {
            "timeout": check_timeout,
            "retries": lambda value: check_count(value, 0, MAX_RETRIES),
            "concurrency": lambda value: check_count(value, 1, MAX_CONCURRENCY),
            "rate_limit": check_rate_limit,
            "base_url": check_base_url,
        }
        for name, check in checks.items():
            try:
                setattr(self, name, check(getattr(self, name)))
            except (TypeError, ValueError) as error:
                message = str(error)
                if name == "rate_limit" and message.startswith("rate limit"):
                    raise InterfaceError(message) from None
                raise InterfaceError(f"{name.replace('_', ' ')} {message}") from None

    @property
    def base_urls(self) -> dict[str, str]:
        return base_urls(self.base_url)

    def __repr__(self) -> str:  # never show credentials, even in a debugger or a log
        hidden = {"token", "api_key"}
        shown = ", ".join(
            f"{k}={'***' if k in hidden and v else repr(_types(v) if k == 'auth' else v)}" for k, v in self.__dict__.items()
        )
        return f"Settings({shown})"


def _types(auth: t.Mapping[str, t.Mapping[str, t.Any]] | None) -> dict[str, t.Any] | None:
    """An auth override as a repr shows it: each provider's type only (a block might hold a value inline)."""
    return None if auth is None else {name: block.get("type") for name, block in auth.items()}
