"""The one lexical view of StackQL text: where strings, names, comments and statements start and end.

Every pass that must know whether a character is inside a string or a comment
(statement splitting, error positions, template escaping, the shell's
completion, highlighting and history masking) asks this module, so they can
never disagree with one another. It follows sqlglot's Postgres tokenizer
(which parses the statements in the end) wherever a boundary is decided:

* ``'...'`` doubles a quote and a backslash is an ordinary character, while in
  ``E'...'`` a backslash escapes the next character (``N'``, ``X'``, ``B'`` and
  ``U&'`` strings follow the ``'...'`` rules);
* ``$tag$...$tag$`` is dollar-quoted when the tag is not all digits and holds no
  whitespace (sqlglot is laxer than PostgreSQL here), else ``$`` is an operator;
* ``/* ... */`` and ``{# ... #}`` nest, with sqlglot's quirk that an opener right
  after an opener is not counted (``/*/* */`` is one comment);
* ``--`` runs to a newline or carriage return;
* a prefix (``E``, ``N``, ...) counts only where a token starts, and words and
  numbers end where sqlglot ends them (a word runs to whitespace or ASCII
  punctuation other than ``_`` and ``$``; ``1E'x'`` is the number ``1E`` and a
  plain string), and multi-character operators such as ``#-`` or ``-|-`` are
  taken whole, so ``#--`` is no comment.

With ``template=True`` the Jinja constructs ``{{ ... }}``, ``{% ... %}`` and
``{# ... #}`` are atomic wherever they stand: at the top level they are tokens
of their own, and inside a string, quoted name or comment they are listed in
that token's ``inner`` (a quote inside ``{{ "'" }}`` opens nothing).

Scanning never raises, whatever the text: the shell runs it on every key press.
One compiled expression does almost all the work; small loops handle what a
regular expression cannot (nesting comments, dollar tags, Jinja brackets).
"""

from __future__ import annotations

import functools
import re
import typing as t

# Token kinds.
WORD = "word"
NUMBER = "number"
STRING = "string"  # '...', E'...', N'...', X'...', B'...', U&'...', $tag$...$tag$
QUOTED = "quoted"  # "..."
COMMENT = "comment"  # -- ..., /* ... */, and {# ... #} outside template mode (as sqlglot reads it)
PARAM = "param"  # :name, @name, @@name
PLACEHOLDER = "placeholder"  # {{ ... }} (template mode)
BLOCK = "block"  # {% ... %} and {# ... #} (template mode)
OP = "op"
SEMICOLON = "semicolon"


class Token(t.NamedTuple):
    """One token: what it is, where it is (``text[start:end]``) and whether it was closed.

    ``delimiter`` is the opening delimiter as written (``'``, ``E'``, ``$tag$``,
    ``"``, ``--``, ``/*``, ``{{``, ``@@`` ...) or, for operators, the operator.
    ``inner`` lists the Jinja constructs inside a string, quoted name or comment
    (template mode only). A NamedTuple because a long script makes many of them.
    """

    kind: str
    start: int
    end: int
    closed: bool = True
    delimiter: str = ""
    inner: tuple[Token, ...] = ()

    def text(self, source: str) -> str:
        return source[self.start : self.end]

    @property
    def closer(self) -> str:
        """The delimiter that ends this token (``""`` for a line comment, which ends before a newline)."""
        return _closer(self.kind, self.delimiter)

    @property
    def backslash_escapes(self) -> bool:
        """An ``E'...'`` string, where a backslash escapes the next character."""
        return self.kind == STRING and self.delimiter[:1] in ("E", "e")

    @property
    def dollar_quoted(self) -> bool:
        return self.kind == STRING and self.delimiter[:1] == "$"

    def body_span(self) -> tuple[int, int]:
        """``(start, end)`` of the content between the delimiters."""
        end = self.end - len(self.closer) if self.closed else self.end
        return self.start + len(self.delimiter), max(end, self.start + len(self.delimiter))

    def body(self, source: str) -> str:
        start, end = self.body_span()
        return source[start:end]


