"""The connection flags every command that talks to an API shares, and the Settings they make.

``cfql exec``, ``cfql shell`` (and later commands) add these to their parsers
and read them back with ``connection_settings``, so a flag means the same
everywhere.
"""

from __future__ import annotations

import argparse
import typing as t

from cfql.settings import (
    MAX_CONCURRENCY,
    MAX_RETRIES,
    Settings,
    check_auth,
    check_base_url,
    check_count,
    check_timeout,
)


def connection_options(parser: argparse.ArgumentParser, sandbox_flag: bool = True) -> None:
    if sandbox_flag:
        parser.add_argument("--sandbox", action="store_true", help="run against an in-process emulator (no account needed)")
    parser.add_argument(
        "--base-url", action="append", type=base_url, metavar="[PROVIDER=]URL",
        help="a provider's API base URL (default: the variable the provider names, else its document's server); "
        "repeat as PROVIDER=URL for several",
    )
    parser.add_argument("--timeout", type=timeout, default=60.0, help="seconds per request (default 60)")
    parser.add_argument("--retries", type=retries, default=2, help="retries for failed requests (default 2)")
    parser.add_argument(
        "--rate-limit", type=rate_limit, default=None, metavar="N/SECONDS",
        help="client-side pacing (default: the provider's, e.g. 1200/300; 0 turns it off)",
    )
    parser.add_argument(
        "--auth", type=auth, default=None, metavar="JSON",
        help='per-provider auth, as StackQL\'s --auth: {"okta": {"type": "api_key", "valuePrefix": "SSWS ", '
        '"credentialsenvvar": "OKTA_SECRET_KEY"}} (default: $CFQL_AUTH, else each provider\'s config.auth)',
    )
    registry_options(parser)
    parser.add_argument(
        "--strict", action="store_true",
        help="refuse values outside the enums and bounds of provider documents cfql does not ship "
        "(default: send them with a warning; cfql's own documents always refuse them)",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def registry_options(parser: argparse.ArgumentParser) -> None:
    """``--registry`` and ``--provider-version``: which provider documents a command reads."""
    parser.add_argument(
        "--registry", type=registry, default=None, metavar="DIR|JSON",
        help="provider documents in StackQL's layout (DIR/src/<provider>/<version>/provider.yaml), a file:// URL, "
        'or StackQL\'s JSON form {"url": "file:///...", "localDocRoot": "..."} (default: $CFQL_REGISTRY, else the shipped providers)',
    )
    parser.add_argument(
        "--provider-version", type=provider_version, action="append", default=None, metavar="PROVIDER=VERSION",
        help="use this version of a provider (default: the latest present)",
    )


def connection_settings(args: argparse.Namespace, **more: t.Any) -> Settings:
    """Settings from the shared connection flags, plus what only one command sets."""
    return Settings(
        base_url=args.base_url,
        timeout=args.timeout,
        retries=args.retries,
        rate_limit=args.rate_limit,
        debug=args.debug,
        strict=args.strict,
        auth=args.auth,
        registry=args.registry,
        provider_versions=dict(args.provider_version or ()) or None,
        **more,
    )


def registry_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry-url", type=registry_url, default=None, metavar="URL",
        help="the provider registry REGISTRY LIST and PULL use (default: $CFQL_REGISTRY_URL, else StackQL's public one)",
    )


def chosen_registry_url(args: argparse.Namespace) -> str | None:
    """``--registry-url``, else ``$CFQL_REGISTRY_URL`` (checked the same way), else None: the registry's own."""
    if args.registry_url:
        return t.cast(str, args.registry_url)
    import os

    text = os.environ.get("CFQL_REGISTRY_URL")
    if not text:
        return None
    from cfql.errors import InterfaceError
    from cfql.provider.hub import check_url

    try:
        return check_url(text)
    except InterfaceError as error:
        raise InterfaceError(f"CFQL_REGISTRY_URL: {error}") from None


# Each flag's type checks its value as Settings will, so an impossible value is a usage error
# (one line, exit 2) before anything starts.


def timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    try:
        return check_timeout(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def base_url(text: str) -> str:
    try:
        check_base_url(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def registry(text: str) -> str:
    """Checked now, so a missing folder or bad JSON is a usage error before anything starts."""
    from cfql.provider.registry import Registry, RegistryError

    try:
        Registry.from_option(text)
    except RegistryError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def provider_version(text: str) -> tuple[str, str]:
    name, equals, version = text.partition("=")
    if not equals or not name.strip() or not version.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not PROVIDER=VERSION (for example okta=v0.1.0)")
    return name.strip(), version.strip()


def retries(text: str) -> int:
    return _count(text, 0, MAX_RETRIES)


def concurrency(text: str) -> int:
    return _count(text, 1, MAX_CONCURRENCY)


def _count(text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    try:
        return check_count(value, low, high)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def auth(text: str) -> dict[str, dict[str, t.Any]]:
    """``--auth``: the JSON checked as Settings checks it (argparse names the flag); an error never echoes the text."""
    from cfql.errors import InterfaceError

    try:
        parsed = check_auth(text, "the value")
    except InterfaceError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    assert parsed is not None  # text is never None
    return parsed


def registry_url(text: str) -> str:
    from cfql.errors import InterfaceError
    from cfql.provider.hub import check_url

    try:
        return check_url(text)
    except InterfaceError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def rate_limit(text: str) -> str:
    from cfql.http.pacing import parse_rate_limit

    try:
        parse_rate_limit(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text
