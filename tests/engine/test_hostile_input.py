"""Property-based: whatever text arrives, cfql answers with its own errors and keeps ids in their segment."""

from __future__ import annotations

import typing as t
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfql import connect
from cfql.errors import Error
from cfql.plan.planner import plan_sql
from cfql.provider.registry import default_registry
from cfql.script.templates import render

from .conftest import MEETINGS, Recorder

SEEDS = [
    f"INSERT INTO {MEETINGS} (account_id, app_id, title, persist_chat) SELECT 'a', 'b', 't', false RETURNING data, success",
    f"UPDATE {MEETINGS} SET session_keep_alive_time_in_secs = 60, ai_config = '{{\"summarization\": {{}}}}' WHERE meeting_id = 'm' AND account_id = 'a' AND app_id = 'b'",
    f"REPLACE {MEETINGS} SET title = 't' WHERE meeting_id = :m AND account_id = 'a' AND app_id = 'b' RETURNING json_extract(data, '$.id') AS id",
    f"DELETE FROM {MEETINGS} WHERE meeting_id = 'm' AND participant_id = 'p' AND account_id = 'a' AND app_id = 'b'",
    f"EXEC {MEETINGS}.create @account_id = 'a', @app_id = 'b' @@json = '{{\"title\": 1}}'",
    f"SHOW EXTENDED METHODS IN {MEETINGS}",
    f"DESCRIBE {MEETINGS}",
    "SELECT * FROM cloudflare.realtime_kit.kit_meetings WHERE account_id = 'a' AND app_id = 'b'",
]
TOKENS = [
    "INSERT", "INTO", "UPDATE", "REPLACE", "DELETE", "FROM", "SELECT", "VALUES", "SET", "WHERE", "AND", "OR",
    "RETURNING", "EXEC", "SHOW", "DESCRIBE", "EXTENDED", "METHODS", "IN", "(", ")", ",", ";", "=", "@", "@@",
    ":p", "*", "'x'", "''", "'{\"a\": 1}'", "1", "-1", "1e309", "true", "NULL", MEETINGS, "cloudflare", ".",
    "json_extract(data, '$.id')", "AS", "/*", "*/", "--", "\n", "account_id", "meeting_id", "title", "{{", "}}",
]

statement_text = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join),
    st.tuples(st.sampled_from(SEEDS), st.integers(0, 400), st.integers(0, 8), st.text(max_size=6)).map(
        lambda s: s[0][: s[1]] + s[3] + s[0][s[1] + s[2] :]
    ),
    st.text(max_size=80),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statement_text)
def test_planning_any_text_raises_only_cfql_errors(sql: str) -> None:
    try:
        plan_sql(sql, default_registry())
    except Error:
        pass


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60), st.dictionaries(st.sampled_from(["a", "b", "title", "cfg"]), st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)), max_size=4))
def test_templating_any_text_raises_only_cfql_errors(text: str, variables: dict[str, t.Any]) -> None:
    try:
        render(text, variables)
    except Error:
        pass


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["'{{ v }}'", "{{ v }}", "'x{{ v }}y'"]), st.one_of(st.text(max_size=30), st.integers(), st.booleans(), st.none(), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3)))
def test_rendered_values_stay_one_literal(placeholder: str, value: t.Any) -> None:
    """A rendered value never adds a statement or a column: it is exactly one SQL value."""
    sql = f"UPDATE {MEETINGS} SET title = {placeholder} WHERE meeting_id = 'm'"
    try:
        rendered = render(sql, {"v": value})
    except Error:
        return
    from cfql.sql.dialect import parse_statement

    node = parse_statement(rendered)
    assert len(node.expressions) == 1 and node.args["where"].this.this.name == "meeting_id"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=40))
def test_hostile_ids_never_leave_their_segment(recorder: Recorder, meeting_id: str) -> None:
    with connect(token="t", http_client=httpx.Client(transport=httpx.MockTransport(recorder))) as conn:
        try:
            conn.execute(
                f"DELETE FROM {MEETINGS} WHERE meeting_id = :m AND participant_id = 'p' AND account_id = 'a' AND app_id = 'b'",
                {"m": meeting_id},
            )
        except Error as error:
            assert meeting_id in (".", "..") and "path parameter" in str(error)
            return
    raw = recorder.last.url.raw_path.decode("ascii")
    assert "?" not in raw and "#" not in raw
    segments = raw.split("/")
    assert segments[:8] == ["", "client", "v4", "accounts", "a", "realtime", "kit", "b"]
    assert segments[8] == "meetings" and segments[10:] == ["participants", "p"]
    assert unquote(segments[9]) == meeting_id


@pytest.mark.parametrize("bad", ["tok\r\nX-Evil: 1", "tok\nX", "tok\rX", "tok\x00"])
def test_credentials_cannot_split_headers(recorder: Recorder, bad: str) -> None:
    from cfql import CredentialsError

    with connect(token=bad, http_client=httpx.Client(transport=httpx.MockTransport(recorder))) as conn, pytest.raises(CredentialsError):
        conn.execute(f"INSERT INTO {MEETINGS} (account_id, app_id) SELECT 'a', 'b'")
    assert recorder.requests == []
