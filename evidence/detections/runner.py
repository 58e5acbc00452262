"""Run every detection at the store's "now" and upsert the findings, in one transaction.

A finding's id is derived from what it is about (kind, subkind, app, account, entitlement,
person, rule), so the same problem is the same row run after run: first_seen_at stays,
last_seen_at moves, a vanished one is resolved and a returning one reopened. Every status
change is also written as a `finding.*` event through the same append path as sync runs, so
findings join the hash chain and reach the SIEM exactly once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from evidence.config import Policy
from evidence.detections.loader import SEVERITIES, Detection, load_detections
from evidence.errors import StoreError
from evidence.matching import build_account_owners, build_links
from evidence.sql import load_sql, run_sql
from evidence.store.ledger import record_findings
from evidence.store.load import create_events_in, finish_run

__all__ = [
    "DetectResult",
    "detect",
    "evaluate",
    "open_at_or_above",
    "policy_tables",
    "store_now",
]


@dataclass
class DetectResult:
    run_id: int
    as_of: datetime
    counts: dict[str, int] = field(default_factory=dict)
    opened: int = 0
    resolved: int = 0
    reopened: int = 0
    accepted: int = 0
    rematched: int = 0  # accounts whose owner the matcher re-decided this run


def _sql(name: str) -> str:
    return load_sql("evidence.detections", f"sql/{name}")


def store_now(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The newest as_of of any completed sync (detect runs excluded)."""
    rows = con.execute(
        "SELECT max(as_of) FROM sync_runs WHERE status = 'ok' AND kind <> 'detect'"
    ).fetchall()
    value = rows[0][0] if rows else None
    return value.astimezone(UTC) if value else None


