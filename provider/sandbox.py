"""The sandbox: cfql's embedded default target, a local emulator on a free loopback port.

Like SQLite for a database tool, it lets anyone try every statement with no
account and no network. The emulator lives with its provider; this module
only starts it for a connection and stops it when the connection closes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Sandbox:
    url: str
    token: str
    _emulator: object

    def stop(self) -> None:
        self._emulator.stop()  # type: ignore[attr-defined]


def start_sandbox() -> Sandbox:
    from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator

    emulator = Emulator(host="127.0.0.1", port=0, token=SANDBOX_TOKEN)
    emulator.start()
    return Sandbox(url=emulator.url, token=SANDBOX_TOKEN, _emulator=emulator)
