"""Registries in StackQL's layout: providers found by their document's name, versions, pins, options, laziness.

``tests/data/registry`` holds providers written for these tests: ``duo`` in
two versions (v1.0.9 and v1.0.10, which sort the other way as text),
``gizmo`` filed under ``gizmoapis.test``, ``kitchen`` with two services and
methods cfql cannot drive, ``tenantly`` with server variables. Nothing here
sends a request: statements run as dry runs, which show the request instead.
"""

from __future__ import annotations

import json
import shutil
import typing as t
from pathlib import Path

import pytest

from cfql import Connection, NotSupportedError, ProgrammingError, Settings
from cfql.provider import registry as registry_module
from cfql.provider.loader import ProviderDocumentError, yaml_load
from cfql.provider.registry import DEFAULT_HUB, Registry, RegistryError, default_registry, version_key

ROOT = Path(__file__).resolve().parents[1] / "data" / "registry"
NAMES = ["acme", "duo", "gizmo", "kitchen", "tenantly"]


@pytest.fixture
def nothing_pulled(tmp_path: Path) -> Path:
    """An empty pulled root, so what a user has pulled never shows up in a test."""
    return tmp_path / "pulled"


def registry(pulled: Path, **more: t.Any) -> Registry:
    return Registry(ROOT, pulled_root=pulled, **more)


def dry_run(reg: Registry, sql: str) -> list[dict[str, t.Any]]:
    """The requests ``sql`` would send (a dry run sends none)."""
    with Connection(Settings(token="k", dry_run=True), registry=reg) as conn:
        return conn.execute(sql)


# -- finding providers ---------------------------------------------------------------------------


def test_providers_are_named_by_their_documents(nothing_pulled: Path) -> None:
    reg = registry(nothing_pulled)
    assert reg.provider_names == NAMES
    gizmo = reg.chosen("gizmo")
    assert gizmo is not None and gizmo.document.parent.parent.name == "gizmoapis.test"
    assert reg.provider("gizmoapis.test") is None
    provider = reg.provider("gizmo")
    assert provider is not None and provider.name == "gizmo" and list(provider.services) == ["gadgets"]


def test_a_folder_named_otherwise_is_used_by_its_name(nothing_pulled: Path) -> None:
    [request] = dry_run(registry(nothing_pulled), "SELECT id, label FROM gizmo.gadgets.gadgets WHERE gadget_id = 'g1'")
    assert (request["method"], request["url"]) == ("GET", "https://gizmo.invalid/v1/gadgets/g1")


def test_show_providers_lists_each_provider_once(nothing_pulled: Path) -> None:
    rows = dry_run(registry(nothing_pulled), "SHOW PROVIDERS")
    assert [row["name"] for row in rows] == NAMES
    assert {row["name"]: row["title"] for row in rows}["duo"] == "Duo v1.0.10"


# -- versions --------------------------------------------------------------------------------------


def test_versions_are_ordered_by_their_numbers() -> None:
    given = ["v1.0.10", "v1.0.9", "v1.0.2", "v0.10.0", "v24.03.00206", "v0.9.1"]
    assert sorted(given, key=version_key) == ["v0.9.1", "v0.10.0", "v1.0.2", "v1.0.9", "v1.0.10", "v24.03.00206"]
    assert sorted(given) != sorted(given, key=version_key)  # as text, v1.0.10 would come before v1.0.9


def test_the_latest_version_wins(nothing_pulled: Path) -> None:
    reg = registry(nothing_pulled)
    assert [item.version for item in reg.installed["duo"]] == ["v1.0.9", "v1.0.10"]
    provider = reg.provider("duo")
    assert provider is not None and provider.version == "v1.0.10"
    [request] = dry_run(reg, "SELECT id FROM duo.things.things")
    assert request["url"] == "https://duo.invalid/api/v10/things"


def test_a_pinned_version_is_used(nothing_pulled: Path) -> None:
    reg = registry(nothing_pulled, versions={"duo": "v1.0.9"})
    provider = reg.provider("duo")
    assert provider is not None and provider.version == "v1.0.9" and provider.title == "Duo v1.0.9"
    [request] = dry_run(reg, "SELECT id FROM duo.things.things")
    assert request["url"] == "https://duo.invalid/api/v9/things"
    # the pin is per provider: the others still get their latest
    assert reg.provider("acme") is not None


