"""EXPLAIN: the method, why, the values, the requests and (for SELECT) what runs where — and nothing is sent.

Every connection here fails the test on any request (``no_requests``), and is
not a dry run: EXPLAIN must send nothing whatever the settings say.
"""

from __future__ import annotations

import asyncio
import typing as t
from pathlib import Path

import httpx
import pytest

from cfql import (
    AsyncConnection,
    Connection,
    DataError,
    ProgrammingError,
    ResolutionError,
    Settings,
    connect,
)
from cfql.errors import NotSupportedError, SQLSyntaxError
from cfql.provider import hub
from cfql.provider.registry import Registry
from cfql.redact import MASK
from cfql.result import Result
from tests.engine.conftest import MEETINGS, no_requests
from tests.providers import write_provider

KIT = "cloudflare.realtime_kit.kit_meetings"
IDS = "account_id = 'acct-1' AND app_id = 'app-1'"
TOKEN = "explain-token-5d1e"
PROVIDERS = Path(__file__).resolve().parents[1] / "data" / "registry"
PAGING = Path(__file__).resolve().parents[1] / "data" / "paging_providers"


@pytest.fixture
def conn() -> t.Iterator[Connection]:
    with connect(token=TOKEN, http_client=httpx.Client(transport=httpx.MockTransport(no_requests))) as connection:
        yield connection


@pytest.fixture
def other() -> t.Iterator[Connection]:
    """The made-up providers of tests/data/registry (acme: a provider-secret field; kitchen: a schema-secret one)."""
    client = httpx.Client(transport=httpx.MockTransport(no_requests))
    with Connection(Settings(token="acme-key-123"), http_client=client, registry=Registry(PROVIDERS)) as connection:
        yield connection


def explain(conn: Connection, sql: str, params: t.Mapping[str, t.Any] | None = None) -> Result:
    result = conn.run("EXPLAIN " + sql, params)
    assert result.columns == ["part", "detail"] and not result.dry_run
    return result


def parts(result: Result, part: str) -> list[str]:
    return [row["detail"] for row in result.rows if row["part"] == part]


def shown(result: Result) -> str:
    """Everything a person could see of the result."""
    return repr(result) + result.statement + "".join(str(v) for row in result.rows for v in row.values())


