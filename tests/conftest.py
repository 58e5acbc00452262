"""Shared fixtures: a store in a temp dir and small builders of canonical batches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from connectors.okta.mapping import okta_lifecycle
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
    if table == "idp_users":
        # Hand-built IdP users are Okta's unless they say otherwise: the lifecycle follows
        # their status as the Okta connector maps it.
        rows = [{"lifecycle": okta_lifecycle(r.get("status")), **r} for r in rows]
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


def detected_tenant(folder: Path, seed: int, people: int = 200, apps: int = 8) -> Path:
    """A synthetic tenant generated into `folder`, synced and detected; its store's path."""
    from connectors.synthetic import generate_tenant
    from evidence.config import load_config
    from evidence.detections.runner import detect
    from evidence.sync import sync_sources

    generate_tenant(folder, seed=seed, people=people, apps=apps)
    cfg = load_config(folder / "evidence.toml")
    con = open_store(cfg.store.path)
    try:
        assert all(o.ok for o in sync_sources(con, cfg))
        detect(con, cfg.policy)
    finally:
        con.close()
    return cfg.store.path
