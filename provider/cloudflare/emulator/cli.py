"""Command line of the emulator (``cfql emulator ...`` / ``python -m cfql.provider.cloudflare.emulator``).

Serves in the foreground until SIGINT or SIGTERM and then exits 0 without a
traceback, so it can run under a supervisor, in CI or in a terminal alike.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import sys
import threading
from typing import NoReturn

from .emulator import SANDBOX_TOKEN, Emulator
from .faults import Faults

PROG = "cfql emulator"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse prints usage plus the error; a bad flag should cost one line."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _parser() -> _Parser:
    parser = _Parser(prog=PROG, description="Local, stateful twin of the Cloudflare RealtimeKit meetings API.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8787, help="port to bind, 0 = any free (default: %(default)s)")
    parser.add_argument("--state", metavar="FILE", help="SQLite file that keeps data across restarts")
    parser.add_argument("--token", default=SANDBOX_TOKEN, help="API token to accept (default: %(default)s)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS", help="delay added to each response")
    parser.add_argument("--rate-limit", metavar="N/SECONDS", help="e.g. 1200/300: over it, 429 with Retry-After")
    parser.add_argument("--error-rate", type=float, default=0.0, metavar="F", help="share of requests answered 500")
    parser.add_argument("--drop-rate", type=float, default=0.0, metavar="F", help="share of connections dropped")
    parser.add_argument("--seed", type=int, default=0, help="makes --error-rate/--drop-rate reproducible")
    parser.add_argument(
        "--fault-after-write", action="store_true", help="apply 500s and drops after the write took effect"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if not 0 <= args.port <= 65535:
            raise _UsageError(f"--port must be between 0 and 65535, got {args.port}")
        faults = Faults(
            latency=args.latency,
            rate_limit=args.rate_limit,
            error_rate=args.error_rate,
            drop_rate=args.drop_rate,
            seed=args.seed,
            fault_after_write=args.fault_after_write,
        )
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except (_UsageError, ValueError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2

    emulator = Emulator(host=args.host, port=args.port, token=args.token, state=args.state, faults=faults)
    try:
        emulator.start()
    except (OSError, sqlite3.Error) as exc:
        print(f"{PROG}: error: cannot start on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    print(f"{PROG} listening on {emulator.url} (token: {emulator.token})", flush=True)
    stopping.wait()
    emulator.stop()
    return 0
