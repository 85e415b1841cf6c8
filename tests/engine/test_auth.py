"""Every ``config.auth`` form StackQL's published providers use is sent as StackQL sends it, or refused.

Unit tests of ``cfql.provider.auth`` (each type, which explicit value fills
which slot, the variables templates must not see, ``--auth``'s parsing) and
of the engine around it over ``httpx.MockTransport``: refusals and missing
credentials happen before any request (the transport fails the test if it
is called), and no secret shows in a dry run, a log, an error or a repr.
"""

from __future__ import annotations

import base64
import json
import typing as t
from pathlib import Path

import httpx
import pytest

from cfql import Connection, CredentialsError, InterfaceError, NotSupportedError, ProgrammingError, Settings, connect
from cfql.cli.main import main
from cfql.provider.auth import (
    AuthConfigError,
    Credentials,
    Given,
    MissingCredentials,
    UnsupportedAuth,
    check,
    credential_env_vars,
    credentials,
    parse_overrides,
)
from cfql.provider.registry import Registry

from .conftest import Recorder, no_requests

ROOT = Path(__file__).resolve().parents[1] / "data" / "auth_providers"
SELECT = "SELECT id, name FROM {}.things.things"

# The config.auth forms of StackQL's published providers (okta, godaddy, pagerduty, anthropic, datadog,
# clickhouse, fivetran, homebrew, cloudflare), as they write them, with made-up variable names.
OKTA = {"type": "api_key", "valuePrefix": "SSWS ", "credentialsenvvar": "OKTA_API_TOKEN"}
GODADDY = {"type": "api_key", "valuePrefix": "sso-key ", "credentialsenvvar": "GODADDY_API_KEY"}
PAGERDUTY = {"type": "api_key", "valuePrefix": "Token token=", "credentialsenvvar": "PAGERDUTY_API_TOKEN"}
ANTHROPIC = {"type": "custom", "location": "header", "name": "x-api-key", "credentialsenvvar": "ANTHROPIC_API_KEY"}
DATADOG = {
    "type": "custom", "location": "header", "name": "DD-API-KEY", "credentialsenvvar": "DD_API_KEY",
    "successor": {"type": "custom", "location": "header", "name": "DD-APPLICATION-KEY", "credentialsenvvar": "DD_APP_KEY"},
}
CLICKHOUSE = {"type": "basic", "username_var": "CH_KEY", "password_var": "CH_SECRET"}
FIVETRAN = {"type": "basic", "valuePrefix": "Basic ", "username_var": "FT_KEY", "password_var": "FT_SECRET"}
CLOUDFLARE = {
    "type": "bearer", "credentialsenvvar": "CLOUDFLARE_API_TOKEN",
    "alternatives": [{
        "type": "api_key", "keyenvvar": "CLOUDFLARE_API_KEY", "key_header": "X-Auth-Key",
        "emailenvvar": "CLOUDFLARE_EMAIL", "email_header": "X-Auth-Email",
    }],
}
REFUSED = {
    "service_account": {"type": "service_account", "credentialsenvvar": "GOOGLE_CREDENTIALS"},
    "aws_signing_v4": {"type": "aws_signing_v4", "credentialsenvvar": "AWS_SECRET_ACCESS_KEY", "keyIDenvvar": "AWS_ACCESS_KEY_ID"},
    "azure_default": {"type": "azure_default"},
    "oauth2": {
        "type": "oauth2", "grant_type": "client_credentials", "client_id_env_var": "DBX_CLIENT_ID",
        "client_secret_env_var": "DBX_CLIENT_SECRET", "token_url": "https://accounts.example/token",
    },
    "client_credentials": {"type": "client_credentials", "client_id_env_var": "ID", "client_secret_env_var": "SECRET"},
    "interactive": {"type": "interactive"},
    "made_up": {"type": "made_up", "credentialsenvvar": "X"},
}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# -- each type ----------------------------------------------------------------------------------


