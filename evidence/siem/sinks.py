"""What every SIEM destination implements, so the forwarder knows nothing of transports.

A mapping module (ECS today; OCSF and CEF later) turns events into `Doc`s: the serialized
document plus the event's id and seq. A sink delivers a batch of them and says, per event id,
which it acknowledged and which it refused (and why). The forwarder owns the cursor and the
dead letters; a sink owns only its transport. The NDJSON file sink lives in `ndjson.py`; the
Elasticsearch, syslog and Splunk HEC sinks implement the same protocol.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import duckdb

__all__ = ["Doc", "SendResult", "Sink", "json_path", "query_docs"]


@dataclass(frozen=True, slots=True)
class Doc:
    """One event rendered for a destination: `body` is one serialized document, no newline."""

    event_id: str
    seq: int
    body: str


@dataclass(slots=True)
class SendResult:
    """A sink's answer for one batch: acknowledged event ids and refused ids with reasons.

    An id in neither is unresolved (e.g. a retryable bulk error): the forwarder stops its
    cursor before it and sends it again on the next run.
    """

    acked: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Sink(Protocol):
    """A SIEM destination."""

    def last_delivered(self) -> str | None:
        """Repair what a crash left behind; the event id of the newest document held, if known.

        Called once before the first batch. A destination that de-duplicates by itself (an
        Elasticsearch index with `_id` = event id) may return None.
        """
        ...

    def send(self, docs: Sequence[Doc]) -> SendResult:
        """Deliver the documents in order; raise SinkError when the destination is unusable."""
        ...

    def close(self) -> None:
        """Release the transport."""
        ...


def json_path(body: str, path: tuple[str, ...]) -> str | None:
    """The string at `path` in a JSON document, or None (not JSON, or no string there)."""
    try:
        node = json.loads(body)
    except ValueError:
        return None
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, str) else None


def query_docs(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[Doc]:
    """A mapping query's rows, (id, seq, body) each, as documents."""
    return [Doc(doc_id, seq, body) for doc_id, seq, body in con.execute(sql, params).fetchall()]
