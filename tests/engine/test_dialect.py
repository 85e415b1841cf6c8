"""The StackQL dialect parses every statement form of the reference, with comments anywhere."""

from __future__ import annotations

import pytest
from sqlglot import exp

from cfql.errors import SQLSyntaxError
from cfql.sql.dialect import Exec, Replace, Show, iter_statements, parse_statement, split_statements

R = "cloudflare.realtime_kit.meetings"


def test_insert_select_with_comments_and_returning() -> None:
    node = parse_statement(
        f"""INSERT INTO {R} (
custom_participant_id, /* after a comma */
preset_name
)
SELECT
'alice' /* required */,
'host' -- trailing comment
RETURNING
data,
success
;"""
    )
    assert isinstance(node, exp.Insert)
    assert [c.name for c in node.this.expressions] == ["custom_participant_id", "preset_name"]
    assert [e.name for e in node.args["returning"].expressions] == ["data", "success"]


def test_insert_values() -> None:
    node = parse_statement(f"INSERT INTO {R} (a, b) VALUES ('x', 1)")
    assert isinstance(node.expression, exp.Values)


def test_update_with_required_comments_in_where() -> None:
    node = parse_statement(
        f"""UPDATE {R}
SET name = 'n'
WHERE meeting_id = 'm' --required
AND app_id = 'a' --required
RETURNING data, success;"""
    )
    assert isinstance(node, exp.Update) and not isinstance(node, Replace)
    assert node.args["returning"] is not None


def test_replace_is_its_own_statement() -> None:
    node = parse_statement(f"REPLACE {R} SET title = 't' WHERE meeting_id = 'm' RETURNING data")
    assert isinstance(node, Replace)
    assert node.expressions[0].this.name == "title"


def test_delete() -> None:
    node = parse_statement(f"DELETE FROM {R} WHERE meeting_id = 'm' AND participant_id = 'p'")
    assert isinstance(node, exp.Delete)


def test_exec_with_params_and_json() -> None:
    node = parse_statement(f"EXEC {R}.create @account_id = 'a', @app_id = :app @@json = '{{\"title\": \"t\"}}'")
    assert isinstance(node, Exec)
    assert node.args["method"].name == "create"
    names = [(p.this.name, bool(p.args.get("json"))) for p in node.expressions]
    assert names == [("account_id", False), ("app_id", False), ("json", True)]


@pytest.mark.parametrize(
    "sql, kind, target, extended",
    [
        ("SHOW PROVIDERS", "PROVIDERS", None, False),
        ("show services in cloudflare", "SERVICES", "cloudflare", False),
        ("SHOW RESOURCES IN cloudflare.realtime_kit", "RESOURCES", "cloudflare.realtime_kit", False),
        (f"SHOW EXTENDED METHODS IN {R}", "METHODS", R, True),
    ],
)
def test_show(sql: str, kind: str, target: str | None, extended: bool) -> None:
    node = parse_statement(sql)
    assert isinstance(node, Show)
    assert node.this.name == kind
    assert (node.args["target"].sql() if node.args.get("target") else None) == target
    assert bool(node.args.get("extended")) is extended


def test_describe_extended() -> None:
    node = parse_statement(f"DESCRIBE EXTENDED {R}")
    assert isinstance(node, exp.Describe) and node.args["style"] == "EXTENDED"


@pytest.mark.parametrize(
    "sql, line, column",
    [
        ("INSERT INTO a.b.c (x SELECT 1", 1, 27),
        ("SELECT 1\nFROM a.b.c\nWHERE (x = 1", 3, 12),
        ("SHOW TABLES", 1, 11),
    ],
)
def test_syntax_errors_give_line_and_column(sql: str, line: int, column: int) -> None:
    with pytest.raises(SQLSyntaxError) as info:
        parse_statement(sql)
    assert (info.value.line, info.value.column) == (line, column)
    assert f"line {line}, column {column}" in str(info.value)


def test_exec_needs_four_part_name() -> None:
    with pytest.raises(SQLSyntaxError, match="provider.service.resource.method"):
        parse_statement("EXEC a.b.c @x = 1")


def test_line_offset_shifts_reported_line() -> None:
    with pytest.raises(SQLSyntaxError, match="line 11"):
        parse_statement("SELECT (", line_offset=10)


def test_split_statements_respects_strings_and_comments() -> None:
    script = "SHOW PROVIDERS; -- a comment; with a semicolon\n/* x; */ SELECT 'a;b' FROM a.b.c;\n\n-- only a comment\n"
    assert list(split_statements(script)) == [("SHOW PROVIDERS", 1), ("SELECT 'a;b' FROM a.b.c", 2)]


def test_unterminated_string_is_a_syntax_error() -> None:
    with pytest.raises(SQLSyntaxError):
        parse_statement("UPDATE x SET a = 'open")


@pytest.mark.parametrize(
    "script, message",
    [
        ("SELECT 1;\nSELECT 'abc", "syntax error at line 2, column 8: unterminated string"),
        ("SHOW PROVIDERS;\n\n  /* never closed", "syntax error at line 3, column 3: unterminated comment"),
        ('SELECT "name', "syntax error at line 1, column 8: unterminated quoted name"),
    ],
)
def test_unterminated_quotes_and_comments_say_where_they_open(script: str, message: str) -> None:
    with pytest.raises(SQLSyntaxError) as info:
        list(iter_statements(script))
    assert str(info.value) == message


@pytest.mark.parametrize(
    "script, message",
    [
        ("SELECT 1;\nSELECT E'it\\'s", "syntax error at line 2, column 8: unterminated string"),
        ("SELECT $$ never", "syntax error at line 1, column 8: unterminated dollar-quoted string"),
        ("SELECT 1 /* a /* b */ c", "syntax error at line 1, column 10: unterminated comment"),
    ],
)
def test_unterminated_tokens_are_found_by_the_scanner(script: str, message: str) -> None:
    with pytest.raises(SQLSyntaxError) as info:
        list(iter_statements(script))
    assert str(info.value) == message


def test_splitting_reads_strings_as_sqlglot_does() -> None:
    """A backslash escapes a quote in E'...' only; comments nest; $$ and {# #} hide semicolons."""
    script = "SELECT E'a\\';b' FROM a.b.c; SELECT 'a\\';\n/* x /* ; */ ; */ SELECT $$;$$ {# ; #} FROM a.b.c"
    assert [sql for sql, _line in split_statements(script)] == [
        "SELECT E'a\\';b' FROM a.b.c",
        "SELECT 'a\\'",
        "SELECT $$;$$ {# ; #} FROM a.b.c",
    ]