def test_bearer_sends_authorization_bearer_and_ignores_a_value_prefix_as_stackql_does() -> None:
    found = credentials({"type": "bearer", "credentialsenvvar": "TOKEN", "valuePrefix": "Token "}, environ={"TOKEN": "t-123"})
    assert found.headers == {"Authorization": "Bearer t-123"}
    assert found.shown == {"Authorization": "Bearer ***"}
    assert found.source == "$TOKEN as Authorization" and found.secrets == ("t-123",) and not found.query


@pytest.mark.parametrize(
    ("auth", "variable", "sent"),
    [(OKTA, "OKTA_API_TOKEN", "SSWS k-1"), (GODADDY, "GODADDY_API_KEY", "sso-key k-1"), (PAGERDUTY, "PAGERDUTY_API_TOKEN", "Token token=k-1")],
)
def test_api_key_goes_in_authorization_after_its_value_prefix(auth: dict[str, t.Any], variable: str, sent: str) -> None:
    found = credentials(auth, environ={variable: " k-1\t"})  # surrounding blanks of a pasted key are dropped
    assert found.headers == {"Authorization": sent}
    assert found.shown == {"Authorization": sent.replace("k-1", "***")}
    assert found.source == f"${variable} as Authorization"


def test_api_key_in_its_own_header() -> None:
    found = credentials({"type": "api_key", "name": "X-Acme-Key", "credentialsenvvar": "ACME"}, environ={"ACME": "k-9"})
    assert found.headers == {"X-Acme-Key": "k-9"} and found.shown == {"X-Acme-Key": "***"}


def test_api_key_in_the_query_is_a_query_parameter_never_a_header() -> None:
    auth = {"type": "api_key", "location": "query", "name": "api_key", "credentialsenvvar": "KEY"}
    found = credentials(auth, environ={"KEY": "a+b/c"})
    assert found.headers == {} and found.query == {"api_key": "a+b/c"} and found.shown_query == {"api_key": "***"}
    assert found.source == "$KEY as query parameter api_key"
    assert {"a+b/c", "a%2Bb%2Fc"} <= set(found.secrets)  # as written and as a URL carries it


def test_custom_sends_the_value_in_the_header_it_names() -> None:
    found = credentials(ANTHROPIC, environ={"ANTHROPIC_API_KEY": "sk-ant-1"})
    assert found.headers == {"x-api-key": "sk-ant-1"} and found.shown == {"x-api-key": "***"}
    assert found.source == "$ANTHROPIC_API_KEY as x-api-key"


def test_custom_in_the_query() -> None:
    found = credentials({**ANTHROPIC, "location": "query", "name": "key"}, environ={"ANTHROPIC_API_KEY": "sk-1"})
    assert found.query == {"key": "sk-1"} and not found.headers


def test_a_successor_adds_its_header_to_the_first() -> None:
    found = credentials(DATADOG, environ={"DD_API_KEY": "api-1", "DD_APP_KEY": "app-2"})
    assert found.headers == {"DD-API-KEY": "api-1", "DD-APPLICATION-KEY": "app-2"}
    assert found.shown == {"DD-API-KEY": "***", "DD-APPLICATION-KEY": "***"}
    assert found.source == "$DD_API_KEY as DD-API-KEY and $DD_APP_KEY as DD-APPLICATION-KEY"
    assert set(found.secrets) == {"api-1", "app-2"}


def test_successors_chain_on() -> None:
    third = {"type": "custom", "location": "query", "name": "org", "credentialsenvvar": "ORG"}
    auth = {**DATADOG, "successor": {**DATADOG["successor"], "successor": third}}
    found = credentials(auth, environ={"DD_API_KEY": "api-1", "DD_APP_KEY": "app-2", "ORG": "org-3"})
    assert found.headers == {"DD-API-KEY": "api-1", "DD-APPLICATION-KEY": "app-2"} and found.query == {"org": "org-3"}


