"""Every clause a statement carries is honoured or refused, at plan time, before anything is sent."""

from __future__ import annotations

import typing as t

import httpx
import pytest
from sqlglot import exp

from cfql import NotSupportedError, ProgrammingError
from cfql.connection import Connection
from cfql.errors import SQLSyntaxError
from cfql.plan.clauses import HONOURED, LABELS
from cfql.plan.planner import plan_sql, plan_statement
from cfql.plan.plans import NOTHING_SENT
from cfql.provider.registry import default_registry
from cfql.sql.dialect import Exec, ExecParam, Replace, Show, parse_statement

from .conftest import MEETINGS, Recorder

KIT = "cloudflare.realtime_kit.kit_meetings"
IDS = "account_id = 'acc' AND app_id = 'app'"
INSERT = f"INSERT INTO {MEETINGS} (account_id, app_id, title) "
ROW = "SELECT 'acc', 'app', 'Standup'"


def refused(conn: Connection, recorder: Recorder, sql: str) -> str:
    with pytest.raises((NotSupportedError, ProgrammingError)) as info:
        conn.execute(sql)
    assert recorder.requests == []
    return str(info.value)


# --------------------------------------------------------------------------
# Refused, with the clause and its position
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql, message, keyword",
    [
        (f"WITH q AS (SELECT 1) {INSERT}{ROW}", "INSERT: WITH is not supported", "WITH"),
        (f"{INSERT}{ROW} ON CONFLICT DO NOTHING", "INSERT: ON CONFLICT is not supported", "ON CONFLICT"),
        (f"{INSERT}{ROW} GROUP BY 1", "INSERT … SELECT: GROUP BY is not supported", "GROUP BY"),
        (f"{INSERT}{ROW} HAVING 1 = 1", "INSERT … SELECT: HAVING is not supported", "HAVING"),
        (f"{INSERT}{ROW} ORDER BY 3 DESC", "INSERT … SELECT: ORDER BY is not supported", "ORDER BY"),
        (f"{INSERT}SELECT DISTINCT 'acc', 'app', 'Standup'", "INSERT … SELECT: DISTINCT is not supported", "DISTINCT"),
        (f"{INSERT}{ROW} FROM {KIT}", "INSERT … SELECT: FROM is not supported", "FROM"),
        (f"{INSERT}{ROW} WINDOW w AS (ORDER BY 1)", "INSERT … SELECT: WINDOW is not supported", "WINDOW"),
        (f"{INSERT}{ROW} FOR UPDATE", "INSERT … SELECT: FOR UPDATE/SHARE is not supported", None),
        (f"{INSERT}{ROW} RETURNING m.success", "INSERT … column m.success: a table qualifier is not supported", "m.success"),
        (f"{INSERT}{ROW} RETURNING success INTO x", "INSERT … RETURNING: INTO is not supported", "INTO x"),
        (f"INSERT INTO {MEETINGS} AS m (account_id, app_id) SELECT 'a', 'b'", "INSERT … table: an alias is not supported", "m ("),
        (f"INSERT INTO {MEETINGS} (account_id, app_id) DEFAULT VALUES", "INSERT: DEFAULT VALUES is not supported", "DEFAULT"),
        (
            f"DELETE FROM {MEETINGS} WHERE meeting_id = 'm' AND participant_id = 'p' AND {IDS} LIMIT 0",
            "DELETE: LIMIT is not supported",
            "LIMIT",
        ),
        (f"DELETE FROM {MEETINGS} USING {KIT} WHERE meeting_id = 'm'", "DELETE: USING is not supported", "USING"),
        (f"WITH q AS (SELECT 1) DELETE FROM {MEETINGS} WHERE meeting_id = 'm'", "DELETE: WITH is not supported", "WITH"),
        (f"UPDATE {MEETINGS} SET title = 't' WHERE meeting_id = 'm' AND {IDS} LIMIT 1", "UPDATE: LIMIT is not supported", "LIMIT"),
        (f"UPDATE {MEETINGS} SET title = 't' FROM {KIT} WHERE meeting_id = 'm'", "UPDATE: FROM is not supported", "FROM"),
        (f"UPDATE {MEETINGS} SET title = 't' WHERE m.meeting_id = 'x' AND {IDS}", "UPDATE … column m.meeting_id: a table qualifier", "m.meeting_id"),
        (f"UPDATE {MEETINGS} AS m SET title = 't' WHERE meeting_id = 'x'", "UPDATE … table: an alias is not supported", "m SET"),
        (f"REPLACE {MEETINGS} SET title = 't' WHERE meeting_id = 'm' LIMIT 2", "REPLACE: LIMIT is not supported", "LIMIT"),
        (f"SELECT id FROM {KIT} TABLESAMPLE (10) WHERE {IDS}", "SELECT … table: TABLESAMPLE is not supported", None),
        (f"SELECT DISTINCT ON (id) id FROM {KIT} WHERE {IDS}", "SELECT … DISTINCT: DISTINCT ON is not supported", "DISTINCT"),
        (f"SELECT id FROM {KIT} AS k (a, b) WHERE {IDS}", "SELECT … table alias: a column list is not supported", "a, b"),
        (f"SELECT id FROM {KIT} WHERE {IDS} FOR UPDATE", "SELECT: FOR UPDATE/SHARE is not supported", None),
        (f"WITH q AS (SELECT 1) SELECT id FROM {KIT} WHERE {IDS}", "SELECT: WITH is not supported", "WITH"),
        (f"SELECT id FROM {KIT} CROSS JOIN {KIT} WHERE {IDS}", "SELECT: JOIN is not supported", "JOIN"),
        (f"SELECT id FROM {KIT} WHERE {IDS} FETCH FIRST 1 ROWS ONLY", "FETCH FIRST is not supported", None),
        (f"DESCRIBE FORMATTED {KIT}", "DESCRIBE FORMATTED is not supported", None),
    ],
)
def test_a_clause_that_is_not_honoured_is_refused_where_it_stands(
    conn: Connection, recorder: Recorder, sql: str, message: str, keyword: str | None
) -> None:
    text = refused(conn, recorder, sql)
    assert message in text
    if keyword is not None:
        assert f"(line 1, column {sql.index(keyword) + 1})" in text


