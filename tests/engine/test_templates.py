"""Templates are strict, keep JSON types, and cannot inject SQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfql.errors import TemplateError
from cfql.script.templates import render
from cfql.script.variables import load_variables
from cfql.sql.dialect import parse_statement


def test_jinja_and_stackql_forms() -> None:
    assert render("SELECT '{{ a }}', '{{ .a }}', {{.n}}", {"a": "x", "n": 5}) == "SELECT 'x', 'x', 5"


def test_dict_inside_quotes_is_a_json_literal_keeping_numbers() -> None:
    ai_config = {"summarization": {"word_limit": 300, "text_format": "markdown"}, "transcription": {"profanity_filter": False}}
    sql = render("SELECT '{{ ai_config }}'", {"ai_config": ai_config})
    literal = parse_statement(sql).expressions[0].this
    assert json.loads(literal) == ai_config


def test_quotes_in_values_are_escaped() -> None:
    sql = render("SELECT '{{ name }}', '{{ cfg }}'", {"name": "O'Brien', 'x'); DROP --", "cfg": {"who": "O'Brien"}})
    values = [e.this for e in parse_statement(sql).expressions]
    assert values == ["O'Brien', 'x'); DROP --", '{"who": "O\'Brien"}']


@pytest.mark.parametrize(
    "value, rendered",
    [(True, "true"), (False, "false"), (None, "NULL"), (60, "60"), (2.5, "2.5"), ("false", "false"), ("600", "600"), ({"a": 1}, "'{\"a\": 1}'")],
)
def test_bare_placeholders_take_literals(value: object, rendered: str) -> None:
    assert render("SELECT {{ v }}", {"v": value}) == f"SELECT {rendered}"


def test_bare_text_is_refused_because_it_would_be_sql() -> None:
    with pytest.raises(TemplateError, match=r"x.iql:2: \{\{ v \}\} stands outside quotes"):
        render("SELECT 1;\nSELECT {{ v }}", {"v": "1; DELETE FROM x"}, "x.iql")


def test_undefined_variable_names_it_and_its_line() -> None:
    with pytest.raises(TemplateError, match=r"^s.iql:3: undefined template variable: app_id$"):
        render("SELECT\n'{{ account_id }}',\n'{{ app_id }}'", {"account_id": "a"}, "s.iql")


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFQL_TEST_APP", "app-1")
    assert render("SELECT '{{ env.CFQL_TEST_APP }}'", {}) == "SELECT 'app-1'"
    with pytest.raises(TemplateError, match="undefined template variable: env.CFQL_NOT_SET"):
        render("SELECT '{{ env.CFQL_NOT_SET }}'", {})


def test_template_syntax_error_has_line() -> None:
    with pytest.raises(TemplateError, match=r"t.iql:2: template syntax error"):
        render("SELECT 1;\nSELECT {{ oops", {}, "t.iql")


def test_variables_from_files_and_flags(tmp_path: Path) -> None:
    data = tmp_path / "vars.yaml"
    data.write_text("title: From file\nai_config:\n  summarization:\n    word_limit: 300\n")
    variables = load_variables(["title=From flag", "n=5"], str(data))
    assert variables == {"title": "From flag", "n": "5", "ai_config": {"summarization": {"word_limit": 300}}}
    as_json = tmp_path / "vars.json"
    as_json.write_text('{"persist": false}')
    assert load_variables([], str(as_json)) == {"persist": False}


@pytest.mark.parametrize(
    "pairs, content, message",
    [
        (["novalue"], None, "expected NAME=VALUE"),
        ([], "[1, 2]", "must hold a mapping"),
        ([], "{bad json", "not valid"),
    ],
)
def test_bad_variable_sources(tmp_path: Path, pairs: list[str], content: str | None, message: str) -> None:
    path = None
    if content is not None:
        path = tmp_path / "v.json"
        path.write_text(content)
    with pytest.raises(TemplateError, match=message):
        load_variables(pairs, str(path) if path else None)


# -- the scanner decides where a placeholder stands ------------------------------------------

HOSTILE = "a'b\\c\"d$$e;f\ng*/h--i"


def test_a_placeholder_after_an_escape_string_is_outside_quotes() -> None:
    """``E'it\\'s'`` closes at its last quote; the placeholder after it is bare, so text is refused."""
    template = "UPDATE p.s.r SET title = E'it\\'s', persist_chat = {{ v }} WHERE id = 'x'"
    with pytest.raises(TemplateError, match=r"\{\{ v \}\} stands outside quotes"):
        render(template, {"v": "true; DELETE FROM p.s.r WHERE id = 'y'"})
    sql = render(template, {"v": False})
    assert sql == "UPDATE p.s.r SET title = E'it\\'s', persist_chat = false WHERE id = 'x'"
    assert parse_statement(sql).expressions[1].expression.this is False


