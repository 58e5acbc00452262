"""The analysts' views (`v_events`, `v_access_intervals`, ...): a public contract like the
tables, each one `.sql` file under sql/views/, created by the schema's migrations.

VIEWS lists them in creation order (v_findings reads v_people_current) with their columns,
the contract that tests and the README hold them to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evidence.sql import load_sql

if TYPE_CHECKING:
    import duckdb

__all__ = ["VIEWS", "create_views"]

VIEWS: dict[str, tuple[str, ...]] = {
    "v_events": (
        "event_id", "seq", "run_id", "source", "native_id", "native_type", "occurred_at",
        "ingested_at", "action", "outcome", "actor", "person_id", "app", "account_id",
        "entitlement", "details", "inferred", "raw", "event_hash",
        "native_app", "native_person_id", "person_via",
    ),
    "v_access_intervals": (
        "person_id", "app", "account_id", "account", "entitlement", "valid_from", "valid_to",
        "evidence",
    ),
    "v_people_current": (
        "person_id", "email", "aliases", "display_name", "department", "title", "manager_id",
        "employment_type", "status", "hire_date", "termination_date", "source", "valid_from",
    ),
    "v_findings": (
        "finding_id", "kind", "subkind", "severity", "status", "app", "account_id", "account",
        "person_id", "entitlement", "rule", "controls", "first_seen_at", "last_seen_at",
        "resolved_at", "explanation", "evidence", "accepted_ticket", "accepted_owner",
        "accepted_until", "person_name", "person_department",
    ),
    "v_deprovision_latency": (
        "person_id", "display_name", "termination_at", "app", "status", "access_ended_at",
        "latency_hours", "measured_by", "evidence",
    ),
    "v_joiners_movers_leavers": (
        "person_id", "change", "occurred_at", "department", "title", "previous_department",
        "previous_title", "source", "inferred", "event_id",
    ),
}  # fmt: skip


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """CREATE OR REPLACE every analyst view from its file (inside the caller's transaction)."""
    for name in VIEWS:
        con.execute(load_sql("evidence.store", f"sql/views/{name}.sql"))
