"""The syslog sink against Debian's real rsyslogd: TCP (octet counting), TLS and UDP."""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

from evidence.config import SinkConfig
from evidence.errors import ConfigError, SinkError
from evidence.siem.forwarder import ForwardResult, forward
from evidence.siem.mappings import cef
from evidence.siem.sinks.base import Doc, SendResult
from evidence.siem.sinks.syslog import SyslogSink, classify, format_message
from evidence.store.db import open_store
from tests.servers.rsyslog import Rsyslog, rsyslog_certs_fixture, rsyslog_fixture  # noqa: F401
from tests.servers.stub_http import free_port
from tests.siem_builders import add_events, cursor

# <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG; our SD is one element.
RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) "
    r"(?P<msgid>\S+) (?P<sd>-|\[(?:[^\]\\]|\\.)*\]) (?P<msg>.*)"
)
SD_PARAM = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def parse(line: str) -> dict[str, Any]:
    m = RFC5424.fullmatch(line)
    assert m, f"not an RFC 5424 message: {line[:200]!r}"
    out: dict[str, Any] = m.groupdict()
    out["params"] = dict(SD_PARAM.findall(out["sd"]))
    return out


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = open_store(tmp_path / "store.duckdb")
    yield c
    c.close()


def sink_config(server: Rsyslog, kind: str, **extra: Any) -> SinkConfig:
    if kind == "tls":
        extra.setdefault("ca_bundle", str(server.ca_file))
    return SinkConfig(name="siem-syslog", kind="syslog", url=server.url(kind), **extra)


def run(con: duckdb.DuckDBPyConnection, cfg: SinkConfig, **kw: Any) -> ForwardResult:
    return forward(con, cfg, destination=SyslogSink.from_config(cfg), **kw)


def cursor_of(con: duckdb.DuckDBPyConnection) -> int | None:
    return cursor(con, "siem-syslog")


@pytest.mark.parametrize("kind", ["tcp", "tls", "udp"])
def test_every_event_arrives_once(
    con: duckdb.DuckDBPyConnection, rsyslog: Rsyslog, kind: str
) -> None:
    ids = add_events(con, 23)
    cfg = sink_config(rsyslog, kind)
    assert run(con, cfg, batch_size=5) == ForwardResult(sent=23, skipped=0, dead=0, last_seq=23)
    assert run(con, cfg) == ForwardResult(sent=0, skipped=0, dead=0, last_seq=23)
    ids += add_events(con, 4)
    assert run(con, cfg, batch_size=3).sent == 4
    assert cursor_of(con) == 27

    got = [parse(line) for line in rsyslog.wait_for(kind, 27)]
    received = Counter(m["params"]["eventId"] for m in got)
    assert received == Counter(ids)  # each exactly once, nothing else
    if kind != "udp":  # a stream keeps seq order; datagrams need not
        assert [m["params"]["eventId"] for m in got] == ids
    for m in got:
        body = json.loads(m["msg"])  # the ECS document, intact and without a BOM
        assert body["scim_evidence"]["event_id"] == m["params"]["eventId"]
        assert int(m["params"]["seq"]) == body["event"]["sequence"]
        assert int(m["pri"]) == 10 * 8 + 5  # authpriv.notice
        assert m["app"] == "scim-evidence"
        assert m["msgid"] == body["scim_evidence"]["action"]
        assert TIMESTAMP.fullmatch(m["ts"])
        assert m["procid"].isdigit()


def test_cef_bodies(con: duckdb.DuckDBPyConnection, rsyslog: Rsyslog) -> None:
    ids = add_events(con, 9)
    docs = cef.documents(con, after_seq=0, limit=100)
    sink = SyslogSink.from_config(sink_config(rsyslog, "tcp"))
    try:
        assert sink.send(docs).acked == ids
    finally:
        sink.close()
    got = [parse(line) for line in rsyslog.wait_for("tcp", 9)]
    assert [m["params"]["eventId"] for m in got] == ids
    for m, doc in zip(got, docs, strict=True):
        assert m["msg"] == doc.body
        # CEF:Version|Vendor|Product|Version|Class ID|Name|Severity|Extension
        header = re.split(r"(?<!\\)\|", m["msg"], maxsplit=7)
        assert header[0] == "CEF:0" and len(header) == 8
        assert m["msgid"] == header[4][:32]