def test_the_position_is_the_scripts_line_and_column(conn: Connection, recorder: Recorder) -> None:
    script = f"{INSERT}{ROW};\n\nDELETE FROM {MEETINGS}\n WHERE meeting_id = 'm' AND participant_id = 'p' AND {IDS}\n  LIMIT 0;"
    with pytest.raises(NotSupportedError) as info:
        conn.executescript(script)
    assert "DELETE: LIMIT is not supported (line 5, column 3)" in str(info.value)
    assert str(info.value).startswith("<script>:3: ")
    assert recorder.requests == []


# Statement classes, how to write a valid one, and where in it the class's node is.
SHAPES: list[tuple[str, type, str, t.Callable[[exp.Expression], exp.Expression]]] = [
    ("INSERT", exp.Insert, f"{INSERT}{ROW} RETURNING success", lambda n: n),
    ("INSERT", exp.Select, f"{INSERT}{ROW}", lambda n: n.expression),
    ("INSERT", exp.Values, f"{INSERT}VALUES ('a', 'b', 'c')", lambda n: n.expression),
    ("INSERT", exp.Returning, f"{INSERT}{ROW} RETURNING success", lambda n: n.args["returning"]),
    ("INSERT", exp.Table, f"{INSERT}{ROW}", lambda n: n.this.this),
    ("UPDATE", exp.Update, f"UPDATE {MEETINGS} SET title = 't' WHERE meeting_id = 'm' AND {IDS}", lambda n: n),
    ("REPLACE", Replace, f"REPLACE {MEETINGS} SET title = 't' WHERE meeting_id = 'm' AND {IDS}", lambda n: n),
    ("DELETE", exp.Delete, f"DELETE FROM {MEETINGS} WHERE meeting_id = 'm' AND participant_id = 'p' AND {IDS}", lambda n: n),
    ("SELECT", exp.Select, f"SELECT id FROM {KIT} WHERE {IDS}", lambda n: n),
    ("SELECT", exp.Table, f"SELECT id FROM {KIT} WHERE {IDS}", lambda n: n.args["from_"].this),
    ("DESCRIBE", exp.Describe, f"DESCRIBE {KIT}", lambda n: n),
]


