"""Method resolution is strict: the right method or an error that says how to fix the statement."""

from __future__ import annotations

import pytest

from cfql import NotSupportedError, ProgrammingError, ResolutionError
from cfql.connection import Connection

from .conftest import MEETINGS, Recorder

IDS = "account_id = 'acc' AND app_id = 'app'"


@pytest.mark.parametrize(
    "sql, http_method, path",
    [
        (f"INSERT INTO {MEETINGS} (account_id, app_id) SELECT 'acc', 'app'", "POST", "/accounts/acc/realtime/kit/app/meetings"),
        (
            f"INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, custom_participant_id, preset_name) "
            "SELECT 'acc', 'app', 'm', 'alice', 'host'",
            "POST",
            "/accounts/acc/realtime/kit/app/meetings/m/participants",
        ),
        (
            f"INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, participant_id) SELECT 'acc', 'app', 'm', 'p'",
            "POST",
            "/accounts/acc/realtime/kit/app/meetings/m/participants/p/token",
        ),
        (f"UPDATE {MEETINGS} SET title = 't' WHERE meeting_id = 'm' AND {IDS}", "PATCH", "/accounts/acc/realtime/kit/app/meetings/m"),
        (
            f"UPDATE {MEETINGS} SET name = 'n' WHERE meeting_id = 'm' AND participant_id = 'p' AND {IDS}",
            "PATCH",
            "/accounts/acc/realtime/kit/app/meetings/m/participants/p",
        ),
        (f"REPLACE {MEETINGS} SET title = 't' WHERE meeting_id = 'm' AND {IDS}", "PUT", "/accounts/acc/realtime/kit/app/meetings/m"),
        (
            f"DELETE FROM {MEETINGS} WHERE meeting_id = 'm' AND participant_id = 'p' AND {IDS}",
            "DELETE",
            "/accounts/acc/realtime/kit/app/meetings/m/participants/p",
        ),
        (
            f"EXEC {MEETINGS}.refresh_participant_token @account_id='acc', @app_id='app', @meeting_id='m', @participant_id='p'",
            "POST",
            "/accounts/acc/realtime/kit/app/meetings/m/participants/p/token",
        ),
    ],
)
def test_each_statement_reaches_its_method(conn: Connection, recorder: Recorder, sql: str, http_method: str, path: str) -> None:
    conn.execute(sql)
    assert recorder.last.method == http_method
    assert recorder.last.url.raw_path.decode() == "/client/v4" + path


def test_forgotten_required_column_is_an_error_not_an_empty_meeting(conn: Connection, recorder: Recorder) -> None:
    with pytest.raises(ResolutionError) as info:
        conn.execute(
            f"INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, preset_name) SELECT 'acc', 'app', 'm', 'host'"
        )
    message = str(info.value)
    assert "add_participant is missing custom_participant_id" in message
    assert "create does not accept meeting_id, preset_name" in message
    assert "refresh_participant_token is missing participant_id" in message
    assert recorder.requests == []


def test_misspelt_column_gets_did_you_mean(conn: Connection) -> None:
    with pytest.raises(ResolutionError, match=r"'titel' \(did you mean 'title'\?\)"):
        conn.execute(f"INSERT INTO {MEETINGS} (account_id, app_id, titel) SELECT 'acc', 'app', 't'")


def test_where_name_that_belongs_in_set_is_explained(conn: Connection) -> None:
    with pytest.raises(ResolutionError, match=r"title \(a body field: put it in SET\)"):
        conn.execute(f"UPDATE {MEETINGS} SET persist_chat = true WHERE title = 'x' AND meeting_id = 'm' AND {IDS}")


def test_set_name_that_belongs_in_where_is_explained(conn: Connection) -> None:
    with pytest.raises(ResolutionError, match=r"meeting_id \(a parameter: put it in WHERE\)"):
        conn.execute(f"UPDATE {MEETINGS} SET meeting_id = 'm' WHERE {IDS}")


def test_most_specific_method_wins(conn: Connection, recorder: Recorder) -> None:
    # name/picture/preset_name are accepted only by edit_participant, which needs participant_id
    conn.execute(f"UPDATE {MEETINGS} SET preset_name = 'viewer' WHERE meeting_id = 'm' AND participant_id = 'p' AND {IDS}")
    assert recorder.last.url.path.endswith("/participants/p")


