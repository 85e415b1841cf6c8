"""Credentials from a provider's ``config.auth`` block, sent exactly as StackQL sends them.

The manifest says which environment variables and headers a provider uses, so
this module knows no provider by name. Supported ``type`` values, as StackQL's
published providers use them:

* ``bearer``: ``Authorization: Bearer <credentialsenvvar>`` (StackQL always
  writes ``Bearer``; a ``valuePrefix`` is ignored, as there);
* ``api_key``: the key in the header ``name`` (default ``Authorization``), after
  ``valuePrefix`` (okta ``SSWS ``, godaddy ``sso-key ``, pagerduty
  ``Token token=``); ``location: query`` puts it in the query parameter ``name``.
  cfql's own two-header form — ``key_header`` plus ``email_header`` from
  ``keyenvvar`` and ``emailenvvar`` — is an ``api_key`` too;
* ``custom``: the value in the header (or, ``location: query``, the query
  parameter) ``name``; a ``successor`` block adds a further credential
  (datadog's ``DD-APPLICATION-KEY``), and its own ``successor`` another;
* ``basic``: ``Authorization: Basic base64(user:password)`` from ``username_var``
  and ``password_var`` (or ``api_key_var`` and ``api_secret_var``), or from
  ``credentialsenvvar`` holding the already-encoded value, as StackQL's
  ``--auth`` examples do; ``valuePrefix`` replaces ``Basic ``;
* ``null_auth``: nothing is sent.

Every other type (``service_account``, ``aws_signing_v4``, ``azure_default``,
``oauth2``, ``interactive`` ...) is refused by ``check`` with "auth type X is not
supported yet", before anything is sent. cfql's manifests may list further
ways in ``alternatives``; the first whose values are available is used, one
passed to cfql explicitly (``Given``) before one from the environment.

Which explicit value fills which slot — a secret goes only where it fits:
``token`` fills a ``bearer``, ``api_key`` or ``custom`` credential; ``api_key``
fills an ``api_key`` or ``custom`` one (before ``token``) and, with ``email``,
the two-header form. Only the first credential of a ``successor`` chain is
filled; the rest come from their variables. ``basic`` is never filled from
them: its password is not a token, and guessing would send one where the
provider did not ask for it.

Besides the headers (and query parameters), the result says how a dry run
shows them (secret values masked), which credential was used, so a 401 can
name it, and every secret value, so any text can be scrubbed of them.
"""

from __future__ import annotations

import base64
import json
import os
import re
import typing as t
from dataclasses import dataclass, field

from cfql.http.messages import sent_forms

MASK = "***"
SUPPORTED = ("bearer", "api_key", "custom", "basic", "null_auth")
LOCATIONS = ("header", "query")
MAX_CHAIN = 8  # successors deep: YAML anchors can make a chain that never ends
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class MissingCredentials(Exception):
    """Raised with a sentence naming what to set; the engine maps it to its own error."""


class AuthConfigError(Exception):
    """The auth block cannot be used as written; raised before any request is made."""


class UnsupportedAuth(AuthConfigError):
    """A ``type`` (or ``location``) cfql cannot send yet, such as ``aws_signing_v4``."""


@dataclass(frozen=True, eq=False)
class Credentials:
    headers: t.Mapping[str, str] = field(default_factory=dict)
    shown: t.Mapping[str, str] = field(default_factory=dict)  # the same headers, secrets masked
    source: str = ""  # which credential this is, for messages ("$CLOUDFLARE_API_TOKEN as Authorization")
    secrets: tuple[str, ...] = ()  # the secret values themselves (raw and as sent), to scrub from any text
    query: t.Mapping[str, str] = field(default_factory=dict)  # query parameters (``location: query``)
    shown_query: t.Mapping[str, str] = field(default_factory=dict)  # the same, masked

    def __repr__(self) -> str:  # never the values, even in a debugger or a log
        return f"Credentials(headers={dict(self.shown)!r}, query={dict(self.shown_query)!r}, source={self.source!r})"

    def __add__(self, other: Credentials) -> Credentials:
        """Both credentials together: a ``successor`` adds its header to its predecessor's."""
        return Credentials(
            headers={**self.headers, **other.headers},
            shown={**self.shown, **other.shown},
            source=" and ".join(s for s in (self.source, other.source) if s),
            secrets=self.secrets + other.secrets,
            query={**self.query, **other.query},
            shown_query={**self.shown_query, **other.shown_query},
        )


@dataclass(frozen=True)
class Given:
    """Credentials passed explicitly (``connect(token=...)``, a sandbox); they win over the environment."""

    token: str | None = None
    api_key: str | None = None
    email: str | None = None

    def __repr__(self) -> str:
        hidden = ", ".join(f"{k}={MASK if v else None}" for k, v in (("token", self.token), ("api_key", self.api_key)))
        return f"Given({hidden}, email={self.email!r})"


# -- checking a block -------------------------------------------------------------------------


def check(auth: t.Any) -> None:
    """Raise ``AuthConfigError`` unless every way ``auth`` offers (alternatives, successors) can be sent."""
    if not isinstance(auth, t.Mapping):
        raise AuthConfigError(f"config.auth must be a mapping, not {_kind_of(auth)}")
    if not auth:
        return  # nothing to check; ``credentials`` says it names no credential
    alternatives = auth.get("alternatives") or ()
    if not isinstance(alternatives, (list, tuple)):
        raise AuthConfigError("config.auth alternatives must be a list")
    for option in [auth, *alternatives]:
        for link in _chain(option):
            _check_link(link)


def _chain(option: t.Any) -> list[t.Mapping[str, t.Any]]:
    """``option`` and its successors, in order."""
    links: list[t.Mapping[str, t.Any]] = []
    while option is not None:
        if not isinstance(option, t.Mapping):
            raise AuthConfigError(f"an auth block must be a mapping, not {_kind_of(option)}")
        if len(links) == MAX_CHAIN:
            raise AuthConfigError(f"an auth successor chain is longer than {MAX_CHAIN}")
        links.append(option)
        option = option.get("successor")
    return links


def _type(link: t.Mapping[str, t.Any]) -> str:
    kind = link.get("type", "bearer")
    if not isinstance(kind, str) or not kind:
        raise AuthConfigError(f"auth type must be a name such as bearer, not {kind!r}")
    return kind.lower()


def _check_link(link: t.Mapping[str, t.Any]) -> None:
    kind = _type(link)
    if kind not in SUPPORTED:
        raise UnsupportedAuth(f"auth type {kind} is not supported yet")
    for key in ("name", "valuePrefix", "location", "key_header", "email_header"):
        if key in link and not isinstance(link[key], str):
            raise AuthConfigError(f"auth type {kind}: {key} must be a string, not {_kind_of(link[key])}")
    if kind == "null_auth":
        return
    location = link.get("location", "header")
    if location not in LOCATIONS:
        raise UnsupportedAuth(f"auth location {location!r} is not supported yet (header or query)")
    if location == "query" and kind in ("bearer", "basic"):
        raise UnsupportedAuth(f"auth type {kind} goes in a header, not in the query")
    if kind == "custom" and not link.get("name"):
        raise AuthConfigError("auth type custom needs a name (the header or query parameter to fill)")
    if location == "query" and not link.get("name"):
        raise AuthConfigError(f"auth type {kind} in the query needs a name (the query parameter)")
    for key in ("name", "key_header", "email_header"):
        if location == "header" and link.get(key) and not _HEADER_NAME.fullmatch(link[key]):
            raise AuthConfigError(f"auth type {kind}: {link[key]!r} is not a header name")
    if "key_header" in link:
        if not (link.get("keyenvvar") and link.get("emailenvvar") and link.get("email_header")):
            raise AuthConfigError("auth key_header needs keyenvvar, emailenvvar and email_header")
    elif kind == "basic":
        if not (_var(link, "credentialsenvvar") or _pairs(link)):
            raise AuthConfigError("auth type basic needs username_var and password_var (or credentialsenvvar)")
    elif not _single_var(link):
        raise AuthConfigError(f"auth type {kind} needs credentialsenvvar (the variable holding the credential)")


def _var(link: t.Mapping[str, t.Any], key: str) -> str | None:
    value = link.get(key)
    return value if isinstance(value, str) and value else None


def _single_var(link: t.Mapping[str, t.Any]) -> str | None:
    return _var(link, "credentialsenvvar") or _var(link, "keyenvvar")


def _pairs(link: t.Mapping[str, t.Any]) -> list[tuple[str, str]]:
    """Basic's (user, password) variable pairs, in StackQL's order."""
    pairs = [("username_var", "password_var"), ("api_key_var", "api_secret_var")]
    return [(u, p) for u, p in ((_var(link, a), _var(link, b)) for a, b in pairs) if u and p]  # type: ignore[misc]


