"""Documents cfql does not ship: their enums and bounds warn and the value is sent; types always bind.

``tests/data/registry_meta/src/zonely/v1`` (written for these tests) is
narrower than its API, as published documents are (one of them allows only
``ttl`` 1 and record ``type`` A): a value outside an enum, a bound, a length,
an item count or a format is sent, with a ``cfql.SchemaWarning``
(``cfql: warning: ...`` from the CLI); ``--strict`` (``connect(strict=True)``)
refuses it before anything is sent, as cfql's own Cloudflare document always
does. It lists no secret fields, so cfql's default secret names (``password``,
``api_key`` ...) are masked in its results and dry runs.

The requests go over loopback to a ``tests.loopback`` server that records them.
"""

from __future__ import annotations

import asyncio
import json
import typing as t
import warnings
from pathlib import Path

import httpx
import pytest

from cfql import Connection, DataError, SchemaWarning, Settings, connect
from cfql.cli.main import main
from cfql.plan.schema import check
from cfql.provider.registry import Registry, default_registry
from tests.loopback import LoopbackServer, Reply, Seen

from .conftest import no_requests

ROOT = Path(__file__).resolve().parents[1] / "data" / "registry_meta"
RECORDS = "zonely.dns.records"
USERS = "zonely.dns.users"
KEY = "zk-test-key-0451"
PASSWORD = "hunter2-Sentinel"
API_KEY = "zk-live-77sentinel"
SENT_ANYWAY = "; sent anyway: the document of zonely.dns.records is not one cfql ships (--strict refuses it)"
INSERT = f"INSERT INTO {RECORDS} (zone_id, name, type, content, ttl) VALUES ('z1', 'www', 'CNAME', 'target.example', 300)"


def zonely_api(seen: Seen) -> Reply:
    """A loopback Zonely: records echo what was sent, users echo the password; any other route is a 404."""
    user = {"id": "u1", "name": "ann", "role": "admin", "password": PASSWORD, "api_key": API_KEY}
    route = (seen.method, seen.path)
    if route == ("POST", "/zones/z1/records"):
        return Reply.json({"result": {"id": "r1", **seen.json()}})
    if route == ("GET", "/zones/z1/records"):
        return Reply.json({"result": [{"id": "r1", "name": "www", "type": "CNAME"}]})
    if route == ("POST", "/users"):
        return Reply.json({"result": {**user, **seen.json(), "id": "u2"}})
    if route == ("GET", "/users"):
        return Reply.json({"result": [user]})
    return Reply.json(None, 404)


@pytest.fixture(scope="module")
def running() -> t.Iterator[LoopbackServer]:
    with LoopbackServer(zonely_api) as server:
        yield server


@pytest.fixture
def server(running: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:
    running.seen.clear()
    monkeypatch.setenv("ZONELY_KEY", KEY)
    for name in ("CFQL_REGISTRY", "CFQL_AUTH"):
        monkeypatch.delenv(name, raising=False)
    return running


def zonely(server: LoopbackServer, **settings: t.Any) -> Connection:
    return connect(registry=Registry(ROOT), base_url={"zonely": server.url}, **settings)  # type: ignore[arg-type]


def cli(server: LoopbackServer, *args: str) -> list[str]:
    return ["exec", "--registry", str(ROOT), "--base-url", f"zonely={server.url}", *args]


def messages(caught: t.Sequence[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, SchemaWarning)]


# --------------------------------------------------------------------------
# The rule, on schemas
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, schema, broken",
    [
        (300, {"type": "number", "enum": [1]}, "column c: 300 is not one of 1"),
        (3, {"type": "integer", "minimum": 5}, "column c: 3 is below the minimum 5"),
        (60, {"type": "integer", "maximum": 50}, "column c: 60 is above the maximum 50"),
        (5, {"type": "integer", "minimum": 5, "exclusiveMinimum": True}, "column c: 5 is not above the minimum 5"),
        (9, {"type": "number", "exclusiveMaximum": 9}, "column c: 9 is not below the maximum 9"),
        ("abcdef", {"type": "string", "maxLength": 3}, "column c: must be at most 3 characters"),
        ("", {"type": "string", "minLength": 1}, "column c: must be at least 1 characters"),
        (["a", "b", "c"], {"type": "array", "maxItems": 2}, "column c: must have at most 2 items, got 3"),
        ([], {"type": "array", "minItems": 1}, "column c: must have at least 1 items, got 0"),
        ("tomorrow", {"type": "string", "format": "date"}, "column c: expected a date such as 2026-01-31, got 'tomorrow'"),
        ({"x": "on"}, {"type": "object", "properties": {"x": {"type": "string", "enum": ["off"]}}}, "column c.x: 'on' is not one of 'off'"),
    ],
)
def test_a_broken_constraint_is_refused_or_noted_and_kept(value: t.Any, schema: dict[str, t.Any], broken: str) -> None:
    with pytest.raises(DataError) as refused:
        check(value, schema, "c")
    assert str(refused.value) == broken
    notes: list[str] = []
    assert check(value, schema, "c", notes=notes) == value
    assert notes == [broken]


