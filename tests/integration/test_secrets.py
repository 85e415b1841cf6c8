"""Sentinel secrets go in through every door; none may come out of any output path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cfql import DataError, connect
from cfql.cli.main import main
from cfql.provider.cloudflare.emulator import Emulator

REPO = Path(__file__).resolve().parents[2]
TOKEN = "SENTINEL-API-TOKEN-1f2e"
API_KEY = "SENTINEL-API-KEY-9c8b"
STORAGE = {
    "type": "aws",
    "access_key": "SENTINEL-ACCESS-KEY",
    "secret": "SENTINEL-SECRET",
    "region": "us-east-1",
    "bucket": "b",
    "password": "SENTINEL-PASSWORD",
    "private_key": "SENTINEL-PRIVATE-KEY",
}
SENTINELS = [TOKEN, API_KEY, *(v for k, v in STORAGE.items() if v.startswith("SENTINEL"))]
CREATE = (
    "INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title, recording_config) "
    f"SELECT 'sec-acct', 'sec-app', 'secret meeting', '{json.dumps({'storage_config': STORAGE})}' RETURNING *"
)


def assert_clean(*texts: str) -> None:
    for text in texts:
        for sentinel in SENTINELS:
            assert sentinel not in text, f"{sentinel} leaked"


@pytest.fixture
def secret_emulator() -> Emulator:
    with Emulator(token=TOKEN) as emu:
        yield emu


@pytest.mark.parametrize("fmt", ["table", "json", "jsonl", "csv", "text"])
def test_results_in_every_format(secret_emulator: Emulator, fmt: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    assert main(["exec", "--base-url", secret_emulator.url, "-o", fmt, CREATE]) == 0
    captured = capsys.readouterr()
    assert "secret meeting" in captured.out
    assert_clean(captured.out, captured.err)


def test_response_that_echoes_secrets_is_masked() -> None:
    """Even if the API sent storage secrets back, the rows would not show them."""
    echo = {"success": True, "data": {"id": "m", "created_at": "x", "updated_at": "x", "recording_config": {"storage_config": STORAGE}}}
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(201, json=echo)))
    with connect(token=TOKEN, http_client=client) as conn:
        rows = conn.execute(CREATE)
    assert rows[0]["data"]["recording_config"]["storage_config"]["bucket"] == "b"
    assert_clean(repr(rows))


def test_dry_run_and_debug(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, secret_emulator: Emulator) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    for fmt in ("table", "json", "csv"):
        assert main(["exec", "--dry-run", "-o", fmt, CREATE]) == 0
    assert main(["exec", "--debug", "--base-url", secret_emulator.url, CREATE]) == 0
    captured = capsys.readouterr()
    assert "***" in captured.out and "-> 201" in captured.err
    assert_clean(captured.out, captured.err)


def test_api_key_credentials_in_dry_run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    monkeypatch.setenv("CLOUDFLARE_API_KEY", API_KEY)
    monkeypatch.setenv("CLOUDFLARE_EMAIL", "me@example.com")
    assert main(["exec", "--dry-run", "-o", "json", CREATE]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)[0]["headers"]["X-Auth-Key"] == "***"
    assert_clean(out)


def test_validation_errors_do_not_show_secret_values() -> None:
    bad = {**STORAGE, "type": "nope"}
    with connect(token=TOKEN, dry_run=True) as conn, pytest.raises(DataError) as info:
        conn.execute(CREATE.replace(json.dumps({"storage_config": STORAGE}), json.dumps({"storage_config": bad})))
    assert_clean(str(info.value))
    with connect(token=TOKEN, dry_run=True) as conn, pytest.raises(DataError) as info:
        conn.execute(CREATE.replace('"SENTINEL-PASSWORD"', "12345"))
    assert "12345" not in str(info.value)


def test_http_error_echoes_are_scrubbed() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        message = f"bad credentials {request.headers['authorization']} for {body}"
        return httpx.Response(400, json={"success": False, "error": {"code": 400, "message": message}})

    with connect(token=TOKEN, http_client=httpx.Client(transport=httpx.MockTransport(echo))) as conn, pytest.raises(Exception) as info:
        conn.execute(CREATE)
    assert "bad credentials Bearer ***" in str(info.value)
    assert_clean(str(info.value))


def test_transport_errors_are_scrubbed() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy refused {TOKEN}")

    with connect(token=TOKEN, retries=0, http_client=httpx.Client(transport=httpx.MockTransport(fail))) as conn, pytest.raises(Exception) as info:
        conn.execute(CREATE)
    assert_clean(str(info.value))


def test_cli_errors_and_tracebacks_free_of_secrets(tmp_path: Path) -> None:
    env = {**os.environ, "CLOUDFLARE_API_TOKEN": TOKEN}
    done = subprocess.run(
        [sys.executable, "-m", "cfql", "exec", "--base-url", "http://127.0.0.1:9/client/v4", "--retries", "0", CREATE],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=60,
    )
    assert done.returncode == 1 and "cannot reach the API" in done.stderr
    assert_clean(done.stdout, done.stderr)


def test_settings_repr_hides_credentials() -> None:
    with connect(token=TOKEN, api_key=API_KEY, dry_run=True) as conn:
        assert_clean(repr(conn.settings))


def test_shell_history_file_never_holds_secrets(tmp_path: Path) -> None:
    from cfql.shell.history import open_history

    history, _warning = open_history(tmp_path / "history")
    history.store_string(CREATE)
    history.store_string(f"EXEC cloudflare.realtime_kit.meetings.create @account_id='a', @app_id='b' @@json='{json.dumps({'recording_config': {'storage_config': STORAGE}})}'")
    text = (tmp_path / "history").read_text()
    assert "secret meeting" in text and "sec-acct" in text
    assert_clean(text)
    assert (tmp_path / "history").stat().st_mode & 0o777 == 0o600


def test_results_and_their_repr_never_keep_a_secret_literal(secret_emulator: Emulator) -> None:
    with connect(token=TOKEN, base_url=secret_emulator.url) as conn:
        result = conn.run(CREATE)
        scripted = conn.executescript(
            "INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title, recording_config) "
            "SELECT 'sec-acct', 'sec-app', 'from a template', '{{ config }}' RETURNING *",
            variables={"config": json.dumps({"storage_config": STORAGE})},
        )
    assert "secret meeting" in result.statement and "***" in result.statement
    assert "from a template" in scripted[0].statement
    assert_clean(result.statement, repr(result), str(result), scripted[0].statement, repr(scripted))


def test_a_password_in_the_base_url_is_masked_in_dry_runs_logs_and_errors(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    base = "http://proxyuser:SENTINEL-PASSWORD@127.0.0.1:9/client/v4"  # port 9: nothing listens
    assert main(["exec", "--dry-run", "--base-url", base, CREATE]) == 0
    dry = capsys.readouterr()
    assert "http://proxyuser:***@127.0.0.1:9/client/v4/accounts/sec-acct" in dry.out
    select = "SELECT id FROM cloudflare.realtime_kit.kit_meetings WHERE account_id = 'a' AND app_id = 'b'"
    failed = subprocess.run(
        [sys.executable, "-m", "cfql", "exec", "--debug", "--retries", "0", "--base-url", base, select],
        capture_output=True, text=True, check=False, env={**os.environ, "CLOUDFLARE_API_TOKEN": TOKEN},
    )
    assert failed.returncode == 1
    assert "cfql: GET http://proxyuser:***@127.0.0.1:9/client/v4/accounts/a/realtime/kit/b/meetings" in failed.stderr
    assert "cannot reach the API" in failed.stderr and "Traceback" in failed.stderr  # --debug shows it, masked
    assert_clean(dry.out, dry.err, failed.stdout, failed.stderr)