def test_a_pinned_version_that_is_not_there_is_one_clear_error(nothing_pulled: Path) -> None:
    reg = registry(nothing_pulled, versions={"duo": "v2.0.0"})
    with pytest.raises(RegistryError) as info:
        reg.provider("duo")
    assert str(info.value) == "provider duo has no version v2.0.0 here (found v1.0.9, v1.0.10)"
    with pytest.raises(ProgrammingError) as info:
        dry_run(reg, "SELECT id FROM duo.things.things")
    assert str(info.value) == "provider duo has no version v2.0.0 here (found v1.0.9, v1.0.10)"


def test_connect_pins_versions(nothing_pulled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cfql

    monkeypatch.setenv("CFQL_DATA_DIR", str(nothing_pulled))
    with cfql.connect(registry=str(ROOT), provider_versions={"duo": "v1.0.9"}, dry_run=True, token="k") as conn:
        [request] = conn.execute("SELECT id FROM duo.things.things")
    assert request["url"] == "https://duo.invalid/api/v9/things"


def test_a_pulled_provider_joins_the_documents(tmp_path: Path) -> None:
    """A newer version under the pulled root (``localDocRoot``) wins; its services' $refs are relative to its own src."""
    pulled = tmp_path / "pulled"
    newer = pulled / "src" / "duo" / "v1.0.11"
    shutil.copytree(ROOT / "src" / "duo" / "v1.0.10", newer)
    document = newer / "provider.yaml"
    document.write_text(document.read_text().replace("v1.0.10", "v1.0.11"))
    reg = registry(pulled)
    assert [item.version for item in reg.installed["duo"]] == ["v1.0.9", "v1.0.10", "v1.0.11"]
    chosen = reg.chosen("duo")
    assert chosen is not None and chosen.src_root == pulled / "src"
    [request] = dry_run(reg, "SELECT id FROM duo.things.things")
    assert request["url"] == "https://duo.invalid/api/v10/things"
    assert reg.provider("duo").title == "Duo v1.0.11"  # type: ignore[union-attr]


# -- the --registry option ---------------------------------------------------------------------------


def test_registry_option_as_a_folder_or_a_file_url(nothing_pulled: Path) -> None:
    for text in (str(ROOT), ROOT.as_uri(), f"  {ROOT.as_uri()}/ "):
        reg = Registry.from_option(text, pulled_root=nothing_pulled)
        assert reg.root == ROOT and reg.provider_names == NAMES


def test_registry_option_in_stackqls_json_form(tmp_path: Path) -> None:
    local = tmp_path / "local"
    local.mkdir()
    text = json.dumps({"url": ROOT.as_uri(), "localDocRoot": str(local), "verifyConfig": {"nopVerify": True}})
    reg = Registry.from_option(text)
    assert (reg.root, reg.pulled_root, reg.hub_url) == (ROOT, local, DEFAULT_HUB)
    assert reg.provider_names == NAMES

    remote = Registry.from_option(json.dumps({"url": "https://registry.example.test/providers/", "localDocRoot": str(local)}))
    assert remote.hub_url == "https://registry.example.test/providers"
    assert remote.root == local and remote.pulled_root == local  # pulled providers are what there is to read


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"url": ', "--registry is not valid JSON: "),
        ('{"url": "file:///x", "uri": 1}', "--registry JSON has unknown key 'uri' (known: url, localDocRoot, verifyConfig, useEmbedded)"),
        ('{"url": 5}', "--registry JSON: url must be a string"),
        ('{"localDocRoot": ["a"]}', "--registry JSON: localDocRoot must be a string"),
        ("/no/such/registry/here", "--registry /no/such/registry/here: no such folder"),
        ("file:///no/such/registry/here", "/no/such/registry/here: no such folder"),
        ('{"url": "file:///no/such/registry/here"}', "/no/such/registry/here: no such folder"),
        ("https://registry.example.test/providers", "a remote registry goes in StackQL's JSON form's url"),
        ('["file:///x"]', "no such folder"),  # not the JSON form (an object): read as a folder's name
    ],
)
def test_bad_registry_options_are_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(RegistryError) as info:
        Registry.from_option(text)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_cfql_registry_names_the_default_registry(nothing_pulled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "_default", None)  # restored after the test
    monkeypatch.setenv("CFQL_DATA_DIR", str(nothing_pulled))
    monkeypatch.setenv("CFQL_REGISTRY", ROOT.as_uri())
    found = default_registry()
    assert found.root == ROOT and found.pulled_root == nothing_pulled / "registry"
    assert found.provider_names == NAMES
    assert default_registry() is found  # one per process: documents are parsed once


