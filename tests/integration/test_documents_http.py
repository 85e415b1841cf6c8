"""What a provider's documents say about a request is what goes on the wire, over loopback.

A ``tests.loopback`` server on 127.0.0.1 records each request's method, path,
query, headers and body, and answers from a table. The providers of
``tests/data/registry`` (written for these tests) reach it through
``--base-url PROVIDER=URL`` — except ``tenantly.groups``, whose own server URL
``http://127.0.0.1:{port}/{tenant}`` is used, so that its variables are
really filled in: ``port`` from ``WHERE port = ...`` or ``$TENANTLY_PORT``,
``tenant`` from ``WHERE`` or its default.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path
from urllib.parse import parse_qs

import pytest

import cfql
from cfql import APIError, Connection, DataError, NotSupportedError, ProgrammingError, ResolutionError, Settings
from cfql.cli.main import main
from cfql.provider.registry import Registry
from tests.loopback import LoopbackServer, Reply, Seen

ROOT = Path(__file__).resolve().parents[2] / "tests" / "data" / "registry"
ITEMS = [{"id": "i1", "name": "one", "size": 1}, {"id": "i2", "name": "two", "size": 2}]


#: What each route answers; anything else is a 404. ``"created"`` is the request's body with an id;
#: ``"echo"`` puts the request's body in the error message, as a careless API might; ``None`` is no body.
ANSWERS: dict[tuple[str, str], tuple[int, t.Any]] = {
    ("GET", "/k/items"): (200, {"items": ITEMS}),
    ("GET", "/k/items/i1"): (200, {"result": ITEMS[0]}),
    ("POST", "/k/items"): (201, "created"),
    ("PATCH", "/k/items/i1"): (200, {"id": "i1"}),
    ("POST", "/k/items/i1/stop"): (202, None),
    ("POST", "/k/items/i1/labels"): (200, {}),
    ("POST", "/k/stacks"): (200, {"ProgressEvent": {"RequestToken": "r-1", "OperationStatus": "IN_PROGRESS"}}),
    ("GET", "/k/oddities"): (200, [{"id": "o1", "kind": "odd"}]),
    ("GET", "/duo/v10/things"): (200, {"things": [{"id": "t10", "kind": "new"}]}),
    ("GET", "/duo/v9/things"): (200, [{"id": "t9"}]),
    ("GET", "/gizmo/gadgets/g1"): (200, {"result": {"id": "g1", "label": "Gadget one"}}),
    ("GET", "/main/groups"): (200, {"items": [{"id": "g-main", "name": "main's"}]}),
    ("GET", "/acme/groups"): (200, {"items": [{"id": "g-acme", "name": "acme's"}]}),
}


def answer(seen: Seen) -> Reply:
    status, payload = ANSWERS.get((seen.method, seen.path), (404, {"message": "no such route"}))
    if payload == "created":
        payload = {"result": {"id": "i9", **seen.json()}}
    elif payload == "echo":
        payload = {"message": "bad request: " + seen.body.decode()}
    return Reply(status) if payload is None else Reply.json(payload, status)


@pytest.fixture(scope="module")
def recorder() -> t.Iterator[LoopbackServer]:
    with LoopbackServer(answer) as server:
        yield server


@pytest.fixture
def server(recorder: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:
    """The recorder with nothing seen yet; no pulled providers and no credential variables from the user."""
    recorder.seen.clear()
    monkeypatch.setenv("CFQL_DATA_DIR", str(tmp_path / "data"))
    for name in ("KITCHEN_KEY", "DUO_KEY", "TENANTLY_TOKEN", "TENANTLY_PORT", "CFQL_REGISTRY", "CFQL_AUTH"):
        monkeypatch.delenv(name, raising=False)
    return recorder


def connection(server: LoopbackServer, tmp_path: Path, **settings: t.Any) -> Connection:
    settings.setdefault("base_url", {"kitchen": server.url + "/k", "duo": server.url + "/duo", "gizmo": server.url + "/gizmo"})
    return Connection(Settings(token="key-1", retries=0, **settings), registry=Registry(ROOT, pulled_root=tmp_path / "pulled"))


@pytest.fixture
def conn(server: LoopbackServer, tmp_path: Path) -> t.Iterator[Connection]:
    with connection(server, tmp_path) as opened:
        yield opened


# -- parameters ------------------------------------------------------------------------------------


def test_header_parameters_are_sent_as_headers(server: LoopbackServer, conn: Connection) -> None:
    rows = conn.execute("SELECT id, name FROM kitchen.sink.items WHERE \"X-Request-Tag\" = 'tag-1' AND limit = 2")
    assert rows == [{"id": "i1", "name": "one"}, {"id": "i2", "name": "two"}]  # objectKey $.items[*]
    [seen] = server.seen
    assert (seen.method, seen.path, seen.query) == ("GET", "/k/items", {"limit": ["2"]})
    assert seen.headers["x-request-tag"] == "tag-1"
    assert seen.headers["x-trace-mode"] == "quiet"  # the optional header's schema default
    assert seen.headers["accept"] == "text/plain"  # the document's own Accept parameter, by its default
    assert seen.headers["x-kitchen-key"] == "key-1"
    assert "content-type" not in seen.headers and seen.body == b""


def test_an_optional_header_takes_the_statements_value(server: LoopbackServer, conn: Connection) -> None:
    conn.execute("SELECT id FROM kitchen.sink.items WHERE \"X-Request-Tag\" = :tag AND \"X-Trace-Mode\" = 'verbose'", {"tag": "t-2"})
    [seen] = server.seen
    assert (seen.headers["x-request-tag"], seen.headers["x-trace-mode"]) == ("t-2", "verbose")


@pytest.mark.parametrize(
    "sql, params, error, message",
    [
        ("SELECT id FROM kitchen.sink.items", {}, ResolutionError, "list_items is missing X-Request-Tag"),
        ("SELECT id FROM kitchen.sink.items WHERE \"X-Request-Tag\" = :tag", {"tag": "a\r\nX-Evil: 1"}, DataError,
         "header parameter X-Request-Tag: the value holds a line break or NUL character"),
    ],
)
def test_a_header_parameter_that_cannot_be_sent_sends_nothing(
    server: LoopbackServer, conn: Connection, sql: str, params: dict[str, t.Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        conn.execute(sql, params)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert server.seen == []


def test_object_keys_pick_the_rows(server: LoopbackServer, conn: Connection) -> None:
    assert conn.execute("SELECT id, name, size FROM kitchen.sink.items WHERE item_id = 'i1'") == [ITEMS[0]]  # $.result
    assert conn.execute("SELECT id, label FROM gizmo.gadgets.gadgets WHERE gadget_id = 'g1'") == [{"id": "g1", "label": "Gadget one"}]
    assert [(s.method, s.path) for s in server.seen] == [("GET", "/k/items/i1"), ("GET", "/gizmo/gadgets/g1")]


# -- bodies ------------------------------------------------------------------------------------------


def test_without_a_translate_body_columns_are_data_prefixed(server: LoopbackServer, conn: Connection) -> None:
    rows = conn.execute("INSERT INTO kitchen.sink.items (data__name, data__size) SELECT 'new', 3 RETURNING id, name, size")
    assert rows == [{"id": "i9", "name": "new", "size": 3}]
    [seen] = server.seen
    assert (seen.method, seen.path) == ("POST", "/k/items")
    assert seen.headers["content-type"] == "application/json"
    assert seen.json() == {"name": "new", "size": 3}


def test_an_unprefixed_body_column_is_refused_before_sending(server: LoopbackServer, conn: Connection) -> None:
    with pytest.raises(ResolutionError) as info:
        conn.execute("INSERT INTO kitchen.sink.items (name) SELECT 'new'")
    assert "create_item is missing data__name and does not accept name" in str(info.value)
    assert server.seen == []


def test_an_empty_documented_body_is_sent_empty(server: LoopbackServer, conn: Connection) -> None:
    result = conn.run("EXEC kitchen.sink.items.stop_item @item_id = 'i1'")
    assert result.rows == [] and result.message
    [seen] = server.seen
    assert (seen.method, seen.path, seen.query) == ("POST", "/k/items/i1/stop", {})
    assert seen.headers["content-type"] == "application/json" and seen.body == b"{}"


def test_a_form_body_is_form_encoded_over_its_base(server: LoopbackServer, conn: Connection) -> None:
    conn.execute(
        "EXEC kitchen.sink.items.label_item @item_id = 'i1' "
        "@@json = '{\"label\": \"hot & cold\", \"weight\": 2, \"pinned\": true, \"extra\": {\"a\": [1]}}'"
    )
    [seen] = server.seen
    assert (seen.method, seen.path) == ("POST", "/k/items/i1/labels")
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    fields = parse_qs(seen.body.decode(), keep_blank_values=True)
    assert fields == {
        "source": ["cfql"],  # request.base
        "label": ["hot & cold"],
        "weight": ["2"],
        "pinned": ["true"],
        "extra": ['{"a": [1]}'],
    }


def test_a_statement_value_wins_over_request_base(server: LoopbackServer, conn: Connection) -> None:
    conn.execute("EXEC kitchen.sink.items.label_item @item_id = 'i1' @@json = '{\"label\": \"x\", \"source\": \"mine\"}'")
    [seen] = server.seen
    assert parse_qs(seen.body.decode()) == {"source": ["mine"], "label": ["x"]}


def test_naive_columns_are_the_bodys_properties_over_request_base(server: LoopbackServer, conn: Connection) -> None:
    conn.execute("UPDATE kitchen.sink.items SET name = 'renamed', size = 5 WHERE item_id = 'i1'")
    [seen] = server.seen
    assert (seen.method, seen.path, seen.headers["content-type"]) == ("PATCH", "/k/items/i1", "application/json")
    assert seen.json() == {"op": "merge", "name": "renamed", "size": 5}


def test_desired_state_is_sent_as_its_json_text(server: LoopbackServer, conn: Connection) -> None:
    rows = conn.execute(
        "INSERT INTO kitchen.sink.stacks (StackName, Size, Tags, ClientToken) "
        "SELECT 'st-1', 2, '[\"a\", \"b\"]', 'tok-1' RETURNING RequestToken, OperationStatus"
    )
    assert rows == [{"RequestToken": "r-1", "OperationStatus": "IN_PROGRESS"}]  # objectKey $.ProgressEvent
    [seen] = server.seen
    assert (seen.method, seen.path) == ("POST", "/k/stacks")
    assert seen.headers["content-type"] == "application/x-amz-json-1.0"
    assert seen.headers["x-stack-target"] == "StackService.Create"  # a header parameter's default
    body = seen.json()
    assert set(body) == {"TypeName", "ClientToken", "DesiredState"}
    assert (body["TypeName"], body["ClientToken"]) == ("Kitchen::Stack", "tok-1")  # request.base; beside DesiredState
    assert isinstance(body["DesiredState"], str)
    assert json.loads(body["DesiredState"]) == {"StackName": "st-1", "Size": 2, "Tags": ["a", "b"]}


def test_secrets_inside_desired_state_or_under_data_are_masked(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dry run shows them masked, and an error that echoes the body carries the mask, not the secret."""
    stack = "INSERT INTO kitchen.sink.stacks (StackName, MasterPassword) SELECT 'st', :pw"
    item = "INSERT INTO kitchen.sink.items (data__name, data__pin) SELECT 'n', :pw"
    with connection(server, tmp_path, dry_run=True) as dry:
        [shown] = dry.execute(stack, {"pw": "hunter22"})
        assert json.loads(shown["body"]["DesiredState"]) == {"StackName": "st", "MasterPassword": "***"}
        [shown] = dry.execute(item, {"pw": "hunter22"})
        assert shown["body"] == {"name": "n", "pin": "***"}
    assert server.seen == []
    monkeypatch.setitem(ANSWERS, ("POST", "/k/stacks"), (400, "echo"))
    monkeypatch.setitem(ANSWERS, ("POST", "/k/items"), (400, "echo"))
    with connection(server, tmp_path) as conn:
        for sql in (stack, item):
            with pytest.raises(APIError) as info:
                conn.execute(sql, {"pw": "hunter22"})
            assert "bad request: " in str(info.value) and "***" in str(info.value)
            assert "hunter22" not in str(info.value)
    sent = [seen.json() for seen in server.seen]
    assert json.loads(sent[0]["DesiredState"])["MasterPassword"] == "hunter22" and sent[1]["pin"] == "hunter22"


