"""Credentials on the wire: what each auth form puts in a real HTTP request, over loopback.

A ``tests.loopback`` server on 127.0.0.1 records every request's path, query
and headers. The providers of ``tests/data/auth_providers`` (one per auth form,
in StackQL's registry layout) point at it through ``$AUTH_TEST_BASE_URL``; the
CLI's ``--auth`` and ``$CFQL_AUTH`` are driven against the shipped Cloudflare
provider with ``--base-url``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from cfql import APIError, Connection, NotSupportedError, Settings
from cfql.provider.registry import Registry
from tests.loopback import LoopbackServer, Reply, Seen

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "data" / "auth_providers"
SELECT = "SELECT id, name FROM {}.things.things"
B64 = base64.b64encode(b"user-1:pass-2").decode()
MEETINGS = "INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id) SELECT 'acct-1', 'app-1'"


def answer(seen: Seen) -> Reply:
    """One thing for every request, except that ``kind=reject`` in the query gets a 401.

    The 401's message echoes every header and query value the request
    carried (a basic credential decoded too), as a careless API might.
    """
    if seen.params.get("kind") != "reject":
        return Reply.json({"items": [{"id": "t1", "name": "one"}], "success": True, "data": [{"id": "m1"}]})
    carried = [*seen.headers.values(), *seen.params.values()]
    basic = seen.headers.get("authorization", "").partition("Basic ")[2]
    if basic:
        carried.append(base64.b64decode(basic).decode())
    return Reply.json({"message": "rejected: " + " | ".join(carried)}, 401)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> t.Iterator[LoopbackServer]:
    with LoopbackServer(answer) as recorder:
        monkeypatch.setenv("AUTH_TEST_BASE_URL", recorder.url + "/v1")
        monkeypatch.delenv("CFQL_AUTH", raising=False)
        yield recorder


def run(sql: str, **settings: t.Any) -> list[dict[str, t.Any]]:
    with Connection(Settings(retries=0, **settings), registry=Registry(ROOT, pulled_root=ROOT)) as conn:
        return conn.execute(sql)


def credential_headers(seen: Seen) -> dict[str, str]:
    """The headers a request carried beyond what every request carries."""
    common = {"host", "accept", "accept-encoding", "connection", "user-agent", "content-type", "content-length"}
    return {name: value for name, value in seen.headers.items() if name not in common}


def test_an_okta_style_api_key_goes_after_ssws(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKTA_LIKE_TOKEN", "00okta-token")
    assert run(SELECT.format("okta_like")) == [{"id": "t1", "name": "one"}]
    (seen,) = server.seen
    assert seen.path == "/v1/things" and credential_headers(seen) == {"authorization": "SSWS 00okta-token"}


def test_an_anthropic_style_custom_header(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_LIKE_KEY", "sk-ant-1")
    run(SELECT.format("anthropic_like"))
    assert credential_headers(server.seen[0]) == {"x-api-key": "sk-ant-1"}


def test_a_datadog_style_successor_sends_both_keys(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATADOG_LIKE_API_KEY", "dd-api-1")
    monkeypatch.setenv("DATADOG_LIKE_APP_KEY", "dd-app-2")
    run(SELECT.format("datadog_like"))
    assert credential_headers(server.seen[0]) == {"dd-api-key": "dd-api-1", "dd-application-key": "dd-app-2"}


def test_basic_sends_user_and_password_encoded(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASIC_LIKE_USER", "key-id")
    monkeypatch.setenv("BASIC_LIKE_PASSWORD", "pä55:word")  # a colon in the password is allowed; UTF-8 inside
    run(SELECT.format("basic_like"))
    header = credential_headers(server.seen[0])["authorization"]
    scheme, encoded = header.split(" ")
    assert scheme == "Basic" and base64.b64decode(encoded).decode() == "key-id:pä55:word"


def test_null_auth_sends_no_credential(server: LoopbackServer) -> None:
    assert run(SELECT.format("null_like")) == [{"id": "t1", "name": "one"}]
    assert credential_headers(server.seen[0]) == {}


def test_a_query_key_goes_in_the_query_with_the_statements_own(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUERY_LIKE_KEY", "q+key/1")
    run(SELECT.format("query_like") + " WHERE kind = 'big'")
    (seen,) = server.seen
    assert seen.query == {"kind": ["big"], "api_key": ["q+key/1"]} and credential_headers(seen) == {}


def test_aws_signing_is_refused_and_nothing_reaches_the_server(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LIKE_SECRET_ACCESS_KEY", "aws-secret")
    monkeypatch.setenv("AWS_LIKE_ACCESS_KEY_ID", "AKIA123")
    with pytest.raises(NotSupportedError, match=r"^auth type aws_signing_v4 is not supported yet \(provider aws_like\)"):
        run(SELECT.format("aws_like"))
    assert server.seen == []


def test_an_override_sends_what_it_says_instead_of_the_manifests(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKTA_LIKE_TOKEN", "from-the-manifest")
    monkeypatch.setenv("MY_OKTA", "from-the-override")
    run(SELECT.format("okta_like"), auth={"okta_like": {"type": "custom", "location": "header", "name": "X-Okta", "credentialsenvvar": "MY_OKTA"}})
    assert credential_headers(server.seen[0]) == {"x-okta": "from-the-override"}


@pytest.mark.parametrize(
    ("provider", "env", "secrets"),
    [
        ("basic_like", {"BASIC_LIKE_USER": "user-1", "BASIC_LIKE_PASSWORD": "pass-2"}, ["pass-2", "user-1", B64]),
        ("datadog_like", {"DATADOG_LIKE_API_KEY": "dd-api-1", "DATADOG_LIKE_APP_KEY": "dd-app-2"}, ["dd-api-1", "dd-app-2"]),
        ("query_like", {"QUERY_LIKE_KEY": "q+key/1"}, ["q+key/1"]),
    ],
)
def test_an_error_echoing_the_credentials_shows_none_of_them(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, provider: str, env: dict[str, str], secrets: list[str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(APIError) as caught:
        run(SELECT.format(provider) + " WHERE kind = 'reject'")
    message = str(caught.value)
    assert "rejected:" in message and "***" in message and len(server.seen) == 1
    for secret in secrets:
        assert secret not in message


# -- the CLI ------------------------------------------------------------------------------------


def cfql(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDFLARE_", "CFQL_AUTH"))}
    return subprocess.run(
        [sys.executable, "-m", "cfql", *args],
        capture_output=True, text=True, cwd=REPO, timeout=60, stdin=subprocess.DEVNULL, env={**clean, **env},
    )


def test_the_auth_flag_replaces_cloudflares_bearer_on_the_wire(server: LoopbackServer) -> None:
    override = {"cloudflare": {"type": "custom", "location": "header", "name": "X-Probe", "credentialsenvvar": "MY_CF"}}
    done = cfql("exec", "--base-url", server.url, "--auth", json.dumps(override), MEETINGS,
                env={"MY_CF": "probe-1", "CLOUDFLARE_API_TOKEN": "never-sent"})
    assert done.returncode == 0, done.stderr
    (seen,) = server.seen
    assert credential_headers(seen) == {"x-probe": "probe-1"}


def test_cfql_auth_in_the_environment_does_the_same(server: LoopbackServer) -> None:
    override = {"cloudflare": {"type": "bearer", "credentialsenvvar": "MY_CF"}}
    done = cfql("exec", "--base-url", server.url, MEETINGS, env={"MY_CF": "tok-2", "CFQL_AUTH": json.dumps(override)})
    assert done.returncode == 0, done.stderr
    assert credential_headers(server.seen[0]) == {"authorization": "Bearer tok-2"}


def test_the_cli_refuses_an_override_it_cannot_send_before_any_request(server: LoopbackServer) -> None:
    override = {"cloudflare": {"type": "aws_signing_v4", "credentialsenvvar": "AWS_SECRET", "keyIDenvvar": "AWS_ID"}}
    done = cfql("exec", "--base-url", server.url, "--auth", json.dumps(override), MEETINGS, env={"AWS_SECRET": "s", "AWS_ID": "i"})
    assert done.returncode == 1 and server.seen == []
    assert "error: <command line>:1: auth type aws_signing_v4 is not supported yet (--auth for cloudflare); nothing was sent" in done.stderr
    assert done.stderr.count("\n") == 1


def test_the_cli_says_which_override_variable_is_missing(server: LoopbackServer) -> None:
    override = {"cloudflare": {"type": "bearer", "credentialsenvvar": "MY_CF"}}
    done = cfql("exec", "--base-url", server.url, "--auth", json.dumps(override), MEETINGS, env={})
    assert done.returncode == 1 and server.seen == []
    assert "error: <command line>:1: no credentials: set MY_CF, or use --sandbox" in done.stderr and done.stderr.count("\n") == 1


def test_bad_auth_json_is_a_usage_error(server: LoopbackServer) -> None:
    done = cfql("exec", "--auth", '{"cloudflare": {"type": "bearer",', MEETINGS, env={})
    assert done.returncode == 2 and server.seen == []
    assert done.stderr.startswith("cfql exec: error: argument --auth: the value is not valid JSON: ")
    assert "(line 1, column " in done.stderr and done.stderr.count("\n") == 1


def test_the_cli_sends_a_successor_chain_and_its_debug_log_shows_neither_key(server: LoopbackServer) -> None:
    env = {"AUTH_TEST_BASE_URL": server.url + "/v1", "DATADOG_LIKE_API_KEY": "dd-api-1", "DATADOG_LIKE_APP_KEY": "dd-app-2"}
    done = cfql("exec", "--registry", str(ROOT), "--debug", "-o", "json", SELECT.format("datadog_like"), env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"id": "t1", "name": "one"}]
    assert credential_headers(server.seen[0]) == {"dd-api-key": "dd-api-1", "dd-application-key": "dd-app-2"}
    assert "GET " in done.stderr and "dd-api-1" not in done.stderr and "dd-app-2" not in done.stderr
