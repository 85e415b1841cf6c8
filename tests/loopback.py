"""One recording HTTP server on 127.0.0.1 for the tests that need real HTTP.

Tests send traffic only to loopback. A test gives ``LoopbackServer`` one
function, ``answer(seen) -> Reply``, that decides each answer; the server
records every request as a ``Seen`` first (so a test can check what was sent,
or that nothing was) and counts how many requests are being answered at once,
from arrival until the reply is ready to send (so a test can tell a concurrent
client from a sequential one, which cannot ask again before then). Anything
stranger than a status, headers and a body is the answer function's business
(it may wait, or keep its own state), except a body cut short, which only the
server can do.
"""

from __future__ import annotations

import json
import sys
import threading
import typing as t
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

#: How often the serving loop looks for a shutdown: short, as some tests start a server each.
POLL_SECONDS = 0.02


class Seen(t.NamedTuple):
    """One request as it arrived: ``target`` is the request line's path and query exactly as sent."""

    method: str
    target: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        """Every value of every query parameter, in the order sent."""
        return parse_qs(urlsplit(self.target).query)

    @property
    def params(self) -> dict[str, str]:
        """One value per query parameter (the last), for tests that compare whole queries as plain mappings."""
        return {name: values[-1] for name, values in self.query.items()}

    def json(self) -> t.Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """What to answer: ``cut`` sends the full Content-Length but only half the body, then closes the connection."""

    status: int = 200
    body: bytes = b""
    headers: t.Mapping[str, str] = field(default_factory=dict)
    cut: bool = False

    @classmethod
    def json(cls, payload: t.Any, status: int = 200, headers: t.Mapping[str, str] | None = None) -> Reply:
        """``payload`` as a JSON body (``None`` is sent as ``null``), typed as JSON unless ``headers`` say otherwise."""
        return cls(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})


class _Quiet(ThreadingHTTPServer):
    """A client that gave up on an answer (a cancelled page, a closed connection) is no server error."""

    def handle_error(self, request: t.Any, client_address: t.Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


_Server = t.TypeVar("_Server", bound="LoopbackServer")


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 (a free port) that records each request and answers with ``answer``.

    The socket is bound at construction, so ``url`` is known before the
    server is entered; entering starts serving and leaving stops it.
    """

    def __init__(self, answer: t.Callable[[Seen], Reply]) -> None:
        self.answer = answer
        self.seen: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._httpd = _Quiet(("127.0.0.1", 0), self._handler())
        self.port: int = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True)

    def __enter__(self: _Server) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        seen = Seen(handler.command, handler.path, {k.lower(): v for k, v in handler.headers.items()}, body)
        with self._lock:
            self.seen.append(seen)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = self.answer(seen)
        finally:
            # The count ends before the reply goes out. Counted until after the write, a
            # sequential client that has its answer (and opens a new connection, as HTTP/1.0
            # replies close theirs) could be counted alongside a thread not yet at this line.
            with self._lock:
                self.in_flight -= 1
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body[: len(reply.body) // 2] if reply.cut else reply.body)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def serve(self) -> None:
                server._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = serve  # noqa: N815 - the names http.server calls

            def log_message(self, *args: t.Any) -> None:  # keep the test output clean
                pass

        return Handler
