"""Syntax highlighting and the shell's colours.

Highlighting reads the engine's own scanner (``cfql.sql.scanner``), so a
string, comment or dollar-quoted body is coloured exactly where the statement
will have one when it runs, ``E'it\\'s'`` and nested comments included. Text
with Jinja placeholders is scanned in template mode, so ``{{ title }}`` shows
as a placeholder even inside a string.
"""

from __future__ import annotations

import typing as t

from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.formatted_text.utils import split_lines
from prompt_toolkit.lexers import Lexer
from prompt_toolkit.styles import Style

from cfql.sql import scanner

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
    # The statement being typed, by scanner token kind.
    "sql.keyword": "bold #5fafff",
    "sql.name": "",
    "sql.string": "#d7af5f",
    "sql.quoted": "#d7d7af",
    "sql.number": "#87d7af",
    "sql.comment": "italic #808080",
    "sql.param": "#d787d7",
    "sql.placeholder": "bold #ff875f",
    "sql.template": "#ff875f",
    "sql.operator": "",
}

# Words shown as keywords: StackQL's statements and the SQL around them.
KEYWORDS = frozenset(
    """
    SELECT FROM WHERE AND OR NOT INSERT INTO VALUES UPDATE SET REPLACE DELETE EXEC EXECUTE SHOW EXTENDED
    PROVIDERS SERVICES RESOURCES METHODS IN LIKE ILIKE BETWEEN IS NULL TRUE FALSE DESCRIBE DESC ASC RETURNING
    AS DISTINCT ORDER BY GROUP HAVING LIMIT OFFSET CASE WHEN THEN ELSE END JOIN LEFT RIGHT INNER OUTER FULL
    CROSS ON USING UNION ALL EXISTS ANY CAST WITH EXPLAIN METHOD VERSION REGISTRY LIST PULL
    """.split()
)

_CLASSES = {
    scanner.WORD: "class:sql.name",
    scanner.NUMBER: "class:sql.number",
    scanner.STRING: "class:sql.string",
    scanner.QUOTED: "class:sql.quoted",
    scanner.COMMENT: "class:sql.comment",
    scanner.PARAM: "class:sql.param",
    scanner.PLACEHOLDER: "class:sql.placeholder",
    scanner.BLOCK: "class:sql.template",
    scanner.OP: "class:sql.operator",
    scanner.SEMICOLON: "class:sql.operator",
}


def highlight(text: str) -> StyleAndTextTuples:
    """``text`` as styled fragments, one per token (whitespace unstyled); never raises."""
    template = scanner.has_template(text)
    fragments: StyleAndTextTuples = []
    position = 0
    for token in scanner.iter_tokens(text, template):
        if token.start > position:
            fragments.append(("", text[position : token.start]))
        style = _CLASSES[token.kind]
        if token.kind == scanner.WORD and text[token.start : token.end].upper() in KEYWORDS:
            style = "class:sql.keyword"
        inside = token.start
        for inner in token.inner:  # Jinja inside a string or comment keeps its own colour
            if inner.start > inside:
                fragments.append((style, text[inside : inner.start]))
            fragments.append((_CLASSES[inner.kind], text[inner.start : inner.end]))
            inside = inner.end
        if token.end > inside:
            fragments.append((style, text[inside : token.end]))
        position = token.end
    if position < len(text):
        fragments.append(("", text[position:]))
    return fragments


class SQLLexer(Lexer):
    """A prompt_toolkit lexer over the scanner: the whole document is scanned once per change."""

    def lex_document(self, document: Document) -> t.Callable[[int], StyleAndTextTuples]:
        lines = list(split_lines(highlight(document.text)))

        def get_line(lineno: int) -> StyleAndTextTuples:
            return lines[lineno] if 0 <= lineno < len(lines) else []

        return get_line


def sql_lexer() -> Lexer:
    return SQLLexer()


def shell_style() -> Style:
    return Style.from_dict(STYLE)
