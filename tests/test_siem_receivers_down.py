"""Syslog (real rsyslogd) and HEC receivers stopped mid-batch, then restarted: at most the
re-send the sinks document, each copy with the same event id, counted exactly.

What the sinks promise (evidence/siem/sinks/syslog.py and hec.py, README "Exactly-once, and
where it stops"): neither receiver can de-duplicate or be asked what it holds, so
- syslog over TCP/TLS: a batch is acked only once the receiver closed the connection after
  reading all of it. A receiver stopped while reading a batch has written a prefix of it;
  the run fails with the cursor before the batch and the next run sends the whole batch
  again. A run that dies after the receiver's close but before the cursor commit re-sends
  the batch too. Duplicates: at most one forwarder batch.
- HEC: each request is acked on HEC's 200. A receiver stopped between two requests of a
  batch costs nothing: the cursor moves past exactly the acknowledged requests. A receiver
  that took a request but died before answering gets that request again (at most one
  request); a run that dies between HEC's 200s and the cursor commit re-sends its batch.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

from evidence.config import SinkConfig
from evidence.errors import SinkError
from evidence.siem.forwarder import ForwardResult, forward
from evidence.siem.mappings import cef
from evidence.siem.sinks.base import Doc, SendResult, Sink
from evidence.siem.sinks.hec import HecSink
from evidence.siem.sinks.syslog import SyslogSink
from evidence.store.db import open_store
from tests.servers.rsyslog import Rsyslog, rsyslog_certs_fixture, rsyslog_fixture  # noqa: F401
from tests.siem_builders import cursor
from tests.siem_faults import RestartableHec, append_events, store_ids
from tests.soak import size

# Events per forwarder batch (CEF lines of about 400 bytes): big enough that rsyslogd, stopped as soon as
# the batch's first messages reach its file, has not read all of it (it writes the first
# ~1,700 of a batch at once).
BATCH = size(20_000, 50_000)
BATCHES = 2
TOKEN = "11111111-2222-4333-8444-555555555555"
SD = re.compile(r'\[scim-evidence@32473 eventId="([0-9a-f]{64})" seq="(\d+)"\] (.*)')


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = open_store(tmp_path / "store.duckdb")
    yield c
    c.close()


class Interrupt(BaseException):
    """The forwarder's process dying (SIGKILL, power) between a send and its cursor commit."""


class Around:
    """The real sink, with `before` and `after` hooks run around its `nth` send."""

    def __init__(self, inner: Sink, nth: int, before: Any = None, after: Any = None) -> None:
        self.inner, self.nth, self.sends = inner, nth, 0
        self.before, self.after = before, after
        self.batch: list[str] = []  # the event ids of the `nth` batch

    def last_delivered(self) -> str | None:
        return self.inner.last_delivered()

    def send(self, docs: Sequence[Doc]) -> SendResult:
        self.sends += 1
        hit = self.sends == self.nth
        if hit:
            self.batch = [d.event_id for d in docs]
            if self.before:
                self.before()
        result = self.inner.send(docs)
        if hit and self.after:
            self.after()
        return result

    def close(self) -> None:
        self.inner.close()


# ---------------------------------------------------------------- syslog


def received(server: Rsyslog, kind: str) -> list[str]:
    """The eventId of every message the receiver wrote, in order. Every copy of an event
    that came more than once is checked: the same event id in its structured data and in
    its CEF line, the same seq."""
    seen: dict[str, list[tuple[str, str]]] = {}
    out = []
    for line in server.messages(kind):
        m = SD.search(line)
        assert m, line[:200]
        out.append(m[1])
        seen.setdefault(m[1], []).append((m[2], m[3]))
    for eid, copies in seen.items():
        if len(copies) > 1:
            assert len({seq for seq, _ in copies}) == 1, eid
            for _, body in copies:
                assert cef.event_id_of(body) == eid  # the CEF line's externalId
    return out


