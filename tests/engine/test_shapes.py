"""A statement that differs only in literal values reuses a plan — and behaves exactly as if parsed anew."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfql import DataError, connect
from cfql.connection import Connection, PlanCache
from cfql.errors import Error
from cfql.plan.planner import plan_sql
from cfql.provider.registry import default_registry

from .conftest import MEETINGS, Recorder

TEMPLATES = [
    f"INSERT INTO {MEETINGS} (account_id, app_id, title, session_keep_alive_time_in_secs, ai_config) SELECT {{a}}, {{b}}, {{c}}, {{n}}, '{{{{\"summarization\": {{{{\"word_limit\": 300}}}}}}}}' RETURNING json_extract(data, '$.id') AS id",
    f"UPDATE {MEETINGS} SET title = {{c}}, session_keep_alive_time_in_secs = {{n}} WHERE meeting_id = {{a}} AND account_id = {{b}} AND app_id = 'x'",
    f"INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, custom_participant_id, preset_name) VALUES ({{a}}, {{b}}, 'm', {{c}}, 'host'), ('a2', 'b2', 'm2', {{c}}, 'viewer')",
    f"EXEC {MEETINGS}.update_meeting_by_id @account_id = {{a}}, @app_id = {{b}}, @meeting_id = 'm', @title = {{c}}, @session_keep_alive_time_in_secs = {{n}}",
    f"DELETE FROM {MEETINGS} WHERE meeting_id = {{a}} AND participant_id = {{c}} AND account_id = {{b}} AND app_id = 'x'",
]


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def requests_of(plan: object) -> object:
    """The requests a plan makes, or the error it raises making them."""
    try:
        return [(r.http_method, r.path, dict(r.query), r.body) for r in plan.requests({})]  # type: ignore[attr-defined]
    except Error as error:
        return f"{type(error).__name__}: {error}"


def fill(template: str, a: str, b: str, c: str, n: int | float) -> str:
    return template.format(a=quote(a), b=quote(b), c=quote(c), n=n)


ids = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12).filter(lambda s: s not in (".", ".."))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(TEMPLATES), ids, ids, st.text(max_size=20), st.one_of(st.integers(-100, 700), st.floats(50, 650, allow_nan=False)))
def test_reused_plans_send_what_a_fresh_parse_sends(template: str, a: str, b: str, c: str, n: float) -> None:
    cache = PlanCache(default_registry())
    cache.get(fill(template, "prime-a", "prime-b", "prime", 60))
    sql = fill(template, a, b, c, n)
    try:
        fresh = plan_sql(sql, default_registry())
    except Error as expected:
        with pytest.raises(type(expected)) as info:
            cache.get(sql)
        assert str(info.value) == str(expected)
        return
    reused = cache.get(sql)
    assert requests_of(reused) == requests_of(fresh)
    assert reused.sql == sql
    assert (reused.projection.names if reused.projection else None) == (fresh.projection.names if fresh.projection else None)


def test_the_second_statement_of_a_shape_is_not_parsed(conn: Connection, recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    from cfql.plan import cache as cache_module

    conn.execute(fill(TEMPLATES[1], "m1", "acc", "first", 60))
    parsed = []
    real = cache_module.plan_sql
    monkeypatch.setattr(cache_module, "plan_sql", lambda *args: parsed.append(args) or real(*args))
    conn.execute(fill(TEMPLATES[1], "m2", "acc", "second", 90))
    assert parsed == []
    assert recorder.last.url.path.endswith("/meetings/m2") and json.loads(recorder.last.content) == {
        "title": "second",
        "session_keep_alive_time_in_secs": 90,
    }


def test_reused_shape_still_checks_values(conn: Connection) -> None:
    conn.execute(fill(TEMPLATES[1], "m1", "acc", "ok", 60))
    with pytest.raises(DataError, match="30 is below the minimum 60"):
        conn.execute(fill(TEMPLATES[1], "m1", "acc", "ok", 30))


@pytest.mark.parametrize(
    "first, second, expected",
    [
        ("json_extract(data, '$.id') AS v", "json_extract(data, '$.title') AS v", "T"),
        ("json_extract(data, '$.title') AS v", "json_extract(data, '$.id') AS v", "m-1"),
    ],
)
def test_literals_that_are_not_values_are_never_reused(recorder: Recorder, first: str, second: str, expected: str) -> None:
    body = {"success": True, "data": {"id": "m-1", "title": "T", "created_at": "x", "updated_at": "x"}}
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(201, json=body)))
    with connect(token="t", http_client=client) as conn:
        sql = f"INSERT INTO {MEETINGS} (account_id, app_id) SELECT 'a', 'b' RETURNING "
        conn.execute(sql + first)
        assert conn.execute(sql + second) == [{"v": expected}]


def test_exec_json_bodies_differ_by_shape(conn: Connection, recorder: Recorder) -> None:
    base = f"EXEC {MEETINGS}.create @account_id = 'a', @app_id = 'b' @@json = "
    conn.execute(base + """'{"title": "one"}'""")
    conn.execute(base + """'{"persist_chat": true}'""")
    assert json.loads(recorder.last.content) == {"persist_chat": True}
