"""The REPL driven through prompt_toolkit's pipe input: multi-line input, meta commands, errors, confirmation."""

from __future__ import annotations

import io
import re
import sys
import typing as t
import uuid
from pathlib import Path

import pytest

from cfql import connect
from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator
from cfql.result import Result
from cfql.settings import Settings
from cfql.shell import display
from cfql.shell.app import Shell
from cfql.shell.config import ShellConfig
from tests.shell.conftest import CTRL_C, CTRL_D, Runner

MEETINGS = "cloudflare.realtime_kit.meetings"


def create_meeting(app_id: str, title: str = "Standup") -> str:
    return (
        f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'acct', '{app_id}', '{title}' "
        "RETURNING json_extract(data, '$.title') AS title, success;"
    )


def test_multi_line_statements_run_at_the_semicolon(run_shell: Runner) -> None:
    app = uuid.uuid4().hex
    statement = create_meeting(app, "Multi").replace(" SELECT", "\rSELECT").replace(" RETURNING", "\rRETURNING")
    session = run_shell(statement + "\r" + CTRL_D)
    assert "| Multi | true    |" in session.out and session.err == ""
    assert session.out.endswith("Goodbye!\n") and session.status == 0


def test_several_statements_on_one_line(run_shell: Runner) -> None:
    session = run_shell("SHOW PROVIDERS; SHOW SERVICES IN cloudflare;\r" + CTRL_D)
    assert "| cloudflare |" in session.out and "| realtime_kit |" in session.out


def test_ctrl_c_drops_the_input_and_keeps_the_session(run_shell: Runner) -> None:
    session = run_shell("SHOW PROVIDERZ" + CTRL_C + "SHOW PROVIDERS;\r" + CTRL_D)
    assert session.err == "" and "| cloudflare |" in session.out


@pytest.mark.parametrize("leave", ["exit\r", "quit;\r", "\\q\r", CTRL_D])
def test_ways_to_leave(run_shell: Runner, leave: str) -> None:
    session = run_shell(leave + "SHOW PROVIDERS;\r")
    assert session.out == "Goodbye!\n"


def test_errors_are_one_line_and_the_shell_goes_on(run_shell: Runner) -> None:
    session = run_shell(
        f"SELECT * FROM {MEETINGS}z;\r"  # unknown resource
        f"UPDATE {MEETINGS} SET title = 'x' WHERE account_id = 'a';\r"  # no method matches
        "SELECT FROM WHERE;\r"  # syntax
        "SHOW PROVIDERS;\r" + CTRL_D
    )
    lines = session.err.splitlines()
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines)
    assert "did you mean 'meetings'" in lines[0]
    assert "update_meeting_by_id is missing app_id, meeting_id" in lines[1]
    assert "Traceback" not in session.err and "| cloudflare |" in session.out


def test_api_errors_and_internal_errors(run_shell: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = f"UPDATE {MEETINGS} SET title = 'x' WHERE account_id = 'a' AND app_id = 'b' AND meeting_id = 'none';\r"
    assert run_shell(missing + CTRL_D).err.startswith("error: ") and "404" in run_shell(missing + CTRL_D).err

    def boom(self: Shell) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Shell, "conn", property(boom))
    session = run_shell("SHOW PROVIDERS;\rSHOW PROVIDERS;\r" + CTRL_D)
    assert session.err == "error: internal error (RuntimeError): boom\n" * 2


def test_output_and_timing(run_shell: Runner) -> None:
    session = run_shell(
        "\\output\r\\o csv\rSHOW PROVIDERS;\r\\timing\rSHOW PROVIDERS;\r\\timing off\r\\output xml\r" + CTRL_D
    )
    assert session.out.startswith("Output format is table.\nOutput format is csv.\nname,version,title\ncloudflare,v00.00.00000,Cloudflare\n")
    assert re.search(r"Timing is on\.\nname,version,title\ncloudflare,v00\.00\.00000,Cloudflare\nTime: \d+\.\d{3}s\nTiming is off\.", session.out)
    assert session.err == "error: unknown output format 'xml'; choose one of table, json, jsonl, csv, text\n"


def test_help_lists_every_command(run_shell: Runner) -> None:
    from cfql.shell.meta import COMMANDS

    out = run_shell("\\?\r\\nope\r" + CTRL_D)
    for command in COMMANDS:
        assert command.usage in out.out
    assert out.err == "error: unknown command \\nope; \\help lists the commands\n"


def _meeting_with_participant(emulator: Emulator) -> tuple[str, dict[str, t.Any], dict[str, t.Any]]:
    """A new app's meeting with one participant: the app id and the two ``{'id': ...}`` rows."""
    app = uuid.uuid4().hex
    with connect(base_url=emulator.url, token=SANDBOX_TOKEN) as conn:
        (meeting,) = conn.execute(
            f"INSERT INTO {MEETINGS} (account_id, app_id) SELECT 'acct', '{app}' RETURNING json_extract(data, '$.id') AS id"
        )
        (participant,) = conn.execute(
            f"INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, custom_participant_id, preset_name) "
            f"SELECT 'acct', '{app}', '{meeting['id']}', 'p1', 'host' RETURNING json_extract(data, '$.id') AS id"
        )
    return app, meeting, participant


def test_delete_asks_first_on_a_terminal(run_shell: Runner, emulator: Emulator) -> None:
    app, meeting, participant = _meeting_with_participant(emulator)
    delete = (
        f"DELETE FROM {MEETINGS} WHERE account_id = 'acct' AND app_id = '{app}' "
        f"AND meeting_id = '{meeting['id']}' AND participant_id = '{participant['id']}' RETURNING success;\r"
    )
    refused = run_shell(delete + "n\r" + CTRL_D, interactive=True)
    assert "Not deleted." in refused.out and "success" not in refused.out
    confirmed = run_shell(delete + "y\r" + CTRL_D, interactive=True)
    assert "| true    |" in confirmed.out and confirmed.err == ""
    unattended = run_shell(delete + CTRL_D, interactive=False)  # not a terminal: no question, it runs (and 404s)
    assert "Not deleted." not in unattended.out and unattended.err.startswith("error: ")


