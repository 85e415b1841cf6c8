"""Backslash commands: ``\\help``, ``\\output``, ``\\x``, ``\\timing``, ``\\set``, ``\\unset``, ``\\sandbox``, ``\\e``, ``\\i``, ``\\q``.

Each command is a small function over the shell's public state, listed once
in ``COMMANDS`` so that help, completion and the toolbar hint cannot drift
apart. A handler returns False only to leave the shell.
"""

from __future__ import annotations

import shlex
import typing as t
from dataclasses import dataclass

from cfql.rows.output import FORMATS
from cfql.shell.config import EXPANDED
from cfql.shell.variables import Variables, bindable, parse_value


class Shell(t.Protocol):
    """What the commands use of the shell (``cfql.shell.app.Shell``), so this module need not import it."""

    output_format: str
    expanded: str
    timing: bool
    last_statement: str
    variables: Variables

    def is_secret(self, name: str) -> bool: ...

    def info(self, message: str) -> None: ...

    def error(self, error: BaseException | str) -> None: ...

    def edit(self, text: str) -> None: ...

    def run_script(self, path: str, assignments: t.Sequence[str]) -> None: ...

    def use_sandbox(self) -> None: ...


@dataclass(frozen=True)
class Command:
    names: tuple[str, ...]
    usage: str
    help: str
    run: t.Callable[[Shell, str], bool]


def _help(shell: Shell, argument: str) -> bool:
    width = max(len(c.usage) for c in COMMANDS)
    lines = [f"  {c.usage:<{width}}  {c.help}" for c in COMMANDS]
    lines += [
        "",
        "  Enter runs the input once it ends with ';' and adds a line otherwise; Alt-Enter runs it anyway.",
        "  Tab completes names from the manifests; the bottom bar shows the method a statement resolves to.",
        "  Ctrl-C clears the input, Ctrl-R searches history, Ctrl-X Ctrl-E edits the input in $EDITOR, Ctrl-D quits.",
        "  A result of one row sets a :name per column (RETURNING ... AS name, or a SELECT's columns) for later statements.",
        "  Start with SHOW PROVIDERS; then SHOW SERVICES IN <provider>; SHOW RESOURCES IN <provider>.<service>;",
        "  SHOW METHODS IN <provider>.<service>.<resource>; and DESCRIBE <provider>.<service>.<resource>;",
    ]
    shell.info("\n".join(lines))
    return True


def _output(shell: Shell, argument: str) -> bool:
    if not argument:
        shell.info(f"Output format is {shell.output_format}.")
    elif argument.lower() in FORMATS:
        shell.output_format = argument.lower()
        shell.info(f"Output format is {shell.output_format}.")
    else:
        shell.error(f"unknown output format {argument!r}; choose one of {', '.join(FORMATS)}")
    return True


def _expanded(shell: Shell, argument: str) -> bool:
    choice = argument.lower()
    if choice and choice not in EXPANDED:
        shell.error("usage: \\x [on|off|auto]")
        return True
    shell.expanded = choice or ("on" if shell.expanded == "off" else "off")
    shown = {"on": "on", "off": "off", "auto": "used when a result is wider than the terminal"}[shell.expanded]
    note = "" if shell.output_format == "table" or shell.expanded == "off" else " (for the table format)"
    shell.info(f"Expanded display is {shown}{note}.")
    return True


def _set(shell: Shell, argument: str) -> bool:
    """psql's ``\\set``: list the variables, or set one (the value read as a SQL literal, else as text)."""
    if not argument:
        shell.info(shell.variables.listing(shell.is_secret))
        return True
    name, *rest = argument.split(None, 1)
    if not bindable(name):
        shell.error(f"\\set: {name!r} is not a name :{name} could use (letters, digits, _; not starting with a digit)")
        return True
    shell.variables[name] = parse_value(rest[0]) if rest else ""
    return True


def _unset(shell: Shell, argument: str) -> bool:
    names = argument.split()
    if not names:
        shell.error("usage: \\unset NAME ...")
        return True
    unknown = [name for name in names if name not in shell.variables]
    for name in names:
        shell.variables.pop(name, None)
    if unknown:
        shell.error(f"\\unset: no variable {', '.join(unknown)}; \\set lists them")
    return True


def _timing(shell: Shell, argument: str) -> bool:
    choice = argument.lower()
    if choice not in ("", "on", "off"):
        shell.error("usage: \\timing [on|off]")
        return True
    shell.timing = (not shell.timing) if not choice else choice == "on"
    shell.info(f"Timing is {'on' if shell.timing else 'off'}.")
    return True


def _sandbox(shell: Shell, argument: str) -> bool:
    shell.use_sandbox()
    return True


def _edit(shell: Shell, argument: str) -> bool:
    shell.edit(argument or shell.last_statement)
    return True


def _include(shell: Shell, argument: str) -> bool:
    try:
        words = shlex.split(argument)
    except ValueError as error:
        shell.error(f"\\i: {error}")
        return True
    if not words:
        shell.error("usage: \\i FILE [NAME=VALUE ...]")
        return True
    shell.run_script(words[0], words[1:])
    return True


def _quit(shell: Shell, argument: str) -> bool:
    return False


COMMANDS: tuple[Command, ...] = (
    Command(("\\help", "\\?"), "\\help, \\?", "show this help", _help),
    Command(("\\output", "\\o"), "\\output [FORMAT]", f"show or set the result format ({', '.join(FORMATS)})", _output),
    Command(("\\x",), "\\x [on|off|auto]", "expanded display: each row as column | value lines (toggles)", _expanded),
    Command(("\\set",), "\\set [NAME [VALUE]]", "list the :variables, or set one (VALUE as in SQL: 'text', 60, true)", _set),
    Command(("\\unset",), "\\unset NAME ...", "forget :variables", _unset),
    Command(("\\timing",), "\\timing [on|off]", "print how long each statement takes (toggles without an argument)", _timing),
    Command(("\\sandbox",), "\\sandbox", "switch to an in-process sandbox (local emulator, no account needed)", _sandbox),
    Command(("\\e",), "\\e [SQL]", "edit SQL, or the last statement, in $EDITOR; the result comes back to the prompt", _edit),
    Command(("\\i",), "\\i FILE [NAME=VALUE ...]", "run a script (.iql, a template; NAME=VALUE sets its variables)", _include),
    Command(("\\q",), "\\q", "quit (also exit, quit, Ctrl-D)", _quit),
)


def find_command(name: str) -> Command | None:
    for command in COMMANDS:
        if name in command.names:
            return command
    return None


def dispatch(shell: Shell, text: str) -> bool:
    """Run the backslash command in ``text``; False means leave the shell."""
    name, *rest = text.strip().split(None, 1)
    argument = rest[0] if rest else ""
    command = find_command(name)
    if command is None:
        shell.error(f"unknown command {name}; \\help lists the commands")
        return True
    return command.run(shell, argument.strip())