# -- methods cfql cannot drive -----------------------------------------------------------------------


def test_methods_cfql_cannot_drive_are_refused_and_the_others_work(server: LoopbackServer, conn: Connection) -> None:
    listed = {row["MethodName"] for row in conn.execute("SHOW METHODS IN kitchen.sink.oddities")}
    assert listed == {"list_oddities", "get_oddity", "graph_oddities", "post_xml", "fancy_oddity", "broken"}
    for sql in (
        "EXEC kitchen.sink.oddities.graph_oddities",
        "EXEC kitchen.sink.oddities.post_xml",
        "EXEC kitchen.sink.oddities.fancy_oddity",
        "EXEC kitchen.sink.oddities.broken",
        "SELECT * FROM kitchen.sink.oddities WHERE oddity_id = 'o1'",
        "INSERT INTO kitchen.sink.oddities (name) SELECT 'x'",
    ):
        with pytest.raises(NotSupportedError, match=r"^kitchen\.sink\.oddities\.\w+ cannot be used: "):
            conn.execute(sql)
    assert server.seen == []
    assert conn.execute("SELECT id, kind FROM kitchen.sink.oddities") == [{"id": "o1", "kind": "odd"}]
    assert [(s.method, s.path) for s in server.seen] == [("GET", "/k/oddities")]