def test_a_missing_successor_is_named_alone() -> None:
    with pytest.raises(MissingCredentials, match=r"^no credentials: set DD_APP_KEY$"):
        credentials(DATADOG, environ={"DD_API_KEY": "api-1"})
    with pytest.raises(MissingCredentials, match=r"^no credentials: set DD_API_KEY and DD_APP_KEY$"):
        credentials(DATADOG, environ={})


def test_a_successor_chain_that_never_ends_is_refused() -> None:
    looping: dict[str, t.Any] = {"type": "custom", "name": "X-K", "credentialsenvvar": "K"}
    looping["successor"] = looping  # what a YAML anchor can make
    with pytest.raises(AuthConfigError, match="successor chain is longer than"):
        check(looping)


@pytest.mark.parametrize("auth", [CLICKHOUSE, FIVETRAN])
def test_basic_encodes_user_and_password(auth: dict[str, t.Any]) -> None:
    user, password = auth["username_var"], auth["password_var"]
    found = credentials(auth, environ={user: "key-id", password: "s3cret-pw"})
    encoded = b64("key-id:s3cret-pw")
    assert found.headers == {"Authorization": f"Basic {encoded}"} and found.shown == {"Authorization": "Basic ***"}
    assert found.source == f"${user} and ${password} as Authorization"
    assert {encoded, "s3cret-pw", "key-id", "key-id:s3cret-pw"} <= set(found.secrets)


def test_basic_takes_an_encoded_value_from_credentialsenvvar_as_stackqls_auth_examples_do() -> None:
    encoded = b64("octocat:ghp_token")
    found = credentials({"type": "basic", "credentialsenvvar": "GITHUB_CREDS"}, environ={"GITHUB_CREDS": encoded})
    assert found.headers == {"Authorization": f"Basic {encoded}"} and found.source == "$GITHUB_CREDS as Authorization"
    assert {encoded, "octocat:ghp_token", "ghp_token"} <= set(found.secrets)  # what it encodes is scrubbed too


def test_basic_also_reads_api_key_var_and_api_secret_var() -> None:
    found = credentials({"type": "basic", "api_key_var": "K", "api_secret_var": "S"}, environ={"K": "k", "S": "s"})
    assert found.headers == {"Authorization": f"Basic {b64('k:s')}"}


def test_basic_names_what_to_set_never_an_empty_name() -> None:
    with pytest.raises(MissingCredentials, match=r"^no credentials: set CH_KEY and CH_SECRET$"):
        credentials(CLICKHOUSE, environ={"CH_KEY": "only-the-key"})
    both = {**CLICKHOUSE, "credentialsenvvar": "CH_CREDS"}
    with pytest.raises(MissingCredentials, match=r"^no credentials: set CH_KEY and CH_SECRET or CH_CREDS$"):
        credentials(both, environ={})


def test_a_basic_user_name_cannot_hold_a_colon() -> None:
    with pytest.raises(MissingCredentials, match=r"^\$CH_KEY holds a ':'") as caught:
        credentials(CLICKHOUSE, environ={"CH_KEY": "a:b", "CH_SECRET": "pw-123"})
    assert "pw-123" not in str(caught.value) and "a:b" not in str(caught.value)


def test_null_auth_sends_nothing_and_needs_nothing() -> None:
    found = credentials({"type": "null_auth"}, environ={})
    assert (found.headers, found.query, found.secrets) == ({}, {}, ())


def test_cfqls_own_form_bearer_then_key_and_email_still_works() -> None:
    assert credentials(CLOUDFLARE, environ={"CLOUDFLARE_API_TOKEN": "tok"}).headers == {"Authorization": "Bearer tok"}
    found = credentials(CLOUDFLARE, environ={"CLOUDFLARE_API_KEY": "key", "CLOUDFLARE_EMAIL": "me@example.com"})
    assert found.headers == {"X-Auth-Key": "key", "X-Auth-Email": "me@example.com"}
    assert found.shown == {"X-Auth-Key": "***", "X-Auth-Email": "me@example.com"}
    with pytest.raises(MissingCredentials, match=r"^no credentials: set CLOUDFLARE_API_TOKEN or CLOUDFLARE_API_KEY and CLOUDFLARE_EMAIL$"):
        credentials(CLOUDFLARE, environ={})
    with pytest.raises(MissingCredentials, match=r"^no credentials: set CLOUDFLARE_API_TOKEN or CLOUDFLARE_EMAIL$"):
        credentials(CLOUDFLARE, environ={"CLOUDFLARE_API_KEY": "key"})


