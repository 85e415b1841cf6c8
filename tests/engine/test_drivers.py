"""Both drivers send exactly the same requests for every kind of statement.

The sync ``Connection`` and the ``AsyncConnection`` plan alike and differ only
in their driver; here each runs the same statements — calls of every verb,
EXEC, a SELECT over several pages, SHOW, DESCRIBE, a script — over one
``MockTransport``, and the requests and results are compared.
"""

from __future__ import annotations

import asyncio
import json
import typing as t

import httpx
import pytest

from cfql import AsyncConnection, Connection, DataError, IntegrityError, OperationalError, Settings
from cfql.errors import APIAuthenticationError, APIConflictError, APIDataError, APIStatusError

KIT = "cloudflare.realtime_kit"
WHERE = "account_id = 'acc' AND app_id = 'app'"
STATEMENTS = [
    f"INSERT INTO {KIT}.meetings (account_id, app_id, title) SELECT 'acc', 'app', 'Standup' RETURNING json_extract(data, '$.id') AS id",
    f"UPDATE {KIT}.meetings SET title = 'Renamed' WHERE {WHERE} AND meeting_id = 'm-1' RETURNING success",
    f"REPLACE {KIT}.meetings SET title = 'Again', record_on_start = false WHERE {WHERE} AND meeting_id = 'm-1'",
    f"DELETE FROM {KIT}.meetings WHERE {WHERE} AND meeting_id = 'm-1' AND participant_id = 'p-1'",
    f"EXEC {KIT}.meetings.refresh_participant_token @account_id = 'acc', @app_id = 'app', @meeting_id = 'm-1', @participant_id = 'p-1'",
    f"SELECT id, title FROM {KIT}.kit_meetings WHERE {WHERE} AND per_page = 2 AND title LIKE 'S%' ORDER BY id DESC",
    f"SELECT title FROM {KIT}.kit_meetings WHERE {WHERE} AND meeting_id = 'm-3'",
    f"SHOW METHODS IN {KIT}.meetings",
    f"DESCRIBE {KIT}.kit_meetings",
]
SCRIPT = (
    f"INSERT INTO {KIT}.meetings (account_id, app_id, title) SELECT 'acc', 'app', 'Standup' "
    "RETURNING json_extract(data, '$.id') AS meeting_id;\n"
    f"UPDATE {KIT}.meetings SET title = 'Renamed' WHERE {WHERE} AND meeting_id = :meeting_id;\n"
    f"SELECT id FROM {KIT}.kit_meetings WHERE {WHERE} AND per_page = 2;\n"
)
MEETINGS = [{"id": f"m-{i}", "title": f"S{i}" if i % 2 else f"T{i}"} for i in range(1, 6)]


def answer(request: httpx.Request) -> httpx.Response:
    """A RealtimeKit-shaped answer: list pages with a ``paging`` block, one object otherwise."""
    path = request.url.path
    if request.method == "GET" and path.endswith("/meetings"):
        page, size = int(request.url.params.get("page_no", 1)), int(request.url.params.get("per_page", 20))
        chunk = MEETINGS[(page - 1) * size : page * size]
        start = (page - 1) * size
        paging = {"total_count": len(MEETINGS), "start_offset": start, "end_offset": start + len(chunk) - 1}
        return httpx.Response(200, json={"success": True, "data": chunk, "paging": paging})
    if request.method == "GET":
        return httpx.Response(200, json={"success": True, "data": MEETINGS[2]})
    body = {"id": "m-1", "title": "Standup", "token": "tok"}
    return httpx.Response(201 if request.method == "POST" else 200, json={"success": True, "data": body})


class Recording:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, t.Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, str(request.url), json.loads(request.content) if request.content else None))
        return answer(request)


def run_sync(transport: httpx.MockTransport, statements: list[str], script: str, **settings: t.Any) -> list[t.Any]:
    with Connection(Settings(token="t", **settings), http_client=httpx.Client(transport=transport)) as conn:
        results = [conn.run(sql) for sql in statements]
        results += conn.executescript(script)
    return [(r.columns, r.rows, r.message) for r in results]


def run_async(transport: httpx.MockTransport, statements: list[str], script: str, **settings: t.Any) -> list[t.Any]:
    async def main() -> list[t.Any]:
        client = httpx.AsyncClient(transport=transport)
        async with AsyncConnection(Settings(token="t", **settings), http_client=client) as conn:
            results = [await conn.run(sql) for sql in statements]
            results += await conn.executescript(script)
        return results

    return [(r.columns, r.rows, r.message) for r in asyncio.run(main())]


