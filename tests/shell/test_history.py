"""History: a private file (0600) that never receives a secret value, searchable and suggesting."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.document import Document

from cfql.settings import Settings
from cfql.shell.app import Shell
from cfql.shell.config import history_path
from cfql.shell.history import RedactingFileHistory, open_history, redact_for_history
from tests.providers import write_provider
from tests.shell.conftest import CTRL_D, Runner, history_entries

MEETINGS = "cloudflare.realtime_kit.meetings"
STORAGE = {
    "type": "aws",
    "bucket": "recordings",
    "region": "us-east-1",
    "access_key": "AKIAEXAMPLE",
    "secret": "s3cr3t",
}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    "sql",
    [
        "SHOW PROVIDERS;",
        f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'a', 'b', 'Secret plans' RETURNING json_extract(data, '$.token') AS token;",
        "SELECT 'it''s' -- a comment",
    ],
)
def test_statements_without_secrets_are_kept_verbatim(sql: str) -> None:
    assert redact_for_history(sql) == sql


def test_secrets_inside_a_json_literal_are_masked_and_the_rest_kept() -> None:
    config = json.dumps({"file_format": "mp4", "storage_config": STORAGE})
    sql = (
        f"UPDATE {MEETINGS} SET recording_config = '{config}' "
        "WHERE account_id = 'acct' AND app_id = 'app' AND meeting_id = 'm1';"
    )
    redacted = redact_for_history(sql)
    assert "AKIAEXAMPLE" not in redacted and "s3cr3t" not in redacted
    literal = redacted.split("recording_config = '")[1].split("' WHERE")[0]
    assert json.loads(literal) == {"file_format": "mp4", "storage_config": {**STORAGE, "access_key": "***", "secret": "***"}}
    assert redacted.endswith("WHERE account_id = 'acct' AND app_id = 'app' AND meeting_id = 'm1';")


def test_broken_json_mentioning_a_secret_is_masked_whole() -> None:
    """JSON that does not parse cannot be masked key by key: the whole literal goes."""
    sql = """INSERT INTO r (recording_config) SELECT '{"storage_config": {"password": "pw1", "private_key": "-----BEGIN", "host": "h"'"""
    redacted = redact_for_history(sql)
    assert "pw1" not in redacted and "BEGIN" not in redacted
    assert redacted == "INSERT INTO r (recording_config) SELECT '***'"
    unrelated = """INSERT INTO r (recording_config) SELECT '{"host": "h"', 'password'"""
    assert redact_for_history(unrelated) == unrelated  # broken JSON without a secret name, and a mere word


@pytest.mark.parametrize(
    "sql, secret",
    [
        ("UPDATE r SET password = 'hunter2' WHERE id = 'x';", "hunter2"),
        ("EXEC p.s.r.login @api_key = 'tok-123', @user = 'bob';", "tok-123"),
        ("EXEC p.s.r.login @API_KEY = 'tok-123', @user = 'bob';", "tok-123"),
        ("UPDATE r SET title = E'it\\'s', password = E'pw\\'1' WHERE id = 'x';", "pw\\'1"),
        ("UPDATE r SET password = $$hunter2$$ WHERE id = 'x';", "hunter2"),
        ("INSERT INTO r (user, access_key, region) SELECT 'bob', 'AKIA1', 'eu';", "AKIA1"),
        ("INSERT INTO r (user, secret) VALUES ('bob', 'v1'), ('amy', 'v2');", "v1"),
        ("""EXEC p.s.r.m @@json = '{"password": "pw", "n": 1}';""", "pw"),
        ("UPDATE r SET password = 12345;", "12345"),
    ],
)
def test_values_given_for_secret_names_are_masked(sql: str, secret: str) -> None:
    redacted = redact_for_history(sql)
    assert secret not in redacted and "***" in redacted
    assert "bob" in redacted or "bob" not in sql  # other values stay


def test_names_match_exactly_not_as_part_of_a_longer_name() -> None:
    """``password_hint`` and ``api_token`` are not declared secret; only the declared names are."""
    for sql in (
        "UPDATE r SET password_hint = 'my dog' WHERE id = 'x';",
        "EXEC p.s.r.login @api_token = 'tok-123', @user = 'bob';",
        """UPDATE r SET config = '{"secret_santa": "bob"}' WHERE id = 'x';""",
    ):
        assert redact_for_history(sql) == sql


def test_a_statement_without_secrets_is_stored_exactly_as_typed() -> None:
    sql = f"UPDATE {MEETINGS}  SET title = 'x' -- a note\n WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = 'm';"
    assert redact_for_history(sql) == sql


def test_the_names_come_from_the_provider_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Declared ``secretFields`` and schema-marked fields (top level or nested) of the target resource."""
    from cfql.provider.registry import Registry

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    registry = Registry(_demo_manifests(tmp_path))
    things = "demo.things.things"
    insert = f"INSERT INTO {things} (name, token, pin) SELECT 'n', 'tok-1', '1234';"
    assert redact_for_history(insert, registry) == f"INSERT INTO {things} (name, token, pin) SELECT 'n', '***', '***';"
    nested = f"""INSERT INTO {things} (name, settings) SELECT 'n', '{{"api_secret": "s1", "colour": "red"}}';"""
    redacted = redact_for_history(nested, registry)
    literal = redacted.split("SELECT 'n', '")[1].removesuffix("';")
    assert json.loads(literal) == {"api_secret": "***", "colour": "red"}
    # ``token`` is secret in this resource's schema only: elsewhere it is an ordinary name ...
    other = "UPDATE r SET token = 'x' WHERE id = 'y';"
    assert redact_for_history(other, registry) == other
    # ... while a declared name applies wherever the provider is unknown.
    assert redact_for_history("UPDATE r SET pin = '1234';", registry) == "UPDATE r SET pin = '***';"


