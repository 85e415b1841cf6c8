"""SHOW [EXTENDED] METHODS lists every method with why cfql cannot drive some; DESCRIBE shows one method's columns.

``tests/data/registry_meta/src/zonely/v1`` (written for these tests) has a
records resource whose list returns summaries and whose read by id returns
the whole record, listed after a GraphQL query cfql cannot run and before the
list — so "the first select method" and "the list" differ — and an EXEC
method with an XML body. Nothing here sends a request: SHOW and DESCRIBE are
answered from the documents, over a connection whose transport fails any call.
"""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

import httpx
import pytest

from cfql import Connection, NotSupportedError, ProgrammingError, Settings
from cfql.plan.meta import describe_method
from cfql.plan.resolver import find_resource
from cfql.provider.registry import Registry, default_registry

from .conftest import no_requests

ROOT = Path(__file__).resolve().parents[1] / "data" / "registry_meta"
RECORDS = "zonely.dns.records"
MEETINGS = "cloudflare.realtime_kit.meetings"
GRAPHQL = "it is a GraphQL query (x-stackQL-graphQL), which cfql does not run yet"
XML = "its request body is application/xml; cfql sends JSON and form-urlencoded bodies"
SUMMARY = ["id", "name", "type"]
RECORD = ["id", "name", "type", "content", "ttl", "priority", "tags", "settings", "created_on"]


def _connection(registry: Registry) -> Connection:
    return Connection(Settings(token="t"), http_client=httpx.Client(transport=httpx.MockTransport(no_requests)), registry=registry)


@pytest.fixture
def conn() -> t.Iterator[Connection]:
    with _connection(Registry(ROOT)) as connection:
        yield connection


@pytest.fixture
def shipped() -> t.Iterator[Connection]:
    with _connection(default_registry()) as connection:
        yield connection


# --------------------------------------------------------------------------
# SHOW METHODS
# --------------------------------------------------------------------------


def test_show_methods_lists_the_methods_cfql_cannot_drive_too(conn: Connection) -> None:
    result = conn.run(f"SHOW METHODS IN {RECORDS}")
    assert result.columns == ["MethodName", "RequiredParams", "SQLVerb"]
    assert result.tuples() == [
        ("get_record", "record_id, zone_id", "SELECT"),
        ("list_records", "zone_id", "SELECT"),
        ("record_analytics", "", "SELECT"),
        ("create_record", "zone_id, content, name, type", "INSERT"),
        ("import_zone", "zone_id", "EXEC"),
    ]


def test_show_extended_methods_says_why_a_method_cannot_be_driven(conn: Connection) -> None:
    result = conn.run(f"SHOW EXTENDED METHODS IN {RECORDS}")
    assert result.columns == ["MethodName", "RequiredParams", "SQLVerb", "description", "unsupported"]
    reasons = {row["MethodName"]: row["unsupported"] for row in result.rows}
    assert reasons == {"get_record": "", "list_records": "", "record_analytics": GRAPHQL, "create_record": "", "import_zone": XML}
    descriptions = {row["MethodName"]: row["description"] for row in result.rows}
    assert descriptions["record_analytics"] == "Query counts per record."
    assert descriptions["list_records"] == "List a zone's records, in brief."


def test_show_extended_methods_like_filters_by_name(conn: Connection) -> None:
    result = conn.run(f"SHOW EXTENDED METHODS IN {RECORDS} LIKE '%_zone'")
    assert [(r["MethodName"], r["unsupported"]) for r in result.rows] == [("import_zone", XML)]


def test_plain_show_methods_of_the_shipped_provider_is_unchanged(shipped: Connection) -> None:
    result = shipped.run(f"SHOW METHODS IN {MEETINGS}")
    assert result.columns == ["MethodName", "RequiredParams", "SQLVerb"]
    assert result.tuples() == [
        ("add_participant", "account_id, app_id, meeting_id, custom_participant_id, preset_name", "INSERT"),
        ("create", "account_id, app_id", "INSERT"),
        ("refresh_participant_token", "account_id, app_id, meeting_id, participant_id", "INSERT"),
        ("delete_meeting_participant", "account_id, app_id, meeting_id, participant_id", "DELETE"),
        ("edit_participant", "account_id, app_id, meeting_id, participant_id", "UPDATE"),
        ("update_meeting_by_id", "account_id, app_id, meeting_id", "UPDATE"),
        ("replace_meeting_by_id", "account_id, app_id, meeting_id", "REPLACE"),
    ]
    assert all("unsupported" not in row for row in result.rows)


