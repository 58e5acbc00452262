"""Export sources and batch helpers the per-kind connector tests share (not a test module)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors import connector
from connectors.records import EVENT_SCHEMA, SNAPSHOT_SCHEMAS, SourceBatch
from evidence.config import SourceConfig, source_config

DATA = Path(__file__).parent / "data"
REFERENCE = Path("/work/shared/reference-data")
AS_OF = "2025-12-01T00:00:00Z"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def check_schemas(batch: SourceBatch) -> None:
    """Every table a connector hands over matches the contract exactly."""
    for snap in batch.snapshots:
        assert snap.rows.schema == SNAPSHOT_SCHEMAS[snap.table], snap.table
    assert batch.events.schema == EVENT_SCHEMA


def rows(batch: SourceBatch, table: str) -> list[dict[str, Any]]:
    (snap,) = [s for s in batch.snapshots if s.table == table]
    return snap.rows.to_pylist()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_source(source: SourceConfig) -> list[SourceBatch]:
    """A source's export batches, through the registry as `evidence sync` reads them."""
    return connector(source).read_export(source)


HR_COLUMNS = {
    "person_id": "Employee ID",
    "email": "Work Email",
    "display_name": "Preferred Name",
    "aliases": "Other Emails",
    "department": "Dept",
    "title": "Job Title",
    "manager_id": "Manager ID",
    "employment_type": "Worker Type",
    "status": "Worker Status",
    "hire_date": "Start Date",
    "termination_date": "Last Day",
}


def hr_source(path: Path, **extra: Any) -> SourceConfig:
    settings: dict[str, Any] = {
        "name": "workday",
        "kind": "hris",
        "path": path,
        "timezone": "America/New_York",
        "as_of": AS_OF,
        "columns": HR_COLUMNS,
        "status_values": {"Active": "active", "On Leave": "leave", "Terminated": "terminated"},
        "employment_type_values": {"Regular": "employee", "Contractor": "contractor"},
    }
    return source_config(**{**settings, **extra})


def okta_source(path: Path = DATA / "okta", **extra: Any) -> SourceConfig:
    return source_config(
        **{"name": "okta", "kind": "okta", "path": path, "tenant": "example.okta.com",
           "as_of": AS_OF, **extra}
    )  # fmt: skip


def scim_source(path: Path = DATA / "scim", **extra: Any) -> SourceConfig:
    settings = {"name": "slack-scim", "kind": "scim", "path": path, "app": "Slack", "as_of": AS_OF}
    return source_config(**{**settings, **extra})


GITHUB_COLUMNS = {
    "user_name": "login", "active": "state", "last_login_at": "last_active",
    "created_at": "created", "entitlements": "teams", "display_name": "name",
}  # fmt: skip


def app_source(path: Path = DATA / "apps" / "github.csv", **extra: Any) -> SourceConfig:
    settings = {"name": "github", "kind": "app_export", "path": path, "app": "GitHub",
                "as_of": AS_OF, "columns": GITHUB_COLUMNS}  # fmt: skip
    return source_config(**{**settings, **extra})