@pytest.mark.parametrize("template", ["SELECT 1 /* {{ x }} */", "SELECT 1 -- {{ x }}", "SELECT 1,\n/* a /* {{ x }} */ */ 2"])
def test_placeholders_in_comments_are_refused(template: str) -> None:
    line = template[: template.index("{{")].count("\n") + 1
    with pytest.raises(TemplateError, match=rf"^c.iql:{line}: \{{\{{ x \}}\}}: placeholders are not allowed inside comments$"):
        render(template, {"x": 1}, "c.iql")


def test_blocks_in_comments_are_fine() -> None:
    assert render("SELECT 1 -- {% if true %}on{% endif %}\n", {}) == "SELECT 1 -- on\n"


@pytest.mark.parametrize(
    "template, value, content",
    [
        ("SELECT '{{ v }}'", HOSTILE, HOSTILE),
        ("SELECT E'{{ v }}'", HOSTILE, HOSTILE),  # backslashes doubled, so sqlglot reads them back as one
        ("SELECT e'x{{ v }}y'", HOSTILE + "\\", f"x{HOSTILE}\\y"),
        ('SELECT "{{ v }}"', HOSTILE, HOSTILE),
        ("SELECT $q$ {{ v }} $q$", HOSTILE, f" {HOSTILE} "),
        ("SELECT $$ {{ v }} $$", HOSTILE.replace("$$", "$"), f" {HOSTILE.replace('$$', '$')} "),
    ],
)
def test_each_literal_keeps_any_value_inside_it(template: str, value: str, content: str) -> None:
    """A value with ', \\, ", $$, ;, a newline, */ and -- stays one literal of the kind around it."""
    node = parse_statement(render(template, {"v": value}))
    assert len(node.expressions) == 1 and node.expressions[0].name == content


def test_a_dollar_quoted_value_may_not_hold_the_closing_tag() -> None:
    with pytest.raises(TemplateError, match=r"\{\{ v \}\} stands inside a \$q\$...\$q\$ string, so its value must not hold \$q\$"):
        render("SELECT $q$ {{ v }} $q$", {"v": "x $q$; DROP"})
    # A value that ends the tag only together with the template's own text is caught after rendering.
    with pytest.raises(TemplateError, match=r"t.iql:1: \{\{ v \}\} stands inside a dollar-quoted string, but its value would end it$"):
        render("SELECT $$ {{ v }}$$", {"v": "x$"}, "t.iql")


@pytest.mark.parametrize("value", ["1; DROP TABLE x", "1 --", "true false", "1)", "'x'", "-1 -- c", "1e5e5"])
def test_bare_placeholders_refuse_anything_but_one_literal(value: str) -> None:
    with pytest.raises(TemplateError, match=r"\{\{ v \}\} stands outside quotes"):
        render("SELECT {{ v }} FROM p.s.r", {"v": value})


@pytest.mark.parametrize(
    "template, value",
    [
        ("SELECT x -{{ v }}", -1),  # "--1" would be a comment
        ("SELECT 5{{ v }}", 5),  # "55": one token with the template's text
        ("SELECT {{ v }}e5", 5),
        ("SELECT E{{ v }}", {"a": 1}),  # "E'{...}'" would be an escape string
    ],
)
def test_a_bare_value_must_stay_one_token_of_its_own(template: str, value: object) -> None:
    with pytest.raises(TemplateError, match=r"t.iql:1: \{\{ v \}\} stands outside quotes, but its value .* did not stay one literal there"):
        render(template, {"v": value}, "t.iql")