def _unhonoured() -> t.Iterator[t.Any]:
    for kind, cls, sql, locate in SHAPES:
        for key in cls.arg_types:
            if key not in HONOURED[kind][cls]:
                yield pytest.param(kind, sql, locate, key, id=f"{kind}-{cls.__name__}-{key}")


@pytest.mark.parametrize("kind, sql, locate, key", list(_unhonoured()))
def test_every_arg_sqlglot_can_attach_is_honoured_or_refused(kind: str, sql: str, locate: t.Callable, key: str) -> None:
    """Not only the clauses someone thought of: each arg of each statement's nodes, set by hand."""
    node = parse_statement(sql)
    locate(node).set(key, exp.Var(this="X"))
    with pytest.raises(NotSupportedError, match=f"{kind}.*: {LABELS.get(key, key.upper())} is not supported"):
        plan_statement(node, sql, default_registry())


def test_the_whitelists_name_args_sqlglot_has() -> None:
    for kind, honoured in HONOURED.items():
        for cls, keys in honoured.items():
            assert keys <= set(cls.arg_types), f"{kind}: {cls.__name__} has no arg {sorted(keys - set(cls.arg_types))}"
    assert {Exec, ExecParam, Show} <= {cls for honoured in HONOURED.values() for cls in honoured}


# --------------------------------------------------------------------------
# Honoured: the SELECT side of INSERT, evaluated over its one row of literals
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "clause",
    ["WHERE false", "WHERE NULL", "WHERE 1 = 2", "WHERE 'a' <> 'a'", "WHERE NOT true", "WHERE 1 IN (2, 3)",
     "WHERE true AND NULL", "LIMIT 0", "OFFSET 1", "LIMIT 3 OFFSET 2", "WHERE 2 > 1 LIMIT 0"],
)
def test_a_select_side_left_without_its_row_sends_nothing(conn: Connection, recorder: Recorder, clause: str) -> None:
    result = conn.run(f"{INSERT}{ROW} {clause}")
    assert recorder.requests == []
    assert result.rows == [] and result.message == NOTHING_SENT


@pytest.mark.parametrize(
    "clause",
    ["WHERE true", "WHERE 1 = 1", "WHERE 'x' IN ('y', 'x')", "WHERE 3 BETWEEN 1 AND 5", "WHERE NULL IS NULL",
     "WHERE false OR true", "LIMIT 1", "LIMIT 10", "LIMIT ALL", "OFFSET 0", "LIMIT 1 OFFSET 0"],
)
def test_a_select_side_that_keeps_its_row_sends_it_once(conn: Connection, recorder: Recorder, clause: str) -> None:
    rows = conn.execute(f"{INSERT}{ROW} {clause} RETURNING success")
    assert len(recorder.requests) == 1 and recorder.last_body == {"title": "Standup"}
    assert rows == [{"success": True}]


def test_a_row_left_out_still_has_its_values_checked(conn: Connection, recorder: Recorder) -> None:
    with pytest.raises(Exception, match="session_keep_alive_time_in_secs: 5 is below the minimum"):
        conn.execute(f"INSERT INTO {MEETINGS} (account_id, app_id, session_keep_alive_time_in_secs) SELECT 'a', 'b', 5 WHERE false")
    assert recorder.requests == []


@pytest.mark.parametrize(
    "clause, message",
    [
        ("WHERE :go = 1", "INSERT … SELECT: WHERE cannot use :go"),
        ("WHERE title = 'Standup'", "INSERT … SELECT: WHERE can only compare literals (there is no FROM), got title"),
        ("WHERE length('abc') = 3", "INSERT … SELECT: WHERE: function LENGTH("),
        ("LIMIT :n", "INSERT … SELECT: LIMIT takes a number here, not :n"),
        ("OFFSET :n", "INSERT … SELECT: OFFSET takes a number here, not :n"),
        ("LIMIT -1", "LIMIT takes a whole number >= 0"),
        ("LIMIT 'one'", "LIMIT takes a whole number >= 0 or a :parameter, got 'one'"),
    ],
)
def test_a_select_side_that_cannot_be_evaluated_now_is_refused(conn: Connection, recorder: Recorder, clause: str, message: str) -> None:
    text = refused(conn, recorder, f"{INSERT}{ROW} {clause}")
    assert message in text


