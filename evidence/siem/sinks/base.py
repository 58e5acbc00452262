"""What every SIEM destination implements, so the forwarder knows nothing of transports.

A mapping module (`evidence.siem.mappings`: ECS, OCSF, CEF) turns events into `Doc`s: the
serialized document plus the event's id and seq. A sink delivers a batch of them and says, per
event id, which it acknowledged and which it refused (and why). The forwarder owns the cursor
and the dead letters; a sink owns only its transport. The NDJSON file, Elasticsearch, syslog
and Splunk HEC sinks (one module each in this package) implement the same protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["Doc", "SendResult", "Sink"]


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
