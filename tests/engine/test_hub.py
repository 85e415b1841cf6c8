"""cfql.provider.hub over httpx.MockTransport: the registry list, the checks of every archive member,
and a pull that either installs the new copy or leaves the previous one as it was.

Archives are built here with tarfile, from a few bytes of YAML; nothing is read from outside the repo.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import typing as t
from pathlib import Path

import httpx
import pytest

from cfql.errors import InterfaceError, OperationalError, ProgrammingError
from cfql.provider import hub
from cfql.sql.dialect import RegistryStatement, parse_statement

URL = "https://registry.test/providers"
INDEX = b"""providers:
  acme:
    versions:
    - v0.1.9
    - v0.1.10
    - v0.1.2
  zeta:
    versions: [v00.00.00000, v24.03.00206, v1.0.4]
"""
PROVIDER_YAML = b"id: acme\nname: acme\ntitle: Acme %s\nproviderServices: {}\n"


Member = tuple[tarfile.TarInfo, "bytes | None"]


def member(name: str, data: bytes | None = None, kind: bytes = tarfile.REGTYPE, link: str = "") -> Member:
    """A tar member: with ``data`` a regular file of those bytes, without a folder (or ``kind``)."""
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if data is None and kind == tarfile.REGTYPE else kind
    info.linkname = link
    if data is not None:
        info.size = len(data)
    return info, data


def tgz(*members: Member) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def good(version: str, title: str = "one") -> bytes:
    """An archive laid out as StackQL's are: every member under ``<version>/``, a .sig beside each document."""
    return tgz(
        member(version),
        member(f"{version}/provider.yaml", PROVIDER_YAML % title.encode()),
        member(f"{version}/provider.yaml.sig", b"AQAAAA=="),
        member(f"{version}/services"),
        member(f"{version}/services/widgets.yaml", b"openapi: 3.0.3\n"),
        member(f"{version}/services/widgets.yaml.sig", b"AQAAAA=="),
    )


class Registry:
    """A MockTransport handler serving files by path; records every request it gets."""

    def __init__(self, files: dict[str, bytes | httpx.Response] | None = None) -> None:
        self.files: dict[str, bytes | httpx.Response] = {"/providers/dist/providers.yaml": INDEX, **(files or {})}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        found = self.files.get(request.url.path)
        if isinstance(found, httpx.Response):
            return found
        return httpx.Response(200, content=found) if found is not None else httpx.Response(404)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def archive(self, version: str, data: bytes, provider: str = "acme") -> None:
        self.files[f"/providers/dist/{provider}/{version}.tgz"] = data


def leftovers(root: Path) -> list[str]:
    """Everything under ``root/src`` whose name starts with a dot: what a pull must never leave."""
    return sorted(str(p.relative_to(root)) for p in (root / "src").rglob(".*"))


# -- versions, names, URLs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("versions", "newest"),
    [
        (["v0.1.9", "v0.1.10", "v0.1.2"], "v0.1.10"),
        (["v00.00.00000", "v24.03.00206", "v1.0.4"], "v24.03.00206"),
        (["v24.03.00206", "v24.11.00100", "v24.03.00999"], "v24.11.00100"),
        (["v00.00.00000"], "v00.00.00000"),
        (["v2", "v1.9.9"], "v2"),
    ],
)
def test_the_latest_version_is_the_highest_by_its_numbers(versions: list[str], newest: str) -> None:
    assert hub.latest(versions) == newest


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://registry.stackql.app/providers/", "https://registry.stackql.app/providers"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("  HTTPS://Example.COM/a/b  ", "https://example.com/a/b"),
    ],
)
def test_a_registry_url_is_kept_without_its_trailing_slash(given: str, kept: str) -> None:
    assert hub.check_url(given) == kept
    assert hub.index_url(given) == kept + "/dist/providers.yaml"
    assert hub.archive_url(given, "okta", "v0.1.0") == kept + "/dist/okta/v0.1.0.tgz"


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("file:///tmp/registry", "http:// or https://"),
        ("registry.stackql.app", "http:// or https://"),
        ("", "http:// or https://"),
        ("https://user:hunter2@example.com/", "must not hold a user name or password"),
        ("https://example.com/?token=x", "query"),
        ("https://example.com/#x", "fragment"),
    ],
)
def test_an_unusable_registry_url_is_one_line_and_never_echoes_a_password(given: str, says: str) -> None:
    with pytest.raises(InterfaceError) as caught:
        hub.check_url(given)
    assert says in str(caught.value) and "\n" not in str(caught.value)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("name", ["okta", "googleapis.com", "azure_extras", "databricks-account", "k8s"])
