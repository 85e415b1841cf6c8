"""Session variables: one-row results set ``:name``, ``\\set``/``\\unset`` manage them, secrets stay hidden."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from cfql.provider.cloudflare.emulator import Emulator
from cfql.result import Result
from cfql.shell.variables import Variables, bindable, parse_value
from cfql.sql.values import sql_literal as literal
from tests.shell.conftest import CTRL_D, Runner

MEETINGS = "cloudflare.realtime_kit.meetings"
KIT = "cloudflare.realtime_kit.kit_meetings"


def insert(app: str, title: str, returning: str = "json_extract(data, '$.id') AS mid") -> str:
    return f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'acct', '{app}', '{title}' RETURNING {returning};\r"


def test_returning_as_sets_a_variable_the_next_statement_uses(run_shell: Runner, emulator: Emulator) -> None:
    app = uuid.uuid4().hex
    session = run_shell(
        insert(app, "Planning")
        + f"SELECT title, status FROM {KIT} WHERE account_id = 'acct' AND app_id = '{app}' AND meeting_id = :mid;\r"
        + "\\set\r"
        + CTRL_D
    )
    assert session.err == ""
    (meeting,) = emulator.meetings("acct", app)
    assert "| Planning | ACTIVE |" in session.out
    assert session.shell.variables == {"mid": meeting["id"], "title": "Planning", "status": "ACTIVE"}
    listing = session.out.split("+\n")[-1]  # after the last table
    assert f"mid    = '{meeting['id']}'\n" in listing and "status = 'ACTIVE'\n" in listing


def test_a_select_of_one_row_sets_every_column(run_shell: Runner) -> None:
    app = uuid.uuid4().hex
    session = run_shell(
        insert(app, "Solo")
        + f"SELECT * FROM {KIT} WHERE account_id = 'acct' AND app_id = '{app}' AND meeting_id = :mid;\r"
        + CTRL_D
    )
    variables = session.shell.variables
    assert variables["title"] == "Solo" and variables["id"] == variables["mid"]
    assert variables["session_keep_alive_time_in_secs"] == 60 and variables["record_on_start"] is False


def test_several_rows_none_and_show_set_nothing(run_shell: Runner) -> None:
    app = uuid.uuid4().hex
    listing = f"SELECT id, title FROM {KIT} WHERE account_id = 'acct' AND app_id = '{app}'"
    session = run_shell(
        insert(app, "One", "success")
        + insert(app, "Two", "success")
        + "\\unset success\r"
        + listing + ";\r"  # two rows: no :title, no :id
        + listing + " AND title = 'nope';\r"  # no rows
        + "SHOW PROVIDERS;\r"  # the manifests, not data: no :name
        + CTRL_D
    )
    assert session.err == "" and "| Two   |" in session.out
    assert session.shell.variables == {}


def test_set_reads_values_as_sql_literals_and_unset_forgets(run_shell: Runner, emulator: Emulator) -> None:
    app = uuid.uuid4().hex
    session = run_shell(
        f"\\set app {app}\r\\set keep 90\r\\set title 'Quoted title'\r"
        f"INSERT INTO {MEETINGS} (account_id, app_id, title, session_keep_alive_time_in_secs) "
        "SELECT 'acct', :app, :title, :keep RETURNING success;\r"
        "\\unset keep title\r\\set\r\\unset keep\r\\set 9lives x\r" + CTRL_D
    )
    (meeting,) = emulator.meetings("acct", app)
    assert meeting["title"] == "Quoted title" and meeting["session_keep_alive_time_in_secs"] == 90
    assert f"app     = '{app}'\nsuccess = true\n" in session.out
    errors = session.err.splitlines()
    assert errors == [
        "error: \\unset: no variable keep; \\set lists them",
        "error: \\set: '9lives' is not a name :9lives could use (letters, digits, _; not starting with a digit)",
    ]


def test_an_unset_variable_says_how_to_set_it(run_shell: Runner) -> None:
    session = run_shell(f"SELECT * FROM {KIT} WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = :mid;\r" + CTRL_D)
    assert session.err == (
        "error: parameter :mid (for column meeting_id) has no value "
        "(\\set NAME VALUE sets one; a one-row result sets its columns)\n"
    )


def test_secret_named_variables_are_never_listed_in_clear(run_shell: Runner) -> None:
    app = uuid.uuid4().hex
    session = run_shell(
        "\\set password hunter2\r\\set API_KEY 'k-123'\r"
        + insert(app, "Covert", "json_extract(data, '$.title') AS secret, success")
        + "\\set\r"
        + CTRL_D
    )
    listing = session.out.split("+\n")[-1]
    assert "hunter2" not in session.out and "k-123" not in session.out and "Covert" not in listing
    assert listing == "API_KEY  = ***\npassword = ***\nsecret   = ***\nsuccess  = true\nGoodbye!\n"
    assert session.shell.variables["password"] == "hunter2"  # kept, and usable as :password


def test_a_script_uses_and_sets_the_session_variables(run_shell: Runner, tmp_path: Path) -> None:
    app = uuid.uuid4().hex
    script = tmp_path / "add.iql"
    script.write_text(
        f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'acct', :app, 'Scripted' "
        "RETURNING json_extract(data, '$.id') AS mid;\n"
    )
    session = run_shell(
        f"\\set app {app}\r\\i {script}\r"
        f"SELECT title FROM {KIT} WHERE account_id = 'acct' AND app_id = :app AND meeting_id = :mid;\r" + CTRL_D
    )
    assert session.err == "" and "| Scripted |" in session.out


def test_values_and_names() -> None:
    assert [parse_value(v) for v in ("60", "-5", "1.5", "'a b'", "'it''s'", "true", "NULL", "plain text", "0x1f")] == [
        60, -5, 1.5, "a b", "it's", True, None, "plain text", "0x1f",
    ]
    assert [literal(v) for v in (None, False, 3, "it's", {"a": 1})] == ["NULL", "false", "3", "'it''s'", "'{\"a\": 1}'"]
    assert bindable("mid") and bindable("_x1") and not bindable("json_extract(data)") and not bindable("a b")
    variables = Variables()
    assert variables.take("-- first\nSELECT 1", Result(["a", "count(*)"], [{"a": 1, "count(*)": 2}])) == ["a"]
    assert variables.take("DESCRIBE x", Result(["name"], [{"name": "n"}])) == []
    assert variables.take("SELECT 1", Result(["b"], [{"b": 1}], dry_run=True)) == []
    assert variables == {"a": 1}


@pytest.mark.parametrize("value", ["tab\there", "line\nbreak"])
def test_the_listing_escapes_control_characters(value: str) -> None:
    variables = Variables(v=value)
    assert variables.listing(lambda name: False) == "v = '" + value.replace("\t", "\\t").replace("\n", "\\n") + "'"