def stop_on_first_line(server: Rsyslog, kind: str, held: int) -> threading.Thread:
    """Stops rsyslogd as soon as its file grows past the `held` messages written before:
    mid-batch, with a prefix of it written."""
    server.wait_for(kind, held, settle=0.1)  # the previous batch is all on disk
    path = server.work / f"{kind}.log"
    start = path.stat().st_size if path.exists() else 0

    def watch() -> None:
        deadline = time.monotonic() + 30
        while (path.stat().st_size if path.exists() else 0) == start:
            assert time.monotonic() < deadline, "rsyslogd wrote nothing"
            time.sleep(0.001)
        # Frozen at once, then terminated: it reads nothing more of the batch.
        os.kill(server.process.pid, signal.SIGSTOP)
        server.process.terminate()
        os.kill(server.process.pid, signal.SIGCONT)
        server.stop()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.soak
@pytest.mark.parametrize("kind", ["tcp", "tls"])
def test_syslog_receiver_stopped_mid_batch_resends_only_that_batch(
    con: duckdb.DuckDBPyConnection, rsyslog: Rsyslog, kind: str
) -> None:
    last = append_events(con, BATCHES * BATCH)
    ids = store_ids(con, "true ORDER BY seq")
    extra = {"ca_bundle": str(rsyslog.ca_file)} if kind == "tls" else {}
    # CEF lines: the cheapest bodies to format, so the big batch costs little.
    cfg = SinkConfig(name="syslog", kind="syslog", format="cef", url=rsyslog.url(kind), **extra)
    watchers: list[threading.Thread] = []
    dest = Around(
        SyslogSink.from_config(cfg),
        2,
        before=lambda: watchers.append(stop_on_first_line(rsyslog, kind, BATCH)),
    )
    with pytest.raises(SinkError, match=r"connection lost while sending"):
        forward(con, cfg, batch_size=BATCH, destination=dest)
    watchers[0].join(30)
    assert cursor(con, "syslog") == BATCH  # the first batch, nothing of the second
    assert dest.batch == ids[BATCH : 2 * BATCH]

    # What the receiver wrote before it stopped: the first batch, then a prefix of the second.
    before = received(rsyslog, kind)
    written = len(before) - BATCH
    assert before == ids[: BATCH + written]
    assert 0 < written < BATCH, f"{written} of the batch written: not stopped mid-batch"

    rsyslog.start()  # same ports, same files
    result = forward(con, cfg, batch_size=BATCH, destination=SyslogSink.from_config(cfg))
    assert result == ForwardResult(sent=BATCH, skipped=0, dead=0, last_seq=last)
    after = rsyslog.wait_for(kind, len(ids) + written, timeout=30)
    got = Counter(received(rsyslog, kind))
    assert len(after) == len(ids) + written
    # Exactly the interrupted batch's written prefix twice, everything else once.
    assert got == Counter(ids) + Counter(ids[BATCH : BATCH + written])
    dupes = {eid for eid, n in got.items() if n > 1}
    assert dupes <= set(dest.batch) and len(dupes) == written
    print(
        f"\nsyslog {kind}: rsyslogd stopped after {written} of a {BATCH}-event batch; "
        f"{len(ids)} events, 0 lost, {written} duplicated (bound: one batch, {BATCH})"
    )


def test_syslog_run_dying_before_its_commit_resends_that_batch(
    con: duckdb.DuckDBPyConnection, rsyslog: Rsyslog
) -> None:
    n = 50
    append_events(con, 3 * n)
    ids = store_ids(con, "true ORDER BY seq")
    cfg = SinkConfig(name="syslog", kind="syslog", format="cef", url=rsyslog.url("tcp"))

    def die() -> None:
        raise Interrupt

    dest = Around(SyslogSink.from_config(cfg), 2, after=die)
    with pytest.raises(Interrupt):
        forward(con, cfg, batch_size=n, destination=dest)
    assert cursor(con, "syslog") == n  # the receiver had the second batch; the cursor not
    rsyslog.stop()
    rsyslog.start()  # and the receiver restarts meanwhile
    assert forward(con, cfg, batch_size=n, destination=SyslogSink.from_config(cfg)).sent == 2 * n
    rsyslog.wait_for("tcp", 4 * n)
    got = Counter(received(rsyslog, "tcp"))
    assert got == Counter(ids) + Counter(ids[n : 2 * n])  # that batch twice, no more


