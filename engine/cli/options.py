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
    check_count,
    check_timeout,
)


def connection_options(parser: argparse.ArgumentParser, sandbox_flag: bool = True) -> None:
    if sandbox_flag:
        parser.add_argument("--sandbox", action="store_true", help="run against an in-process emulator (no account needed)")
    parser.add_argument("--base-url", help="API base URL (default: the variable the provider names, else its document's server)")
    parser.add_argument("--timeout", type=timeout, default=60.0, help="seconds per request (default 60)")
    parser.add_argument("--retries", type=retries, default=2, help="retries for failed requests (default 2)")
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


def rate_limit(text: str) -> str:
    from cfql.http.pacing import parse_rate_limit

    try:
        parse_rate_limit(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text
