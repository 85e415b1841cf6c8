"""Showing results: the engine's renderers, through a pager when the result does not fit.

What a person reads differs from what a program reads in three ways, all
applied here before the engine's table renderer (``cfql.rows.output``, which
``cfql exec`` shares and which keeps values as they are) sees a cell: NULL
is shown as the configured ``null_string`` (``<null>``) so it is not mistaken
for an empty string, which stays empty; a line break in a string starts another
line of its cell (an INSERT template from ``SHOW INSERT INTO`` reads as
written), while tabs, carriage returns and other control characters are shown
as visible escapes (``\\t``, ``\\r``, ``\\x1b``), so a value cannot break the
grid or send escape sequences to the terminal; and ``\\x`` shows each row as a block of
``column | value`` lines (psql's expanded display), ``auto`` only when the grid
is wider than the terminal. Machine formats (json, jsonl, csv, text) are
written unchanged.

Like psql, a result taller or wider than the terminal goes to ``$PAGER``
(default ``less -SRXF``: chop long lines instead of wrapping them, keep colours,
leave the text on screen, quit at once if it fits) — but only when stdout is a
terminal, so piped output is never held up. The pager runs from an argv
list, never through a shell.
"""

from __future__ import annotations

import io
import os
import shlex
import shutil
import subprocess
import typing as t

from prompt_toolkit.utils import get_cwidth

from cfql.result import Result
from cfql.rows.output import cell, render

DEFAULT_PAGER = "less -SRXF"
NULL_STRING = "<null>"
# Control characters as visible escapes: the common ones by name, the rest as \xNN.
_ESCAPES = {
    **{code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)},
    ord("\t"): "\\t",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
}
# In a table cell a line break stays one: the grid gives the cell another line.
_CELL_ESCAPES = {code: text for code, text in _ESCAPES.items() if code != ord("\n")}


def emit(
    result: Result,
    fmt: str,
    out: t.TextIO,
    pager: bool,
    *,
    null_string: str = NULL_STRING,
    expanded: str = "off",
) -> None:
    """Render ``result`` in ``fmt`` to ``out``, through the pager if wanted and needed."""
    text = format_result(result, fmt, null_string=null_string, expanded=expanded, width=_width(out))
    if pager and too_big(text, out):
        page(text, out)
    else:
        out.write(text)
    out.flush()


def format_result(
    result: Result, fmt: str, *, null_string: str = NULL_STRING, expanded: str = "off", width: int | None = None
) -> str:
    """The text ``emit`` shows; ``width`` is the terminal's (None when not a terminal) for ``\\x auto``."""
    buffer = io.StringIO()
    if fmt != "table" or not result.columns:
        render(result, fmt, buffer)
        return buffer.getvalue()
    shown = Result(
        result.columns,
        [{c: shown_cell(row.get(c), null_string) for c in result.columns} for row in result.rows],
        message=result.message,
        statement=result.statement,
        dry_run=result.dry_run,
    )
    if expanded == "on":
        return format_expanded(shown)
    render(shown, fmt, buffer)
    text = buffer.getvalue()
    if expanded == "auto" and width is not None and any(get_cwidth(line) > width for line in text.splitlines()):
        return format_expanded(shown)
    return text


def shown_cell(value: t.Any, null_string: str = NULL_STRING) -> t.Any:
    """A value as the table shows it: NULL as ``null_string``, control characters in text escaped."""
    if value is None:
        return null_string
    if isinstance(value, str):
        return value.translate(_CELL_ESCAPES)
    return value  # numbers, booleans and structures: the renderer writes them as JSON (escaped already)


def escape(text: str) -> str:
    """``text`` on one line, its tabs, line breaks and other control characters as visible escapes
    (``\\t``, ``\\n``, ``\\x1b``): for what must not start another line (``\\set``'s listing)."""
    return text.translate(_ESCAPES)


def format_expanded(result: Result) -> str:
    """psql's ``\\x``: a ``-[ RECORD n ]-`` rule per row, then ``column | value`` lines."""
    if not result.rows:
        return "(0 rows)\n"
    width = max(get_cwidth(c) for c in result.columns)
    gap = "\n" + " " * width + " | "  # a value's next lines, under its first
    records = [[f"{_pad(c, width)} | {cell(row.get(c)).replace(chr(10), gap)}" for c in result.columns] for row in result.rows]
    longest = max(get_cwidth(line) for lines in records for text in lines for line in text.split("\n"))
    blocks = []
    for number, lines in enumerate(records, 1):
        rule = f"-[ RECORD {number} ]"
        blocks.append("\n".join([rule + "-" * max(0, longest - len(rule)), *lines]))
    return "\n".join(blocks) + "\n"


def _pad(text: str, width: int) -> str:
    return text + " " * (width - get_cwidth(text))


def _width(out: t.TextIO) -> int | None:
    isatty = getattr(out, "isatty", None)
    return shutil.get_terminal_size().columns if isatty is not None and isatty() else None


def too_big(text: str, out: t.TextIO) -> bool:
    """Whether ``text`` is taller or wider than the terminal ``out`` is (False if it is not a terminal)."""
    isatty = getattr(out, "isatty", None)
    if isatty is None or not isatty():
        return False
    size = shutil.get_terminal_size()
    lines = text.splitlines()
    return len(lines) > size.lines - 1 or any(get_cwidth(line) > size.columns for line in lines)


def page(text: str, out: t.TextIO) -> None:
    """Send ``text`` through ``$PAGER``; if it cannot be started, just print it."""
    try:
        argv = shlex.split(os.environ.get("PAGER") or DEFAULT_PAGER)
    except ValueError:
        argv = []
    if not argv:
        out.write(text)
        return
    out.flush()
    try:
        subprocess.run(argv, input=text, text=True, encoding="utf-8", check=False)
    except OSError:
        out.write(text)
    except KeyboardInterrupt:  # Ctrl-C reaches the pager and us alike; the pager has handled it
        pass
