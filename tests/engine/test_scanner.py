"""The scanner: every token kind, where each ends, and agreement with sqlglot's tokenizer on every boundary."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from cfql.sql import scanner
from cfql.sql.dialect import _DIALECT, StackQL
from cfql.sql.scanner import (
    BLOCK,
    COMMENT,
    NUMBER,
    OP,
    PARAM,
    PLACEHOLDER,
    QUOTED,
    SEMICOLON,
    STRING,
    WORD,
    Token,
)


def kinds(text: str, template: bool = False) -> list[tuple[str, str]]:
    return [(token.kind, token.text(text)) for token in scanner.tokenize(text, template)]


def test_every_token_kind() -> None:
    text = "SELECT a.b, 1.5e3, 'x', \"Q\", @p, @@json, :m -- c\n/* d */ <> ;"
    assert kinds(text) == [
        (WORD, "SELECT"), (WORD, "a"), (OP, "."), (WORD, "b"), (OP, ","), (NUMBER, "1.5e3"), (OP, ","),
        (STRING, "'x'"), (OP, ","), (QUOTED, '"Q"'), (OP, ","), (PARAM, "@p"), (OP, ","), (PARAM, "@@json"),
        (OP, ","), (PARAM, ":m"), (COMMENT, "-- c"), (COMMENT, "/* d */"), (OP, "<>"), (SEMICOLON, ";"),
    ]
    params = [token.delimiter for token in scanner.tokenize(text) if token.kind == PARAM]
    assert params == ["@", "@@", ":"]


def test_spans_are_offsets_into_the_text() -> None:
    text = "  SELECT\t'it''s' ;"
    tokens = scanner.tokenize(text)
    assert [(t.start, t.end) for t in tokens] == [(2, 8), (9, 16), (17, 18)]
    assert tokens[1].body(text) == "it''s" and tokens[1].closer == "'"


@pytest.mark.parametrize(
    "text, kind, delimiter",
    [
        ("'open", STRING, "'"),
        ("E'open\\'", STRING, "E'"),
        ("'doubled ''", STRING, "'"),
        ('"name', QUOTED, '"'),
        ("/* never", COMMENT, "/*"),
        ("/* /* one closer */", COMMENT, "/*"),
        ("$$ body", STRING, "$$"),
        ("$tag$ body $tag", STRING, "$tag$"),
        ("{# not closed", COMMENT, "{#"),
    ],
)
def test_unclosed_tokens_run_to_the_end(text: str, kind: str, delimiter: str) -> None:
    (token,) = scanner.tokenize(text)
    assert (token.kind, token.delimiter, token.closed, token.start, token.end) == (kind, delimiter, False, 0, len(text))
    assert scanner.first_unclosed("SELECT 1; " + text) == Token(kind, 10, 10 + len(text), False, delimiter)


def test_closed_tokens_and_first_unclosed() -> None:
    assert scanner.first_unclosed("SELECT 'a', \"b\", $$c$$ /* d */ -- e") is None
    assert all(token.closed for token in scanner.tokenize("SELECT 'a', \"b\", $$c$$ /* d */ -- e"))


def test_standard_strings_double_quotes_and_keep_backslashes() -> None:
    """As sqlglot's Postgres tokenizer reads them: in '...' a backslash is an ordinary character."""
    text = r"SELECT 'a\', 'b''c'"
    assert kinds(text) == [(WORD, "SELECT"), (STRING, r"'a\'"), (OP, ","), (STRING, "'b''c'")]


def test_escape_strings_take_backslash_escapes() -> None:
    text = r"SET title = E'it\'s', persist_chat = {{ v }}"
    tokens = scanner.tokenize(text)
    assert tokens[3].text(text) == r"E'it\'s'" and tokens[3].backslash_escapes and tokens[3].closed
    assert kinds(r"SELECT e'a\\', 'b'") == [(WORD, "SELECT"), (STRING, r"e'a\\'"), (OP, ","), (STRING, "'b'")]
    assert not scanner.tokenize("SELECT 'plain'")[1].backslash_escapes