def _policy_json(policy: Policy) -> str:
    return json.dumps(policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def _accepted_table(policy: Policy) -> pa.Table:
    rows = [
        {
            "kind": r.kind,
            "subkind": r.subkind,
            "app": r.app,
            "account": r.account,
            "entitlement": r.entitlement,
            "person_id": r.person_id,
            "owner": r.owner,
            "ticket": r.ticket,
            "expires": r.expires,
        }
        for r in policy.accepted_risks
    ]
    schema = pa.schema(
        [
            ("kind", pa.string()),
            ("subkind", pa.string()),
            ("app", pa.string()),
            ("account", pa.string()),
            ("entitlement", pa.string()),
            ("person_id", pa.string()),
            ("owner", pa.string()),
            ("ticket", pa.string()),
            ("expires", pa.timestamp("us", "UTC")),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def policy_tables(con: duckdb.DuckDBPyConnection, policy: Policy) -> None:
    """Temp tables of the list- and map-valued policy keys, which bind poorly as parameters:
    `_license_cost(app, cost)` (per seat per month) and
    `_sod_rules(name, a_app, a_entitlement, b_app, b_entitlement)`,
    `_time_bound(app, entitlement, max_days)` and `_privileged(pattern)` (lower-cased globs)."""
    cost = pa.Table.from_pylist(
        [{"app": k, "cost": float(v)} for k, v in policy.license_cost.items()],
        schema=pa.schema([("app", pa.string()), ("cost", pa.float64())]),
    )
    sod = pa.Table.from_pylist(
        [
            {
                "name": r.name,
                "a_app": r.a.app,
                "a_entitlement": r.a.entitlement,
                "b_app": r.b.app,
                "b_entitlement": r.b.entitlement,
            }
            for r in policy.sod
        ],
        schema=pa.schema(
            [(c, pa.string()) for c in ("name", "a_app", "a_entitlement", "b_app", "b_entitlement")]
        ),
    )
    time_bound = pa.Table.from_pylist(
        [
            {"app": t.app, "entitlement": t.entitlement, "max_days": int(t.max_days)}
            for t in policy.time_bound
        ],
        schema=pa.schema(
            [("app", pa.string()), ("entitlement", pa.string()), ("max_days", pa.int64())]
        ),
    )
    # Globs are matched case-blind: stored lower-cased, compared with lower(entitlement).
    privileged = pa.Table.from_pylist(
        [{"pattern": p.lower()} for p in policy.privileged],
        schema=pa.schema([("pattern", pa.string())]),
    )
    for name, table in (
        ("_license_cost", cost),
        ("_sod_rules", sod),
        ("_time_bound", time_bound),
        ("_privileged", privileged),
    ):
        con.register(f"{name}_in", table)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_in")
        con.unregister(f"{name}_in")


# Temp tables shared by the detections of one kind: built before the first of them runs,
# dropped after the last. Creep: held-since and role/peer facts (creep_holdings.sql); drift:
# the IdP links between desired and actual state (matching_links.sql).
_SHARED = {
    "creep": ("_held", "_creep_judged"),
    "drift": ("_account_idp", "_app_names", "_desired_assignments", "_assigned_accounts"),
}


def _prepare(con: duckdb.DuckDBPyConnection, kind: str, params: dict) -> None:
    """Build `kind`'s shared tables (see _SHARED), if it has any."""
    if kind == "creep":
        run_sql(con, _sql("creep_holdings.sql"), params)
    elif kind == "drift":
        build_links(con)


def _run_detection(con: duckdb.DuckDBPyConnection, d: Detection, params: dict) -> int:
    meta = {
        "d_kind": d.kind,
        "d_subkind": d.subkind,
        "d_severity": d.severity,
        "d_controls": json.dumps(list(d.controls)),
    }
    body = d.sql.strip().rstrip(";")
    sql = (
        "INSERT INTO _found SELECT $d_kind, $d_subkind, $d_severity, $d_controls::JSON, "
        "q.app, q.account_id, q.account, q.person_id, q.entitlement, q.rule, q.explanation, "
        f"q.evidence::JSON FROM (\n{body}\n) AS q"
    )
    rows = run_sql(con, sql, {**params, **meta})
    return int(rows[0][0]) if rows else 0


def evaluate(
    con: duckdb.DuckDBPyConnection,
    policy: Policy,
    now: datetime,
    run_id: int,
    detections: list[Detection],
    *,
    rematch: bool = False,
) -> DetectResult:
    """Match owners and run every detection at `now`, leaving this run's findings with their
    intended status in the temp table `_next` (next_findings.sql); write no finding. The
    matcher brings account_facts, idp_user_owners and match_state up to date (run `run_id`).
    Call inside the caller's transaction."""
    rematched = build_account_owners(con, policy, run_id, full=rematch)
    policy_tables(con, policy)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _found (kind VARCHAR, subkind VARCHAR, "
        "severity VARCHAR, controls JSON, app VARCHAR, account_id VARCHAR, account VARCHAR, "
        "person_id VARCHAR, entitlement VARCHAR, rule VARCHAR, explanation VARCHAR, "
        "evidence JSON)"
    )
    params = {"now": now, **policy.model_dump(mode="python")}
    result = DetectResult(run_id=run_id, as_of=now, rematched=rematched)
    for i, d in enumerate(detections):
        if all(earlier.kind != d.kind for earlier in detections[:i]):
            _prepare(con, d.kind, params)
        result.counts[f"{d.kind}/{d.subkind}"] = _run_detection(con, d, params)
        if all(later.kind != d.kind for later in detections[i + 1 :]):
            # Free a kind's shared tables once its last detection ran: the memory limit is
            # better spent on the next ones' joins.
            for table in _SHARED.get(d.kind, ()):
                con.execute(f"DROP TABLE IF EXISTS {table}")
    con.register("_accepted_in", _accepted_table(policy))
    run_sql(con, _sql("next_findings.sql"), {"now": now})
    con.unregister("_accepted_in")
    return result


def detect(
    con: duckdb.DuckDBPyConnection,
    policy: Policy,
    *,
    as_of: datetime | None = None,
    detections: list[Detection] | None = None,
    rematch: bool = False,
) -> DetectResult:
    """Evaluate every detection at `as_of` (default: the store's now) and upsert findings.
    `rematch` re-matches every account, not only those whose inputs changed."""
    now = as_of.astimezone(UTC) if as_of else store_now(con)
    if now is None:
        raise StoreError("the store holds no completed sync yet: run `evidence sync` first")
    detections = detections if detections is not None else load_detections()
    started = datetime.now(UTC)
    policy_text = _policy_json(policy)
    con.execute("BEGIN TRANSACTION")
    try:
        run_id = int(con.execute("SELECT nextval('run_id_seq')").fetchall()[0][0])
        result = evaluate(con, policy, now, run_id, detections, rematch=rematch)
        con.execute(_sql("upsert_findings.sql"))
        run_sql(con, _sql("apply_findings.sql"), {"now": now})
        record_findings(con, run_id, now)  # the rows it wrote, for its rows digest
        as_of_text = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        create_events_in(con)
        run_sql(
            con,
            "INSERT INTO _events_in " + _sql("finding_events.sql"),
            {"now": now, "as_of_text": as_of_text, "run_id": run_id},
        )
        for action, n in con.execute(
            "SELECT action, count(*) FROM _transitions WHERE action IS NOT NULL GROUP BY 1"
        ).fetchall():
            if action == "finding.open":
                result.opened = int(n)
            elif action == "finding.resolve":
                result.resolved = int(n)
            elif action == "finding.reopen":
                result.reopened = int(n)
            elif action == "finding.accept":
                result.accepted = int(n)
        finish_run(
            con,
            run_id=run_id,
            source="detect",
            kind="detect",
            tenant="detect",
            mode="full",
            as_of=now,
            started=started,
            counts={
                "findings": result.counts,
                "opened": result.opened,
                "resolved": result.resolved,
                "reopened": result.reopened,
                "accepted": result.accepted,
            },
        )
        run_sql(
            con,
            "INSERT INTO detect_runs VALUES ($run_id, $now, $started, $finished, $policy::JSON, "
            "$policy_hash, $counts::JSON)",
            {
                "run_id": run_id,
                "now": now,
                "started": started,
                "finished": datetime.now(UTC),
                "policy": policy_text,
                "policy_hash": hashlib.sha256(policy_text.encode()).hexdigest(),
                "counts": json.dumps(result.counts, sort_keys=True),
            },
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def open_at_or_above(con: duckdb.DuckDBPyConnection, severity: str) -> int:
    """How many open findings have `severity` (one of SEVERITIES) or a worse one."""
    worse = list(SEVERITIES[SEVERITIES.index(severity) :])
    rows = run_sql(con, _sql("open_at_or_above.sql"), {"severities": worse})
    return int(rows[0][0])