# -- server variables --------------------------------------------------------------------------------


def test_server_variables_fill_the_documents_own_url(server: LoopbackServer, conn: Connection) -> None:
    port = str(server.port)
    assert conn.execute("SELECT id, name FROM tenantly.groups.groups WHERE port = :port", {"port": port}) == [
        {"id": "g-main", "name": "main's"}
    ]
    assert conn.execute(f"SELECT id FROM tenantly.groups.groups WHERE port = '{port}' AND tenant = 'acme' AND q = 'x'") == [
        {"id": "g-acme"}
    ]
    first, second = server.seen
    assert (first.path, first.query) == ("/main/groups", {})  # tenant's default
    assert (second.path, second.query) == ("/acme/groups", {"q": ["x"]})  # a variable is not a query parameter
    assert first.headers["authorization"] == "SSWS key-1" and first.headers["host"] == f"127.0.0.1:{port}"


def test_a_server_variable_from_its_environment_variable(server: LoopbackServer, conn: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ProgrammingError) as info:
        conn.execute("SELECT id FROM tenantly.groups.groups")
    assert str(info.value) == "list_groups: server variable port has no value: add WHERE port = '...'"
    assert server.seen == []
    monkeypatch.setenv("TENANTLY_PORT", str(server.port))
    assert conn.execute("SELECT id FROM tenantly.groups.groups") == [{"id": "g-main"}]
    assert [s.path for s in server.seen] == ["/main/groups"]


