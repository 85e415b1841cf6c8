"""Values travel with the type that was written, are checked before sending, and cannot escape the path."""

from __future__ import annotations

import pytest

from cfql import DataError, ProgrammingError
from cfql.connection import Connection
from cfql.errors import UnboundParameterError

from .conftest import MEETINGS, Recorder

WHERE = "WHERE meeting_id = 'm' AND account_id = 'acc' AND app_id = 'app'"


def test_false_zero_and_null_are_sent_as_written(conn: Connection, recorder: Recorder) -> None:
    conn.execute(
        f"INSERT INTO {MEETINGS} (account_id, app_id, persist_chat, record_on_start, title, session_keep_alive_time_in_secs) "
        "SELECT 'acc', 'app', false, NULL, NULL, 60"
    )
    assert recorder.last_body == {
        "persist_chat": False,
        "record_on_start": None,
        "title": None,
        "session_keep_alive_time_in_secs": 60,
    }


def test_set_keeps_numbers_numbers(conn: Connection, recorder: Recorder) -> None:
    conn.execute(f"UPDATE {MEETINGS} SET session_keep_alive_time_in_secs = 60, summarize_on_end = false {WHERE}")
    assert recorder.last_body == {"session_keep_alive_time_in_secs": 60, "summarize_on_end": False}
    assert isinstance(recorder.last_body["session_keep_alive_time_in_secs"], int)


def test_columns_not_given_are_not_sent(conn: Connection, recorder: Recorder) -> None:
    conn.execute(f"REPLACE {MEETINGS} SET title = 'only' {WHERE}")
    assert recorder.last_body == {"title": "only"}


def test_methods_without_body_send_none(conn: Connection, recorder: Recorder) -> None:
    conn.execute(f"DELETE FROM {MEETINGS} WHERE meeting_id = 'm' AND participant_id = 'p' AND account_id = 'a' AND app_id = 'b'")
    assert recorder.last.content == b""


def test_json_literal_travels_as_json(conn: Connection, recorder: Recorder) -> None:
    conn.execute(
        f"INSERT INTO {MEETINGS} (account_id, app_id, ai_config) SELECT 'acc', 'app', "
        """'{"summarization": {"word_limit": 500, "text_format": "markdown"}, "transcription": {"keywords": ["cfql"], "profanity_filter": false}}'"""
    )
    assert recorder.last_body == {
        "ai_config": {
            "summarization": {"word_limit": 500, "text_format": "markdown"},
            "transcription": {"keywords": ["cfql"], "profanity_filter": False},
        }
    }


def test_exec_keeps_types_too(conn: Connection, recorder: Recorder) -> None:
    conn.execute(
        f"EXEC {MEETINGS}.update_meeting_by_id @account_id='acc', @app_id='app', @meeting_id='m', "
        "@persist_chat=false, @session_keep_alive_time_in_secs=120"
    )
    assert recorder.last_body == {"persist_chat": False, "session_keep_alive_time_in_secs": 120}


@pytest.mark.parametrize(
    "assignment, message",
    [
        ("session_keep_alive_time_in_secs = 30", "column session_keep_alive_time_in_secs: 30 is below the minimum 60 (allowed: 60 to 600)"),
        ("session_keep_alive_time_in_secs = '60'", "column session_keep_alive_time_in_secs: expected a number, got '60'"),
        ("persist_chat = 'yes'", "column persist_chat: expected a boolean, got 'yes'"),
        ("status = 'DONE'", "column status: 'DONE' is not one of 'ACTIVE', 'INACTIVE'"),
        ("persist_chat = NULL", "column persist_chat: NULL is not allowed"),
        ("ai_config = '{\"summarization\": {\"text_format\": \"html\"}}'", "column ai_config.summarization.text_format: 'html' is not one of"),
        ("ai_config = '{\"transcription\": {\"langauge\": \"de\"}}'", "unknown field 'langauge' (did you mean 'language'?)"),
        ("ai_config = '{not json'", "column ai_config: expected a JSON object literal"),
        (
            "recording_config = '{\"realtimekit_bucket_config\": {}}'",
            "column recording_config.realtimekit_bucket_config: missing required field enabled",
        ),
    ],
)
def test_values_checked_against_schema_before_any_request(conn: Connection, recorder: Recorder, assignment: str, message: str) -> None:
    with pytest.raises(DataError) as info:
        conn.execute(f"UPDATE {MEETINGS} SET {assignment} {WHERE}")
    assert message in str(info.value)
    assert recorder.requests == []


def test_secret_values_never_appear_in_errors(conn: Connection) -> None:
    with pytest.raises(DataError) as info:
        conn.execute(
            f"UPDATE {MEETINGS} SET recording_config = "
            """'{"storage_config": {"type": "gcs", "password": 12345, "secret": "TOPSECRET"}}' """ + WHERE
        )
    assert "12345" not in str(info.value) and "TOPSECRET" not in str(info.value)


