"""The syslog sink: each document as one RFC 5424 message over TCP, TLS or UDP.

    <PRI>1 TIMESTAMP HOSTNAME scim-evidence PROCID MSGID [SD-ID eventId="…" seq="…"] MSG

- MSG is `Doc.body` as is (an ECS JSON object, a CEF line, ...), UTF-8 without a BOM: CEF and
  JSON consumers parse the MSG from its first byte, and a BOM would break both.
- PRI = facility * 8 + severity. The facility defaults to `authpriv` (10, "security/
  authorization messages"): provisioning events are exactly that, and relays route authpriv
  to restricted files (Debian's auth.log) and keep it out of the general syslog file, which
  matters because these messages name people. Any facility can be configured.
- Severity and MSGID come cheaply from the body when it is recognised: a CEF header's
  Severity (0-10) and Device Event Class ID, or an ECS document's `event.severity` band and
  `scim_evidence.action` (else `event.action`). Anything else is notice (5) with MSGID `-`.
- The structured data element carries the store's event id and seq, so a SIEM can
  de-duplicate what the at-least-once window below may send twice. Its SD-ID needs a
  private enterprise number; the default uses 32473, the number RFC 5612 reserves for
  documentation, because this project has none: set `sd_id = "name@<your PEN>"`, or "" to
  send no structured data.

Transports (`url`): `tcp://host:port` and `tls://host:port` frame each message by octet
counting (RFC 6587 §3.4.1, RFC 5425: `LEN SP MSG`), so a body may hold any byte; `udp://`
sends one datagram per message (RFC 5426).

What an acknowledgement means:

- TCP/TLS: each batch gets its own connection. The messages are written, our side of the
  stream is ended (TLS: close_notify, then FIN), and the sink waits for the receiver to
  close its side: a receiver meets our end of stream only after reading every byte before
  it, so its close (FIN) says the batch left the kernel for the receiving program. Only then
  is the batch acked. Bytes merely accepted by the receiving kernel are not enough: rsyslog
  stopped at that moment discards them (the test suite saw it), and its close is then a
  reset (RST), which raises. A refused or reset connection, a failed write, or no close
  within `timeout` raises SinkError naming the sink, and nothing of the batch is acked, so
  nothing is lost. One connection (and TLS handshake) per batch is cheap at batch sizes of
  hundreds or thousands.
- Exactly-once is not possible over plain syslog: the receiver cannot de-duplicate and
  cannot be asked what it holds, so `last_delivered` knows nothing. The window is at most
  one batch, sent again when the run dies between the receiver's close and the cursor
  commit, or when the connection fails after part of a batch was read. Duplicates carry the
  same eventId. Lower `batch_size` to narrow it. What the receiver does after reading (its
  queue, its disk) is its own guarantee; RELP would extend ours to it and is not implemented.
- UDP cannot acknowledge anything: a message is acked once `send` returns, and a datagram
  lost on the way, or dropped by a receiver that is down or too slow, is lost without a
  trace. A receiver that is down is noticed only on a later send (ICMP port unreachable),
  which then raises SinkError. Use UDP only where the SIEM offers nothing else.

Messages longer than `max_message_bytes` are refused (dead-lettered) instead of being cut by
the receiver: set it to the receiver's limit (rsyslog: maxMessageSize, 8 KiB by default).
UDP cannot carry more than 65507 bytes, which is its default; TCP and TLS have none.

Config (`[[sinks]]`, kind = "syslog"): url; facility ("authpriv"); hostname (this
machine's); sd_id; max_message_bytes; timeout (10 s here, per connect, write or wait); for
tls: ca_bundle (relative to the config file), verify_tls, and cert_file and key_file for
mutual TLS (used as given, relative to the working directory).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from evidence.config import SinkConfig
from evidence.errors import ConfigError, SinkError
from evidence.siem.sinks.base import Doc, SendResult

__all__ = ["APP_NAME", "FACILITIES", "SyslogSink", "format_message", "classify"]

logger = logging.getLogger("scim_evidence.siem")

APP_NAME = "scim-evidence"
DEFAULT_SD_ID = "scim-evidence@32473"
FACILITIES: dict[str, int] = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
    "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "audit": 13,
    "alert": 14, "clock": 15, **{f"local{i}": 16 + i for i in range(8)},
}  # fmt: skip
NOTICE = 5
UDP_MAX = 65507  # 65535 minus the IPv4 and UDP headers
_PORTS = {"tcp": 514, "tls": 6514, "udp": 514}
_CEF_HEADER = re.compile(r"CEF:\d+\|")
# One header field up to its unescaped `|` (a backslash escapes the next character).
_CEF_FIELD = re.compile(r"((?:[^|\\]|\\.)*)\|", re.S)
_CEF_ESCAPE = re.compile(r"\\(.)", re.S)
_SD_NAME = re.compile(r"[!#-<>-\\^-~]{1,32}")  # printable US-ASCII but = ] " and space


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


class SyslogSink:
    """Send documents to a syslog receiver as RFC 5424 messages."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        facility: str | int = "authpriv",
        hostname: str | None = None,
        sd_id: str = DEFAULT_SD_ID,
        timeout: float = 10.0,
        max_message_bytes: int | None = None,
        ca_bundle: Path | str | None = None,
        cert_file: Path | str | None = None,
        key_file: Path | str | None = None,
        verify_tls: bool = True,
    ) -> None:
        self.name = name
        self.target = _parse_url(name, url)
        self.facility = _facility(name, facility)
        self.hostname = _printable(hostname or socket.gethostname(), 255)
        if sd_id and not _SD_NAME.fullmatch(sd_id):
            raise ConfigError(f"sink {name!r}: sd_id {sd_id!r} is not a valid RFC 5424 SD-ID")
        self.sd_id = sd_id
        self.timeout = timeout
        udp = self.target.scheme == "udp"
        self.max_message_bytes = (
            min(max_message_bytes or UDP_MAX, UDP_MAX) if udp else max_message_bytes
        )
        self._tls = (
            _tls_context(name, ca_bundle, cert_file, key_file, verify_tls)
            if self.target.scheme == "tls"
            else None
        )
        self._sock: socket.socket | None = None

    @classmethod
    def from_config(cls, sink: SinkConfig) -> SyslogSink:
        """The sink a `[[sinks]]` table of kind "syslog" describes."""
        if not sink.url:
            raise ConfigError(
                f"sink {sink.name!r}: a syslog sink needs `url` (tcp://, tls://, udp://)"
            )
        extra: dict[str, Any] = dict(sink.model_extra or {})
        # timeout and ca_bundle are SinkConfig fields shared with the other sinks (extras in
        # older configs): read only when the config sets them, so our defaults hold.
        for key in ("timeout", "ca_bundle"):
            if key in type(sink).model_fields and key in sink.model_fields_set:
                extra[key] = getattr(sink, key)
        known = {"facility", "hostname", "sd_id", "timeout", "max_message_bytes",
                 "ca_bundle", "cert_file", "key_file"}  # fmt: skip
        unknown = sorted(set(extra) - known)
        if unknown:
            raise ConfigError(f"sink {sink.name!r}: unknown syslog setting {unknown[0]!r}")
        return cls(sink.name, sink.url, verify_tls=sink.verify_tls, **extra)

    # ---------------------------------------------------------------- Sink protocol

    def last_delivered(self) -> str | None:
        """A syslog receiver cannot be asked what it holds: always None."""
        return None

    def send(self, docs: Sequence[Doc]) -> SendResult:
        """Send the batch; acked once the receiver has read it all (TCP, TLS) or sent (UDP)."""
        result = SendResult()
        stamp = _timestamp()
        msgs: list[tuple[Doc, bytes]] = []
        for doc in docs:
            msg = format_message(doc, self.facility, self.hostname, stamp, self.sd_id)
            if self.max_message_bytes is not None and len(msg) > self.max_message_bytes:
                result.refused[doc.event_id] = (
                    f"syslog message of {len(msg)} bytes exceeds max_message_bytes "
                    f"{self.max_message_bytes}"
                )
            else:
                msgs.append((doc, msg))
        if not msgs:
            return result
        if self.target.scheme == "udp":
            self._send_udp(msgs, result)
        else:
            self._send_stream([m for _, m in msgs])
            result.acked.extend(d.event_id for d, _ in msgs)
        return result

    def close(self) -> None:
        """Close the connection."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    # ---------------------------------------------------------------- transports

    def _fail(self, problem: str) -> SinkError:
        return SinkError(f"sink {self.name!r}: syslog {self.target}: {problem}")

    def _connect(self) -> socket.socket:
        kind = socket.SOCK_DGRAM if self.target.scheme == "udp" else socket.SOCK_STREAM
        try:
            infos = socket.getaddrinfo(self.target.host, self.target.port, type=kind)
        except socket.gaierror as e:
            raise self._fail(f"cannot resolve host: {e.strerror}") from None
        last: OSError | None = None
        for family, type_, proto, _, addr in infos:
            sock = socket.socket(family, type_, proto)
            sock.settimeout(self.timeout)
            try:
                # A connected UDP socket reports ICMP port unreachable as ECONNREFUSED.
                sock.connect(addr)
                if self._tls is not None:
                    sock = self._tls.wrap_socket(sock, server_hostname=self.target.host)
                return sock
            except ssl.SSLCertVerificationError as e:
                sock.close()
                raise self._fail(f"TLS certificate not trusted: {e.verify_message}") from None
            except ssl.SSLError as e:
                sock.close()
                raise self._fail(f"TLS handshake failed: {e.reason or e}") from None
            except OSError as e:
                sock.close()
                last = e
        reason = (last.strerror or str(last)) if last else "no address"
        raise self._fail(f"cannot connect: {reason}")

    def _send_stream(self, msgs: list[bytes]) -> None:
        """One connection per batch: write, end the stream, wait for the receiver to close."""
        self.close()
        sock = self._connect()
        self._sock = sock
        data = b"".join(b"%d %s" % (len(m), m) for m in msgs)
        try:
            sock.sendall(data)
            _finish(sock)
        except OSError as e:
            raise self._fail(
                f"connection lost while sending {len(msgs)} messages ({_reason(e)}); none of "
                "them is acknowledged, the next run sends them again"
            ) from None
        finally:
            self.close()

    def _send_udp(self, msgs: list[tuple[Doc, bytes]], result: SendResult) -> None:
        if self._sock is None:
            self._sock = self._connect()
        for doc, msg in msgs:
            try:
                self._sock.send(msg)
            except OSError as e:
                if e.errno == errno.EMSGSIZE:  # this one can never be sent
                    result.refused[doc.event_id] = (
                        f"too large for a UDP datagram ({len(msg)} bytes)"
                    )
                    continue
                self.close()
                raise self._fail(
                    f"send failed ({_reason(e)}); earlier datagrams may have been lost "
                    "unnoticed, UDP cannot tell"
                ) from None
            result.acked.append(doc.event_id)


# ---------------------------------------------------------------- message format


def format_message(doc: Doc, facility: int, hostname: str, timestamp: str, sd_id: str) -> bytes:
    """One RFC 5424 message (without framing) carrying `doc.body` as MSG."""
    msgid, severity = classify(doc.body)
    if sd_id:
        sd = f'[{sd_id} eventId="{_sd_value(doc.event_id)}" seq="{doc.seq}"]'
    else:
        sd = "-"
    head = f"<{facility * 8 + severity}>1 {timestamp} {hostname} {APP_NAME} {os.getpid()} {msgid} {sd} "
    return head.encode("ascii") + doc.body.encode("utf-8")


def classify(body: str) -> tuple[str, int]:
    """(MSGID, syslog severity) read from a CEF or ECS body; ("-", notice) for anything else."""
    if body.startswith("CEF:") and _CEF_HEADER.match(body):
        fields = _cef_header(body)
        if len(fields) >= 7:
            return _printable(fields[4], 32), _cef_severity(fields[6])
        return "-", NOTICE
    if body.startswith("{"):
        try:
            doc = json.loads(body)
        except ValueError:
            return "-", NOTICE
        if isinstance(doc, dict):
            return _ecs_classify(doc)
    return "-", NOTICE


def _ecs_classify(doc: dict[str, Any]) -> tuple[str, int]:
    meta = doc.get("scim_evidence")
    event = doc.get("event")
    event = event if isinstance(event, dict) else {}
    action = meta.get("action") if isinstance(meta, dict) else None
    action = action or event.get("action")
    msgid = _printable(action, 32) if isinstance(action, str) else "-"
    score = event.get("severity")
    if not isinstance(score, int | float) or isinstance(score, bool):
        return msgid, NOTICE
    # ECS severity bands as ecs.SEVERITY writes them: 0 info, 21 low, 47 medium, 73 high,
    # 99 critical.
    for floor, severity in ((99, 2), (73, 3), (47, 4), (21, 5)):
        if score >= floor:
            return msgid, severity
    return msgid, 6


def _cef_header(body: str) -> list[str]:
    """The header fields of a CEF line (`\\|` and `\\\\` unescaped), up to the extension."""
    # Regexes, not a loop per character: this runs for every message of a batch.
    fields: list[str] = []
    pos = 0
    while len(fields) < 7 and (m := _CEF_FIELD.match(body, pos)):
        field = m[1]
        fields.append(_CEF_ESCAPE.sub(r"\1", field) if "\\" in field else field)
        pos = m.end()
    return fields


def _cef_severity(value: str) -> int:
    """CEF Severity (0-10 or Low/Medium/High/Very-High) as a syslog severity."""
    named = {"low": 5, "medium": 4, "high": 3, "very-high": 2, "unknown": NOTICE}
    value = value.strip().lower()
    if value in named:
        return named[value]
    try:
        n = int(value)
    except ValueError:
        return NOTICE
    # CEF bands: 0-3 low, 4-6 medium, 7-8 high, 9-10 very high. 0 is what cef.py gives an
    # info finding, which ECS bodies send as info too.
    return 2 if n >= 9 else 3 if n >= 7 else 4 if n >= 4 else 5 if n >= 1 else 6


def _timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _printable(value: str, limit: int) -> str:
    """A header field: printable US-ASCII without spaces, at most `limit` characters, or `-`."""
    text = "".join(c for c in value if "!" <= c <= "~")[:limit]
    return text or "-"


def _sd_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


# ---------------------------------------------------------------- config and sockets


def _parse_url(name: str, url: str) -> _Target:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _PORTS:
        raise ConfigError(f"sink {name!r}: url {url!r}: use tcp://, tls:// or udp://host:port")
    try:
        port = parts.port or _PORTS[scheme]
    except ValueError:
        raise ConfigError(f"sink {name!r}: url {url!r}: bad port") from None
    if not parts.hostname:
        raise ConfigError(f"sink {name!r}: url {url!r}: no host")
    return _Target(scheme, parts.hostname, port)


def _facility(name: str, value: str | int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 23:
        return value
    if isinstance(value, str) and value.lower() in FACILITIES:
        return FACILITIES[value.lower()]
    raise ConfigError(f"sink {name!r}: facility {value!r}: use a syslog facility name or 0-23")


def _tls_context(
    name: str,
    ca_bundle: Path | str | None,
    cert_file: Path | str | None,
    key_file: Path | str | None,
    verify: bool,
) -> ssl.SSLContext:
    try:
        ctx = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
        if cert_file:
            ctx.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"sink {name!r}: TLS files: {_reason(e)}") from None
    if not verify:
        logger.warning("sink %s: TLS certificate verification is disabled", name)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _finish(sock: socket.socket) -> None:
    """End our side of the stream and wait for the receiver to close its side.

    A receiver sees our end of stream only after reading every byte before it, and closes
    then (FIN). One that stops with bytes unread resets the connection instead (RST), or
    never answers: both raise, so a batch is never acked on the strength of a kernel buffer.
    """
    if isinstance(sock, ssl.SSLSocket):
        try:
            # Sends close_notify, then waits for the receiver's; rsyslog just closes TCP,
            # which is the end of stream we wait for.
            sock = sock.unwrap()
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
            return
    sock.shutdown(socket.SHUT_WR)
    while sock.recv(4096):
        pass  # a syslog receiver sends nothing; read until its FIN


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__
