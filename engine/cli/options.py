"""The connection flags every command that talks to an API shares, and the Settings they make.

``cfql exec``, ``cfql shell`` (and later commands) add these to their parsers
and read them back with ``connection_settings``, so a flag means the same
everywhere.
"""

from __future__ import annotations

import argparse
import typing as t

from cfql.settings import Settings


def connection_options(parser: argparse.ArgumentParser, sandbox_flag: bool = True) -> None:
    if sandbox_flag:
        parser.add_argument("--sandbox", action="store_true", help="run against an in-process emulator (no account needed)")
    parser.add_argument("--base-url", help="API base URL (default: the variable the provider names, else its document's server)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    parser.add_argument("--retries", type=non_negative, default=2, help="retries for failed requests (default 2)")
    parser.add_argument(
        "--rate-limit", type=rate_limit, default=None, metavar="N/SECONDS",
        help="client-side pacing (default: the provider's, e.g. 1200/300; 0 turns it off)",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def connection_settings(args: argparse.Namespace, **more: t.Any) -> Settings:
    """Settings from the shared connection flags, plus what only one command sets."""
    return Settings(
        base_url=args.base_url,
        timeout=args.timeout,
        retries=args.retries,
        rate_limit=args.rate_limit,
        debug=args.debug,
        **more,
    )


def non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def rate_limit(text: str) -> str:
    from cfql.http.pacing import parse_rate_limit

    try:
        parse_rate_limit(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text
