"""A small real HTTP/1.1 server on 127.0.0.1 for tests, scripted with replies per path.

    with StubServer() as srv:
        srv.script("/api/v1/users", Reply(429, headers={"Retry-After": "2"}), Reply(200, body=[]))
        ...
        assert srv.requests[0].headers["authorization"] == "SSWS abc"

Each path has a queue of replies; the last one stays and answers every later request. A path
with no script answers 404 with a JSON error. Requests are recorded in arrival order.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Reply", "Recorded", "StubServer", "free_port"]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A TCP (or, with SOCK_DGRAM, UDP) port on 127.0.0.1 that nothing uses right now."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Reply:
    """One scripted answer; `body` is bytes, text, or a value sent as JSON."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to sleep before answering (timeouts)
    drop: bool = False  # close the connection without any response
    truncate: int | None = None  # announce the full length, send this many bytes, hang up

    def payload(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


@dataclass
class Recorded:
    """One request as the server received it (header names lower-cased)."""

    method: str
    path: str  # as sent on the request line: origin form, or absolute form through a proxy
    headers: dict[str, str]
    body: bytes
    at: float


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        stub = self.server.stub
        stub._record(
            Recorded(
                self.command,
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                body,
                time.time(),
            )
        )
        reply = stub._next(urlsplit(self.path).path)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload, ctype = reply.payload()
        names = {k.lower() for k in reply.headers}
        self.send_response_only(reply.status)
        if "date" not in names:
            self.send_header("Date", formatdate(usegmt=True))
        if "content-type" not in names:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in reply.headers.items():
            self.send_header(k, v)
        if reply.truncate is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload if reply.truncate is None else payload[: reply.truncate])
        self.wfile.flush()

    def handle_one_request(self) -> None:
        # A client that gave up (read timeout) leaves us writing to a closed socket.
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    stub: StubServer


class StubServer:
    """A scripted HTTP server on 127.0.0.1 running in a background thread."""

    def __init__(self, port: int = 0):
        self._port = port
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[Reply]] = {}
        self.requests: list[Recorded] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, path: str, *replies: Reply) -> StubServer:
        """Answer requests to `path` with these replies in turn (the last one repeats)."""
        with self._lock:
            self._scripts[path] = deque(replies)
        return self

    def paths(self) -> list[str]:
        """The request paths received so far, in order."""
        return [r.path for r in self.requests]

    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)

    def _next(self, path: str) -> Reply:
        with self._lock:
            queue = self._scripts.get(path)
            if not queue:
                return Reply(404, {"error": "not_found", "path": path})
            return queue.popleft() if len(queue) > 1 else queue[0]

    def start(self) -> StubServer:
        """Bind and serve in a daemon thread."""
        self._server = _Server(("127.0.0.1", self._port), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
