"""Hostile templates through ``cfql exec``: one error line, nothing run, nothing sent, no credential shown."""

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
MEETINGS = "cloudflare.realtime_kit.meetings"


def insert(ids: dict[str, str], title: str) -> str:
    return f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT '{ids['account_id']}', '{ids['app_id']}', {title};\n"


def write(tmp_path: Path, text: str, name: str = "script.iql") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_shell_command_in_a_dry_run_runs_nothing(tmp_path: Path) -> None:
    """As a user would run it: a separate process, the sandbox, --dry-run."""
    marker = tmp_path / "marker"
    payload = "'{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}'"
    path = write(tmp_path, "SELECT 1;\n" + insert({"account_id": "a", "app_id": "b"}, payload))
    done = subprocess.run(
        [sys.executable, "-m", "cfql", "exec", "--sandbox", "--dry-run", "-i", path],
        check=False, capture_output=True, text=True, cwd=REPO, timeout=60, stdin=subprocess.DEVNULL, env=dict(os.environ),
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == f"cfql: error: {path}:2: template error: access to attribute '__init__' of 'type' object is unsafe\n"
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload, message",
    [
        ("'{{ lipsum.__globals__.os.popen(\"id\").read() }}'", "undefined template variable: lipsum"),
        ("'{{ ''.__class__ }}'", "template error: access to attribute '__class__' of 'str' object is unsafe"),
        ("'{{ x.__init__ }}'", "template error: access to attribute '__init__' of 'str' object is unsafe"),
        ("'{{ x | nosuch }}'", "template syntax error: No filter named 'nosuch'"),
        ("'{{ x() }}'", "template error: 'str' object is not callable"),
        ("'{{ 1 / 0 }}'", "template error: division by zero"),
        ("'{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}'", "the template's range() loops took more than 10,000,000 items"),
        ("'{{ 'x' * 10000000000 }}'", "repeating a value 10,000,000,000 times would make it larger than 10,000,000 characters"),
        ("{% include 'other.iql' %}", "include/import/extends need a template folder (--template-dir)"),
    ],
)
def test_hostile_templates_fail_before_any_request(
    api: list[str], ids: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], emulator: Emulator, payload: str, message: str
) -> None:
    path = write(tmp_path, insert(ids, "'first'") + insert(ids, payload))
    assert main(["exec", *api, "-i", path, "--var", "x=1"]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"cfql: error: {path}:2: {message}\n"
    assert captured.out == ""
    assert emulator.meetings(ids["account_id"], ids["app_id"]) == []  # not even the first statement ran


@pytest.mark.parametrize("reference", ["env.CLOUDFLARE_API_TOKEN", "env['CLOUDFLARE_API_TOKEN']", "env.CLOUDFLARE_API_KEY"])
def test_a_credential_never_reaches_a_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, reference: str) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "SENTINEL-TOKEN")
    monkeypatch.setenv("CLOUDFLARE_API_KEY", "SENTINEL-KEY")
    path = write(tmp_path, insert({"account_id": "a", "app_id": "b"}, "'{{ " + reference + " }}'"))
    assert main(["exec", "--dry-run", "--base-url", "http://127.0.0.1:9/client/v4", "-i", path]) == 1
    captured = capsys.readouterr()
    name = reference.split("'")[1] if "[" in reference else reference.split(".")[1]
    assert captured.err == f"cfql: error: {path}:1: env.{name} is a credential and is not available to templates\n"
    assert "SENTINEL" not in captured.out + captured.err


def test_the_whole_env_in_a_dry_run_holds_no_credential(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "SENTINEL-TOKEN")
    monkeypatch.setenv("CFQL_TEST_VISIBLE", "visible")
    path = write(tmp_path, insert({"account_id": "a", "app_id": "b"}, "'{{ env | tojson }}'"))
    assert main(["exec", "--dry-run", "-o", "json", "--base-url", "http://127.0.0.1:9/client/v4", "-i", path]) == 0
    captured = capsys.readouterr()
    assert "SENTINEL" not in captured.out + captured.err
    assert "CFQL_TEST_VISIBLE" in captured.out


def test_files_come_from_the_template_folder_only(
    api: list[str], ids: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], emulator: Emulator
) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "title.iql").write_text("'{{ title }}'")
    (tmp_path / "secret.iql").write_text("'OUTSIDE'")
    path = write(tmp_path, insert(ids, "{% include 'title.iql' %}"))
    hostile = "O'Brien'); DELETE FROM x; --"
    assert main(["exec", *api, "-i", path, "--template-dir", str(folder), "--var", f"title={hostile}"]) == 0
    (meeting,) = emulator.meetings(ids["account_id"], ids["app_id"])
    assert meeting["title"] == hostile
    capsys.readouterr()
    escaping = write(tmp_path, insert(ids, "{% include '../secret.iql' %}"), "escape.iql")
    assert main(["exec", *api, "-i", escaping, "--template-dir", str(folder)]) == 1
    assert capsys.readouterr().err == f"cfql: error: {escaping}:1: template error: no file '../secret.iql' in the template folder {folder}\n"
    assert len(emulator.meetings(ids["account_id"], ids["app_id"])) == 1


def test_a_null_variable_is_sql_null(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "t")
    data = tmp_path / "vars.json"
    data.write_text('{"title": null}')
    path = write(tmp_path, insert({"account_id": "a", "app_id": "b"}, "'{{ title }}'"))
    assert main(["exec", "--dry-run", "-o", "json", "--base-url", "http://127.0.0.1:9/client/v4", "-i", path, "--iqldata", str(data)]) == 0
    (request,) = json.loads(capsys.readouterr().out)
    assert request["body"] == {"title": None}