def test_a_bad_cfql_registry_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "_default", None)
    monkeypatch.setenv("CFQL_REGISTRY", "/no/such/registry/here")
    with pytest.raises(RegistryError) as info:
        default_registry()
    assert str(info.value) == "--registry /no/such/registry/here: no such folder"


# -- lazy loading ------------------------------------------------------------------------------------


@pytest.fixture
def spoilt(tmp_path: Path) -> Registry:
    """A copy of the registry where kitchen's pantry document, duo's provider document and
    tenantly's users document are broken: what a statement does not use must not matter."""
    root = tmp_path / "registry"
    shutil.copytree(ROOT, root)
    (root / "src" / "kitchen" / "v1" / "services" / "pantry.yaml").write_text("openapi: [3.0.3\n  : {{ not yaml\n")
    duo = root / "src" / "duo" / "v1.0.10" / "provider.yaml"
    duo.write_text(duo.read_text() + "\n  - : [oops\n")
    users = root / "src" / "tenantly" / "v00.00.00000" / "services" / "users.yaml"
    users.unlink()
    users.mkdir()  # a folder where the document should be: it cannot be opened at all
    return Registry(root, pulled_root=tmp_path / "pulled")


def test_a_statement_reads_only_its_own_service(spoilt: Registry) -> None:
    [request] = dry_run(spoilt, "SELECT * FROM kitchen.sink.oddities")
    assert request["url"] == "https://kitchen.invalid/api/oddities"
    assert [row["name"] for row in dry_run(spoilt, "SHOW SERVICES IN kitchen")] == ["sink", "pantry"]
    [request] = dry_run(spoilt, "SELECT * FROM tenantly.groups.groups WHERE port = '8080'")
    assert request["url"] == "http://127.0.0.1:8080/main/groups"


def test_a_broken_document_is_one_clear_error_when_used(spoilt: Registry) -> None:
    root = spoilt.root / "src"
    for sql, message in [
        ("SELECT * FROM kitchen.pantry.shelves", f"service kitchen.pantry: {root}/kitchen/v1/services/pantry.yaml: not valid YAML (line 2: "),
        ("SHOW RESOURCES IN kitchen.pantry", f"service kitchen.pantry: {root}/kitchen/v1/services/pantry.yaml: not valid YAML"),
        ("SELECT * FROM duo.things.things", f"{root}/duo/v1.0.10/provider.yaml: not valid YAML"),
        ("SHOW PROVIDERS", f"{root}/duo/v1.0.10/provider.yaml: not valid YAML"),
        ("SELECT * FROM tenantly.users.users", "service tenantly.users: "),
    ]:
        with pytest.raises(ProgrammingError) as info:
            dry_run(spoilt, sql)
        assert str(info.value).startswith(message), (sql, str(info.value))
        assert "\n" not in str(info.value)


def test_an_unreadable_document_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "thing.yaml"
    folder.mkdir()
    from cfql.provider.loader import read_yaml

    with pytest.raises(ProviderDocumentError, match=rf"^{folder}: cannot be read \("):
        read_yaml(folder)


def test_methods_are_built_one_at_a_time(nothing_pulled: Path) -> None:
    """A method whose document is broken is listed with its reason; the others of its resource are unharmed."""
    provider = registry(nothing_pulled).provider("kitchen")
    assert provider is not None
    oddities = provider.services["sink"].resources["oddities"]
    methods = oddities.methods
    assert list(methods) == ["list_oddities", "get_oddity", "graph_oddities", "post_xml", "fancy_oddity", "broken"]
    reasons = {name: methods[name].unsupported for name in methods}
    assert reasons == {
        "list_oddities": "",
        "get_oddity": "its response transform golang_template_mxj_v0.1.0 is not implemented",
        "graph_oddities": "it is a GraphQL query (x-stackQL-graphQL), which cfql does not run yet",
        "post_xml": "its request body is application/xml; cfql sends JSON and form-urlencoded bodies",
        "fancy_oddity": "its requestBodyTranslate algorithm get_fancy is not implemented",
        "broken": "its document cannot be read (missing '/nowhere')",
    }
    assert oddities.sql_verbs["select"] == ("list_oddities", "get_oddity")
    assert oddities.sql_verbs["exec"] == ("graph_oddities", "fancy_oddity", "broken")
    # what is known of an unsupported method is kept, so SHOW METHODS can list it
    assert (methods["get_oddity"].http_method, methods["get_oddity"].path) == ("GET", "/oddities/{oddity_id}")
    assert methods["get_oddity"].required_names == ("oddity_id",)


