"""Shared fixtures: a store in a temp dir and small builders of canonical batches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from connectors.records import EVENT_SCHEMA, SNAPSHOT_SCHEMAS, Snapshot, SourceBatch
from evidence.store.db import open_store

pytest_plugins = ["tests.es.node"]  # the real Elasticsearch node: es_node, es_process


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "evidence.duckdb"


@pytest.fixture
def store(store_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_store(store_path)
    yield con
    con.close()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def snap(table: str, rows: list[dict], apps: tuple[str, ...] | None = None) -> Snapshot:
    return Snapshot(table, pa.Table.from_pylist(rows, schema=SNAPSHOT_SCHEMAS[table]), apps)


def events(rows: list[dict]) -> pa.Table:
    base = {name: None for name in EVENT_SCHEMA.names}
    return pa.Table.from_pylist([{**base, **r} for r in rows], schema=EVENT_SCHEMA)


def batch(
    source: str,
    kind: str,
    as_of: datetime,
    *snaps: Snapshot,
    ev: pa.Table | None = None,
    tenant: str | None = None,
) -> SourceBatch:
    b = SourceBatch(
        source=source, kind=kind, tenant=tenant or source, as_of=as_of, snapshots=list(snaps)
    )
    if ev is not None:
        b.events = ev
    return b


# Real SCIM servers (started on demand by the tests that name these fixtures).
from tests.servers.canaille_server import canaille_server_fixture  # noqa: E402, F401
from tests.servers.scim2_server import scim2_server_fixture  # noqa: E402, F401