def test_provider_names_stackql_uses_are_accepted(name: str) -> None:
    assert hub.check_provider(name) == name


@pytest.mark.parametrize("name", ["../etc", "a/b", "..", ".hidden", "a..b", "", "a b", "a\\b", "-x"])
def test_a_provider_name_that_is_no_single_path_segment_is_refused(name: str) -> None:
    with pytest.raises(ProgrammingError, match="is not a provider name"):
        hub.check_provider(name)


@pytest.mark.parametrize("version", ["0.1.0", "v0.1.0-beta", "v0.1.0/..", "latest", "v", "v1..2", "V1.0"])
def test_a_version_not_written_vN_N_N_is_refused(version: str) -> None:
    with pytest.raises(ProgrammingError, match="is not a provider version"):
        hub.check_version(version)


# -- the list ------------------------------------------------------------------------------


def test_the_list_gives_each_provider_its_versions_oldest_first() -> None:
    served = Registry()
    assert hub.list_providers(URL, transport=served.transport) == {
        "acme": ["v0.1.2", "v0.1.9", "v0.1.10"],
        "zeta": ["v00.00.00000", "v1.0.4", "v24.03.00206"],
    }
    (request,) = served.requests
    assert str(request.url) == URL + "/dist/providers.yaml" and request.method == "GET"


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (b"providers:\n\tacme: 1\n", "not valid YAML at line 2"),
        (b"- just\n- a list\n", "no 'providers:' mapping"),
        (b"providers: [acme]\n", "no 'providers:' mapping"),
        (b"<html>Not found</html>", "no 'providers:' mapping"),
        (b"providers: {acme: {}}\n", "provider acme has no 'versions:' list"),
        (b"providers: {acme: {versions: []}}\n", "provider acme has no 'versions:' list"),
        (b"providers: {acme: {versions: [1.0]}}\n", "provider acme: 1.0 is not a version"),
        (b"providers: {acme: {versions: ['v1/../../x']}}\n", "is not a version"),
        (b"providers: {'../x': {versions: [v1]}}\n", "'../x' is not a provider name"),
        (b"providers: {acme: {versions: [!!python/object:os.system x]}}\n", "not valid YAML"),
        (b"[" * 100_000, "not a provider list"),
    ],
)
def test_a_list_of_another_shape_is_one_line_naming_what_is_wrong(document: bytes, says: str) -> None:
    served = Registry({"/providers/dist/providers.yaml": document})
    with pytest.raises(OperationalError) as caught:
        hub.list_providers(URL, transport=served.transport)
    message = str(caught.value)
    assert says in message and "\n" not in message
    assert message.startswith(f"registry: {URL}/dist/providers.yaml is not a provider list")


def test_a_list_over_the_size_limit_is_not_read_to_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "MAX_INDEX_BYTES", 1000)
    given: list[int] = []

    def chunks() -> t.Iterator[bytes]:
        for index in range(1000):
            given.append(index)
            yield b"#" * 100 + b"\n"

    served = Registry({"/providers/dist/providers.yaml": httpx.Response(200, content=chunks())})
    with pytest.raises(OperationalError, match="over the 0.000953674 MB cfql accepts; stopped reading it"):
        hub.list_providers(URL, transport=served.transport)
    assert len(given) < 20