@pytest.mark.parametrize("sql", [f"SELECT * FROM {MEETINGS}", f"DESCRIBE {MEETINGS}", f"DESCRIBE EXTENDED {MEETINGS}"])
def test_select_on_meetings_uses_the_reference_text(conn: Connection, sql: str) -> None:
    with pytest.raises(NotSupportedError) as info:
        conn.execute(sql)
    assert str(info.value) == (
        "SELECT not supported for this resource, use SHOW METHODS to view available operations for the resource."
    )


@pytest.mark.parametrize(
    "sql, message",
    [
        ("SHOW METHODS IN cloudflair.realtime_kit.meetings", "unknown provider 'cloudflair' (did you mean 'cloudflare'?)"),
        ("SHOW METHODS IN cloudflare.realtimekit.meetings", "unknown service cloudflare.realtimekit (did you mean 'realtime_kit'?)"),
        ("SHOW METHODS IN cloudflare.realtime_kit.meeting", "unknown resource cloudflare.realtime_kit.meeting (did you mean 'meetings'?)"),
        (f"EXEC {MEETINGS}.creat @account_id='a'", f"unknown method {MEETINGS}.creat (did you mean 'create'?)"),
        ("INSERT INTO meetings (a) SELECT 1", "name a resource as provider.service.resource"),
    ],
)
def test_unknown_names(conn: Connection, sql: str, message: str) -> None:
    with pytest.raises(ProgrammingError) as info:
        conn.execute(sql)
    assert message in str(info.value)


def test_exec_checks_required_and_unknown_params(conn: Connection) -> None:
    with pytest.raises(ResolutionError, match="add_participant is missing custom_participant_id, preset_name and does not accept titel"):
        conn.execute(f"EXEC {MEETINGS}.add_participant @account_id='a', @app_id='b', @meeting_id='m', @titel='x'")


@pytest.mark.parametrize(
    "sql, message",
    [
        (f"UPDATE {MEETINGS} SET title = 't' WHERE meeting_id = 'm' OR {IDS}", r"WHERE supports only param = value and param IN \(value, ...\) joined by AND"),
        (f"UPDATE {MEETINGS} SET title = 't' WHERE meeting_id > 'm' AND {IDS}", "WHERE supports only param = value"),
        (f"INSERT INTO {MEETINGS} (account_id, app_id) SELECT 'a'", "INSERT has 2 columns but 1 values"),
        (f"INSERT INTO {MEETINGS} (account_id, account_id) SELECT 'a', 'b'", "column account_id is given twice"),
        (f"INSERT INTO {MEETINGS} (account_id, app_id) SELECT upper('a'), 'b'", "only literals and :parameters are allowed"),
    ],
)
def test_malformed_statements(conn: Connection, sql: str, message: str) -> None:
    with pytest.raises(ProgrammingError, match=message):
        conn.execute(sql)


KIT = "cloudflare.realtime_kit.kit_meetings"


def test_a_select_method_filters_here_on_a_where_name_it_takes_as_no_parameter(conn: Connection, recorder: Recorder) -> None:
    """status is list_by_account's parameter, and a column of get_by_account's row: the read by id is used."""
    conn.execute(f"SELECT id FROM {KIT} WHERE {IDS} AND meeting_id = 'm' AND status = 'ACTIVE'")
    assert recorder.last.url.raw_path.decode() == "/client/v4/accounts/acc/realtime/kit/app/meetings/m"


def test_the_select_error_judges_as_the_choice_does_and_carries_the_judgement(conn: Connection, recorder: Recorder) -> None:
    with pytest.raises(ResolutionError) as info:
        conn.execute(f"SELECT id FROM {KIT} WHERE {IDS} AND name = 'n' AND status = 'ACTIVE'")
    message = str(info.value)
    assert message.endswith("get_by_account is missing meeting_id; list_by_account does not accept name")  # status: filtered here
    resolution = info.value.resolution
    assert resolution.verb == "select" and [c.complaint for c in resolution.candidates] == message.split(": ", 1)[1].split("; ")
    assert ("status", "ACTIVE") in info.value.written and recorder.requests == []
