"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cfql.provider.cloudflare.emulator import Emulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One in-memory RealtimeKit emulator for the whole run; isolate tests by app_id."""
    with Emulator() as emu:
        yield emu