def _demo_manifests(root: Path) -> Path:
    return write_provider(root / "manifests", "demo", "things", THINGS, "x-cfql-config:\n  secretFields: [pin]\n")


THINGS = """openapi: 3.0.3
info: {title: Things, version: v1}
servers: [{url: 'https://demo.test'}]
paths:
  /things:
    post:
      operationId: create_thing
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                name: {type: string}
                pin: {type: string}
                token: {type: string, format: password}
                settings:
                  type: object
                  properties:
                    api_secret: {type: string, x-cfql-secret: true}
                    colour: {type: string}
      responses:
        '201': {description: Made., content: {application/json: {schema: {type: object}}}}
components:
  x-stackQL-resources:
    things:
      id: demo.things.things
      name: things
      title: Things
      methods:
        create_thing:
          operation: {$ref: '#/paths/~1things/post'}
          config: {requestBodyTranslate: {algorithm: naive}}
          request: {mediaType: application/json}
          response: {mediaType: application/json, openAPIDocKey: '201'}
      sqlVerbs:
        select: []
        insert:
          - {$ref: '#/components/x-stackQL-resources/things/methods/create_thing'}
        update: []
        delete: []
        replace: []
"""


def test_values_by_position_in_multi_row_values() -> None:
    redacted = redact_for_history("INSERT INTO r (user, secret) VALUES ('bob', 'v1'), ('amy', 'v2');")
    assert redacted == "INSERT INTO r (user, secret) VALUES ('bob', '***'), ('amy', '***');"


def test_the_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "cfql" / "history"
    history = RedactingFileHistory(path)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    history.append_string("SHOW PROVIDERS;")
    assert mode(path) == 0o600


def test_an_existing_wider_file_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "history"
    path.write_text("")
    os.chmod(path, 0o644)
    RedactingFileHistory(path)
    assert mode(path) == 0o600


def test_an_uncreatable_file_falls_back_to_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    history, warning = open_history(blocker / "cfql" / "history")
    assert warning is not None and "history is not saved" in warning
    history.append_string("SHOW PROVIDERS;")


def test_the_shell_writes_redacted_statements_to_xdg_state(run_shell: Runner, xdg: Path) -> None:
    """Through the real prompt, with the default history location: 0600, secret masked, failures kept."""
    config = json.dumps({"storage_config": STORAGE}).replace(" ", "")
    statement = (
        f"UPDATE {MEETINGS} SET recording_config = '{config}' "
        "WHERE account_id = 'acct' AND app_id = 'app' AND meeting_id = 'no-such-meeting';"
    )
    session = run_shell(f"{statement}\rSHOW PROVIDERZ;\r" + CTRL_D, history=open_history(history_path())[0])
    path = xdg / ".local" / "state" / "cfql" / "history"
    assert path == history_path() and mode(path) == 0o600
    assert session.err.count("error: ") == 2  # the update (no such meeting) and the typo both failed ...
    entries = history_entries(path)
    assert entries == [redact_for_history(statement), "SHOW PROVIDERZ;"]  # ... and both are in history
    assert "AKIAEXAMPLE" not in path.read_text() and "s3cr3t" not in path.read_text()