def test_a_fanned_out_delete_asks_about_every_element_and_shows_what_the_others_returned(
    run_shell: Runner, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, meeting, participant = _meeting_with_participant(emulator)
    asked: list[str] = []
    monkeypatch.setattr(Shell, "confirm", lambda self, question: asked.append(question) or True)
    delete = (
        f"DELETE FROM {MEETINGS} WHERE account_id = 'acct' AND app_id = '{app}' AND meeting_id = '{meeting['id']}' "
        f"AND participant_id IN ('{participant['id']}', 'gone') RETURNING success;\r"
    )
    session = run_shell(delete + CTRL_D, interactive=True)
    assert asked == ["Delete 2 elements, one request each? [y/N] "]
    assert "| true    |" in session.out  # the element that was deleted, shown before the error
    assert "1 succeeded" in session.err and "1 failed (participant_id = 'gone')" in session.err


def test_include_runs_a_script_with_variables(run_shell: Runner, tmp_path: Path) -> None:
    app = uuid.uuid4().hex
    script = tmp_path / "standup.iql"
    script.write_text(
        f"INSERT INTO {MEETINGS} (account_id, app_id, title)\n"
        "SELECT 'acct', '{{ app_id }}', 'From script' RETURNING json_extract(data, '$.id') AS meeting_id;\n"
        "SELECT title FROM cloudflare.realtime_kit.kit_meetings\n"
        "WHERE account_id = 'acct' AND app_id = '{{ app_id }}' AND meeting_id = :meeting_id;\n"
    )
    session = run_shell(f"\\i {script} app_id={app}\r\\i {tmp_path}/none.iql\r\\i {script}\r" + CTRL_D)
    assert "| From script |" in session.out
    errors = session.err.splitlines()
    assert errors[0].startswith(f"error: cannot read {tmp_path}/none.iql")
    assert errors[1].startswith("error: ") and "app_id" in errors[1]  # undefined template variable, one line


def test_edit_puts_the_edited_statement_back_at_the_prompt(
    run_shell: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\np = sys.argv[1]\ntext = open(p).read().strip()\nopen(p, 'w').write(text + ' PROVIDERS;')\n")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    session = run_shell("SHOW \\e\r\r" + CTRL_D)  # edit "SHOW", then Enter runs "SHOW PROVIDERS;"
    assert "| cloudflare |" in session.out and session.err == ""
    monkeypatch.setenv("EDITOR", f"{sys.executable} -c 'raise SystemExit(3)'")
    failed = run_shell("\\e SHOW\r" + CTRL_D)
    assert failed.err == "error: the editor exited with status 3; nothing changed\n"


def test_sandbox_switches_the_connection(run_shell: Runner, api: Settings) -> None:
    session = run_shell("\\sandbox\r" + create_meeting("sandbox-app", "Local") + "\r" + CTRL_D)
    assert "Now on the sandbox" in session.out
    assert "| Local | true    |" in session.out
    assert session.shell.settings.sandbox and session.shell.target() == "sandbox"
    assert session.shell._conn is None  # closed (and its emulator stopped) on the way out


def test_prompt_names_the_target() -> None:
    def text(settings: Settings) -> str:
        return "".join(fragment[1] for fragment in Shell(settings, history=None).prompt_message())

    assert text(Settings(sandbox=True)) == "cfql (sandbox)> "
    assert text(Settings()) == "cfql> "
    assert text(Settings(base_url="http://127.0.0.1:8787/client/v4")) == "cfql (127.0.0.1:8787)> "


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_pager_only_for_a_terminal_and_only_when_too_big(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setattr(display.shutil, "get_terminal_size", lambda: os.terminal_size((40, 10)))
    paged = tmp_path / "paged.txt"
    monkeypatch.setenv("PAGER", f"{sys.executable} -c 'import sys; open(sys.argv[1], \"w\").write(sys.stdin.read())' {paged}")
    small = Result(["a"], [{"a": "x"}])
    tall = Result(["a"], [{"a": str(i)} for i in range(20)])
    wide = Result(["a"], [{"a": "x" * 60}])

    for result in (small, tall, wide):
        out = io.StringIO()
        display.emit(result, "table", out, pager=True)  # not a terminal: never paged
        assert "| a" in out.getvalue()
    assert not paged.exists()

    screen = Terminal()
    display.emit(small, "table", screen, pager=True)
    assert "| x |" in screen.getvalue() and not paged.exists()
    display.emit(tall, "table", screen, pager=False)  # paging turned off
    assert not paged.exists()
    for result in (tall, wide):
        screen = Terminal()
        display.emit(result, "table", screen, pager=True)
        assert screen.getvalue() == "" and "| a" in paged.read_text()
        paged.unlink()
    monkeypatch.setenv("PAGER", str(tmp_path / "no-such-pager"))
    display.emit(tall, "table", screen, pager=True)  # a pager that cannot start: print instead
    assert "| 19 |" in screen.getvalue()


def test_config_defaults_reach_the_session(run_shell: Runner) -> None:
    session = run_shell("SHOW PROVIDERS;\r" + CTRL_D, config=ShellConfig(output="jsonl", timing=True))
    assert session.out.startswith('{"name": "cloudflare", "version": "v00.00.00000", "title": "Cloudflare"}\nTime: ')