def test_show_methods_lists_the_methods_cfql_cannot_drive(nothing_pulled: Path) -> None:
    rows = dry_run(registry(nothing_pulled), "SHOW METHODS IN kitchen.sink.oddities")
    assert [(row["MethodName"], row["RequiredParams"], row["SQLVerb"]) for row in rows] == [
        ("get_oddity", "oddity_id", "SELECT"),
        ("list_oddities", "", "SELECT"),
        ("post_xml", "", "INSERT"),
        ("broken", "", "EXEC"),
        ("fancy_oddity", "", "EXEC"),
        ("graph_oddities", "", "EXEC"),
    ]


@pytest.mark.parametrize(
    "sql, reason",
    [
        ("EXEC kitchen.sink.oddities.graph_oddities", "it is a GraphQL query (x-stackQL-graphQL)"),
        ("EXEC kitchen.sink.oddities.fancy_oddity", "its requestBodyTranslate algorithm get_fancy is not implemented"),
        ("EXEC kitchen.sink.oddities.broken", "its document cannot be read (missing '/nowhere')"),
        ("EXEC kitchen.sink.oddities.post_xml", "its request body is application/xml"),
        ("INSERT INTO kitchen.sink.oddities (name) SELECT 'x'", "its request body is application/xml"),
        ("SELECT * FROM kitchen.sink.oddities WHERE oddity_id = 'o1'", "its response transform golang_template_mxj_v0.1.0"),
    ],
)
def test_choosing_a_method_cfql_cannot_drive_says_why(nothing_pulled: Path, sql: str, reason: str) -> None:
    with pytest.raises(NotSupportedError) as info:
        dry_run(registry(nothing_pulled), sql)
    message = str(info.value)
    assert message.startswith("kitchen.sink.oddities.") and " cannot be used: " in message and reason in message


# -- what the loader reads from documents ------------------------------------------------------------


def test_unknown_yaml_tags_load_as_plain_values() -> None:
    with open(ROOT / "src" / "kitchen" / "v1" / "services" / "sink.yaml", "rb") as fh:
        document = yaml_load(fh)
    assert document["x-notes"] == "arn:${Kitchen::Region}:sink"
    assert document["components"]["schemas"]["Item"]["x-origin"] == ["Pantry", "Shelf"]
    assert yaml_load("a: !Ref {b: 1}\nc: !!python/object/apply:os.getcwd []\nd: !If [x, 1, 2]\n") == {
        "a": {"b": 1},
        "c": [],  # a Python tag builds nothing: it is the plain value under it
        "d": ["x", 1, 2],
    }


def test_a_tagged_description_reaches_show_methods(nothing_pulled: Path) -> None:
    rows = dry_run(registry(nothing_pulled), "SHOW EXTENDED METHODS IN kitchen.sink.items")
    assert {row["MethodName"]: row["description"] for row in rows}["list_items"] == "Items of ${Kitchen::Name}"


def test_fields_take_their_places_from_the_document(nothing_pulled: Path) -> None:
    provider = registry(nothing_pulled).provider("kitchen")
    assert provider is not None
    sink = provider.services["sink"].resources
    listing = sink["items"].methods["list_items"]
    tag, mode = listing.parameters["X-Request-Tag"], listing.parameters["X-Trace-Mode"]
    assert (tag.location, tag.required, tag.default) == ("header", True, None)
    assert (mode.location, mode.required, mode.default) == ("header", False, "quiet")
    # Accept is the document's to set (an API may version itself by it), with its default sent
    accept = listing.parameters["Accept"]
    assert (accept.location, accept.required, accept.default) == ("header", False, "text/plain")
    assert listing.required_names == ("X-Request-Tag",) and listing.object_key == "$.items[*]"
    assert set(listing.row_schema["properties"]) == {"id", "name", "size"}

    getter = sink["items"].methods["get_item"]
    assert getter.object_key == "$.result" and set(getter.row_schema["properties"]) == {"id", "name", "size"}

    create = sink["items"].methods["create_item"]
    assert {name: f.api_name for name, f in create.body_fields.items()} == {"data__name": "name", "data__size": "size", "data__pin": "pin"}
    assert create.required_names == ("data__name",) and create.request_media == "application/json"

    stop = sink["items"].methods["stop_item"]
    assert (stop.has_body, stop.body_fields, stop.request_media) == (True, {}, "application/json")

    label = sink["items"].methods["label_item"]
    assert label.request_media == "application/x-www-form-urlencoded" and dict(label.body_base or {}) == {"source": "cfql"}
    assert set(label.body_fields) == {"label", "weight", "pinned", "extra", "source"}

    stack = sink["stacks"].methods["create_stack"]
    assert stack.body_wrap == "DesiredState" and dict(stack.body_base or {}) == {"TypeName": "Kitchen::Stack"}
    inside = {name: f.inside for name, f in stack.body_fields.items()}
    assert inside == {
        "ClientToken": None, "TypeName": None,
        "StackName": "DesiredState", "Size": "DesiredState", "Tags": "DesiredState", "MasterPassword": "DesiredState",
    }
    assert stack.required_names == ("StackName",) and stack.request_media == "application/x-amz-json-1.0"
    assert "Content-Type" not in stack.parameters and stack.parameters["X-Stack-Target"].default == "StackService.Create"


