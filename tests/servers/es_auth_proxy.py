"""Elasticsearch security in front of the test node: a loopback reverse proxy that checks
credentials the way a secured cluster does, records what each request carried, and passes the
request on to the real node (tests/es/node.py runs it without security).

    with EsAuthProxy(es_node, api_keys={"k"}, basic={("elastic", "pw")}) as proxy:
        proxy.url                      # http://127.0.0.1:<port>, what the sink is given
        proxy.requests                 # every request: method, target, headers, body
        proxy.authorizations()         # the Authorization values seen, in arrival order

A request without accepted credentials is answered as Elasticsearch answers it (401,
`security_exception`, `WWW-Authenticate`) and never reaches the node. The node sees no
Authorization header at all.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.servers.loopback import LoopbackServer

__all__ = ["EsAuthProxy", "Proxied"]

# Hop-by-hop headers (RFC 9110 7.6.1), and those the proxy sets itself.
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
        "proxy-authorization", "proxy-authenticate", "host", "content-length",
        "authorization", "accept-encoding"}  # fmt: skip
_UNAUTHENTICATED = {
    "error": {
        "root_cause": [{"type": "security_exception",
                        "reason": "unable to authenticate with provided credentials and "
                                  "anonymous access is not allowed for this request"}],
        "type": "security_exception",
        "reason": "unable to authenticate with provided credentials and anonymous access is "
                  "not allowed for this request",
    },
    "status": 401,
}  # fmt: skip


@dataclass
class Proxied:
    """One request as received (header names lower-cased) and the status it was answered."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    status: int = 0


class EsAuthProxy(LoopbackServer):
    """Accepts `ApiKey <key>` for `api_keys` and HTTP Basic for `basic` (user, password)."""

    def __init__(
        self,
        upstream: str,
        *,
        api_keys: set[str] = frozenset(),  # type: ignore[assignment]
        basic: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 9200)
        self.accepted = {f"ApiKey {k}" for k in api_keys} | {
            "Basic " + base64.b64encode(f"{u}:{p}".encode()).decode() for u, p in basic
        }
        self.requests: list[Proxied] = []
        self._lock = threading.Lock()
        self.handler = _Handler

    def authorizations(self) -> list[str | None]:
        """The Authorization header of every request so far (None when absent)."""
        with self._lock:
            return [r.headers.get("authorization") for r in self.requests]

    def forward(self, seen: Proxied) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body) for one request: refused here, or the node's answer."""
        if seen.headers.get("authorization") not in self.accepted:
            body = json.dumps(_UNAUTHENTICATED).encode()
            return 401, [("Content-Type", "application/json"),
                         ("WWW-Authenticate", 'ApiKey, Basic realm="security" charset="UTF-8"'),
                         ("X-Elastic-Product", "Elasticsearch")], body  # fmt: skip
        con = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            headers = {k: v for k, v in seen.headers.items() if k not in _HOP}
            con.request(seen.method, seen.target, body=seen.body or None, headers=headers)
            resp = con.getresponse()
            payload = resp.read()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP]
            return resp.status, out, payload
        finally:
            con.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def _handle(self) -> None:
        proxy: EsAuthProxy = self.server.standin  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        seen = Proxied(
            self.command,
            self.path,
            {k.lower(): v for k, v in self.headers.items()},
            self.rfile.read(length) if length else b"",
        )
        with proxy._lock:
            proxy.requests.append(seen)
        status, headers, payload = proxy.forward(seen)
        seen.status = status
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle
