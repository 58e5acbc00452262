"""Elasticsearch outages and 429 bursts, against the real node: zero lost, zero duplicated.

- The node is stopped (SIGTERM) while `evidence forward --follow` runs and new events and
  findings keep landing in the store, left down for OUTAGE seconds, and started again on the
  same port and data directory. Afterwards the data stream holds each of the store's events
  exactly once: its `_id`s, one per document, equal the store's event ids.
- Bursts of 429s from a fault-injecting proxy in front of the node (tests/siem_faults.py):
  whole requests and single bulk items rejected with es_rejected_execution_exception, for
  longer than the sink retries, and responses lost after the node indexed the request.

`make test` runs the outage at its small size; `make soak` at full size (tests/soak.py).
Each test prints its figures (pytest -s shows them).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb
import pytest
from elasticsearch import Elasticsearch

from evidence.config import SinkConfig
from evidence.errors import SinkError, StoreBusy
from evidence.siem.forwarder import ForwardResult, follow, forward
from evidence.store.db import open_store
from tests.es.node import EsProcess
from tests.es_fixtures import es_fixture, es_sink, stream_fixture  # noqa: F401
from tests.siem_builders import add_event, cursor
from tests.siem_faults import EsFaultProxy, append_events, es_ids, store_ids
from tests.soak import size

# The outage: seconds the node stays stopped, events in the store before, and events the
# writer appends per tick (every TICK seconds) while the follower runs.
OUTAGE = size(3.0, 20.0)
BASE = size(1_500, 20_000)
ARRIVALS = size(20, 100)
TICK = 0.25
# What the proxy's 429s say, as Elasticsearch's write thread pool says it.
REJECTED = (
    "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, "
    "replica_bytes=0, all_bytes=0, coordinating_operation_bytes=0, "
    "max_coordinating_and_primary_bytes=0] on EsThreadPoolExecutor[name = test-node/write, "
    "queue capacity = 10000]"
)


def assert_exactly_once(con: duckdb.DuckDBPyConnection, es: Elasticsearch, stream: str) -> int:
    """Every event of the store once in the stream, findings as alerts; the count."""
    wanted = store_ids(con)
    held = es_ids(es, stream)
    dupes = [i for i, n in Counter(held).items() if n > 1]
    lost = set(wanted) - set(held)
    assert (len(lost), len(dupes)) == (0, 0), f"lost {len(lost)}, duplicated {len(dupes)}"
    assert len(held) == len(wanted)
    assert set(held) == set(wanted)
    findings = store_ids(con, "action LIKE 'finding.%'")
    alerts = es_ids(es, stream, {"term": {"event.kind": "alert"}})
    assert sorted(alerts) == sorted(findings) and findings
    assert con.execute("SELECT count(*) FROM dead_letters").fetchone() == (0,)
    return len(held)


class Writer(threading.Thread):
    """Appends ARRIVALS events (one in five a finding) every TICK seconds, as syncs and
    detects would, taking the store between the follower's polls."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.done = path, threading.Event()
        self.log: list[tuple[float, int, int]] = []  # (monotonic, first seq, last seq)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.done.is_set():
                with closing(open_store(self.path, wait=120)) as con:
                    first = con.execute("SELECT max(seq) + 1 FROM events").fetchone()[0]
                    last = append_events(con, ARRIVALS)
                self.log.append((time.monotonic(), first, last))
                self.done.wait(TICK)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e

    def appended_between(self, start: float, end: float) -> int:
        return sum(b - a + 1 for t, a, b in self.log if start <= t < end)


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def held_count(es: Elasticsearch, stream: str) -> int:
    try:
        if not es.indices.exists(index=stream):
            return 0
        es.indices.refresh(index=stream)
        return es.count(index=stream)["count"]
    except Exception:  # noqa: BLE001 - the node is down or starting
        return -1