@pytest.mark.parametrize(
    "meeting_id, encoded",
    [
        ("../admin", "..%2Fadmin"),
        ("a/b", "a%2Fb"),
        ("x?y=1#z", "x%3Fy=1%23z"),
        ("line\r\nX-Injected: 1", "line%0D%0AX-Injected:%201"),
        ("...", "..."),
        ("%2F", "%252F"),
        ("café", "caf%C3%A9"),
    ],
)
def test_path_params_cannot_leave_their_segment(conn: Connection, recorder: Recorder, meeting_id: str, encoded: str) -> None:
    conn.execute(f"UPDATE {MEETINGS} SET title = 't' WHERE meeting_id = :m AND account_id = 'acc' AND app_id = 'app'", {"m": meeting_id})
    assert recorder.last.url.raw_path.decode() == f"/client/v4/accounts/acc/realtime/kit/app/meetings/{encoded}"
    assert "x-injected" not in recorder.last.headers


@pytest.mark.parametrize("value", ["", ".", ".."])
def test_empty_and_dot_segments_are_refused(conn: Connection, recorder: Recorder, value: str) -> None:
    with pytest.raises(DataError, match=f"column meeting_id: a path parameter cannot be '{value}'"):
        conn.execute(f"UPDATE {MEETINGS} SET title = 't' WHERE meeting_id = '{value}' AND account_id = 'a' AND app_id = 'b'")
    assert recorder.requests == []


def test_bind_parameters_are_typed_and_checked_per_call(conn: Connection, recorder: Recorder) -> None:
    sql = f"UPDATE {MEETINGS} SET title = :title, persist_chat = :persist, ai_config = :ai {WHERE}"
    conn.execute(sql, {"title": "one", "persist": True, "ai": {"summarization": {"word_limit": 200}}})
    assert recorder.last_body == {"title": "one", "persist_chat": True, "ai_config": {"summarization": {"word_limit": 200}}}
    with pytest.raises(DataError, match="column persist_chat: expected a boolean, got 'yes'"):
        conn.execute(sql, {"title": "two", "persist": "yes", "ai": {}})
    with pytest.raises(UnboundParameterError, match=r"parameter :ai \(for column ai_config\) has no value"):
        conn.execute(sql, {"title": "two", "persist": True})


def test_question_mark_placeholders_are_refused(conn: Connection) -> None:
    with pytest.raises(ProgrammingError, match="only literals and :parameters"):
        conn.execute(f"UPDATE {MEETINGS} SET title = ? {WHERE}")


def test_an_escape_string_is_sent_as_the_text_it_means(conn: Connection, recorder: Recorder) -> None:
    conn.execute(f"UPDATE {MEETINGS} SET title = E'it\\'s a \\\\ test' {WHERE}")
    assert recorder.last_body == {"title": "it's a \\ test"}


# --------------------------------------------------------------------------
# Formats the schema states
# --------------------------------------------------------------------------

PARTICIPANT = f"INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, custom_participant_id, preset_name, picture) SELECT 'a', 'b', 'm', 'u', 'p', "
KIT_LIST = "SELECT id FROM cloudflare.realtime_kit.kit_meetings WHERE account_id = 'a' AND app_id = 'b' AND "


@pytest.mark.parametrize(
    "sql, message",
    [
        (PARTICIPANT + "'not a url'", "column picture: expected a URI, got 'not a url'"),
        (PARTICIPANT + "'example.com/face.png'", "column picture: expected a URI, got 'example.com/face.png'"),
        (PARTICIPANT + "'https://exa mple.com/a.png'", "column picture: expected a URI"),
        (PARTICIPANT + "'https://example.com/<script>'", "column picture: expected a URI"),
        (PARTICIPANT + "'://no-scheme'", "column picture: expected a URI"),
        (
            f"UPDATE {MEETINGS} SET recording_config = "
            """'{"live_streaming_config": {"rtmp_url": "live.example.com/app"}}' """ + WHERE,
            "column recording_config.live_streaming_config.rtmp_url: expected a URI, got 'live.example.com/app'",
        ),
        (KIT_LIST + "start_time = 'yesterday'", "column start_time: expected an RFC 3339 date-time"),
        (KIT_LIST + "end_time = '2026-02-30T10:00:00Z'", "got '2026-02-30T10:00:00Z'"),
        (KIT_LIST + "start_time = '2026-01-31'", "column start_time: expected an RFC 3339 date-time"),
        (KIT_LIST + "start_time = '2026-01-31T25:00:00Z'", "column start_time: expected an RFC 3339 date-time"),
        (KIT_LIST + "start_time = '2026-01-31T10:00:00'", "column start_time: expected an RFC 3339 date-time"),
    ],
)
def test_formats_the_schema_states_are_checked_before_sending(conn: Connection, recorder: Recorder, sql: str, message: str) -> None:
    with pytest.raises(DataError) as info:
        conn.execute(sql)
    assert message in str(info.value)
    assert recorder.requests == []