@pytest.mark.parametrize(
    "value, schema, message",
    [
        ("300", {"type": "number", "enum": [1]}, "column c: expected a number, got '300'"),
        ("high", {"type": "integer", "minimum": 0}, "column c: expected an integer, got 'high'"),
        (None, {"type": "string", "enum": ["A"]}, "column c: NULL is not allowed"),
        ({"y": 1}, {"type": "object", "properties": {"x": {"type": "string"}}}, "column c: unknown field 'y'"),
        ({}, {"type": "object", "required": ["x"], "properties": {"x": {"type": "string"}}}, "column c: missing required field x"),
        ('{"x": ', {"type": "object"}, "column c: expected a JSON object literal, but the text is not valid JSON"),
    ],
)
def test_the_shape_is_refused_whoever_wrote_the_document(value: t.Any, schema: dict[str, t.Any], message: str) -> None:
    for notes in (None, []):
        with pytest.raises(DataError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
            check(value, schema, "c", notes=notes)
        assert not notes


def test_any_of_prefers_a_branch_the_value_fits_wholly() -> None:
    schema = {"anyOf": [{"type": "string", "enum": ["A"]}, {"type": "string", "maxLength": 3}]}
    notes: list[str] = []
    assert check("AAAA", schema, "c", notes=notes) == "AAAA"
    assert notes == ["column c: 'AAAA' is not one of 'A'"]  # the first branch it fits but for constraints
    notes.clear()
    assert check("abc", schema, "c", notes=notes) == "abc" and notes == []  # the second fits wholly: nothing noted
    with pytest.raises(DataError, match="matches none of the 2 allowed shapes"):
        check(5, schema, "c", notes=[])


def test_a_pattern_binds_where_constraints_bind_and_is_not_run_for_a_warning() -> None:
    """A third-party document's pattern may backtrack for minutes on a long value: it is not run for a warning."""
    schema = {"type": "string", "pattern": "^[a-z]+$"}
    with pytest.raises(DataError, match=r"^column c: 'ABC' does not match the pattern \^\[a-z\]\+\$$"):
        check("ABC", schema, "c")
    notes: list[str] = []
    assert check("ABC", schema, "c", notes=notes) == "ABC" and notes == []
    catastrophic = {"type": "string", "pattern": r"^(\w+\s?)*$"}
    assert check("a" * 40 + "!", catastrophic, "c", notes=notes) == "a" * 40 + "!" and notes == []


def test_a_secret_value_is_never_quoted_in_a_note() -> None:
    notes: list[str] = []
    check("Swordfish!", {"type": "string", "enum": ["hunter2"]}, "password", frozenset({"password"}), notes)
    assert notes == ["column password: '***' is not one of 'hunter2'"]  # the document's own words, not the value
    with pytest.raises(DataError, match=r"^column password: '\*\*\*' does not match the pattern"):
        check("Swordfish!", {"type": "string", "pattern": "^[a-z]+$"}, "password", frozenset({"password"}))


# --------------------------------------------------------------------------
# A third-party document warns and sends; --strict and cfql's own refuse
# --------------------------------------------------------------------------


def test_a_third_party_documents_enums_and_bounds_warn_and_the_values_are_sent(server: LoopbackServer) -> None:
    with zonely(server) as conn, pytest.warns(SchemaWarning) as caught:
        rows = conn.execute(
            f"INSERT INTO {RECORDS} (zone_id, name, type, content, ttl, priority, label, tags, expires_on, settings) "
            "VALUES ('z1', 'a-very-long-record-name', 'CNAME', 'target.example', 300, 20, 'WWW', '[\"a\", \"b\", \"c\"]', "
            "'next week', '{\"flatten\": \"on\"}') RETURNING id, type, ttl"
        )
    assert messages(caught) == [note + SENT_ANYWAY for note in (
        "column name: must be at most 20 characters",
        "column type: 'CNAME' is not one of 'A'",
        "column ttl: 300 is not one of 1",
        "column priority: 20 is above the maximum 10 (allowed: 0 to 10)",
        "column tags: must have at most 2 items, got 3",
        "column expires_on: expected an RFC 3339 date-time such as 2026-01-31T09:30:00Z, got 'next week'",
        "column settings.flatten: 'on' is not one of 'off'",
    )]
    (seen,) = server.seen
    assert (seen.method, seen.path) == ("POST", "/zones/z1/records")
    assert seen.json() == {"name": "a-very-long-record-name", "type": "CNAME", "content": "target.example", "ttl": 300,
                         "priority": 20, "label": "WWW", "tags": ["a", "b", "c"], "expires_on": "next week",
                         "settings": {"flatten": "on"}}
    assert rows == [{"id": "r1", "type": "CNAME", "ttl": 300}]


def test_a_query_parameters_bounds_warn_too(server: LoopbackServer) -> None:
    with zonely(server) as conn, pytest.warns(SchemaWarning) as caught:
        rows = conn.execute(f"SELECT id, type FROM {RECORDS} WHERE zone_id = 'z1' AND per_page = 100 AND type = 'CNAME'")
    assert messages(caught) == [
        "column per_page: 100 is above the maximum 50 (allowed: 5 to 50)" + SENT_ANYWAY,
        "column type: 'CNAME' is not one of 'A'" + SENT_ANYWAY,
    ]
    assert rows == [{"id": "r1", "type": "CNAME"}]
    (seen,) = server.seen
    assert seen.query == {"per_page": ["100"], "type": ["CNAME"]}


def test_every_run_of_a_cached_plan_warns_and_a_reused_shape_warns_of_its_own_value(server: LoopbackServer) -> None:
    with zonely(server) as conn:
        for sql, value in ((INSERT, 300), (INSERT, 300), (INSERT.replace("300", "120"), 120)):
            with pytest.warns(SchemaWarning) as caught:
                conn.execute(sql)
            assert f"column ttl: {value} is not one of 1{SENT_ANYWAY}" in messages(caught)
        assert conn.plans.get(INSERT.replace("300", "120")) is not conn.plans.get(INSERT)
    assert [s.json()["ttl"] for s in server.seen] == [300, 300, 120]


def test_a_bound_value_warns_when_the_statement_runs(server: LoopbackServer) -> None:
    sql = f"INSERT INTO {RECORDS} (zone_id, name, type, content, ttl) VALUES ('z1', 'www', 'A', '192.0.2.1', :ttl)"
    with zonely(server) as conn:
        conn.plans.get(sql)  # planned without a warning: the value is not known yet
        with pytest.warns(SchemaWarning) as caught:
            conn.execute(sql, {"ttl": 3600})
    assert messages(caught) == ["column ttl: 3600 is not one of 1" + SENT_ANYWAY]
    assert server.seen[0].json()["ttl"] == 3600


def test_a_value_inside_the_document_sends_without_a_warning(server: LoopbackServer) -> None:
    with zonely(server) as conn, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        conn.execute(f"INSERT INTO {RECORDS} (zone_id, name, type, content, ttl) VALUES ('z1', 'www', 'A', '192.0.2.1', 1)")
    assert messages(caught) == []
    assert server.seen[0].json() == {"name": "www", "type": "A", "content": "192.0.2.1", "ttl": 1}


def test_strict_refuses_before_anything_is_sent(server: LoopbackServer) -> None:
    with zonely(server, strict=True) as conn, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DataError, match=r"^column type: 'CNAME' is not one of 'A'$"):
            conn.execute(INSERT)
        with pytest.raises(DataError, match=r"^column ttl: 120 is not one of 1$"):  # the same shape, reused
            conn.execute(INSERT.replace("'CNAME'", "'A'").replace("'target.example'", "'192.0.2.1'").replace("300", "120"))
        bound = f"INSERT INTO {RECORDS} (zone_id, name, type, content, ttl) VALUES ('z1', 'www', 'A', '192.0.2.1', :ttl)"
        with pytest.raises(DataError, match=r"^column ttl: 3600 is not one of 1$"):
            conn.execute(bound, {"ttl": 3600})
        with pytest.raises(DataError, match=r"^column per_page: 100 is above the maximum 50"):
            conn.execute(f"SELECT id FROM {RECORDS} WHERE zone_id = 'z1' AND per_page = 100")
        conn.execute(bound, {"ttl": 1})  # what the document allows still runs
    assert messages(caught) == []
    assert [(s.method, s.json()) for s in server.seen] == [("POST", {"name": "www", "type": "A", "content": "192.0.2.1", "ttl": 1})]