@pytest.mark.soak
def test_node_stopped_during_follow_loses_and_duplicates_nothing(
    es: Elasticsearch, es_process: EsProcess, stream: str, tmp_path: Path
) -> None:
    path = tmp_path / "evidence.duckdb"
    with closing(open_store(path)) as con:
        append_events(con, BASE)
    config = tmp_path / "evidence.toml"
    config.write_text(
        f'[store]\npath = "{path}"\n\n[[sinks]]\nname = "es"\nkind = "elasticsearch"\n'
        f'url = "{es_process.url}"\ndata_stream = "{stream}"\nreplicas = 0\n'
        # Short timeouts: a poll holds the store while it waits on the node.
        "timeout = 10\nretries = 3\nretry_backoff = 0.2\n",
        encoding="utf-8",
    )
    cli = Path(sys.executable).parent / "evidence"
    proc = subprocess.Popen(
        [str(cli), "--config", str(config), "forward", "--follow", "--interval", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    lines: list[str] = []
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")))
    reader.start()
    writer = Writer(path)
    try:
        wait_for(lambda: held_count(es, stream) == BASE, 120, "the first catch-up")
        writer.start()
        time.sleep(1.0)  # the follower forwards what arrives while the node is up
        errors_before = sum("error: sink 'es'" in ln for ln in lines)
        down = time.monotonic()
        es_process.stop()
        time.sleep(OUTAGE)
        restarted = time.monotonic()
        es_process.start()  # same port, same data directory
        up = time.monotonic()
        time.sleep(2.0)  # and events still arrive after it is back
        writer.done.set()
        writer.join(60)
        assert writer.error is None, repr(writer.error)
        with closing(open_store(path, wait=60)) as con:
            total, last = con.execute("SELECT count(*), max(seq) FROM events").fetchone()
        wait_for(lambda: held_count(es, stream) == total, 180, "the catch-up after the outage")
        # Stop only once the follower said its cursor reached the end (its commit is done).
        done = "es: events sent "
        wait_for(
            lambda: any(ln.startswith(done) and f"cursor at {last}\n" in ln for ln in lines),
            60,
            "the follower's report",
        )
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            # Where it hangs: faulthandler prints every thread's stack on SIGABRT.
            proc.send_signal(signal.SIGABRT)
            proc.wait(timeout=30)
            reader.join(timeout=30)
            pytest.fail("the follower did not stop within 60 s of SIGINT:\n" + "".join(lines))
        reader.join(timeout=30)
    finally:
        writer.done.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if not es_process.running:
            es_process.start()
    assert proc.returncode == 0, "".join(lines)
    assert lines[-1] == "es: stopped\n"
    failed = [ln for ln in lines if ln.startswith("error: sink 'es'")]
    assert len(failed) > errors_before, "the follower never saw the node down"
    assert all("retrying in 0.5 s" in ln for ln in failed)
    during = writer.appended_between(down, up)
    assert during > 0
    with closing(open_store(path)) as con:
        assert cursor(con, "es") == last
        held = assert_exactly_once(con, es, stream)
    sent = sum(int(m[1]) for ln in lines if (m := re.match(r"es: events sent (\d+)", ln)))
    assert sent >= total  # a re-sent document counts again (its 409 is an acknowledgement)
    print(
        f"\nES outage: node stopped {restarted - down:.1f} s, unavailable {up - down:.1f} s; "
        f"{during} events appended while it was down; {held} of {total} events held "
        f"({total - held} lost, 0 duplicated); {len(failed)} failed polls; sent {sent}"
    )


class _Done(Exception):
    """Ends a follow loop from its sleep."""


def follow_until_done(path: Path, sink: SinkConfig, last: int) -> list[str]:
    """`follow` (the loop of `forward --follow`) until the cursor reaches `last`; the errors
    it reported."""
    errors: list[str] = []

    def sleep(_: float) -> None:
        with closing(open_store(path)) as con:
            if cursor(con, "es") == last:
                raise _Done
        assert len(errors) < 20, errors

    def on_error(e: SinkError | StoreBusy) -> None:
        errors.append(str(e))

    with pytest.raises(_Done):
        follow(
            lambda: closing(open_store(path)),
            sink,
            interval=0.05,
            on_result=lambda *_: None,
            on_error=on_error,
            sleep=sleep,
        )
    return errors


def test_429_bursts_and_lost_responses_lose_and_duplicate_nothing(
    es: Elasticsearch, es_node: str, stream: str, tmp_path: Path
) -> None:
    path = tmp_path / "evidence.duckdb"
    with closing(open_store(path)) as con:
        last = append_events(con, 3_000)
    with EsFaultProxy(es_node) as proxy:
        # 4 attempts per bulk request (retries 3); 250 documents per request.
        sink = es_sink(proxy.url, stream, batch_docs=250, retries=3, retry_backoff=0.05)
        proxy.reject_requests(3)  # the template's PUT: retried until the 4th attempt
        proxy.bulk_faults(
            # Poll 1. Half the items of its first request rejected, then half of each retry,
            # longer than the sink retries: 125 + 62 + 31 + 15 rejected, the 16th item first
            # of the 15 left unresolved. The run goes on with the next requests: one passes,
            # the one after is rejected whole on every attempt, which ends the poll.
            *["item_429"] * 4,
            "pass",
            *["request_429"] * 4,
            # Poll 2: its first request rejected whole on every attempt, nothing confirmed.
            *["request_429"] * 4,
            # Poll 3: a burst the sink rides out, then a request the node indexes twice
            # while the client hears 504 (the transport sends it again: 409s, acked).
            *["request_429"] * 2,
            "pass",
            *["response_lost"] * 2,
        )
        errors = follow_until_done(path, sink, last)
        assert proxy.pending == 0
        injected = dict(proxy.injected)
        bulks, url = proxy.bulk_requests, proxy.url
    assert injected == {
        "request_429": 3 + 4 + 4 + 2,
        "item_429": 125 + 62 + 31 + 15,
        "response_lost": 2,
    }
    assert errors == [
        f"sink 'es': {3_000 - 15} documents not acknowledged after seq 15; "
        "the next run sends them again",
        f"sink 'es': bulk request to {url} failed: 429 es_rejected_execution_exception: "
        + REJECTED,
    ]
    with closing(open_store(path)) as con:
        held = assert_exactly_once(con, es, stream)
    print(
        f"\n429 bursts: {injected['request_429']} whole-request 429s, {injected['item_429']} "
        f"item 429s, {injected['response_lost']} lost responses over {bulks} bulk requests; "
        f"{held} of {last} events held once, {len(errors)} failed polls"
    )


def test_a_429_burst_at_the_start_does_not_fail_the_run(
    es: Elasticsearch, es_node: str, stream: str, tmp_path: Path
) -> None:
    """The setup requests (template, data stream lookup) back off like the bulk ones."""
    path = tmp_path / "evidence.duckdb"
    with closing(open_store(path)) as con:
        last = append_events(con, 200)
        with EsFaultProxy(es_node) as proxy:
            proxy.reject_requests(4)
            sink = es_sink(proxy.url, stream, retries=5, retry_backoff=0.05)
            assert forward(con, sink) == ForwardResult(sent=200, skipped=0, dead=0, last_seq=last)
            assert proxy.injected == {"request_429": 4}
            # A burst longer than the retries fails the run with the cause, and no cursor.
            proxy.reject_requests(3)
            url = proxy.url
            with pytest.raises(SinkError) as e:
                forward(con, es_sink(proxy.url, stream + "-2", retries=2, retry_backoff=0.05))
        assert str(e.value) == (
            f"sink 'es': cannot install the index template at {url}: "
            "429 es_rejected_execution_exception: " + REJECTED
        )
        assert_exactly_once(con, es, stream)


MALFORMED_TARGETS: list[Any] = [
    {"id": "00u9", "type": "User"},  # an object, not a list
    "00u9",
    17,
    [1, "x", None, True],
    [[{"id": "00u9", "type": "User"}]],
    [{"id": {"nested": 1}, "type": ["User"], "displayName": 3}],
    None,
]


def test_malformed_target_lists_do_not_stall_the_elasticsearch_sink(
    es: Elasticsearch, es_node: str, stream: str, tmp_path: Path
) -> None:
    """issue 14 moved the target list into batch.sql with TRY_CAST: a record whose `target`
    is no list of objects still maps, lands in Elasticsearch, and the cursor moves on."""
    with closing(open_store(tmp_path / "evidence.duckdb")) as con:
        ids = []
        for seq, target in enumerate(MALFORMED_TARGETS, start=1):
            raw = {
                "uuid": f"u-{seq}",
                "eventType": "user.lifecycle.create",
                "published": "2024-01-01T00:00:00Z",
                "actor": {"id": "a1", "alternateId": "admin@example.com"},
                "target": target,
            }
            ids.append(
                add_event(
                    con, seq, source="okta", native_id=f"u-{seq}", action="user.create", raw=raw
                )
            )
        last = append_events(con, 10)
        result = forward(con, es_sink(es_node, stream))
        assert result == ForwardResult(sent=len(ids) + 10, skipped=0, dead=0, last_seq=last)
        held = es_ids(es, stream)
        assert sorted(held) == sorted(store_ids(con))
        hits = es.search(index=stream, query={"ids": {"values": ids}}, size=50)["hits"]["hits"]
        assert {h["_id"]: h["_source"]["event"]["id"] for h in hits} == {
            eid: f"u-{i}" for i, eid in enumerate(ids, start=1)
        }
        assert all("target" not in h["_source"].get("user", {}) for h in hits)
