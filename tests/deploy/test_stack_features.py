"""The rest of stackql-deploy's format, run against the emulator: query and command resources, ``if``,
``values`` per environment, ``merge``, ``return_vals``, ``--on-failure ignore``, and the provider check.

Each test writes a small stack of its own into a temporary folder.
"""

from __future__ import annotations

import textwrap
import typing as t
from pathlib import Path

import pytest

import cfql
import cfql.deploy
from cfql.errors import StackError
from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator

ACCOUNT, APP = "acct-features", "app-features"

MEETING_IQL = """\
/*+ exists */
SELECT id AS meeting_id FROM cloudflare.realtime_kit.kit_meetings
WHERE account_id = '{{ account_id }}' AND app_id = '{{ app_id }}' AND title = '{{ title }}';

/*+ create */
INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title, session_keep_alive_time_in_secs, ai_config)
SELECT '{{ account_id }}', '{{ app_id }}', '{{ title }}', {{ keep_alive }}, '{{ ai_config }}'
RETURNING json_extract(data, '$.id') AS id, json_extract(data, '$.title') AS title;

/*+ delete */
UPDATE cloudflare.realtime_kit.meetings SET status = 'INACTIVE'
WHERE account_id = '{{ account_id }}' AND app_id = '{{ app_id }}' AND meeting_id = '{{ this.meeting_id }}';
"""


def write_stack(folder: Path, manifest: str, files: t.Mapping[str, str] | None = None) -> Path:
    (folder / "resources").mkdir(parents=True)
    (folder / "stackql_manifest.yml").write_text(manifest)
    for name, text in (files or {"meeting.iql": MEETING_IQL}).items():
        (folder / "resources" / name).write_text(text)
    return folder


@pytest.fixture
def emulator() -> t.Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def conn(emulator: Emulator) -> t.Iterator[cfql.Connection]:
    with cfql.connect(base_url=emulator.url, token=SANDBOX_TOKEN) as connection:
        yield connection


def meeting_resource(name: str, title: str, keep_alive: int = 90) -> str:
    """One meeting as an item of ``resources:``, its queries in ``file``."""
    return f"""\
  - name: {name}
    file: meeting.iql
    props:
      - name: account_id
        value: {ACCOUNT}
      - name: app_id
        value: {APP}
      - name: title
        value: "{title}"
      - name: keep_alive
        value: {keep_alive}
      - name: ai_config
        value:
          summarization:
            word_limit: 300
    exports:
      - meeting_id
"""