@pytest.mark.parametrize(
    "text, expected",
    [
        (r"abcE'x\'", [(WORD, "abcE"), (STRING, r"'x\'")]),  # a prefix only where a token starts
        (r"1E'x\'", [(NUMBER, "1E"), (STRING, r"'x\'")]),  # sqlglot's number takes the E
        (r"1e5E'x\''", [(NUMBER, "1e5"), (STRING, r"E'x\''")]),
        (r"a.E'x\''", [(WORD, "a"), (OP, "."), (STRING, r"E'x\''")]),
        (r"@E'x\''", [(OP, "@"), (STRING, r"E'x\''")]),
        ("N'x' X'0f' B'01' U&'y'", [(STRING, "N'x'"), (STRING, "X'0f'"), (STRING, "B'01'"), (STRING, "U&'y'")]),
        ("USER-DEFINEDE'x'", [(WORD, "USER-DEFINED"), (STRING, "E'x'")]),
    ],
)
def test_string_prefixes_count_only_where_sqlglot_starts_a_token(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


def test_quoted_names_double_their_quotes() -> None:
    assert kinds('SELECT "a""b", "c\\"') == [(WORD, "SELECT"), (QUOTED, '"a""b"'), (OP, ","), (QUOTED, '"c\\"')]


def test_comments_line_and_nested() -> None:
    assert kinds("a -- x ; y\nb") == [(WORD, "a"), (COMMENT, "-- x ; y"), (WORD, "b")]
    assert kinds("a -- x\rb") == [(WORD, "a"), (COMMENT, "-- x"), (WORD, "b")]  # a carriage return ends it too
    assert kinds("/* a /* b */ c */ d") == [(COMMENT, "/* a /* b */ c */"), (WORD, "d")]
    # sqlglot's quirks: no nested opener right after an opener, and "*/*" closes then reopens.
    assert kinds("/*/* */ d") == [(COMMENT, "/*/* */"), (WORD, "d")]
    assert kinds("/* /* */* x */ */ d") == [(COMMENT, "/* /* */* x */ */"), (WORD, "d")]
    assert kinds("{# a ; #} b") == [(COMMENT, "{# a ; #}"), (WORD, "b")]  # a comment to sqlglot outside templates


@pytest.mark.parametrize(
    "text, expected",
    [
        ("#--x", [(OP, "#-"), (OP, "-"), (WORD, "x")]),  # never a comment, as sqlglot reads it
        ("1 -|--x", [(NUMBER, "1"), (OP, "-|-"), (OP, "-"), (WORD, "x")]),
        ("a::int", [(WORD, "a"), (OP, "::"), (WORD, "int")]),
        ("a = :b", [(WORD, "a"), (OP, "="), (PARAM, ":b")]),
        ("x := 1", [(WORD, "x"), (OP, ":="), (NUMBER, "1")]),
        ("a->>'k'", [(WORD, "a"), (OP, "->>"), (STRING, "'k'")]),
        ("a$b$c", [(WORD, "a$b$c")]),
    ],
)
def test_operators_and_parameters(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("$$a;b$$ x", [(STRING, "$$a;b$$"), (WORD, "x")]),
        ("$fn$ a $$ b $fn$ x", [(STRING, "$fn$ a $$ b $fn$"), (WORD, "x")]),
        ("$'$ a $'$", [(STRING, "$'$ a $'$")]),  # sqlglot takes any tag without whitespace
        ("$1 + $2", [(OP, "$"), (NUMBER, "1"), (OP, "+"), (OP, "$"), (NUMBER, "2")]),
        ("$12$ x", [(OP, "$"), (NUMBER, "12"), (OP, "$"), (WORD, "x")]),  # an all-digit tag is none
        ("$a b$ 'x'", [(OP, "$"), (WORD, "a"), (WORD, "b$"), (STRING, "'x'")]),
        ("$'x y$", [(OP, "$'"), (WORD, "x"), (WORD, "y$")]),  # sqlglot's fallback when the text ends at the "$"
    ],
)
def test_dollar_quotes_follow_sqlglot(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


def test_dollar_quoted_token_knows_its_tag() -> None:
    text = "SELECT $fn$ body $fn$"
    token = scanner.tokenize(text)[1]
    assert token.dollar_quoted and token.closer == "$fn$" and token.body(text) == " body "


def test_template_constructs_are_atomic_everywhere() -> None:
    text = "SELECT '{{ \"'\" }}', {{ x }} /* {% if a %} */ -- {# note #}\n\"{{ y }}\" $$ {{ z }} $$ E'\\{{ w }}'"
    tokens = scanner.tokenize(text, template=True)
    assert [(t.kind, t.text(text)) for t in tokens] == [
        (WORD, "SELECT"), (STRING, "'{{ \"'\" }}'"), (OP, ","), (PLACEHOLDER, "{{ x }}"),
        (COMMENT, "/* {% if a %} */"), (COMMENT, "-- {# note #}"), (QUOTED, '"{{ y }}"'),
        (STRING, "$$ {{ z }} $$"), (STRING, "E'\\{{ w }}'"),
    ]
    inner = [[(i.kind, i.text(text)) for i in t.inner] for t in tokens]
    assert inner == [
        [], [(PLACEHOLDER, "{{ \"'\" }}")], [], [], [(BLOCK, "{% if a %}")], [(BLOCK, "{# note #}")],
        [(PLACEHOLDER, "{{ y }}")], [(PLACEHOLDER, "{{ z }}")], [(PLACEHOLDER, "{{ w }}")],
    ]


def test_a_closed_literal_next_to_a_placeholder_does_not_swallow_it() -> None:
    text = "'a'{{ x }}\"b\"{{ y }}-- c {{ z }}\n{{ w }}"
    tokens = scanner.tokenize(text, template=True)
    assert [(t.kind, t.text(text), len(t.inner)) for t in tokens] == [
        (STRING, "'a'", 0), (PLACEHOLDER, "{{ x }}", 0), (QUOTED, '"b"', 0), (PLACEHOLDER, "{{ y }}", 0),
        (COMMENT, "-- c {{ z }}", 1), (PLACEHOLDER, "{{ w }}", 0),
    ]


def test_placeholders_end_as_jinja_ends_them() -> None:
    text = "{{ {'a': {'b': 1}} }} {{ \"}}\" }} {% set x = '%}' %} {{ open"
    tokens = scanner.tokenize(text, template=True)
    assert [(t.kind, t.text(text), t.closed) for t in tokens] == [
        (PLACEHOLDER, "{{ {'a': {'b': 1}} }}", True),
        (PLACEHOLDER, '{{ "}}" }}', True),
        (BLOCK, "{% set x = '%}' %}", True),
        (PLACEHOLDER, "{{ open", False),
    ]


def test_outside_template_mode_jinja_is_plain_text() -> None:
    assert kinds("'{{ \"'\" }}'") == [(STRING, "'{{ \"'"), (QUOTED, "\" }}'")]


def test_semicolons_are_the_top_level_ones() -> None:
    text = "a; 'b;c'; \"d;\"; -- e;\n/* f; */ $$g;$$; h"
    expected = [t.start for t in scanner.tokenize(text) if t.kind == SEMICOLON]
    assert list(scanner.semicolons(text)) == expected == [1, 8, 14, 37]


def test_line_and_column() -> None:
    assert scanner.line_and_column("ab\ncd", 4) == (2, 2)
    assert scanner.line_and_column("ab", 0) == (1, 1)


def test_operator_list_is_sqlglots() -> None:
    """Every multi-character operator sqlglot's StackQL tokenizer takes whole, and nothing else."""
    tokenizer = StackQL.Tokenizer
    singles = set(tokenizer.SINGLE_TOKENS)
    keys = {*tokenizer.KEYWORDS, *tokenizer._COMMENTS, *tokenizer._QUOTES, *tokenizer._FORMAT_STRINGS}
    punctuation = {key for key in keys if len(key) > 1 and all(c in singles for c in key)}
    handled_elsewhere = {"--", "/*", "{#"}  # comments
    assert punctuation - handled_elsewhere == set(scanner.OPERATORS)
    assert list(scanner.OPERATORS) == sorted(scanner.OPERATORS, key=len, reverse=True)


# -- never raises, and covers the text -------------------------------------------------------

ALPHABET = "'\"\\Ee$-/*;\n\r\t xa1{}#%:@.()|N&U_+é"
PIECES = [
    "$a$", "$$", "E'", "e'", "N'", "U&'", "/*", "*/", "--", "''", '""', "{#", "#}", "{{", "}}", "{%", "%}",
    "1e5", "0x", "#-", "-|-", "::", ":a", "@a", "@@", "\\'", "/*/", "USER-DEFINED", "$1", "@1.", "$1.", "1.e",
]
sqlish = st.one_of(
    st.text(alphabet=ALPHABET, max_size=40),
    st.lists(st.one_of(st.sampled_from(PIECES), st.sampled_from(list(ALPHABET))), max_size=25).map("".join),
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(sqlish, st.text(max_size=60)), st.booleans())
def test_tokens_never_raise_and_tile_the_text(text: str, template: bool) -> None:
    tokens = scanner.tokenize(text, template)
    position = 0
    for token in tokens:
        assert text[position : token.start].strip() == ""  # only whitespace between tokens
        assert token.start < token.end or (token.start == token.end == len(text))
        for inner in token.inner:
            assert token.start <= inner.start < inner.end <= token.end
        position = token.end
    assert text[position:].strip() == ""
    assert list(scanner.semicolons(text)) == [t.start for t in scanner.tokenize(text) if t.kind == SEMICOLON]


# -- agreement with sqlglot ------------------------------------------------------------------

_LITERALS = {
    TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.BYTE_STRING, TokenType.HEX_STRING,
    TokenType.BIT_STRING, TokenType.UNICODE_STRING, TokenType.HEREDOC_STRING, TokenType.IDENTIFIER,
}


def disagreements(text: str) -> list[str] | None:
    """Where the scanner and sqlglot's tokenizer read ``text`` differently; None when sqlglot fails on it."""
    try:
        theirs = _DIALECT.tokenize(text)
    except TokenError:
        return None
    if any(token.token_type in StackQL.Tokenizer.COMMANDS for token in theirs):
        return None  # the rest of a command statement is one opaque string to sqlglot
    ours = scanner.tokenize(text)
    found = []
    # Every string and quoted name starts and ends in the same place (0x... numbers are sqlglot "strings").
    their_literals = [(t.start, t.end + 1) for t in theirs if t.token_type in _LITERALS and not text[t.start].isdigit()]
    our_literals = [(t.start, t.end) for t in ours if t.kind in (STRING, QUOTED)]
    if their_literals != our_literals:
        found.append(f"literals: sqlglot {their_literals}, scanner {our_literals}")
    # What we call a comment sqlglot skips, and everything else it reads as tokens.
    comments = [(t.start, t.end) for t in ours if t.kind == COMMENT]
    found += [f"sqlglot token {t.text!r} at {t.start} is in a comment" for t in theirs if any(a <= t.start < b for a, b in comments)]
    found += [
        f"{o.kind} at {o.start} is no sqlglot token"
        for o in ours
        if o.kind != COMMENT and not any(t.start <= o.start <= t.end for t in theirs)
    ]
    return found


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sqlish)
def test_boundaries_agree_with_sqlglot(text: str) -> None:
    assert not disagreements(text)


@pytest.mark.parametrize(
    "text",
    [
        r"SET title = E'it\'s', persist_chat = 1",
        r"SELECT 'a\', 'b'",
        r"SELECT E'a\\', 'b' -- c",
        "SELECT /* /* */ */ 1; SELECT /*/* */ 2",
        "SELECT $$ a ' b $$, $t$ x $$ y $t$, $1",
        "SELECT 1 #--x\n, 2 -|--y",
        'SELECT "a""b" FROM c -- d\r e',
        "SELECT {# x ; #} 1",
        r"SELECT 1E'x\', 1e5E'y\''",
        "SELECT $a b$ 'x'",
        r"SELECT @1.E'x\'', $1.E'y\'' AS z",  # no "." in a number right after a parameter token
        "SELECT $²$ x $²$ 1, $é$ y $é$",  # str.isdigit decides what an all-digit tag is
    ],
)
def test_known_tricky_texts_agree_with_sqlglot(text: str) -> None:
    assert disagreements(text) == []
