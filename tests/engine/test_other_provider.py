"""A provider unlike Cloudflare in every convention runs with no engine change.

``tests/data/registry/src/acme/v1`` pages by cursor, authenticates with an API key
in its own header, wraps errors in its own envelope and has a secret field its
schemas do not mark. Everything here goes over ``httpx.MockTransport``.
"""

from __future__ import annotations

import json
import re
import typing as t
from pathlib import Path

import httpx
import pytest

from cfql import APIDataError, Connection, IntegrityError, Settings
from cfql.provider.registry import Registry

PROVIDERS = Path(__file__).resolve().parents[1] / "data" / "registry"
ENGINE = Path(__file__).resolve().parents[2] / "engine"
WIDGETS = "acme.widgets.widgets"
PAGES = {
    None: {"items": [{"id": "w1", "name": "one", "color": "red"}, {"id": "w2", "name": "two", "color": "blue"}], "next": "c2"},
    "c2": {"items": [{"id": "w3", "name": "three", "color": "red"}], "next": "c3"},
    "c3": {"items": [{"id": "w4", "name": "four", "color": "green"}], "next": None},
}


class Acme:
    """The widget API's behaviour, as a MockTransport handler that records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "GET":
            return httpx.Response(200, json=PAGES[request.url.params.get("cursor")])
        body = json.loads(request.content)
        if body["name"] == "taken":
            return httpx.Response(409, json={"fault": {"kind": "duplicate", "detail": "a widget with that name exists"}})
        if body["name"] == "bad":
            return httpx.Response(422, json={"fault": {"kind": "invalid", "detail": f"no such colour for {body.get('passphrase')}"}})
        return httpx.Response(201, json={"widget": {"id": "w9", **{k: v for k, v in body.items() if k != "passphrase"}}})


@pytest.fixture
def acme() -> Acme:
    return Acme()


@pytest.fixture
def conn(acme: Acme) -> t.Iterator[Connection]:
    settings = Settings(token="acme-key-123")
    client = httpx.Client(transport=httpx.MockTransport(acme))
    with Connection(settings, http_client=client, registry=Registry(PROVIDERS)) as connection:
        connection.driver.sleep = lambda seconds: None
        yield connection


def test_a_paged_select_follows_the_cursor_the_document_names(conn: Connection, acme: Acme) -> None:
    rows = conn.execute(f"SELECT id, name FROM {WIDGETS} WHERE shop = 's1' AND color = 'red' ORDER BY id")
    assert rows == [{"id": "w1", "name": "one"}, {"id": "w3", "name": "three"}]
    assert [str(r.url) for r in acme.requests] == [
        "https://api.acme.test/v2/shops/s1/widgets",
        "https://api.acme.test/v2/shops/s1/widgets?cursor=c2",
        "https://api.acme.test/v2/shops/s1/widgets?cursor=c3",
    ]


def test_limit_stops_at_the_first_page_that_has_enough(conn: Connection, acme: Acme) -> None:
    assert conn.execute(f"SELECT id FROM {WIDGETS} WHERE shop = 's1' AND limit = 2 LIMIT 2") == [{"id": "w1"}, {"id": "w2"}]
    assert len(acme.requests) == 1 and acme.requests[0].url.params["limit"] == "2"


def test_giving_the_cursor_reads_that_page_only(conn: Connection, acme: Acme) -> None:
    assert conn.execute(f"SELECT id FROM {WIDGETS} WHERE shop = 's1' AND cursor = 'c2'") == [{"id": "w3"}]
    assert len(acme.requests) == 1


def test_an_insert_sends_the_key_in_the_providers_own_header(conn: Connection, acme: Acme) -> None:
    rows = conn.execute(
        f"INSERT INTO {WIDGETS} (shop, name, color) SELECT 's1', 'gear', 'green' RETURNING id, name, color"
    )
    assert rows == [{"id": "w9", "name": "gear", "color": "green"}]
    (request,) = acme.requests
    assert request.method == "POST" and str(request.url) == "https://api.acme.test/v2/shops/s1/widgets"
    assert json.loads(request.content) == {"name": "gear", "color": "green"}
    assert request.headers["X-Acme-Key"] == "acme-key-123" and "Authorization" not in request.headers


def test_errors_come_from_the_providers_envelope_and_map_by_status(conn: Connection) -> None:
    with pytest.raises(IntegrityError) as conflict:
        conn.execute(f"INSERT INTO {WIDGETS} (shop, name) SELECT 's1', 'taken'")
    assert conflict.value.status == 409 and conflict.value.code == "duplicate"
    assert str(conflict.value) == "create_widget: HTTP 409 (code duplicate): a widget with that name exists"
    with pytest.raises(APIDataError) as invalid:
        conn.execute(f"INSERT INTO {WIDGETS} (shop, name, color, passphrase) SELECT 's1', 'bad', 'blue', 'open-sesame'")
    assert "open-sesame" not in str(invalid.value)  # a secret by name only (secretFields), still scrubbed


def test_a_dry_run_masks_the_key_and_the_field_named_secret(acme: Acme) -> None:
    settings = Settings(token="acme-key-123", dry_run=True)
    client = httpx.Client(transport=httpx.MockTransport(acme))
    with Connection(settings, http_client=client, registry=Registry(PROVIDERS)) as conn:
        (row,) = conn.execute(f"INSERT INTO {WIDGETS} (shop, name, passphrase) SELECT 's1', 'gear', 'open-sesame'")
    assert acme.requests == []
    assert row["headers"]["X-Acme-Key"] == "***" and row["body"] == {"name": "gear", "passphrase": "***"}
    assert "acme-key-123" not in repr(row) and "open-sesame" not in repr(row)


def test_the_providers_own_rate_limit_paces_requests(conn: Connection) -> None:
    endpoint = conn.driver.endpoint(conn.registry.resource("acme", "widgets", "widgets").methods["list_widgets"])
    assert endpoint.pacer.bucket is not None and (endpoint.pacer.bucket.capacity, endpoint.pacer.bucket.rate) == (50, 5.0)


def test_no_credentials_names_the_providers_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from cfql import CredentialsError

    monkeypatch.delenv("ACME_API_KEY", raising=False)
    with Connection(Settings(), registry=Registry(PROVIDERS)) as conn, pytest.raises(CredentialsError, match="ACME_API_KEY"):
        conn.execute(f"SELECT id FROM {WIDGETS} WHERE shop = 's1'")


def test_sandbox_of_a_provider_without_one_is_refused_before_any_request(acme: Acme) -> None:
    from cfql import NotSupportedError

    client = httpx.Client(transport=httpx.MockTransport(acme))
    with Connection(Settings(sandbox=True), http_client=client, registry=Registry(PROVIDERS)) as conn:
        with pytest.raises(NotSupportedError, match="provider acme has no sandbox"):
            conn.execute(f"SELECT id FROM {WIDGETS} WHERE shop = 's1'")
    assert acme.requests == []


# Words that would mean the engine knows a provider: its name, its host, its
# paging parameters and response blocks, its envelope keys.
PROVIDER_WORDS = re.compile(r"realtime|cloudflare|page_no|per_page|paging|api\.cloudflare\.com|result_info", re.IGNORECASE)
ENVELOPE_KEYS = re.compile(r"""["'](?:errors|success|messages|result|data)["']""")


def test_engine_code_names_no_provider() -> None:
    found = [
        f"{path.relative_to(ENGINE.parent)}:{number}: {line.strip()}"
        for path in sorted(ENGINE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PROVIDER_WORDS.search(line) or ENVELOPE_KEYS.search(line)
    ]
    assert found == []


def test_a_next_page_link_to_another_host_is_not_followed(conn: Connection, acme: Acme) -> None:
    """Credentials go with every request: a response must not be able to send them elsewhere."""
    from cfql import OperationalError
    from cfql.http.messages import ApiRequest

    method = conn.registry.resource("acme", "widgets", "widgets").methods["list_widgets"]
    elsewhere = ApiRequest(method, "GET", "/shops/s1/widgets", {}, None, url="https://collector.example/steal?page=2")
    with pytest.raises(OperationalError, match="points to https://collector.example, not to api.acme.test"):
        conn.driver.send(elsewhere)
    assert acme.requests == []