def test_query_and_command_resources_and_if(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    stack = write_stack(
        tmp_path / "s",
        f"""\
name: features
providers: [cloudflare]
resources:
{meeting_resource("first", "First")}
  - name: counted
    type: query
    sql: >-
      SELECT count(*) AS meetings FROM cloudflare.realtime_kit.kit_meetings
      WHERE account_id = '{ACCOUNT}' AND app_id = '{APP}'
    exports: [meetings]
  - name: renamed
    type: command
    sql: >-
      UPDATE cloudflare.realtime_kit.meetings SET title = 'First ({{{{ counted.meetings }}}})'
      WHERE account_id = '{ACCOUNT}' AND app_id = '{APP}' AND meeting_id = '{{{{ first.meeting_id }}}}'
  - name: production_only
    type: command
    if: stack_env == 'prd'
    sql: DELETE FROM cloudflare.realtime_kit.meetings WHERE account_id = 'x' AND app_id = 'y' AND meeting_id = 'z' AND participant_id = 'p'
exports: [meetings]
""",
    )
    result = cfql.deploy.build(stack, "dev", connection=conn)
    assert [(o.name, o.action) for o in result.resources] == [
        ("first", "created"), ("counted", "exported"), ("renamed", "ran"), ("production_only", "skipped"),
    ]
    assert result.exports == {"stack_name": "features", "stack_env": "dev", "meetings": 1}
    [meeting] = emulator.meetings(ACCOUNT, APP)
    assert meeting["title"] == "First (1)"  # the query's export, read by the command
    assert meeting["session_keep_alive_time_in_secs"] == 90 and meeting["ai_config"]["summarization"]["word_limit"] == 300
    assert not any(method == "DELETE" for method, _ in emulator.requests)  # the if: kept it out


def test_values_per_environment_merge_and_return_vals(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    stack = write_stack(
        tmp_path / "s",
        f"""\
name: features
providers: [cloudflare]
globals:
  - name: transcription_config
    value:
      transcription:
        language: de
resources:
  - name: meeting
    props:
      - name: account_id
        value: {ACCOUNT}
      - name: app_id
        value: {APP}
      - name: title
        values:
          dev:
            value: Dev standup
          prd:
            value: Standup
      - name: keep_alive
        value: 90
      - name: ai_config
        value:
          summarization:
            word_limit: 250
        merge: [transcription_config]
    return_vals:
      create:
        - id: created_id
    exports:
      - meeting_id
      - created_id
""",
    )
    result = cfql.deploy.build(stack, "dev", connection=conn)
    assert result.ok, result.resources
    [meeting] = emulator.meetings(ACCOUNT, APP)
    assert meeting["title"] == "Dev standup"
    assert meeting["ai_config"] == {"summarization": {"word_limit": 250}, "transcription": {"language": "de"}}
    # created_id came from the create's RETURNING (return_vals), meeting_id from the exists query after it
    assert result.outcome("meeting").exports == {"meeting_id": meeting["id"], "created_id": meeting["id"]}
    with pytest.raises(StackError, match=r"prop title has no value for stack env 'qa' \(values has dev, prd\)"):
        cfql.deploy.plan(stack, "qa", connection=conn)


def test_on_failure_ignore_goes_on_with_what_does_not_depend_on_the_failure(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    stack = write_stack(
        tmp_path / "s",
        f"""\
name: features
providers: [cloudflare]
resources:
{meeting_resource("broken", "Broken", keep_alive=30)}
{meeting_resource("independent", "Independent")}
""",
    )
    stopped = cfql.deploy.build(stack, "dev", connection=conn)
    assert [(o.name, o.action) for o in stopped.resources] == [("broken", "failed"), ("independent", "not run")]
    assert stopped.exit_code == 1 and emulator.meetings(ACCOUNT, APP) == []
    # 30 is below the schema's minimum: refused before sending, at run time (a value of the stack)
    assert "broken: create (" in str(stopped.resources[0].error) and "meeting.iql:6): column session_keep_alive_time_in_secs: 30 is below the minimum 60" in str(stopped.resources[0].error)

    ignored = cfql.deploy.build(stack, "dev", connection=conn, on_failure="ignore")
    assert [(o.name, o.action) for o in ignored.resources] == [("broken", "failed"), ("independent", "created")]
    assert ignored.exit_code == 1
    assert [m["title"] for m in emulator.meetings(ACCOUNT, APP)] == ["Independent"]


def test_a_provider_the_registry_lacks_is_named_before_anything_is_sent(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    stack = write_stack(tmp_path / "s", "name: s\nproviders: [cloudflare, nosuchcloud]\nresources: []\n")
    with pytest.raises(StackError, match=r"provider nosuchcloud is not installed \(cfql registry pull nosuchcloud\)"):
        cfql.deploy.build(stack, connection=conn)
    pinned = write_stack(tmp_path / "p", "name: s\nproviders: ['cloudflare::v9.9.9']\nresources: []\n")
    with pytest.raises(StackError, match=r"wants cloudflare v9\.9\.9; installed: v00\.00\.00000"):
        cfql.deploy.build(pinned, connection=conn)
    assert emulator.requests == []


def test_a_write_in_an_exists_query_is_refused_before_it_is_sent(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    sneaky = MEETING_IQL.replace(
        "/*+ exists */\n",
        "/*+ exists */\nDELETE FROM cloudflare.realtime_kit.meetings WHERE account_id = 'a' AND app_id = 'b' "
        "AND meeting_id = 'c' AND participant_id = 'd';\n",
    )
    stack = write_stack(
        tmp_path / "s",
        f"name: s\nproviders: [cloudflare]\nresources:\n{meeting_resource('m', 'M')}",
        {"meeting.iql": sneaky},
    )
    result = cfql.deploy.build(stack, connection=conn)
    assert result.resources[0].action == "failed"
    assert "a /*+ exists */ query must only read" in str(result.resources[0].error)
    assert emulator.requests == []


def test_file_directives_read_json_and_yaml_from_the_resources_folder(tmp_path: Path) -> None:
    stack = write_stack(
        tmp_path / "s",
        "name: s\nproviders: [cloudflare]\nglobals:\n  - name: tags\n    value: file(tags.json)\n"
        "resources:\n  - name: m\n    props:\n      - name: ai_config\n        value: file( ai.yaml )\n",
        {"tags.json": '["a", "b"]', "ai.yaml": "summarization:\n  word_limit: file(limit.json)\n", "limit.json": "300"},
    )
    loaded = cfql.deploy.load_stack(stack)
    assert loaded.globals[0].value == ["a", "b"]
    assert loaded.resources[0].props[0].value == {"summarization": {"word_limit": 300}}  # file() inside file()
    (stack / "stackql_manifest.yml").write_text("name: s\nproviders: [cloudflare]\nglobals:\n  - name: x\n    value: file(../../secret.json)\n")
    with pytest.raises(StackError, match=r"stackql_manifest.yml:4: file\(\.\./\.\./secret\.json\) leads outside the stack's resources folder"):
        cfql.deploy.load_stack(stack)