def test_a_value_moved_out_of_quotes_by_a_block_is_caught() -> None:
    """The template's text puts {{ v }} in quotes; with x false Jinja drops the quote, and the check notices."""
    template = "SELECT {% if x %}'{% endif %}{{ v }}"
    with pytest.raises(TemplateError, match=r"\{\{ v \}\} stands inside a '...' string, but its value is not inside one there"):
        render(template, {"x": False, "v": "1); DELETE FROM p.s.r; --"})


def test_a_backslash_before_a_placeholder_cannot_unquote_it() -> None:
    with pytest.raises(TemplateError, match=r"stands inside an E'...' string, but its value would move where it ends$"):
        render("SELECT E'\\{{ v }}', 'x); DROP'", {"v": "'"})
    with pytest.raises(TemplateError, match=r"stands inside an E'...' string, but its value would leave it unterminated$"):
        render("SELECT E'\\{{ v }}'", {"v": "'"})
    assert render("SELECT E'\\{{ v }}'", {"v": "n"}) == "SELECT E'\\n'"


def test_every_rendering_in_a_loop_is_checked() -> None:
    template = "SELECT {% for v in vs %}'{{ v }}', {{ n }}, {% endfor %}1"
    assert render(template, {"vs": ["a", "b'c"], "n": 2}) == "SELECT 'a', 2, 'b''c', 2, 1"
    with pytest.raises(TemplateError, match=r"\{\{ n \}\} stands outside quotes"):
        render("SELECT {% for n in ns %}{{ n }}, {% endfor %}1", {"ns": [1, 2, "3; DROP"]})
    with pytest.raises(TemplateError, match=r"\{\{ v \}\} stands inside a dollar-quoted string, but its value would end it$"):
        render("SELECT {% for v in vs %}$${{ v }}$$, {% endfor %}1", {"vs": ["ok", "x$"]})


def test_reserved_characters_are_refused() -> None:
    with pytest.raises(TemplateError, match="reserved character"):
        render("SELECT '{{ v }}'", {"v": "\ue000"})
    with pytest.raises(TemplateError, match="reserved character"):
        render("SELECT '\ue001{{ v }}'", {"v": "x"})


def test_other_template_failures_are_template_errors() -> None:
    with pytest.raises(TemplateError, match=r"^t.iql:2: template error: division by zero$"):
        render("SELECT 1,\n{{ 1 / 0 }}", {}, "t.iql")
    with pytest.raises(TemplateError, match="is no SQL number"):
        render("SELECT {{ v }}", {"v": float("nan")})


def test_placeholders_end_where_jinja_ends_them() -> None:
    assert render("SELECT '{{ {'a': {'b': 1}} }}', '{{ \"}}\" }}'", {}) == "SELECT '{\"a\": {\"b\": 1}}', '}}'"
    assert render("SELECT '{{- v -}}'", {"v": "x"}) == "SELECT 'x'"


CONTEXTS = ["'{{ v }}'", "E'{{ v }}'", "e'a\\\\{{ v }}b'", '"{{ v }}"', "$q$ {{ v }} $q$", "$${{ v }}$$", "{{ v }}", "'a{{ v }}b'"]
hostile_text = st.text(alphabet="'\"\\$;-*/\n eE{}#q", max_size=12)


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(CONTEXTS),
    st.one_of(hostile_text, st.integers(), st.booleans(), st.none(), st.dictionaries(hostile_text, hostile_text, max_size=2)),
)
def test_a_placeholder_never_adds_a_token_or_a_statement(context: str, value: object) -> None:
    """Rendered or refused: never a second statement, column or condition, whatever the value."""
    template = f"SELECT {context} FROM p.s.r WHERE id = 'x'"
    try:
        sql = render(template, {"v": value})
    except TemplateError:
        return
    node = parse_statement(sql)
    assert len(node.expressions) == 1
    assert node.args["where"].sql() == "WHERE id = 'x'"
