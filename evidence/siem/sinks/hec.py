"""The Splunk HTTP Event Collector sink: batched POSTs to `/services/collector/event`.

Each document becomes one envelope; a request body is envelopes concatenated:

    {"time": 1704067260.123, "host": "evidence-01", "source": "scim-evidence",
     "sourcetype": "scim_evidence:ecs", "index": "identity", "event": {...},
     "fields": {"event_id": "…"}}

- `event` is the document itself when its body is a JSON object (copied byte for byte), else
  the body as a string (a CEF line). `time` is the event's own time, in epoch seconds with
  milliseconds: ECS `@timestamp`, or CEF `rt` (epoch ms or RFC 3339); the send time when the
  body has neither. `fields.event_id` is an indexed field, so duplicates can be found.
- A `send` is cut into requests of at most `batch_docs` envelopes and
  `batch_bytes` bytes (match the server's `max_content_length`); a single envelope
  larger than that is refused. Requests go in order; the first one that stays unresolved
  ends the batch, leaving it and everything after it unacknowledged.

Responses:

- 200 with code 0 acknowledges the request's events: HEC has accepted and queued them, not
  yet indexed them (indexer acknowledgement, `/services/collector/ack`, is not implemented;
  each sink sends a channel header so a token that requires one is not refused). A 200
  without code 0 is not HEC (a proxy's page): SinkError, nothing acked.
- 429, 5xx (HEC code 9 "Server is busy", 8, 18-20) and transport errors are retried
  `retries` times with exponential backoff (`Retry-After` honoured, `max_backoff` at most);
  then the request is unresolved: the forwarder stops before it and the next run re-sends.
- 400 with a per-event code (6 invalid data format, 12 event required, 13 event blank, 15
  indexed fields) is HEC refusing the whole request for one event. We bisect: the request
  is split around `invalid-event-number` when HEC gives it (else in halves) and the parts
  are sent again, until the bad event travels alone and is refused (dead-lettered with
  HEC's text). Splunk may already have indexed the events before the bad one; re-sending
  them can duplicate them (same `fields.event_id`), which we prefer to losing them.
- 413 (request too large for the server): bisected the same way.
- 401/403 (bad, disabled or missing token), other 400 codes (wrong index, channel
  required, ...) and other statuses describe the configuration, not an event: SinkError
  naming the sink and HEC's answer. The token never appears in messages or logs.

Exactly-once: HEC cannot de-duplicate and cannot be asked what it holds, so `last_delivered`
knows nothing. The at-least-once window is one forwarder batch (a crash between HEC's 200s
and the cursor commit after the batch) or one request (a 200 lost in transit, re-sent),
plus the bisect case above.

Config (`[[sinks]]`, kind = "splunk_hec"): url (https://host:8088, or the full
/services/collector/event URL; http:// only to loopback), token_env or token_file,
sourcetype (default `scim_evidence:<format>`), index, host (this machine's name), source
("scim-evidence"), max_backoff (30 s); and the settings every sink shares, with defaults of
their own here: batch_docs (500), batch_bytes (1000000), retries (5), retry_backoff (0.5 s),
timeout (30 s), ca_bundle, verify_tls.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from connectors.http import REDACTED, RetryPolicy, is_loopback, secret_value
from evidence.config import SinkConfig
from evidence.errors import ConfigError, SinkError
from evidence.siem.sinks.base import Doc, SendResult

__all__ = ["EVENT_PATH", "HecSink", "envelope"]

logger = logging.getLogger("scim_evidence.siem")

EVENT_PATH = "/services/collector/event"
SOURCE = "scim-evidence"
USER_AGENT = "scim-evidence/0.1"
_PER_EVENT_CODES = {6, 12, 13, 15}
# CEF `rt` as epoch milliseconds or RFC 3339; the "MMM dd yyyy HH:mm:ss" form falls back to now.
_CEF_RT = re.compile(r"[ |]rt=(\S+)")
# Our own keys; batch_docs, batch_bytes, retries, retry_backoff, timeout and ca_bundle are
# SinkConfig fields shared with the other sinks, read only when the config sets them.
_SETTINGS = {"token_env", "token_file", "sourcetype", "index", "host", "source", "max_backoff"}
_SHARED = ("batch_docs", "batch_bytes", "retries", "retry_backoff", "timeout", "ca_bundle")


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How HEC answered one request: acked, `split` (bisect it), or `unresolved`."""

    kind: str
    reason: str = ""
    at: int | None = None  # invalid-event-number, when HEC gave one


