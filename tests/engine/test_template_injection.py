"""No statement or token is smuggled through a placeholder, whatever the value and wherever it stands.

The check is sqlglot's own tokenizer (what finally parses the statements), not
the scanner the templates use: a rendering with a hostile value must give the
same statements and the same number of tokens, of the same kinds, as one with
a harmless value of the same type; or be refused.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfql.errors import Error, TemplateError
from cfql.script.templates import render
from cfql.sql.dialect import iter_statements, tokenize

# Where a placeholder can stand: in every kind of literal, next to the template's own text, in
# Jinja blocks that could move it, after prefixes, parameters and operators that would join it.
CONTEXTS = [
    "'{{ v }}'", "'a{{ v }}b'", "'{{ v }}{{ v }}'", "'{{ v }}''x'", "'{{ v }}'::text", "''{{ v }}", "'{{ v }}''",
    "E'{{ v }}'", "e'a\\\\{{ v }}b'", "E'\\\\{{ v }}'", "E'{{ v }}\\\\'",
    "N'{{ v }}'", "X'{{ v }}'", "B'{{ v }}'", "U&'{{ v }}'", "U&'{{ v }}' UESCAPE '!'",
    "$${{ v }}$$", "$$ {{ v }}$$", "$q$ {{ v }} $q$", "$a$$b${{ v }}$b$$a$", "$a${{ v }}$a$$a$",
    '"{{ v }}"', '"a{{ v }}b"', "`{{ v }}`", "`a {{ v }} b`",
    "{{ v }}", "{{ v }}{{ v }}", "-{{ v }}", "{{ v }}-", "/{{ v }}", "{{ v }}/", "*{{ v }}", "{{ v }}*",
    "1{{ v }}", "{{ v }}.5", "{{ v }}e", "0x{{ v }}", "a{{ v }}", "{{ v }}a", "#{{ v }}", "{{ v }}#",
    ":{{ v }}", "@{{ v }}", "@@{{ v }}", "${{ v }}", "$1{{ v }}", "x::{{ v }}",
    "{% if true %}'{{ v }}'{% endif %}", "'{% if true %}{{ v }}{% endif %}'", "'{# c #}{{ v }}'",
    "{% for i in [1, 2] %}'{{ v }}', {% endfor %}1", "{% if x %}'{% endif %}{{ v }}",
    "{% raw %}'{% endraw %}{{ v }}'",
]
PIECES = [
    *"'\"\\$;-*/\n\r eE{}%#q`:@0123456789.+x\t\x0b\x0c",
    "\x00", "\u2028", "\u2029", "\x85", "$$", "$q$", "*/", "/*", "--", "{{", "{%", "{#", "}}", "%}",
    "E'", "\\'", "''", '""', "U&", "UESCAPE", "; DROP TABLE x; --", "1 OR 1=1",
]
text_values = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)
values = st.one_of(
    text_values,
    st.sampled_from([None, True, False, 0, -1, 1.5, -2.5e10, 10**30]),
    st.dictionaries(text_values, text_values, max_size=2),
    st.lists(st.one_of(text_values, st.integers(-5, 5)), max_size=3),
)


def harmless(value: object) -> object:
    """A value of the same kind as ``value`` that cannot surprise anyone."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return -1 if value < 0 else 1
    if isinstance(value, (dict, list)):
        return {"a": 1}
    return "a"


