"""Fixtures of the emulator suite: real HTTP over loopback, no mocks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator, Faults

AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
ACCOUNT = "acct-test"
# The paths the emulator serves and the components they use, cut from the full
# RealtimeKit OpenAPI document (tests/data/README.md says how).
SPEC_PATH = Path(__file__).resolve().parents[1] / "data" / "realtimekit-openapi-emulated.json"


class Api:
    """A thin client bound to one (account, app) namespace, so tests never see each other's data."""

    def __init__(self, client: httpx.Client, account: str, app: str) -> None:
        self.http = client
        self.account = account
        self.app = app
        self.base = f"/accounts/{account}/realtime/kit/{app}/meetings"

    def meeting_path(self, meeting_id: str = "") -> str:
        return f"{self.base}/{meeting_id}" if meeting_id else self.base

    def create(self, **body: Any) -> dict[str, Any]:
        response = self.http.post(self.base, json=body)
        assert response.status_code == 201, response.text
        return response.json()["data"]

    def add(
        self, meeting_id: str, custom_id: str = "user-1", preset: str = "group_call_host", **extra: Any
    ) -> dict[str, Any]:
        body = {"custom_participant_id": custom_id, "preset_name": preset, **extra}
        response = self.http.post(f"{self.base}/{meeting_id}/participants", json=body)
        assert response.status_code == 201, response.text
        return response.json()["data"]


@pytest.fixture
def api(emulator: Emulator) -> Iterator[Api]:
    """A client of the shared emulator in a fresh app namespace."""
    with httpx.Client(base_url=emulator.url, headers=AUTH) as client:
        yield Api(client, ACCOUNT, f"app-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start private emulators (for faults, tokens, state files); all stopped at teardown."""
    started: list[Emulator] = []

    def make(**kwargs: Any) -> Emulator:
        emu = Emulator(**kwargs).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def private(make_emulator: Callable[..., Emulator]) -> Iterator[tuple[Emulator, Api]]:
    """A private in-memory emulator with default faults, and a client for it."""
    emu = make_emulator(faults=Faults())
    with httpx.Client(base_url=emu.url, headers=AUTH) as client:
        yield emu, Api(client, ACCOUNT, "app")


class HandClock:
    """A clock that moves only when told to: ``sleep`` is recorded and moves it, never waits."""

    def __init__(self) -> None:
        self.time = 1000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.time += seconds

    def advance(self, seconds: float) -> None:
        self.time += seconds


@pytest.fixture
def timed(make_emulator: Callable[..., Emulator]) -> Iterator[tuple[Emulator, Api, HandClock]]:
    """A private emulator whose latency and rate-limit window read a ``HandClock``, a client, and the clock."""
    clock = HandClock()
    emu = make_emulator(faults=Faults(), clock=clock)
    with httpx.Client(base_url=emu.url, headers=AUTH) as client:
        yield emu, Api(client, ACCOUNT, "app"), clock


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    """The reference OpenAPI document the emulator's responses are validated against."""
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))
