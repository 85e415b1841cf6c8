"""``cfql exec`` as a user runs it: output formats, exit codes, one-line errors, dry runs, the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cfql.cli.main import main
from cfql.provider.cloudflare.emulator import Emulator

REPO = Path(__file__).resolve().parents[2]
CREATE = (
    "INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title) "
    "SELECT 'cli-acct', 'cli-app', 'Hello' RETURNING json_extract(data, '$.title') AS title, success"
)


def cfql(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cfql", *args],
        capture_output=True, text=True, cwd=REPO, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize(
    "fmt, expected",
    [
        ("json", '[\n  {\n    "title": "Hello",\n    "success": true\n  }\n]\n'),
        ("jsonl", '{"title": "Hello", "success": true}\n'),
        ("csv", "title,success\nHello,true\n"),
        ("text", "title\tsuccess\nHello\ttrue\n"),
        (
            "table",
            "+-------+---------+\n| title | success |\n|-------+---------|\n| Hello | true    |\n+-------+---------+\n",
        ),
    ],
)
def test_output_formats(api: list[str], capsys: pytest.CaptureFixture[str], fmt: str, expected: str) -> None:
    assert main(["exec", *api, "-o", fmt, CREATE]) == 0
    assert capsys.readouterr().out == expected


def test_hide_headers(api: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exec", *api, "-o", "csv", "-H", CREATE]) == 0
    assert capsys.readouterr().out == "Hello,true\n"


def test_nested_values_are_json_in_csv(api: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    sql = CREATE.replace("json_extract(data, '$.title') AS title, success", "data")
    assert main(["exec", *api, "-o", "csv", "-H", sql]) == 0
    assert json.loads(next(iter(__import__("csv").reader([capsys.readouterr().out.strip()])))[0])["title"] == "Hello"


def test_statement_without_returning_reports_despatch(api: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    sql = "INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id) SELECT 'cli-acct', 'cli-app'"
    assert main(["exec", *api, sql]) == 0
    assert capsys.readouterr().out == "The operation was despatched successfully\n"


def test_several_statements_print_in_order(api: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exec", *api, "-o", "jsonl", f"{CREATE}; SHOW PROVIDERS;"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ['{"title": "Hello", "success": true}', '{"name": "cloudflare", "version": "v00.00.00000", "title": "Cloudflare"}']


def test_failing_statement_exits_non_zero_and_says_what_ran(api: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    bad = "UPDATE cloudflare.realtime_kit.meetings SET title = 'x' WHERE meeting_id = 'missing' AND account_id = 'a' AND app_id = 'b'"
    assert main(["exec", *api, "-o", "jsonl", f"{CREATE};\n{bad}"]) == 1
    captured = capsys.readouterr()
    assert captured.out == '{"title": "Hello", "success": true}\n'
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("cfql: error: <command line>:2: update_meeting_by_id: HTTP 404")
    assert "1 of 2 statements ran before it" in captured.err


def test_a_typo_late_in_the_input_fails_before_anything_runs(api: list[str], capsys: pytest.CaptureFixture[str], emulator: Emulator) -> None:
    before = len(emulator.meetings("cli-acct", "cli-app"))
    assert main(["exec", *api, f"{CREATE};\nSHOW METHODS IN cloudflare.realtime_kit.meeting"]) == 1
    assert "unknown resource cloudflare.realtime_kit.meeting (did you mean 'meetings'?)" in capsys.readouterr().err
    assert len(emulator.meetings("cli-acct", "cli-app")) == before


def test_errors_are_one_line_without_traceback() -> None:
    done = cfql("exec", "--dry-run", "INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, titel) SELECT 'a', 'b', 'c'")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "did you mean 'title'" in done.stderr


def test_syntax_error_names_line_and_column() -> None:
    done = cfql("exec", "--dry-run", "SHOW PROVIDERS;\nINSERT INTO cloudflare.realtime_kit.meetings (a SELECT 1")
    assert done.returncode == 1
    assert "<command line>:2: syntax error at line 2, column" in done.stderr


def test_debug_shows_the_traceback() -> None:
    done = cfql("exec", "--debug", "--dry-run", "SHOW METHODS IN nope.x.y")
    assert done.returncode == 1 and "Traceback" in done.stderr


def test_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"CLOUDFLARE_API_TOKEN": "", "CLOUDFLARE_API_KEY": "", "CLOUDFLARE_EMAIL": ""}
    done = cfql("exec", "--base-url", "http://127.0.0.1:9", CREATE, env=env)
    assert done.returncode == 1
    assert "no credentials: set CLOUDFLARE_API_TOKEN or CLOUDFLARE_API_KEY and CLOUDFLARE_EMAIL, or use --sandbox" in done.stderr


def test_dry_run_prints_requests_and_sends_nothing(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "SENTINEL-TOKEN")
    assert main(["exec", "--dry-run", "-o", "json", "--base-url", "http://127.0.0.1:9/client/v4", CREATE]) == 0
    (request,) = json.loads(capsys.readouterr().out)
    assert request == {
        "method": "POST",
        "url": "http://127.0.0.1:9/client/v4/accounts/cli-acct/realtime/kit/cli-app/meetings",
        "headers": {"User-Agent": "cfql/0.1.0", "Accept": "application/json", "Authorization": "Bearer ***", "Content-Type": "application/json"},
        "body": {"title": "Hello"},
    }


def test_script_file(api: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "setup.iql"
    script.write_text(f"-- create a meeting\n{CREATE};\n\n/* and list providers */\nSHOW PROVIDERS;\n")
    assert main(["exec", *api, "-o", "jsonl", "-i", str(script)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_missing_script_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exec", "-i", "/nonexistent/x.iql"]) == 1
    assert capsys.readouterr().err == "cfql: error: cannot read /nonexistent/x.iql: No such file or directory\n"


def test_sandbox_needs_no_account() -> None:
    done = cfql("exec", "--sandbox", "-o", "json", CREATE, env={"CLOUDFLARE_API_TOKEN": ""})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"title": "Hello", "success": True}]


def test_script_from_stdin() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cfql", "exec", "-i", "-", "-o", "jsonl"],
        input="SHOW PROVIDERS;\nSHOW SERVICES IN cloudflare;", capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["name"] for line in done.stdout.splitlines()] == ["cloudflare", "realtime_kit"]


def test_version() -> None:
    done = cfql("--version")
    assert done.returncode == 0 and done.stdout.startswith("cfql ")


def test_usage_errors_exit_2() -> None:
    assert cfql().returncode == 2
    done = cfql("exec")
    assert done.returncode == 2 and "give either SQL or -i FILE" in done.stderr
    assert cfql("exec", "--concurrency", "0", "SHOW PROVIDERS").returncode == 2
    assert "rate limit" in cfql("exec", "--rate-limit", "fast", "SHOW PROVIDERS").stderr


def test_cfql_emulator_runs_the_emulator_its_provider_document_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--port", "70000"]) == 2  # the Cloudflare emulator's own usage check
    assert "--port must be between 0 and 65535" in capsys.readouterr().err
    assert main(["emulator", "--provider", "nope"]) == 2
    assert capsys.readouterr().err == "cfql emulator: name one of cloudflare with --provider\n"
