"""REGISTRY LIST and REGISTRY PULL against a StackQL-style registry served over loopback HTTP.

The registry is built here, at test time, from a few small YAML documents:
``dist/providers.yaml`` and ``dist/<provider>/<version>.tgz`` laid out as
StackQL's are (members under ``<version>/``). The same server also plays the
pulled provider's API, so a test can pull a provider and then query it, and
check that the registry never saw the provider's credential.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import typing as t
from pathlib import Path

import pytest

import cfql.provider.registry as registry_module
from cfql.cli.main import main
from cfql.connection import Connection
from cfql.errors import OperationalError, ProgrammingError, SQLSyntaxError
from cfql.provider.registry import Registry
from cfql.settings import Settings
from tests.loopback import LoopbackServer, Reply, Seen

REPO = Path(__file__).resolve().parents[2]
KEY = "wk-not-for-the-registry"

PROVIDER = """id: widgetco
name: widgetco
version: {version}
title: Widgetco {title}
providerServices:
  things:
    id: things:{version}
    name: things
    title: Things
    version: {version}
    preferred: true
    service:
      $ref: widgetco/{version}/services/things.yaml
config:
  auth:
    type: api_key
    name: X-Widget-Key
    credentialsenvvar: WIDGETCO_KEY
"""

SERVICE = """openapi: 3.0.3
info: {{title: Things, version: '1'}}
servers:
  - url: {api}
paths:
  /gadgets:
    get:
      operationId: list_gadgets
      responses:
        '200':
          description: Every gadget.
          content:
            application/json:
              schema:
                type: object
                properties:
                  gadgets:
                    type: array
                    items:
                      type: object
                      properties:
                        id: {{type: string}}
                        size: {{type: integer}}
components:
  x-stackQL-resources:
    gadgets:
      id: widgetco.things.gadgets
      name: gadgets
      title: Gadgets
      methods:
        list_gadgets:
          operation: {{$ref: '#/paths/~1gadgets/get'}}
          response: {{mediaType: application/json, openAPIDocKey: '200', objectKey: '$.gadgets'}}
      sqlVerbs:
        select:
          - {{$ref: '#/components/x-stackQL-resources/gadgets/methods/list_gadgets'}}
        insert: []
        update: []
        delete: []
        replace: []