def _closer(kind: str, delimiter: str) -> str:
    if kind == STRING:
        return delimiter if delimiter[:1] == "$" else "'"
    if kind == QUOTED:
        return '"'
    if kind in (COMMENT, BLOCK, PLACEHOLDER):
        return {"/*": "*/", "{#": "#}", "{{": "}}", "{%": "%}"}.get(delimiter, "")
    return ""


# ASCII punctuation: each ends a word (sqlglot's single-character tokens), except
# that "$" may continue one (``a$b``) though it cannot start one.
_PUNCT = r"\x21-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7e"
_PUNCT_NOT_DOLLAR = r"\x21-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7e"
_WORD = rf"[^\s0-9{_PUNCT}][^\s{_PUNCT_NOT_DOLLAR}]*"
# sqlglot takes this keyword whole (dash included), so "USER-DEFINEDE'x'" is a keyword and an E-string.
_USER_DEFINED = r"[Uu][Ss][Ee][Rr]-[Dd][Ee][Ff][Ii][Nn][Ee][Dd]"
_STRING_PREFIX = r"(?:[NnXxBb]|[Uu]&)'"
# Operators sqlglot's Postgres tokenizer takes as one token, longest first (a
# test checks this list against sqlglot's). Those starting "-", "#" or "{" matter:
# "#--" is "#-" then "-", never a comment.
OPERATORS = (
    "<<->>", "#>>", "+%}", "+}}", "-%}", "->>", "-|-", "-}}", "<->", "<=>", "?::", "{%+", "{%-", "{{+",
    "{{-", "||/", "~~*", "~~~", "!=", "#-", "#>", "%}", "&&", "&<", "&>", "->", "::", ":=", "<=", "<>",
    "<@", "==", "=>", ">=", "?&", "??", "?|", "@>", "@?", "@@", "^@", "{%", "|/", "|>", "||", "~*", "~~",
)
_OPERATOR = "|".join(re.escape(op) for op in OPERATORS)
# sqlglot's number: digits with at most one ".", one exponent "e", and one sign after
# it when a digit follows; it stops before a letter. 0x... and 0b... run to punctuation.
_NUMBER = (
    rf"0[xXbB][^\s{_PUNCT}]*"
    r"|[0-9]+(?:\.[0-9]*(?:[eE][0-9]*(?:[+-][0-9]+)?)?"
    r"|[eE][0-9]*(?:\.[0-9]*(?:[+-][0-9]+)?|[+-][0-9]+(?:\.[0-9]*)?)?)?"
)
# A name after ":" / "@" / "@@" starts with a letter, and not where a prefixed string or keyword starts.
_PARAM = rf"(?:@@?|:(?!:))(?=[^\W\d])(?!{_STRING_PREFIX}|[Ee]'|{_USER_DEFINED}){_WORD}"


@functools.lru_cache(maxsize=None)  # compiled on first use: a plain statement never needs the template one
def _pattern(template: bool) -> re.Pattern[str]:
    """The expression behind ``iter_tokens``: one alternative per token kind, tried in sqlglot's order.

    A string, quoted name or line comment is matched whole when it can be; in
    template mode its body also stops before a Jinja construct, and the scanning
    loop takes that construct whole and resumes the body (``_BODIES``).
    """
    if template:
        brace, lone_brace = "{", r"|\{(?![{%#])"
        backslash = r"\\(?!\{[{%#])[\s\S]?|\\"  # a backslash before "{{" escapes nothing Jinja keeps
        comments = r"|(?P<nested>/\*)|(?P<jinja>\{[{%#])"
        line_rest = r"(?:\{(?![{%#])[^\n\r{]*)*"
    else:
        brace, lone_brace = "", ""
        backslash = r"\\[\s\S]?"
        comments = r"|(?P<nested>/\*|\{#)"
        line_rest = ""
    # Leading whitespace belongs to the next match: half as many matches to make.
    return re.compile(
        r"\s*(?:"
        r"(?P<semicolon>;)"
        rf"|(?P<line>--[^\n\r{brace}]*{line_rest})"
        + comments
        + rf"|(?P<estr>[Ee]'[^'\\{brace}]*(?:(?:''|{backslash}{lone_brace})[^'\\{brace}]*)*)(?P<estr_end>')?"
        rf"|(?P<str>(?:[NnXxBb]|[Uu]&)?'[^'{brace}]*(?:(?:''{lone_brace})[^'{brace}]*)*)(?P<str_end>')?"
        rf'|(?P<quoted>"[^"{brace}]*(?:(?:""{lone_brace})[^"{brace}]*)*)(?P<quoted_end>")?'
        + ("" if template else r"|(?P<dollars>(?P<tag>\$[^\s$]*\$)[\s\S]*?(?P=tag))")
        + r"|(?P<dollar>\$)"
        rf"|(?P<number>{_NUMBER})"
        rf"|(?P<param>{_PARAM})"
        rf"|(?P<word>{_USER_DEFINED}|{_WORD})"
        rf"|(?P<op>{_OPERATOR}|\S)"
        r")"
    )


