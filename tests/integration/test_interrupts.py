"""Ctrl-C during a run: what was in flight is waited for and counted by its real outcome.

A real SIGINT is delivered to this process (or to a ``cfql exec`` child) once
the emulator has received the request, so the create is truly in flight.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import typing as t
import uuid
from pathlib import Path

import pytest
from cfql import Interrupted, connect
from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator, Faults
from cfql.script.runner import prepare, run

pytestmark = pytest.mark.usefixtures("default_sigint")

ADVICE = "the change may have been applied; check before re-running"


@pytest.fixture
def slow() -> t.Iterator[Emulator]:
    """A private emulator whose every answer takes 1.5 s."""
    with Emulator(faults=Faults(latency=1.5)) as emu:
        yield emu


def creates(app: str, count: int) -> str:
    return "".join(
        f"INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title) SELECT 'a', '{app}', 't{i}' "
        "RETURNING json_extract(data, '$.title') AS title;\n"
        for i in range(count)
    )


def interrupt_when(emulator: Emulator, received: int, times: int = 1, pid: int | None = None) -> threading.Thread:
    """Send SIGINT ``times`` (0.2 s apart) as soon as the emulator has ``received`` requests."""

    def watch() -> None:
        deadline = time.monotonic() + 30
        while emulator.request_count < received and time.monotonic() < deadline:
            time.sleep(0.01)
        for _ in range(times):
            time.sleep(0.2)
            os.kill(pid or os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_ctrl_c_waits_for_the_create_in_flight_and_shows_its_row(slow: Emulator) -> None:
    app = "int-" + uuid.uuid4().hex[:6]
    shown: list[str] = []
    with connect(token=SANDBOX_TOKEN, base_url=slow.url, rate_limit="0") as conn:
        script = prepare(conn, creates(app, 5))
        watcher = interrupt_when(slow, 1)
        with pytest.raises(Interrupted) as info:
            run(conn, script, on_result=lambda _s, result: shown.append(result.rows[0]["title"]))
        watcher.join()
    assert shown == ["t0"] and [m["title"] for m in slow.meetings("a", app)] == ["t0"]
    assert str(info.value).endswith("interrupted: 1 of 5 statements succeeded, 0 failed, 4 not run")
    assert info.value.summary.succeeded == 1


def test_a_second_ctrl_c_abandons_the_create_as_unknown(slow: Emulator) -> None:
    app = "int-" + uuid.uuid4().hex[:6]
    with connect(token=SANDBOX_TOKEN, base_url=slow.url, rate_limit="0") as conn:
        script = prepare(conn, creates(app, 3))
        watcher = interrupt_when(slow, 1, times=2)
        with pytest.raises(Interrupted) as info:
            run(conn, script)
        watcher.join()
    summary = info.value.summary
    assert summary.succeeded == 0 and len(summary.unknown) == 1 and summary.not_run == 2
    assert summary.unknown[0].line == 1 and ADVICE in str(summary.unknown[0])
    assert f"0 of 3 statements succeeded, 0 failed, 1 with outcome unknown ({ADVICE}), 2 not run" in str(info.value)
    deadline = time.monotonic() + 10
    while not slow.meetings("a", app) and time.monotonic() < deadline:  # the abandoned create still lands
        time.sleep(0.05)
    assert len(slow.meetings("a", app)) == 1


def test_cfql_exec_ctrl_c_reports_each_outcome(slow: Emulator, tmp_path: Path) -> None:
    app = "int-" + uuid.uuid4().hex[:6]
    script = tmp_path / "many.iql"
    script.write_text(creates(app, 4))
    env = {**os.environ, "CLOUDFLARE_API_TOKEN": SANDBOX_TOKEN}
    child = subprocess.Popen(
        [sys.executable, "-m", "cfql", "exec", "--base-url", slow.url, "--rate-limit", "0", "-o", "jsonl", "-i", str(script)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    interrupt_when(slow, 1, pid=child.pid).join()
    out, err = child.communicate(timeout=30)
    assert child.returncode == 130
    assert out == '{"title": "t0"}\n'
    assert "waiting up to 10 s for 1 statement(s) in flight" in err
    assert err.rstrip().endswith("interrupted: 1 of 4 statements succeeded, 0 failed, 3 not run")
    assert "Traceback" not in err


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.run turns Ctrl-C into task cancellation from 3.11 on")
def test_async_run_waits_for_the_create_in_flight(slow: Emulator) -> None:
    import asyncio

    from cfql.aio import AsyncConnection
    from cfql.script.runner import run_async
    from cfql.settings import Settings

    app = "int-" + uuid.uuid4().hex[:6]

    async def scenario() -> None:
        async with AsyncConnection(Settings(token=SANDBOX_TOKEN, base_url=slow.url, rate_limit="0")) as conn:
            script = prepare(conn, creates(app, 3))
            interrupt_when(slow, 1)
            await run_async(conn, script)

    with pytest.raises(Interrupted) as info:
        asyncio.run(scenario())
    assert info.value.summary.succeeded == 1 and [m["title"] for m in slow.meetings("a", app)] == ["t0"]


def test_ctrl_c_stops_a_fanned_out_insert_from_starting_more_rows(slow: Emulator) -> None:
    app = "int-" + uuid.uuid4().hex[:6]
    rows = ", ".join(f"('a', '{app}', 't{i}')" for i in range(6))
    values = f"INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title) VALUES {rows}"
    with connect(token=SANDBOX_TOKEN, base_url=slow.url, rate_limit="0") as conn:
        watcher = interrupt_when(slow, 1)
        with pytest.raises(Interrupted) as info:
            run(conn, prepare(conn, values))
        watcher.join()
        time.sleep(2)  # long enough for another row's request to have arrived, had one been started
        assert [m["title"] for m in slow.meetings("a", app)] == ["t0"]  # the row in flight finished; no other began
        failure = info.value.summary.failures[0]
        assert [o.status for o in failure.result.outcomes] == ["succeeded"] + ["not run"] * 5
        assert failure.outcome_unknown and "of 6 elements, 1 succeeded (row 1), 5 not run (row 2, row 3, row 4, row 5, row 6)" in str(failure)
        conn.run(f"INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title) VALUES ('a', '{app}', 'after'), ('a', '{app}', 'again')")
    assert [m["title"] for m in slow.meetings("a", app)] == ["t0", "after", "again"]  # the next run is not halted


def test_ctrl_c_stops_a_fan_out_run_alone_as_the_shell_runs_it(slow: Emulator) -> None:
    from cfql.script.runner import run_one

    app = "int-" + uuid.uuid4().hex[:6]
    rows = ", ".join(f"('a', '{app}', 't{i}')" for i in range(4))
    with connect(token=SANDBOX_TOKEN, base_url=slow.url, rate_limit="0", concurrency=2) as conn:
        plan = conn.plans.get(f"INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title) VALUES {rows}")
        watcher = interrupt_when(slow, 2)
        with pytest.raises(Interrupted) as info:
            run_one(conn, plan)
        watcher.join()
    assert info.value.outcome_unknown
    time.sleep(2)
    assert sorted(m["title"] for m in slow.meetings("a", app)) == ["t0", "t1"]  # the two in flight, no more
