"""The bottom toolbar names the method a statement resolves to and what it lacks — with no HTTP at all."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfql.provider.registry import default_registry
from cfql.shell import toolbar
from cfql.shell.toolbar import Toolbar, describe

MEETINGS = "cloudflare.realtime_kit.meetings"
PARTICIPANT = f"INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, custom_participant_id) SELECT 'a', 'b', 'c', 'd'"


@pytest.fixture(autouse=True)
def no_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any request from the toolbar fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the toolbar made an HTTP request")

    monkeypatch.setattr(httpx.Client, "send", refuse)


def status(text: str) -> tuple[str, str]:
    return describe(text, default_registry())


def test_missing_names_of_the_best_candidate() -> None:
    assert status(PARTICIPANT + ";") == (toolbar.MISSING, "→ add_participant · missing: preset_name")
    assert status(PARTICIPANT.split(" SELECT")[0]) == (toolbar.MISSING, "→ add_participant · missing: preset_name")


def test_a_statement_that_resolves_is_ready() -> None:
    kind, message = status(f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'a', 'b', 'T';")
    assert kind == toolbar.OK and message == "→ create · POST · ready"


def test_refused_names_are_listed() -> None:
    kind, message = status(f"UPDATE {MEETINGS} SET account_id = 'x' WHERE app_id = 'b'")
    assert kind == toolbar.MISSING and "not accepted: account_id" in message


def test_value_errors_come_from_the_planner() -> None:
    kind, message = status(
        f"UPDATE {MEETINGS} SET status = 'LIVE' WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = 'c'"
    )
    assert kind == toolbar.ERROR and "'LIVE' is not one of 'ACTIVE', 'INACTIVE'" in message


def test_unknown_resource_with_did_you_mean_but_not_while_typing_it() -> None:
    assert status(f"DELETE FROM {MEETINGS}z WHERE a = 'b'")[1].endswith("(did you mean 'meetings'?)")
    assert status(f"DELETE FROM {MEETINGS[:-3]}")[0] == toolbar.HINT


def test_exec_and_show() -> None:
    assert status(f"EXEC {MEETINGS}.create @account_id = 'a'") == (toolbar.MISSING, "→ create · missing: app_id")
    assert status(f"SHOW METHODS IN {MEETINGS};") == (toolbar.OK, "→ the manifests · no API call")


def test_hints_for_empty_incomplete_and_backslash_input() -> None:
    assert status("   ") == (toolbar.HINT, toolbar.IDLE_HINT)
    assert status("INSERT INTO")[0] == toolbar.HINT
    assert status("\\timing")[1].startswith("\\timing [on|off]")
    kind, message = status("INSERT INTO (;")
    assert kind == toolbar.ERROR and message.startswith("syntax error")  # submitted, so say what is wrong


def test_the_bar_shows_status_left_and_shell_state_right() -> None:
    loads = []
    bar = Toolbar(lambda: loads.append(1) or default_registry(), lambda: "table · emacs")
    idle = bar.fragments("", 100)
    assert idle[0] == ("class:bottom-toolbar.hint", " " + toolbar.IDLE_HINT) and loads == []  # no manifest yet
    fragments = bar.fragments(PARTICIPANT, 100)
    text = "".join(fragment[1] for fragment in fragments)
    assert len(text) == 100 and text.rstrip().endswith("table · emacs")
    assert fragments[0] == ("class:bottom-toolbar.missing", " → add_participant · missing: preset_name")
    narrow = "".join(fragment[1] for fragment in bar.fragments(PARTICIPANT, 40))
    assert "…" in narrow and narrow.rstrip().endswith("table · emacs")


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("UPDATE cloudflare.realtime_kit.meetings SET WHERE(,)'=@$;\\\"\n ")), max_size=80))
def test_never_raises(text: str) -> None:
    kind, message = describe(text, default_registry())
    assert isinstance(kind, str) and isinstance(message, str)


def test_select_with_local_filters_resolves() -> None:
    select = "SELECT id FROM cloudflare.realtime_kit.kit_meetings WHERE account_id = 'a' AND app_id = 'b'"
    assert status(select + " AND title = 'x' ORDER BY created_at LIMIT 2;") == (toolbar.OK, "→ list_by_account · GET · ready")
    kind, message = status(select.replace("SELECT id", "SELECT nope") + ";")
    assert kind == toolbar.ERROR and "unknown column 'nope'" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # still typing the last part: a hint, not yet an error
        ("SELECT * FROM cloudflare.realtime_kit.meeting", (toolbar.HINT, "unknown resource meeting — did you mean meetings?")),
        ("SELECT * FROM cloudflare.realtime_kt", (toolbar.HINT, "unknown service realtime_kt — did you mean realtime_kit?")),
        ("SELECT * FROM cloudflar", (toolbar.HINT, "unknown provider cloudflar — did you mean cloudflare?")),
        # a part followed by a dot is finished: wrong is an error
        ("SELECT * FROM cloudflare.realtime_kt.", (toolbar.ERROR, "unknown service realtime_kt — did you mean realtime_kit?")),
        ("DELETE FROM clodflare.", (toolbar.ERROR, "unknown provider clodflare — did you mean cloudflare?")),
        (f"DELETE FROM {MEETINGS}z WHERE a = 'b'", (toolbar.ERROR, "unknown resource cloudflare.realtime_kit.meetingsz (did you mean 'meetings'?)")),
    ],
)
def test_did_you_mean_for_names(text: str, expected: tuple[str, str]) -> None:
    assert status(text) == expected


def test_did_you_mean_for_methods_columns_and_parameters() -> None:
    kit = "cloudflare.realtime_kit.kit_meetings"
    assert status(f"EXEC {MEETINGS}.ceate @account_id = 'a'") == (
        toolbar.ERROR,
        f"no method 'ceate' in {MEETINGS} — did you mean create?",
    )
    assert status(f"SELECT * FROM {kit} WHERE account_id = 'a' AND app_idd = 'b'")[1].endswith(
        "not accepted: app_idd (did you mean app_id?)"
    )
    assert status(f"SELECT * FROM {kit} WHERE account_id = 'a' AND app_id = 'b' AND titel = 'x'") == (
        toolbar.MISSING,
        "→ list_by_account · not accepted: titel (did you mean title?)",
    )
    assert status(f"INSERT INTO {MEETINGS} (account_id, app_id, titel) SELECT 'a', 'b', 'c'")[1] == (
        "→ create · not accepted: titel (did you mean title?)"
    )
    assert status(f"UPDATE {MEETINGS} SET titel = 'x' WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = 'c';")[1] == (
        "→ update_meeting_by_id · not accepted: titel (did you mean title?)"
    )
    kind, message = status(f"SELECT titel FROM {kit} WHERE account_id = 'a' AND app_id = 'b';")
    assert kind == toolbar.ERROR and "unknown column 'titel' (did you mean 'title'?)" in message


def test_variables_a_statement_uses() -> None:
    select = "SELECT * FROM cloudflare.realtime_kit.kit_meetings WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = :mdi"
    registry = default_registry()
    assert describe(select, registry) == (toolbar.OK, "→ get_by_account · GET · ready")  # not checked
    assert describe(select, registry, {"mid"}) == (toolbar.MISSING, ":mdi has no value — did you mean :mid?")
    assert describe(select, registry, set())[1] == ":mdi has no value (\\set it, or RETURNING ... AS it)"
    assert describe(select, registry, {"mdi"})[0] == toolbar.OK
    earlier = f"INSERT INTO {MEETINGS} (account_id, app_id) SELECT 'a', 'b' RETURNING json_extract(data, '$.id') AS mdi; "
    assert describe(earlier + select, registry, set())[0] == toolbar.OK  # set by the statement before it
    names: set[str] = set()
    bar = Toolbar(default_registry, lambda: "", lambda: names)
    assert ":mdi has no value" in bar.fragments(select, 200)[0][1]
    names.add("mdi")
    assert "ready" in bar.fragments(select, 200)[0][1]  # the cache follows the variables


def test_explain_shows_the_status_of_the_statement_it_explains() -> None:
    assert status("EXPLAIN") == (toolbar.HINT, toolbar._SYNTAX["explain"])
    assert status("EXPLAIN ") == (toolbar.HINT, toolbar._SYNTAX["explain"])
    assert status("EXPLAIN INSERT INTO") == (toolbar.HINT, "EXPLAIN · " + toolbar._SYNTAX["insert"])
    assert status("EXPLAIN " + PARTICIPANT + ";") == (toolbar.MISSING, "EXPLAIN · → add_participant · missing: preset_name")
    ready = f"EXPLAIN INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'a', 'b', 'T';"
    assert status(ready) == (toolbar.OK, "EXPLAIN · → create · POST · ready")
    assert status(f"EXPLAIN SHOW METHODS IN {MEETINGS};") == (toolbar.OK, "EXPLAIN · → the manifests · no API call")
    kind, message = status(f"EXPLAIN UPDATE {MEETINGS} SET status = 'LIVE' WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = 'c'")
    assert kind == toolbar.ERROR and message.startswith("EXPLAIN · ") and "'LIVE' is not one of" in message
    bound = "EXPLAIN SELECT * FROM cloudflare.realtime_kit.kit_meetings WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = :mdi"
    assert describe(bound, default_registry(), set()) == (toolbar.OK, "EXPLAIN · → get_by_account · GET · ready")  # needs no value


KIT = "cloudflare.realtime_kit.kit_meetings"


def _said(message: str) -> tuple[str, str]:
    """The toolbar's ``→ method · missing: a · not accepted: b (did you mean c?)`` as the method and the
    resolver's words for what it lacks (``is missing a and does not accept b``)."""
    method, *rest = message.removeprefix("→ ").split(" · ")
    lacks = []
    for part in rest:
        label, names = part.split(": ", 1)
        if label == "missing":
            lacks.append("is missing " + names)
        else:
            lacks.append("does not accept " + ", ".join(n.split(" (did you mean")[0] for n in names.split(", ")))
    return method, " and ".join(lacks)


