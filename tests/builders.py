"""Builders of test data, one copy each: canonical batches as connectors yield them (`snap`,
`events`, `batch`), exact rows into a real store for the report tests (`Store`), a report query
run as a build runs it (`report_query`), and a synthetic tenant synced and detected
(`detected_tenant`). Test modules import these from here, never from one another.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from connectors.okta.mapping import okta_lifecycle
from connectors.records import EVENT_SCHEMA, SNAPSHOT_SCHEMAS, Snapshot, SourceBatch
from connectors.synthetic import generate_tenant
from evidence.config import Policy, SourceConfig, load_config
from evidence.detections.runner import detect
from evidence.store.db import open_store
from evidence.sync import sync_sources
from reports.catalog import load_query
from reports.context import install_tables, query_values
from reports.population import Table, run_query

# --------------------------------------------------------------------------- instants


def utc(*args: int) -> datetime:
    """`datetime(*args)` in UTC."""
    return datetime(*args, tzinfo=UTC)


def ts(text: str) -> datetime:
    """An RFC 3339 text as a UTC instant."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def eod(day: str) -> datetime:
    """A bare termination date: the end of that day (ARCHITECTURE.md), in UTC."""
    return ts(day + "T23:59:59.999999Z")


def sha(text: str) -> str:
    """The SHA-256 of `text` (UTF-8), in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- canonical batches


def snap(table: str, rows: list[dict], apps: tuple[str, ...] | None = None) -> Snapshot:
    """A snapshot of `table` with these rows, as a connector yields it."""
    if table == "idp_users":
        # Hand-built IdP users are Okta's unless they say otherwise: the lifecycle follows
        # their status as the Okta connector maps it.
        rows = [{"lifecycle": okta_lifecycle(r.get("status")), **r} for r in rows]
    return Snapshot(table, pa.Table.from_pylist(rows, schema=SNAPSHOT_SCHEMAS[table]), apps)


def events(rows: list[dict]) -> pa.Table:
    """Event rows in the canonical schema, unnamed columns null."""
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
    """One source's batch of snapshots (and events), as sync commits it."""
    b = SourceBatch(
        source=source, kind=kind, tenant=tenant or source, as_of=as_of, snapshots=list(snaps)
    )
    if ev is not None:
        b.events = ev
    return b


def detected_tenant(folder: Path, seed: int, people: int = 200, apps: int = 8) -> Path:
    """A synthetic tenant generated into `folder`, synced and detected; its store's path."""
    generate_tenant(folder, seed=seed, people=people, apps=apps)
    cfg = load_config(folder / "evidence.toml")
    con = open_store(cfg.store.path)
    try:
        assert all(o.ok for o in sync_sources(con, cfg))
        detect(con, cfg.policy)
    finally:
        con.close()
    return cfg.store.path


# --------------------------------------------------------------------------- store builders


