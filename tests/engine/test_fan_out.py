"""IN-list fan-out and rows of VALUES: one request per element, each with its own outcome.

``DELETE ... WHERE participant_id IN ('p1', 'p2')`` sends one DELETE per element, in order, through
the same retries and pacing as a single statement; the first failure stops the elements not yet
started, and the result (or the error's ``result``) says what became of each one. Over a
MockTransport; the emulator tests are in tests/integration/test_fan_out_emulator.py.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
import typing as t
from pathlib import Path
from urllib.parse import quote_plus

import httpx
import pytest

from cfql import APIConflictError, APIDataError, APIStatusError, Connection, Interrupted, NotSupportedError, OutcomeUnknownError, ProgrammingError, Settings, connect
from cfql.aio import AsyncConnection
from cfql.http.core import Window
from cfql.plan.plans import MAX_ELEMENTS
from cfql.provider.registry import Registry
from cfql.result import FAILED, NOT_RUN, SUCCEEDED, UNKNOWN, ElementOutcome
from cfql.script.runner import prepare, run

from tests.providers import write_provider

from .conftest import MEETINGS, Recorder, no_requests

SCOPE = "account_id = 'a' AND app_id = 'b' AND meeting_id = 'm'"
DELETE = f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ('p1', 'p2', 'p3')"
PARTICIPANTS = "/client/v4/accounts/a/realtime/kit/b/meetings/m/participants/"


def _connection(recorder: Recorder, **settings: t.Any) -> Connection:
    conn = connect(token="t", http_client=httpx.Client(transport=httpx.MockTransport(recorder)), **settings)
    conn.driver.sleep = recorder.sleep
    return conn


def _paths(recorder: Recorder) -> list[str]:
    return [f"{request.method} {request.url.path}" for request in recorder.requests]


# --------------------------------------------------------------------------
# One request per element, in order
# --------------------------------------------------------------------------


def test_a_delete_with_an_in_list_sends_one_request_per_element_in_order(recorder: Recorder) -> None:
    with _connection(recorder) as conn:
        result = conn.run(DELETE + " RETURNING success")
    assert _paths(recorder) == [f"DELETE {PARTICIPANTS}p{n}" for n in (1, 2, 3)]
    assert result.rows == [{"success": True}] * 3
    assert result.outcomes == [ElementOutcome(f"participant_id = 'p{n}'", SUCCEEDED) for n in (1, 2, 3)]


def test_update_and_replace_fan_out_over_their_path_parameter(recorder: Recorder) -> None:
    with _connection(recorder) as conn:
        conn.run(f"UPDATE {MEETINGS} SET name = 'N' WHERE {SCOPE} AND participant_id IN ('p1', 'p2')")
        conn.run(f"REPLACE {MEETINGS} SET title = 'T' WHERE account_id = 'a' AND app_id = 'b' AND meeting_id IN ('m1', 'm2')")
    assert _paths(recorder) == [
        f"PATCH {PARTICIPANTS}p1",
        f"PATCH {PARTICIPANTS}p2",
        "PUT /client/v4/accounts/a/realtime/kit/b/meetings/m1",
        "PUT /client/v4/accounts/a/realtime/kit/b/meetings/m2",
    ]
    assert [json.loads(r.content) for r in recorder.requests[:2]] == [{"name": "N"}] * 2


def test_the_elements_may_be_parameters(recorder: Recorder) -> None:
    sql = f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN (:one, :two)"
    with _connection(recorder) as conn:
        result = conn.run(sql, {"one": "x", "two": "y"})
    assert _paths(recorder) == [f"DELETE {PARTICIPANTS}x", f"DELETE {PARTICIPANTS}y"]
    assert [o.element for o in result.outcomes or ()] == ["participant_id = 'x'", "participant_id = 'y'"]


def test_a_list_of_one_is_a_plain_statement(recorder: Recorder) -> None:
    with _connection(recorder) as conn:
        result = conn.run(f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ('p1')")
    assert _paths(recorder) == [f"DELETE {PARTICIPANTS}p1"] and result.outcomes is None


def test_rows_of_values_are_elements_too(recorder: Recorder) -> None:
    sql = f"INSERT INTO {MEETINGS} (account_id, app_id, title) VALUES ('a', 'b', 'one'), ('a', 'b', 'two') RETURNING success"
    with _connection(recorder) as conn:
        result = conn.run(sql)
    assert [json.loads(r.content)["title"] for r in recorder.requests] == ["one", "two"]
    assert result.outcomes == [ElementOutcome("row 1", SUCCEEDED), ElementOutcome("row 2", SUCCEEDED)]


def test_a_dry_run_describes_every_element_and_sends_nothing() -> None:
    client = httpx.Client(transport=httpx.MockTransport(no_requests))
    with connect(token="t", http_client=client, dry_run=True) as conn:
        result = conn.run(DELETE)
    assert [row["url"].rsplit("/", 1)[1] for row in result.rows] == ["p1", "p2", "p3"]


# --------------------------------------------------------------------------
# What is refused when planning: nothing is sent
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "error", "message"),
    [
        (
            f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ('p1', 'p2', 'p1')",
            ProgrammingError,
            r"participant_id IN \(...\): participant_id = 'p1' is listed twice",
        ),
        (
            f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN (:x, :x)",
            ProgrammingError,
            r"participant_id = :x is listed twice",
        ),
        (
            f"DELETE FROM {MEETINGS} WHERE account_id = 'a' AND app_id = 'b' AND meeting_id IN ('m1', 'm2') "
            "AND participant_id IN ('p1', 'p2')",
            NotSupportedError,
            r"more than one IN list \(meeting_id, participant_id\)",
        ),
        (
            f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id NOT IN ('p1', 'p2')",
            ProgrammingError,
            r"WHERE supports only param = value and param IN \(value, ...\)",
        ),
        (
            f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN (SELECT 'p1')",
            ProgrammingError,
            r"WHERE supports only param = value and param IN",
        ),
        (
            f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ('p1', 'p2') OR participant_id = 'p3'",
            ProgrammingError,
            r"WHERE supports only",
        ),
    ],
)
def test_lists_that_are_refused_send_nothing(sql: str, error: type[Exception], message: str) -> None:
    with connect(token="t", http_client=httpx.Client(transport=httpx.MockTransport(no_requests))) as conn:
        with pytest.raises(error, match=message):
            conn.run(sql)


def test_duplicates_given_as_parameters_are_refused_before_anything_is_sent() -> None:
    sql = f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN (:one, :two)"
    with connect(token="t", http_client=httpx.Client(transport=httpx.MockTransport(no_requests))) as conn:
        with pytest.raises(ProgrammingError, match="participant_id = 'same' is listed twice"):
            conn.run(sql, {"one": "same", "two": "same"})


def test_a_statement_reusing_a_cached_shape_is_checked_for_duplicates_too(recorder: Recorder) -> None:
    with _connection(recorder) as conn:
        conn.run(f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ('p1', 'p2')")
        with pytest.raises(ProgrammingError, match="participant_id = 'p9' is listed twice"):
            conn.run(f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ('p9', 'p9')")
    assert len(recorder.requests) == 2


def test_more_than_the_documented_maximum_is_refused_when_planning() -> None:
    too_many = ", ".join(f"'p{n}'" for n in range(MAX_ELEMENTS + 1))
    rows = ", ".join(f"('a', 'b', 't{n}')" for n in range(MAX_ELEMENTS + 1))
    with connect(token="t", http_client=httpx.Client(transport=httpx.MockTransport(no_requests))) as conn:
        with pytest.raises(ProgrammingError, match=f"has {MAX_ELEMENTS + 1} elements; one statement sends at most {MAX_ELEMENTS}"):
            conn.run(f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ({too_many})")
        with pytest.raises(ProgrammingError, match=f"INSERT … VALUES has {MAX_ELEMENTS + 1} elements"):
            conn.run(f"INSERT INTO {MEETINGS} (account_id, app_id, title) VALUES {rows}")
        plan = conn.plans.get(f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ({too_many[: too_many.rindex(',')]})")
    assert len(plan.rows) == MAX_ELEMENTS


BINS = """\
    openapi: 3.0.3
    info: {title: Bins, version: v1}
    servers: [{url: https://bins.test}]
    paths:
      /bins/{bin_id}:
        delete:
          operationId: empty_bin
          parameters:
            - {name: bin_id, in: path, required: true, schema: {type: string}}
            - {name: reason, in: query, schema: {type: string}}
            - {name: X-Tag, in: header, schema: {type: string}}
          responses: {'204': {description: Emptied.}}
      /vaults/{vault_key}:
        delete:
          operationId: close_vault
          parameters:
            - {name: vault_key, in: path, required: true, schema: {type: string, format: password}}
          responses: {'204': {description: Closed.}}
    components:
      x-stackQL-resources:
        bins:
          id: bins.bins.bins
          name: bins
          title: Bins
          methods:
            empty_bin:
              operation: {$ref: '#/paths/~1bins~1{bin_id}/delete'}
              response: {openAPIDocKey: '204'}
          sqlVerbs:
            delete: [{$ref: '#/components/x-stackQL-resources/bins/methods/empty_bin'}]
        vaults:
          id: bins.bins.vaults
          name: vaults
          title: Vaults
          methods:
            close_vault:
              operation: {$ref: '#/paths/~1vaults~1{vault_key}/delete'}
              response: {openAPIDocKey: '204'}
          sqlVerbs:
            delete: [{$ref: '#/components/x-stackQL-resources/vaults/methods/close_vault'}]
    """


def _bins(root: Path) -> Registry:
    """A provider written here: a delete whose other parameters are a query and a header parameter."""
    return Registry(write_provider(root, "bins", "bins", BINS))


@pytest.mark.parametrize(("column", "where_is"), [("reason", "a query parameter"), ("X-Tag", "a header parameter")])
def test_a_list_fans_out_over_path_parameters_only(tmp_path: Path, column: str, where_is: str) -> None:
    client = httpx.Client(transport=httpx.MockTransport(no_requests))
    with Connection(Settings(token="t"), http_client=client, registry=_bins(tmp_path)) as conn:
        sql = f"DELETE FROM bins.bins.bins WHERE bin_id = 'b1' AND \"{column}\" IN ('x', 'y')"
        with pytest.raises(NotSupportedError, match=f"over a path parameter of empty_bin; {column} is {where_is}"):
            conn.run(sql)


# --------------------------------------------------------------------------
# Outcomes: the first failure stops the rest; each element says what became of it
# --------------------------------------------------------------------------


def test_a_failed_element_stops_the_rest_and_the_error_says_what_became_of_each(recorder: Recorder) -> None:
    recorder.reply(200, {"success": True})
    recorder.reply(404, {"errors": [{"message": "no such participant"}]})
    with _connection(recorder) as conn, pytest.raises(APIStatusError) as info:
        conn.run(DELETE + " RETURNING success")
    assert _paths(recorder) == [f"DELETE {PARTICIPANTS}p1", f"DELETE {PARTICIPANTS}p2"]  # p3 never sent
    error = info.value
    assert error.outcome_unknown  # p1 was applied: running the statement again would repeat it
    assert str(error) == (
        "delete_meeting_participant: HTTP 404: no such participant; of 3 elements, "
        "1 succeeded (participant_id = 'p1'), 1 failed (participant_id = 'p2'), 1 not run (participant_id = 'p3'); "
        "those that succeeded were applied: re-run only the others"
    )
    assert error.result.rows == [{"success": True}, {"success": None}, {"success": None}]
    assert [o.status for o in error.result.outcomes] == [SUCCEEDED, FAILED, NOT_RUN]
    assert error.result.outcomes[1].error == "delete_meeting_participant: HTTP 404: no such participant"


def test_a_first_element_that_fails_leaves_the_statement_plainly_failed(recorder: Recorder) -> None:
    recorder.reply(404, {"errors": [{"message": "gone"}]})
    with _connection(recorder) as conn, pytest.raises(APIStatusError) as info:
        conn.run(DELETE)
    assert len(recorder.requests) == 1 and not info.value.outcome_unknown
    assert [o.status for o in info.value.result.outcomes] == [FAILED, NOT_RUN, NOT_RUN]


def test_a_create_whose_answer_is_lost_is_never_retried_and_its_outcome_is_unknown() -> None:
    answers: list[t.Any] = [httpx.Response(200, json={"success": True, "data": {"id": "m1"}}), httpx.ReadTimeout("slow")]

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0) if answers else httpx.Response(200, json={"success": True})
        if isinstance(answer, Exception):
            raise answer
        return answer

    sql = f"INSERT INTO {MEETINGS} (account_id, app_id, title) VALUES ('a', 'b', 'one'), ('a', 'b', 'two'), ('a', 'b', 'three')"
    with connect(token="t", http_client=httpx.Client(transport=httpx.MockTransport(handler))) as conn:
        with pytest.raises(OutcomeUnknownError) as info:
            conn.run(sql)
    assert answers == []  # two requests: the second timed out and was not sent again, the third never went
    assert [o.status for o in info.value.result.outcomes] == [SUCCEEDED, UNKNOWN, NOT_RUN]
    assert "1 outcome unknown (row 2)" in str(info.value) and "check before re-running" in str(info.value)


def test_an_element_whose_outcome_is_unknown_leaves_the_statement_unknown_even_if_none_succeeded() -> None:
    arrived = threading.Barrier(2)

    def handler(request: httpx.Request) -> httpx.Response:
        title = json.loads(request.content)["title"]
        arrived.wait(timeout=10)  # both in flight at once
        if title == "one":
            return httpx.Response(422, json={"errors": [{"message": "bad title"}]})
        time.sleep(0.05)
        raise httpx.ReadTimeout("slow")

    sql = f"INSERT INTO {MEETINGS} (account_id, app_id, title) VALUES ('a', 'b', 'one'), ('a', 'b', 'two')"
    client = httpx.Client(transport=httpx.MockTransport(handler))
    with connect(token="t", http_client=client, concurrency=2, rate_limit="0") as conn, pytest.raises(APIDataError) as info:
        conn.run(sql)
    assert [o.status for o in info.value.result.outcomes] == [FAILED, UNKNOWN]
    assert info.value.outcome_unknown  # row 2 may have been created: re-running the statement could repeat it


def test_each_element_is_retried_as_a_single_statement_would_be(recorder: Recorder) -> None:
    recorder.responses = [httpx.Response(200, json={"success": True}), httpx.Response(503), httpx.Response(200, json={"success": True})]
    with _connection(recorder) as conn:
        result = conn.run(f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ('p1', 'p2')")
    assert _paths(recorder) == [f"DELETE {PARTICIPANTS}p1", f"DELETE {PARTICIPANTS}p2", f"DELETE {PARTICIPANTS}p2"]
    assert [o.status for o in result.outcomes or ()] == [SUCCEEDED, SUCCEEDED] and recorder.waits


# --------------------------------------------------------------------------
# --concurrency: up to N elements in flight, started in order
# --------------------------------------------------------------------------


def test_the_window_starts_in_order_keeps_to_its_limit_and_starts_nothing_after_a_failure() -> None:
    window = Window(5, 2)
    assert window.start() == [0, 1] and window.start() == []
    window.finish(1, t.cast(t.Any, "answer"))
    assert window.start() == [2]
    window.finish(0, APIStatusError(404, "gone"))
    assert window.start() == [] and not window.done
    window.finish(2, t.cast(t.Any, "answer"))
    assert window.done and window.settled[3:] == [None, None]


class InFlight:
    """A transport that records how many requests were in flight at once; with ``together`` set, the
    first ``together`` requests each wait until that many have arrived (a barrier, not a timing)."""

    def __init__(self, together: int = 0) -> None:
        self.lock = threading.Lock()
        self.now = self.most = 0
        self.order: list[str] = []
        self.barrier = threading.Barrier(together) if together else None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.order.append(request.url.path.rsplit("/", 1)[1])
            self.now += 1
            self.most = max(self.most, self.now)
            first = len(self.order) <= (self.barrier.parties if self.barrier else 0)
        if first and self.barrier is not None:
            self.barrier.wait(timeout=10)  # fails the test if fewer ever run at once
        else:
            time.sleep(0.01)
        with self.lock:
            self.now -= 1
        return httpx.Response(200, json={"success": True})


def test_concurrency_sends_up_to_n_elements_at_once() -> None:
    flight = InFlight(together=3)
    many = ", ".join(f"'p{n}'" for n in range(8))
    client = httpx.Client(transport=httpx.MockTransport(flight))
    with connect(token="t", http_client=client, concurrency=3, rate_limit="0") as conn:
        result = conn.run(f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ({many}) RETURNING success")
    assert flight.most == 3
    assert sorted(flight.order) == [f"p{n}" for n in range(8)] and sorted(flight.order[:3]) == ["p0", "p1", "p2"]
    assert len(result.rows) == 8 and [o.element for o in result.outcomes or ()] == [f"participant_id = '{p}'" for p in sorted(flight.order)]


def test_concurrency_bounds_the_elements_of_every_statement_of_a_script_together() -> None:
    flight = InFlight(together=3)
    statements = ";\n".join(
        f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ('{s}1', '{s}2', '{s}3', '{s}4')" for s in "abc"
    )
    client = httpx.Client(transport=httpx.MockTransport(flight))
    with connect(token="t", http_client=client, concurrency=3, rate_limit="0") as conn:
        conn.executescript(statements, concurrency=3)
    assert len(flight.order) == 12 and flight.most == 3  # not 3 statements x 3 elements


def test_a_concurrency_of_1_bounds_the_elements_of_a_scripts_statements_run_at_once() -> None:
    flight = InFlight()
    statements = ";\n".join(f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ('{s}1', '{s}2', '{s}3')" for s in "abc")
    with connect(token="t", http_client=httpx.Client(transport=httpx.MockTransport(flight)), rate_limit="0") as conn:
        conn.executescript(statements, concurrency=3)  # three statements at once; their elements one at a time
    assert len(flight.order) == 9 and flight.most == 1


def test_without_concurrency_elements_go_one_after_another() -> None:
    flight = InFlight()
    with connect(token="t", http_client=httpx.Client(transport=httpx.MockTransport(flight))) as conn:
        conn.run(DELETE)
    assert flight.most == 1 and flight.order == ["p1", "p2", "p3"]


def test_the_async_connection_fans_out_the_same_way() -> None:
    seen: list[str] = []
    in_flight = {"now": 0, "most": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[1]
        seen.append(name)
        in_flight["now"] += 1
        in_flight["most"] = max(in_flight["most"], in_flight["now"])
        await asyncio.sleep(0.02)
        in_flight["now"] -= 1
        if name == "p4":
            return httpx.Response(404, json={"errors": [{"message": "gone"}]})
        return httpx.Response(200, json={"success": True})

    async def main() -> t.Any:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with AsyncConnection(Settings(token="t", concurrency=2, rate_limit="0"), http_client=client) as conn:
            ok = await conn.run(f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ('p1', 'p2', 'p3')")
            with pytest.raises(APIStatusError) as info:
                await conn.run(f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ('p4', 'p5', 'p6', 'p7')")
            return ok, info.value

    ok, error = asyncio.run(main())
    assert [o.status for o in ok.outcomes] == [SUCCEEDED] * 3 and in_flight["most"] == 2
    statuses = [o.status for o in error.result.outcomes]
    assert statuses[0] == FAILED and statuses[1] == SUCCEEDED and statuses[2:] == [NOT_RUN, NOT_RUN]  # p5 was in flight beside p4
    assert "p6" not in seen and "p7" not in seen


# --------------------------------------------------------------------------
# Scripts: the summary says what became of each element
# --------------------------------------------------------------------------


def test_a_scripts_summary_says_what_became_of_each_element(recorder: Recorder) -> None:
    recorder.reply(200, {"success": True})
    recorder.reply(200, {"success": True})
    recorder.reply(409, {"errors": [{"message": "busy"}]})
    script = f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id = 'p0';\n{DELETE};\nDELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id = 'p9'"
    with _connection(recorder) as conn:
        with pytest.raises(APIConflictError) as info:  # the 409's own class, as when the statement runs alone
            run(conn, prepare(conn, script, source="s.iql"))
    summary = info.value.summary
    assert summary.describe() == (
        "1 of 3 statements succeeded, 0 failed, 1 with outcome unknown (the change may have been applied; check "
        "before re-running), 1 not run, line 2: of 3 elements, 1 succeeded (participant_id = 'p1'), "
        "1 failed (participant_id = 'p2'), 1 not run (participant_id = 'p3')"
    )


def test_an_element_whose_value_is_secret_is_named_by_its_place(tmp_path: Path) -> None:
    answers = [httpx.Response(204), httpx.Response(404, json={"message": "no such vault"})]
    client = httpx.Client(transport=httpx.MockTransport(lambda request: answers.pop(0)))
    with Connection(Settings(token="t"), http_client=client, registry=_bins(tmp_path)) as conn:
        with pytest.raises(APIStatusError) as info:
            conn.run("DELETE FROM bins.bins.vaults WHERE vault_key IN ('k-one-secret', 'k-two-secret', 'k-three')")
    message = str(info.value)
    assert "secret" not in message and "k-three" not in message
    assert "1 succeeded (element 1: vault_key = ***), 1 failed (element 2: vault_key = ***), 1 not run (element 3: vault_key = ***)" in message
    assert info.value.result.message == message.split("; ", 1)[1].split("; those")[0]  # no "despatched successfully"


def test_an_empty_list_is_refused() -> None:
    with connect(token="t", http_client=httpx.Client(transport=httpx.MockTransport(no_requests))) as conn:
        with pytest.raises(ProgrammingError, match=r"participant_id IN \(\): the list is empty"):
            conn.run(f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ()")


def test_a_secret_path_parameter_is_masked_in_dry_runs_and_in_the_apis_error_text(tmp_path: Path) -> None:
    registry = _bins(tmp_path)
    sql = "DELETE FROM bins.bins.vaults WHERE vault_key IN ('k one/secret', 'k-two-secret')"
    with Connection(Settings(token="t", dry_run=True), http_client=httpx.Client(transport=httpx.MockTransport(no_requests)), registry=registry) as conn:
        shown = conn.run(sql)
    assert [row["url"] for row in shown.rows] == ["https://bins.test/vaults/***", "https://bins.test/vaults/***"]
    echo = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(404, json={"message": f"no vault {r.url.path.split('/vaults/', 1)[1]}"})))
    with Connection(Settings(token="t"), http_client=echo, registry=registry) as conn, pytest.raises(APIStatusError) as info:
        conn.run(sql)
    assert "secret" not in str(info.value) and "no vault ***" in str(info.value)


def test_a_secret_path_parameter_is_masked_where_the_api_quotes_it_percent_encoded(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        as_sent = request.url.raw_path.decode().split("/vaults/", 1)[1]
        return httpx.Response(404, json={"message": f"no vault {as_sent}; try ?after={quote_plus('k one/secret')}"})

    with Connection(Settings(token="t"), http_client=httpx.Client(transport=httpx.MockTransport(answer)), registry=_bins(tmp_path)) as conn:
        with pytest.raises(APIStatusError) as info:
            conn.run("DELETE FROM bins.bins.vaults WHERE vault_key = 'k one/secret'")
    assert str(info.value) == "close_vault: HTTP 404: no vault ***; try ?after=***"


def test_a_dry_run_of_a_list_of_parameters_not_known_yet_shows_their_names() -> None:
    client = httpx.Client(transport=httpx.MockTransport(no_requests))
    with connect(token="t", http_client=client, dry_run=True) as conn:
        result = conn.run(f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN (:one, :two)")
    assert [row["url"].rsplit("/", 1)[1] for row in result.rows] == [":one", ":two"]


@pytest.mark.usefixtures("default_sigint")
def test_a_statement_ctrl_c_stops_before_it_sends_anything_is_counted_as_not_run() -> None:
    sent: list[str] = []
    release = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path.rsplit("/", 1)[1])
        if len(sent) == 1:
            release.wait(5)  # the first request holds the connection's one slot
        return httpx.Response(200, json={"success": True})

    def ctrl_c_once_the_slot_is_held() -> None:
        while not sent:
            time.sleep(0.01)
        time.sleep(0.2)  # the other statement waits for the slot (not yet started, it is not run either way)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        time.sleep(0.1)
        release.set()

    script = ";\n".join(f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ('{s}1', '{s}2')" for s in "ab")
    threading.Thread(target=ctrl_c_once_the_slot_is_held, daemon=True).start()
    with connect(token="t", http_client=httpx.Client(transport=httpx.MockTransport(handler)), rate_limit="0") as conn:
        with pytest.raises(Interrupted) as info:
            conn.executescript(script, concurrency=2)  # both statements at once, one element at a time between them
    assert len(sent) == 1
    summary = info.value.summary
    assert (summary.succeeded, len(summary.failed), len(summary.unknown), summary.not_run) == (0, 0, 1, 1)


def test_an_element_waiting_for_a_shared_slot_is_not_started_after_a_halt() -> None:
    sent: list[str] = []
    release = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path.rsplit("/", 1)[1])
        if request.url.path.endswith(("a1", "a2")):
            release.wait(5)  # statement a holds both of the connection's slots
        return httpx.Response(200, json={"success": True})

    halted = threading.Event()
    outcomes: dict[str, t.Any] = {}
    with connect(token="t", http_client=httpx.Client(transport=httpx.MockTransport(handler)), concurrency=2, rate_limit="0") as conn:
        first = conn.plans.get(f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ('a1', 'a2')")
        second = conn.plans.get(f"DELETE FROM {MEETINGS} WHERE {SCOPE} AND participant_id IN ('b1', 'b2')")

        def run_second() -> None:
            try:
                outcomes["b"] = conn.run_plan(second, {}, halted)
            except Exception as error:
                outcomes["b"] = error

        a = threading.Thread(target=lambda: outcomes.setdefault("a", conn.run_plan(first, {}, halted)))
        a.start()
        while len(sent) < 2:
            time.sleep(0.01)
        b = threading.Thread(target=run_second)
        b.start()
        time.sleep(0.2)  # b waits for a slot
        halted.set()  # Ctrl-C
        release.set()
        a.join(10)
        b.join(10)
    assert sent == ["a1", "a2"]  # neither of b's elements went
    assert [o.status for o in outcomes["b"].result.outcomes] == [NOT_RUN, NOT_RUN]
