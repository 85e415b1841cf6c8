"""The REPL: read a statement, run it, show the result, and never lose the session to an error.

Every input goes through ``_submit``: a cfql error is printed as its one
line; any other exception is a bug in cfql, printed as ``internal error
(Class): ...`` (with the traceback under ``--debug``) — and either way the
prompt comes back. Ctrl-C while a statement runs says what may have
happened: a change whose request may have reached the API "may have been
applied", a read is just "cancelled".

Start-up is kept short by deferring everything heavy: the connection (and
with it sqlglot, httpx and the sandbox emulator) is created by the first
statement, the manifests are loaded by the first completion or toolbar
update that needs them. Until then only prompt_toolkit and this package are
imported.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
import typing as t
from pathlib import Path
from urllib.parse import urlsplit

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.enums import EditingMode
from prompt_toolkit.filters import is_done
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.history import History
from prompt_toolkit.layout.processors import (
    ConditionalProcessor,
    HighlightMatchingBracketProcessor,
)

from cfql.errors import Error, Interrupted, OutcomeUnknownError, UnboundParameterError
from cfql.settings import Settings
from cfql.shell import context, display, keys, meta
from cfql.shell.completer import SQLCompleter
from cfql.shell.config import ShellConfig, config_path, history_path, load_config
from cfql.shell.history import is_secret_name, open_history
from cfql.shell.lexer import shell_style, sql_lexer
from cfql.shell.toolbar import Toolbar
from cfql.shell.variables import Variables

if t.TYPE_CHECKING:
    from cfql.connection import Connection
    from cfql.provider.registry import Registry
    from cfql.result import Result

GOODBYE = "Goodbye!"
CANCELLED = "cancelled"
CANCELLED_CHANGE = f"cancelled: {OutcomeUnknownError.ADVICE}"
# Prompts in a row that may fail (a broken terminal) before the shell gives up rather than spin.
_PROMPT_FAILURES = 3


class Shell:
    """One interactive session: settings, a lazily opened connection, and the display state meta commands change."""

    def __init__(
        self,
        settings: Settings,
        config: ShellConfig | None = None,
        *,
        history: History | None = None,
        stdout: t.TextIO | None = None,
        stderr: t.TextIO | None = None,
        interactive: bool | None = None,
    ):
        config = config or ShellConfig()
        self.settings = settings
        self.output_format = config.output
        self.expanded = config.expanded
        self.null_string = config.null_string
        self.timing = config.timing
        self.pager = config.pager
        self.vi = config.vi
        self.out = stdout or sys.stdout
        self.err = stderr or sys.stderr
        # Ask before DELETE only when someone is there to answer.
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        if history is None:
            history, warning = open_history(history_path(), self.registry)
            if warning:
                self.warn(warning)
        self.history = history
        self.last_statement = ""
        self.next_default = ""
        self.variables = Variables()
        self.interrupted = False  # Ctrl-C came while the current statement ran
        self._conn: Connection | None = None

    # -- the connection ----------------------------------------------------------------------

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            from cfql.connection import Connection

            self._conn = Connection(self.settings)
        return self._conn

    @staticmethod
    def registry() -> Registry:
        from cfql.provider.registry import default_registry

        return default_registry()

    def use_sandbox(self) -> None:
        """Switch to a fresh in-process sandbox, closing the current connection."""
        from cfql.connection import Connection

        settings = Settings(
            sandbox=True, timeout=self.settings.timeout, retries=self.settings.retries, debug=self.settings.debug
        )
        try:
            conn = Connection(settings)
        except Exception as error:
            self.error(error)
            return
        self.close()
        self._conn, self.settings = conn, settings
        self.info("Now on the sandbox: each provider's in-process emulator, started on first use; nothing leaves this machine.")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> int:
        """Prompt until Ctrl-D, ``exit``/``quit`` or ``\\q``."""
        session = self._prompt_session()
        failures = 0
        try:
            while True:
                try:
                    text = session.prompt(default=self.next_default)
                except KeyboardInterrupt:  # Ctrl-C: drop the input, keep the session
                    self.next_default = ""
                    continue
                except EOFError:  # Ctrl-D on an empty line
                    break
                except Exception as error:  # noqa: BLE001 - the prompt itself broke: report it, try again a few times
                    self.next_default = ""
                    self.error(error)
                    failures += 1
                    if failures >= _PROMPT_FAILURES:
                        break
                    continue
                failures = 0
                self.next_default = ""
                if not self._submit(text):
                    break
        finally:
            self.close()
        self.info(GOODBYE)
        return 0

    def run_lines(self, lines: t.Iterable[str]) -> int:
        """Input that is not a terminal (a pipe, a file): the same statements and commands, no prompt."""
        pending = ""
        try:
            for line in lines:
                pending += line
                if pending.strip() and keys.is_complete(pending):
                    text, pending = pending, ""
                    if not self._submit(text):
                        return 0
            if pending.strip():
                self._submit(pending)
        finally:
            self.close()
        return 0

    def _submit(self, text: str) -> bool:
        """``handle`` that never lets an error end the session; False only to leave the shell."""
        try:
            return self.handle(text)
        except KeyboardInterrupt:  # Ctrl-C while an editor or a command ran; statements say more themselves
            self.error(CANCELLED)
        except Exception as error:  # noqa: BLE001 - the session outlives any error: a cfql Error as its line, a bug as "internal error"
            self.error(error)
        return True

    def handle(self, text: str) -> bool:
        """Run one submitted input; False means leave the shell."""
        stripped = text.strip()
        if not stripped:
            return True
        if stripped.rstrip(";").strip().lower() in keys.EXIT_WORDS:
            return False
        if stripped.startswith("\\"):
            return meta.dispatch(self, stripped)
        if keys.ends_with_edit(stripped):
            self.edit(stripped[:-2].rstrip())
            return True
        self.execute(stripped)
        return True

    def execute(self, text: str) -> None:
        """Run each statement of ``text`` in turn, stopping at the first that fails."""
        from cfql.sql.dialect import split_statements

        self.last_statement = text
        try:
            statements = [sql for sql, _line in split_statements(text)]
        except Error as error:
            self.error(error)
            return
        for sql in statements:
            if not self._run_statement(sql):
                return

    def _run_statement(self, sql: str) -> bool:
        """Plan (nothing sent yet), ask before a DELETE, run with the session variables, show; False stops the line.

        Ctrl-C while it runs waits (``runner.GRACE``) for the statement in
        flight: one that completes is shown as it came; one that does not is
        reported cancelled, and a change as possibly applied.
        """
        from cfql.script import runner as script

        try:
            plan = self.conn.plans.get(sql)
        except KeyboardInterrupt:
            self.error(CANCELLED)
            return False
        except Error as error:  # anything else is a bug, reported by _submit
            self.error(error)
            return False
        elements = len(getattr(plan, "rows", ()))
        question = f"Delete {elements} elements, one request each? [y/N] " if elements > 1 else "Delete? [y/N] "
        if self.interactive and _is_delete(sql) and not self.confirm(question):
            self.info("Not deleted.")
            return False
        started = time.perf_counter()
        self.interrupted = False
        try:
            result = script.run_one(self.conn, plan, self.variables, on_interrupt=self._waiting)
        except Interrupted as error:  # still in flight after the grace period: say what that means for it
            self.error(CANCELLED_CHANGE if error.outcome_unknown else CANCELLED)
            return False
        except UnboundParameterError as error:
            self.error(f"{error} (\\set NAME VALUE sets one; a one-row result sets its columns)")
            return False
        except Error as error:
            if script.shows_rows(error):  # a fanned-out change that failed part-way: what its elements returned
                self.show(error.result)
            self.error(error)
            return False
        elapsed = time.perf_counter() - started
        self.variables.take(sql, result)
        try:
            self.show(result)
        except KeyboardInterrupt:
            self.error(f"{CANCELLED} while showing the result (the statement ran)")
            return False
        if self.timing:
            self.info(f"Time: {elapsed:.3f}s")
        if self.interrupted:
            self.error("interrupted: the statement completed before it could be stopped; the rest of the input was not run")
            return False
        return True

    def _waiting(self, running: int) -> None:
        """Ctrl-C came while statements run: they get a moment to finish; the rest of the input will not run."""
        from cfql.script.runner import GRACE

        self.interrupted = True
        self.warn(f"interrupted; waiting up to {GRACE:g} s for {running} statement(s) in flight (Ctrl-C again to stop waiting)")

    def is_secret(self, name: str) -> bool:
        """Whether ``\\set`` must not print the variable ``name`` (a secret field name of any provider)."""
        return is_secret_name(name, self.registry())

    def run_script(self, path: str, assignments: t.Sequence[str]) -> None:
        """``\\i FILE``: prepare the whole script (templates, resolution), then run it, showing each result.

        The session variables are the script's parameters, and its one-row
        results set them as a statement typed at the prompt would. Ctrl-C
        while it runs is reported by the runner (``Interrupted``: what
        succeeded, failed, or may have been applied); before, nothing ran.
        """
        from cfql.script import runner as script
        from cfql.script.sources import read_text
        from cfql.script.variables import load_variables

        def shown(statement: script.Statement, result: Result) -> None:
            self.variables.take(statement.sql, result)
            self.show(result)

        started = time.perf_counter()
        try:
            text = read_text(str(Path(path).expanduser()), path)
            prepared = script.prepare(self.conn, text, path, load_variables(assignments, None), params=self.variables)
            deleting = [s for s in prepared.statements if _is_delete(s.sql)]
            deletes = len(deleting)
            if deletes and self.interactive:
                requests = sum(len(getattr(s.plan, "rows", ())) for s in deleting)
                each = f" ({requests} requests)" if requests > deletes else ""
                self.info(f"{path} has {deletes} DELETE statement{'s' if deletes > 1 else ''}{each}.")
                if not self.confirm("Delete? [y/N] "):
                    self.info("Not run.")
                    return
        except KeyboardInterrupt:
            self.error(f"{CANCELLED}: {path} did not start")
            return
        except Error as error:
            self.error(error)
            return
        try:
            script.run(
                self.conn,
                prepared,
                params=dict(self.variables),
                on_result=shown,
                on_interrupt=self._waiting,
            )
        except KeyboardInterrupt:  # between the runner's own handling and here: it was running
            self.error(f"{CANCELLED}: {path} was running; {OutcomeUnknownError.ADVICE}")
            return
        except Error as error:  # a failure or Interrupted: the runner's message counts what ran
            self.error(error)
            return
        if self.timing:
            self.info(f"Time: {time.perf_counter() - started:.3f}s")

    def edit(self, text: str) -> None:
        """Open ``text`` in ``$VISUAL``/``$EDITOR``; what is saved becomes the next prompt's input."""
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        fd, name = tempfile.mkstemp(suffix=".sql", prefix="cfql-")  # 0600: the text may hold secrets
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text + "\n" if text else "")
            try:
                status = subprocess.run([*shlex.split(editor), name], check=False).returncode
            except (OSError, ValueError) as error:
                self.error(f"cannot run the editor {editor!r}: {error}")
                return
            if status != 0:
                self.error(f"the editor exited with status {status}; nothing changed")
                return
            self.next_default = Path(name).read_text(encoding="utf-8").rstrip()
        finally:
            os.unlink(name)

    # -- output ------------------------------------------------------------------------------

    def show(self, result: Result) -> None:
        display.emit(
            result, self.output_format, self.out, self.pager, null_string=self.null_string, expanded=self.expanded
        )

    def info(self, message: str) -> None:
        self.out.write(message + "\n")
        self.out.flush()

    def warn(self, message: str) -> None:
        self.err.write(f"warning: {message}\n")
        self.err.flush()

    def error(self, error: BaseException | str) -> None:
        """One line, ``error: ...``; a traceback only for cfql's own bugs under ``--debug``."""
        if isinstance(error, (str, Error)):
            message = str(error)
        else:
            if self.settings.debug:
                traceback.print_exception(error, file=self.err)
            message = f"internal error ({type(error).__name__}): {error}"
        self.err.write("error: " + " ".join(message.split("\n")) + "\n")
        self.err.flush()

    def confirm(self, question: str) -> bool:
        from prompt_toolkit import prompt

        try:
            answer = prompt(question)
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("y", "yes")

    # -- the prompt --------------------------------------------------------------------------

    def target(self) -> str:
        """What the prompt says it talks to: the sandbox, a custom API host, or nothing for the providers' own."""
        if self.settings.sandbox:
            return "sandbox"
        urls = list(self.settings.base_urls.values())
        if urls:
            return ", ".join(urlsplit(url).netloc or url for url in urls)
        return ""

    def prompt_message(self) -> StyleAndTextTuples:
        target = self.target()
        parts: StyleAndTextTuples = [("class:prompt", "cfql")]
        if target:
            parts += [("", " "), ("class:prompt.target", f"({target})")]
        return [*parts, ("class:prompt", "> ")]

    def flags(self) -> str:
        flags = [self.output_format, "vi" if self.vi else "emacs", f"timing {'on' if self.timing else 'off'}"]
        if self.expanded != "off":
            flags.insert(1, f"\\x {self.expanded}")
        return " · ".join(flags)

    def _prompt_session(self) -> PromptSession[str]:
        return PromptSession(
            message=self.prompt_message,
            multiline=True,
            prompt_continuation=lambda width, line, wrap: [("class:continuation", "-> ".rjust(width))],
            key_bindings=keys.key_bindings(),
            editing_mode=EditingMode.VI if self.vi else EditingMode.EMACS,
            lexer=sql_lexer(),
            style=shell_style(),
            completer=SQLCompleter(self.registry, lambda: self.variables),
            complete_while_typing=True,
            auto_suggest=AutoSuggestFromHistory(),
            history=self.history,
            search_ignore_case=True,
            enable_open_in_editor=True,
            bottom_toolbar=Toolbar(self.registry, self.flags, lambda: self.variables),
            input_processors=[ConditionalProcessor(HighlightMatchingBracketProcessor(chars="[](){}"), ~is_done)],
            reserve_space_for_menu=8,
        )


def _is_delete(sql: str) -> bool:
    tokens = context.tokenize(sql)
    return bool(tokens) and tokens[0].upper == "DELETE"


def main(args: argparse.Namespace) -> int:
    """``cfql shell``: the config file's defaults, overridden by the flags given."""
    from cfql.cli.options import connection_settings

    config, warnings = load_config(config_path())
    for warning in warnings:
        print(f"cfql: warning: {warning}", file=sys.stderr)
    if args.base_url and args.sandbox is None:
        args.sandbox = False  # an explicit API beats a sandbox default from the file
    config = config.override(output=args.output, vi=args.vi, sandbox=args.sandbox, pager=args.pager)
    settings = connection_settings(args, sandbox=config.sandbox)
    shell = Shell(settings, config)
    if not sys.stdin.isatty():
        return shell.run_lines(sys.stdin)
    return shell.run()
