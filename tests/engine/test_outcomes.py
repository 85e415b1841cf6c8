"""A change whose answer was lost is reported as *outcome unknown*, never as plainly failed."""

from __future__ import annotations

import asyncio
import typing as t

import httpx
import pytest
from cfql import (
    APIOutcomeUnknownError,
    APIStatusError,
    OperationalError,
    OutcomeUnknownError,
    ProgrammingError,
    connect,
)
from cfql.aio import AsyncConnection
from cfql.result import FAILED, SUCCEEDED, ElementOutcome
from cfql.script.runner import prepare, run
from cfql.settings import Settings

from .conftest import MEETINGS, Recorder
from .test_retries import CREATE, PATCH, flaky

ADVICE = "the change may have been applied; check before re-running"
SELECT = "SELECT id FROM cloudflare.realtime_kit.kit_meetings WHERE account_id = 'a' AND app_id = 'b'"


def execute(sql: str, *failures: Exception | httpx.Response, retries: int = 2) -> tuple[Recorder, Exception]:
    recorder, client = flaky(*failures)
    with connect(token="t", http_client=client, retries=retries) as conn, pytest.raises(Exception) as info:
        conn.driver.sleep = recorder.sleep
        conn.execute(sql)
    return recorder, info.value


@pytest.mark.parametrize(
    "lost",
    [
        httpx.ReadTimeout("slow"),
        httpx.WriteTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
        httpx.WriteError("broken pipe"),
    ],
)
def test_a_create_whose_answer_was_lost_has_an_unknown_outcome(lost: Exception) -> None:
    recorder, error = execute(CREATE, lost)
    assert isinstance(error, OutcomeUnknownError) and error.outcome_unknown
    assert "after the request was sent" in str(error) and str(error).endswith(ADVICE)
    assert "cannot reach" not in str(error)
    assert len(recorder.requests) == 1  # and it is never sent again


def test_a_create_that_never_connected_failed_plainly() -> None:
    _, error = execute(CREATE, *[httpx.ConnectError("refused")] * 3)
    assert type(error) is OperationalError and not error.outcome_unknown
    assert "cannot reach the API after 3 attempts" in str(error)


def test_a_5xx_to_a_create_has_an_unknown_outcome_and_is_still_an_api_error() -> None:
    recorder, error = execute(CREATE, httpx.Response(502, json={"errors": [{"code": 1, "message": "bad gateway"}]}))
    assert isinstance(error, APIOutcomeUnknownError)
    assert isinstance(error, APIStatusError) and isinstance(error, OutcomeUnknownError)
    assert error.status == 502 and error.api_message == "bad gateway" and str(error).endswith(ADVICE)
    assert len(recorder.requests) == 1


def test_an_idempotent_change_that_keeps_losing_answers_ends_unknown() -> None:
    _, error = execute(PATCH, *[httpx.ReadTimeout("slow")] * 3)
    assert isinstance(error, OutcomeUnknownError) and "after 3 attempts" in str(error)
    _, error = execute(PATCH, *[httpx.Response(503)] * 3)
    assert isinstance(error, APIOutcomeUnknownError)


def test_reads_and_4xx_are_plain_failures() -> None:
    _, error = execute(SELECT, *[httpx.ReadTimeout("slow")] * 3)
    assert type(error) is OperationalError and not error.outcome_unknown
    _, error = execute(SELECT, *[httpx.Response(500)] * 3)
    assert type(error) is APIStatusError
    _, error = execute(CREATE, httpx.Response(404, json={"errors": [{"message": "no such app"}]}))
    assert not error.outcome_unknown


def test_a_2xx_to_a_create_that_is_not_json_says_the_change_was_applied() -> None:
    _, error = execute(CREATE, httpx.Response(201, text="<html>ok</html>"))
    assert isinstance(error, OutcomeUnknownError) and "the change was applied" in str(error)
    _, error = execute(SELECT, httpx.Response(200, text="<html>ok</html>"))
    assert type(error) is OperationalError


def test_a_statement_whose_first_request_was_applied_is_not_plainly_failed() -> None:
    values = f"INSERT INTO {MEETINGS} (account_id, app_id, title) VALUES ('a', 'b', 'one'), ('a', 'b', 'two')"
    recorder, client = flaky(httpx.Response(200, json={"success": True, "data": {"id": "m"}}), httpx.Response(400, json={"errors": [{"message": "bad"}]}))
    with connect(token="t", http_client=client) as conn, pytest.raises(Exception) as info:
        conn.execute(values)
    assert len(recorder.requests) == 2
    assert info.value.outcome_unknown
    assert str(info.value) == (
        "create: HTTP 400: bad; of 2 elements, 1 succeeded (row 1), 1 failed (row 2); "
        "those that succeeded were applied: re-run only the others"
    )
    assert info.value.result.outcomes == [ElementOutcome("row 1", SUCCEEDED), ElementOutcome("row 2", FAILED, "create: HTTP 400: bad")]


def test_the_script_summary_counts_unknown_apart() -> None:
    _, client = flaky(httpx.Response(200, json={"success": True, "data": {"id": "m"}}), httpx.ReadTimeout("slow"), httpx.Response(400))
    with connect(token="t", http_client=client) as conn:
        script = prepare(conn, ";\n".join([CREATE] * 4))
        summary = run(conn, script, continue_on_error=True)
    assert summary.succeeded == 2 and len(summary.failed) == 1 and len(summary.unknown) == 1
    assert summary.unknown[0].line == 2
    assert summary.describe() == f"2 of 4 statements succeeded, 1 failed, 1 with outcome unknown ({ADVICE})"


def test_async_driver_reports_unknown_the_same_way() -> None:
    async def scenario() -> Exception:
        transport = httpx.MockTransport(lambda request: (_ for _ in ()).throw(httpx.ReadTimeout("slow")))
        async with AsyncConnection(Settings(token="t"), http_client=httpx.AsyncClient(transport=transport)) as conn:
            with pytest.raises(Exception) as info:
                await conn.execute(CREATE)
            return info.value

    assert isinstance(asyncio.run(scenario()), OutcomeUnknownError)


@pytest.mark.parametrize("params", [("a",), ["a"], "a"])
def test_positional_parameters_are_refused(params: t.Any, conn: t.Any) -> None:
    with pytest.raises(ProgrammingError, match="paramstyle is named: pass a mapping"):
        conn.execute(CREATE, params)
    with pytest.raises(ProgrammingError, match="paramstyle is named"):
        conn.cursor().execute(CREATE, params)
    with pytest.raises(ProgrammingError, match="paramstyle is named"):
        conn.executescript(CREATE, params)