def test_history_search_and_suggestions(run_shell: Runner, tmp_path: Path) -> None:
    history = RedactingFileHistory(tmp_path / "history")
    history.append_string("SHOW PROVIDERS;")
    history.append_string("\\timing")
    # Ctrl-R, type a fragment, Enter takes the match into the buffer, Enter runs it.
    searched = run_shell("\x12PROV\r\r" + CTRL_D, history=history)
    assert "cloudflare" in searched.out
    # Fish-style suggestions come from the same history (prompt_toolkit computes them between keys).
    session = Shell(Settings(), history=history)._prompt_session()
    assert isinstance(session.auto_suggest, AutoSuggestFromHistory)
    buffer = Buffer(history=history)
    suggestion = session.auto_suggest.get_suggestion(buffer, Document("SHOW PR"))
    assert suggestion is not None and suggestion.text == "OVIDERS;"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("\\i job.iql pw=SECRET app=x", "\\i job.iql pw=*** app=***"),  # every \i value, whatever its name
        ("\\i 'my job.iql' password='a b'", "\\i 'my job.iql' password=***"),
        ("\\i job.iql 'pw=unbalanced", "\\i ***"),
        ("\\set pw hunter2", "\\set pw ***"),
        ("\\set\tpassword  'two words'", "\\set password ***"),
        ("\\set mid", "\\set mid"),
        ("\\sett pw hunter2", "\\sett ***"),  # a command the shell does not know: its argument is dropped
        (f"\\e INSERT INTO {MEETINGS} (account_id, app_id, password) SELECT 'a', 'b', 'pw1'", None),
        ("\\x auto", "\\x auto"),
        ("\\unset pw", "\\unset pw"),
        ("\\timing on", "\\timing on"),
    ],
)
def test_backslash_commands_keep_no_values(tmp_path: Path, typed: str, stored: str | None) -> None:
    history = RedactingFileHistory(tmp_path / "history")
    history.store_string(typed)
    (entry,) = history_entries(tmp_path / "history")
    if stored is None:  # \e SQL: masked as the statement is
        assert entry == "\\e " + redact_for_history(typed[3:]) and "pw1" not in entry
    else:
        assert entry == stored


def test_the_shell_stores_no_variable_value(run_shell: Runner, tmp_path: Path) -> None:
    """Through the prompt: \\i and \\set values never reach the file, and neither do the variables they set."""
    script = tmp_path / "s.iql"
    script.write_text("SHOW PROVIDERS;\n")
    path = tmp_path / "history"
    session = run_shell(
        f"\\i {script} token=SECRET1\r\\set password SECRET2\r\\set\r"
        "INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title) SELECT 'a', 'b', 'x' "
        "RETURNING json_extract(data, '$.title') AS secret;\r" + CTRL_D,
        history=RedactingFileHistory(path),
    )
    assert "SECRET" not in path.read_text() and "SECRET" not in session.out
    assert history_entries(path)[:3] == [f"\\i {script} token=***", "\\set password ***", "\\set"]


def test_a_deeply_nested_literal_is_stored_without_recursing(run_shell: Runner, tmp_path: Path) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    secret = '{"secret": ' + "[" * 50_000 + "]" * 50_000 + "}"
    assert redact_for_history(f"SELECT '{deep}'") == f"SELECT '{deep}'"  # refused as JSON, and no secret named
    assert redact_for_history(f"SELECT '{secret}'") == "SELECT '***'"
    path = tmp_path / "history"
    secret = '{"secret": ' + "[" * 1_200 + "]" * 1_200 + "}"  # past Python's recursion limit, and quick to type
    statement = f"UPDATE {MEETINGS} SET recording_config = '{secret}' WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = 'c';"
    session = run_shell(statement + "\rSHOW PROVIDERS;\r" + CTRL_D, history=RedactingFileHistory(path))
    assert session.err.startswith("error: ") and len(session.err.splitlines()) == 1 and "internal error" not in session.err
    assert history_entries(path) == [redact_for_history(statement), "SHOW PROVIDERS;"]