def test_an_empty_auth_block_says_so() -> None:
    with pytest.raises(MissingCredentials, match="config.auth is empty"):
        credentials({}, environ={})


@pytest.mark.parametrize("value", ["a\r\nX-Evil: 1", "a\nb", "a\0b", "ключ"])
def test_a_value_a_header_cannot_carry_is_refused_without_echoing_it(value: str) -> None:
    with pytest.raises(MissingCredentials, match=r"^\$OKTA_API_TOKEN contains ") as caught:
        credentials(OKTA, environ={"OKTA_API_TOKEN": value})
    assert value not in str(caught.value)


# -- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_other_types_are_refused_by_name(kind: str) -> None:
    with pytest.raises(UnsupportedAuth, match=rf"^auth type {kind} is not supported yet$"):
        credentials(REFUSED[kind], environ={"GOOGLE_CREDENTIALS": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_ACCESS_KEY_ID": "x"})


def test_an_unsupported_way_anywhere_in_the_block_is_refused() -> None:
    with pytest.raises(UnsupportedAuth, match="auth type oauth2 is not supported yet"):
        check({**OKTA, "alternatives": [REFUSED["oauth2"]]})
    with pytest.raises(UnsupportedAuth, match="auth type aws_signing_v4 is not supported yet"):
        check({**ANTHROPIC, "successor": REFUSED["aws_signing_v4"]})


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ({**ANTHROPIC, "location": "cookie"}, "auth location 'cookie' is not supported yet (header or query)"),
        ({"type": "bearer", "location": "query", "credentialsenvvar": "T"}, "auth type bearer goes in a header, not in the query"),
        ({"type": "custom", "credentialsenvvar": "T"}, "auth type custom needs a name"),
        ({"type": "api_key", "location": "query", "credentialsenvvar": "T"}, "auth type api_key in the query needs a name"),
        ({"type": "api_key", "name": "X Key: 1", "credentialsenvvar": "T"}, "'X Key: 1' is not a header name"),
        ({"type": "api_key"}, "auth type api_key needs credentialsenvvar"),
        ({"type": "basic", "username_var": "U"}, "auth type basic needs username_var and password_var"),
        ({"type": "api_key", "keyenvvar": "K", "key_header": "X-K"}, "auth key_header needs keyenvvar, emailenvvar and email_header"),
        ({"type": "api_key", "valuePrefix": 5, "credentialsenvvar": "T"}, "valuePrefix must be a string"),
        ({"type": 7}, "auth type must be a name"),
        ({**OKTA, "alternatives": OKTA}, "alternatives must be a list"),
        ({**ANTHROPIC, "successor": "DD_APP_KEY"}, "an auth block must be a mapping, not a string"),
    ],
)
def test_a_block_that_cannot_be_sent_is_refused_with_what_is_wrong(auth: dict[str, t.Any], message: str) -> None:
    with pytest.raises(AuthConfigError) as caught:
        check(auth)
    assert message in str(caught.value)


def test_the_type_is_read_in_any_case() -> None:
    assert credentials({**OKTA, "type": "API_KEY"}, environ={"OKTA_API_TOKEN": "k"}).headers == {"Authorization": "SSWS k"}


# -- which explicit value fills which slot ------------------------------------------------------


