"""Driving the real shell: prompt_toolkit's pipe input as the keyboard, a dummy screen, StringIO streams."""

from __future__ import annotations

import io
import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator
from cfql.settings import Settings
from cfql.shell.app import Shell
from cfql.shell.config import ShellConfig

CTRL_C, CTRL_D, ENTER = "\x03", "\x04", "\r"


@dataclass
class Session:
    """A finished run of the shell: what it printed, what it stored, and the shell itself."""

    shell: Shell
    out: str
    err: str
    status: int


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own HOME and XDG dirs, so no real config or history is read or written."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.delenv("PAGER", raising=False)
    return home


@pytest.fixture
def api(emulator: Emulator) -> Settings:
    return Settings(base_url=emulator.url, token=SANDBOX_TOKEN)


Runner = t.Callable[..., Session]


@pytest.fixture
def run_shell(api: Settings) -> Runner:
    """Type ``keys`` into a real Shell (prompt loop, key bindings, history) and collect its output."""

    def run(
        keys: str,
        *,
        settings: Settings | None = None,
        config: ShellConfig | None = None,
        history: History | None = None,
        interactive: bool = False,
    ) -> Session:
        out, err = io.StringIO(), io.StringIO()
        with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
            shell = Shell(
                settings or Settings(base_url=api.base_url, token=api.token),
                config,
                history=history if history is not None else InMemoryHistory(),
                stdout=out,
                stderr=err,
                interactive=interactive,
            )
            pipe.send_text(keys)
            status = shell.run()
        return Session(shell, out.getvalue(), err.getvalue(), status)

    return run


def history_entries(path: Path) -> list[str]:
    """What a FileHistory file holds, oldest first."""
    return list(reversed(list(FileHistory(str(path)).load_history_strings())))
