"""Syntax highlighting and the shell's colours.

Highlighting uses pygments' SQL lexer through prompt_toolkit (StackQL is SQL
with a few extra keywords, which pygments shows as names — harmless). Pygments
is what pytest and most Python installs already carry; without it the shell
still works, just uncoloured.
"""

from __future__ import annotations

from prompt_toolkit.lexers import Lexer, PygmentsLexer
from prompt_toolkit.styles import Style

STYLE = {
    "prompt": "ansigreen bold",
    "prompt.target": "ansiyellow",
    "continuation": "ansibrightblack",
    "bottom-toolbar": "noreverse bg:#262626 #a8a8a8",
    "bottom-toolbar.ok": "#87d787",
    "bottom-toolbar.missing": "#ffd75f",
    "bottom-toolbar.error": "#ff8787",
    "bottom-toolbar.hint": "#a8a8a8",
    "bottom-toolbar.flags": "#767676",
    "matching-bracket.cursor": "bold bg:#005f87 #ffffff",
    "matching-bracket.other": "bold bg:#005f87 #ffffff",
    "completion-menu.meta.completion": "bg:#444444 #bcbcbc",
    "completion-menu.meta.completion.current": "bg:#585858 #ffffff",
}


def sql_lexer() -> Lexer | None:
    try:
        from pygments.lexers.sql import SqlLexer
    except ImportError:  # pragma: no cover - pygments is optional
        return None
    return PygmentsLexer(SqlLexer)


def shell_style() -> Style:
    return Style.from_dict(STYLE)