def test_stopped_receiver_raises_and_keeps_the_cursor(
    con: duckdb.DuckDBPyConnection, rsyslog: Rsyslog
) -> None:
    add_events(con, 5)
    cfg = sink_config(rsyslog, "tcp")
    run(con, cfg)
    rsyslog.stop()
    add_events(con, 5)
    with pytest.raises(
        SinkError, match=r"sink 'siem-syslog': syslog tcp://127\.0\.0\.1:\d+: cannot connect"
    ):
        run(con, cfg)
    assert cursor_of(con) == 5


class StopAfterFirstBatch:
    """The real sink; the receiver is shut down once the first batch is acknowledged."""

    def __init__(self, inner: SyslogSink, server: Rsyslog) -> None:
        self.inner, self.server, self.batches = inner, server, 0

    def last_delivered(self) -> str | None:
        return self.inner.last_delivered()

    def send(self, docs: Sequence[Doc]) -> SendResult:
        result = self.inner.send(docs)
        self.batches += 1
        if self.batches == 1:
            self.server.stop()
        return result

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("kind", ["tcp", "tls"])
def test_receiver_gone_mid_run(con: duckdb.DuckDBPyConnection, rsyslog: Rsyslog, kind: str) -> None:
    ids = add_events(con, 10)
    cfg = sink_config(rsyslog, kind)
    dest = StopAfterFirstBatch(SyslogSink.from_config(cfg), rsyslog)
    with pytest.raises(SinkError, match="siem-syslog"):
        forward(con, cfg, batch_size=4, destination=dest)
    assert cursor_of(con) == 4
    assert [parse(x)["params"]["eventId"] for x in rsyslog.messages(kind)] == ids[:4]


@pytest.mark.parametrize(
    ("extra", "error"),
    [({}, "TLS certificate not trusted"), ({"verify_tls": False}, None)],
)
def test_tls_verification(
    con: duckdb.DuckDBPyConnection, rsyslog: Rsyslog, extra: dict[str, Any], error: str | None
) -> None:
    ids = add_events(con, 3)
    cfg = SinkConfig(name="siem-syslog", kind="syslog", url=rsyslog.url("tls"), **extra)
    if error:
        with pytest.raises(SinkError, match=error):
            run(con, cfg)
        assert cursor_of(con) is None
    else:
        assert run(con, cfg).sent == 3
        assert [parse(x)["params"]["eventId"] for x in rsyslog.wait_for("tls", 3)] == ids


def test_udp_receiver_down_is_noticed_late() -> None:
    """UDP cannot acknowledge: the first datagram to a dead port 'succeeds'; ICMP stops the next."""
    port = free_port(socket.SOCK_DGRAM)  # nothing listens here
    sink = SyslogSink("siem-syslog", f"udp://127.0.0.1:{port}")
    try:
        assert sink.send([Doc("a", 1, "{}")]).acked == ["a"]
        time.sleep(0.05)
        with pytest.raises(SinkError, match="UDP cannot tell"):
            sink.send([Doc("b", 2, "{}")])
    finally:
        sink.close()


def test_oversized_messages_are_refused(con: duckdb.DuckDBPyConnection) -> None:
    """Refused before any connection: a receiver would cut them, losing part of the evidence."""
    sink = SyslogSink("s", "tcp://127.0.0.1:9", max_message_bytes=200)
    result = sink.send([Doc("big", 1, "x" * 300)])
    assert result.acked == [] and "exceeds max_message_bytes 200" in result.refused["big"]
    sink = SyslogSink("s", "udp://127.0.0.1:9")
    assert "65507" in sink.send([Doc("huge", 1, "x" * 70000)]).refused["huge"]