@pytest.mark.parametrize(
    "sql",
    [
        PARTICIPANT,
        f"INSERT INTO {MEETINGS} (account_id, app_id, titel) SELECT 'a', 'b', 'c'",
        f"UPDATE {MEETINGS} SET account_id = 'x' WHERE app_id = 'b'",
        f"UPDATE {MEETINGS} SET title = 'x' WHERE account_id = 'a' AND app_id = 'b' AND participant_id = 'p'",
        f"DELETE FROM {MEETINGS} WHERE account_id = 'a' AND app_id = 'b'",
        f"SELECT * FROM {KIT} WHERE account_id = 'a' AND app_idd = 'b'",
        f"SELECT id FROM {KIT} WHERE account_id = 'a' AND app_id = 'b' AND name = 'n' AND status = 'ACTIVE'",
        f"EXEC {MEETINGS}.add_participant @account_id = 'a', @name = 'n'",
        f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'a', 'b', 'T'",
        f"INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, custom_participant_id, preset_name) SELECT 'a', 'b', 'm', 'c', 'p'",
        f"UPDATE {MEETINGS} SET name = 'n' WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = 'm' AND participant_id = 'p'",
        f"SELECT id FROM {KIT} WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = 'm' AND status = 'ACTIVE'",
        f"SELECT id FROM {KIT} WHERE account_id = 'a' AND app_id = 'b' AND status = 'ACTIVE'",
        f"DELETE FROM {MEETINGS} WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = 'm' AND participant_id IN ('p', 'q')",
    ],
)
def test_the_toolbar_and_explain_say_what_running_the_statement_does(sql: str) -> None:
    """Running the statement (a dry run: it sends nothing) either makes requests or refuses it. The toolbar
    and EXPLAIN must agree with that: the same method and requests, or the refusal's own complaint about the
    candidate the toolbar names, and EXPLAIN's rows for every candidate the refusal names."""
    from cfql import ResolutionError, connect

    with connect(token="t", dry_run=True) as conn:
        explained = conn.run("EXPLAIN " + sql)
        try:
            sent = conn.run(sql).rows
        except ResolutionError as error:
            refused = str(error)
        else:
            refused = None
    rows = {part: [r["detail"] for r in explained.rows if r["part"] == part] for part in ("method", "candidate", "error", "request")}
    kind, message = status(sql + ";")
    if refused is None:
        method = rows["method"][0].split(" · ")[0]
        assert (kind, message) == (toolbar.OK, f"→ {method} · {sent[0]['method']} · ready")
        numbered = [r.split("] ", 1)[-1] for r in rows["request"]]
        assert numbered == [f"{request['method']} {request['url']}" for request in sent]
        return
    assert rows["error"] == [refused]
    said = refused.split(" — ")[0]  # the did-you-mean hints after the complaints
    complaints = said.split("): ", 1)[1].split("; ") if said.startswith("no ") else [said.split(": ", 1)[1]]
    assert [c.replace(": ", " ", 1) for c in rows["candidate"]] == complaints
    method, lacks = _said(message)
    assert kind == toolbar.MISSING and f"{method} {lacks}" in complaints