def test_every_shipped_method_can_be_driven(shipped: Connection) -> None:
    for resource in ("meetings", "kit_meetings", "meetings_participants"):
        rows = shipped.run(f"SHOW EXTENDED METHODS IN cloudflare.realtime_kit.{resource}").rows
        assert rows and {row["unsupported"] for row in rows} == {""}


# --------------------------------------------------------------------------
# DESCRIBE
# --------------------------------------------------------------------------


def test_describe_shows_the_lists_columns_not_the_read_by_ids(conn: Connection) -> None:
    plain = conn.run(f"DESCRIBE {RECORDS}")
    assert plain.columns == ["name", "type"]
    assert plain.tuples() == [("id", "string"), ("name", "string"), ("type", "string")]
    extended = conn.run(f"DESCRIBE EXTENDED {RECORDS}")
    assert extended.columns == ["name", "type", "description"]
    assert [r["description"] for r in extended.rows] == ["The record's id.", "The record's name.", "Record type."]


def test_describe_uses_the_method_a_select_with_only_the_lists_parameters_uses(conn: Connection) -> None:
    resource = find_resource(conn.registry, RECORDS.split("."))
    chosen = describe_method(resource, None)
    assert chosen.name == "list_records"
    assert conn.plans.get(f"SELECT * FROM {RECORDS} WHERE zone_id = 'z1'").method is chosen  # type: ignore[attr-defined]
    by_id = conn.plans.get(f"SELECT * FROM {RECORDS} WHERE zone_id = 'z1' AND record_id = 'r1'")
    assert by_id.method.name == "get_record"  # type: ignore[attr-defined]


def test_describe_of_a_named_method_shows_that_methods_columns(conn: Connection) -> None:
    assert [r["name"] for r in conn.run(f"DESCRIBE {RECORDS}.get_record").rows] == RECORD
    assert [r["name"] for r in conn.run(f"DESCRIBE {RECORDS}.list_records").rows] == SUMMARY
    types = {r["name"]: r["type"] for r in conn.run(f"DESCRIBE EXTENDED {RECORDS}.get_record").rows}
    assert types == {"id": "string", "name": "string", "type": "string", "content": "string", "ttl": "number",
                     "priority": "integer", "tags": "array", "settings": "object", "created_on": "string"}


def test_describe_of_an_insert_method_shows_what_its_returning_can_name(conn: Connection) -> None:
    assert [r["name"] for r in conn.run(f"DESCRIBE {RECORDS}.create_record").rows] == RECORD


def test_describe_of_a_method_cfql_cannot_drive_gives_the_reason(conn: Connection) -> None:
    with pytest.raises(NotSupportedError, match=re.escape(f"zonely.dns.records.record_analytics cannot be used: {GRAPHQL}")):
        conn.run(f"DESCRIBE {RECORDS}.record_analytics")


def test_describe_of_a_resource_whose_only_select_method_cannot_be_driven_gives_the_reason(conn: Connection) -> None:
    with pytest.raises(NotSupportedError, match=re.escape(f"zonely.dns.reports.record_analytics cannot be used: {GRAPHQL}")):
        conn.run("DESCRIBE zonely.dns.reports")


def test_describe_of_an_unknown_method_suggests_the_near_one(conn: Connection) -> None:
    with pytest.raises(ProgrammingError, match=r"unknown method zonely.dns.records.get_recrd \(did you mean 'get_record'\?\)"):
        conn.run(f"DESCRIBE {RECORDS}.get_recrd")


def test_describe_of_a_shipped_resource_shows_its_lists_columns(shipped: Connection) -> None:
    kit = "cloudflare.realtime_kit.kit_meetings"
    resource = find_resource(shipped.registry, kit.split("."))
    assert describe_method(resource, None).name == "list_by_account"
    listed = [r["name"] for r in shipped.run(f"DESCRIBE {kit}").rows]
    assert listed == [r["name"] for r in shipped.run(f"DESCRIBE {kit}.list_by_account").rows]
    assert "id" in listed and "title" in listed


def test_describe_of_a_resource_without_select_keeps_the_reference_error(shipped: Connection) -> None:
    with pytest.raises(NotSupportedError, match="SELECT not supported for this resource"):
        shipped.run(f"DESCRIBE {MEETINGS}")
    # a named method still has columns; ``create`` is an SQL keyword, and names a method here
    assert [r["name"] for r in shipped.run(f"DESCRIBE {MEETINGS}.create").rows]
    assert shipped.run(f"DESCRIBE {MEETINGS}.create").rows == shipped.run(f'DESCRIBE {MEETINGS}."create"').rows