@pytest.mark.parametrize("value", ["evil.test/", "a@b", "x?y", "..", "x#y", "a/b", "", "x y", "%2e%2e", "ü"])
def test_a_hostile_server_variable_is_refused_before_sending(server: LoopbackServer, conn: Connection, value: str) -> None:
    for sql, params in [
        (f"SELECT id FROM tenantly.groups.groups WHERE port = '{server.port}' AND tenant = :v", {"v": value}),
        ("SELECT id FROM tenantly.groups.groups WHERE port = :v", {"v": value}),
    ]:
        with pytest.raises(DataError) as info:
            conn.execute(sql, params)
        assert str(info.value).startswith("server variable ") and "is not a host label or path segment" in str(info.value)
        assert "\n" not in str(info.value)
    assert server.seen == []


def test_a_host_variable_is_filled_or_defaults(server: LoopbackServer, tmp_path: Path) -> None:
    """``https://{subdomain}.example.test`` is not on loopback: a dry run shows the URL that would be used."""
    with connection(server, tmp_path, dry_run=True) as dry:
        [default] = dry.execute("SELECT id FROM tenantly.users.users")
        [chosen] = dry.execute("SELECT id FROM tenantly.users.users WHERE subdomain = 'acme-1'")
        for value in ("evil.test/", "a@b", "x?y", ".."):
            with pytest.raises(DataError, match="^server variable subdomain: "):
                dry.execute("SELECT id FROM tenantly.users.users WHERE subdomain = :s", {"s": value})
    assert default["url"] == "https://demo.example.test/api/v1/users"
    assert chosen["url"] == "https://acme-1.example.test/api/v1/users"
    assert chosen["headers"]["Authorization"] == "SSWS ***"
    assert server.seen == []


