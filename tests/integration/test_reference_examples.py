"""Every SQL example of the reference page, placeholders filled in, against the emulator over loopback.

The statements are copied verbatim from StackQL's page for
``cloudflare.realtime_kit.meetings`` into ``tests/data/meetings-reference-examples.sql``
(see tests/data/README.md for how to refresh them), so the suite needs nothing
outside the repository. Each runs through the library and through the
``cfql exec`` command, and the emulator's state is checked afterwards.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from cfql import connect
from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator

EXAMPLES_FILE = Path(__file__).resolve().parents[1] / "data" / "meetings-reference-examples.sql"
REPO = Path(__file__).resolve().parents[2]
METHOD_LINE = re.compile(r"^-- method: (\w+)$")

AI_CONFIG = {
    "summarization": {"summary_type": "daily_standup", "text_format": "markdown", "word_limit": 300},
    "transcription": {"keywords": ["cfql"], "language": "en-US", "profanity_filter": False},
}
RECORDING_CONFIG = {
    "file_name_prefix": "standup",
    "max_seconds": 3600,
    "video_config": {"codec": "VP9", "width": 1280, "height": 720, "export_file": True},
    "audio_config": {"codec": "AAC", "channel": "stereo", "export_file": False},
    "storage_config": {"type": "aws", "access_key": "AKIA-SENTINEL", "secret": "SECRET-SENTINEL", "region": "us-east-1", "bucket": "rec"},
}


def reference_examples() -> dict[str, str]:
    """The page's statements keyed by the method their heading documents.

    Each statement of the data file follows a ``-- method: <name>`` line; the
    comment lines before the first such line are the file's header.
    """
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in EXAMPLES_FILE.read_text(encoding="utf-8").splitlines():
        marker = METHOD_LINE.match(line)
        if marker:
            current = blocks.setdefault(marker.group(1), [])
        elif current is not None:
            current.append(line)
    statements = {name: "\n".join(lines).strip("\n") for name, lines in blocks.items()}
    names = ["refresh_participant_token", "add_participant", "create", "edit_participant", "update_meeting_by_id", "replace_meeting_by_id", "delete_meeting_participant"]
    assert list(statements) == names, list(statements)
    for name, sql in statements.items():
        assert sql.startswith(("INSERT INTO", "UPDATE", "REPLACE", "DELETE FROM")) and sql.endswith(";"), name
        assert sql.count(";") == 1, f"{name}: one statement per method"
    return statements


def fill(template: str, values: dict[str, t.Any]) -> str:
    """Fill ``{{ name }}`` the way a template would: SQL text for scalars, JSON for structures."""

    def value(match: re.Match[str]) -> str:
        v = values[match.group(1)]
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (dict, list)):
            return json.dumps(v).replace("'", "''")
        return str(v).replace("'", "''")

    return re.sub(r"\{\{\s*(\w+)\s*\}\}", value, template)


EXAMPLES = reference_examples()


class Runner:
    """Runs a statement through the library or through the CLI and returns the rows."""

    def __init__(self, emulator: Emulator, how: str):
        self.emulator = emulator
        self.how = how

    def __call__(self, sql: str) -> list[dict[str, t.Any]]:
        if self.how == "library":
            with connect(token=SANDBOX_TOKEN, base_url=self.emulator.url) as conn:
                return conn.execute(sql)
        env = {**os.environ, "CLOUDFLARE_API_TOKEN": SANDBOX_TOKEN}
        done = subprocess.run(
            [sys.executable, "-m", "cfql", "exec", "--base-url", self.emulator.url, "-o", "json", sql],
            capture_output=True, text=True, env=env, cwd=REPO, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else []


@pytest.fixture(params=["library", "cli"])
def run(request: pytest.FixtureRequest, emulator: Emulator) -> Runner:
    return Runner(emulator, request.param)


def create_meeting(run: Runner, ids: dict[str, str]) -> dict[str, t.Any]:
    sql = fill(
        EXAMPLES["create"],
        {
            **ids,
            "ai_config": AI_CONFIG,
            "live_stream_on_start": False,
            "persist_chat": True,
            "record_on_start": False,
            "recording_config": RECORDING_CONFIG,
            "session_keep_alive_time_in_secs": 120,
            "summarize_on_end": False,
            "title": "O'Brien's standup",
        },
    )
    (row,) = run(sql)
    assert row["success"] is True
    return row["data"]


def add_participant(run: Runner, ids: dict[str, str], meeting_id: str, who: str = "alice@example.com") -> dict[str, t.Any]:
    sql = fill(
        EXAMPLES["add_participant"],
        {**ids, "meeting_id": meeting_id, "custom_participant_id": who, "name": "Alice", "picture": "https://example.com/a.png", "preset_name": "group_call_host"},
    )
    (row,) = run(sql)
    assert row["success"] is True
    return row["data"]


def test_create(run: Runner, ids: dict[str, str], emulator: Emulator) -> None:
    data = create_meeting(run, ids)
    assert data["title"] == "O'Brien's standup"
    assert data["session_keep_alive_time_in_secs"] == 120
    assert data["persist_chat"] is True and data["live_stream_on_start"] is False
    assert data["ai_config"] == AI_CONFIG
    assert "SECRET-SENTINEL" not in json.dumps(data)
    (stored,) = emulator.meetings(ids["account_id"], ids["app_id"])
    assert stored["id"] == data["id"]


def test_add_participant_and_refresh_token(run: Runner, ids: dict[str, str], emulator: Emulator) -> None:
    meeting = create_meeting(run, ids)
    participant = add_participant(run, ids, meeting["id"])
    assert participant["custom_participant_id"] == "alice@example.com" and participant["token"]
    sql = fill(EXAMPLES["refresh_participant_token"], {**ids, "meeting_id": meeting["id"], "participant_id": participant["id"]})
    (row,) = run(sql)
    assert row["success"] is True and row["data"]["token"] != participant["token"]
    (stored,) = emulator.participants(ids["account_id"], ids["app_id"], meeting["id"])
    assert stored["token"] == row["data"]["token"]


def test_edit_participant(run: Runner, ids: dict[str, str]) -> None:
    meeting = create_meeting(run, ids)
    participant = add_participant(run, ids, meeting["id"])
    sql = fill(
        EXAMPLES["edit_participant"],
        {**ids, "meeting_id": meeting["id"], "participant_id": participant["id"], "name": "Alice B", "picture": "https://example.com/b.png", "preset_name": "webinar_viewer"},
    )
    (row,) = run(sql)
    assert (row["data"]["name"], row["data"]["preset_name"]) == ("Alice B", "webinar_viewer")


def test_update_meeting_by_id_merges(run: Runner, ids: dict[str, str]) -> None:
    meeting = create_meeting(run, ids)
    sql = fill(
        EXAMPLES["update_meeting_by_id"],
        {
            **ids, "meeting_id": meeting["id"], "ai_config": {"summarization": {"word_limit": 500}},
            "live_stream_on_start": True, "persist_chat": False, "record_on_start": True,
            "session_keep_alive_time_in_secs": 600, "status": "INACTIVE", "summarize_on_end": True, "title": "Renamed",
        },
    )
    (row,) = run(sql)
    data = row["data"]
    assert (data["title"], data["status"], data["session_keep_alive_time_in_secs"], data["persist_chat"]) == ("Renamed", "INACTIVE", 600, False)
    assert data["recording_config"]["file_name_prefix"] == "standup"  # untouched by PATCH


def test_replace_meeting_by_id(run: Runner, ids: dict[str, str]) -> None:
    meeting = create_meeting(run, ids)
    sql = fill(
        EXAMPLES["replace_meeting_by_id"],
        {
            **ids, "meeting_id": meeting["id"], "ai_config": AI_CONFIG, "live_stream_on_start": False,
            "persist_chat": False, "record_on_start": False, "recording_config": {"max_seconds": 60},
            "session_keep_alive_time_in_secs": 60, "summarize_on_end": False, "title": "Replaced",
        },
    )
    (row,) = run(sql)
    assert row["data"]["title"] == "Replaced"
    assert row["data"]["recording_config"].get("file_name_prefix") in (None, "")


def test_delete_meeting_participant(run: Runner, ids: dict[str, str], emulator: Emulator) -> None:
    meeting = create_meeting(run, ids)
    participant = add_participant(run, ids, meeting["id"])
    sql = fill(EXAMPLES["delete_meeting_participant"], {**ids, "meeting_id": meeting["id"], "participant_id": participant["id"]})
    assert run(sql) == []  # the example has no RETURNING
    assert emulator.participants(ids["account_id"], ids["app_id"], meeting["id"]) == []


def test_unknown_meeting_is_an_http_error_with_the_server_message(emulator: Emulator, ids: dict[str, str]) -> None:
    from cfql import APIError

    with connect(token=SANDBOX_TOKEN, base_url=emulator.url) as conn, pytest.raises(APIError) as info:
        conn.execute(f"UPDATE cloudflare.realtime_kit.meetings SET title = 'x' WHERE meeting_id = 'nope' AND account_id = '{ids['account_id']}' AND app_id = '{ids['app_id']}'")
    assert info.value.status == 404


def test_wrong_token_is_a_401(emulator: Emulator, ids: dict[str, str]) -> None:
    from cfql import APIError

    with connect(token="wrong", base_url=emulator.url) as conn, pytest.raises(APIError, match="HTTP 401"):
        conn.execute(f"INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id) SELECT '{ids['account_id']}', '{ids['app_id']}'")
