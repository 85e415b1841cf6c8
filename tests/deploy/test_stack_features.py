"""The rest of stackql-deploy's format, run against the emulator: query and command resources, ``if``,
``values`` per environment, ``merge``, ``return_vals``, ``--on-failure ignore``, and the provider check.

Each test writes a small stack of its own into a temporary folder.
"""

from __future__ import annotations

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
WHERE account_id = '{{ account_id }}' AND app_id = '{{ app_id }}' AND title = '{{ title }}' AND status = 'ACTIVE';

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


def meeting_resource(name: str, title: str, keep_alive: int = 90, file: str = "meeting.iql") -> str:
    """One meeting as an item of ``resources:``, its queries in ``file``."""
    return f"""\
  - name: {name}
    file: {file}
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
    stack = stack_of(tmp_path, meeting_resource("broken", "Broken", keep_alive=30) + meeting_resource("independent", "Independent"))
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
    stack = stack_of(tmp_path, meeting_resource("m", "M"), sneaky)
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
    with pytest.raises(StackError, match=r"stackql_manifest.yml:4: file\(\): \.\./\.\./secret\.json leads outside the stack's resources folder"):
        cfql.deploy.load_stack(stack)


def test_a_symlinked_resources_folder_cannot_lead_out_of_the_stack(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yml").write_text("top-secret\n")
    stack = tmp_path / "s"
    stack.mkdir()
    (stack / "resources").symlink_to(outside)
    (stack / "stackql_manifest.yml").write_text("name: s\nproviders: [cloudflare]\nglobals:\n  - name: x\n    value: file(secret.yml)\n")
    with pytest.raises(StackError, match=r"file\(\): secret\.yml leads outside the stack's resources folder"):
        cfql.deploy.load_stack(stack)


def test_file_directives_cannot_multiply_a_manifest(tmp_path: Path) -> None:
    """Seven files of thirty file() entries each would make 30**7 values: the expansion is counted, and stops."""
    files = {f"f{level}.yml": "\n".join(f"- file(f{level + 1}.yml)" for _ in range(30)) + "\n" for level in range(1, 7)}
    files["f7.yml"] = "leaf\n"
    stack = write_stack(tmp_path / "s", "name: s\nproviders: [cloudflare]\nglobals:\n  - name: x\n    value: file(f1.yml)\n", files)
    with pytest.raises(StackError, match=r"more than 200,000 values once file\(\) directives are expanded"):
        cfql.deploy.load_stack(stack)


def test_the_file_directive_bound_is_for_the_whole_manifest(tmp_path: Path) -> None:
    """A file of 60% of the bound is fine once; named by a second prop, the manifest's total passes it there."""
    from cfql.deploy.manifest import MAX_NODES

    big = "[" + ",".join("0" * (MAX_NODES * 6 // 10)) + "]"
    one = "name: s\nproviders: [cloudflare]\nresources:\n  - name: m\n    props:\n      - name: a\n        value: file(big.json)\n"
    stack = write_stack(tmp_path / "s", one, {"big.json": big})
    assert len(cfql.deploy.load_stack(stack).resources[0].props[0].value) == MAX_NODES * 6 // 10
    (stack / "stackql_manifest.yml").write_text(one + "      - name: b\n        value: file(big.json)\n")
    with pytest.raises(StackError, match=r"^resources/big\.json: more than 200,000 values once file\(\) directives are expanded"):
        cfql.deploy.load_stack(stack)


# -- what a review of the first version found ------------------------------------------------------


def stack_of(
    tmp_path: Path, resources: str, iql: str = MEETING_IQL, top: str = "", files: t.Mapping[str, str] | None = None
) -> Path:
    """A stack named s of ``resources`` (``top``: manifest lines before them), its queries in meeting.iql and ``files``."""
    return write_stack(
        tmp_path / "s", f"name: s\nproviders: [cloudflare]\n{top}resources:\n{resources}", {"meeting.iql": iql, **(files or {})}
    )


def test_a_404_to_a_delete_is_checked_by_the_exists_query(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    """The delete names the wrong meeting (404): the meeting is still there, so teardown must fail, not say deleted."""
    wrong = MEETING_IQL.replace("meeting_id = '{{ this.meeting_id }}';", "meeting_id = '{{ this.meeting_id }}0';").replace(
        "/*+ delete */", "/*+ delete, postdelete_retries=2, postdelete_retry_delay=0 */"
    )
    stack = stack_of(tmp_path, meeting_resource("m", "M"), wrong)
    assert cfql.deploy.build(stack, connection=conn).ok
    result = cfql.deploy.teardown(stack, connection=conn)
    assert result.resources[0].action == "failed" and result.exit_code == 1
    assert "the delete was sent, but the exists query still finds it after 3 checks" in str(result.resources[0].error)


def test_an_all_null_exists_row_means_absent(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    aggregate = MEETING_IQL.replace("SELECT id AS meeting_id FROM", "SELECT min(id) AS meeting_id FROM")
    result = cfql.deploy.build(stack_of(tmp_path, meeting_resource("m", "M"), aggregate), connection=conn)
    assert result.resources[0].action == "created"
    assert [m["title"] for m in emulator.meetings(ACCOUNT, APP)] == ["M"]


def test_a_global_named_like_an_export_does_not_hide_the_dependency(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    host = MEETING_IQL.replace("title = '{{ title }}'", "title = '{{ title }}' AND id = '{{ meeting_id }}'")
    resources = meeting_resource("a", "A", keep_alive=30) + meeting_resource("b", "B", file="host.iql")
    stack = stack_of(tmp_path, resources, top="globals:\n  - name: meeting_id\n    value: from-the-global\n", files={"host.iql": host})
    result = cfql.deploy.build(stack, connection=conn, on_failure="ignore")
    assert [(o.name, o.action) for o in result.resources] == [("a", "failed"), ("b", "not run")]
    assert "needs a, which failed" in str(result.resources[1].error)
    (stack / "stackql_manifest.yml").write_text((stack / "stackql_manifest.yml").read_text().replace("value: 30", "value: 90"))
    planned = cfql.deploy.plan(stack, connection=conn, variables={"meeting_id": "given"})
    assert [(o.name, o.action) for o in planned.resources][1] == ("b", "create")  # no read sent with a stand-in value
    assert not any("00000000-0000-4000-8000" in path for _, path in emulator.requests)


def test_return_vals_without_returning_is_refused_before_anything_is_sent(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    bare = MEETING_IQL.replace("RETURNING json_extract(data, '$.id') AS id, json_extract(data, '$.title') AS title;", ";")
    stack = stack_of(tmp_path, meeting_resource("m", "M") + "    return_vals:\n      create: [id]\n", bare)
    with pytest.raises(StackError, match=r"meeting\.iql:5: return_vals\.create of m needs RETURNING in its /\*\+ create \*/ query"):
        cfql.deploy.build(stack, connection=conn)
    assert emulator.requests == []


def test_a_resource_is_not_started_when_a_later_query_of_it_needs_what_failed(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    later = MEETING_IQL + "\n/*+ exports */\nSELECT '{{ a.meeting_id }}' AS meeting_id FROM cloudflare.realtime_kit.kit_meetings WHERE account_id = 'x' AND app_id = 'y';\n"
    resources = meeting_resource("a", "A", keep_alive=30) + meeting_resource("b", "B", file="later.iql")
    stack = stack_of(tmp_path, resources, files={"later.iql": later})
    result = cfql.deploy.build(stack, connection=conn, on_failure="ignore")
    assert [(o.name, o.action, o.writes) for o in result.resources] == [("a", "failed", 0), ("b", "not run", 0)]
    assert emulator.meetings(ACCOUNT, APP) == []


def test_only_statements_on_resources_run_in_a_stack(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    stack = stack_of(tmp_path, "  - name: pull\n    type: query\n    sql: REGISTRY PULL cloudflare\n    exports: [x]\n")
    result = cfql.deploy.plan(stack, connection=conn)
    assert result.resources[0].action == "failed" and result.exit_code == 1
    assert "only statements on a provider's resources run in a stack" in str(result.resources[0].error)


def test_a_create_written_as_explain_fails_plan_cleanly(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    iql = MEETING_IQL.replace("/*+ create */\nINSERT", "/*+ create */\nEXPLAIN INSERT", 1)
    assert iql != MEETING_IQL
    result = cfql.deploy.plan(stack_of(tmp_path, meeting_resource("m", "M"), iql=iql), connection=conn)
    assert result.exit_code == 1 and result.resources[0].action == "failed"
    assert "only statements on a provider's resources run in a stack" in str(result.resources[0].error)


def test_plan_fails_on_a_query_that_cannot_be_rendered(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    stack = stack_of(tmp_path, meeting_resource("m", "M", keep_alive=30))  # below the schema's minimum
    for dry_run, result in [
        (False, cfql.deploy.plan(stack, connection=conn)),
        (True, cfql.deploy.build(stack, connection=conn, dry_run=True)),
    ]:
        assert result.exit_code == 1, dry_run
        assert "30 is below the minimum 60" in str(result.resources[0].error)
    assert not any(method != "GET" for method, _ in emulator.requests)


def test_names_of_if_default_and_stack_exports_are_checked_before_anything_is_sent(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    cases = {
        "if": (meeting_resource("a", "A") + meeting_resource("b", "B") + "    if: nope == 'x'\n", r"undefined template variable: nope"),
        "default": (
            meeting_resource("a", "A").replace('value: "A"', 'value: "{{ nothing }}"\n        default: "{{ typo_var }}"'),
            r"undefined template variable: typo_var",
        ),
        "stack exports": (
            meeting_resource("a", "A") + "exports: [meetng_id]\n", r"stack export meetng_id is neither a global, a variable nor an export"
        ),
    }
    for case, (resources, message) in cases.items():
        folder = tmp_path / case.replace(" ", "_")
        write_stack(folder, f"name: s\nproviders: [cloudflare]\nresources:\n{resources}")
        with pytest.raises(StackError, match=message):
            cfql.deploy.build(folder, connection=conn)
    cycle = meeting_resource("a", "A").replace('value: "A"', 'value: "{{ other }}"\n      - name: other\n        value: "{{ title }}"')
    write_stack(tmp_path / "cycle", f"name: s\nproviders: [cloudflare]\nresources:\n{cycle}")
    with pytest.raises(StackError, match=r"props refer to each other: title -> other -> title"):
        cfql.deploy.build(tmp_path / "cycle", connection=conn, variables={"title": "given"})
    assert emulator.requests == []


def test_secret_props_and_protected_numbers_are_masked(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    checked = MEETING_IQL.replace("title = '{{ title }}' AND", "title = '{{ title }}' AND '{{ db_password }}' = '{{ db_password }}' AND", 1)
    resources = (
        meeting_resource("m", "M").replace("      - name: keep_alive", "      - name: db_password\n        value: hunter2-secret\n      - name: keep_alive")
        + "    protected: [keep]\n"
    ).replace("    exports:\n      - meeting_id\n", "    exports:\n      - meeting_id\n      - {meeting_id: keep}\n")
    stack = stack_of(tmp_path, resources, checked)
    (stack / "stackql_manifest.yml").write_text((stack / "stackql_manifest.yml").read_text() + "exports: [keep]\n")
    lines: list[str] = []
    out = tmp_path / "exports.json"
    result = cfql.deploy.build(stack, connection=conn, show_queries=True, echo=lines.append, output_file=out)
    assert result.ok
    shown = "\n".join(lines)
    assert "hunter2-secret" not in shown and "'***' = '***'" in shown
    [meeting] = emulator.meetings(ACCOUNT, APP)
    assert meeting["id"] not in shown + out.read_text()
    assert '"keep": "***"' in out.read_text()


@pytest.mark.parametrize("name", ["stack_env", "this", "env", "range"])
def test_names_templates_define_cannot_name_a_resource_or_a_prop(tmp_path: Path, name: str) -> None:
    resource = write_stack(tmp_path / "r", f"name: s\nproviders: [cloudflare]\nresources:\n  - name: {name}\n")
    with pytest.raises(StackError, match=rf"stackql_manifest.yml:4: {name} cannot name a resource"):
        cfql.deploy.load_stack(resource)
    prop = write_stack(tmp_path / "p", f"name: s\nproviders: [cloudflare]\nresources:\n  - name: m\n    props:\n      - name: {name}\n        value: 1\n")
    with pytest.raises(StackError, match=rf"stackql_manifest.yml:6: {name} cannot name a prop of m"):
        cfql.deploy.load_stack(prop)


# -- what a second review found -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "broken, message",
    [
        ("'{{ app_id }'", r"host\.iql:3: \{\{ is not closed before the next anchor or the end"),
        ("'{{ app_id | nosuchfilter }}'", r"host\.iql:\d+: template error: No filter named 'nosuchfilter'"),
        ("cloudflare.realtime_kit.no_such_table", r"host\.iql:\d+: /\*\+ exists \*/: unknown resource cloudflare\.realtime_kit\.no_such_table"),
    ],
)
def test_a_broken_second_resource_is_refused_before_the_first_is_created(
    tmp_path: Path, conn: cfql.Connection, emulator: Emulator, broken: str, message: str
) -> None:
    target = "cloudflare.realtime_kit.kit_meetings" if "table" in broken else "'{{ app_id }}'"
    host = MEETING_IQL.replace(target, broken, 1)
    resources = meeting_resource("a", "A") + meeting_resource("b", "B", file="host.iql")
    stack = stack_of(tmp_path, resources, files={"host.iql": host})
    with pytest.raises(StackError, match=message):
        cfql.deploy.build(stack, connection=conn)
    assert emulator.requests == []


def test_plan_reads_past_what_is_to_be_created(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    resources = meeting_resource("a", "A") + (
        "  - name: later\n    type: query\n    sql: >-\n      SELECT count(*) AS n FROM cloudflare.realtime_kit.kit_meetings\n"
        f"      WHERE account_id = '{ACCOUNT}' AND app_id = '{APP}' AND meeting_id = '{{{{ a.meeting_id }}}}'\n    exports: [n]\n"
    ) + meeting_resource("c", "C") + "    if: \"'{{ a.meeting_id }}' != ''\"\n"
    result = cfql.deploy.plan(stack_of(tmp_path, resources), connection=conn)
    assert [(o.name, o.action) for o in result.resources] == [("a", "create"), ("later", "exported"), ("c", "create")]
    assert result.exit_code == 2
    assert "it needs a, which is to be created" in result.outcome("c").note


def test_plan_hands_on_the_exports_of_a_resource_whose_statecheck_waits(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    """b is there, but its statecheck reads a, which is gone (to be created): b has no update, so nothing is sent for it,
    and c still reads b's exports."""
    waits = MEETING_IQL + (
        "\n/*+ statecheck */\nSELECT id FROM cloudflare.realtime_kit.kit_meetings\n"
        "WHERE account_id = '{{ account_id }}' AND app_id = '{{ app_id }}' AND title = '{{ title }}' AND '{{ a.meeting_id }}' != '';\n"
    )
    resources = meeting_resource("a", "A") + meeting_resource("b", "B", file="b.iql") + meeting_resource("c", "C {{ b.meeting_id }}")
    stack = stack_of(tmp_path, resources, files={"b.iql": waits})
    assert cfql.deploy.build(stack, connection=conn).ok
    a = next(meeting["id"] for meeting in emulator.meetings(ACCOUNT, APP) if meeting["title"] == "A")
    conn.execute(
        f"UPDATE cloudflare.realtime_kit.meetings SET status = 'INACTIVE' WHERE account_id = '{ACCOUNT}' AND app_id = '{APP}' AND meeting_id = '{a}'"
    )
    result = cfql.deploy.plan(stack, connection=conn)
    assert [(o.name, o.action, o.error) for o in result.resources] == [("a", "create", None), ("b", "no change", None), ("c", "no change", None)]
    assert result.outcome("b").note == "its statecheck needs a, which is to be created: build will check it then (it has no /*+ update */ query)"
    assert result.outcome("b").steps == [] and result.outcome("b").exports["meeting_id"]


def test_plan_does_not_hide_a_template_error_behind_an_unknown_value(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    host = MEETING_IQL.replace("SELECT '{{ account_id }}', '{{ app_id }}', '{{ title }}'", "SELECT '{{ account_id }}', '{{ app_id }}', '{{ a.meeting_id }}{{ 1 / 0 }}'")
    resources = meeting_resource("a", "A") + meeting_resource("b", "B", file="host.iql")
    stack = stack_of(tmp_path, resources, files={"host.iql": host})
    result = cfql.deploy.plan(stack, connection=conn)
    assert [(o.name, o.action) for o in result.resources] == [("a", "create"), ("b", "failed")]
    assert "division by zero" in str(result.outcome("b").error) and result.exit_code == 1


def test_a_statecheck_row_of_nulls_is_drift(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    checked = MEETING_IQL + (
        "\n/*+ statecheck */\nSELECT max(id) AS id FROM cloudflare.realtime_kit.kit_meetings\n"
        "WHERE account_id = '{{ account_id }}' AND app_id = '{{ app_id }}' AND persist_chat = true;\n"
    )
    stack = stack_of(tmp_path, meeting_resource("m", "M"), checked)
    first = cfql.deploy.build(stack, connection=conn)
    assert first.resources[0].action == "failed"  # created, but its statecheck cannot pass: there is no update
    assert "the change was sent, but the statecheck still fails" in str(first.resources[0].error)
    assert cfql.deploy.test(stack, connection=conn).resources[0].action == "drifted"


def test_what_an_if_turns_off_turns_off_what_needs_it(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    resources = (
        meeting_resource("m", "M")
        + meeting_resource("p", "{{ prd_only_title }}") + "    if: stack_env == 'prd'\n"
        + meeting_resource("q", "Q {{ p.meeting_id }}")
    )
    stack = stack_of(tmp_path, resources)
    (stack / "stackql_manifest.yml").write_text((stack / "stackql_manifest.yml").read_text() + "exports: [meeting_id]\n")
    built = cfql.deploy.build(stack, "dev", connection=conn)
    assert [(o.name, o.action, o.note) for o in built.resources] == [
        ("m", "created", ""), ("p", "skipped", "its if is false"), ("q", "skipped", "it needs p, which is skipped"),
    ]
    assert built.exit_code == 0  # prd_only_title was not needed in dev
    torn = cfql.deploy.teardown(stack, "dev", connection=conn)
    assert [(o.name, o.action) for o in torn.resources] == [("q", "skipped"), ("p", "skipped"), ("m", "deleted")]
    assert torn.exit_code == 0


def test_output_file_and_env_file_and_providers(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    stack = stack_of(tmp_path, meeting_resource("m", "M"))
    with pytest.raises(StackError, match=r"--output-file .*: cannot be written"):
        cfql.deploy.build(stack, connection=conn, output_file=tmp_path / "s" / "stackql_manifest.yml" / "x.json")
    assert emulator.requests == []
    env = tmp_path / ".env"
    env.write_text('account_id="acc" # the account\nexport app_id = \'app\'\ntitle=plain # comment\n')
    assert cfql.deploy.load_env_file(env) == {"account_id": "acc", "app_id": "app", "title": "plain"}
    (stack / "stackql_manifest.yml").write_text("name: s\nresources: []\n")
    with pytest.raises(StackError, match=r"stackql_manifest.yml:1: providers must list the providers the stack uses"):
        cfql.deploy.load_stack(stack)


def test_teardown_checks_only_the_queries_it_runs(tmp_path: Path, conn: cfql.Connection, emulator: Emulator) -> None:
    """A create that no longer compiles must not keep a stack from being torn down (teardown never runs it)."""
    stack = stack_of(tmp_path, meeting_resource("m", "M"))
    assert cfql.deploy.build(stack, connection=conn).ok
    iql = stack / "resources" / "meeting.iql"
    iql.write_text(iql.read_text().replace("'{{ title }}', {{ keep_alive }}", "'{{ title | nosuchfilter }}', {{ keep_alive }}"))
    with pytest.raises(StackError, match="No filter named 'nosuchfilter'"):
        cfql.deploy.build(stack, connection=conn)
    torn = cfql.deploy.teardown(stack, connection=conn)
    assert [(o.name, o.action) for o in torn.resources] == [("m", "deleted")]