def shape(sql: str) -> tuple[int, list[str]]:
    return len(list(iter_statements(sql))), [token.token_type.name for token in tokenize(sql)]


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(CONTEXTS), values)
def test_a_value_never_changes_the_statements_or_tokens(context: str, value: object) -> None:
    template = f"SELECT {context} FROM p.s.r WHERE id = 'x'; SELECT 2"
    try:
        sql = render(template, {"v": value, "x": False})
    except TemplateError:
        return
    try:
        reference = render(template, {"v": harmless(value), "x": False})
        expected = shape(reference)
    except Error:
        return  # the template is broken whatever the value: nothing to compare with
    try:
        got = shape(sql)
    except Error:
        return  # not SQL: refused before anything is sent
    statements, kinds = got
    assert statements == expected[0], (sql, reference)
    assert len(kinds) == len(expected[1]), (sql, reference)
    differing = [(a, b) for a, b in zip(kinds, expected[1]) if a != b]
    # Only the value's own literal may differ in kind (a number for a string of digits, say).
    literal = {"STRING", "NATIONAL_STRING", "NUMBER", "TRUE", "FALSE", "NULL", "HEX_STRING", "BIT_STRING", "UNICODE_STRING", "HEREDOC_STRING", "VAR", "IDENTIFIER"}
    assert all(a in literal and b in literal for a, b in differing), (sql, reference)


@pytest.mark.parametrize(
    "template",
    [
        "SELECT 1 -- {{ x }}\nSELECT 2",
        "SELECT 1 -- {{ x }}\rSELECT 2",
        "SELECT 1 /* {{ x }} */",
        "SELECT 1 /* a /* {{ x }} */ b */",
        "SELECT 1 --{{ x }}",
        "SELECT 1 -- {{- x -}}\n",
    ],
)
def test_placeholders_in_comments_are_refused_whatever_follows(template: str) -> None:
    line = template[: template.index("{{")].count("\n") + 1
    with pytest.raises(TemplateError, match=rf"^t.iql:{line}: \{{\{{ x \}}\}}: placeholders are not allowed inside comments$"):
        render(template, {"x": "\nDROP TABLE x"}, "t.iql")


def test_a_jinja_comment_is_no_sql_comment() -> None:
    assert render("SELECT {# note #}{{ v }}", {"v": 1}) == "SELECT 1"


@pytest.mark.parametrize(
    "value", ["x\u2028; DROP TABLE t", "x\x00'; DROP TABLE t", "x\x85--", "*/; DROP", "$$; DROP", "{{ 7 * 7 }}", "{% if 1 %}x{% endif %}"]
)
@pytest.mark.parametrize("context", ["'{{ v }}'", "E'{{ v }}'", '"{{ v }}"', "$q${{ v }}$q$"])
def test_hostile_text_stays_one_literal(context: str, value: str) -> None:
    """Line separators, NUL, comment closers, dollar tags and Jinja syntax in a value are just text."""
    sql = render(f"SELECT {context}, 2", {"v": value})
    assert shape(sql) == shape(f"SELECT {context.replace('{{ v }}', 'a')}, 2")
    assert "49" not in sql  # a value is never rendered again as a template


@pytest.mark.parametrize(
    "template, message",
    [
        ("SELECT {% filter replace('X', v) %}'X'{% endfilter %}", "{% filter %} blocks are not allowed"),
        ("SELECT {% set x %}1; DROP{% endset %}{{ x }}", "{{ x }} stands outside quotes"),
        ("{% macro q(a) %}'{{ a }}'{% endmacro %}SELECT '{{ q(v) }}'", "{{ a }} stands inside a '...' string, but its value is not inside one there"),
        ("{% macro q(a) %}'{{ a }}'{% endmacro %}SELECT '{{ q(v) ~ v }}'", "its value holds a reserved character"),
        ("SELECT {{ n }}{{ n }}", "did not stay one literal there"),
        ("SELECT '{{ '\\ue002' ~ v }}'", "reserved character"),
    ],
)
def test_jinja_cannot_move_a_value_out_of_its_place(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=f"^t.iql:1: .*{re.escape(message)}"):
        render(template, {"v": "x'); DROP TABLE t; --", "n": 2}, "t.iql")


def test_a_macro_output_is_placed_as_template_text_with_its_values_checked() -> None:
    template = "{% macro q(a) %}'{{ a }}'{% endmacro %}SELECT {{ q(v) }}, {{ q(w) }}"
    assert render(template, {"v": "x'); DROP TABLE t; --", "w": None}) == "SELECT 'x''); DROP TABLE t; --', NULL"

