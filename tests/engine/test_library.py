"""The Python API: PEP 249 connection and cursor, RETURNING projection, errors, auth."""

from __future__ import annotations

import httpx
import pytest

import cfql
from cfql import APIError, CredentialsError, InterfaceError, OperationalError, ProgrammingError, connect
from cfql.connection import Connection

from .conftest import MEETINGS, Recorder

CREATE = f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'acc', 'app', :title"
MEETING = {"id": "m-1", "title": "x", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}


def test_module_globals() -> None:
    assert (cfql.apilevel, cfql.paramstyle, cfql.threadsafety) == ("2.0", "named", 1)
    assert issubclass(cfql.DataError, cfql.DatabaseError) and issubclass(cfql.DatabaseError, cfql.Error)


def test_returning_columns_become_one_row(conn: Connection, recorder: Recorder) -> None:
    recorder.reply(201, {"success": True, "data": MEETING})
    rows = conn.execute(CREATE + " RETURNING data, success", {"title": "x"})
    assert rows == [{"data": MEETING, "success": True}]


def test_returning_star_aliases_and_json_extract(conn: Connection, recorder: Recorder) -> None:
    recorder.reply(201, {"success": True, "data": MEETING})
    assert conn.execute(CREATE + " RETURNING *", {"title": "x"}) == [{"success": True, "data": MEETING}]
    recorder.reply(201, {"success": True, "data": MEETING})
    rows = conn.execute(CREATE + " RETURNING json_extract(data, '$.id') AS meeting_id, success AS ok", {"title": "x"})
    assert rows == [{"meeting_id": "m-1", "ok": True}]


def test_returning_unknown_column_fails_before_the_request(conn: Connection, recorder: Recorder) -> None:
    with pytest.raises(ProgrammingError, match=r"unknown column 'sucess' \(did you mean 'success'\?\)"):
        conn.execute(CREATE + " RETURNING sucess", {"title": "x"})
    assert recorder.requests == []


def test_without_returning_no_rows_and_a_message(conn: Connection) -> None:
    result = conn.run(CREATE, {"title": "x"})
    assert result.rows == [] and result.message == "The operation was despatched successfully"


def test_cursor_follows_pep_249(conn: Connection, recorder: Recorder) -> None:
    recorder.reply(201, {"success": True, "data": MEETING})
    with conn.cursor() as cursor:
        cursor.execute(CREATE + " RETURNING json_extract(data, '$.id') AS id, success", {"title": "x"})
        assert [d[0] for d in cursor.description] == ["id", "success"]
        assert cursor.rowcount == 1
        assert cursor.fetchone() == ("m-1", True)
        assert cursor.fetchone() is None
        cursor.execute("SHOW METHODS IN " + MEETINGS)
        assert len(cursor.fetchmany(2)) == 2
        assert len(cursor.fetchall()) == 5
    with pytest.raises(InterfaceError):
        cursor.fetchall()


def test_executemany_runs_once_per_parameter_set(conn: Connection, recorder: Recorder) -> None:
    conn.cursor().executemany(CREATE, [{"title": "a"}, {"title": "b"}])
    assert [r.content for r in recorder.requests] == [b'{"title":"a"}', b'{"title":"b"}']


def test_plans_are_cached_by_text(conn: Connection) -> None:
    conn.execute(CREATE, {"title": "a"})
    plan = conn.plans.get(CREATE)
    conn.execute(CREATE, {"title": "b"})
    assert conn.plans.get(CREATE) is plan


def test_closed_connection_refuses_work(recorder: Recorder) -> None:
    conn = connect(token="t", http_client=httpx.Client(transport=httpx.MockTransport(recorder)))
    conn.close()
    with pytest.raises(InterfaceError, match="closed"):
        conn.execute("SHOW PROVIDERS")


@pytest.mark.parametrize(
    "status, body, message",
    [
        (404, {"success": False, "error": {"code": 404, "message": "Meeting not found"}}, "update_meeting_by_id: HTTP 404: Meeting not found"),
        (401, {"success": False, "errors": [{"code": 10000, "message": "Authentication error"}], "messages": [], "result": None}, "HTTP 401 (code 10000): Authentication error"),
        (500, None, "HTTP 500: Internal Server Error"),
    ],
)
def test_http_errors_carry_status_and_server_message(conn: Connection, recorder: Recorder, status: int, body: object, message: str) -> None:
    recorder.reply(status, body, times=3)  # 500 on a PATCH is retried twice
    with pytest.raises(APIError) as info:
        conn.execute(f"UPDATE {MEETINGS} SET title = 't' WHERE meeting_id = 'm' AND account_id = 'a' AND app_id = 'b'")
    assert info.value.status == status
    assert message in str(info.value)


def test_a_value_containing_error_is_not_an_error(conn: Connection, recorder: Recorder) -> None:
    recorder.reply(200, {"success": True, "data": {**MEETING, "title": "Error: everything is fine"}})
    rows = conn.execute(f"UPDATE {MEETINGS} SET title = 'Error' WHERE meeting_id = 'm' AND account_id = 'a' AND app_id = 'b' RETURNING data")
    assert rows[0]["data"]["title"] == "Error: everything is fine"


