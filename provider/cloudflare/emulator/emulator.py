"""The ``Emulator`` object: one running RealtimeKit twin, for tests, the CLI and benchmarks."""

from __future__ import annotations

import os
import threading
from types import TracebackType

from cfql.provider.sandbox import Sandbox

from .api import BASE_PATH, SERVED_ROUTES, SERVED_SUMMARY, Api
from .faults import Clock, FaultInjector, Faults
from .server import EmulatorHTTPServer
from .store import Record, Store

SANDBOX_TOKEN = "cfql-sandbox-token"
"""The API token the emulator accepts unless told otherwise; never a real credential."""
SANDBOX_ACCOUNT_ID = "sandbox-account"
"""Conventional account id for docs and examples; any id works (accounts are implicit)."""
SANDBOX_APP_ID = "sandbox-app"
"""Conventional app id for docs and examples; any id works (apps are implicit namespaces)."""


class Emulator:
    """A local, stateful HTTP twin of the RealtimeKit meetings API.

    ``state`` is a SQLite file that keeps meetings across restarts; None keeps
    them in memory.  ``port=0`` picks a free port; read ``url`` after
    ``start()``.  ``faults`` may be changed (or replaced) while serving;
    ``clock`` is where latency and the rate-limit window read the time (the
    real clock unless a test passes one it moves itself).
    The inspection helpers read the store directly, so they show full records
    (including tokens and storage secrets that responses never echo).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = SANDBOX_TOKEN,
        state: str | os.PathLike[str] | None = None,
        faults: Faults | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.token = token
        self.state = state
        self._injector = FaultInjector(faults if faults is not None else Faults(), clock)
        self._store: Store | None = None
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def faults(self) -> Faults:
        return self._injector.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._injector.faults = faults

    def start(self) -> Emulator:
        """Open the store, bind the port and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        self._store = Store(self.state)
        try:
            self._server = EmulatorHTTPServer(
                (self.host, self._requested_port), Api(self._store), self.token, self._injector
            )
        except BaseException:
            self._store.close()
            raise
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="cfql-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, hang up on open connections and close the store. Safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        assert self._thread is not None and self._store is not None
        self._thread.join()
        self._store.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._running().server_address[1]

    @property
    def url(self) -> str:
        """Base URL a client uses, e.g. ``http://127.0.0.1:54321/client/v4``."""
        return f"http://{self.host}:{self.port}{BASE_PATH}"

    @property
    def request_count(self) -> int:
        """Requests received so far, including throttled, failed and dropped ones."""
        return self._running().request_count

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(HTTP method, path with query) of the requests received so far (the latest 100,000), in arrival order."""
        return list(self._running().requests)

    def meetings(self, account_id: str, app_id: str) -> list[Record]:
        """Every meeting of an app, in creation order, as stored."""
        return self._open_store().meetings((account_id, app_id))[0]

    def participants(self, account_id: str, app_id: str, meeting_id: str) -> list[Record]:
        """Every participant of a meeting, in the order added, as stored (with tokens)."""
        return self._open_store().participants((account_id, app_id), meeting_id)[0]

    def _running(self) -> EmulatorHTTPServer:
        if self._server is None:
            raise RuntimeError("emulator is not running; call start() first")
        return self._server

    def _open_store(self) -> Store:
        self._running()
        assert self._store is not None
        return self._store


def start_sandbox() -> Sandbox:
    """The ``--sandbox`` entry point named in the provider document of manifests/src/cloudflare: an in-memory emulator."""
    emulator = Emulator(host="127.0.0.1", port=0, token=SANDBOX_TOKEN).start()
    return Sandbox(url=emulator.url, token=SANDBOX_TOKEN, stop=emulator.stop, routes=SERVED_ROUTES, serves=SERVED_SUMMARY)
