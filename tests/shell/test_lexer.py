"""Highlighting follows the engine's scanner: strings, comments and placeholders are coloured where they really are."""

from __future__ import annotations

from prompt_toolkit.document import Document

from cfql.shell.lexer import STYLE, SQLLexer, highlight, shell_style, sql_lexer


def styled(text: str) -> list[tuple[str, str]]:
    return [(style.removeprefix("class:sql."), piece) for style, piece in highlight(text) if style]


def test_each_kind_has_its_class() -> None:
    text = "SELECT name, 12, 'x', \"Q\" FROM p.s.r WHERE a = @p AND b = :m -- note"
    assert styled(text) == [
        ("keyword", "SELECT"), ("name", "name"), ("operator", ","), ("number", "12"), ("operator", ","),
        ("string", "'x'"), ("operator", ","), ("quoted", '"Q"'), ("keyword", "FROM"), ("name", "p"),
        ("operator", "."), ("name", "s"), ("operator", "."), ("name", "r"), ("keyword", "WHERE"), ("name", "a"),
        ("operator", "="), ("param", "@p"), ("keyword", "AND"), ("name", "b"), ("operator", "="), ("param", ":m"),
        ("comment", "-- note"),
    ]


def test_strings_end_where_the_engine_ends_them() -> None:
    assert styled("SELECT E'it\\'s', 'a\\' -- not a comment") == [
        ("keyword", "SELECT"), ("string", "E'it\\'s'"), ("operator", ","), ("string", "'a\\'"), ("comment", "-- not a comment"),
    ]
    assert styled("/* a /* b */ c */ $$ ; $$") == [("comment", "/* a /* b */ c */"), ("string", "$$ ; $$")]


def test_placeholders_are_marked_even_inside_strings() -> None:
    assert styled("SELECT '{{ title }}', {{ n }}") == [
        ("keyword", "SELECT"), ("string", "'"), ("placeholder", "{{ title }}"), ("string", "'"), ("operator", ","),
        ("placeholder", "{{ n }}"),
    ]


def test_the_text_is_kept_whole_and_split_into_lines() -> None:
    text = "SELECT 'a\nb' -- c\n  FROM x;  "
    assert "".join(piece for _, piece in highlight(text)) == text
    get_line = sql_lexer().lex_document(Document(text))
    lines = ["".join(piece for _, piece in get_line(n)) for n in range(3)]
    assert lines == text.split("\n") and get_line(7) == []
    assert ("class:sql.string", "b'") in get_line(1)


def test_every_class_is_in_the_style_sheet() -> None:
    assert isinstance(sql_lexer(), SQLLexer)
    shell_style()  # parses
    classes = {style.removeprefix("class:") for style, _ in highlight("SELECT a, 1, 'b', \"c\", @d, {{ e }}, {% f %}; -- g")}
    assert classes - {""} <= set(STYLE)