def test_network_failure_is_operational_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with connect(token="t", http_client=httpx.Client(transport=httpx.MockTransport(refuse))) as conn:
        with pytest.raises(OperationalError, match="cannot reach the API"):
            conn.execute(CREATE, {"title": "x"})


def _headers_for(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], **kwargs: str) -> httpx.Headers:
    for name in ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL", "CLOUDFLARE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    recorder = Recorder()
    with connect(http_client=httpx.Client(transport=httpx.MockTransport(recorder)), **kwargs) as conn:
        conn.execute(CREATE, {"title": "x"})
    return recorder.last


def test_token_from_environment_is_a_bearer(monkeypatch: pytest.MonkeyPatch) -> None:
    request = _headers_for(monkeypatch, {"CLOUDFLARE_API_TOKEN": "tok"})
    assert request.headers["authorization"] == "Bearer tok"
    assert str(request.url).startswith("https://api.cloudflare.com/client/v4/accounts/")


def test_api_key_and_email(monkeypatch: pytest.MonkeyPatch) -> None:
    request = _headers_for(monkeypatch, {"CLOUDFLARE_API_KEY": "key", "CLOUDFLARE_EMAIL": "me@example.com"})
    assert request.headers["x-auth-key"] == "key" and request.headers["x-auth-email"] == "me@example.com"
    assert "authorization" not in request.headers


def test_base_url_from_environment_and_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    request = _headers_for(monkeypatch, {"CLOUDFLARE_API_TOKEN": "t", "CLOUDFLARE_BASE_URL": "http://127.0.0.1:9/v4/"})
    assert str(request.url) == "http://127.0.0.1:9/v4/accounts/acc/realtime/kit/app/meetings"
    request = _headers_for(monkeypatch, {"CLOUDFLARE_API_TOKEN": "t"}, base_url="http://localhost:1/x")
    assert str(request.url).startswith("http://localhost:1/x/accounts/")


def test_no_credentials_is_a_clear_error_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CredentialsError, match="no credentials: set CLOUDFLARE_API_TOKEN or CLOUDFLARE_API_KEY and CLOUDFLARE_EMAIL"):
        _headers_for(monkeypatch, {})


def test_header_splitting_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CredentialsError) as info:
        _headers_for(monkeypatch, {}, token="abc\r\nX-Evil: 1")
    assert "abc" not in str(info.value)


def test_dry_run_returns_requests_with_secrets_redacted(recorder: Recorder) -> None:
    with connect(token="SENTINEL-TOKEN", dry_run=True, http_client=httpx.Client(transport=httpx.MockTransport(recorder))) as conn:
        rows = conn.execute(
            f"UPDATE {MEETINGS} SET recording_config = "
            """'{"storage_config": {"type": "gcs", "password": "SENTINEL-PW", "private_key": "SENTINEL-PK", "bucket": "b"}}' """
            "WHERE meeting_id = 'm' AND account_id = 'a' AND app_id = 'b'"
        )
    assert recorder.requests == []
    (row,) = rows
    assert row["method"] == "PATCH" and row["url"].endswith("/accounts/a/realtime/kit/b/meetings/m")
    assert row["headers"]["Authorization"] == "Bearer ***"
    assert row["body"] == {"recording_config": {"storage_config": {"type": "gcs", "password": "***", "private_key": "***", "bucket": "b"}}}
    assert "SENTINEL" not in repr(rows)


def test_concurrent_first_requests_share_one_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client built twice would be dropped and close its sockets under the other thread."""
    import threading
    import time as time_module

    from cfql.http import sync_driver as driver_module

    created = []
    real_client = httpx.Client

    def slow_client(*args: object, **kwargs: object) -> httpx.Client:
        time_module.sleep(0.05)
        client = real_client(*args, **kwargs)
        created.append(client)
        return client

    monkeypatch.setattr(driver_module.httpx, "Client", slow_client)
    with connect(token="t") as conn:
        seen = []
        threads = [threading.Thread(target=lambda: seen.append(conn.driver.client)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(created) == 1 and all(client is created[0] for client in seen)


def test_ctrl_c_during_a_script_says_what_ran(conn: Connection) -> None:
    from cfql.errors import Interrupted
    from cfql.script.runner import prepare, run

    prepared = prepare(conn, f"{CREATE.replace(':title', chr(39) + 'a' + chr(39))}; SHOW PROVIDERS; SHOW PROVIDERS")
    seen = []

    def interrupt_after_first(statement: object, result: object) -> None:
        seen.append(result)
        raise KeyboardInterrupt

    with pytest.raises(Interrupted) as info:
        run(conn, prepared, on_result=interrupt_after_first)
    assert (info.value.completed, info.value.total) == (1, 3)
    assert str(info.value).endswith("interrupted: 1 of 3 statements succeeded, 0 failed, 2 not run") and len(seen) == 1
    assert info.value.summary.not_run == 2


def test_a_bug_in_a_worker_surfaces_instead_of_hanging() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise ValueError("not an HTTP error")

    with connect(token="t", http_client=httpx.Client(transport=httpx.MockTransport(broken))) as conn:
        with pytest.raises(ValueError, match="not an HTTP error"):
            conn.executescript(CREATE.replace(":title", "'a'") + ";" + CREATE.replace(":title", "'b'"), concurrency=2)