"""


def archive(files: t.Mapping[str, bytes], links: t.Mapping[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buf.getvalue()


class Server(LoopbackServer):
    """A registry and an API on 127.0.0.1: files by path, every request recorded, some answers cut short."""

    def __init__(self) -> None:
        super().__init__(self.serve)
        self.files: dict[str, bytes] = {}
        self.cut: set[str] = set()  # paths whose body stops halfway, then the connection closes

    def serve(self, seen: Seen) -> Reply:
        data = self.files.get(seen.target) if seen.method == "GET" else None
        return Reply(404) if data is None else Reply(body=data, cut=seen.target in self.cut)

    def registry_requests(self) -> list[Seen]:
        return [seen for seen in self.seen if seen.target.startswith("/reg/")]

    def publish(self, version: str, title: str, **more: bytes) -> None:
        files = {
            f"{version}/provider.yaml": PROVIDER.format(version=version, title=title).encode(),
            f"{version}/provider.yaml.sig": b"AQAAAA7Z+0YzBi1E",
            f"{version}/services/things.yaml": SERVICE.format(api=self.url + "/api").encode(),
            **more,
        }
        self.files[f"/reg/dist/widgetco/{version}.tgz"] = archive(files)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> t.Iterator[Server]:
    monkeypatch.setenv("CFQL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CFQL_REGISTRY_URL", raising=False)
    monkeypatch.delenv("CFQL_REGISTRY", raising=False)
    monkeypatch.setattr(registry_module, "_default", None)  # a fresh process-wide registry, over this data dir
    monkeypatch.setenv("WIDGETCO_KEY", KEY)
    with Server() as served:
        served.files["/reg/dist/providers.yaml"] = (
            b"providers:\n  widgetco:\n    versions:\n    - v0.1.0\n    - v0.10.0\n    - v0.2.0\n"
            b"  zeta:\n    versions: [v00.00.00000, v24.03.00206]\n"
        )
        served.publish("v0.1.0", "one")
        served.publish("v0.10.0", "ten")
        served.files["/api/gadgets"] = json.dumps({"gadgets": [{"id": "g1", "size": 3}]}).encode()
        yield served


@pytest.fixture
def conn(server: Server, tmp_path: Path) -> t.Iterator[Connection]:
    registry = Registry(REPO / "manifests", pulled_root=tmp_path / "data" / "registry", hub_url=server.url + "/reg")
    with Connection(Settings(), registry=registry) as connection:
        yield connection


def pulled(tmp_path: Path) -> Path:
    return tmp_path / "data" / "registry" / "src" / "widgetco"


def dot_folders(tmp_path: Path) -> list[Path]:
    return list((tmp_path / "data" / "registry").rglob(".cfql-pull-*"))


# -- the statements ------------------------------------------------------------------------


def test_registry_list_gives_each_provider_its_latest_version(conn: Connection, server: Server) -> None:
    assert conn.execute("REGISTRY LIST") == [
        {"provider": "widgetco", "version": "v0.10.0"},
        {"provider": "zeta", "version": "v24.03.00206"},
    ]
    assert [seen.target for seen in server.seen] == ["/reg/dist/providers.yaml"]


def test_registry_list_of_a_provider_gives_every_version_oldest_first(conn: Connection) -> None:
    assert conn.execute("registry list widgetco;") == [
        {"provider": "widgetco", "version": v} for v in ("v0.1.0", "v0.2.0", "v0.10.0")
    ]


def test_registry_pull_installs_the_latest_and_the_same_session_can_query_it(
    conn: Connection, server: Server, tmp_path: Path
) -> None:
    assert conn.registry.provider("widgetco") is None
    (row,) = conn.execute("REGISTRY PULL widgetco")
    assert row["provider"] == "widgetco" and row["version"] == "v0.10.0"
    assert row["path"] == str(pulled(tmp_path) / "v0.10.0") and row["signature"] == "not verified"
    assert len(row["sha256"]) == 64
    assert sorted(p.name for p in pulled(tmp_path).iterdir()) == ["v0.10.0"]
    assert [(r["name"], r["title"]) for r in conn.execute("SHOW SERVICES IN widgetco")] == [("things", "Things")]
    assert conn.execute("SELECT id, size FROM widgetco.things.gadgets") == [{"id": "g1", "size": 3}]
    api = [seen.headers for seen in server.seen if seen.target == "/api/gadgets"]
    assert len(api) == 1 and api[0].get("x-widget-key") == KEY
    for seen in server.registry_requests():  # the provider's key went to its API, never to the registry
        assert KEY not in json.dumps(seen.headers) and "x-widget-key" not in seen.headers, seen.target


@pytest.mark.parametrize("sql", ["REGISTRY PULL widgetco v0.1.0", "REGISTRY PULL widgetco 'v0.1.0'", 'REGISTRY PULL "widgetco" v0.1.0'])
def test_registry_pull_of_a_named_version(conn: Connection, tmp_path: Path, sql: str) -> None:
    (row,) = conn.execute(sql)
    assert row["version"] == "v0.1.0"
    assert conn.registry.provider("widgetco").title == "Widgetco one"  # type: ignore[union-attr]


def test_the_latest_pulled_version_is_the_one_statements_use(conn: Connection) -> None:
    conn.execute("REGISTRY PULL widgetco v0.10.0")
    conn.execute("REGISTRY PULL widgetco v0.1.0")
    assert conn.registry.provider("widgetco").title == "Widgetco ten"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("sql", "error", "says"),
    [
        ("REGISTRY PULL nothere", ProgrammingError, "has no provider nothere"),
        ("REGISTRY PULL widgetc", ProgrammingError, "has no provider widgetc (did you mean 'widgetco'?)"),
        ("REGISTRY PULL widgetco v9.0.0", ProgrammingError, "provider widgetco has no version v9.0.0 (it has v0.1.0, v0.2.0, v0.10.0)"),
        ("REGISTRY PULL widgetco v0.2.0", OperationalError, "/reg/dist/widgetco/v0.2.0.tgz not found (HTTP 404)"),
        ("REGISTRY LIST nothere", ProgrammingError, "has no provider nothere"),
        ("REGISTRY PULL ../../etc", ProgrammingError, "'../../etc' is not a provider name"),
        ("REGISTRY PULL widgetco latest", ProgrammingError, "'latest' is not a provider version"),
        ("REGISTRY PULL", SQLSyntaxError, "REGISTRY PULL needs a provider"),
        ("REGISTRY FETCH widgetco", SQLSyntaxError, "Expected REGISTRY LIST [provider] or REGISTRY PULL provider [version]"),
    ],
)
def test_a_pull_of_what_is_not_there_is_one_clear_line_and_installs_nothing(
    conn: Connection, tmp_path: Path, sql: str, error: type[Exception], says: str
) -> None:
    with pytest.raises(error) as caught:
        conn.execute(sql)
    assert says in str(caught.value) and "\n" not in str(caught.value)
    assert not pulled(tmp_path).exists()


HOSTILE = {
    "a member with ..": {"v0.10.0/../../../escaped.yaml": b"x"},
    "an absolute member": {"/tmp/escaped-by-cfql-test.yaml": b"x"},
    "a member outside its version": {"v0.9.0/provider.yaml": b"name: widgetco"},
}


@pytest.mark.parametrize("case", [*sorted(HOSTILE), "a symbolic link", "no provider.yaml", "a dropped connection"])
def test_a_failed_pull_leaves_the_previous_copy_usable_and_no_temporary_folder(
    conn: Connection, server: Server, tmp_path: Path, case: str
) -> None:
    conn.execute("REGISTRY PULL widgetco v0.10.0")
    before = {p: p.read_bytes() for p in (pulled(tmp_path) / "v0.10.0").rglob("*") if p.is_file()}
    path = "/reg/dist/widgetco/v0.10.0.tgz"
    if case in HOSTILE:
        server.publish("v0.10.0", "evil", **HOSTILE[case])
    elif case == "a symbolic link":
        server.files[path] = archive({"v0.10.0/provider.yaml": b"name: widgetco\n"}, {"v0.10.0/services": "/etc"})
    elif case == "no provider.yaml":
        server.files[path] = archive({"v0.10.0/services/things.yaml": b"openapi: 3.0.3\n"})
    else:
        server.publish("v0.10.0", "cut off")
        server.cut.add(path)
    with pytest.raises(OperationalError) as caught:
        conn.execute("REGISTRY PULL widgetco")
    assert "\n" not in str(caught.value)
    assert ("cannot fetch" if case == "a dropped connection" else "is refused") in str(caught.value)
    after = {p: p.read_bytes() for p in (pulled(tmp_path) / "v0.10.0").rglob("*") if p.is_file()}
    assert after == before
    assert dot_folders(tmp_path) == []
    assert not (tmp_path / "data" / "escaped.yaml").exists() and not Path("/tmp/escaped-by-cfql-test.yaml").exists()
    conn.registry.refresh()
    assert conn.registry.provider("widgetco").title == "Widgetco ten"  # type: ignore[union-attr]
    assert conn.execute("SELECT id FROM widgetco.things.gadgets") == [{"id": "g1"}]


def test_under_dry_run_registry_statements_send_nothing_and_say_what_they_would_fetch(
    server: Server, tmp_path: Path
) -> None:
    registry = Registry(REPO / "manifests", pulled_root=tmp_path / "data" / "registry", hub_url=server.url + "/reg")
    with Connection(Settings(dry_run=True), registry=registry) as conn:
        listing = conn.run("REGISTRY LIST")
        latest = conn.run("REGISTRY PULL widgetco")
        named = conn.run("REGISTRY PULL widgetco v0.1.0")
    assert listing.dry_run and latest.dry_run and named.dry_run
    assert [row["url"] for row in listing.rows] == [server.url + "/reg/dist/providers.yaml"]
    assert [(row["method"], row["url"]) for row in latest.rows] == [
        ("GET", server.url + "/reg/dist/providers.yaml"),
        ("GET", server.url + "/reg/dist/widgetco/:latest.tgz"),
    ]
    assert named.rows[1]["url"] == server.url + "/reg/dist/widgetco/v0.1.0.tgz"
    assert server.seen == []
    assert not (tmp_path / "data").exists()


def test_a_changed_registry_url_is_used_by_a_statement_already_planned(conn: Connection, server: Server) -> None:
    conn.execute("REGISTRY LIST")
    conn.registry.hub_url = server.url + "/elsewhere"
    with pytest.raises(OperationalError, match="/elsewhere/dist/providers.yaml not found"):
        conn.execute("REGISTRY LIST")


# -- the command ---------------------------------------------------------------------------


def test_cfql_registry_list_and_pull(server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["registry", "list", "--registry-url", server.url + "/reg"]) == 0
    table = capsys.readouterr().out
    assert "| widgetco | v0.10.0      |" in table and "| zeta     | v24.03.00206 |" in table
    assert main(["registry", "list", "widgetco", "-o", "json", "--registry-url", server.url + "/reg/"]) == 0
    assert [r["version"] for r in json.loads(capsys.readouterr().out)] == ["v0.1.0", "v0.2.0", "v0.10.0"]
    assert main(["registry", "pull", "widgetco", "v0.1.0", "-o", "json", "--registry-url", server.url + "/reg"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["path"] == str(pulled(tmp_path) / "v0.1.0") and row["signature"] == "not verified"
    assert (pulled(tmp_path) / "v0.1.0" / "provider.yaml").is_file()


def test_cfql_registry_reads_the_url_from_the_environment(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CFQL_REGISTRY_URL", server.url + "/reg")
    assert main(["registry", "pull", "widgetco", "-H", "-o", "csv"]) == 0
    assert capsys.readouterr().out.startswith("widgetco,v0.10.0,")
    monkeypatch.setenv("CFQL_REGISTRY_URL", "ftp://nowhere")
    assert main(["registry", "list"]) == 1
    assert capsys.readouterr().err == "cfql: error: CFQL_REGISTRY_URL: registry URL must be http:// or https:// with a host, not 'ftp://nowhere'\n"


def test_cfql_exec_runs_registry_statements_with_the_flag(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["exec", "--registry-url", server.url + "/reg", "-o", "json", "REGISTRY PULL widgetco v0.1.0; REGISTRY LIST zeta"])
    assert code == 0
    pull, listing = json.loads(capsys.readouterr().out)
    assert pull[0]["version"] == "v0.1.0" and [r["version"] for r in listing] == ["v00.00.00000", "v24.03.00206"]


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["registry", "pull", "nothere"], 1, "cfql: error: registry {url}/reg has no provider nothere\n"),
        (["registry", "pull", "widgetco", "v9"], 1, "cfql: error: registry {url}/reg: provider widgetco has no version v9 (it has v0.1.0, v0.2.0, v0.10.0)\n"),
        (["registry", "list", "--registry-url", "https://u:hunter2@example.test"], 2, "registry URL must not hold a user name or password"),
        (["registry", "pull"], 2, "the following arguments are required: provider"),
        (["registry"], 2, "the following arguments are required: ACTION"),
    ],
)
def test_cfql_registry_bad_input_is_one_line_and_a_non_zero_exit(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, says: str
) -> None:
    if code == 1:
        argv = [*argv, "--registry-url", server.url + "/reg"]
    if code == 2:
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
    else:
        assert main(argv) == 1
    captured = capsys.readouterr()
    assert says.format(url=server.url) in captured.err and captured.err.count("\n") == 1
    assert "hunter2" not in captured.err and "Traceback" not in captured.err
    assert captured.out == "" and not pulled(tmp_path).exists()


def test_cfql_registry_pull_as_a_process(server: Server, tmp_path: Path) -> None:
    env = {**os.environ, "CFQL_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "cfql", "registry", "pull", "widgetco", "--registry-url", server.url + "/reg", "-o", "json"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["path"] == str(pulled(tmp_path) / "v0.10.0")
    server.cut.add("/reg/dist/widgetco/v0.10.0.tgz")
    failed = subprocess.run(
        [sys.executable, "-m", "cfql", "registry", "pull", "widgetco", "--registry-url", server.url + "/reg"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.startswith("cfql: error: registry: cannot fetch ") and failed.stderr.count("\n") == 1
    assert (pulled(tmp_path) / "v0.10.0" / "provider.yaml").is_file() and dot_folders(tmp_path) == []