def test_the_async_connection_follows_the_same_rule(server: LoopbackServer) -> None:
    from cfql.aio import AsyncConnection

    async def run(strict: bool) -> list[dict[str, t.Any]]:
        settings = Settings(base_url={"zonely": server.url}, strict=strict)
        async with AsyncConnection(settings, registry=Registry(ROOT)) as conn:
            return await conn.execute(INSERT + " RETURNING ttl")

    with pytest.warns(SchemaWarning) as caught:
        assert asyncio.run(run(strict=False)) == [{"ttl": 300}]
    assert "column ttl: 300 is not one of 1" + SENT_ANYWAY in messages(caught)
    with pytest.raises(DataError, match=r"^column type: 'CNAME' is not one of 'A'$"):
        asyncio.run(run(strict=True))
    assert [s.json()["ttl"] for s in server.seen] == [300]


def test_a_strict_script_is_refused_before_its_first_statement(server: LoopbackServer) -> None:
    first = f"INSERT INTO {RECORDS} (zone_id, name, type, content) VALUES ('z1', 'a', 'A', '192.0.2.1')"
    with zonely(server, strict=True) as conn, pytest.raises(DataError, match="column ttl: 300 is not one of 1"):
        conn.executescript(f"{first};\n{INSERT.replace(chr(39) + 'CNAME' + chr(39), chr(39) + 'A' + chr(39))};")
    assert server.seen == []


