"""Credentials from a provider's ``config.auth`` block, as headers for each request.

The manifest says which environment variables and headers a provider uses
(Cloudflare: a bearer token, or an API key plus e-mail, as ``alternatives``),
so this module knows no provider by name. Supported ``type`` values:

* ``bearer``: ``Authorization: Bearer <credentialsenvvar>``;
* ``api_key``: the key in the header ``name`` (default ``Authorization``) with
  an optional ``valuePrefix``, or — cfql's two-header form — ``key_header`` plus
  ``email_header`` from ``keyenvvar`` and ``emailenvvar``;
* ``null_auth``: nothing is sent.

Besides the headers, the result says how a dry run may show them (secret
values masked) and which credential was used, so a 401 can name it.
"""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass, field

MASK = "***"


class MissingCredentials(Exception):
    """Raised with a sentence naming what to set; the engine maps it to its own error."""


@dataclass(frozen=True, eq=False)
class Credentials:
    headers: t.Mapping[str, str] = field(default_factory=dict)
    shown: t.Mapping[str, str] = field(default_factory=dict)  # the same headers, secrets masked
    source: str = ""  # which credential this is, for messages ("$CLOUDFLARE_API_TOKEN as Authorization")
    secrets: tuple[str, ...] = ()  # the secret values themselves, to scrub from any text


@dataclass(frozen=True)
class Given:
    """Credentials passed explicitly (``connect(token=...)``, a sandbox); they win over the environment."""

    token: str | None = None
    api_key: str | None = None
    email: str | None = None


def credentials(auth: t.Mapping[str, t.Any], given: Given = Given(), environ: t.Mapping[str, str] = os.environ) -> Credentials:
    """The first way of authenticating in ``auth`` (then its ``alternatives``) whose values are available."""
    hints: list[str] = []
    for option in [auth, *(auth.get("alternatives") or ())]:
        found = _one(option, given, environ, hints)
        if found is not None:
            return found
    wanted = " or ".join(h for h in hints if h)
    raise MissingCredentials(f"no credentials: set {wanted}" if wanted else "no credentials configured")


def _one(option: t.Mapping[str, t.Any], given: Given, environ: t.Mapping[str, str], hints: list[str]) -> Credentials | None:
    kind = option.get("type", "bearer")
    if kind == "null_auth":
        return Credentials()
    if "key_header" in option:  # the two-header form: a key and the account's e-mail
        key = given.api_key or environ.get(option.get("keyenvvar", ""))
        mail = given.email or environ.get(option.get("emailenvvar", ""))
        hints.append(f"{option.get('keyenvvar')} and {option.get('emailenvvar')}")
        if not (key and mail):
            return None
        key_header, email_header = option["key_header"], option["email_header"]
        return Credentials(
            headers={key_header: _header_safe(key), email_header: _header_safe(mail)},
            shown={key_header: MASK, email_header: _header_safe(mail)},
            source=f"{_origin(given.api_key, option.get('keyenvvar'))} as {key_header}",
            secrets=(_header_safe(key),),
        )
    variable = option.get("credentialsenvvar") or option.get("keyenvvar")
    hints.append(variable or "")
    value = given.token or (environ.get(variable) if variable else None)
    if not value:
        return None
    if kind == "bearer":
        name, prefix = "Authorization", "Bearer "
    else:
        name, prefix = option.get("name", "Authorization"), option.get("valuePrefix", "")
    return Credentials(
        headers={name: prefix + _header_safe(value)},
        shown={name: prefix + MASK},
        source=f"{_origin(given.token, variable)} as {name}",
        secrets=(_header_safe(value),),
    )


def _origin(explicit: str | None, variable: str | None) -> str:
    return "the credential passed to cfql" if explicit else f"${variable}"


def _header_safe(value: str) -> str:
    """Refuse values that would split a header; the message must not echo the secret."""
    if any(ch in value for ch in "\r\n\0"):
        raise MissingCredentials("credentials contain a line break or NUL character")
    return value.strip()