_SIMPLE = {"word": WORD, "number": NUMBER, "param": PARAM, "op": OP, "semicolon": SEMICOLON}
_DELIMITED = {
    "str": STRING, "str_end": STRING, "estr": STRING, "estr_end": STRING,
    "quoted": QUOTED, "quoted_end": QUOTED, "line": COMMENT,
}
_JINJA_START = re.compile(r"\{[{%#]")
# Template-mode bodies, resumed after a Jinja construct inside a string, name or line comment.
_LONE_BRACE = r"\{(?![{%#])"
_BODIES = {
    "str": re.compile(rf"[^'{{]*(?:(?:''|{_LONE_BRACE})[^'{{]*)*(?P<end>')?"),
    "estr": re.compile(rf"[^'\\{{]*(?:(?:''|\\(?!\{{[{{%#])[\s\S]?|\\|{_LONE_BRACE})[^'\\{{]*)*(?P<end>')?"),
    "quoted": re.compile(rf'[^"{{]*(?:(?:""|{_LONE_BRACE})[^"{{]*)*(?P<end>")?'),
    "line": re.compile(rf"[^\n\r{{]*(?:{_LONE_BRACE}[^\n\r{{]*)*"),
}
# Where a Jinja expression may change depth or end: quotes, brackets, "%}".
_JINJA_STEP = re.compile(r"""['"(\[{)\]}]|%\}""")
_JINJA_STRING = {"'": re.compile(r"'(?:[^'\\]|\\[\s\S])*'"), '"': re.compile(r'"(?:[^"\\]|\\[\s\S])*"')}


def has_template(text: str) -> bool:
    """Whether ``text`` holds a Jinja placeholder or block (and so must be rendered before it is SQL)."""
    return "{{" in text or "{%" in text


def tokenize(text: str, template: bool = False) -> list[Token]:
    """Every token of ``text`` but whitespace, in order; never raises."""
    return list(iter_tokens(text, template))


def iter_tokens(text: str, template: bool = False) -> t.Iterator[Token]:
    """The tokens of ``text`` one at a time (whitespace is skipped; comments are tokens)."""
    for item in _scan(text, template):
        if isinstance(item, Token):
            yield item
            continue
        group: str = item.lastgroup  # type: ignore[assignment]  # every alternative is a named group
        start = item.start(group)
        kind = _SIMPLE[group]
        if kind == OP:
            yield Token(OP, start, item.end(), True, item.group(group))
        elif kind == PARAM:
            yield Token(PARAM, start, item.end(), True, "@@" if text.startswith("@@", start) else text[start])
        else:
            yield Token(kind, start, item.end())


def semicolons(text: str) -> t.Iterator[int]:
    """Offsets of the top-level ``;`` of ``text`` (outside strings, names and comments).

    ``iter_tokens`` without building a token per word, so that splitting a long
    script costs little next to parsing it.
    """
    if ";" not in text:  # no semicolon at all, so none at the top level: nothing to scan
        return
    for item in _scan(text, False, semicolons_only=True):
        if not isinstance(item, Token):
            yield item.start("semicolon")