class HecSink:
    """Send documents to Splunk's HTTP Event Collector."""

    def __init__(
        self,
        name: str,
        url: str,
        token: str,
        *,
        sourcetype: str = "scim_evidence:ecs",
        index: str | None = None,
        host: str | None = None,
        source: str = SOURCE,
        batch_docs: int = 500,
        batch_bytes: int = 1_000_000,
        retries: int = 5,
        retry_backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 30.0,
        ca_bundle: Path | str | None = None,
        verify_tls: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not token:
            raise ConfigError(f"sink {name!r}: the HEC token is empty")
        if batch_docs < 1 or batch_bytes < 1 or retries < 0:
            raise ConfigError(f"sink {name!r}: batch limits must be positive, retries >= 0")
        self.name, self.url = name, _event_url(name, url)
        self._token = token
        self.meta = {
            "host": host or socket.gethostname(),
            "source": source,
            "sourcetype": sourcetype,
            **({"index": index} if index else {}),
        }
        self.batch_docs, self.batch_bytes = batch_docs, batch_bytes
        self.retries = retries
        # The HTTP layer's policy; HEC's backoff has no jitter, so tests and operators can
        # predict it, and a Retry-After longer than the doubling wins up to `max_backoff`.
        self.policy = RetryPolicy(
            max_attempts=retries + 1, base=retry_backoff, cap=max_backoff, jitter=_exact
        )
        self._sleep = sleep
        verify: ssl.SSLContext | bool = True
        if ca_bundle:
            try:
                verify = ssl.create_default_context(cafile=str(ca_bundle))
            except (OSError, ssl.SSLError) as e:
                raise ConfigError(f"sink {name!r}: ca_bundle {ca_bundle}: {e}") from None
        if not verify_tls:
            logger.warning("sink %s: TLS certificate verification is disabled", name)
            verify = False
        self._client = httpx.Client(
            headers={
                "Authorization": f"Splunk {token}",
                "User-Agent": USER_AGENT,
                "Content-Type": "application/json",
                # Required by HEC tokens that use indexer acknowledgement, harmless otherwise.
                "X-Splunk-Request-Channel": str(uuid.uuid4()),
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            verify=verify,
            follow_redirects=False,
            transport=transport,
        )

    @classmethod
    def from_config(cls, sink: SinkConfig) -> HecSink:
        """The sink a `[[sinks]]` table of kind "splunk_hec" describes."""
        extra: dict[str, Any] = dict(sink.model_extra or {})
        shared = _shared_settings(sink, _SHARED, extra)
        if "token" in extra:
            raise ConfigError(
                f"sink {sink.name!r}: token must not be written in the config; "
                "set token_env (an environment variable) or token_file (a file)"
            )
        unknown = sorted(set(extra) - _SETTINGS)
        if unknown:
            raise ConfigError(f"sink {sink.name!r}: unknown splunk_hec setting {unknown[0]!r}")
        if not sink.url:
            raise ConfigError(f"sink {sink.name!r}: a splunk_hec sink needs `url`")
        token = secret_value(
            f"sink {sink.name!r}",
            "token",
            _text(extra.pop("token_env", None)),
            _text(extra.pop("token_file", None)),
        )
        extra.setdefault("sourcetype", f"scim_evidence:{sink.format}")
        return cls(sink.name, sink.url, token, verify_tls=sink.verify_tls, **extra, **shared)

    # ---------------------------------------------------------------- Sink protocol

    def last_delivered(self) -> str | None:
        """HEC cannot be asked what it holds: always None."""
        return None

    def send(self, docs: Sequence[Doc]) -> SendResult:
        """POST the documents in bounded requests, in order; see the module docstring."""
        result = SendResult()
        now = time.time()
        for chunk in self._chunks(docs, now, result):
            reason = self._deliver(chunk, result)
            if reason is not None:
                first = docs[0].event_id
                if first not in result.refused and first not in set(result.acked):
                    # The forwarder would commit nothing: the reason is worth more than a count.
                    raise self._fail(f"{reason}; nothing of this batch was acknowledged")
                logger.warning(
                    "sink %s: HEC: %s; stopping before the unacknowledged events", self.name, reason
                )
                break
        return result

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    # ---------------------------------------------------------------- requests

    def _chunks(
        self, docs: Sequence[Doc], now: float, result: SendResult
    ) -> list[list[tuple[Doc, bytes]]]:
        chunks: list[list[tuple[Doc, bytes]]] = []
        cur: list[tuple[Doc, bytes]] = []
        size = 0
        for doc in docs:
            env = envelope(doc, self.meta, now)
            if len(env) > self.batch_bytes:
                result.refused[doc.event_id] = (
                    f"HEC envelope of {len(env)} bytes exceeds batch_bytes {self.batch_bytes}"
                )
                continue
            if cur and (len(cur) >= self.batch_docs or size + len(env) > self.batch_bytes):
                chunks.append(cur)
                cur, size = [], 0
            cur.append((doc, env))
            size += len(env)
        if cur:
            chunks.append(cur)
        return chunks

    def _deliver(self, chunk: list[tuple[Doc, bytes]], result: SendResult) -> str | None:
        """Send one request, bisecting refused ones; the reason it stayed unresolved, or None."""
        outcome = self._post(b"".join(env for _, env in chunk))
        if outcome.kind == "acked":
            result.acked.extend(doc.event_id for doc, _ in chunk)
            return None
        if outcome.kind == "unresolved":
            return outcome.reason
        if len(chunk) == 1:
            result.refused[chunk[0][0].event_id] = outcome.reason
            return None
        at = outcome.at
        if at is not None and 0 <= at < len(chunk):
            parts = [chunk[:at], chunk[at : at + 1], chunk[at + 1 :]]
        else:
            half = len(chunk) // 2
            parts = [chunk[:half], chunk[half:]]
        for part in parts:
            if part and (reason := self._deliver(part, result)) is not None:
                return reason
        return None

    def _post(self, body: bytes) -> _Outcome:
        last, last_response = "", None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self._delay(attempt, last_response))
                last_response = None
            try:
                response = self._client.post(self.url, content=body)
            except httpx.TransportError as e:
                last = f"{type(e).__name__}: {self._scrub(str(e)) or 'no detail'}"
                continue
            status = response.status_code
            answer = _answer(response)
            code, text = answer.get("code"), self._scrub(str(answer.get("text") or ""))
            said = f"HTTP {status}" + (f", code {code} {text!r}" if code is not None else "")
            if status == 200 and code == 0:
                return _Outcome("acked")
            if status == 200:
                # A 200 without HEC's success code is some other server (a proxy's page):
                # acking it could lose the events.
                raise self._fail(f"the answer is not HEC's ({said}); check `url`")
            if status == 429 or status >= 500:
                last, last_response = said, response
                continue
            if status == 413:
                return _Outcome("split", f"HEC refused the request as too large ({said})")
            if status == 400 and code in _PER_EVENT_CODES:
                at = answer.get("invalid-event-number")
                at = at if isinstance(at, int) and not isinstance(at, bool) else None
                return _Outcome("split", f"HEC refused the event: {said}", at)
            if status in (401, 403):
                raise self._fail(f"the HEC token was rejected ({said})")
            raise self._fail(f"HEC refused the request ({said})")
        return _Outcome(
            "unresolved", f"HEC still failing after {self.retries + 1} attempts ({last})"
        )

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        delay = self.policy.base * 2 ** (attempt - 1)
        if response is not None:
            try:
                delay = max(delay, float(response.headers.get("Retry-After", "")))
            except ValueError:
                pass
        return min(delay, self.policy.cap)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, REDACTED)

    def _fail(self, problem: str) -> SinkError:
        return SinkError(f"sink {self.name!r}: POST {self.url}: {problem}")


