"""The ``cfql`` command: ``exec`` runs statements, ``shell`` is the interactive shell, ``registry`` lists and pulls
providers from a StackQL provider registry, ``deploy`` runs stackql-deploy stacks, ``emulator`` serves a
provider's local twin.

Errors are one line on stderr and a non-zero exit status; a traceback only
with ``--debug``. Heavy modules are imported only by the subcommand that
needs them, so ``cfql exec`` starts quickly.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import typing as t
import warnings

from cfql.cli.options import concurrency, connection_options, registry_options, registry_url_option, timeout
from cfql.rows.output import FORMATS

if t.TYPE_CHECKING:
    from cfql.errors import Error

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_OUTPUT_CLOSED = 141  # 128 + SIGPIPE: what a shell reports for git or grep when the reader goes away


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other cfql error (exit 2), pointing at ``--help``."""

    def error(self, message: str) -> t.NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; for ``command`` exec or shell, without the registry and deploy subcommands (2.5 ms of a start)."""
    parser = _Parser(prog="cfql", description="SQL for cloud APIs.")
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    run = commands.add_parser("exec", help="run SQL statements", description="Run ;-separated statements.")
    run.add_argument("sql", nargs="?", help="statements to run, separated by ;")
    run.add_argument("-i", "--infile", metavar="FILE", help="run the statements in FILE (.iql; - for stdin)")
    connection_options(run)
    run.add_argument("-o", "--output", choices=FORMATS, default="table", help="result format (default: table)")
    run.add_argument("-H", "--no-headers", action="store_true", help="omit column headers")
    run.add_argument("--dry-run", action="store_true", help="print each statement and request instead of sending it")
    run.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="template variable (repeatable)")
    run.add_argument(
        "--iqldata", action="append", default=[], metavar="FILE",
        help="template variables from a JSON or YAML file (repeatable: later files win; --var wins over all)",
    )
    run.add_argument("--template-dir", metavar="DIR", help="the folder include/import/extends in templates may read from")
    run.add_argument("--concurrency", type=concurrency, default=1, metavar="N", help="run up to N statements at once (1-100)")
    run.add_argument("--continue-on-error", action="store_true", help="run the remaining statements after a failure")
    registry_url_option(run)

    shell = commands.add_parser(
        "shell",
        help="interactive SQL shell",
        description="An interactive shell: completion from the manifests, history, highlighting, and a "
        "bottom bar naming the method each statement resolves to. Defaults come from "
        "$XDG_CONFIG_HOME/cfql/config ([main] output, vi, sandbox, pager, timing); flags override them.",
    )
    on_off = argparse.BooleanOptionalAction
    # --sandbox can also come from the config file, so the shell's flag has an "unset" state.
    shell.add_argument("--sandbox", action=on_off, default=None, help="use an in-process emulator (no account needed)")
    connection_options(shell, sandbox_flag=False)
    shell.add_argument("-o", "--output", choices=FORMATS, default=None, help="result format (default: table)")
    shell.add_argument("--vi", action=on_off, default=None, help="vi editing mode (default: emacs)")
    shell.add_argument("--pager", action=on_off, default=None, help="page results that do not fit the terminal")

    if command not in ("exec", "shell"):
        _registry_parser(commands)
        _deploy_parser(commands)

    emulator = commands.add_parser(
        "emulator", help="serve a provider's local emulator (the one --sandbox uses)", add_help=False
    )
    emulator.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _registry_parser(commands: t.Any) -> None:
    """``cfql registry list [provider]`` and ``cfql registry pull provider [version]``."""
    hub = commands.add_parser(
        "registry",
        help="list or pull providers from a StackQL provider registry",
        description="List what a StackQL provider registry offers, or pull a provider version into "
        "$CFQL_DATA_DIR/registry (default ~/.local/share/cfql/registry), where every cfql command finds it. "
        "The same as the REGISTRY LIST and REGISTRY PULL statements. Signatures (.sig files) are not verified.",
    )
    actions = hub.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser(
        "list", help="every provider with its latest version, or one provider's versions",
        description="Every provider with its latest version; with PROVIDER, each of its versions.",
    )
    listing.add_argument("provider", nargs="?", help="list this provider's versions")
    pulling = actions.add_parser(
        "pull", help="download and install a provider version",
        description="Download a provider version (default: its latest) and install it; an existing copy of "
        "that version is replaced only once the new one is complete and checked.",
    )
    pulling.add_argument("provider")
    pulling.add_argument("version", nargs="?", help="e.g. v0.1.0 (default: the latest listed)")
    for action in (listing, pulling):
        registry_url_option(action)
        registry_options(action)
        action.add_argument("--timeout", type=timeout, default=60.0, help="seconds per network operation (default 60)")
        action.add_argument("-o", "--output", choices=FORMATS, default="table", help="result format (default: table)")
        action.add_argument("-H", "--no-headers", action="store_true", help="omit column headers")
        action.add_argument("--debug", action="store_true", help="show tracebacks")


def _deploy_parser(commands: t.Any) -> None:
    """``cfql deploy build|test|teardown|plan STACK_DIR [STACK_ENV]`` and ``cfql deploy init NAME``."""
    deploy = commands.add_parser(
        "deploy",
        help="build, test, tear down or plan a stackql-deploy stack",
        description="Run a stackql-deploy stack (stackql_manifest.yml and resources/*.iql) in-process: build creates "
        "what is missing and updates what drifted, test only reads and checks, teardown deletes in reverse order, "
        "plan reads only and says what build would change (exit 2 when changes are pending).",
    )
    actions = deploy.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    helps = {
        "build": "create what is missing, update what drifted",
        "test": "check every resource is as declared (reads only)",
        "teardown": "delete the stack's resources, in reverse order",
        "plan": "say what build would change, with its requests (reads only; exit 2 if changes are pending)",
    }
    for name, text in helps.items():
        action = actions.add_parser(name, help=text, description=text[:1].upper() + text[1:] + ".")
        action.add_argument("stack_dir", metavar="STACK_DIR", help="the stack folder (holding stackql_manifest.yml)")
        action.add_argument("stack_env", metavar="STACK_ENV", nargs="?", default="dev", help="the stack environment (default: dev)")
        action.add_argument(
            "-e", "--env", action="append", default=[], metavar="NAME=VALUE", dest="variables",
            help="a variable for the stack's templates (repeatable; wins over --env-file)",
        )
        action.add_argument(
            "--env-file", metavar="FILE", default=None,
            help="variables from a dotenv file (default: .env in the current folder, if there is one)",
        )
        action.add_argument("--dry-run", action="store_true", help="send nothing: show each query and its requests")
        action.add_argument("--show-queries", action="store_true", help="print each query before it is sent")
        action.add_argument(
            "--on-failure", choices=("error", "ignore", "rollback"), default="error",
            help="on a failed resource: stop (error, the default), go on with the others (ignore), "
            "or stop and delete, newest first, what this run created (rollback; build only)",
        )
        action.add_argument("--output-file", metavar="FILE", help="write the stack's exports here as JSON (build and test)")
        connection_options(action)
    starter = actions.add_parser(
        "init", help="write a starter stack",
        description="Write the starter stack a provider ships (x-cfql-config.starter in its document) into a new folder NAME.",
    )
    starter.add_argument("name", metavar="NAME")
    starter.add_argument("--provider", default=None, help="the provider whose starter to write (default: the only one with a starter)")
    starter.add_argument("--debug", action="store_true", help="show tracebacks")


class _Version(argparse.Action):
    """``--version``, looked up only when asked for (``cfql.version``)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: t.Any) -> t.NoReturn:
        from cfql.version import installed_version

        print(f"cfql {installed_version()}")  # to stdout, as argparse's own version action does
        parser.exit()