def _kind_of(value: t.Any) -> str:
    return {dict: "an object", list: "a list", str: "a string"}.get(type(value), repr(value))


# -- credentials ------------------------------------------------------------------------------


def credentials(auth: t.Mapping[str, t.Any], given: Given = Given(), environ: t.Mapping[str, str] = os.environ) -> Credentials:
    """The first way of authenticating in ``auth`` (then its ``alternatives``) whose values are available.

    A way filled from ``given`` wins over one from the environment. Raises
    ``AuthConfigError`` for a block that cannot be sent, ``MissingCredentials``
    (naming the variables to set) when no way has its values.
    """
    check(auth)
    if not auth:
        raise MissingCredentials("no credentials configured: the provider's config.auth is empty")
    hints: list[str] = []
    from_environment: Credentials | None = None
    for option in [auth, *(auth.get("alternatives") or ())]:
        found, explicit = _option(option, given, environ, hints)
        if found is not None and explicit:
            return found
        from_environment = from_environment or found
    if from_environment is not None:
        return from_environment
    raise MissingCredentials(f"no credentials: set {' or '.join(hints)}")


def _option(
    option: t.Mapping[str, t.Any], given: Given, environ: t.Mapping[str, str], hints: list[str]
) -> tuple[Credentials | None, bool]:
    """One way (a block and its successors): its credentials and whether the first came from ``given``."""
    total = Credentials()
    missing: list[str] = []
    explicit = False
    for position, link in enumerate(_chain(option)):
        found, hint, from_given = _link(link, given if position == 0 else Given(), environ)
        if found is None:
            missing.append(hint)
        else:
            total += found
            explicit = explicit or from_given
    if missing:
        hints.append(" and ".join(missing))
        return None, False
    return total, explicit


def _link(link: t.Mapping[str, t.Any], given: Given, environ: t.Mapping[str, str]) -> tuple[Credentials | None, str, bool]:
    """One credential: (it or None, what to set when it is missing, whether it came from ``given``)."""
    kind = _type(link)
    if kind == "null_auth":
        return Credentials(), "", False
    if "key_header" in link:
        return _two_headers(link, given, environ)
    if kind == "basic":
        return _basic(link, environ)
    variable = _single_var(link) or ""
    explicit = given.token if kind == "bearer" else (given.api_key or given.token)
    value = explicit or environ.get(variable)
    if not value:
        return None, variable, False
    if kind == "bearer":
        name, prefix = "Authorization", "Bearer "
    else:
        name, prefix = link.get("name") or "Authorization", link.get("valuePrefix", "")
    origin = _origin(explicit, variable)
    if link.get("location") == "query":
        value = _clean(value, origin, header=False)
        return Credentials(
            query={name: prefix + value},
            shown_query={name: MASK},
            source=f"{origin} as query parameter {name}",
            secrets=sent_forms(value, prefix + value),
        ), "", bool(explicit)
    value = _clean(value, origin)
    return Credentials(
        headers={name: prefix + value}, shown={name: prefix + MASK}, source=f"{origin} as {name}", secrets=(value,)
    ), "", bool(explicit)


def _two_headers(link: t.Mapping[str, t.Any], given: Given, environ: t.Mapping[str, str]) -> tuple[Credentials | None, str, bool]:
    """cfql's form: a key and the account's e-mail, each in its own header."""
    key_var, mail_var = link["keyenvvar"], link["emailenvvar"]
    key = given.api_key or environ.get(key_var)
    mail = given.email or environ.get(mail_var)
    if not (key and mail):
        return None, " and ".join(v for v, have in ((key_var, key), (mail_var, mail)) if not have), False
    key_origin = _origin(given.api_key, key_var)
    key, mail = _clean(key, key_origin), _clean(mail, _origin(given.email, mail_var))
    key_header, email_header = link["key_header"], link["email_header"]
    return Credentials(
        headers={key_header: key, email_header: mail},
        shown={key_header: MASK, email_header: mail},
        source=f"{key_origin} as {key_header}",
        secrets=(key,),
    ), "", bool(given.api_key)


