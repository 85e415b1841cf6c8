"""Every error leaves the shell running, as one line; Ctrl-C says honestly what a cancelled statement may have done."""

from __future__ import annotations

import io
import signal
import sys
import threading
import time
import typing as t
import uuid
from pathlib import Path

import pytest

from cfql.cli.main import main
from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator
from cfql.provider.cloudflare.emulator.faults import Faults
from cfql.settings import Settings
from cfql.shell.app import Shell
from tests.shell.conftest import CTRL_D, Runner

MEETINGS = "cloudflare.realtime_kit.meetings"
KIT = "cloudflare.realtime_kit.kit_meetings"
ALIVE = "SHOW PROVIDERS;\r"  # proof that the shell still answers


def errors_then_alive(session: t.Any, count: int) -> list[str]:
    lines = session.err.splitlines()
    assert len(lines) == count and all(line.startswith("error: ") for line in lines), session.err
    assert "Traceback" not in session.err and session.out.count("| cloudflare |") == 1
    return lines


def test_a_file_that_is_not_utf8(run_shell: Runner, tmp_path: Path) -> None:
    script = tmp_path / "latin1.iql"
    script.write_bytes("SELECT 'café';\n".encode("latin-1"))
    session = run_shell(f"\\i {script}\r" + ALIVE + CTRL_D)
    assert errors_then_alive(session, 1) == [f"error: {script}: not valid UTF-8 at byte 11 (line 1)"]


def test_deeply_nested_json_in_a_script(run_shell: Runner, tmp_path: Path) -> None:
    script = tmp_path / "deep.iql"
    nested = "[" * 100_000 + "]" * 100_000
    script.write_text(
        f"INSERT INTO {MEETINGS} (account_id, app_id, title, recording_config) SELECT 'a', 'b', 'c', '{nested}';\n"
    )
    session = run_shell(f"\\i {script}\r" + ALIVE + CTRL_D)
    (line,) = errors_then_alive(session, 1)
    assert line.startswith(f"error: {script}:1: ") and "internal error" not in line


@pytest.mark.parametrize(
    "template",
    [
        "SELECT '{{ x | nosuch }}';",  # an unknown filter
        "SELECT '{{ ''.__class__ }}';",  # not JSON-serialisable
        "SELECT '{% for %}';",  # a broken block
        "SELECT '{{ undefined_name }}';",
        "/* {{ owner }} */ SELECT 1;",  # a placeholder inside a comment
    ],
)
def test_template_errors(run_shell: Runner, tmp_path: Path, template: str) -> None:
    script = tmp_path / "t.iql"
    script.write_text(template + "\n")
    session = run_shell(f"\\i {script}\r" + ALIVE + CTRL_D)
    (line,) = errors_then_alive(session, 1)
    assert line.startswith(f"error: {script}:")


@pytest.mark.parametrize(
    "command",
    [
        "\\i /no/such/dir/x.iql",
        "\\i",
        "\\i 'unbalanced",
        "\\i {dir}",  # a directory
        "\\i {dir}/s.iql =novalue",
        "\\unset",
        "\\set 'x' 1",
        "\\output",  # not an error: a control
    ],
)
def test_bad_commands_are_one_line(run_shell: Runner, tmp_path: Path, command: str) -> None:
    (tmp_path / "s.iql").write_text("SHOW PROVIDERS;\n")
    session = run_shell(command.format(dir=tmp_path) + "\r" + ALIVE + CTRL_D)
    assert "Traceback" not in session.err and "internal error" not in session.err
    assert len(session.err.splitlines()) == (0 if command == "\\output" else 1)
    assert "| cloudflare |" in session.out


def test_a_bug_is_an_internal_error_with_its_class_and_the_shell_goes_on(
    run_shell: Runner, monkeypatch: pytest.MonkeyPatch, api: Settings
) -> None:
    def broken(self: Shell) -> None:
        raise LookupError("no such thing")

    monkeypatch.setattr(Shell, "use_sandbox", broken)
    session = run_shell("\\sandbox\r" + ALIVE + CTRL_D)
    assert errors_then_alive(session, 1) == ["error: internal error (LookupError): no such thing"]
    debug = run_shell("\\sandbox\r" + ALIVE + CTRL_D, settings=Settings(base_url=api.base_url, token=api.token, debug=True))
    assert debug.err.startswith("Traceback") and debug.err.endswith("error: internal error (LookupError): no such thing\n")


