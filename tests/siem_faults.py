"""What the SIEM outage tests share: events appended in bulk, a fault-injecting proxy in front
of the real Elasticsearch node, a HEC receiver that restarts on its port, and the check of
what a destination holds. Not a test module (test modules import from here).

    proxy = EsFaultProxy(es_url).start()   # http://127.0.0.1:<port>, forwards to the node
    proxy.reject_requests(3)               # the next 3 requests of any kind: whole 429
    proxy.bulk_faults("item_429", "pass", "request_429", "response_lost")
                                           # one fault per coming bulk request, in order:
                                           # every 2nd item 429 | forwarded | whole 429 |
                                           # the node indexes it, the client gets a 504
    proxy.injected                         # Counter of what was injected, by kind

The 429s are Elasticsearch's own: `es_rejected_execution_exception` with the body its write
thread pool gives when its queue is full, for the whole request or per bulk item (the
rejected items are not indexed; the others are forwarded to the node and indexed for real).
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

import duckdb
from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan

from tests.servers.hec_receiver import HecReceiver
from tests.servers.loopback import LoopbackServer

__all__ = ["EsFaultProxy", "RestartableHec", "append_events", "es_ids", "store_ids"]

_APPEND = """
INSERT INTO events (event_id, seq, run_id, source, native_type, occurred_at, ingested_at,
    action, outcome, actor, person_id, app, account_id, entitlement, details, inferred, raw,
    event_hash)