def test_a_declared_length_over_the_limit_is_refused_before_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "MAX_INDEX_BYTES", 1 << 20)
    big = httpx.Response(200, headers={"Content-Length": str(50 << 20)}, content=b"x")
    served = Registry({"/providers/dist/providers.yaml": big})
    with pytest.raises(OperationalError, match="is 50 MB, over the 1 MB cfql accepts"):
        hub.list_providers(URL, transport=served.transport)


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (httpx.Response(404), f"registry: {URL}/dist/providers.yaml not found (HTTP 404)"),
        (httpx.Response(503), f"registry: GET {URL}/dist/providers.yaml answered HTTP 503"),
    ],
)
def test_an_error_status_is_one_line_naming_the_url(answer: httpx.Response, says: str) -> None:
    with pytest.raises(OperationalError) as caught:
        hub.list_providers(URL, transport=Registry({"/providers/dist/providers.yaml": answer}).transport)
    assert str(caught.value) == says


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (httpx.ConnectError("refused"), f"registry: cannot fetch {URL}/dist/providers.yaml (ConnectError: refused)"),
        (httpx.ReadTimeout("slow"), f"registry: no answer from {URL}/dist/providers.yaml within 60 s"),
    ],
)
def test_a_network_failure_is_one_line_naming_the_url(error: Exception, says: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(OperationalError) as caught:
        hub.list_providers(URL, transport=httpx.MockTransport(fail))
    assert str(caught.value) == says


def test_an_https_registry_is_never_followed_to_plain_http() -> None:
    served = Registry({"/providers/dist/providers.yaml": httpx.Response(302, headers={"Location": "http://registry.test/elsewhere"})})
    with pytest.raises(OperationalError, match="redirects to http://registry.test/elsewhere, plain http; not following it"):
        hub.list_providers(URL, transport=served.transport)
    assert [str(r.url) for r in served.requests] == [URL + "/dist/providers.yaml"]  # the http one was never sent


def test_a_redirect_within_https_is_followed() -> None:
    served = Registry({
        "/providers/dist/providers.yaml": httpx.Response(301, headers={"Location": "https://mirror.test/p/dist/providers.yaml"}),
        "/p/dist/providers.yaml": INDEX,
    })
    assert sorted(hub.list_providers(URL, transport=served.transport)) == ["acme", "zeta"]
    assert [r.url.host for r in served.requests] == ["registry.test", "mirror.test"]


def test_registry_requests_carry_no_credential_whatever_the_environment_holds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("CLOUDFLARE_API_TOKEN", "OKTA_SECRET_KEY", "ACME_API_KEY", "GITHUB_TOKEN"):
        monkeypatch.setenv(name, "s3cret-" + name)
    served = Registry()
    served.archive("v0.1.10", good("v0.1.10"))
    hub.pull(URL, "acme", into=tmp_path, transport=served.transport)
    assert len(served.requests) == 2
    for request in served.requests:
        assert request.headers["User-Agent"].startswith("cfql/")
        assert {"authorization", "cookie", "x-auth-key", "x-auth-email"}.isdisjoint(k.lower() for k in request.headers)
        assert "s3cret" not in str(request.headers) and "s3cret" not in str(request.url)


# -- pulling -------------------------------------------------------------------------------


def test_a_pull_installs_the_latest_version_with_every_member_and_its_checksum(tmp_path: Path) -> None:
    served = Registry()
    archive = good("v0.1.10")
    served.archive("v0.1.10", archive)
    pulled = hub.pull(URL, "acme", into=tmp_path, transport=served.transport)
    assert pulled == hub.Pulled("acme", "v0.1.10", tmp_path / "src" / "acme" / "v0.1.10", hashlib.sha256(archive).hexdigest())
    assert str(served.requests[-1].url) == URL + "/dist/acme/v0.1.10.tgz"
    assert sorted(str(p.relative_to(pulled.path)) for p in pulled.path.rglob("*")) == [
        "provider.yaml", "provider.yaml.sig", "services", "services/widgets.yaml", "services/widgets.yaml.sig",
    ]
    assert (pulled.path / "provider.yaml").read_bytes() == PROVIDER_YAML % b"one"
    assert leftovers(tmp_path) == []


def test_a_named_version_is_pulled_even_when_a_later_one_exists(tmp_path: Path) -> None:
    served = Registry()
    served.archive("v0.1.2", good("v0.1.2"))
    pulled = hub.pull(URL, "acme", "v0.1.2", into=tmp_path, transport=served.transport)
    assert pulled.version == "v0.1.2" and (tmp_path / "src/acme/v0.1.2/provider.yaml").is_file()


def test_pulling_a_version_again_replaces_it(tmp_path: Path) -> None:
    served = Registry()
    served.archive("v0.1.2", good("v0.1.2", "one"))
    hub.pull(URL, "acme", "v0.1.2", into=tmp_path, transport=served.transport)
    served.archive("v0.1.2", tgz(member("v0.1.2/provider.yaml", PROVIDER_YAML % b"two")))
    hub.pull(URL, "acme", "v0.1.2", into=tmp_path, transport=served.transport)
    folder = tmp_path / "src/acme/v0.1.2"
    assert sorted(p.name for p in folder.iterdir()) == ["provider.yaml"]  # nothing of the old copy mixed in
    assert (folder / "provider.yaml").read_bytes() == PROVIDER_YAML % b"two"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("provider", "version", "says"),
    [
        ("nope", None, f"registry {URL} has no provider nope"),
        ("acmee", None, f"registry {URL} has no provider acmee (did you mean 'acme'?)"),
        ("acme", "v9.9.9", f"registry {URL}: provider acme has no version v9.9.9 (it has v0.1.2, v0.1.9, v0.1.10)"),
    ],
)
def test_pulling_what_the_registry_does_not_list_is_one_line_and_fetches_no_archive(
    tmp_path: Path, provider: str, version: str | None, says: str
) -> None:
    served = Registry()
    with pytest.raises(ProgrammingError) as caught:
        hub.pull(URL, provider, version, into=tmp_path, transport=served.transport)
    assert str(caught.value) == says
    assert [r.url.path for r in served.requests] == ["/providers/dist/providers.yaml"]
    assert not (tmp_path / "src").exists() or list((tmp_path / "src").iterdir()) == []


