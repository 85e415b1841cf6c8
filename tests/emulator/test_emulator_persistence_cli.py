"""State files survive restarts and kill -9; the CLI starts, reports and stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator
from cfql.provider.cloudflare.emulator.cli import main

REPO = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
LISTENING = re.compile(r"^cfql emulator listening on (http://127\.0\.0\.1:\d+/client/v4) \(token: (\S+)\)$")
MEETINGS = "/accounts/acct/realtime/kit/app/meetings"


def spawn(*flags: str) -> tuple[subprocess.Popen[str], str]:
    """Run ``python -m cfql.provider.cloudflare.emulator`` and return it with its announced base URL."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cfql.provider.cloudflare.emulator", "--port", "0", *flags],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().rstrip("\n")
    match = LISTENING.match(line)
    if match is None:
        proc.kill()
        pytest.fail(f"unexpected first line {line!r}; stderr: {proc.communicate()[1]}")
    return proc, match.group(1)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_state_file_survives_a_restart(tmp_path, make_emulator):
    state = tmp_path / "state.sqlite"
    first = make_emulator(state=state)
    with httpx.Client(base_url=first.url, headers=AUTH) as client:
        meeting = client.post(MEETINGS, json={"title": "durable"}).json()["data"]
        person = client.post(
            f"{MEETINGS}/{meeting['id']}/participants", json={"custom_participant_id": "u", "preset_name": "p"}
        ).json()["data"]
    first.stop()

    second = make_emulator(state=state)
    with httpx.Client(base_url=second.url, headers=AUTH) as client:
        assert client.get(f"{MEETINGS}/{meeting['id']}").json()["data"] == meeting
        assert second.participants("acct", "app", meeting["id"])[0]["token"] == person["token"]
        # the clock resumes after the stored stamps, so updated_at still moves forward
        patched = client.patch(f"{MEETINGS}/{meeting['id']}", json={"title": "later"}).json()["data"]
    assert patched["updated_at"] > meeting["updated_at"]


def test_in_memory_state_is_gone_after_a_restart(make_emulator):
    first = make_emulator()
    httpx.post(f"{first.url}{MEETINGS}", json={}, headers=AUTH)
    first.stop()
    assert make_emulator().meetings("acct", "app") == []


def test_kill_9_loses_no_acknowledged_write(tmp_path, processes):
    state = tmp_path / "state.sqlite"
    proc, url = spawn("--state", str(state))
    processes.append(proc)
    acknowledged = []
    with httpx.Client(base_url=url, headers=AUTH) as client:
        for i in range(50):
            response = client.post(MEETINGS, json={"title": f"m{i}"})
            assert response.status_code == 201
            acknowledged.append(response.json()["data"]["id"])
        meeting = acknowledged[-1]
        client.patch(f"{MEETINGS}/{meeting}", json={"status": "INACTIVE"}).raise_for_status()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    with Emulator(state=state) as emu:
        stored = emu.meetings("acct", "app")
    assert [m["id"] for m in stored] == acknowledged
    assert stored[-1]["status"] == "INACTIVE"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_until_a_signal_then_exits_0_quietly(processes, signum):
    proc, url = spawn("--latency", "0", "--seed", "3")
    processes.append(proc)
    assert httpx.get(f"{url}{MEETINGS}", headers=AUTH).status_code == 200
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert stderr == ""


def test_cli_applies_fault_and_token_flags(processes):
    proc, url = spawn("--token", "other", "--error-rate", "1")
    processes.append(proc)
    assert httpx.get(f"{url}{MEETINGS}", headers={"Authorization": "Bearer other"}).status_code == 500


@pytest.mark.parametrize(
    "argv",
    [
        ["--bogus"],
        ["--port", "http"],
        ["--port", "70000"],
        ["--error-rate", "2"],
        ["--drop-rate", "-0.1"],
        ["--latency", "-1"],
        ["--rate-limit", "many"],
    ],
)
def test_cli_bad_flags_are_one_line_and_exit_2(capsys, argv):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("cfql emulator: error: ") and captured.err.count("\n") == 1


def test_cli_port_in_use_is_one_line_and_exit_1(capsys, emulator: Emulator):
    assert main(["--port", str(emulator.port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cfql emulator: error: cannot start") and err.count("\n") == 1