def _basic(link: t.Mapping[str, t.Any], environ: t.Mapping[str, str]) -> tuple[Credentials | None, str, bool]:
    """``Authorization: Basic base64(user:password)``, or the encoded value a variable already holds."""
    prefix = link.get("valuePrefix") or "Basic "
    encoded_var = _var(link, "credentialsenvvar")
    encoded = environ.get(encoded_var) if encoded_var else None
    if encoded:
        encoded = _clean(encoded, f"${encoded_var}")
        secrets: tuple[str, ...] = (encoded, *_decoded(encoded))
        origin = f"${encoded_var}"
    else:
        for user_var, password_var in _pairs(link):
            user, password = environ.get(user_var), environ.get(password_var)
            if user and password:
                break
        else:
            wanted = [f"{u} and {p}" for u, p in _pairs(link)] + ([encoded_var] if encoded_var else [])
            return None, " or ".join(wanted), False
        # base64 carries any character: only the line breaks a pasted value may end with are refused
        user, password = _clean(user, f"${user_var}", header=False), _clean(password, f"${password_var}", header=False)
        if ":" in user:
            raise MissingCredentials(f"${user_var} holds a ':', which a basic-auth user name cannot contain")
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        secrets = (encoded, password, user, f"{user}:{password}")
        origin = f"${user_var} and ${password_var}"
    name = "Authorization"
    return Credentials(
        headers={name: prefix + encoded}, shown={name: prefix + MASK}, source=f"{origin} as {name}", secrets=secrets
    ), "", False


def _decoded(encoded: str) -> tuple[str, ...]:
    """The user and password inside an encoded basic credential, so they are scrubbed too."""
    try:
        plain = base64.b64decode(encoded, validate=True).decode("utf-8")
    except ValueError:
        return ()
    return (plain, *plain.split(":", 1))


def _origin(explicit: str | None, variable: str | None) -> str:
    return "the credential passed to cfql" if explicit else f"${variable}"


def _clean(value: str, origin: str, header: bool = True) -> str:
    """Refuse values that would split a header or that a header cannot carry; the message never echoes them."""
    if any(ch in value for ch in "\r\n\0"):
        raise MissingCredentials(f"{origin} contains a line break or NUL character")
    value = value.strip()
    if header and not value.isascii():
        raise MissingCredentials(f"{origin} contains a character that is not ASCII, which an HTTP header cannot carry")
    return value


# -- what else reads an auth block ------------------------------------------------------------


def credential_env_vars(auth: t.Any) -> set[str]:
    """Every environment variable an auth block reads, in any of its forms, however nested.

    ``credentialsenvvar``, ``keyIDenvvar``, ``keyenvvar``, ``emailenvvar``,
    ``credentialsfilepathenvvar`` (any key ending in ``envvar``), basic's
    ``username_var``/``password_var``/``api_key_var``/``api_secret_var`` and
    oauth2's ``client_id_env_var``/``client_secret_env_var`` (any key ending in
    ``_var``), in the block, its ``alternatives`` and its ``successor`` chain.
    Templates must never be shown them.
    """
    found: set[str] = set()
    if isinstance(auth, t.Mapping):
        for key, value in auth.items():
            if isinstance(value, str):
                if value and isinstance(key, str) and key.lower().endswith(("envvar", "_var")):
                    found.add(value)
            else:
                found |= credential_env_vars(value)
    elif isinstance(auth, (list, tuple)):
        for item in auth:
            found |= credential_env_vars(item)
    return found


def parse_overrides(value: t.Any, what: str = "auth") -> dict[str, dict[str, t.Any]]:
    """StackQL's ``--auth``: a JSON object (or mapping) of one auth block per provider name.

    Only its shape is checked here: a type cfql cannot send is refused when a
    request to that provider is about to be made, so one ``--auth`` string can
    also name providers (``google``'s ``service_account``) this run never uses.
    """
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise AuthConfigError(f"{what} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})") from None
        except (ValueError, RecursionError):
            raise AuthConfigError(f"{what} is not valid JSON") from None
    if not isinstance(value, t.Mapping):
        raise AuthConfigError(
            f'{what} must be a JSON object with one auth object per provider, such as {{"okta": {{"type": "api_key", ...}}}}, '
            f"not {_kind_of(value)}"
        )
    parsed: dict[str, dict[str, t.Any]] = {}
    for name, block in value.items():
        if not isinstance(name, str) or not name:
            raise AuthConfigError(f"{what}: provider names must be non-empty strings, not {name!r}")
        if not isinstance(block, t.Mapping):
            raise AuthConfigError(f"{what} for {name} must be an object such as {{\"type\": \"bearer\", ...}}, not {_kind_of(block)}")
        if not isinstance(block.get("type"), str) or not block["type"]:
            raise AuthConfigError(f'{what} for {name} needs a "type" (bearer, api_key, custom, basic or null_auth)')
        parsed[name] = dict(block)
    return parsed