def test_the_same_shape_with_another_condition_is_not_a_cached_plan(conn: Connection, recorder: Recorder) -> None:
    conn.execute(f"{INSERT}{ROW} WHERE 1 = 1")
    conn.execute(f"{INSERT}{ROW} WHERE 1 = 2")
    conn.execute(f"{INSERT}{ROW} LIMIT 0")
    conn.execute(f"{INSERT}{ROW} LIMIT 1")
    assert len(recorder.requests) == 2


def test_a_dry_run_of_a_statement_without_rows_shows_no_request() -> None:
    from cfql import connect

    with connect(token="t", dry_run=True, http_client=httpx.Client(transport=httpx.MockTransport(Recorder()))) as dry:
        result = dry.run(f"{INSERT}{ROW} WHERE false")
    assert result.rows == [] and result.message == NOTHING_SENT


# --------------------------------------------------------------------------
# What the parser used to drop silently
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql, at",
    [
        (f"{INSERT}{ROW} RETURNING success,,", ",,"),  # the column of the mark's last character
        (f"{INSERT}{ROW} RETURNING success,", "success,"),
        (f"{INSERT}SELECT 'acc',, 'app', 'x'", ",,"),
        (f"INSERT INTO {MEETINGS} (account_id,, app_id) SELECT 'a', 'b'", ",,"),
        (f"{INSERT}VALUES ('a', 'b', 'c'),, ('d', 'e', 'f')", ",,"),
        (f"UPDATE {MEETINGS} SET title = 't',, persist_chat = true WHERE meeting_id = 'm'", ",,"),
        (f"SELECT id,, title FROM {KIT} WHERE {IDS}", ",,"),
        (f"SELECT id FROM {KIT} WHERE {IDS} ORDER BY id,", "id,"),
    ],
)
def test_an_empty_list_item_is_a_syntax_error(conn: Connection, recorder: Recorder, sql: str, at: str) -> None:
    with pytest.raises(SQLSyntaxError) as info:
        conn.execute(sql)
    assert (info.value.line, info.value.column) == (1, sql.rindex(at) + len(at))
    assert "expected an item after ','" in str(info.value)
    assert recorder.requests == []


# --------------------------------------------------------------------------
# Multi-row VALUES, and how many rows a plan can give
# --------------------------------------------------------------------------


def echo(request: httpx.Request) -> httpx.Response:
    import json

    return httpx.Response(201, json={"success": True, "data": {"id": "m-" + json.loads(request.content)["title"]}})


def test_multi_row_values_is_one_request_per_row_and_one_result_row_each_in_order() -> None:
    from cfql import connect

    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: seen.append(request) or echo(request))
    with connect(token="t", http_client=httpx.Client(transport=transport)) as conn:
        rows = conn.execute(
            f"{INSERT}VALUES ('a', 'b', 'one'), ('a', 'b', 'two'), ('a', 'b', 'three') "
            "RETURNING json_extract(data, '$.id') AS id"
        )
    assert [r.content for r in seen] == [b'{"title":"one"}', b'{"title":"two"}', b'{"title":"three"}']
    assert rows == [{"id": "m-one"}, {"id": "m-two"}, {"id": "m-three"}]


def test_an_answer_without_an_object_still_gives_its_row(conn: Connection, recorder: Recorder) -> None:
    recorder.reply(200, None)
    recorder.reply(200, {"success": True, "data": {"id": "x"}})
    rows = conn.execute(f"{INSERT}VALUES ('a', 'b', 'one'), ('a', 'b', 'two') RETURNING success")
    assert rows == [{"success": None}, {"success": True}]