def test_a_token_fills_bearer_api_key_and_custom() -> None:
    given = Given(token="tok-1")
    assert credentials({"type": "bearer", "credentialsenvvar": "T"}, given, environ={}).headers == {"Authorization": "Bearer tok-1"}
    assert credentials(OKTA, given, environ={}).headers == {"Authorization": "SSWS tok-1"}
    found = credentials(ANTHROPIC, given, environ={})
    assert found.headers == {"x-api-key": "tok-1"} and found.source == "the credential passed to cfql as x-api-key"


def test_an_api_key_fills_api_key_and_custom_before_a_token_but_never_bearer() -> None:
    given = Given(token="tok-1", api_key="key-2")
    assert credentials(OKTA, given, environ={}).headers == {"Authorization": "SSWS key-2"}
    assert credentials(ANTHROPIC, given, environ={}).headers == {"x-api-key": "key-2"}
    with pytest.raises(MissingCredentials, match="^no credentials: set T$"):
        credentials({"type": "bearer", "credentialsenvvar": "T"}, Given(api_key="key-2"), environ={})


def test_an_explicit_value_fills_only_the_first_credential_of_a_chain() -> None:
    with pytest.raises(MissingCredentials, match="^no credentials: set DD_APP_KEY$"):
        credentials(DATADOG, Given(token="tok-1", api_key="key-2"), environ={})
    found = credentials(DATADOG, Given(api_key="key-2"), environ={"DD_API_KEY": "env-1", "DD_APP_KEY": "app-3"})
    assert found.headers == {"DD-API-KEY": "key-2", "DD-APPLICATION-KEY": "app-3"}


def test_basic_is_never_filled_from_a_token_or_an_api_key() -> None:
    with pytest.raises(MissingCredentials, match="^no credentials: set CH_KEY and CH_SECRET$"):
        credentials(CLICKHOUSE, Given(token="tok-1", api_key="key-2", email="me@example.com"), environ={})


def test_explicit_credentials_win_over_the_environment_across_alternatives() -> None:
    environ = {"CLOUDFLARE_API_TOKEN": "env-token"}
    found = credentials(CLOUDFLARE, Given(api_key="key-2", email="me@example.com"), environ=environ)
    assert found.headers == {"X-Auth-Key": "key-2", "X-Auth-Email": "me@example.com"}
    assert credentials(CLOUDFLARE, Given(), environ=environ).headers == {"Authorization": "Bearer env-token"}


# -- what templates must not see ----------------------------------------------------------------


def test_credential_env_vars_knows_every_form() -> None:
    assert credential_env_vars(CLOUDFLARE) == {"CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL"}
    assert credential_env_vars(DATADOG) == {"DD_API_KEY", "DD_APP_KEY"}
    assert credential_env_vars(CLICKHOUSE) == {"CH_KEY", "CH_SECRET"}
    assert credential_env_vars(REFUSED["oauth2"]) == {"DBX_CLIENT_ID", "DBX_CLIENT_SECRET"}
    assert credential_env_vars(REFUSED["aws_signing_v4"]) == {"AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"}
    assert credential_env_vars({"type": "basic", "api_key_var": "K", "api_secret_var": "S"}) == {"K", "S"}
    assert credential_env_vars({"type": "null_auth"}) == set() and credential_env_vars(None) == set()
    overrides = parse_overrides({"okta": OKTA, "tool_var": {"type": "bearer", "credentialsenvvar": "MY_TOOL"}})
    assert credential_env_vars(overrides) == {"OKTA_API_TOKEN", "MY_TOOL"}  # what --auth names, whatever the provider's name


# -- reprs --------------------------------------------------------------------------------------


def test_no_repr_shows_a_secret() -> None:
    found = credentials(CLICKHOUSE, environ={"CH_KEY": "key-id", "CH_SECRET": "s3cret-pw"})
    shown = repr(found) + repr(Given(token="tok-secret", api_key="key-secret", email="me@example.com"))
    shown += repr(Settings(token="tok-secret", auth={"x": {"type": "custom", "name": "k", "password": "inline-secret"}}))
    for secret in ("s3cret-pw", b64("key-id:s3cret-pw"), "tok-secret", "key-secret", "inline-secret"):
        assert secret not in shown
    assert "Basic ***" in shown and "{'x': 'custom'}" in shown


