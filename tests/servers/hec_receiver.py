"""A local Splunk HTTP Event Collector: `POST /services/collector/event`, strict about envelopes.

    with HecReceiver(token="t0k") as hec:        # http://127.0.0.1:<port>
        hec.fail_next(2)                         # the next two requests answer 503 code 9
        hec.fail_next(1, 429, retry_after=2)     # ... or another status, with Retry-After
        ...
        hec.events                               # every accepted envelope, in arrival order
        hec.requests                             # every request: status, body size, event count

Answers follow Splunk's documented HEC status codes (status, {"text", "code"}):
0 Success (200); 2 Token is required (401); 3 Invalid authorization (401); 4 Invalid token
(403); 5 No data (400); 6 Invalid data format (400, with "invalid-event-number"); 7 Incorrect
index (400); 9 Server is busy (503); 12 Event field is required (400); 13 Event field cannot
be blank (400); 15 Error in handling indexed fields (400). A body over
`max_content_length` gets 413, like Splunk's `[http_input] max_content_length`.

Stricter than Splunk on purpose: an envelope may hold only the documented keys, `time` must
be a JSON number, `fields` values strings or lists of strings. A request with any invalid
envelope records nothing (Splunk itself may have indexed the events before the bad one).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.servers.loopback import LoopbackServer

__all__ = ["HecReceiver", "Received", "ENVELOPE_KEYS"]

EVENT_PATH = "/services/collector/event"
ENVELOPE_KEYS = frozenset({"time", "host", "source", "sourcetype", "index", "event", "fields"})


@dataclass
class Received:
    """One request as answered: status, HEC code, body bytes, envelopes parsed."""

    status: int
    code: int | None
    size: int
    count: int
    headers: dict[str, str]


class _Invalid(Exception):
    def __init__(self, status: int, code: int, text: str, at: int | None = None) -> None:
        self.status, self.code, self.text, self.at = status, code, text, at


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        hec: HecReceiver = self.server.standin  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, answer, count, extra = hec._answer(self.path, headers, body)
        hec._record(Received(status, answer.get("code"), len(body), count, headers))
        payload = json.dumps(answer).encode()
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class HecReceiver(LoopbackServer):
    """A strict HEC endpoint that records what it accepts."""

    handler = _Handler

    def __init__(
        self,
        token: str = "00000000-0000-4000-8000-000000000000",
        *,
        indexes: set[str] | None = None,
        max_content_length: int | None = None,
    ) -> None:
        self.token, self.indexes, self.max_content_length = token, indexes, max_content_length
        self.events: list[dict[str, Any]] = []
        self.requests: list[Received] = []
        # None: answer this request normally.
        self._failures: list[tuple[int, dict[str, Any], dict[str, str]] | None] = []
        self._lock = threading.Lock()

    def fail_next(
        self, n: int, status: int = 503, retry_after: int | None = None, after: int = 0
    ) -> None:
        """Answer `n` requests with `status` (503: code 9 "Server is busy"), once `after`
        more have been answered normally."""
        answer: dict[str, Any] = (
            {"text": "Server is busy", "code": 9} if status == 503 else {"text": "Error"}
        )
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        with self._lock:
            self._failures.extend([None] * after + [(status, answer, headers)] * n)

    def _record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)

    def _answer(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], int, dict[str, str]]:
        """(status, JSON answer, envelopes accepted, extra response headers)."""
        if path.split("?", 1)[0] != EVENT_PATH:
            return (
                404,
                {"text": "The requested URL was not found on this server.", "code": 404},
                0,
                {},
            )
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            status, answer, extra = failure
            return status, answer, 0, extra
        try:
            self._authorize(headers.get("authorization"))
            if self.max_content_length is not None and len(body) > self.max_content_length:
                raise _Invalid(413, 413, "Content-Length too large")
            envelopes = self._parse(body)
        except _Invalid as e:
            answer: dict[str, Any] = {"text": e.text, "code": e.code}
            if e.at is not None:
                answer["invalid-event-number"] = e.at
            return e.status, answer, 0, {}
        with self._lock:
            self.events.extend(envelopes)
        return 200, {"text": "Success", "code": 0}, len(envelopes), {}

    def _authorize(self, header: str | None) -> None:
        if not header:
            raise _Invalid(401, 2, "Token is required")
        scheme, _, token = header.partition(" ")
        if scheme != "Splunk" or not token:
            raise _Invalid(401, 3, "Invalid authorization")
        if token != self.token:
            raise _Invalid(403, 4, "Invalid token")

    def _parse(self, body: bytes) -> list[dict[str, Any]]:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _Invalid(400, 6, "Invalid data format", 0) from None
        if not text.strip():
            raise _Invalid(400, 5, "No data")
        decoder = json.JSONDecoder()
        out: list[dict[str, Any]] = []
        pos = 0
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos == len(text):
                return out
            n = len(out)
            try:
                env, pos = decoder.raw_decode(text, pos)
            except ValueError:
                raise _Invalid(400, 6, "Invalid data format", n) from None
            self._check(env, n)
            out.append(env)

    def _check(self, env: Any, n: int) -> None:
        if not isinstance(env, dict) or set(env) - ENVELOPE_KEYS:
            raise _Invalid(400, 6, "Invalid data format", n)
        t = env.get("time")
        if "time" in env and (isinstance(t, bool) or not isinstance(t, int | float)):
            raise _Invalid(400, 6, "Invalid data format", n)
        for key in ("host", "source", "sourcetype", "index"):
            if key in env and not isinstance(env[key], str):
                raise _Invalid(400, 6, "Invalid data format", n)
        if "event" not in env:
            raise _Invalid(400, 12, "Event field is required", n)
        event = env["event"]
        if event is None or event == {} or (isinstance(event, str) and not event.strip()):
            raise _Invalid(400, 13, "Event field cannot be blank", n)
        fields = env.get("fields", {})
        if not isinstance(fields, dict) or not all(_flat(v) for v in fields.values()):
            raise _Invalid(400, 15, "Error in handling indexed fields", n)
        if self.indexes is not None and env.get("index", "main") not in self.indexes:
            raise _Invalid(400, 7, "Incorrect index", n)


def _flat(value: Any) -> bool:
    if isinstance(value, list):
        return all(isinstance(v, str) for v in value)
    return isinstance(value, str)
