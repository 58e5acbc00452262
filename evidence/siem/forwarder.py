"""Forward events (and finding status changes, which are events) to one sink, exactly once.

How exactly-once holds:

1. The sink's cursor (`sink_cursors.last_seq`) is the last seq it acknowledged. A run reads
   events with seq > cursor, in seq order, `batch_size` at a time, maps them (ECS today) and
   hands each batch to the sink.
2. After a batch, the cursor moves to the end of its longest prefix in which every event was
   acknowledged or refused, and the refused ones go to `dead_letters`, in one transaction. An
   event the sink neither acknowledged nor refused stops the run (SinkError) with the cursor
   just before it, so the next run sends it again.
3. The only gap is a crash after the sink has the documents but before the cursor commit.
   Destinations that de-duplicate (Elasticsearch with `_id` = event id and op_type create)
   need nothing more. The NDJSON file cannot, so at the start of a run the sink repairs its
   tail: a torn last line is cut off, and the last complete line names the newest event the
   file holds. Lines are appended strictly in seq order, one fsync'ed batch at a time, and
   the cursor never passes a line that is not on disk, so the lines after the cursor are
   exactly the events with seq in (cursor, seq of that last line]. The run counts those as
   `skipped` and commits the cursor there before sending anything, whatever batch size the
   crashed run used. A last line naming an event this store does not hold (another file) or
   one at or before the cursor changes nothing.
4. A re-run with nothing new sends nothing and leaves the file byte for byte as it was.

A data stream in Elasticsearch cannot de-duplicate across a rollover, so there the cursor
is the only guard (ARCHITECTURE.md).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import duckdb

from evidence.config import SinkConfig
from evidence.errors import ConfigError, SinkError, StoreBusy
from evidence.siem.mappings import cef, ecs, ocsf
from evidence.siem.sinks.base import Doc, Sink
from evidence.siem.sinks.elasticsearch import open_elasticsearch
from evidence.siem.sinks.hec import HecSink
from evidence.siem.sinks.ndjson import NdjsonSink
from evidence.siem.sinks.syslog import SyslogSink
from evidence.sql import load_sql

__all__ = [
    "STREAMS",
    "ForwardResult",
    "follow",
    "forward",
    "forward_streams",
    "open_sink",
    "streams",
]

Mapper = Callable[..., list[Doc]]
# How each format's document names its event, for the NDJSON file's crash repair.
_EVENT_IDS: dict[str, Callable[[str], str | None]] = {
    "ecs": ecs.event_id_of,
    "ocsf": ocsf.event_id_of,
    "cef": cef.event_id_of,
}


def _statements() -> dict[str, str]:
    text = load_sql("evidence.siem", "forwarder.sql")
    parts = re.split(r"^-- name: (\w+)\s*$", text, flags=re.M)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


_SQL = _statements()


def _event_seq(con: duckdb.DuckDBPyConnection, event_id: str, after: int) -> int | None:
    return _scalar(con, "seq_of", {"event_id": event_id, "after": after})


@dataclass(frozen=True, slots=True)
class _Stream:
    """One ordered feed a sink receives, with its own cursor (and dead-letter) key: the sink's
    name plus `suffix`. `seq_of` finds the seq of a document id past a cursor (crash repair;
    None when it is not past it) and `count_between` counts the feed's rows in a seq range."""

    suffix: str
    mappers: dict[str, Mapper]
    seq_of: Callable[[duckdb.DuckDBPyConnection, str, int], int | None]
    count_between: str


STREAMS: dict[str, _Stream] = {
    "events": _Stream(
        "",
        {"ecs": ecs.documents, "ocsf": ocsf.documents, "cef": cef.documents},
        _event_seq,
        "count_between",
    ),
    # Every account version an app listed, as an ECS asset document (inventory, not activity:
    # OCSF's and CEF's event classes have no place for it), in the order stored.
    "assets": _Stream(
        "/assets", {"ecs": ecs.asset_documents}, ecs.asset_seq_of, "asset_count_between"
    ),
}


def streams(sink: SinkConfig) -> list[str]:
    """The feeds `evidence forward` sends a sink: events, then account versions as assets
    where the sink wants them (`assets`, on by default) and its format has them."""
    if sink.assets and sink.format in STREAMS["assets"].mappers:
        return ["events", "assets"]
    return ["events"]


@dataclass(frozen=True, slots=True)
class ForwardResult:
    """What one forward run did: documents acknowledged, skipped as already delivered, and
    refused (dead-lettered), and the sink's cursor afterwards."""

    sent: int
    skipped: int
    dead: int
    last_seq: int


def open_sink(sink: SinkConfig) -> Sink:
    """The transport for a configured sink."""
    if sink.kind == "ndjson":
        if sink.path is None:
            raise ConfigError(f"sink {sink.name!r}: an ndjson sink needs `path`")
        return NdjsonSink(sink.path, _EVENT_IDS[sink.format])
    if sink.kind == "syslog":
        return SyslogSink.from_config(sink)
    if sink.kind == "splunk_hec":
        return HecSink.from_config(sink)
    if sink.kind == "elasticsearch":
        return open_elasticsearch(sink)
    raise ConfigError(f"sink {sink.name!r}: kind {sink.kind!r} is not available yet")


