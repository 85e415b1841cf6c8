"""The shell reads a statement being typed with the engine's scanner: the same strings, comments and names."""

from __future__ import annotations

import pytest

from cfql.shell import context
from cfql.shell.keys import is_complete


def test_tokens_as_the_shell_reads_them() -> None:
    tokens = context.tokenize("SELECT a FROM cloudflare.realtime_kit.mee /* c */ WHERE x = :m AND @p = 1 -- d")
    assert [(t.kind, t.text) for t in tokens] == [
        ("name", "SELECT"), ("name", "a"), ("name", "FROM"), ("name", "cloudflare.realtime_kit.mee"), ("name", "WHERE"),
        ("name", "x"), ("op", "="), ("op", ":"), ("name", "m"), ("name", "AND"), ("param", "@p"), ("op", "="),
        ("number", "1"),
    ]
    assert [t.text for t in context.tokenize("SELECT * FROM cloudflare.")][-1] == "cloudflare."
    assert [(t.kind, t.text) for t in context.tokenize("EXEC p.s.r.m @")][-1] == ("param", "@")


@pytest.mark.parametrize(
    "text, value, closed",
    [
        ("'it''s'", "it's", True),
        ("E'it\\'s\\n'", "it's\n", True),
        ("$$a 'b'$$", "a 'b'", True),
        ("$t$x$t$", "x", True),
        ("'open", "open", False),
        ("E'open\\'", "open'", False),
    ],
)
def test_string_values(text: str, value: str, closed: bool) -> None:
    (token,) = context.tokenize(text)
    assert (token.kind, token.value, token.closed) == ("string", value, closed)


def test_strings_and_comments_end_where_the_engine_ends_them() -> None:
    """E'...' takes backslash escapes, '...' does not, and comments nest: Enter agrees with the engine."""
    assert not is_complete("SELECT E'it\\'s;")  # still inside the E-string
    assert is_complete("SELECT 'a\\';")  # the backslash is a character, the quote closes
    assert not is_complete("SELECT 1 /* a /* b */ ; */")  # still inside the outer comment
    assert is_complete("SELECT 1 /* a /* b */ */ ;")
    assert not is_complete("SELECT $$ a; $$ || $$;")
    assert not is_complete('SELECT "a;')


def test_the_first_word_after_comments_is_the_verb() -> None:
    shape = context.scan(context.tokenize("/* why */ -- because\nDELETE FROM p.s.r WHERE id = 'x'"))
    assert shape.verb == "delete" and shape.target == ("p", "s", "r") and shape.params == ["id"]