def test_a_listed_version_whose_archive_is_missing_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(OperationalError, match=r"^registry: .*/dist/acme/v0.1.10.tgz not found \(HTTP 404\)$"):
        hub.pull(URL, "acme", into=tmp_path, transport=Registry().transport)
    assert not (tmp_path / "src/acme").exists()


HOSTILE = {
    "a member with ..": (tgz(member("v1/provider.yaml", b"a: 1"), member("v1/../../escape.yaml", b"x")), "'v1/../../escape.yaml' is not a plain relative path"),
    "an absolute member": (tgz(member("v1/provider.yaml", b"a: 1"), member("/tmp/escape.yaml", b"x")), "'/tmp/escape.yaml' is not a plain relative path"),
    "a member outside the version": (tgz(member("v1/provider.yaml", b"a: 1"), member("v2/provider.yaml", b"a: 1")), "'v2/provider.yaml' is outside v1/"),
    "the provider/version layout": (tgz(member("acme/v1/provider.yaml", b"a: 1")), "'acme/v1/provider.yaml' is outside v1/"),
    "a symbolic link": (tgz(member("v1/provider.yaml", b"a: 1"), member("v1/services", kind=tarfile.SYMTYPE, link="/etc")), "v1/services is a symbolic link (to '/etc')"),
    "a hard link": (tgz(member("v1/provider.yaml", b"a: 1"), member("v1/passwd", kind=tarfile.LNKTYPE, link="/etc/passwd")), "v1/passwd is a hard link (to '/etc/passwd')"),
    "a device": (tgz(member("v1/provider.yaml", b"a: 1"), member("v1/null", kind=tarfile.CHRTYPE)), "v1/null is a device or pipe"),
    "a fifo": (tgz(member("v1/provider.yaml", b"a: 1"), member("v1/pipe", kind=tarfile.FIFOTYPE)), "v1/pipe is a device or pipe"),
    "a member twice": (tgz(member("v1/provider.yaml", b"a: 1"), member("v1/provider.yaml", b"b: 2")), "v1/provider.yaml appears twice"),
    "a backslash": (tgz(member("v1/provider.yaml", b"a: 1"), member("v1\\..\\x", b"x")), "is not a plain relative path"),
    "no provider.yaml": (tgz(member("v1/services/widgets.yaml", b"openapi: 3.0.3")), "it has no v1/provider.yaml"),
    "provider.yaml as a folder": (tgz(member("v1/provider.yaml")), "it has no v1/provider.yaml"),
    "provider.yaml that is no mapping": (tgz(member("v1/provider.yaml", b"- a\n- b\n")), "v1/provider.yaml is not a YAML mapping"),
    "provider.yaml that is no YAML": (tgz(member("v1/provider.yaml", b"a: [")), "v1/provider.yaml is not a YAML mapping"),
    "not gzip at all": (b"<html>oops</html>", "not a readable tar.gz"),
    "a truncated archive": (good("v1")[:-40], "not a readable tar.gz"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_or_broken_archive_is_refused_and_the_previous_copy_stays(tmp_path: Path, case: str) -> None:
    served = Registry({"/providers/dist/providers.yaml": b"providers: {acme: {versions: [v1]}}"})
    served.archive("v1", good("v1", "kept"))
    hub.pull(URL, "acme", into=tmp_path, transport=served.transport)
    data, says = HOSTILE[case]
    served.archive("v1", data)
    with pytest.raises(OperationalError) as caught:
        hub.pull(URL, "acme", into=tmp_path, transport=served.transport)
    message = str(caught.value)
    assert message.startswith(f"registry: {URL}/dist/acme/v1.tgz is refused: ") and says in message
    assert "\n" not in message
    assert (tmp_path / "src/acme/v1/provider.yaml").read_bytes() == PROVIDER_YAML % b"kept"
    assert leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [".pull.lock", "src"]  # nothing escaped beside it
    assert sorted(p.name for p in (tmp_path / "src").iterdir()) == ["acme"]


def test_a_refused_first_pull_leaves_no_provider_folder(tmp_path: Path) -> None:
    served = Registry({"/providers/dist/providers.yaml": b"providers: {acme: {versions: [v1]}}"})
    served.archive("v1", HOSTILE["a symbolic link"][0])
    with pytest.raises(OperationalError, match="symbolic link"):
        hub.pull(URL, "acme", into=tmp_path, transport=served.transport)
    assert list((tmp_path / "src").iterdir()) == []


@pytest.mark.parametrize(("limit", "value", "says"), [("MAX_MEMBERS", 3, "more than 3 members"), ("MAX_UNPACKED_BYTES", 20, "it unpacks to over")])
def test_an_archive_past_the_limits_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str, value: int, says: str) -> None:
    monkeypatch.setattr(hub, limit, value)
    served = Registry({"/providers/dist/providers.yaml": b"providers: {acme: {versions: [v1]}}"})
    served.archive("v1", good("v1"))
    with pytest.raises(OperationalError, match=says):
        hub.pull(URL, "acme", into=tmp_path, transport=served.transport)
    assert not (tmp_path / "src/acme").exists()


def test_an_archive_over_the_download_limit_is_not_read_to_its_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "MAX_ARCHIVE_BYTES", 4096)
    sent: list[int] = []

    def chunks() -> t.Iterator[bytes]:
        for index in range(10_000):
            sent.append(index)
            yield os.urandom(1024)

    served = Registry({"/providers/dist/providers.yaml": b"providers: {acme: {versions: [v1]}}"})
    served.archive("v1", httpx.Response(200, content=chunks()))  # type: ignore[arg-type]
    with pytest.raises(OperationalError, match="over the 0.00390625 MB cfql accepts; stopped reading it"):
        hub.pull(URL, "acme", into=tmp_path, transport=served.transport)
    assert len(sent) < 10 and not (tmp_path / "src/acme").exists()