def test_piped_input_survives_errors_too(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    script = tmp_path / "bad.iql"
    script.write_bytes(b"SELECT \xff;\n")
    monkeypatch.setattr("sys.stdin", io.StringIO(f"\\i {script}\nSHOW PROVIDERS;\n"))
    assert main(["shell", "--sandbox"]) == 0
    captured = capsys.readouterr()
    assert captured.err == f"error: {script}: not valid UTF-8 at byte 7 (line 1)\n"
    assert "| cloudflare |" in captured.out


# -- Ctrl-C while a request is on its way ----------------------------------------------------


@pytest.fixture
def slow() -> t.Iterator[Emulator]:
    """An emulator that holds each request long enough for Ctrl-C to arrive while it is in flight."""
    with Emulator(faults=Faults(latency=1.5)) as emulator:
        yield emulator


def ctrl_c_when_a_request_arrives(emulator: Emulator, times: int = 1) -> threading.Thread:
    """Press Ctrl-C (SIGINT to the main thread, as the terminal would) once the emulator has the request.

    ``times=2``: press it again 0.2 s later, which stops waiting for the statement in flight.
    """
    main_thread = threading.main_thread().ident
    assert main_thread is not None
    seen = emulator.request_count

    def watch() -> None:
        while emulator.request_count == seen:
            time.sleep(0.005)
        for press in range(times):
            if press:
                time.sleep(0.2)
            signal.pthread_kill(main_thread, signal.SIGINT)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


WAITING = "warning: interrupted; waiting up to 10 s for 1 statement(s) in flight (Ctrl-C again to stop waiting)\n"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_an_insert_waits_for_it_and_shows_its_result(
    run_shell: Runner, slow: Emulator, default_sigint: None
) -> None:
    app = uuid.uuid4().hex
    settings = Settings(base_url=slow.url, token=SANDBOX_TOKEN, retries=0)
    insert = f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'acct', '{app}', 'Done' RETURNING json_extract(data, '$.title') AS title;"
    watcher = ctrl_c_when_a_request_arrives(slow)
    session = run_shell(insert + " SHOW PROVIDERS;\r\\output\r" + CTRL_D, settings=settings)
    watcher.join()
    assert session.err == WAITING + (
        "error: interrupted: the statement completed before it could be stopped; the rest of the input was not run\n"
    )
    assert "| Done " in session.out and "| cloudflare |" not in session.out
    assert "Output format is table." in session.out
    assert [m["title"] for m in slow.meetings("acct", app)] == ["Done"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_second_ctrl_c_during_an_insert_says_it_may_have_been_applied(
    run_shell: Runner, slow: Emulator, default_sigint: None
) -> None:
    app = uuid.uuid4().hex
    settings = Settings(base_url=slow.url, token=SANDBOX_TOKEN, retries=0)
    insert = f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'acct', '{app}', 'Maybe';"
    watcher = ctrl_c_when_a_request_arrives(slow, times=2)
    session = run_shell(insert + " SHOW PROVIDERS;\r\\output\r" + CTRL_D, settings=settings)
    watcher.join()
    assert session.err == WAITING + "error: cancelled: the change may have been applied; check before re-running\n"
    assert "| cloudflare |" not in session.out  # the rest of the line did not run
    assert "Output format is table." in session.out  # but the shell did go on
    deadline = time.monotonic() + 10
    while not slow.meetings("acct", app) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [m["title"] for m in slow.meetings("acct", app)] == ["Maybe"]  # and indeed it was applied


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_a_select_is_just_cancelled(run_shell: Runner, slow: Emulator, default_sigint: None) -> None:
    settings = Settings(base_url=slow.url, token=SANDBOX_TOKEN, retries=0)
    watcher = ctrl_c_when_a_request_arrives(slow, times=2)
    session = run_shell(f"SELECT id FROM {KIT} WHERE account_id = 'acct' AND app_id = 'x';\r\\output\r" + CTRL_D, settings=settings)
    watcher.join()
    assert session.err == WAITING + "error: cancelled\n" and "Output format is table." in session.out


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_a_script_reports_what_ran(
    run_shell: Runner, slow: Emulator, default_sigint: None, tmp_path: Path
) -> None:
    app = uuid.uuid4().hex
    script = tmp_path / "two.iql"
    one = f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'acct', '{app}', '{{title}}';\n"
    script.write_text(one.replace("{title}", "First") + one.replace("{title}", "Second"))
    settings = Settings(base_url=slow.url, token=SANDBOX_TOKEN, retries=0)
    watcher = ctrl_c_when_a_request_arrives(slow)
    session = run_shell(f"\\i {script}\r\\output\r" + CTRL_D, settings=settings)
    watcher.join()
    error = session.err.splitlines()[-1]
    assert error.startswith(f"error: {script}:") and "interrupted" in error
    assert "Output format is table." in session.out
    assert "Second" not in [m["title"] for m in slow.meetings("acct", app)]