def test_a_name_in_the_wrong_place_says_where_it_goes() -> None:
    kind, message = status(f"UPDATE {MEETINGS} SET account_id = 'x' WHERE app_id = 'b';")
    assert (kind, message) == (
        toolbar.MISSING,
        "→ update_meeting_by_id · missing: meeting_id · not accepted: account_id (a parameter: put it in WHERE)",
    )


def test_hints_and_status_for_the_new_show_and_describe_statements() -> None:
    assert status("SHOW INSERT INTO") == (toolbar.HINT, toolbar._SYNTAX["show INSERT"])
    assert status("SHOW VERSION") == (toolbar.OK, "→ the manifests · no API call")
    assert status("SHOW EXTENDED") == (toolbar.HINT, toolbar._SYNTAX["show"])
    assert status("DESCRIBE METHOD") == (toolbar.HINT, toolbar._SYNTAX["describe METHOD"])
    assert status(f"DESCRIBE METHOD {MEETINGS}.") == (toolbar.HINT, toolbar._SYNTAX["describe METHOD"])
    assert status(f"DESCRIBE METHOD EXTENDED {MEETINGS}.create;") == (toolbar.OK, "→ the manifests · no API call")
    kind, message = status(f"DESCRIBE METHOD {MEETINGS}.creat;")
    assert kind == toolbar.ERROR and "unknown method" in message
    assert status(f"SHOW METHODS IN {MEETINGS} WHERE ") == (toolbar.HINT, toolbar._SYNTAX["show filter"])
    assert status(f"SHOW INSERT INTO {MEETINGS} (account_id, app_id, meeting_id") == (
        toolbar.MISSING,
        "→ refresh_participant_token · missing: participant_id",
    )
    kind, message = status(f"SHOW INSERT INTO {MEETINGS} (account_id, app_id, meeting_id);")
    assert kind == toolbar.ERROR and message.startswith(f"no INSERT method of {MEETINGS} matches")
    assert status(f"SHOW INSERT INTO {MEETINGS} (account_id, app_id);") == (toolbar.OK, "→ the manifests · no API call")


