"""EXPLAIN against the emulator, over loopback: it shows the URL it would use and the emulator hears nothing.

The same statements run without EXPLAIN do reach the emulator, so an
unchanged request log means EXPLAIN sent nothing, not that the log is blind.
"""

from __future__ import annotations

import io
import json
import typing as t

import pytest

from cfql import Connection, connect
from cfql.cli.main import main
from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator
from cfql.settings import Settings
from cfql.shell.app import Shell

MEETINGS = "cloudflare.realtime_kit.meetings"
KIT = "cloudflare.realtime_kit.kit_meetings"


def _create(conn: Connection, account: str, app: str, title: str) -> str:
    """A meeting made for real (the emulator hears it), by its id."""
    (meeting,) = conn.execute(
        f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT '{account}', '{app}', '{title}' RETURNING json_extract(data, '$.id') AS id"
    )
    return t.cast(str, meeting["id"])


def details(rows: list[dict[str, str]], part: str) -> list[str]:
    return [row["detail"] for row in rows if row["part"] == part]


def test_cli_explain_sends_nothing_and_shows_the_url(
    emulator: Emulator, api: list[str], ids: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    create = f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT '{ids['account_id']}', '{ids['app_id']}', 'Explained'"
    before = emulator.requests
    assert main(["exec", *api, "-o", "json", "EXPLAIN " + create]) == 0
    assert emulator.requests == before
    rows = json.loads(capsys.readouterr().out)
    assert details(rows, "request") == [
        f"POST {emulator.url}/accounts/{ids['account_id']}/realtime/kit/{ids['app_id']}/meetings"
    ]
    assert SANDBOX_TOKEN not in json.dumps(rows) and '"Authorization": "Bearer ***"' in details(rows, "headers")[0]
    assert main(["exec", *api, create]) == 0  # the same statement, run, is heard
    assert emulator.requests[len(before) :] == [("POST", f"/client/v4/accounts/{ids['account_id']}/realtime/kit/{ids['app_id']}/meetings")]


def test_cli_explain_prints_a_table_and_a_script_of_explains_sends_nothing(
    emulator: Emulator, api: list[str], ids: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    script = tmp_path / "explain.iql"
    script.write_text(
        f"EXPLAIN SELECT id FROM {KIT} WHERE account_id = '{ids['account_id']}' AND app_id = '{ids['app_id']}' LIMIT 2;\n"
        f"EXPLAIN DELETE FROM {MEETINGS} WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = 'm' AND participant_id IN ('p1', 'p2');\n"
    )
    before = emulator.requests
    assert main(["exec", *api, "-i", str(script)]) == 0
    assert emulator.requests == before
    out = capsys.readouterr().out
    assert out.count("| part ") == 2
    assert f"| request   | GET {emulator.url}/accounts/{ids['account_id']}/realtime/kit/{ids['app_id']}/meetings " in out
    assert f"[2] DELETE {emulator.url}/accounts/a/realtime/kit/b/meetings/m/participants/p2" in out


def test_connection_explain_sends_nothing_for_every_kind(emulator: Emulator, ids: dict[str, str]) -> None:
    account, app = ids["account_id"], ids["app_id"]
    with connect(base_url=emulator.url, token=SANDBOX_TOKEN) as conn:
        meeting_id = _create(conn, account, app, "Real")
        where = f"account_id = '{account}' AND app_id = '{app}' AND meeting_id = '{meeting_id}'"
        statements = [
            f"SELECT id, title FROM {KIT} WHERE {where}",
            f"UPDATE {MEETINGS} SET title = 'Changed' WHERE {where}",
            f"REPLACE {MEETINGS} SET title = 'Whole' WHERE {where}",
            f"INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, name, preset_name, custom_participant_id) "
            f"SELECT '{account}', '{app}', '{meeting_id}', 'Ann', 'group_call_host', 'ann-1'",
            f"EXEC {MEETINGS}.create @account_id = '{account}', @app_id = '{app}'",
            f"SHOW METHODS IN {MEETINGS}",
        ]
        before = emulator.requests
        results = [conn.run("EXPLAIN " + sql) for sql in statements]
        assert emulator.requests == before
        (title,) = [row["title"] for row in conn.execute(f"SELECT title FROM {KIT} WHERE {where}")]
    assert title == "Real"  # the UPDATE and REPLACE explained were not applied
    urls = [details(result.rows, "request") for result in results]
    meeting_url = f"{emulator.url}/accounts/{account}/realtime/kit/{app}/meetings/{meeting_id}"
    assert urls[:4] == [[f"GET {meeting_url}"], [f"PATCH {meeting_url}"], [f"PUT {meeting_url}"], [f"POST {meeting_url}/participants"]]
    assert details(results[4].rows, "why") == ["named by EXEC"] and urls[5] == []


def test_the_shell_prints_explain_as_a_table_and_sends_nothing(emulator: Emulator, ids: dict[str, str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    shell = Shell(Settings(base_url=emulator.url, token=SANDBOX_TOKEN), stdout=out, stderr=err, interactive=False)
    before = emulator.requests
    shell.run_lines([f"EXPLAIN DELETE FROM {MEETINGS} WHERE account_id = '{ids['account_id']}' AND app_id = 'x'\n", "  AND meeting_id = 'm' AND participant_id = 'p';\n"])
    assert emulator.requests == before and err.getvalue() == ""
    text = out.getvalue()
    assert "| method    | delete_meeting_participant · DELETE " in text
    assert f"DELETE {emulator.url}/accounts/{ids['account_id']}/realtime/kit/x/meetings/m/participants/p" in text


def test_explain_names_the_method_and_the_request_that_running_uses(emulator: Emulator, ids: dict[str, str]) -> None:
    """A WHERE name one SELECT method takes as a parameter and the other filters on: EXPLAIN's method, its
    split of WHERE and its request are those of running the statement, which the emulator hears."""
    from urllib.parse import urlsplit

    account, app = ids["account_id"], ids["app_id"]
    with connect(base_url=emulator.url, token=SANDBOX_TOKEN) as conn:
        meeting_id = _create(conn, account, app, "Heard")
        where = f"account_id = '{account}' AND app_id = '{app}' AND status = 'ACTIVE'"
        explained = {}
        for sql in (f"SELECT id FROM {KIT} WHERE {where} AND meeting_id = '{meeting_id}'", f"SELECT id FROM {KIT} WHERE {where} LIMIT 1"):
            result = conn.run("EXPLAIN " + sql)
            before = len(emulator.requests)
            conn.execute(sql)
            (request,) = details(result.rows, "request")
            method, url = request.split(" ", 1)
            parts = urlsplit(url)
            assert emulator.requests[before] == (method, parts.path + (f"?{parts.query}" if parts.query else ""))
            explained[details(result.rows, "method")[0].split(" ·")[0]] = result.rows
    assert details(explained["get_by_account"], "local") == ["WHERE status = 'ACTIVE'"]
    assert "status = 'ACTIVE' → query parameter" in details(explained["list_by_account"], "api")