def test_insert_names_the_method_every_candidate_its_values_and_request(conn: Connection) -> None:
    result = explain(conn, f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'acct-1', 'app-1', 'Standup'")
    assert parts(result, "statement") == [f"INSERT · {MEETINGS}"]
    assert parts(result, "method") == ["create · POST /accounts/{account_id}/realtime/kit/{app_id}/meetings"]
    assert parts(result, "why") == ["the only INSERT method that fits: it gets every name it requires and accepts every name given"]
    assert sorted(parts(result, "candidate")) == [
        "add_participant: is missing meeting_id, custom_participant_id, preset_name and does not accept title",
        "create: chosen",
        "refresh_participant_token: is missing meeting_id, participant_id and does not accept title",
    ]
    assert parts(result, "value") == [
        "account_id = 'acct-1' → path parameter",
        "app_id = 'app-1' → path parameter",
        "title = 'Standup' → body",
    ]
    assert parts(result, "request") == [
        "POST https://api.cloudflare.com/client/v4/accounts/acct-1/realtime/kit/app-1/meetings"
    ]
    (headers,) = parts(result, "headers")
    assert '"Authorization": "Bearer ***"' in headers and TOKEN not in shown(result)
    assert parts(result, "body") == ['{"title": "Standup"}']
    assert [row["part"] for row in result.rows][:3] == ["statement", "method", "why"]


def test_a_statement_no_method_fits_is_explained_with_the_resolvers_error(conn: Connection) -> None:
    insert = f"INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, custom_participant_id) SELECT 'a', 'b', 'c', 'd'"
    with pytest.raises(ResolutionError) as refused:
        conn.run(insert)
    result = explain(conn, insert)
    assert parts(result, "method") == ["none: no method fits"]
    assert "add_participant: is missing preset_name" in parts(result, "candidate")
    assert "create: does not accept meeting_id, custom_participant_id" in parts(result, "candidate")
    assert parts(result, "error") == [str(refused.value)]
    assert parts(result, "request") == [] and parts(result, "value") == []


def test_update_replace_and_delete(conn: Connection) -> None:
    where = f"WHERE {IDS} AND meeting_id = 'm-1'"
    update = explain(conn, f"UPDATE {MEETINGS} SET title = 'New' {where}")
    assert parts(update, "method") == ["update_meeting_by_id · PATCH /accounts/{account_id}/realtime/kit/{app_id}/meetings/{meeting_id}"]
    assert "edit_participant: is missing participant_id and does not accept title" in parts(update, "candidate")
    assert "meeting_id = 'm-1' → path parameter" in parts(update, "value")
    assert parts(update, "body") == ['{"title": "New"}']
    replace = explain(conn, f"REPLACE {MEETINGS} SET title = 'Whole' {where}")
    assert parts(replace, "method")[0].startswith("replace_meeting_by_id · PUT ")
    assert parts(replace, "request") == [
        "PUT https://api.cloudflare.com/client/v4/accounts/acct-1/realtime/kit/app-1/meetings/m-1"
    ]
    delete = explain(conn, f"DELETE FROM {MEETINGS} {where} AND participant_id = 'p-1'")
    assert parts(delete, "method")[0].startswith("delete_meeting_participant · DELETE ")
    assert parts(delete, "request") == [
        "DELETE https://api.cloudflare.com/client/v4/accounts/acct-1/realtime/kit/app-1/meetings/m-1/participants/p-1"
    ]
    assert parts(delete, "body") == []


def test_an_in_list_shows_each_request_and_the_values_they_share_once(conn: Connection) -> None:
    result = explain(conn, f"DELETE FROM {MEETINGS} WHERE {IDS} AND meeting_id = 'm-1' AND participant_id IN ('p-1', 'p-2')")
    values = parts(result, "value")
    assert "account_id = 'acct-1' → path parameter" in values
    assert values[-2:] == ["[1] participant_id = 'p-1' → path parameter", "[2] participant_id = 'p-2' → path parameter"]
    requests = parts(result, "request")
    assert [r.split("/")[-1] for r in requests] == ["p-1", "p-2"] and requests[0].startswith("[1] DELETE https://")
    assert parts(result, "elements") == [
        "2 requests, one per element of participant_id IN (...), started in order and up to --concurrency at once; "
        "the first failure stops those not started, and the result says what became of each"
    ]
    rows = explain(conn, f"INSERT INTO {MEETINGS} (account_id, app_id, title) VALUES ('a', 'b', 'x'), ('a', 'b', 'y')")
    assert parts(rows, "elements")[0].startswith("2 requests, one per row of VALUES")
    assert parts(explain(conn, f"DELETE FROM {MEETINGS} WHERE {IDS} AND meeting_id = 'm-1' AND participant_id = 'p'"), "elements") == []


def test_exec_is_named_by_exec(conn: Connection) -> None:
    result = explain(conn, f"EXEC {MEETINGS}.create @account_id = 'acct-1', @app_id = 'app-1', @title = 'T'")
    assert parts(result, "why") == ["named by EXEC"] and parts(result, "candidate") == ["create: chosen"]
    assert parts(result, "body") == ['{"title": "T"}']
    missing = explain(conn, f"EXEC {MEETINGS}.create @account_id = 'acct-1'")
    assert parts(missing, "candidate") == ["create: is missing app_id"]
    assert parts(missing, "error")[0].startswith(f"EXEC {MEETINGS}.create: create is missing app_id")


def test_select_says_what_the_api_answers_and_what_runs_here(conn: Connection) -> None:
    result = explain(
        conn,
        f"SELECT status, count(*) AS n FROM {KIT} WHERE {IDS} AND title LIKE 'Stand%' "
        "GROUP BY status HAVING count(*) > 1 ORDER BY n DESC LIMIT 3 OFFSET 1",
    )
    assert parts(result, "method") == ["list_by_account · GET /accounts/{account_id}/realtime/kit/{app_id}/meetings"]
    assert parts(result, "candidate") == ["get_by_account: is missing meeting_id", "list_by_account: chosen"]
    assert parts(result, "api") == ["account_id = 'acct-1' → path parameter", "app_id = 'app-1' → path parameter"]
    assert parts(result, "local") == [
        "WHERE title LIKE 'Stand%'",
        "GROUP BY status",
        "aggregates COUNT(*)",
        "HAVING COUNT(*) > 1",
        "ORDER BY n DESC NULLS FIRST",
        "LIMIT 3 OFFSET 1",
    ]
    (pages,) = parts(result, "pages")
    assert pages.startswith("follows pages by numbered pages (page_no;") and "reads every page" in pages
    assert pages.endswith("reading 100 pages at most")
    assert parts(result, "request") == ["GET https://api.cloudflare.com/client/v4/accounts/acct-1/realtime/kit/app-1/meetings"]


def test_select_pages_stop_at_limit_or_are_one_request(conn: Connection) -> None:
    (streamed,) = parts(explain(conn, f"SELECT id FROM {KIT} WHERE {IDS} LIMIT 5"), "pages")
    assert "stops when the API has no more or LIMIT is met" in streamed
    one_page = explain(conn, f"SELECT id FROM {KIT} WHERE {IDS} AND page_no = 2")
    assert parts(one_page, "pages") == ["one page: WHERE gives page_no, so only that page is read"]
    assert "page_no = 2 → query parameter" in parts(one_page, "api")
    assert parts(one_page, "request") == [
        "GET https://api.cloudflare.com/client/v4/accounts/acct-1/realtime/kit/app-1/meetings?page_no=2"
    ]
    by_id = explain(conn, f"SELECT id FROM {KIT} WHERE {IDS} AND meeting_id = 'm-1'")
    assert parts(by_id, "method")[0].startswith("get_by_account") and parts(by_id, "pages") == ["one request: get_by_account does not page"]
    assert parts(by_id, "local") == []


def test_select_pages_by_a_token(other: Connection) -> None:
    result = explain(other, "SELECT name FROM acme.widgets.widgets WHERE shop = 's1' AND color = 'red'")
    assert parts(result, "api") == ["shop = 's1' → path parameter"] and parts(result, "local") == ["WHERE color = 'red'"]
    assert parts(result, "pages") == [
        "follows pages by the token in the response at $.next, sent back as cursor in the query; "
        "stops when the API has no more, reading 100 pages at most"
    ]


def test_select_pages_by_next_links_and_header_tokens() -> None:
    client = httpx.Client(transport=httpx.MockTransport(no_requests))
    with Connection(Settings(token="t"), registry=Registry(PAGING), http_client=client) as conn:
        linked = explain(conn, "SELECT * FROM pager.items.linked")
        headed = explain(conn, "SELECT * FROM pager.items.headed")
    assert parts(linked, "pages")[0].startswith("follows pages by the next-page link in the Link header;")
    assert parts(headed, "pages")[0].startswith(
        "follows pages by the token in the X-Next-Page-Token header, sent back as page_token in the query;"
    )


def test_show_describe_and_registry_call_no_api(conn: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    def fetch(*args: object, **kwargs: object) -> None:
        raise AssertionError("EXPLAIN fetched from the registry")

    monkeypatch.setattr(hub, "list_providers", fetch)
    monkeypatch.setattr(hub, "pull", fetch)
    show = explain(conn, f"SHOW METHODS IN {MEETINGS}")
    assert parts(show, "statement") == ["SHOW METHODS"]
    assert parts(show, "answer") == ["the provider documents (manifests) installed here: no API call"]
    assert parts(show, "request") == []
    assert parts(explain(conn, f"DESCRIBE {KIT}"), "answer") == parts(show, "answer")
    registry = explain(conn, "REGISTRY LIST")
    assert parts(registry, "answer")[0].startswith(f"the provider registry at {conn.registry.hub_url}")
    (fetched,) = parts(registry, "request")
    assert fetched.startswith("GET " + conn.registry.hub_url)


def test_secret_literals_and_fields_are_masked_everywhere(other: Connection) -> None:
    schema_secret = explain(other, "INSERT INTO kitchen.sink.items (data__name, data__pin) SELECT 'spoon', 'pin-4711'")
    assert parts(schema_secret, "value") == ["data__name = 'spoon' → body name", "data__pin = *** → body pin"]
    assert parts(schema_secret, "body") == ['{"name": "spoon", "pin": "***"}']
    provider_secret = explain(other, "INSERT INTO acme.widgets.widgets (shop, name, passphrase) SELECT 's1', 'w', 'open-sesame'")
    assert "passphrase = *** → body" in parts(provider_secret, "value")
    (headers,) = parts(provider_secret, "headers")
    assert f'"X-Acme-Key": "{MASK}"' in headers
    for result, secret in ((schema_secret, "pin-4711"), (provider_secret, "open-sesame")):
        assert secret not in shown(result) and MASK in result.statement
    assert "acme-key-123" not in shown(provider_secret)


def test_a_secret_is_masked_when_no_method_fits_too(other: Connection) -> None:
    result = explain(other, "INSERT INTO acme.widgets.widgets (shop, name, passphrase, nope) SELECT 's1', 'w', 'open-sesame', 1")
    assert parts(result, "method") == ["none: no method fits"]
    assert "open-sesame" not in shown(result) and MASK in result.statement


def test_secret_values_in_a_nested_object_are_masked(conn: Connection) -> None:
    storage = '{"storage_config": {"type": "aws", "access_key": "AK-123456", "secret": "SK-654321", "region": "r", "bucket": "b"}}'
    result = explain(conn, f"INSERT INTO {MEETINGS} (account_id, app_id, recording_config) SELECT 'a', 'b', '{storage}'")
    assert "AK-123456" not in shown(result) and "SK-654321" not in shown(result)
    assert any('"access_key": "***"' in value for value in parts(result, "value"))


def test_binds_show_their_name_or_the_value_given(other: Connection, conn: Connection) -> None:
    statement = f"UPDATE {MEETINGS} SET title = :title WHERE {IDS} AND meeting_id = :mid"
    unknown = explain(conn, statement)
    assert "meeting_id = :mid → path parameter" in parts(unknown, "value")
    assert parts(unknown, "request")[0].endswith("/meetings/:mid") and parts(unknown, "body") == ['{"title": ":title"}']
    known = explain(conn, statement, {"mid": "m-9", "title": "Given"})
    assert "meeting_id = 'm-9' (:mid) → path parameter" in parts(known, "value")
    assert parts(known, "request")[0].endswith("/meetings/m-9") and parts(known, "body") == ['{"title": "Given"}']
    secret = explain(other, "INSERT INTO acme.widgets.widgets (shop, name, passphrase) SELECT 's1', 'w', :pass", {"pass": "hunter2-x"})
    assert "passphrase = *** (:pass) → body" in parts(secret, "value") and "hunter2-x" not in shown(secret)


def test_refusals_other_than_resolution_are_raised_as_running_raises_them(conn: Connection) -> None:
    bad_value = f"UPDATE {MEETINGS} SET status = 'LIVE' WHERE {IDS} AND meeting_id = 'm'"
    with pytest.raises(DataError) as running:
        conn.run(bad_value)
    with pytest.raises(DataError) as explaining:
        conn.run("EXPLAIN " + bad_value)
    assert str(explaining.value) == str(running.value)
    with pytest.raises(ProgrammingError, match="unknown resource"):
        conn.run(f"EXPLAIN DELETE FROM {MEETINGS}z WHERE a = 'b'")
    with pytest.raises(NotSupportedError, match="SELECT not supported"):
        conn.run(f"EXPLAIN SELECT * FROM {MEETINGS}")
    with pytest.raises(SQLSyntaxError):
        conn.run("EXPLAIN INSERT INTO (")
    with pytest.raises(SQLSyntaxError, match="EXPLAIN needs a statement"):
        conn.run("EXPLAIN")


def test_missing_credentials_are_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL"):
        monkeypatch.delenv(name, raising=False)
    with connect(http_client=httpx.Client(transport=httpx.MockTransport(no_requests))) as conn:
        result = explain(conn, f"DELETE FROM {MEETINGS} WHERE {IDS} AND meeting_id = 'm' AND participant_id = 'p'")
    (headers,) = parts(result, "headers")
    assert "Authorization" not in headers
    (note,) = parts(result, "note")
    assert "CLOUDFLARE_API_TOKEN" in note and "running the statement would fail" in note


def test_nothing_to_send_is_a_note(conn: Connection) -> None:
    result = explain(conn, f"INSERT INTO {MEETINGS} (account_id, app_id) SELECT 'a', 'b' WHERE false")
    assert parts(result, "request") == []
    assert parts(result, "note") == ["nothing would be sent: its WHERE, LIMIT or OFFSET leaves no rows"]


def test_a_dry_run_connection_explains_the_same() -> None:
    sql = f"EXPLAIN INSERT INTO {MEETINGS} (account_id, app_id) SELECT 'a', 'b'"
    with connect(token=TOKEN, dry_run=True) as dry, connect(token=TOKEN, http_client=httpx.Client(transport=httpx.MockTransport(no_requests))) as live:
        assert dry.run(sql).rows == live.run(sql).rows


def test_async_connections_explain_without_sending() -> None:
    async def run() -> Result:
        client = httpx.AsyncClient(transport=httpx.MockTransport(no_requests))
        async with AsyncConnection(Settings(token=TOKEN), http_client=client) as conn:
            return await conn.run(f"EXPLAIN SELECT id FROM {KIT} WHERE {IDS}")

    result = asyncio.run(run())
    assert parts(result, "request") == ["GET https://api.cloudflare.com/client/v4/accounts/acct-1/realtime/kit/app-1/meetings"]


def test_in_a_script_explain_sends_nothing_and_provides_no_names(conn: Connection) -> None:
    results = conn.executescript(
        f"EXPLAIN INSERT INTO {MEETINGS} (account_id, app_id) SELECT 'a', 'b' RETURNING json_extract(data, '$.id') AS mid;\n"
        f"EXPLAIN DELETE FROM {MEETINGS} WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = :mid AND participant_id = 'p'"
    )
    assert [parts(r, "method")[0].split(" ·")[0] for r in results] == ["create", "delete_meeting_participant"]
    assert "meeting_id = :mid → path parameter" in parts(results[1], "value")
    with pytest.raises(ProgrammingError, match="uses :mid, which no earlier statement sets"):
        conn.executescript(
            f"EXPLAIN INSERT INTO {MEETINGS} (account_id, app_id) SELECT 'a', 'b' RETURNING json_extract(data, '$.id') AS mid;\n"
            f"DELETE FROM {MEETINGS} WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = :mid AND participant_id = 'p'"
        )


def test_a_cached_plan_explains_each_execution_with_its_own_values(conn: Connection) -> None:
    sql = f"SELECT id FROM {KIT} WHERE {IDS} AND meeting_id = :mid"
    first, second = explain(conn, sql, {"mid": "m-1"}), explain(conn, sql, {"mid": "m-2"})
    assert parts(first, "request")[0].endswith("/m-1") and parts(second, "request")[0].endswith("/m-2")


def test_a_method_cfql_cannot_drive_says_why(other: Connection) -> None:
    result = explain(other, "SELECT * FROM kitchen.sink.oddities")
    (unusable,) = [c for c in parts(result, "candidate") if c.startswith("get_oddity")]
    assert unusable.startswith("get_oddity: cannot be used (")


def test_strict_connections_refuse_what_running_would(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = Registry(Path(__file__).resolve().parents[1] / "data" / "registry_meta")
    bound = "INSERT INTO zonely.dns.records (zone_id, name, type, content, ttl) VALUES ('z1', 'www', 'A', '192.0.2.1', :ttl)"
    client = httpx.Client(transport=httpx.MockTransport(no_requests))
    with connect(registry=registry, token="z", http_client=client, strict=True) as conn:
        with pytest.raises(DataError, match=r"^column ttl: 3600 is not one of 1$"):
            conn.run("EXPLAIN " + bound, {"ttl": 3600})
        assert "ttl = 1 (:ttl) → body" in parts(explain(conn, bound, {"ttl": 1}), "value")


def test_a_statement_run_before_does_not_lend_its_plan_to_its_explain() -> None:
    """Plans are cached by shape; EXPLAIN's text has its own."""
    from tests.engine.conftest import Recorder

    recorder = Recorder()
    with connect(token=TOKEN, http_client=httpx.Client(transport=httpx.MockTransport(recorder))) as conn:
        conn.run(f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'a', 'b', 'One'")
        result = explain(conn, f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'a', 'b', 'Two'")
    assert len(recorder.requests) == 1 and parts(result, "body") == ['{"title": "Two"}']


def test_the_plan_alone_gives_everything_but_the_requests() -> None:
    from cfql.plan.explain import ExplainPlan
    from cfql.plan.planner import plan_sql
    from cfql.provider.registry import default_registry

    plan = plan_sql(f"EXPLAIN UPDATE {MEETINGS} SET title = 'x' WHERE {IDS} AND meeting_id = :mid", default_registry())
    assert isinstance(plan, ExplainPlan) and plan.bind_names == frozenset() and plan.provides == frozenset()
    exchange = plan.exchange({"mid": "m-3"})
    with pytest.raises(StopIteration) as done:
        next(exchange)
    rows = done.value.value.rows
    assert {"part": "value", "detail": "meeting_id = 'm-3' (:mid) → path parameter"} in rows
    assert [row for row in rows if row["part"] in ("request", "note")] == []


def test_a_parameter_given_twice_is_sent_once_and_filtered_once(conn: Connection) -> None:
    result = explain(conn, f"SELECT id FROM {KIT} WHERE {IDS} AND status = 'ACTIVE' AND status <> 'INACTIVE' AND (status = 'ACTIVE')")
    assert "status = 'ACTIVE' → query parameter" in parts(result, "api")
    assert parts(result, "local") == ["WHERE status <> 'INACTIVE'", "WHERE status = 'ACTIVE'"]


# --------------------------------------------------------------------------
# A provider written here: two SELECT methods, two INSERT methods of the same needs, secret columns
# --------------------------------------------------------------------------

VAULT = "vault.items.items"
VAULT_SERVICE = """\
    openapi: 3.0.3
    info: {title: Items, version: v1}
    servers: [{url: https://vault.test}]
    x-stackQL-config:
      pagination:
        requestToken: {key: cursor, location: query}
        responseToken: {key: $.next, location: body}
    paths:
      /vaults/{vault_key}/items:
        get:
          operationId: list_items
          parameters:
            - {name: vault_key, in: path, required: true, schema: {type: string, format: password}}
            - {name: sig, in: query, schema: {type: string}}
            - {name: item_id, in: query, schema: {type: string}}
            - {name: cursor, in: query, schema: {type: string}}
          responses:
            '200':
              description: ok
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      items: {type: array, items: {$ref: '#/components/schemas/Item'}}
                      next: {type: string, nullable: true}
        post:
          operationId: create_item
          parameters:
            - {name: vault_key, in: path, required: true, schema: {type: string, format: password}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string}
                    passphrase: {type: string}
          responses:
            '201': {description: made, content: {application/json: {schema: {$ref: '#/components/schemas/Item'}}}}
      /vaults/{vault_key}/items/{item_id}:
        get:
          operationId: get_item
          parameters:
            - {name: vault_key, in: path, required: true, schema: {type: string, format: password}}
            - {name: item_id, in: path, required: true, schema: {type: string}}
          responses:
            '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Item'}}}}
        patch:
          operationId: update_item
          parameters:
            - {name: vault_key, in: path, required: true, schema: {type: string, format: password}}
            - {name: item_id, in: path, required: true, schema: {type: string}}
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    name: {type: string}
          responses: {'200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Item'}}}}}
    components:
      schemas:
        Item:
          type: object
          properties:
            id: {type: string}
            name: {type: string}
            sig: {type: string}
            pin: {type: string, format: password}
      x-stackQL-resources:
        items:
          id: vault.items.items
          name: items
          title: Items
          methods:
            get_item:
              operation: {$ref: '#/paths/~1vaults~1{vault_key}~1items~1{item_id}/get'}
              response: {mediaType: application/json, openAPIDocKey: '200'}
            list_items:
              operation: {$ref: '#/paths/~1vaults~1{vault_key}~1items/get'}
              response: {mediaType: application/json, openAPIDocKey: '200', objectKey: '$.items[*]'}
            create_item:
              operation: {$ref: '#/paths/~1vaults~1{vault_key}~1items/post'}
              request: {mediaType: application/json}
              response: {mediaType: application/json, openAPIDocKey: '201'}
            import_item:
              operation: {$ref: '#/paths/~1vaults~1{vault_key}~1items/post'}
              request: {mediaType: application/json}
              response: {mediaType: application/json, openAPIDocKey: '201'}
            update_item:
              operation: {$ref: '#/paths/~1vaults~1{vault_key}~1items~1{item_id}/patch'}
              request: {mediaType: application/json}
              response: {mediaType: application/json, openAPIDocKey: '200'}
          sqlVerbs:
            select:
              - {$ref: '#/components/x-stackQL-resources/items/methods/get_item'}
              - {$ref: '#/components/x-stackQL-resources/items/methods/list_items'}
            insert:
              - {$ref: '#/components/x-stackQL-resources/items/methods/create_item'}
              - {$ref: '#/components/x-stackQL-resources/items/methods/import_item'}
            update:
              - {$ref: '#/components/x-stackQL-resources/items/methods/update_item'}
    """


@pytest.fixture
def vault_registry(tmp_path: Path) -> Registry:
    return Registry(write_provider(tmp_path, "vault", "items", VAULT_SERVICE))


@pytest.fixture
def vault(vault_registry: Registry) -> t.Iterator[Connection]:
    client = httpx.Client(transport=httpx.MockTransport(no_requests))
    with Connection(Settings(token="vault-token-77"), http_client=client, registry=vault_registry) as connection:
        yield connection


def ran(registry: Registry, sql: str) -> str:
    """What running ``sql`` sends: ``METHOD url`` of its one request, the secret vault key masked as EXPLAIN masks it."""
    from tests.engine.conftest import Recorder

    recorder = Recorder()
    with Connection(Settings(token="vault-token-77"), http_client=httpx.Client(transport=httpx.MockTransport(recorder)), registry=registry) as conn:
        conn.run(sql)
    (request,) = recorder.requests
    return f"{request.method} {request.url}".replace("vk-1", MASK)


def test_select_prefers_the_method_that_takes_every_where_name_as_a_parameter(vault: Connection, vault_registry: Registry) -> None:
    """get_item fits too (it would filter sig here), and requires more names: the rows say why list_items is used."""
    sql = f"SELECT id FROM {VAULT} WHERE vault_key = 'vk-1' AND item_id = 'i-1' AND sig = 's-1'"
    result = explain(vault, sql)
    assert parts(result, "method")[0].startswith("list_items · ")
    assert parts(result, "why") == [
        "it gets every name it requires and accepts every name given, as get_item does, "
        "and it alone takes every WHERE name as a parameter (the others would filter some here)"
    ]
    assert parts(result, "candidate") == [
        "get_item: fits, but would filter sig here; list_items takes every WHERE name as a parameter",
        "list_items: chosen",
    ]
    assert parts(result, "local") == []
    assert parts(result, "request") == [ran(vault_registry, sql)]


def test_select_with_every_name_sent_by_both_takes_the_one_requiring_more(vault: Connection, vault_registry: Registry) -> None:
    sql = f"SELECT id FROM {VAULT} WHERE vault_key = 'vk-1' AND item_id = 'i-1'"
    result = explain(vault, sql)
    assert parts(result, "why") == [
        "it gets every name it requires and accepts every name given, as list_items does; it requires the most names (2)"
    ]
    assert parts(result, "candidate") == ["get_item: chosen", "list_items: fits, but requires 1 name, and get_item requires 2"]
    assert parts(result, "request") == [ran(vault_registry, sql)]


def test_a_tie_is_broken_by_document_order_and_says_so(vault: Connection, vault_registry: Registry) -> None:
    sql = f"INSERT INTO {VAULT} (vault_key, data__name) VALUES ('vk-1', 'n')"
    result = explain(vault, sql)
    assert parts(result, "why") == [
        "it gets every name it requires and accepts every name given, as import_item does; "
        "it and import_item require the most names (2), and it comes first in the provider document's order"
    ]
    assert parts(result, "candidate") == [
        "create_item: chosen",
        "import_item: fits, but create_item requires as many names (2) and comes first in the provider document's order",
    ]
    assert ran(vault_registry, sql) == parts(result, "request")[0]


def complaints(error: str) -> list[str]:
    """The resolver's error, cut into its complaint about each candidate."""
    return error.split("): ", 1)[1].split(" — ")[0].split("; ")


def test_unresolved_select_candidates_are_the_errors_complaints(conn: Connection) -> None:
    """Each candidate row says exactly what the error running the statement gives says of that method."""
    sql = f"SELECT id FROM {KIT} WHERE {IDS} AND name = 'n' AND status = 'ACTIVE'"
    with pytest.raises(ResolutionError) as refused:
        conn.run(sql)
    result = explain(conn, sql)
    assert parts(result, "error") == [str(refused.value)]
    rows = [row.replace(": ", " ", 1) for row in parts(result, "candidate")]
    assert rows == complaints(str(refused.value))
    assert "get_by_account is missing meeting_id" in rows  # status: a column it filters on here, not refused


def test_a_bound_json_text_is_masked_as_the_object_it_is_sent_as(conn: Connection) -> None:
    storage = '{"storage_config": {"type": "aws", "access_key": "AK-5566", "secret": "SK-7788", "region": "r", "bucket": "b"}}'
    result = explain(conn, f"INSERT INTO {MEETINGS} (account_id, app_id, recording_config) VALUES ('a', 'b', :rc)", {"rc": storage})
    assert "AK-5566" not in shown(result) and "SK-7788" not in shown(result)
    (value,) = [v for v in parts(result, "value") if v.startswith("recording_config")]
    assert '"access_key": "***"' in value and '"secret": "***"' in value and value.endswith("(:rc) → body")


def test_a_bound_header_decides_the_pages_with_or_without_its_value(other: Connection) -> None:
    sql = 'SELECT * FROM kitchen.sink.items WHERE "X-Request-Tag" = :tag'
    unknown, known = explain(other, sql), explain(other, sql, {"tag": "t-1"})
    assert parts(unknown, "api") == ["X-Request-Tag = :tag → header X-Request-Tag"]
    assert parts(known, "api") == ["X-Request-Tag = 't-1' (:tag) → header X-Request-Tag"]
    assert parts(known, "pages") == parts(unknown, "pages") == ["one request: list_items does not page"]
    assert '"X-Request-Tag": "t-1"' in parts(known, "headers")[0] and '"X-Request-Tag": ":tag"' in parts(unknown, "headers")[0]


def test_bound_elements_of_an_in_list(conn: Connection) -> None:
    sql = f"DELETE FROM {MEETINGS} WHERE {IDS} AND meeting_id = 'm' AND participant_id IN (:p1, :p2)"
    unknown = explain(conn, sql)
    assert parts(unknown, "value")[-2:] == ["[1] participant_id = :p1 → path parameter", "[2] participant_id = :p2 → path parameter"]
    known = explain(conn, sql, {"p1": "x", "p2": "y"})
    assert [r.rsplit("/", 1)[1] for r in parts(known, "request")] == ["x", "y"]


def test_secret_literals_of_local_conditions_are_masked_in_the_statement(vault: Connection) -> None:
    result = explain(
        vault,
        f"SELECT id FROM {VAULT} WHERE vault_key = 'vk-secret-1' AND (pin = 'pin-secret-4' OR name = 'n') "
        "ORDER BY pin = 'pin-secret-3'",
    )
    for secret in ("vk-secret-1", "pin-secret-4", "pin-secret-3"):
        assert secret not in shown(result)
    assert parts(result, "local")[0] == "WHERE pin = '***' OR name = '***'"
    unresolved = explain(vault, f"SELECT id FROM {VAULT} WHERE pin = 'pin-secret-5'")  # vault_key is missing
    assert parts(unresolved, "method") == ["none: no method fits"] and "pin-secret-5" not in shown(unresolved)


def test_a_select_run_echoes_its_statement_with_the_same_secrets_masked(vault_registry: Registry) -> None:
    """Not only EXPLAIN: the statement a SELECT's result (and a script's error excerpt) shows is masked too."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"items": [{"id": "i-1"}], "next": None})

    client = httpx.Client(transport=httpx.MockTransport(answer))
    with Connection(Settings(token="vault-token-77"), http_client=client, registry=vault_registry) as conn:
        result = conn.run(f"SELECT id FROM {VAULT} WHERE vault_key = 'vk-secret-1' AND pin = 'pin-secret-4'")
    assert len(sent) == 1 and sent[0].url.path == "/vaults/vk-secret-1/items"  # it ran, with the value itself
    assert result.statement == f"SELECT id FROM {VAULT} WHERE vault_key = '***' AND pin = '***'"


def test_masked_elements_are_not_one_shared_value(vault: Connection) -> None:
    result = explain(vault, f"UPDATE {VAULT} SET data__name = 'x' WHERE vault_key IN ('vk-secret-a', 'vk-secret-b') AND item_id = 'i'")
    values = parts(result, "value")
    assert "item_id = 'i' → path parameter" in values  # the same in both requests: listed once
    assert [v for v in values if v.endswith("vault_key = *** → path parameter")] == [
        "[1] vault_key = *** → path parameter",
        "[2] vault_key = *** → path parameter",
    ]
    assert "vk-secret-a" not in shown(result) and "vk-secret-b" not in shown(result)


def test_limit_0_reads_no_page(conn: Connection) -> None:
    zero = explain(conn, f"SELECT id FROM {KIT} WHERE {IDS} LIMIT 0")
    assert parts(zero, "pages") == ["none: LIMIT 0 wants no rows"]
    assert parts(zero, "note") == ["nothing would be sent: LIMIT 0 wants no rows"] and parts(zero, "request") == []
    bound = f"SELECT id FROM {KIT} WHERE {IDS} LIMIT :n"
    assert parts(explain(conn, bound, {"n": 0}), "pages") == ["none: LIMIT 0 wants no rows"]
    assert parts(explain(conn, bound, {"n": 5}), "pages")[0].startswith("follows pages by numbered pages")
    assert parts(explain(conn, bound), "pages")[0].startswith("follows pages by numbered pages")


def test_an_unsupported_statement_is_named_by_its_own_first_word(conn: Connection) -> None:
    with pytest.raises(NotSupportedError, match=r"^unsupported statement: FROB$"):
        conn.run("EXPLAIN FROB x")
    with pytest.raises(NotSupportedError, match=r"^unsupported statement: VALUES$"):
        conn.run("EXPLAIN VALUES (1)")
    with pytest.raises(NotSupportedError, match=r"^unsupported statement: FROB$"):
        conn.run("FROB x")


def test_a_schema_warning_under_explain_says_nothing_was_sent() -> None:
    from cfql.errors import SchemaWarning

    registry = Registry(Path(__file__).resolve().parents[1] / "data" / "registry_meta")
    bound = "INSERT INTO zonely.dns.records (zone_id, name, type, content, ttl) VALUES ('z1', 'www', 'A', '192.0.2.1', :ttl)"
    client = httpx.Client(transport=httpx.MockTransport(no_requests))
    with connect(registry=registry, token="z", http_client=client) as conn, pytest.warns(SchemaWarning) as caught:
        conn.run("EXPLAIN " + bound, {"ttl": 3600})
    (message,) = {str(w.message) for w in caught}
    assert message.startswith("column ttl: 3600 is not one of 1; running the statement would send it anyway: ")
    assert "sent anyway" not in message