def test_a_connection_lost_mid_archive_leaves_the_previous_copy(tmp_path: Path) -> None:
    served = Registry({"/providers/dist/providers.yaml": b"providers: {acme: {versions: [v1]}}"})
    served.archive("v1", good("v1", "kept"))
    hub.pull(URL, "acme", into=tmp_path, transport=served.transport)
    data = good("v1", "new")

    def cut() -> t.Iterator[bytes]:
        yield data[: len(data) // 2]
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    served.archive("v1", httpx.Response(200, content=cut()))  # type: ignore[arg-type]
    with pytest.raises(OperationalError, match=r"cannot fetch .*/dist/acme/v1.tgz \(RemoteProtocolError: peer closed"):
        hub.pull(URL, "acme", into=tmp_path, transport=served.transport)
    assert (tmp_path / "src/acme/v1/provider.yaml").read_bytes() == PROVIDER_YAML % b"kept"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("call", [1, 2])
def test_an_interrupt_at_either_rename_leaves_the_previous_copy_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: int
) -> None:
    """Ctrl-C after the old copy was set aside (call 2) or before (call 1): it is where it was, after."""
    served = Registry({"/providers/dist/providers.yaml": b"providers: {acme: {versions: [v1]}}"})
    served.archive("v1", good("v1", "kept"))
    hub.pull(URL, "acme", into=tmp_path, transport=served.transport)
    served.archive("v1", good("v1", "new"))
    real = os.replace
    calls: list[tuple[str, str]] = []

    def replace(source: t.Any, target: t.Any) -> None:
        calls.append((str(source), str(target)))
        if len(calls) == call:
            raise KeyboardInterrupt
        real(source, target)

    monkeypatch.setattr(hub.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        hub.pull(URL, "acme", into=tmp_path, transport=served.transport)
    monkeypatch.setattr(hub.os, "replace", real)
    assert (tmp_path / "src/acme/v1/provider.yaml").read_bytes() == PROVIDER_YAML % b"kept"
    assert leftovers(tmp_path) == []


def test_a_copy_set_aside_by_a_killed_pull_is_put_back_by_the_next_pull(tmp_path: Path) -> None:
    """A pull killed between its two renames leaves the old copy in its dot-folder; the next pull restores it."""
    aside = tmp_path / "src/other/.cfql-pull-killed/previous/v3"
    aside.mkdir(parents=True)
    (aside / "provider.yaml").write_bytes(b"name: other\n")
    (tmp_path / "src/other/.cfql-pull-killed/archive.tgz").write_bytes(b"half")
    stale = tmp_path / "src/acme/.cfql-pull-old"
    stale.mkdir(parents=True)
    (stale / "archive.tgz").write_bytes(b"half")
    served = Registry()
    served.archive("v0.1.10", good("v0.1.10"))
    hub.pull(URL, "acme", into=tmp_path, transport=served.transport)
    assert (tmp_path / "src/other/v3/provider.yaml").read_bytes() == b"name: other\n"
    assert leftovers(tmp_path) == []


def test_the_statement_parses_with_a_position_for_its_errors() -> None:
    node = parse_statement("REGISTRY PULL googleapis.com v24.03.00206")
    assert isinstance(node, RegistryStatement)
    assert (node.args["provider"].name, node.args["version"].name) == ("googleapis.com", "v24.03.00206")
    assert parse_statement("registry pull okta 'v0.1.0'").args["version"].name == "v0.1.0"
    assert parse_statement("REGISTRY LIST").args["provider"] is None
    for sql, where in [("REGISTRY FETCH okta", "line 1, column 14"), ("REGISTRY LIST a\n  b", "line 2, column 3")]:
        with pytest.raises(ProgrammingError, match=where):
            parse_statement(sql)