def test_credentials_add_up() -> None:
    both = Credentials({"A": "1"}, {"A": "***"}, "$A as A", ("1",)) + Credentials(query={"q": "2"}, shown_query={"q": "***"}, secrets=("2",))
    assert (both.headers, both.query, both.secrets, both.source) == ({"A": "1"}, {"q": "2"}, ("1", "2"), "$A as A")


# -- --auth -------------------------------------------------------------------------------------


def test_auth_overrides_parse_from_json_or_a_mapping() -> None:
    text = '{"okta": {"type": "api_key", "valuePrefix": "SSWS ", "credentialsenvvar": "OKTA_SECRET_KEY"}, "cloudflare": {"type":"bearer","credentialsenvvar":"MY_CF"}}'
    parsed = parse_overrides(text)
    assert parsed == {"okta": {**OKTA, "credentialsenvvar": "OKTA_SECRET_KEY"}, "cloudflare": {"type": "bearer", "credentialsenvvar": "MY_CF"}}
    assert parse_overrides(parsed) == parsed
    assert Settings(auth=text).auth == parsed and Settings(auth=parsed).auth == parsed


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"okta": {"type": "api_key",}}', "auth is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 29)"),
        ('{"okta":\n  {"type" "bearer"}}', "auth is not valid JSON: Expecting ':' delimiter (line 2, column 11)"),
        ("[1]", "auth must be a JSON object with one auth object per provider"),
        ('{"okta": "SSWS abc"}', "auth for okta must be an object"),
        ('{"okta": {"credentialsenvvar": "X"}}', 'auth for okta needs a "type"'),
        ('{"": {"type": "bearer"}}', "auth: provider names must be non-empty strings"),
        ("[" * 100_000, "auth is not valid JSON"),
    ],
)
def test_a_bad_auth_override_is_one_line_naming_the_problem(value: str, message: str) -> None:
    with pytest.raises(InterfaceError) as caught:
        Settings(auth=value)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert "SSWS abc" not in str(caught.value)


def test_an_override_may_name_a_type_cfql_cannot_send_until_that_provider_is_used() -> None:
    """One StackQL --auth string often names google's service_account too."""
    assert Settings(auth={"google": REFUSED["service_account"]}).auth == {"google": REFUSED["service_account"]}


def test_cfql_auth_in_the_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFQL_AUTH", '{"okta_like": {"type": "bearer", "credentialsenvvar": "MY_OKTA"}}')
    assert Settings().auth == {"okta_like": {"type": "bearer", "credentialsenvvar": "MY_OKTA"}}
    assert Settings(auth={}).auth == {}  # an explicit value wins
    monkeypatch.setenv("CFQL_AUTH", "{nope")
    with pytest.raises(InterfaceError, match=r"^CFQL_AUTH is not valid JSON: .*\(line 1, column 2\)$"):
        Settings()


def test_connect_takes_auth() -> None:
    with connect(auth='{"okta_like": {"type": "bearer", "credentialsenvvar": "MY_OKTA"}}') as conn:
        assert conn.settings.auth == {"okta_like": {"type": "bearer", "credentialsenvvar": "MY_OKTA"}}


