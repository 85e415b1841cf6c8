"""Showing results: the engine's renderers, through a pager when the result does not fit.

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
from cfql.rows.output import render

DEFAULT_PAGER = "less -SRXF"


def emit(result: Result, fmt: str, out: t.TextIO, pager: bool) -> None:
    """Render ``result`` in ``fmt`` to ``out``, through the pager if wanted and needed."""
    buffer = io.StringIO()
    render(result, fmt, buffer)
    text = buffer.getvalue()
    if pager and too_big(text, out):
        page(text, out)
    else:
        out.write(text)
    out.flush()


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
