"""DESCRIBE METHOD, SHOW VERSION and SHOW ... LIKE/WHERE as a user runs them with ``cfql exec`` against the
emulator: answered from the documents, with nothing sent (the emulator's request log does not grow)."""

from __future__ import annotations

import json
from importlib import metadata

import pytest

from cfql.cli.main import main
from cfql.provider.cloudflare.emulator import Emulator

MEETINGS = "cloudflare.realtime_kit.meetings"


def _rows(capsys: pytest.CaptureFixture[str], api: list[str], sql: str) -> list[dict[str, object]]:
    assert main(["exec", *api, "-o", "json", sql]) == 0
    return json.loads(capsys.readouterr().out)


def test_meta_statements_answer_from_the_documents_and_send_nothing(
    api: list[str], emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(emulator.requests)
    described = _rows(capsys, api, f"DESCRIBE METHOD EXTENDED {MEETINGS}.create")
    assert {(row["name"], row["param_type"]) for row in described} >= {
        ("account_id", "input_required"), ("app_id", "input_required"), ("title", "input_optional"),
        ("data", "output"), ("success", "output"),
    }
    assert all(set(row) == {"name", "type", "param_type", "shape", "description"} for row in described)
    assert _rows(capsys, api, "SHOW VERSION") == [{"version": metadata.version("cfql")}]
    methods = _rows(capsys, api, f"SHOW METHODS IN {MEETINGS} WHERE methodname LIKE 'add%' OR SQLVerb = 'DELETE'")
    assert [row["MethodName"] for row in methods] == ["add_participant", "delete_meeting_participant"]
    resources = _rows(capsys, api, "SHOW RESOURCES IN cloudflare.realtime_kit LIKE '%participants'")
    assert [row["name"] for row in resources] == ["meetings_participants"]
    services = _rows(capsys, api, "SHOW SERVICES IN cloudflare WHERE name = 'realtime_kit'")
    providers = _rows(capsys, api, "SHOW PROVIDERS WHERE name LIKE 'cloud%'")
    assert [row["name"] for row in services] == ["realtime_kit"] and [row["name"] for row in providers] == ["cloudflare"]
    assert len(emulator.requests) == before


def test_an_unknown_show_column_is_one_line_naming_the_columns(api: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exec", *api, f"SHOW METHODS IN {MEETINGS} WHERE colour = 'red'"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown column 'colour'" in err and "MethodName, RequiredParams, SQLVerb" in err
