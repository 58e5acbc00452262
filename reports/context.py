"""What a report query may read besides the store: its parameters and the policy's tables.

Every value a query takes is a DuckDB `$name` from `PARAMETERS`, supplied by `query_values`;
list-valued policy (SoD rules, privileged globs, service accounts, configured sources) is in
temp tables that `install_tables` creates on the report's connection before any query runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from evidence.config import Policy, SourceConfig

__all__ = ["PARAMETERS", "TABLES", "install_tables", "query_values"]

# $names a query may use, and where each comes from.
PARAMETERS = (
    "period_start",  # the period, half-open, UTC
    "period_end",
    "as_of",  # data cut-off: the newest completed sync at or before the period's end
    "evidence_until",  # the newest completed sync in the store
    "grace_hours",  # [policy]
    "deprovision_sla_hours",
    "mover_days",
    "privilege_window_days",
    "privilege_growth_max",
    "dormant_days",
    "max_source_silence_hours",
)

# Temp tables every report query may read (see install_tables).
TABLES = (
    "_license_cost",  # (app, cost): per seat per month
    "_sod_rules",  # (name, a_app, a_entitlement, b_app, b_entitlement)
    "_time_bound",  # (app, entitlement, max_days)
    "_privileged",  # (pattern): lower-cased globs, match with lower(entitlement) GLOB pattern
    "_service_accounts",  # (app, pattern, owner): glob on the account's user_name
    "_sources",  # (source, kind): the configured sources, else every source the store synced
)


def query_values(
    policy: Policy,
    *,
    period_start: datetime,
    period_end: datetime,
    as_of: datetime,
    evidence_until: datetime,
) -> dict[str, Any]:
    """The value of every name in PARAMETERS for one report."""
    return {
        "period_start": period_start,
        "period_end": period_end,
        "as_of": as_of,
        "evidence_until": evidence_until,
        "grace_hours": float(policy.grace_hours),
        "deprovision_sla_hours": float(policy.deprovision_sla_hours),
        "mover_days": int(policy.mover_days),
        "privilege_window_days": int(policy.privilege_window_days),
        "privilege_growth_max": int(policy.privilege_growth_max),
        "dormant_days": int(policy.dormant_days),
        "max_source_silence_hours": float(policy.max_source_silence_hours),
    }


def install_tables(
    con: duckdb.DuckDBPyConnection,
    policy: Policy,
    sources: Sequence[SourceConfig] | None = None,
) -> None:
    """Create the temp tables of TABLES on `con` (a read-only connection will do).

    `sources` are the configured sources; without a config (None or empty), every source that
    has a completed sync in the store counts as configured.
    """
    from evidence.detections.runner import policy_tables

    policy_tables(con, policy)
    svc = pa.Table.from_pylist(
        [{"app": s.app, "pattern": s.account, "owner": s.owner} for s in policy.service_accounts],
        schema=pa.schema([("app", pa.string()), ("pattern", pa.string()), ("owner", pa.string())]),
    )
    configured = pa.Table.from_pylist(
        [{"source": s.name, "kind": s.kind} for s in sources or ()],
        schema=pa.schema([("source", pa.string()), ("kind", pa.string())]),
    )
    con.register("_service_accounts_in", svc)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _service_accounts AS SELECT * FROM _service_accounts_in"
    )
    con.unregister("_service_accounts_in")
    if configured.num_rows:
        con.register("_sources_in", configured)
        con.execute("CREATE OR REPLACE TEMP TABLE _sources AS SELECT * FROM _sources_in")
        con.unregister("_sources_in")
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _sources AS SELECT source, any_value(kind) AS kind "
            "FROM sync_runs WHERE status = 'ok' AND kind <> 'detect' GROUP BY source"
        )