def test_server_variables_are_fields(nothing_pulled: Path) -> None:
    reg = registry(nothing_pulled)
    users = reg.resource("tenantly", "users", "users").methods["list_users"]  # type: ignore[union-attr]
    subdomain = users.parameters["subdomain"]
    assert (subdomain.location, subdomain.required, subdomain.default) == ("server", False, "demo")
    assert users.base_url == "https://{subdomain}.example.test/api/v1"
    groups = reg.resource("tenantly", "groups", "groups").methods["list_groups"]  # type: ignore[union-attr]
    port, tenant = groups.parameters["port"], groups.parameters["tenant"]
    assert (port.required, port.env_var, port.default) == (False, "TENANTLY_PORT", None)
    assert (tenant.required, tenant.default) == (False, "main")


def test_a_pagination_block_cfql_cannot_follow_refuses_the_reads_only(tmp_path: Path) -> None:
    """A service-wide block with an unknown algorithm: its list is refused with why; its insert still works."""
    service = tmp_path / "src" / "odd" / "v1" / "services"
    service.mkdir(parents=True)
    (service.parent / "provider.yaml").write_text(
        "id: odd\nname: odd\nversion: v1\nproviderServices:\n  things:\n    service:\n      $ref: odd/v1/services/things.yaml\n"
        "config:\n  auth:\n    type: null_auth\n"
    )
    (service / "things.yaml").write_text(
        """openapi: 3.0.3
info: {title: Things, version: v1}
servers: [{url: 'https://odd.test'}]
x-stackQL-config:
  pagination:
    requestToken: {key: page, location: query}
    responseToken: {key: next, location: body, algorithm: telepathy}
paths:
  /things:
    get:
      responses: {'200': {description: ok, content: {application/json: {schema: {type: array, items: {type: object}}}}}}
    post:
      requestBody: {content: {application/json: {schema: {type: object, properties: {name: {type: string}}}}}}
      responses: {'201': {description: ok}}
components:
  x-stackQL-resources:
    things:
      id: odd.things.things
      name: things
      methods:
        list: {operation: {$ref: '#/paths/~1things/get'}, response: {openAPIDocKey: '200'}}
        create:
          operation: {$ref: '#/paths/~1things/post'}
          config: {requestBodyTranslate: {algorithm: naive}}
          response: {openAPIDocKey: '201'}
      sqlVerbs:
        select: [{$ref: '#/components/x-stackQL-resources/things/methods/list'}]
        insert: [{$ref: '#/components/x-stackQL-resources/things/methods/create'}]
"""
    )
    reg = Registry(tmp_path, pulled_root=tmp_path / "none")
    methods = reg.resource("odd", "things", "things").methods
    assert "telepathy" in methods["list"].unsupported and methods["create"].unsupported == ""
    with Connection(Settings(dry_run=True), registry=reg) as conn:
        with pytest.raises(NotSupportedError, match="odd.things.things.list cannot be used: its pagination cannot be followed"):
            conn.execute("SELECT * FROM odd.things.things")
        (request,) = conn.execute("INSERT INTO odd.things.things (name) SELECT 'a'")
    assert (request["method"], request["url"], request["body"]) == ("POST", "https://odd.test/things", {"name": "a"})