# -- --base-url per provider -------------------------------------------------------------------------


def test_base_urls_per_provider(server: LoopbackServer, tmp_path: Path) -> None:
    base_url = [f"kitchen={server.url}/k", f"duo={server.url}/duo"]
    with cfql.connect(registry=str(ROOT), base_url=base_url, token="key-1", retries=0) as conn:  # type: ignore[arg-type]
        assert conn.execute("SELECT id FROM kitchen.sink.oddities") == [{"id": "o1"}]
        assert conn.execute("SELECT id, kind FROM duo.things.things") == [{"id": "t10", "kind": "new"}]
    assert [(s.path, s.headers.get("x-kitchen-key"), s.headers.get("x-duo-key")) for s in server.seen] == [
        ("/k/oddities", "key-1", None),
        ("/duo/v10/things", None, "key-1"),
    ]


def test_a_bare_base_url_serves_one_provider_only(server: LoopbackServer, tmp_path: Path) -> None:
    with connection(server, tmp_path, base_url=server.url + "/k") as conn:
        assert conn.execute("SELECT id FROM kitchen.sink.oddities") == [{"id": "o1"}]
        with pytest.raises(ProgrammingError) as info:
            conn.execute("SELECT id FROM duo.things.things")
    assert str(info.value) == (
        f"--base-url {server.url}/k names no provider, and this session uses kitchen and duo: write --base-url duo=URL"
    )
    assert [s.path for s in server.seen] == ["/k/oddities"]


def test_the_cli_reads_a_registry_folder_and_base_urls_per_provider(
    server: LoopbackServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KITCHEN_KEY", "kk-1")
    monkeypatch.setenv("DUO_KEY", "dk-1")
    sql = "SELECT id FROM kitchen.sink.oddities; SELECT id, kind FROM duo.things.things"
    args = ["exec", "--registry", str(ROOT), "--base-url", f"kitchen={server.url}/k", "--base-url", f"duo={server.url}/duo"]
    assert main([*args, "-o", "jsonl", sql]) == 0
    assert capsys.readouterr().out == '{"id": "o1"}\n{"id": "t10", "kind": "new"}\n'
    assert [(s.path, s.headers.get("x-kitchen-key") or s.headers.get("x-duo-key")) for s in server.seen] == [
        ("/k/oddities", "kk-1"),
        ("/duo/v10/things", "dk-1"),
    ]
    server.seen.clear()
    assert main([*args, "--provider-version", "duo=v1.0.9", "-o", "jsonl", "SELECT id FROM duo.things.things"]) == 0
    assert capsys.readouterr().out == '{"id": "t9"}\n'
    assert [s.path for s in server.seen] == ["/duo/v9/things"]


def test_the_cli_refuses_a_bare_base_url_for_a_second_provider(
    server: LoopbackServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KITCHEN_KEY", "kk-1")
    monkeypatch.setenv("DUO_KEY", "dk-1")
    sql = "SELECT id FROM kitchen.sink.oddities; SELECT id FROM duo.things.things"
    assert main(["exec", "--registry", ROOT.as_uri(), "--base-url", server.url + "/k", "-o", "jsonl", sql]) == 1
    captured = capsys.readouterr()
    assert "names no provider, and this session uses kitchen and duo: write --base-url duo=URL" in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == '{"id": "o1"}\n'  # the first statement's provider was served
    assert [s.path for s in server.seen] == ["/k/oddities"]


@pytest.mark.parametrize(
    "flag, message",
    [
        ("/no/such/registry/here", "--registry /no/such/registry/here: no such folder"),
        ('{"url": "file:///x", "nope": 1}', "--registry JSON has unknown key 'nope'"),
    ],
)
def test_the_cli_refuses_a_bad_registry_as_a_usage_error(
    server: LoopbackServer, capsys: pytest.CaptureFixture[str], flag: str, message: str
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["exec", "--registry", flag, "SELECT id FROM kitchen.sink.oddities"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert server.seen == []
