"""The ``cfql`` command: ``exec`` runs statements, ``emulator`` serves the local RealtimeKit twin.

Errors are one line on stderr and a non-zero exit status; a traceback only
with ``--debug``. Heavy modules are imported only by the subcommand that
needs them, so ``cfql exec`` starts quickly.
"""

from __future__ import annotations

import argparse
import sys
import typing as t

from engine.output import FORMATS

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cfql", description="SQL for cloud APIs (Cloudflare RealtimeKit).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    run = commands.add_parser("exec", help="run SQL statements", description="Run ;-separated statements.")
    run.add_argument("sql", nargs="?", help="statements to run, separated by ;")
    run.add_argument("-i", "--infile", metavar="FILE", help="run the statements in FILE (.iql)")
    _connection_options(run)
    run.add_argument("-o", "--output", choices=FORMATS, default="table", help="result format (default: table)")
    run.add_argument("-H", "--no-headers", action="store_true", help="omit column headers")
    run.add_argument("--dry-run", action="store_true", help="print each request instead of sending it")

    emulator = commands.add_parser("emulator", help="serve the local RealtimeKit emulator", add_help=False)
    emulator.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sandbox", action="store_true", help="run against an in-process emulator (no account needed)")
    parser.add_argument("--base-url", help="API base URL (default: $CLOUDFLARE_BASE_URL or the manifest's)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    parser.add_argument("--retries", type=int, default=2, help="retries for failed requests (default 2)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def main(argv: t.Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        from provider.cloudflare.emulator.cli import main as emulator_main

        return emulator_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return _exec(args)
    except KeyboardInterrupt:
        print("cfql: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the last line of defence: one line, never a traceback
        if getattr(args, "debug", False):
            raise
        from engine.errors import Error

        prefix = "error" if isinstance(error, Error) else f"internal error ({type(error).__name__})"
        print(f"cfql: {prefix}: {error}", file=sys.stderr)
        return EXIT_FAILED


def _exec(args: argparse.Namespace) -> int:
    from engine import script
    from engine.connection import Connection
    from engine.output import render
    from engine.settings import Settings

    if (args.sql is None) == (args.infile is None):
        print("cfql exec: give either SQL or -i FILE", file=sys.stderr)
        return EXIT_USAGE
    if args.infile:
        source = args.infile
        try:
            with open(args.infile, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as error:
            print(f"cfql: error: cannot read {args.infile}: {error.strerror}", file=sys.stderr)
            return EXIT_FAILED
    else:
        source, text = "<command line>", args.sql

    settings = Settings(
        base_url=args.base_url,
        sandbox=args.sandbox,
        timeout=args.timeout,
        retries=args.retries,
        dry_run=args.dry_run,
        debug=args.debug,
    )
    with Connection(settings) as conn:
        try:
            statements = script.prepare(conn, text, source)
            script.run(
                conn,
                statements,
                source,
                on_result=lambda _s, result: render(result, args.output, sys.stdout, not args.no_headers),
            )
        except script.ScriptError as error:
            if args.debug:
                raise
            print(f"cfql: error: {error}", file=sys.stderr)
            return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
