"""``.iql`` scripts against the emulator: templates, results feeding later statements, stop/continue."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from cfql import connect
from cfql.cli.main import main
from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator
from cfql import DataError

README_EXAMPLE = textwrap.dedent(
    """\
    INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title)
    SELECT '{{ account_id }}', '{{ app_id }}', 'Standup'
    RETURNING json_extract(data, '$.id') AS meeting_id;
    INSERT INTO cloudflare.realtime_kit.meetings
      (account_id, app_id, meeting_id, custom_participant_id, preset_name)
    SELECT '{{ account_id }}', '{{ app_id }}', :meeting_id, 'alice@example.com', 'group_call_host'
    RETURNING json_extract(data, '$.token') AS token;
    """
)


def write(tmp_path: Path, text: str, name: str = "script.iql") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_readme_example_flows_meeting_id_into_the_next_statement(emulator: Emulator, ids: dict[str, str]) -> None:
    with connect(token=SANDBOX_TOKEN, base_url=emulator.url) as conn:
        created, added = conn.executescript(README_EXAMPLE, variables=ids)
    meeting_id = created.rows[0]["meeting_id"]
    (participant,) = emulator.participants(ids["account_id"], ids["app_id"], meeting_id)
    assert added.rows == [{"token": participant["token"]}]


def test_readme_example_through_the_cli_with_vars_and_iqldata(api: list[str], ids: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], emulator: Emulator) -> None:
    data = write(tmp_path, json.dumps({"app_id": ids["app_id"]}), "vars.json")
    path = write(tmp_path, README_EXAMPLE)
    assert main(["exec", *api, "-o", "jsonl", "-i", path, "--iqldata", data, "--var", f"account_id={ids['account_id']}"]) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    (participant,) = emulator.participants(ids["account_id"], ids["app_id"], first["meeting_id"])
    assert second == {"token": participant["token"]}


def test_readme_example_is_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert README_EXAMPLE.strip() in readme


def test_environment_variables_in_templates(api: list[str], ids: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> None:
    monkeypatch.setenv("RTK_ACCOUNT", ids["account_id"])
    path = write(tmp_path, "INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title) SELECT '{{ env.RTK_ACCOUNT }}', '{{ app }}', '{{ title }}';")
    assert main(["exec", *api, "-i", path, "--var", f"app={ids['app_id']}", "--var", "title=O'Brien"]) == 0
    (meeting,) = emulator.meetings(ids["account_id"], ids["app_id"])
    assert meeting["title"] == "O'Brien"


def test_undefined_variable_fails_before_anything_runs(api: list[str], ids: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], emulator: Emulator) -> None:
    path = write(tmp_path, README_EXAMPLE.replace("'alice@example.com'", "'{{ who }}'"))
    assert main(["exec", *api, "-i", path, "--var", f"account_id={ids['account_id']}", "--var", f"app_id={ids['app_id']}"]) == 1
    assert capsys.readouterr().err == f"cfql: error: {path}:6: undefined template variable: who\n"
    assert emulator.meetings(ids["account_id"], ids["app_id"]) == []


def test_parameter_nothing_sets_is_caught_statically(api: list[str], ids: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], emulator: Emulator) -> None:
    text = README_EXAMPLE.replace("AS meeting_id", "AS the_id")
    path = write(tmp_path, text)
    assert main(["exec", *api, "-i", path, "--var", f"account_id={ids['account_id']}", "--var", f"app_id={ids['app_id']}"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:4: statement 2 uses :meeting_id, which no earlier statement sets" in err
    assert emulator.meetings(ids["account_id"], ids["app_id"]) == []


def test_failure_stops_the_script_and_reports_location_and_progress(api: list[str], ids: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], emulator: Emulator) -> None:
    create = f"INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title) SELECT '{ids['account_id']}', '{ids['app_id']}', 'x' RETURNING json_extract(data, '$.title') AS title;\n"
    missing = "UPDATE cloudflare.realtime_kit.meetings SET title = 'y' WHERE meeting_id = 'nope' AND account_id = 'a' AND app_id = 'b';\n"
    path = write(tmp_path, create + missing + create)
    assert main(["exec", *api, "-o", "jsonl", "-i", path]) == 1
    captured = capsys.readouterr()
    assert captured.out == '{"title": "x"}\n'
    assert captured.err.startswith(f"cfql: error: {path}:2: update_meeting_by_id: HTTP 404")
    assert "[in: UPDATE cloudflare.realtime_kit.meetings SET title = 'y' WHERE" in captured.err
    assert captured.err.rstrip().endswith("1 of 3 statements ran before it")
    assert len(emulator.meetings(ids["account_id"], ids["app_id"])) == 1


def test_continue_on_error_runs_the_rest_and_summarises(api: list[str], ids: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], emulator: Emulator) -> None:
    create = f"INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title) SELECT '{ids['account_id']}', '{ids['app_id']}', 'x';\n"
    missing = "UPDATE cloudflare.realtime_kit.meetings SET title = 'y' WHERE meeting_id = 'nope' AND account_id = 'a' AND app_id = 'b';\n"
    path = write(tmp_path, create + missing + create)
    assert main(["exec", *api, "-i", path, "--continue-on-error"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == "cfql: 2 of 3 statements succeeded, 1 failed"
    assert len(emulator.meetings(ids["account_id"], ids["app_id"])) == 2


def test_statement_depending_on_a_failed_one_is_not_sent(emulator: Emulator, ids: dict[str, str]) -> None:
    failing = README_EXAMPLE.replace("'Standup'", "'Standup', 30").replace("(account_id, app_id, title)", "(account_id, app_id, title, session_keep_alive_time_in_secs)", 1)
    with connect(token=SANDBOX_TOKEN, base_url=emulator.url) as conn:
        from cfql.script import runner as script

        prepared = script.prepare(conn, "SHOW PROVIDERS;\n" + README_EXAMPLE, variables=ids)
        summary = script.run(conn, prepared, continue_on_error=True)
        assert summary.ok
        with pytest.raises(DataError, match="30 is below the minimum 60"):
            conn.executescript(failing, variables=ids)


def test_dry_run_shows_rendered_statements_and_requests(ids: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "SENTINEL")
    path = write(tmp_path, README_EXAMPLE)
    assert main(["exec", "--dry-run", "-o", "text", "-H", "-i", path, "--var", "account_id=A", "--var", "app_id=B"]) == 0
    out = capsys.readouterr().out
    assert "SELECT 'A', 'B', :meeting_id, 'alice@example.com', 'group_call_host'" in out
    assert "/accounts/A/realtime/kit/B/meetings/:meeting_id/participants" in out
    assert "SENTINEL" not in out


def test_comments_and_blank_lines_anywhere(api: list[str], ids: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "\n\n-- leading comment\n/* block\ncomment; with semicolon */\nSHOW PROVIDERS -- trailing\n;\n\n;\n-- nothing after\n"
    assert main(["exec", *api, "-o", "jsonl", "-i", write(tmp_path, text)]) == 0
    assert capsys.readouterr().out == '{"name": "cloudflare", "version": "v00.00.00000", "title": "Cloudflare"}\n'


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "text", "table"])
def test_every_format_prints_statements_in_order(api: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    text = "SHOW PROVIDERS; SHOW SERVICES IN cloudflare; SHOW PROVIDERS;"
    assert main(["exec", *api, "-o", fmt, "-H", "-i", write(tmp_path, text)]) == 0
    out = capsys.readouterr().out
    assert out.index("cloudflare") < out.index("realtime_kit") < out.rindex("cloudflare")


def test_long_scripts_remake_plans_instead_of_holding_them(emulator: Emulator, ids: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from cfql.script import runner as script

    monkeypatch.setattr(script, "KEEP_PLANS", 1)
    text = README_EXAMPLE + README_EXAMPLE.replace("alice@example.com", "bob@example.com")
    with connect(token=SANDBOX_TOKEN, base_url=emulator.url) as conn:
        prepared = script.prepare(conn, text, variables=ids)
        assert [s.plan is not None for s in prepared.statements] == [True, False, False, False]
        results = []
        summary = script.run(conn, prepared, on_result=lambda _s, r: results.append(r), concurrency=4)
    assert summary.ok and len(results) == 4
    second_meeting = results[2].rows[0]["meeting_id"]
    (participant,) = emulator.participants(ids["account_id"], ids["app_id"], second_meeting)
    assert participant["custom_participant_id"] == "bob@example.com"