@pytest.mark.parametrize(
    ("body", "msgid", "severity"),
    [
        (
            '{"event": {"action": "x.y"}, "scim_evidence": {"action": "account.create"}}',
            "account.create",
            5,
        ),
        ('{"event": {"action": "user.session.start", "severity": 0}}', "user.session.start", 6),
        (
            '{"event": {"severity": 21}, "scim_evidence": {"action": "finding.open"}}',
            "finding.open",
            5,
        ),
        ('{"event": {"severity": 47}}', "-", 4),
        ('{"event": {"severity": 73}}', "-", 3),
        ('{"event": {"severity": 99}}', "-", 2),
        (r"CEF:0|Vendor|Prod|1.0|group.member.add|Member added|3|suser=a", "group.member.add", 5),
        (r"CEF:0|V\|x|P|1|finding.open|Orphan|9|msg=a\=b", "finding.open", 2),
        (r"CEF:0|V|P|1|a class id|N|High|x=1", "aclassid", 3),
        (r"CEF:0|V|P|1|finding.resolve|Resolved|0|x=1", "finding.resolve", 6),
        ("plain text", "-", 5),
        ("{not json", "-", 5),
    ],
)
def test_classify(body: str, msgid: str, severity: int) -> None:
    assert classify(body) == (msgid, severity)


def test_message_layout() -> None:
    doc = Doc("e1", 7, "CEF:0|a|b|1|c|d|5|msg=é")
    msg = format_message(doc, 16, "host-1", "2024-01-01T00:00:00.000Z", "scim-evidence@32473")
    assert msg.startswith(b"<132>1 2024-01-01T00:00:00.000Z host-1 scim-evidence ")
    assert msg.endswith(
        b' c [scim-evidence@32473 eventId="e1" seq="7"] CEF:0|a|b|1|c|d|5|msg=\xc3\xa9'
    )
    plain = format_message(doc, 10, "h", "2024-01-01T00:00:00.000Z", "")
    assert b" c - CEF:0|" in plain


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": None}, "needs `url`"),
        ({"url": "http://127.0.0.1:514"}, "use tcp://, tls:// or udp://"),
        ({"url": "tcp://:514"}, "no host"),
        ({"facility": "nope"}, "facility 'nope'"),
        ({"facility": 24}, "facility 24"),
        ({"sd_id": "bad id"}, "not a valid RFC 5424 SD-ID"),
        ({"tiemout": 3}, "unknown syslog setting 'tiemout'"),
        ({"url": "tls://127.0.0.1:6514", "ca_bundle": "/nonexistent/ca.pem"}, "TLS files"),
    ],
)
def test_config_errors(changes: dict[str, Any], message: str) -> None:
    data = {"name": "s", "kind": "syslog", "url": "tcp://127.0.0.1:514", **changes}
    with pytest.raises(ConfigError, match=re.escape(message)):
        SyslogSink.from_config(SinkConfig(**data))


def test_config_defaults() -> None:
    sink = SyslogSink.from_config(
        SinkConfig(name="s", kind="syslog", url="udp://[::1]", facility="local3")
    )
    assert (str(sink.target), sink.facility, sink.max_message_bytes) == (
        "udp://[::1]:514",
        19,
        65507,
    )
    tls = SyslogSink.from_config(SinkConfig(name="s", kind="syslog", url="tls://siem.example"))
    assert (tls.target.port, tls.facility, tls.max_message_bytes) == (6514, 10, None)


class Peer:
    """A TCP receiver that misbehaves in one `mode`.

    reset: reads 1000 bytes, then closes with bytes unread (RST), as a stopped daemon does;
    stall: never reads, so the sender blocks once the window is full;
    hold: reads everything, but never closes its side.
    """

    def __init__(self, mode: str) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.mode = mode
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        self.conns.append(conn)
        if self.mode == "stall":
            return
        if self.mode == "hold":
            while conn.recv(65536):
                pass
            return
        got = 0
        while got < 1000:
            got += len(conn.recv(65536))
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def close(self) -> None:
        for c in self.conns:
            c.close()
        self.listener.close()


@pytest.mark.parametrize(
    ("mode", "count", "reason"),
    [
        ("reset", 3000, "Connection reset by peer|Broken pipe"),
        ("stall", 3000, "timed out"),
        ("hold", 3, "timed out"),
    ],
)
def test_broken_stream_acks_nothing(mode: str, count: int, reason: str) -> None:
    peer = Peer(mode)
    sink = SyslogSink("siem-syslog", f"tcp://127.0.0.1:{peer.port}", timeout=0.5)
    docs = [Doc(f"e{i}", i, json.dumps({"pad": "x" * 4000, "n": i})) for i in range(count)]
    try:
        with pytest.raises(
            SinkError, match=rf"connection lost while sending {count} messages \(({reason})\)"
        ):
            sink.send(docs)
    finally:
        sink.close()
        peer.close()
