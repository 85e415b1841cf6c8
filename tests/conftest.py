"""Fixtures shared by every test package, and the check that the suite reads nothing beside the clone."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator

import pytest

from cfql.provider.cloudflare.emulator import Emulator
from tests.standalone import Reads


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One in-memory RealtimeKit emulator for the whole run; isolate tests by app_id."""
    with Emulator() as emu:
        yield emu


@pytest.fixture
def default_sigint() -> Iterator[None]:
    """Python's own SIGINT handler (KeyboardInterrupt), as a program started from a terminal has it.

    A suite started in the background by a shell without job control begins with
    SIGINT ignored, and so would every ``cfql`` child it starts; the Ctrl-C tests
    need the handler a user's terminal gives (a child started while it is set
    begins with the default disposition).
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


READS = Reads()
sys.addaudithook(READS)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A test that opened a file beside the clone fails the run: a user's clone has nothing there."""
    if READS.beside:
        listed = ", ".join(sorted(set(READS.beside))[:5])
        print(f"\nThe tests opened files beside the clone, which a user's clone does not have: {listed}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
