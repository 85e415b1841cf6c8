"""Fixtures the integration tests share: the shared emulator as the CLI reaches it, and fresh ids."""

from __future__ import annotations

import uuid

import pytest

from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator


@pytest.fixture
def api(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``cfql exec`` flags that point at the session's emulator (its token in the environment)."""
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", SANDBOX_TOKEN)
    return ["--base-url", emulator.url]


@pytest.fixture
def ids() -> dict[str, str]:
    """An account and app no other test uses, so counts of what was created are exact."""
    return {"account_id": "acct-" + uuid.uuid4().hex[:8], "app_id": "app-" + uuid.uuid4().hex[:8]}
