"""Credentials from a provider's ``config.auth`` block, as headers for each request.

The manifest says which environment variables and headers a provider uses
(Cloudflare: a bearer token, or an API key plus e-mail), so this module knows
no provider by name.
"""

from __future__ import annotations

import os
import typing as t


class MissingCredentials(Exception):
    """Raised with a sentence naming what to set; the engine maps it to its own error."""


def auth_headers(
    auth: t.Mapping[str, t.Any],
    token: str | None = None,
    api_key: str | None = None,
    email: str | None = None,
    environ: t.Mapping[str, str] = os.environ,
) -> dict[str, str]:
    """Explicit credentials win over the environment; a token wins over a key pair."""
    token_var = auth.get("credentialsenvvar")
    token = token or (environ.get(token_var) if token_var else None)
    if token:
        return {"Authorization": f"Bearer {_header_safe(token)}"}
    hints = [token_var] if token_var else []
    for alternative in auth.get("alternatives", ()):
        if alternative.get("type") != "api_key":
            continue
        key = api_key or environ.get(alternative["keyenvvar"])
        mail = email or environ.get(alternative["emailenvvar"])
        if key and mail:
            return {
                alternative["key_header"]: _header_safe(key),
                alternative["email_header"]: _header_safe(mail),
            }
        hints.append(f"{alternative['keyenvvar']} and {alternative['emailenvvar']}")
    raise MissingCredentials("no credentials: set " + " or ".join(hints))


def _header_safe(value: str) -> str:
    """Refuse values that would split a header; the message must not echo the secret."""
    if any(ch in value for ch in "\r\n\0"):
        raise MissingCredentials("credentials contain a line break or NUL character")
    return value.strip()