def main(argv: t.Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        return _emulator(argv[1:])
    try:
        args = build_parser(argv[0] if argv else None).parse_args(argv)
    except BrokenPipeError:  # --help or --version into a pipe already closed
        _silence_stdout()
        return EXIT_OUTPUT_CLOSED
    from cfql.errors import SchemaWarning, StackWarning
    from cfql.errors import Warning as CfqlWarning

    warnings.filterwarnings("ignore", category=CfqlWarning)  # said once, as a note
    warnings.filterwarnings("default", category=SchemaWarning)  # each value sent outside its document's enum or bounds, once
    warnings.filterwarnings("default", category=StackWarning)  # each unquoted placeholder of a stack file, once
    warnings.showwarning = _show_warning
    try:
        if args.command == "shell":
            from cfql.shell.app import main as shell_main

            return shell_main(args)
        if args.command == "registry":
            return _registry(args)
        if args.command == "deploy":
            return _deploy(args)
        return _exec(args)
    except KeyboardInterrupt:
        print("cfql: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # stdout's reader went away outside a run's output (which reports it itself)
        _silence_stdout()
        return EXIT_OUTPUT_CLOSED
    except Exception as error:  # the last line of defence: one line, never a traceback
        if getattr(args, "debug", False):
            raise
        from cfql.errors import Error

        prefix = "error" if isinstance(error, Error) else f"internal error ({type(error).__name__})"
        print(f"cfql: {prefix}: {error}", file=sys.stderr)
        return EXIT_FAILED


_PYTHON_SHOWWARNING = warnings.showwarning


def _show_warning(message: t.Any, category: type[Warning], *rest: t.Any, **more: t.Any) -> None:
    """A cfql warning as one line, ``cfql: warning: ...`` (no source line); any other as Python shows it."""
    from cfql.errors import Warning as CfqlWarning

    if issubclass(category, CfqlWarning):
        print(f"cfql: warning: {message}", file=sys.stderr)
    else:
        _PYTHON_SHOWWARNING(message, category, *rest, **more)


def _emulator(argv: list[str]) -> int:
    """``cfql emulator [--provider NAME] ...``: the provider's ``x-cfql-config.sandbox.serve`` command."""
    from cfql.provider.registry import default_registry
    from cfql.provider.sandbox import entry_point

    registry = default_registry()
    name = None
    if argv[:1] == ["--provider"] and len(argv) > 1:
        name, argv = argv[1], argv[2:]
    served = {}
    for provider_name in registry.provider_names:
        provider = registry.provider(provider_name)
        if provider is not None and provider.conventions.sandbox.get("serve"):
            served[provider_name] = provider.conventions.sandbox["serve"]
    if name is None and len(served) == 1:
        name = next(iter(served))
    if name not in served:
        print(f"cfql emulator: name one of {', '.join(sorted(served)) or '(none)'} with --provider", file=sys.stderr)
        return EXIT_USAGE
    return int(entry_point(served[name])(argv) or 0)


def _registry(args: argparse.Namespace) -> int:
    """``cfql registry list|pull``: what the REGISTRY statements do, printed as ``cfql exec`` prints a result."""
    from cfql.cli.options import chosen_registry_url
    from cfql.plan.registry_statements import list_result, pull_result
    from cfql.provider.registry import Registry, default_registry
    from cfql.rows.output import render

    registry = Registry.from_option(args.registry) if args.registry else default_registry()
    url = chosen_registry_url(args) or registry.hub_url
    if args.action == "list":
        result = list_result(url, args.provider, timeout=args.timeout)
    else:
        result = pull_result(registry, args.provider, args.version, url=url, timeout=args.timeout)
    render(result, args.output, sys.stdout, not args.no_headers)
    sys.stdout.flush()
    return EXIT_OK


def _deploy(args: argparse.Namespace) -> int:
    """``cfql deploy ...``: one line per resource as it is handled, then a summary; errors on stderr."""
    import os

    from cfql import deploy
    from cfql.cli.options import connection_settings
    from cfql.connection import Connection
    from cfql.deploy import report
    from cfql.errors import Error

    if args.action == "init":
        try:
            folder = deploy.init(args.name, provider=args.provider)
        except Error as error:
            print(f"cfql: error: {error}", file=sys.stderr)
            return EXIT_FAILED
        print(f"wrote a starter stack in {folder} (its {deploy.manifest.MANIFEST_NAME} says how to run it)")
        return EXIT_OK
    variables = {}  # a stack that cannot run raises, and main() says so in one line
    for pair in args.variables:
        name, equals, value = _argument(pair, "-e").partition("=")
        if not equals or not name.strip().isidentifier():
            raise deploy.StackError(f"-e {pair!r}: expected NAME=VALUE, NAME a plain name")
        variables[name.strip()] = value
    env_file = args.env_file if args.env_file is not None else (".env" if os.path.isfile(".env") else None)
    settings = connection_settings(args, sandbox=args.sandbox, dry_run=args.dry_run)
    with Connection(settings) as conn:
        result = deploy.run(
            args.action, args.stack_dir, args.stack_env, variables=variables, env_file=env_file,
            dry_run=args.dry_run, show_queries=args.show_queries, on_failure=args.on_failure,
            output_file=args.output_file, connection=conn, echo=lambda text: print(text, flush=True),
        )
    for outcome in [*result.resources, *result.rolled_back]:
        if outcome.error and not outcome.ok:
            print(f"cfql: error: {outcome.error}", file=sys.stderr)
    print(report.summary(result), file=sys.stdout if result.ok else sys.stderr)
    return result.exit_code


def _exec(args: argparse.Namespace) -> int:
    from cfql.cli.options import chosen_registry_url, connection_settings
    from cfql.connection import Connection
    from cfql.errors import Error
    from cfql.script import runner as script
    from cfql.script.variables import load_variables

    if (args.sql is None) == (args.infile is None):
        print("cfql exec: give either SQL or -i FILE", file=sys.stderr)
        return EXIT_USAGE
    try:
        source, text = _script_text(args)
        variables = load_variables([_argument(pair, "--var") for pair in args.var], args.iqldata)
    except Error as error:
        print(f"cfql: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    settings = connection_settings(
        args, sandbox=args.sandbox, concurrency=args.concurrency, dry_run=args.dry_run
    )
    if isinstance(sys.stdout, io.TextIOWrapper):  # a lone surrogate (JSON's "\ud800") prints as its escape
        sys.stdout.reconfigure(errors="backslashreplace")
    with Connection(settings) as conn:
        hub_url = chosen_registry_url(args)
        if hub_url:
            conn.registry.hub_url = hub_url
        try:
            prepared = script.prepare(conn, text, source, variables, template_dir=args.template_dir)
        except Error as error:
            if args.debug:
                raise
            print(f"cfql: error: {error}", file=sys.stderr)
            return EXIT_FAILED
        return _run_script(conn, prepared, args)


def _script_text(args: argparse.Namespace) -> tuple[str, str]:
    """The script's name and text: from ``-i FILE``, ``-i -`` (stdin) or the command line."""
    from cfql.script.sources import read_text

    if args.infile == "-":
        return "<stdin>", read_text(sys.stdin, "<stdin>")
    if args.infile is not None:
        return args.infile, read_text(args.infile, args.infile or "''")
    return "<command line>", _argument(args.sql, "<command line>")


def _argument(text: str, name: str) -> str:
    """A command-line argument as UTF-8 text: Python hands over undecodable bytes as lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        import os

        from cfql.script.sources import decode_utf8

        try:
            return decode_utf8(os.fsencode(text), name)
        except UnicodeEncodeError:  # not from the command line's bytes: a surrogate written as such
            from cfql.errors import ProgrammingError

            raise ProgrammingError(f"{name}: not valid UTF-8") from None
    return text


def _run_script(conn: t.Any, prepared: t.Any, args: argparse.Namespace) -> int:
    from cfql.errors import Error, Interrupted
    from cfql.redact import redact_statement
    from cfql.rows.output import Output
    from cfql.script import progress
    from cfql.script import runner as script

    total = len(prepared.statements)
    bar = progress.ProgressBar(total) if progress.wanted(total) else None
    if bar is not None:
        conn.driver.on_pacing_wait = bar.waiting
    output = Output(args.output, sys.stdout, not args.no_headers, total)
    positions = {id(statement): index for index, statement in enumerate(prepared.statements)}

    def show(statement: script.Statement, result: t.Any) -> None:
        if bar is not None:
            bar.close()
        with _writing(output):
            if args.dry_run and args.output in ("table", "text"):
                sql = redact_statement(statement.sql.strip(), statement.plan)
                sys.stdout.write(f"-- {prepared.source}:{statement.line}\n{sql};\n")
            output.result(result, positions[id(statement)])
            sys.stdout.flush()
        if result.columns and result.message:  # e.g. the SELECT page cap: rows came, but not all
            print(f"cfql: note: {result.message}", file=sys.stderr)

    try:
        summary = script.run(
            conn,
            prepared,
            on_result=show,
            continue_on_error=args.continue_on_error,
            on_progress=bar.update if bar is not None else None,
            concurrency=args.concurrency,
            on_interrupt=lambda running: print(
                f"cfql: interrupted; waiting up to {script.GRACE:g} s for {running} statement(s) in flight "
                "(Ctrl-C again to stop waiting)",
                file=sys.stderr,
            ),
        )
    except _OutputClosed:
        if bar is not None:
            bar.close()
        print(f"cfql: output closed; {output.next} of {total} statements ran", file=sys.stderr)
        return EXIT_OUTPUT_CLOSED
    except Error as error:
        if bar is not None:
            bar.close()
        stopped = getattr(error, "summary", None)
        _close(output, _unshown(stopped.failures) if stopped is not None else 1)  # the error says more than a closed pipe
        if args.debug:
            raise
        for failure in stopped.failures if stopped is not None else ():
            if failure is not error:  # e.g. statements that were in flight when the first failure came
                print(f"cfql: error: {failure}", file=sys.stderr)
        print(f"cfql: error: {error}", file=sys.stderr)
        if stopped is not None and not isinstance(error, Interrupted) and (len(stopped.failures) > 1 or stopped.unknown):
            print(f"cfql: {stopped.describe()}", file=sys.stderr)
        return EXIT_INTERRUPTED if isinstance(error, Interrupted) else EXIT_FAILED
    if bar is not None:
        bar.close()
    if not _close(output, _unshown(summary.failures)):
        print(f"cfql: output closed; {total} of {total} statements ran", file=sys.stderr)
        return EXIT_OUTPUT_CLOSED
    if not summary.ok:
        for failure in summary.failures:
            print(f"cfql: error: {failure}", file=sys.stderr)
        print(f"cfql: {summary.describe()}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


class _OutputClosed(Exception):
    """Whoever read stdout went away (``| head``): raised out of the run so that no statement starts after it."""


@contextlib.contextmanager
def _writing(output: t.Any) -> t.Iterator[None]:
    """Writes to stdout; a closed pipe there silences it and ends the run (``_OutputClosed``)."""
    try:
        yield
    except BrokenPipeError:
        output.closed = True
        _silence_stdout()
        raise _OutputClosed from None


def _unshown(failures: t.Sequence[Error]) -> int:
    """The failed statements that showed no rows (see ``runner.shows_rows``)."""
    from cfql.script.runner import shows_rows

    return sum(not shows_rows(failure) for failure in failures)


def _close(output: t.Any, failures: int) -> bool:
    """Finish the run's output (json: close the document); False if stdout's reader has gone."""
    try:
        with _writing(output):
            output.close(failures)
            sys.stdout.flush()
    except _OutputClosed:
        return False
    return True


def _silence_stdout() -> None:
    """Point stdout at the null device, as the Python docs advise on SIGPIPE: its last flush cannot fail then."""
    import os

    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):  # no file descriptor (tests capture stdout in memory): nothing to flush into
        pass


if __name__ == "__main__":
    sys.exit(main())