@pytest.mark.parametrize("command", ["exec", "shell"])
def test_the_auth_flag_is_checked_as_a_usage_error(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [command, "--auth", '{"okta": [1]}'] + (["SELECT 1"] if command == "exec" else [])
    with pytest.raises(SystemExit) as caught:
        main(argv)
    err = capsys.readouterr().err
    assert caught.value.code == 2 and err.count("\n") == 1
    assert "argument --auth: the value for okta must be an object" in err


def test_the_auth_flag_reaches_the_settings() -> None:
    from cfql.cli.main import build_parser
    from cfql.cli.options import connection_settings

    args = build_parser().parse_args(["exec", "SELECT 1", "--auth", '{"okta": {"type": "bearer", "credentialsenvvar": "T"}}'])
    assert connection_settings(args).auth == {"okta": {"type": "bearer", "credentialsenvvar": "T"}}


# -- the engine: what is sent, and what never is ------------------------------------------------


THINGS = {"items": [{"id": "t1", "name": "one"}]}


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CFQL_AUTH", raising=False)
    monkeypatch.setenv("AUTH_TEST_BASE_URL", "https://things.test/v1")
    for name in ("OKTA_LIKE_TOKEN", "ANTHROPIC_LIKE_KEY", "DATADOG_LIKE_API_KEY", "DATADOG_LIKE_APP_KEY",
                 "BASIC_LIKE_USER", "BASIC_LIKE_PASSWORD", "QUERY_LIKE_KEY", "AWS_LIKE_SECRET_ACCESS_KEY", "AWS_LIKE_ACCESS_KEY_ID"):
        monkeypatch.delenv(name, raising=False)


def connection(handler: t.Callable[[httpx.Request], httpx.Response], **settings: t.Any) -> Connection:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    conn = Connection(Settings(retries=0, **settings), http_client=client, registry=Registry(ROOT, pulled_root=ROOT))
    conn.driver.sleep = lambda seconds: None
    return conn


@pytest.mark.parametrize("dry_run", [False, True])
def test_aws_signing_is_refused_before_any_request(monkeypatch: pytest.MonkeyPatch, dry_run: bool) -> None:
    monkeypatch.setenv("AWS_LIKE_SECRET_ACCESS_KEY", "aws-secret")
    monkeypatch.setenv("AWS_LIKE_ACCESS_KEY_ID", "AKIA123")
    with connection(no_requests, dry_run=dry_run) as conn, pytest.raises(NotSupportedError) as caught:
        conn.run(SELECT.format("aws_like"))
    assert str(caught.value) == "auth type aws_signing_v4 is not supported yet (provider aws_like); nothing was sent"


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_an_override_cfql_cannot_send_is_refused_before_any_request(kind: str) -> None:
    with connection(no_requests, auth={"okta_like": REFUSED[kind]}) as conn, pytest.raises(NotSupportedError) as caught:
        conn.run(SELECT.format("okta_like"))
    assert str(caught.value) == f"auth type {kind} is not supported yet (--auth for okta_like); nothing was sent"


def test_a_malformed_override_is_refused_before_any_request() -> None:
    with connection(no_requests, auth={"anthropic_like": {"type": "custom", "credentialsenvvar": "K"}}) as conn:
        with pytest.raises(ProgrammingError, match=r"^auth type custom needs a name .*\(--auth for anthropic_like\); nothing was sent$"):
            conn.run(SELECT.format("anthropic_like"))


@pytest.mark.parametrize(
    ("provider", "wanted"),
    [
        ("okta_like", "OKTA_LIKE_TOKEN"),
        ("basic_like", "BASIC_LIKE_USER and BASIC_LIKE_PASSWORD"),
        ("datadog_like", "DATADOG_LIKE_API_KEY and DATADOG_LIKE_APP_KEY"),
        ("query_like", "QUERY_LIKE_KEY"),
    ],
)
def test_missing_credentials_name_the_variables_before_any_request(provider: str, wanted: str) -> None:
    with connection(no_requests) as conn, pytest.raises(CredentialsError) as caught:
        conn.run(SELECT.format(provider))
    assert str(caught.value) == f"no credentials: set {wanted}"  # no --sandbox hint: these have none


def test_null_auth_sends_no_credential_header(recorder: Recorder) -> None:
    recorder.reply(body=THINGS)
    with connection(recorder) as conn:
        assert conn.execute(SELECT.format("null_like")) == [{"id": "t1", "name": "one"}]
    assert "authorization" not in recorder.requests[0].headers


def test_the_override_replaces_the_providers_auth(monkeypatch: pytest.MonkeyPatch, recorder: Recorder) -> None:
    monkeypatch.setenv("OKTA_LIKE_TOKEN", "from-the-manifest")
    monkeypatch.setenv("OKTA_SECRET_KEY", "from-the-override")
    recorder.reply(body=THINGS)
    override = {"okta_like": {"type": "api_key", "valuePrefix": "SSWS ", "credentialsenvvar": "OKTA_SECRET_KEY"}}
    with connection(recorder, auth=json.dumps(override)) as conn:
        conn.execute(SELECT.format("okta_like"))
    assert recorder.requests[0].headers["authorization"] == "SSWS from-the-override"


def test_a_query_credential_is_merged_into_the_query_and_masked_in_the_debug_log(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], recorder: Recorder
) -> None:
    monkeypatch.setenv("QUERY_LIKE_KEY", "q+key/1")
    recorder.reply(body=THINGS)
    with connection(recorder, debug=True) as conn:
        conn.execute(SELECT.format("query_like") + " WHERE kind = 'big'")
    sent = recorder.requests[0].url
    assert dict(sent.params) == {"kind": "big", "api_key": "q+key/1"} and "authorization" not in recorder.requests[0].headers
    log = capsys.readouterr().err
    assert "api_key=***" in log and "q+key" not in log and "q%2Bkey" not in log