SELECT
    sha256('outage-event-' || s),
    s, 1,
    CASE WHEN f THEN 'detect' ELSE 'github' END,
    CASE WHEN f THEN 'orphan/terminated_active' ELSE 'member' END,
    TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(s),
    TIMESTAMPTZ '2024-06-01 00:00:00+00' + to_seconds(s),
    CASE WHEN f THEN 'finding.open' WHEN s % 2 = 1 THEN 'group.member.add'
        ELSE 'account.create' END,
    'success',
    CASE WHEN f THEN 'scim-evidence' ELSE 'okta-scim' END,
    'E' || s, 'github', CAST(1000 + s AS VARCHAR),
    CASE WHEN f THEN NULL ELSE 'devs' END,
    CASE WHEN f THEN json_object('finding_id', 'f-' || s, 'kind', 'orphan',
        'subkind', 'terminated_active', 'severity', 'high', 'status', 'open', 'app', 'github',
        'account', 'u' || s, 'person_id', 'E' || s, 'entitlement', NULL, 'rule', NULL,
        'controls', ['CC6.2', 'A.5.18'], 'explanation', 'u' || s || ' is active after E' || s
        || '''s termination.', 'first_seen_at', '2024-02-03 05:30:00+00',
        'last_seen_at', '2024-02-04 00:00:00+00', 'resolved_at', NULL, 'detect_run', 1)
        ELSE json_object('line', s) END,
    false,
    json_object('id', CAST(s AS VARCHAR)),
    sha256('outage-hash-' || s)
FROM (SELECT s, s % $every = 0 AS f FROM range($start, $stop) t(s))
"""


def append_events(con: duckdb.DuckDBPyConnection, n: int, *, finding_every: int = 5) -> int:
    """Append `n` events after the highest seq, one in `finding_every` a `finding.open`, in
    one statement; the new highest seq."""
    row = con.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
    start = (row[0] if row else 0) + 1
    con.execute(_APPEND, {"start": start, "stop": start + n, "every": finding_every})
    return start + n - 1


def store_ids(con: duckdb.DuckDBPyConnection, where: str = "true") -> list[str]:
    """The event ids of the store's events (all of them, or those `where` selects)."""
    return [r[0] for r in con.execute(f"SELECT event_id FROM events WHERE {where}").fetchall()]


def es_ids(es: Elasticsearch, index: str, query: dict[str, Any] | None = None) -> list[str]:
    """Every `_id` the index holds (one entry per document, so a duplicate shows twice)."""
    es.indices.refresh(index=index)
    hits = scan(es, index=index, query={"query": query or {"match_all": {}}}, _source=False)
    return [h["_id"] for h in hits]


# ---------------------------------------------------------------- the fault-injecting proxy

_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})
_REJECTED = (
    "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, "
    "replica_bytes=0, all_bytes=0, coordinating_operation_bytes=0, max_coordinating_and_"
    "primary_bytes=0] on EsThreadPoolExecutor[name = test-node/write, queue capacity = 10000]"
)


_FAULTS = ("pass", "request_429", "item_429", "response_lost")


def _rejection() -> dict[str, Any]:
    return {"type": "es_rejected_execution_exception", "reason": _REJECTED}


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        status, out_headers, payload = self.server.standin._serve(  # type: ignore[attr-defined]
            self.command, self.path, headers, body
        )
        self.send_response(status)
        for k, v in out_headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class EsFaultProxy(LoopbackServer):
    """An HTTP proxy to one Elasticsearch node that injects 429s and lost responses."""

    handler = _ProxyHandler

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 9200)
        self._lock = threading.Lock()
        self._whole = 0  # requests (of any kind) still to answer with a whole-request 429
        self._bulk: list[str] = []  # one fault per coming bulk request
        self.injected: Counter[str] = Counter()
        self.bulk_requests = 0

    def reject_requests(self, n: int) -> None:
        """Answer the next `n` requests, whatever they are, with a whole-request 429."""
        with self._lock:
            self._whole += n

    def bulk_faults(self, *faults: str) -> None:
        """One fault for each of the coming bulk requests, in order (see the module doc)."""
        unknown = set(faults) - set(_FAULTS)
        assert not unknown, f"unknown faults {unknown}"
        with self._lock:
            self._bulk.extend(faults)

    @property
    def pending(self) -> int:
        """Faults scheduled but not injected yet."""
        with self._lock:
            return self._whole + len(self._bulk)

    def _serve(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        bulk = method in ("POST", "PUT") and urlsplit(path).path.endswith("/_bulk")
        with self._lock:
            self.bulk_requests += bulk
            if self._whole:
                self._whole -= 1
                fault = "request_429"
            else:
                fault = self._bulk.pop(0) if bulk and self._bulk else "pass"
            # Item 429s are counted per item, in _partial.
            if fault in ("request_429", "response_lost"):
                self.injected[fault] += 1
        if fault == "request_429":
            return self._rejected_request()
        if fault == "item_429":
            return self._partial(method, path, headers, body, every=2)
        answer = self._forward(method, path, headers, body)
        if fault == "response_lost":
            return 504, {"Content-Type": "text/plain"}, b"Gateway Time-out"
        return answer

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(*self._upstream, timeout=120)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            out = {k: v for k, v in resp.getheaders() if k.lower() not in _HOP}
            return resp.status, out, payload
        finally:
            conn.close()

    def _rejected_request(self) -> tuple[int, dict[str, str], bytes]:
        payload = {"error": {"root_cause": [_rejection()], **_rejection()}, "status": 429}
        return 429, _es_headers(), json.dumps(payload).encode()

    def _partial(
        self, method: str, path: str, headers: dict[str, str], body: bytes, every: int
    ) -> tuple[int, dict[str, str], bytes]:
        """Reject every `every`-th item of a bulk request; the node indexes the others."""
        lines = body.decode("utf-8").splitlines()
        items: list[list[str]] = []
        i = 0
        while i < len(lines):
            action = json.loads(lines[i])
            width = 1 if "delete" in action else 2
            items.append(lines[i : i + width])
            i += width
        rejected = {k for k in range(len(items)) if (k + 1) % every == 0}
        kept = [line for k, item in enumerate(items) if k not in rejected for line in item]
        answers: list[dict[str, Any]] = []
        if kept:
            status, out, payload = self._forward(
                method, path, headers, ("\n".join(kept) + "\n").encode()
            )
            if status != 200:
                return status, out, payload
            answers = json.loads(payload)["items"]
        merged: list[dict[str, Any]] = []
        index = urlsplit(path).path.strip("/").split("/")[0]
        for k, item in enumerate(items):
            if k in rejected:
                op, meta = next(iter(json.loads(item[0]).items()))
                answer = {"_index": index, "_id": meta.get("_id"), "status": 429}
                merged.append({op: {**answer, "error": _rejection()}})
            else:
                merged.append(answers.pop(0))
        with self._lock:
            self.injected["item_429"] += len(rejected)
        payload = {"errors": True, "took": 1, "items": merged}
        return 200, _es_headers(), json.dumps(payload).encode()


def _es_headers() -> dict[str, str]:
    # The client refuses an answer without the product header.
    return {"Content-Type": "application/json", "X-Elastic-Product": "Elasticsearch"}


# ---------------------------------------------------------------- HEC


class _DyingHandler(HecReceiver.handler):  # type: ignore[name-defined,misc]
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        hec: RestartableHec = self.server.standin  # type: ignore[attr-defined]
        try:
            super().do_POST()
        except _Died:
            self.close_connection = True  # no response: the connection just closes
            return
        if hec._stopping.is_set():
            # A kept-alive connection would still reach this handler after the stop.
            self.close_connection = True


class RestartableHec(HecReceiver):
    """The strict HEC receiver, restartable on the same port, keeping what it received.

    `stop_after(n)` answers the next `n` requests and then stops (a clean stop between two
    requests). `die_after(n)` makes the n-th next request the last one: its events are
    recorded (Splunk has them) and the server stops before answering, so the client sees
    the connection close without a response. `down` is set once the port is free again.
    """

    handler = _DyingHandler

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._port = 0
        self._die_at: int | None = None
        self._stop_at: int | None = None
        self._stopping = threading.Event()
        self.down = threading.Event()

    def start(self) -> Self:
        self._stopping.clear()
        self.down.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), self.handler)
        self._server.daemon_threads = True
        self._server.standin = self  # type: ignore[attr-defined]
        self._port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def event_ids(self) -> list[str]:
        """`fields.event_id` of every envelope received, in arrival order."""
        with self._lock:
            return [e["fields"]["event_id"] for e in self.events]

    def die_after(self, n: int) -> None:
        with self._lock:
            self._die_at = len(self.requests) + n

    def stop_after(self, n: int) -> None:
        with self._lock:
            self._stop_at = len(self.requests) + n

    def _answer(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], int, dict[str, str]]:
        answer = super()._answer(path, headers, body)
        with self._lock:
            number = len(self.requests) + 1  # this request, recorded after its answer
            dying = self._die_at is not None and number >= self._die_at
            stopping = self._stop_at is not None and number >= self._stop_at
            if dying:
                self._die_at = None
            if stopping:
                self._stop_at = None
        if dying or stopping:
            self._stopping.set()
            server, self._server = self._server, None
            assert server is not None
            # Stop listening now; this handler then answers (or drops) and closes.
            threading.Thread(target=self._shut, args=(server,), daemon=True).start()
        if dying:
            raise _Died
        return answer

    def _shut(self, server: ThreadingHTTPServer) -> None:
        server.shutdown()
        server.server_close()
        self.down.set()  # the port is free: start() may bind it again


class _Died(Exception):
    """Raised in the handler thread: the connection closes with no response written."""