def _scan(text: str, template: bool, semicolons_only: bool = False) -> t.Iterator[re.Match[str] | Token]:
    """The expression's matches, with what it cannot finish alone finished by hand (as Tokens).

    A match of a simple kind (``_SIMPLE``) is handed out as it is, so that
    ``semicolons`` never pays for a Token (and, asking for ``semicolons_only``,
    not even for a match it does not want). The expression resumes after each
    hand-scanned token that ran past its match.
    """
    pattern = _pattern(template)
    n = len(text)
    pos = 0
    after_parameter = False  # sqlglot's number takes no "." right after a "@" or "$" parameter token
    while pos < n:
        for m in pattern.finditer(text, pos):
            group: str = m.lastgroup  # type: ignore[assignment]  # every alternative is a named group
            if group in _SIMPLE:
                if group == "number" and after_parameter:
                    start = m.start(group)
                    dot = text.find(".", start, m.end())
                    if dot > start and not text.startswith(("0x", "0X", "0b", "0B"), start):
                        yield Token(NUMBER, start, dot)
                        after_parameter = False
                        pos = dot
                        break
                after_parameter = group == "op" and m.end() - m.start(group) == 1 and text[m.end() - 1] == "@"
                if not semicolons_only or group == "semicolon":
                    yield m
                continue
            if not template and (group in _DELIMITED or group == "dollars"):
                # Outside template mode the expression matched these whole, but for an all-digit
                # tag (str.isdigit, which no character class matches exactly), which is no tag to sqlglot.
                if group == "dollars" and m.group("tag")[1:-1].isdigit():
                    token = _dollar(text, m.start(group), template)
                else:
                    if group != "line":
                        after_parameter = False
                    if not semicolons_only:
                        yield _delimited(text, m, group, template) if group != "dollars" else _dollars(m)
                    continue
            elif group in _DELIMITED:
                token = _delimited(text, m, group, template)
            elif group == "dollar":
                token = _dollar(text, m.start(group), template)
            elif group == "nested":
                token = _nested_comment(text, m.start(group), template)
            else:
                token = _jinja(text, m.start(group))
            if token.kind != COMMENT:
                after_parameter = token.kind == OP  # the fallback "$" is sqlglot's parameter token
            yield token
            if token.end != m.end():
                pos = token.end  # scanned by hand past the match: resume the expression there
                break
        else:
            return  # only whitespace is left


def _delimited(text: str, m: re.Match[str], group: str, template: bool) -> Token:
    """A string, quoted name or line comment the expression matched, finished by hand if Jinja interrupts it."""
    kind = _DELIMITED[group]
    start, end = m.start(group.removesuffix("_end")), m.end()
    if kind == STRING:
        delimiter = "'" if text[start] == "'" else text[start : text.index("'", start) + 1]
    else:
        delimiter = '"' if kind == QUOTED else "--"
    closed = kind == COMMENT or group.endswith("_end")  # a line comment ends at a newline or the end
    # In template mode a body stops before a Jinja construct: then it goes on after it.
    interrupted = template and (kind == COMMENT or not closed) and _JINJA_START.match(text, end)
    if not interrupted:
        return Token(kind, start, end, closed, delimiter)
    body = _BODIES[group.removesuffix("_end")]
    inner: list[Token] = []
    while True:
        island = _jinja(text, end)
        inner.append(island)
        resumed = body.match(text, island.end)
        assert resumed is not None  # every body can match nothing
        end = resumed.end()
        if resumed.lastgroup == "end":
            closed = True
            break
        if not _JINJA_START.match(text, end):
            closed = kind == COMMENT
            break
    return Token(kind, start, end, closed, delimiter, tuple(inner))


def _dollars(m: re.Match[str]) -> Token:
    return Token(STRING, m.start("dollars"), m.end(), True, m.group("tag"))