def both(statements: list[str], script: str, **settings: t.Any) -> tuple[list[t.Any], list[t.Any], list[t.Any], list[t.Any]]:
    """Requests and results of the sync, then the async driver, over one MockTransport."""
    recording = Recording()
    transport = httpx.MockTransport(recording)
    sync_results = run_sync(transport, statements, script, **settings)
    sync_requests, recording.requests = recording.requests, []
    async_results = run_async(transport, statements, script, **settings)
    return sync_requests, sync_results, recording.requests, async_results


def test_the_async_cursor_fetches_what_the_statement_returned() -> None:
    async def main() -> tuple[t.Any, ...]:
        client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        async with AsyncConnection(Settings(token="t"), http_client=client) as conn:
            cursor = conn.cursor()
            await cursor.execute(STATEMENTS[6])
            first = (cursor.description, cursor.rowcount, await cursor.fetchall())
            await cursor.execute(STATEMENTS[5])
            return (*first, [row async for row in cursor])

    description, rowcount, rows, streamed = asyncio.run(main())
    assert [d[0] for d in description] == ["title"] and rowcount == 1 and rows == [("S3",)]
    assert streamed == [("m-5", "S5"), ("m-3", "S3"), ("m-1", "S1")]


def test_every_kind_of_statement_sends_the_same_requests_through_both_drivers() -> None:
    sync_requests, sync_results, async_requests, async_results = both(STATEMENTS, SCRIPT)
    assert sync_requests == async_requests
    assert sync_results == async_results
    methods = [method for method, _url, _body in sync_requests]
    assert methods == ["POST", "PATCH", "PUT", "DELETE", "POST", "GET", "GET", "GET", "GET", "POST", "PATCH", "GET", "GET", "GET"]
    paged = [url for _m, url, _b in sync_requests if "per_page=2" in url]
    assert paged[:3] == [
        "https://api.cloudflare.com/client/v4/accounts/acc/realtime/kit/app/meetings?per_page=2",
        "https://api.cloudflare.com/client/v4/accounts/acc/realtime/kit/app/meetings?per_page=2&page_no=2",
        "https://api.cloudflare.com/client/v4/accounts/acc/realtime/kit/app/meetings?per_page=2&page_no=3",
    ]
    assert sync_results[5][1] == [{"id": "m-5", "title": "S5"}, {"id": "m-3", "title": "S3"}, {"id": "m-1", "title": "S1"}]
    assert sync_results[7][0] == ["MethodName", "RequiredParams", "SQLVerb"]


def test_both_drivers_dry_run_alike_and_send_nothing() -> None:
    sync_requests, sync_results, async_requests, async_results = both(STATEMENTS[:7], SCRIPT, dry_run=True)
    assert sync_requests == async_requests == []
    assert sync_results == async_results
    assert sync_results[8][1][0]["url"].endswith("/meetings/:meeting_id")  # the script's deferred value


@pytest.mark.parametrize(
    "status, cls, also",
    [
        (409, APIConflictError, IntegrityError),
        (400, APIDataError, DataError),
        (422, APIDataError, DataError),
        (401, APIAuthenticationError, OperationalError),
        (403, APIAuthenticationError, OperationalError),
        (404, APIStatusError, OperationalError),
        (500, APIStatusError, OperationalError),
    ],
)
def test_error_statuses_map_to_the_pep_249_classes(status: int, cls: type, also: type) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"success": False, "error": {"code": status, "message": "refused here"}})

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    with Connection(Settings(token="t", retries=0), http_client=client) as conn, pytest.raises(cls) as info:
        conn.execute(STATEMENTS[0])
    assert isinstance(info.value, also) and info.value.status == status and info.value.api_message.startswith("refused here")
    if status in (401, 403):
        assert str(info.value).endswith("(sent the credential passed to cfql as Authorization)")


def test_a_failing_script_statement_keeps_its_class_and_says_where() -> None:
    def conflict(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            return httpx.Response(409, json={"success": False, "error": {"code": 409, "message": "busy"}})
        return answer(request)

    client = httpx.Client(transport=httpx.MockTransport(conflict))
    with Connection(Settings(token="t"), http_client=client) as conn, pytest.raises(IntegrityError) as info:
        conn.executescript(SCRIPT, source="setup.iql")
    error = info.value
    assert (error.source, error.line, error.completed, error.total) == ("setup.iql", 2, 1, 3)
    assert str(error).startswith("setup.iql:2: update_meeting_by_id: HTTP 409: busy [in: UPDATE")
    assert str(error).endswith("; 1 of 3 statements ran before it")