class Store:
    """Exact rows into a real store, one helper per table the report reads."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._seq = 0
        # The detection stage maintains account_owners; create its contract's shape if absent.
        con.execute(
            "CREATE TABLE IF NOT EXISTS account_owners (app VARCHAR, account_id VARCHAR, "
            "user_name VARCHAR, person_id VARCHAR, matched_by VARCHAR)"
        )

    def run(self, run_id: int, source: str, kind: str, mode: str, as_of: str) -> None:
        at = ts(as_of)
        digest = hashlib.sha256(f"digest-{run_id}".encode()).hexdigest()
        chain = hashlib.sha256(f"chain-{run_id}".encode()).hexdigest()
        self.con.execute(
            "INSERT INTO sync_runs (run_id, source, kind, mode, started_at, finished_at, as_of, "
            "status, digest, chain_hash) VALUES ($id, $src, $kind, $mode, $at, $at, $at, 'ok', "
            "$digest, $chain)",
            {
                "id": run_id,
                "src": source,
                "kind": kind,
                "mode": mode,
                "at": at,
                "digest": digest,
                "chain": chain,
            },
        )

    def person(
        self,
        pid: str,
        name: str,
        status: str,
        *,
        run_id: int,
        valid_from: str,
        valid_to: str | None = None,
        hire: str = "2020-01-06T00:00:00Z",
        termination: datetime | None = None,
        employment_type: str = "employee",
        source: str = "workday",
    ) -> None:
        self.con.execute(
            "INSERT INTO people (source, valid_from, valid_to, run_id, row_hash, person_id, "
            "hire_date, email, display_name, employment_type, status, termination_date) VALUES "
            "($src, $vf, $vt, $run, $hash, $pid, $hire, $email, $name, $etype, $status, $term)",
            {
                "src": source,
                "vf": ts(valid_from),
                "vt": ts(valid_to) if valid_to else None,
                "run": run_id,
                "hash": f"{pid}-{valid_from}",
                "pid": pid,
                "hire": ts(hire),
                "email": f"{pid.lower()}@example.com",
                "name": name,
                "etype": employment_type,
                "status": status,
                "term": termination,
            },
        )

    def account(
        self,
        app: str,
        account_id: str,
        user_name: str,
        active: bool,
        *,
        run_id: int,
        valid_from: str,
        valid_to: str | None = None,
        source: str | None = None,
    ) -> None:
        self.con.execute(
            "INSERT INTO accounts (source, valid_from, valid_to, run_id, row_hash, app, "
            "account_id, user_name, active) VALUES ($src, $vf, $vt, $run, $hash, $app, $id, "
            "$user, $active)",
            {
                "src": source or app,
                "vf": ts(valid_from),
                "vt": ts(valid_to) if valid_to else None,
                "run": run_id,
                "hash": f"{app}-{account_id}-{valid_from}",
                "app": app,
                "id": account_id,
                "user": user_name,
                "active": active,
            },
        )

    def owner(
        self, app: str, account_id: str, user_name: str, person_id: str | None, matched_by: str
    ) -> None:
        values = {
            "app": app,
            "account_id": account_id,
            "user_name": user_name,
            "person_id": person_id,
            "matched_by": matched_by,
        }
        # The detection stage's table may carry more columns than the contract; fill those.
        extra = {"service_account": matched_by == "service_account", "is_current": True}
        have = {
            r[0]
            for r in self.con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'account_owners'"
            ).fetchall()
        }
        values.update({k: v for k, v in extra.items() if k in have})
        cols = ", ".join(values)
        self.con.execute(
            f"INSERT INTO account_facts ({cols}) VALUES ({', '.join('$' + k for k in values)})",
            values,
        )

    def event(
        self,
        action: str,
        at: str,
        *,
        run_id: int,
        source: str,
        app: str,
        account_id: str | None,
        person_id: str | None = None,
        inferred: bool = False,
    ) -> None:
        self._seq += 1
        self.con.execute(
            "INSERT INTO events (event_id, seq, run_id, source, native_type, occurred_at, "
            "ingested_at, action, outcome, person_id, app, account_id, inferred, event_hash) "
            "VALUES ($eid, $seq, $run, $src, $native, $at, $at, $action, 'success', $pid, $app, "
            "$acc, $inferred, $hash)",
            {
                "eid": f"ev-{self._seq}",
                "seq": self._seq,
                "run": run_id,
                "src": source,
                "native": action,
                "at": ts(at),
                "action": action,
                "pid": person_id,
                "app": app,
                "acc": account_id,
                "inferred": inferred,
                "hash": f"h{self._seq}",
            },
        )

    def finding(
        self,
        finding_id: str,
        kind: str,
        subkind: str,
        status: str = "open",
        *,
        app: str,
        account_id: str,
        person_id: str | None,
        first_seen: str,
        resolved_at: str | None = None,
        ticket: str | None = None,
        owner: str | None = None,
        until: str | None = None,
        entitlement: str | None = None,
        rule: str | None = None,
    ) -> None:
        """A finding of severity high, last seen when first seen; an accepted risk has a
        ticket, an owner and an expiry (`until`)."""
        self.con.execute(
            "INSERT INTO findings (finding_id, kind, subkind, severity, status, app, account_id, "
            "account, person_id, entitlement, rule, first_seen_at, last_seen_at, resolved_at, "
            "accepted_ticket, accepted_owner, accepted_until) VALUES ($id, $kind, $sub, 'high', "
            "$status, $app, $acc, $acc, $pid, $ent, $rule, $seen, $seen, $res, $ticket, $owner, "
            "$until)",
            {
                "ent": entitlement,
                "rule": rule,
                "id": finding_id,
                "kind": kind,
                "sub": subkind,
                "status": status,
                "app": app,
                "acc": account_id,
                "pid": person_id,
                "seen": ts(first_seen),
                "res": ts(resolved_at) if resolved_at else None,
                "ticket": ticket,
                "owner": owner,
                "until": ts(until) if until else None,
            },
        )

    # ------------------------------------------------------------------ any table, any column

    def row(self, table: str, **values: Any) -> None:
        """Insert one row into `table` with exactly these columns (strings that look like
        RFC 3339 instants stay strings: pass `ts(...)` for TIMESTAMPTZ columns)."""
        cols = ", ".join(f'"{k}"' for k in values)
        marks = ", ".join(f"${k}" for k in values)
        self.con.execute(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', values)

    def version(
        self,
        table: str,
        *,
        run_id: int,
        valid_from: str,
        valid_to: str | None = None,
        source: str,
        **values: Any,
    ) -> None:
        """One version of a versioned table (people, accounts, grants, assignments, idp_users,
        ...): the bookkeeping columns filled, the rest as given."""
        self.row(
            table,
            source=source,
            valid_from=ts(valid_from),
            valid_to=ts(valid_to) if valid_to else None,
            run_id=run_id,
            row_hash=hashlib.sha256(f"{table}|{source}|{valid_from}|{values}".encode()).hexdigest(),
            **values,
        )

    def grant(
        self,
        app: str,
        account_id: str,
        entitlement: str,
        *,
        run_id: int,
        valid_from: str,
        valid_to: str | None = None,
        privileged: bool | None = None,
        expires_at: str | None = None,
        source: str | None = None,
    ) -> None:
        self.version(
            "grants",
            run_id=run_id,
            valid_from=valid_from,
            valid_to=valid_to,
            source=source or app,
            app=app,
            account_id=account_id,
            entitlement=entitlement,
            privileged=privileged,
            expires_at=ts(expires_at) if expires_at else None,
        )

    def detect_run(self, run_id: int, as_of: str, counts: dict[str, int] | None = None) -> None:
        """A detect run as the runner records it: a sync_runs row of kind detect and a
        detect_runs row."""
        at = ts(as_of)
        self.con.execute(
            "INSERT INTO sync_runs (run_id, source, kind, mode, started_at, finished_at, as_of, "
            "status) VALUES ($id, 'detect', 'detect', 'full', $at, $at, $at, 'ok')",
            {"id": run_id, "at": at},
        )
        self.con.execute(
            "INSERT INTO detect_runs VALUES ($id, $at, $at, $at, '{}'::JSON, 'test', $c::JSON)",
            {"id": run_id, "at": at, "c": json.dumps(counts or {})},
        )


# --------------------------------------------------------------------------- report queries


def store_file(path: Path, build: Callable[[Store], None]) -> Path:
    """A store file at `path` holding the rows `build` writes; the path."""
    con = open_store(path)
    try:
        build(Store(con))
    finally:
        con.close()
    return path


def report_query(
    con: duckdb.DuckDBPyConnection,
    name: str,
    policy: Policy | None = None,
    *,
    period_start: datetime,
    period_end: datetime,
    as_of: datetime,
    evidence_until: datetime,
    sources: Sequence[SourceConfig] | None = None,
) -> Table:
    """Run the report query `name` as a build runs it: the report's tables installed for
    `policy` (default `[policy]`) and `sources`, the values of the period and cut-offs."""
    policy = policy or Policy()
    install_tables(con, policy, sources)
    values = query_values(
        policy,
        period_start=period_start,
        period_end=period_end,
        as_of=as_of,
        evidence_until=evidence_until,
    )
    return run_query(con, load_query(name), values)