def test_registry_statements_and_the_list_of_statements() -> None:
    assert status("REGISTRY") == (toolbar.HINT, toolbar._SYNTAX["registry"])
    assert status("REGISTRY LIST;") == (toolbar.OK, "→ the provider registry · no provider API call")
    kind, message = status("REGISTRY PULL;")
    assert kind == toolbar.ERROR and "REGISTRY PULL needs a provider" in message
    assert status("FROB") == (toolbar.HINT, toolbar.STATEMENTS_HINT)
    assert "EXPLAIN" in toolbar.STATEMENTS_HINT and "REGISTRY" in toolbar.STATEMENTS_HINT


def test_a_nested_explain_shows_the_parsers_error_at_once() -> None:
    from cfql.errors import SQLSyntaxError
    from cfql.sql.dialect import parse_statement

    select = "SELECT * FROM cloudflare.realtime_kit.kit_meetings WHERE account_id = 'a' AND app_id = 'b';"
    with pytest.raises(SQLSyntaxError) as parsing:
        parse_statement("EXPLAIN EXPLAIN " + select)
    assert status("EXPLAIN EXPLAIN " + select) == (toolbar.ERROR, str(parsing.value))
    assert status("EXPLAIN " * 3000 + select) == (toolbar.ERROR, str(parsing.value))  # read once, not once per EXPLAIN


def test_an_explain_sets_no_name_for_the_statements_after_it() -> None:
    explained = f"EXPLAIN INSERT INTO {MEETINGS} (account_id, app_id) SELECT 'a', 'b' RETURNING json_extract(data, '$.id') AS mid; "
    delete = f"DELETE FROM {MEETINGS} WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = :mid AND participant_id = 'p';"
    assert describe(explained + delete, default_registry(), set()) == (
        toolbar.MISSING,
        ":mid has no value (\\set it, or RETURNING ... AS it)",
    )
    assert describe(explained.removeprefix("EXPLAIN ") + delete, default_registry(), set())[0] == toolbar.OK


def test_an_in_list_still_being_typed_is_no_error() -> None:
    where = f"DELETE FROM {MEETINGS} WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = 'm' AND participant_id IN"
    assert status(where) == (toolbar.OK, "→ delete_meeting_participant")
    assert status(where + " ('p', 'q')") == (toolbar.OK, "→ delete_meeting_participant · DELETE · ready")
    kind, message = status(where + " ();")
    assert kind == toolbar.ERROR and message.startswith("participant_id IN (): the list is empty")


def test_a_syntax_error_under_explain_is_placed_in_the_whole_statement() -> None:
    from cfql.errors import SQLSyntaxError
    from cfql.sql.dialect import parse_statement

    broken = "EXPLAIN SELECT * FROM (;"
    with pytest.raises(SQLSyntaxError) as parsing:
        parse_statement(broken)
    assert status(broken) == (toolbar.ERROR, f"EXPLAIN · {parsing.value}")
    assert f"column {parsing.value.column}" in status(broken)[1] and parsing.value.column == 23
