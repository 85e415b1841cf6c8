"""HTTP/1.1 transport of the emulator: keep-alive, authentication, faults.

Stdlib only.  Two details matter for speed on keep-alive connections: each
response leaves in a single ``send`` (status line, headers and body in one
buffer) and ``TCP_NODELAY`` is set, so no request ever waits on the 40 ms
delayed-ACK/Nagle interplay.  Request logging is off: a test run should not
print a line per request.

The order of checks mirrors Cloudflare's edge in front of RealtimeKit:
latency, rate limit (429), injected faults, authentication (401), then the
API itself.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import socket
import sys
import threading
import traceback
from collections import deque
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .api import Api, Reply
from .envelopes import (
    AUTH_CODE,
    AUTH_MESSAGE,
    RATE_LIMIT_CODE,
    RATE_LIMIT_MESSAGE,
    rtk_error,
    v4_error,
)
from .faults import Fate, FaultInjector

MAX_BODY_BYTES = 1 << 20


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threaded server that can also close its live keep-alive connections on stop."""

    daemon_threads = True
    # socketserver's default backlog of 5 makes a burst of parallel clients
    # wait out SYN retransmits (~1 s) or see resets; the kernel caps this anyway.
    request_queue_size = socket.SOMAXCONN

    def __init__(self, address: tuple[str, int], api: Api, token: str, injector: FaultInjector) -> None:
        self.api = api
        self.token = token
        self.injector = injector
        self.request_count = 0
        #: (HTTP method, path) of the latest requests received, in order: tests count writes with it. Bounded,
        #: so that a long --sandbox session does not grow it without end.
        self.requests: deque[tuple[str, str]] = deque(maxlen=100_000)
        self._lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        super().__init__(address, Handler)

    def next_ordinal(self, method: str, path: str) -> int:
        with self._lock:
            self.request_count += 1
            self.requests.append((method, path))
            return self.request_count

    def track(self, sock: socket.socket, alive: bool) -> None:
        with self._lock:
            if alive:
                self._connections[sock] = threading.current_thread()
            else:
                self._connections.pop(sock, None)

    def close_connections(self, timeout: float = 2.0) -> None:
        """Hang up on idle keep-alive clients and wait for in-flight requests to finish.

        Without this, a client's pooled connection would keep talking to a
        stopped emulator (and its closed store) from a leftover thread.
        """
        with self._lock:
            live = list(self._connections.items())
        for sock, _ in live:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)
        for _, thread in live:
            thread.join(timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that vanish; report anything else, which is a bug."""
        if not isinstance(sys.exc_info()[1], OSError):
            traceback.print_exc()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cfql-emulator"
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, alive=True)

    def finish(self) -> None:
        self.server.track(self.connection, alive=False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging."""

    def _serve(self) -> None:
        ordinal = self.server.next_ordinal(self.command, self.path)
        body = self._read_body()
        if body is None:
            return
        injector = self.server.injector
        faults = injector.faults
        injector.delay()
        retry_after = injector.throttle()
        if retry_after is not None:
            self._send(Reply(429, v4_error(RATE_LIMIT_CODE, RATE_LIMIT_MESSAGE), (("Retry-After", str(retry_after)),)))
            return
        fate = injector.fate(ordinal)
        if fate != "ok" and not faults.fault_after_write:
            self._fault(fate)
            return
        if not self._authorized():
            self._send(Reply(401, v4_error(AUTH_CODE, AUTH_MESSAGE)))
            return
        try:
            reply = self.server.api.handle(self.command, self.path, body)
        except Exception:
            traceback.print_exc()
            reply = Reply(500, rtk_error(500, "Internal server error"))
        if fate != "ok":  # fault_after_write: the write above stands, its response is lost
            self._fault(fate)
            return
        self._send(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def _read_body(self) -> bytes | None:
        """Read the whole body up front, so a refused request never desyncs the connection."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send(Reply(411, v4_error(6003, "Invalid request headers: send a Content-Length")))
            return None
        length_text = self.headers.get("Content-Length", "0")
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._send(Reply(400, v4_error(6003, f"Invalid request headers: Content-Length {length_text!r}")))
            return None
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(Reply(413, v4_error(6003, f"Request body larger than {MAX_BODY_BYTES} bytes")))
            return None
        return self.rfile.read(length) if length else b""

    def _authorized(self) -> bool:
        """Accept an API token as ``Authorization: Bearer`` or legacy ``X-Auth-Key`` + ``X-Auth-Email``."""
        token = self.server.token.encode()
        scheme, _, credential = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), token):
            return True
        key, email = self.headers.get("X-Auth-Key"), self.headers.get("X-Auth-Email")
        return bool(key and email and hmac.compare_digest(key.encode(), token))

    def _fault(self, fate: Fate) -> None:
        if fate == "drop":
            self.close_connection = True  # socketserver closes the socket; nothing was written
        else:
            self._send(Reply(500, rtk_error(500, "Internal server error")))

    def _send(self, reply: Reply) -> None:
        payload = json.dumps(reply.body, separators=(",", ":")).encode()
        lines = [
            f"{self.protocol_version} {reply.status} {HTTPStatus(reply.status).phrase}",
            f"Date: {self.date_time_string()}",
            f"Server: {self.server_version}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            *(f"{name}: {value}" for name, value in reply.headers),
        ]
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)