# ---------------------------------------------------------------- HEC


@pytest.fixture
def hec() -> Iterator[RestartableHec]:
    with RestartableHec(token=TOKEN) as receiver:
        yield receiver


def hec_sink(hec: RestartableHec, sleep: Any = time.sleep, **kw: Any) -> HecSink:
    kw.setdefault("batch_docs", 100)
    kw.setdefault("retries", 2)
    kw.setdefault("retry_backoff", 0.01)
    return HecSink("splunk", hec.url, TOKEN, host="evidence-test", sleep=sleep, **kw)


HEC_CFG = SinkConfig(name="splunk", kind="splunk_hec", url="http://127.0.0.1:1")


def test_hec_receiver_stopped_between_requests_duplicates_nothing(
    con: duckdb.DuckDBPyConnection, hec: RestartableHec
) -> None:
    last = append_events(con, 1_000)
    ids = store_ids(con, "true ORDER BY seq")
    hec.stop_after(7)  # 5 requests of the first batch, 2 of the second, then gone
    with pytest.raises(SinkError):
        forward(con, HEC_CFG, batch_size=500, destination=hec_sink(hec))
    assert cursor(con, "splunk") == 700  # past exactly the acknowledged requests
    assert hec.down.wait(5)
    hec.start()
    result = forward(con, HEC_CFG, batch_size=500, destination=hec_sink(hec))
    assert result == ForwardResult(sent=300, skipped=0, dead=0, last_seq=last)
    assert hec.event_ids() == ids  # each once, in order


def test_hec_receiver_dying_mid_request_resends_only_that_request(
    con: duckdb.DuckDBPyConnection, hec: RestartableHec
) -> None:
    last = append_events(con, 1_000)
    ids = store_ids(con, "true ORDER BY seq")
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        # The sink backs off before its retry; the receiver comes back meanwhile.
        sleeps.append(seconds)
        if hec.down.wait(5) and not sleeps[:-1]:
            hec.start()

    # The 4th request (events 301-400) reaches HEC, which dies before answering.
    hec.die_after(4)
    result = forward(con, HEC_CFG, batch_size=500, destination=hec_sink(hec, sleep))
    assert result == ForwardResult(sent=1_000, skipped=0, dead=0, last_seq=last)
    assert sleeps == [0.01]  # one retry, of that request
    got = Counter(hec.event_ids())
    assert got == Counter(ids) + Counter(ids[300:400])  # that request twice, no more
    assert hec.event_ids() == ids[:400] + ids[300:]

    # Down past the retries: the run stops before the request, the next run re-sends it.
    more = append_events(con, 300)
    new = store_ids(con, f"seq > {last} ORDER BY seq")
    hec.die_after(2)  # the 2nd request of the next run (events +101-+200)
    with pytest.raises(SinkError):
        forward(con, HEC_CFG, batch_size=500, destination=hec_sink(hec))
    assert cursor(con, "splunk") == last + 100
    assert hec.down.wait(5)
    hec.start()
    result = forward(con, HEC_CFG, batch_size=500, destination=hec_sink(hec))
    assert result == ForwardResult(sent=200, skipped=0, dead=0, last_seq=more)
    got = Counter(hec.event_ids())
    assert got == Counter(ids + new) + Counter(ids[300:400]) + Counter(new[100:200])


def test_hec_run_dying_before_its_commit_resends_that_batch(
    con: duckdb.DuckDBPyConnection, hec: RestartableHec
) -> None:
    append_events(con, 600)
    ids = store_ids(con, "true ORDER BY seq")

    def die() -> None:
        raise Interrupt

    dest = Around(hec_sink(hec), 2, after=die)
    with pytest.raises(Interrupt):
        forward(con, HEC_CFG, batch_size=200, destination=dest)
    assert cursor(con, "splunk") == 200
    assert forward(con, HEC_CFG, batch_size=200, destination=hec_sink(hec)).sent == 400
    got = Counter(hec.event_ids())
    assert got == Counter(ids) + Counter(ids[200:400])  # one forwarder batch twice, no more