def _dollar(text: str, i: int, template: bool) -> Token:
    """``$tag$ ... $tag$`` at ``i``, or the operator ``$`` when sqlglot would not read a dollar quote there."""
    n = len(text)
    if i + 1 < n and text[i + 1] == "$":
        tag = "$$"
    else:
        close = text.find("$", i + 1)
        name = text[i + 1 : close]
        at_end = close == n - 1  # sqlglot gives up on a tag whose "$" ends the text ...
        if close < 0 or at_end or name.isdigit() or any(c.isspace() for c in name) or (template and "{" in name):
            width = 2 if at_end else 1  # ... and then its fallback token takes one more character
            return Token(OP, i, i + width, True, text[i : i + width])
        tag = text[i : close + 1]
    body = i + len(tag)
    if not template:
        close = text.find(tag, body)
        if close < 0:
            return Token(STRING, i, n, False, tag)
        return Token(STRING, i, close + len(tag), True, tag)
    inner: list[Token] = []
    pos = body
    while True:
        close = text.find(tag, pos)
        island = _JINJA_START.search(text, pos, close if close >= 0 else n)
        if island is None:
            break
        token = _jinja(text, island.start())
        inner.append(token)
        pos = token.end
    if close < 0:
        return Token(STRING, i, n, False, tag, tuple(inner))
    return Token(STRING, i, close + len(tag), True, tag, tuple(inner))


def _nested_comment(text: str, i: int, template: bool) -> Token:
    """``/* ... */`` (or ``{# ... #}`` outside template mode), nesting as sqlglot's tokenizer does.

    sqlglot looks for a closer from the first character after an opener and
    for a nested opener only from the second, and after a closer from the very
    next character: so ``/*/* */`` is one comment and ``*/*`` closes and reopens.
    """
    opener = text[i : i + 2]
    closer = "*/" if opener == "/*" else "#}"
    n = len(text)
    depth = 1
    close_from, open_from = i + 2, i + 3
    inner: list[Token] = []
    while True:
        close = text.find(closer, close_from)
        # An opener may overlap the closer it precedes: "/*/" opens, since sqlglot meets the "/" first.
        nested = text.find(opener, open_from, close + 1) if close >= 0 else -1
        if template:
            bound = nested if nested >= 0 else close if close >= 0 else n
            island = _JINJA_START.search(text, close_from, bound)
            if island is not None:
                token = _jinja(text, island.start())
                inner.append(token)
                close_from = open_from = token.end
                continue
        if close < 0:
            return Token(COMMENT, i, n, False, opener, tuple(inner))
        if nested >= 0:
            depth += 1
            close_from, open_from = nested + 2, nested + 3
            continue
        depth -= 1
        if not depth:
            return Token(COMMENT, i, close + 2, True, opener, tuple(inner))
        close_from = open_from = close + 1


def _jinja(text: str, i: int) -> Token:
    """The Jinja construct at ``i``: ``{# ... #}`` to its first ``#}``; ``{{ }}`` and ``{% %}`` as Jinja's
    lexer ends them, outside its string literals and brackets."""
    n = len(text)
    opener = text[i : i + 2]
    if opener == "{#":
        close = text.find("#}", i + 2)
        return Token(BLOCK, i, n, False, opener) if close < 0 else Token(BLOCK, i, close + 2, True, opener)
    kind = PLACEHOLDER if opener == "{{" else BLOCK
    depth = 0
    pos = i + 2
    while True:
        m = _JINJA_STEP.search(text, pos)
        if m is None:
            return Token(kind, i, n, False, opener)
        ch = m.group()
        pos = m.end()
        if ch in ("'", '"'):
            literal = _JINJA_STRING[ch].match(text, m.start())
            if literal is None:
                return Token(kind, i, n, False, opener)
            pos = literal.end()
        elif ch == "%}":
            if depth == 0 and kind == BLOCK:
                return Token(kind, i, pos, True, opener)
            pos -= 1  # "%" is an operator here; look at the "}" again
        elif ch in "([{":
            depth += 1
        elif depth:
            depth -= 1
        elif ch == "}" and kind == PLACEHOLDER and text.startswith("}", pos):
            return Token(kind, i, pos + 1, True, opener)


def first_unclosed(text: str) -> Token | None:
    """The string, quoted name or comment that opens in ``text`` and never closes, if one does."""
    for token in iter_tokens(text):
        if not token.closed:
            return token
    return None


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset``."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1