@pytest.mark.parametrize(
    "sql, max_rows",
    [
        (f"{INSERT}{ROW} RETURNING success", 1),
        (f"{INSERT}VALUES ('a', 'b', 'c'), ('a', 'b', 'd') RETURNING success", 2),
        (f"{INSERT}{ROW} WHERE false RETURNING success", 0),
        (f"{INSERT}{ROW}", 0),  # no RETURNING: no rows
        (f"UPDATE {MEETINGS} SET title = 't' WHERE meeting_id = 'm' AND {IDS} RETURNING success", 1),
        (f"SELECT id FROM {KIT} WHERE {IDS}", None),
        (f"SELECT id FROM {KIT} WHERE {IDS} LIMIT 1", 1),
        (f"SELECT id FROM {KIT} WHERE {IDS} LIMIT 0", 0),
        (f"SELECT id FROM {KIT} WHERE {IDS} AND meeting_id = 'm'", 1),
        (f"SELECT count(*) AS n FROM {KIT} WHERE {IDS}", 1),
        (f"SELECT status, count(*) AS n FROM {KIT} WHERE {IDS} GROUP BY status", None),
        (f"EXEC {KIT}.list_by_account @account_id = 'a', @app_id = 'b'", 0),  # EXEC returns no rows
        (f"SHOW METHODS IN {MEETINGS}", None),
    ],
)
def test_each_plan_says_how_many_rows_it_can_give(sql: str, max_rows: int | None) -> None:
    assert plan_sql(sql, default_registry()).max_rows == max_rows


# --------------------------------------------------------------------------
# A script refuses, before anything runs, a name set by a statement that can give several rows
# --------------------------------------------------------------------------

USE = f"UPDATE {MEETINGS} SET title = 'x' WHERE meeting_id = :mid AND {IDS};"


@pytest.mark.parametrize(
    "setter, how",
    [
        (f"{INSERT}VALUES ('a', 'b', 'c'), ('a', 'b', 'd') RETURNING json_extract(data, '$.id') AS mid;", "can return several rows"),
        (f"SELECT id AS mid FROM {KIT} WHERE {IDS};", "can return several rows"),
        (f"SELECT id AS mid FROM {KIT} WHERE {IDS} LIMIT 2;", "can return several rows"),
        (f"{INSERT}{ROW} WHERE false RETURNING json_extract(data, '$.id') AS mid;", "returns no rows"),
    ],
)
def test_a_name_from_a_statement_that_is_not_one_row_is_refused_before_anything_runs(
    conn: Connection, recorder: Recorder, setter: str, how: str
) -> None:
    script = f"{INSERT}{ROW};\n{setter}\n\n{USE}"
    with pytest.raises(ProgrammingError) as info:
        conn.executescript(script)
    assert str(info.value) == f"<script>:4: line 4 uses :mid, but the statement at line 2 that sets it {how}"
    assert recorder.requests == []


LISTED = {"success": True, "data": [{"id": "m-1"}, {"id": "m-2"}]}
ONE = {"success": True, "data": {"id": "m-3"}}


@pytest.mark.parametrize(
    "setter, answers",
    [
        (f"{INSERT}VALUES ('a', 'b', 'c') RETURNING json_extract(data, '$.id') AS mid;", []),
        (f"SELECT id AS mid FROM {KIT} WHERE {IDS} LIMIT 1;", [LISTED]),
        (f"SELECT id AS mid FROM {KIT} WHERE {IDS} AND meeting_id = 'm-3';", [ONE]),
        # several rows, but a later one-row statement sets the name again before it is used
        (f"SELECT id AS mid FROM {KIT} WHERE {IDS};\n{INSERT}{ROW} RETURNING json_extract(data, '$.id') AS mid;", [LISTED, {"success": True, "data": []}]),
    ],
)
def test_a_name_from_a_one_row_statement_flows(conn: Connection, recorder: Recorder, setter: str, answers: list[t.Any]) -> None:
    for answer in answers:
        recorder.reply(200, answer)
    conn.executescript(f"{setter}\n{USE}")
    assert recorder.last.method == "PATCH" and recorder.last.url.path.split("/")[-1].startswith("m-")


def test_several_rows_that_set_a_name_nobody_uses_are_fine(conn: Connection, recorder: Recorder) -> None:
    conn.executescript(f"{INSERT}VALUES ('a', 'b', 'c'), ('a', 'b', 'd') RETURNING json_extract(data, '$.id') AS mid;")
    assert len(recorder.requests) == 2
