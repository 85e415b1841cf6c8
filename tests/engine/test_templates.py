"""Templates are strict, keep JSON types, and cannot inject SQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cfql.errors import TemplateError
from cfql.script.templates import load_variables, render
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
