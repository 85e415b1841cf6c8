"""Completion in each context, with every name checked against the manifests rather than a list."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prompt_toolkit.completion import CompleteEvent, Completion
from prompt_toolkit.document import Document

from cfql.provider.registry import default_registry
from cfql.shell.completer import SQLCompleter

MEETINGS = "cloudflare.realtime_kit.meetings"
KIT_MEETINGS = "cloudflare.realtime_kit.kit_meetings"


@pytest.fixture(scope="module")
def completer() -> SQLCompleter:
    return SQLCompleter()


def complete(completer: SQLCompleter, text: str, cursor: int | None = None) -> list[Completion]:
    return list(completer.get_completions(Document(text, cursor), CompleteEvent()))


def texts(completions: list[Completion]) -> list[str]:
    return [c.text for c in completions]


def metas(completions: list[Completion]) -> dict[str, str]:
    return {c.text: c.display_meta_text for c in completions}


def meetings():
    return default_registry().resource("cloudflare", "realtime_kit", "meetings")


def test_statement_keywords_at_the_start(completer: SQLCompleter) -> None:
    assert texts(complete(completer, "")) == [
        "SELECT", "INSERT INTO", "UPDATE", "REPLACE", "DELETE FROM", "EXEC", "SHOW", "DESCRIBE", "EXPLAIN", "REGISTRY",
    ]
    assert texts(complete(completer, "ins")) == ["insert into"]  # in the case typed
    assert texts(complete(completer, "SHOW PROVIDERS; up")) == ["update"]  # a new statement after ;


@pytest.mark.parametrize("keyword", ["INTO", "FROM", "IN", "UPDATE", "REPLACE", "EXEC", "DESCRIBE"])
def test_providers_after_each_name_keyword(completer: SQLCompleter, keyword: str) -> None:
    prefix = {"INTO": "INSERT INTO", "FROM": "DELETE FROM", "IN": "SHOW SERVICES IN"}.get(keyword, keyword)
    found = texts(complete(completer, f"{prefix} "))
    assert set(default_registry().provider_names) <= set(found)


def test_dotted_names_walk_provider_service_resource(completer: SQLCompleter) -> None:
    provider = default_registry().provider("cloudflare")
    assert texts(complete(completer, "SHOW RESOURCES IN cloudflare.")) == list(provider.services)
    services = complete(completer, "INSERT INTO cloudflare.real")
    assert texts(services) == ["realtime_kit"] and services[0].start_position == -len("real")
    every = list(provider.services["realtime_kit"].resources)
    assert texts(complete(completer, "SHOW METHODS IN cloudflare.realtime_kit.")) == every


def test_resources_are_those_offering_the_verb(completer: SQLCompleter) -> None:
    resources = default_registry().provider("cloudflare").services["realtime_kit"].resources.values()
    for verb, prefix in (("insert", "INSERT INTO"), ("select", "SELECT * FROM"), ("delete", "DELETE FROM")):
        expected = [r.name for r in resources if r.methods_for(verb)]
        assert texts(complete(completer, f"{prefix} cloudflare.realtime_kit.")) == expected, verb
    assert "meetings" not in texts(complete(completer, "DESCRIBE cloudflare.realtime_kit."))  # no SELECT


def test_fully_qualified_resource_from_a_fragment(completer: SQLCompleter) -> None:
    found = complete(completer, "INSERT INTO meet")
    assert texts(found) == [MEETINGS] and found[0].start_position == -len("meet")


def test_exec_method_names(completer: SQLCompleter) -> None:
    found = complete(completer, f"EXEC {MEETINGS}.")
    assert texts(found) == list(meetings().methods)
    assert metas(found)["create"] == "POST · insert"
    assert texts(complete(completer, f"EXEC {MEETINGS}.add")) == ["add_participant"]


def test_insert_columns_flag_required_names(completer: SQLCompleter) -> None:
    found = complete(completer, f"INSERT INTO {MEETINGS} (")
    names = {n for m in meetings().methods_for("insert") for n in m.fields}
    assert set(texts(found)) == names
    meta = metas(found)
    assert meta["account_id"] == "required · string"  # every INSERT method needs it
    assert meta["preset_name"] == "required by add_participant · string"
    assert meta["title"] == "string"
    assert texts(found)[:2] == ["account_id", "app_id"]  # required first


def test_insert_columns_narrow_to_methods_that_fit(completer: SQLCompleter) -> None:
    """After meeting_id only participant methods remain: no meeting body fields like title."""
    found = metas(complete(completer, f"INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, "))
    assert "account_id" not in found and "meeting_id" not in found  # already given
    assert "title" not in found
    assert found["preset_name"] == "required by add_participant · string"
    assert texts(complete(completer, f"INSERT INTO {MEETINGS} (account_id, pre")) == ["preset_name"]


def test_set_offers_body_fields_and_where_offers_parameters(completer: SQLCompleter) -> None:
    update = meetings().methods_for("update")
    body = {n for m in update for n in m.body_fields}
    params = {n for m in update for n in m.parameters}
    assert set(texts(complete(completer, f"UPDATE {MEETINGS} SET "))) == body
    with_title = {n for m in update if "title" in m.body_fields for n in m.body_fields}
    assert with_title < body  # a SET title narrows to the meeting method, dropping participant fields
    assert set(texts(complete(completer, f"UPDATE {MEETINGS} SET title = 'x', "))) == with_title - {"title"}
    where = complete(completer, f"UPDATE {MEETINGS} SET title = 'x' WHERE ")
    assert set(texts(where)) == {n for m in update if "title" in m.body_fields for n in m.parameters}
    assert set(texts(complete(completer, f"UPDATE {MEETINGS} SET WHERE "))) == params
    assert metas(where)["meeting_id"] == "required · string"
    after_and = texts(complete(completer, f"UPDATE {MEETINGS} SET title = 'x' WHERE account_id = 'a' AND "))
    assert "account_id" not in after_and and "app_id" in after_and


def test_enum_values_after_equals(completer: SQLCompleter) -> None:
    enum = meetings().methods["update_meeting_by_id"].fields["status"].schema["enum"]
    quoted = [f"'{v}'" for v in enum]
    assert texts(complete(completer, f"UPDATE {MEETINGS} SET status = ")) == quoted
    partial = complete(completer, f"UPDATE {MEETINGS} SET status = 'IN")
    assert texts(partial) == ["'INACTIVE'"] and partial[0].start_position == -3
    assert texts(complete(completer, f"SELECT * FROM {KIT_MEETINGS} WHERE status = ")) == quoted


def test_booleans_and_enums_by_position_in_insert_values(completer: SQLCompleter) -> None:
    found = complete(completer, f"INSERT INTO {MEETINGS} (account_id, app_id, persist_chat) SELECT 'a', 'b', ")
    assert texts(found) == ["true", "false"]
    assert complete(completer, f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'a', ") == []


def test_exec_parameters(completer: SQLCompleter) -> None:
    method = meetings().methods["create"]
    found = complete(completer, f"EXEC {MEETINGS}.create ")
    assert set(texts(found)) == {f"@{n}" for n in method.fields} | {"@@json"}
    assert metas(found)["@account_id"] == "required · string"
    rest = texts(complete(completer, f"EXEC {MEETINGS}.create @account_id = 'a', @"))
    assert "@account_id" not in rest and "@app_id" in rest


def test_select_columns_from_the_row_schema(completer: SQLCompleter) -> None:
    resource = default_registry().resource("cloudflare", "realtime_kit", "kit_meetings")
    columns = {c for m in resource.methods_for("select") for c in m.row_schema["properties"]}
    text = f"SELECT  FROM {KIT_MEETINGS}"
    found = texts(complete(completer, text, cursor=len("SELECT ")))
    assert columns <= set(found)
    assert "id" not in texts(complete(completer, f"SELECT id,  FROM {KIT_MEETINGS}", cursor=len("SELECT id, ")))


def test_returning_columns_and_json_paths(completer: SQLCompleter) -> None:
    insert = f"INSERT INTO {MEETINGS} (account_id, app_id) SELECT 'a', 'b' RETURNING "
    assert {"success", "data", "*"} <= set(texts(complete(completer, insert)))
    paths = texts(complete(completer, insert + "json_extract(data, '$.ti"))
    assert paths == ["'$.title'"]


def test_next_keywords(completer: SQLCompleter) -> None:
    assert texts(complete(completer, f"UPDATE {MEETINGS} ")) == ["SET"]
    assert texts(complete(completer, f"INSERT INTO {MEETINGS} (account_id) ")) == ["SELECT", "VALUES"]
    assert texts(complete(completer, "SHOW ")) == [
        "EXTENDED", "PROVIDERS", "SERVICES", "RESOURCES", "METHODS", "INSERT INTO", "VERSION",
    ]
    assert texts(complete(completer, f"DELETE FROM {MEETINGS} WHERE account_id = 'a' ")) == ["AND", "RETURNING"]


def test_backslash_commands_and_their_arguments(completer: SQLCompleter) -> None:
    assert "\\timing" in texts(complete(completer, "\\t"))
    assert texts(complete(completer, "\\output j")) == ["json", "jsonl"]
    assert texts(complete(completer, "\\timing o")) == ["on", "off"]


def test_script_paths(completer: SQLCompleter, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "setup.iql").write_text("SHOW PROVIDERS;")
    monkeypatch.chdir(tmp_path)
    assert texts(complete(completer, "\\i set")) == ["up.iql"]


def test_manifests_load_on_first_completion_only() -> None:
    calls = []

    def registry():
        calls.append(1)
        return default_registry()

    lazy = SQLCompleter(registry)
    assert complete(lazy, "")  # keywords need no manifest
    assert calls == []
    complete(lazy, "INSERT INTO ")
    complete(lazy, "INSERT INTO cloudflare.")
    assert calls == [1]


@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("SELECT INSERT INTO cloudflare.realtime_kit.meetings(,)'=@$;\\\"-*/\n ")), max_size=80))
def test_never_raises(text: str) -> None:
    list(SQLCompleter().get_completions(Document(text), CompleteEvent()))


def test_select_where_offers_parameters_then_row_columns(completer: SQLCompleter) -> None:
    found = complete(completer, f"SELECT * FROM {KIT_MEETINGS} WHERE account_id = 'a' AND ")
    meta = metas(found)
    assert meta["app_id"] == "required · string" and "account_id" not in meta
    assert meta["title"] == "column · string"  # not a parameter: filtered locally
    assert texts(complete(completer, f"SELECT * FROM {KIT_MEETINGS} ORDER BY cre")) == ["created_at"]
    assert texts(complete(completer, f"SELECT * FROM {KIT_MEETINGS} WHERE account_id = 'a' ")) == [
        "AND", "OR", "ORDER BY", "GROUP BY", "LIMIT",
    ]
    assert texts(complete(completer, "SELECT co")) == ["count("]


def test_session_variables_after_a_colon() -> None:
    variables = {"mid": "m1", "meeting": "x", "app": "a"}
    completer = SQLCompleter(variables=lambda: variables)
    where = "SELECT * FROM cloudflare.realtime_kit.kit_meetings WHERE meeting_id = :"
    assert texts(complete(completer, where)) == ["app", "meeting", "mid"]
    assert [c.display_text for c in complete(completer, where + "m")] == [":meeting", ":mid"]
    assert texts(complete(completer, where + "mi")) == ["mid"]
    assert texts(complete(completer, "SELECT a::")) == []  # a cast, not a variable
    assert texts(complete(completer, "\\unset m")) == ["meeting", "mid"]
    assert texts(complete(completer, "\\set a")) == ["app"]
    assert texts(complete(completer, "\\x a")) == ["auto"]
    variables["added"] = 1  # read at completion time
    assert texts(complete(completer, where + "a")) == ["added", "app"]


def test_explain_starts_a_statement_and_completes_as_the_statement(completer: SQLCompleter) -> None:
    assert texts(complete(completer, "exp")) == ["explain"]
    assert "EXPLAIN" not in texts(complete(completer, "EXPLAIN "))
    assert texts(complete(completer, "EXPLAIN ")) == [k for k in texts(complete(completer, "")) if k != "EXPLAIN"]
    for statement in (f"INSERT INTO {MEETINGS} (", f"UPDATE {MEETINGS} SET ", f"SELECT * FROM {KIT_MEETINGS} WHERE account_id = 'a' AND "):
        assert texts(complete(completer, "EXPLAIN " + statement)) == texts(complete(completer, statement)), statement
    assert texts(complete(completer, "EXPLAIN UPDATE ")) == texts(complete(completer, "UPDATE "))


def test_show_insert_into_offers_insert_resources_and_their_columns(completer: SQLCompleter) -> None:
    resources = default_registry().provider("cloudflare").services["realtime_kit"].resources.values()
    assert texts(complete(completer, "SHOW INSERT ")) == ["INTO"]
    assert texts(complete(completer, "SHOW INSERT INTO cloudflare.realtime_kit.")) == [r.name for r in resources if r.methods_for("insert")]
    assert texts(complete(completer, f"SHOW INSERT INTO {MEETINGS} (")) == texts(complete(completer, f"INSERT INTO {MEETINGS} ("))
    narrowed = texts(complete(completer, f"SHOW INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, "))
    assert "preset_name" in narrowed and "title" not in narrowed
    assert texts(complete(completer, f"SHOW INSERT INTO {MEETINGS} ")) == ["/*+ REQUIRED */"]
    assert texts(complete(completer, f"SHOW EXTENDED INSERT INTO {MEETINGS} (account_id) ")) == ["/*+ REQUIRED */"]


def test_show_version_and_show_like_or_where(completer: SQLCompleter) -> None:
    assert texts(complete(completer, "SHOW EXTENDED ")) == ["PROVIDERS", "SERVICES", "RESOURCES", "METHODS", "INSERT INTO"]
    assert texts(complete(completer, "SHOW VER")) == ["VERSION"] and texts(complete(completer, "SHOW VERSION ")) == []
    assert texts(complete(completer, "SHOW PROVIDERS ")) == ["LIKE", "WHERE"]
    assert texts(complete(completer, "SHOW METHODS ")) == ["IN", "LIKE", "WHERE"]
    assert texts(complete(completer, f"SHOW METHODS IN {MEETINGS} ")) == ["LIKE", "WHERE"]
    assert texts(complete(completer, f"SHOW METHODS IN {MEETINGS} LIKE ")) == []


def test_show_where_offers_the_columns_of_what_it_lists(completer: SQLCompleter) -> None:
    from cfql.connection import Connection

    with Connection() as conn:
        columns = {
            sql: conn.run(sql).columns
            for sql in ("SHOW PROVIDERS", "SHOW SERVICES IN cloudflare", f"SHOW EXTENDED METHODS IN {MEETINGS}")
        }
    for sql, expected in columns.items():
        assert texts(complete(completer, sql + " WHERE ")) == expected, sql
    methods = f"SHOW EXTENDED METHODS IN {MEETINGS}"
    after_and = texts(complete(completer, f"{methods} WHERE SQLVerb = 'INSERT' AND "))
    assert after_and == columns[methods]
    assert texts(complete(completer, f"EXPLAIN {methods} WHERE ")) == columns[methods]
    assert complete(completer, "SHOW METHODS IN nope.nope.nope WHERE ") == []  # the SHOW is wrong: nothing to offer


def test_describe_method_offers_keywords_resources_and_method_names(completer: SQLCompleter) -> None:
    assert texts(complete(completer, "DESCRIBE "))[:2] == ["EXTENDED", "METHOD"]
    assert texts(complete(completer, "DESCRIBE EXTENDED "))[:1] == ["METHOD"]
    assert texts(complete(completer, "DESCRIBE METHOD "))[:1] == ["EXTENDED"]
    assert "EXTENDED" not in texts(complete(completer, "DESCRIBE METHOD EXTENDED "))
    assert "meetings" in texts(complete(completer, "DESCRIBE METHOD cloudflare.realtime_kit."))  # any resource, not only SELECT's
    found = complete(completer, f"DESCRIBE METHOD EXTENDED {MEETINGS}.")
    assert texts(found) == list(meetings().methods) and metas(found)["create"] == "POST · insert"
    assert texts(complete(completer, f"DESCRIBE {MEETINGS}.ref")) == ["refresh_participant_token"]


def test_registry_list_and_pull(completer: SQLCompleter) -> None:
    assert texts(complete(completer, "reg")) == ["registry"]
    assert texts(complete(completer, "REGISTRY ")) == ["LIST", "PULL"]
    assert texts(complete(completer, "REGISTRY p")) == ["pull"]
    found = complete(completer, "REGISTRY PULL clo")
    assert texts(found) == ["cloudflare"] and metas(found)["cloudflare"] == "installed provider"
    assert texts(complete(completer, "REGISTRY LIST ")) == list(default_registry().provider_names)


def test_new_statement_words_are_highlighted() -> None:
    from cfql.shell.lexer import highlight

    text = f"EXPLAIN SHOW VERSION; DESCRIBE METHOD {MEETINGS}.create; REGISTRY PULL cloudflare; REGISTRY LIST"
    keywords = [piece for style, piece in highlight(text) if style == "class:sql.keyword"]
    assert keywords == ["EXPLAIN", "SHOW", "VERSION", "DESCRIBE", "METHOD", "REGISTRY", "PULL", "REGISTRY", "LIST"]


def test_statement_words_are_offered_only_where_they_can_stand(completer: SQLCompleter) -> None:
    """LIST, PULL, REGISTRY, VERSION and INSERT INTO belong after REGISTRY or SHOW, not in any clause."""
    select = f"SELECT id FROM {KIT_MEETINGS} WHERE account_id = 'a' AND app_id = 'b'"
    assert texts(complete(completer, select + " ORDER BY id L")) == ["LIMIT", "LIKE"]
    assert "INSERT INTO" not in texts(complete(completer, f"DELETE FROM {MEETINGS} WHERE participant_id I"))
    assert "REGISTRY" not in texts(complete(completer, f"INSERT INTO {MEETINGS} (account_id) SELECT 'a' RETURNING data R"))
    assert texts(complete(completer, f"INSERT INTO {MEETINGS} (account_id) V")) == ["VALUES"]
    assert "VERSION" in texts(complete(completer, "SHOW V")) and "INSERT INTO" in texts(complete(completer, "SHOW I"))
    assert texts(complete(completer, "REGISTRY L")) == ["LIST"]
