"""``cfql shell --sandbox`` in a real pseudo-terminal, as a person would use it."""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

import pexpect

REPO = Path(__file__).resolve().parents[2]
ANSI = r"(?:\x1b\[[0-9;?]*[A-Za-z])*"  # the prompt is coloured: allow escapes between its parts
PROMPT = re.compile("cfql" + ANSI + " " + ANSI + r"\(sandbox\)" + ANSI + "> ")
CPR_REQUEST = re.compile(re.escape("\x1b[6n"))


def expect(child: pexpect.spawn, pattern: re.Pattern[str] | str) -> None:
    """Wait for ``pattern``, answering prompt_toolkit's cursor-position requests as a terminal would.

    Between prompts the pty is in cooked mode (Ctrl-C, Ctrl-D are the line
    discipline's), so keys are only sent once the prompt is back.
    """
    while child.expect([CPR_REQUEST, pattern]) == 0:
        child.send("\x1b[1;1R")


def test_insert_returning_then_ctrl_d(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TERM": "xterm",
    }
    env.pop("PROMPT_TOOLKIT_NO_CPR", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "cfql", "shell", "--sandbox"],
        cwd=str(REPO),
        env=env,
        dimensions=(40, 220),
        encoding="utf-8",
        timeout=15,
    )
    try:
        expect(child, PROMPT)
        # The bottom bar says which method a half-typed statement heads for, and what it lacks.
        child.send("INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, meeting_id, custom_participant_id")
        expect(child, "→ add_participant · missing: preset_name")
        child.sendcontrol("c")
        expect(child, PROMPT)
        child.send(
            "INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title)\r"
            "SELECT 'sandbox-account', 'sandbox-app', 'Pexpect standup'\r"
            "RETURNING json_extract(data, '$.title') AS title, success;\r"
        )
        expect(child, re.compile(r"\| title\s+\| success \|"))
        expect(child, re.compile(r"\| Pexpect standup \| true    \|"))
        expect(child, PROMPT)
        child.sendcontrol("d")
        expect(child, "Goodbye!")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    history = tmp_path / "state" / "cfql" / "history"
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    assert "'Pexpect standup'" in history.read_text()


def test_variables_expanded_display_and_a_bad_file_in_a_terminal(tmp_path: Path) -> None:
    """psql habits in a real pty: RETURNING ... AS sets :mid, \\x shows records, a bad \\i file is one line."""
    bad = tmp_path / "bad.iql"
    bad.write_bytes(b"SELECT \xff;\n")
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TERM": "xterm",
    }
    child = pexpect.spawn(
        sys.executable, ["-m", "cfql", "shell", "--sandbox"], cwd=str(REPO), env=env,
        dimensions=(40, 220), encoding="utf-8", timeout=15,
    )
    try:
        expect(child, PROMPT)
        child.send(
            "INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title) "
            "SELECT 'sandbox-account', 'sandbox-app', 'Var test' RETURNING json_extract(data, '$.id') AS mid;\r"
        )
        expect(child, re.compile(r"\| mid\s+\|"))
        expect(child, PROMPT)
        child.send("\\x\r")
        expect(child, "Expanded display is on.")
        expect(child, PROMPT)
        child.send(
            "SELECT title, ai_config FROM cloudflare.realtime_kit.kit_meetings "
            "WHERE account_id = 'sandbox-account' AND app_id = 'sandbox-app' AND meeting_id = :mid;\r"
        )
        expect(child, re.compile(r"-\[ RECORD 1 \]-+\r\ntitle     \| Var test\r\nai_config \| <null>"))
        expect(child, PROMPT)
        child.send(f"\\i {bad}\r")
        expect(child, re.compile(re.escape(f"error: {bad}: not valid UTF-8 at byte 7 (line 1)")))
        expect(child, PROMPT)
        child.sendcontrol("d")
        expect(child, "Goodbye!")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
