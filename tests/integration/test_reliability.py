"""Under injected faults every statement is done or reported failed, and nothing is created twice."""

from __future__ import annotations

import asyncio
import collections
import json
import re
import ssl
import typing as t
import uuid
from pathlib import Path

import pytest
from cfql import APIError, connect
from cfql.aio import AsyncConnection
from cfql.cli.main import main
from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator, Faults
from cfql.settings import Settings


@pytest.fixture
def faulty() -> t.Iterator[Emulator]:
    """A private emulator: faults are global to an emulator, so they must not leak into other tests."""
    with Emulator(faults=Faults(seed=11)) as emu:
        yield emu


@pytest.mark.parametrize("after_write", [False, True], ids=["faults-before-write", "faults-after-write"])
def test_500_creates_under_500s_drops_and_a_tight_rate_limit(after_write: bool, faulty: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    faulty.faults.error_rate = 0.1
    faulty.faults.drop_rate = 0.1
    faulty.faults.fault_after_write = after_write
    faulty.faults.rate_limit = "150/1"
    account, app = "rel-acct", "rel-" + uuid.uuid4().hex[:6]
    script = tmp_path / "bulk.iql"
    script.write_text(
        "".join(
            f"INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title) SELECT '{account}', '{app}', 'm{i:03d}' "
            "RETURNING json_extract(data, '$.title') AS title;\n"
            for i in range(500)
        )
    )
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", SANDBOX_TOKEN)
    code = main([
        "exec", "--base-url", faulty.url, "-i", str(script), "-o", "jsonl", "--concurrency", "8",
        "--continue-on-error", "--retries", "4", "--rate-limit", "0",
    ])
    captured = capsys.readouterr()
    printed = [json.loads(line)["title"] for line in captured.out.splitlines()]
    summary = captured.err.splitlines()[-1]
    found = re.fullmatch(r"cfql: (\d+) of 500 statements succeeded, (\d+) failed, (\d+) with outcome unknown \(.+\)", summary)
    succeeded, failed, unknown = map(int, found.groups())
    stored = [m["title"] for m in faulty.meetings(account, app)]
    errors = [line for line in captured.err.splitlines() if line.startswith("cfql: error:")]

    assert code == 1
    # A 500 or a lost answer to a POST is never retried, and never called a plain failure:
    # the server may have applied it (and with faults after the write, it did).
    assert succeeded + unknown == 500 and failed == 0 and unknown > 0
    assert len(stored) == succeeded + (unknown if after_write else 0)
    assert set(printed) <= set(stored) and len(printed) == succeeded
    assert not [title for title, n in collections.Counter(stored).items() if n > 1], "a create was sent twice"
    assert printed == sorted(printed)  # output stays in script order under concurrency
    assert len(errors) == unknown and all("the change may have been applied; check before re-running" in e for e in errors)


def test_idempotent_updates_ride_out_faults_with_retries(faulty: Emulator) -> None:
    with connect(token=SANDBOX_TOKEN, base_url=faulty.url, retries=6, rate_limit="0") as conn:
        (row,) = conn.execute("INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id) SELECT 'a', 'b' RETURNING json_extract(data, '$.id') AS id")
        faulty.faults.error_rate = 0.2
        faulty.faults.drop_rate = 0.1
        for n in range(40):
            conn.execute(
                "UPDATE cloudflare.realtime_kit.meetings SET title = :t WHERE meeting_id = :id AND account_id = 'a' AND app_id = 'b'",
                {"t": f"v{n}", "id": row["id"]},
            )
    (meeting,) = faulty.meetings("a", "b")
    assert meeting["title"] == "v39"


def test_a_parameter_user_waits_for_its_setter_under_concurrency(emulator: Emulator) -> None:
    app = "conc-" + uuid.uuid4().hex[:6]
    text = "".join(
        f"INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title) SELECT 'a', '{app}', 't{i}' RETURNING json_extract(data, '$.id') AS m{i};\n"
        f"INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, meeting_id, custom_participant_id, preset_name) SELECT 'a', '{app}', :m{i}, 'p{i}', 'host' RETURNING json_extract(data, '$.custom_participant_id') AS who;\n"
        for i in range(10)
    )
    with connect(token=SANDBOX_TOKEN, base_url=emulator.url) as conn:
        results = conn.executescript(text, concurrency=8)
    assert [r.rows[0].get("who") for r in results[1::2]] == [f"p{i}" for i in range(10)]
    for i, created in enumerate(results[0::2]):
        assert [p["custom_participant_id"] for p in emulator.participants("a", app, created.rows[0][f"m{i}"])] == [f"p{i}"]


def test_async_connection(emulator: Emulator) -> None:
    async def scenario() -> list[list[dict[str, t.Any]]]:
        async with AsyncConnection(Settings(token=SANDBOX_TOKEN, base_url=emulator.url)) as conn:
            sql = "INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title) SELECT 'async', 'app', :t RETURNING json_extract(data, '$.title') AS title"
            return await asyncio.gather(*(conn.execute(sql, {"t": f"a{i}"}) for i in range(20)))

    results = asyncio.run(scenario())
    assert sorted(r[0]["title"] for r in results) == sorted(f"a{i}" for i in range(20))


def test_async_connection_raises_real_errors(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with AsyncConnection(Settings(token="wrong", base_url=emulator.url)) as conn:
            await conn.execute("INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id) SELECT 'a', 'b'")

    with pytest.raises(APIError, match="HTTP 401"):
        asyncio.run(scenario())


def test_tls_verification_is_on_for_the_default_client() -> None:
    with connect(token="t") as conn:
        pool = conn.driver.client._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context.verify_mode == ssl.CERT_REQUIRED
        assert pool._ssl_context.check_hostname is True
