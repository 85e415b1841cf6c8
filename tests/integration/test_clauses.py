"""Against the emulator: a clause cfql cannot honour sends nothing, one it evaluates sends what it says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cfql import DataError, NotSupportedError, connect
from cfql.cli.main import main
from cfql.connection import Connection
from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator

MEETINGS = "cloudflare.realtime_kit.meetings"


@pytest.fixture
def conn(emulator: Emulator) -> Connection:
    with connect(token=SANDBOX_TOKEN, base_url=emulator.url) as connection:
        yield connection


def insert(ids: dict[str, str], tail: str, title: str = "Standup") -> str:
    return (
        f"INSERT INTO {MEETINGS} (account_id, app_id, title) "
        f"SELECT '{ids['account_id']}', '{ids['app_id']}', '{title}' {tail}"
    )


def titles(emulator: Emulator, ids: dict[str, str]) -> list[str]:
    return sorted(m["title"] for m in emulator.meetings(ids["account_id"], ids["app_id"]))


@pytest.mark.parametrize("tail", ["WHERE false", "WHERE 1 = 0", "WHERE NULL", "LIMIT 0", "OFFSET 1"])
def test_a_select_side_without_its_row_creates_nothing(conn: Connection, emulator: Emulator, ids: dict[str, str], tail: str) -> None:
    before = emulator.request_count
    assert conn.execute(insert(ids, tail + " RETURNING success")) == []
    assert emulator.request_count == before and titles(emulator, ids) == []


@pytest.mark.parametrize("tail", ["WHERE true", "WHERE 'a' = 'a'", "LIMIT 1", "LIMIT 1 OFFSET 0"])
def test_a_select_side_that_keeps_its_row_creates_one_meeting(conn: Connection, emulator: Emulator, ids: dict[str, str], tail: str) -> None:
    assert conn.execute(insert(ids, tail + " RETURNING success")) == [{"success": True}]
    assert titles(emulator, ids) == ["Standup"]


@pytest.mark.parametrize(
    "tail, clause",
    [("GROUP BY 1", "GROUP BY"), ("ORDER BY 1", "ORDER BY"), ("ON CONFLICT DO NOTHING", "ON CONFLICT"), ("HAVING true", "HAVING")],
)
def test_a_clause_cfql_does_not_honour_creates_nothing(conn: Connection, emulator: Emulator, ids: dict[str, str], tail: str, clause: str) -> None:
    before = emulator.request_count
    with pytest.raises(NotSupportedError, match=f"{clause} is not supported"):
        conn.execute(insert(ids, tail))
    assert emulator.request_count == before and titles(emulator, ids) == []


def test_delete_with_limit_deletes_nothing(conn: Connection, emulator: Emulator, ids: dict[str, str]) -> None:
    (meeting,) = conn.execute(insert(ids, "RETURNING json_extract(data, '$.id') AS id"))
    conn.execute(
        f"INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, custom_participant_id, preset_name) "
        f"SELECT '{ids['account_id']}', '{ids['app_id']}', '{meeting['id']}', 'ada', 'host'"
    )
    (participant,) = emulator.participants(ids["account_id"], ids["app_id"], meeting["id"])
    with pytest.raises(NotSupportedError, match=r"DELETE: LIMIT is not supported \(line 1, column \d+\)"):
        conn.execute(
            f"DELETE FROM {MEETINGS} WHERE account_id = '{ids['account_id']}' AND app_id = '{ids['app_id']}' "
            f"AND meeting_id = '{meeting['id']}' AND participant_id = '{participant['id']}' LIMIT 0"
        )
    assert len(emulator.participants(ids["account_id"], ids["app_id"], meeting["id"])) == 1


def test_multi_row_values_creates_each_row_in_order_and_returns_a_row_for_each(conn: Connection, emulator: Emulator, ids: dict[str, str]) -> None:
    a, b = ids["account_id"], ids["app_id"]
    rows = conn.execute(
        f"INSERT INTO {MEETINGS} (account_id, app_id, title) VALUES ('{a}', '{b}', 'one'), ('{a}', '{b}', 'two'), ('{a}', '{b}', 'three') "
        "RETURNING json_extract(data, '$.title') AS title, json_extract(data, '$.id') AS id"
    )
    assert [r["title"] for r in rows] == ["one", "two", "three"]
    created = {m["id"]: m for m in emulator.meetings(a, b)}
    assert [created[r["id"]]["title"] for r in rows] == ["one", "two", "three"]
    assert [created[r["id"]]["created_at"] for r in rows] == sorted(m["created_at"] for m in created.values())


def test_a_script_using_a_name_from_several_rows_fails_before_sending(
    api: list[str], emulator: Emulator, ids: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = ids["account_id"], ids["app_id"]
    path = tmp_path / "several.iql"
    path.write_text(
        f"INSERT INTO {MEETINGS} (account_id, app_id, title)\n"
        f"VALUES ('{a}', '{b}', 'one'), ('{a}', '{b}', 'two')\n"
        "RETURNING json_extract(data, '$.id') AS meeting_id;\n"
        f"UPDATE {MEETINGS} SET title = 'renamed' WHERE account_id = '{a}' AND app_id = '{b}' AND meeting_id = :meeting_id;\n"
    )
    before = emulator.request_count
    assert main(["exec", *api, "-i", str(path)]) == 1
    err = capsys.readouterr().err
    assert err == f"cfql: error: {path}:4: line 4 uses :meeting_id, but the statement at line 1 that sets it can return several rows\n"
    assert emulator.request_count == before and titles(emulator, ids) == []


@pytest.mark.parametrize("tail, requests", [("WHERE 1 = 2", 0), ("LIMIT 0", 0), ("WHERE 1 = 1", 1), ("LIMIT 1", 1)])
def test_a_dry_run_lists_the_requests_the_clauses_leave(
    api: list[str], ids: dict[str, str], capsys: pytest.CaptureFixture[str], tail: str, requests: int
) -> None:
    assert main(["exec", *api, "--dry-run", "-o", "json", insert(ids, tail)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [row["method"] for row in listed] == ["POST"] * requests


def test_an_empty_returning_item_is_a_syntax_error_from_the_cli(api: list[str], emulator: Emulator, ids: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    before = emulator.request_count
    sql = insert(ids, "RETURNING success,,")
    assert main(["exec", *api, sql]) == 1
    column = sql.rindex(",,") + 2
    assert capsys.readouterr().err == f"cfql: error: <command line>:1: syntax error at line 1, column {column}: expected an item after ',', found ','\n"
    assert emulator.request_count == before


def test_a_picture_that_is_no_uri_is_refused_before_sending(conn: Connection, emulator: Emulator, ids: dict[str, str]) -> None:
    (meeting,) = conn.execute(insert(ids, "RETURNING json_extract(data, '$.id') AS id"))
    add = (
        f"INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, custom_participant_id, preset_name, picture) "
        f"SELECT '{ids['account_id']}', '{ids['app_id']}', '{meeting['id']}', 'ada', 'host', :picture"
    )
    before = emulator.request_count
    with pytest.raises(DataError, match="^column picture: expected a URI, got 'not a url'$"):
        conn.execute(add, {"picture": "not a url"})
    assert emulator.request_count == before
    conn.execute(add, {"picture": "https://example.com/ada.png"})
    (participant,) = emulator.participants(ids["account_id"], ids["app_id"], meeting["id"])
    assert participant["picture"] == "https://example.com/ada.png"


def test_a_malformed_json_literal_with_a_password_is_not_echoed(
    api: list[str], emulator: Emulator, ids: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    literal = '{"password": "hunter2", '
    sql = (
        f"INSERT INTO {MEETINGS} (account_id, app_id, title, ai_config) "
        f"SELECT '{ids['account_id']}', '{ids['app_id']}', 'c', '{literal}'"
    )
    before = emulator.request_count
    assert main(["exec", *api, sql]) == 1
    captured = capsys.readouterr()
    assert "hunter2" not in captured.out + captured.err
    assert "column ai_config: expected a JSON object literal" in captured.err and "at char 24" in captured.err
    assert emulator.request_count == before
