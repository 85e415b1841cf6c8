"""Defaults from $XDG_CONFIG_HOME/cfql/config, overridden by flags; a bad file only warns."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from prompt_toolkit.enums import EditingMode

from cfql.cli.main import main
from cfql.settings import Settings
from cfql.shell.app import Shell
from cfql.shell.config import ShellConfig, config_path, history_path, load_config


def write_config(home: Path, text: str) -> Path:
    path = home / ".config" / "cfql" / "config"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_paths_follow_xdg_and_default_under_home(xdg: Path) -> None:
    assert config_path() == xdg / ".config" / "cfql" / "config"
    assert history_path() == xdg / ".local" / "state" / "cfql" / "history"
    env = {"HOME": "/home/u", "XDG_CONFIG_HOME": "relative/ignored"}
    assert config_path(env) == Path("/home/u/.config/cfql/config")
    assert history_path({"HOME": "/home/u"}) == Path("/home/u/.local/state/cfql/history")


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path / "nope") == (ShellConfig(), [])
    assert ShellConfig() == ShellConfig(output="table", vi=False, sandbox=False, pager=True, timing=False)


def test_values_are_read_from_main(xdg: Path) -> None:
    path = write_config(xdg, "[main]\noutput = json   # comment\nvi = yes\nsandbox = true\npager = off\ntiming = 1\n")
    assert load_config(path) == (ShellConfig(output="json", vi=True, sandbox=True, pager=False, timing=True), [])


def test_bad_values_warn_and_keep_defaults(xdg: Path) -> None:
    path = write_config(xdg, "[main]\noutput = xml\nvi = maybe\ncolour = red\npager = false\n")
    config, warnings = load_config(path)
    assert config == ShellConfig(pager=False)
    assert len(warnings) == 3
    assert "output = 'xml' is not one of table" in warnings[0]
    assert "vi = 'maybe' is not true or false" in warnings[1]
    assert "unknown setting 'colour'" in warnings[2]
    unreadable = write_config(xdg, "output = json\n")  # no section header
    assert load_config(unreadable)[0] == ShellConfig() and "using the defaults" in load_config(unreadable)[1][0]


def test_flags_override_the_file() -> None:
    config = ShellConfig(output="json", vi=True)
    assert config.override(output="csv", vi=None, sandbox=None) == ShellConfig(output="csv", vi=True)


def test_the_shell_starts_with_the_configured_mode_and_format() -> None:
    shell = Shell(Settings(), ShellConfig(output="csv", vi=True, timing=True), history=None)
    session = shell._prompt_session()
    assert session.editing_mode == EditingMode.VI
    assert (shell.output_format, shell.timing) == ("csv", True)
    assert shell.flags() == "csv · vi · timing on"


def run_cli(args: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert main(["shell", *args]) == 0
    return capsys.readouterr().out


def test_cfql_shell_reads_the_file_and_flags_win(
    xdg: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cfql shell`` end to end (input piped, so no prompt): config sandbox + json, then -o csv."""
    write_config(xdg, "[main]\nsandbox = true\noutput = json\n")
    out = run_cli([], "SHOW\nPROVIDERS;\n", monkeypatch, capsys)
    assert json.loads(out)[0]["name"] == "cloudflare"
    assert run_cli(["-o", "csv"], "SHOW PROVIDERS;\n", monkeypatch, capsys).startswith("name,version,title\ncloudflare,")
    assert run_cli(["--no-sandbox"], "\\output\n", monkeypatch, capsys) == "Output format is json.\n"


def test_null_string_and_expanded(xdg: Path) -> None:
    path = write_config(xdg, "[main]\nnull_string = NULL\nexpanded = auto\n")
    assert load_config(path) == (ShellConfig(null_string="NULL", expanded="auto"), [])
    quoted = write_config(xdg, '[main]\nnull_string = ""\nexpanded = true\n')
    assert load_config(quoted) == (ShellConfig(null_string="", expanded="on"), [])
    percent = write_config(xdg, "[main]\nnull_string = 100%\nexpanded = sideways\n")
    config, warnings = load_config(percent)
    assert config == ShellConfig(null_string="100%")
    assert warnings == [f"{percent}: expanded = 'sideways' is not one of off, on, auto"]