def test_a_type_is_refused_everywhere(server: LoopbackServer) -> None:
    wrong = f"INSERT INTO {RECORDS} (zone_id, name, type, content, priority) VALUES ('z1', 'www', 'A', '192.0.2.1', 'high')"
    for strict in (False, True):
        with zonely(server, strict=strict) as conn, pytest.raises(DataError, match=r"^column priority: expected an integer, got 'high'$"):
            conn.execute(wrong)
    shipped = "INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, persist_chat) SELECT 'a', 'b', 'yes'"
    with pytest.raises(DataError, match=r"^column persist_chat: expected a boolean, got 'yes'$"):
        Connection(Settings(token="t"), registry=default_registry()).plans.get(shipped)
    assert server.seen == []


@pytest.mark.parametrize(
    "sql, message",
    [
        (
            "INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, session_keep_alive_time_in_secs) SELECT 'a', 'b', 30",
            "column session_keep_alive_time_in_secs: 30 is below the minimum 60 (allowed: 60 to 600)",
        ),
        (
            "INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, ai_config) "
            "SELECT 'a', 'b', '{\"summarization\": {\"text_format\": \"html\"}}'",
            "column ai_config.summarization.text_format: 'html' is not one of 'plain_text', 'markdown'",
        ),
    ],
)
def test_cfql_s_own_document_always_refuses(sql: str, message: str) -> None:
    client = httpx.Client(transport=httpx.MockTransport(no_requests))
    with Connection(Settings(token="t"), http_client=client) as conn, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DataError) as refused:
            conn.execute(sql)
    assert str(refused.value) == message
    assert messages(caught) == []