def forward(
    con: duckdb.DuckDBPyConnection,
    sink: SinkConfig,
    *,
    batch_size: int = 5000,
    destination: Sink | None = None,
    stream: str = "events",
) -> ForwardResult:
    """Send every document of `stream` after the sink's cursor for it, exactly once.

    `destination` replaces the transport `open_sink` would build (a follow loop keeps one
    open; tests use it to cut a run short); it is closed either way.
    """
    if batch_size < 1:
        raise ConfigError(f"sink {sink.name!r}: batch size must be at least 1")
    feed = STREAMS[stream]
    mapper = feed.mappers.get(sink.format)
    if mapper is None:
        raise ConfigError(f"sink {sink.name!r}: format {sink.format!r} has no {stream} documents")
    transport = destination if destination is not None else open_sink(sink)
    try:
        return _run(con, sink.name + feed.suffix, feed, mapper, transport, batch_size)
    finally:
        transport.close()


def _run(
    con: duckdb.DuckDBPyConnection,
    name: str,
    feed: _Stream,
    mapper: Mapper,
    transport: Sink,
    batch_size: int,
) -> ForwardResult:
    cursor = _scalar(con, "cursor", {"sink": name}) or 0
    sent = dead = 0
    skipped, cursor = _recover(con, name, feed, transport, cursor)
    # The next batch is mapped on a second connection while this one is sent: DuckDB runs
    # the query without the GIL, so mapping overlaps the destination's indexing time. A
    # mapping query is planned anew each call (tens of ms for ECS), so it maps several send
    # batches at once; each is still sent, and its cursor committed, on its own.
    map_size = max(batch_size, _MAP_ROWS)
    reader = con.cursor()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="siem-map") as pool:
            pending = pool.submit(mapper, reader, after_seq=cursor, limit=map_size)
            while mapped := pending.result():
                pending = pool.submit(mapper, reader, after_seq=mapped[-1].seq, limit=map_size)
                for start in range(0, len(mapped), batch_size):
                    docs = mapped[start : start + batch_size]
                    result = transport.send(docs)
                    acked = set(result.acked)
                    new_cursor, refused, unresolved = cursor, [], 0
                    for i, doc in enumerate(docs):
                        if doc.event_id in result.refused:
                            refused.append(doc)
                        elif doc.event_id in acked:
                            sent += 1
                        else:
                            unresolved = len(docs) - i
                            break
                        new_cursor = doc.seq
                    if new_cursor != cursor:
                        _commit(con, name, new_cursor, refused, result.refused)
                    dead += len(refused)
                    cursor = new_cursor
                    if unresolved:
                        raise SinkError(
                            f"sink {name!r}: {unresolved} documents not acknowledged after seq "
                            f"{cursor}; the next run sends them again"
                        )
    finally:
        reader.close()
    return ForwardResult(sent=sent, skipped=skipped, dead=dead, last_seq=cursor)


# Documents one mapping query makes at least (see _run).
_MAP_ROWS = 20_000


def _recover(
    con: duckdb.DuckDBPyConnection, name: str, feed: _Stream, transport: Sink, cursor: int
) -> tuple[int, int]:
    """Skip what the destination already holds past the cursor; (skipped, new cursor)."""
    last_id = transport.last_delivered()
    if last_id is None:
        return 0, cursor
    held = feed.seq_of(con, last_id, cursor)
    if held is None or held <= cursor:
        return 0, cursor
    skipped = _scalar(con, feed.count_between, {"after": cursor, "upto": held}) or 0
    _commit(con, name, held, [], {})
    return skipped, held


def _commit(
    con: duckdb.DuckDBPyConnection,
    name: str,
    last_seq: int,
    refused: list[Doc],
    reasons: dict[str, str],
) -> None:
    """Dead letters and the cursor move together or not at all."""
    con.execute("BEGIN TRANSACTION")
    try:
        if refused:
            rows = [
                {
                    "event_id": d.event_id,
                    "seq": d.seq,
                    "reason": reasons[d.event_id],
                    "document": d.body,
                }
                for d in refused
            ]
            con.execute(_SQL["dead_letters"], {"sink": name, "rows": rows})
        con.execute(_SQL["set_cursor"], {"sink": name, "last_seq": last_seq})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _scalar(con: duckdb.DuckDBPyConnection, statement: str, params: dict[str, Any]) -> Any:
    row = con.execute(_SQL[statement], params).fetchone()
    return row[0] if row else None


def forward_streams(
    con: duckdb.DuckDBPyConnection, sink: SinkConfig
) -> Iterator[tuple[str, ForwardResult]]:
    """Forward each of the sink's `streams` in turn, yielding each one's result as it ends."""
    for stream in streams(sink):
        yield stream, forward(con, sink, stream=stream)


def follow(
    connect: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]],
    sink: SinkConfig,
    *,
    interval: float,
    on_result: Callable[[str, ForwardResult], None],
    on_error: Callable[[SinkError | StoreBusy], None],
    polls: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Forward every `interval` seconds, `polls` times (default: until interrupted).

    Each poll opens the store through `connect`, so syncs and detects can take it in between.
    A sink or store unavailable for one poll goes to `on_error` and is tried again at the next.
    Until a poll succeeds every stream's result goes to `on_result`, then only those that
    moved something.
    """
    first = True
    done = 0
    while True:
        try:
            with connect() as con:
                for stream, result in forward_streams(con, sink):
                    if first or result.sent or result.dead or result.skipped:
                        on_result(stream, result)
        except (SinkError, StoreBusy) as e:
            on_error(e)
        else:
            first = False
        done += 1
        if polls is not None and done >= polls:
            return
        sleep(interval)