def test_a_dry_run_masks_every_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"DATADOG_LIKE_API_KEY": "dd-api-1", "DATADOG_LIKE_APP_KEY": "dd-app-2", "BASIC_LIKE_USER": "user-1",
                        "BASIC_LIKE_PASSWORD": "pass-2", "QUERY_LIKE_KEY": "query-3"}.items():
        monkeypatch.setenv(name, value)
    with connection(no_requests, dry_run=True) as conn:
        shown = {p: conn.run(SELECT.format(p)).rows[0] for p in ("datadog_like", "basic_like", "query_like")}
    assert shown["datadog_like"]["headers"]["DD-API-KEY"] == "***" and shown["datadog_like"]["headers"]["DD-APPLICATION-KEY"] == "***"
    assert shown["basic_like"]["headers"]["Authorization"] == "Basic ***"
    assert shown["query_like"]["url"] == "https://things.test/v1/things?api_key=***"
    text = json.dumps(shown)
    for secret in ("dd-api-1", "dd-app-2", "user-1", "pass-2", b64("user-1:pass-2"), "query-3"):
        assert secret not in text


@pytest.mark.parametrize(
    ("provider", "env", "echoed"),
    [
        ("basic_like", {"BASIC_LIKE_USER": "user-1", "BASIC_LIKE_PASSWORD": "pass-2"}, ["pass-2", b64("user-1:pass-2"), "user-1"]),
        ("datadog_like", {"DATADOG_LIKE_API_KEY": "dd-api-1", "DATADOG_LIKE_APP_KEY": "dd-app-2"}, ["dd-api-1", "dd-app-2"]),
        ("query_like", {"QUERY_LIKE_KEY": "q+key/1"}, ["q+key/1", "q%2Bkey%2F1"]),
    ],
)
def test_an_error_echoing_a_credential_is_scrubbed(
    monkeypatch: pytest.MonkeyPatch, recorder: Recorder, provider: str, env: dict[str, str], echoed: list[str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    recorder.reply(401, {"message": "rejected: " + ", ".join(echoed)})
    with connection(recorder) as conn, pytest.raises(Exception) as caught:
        conn.run(SELECT.format(provider))
    message = str(caught.value)
    assert "rejected: ***" in message
    for secret in echoed:
        assert secret not in message


def test_a_manifest_header_of_the_credentials_name_in_another_case_is_not_sent_twice() -> None:
    from cfql.http.core import with_credentials

    merged = with_credentials({"authorization": "from-a-parameter", "X-Other": "1"}, {"Authorization": "SSWS k"})
    assert merged == {"User-Agent": "cfql/0.1.0", "Accept": "application/json", "X-Other": "1", "Authorization": "SSWS k"}