@pytest.mark.parametrize(
    "sql",
    [
        PARTICIPANT + "'https://example.com/a.png?s=64&x=1'",
        PARTICIPANT + "'rtmps://live.example.com:443/app/key'",
        PARTICIPANT + "'https://x.example/ü.png'",  # the SDK sends IRIs as they are
        PARTICIPANT + "NULL",
        KIT_LIST + "start_time = '2026-01-31T09:30:00Z' AND end_time = '2026-01-31T10:00:00.125+05:30'",
    ],
)
def test_values_in_the_stated_format_are_sent(conn: Connection, recorder: Recorder, sql: str) -> None:
    recorder.reply(200, {"success": True, "data": []})
    conn.execute(sql)
    assert len(recorder.requests) == 1


def test_formats_are_checked_on_bound_values_too(conn: Connection, recorder: Recorder) -> None:
    with pytest.raises(DataError, match="column picture: expected a URI, got 'nope'"):
        conn.execute(PARTICIPANT.replace("'p', ", "'p', :pic"), {"pic": "nope"})
    assert recorder.requests == []


@pytest.mark.parametrize(
    "fmt, good, bad",
    [
        ("uuid", "123e4567-e89b-12d3-a456-426614174000", "123e4567e89b12d3a456426614174000"),
        ("date", "2024-02-29", "2023-02-29"),
        ("email", "ada+tag@example.com", "ada@@example.com"),
        ("date-time", "1990-12-31T23:59:60Z", "1990-12-31 23:59:59Z"),
    ],
)
def test_every_checked_format_has_a_rule(fmt: str, good: str, bad: str) -> None:
    from cfql.plan.schema import check

    schema = {"type": "string", "format": fmt}
    assert check(good, schema, "x") == good
    with pytest.raises(DataError, match=f"column x: expected .*, got '{bad}'"):
        check(bad, schema, "x")


# --------------------------------------------------------------------------
# Errors about values never quote what may be a secret
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "literal",
    [
        '{"password": "hunter2", ',
        '{"storage_config": {"type": "sftp", "password": "hunter2"}',
        '{"summarization": "hunter2"',
        '[{"hunter2": 1}',
    ],
)
def test_malformed_json_is_located_not_quoted(conn: Connection, recorder: Recorder, literal: str) -> None:
    column = "ai_config" if "storage" not in literal else "recording_config"
    with pytest.raises(DataError) as info:
        conn.execute(f"INSERT INTO {MEETINGS} (account_id, app_id, title, {column}) SELECT 'a', 'b', 'c', '{literal}'")
    message = str(info.value)
    assert "hunter2" not in message and "password" not in message
    assert "at char" in message and message.startswith(f"column {column}: expected a JSON object literal")
    assert recorder.requests == []


def test_a_json_value_of_the_wrong_shape_is_named_not_dumped(conn: Connection) -> None:
    with pytest.raises(DataError) as info:
        conn.execute(f"UPDATE {MEETINGS} SET ai_config = :ai {WHERE}", {"ai": ["hunter2"]})
    assert str(info.value) == "column ai_config: expected an object, got a JSON array"


def test_a_refused_expression_is_quoted_with_its_strings_masked(conn: Connection) -> None:
    statements = [
        f"INSERT INTO {MEETINGS} (account_id, app_id, recording_config) SELECT 'a', 'b', concat('{{\"password\": \"hunter2\"}}')",
        f"UPDATE {MEETINGS} SET title = 'x' WHERE meeting_id = 'm' AND account_id LIKE 'hunter2' AND app_id = 'b'",
        f"UPDATE {MEETINGS} SET 'hunter2' = 'x' {WHERE}",
    ]
    for sql in statements:
        with pytest.raises(ProgrammingError) as info:
            conn.execute(sql)
        assert "hunter2" not in str(info.value) and "'…'" in str(info.value)


def test_fields_the_provider_names_secret_are_never_quoted() -> None:
    """acme's ``passphrase`` is secret by name only (``secretFields``); its schema says nothing."""
    from pathlib import Path

    import httpx

    from cfql import Settings
    from cfql.provider.registry import Registry

    providers = Path(__file__).resolve().parents[1] / "data" / "registry"
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(500)))
    with Connection(Settings(token="k"), http_client=client, registry=Registry(providers)) as acme:
        sql = "INSERT INTO acme.widgets.widgets (shop, name, passphrase) SELECT 's1', 'w', :p"
        for value in (12345, ["hunter2"], {"hunter2": 1}):
            with pytest.raises(DataError) as info:
                acme.execute(sql, {"p": value})
            assert str(info.value) == "column passphrase: expected a string, got '***'"