# --------------------------------------------------------------------------
# The CLI: one warning line, --strict refuses
# --------------------------------------------------------------------------


def test_the_cli_prints_one_warning_line_per_broken_constraint_and_sends(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(cli(server, "-o", "json", INSERT + " RETURNING ttl")) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == [{"ttl": 300}]
    assert err.splitlines() == [
        "cfql: warning: column type: 'CNAME' is not one of 'A'" + SENT_ANYWAY,
        "cfql: warning: column ttl: 300 is not one of 1" + SENT_ANYWAY,
    ]
    assert [s.json()["ttl"] for s in server.seen] == [300]


def test_the_cli_dry_run_warns_and_sends_nothing(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(cli(server, "--dry-run", "-o", "json", INSERT)) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)[0]["body"]["ttl"] == 300
    assert "cfql: warning: column ttl: 300 is not one of 1" + SENT_ANYWAY in err.splitlines()
    assert server.seen == []


def test_the_cli_strict_flag_refuses(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(cli(server, "--strict", INSERT)) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == ["cfql: error: <command line>:1: column type: 'CNAME' is not one of 'A'"]
    assert server.seen == []


def test_the_cli_refuses_a_wrong_type_with_or_without_strict(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    wrong = INSERT.replace("300", "'300'")
    for flags in ((), ("--strict",)):
        assert main(cli(server, *flags, wrong)) == 1
        assert capsys.readouterr().err.splitlines() == ["cfql: error: <command line>:1: column ttl: expected a number, got '300'"]
    assert server.seen == []


# --------------------------------------------------------------------------
# Secret names a third-party document does not mark
# --------------------------------------------------------------------------


def test_passwords_and_api_keys_are_masked_in_results(server: LoopbackServer) -> None:
    with zonely(server) as conn:
        made = conn.execute(f"INSERT INTO {USERS} (name, password) VALUES ('bob', '{PASSWORD}') RETURNING *")
        listed = conn.execute(f"SELECT name, password, api_key FROM {USERS}")
    assert made == [{"id": "u2", "name": "bob", "role": "admin", "password": "***", "api_key": "***"}]
    assert listed == [{"name": "ann", "password": "***", "api_key": "***"}]
    assert server.seen[0].json() == {"name": "bob", "password": PASSWORD}  # sent as given: masked only where shown
    assert server.seen[0].headers["x-zonely-key"] == KEY


def test_passwords_are_masked_in_dry_runs_and_cli_output(server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    insert = f"INSERT INTO {USERS} (name, password) VALUES ('bob', '{PASSWORD}')"
    with zonely(server, dry_run=True) as conn:
        (request,) = conn.execute(insert)
    assert request["body"] == {"name": "bob", "password": "***"}
    assert main(cli(server, "--dry-run", insert)) == 0
    dry = capsys.readouterr()
    assert '"password":"***"' in dry.out
    assert main(cli(server, "-o", "json", f"SELECT * FROM {USERS}")) == 0
    selected = capsys.readouterr()
    assert json.loads(selected.out) == [{"id": "u1", "name": "ann", "role": "admin", "password": "***", "api_key": "***"}]
    for shown in (dry.out, dry.err, selected.out, selected.err):
        assert PASSWORD not in shown and API_KEY not in shown and KEY not in shown
    assert [s.method for s in server.seen] == ["GET"]  # the dry runs sent nothing