# ---------------------------------------------------------------- envelopes


def envelope(doc: Doc, meta: dict[str, str], now: float) -> bytes:
    """The HEC event envelope of one document, as compact JSON bytes."""
    parsed: Any = None
    if doc.body.startswith("{"):
        try:
            parsed = json.loads(doc.body)
        except ValueError:
            parsed = None
    is_object = isinstance(parsed, dict)
    when = _event_time(parsed if is_object else None, doc.body) or now
    head = {"time": round(when, 3), **meta}
    # A JSON body is spliced in as it is, so the SIEM gets the mapping's exact bytes.
    event = doc.body if is_object else json.dumps(doc.body, ensure_ascii=False)
    fields = json.dumps({"event_id": doc.event_id}, ensure_ascii=False)
    text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
    return f'{text[:-1]},"event":{event},"fields":{fields}}}'.encode()


def _event_time(doc: dict[str, Any] | None, body: str) -> float | None:
    """Epoch seconds of the event: ECS @timestamp, or CEF rt (epoch ms or RFC 3339)."""
    value: Any = None
    if doc is not None:
        value = doc.get("@timestamp")
    elif body.startswith("CEF:") and (m := _CEF_RT.search(body)):
        value = m.group(1)
        if value.isdigit():
            return int(value) / 1000
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# ---------------------------------------------------------------- config


def _shared_settings(
    sink: SinkConfig, names: tuple[str, ...], extra: dict[str, Any]
) -> dict[str, Any]:
    """The shared settings the config names: SinkConfig fields set explicitly, else extras."""
    out = {}
    for key in names:
        if key in type(sink).model_fields:
            if key in sink.model_fields_set:
                out[key] = getattr(sink, key)
        elif key in extra:
            out[key] = extra.pop(key)
    return out


def _event_url(name: str, url: str) -> str:
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if parts.username or parts.password or parts.query:
        raise ConfigError(f"sink {name!r}: url must carry no credentials or query")
    if not host or scheme not in ("https", "http"):
        raise ConfigError(f"sink {name!r}: url {url!r}: not an https:// URL")
    if scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"sink {name!r}: url {url!r}: plain http:// is refused except to loopback "
            "addresses; use https://"
        )
    path = parts.path.rstrip("/")
    if not path.endswith(EVENT_PATH):
        path += EVENT_PATH
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def _exact(ceiling: float) -> float:
    return ceiling


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
