"""Commit one observation of a source (a `SourceBatch`) as one atomic sync run.

Everything happens in set operations over Arrow tables registered with DuckDB:
snapshots are merged into the versioned tables (close what changed or vanished, open what
is new), snapshot differences become inferred events, reported events are de-duplicated on
event_id, numbered, hashed in SQL, and the run's digest joins the store's hash chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from connectors.records import EVENT_SCHEMA, SNAPSHOT_KEYS, SNAPSHOT_SCHEMAS, SourceBatch
from evidence.config import Policy
from evidence.errors import InputError, StoreError
from evidence.sql import load_sql, run_sql
from evidence.store.ledger import record_sync_rows
from evidence.store.removals import check_removals

__all__ = [
    "FAILED_COUNTS",
    "RunResult",
    "commit_batch",
    "create_events_in",
    "finish_run",
    "record_failed_run",
    "row_hash_sql",
    "sql_text",
]


def sql_text(name: str) -> str:
    """A .sql file of evidence/store/sql by name."""
    return load_sql("evidence.store", f"sql/{name}")


@dataclass
class RunResult:
    run_id: int
    source: str
    as_of: datetime
    opened: dict[str, int] = field(default_factory=dict)
    closed: dict[str, int] = field(default_factory=dict)
    events_new: int = 0
    events_seen: int = 0
    pages: int = 0
    chain_hash: str | None = None
    # The scopes `allow_mass_removal` let through (evidence.store.removals.Removal).
    mass_removal_allowed: list = field(default_factory=list)


def _ident(name: str, allowed: tuple[str, ...] | set[str] | dict) -> str:
    # Identifiers come only from the canonical schemas; anything else is a bug.
    if name not in allowed:
        raise StoreError(f"identifier {name!r} is not in the allow-list")
    return f'"{name}"'


def row_hash_sql(table: str) -> str:
    """The SQL expression of a versioned row's hash over its tracked columns (the snapshot
    stage and the migrations that add a column compute it alike)."""
    names = SNAPSHOT_SCHEMAS[table].names
    # JSON text is normalised first so key spacing never matters.
    parts = ", ".join(
        f"{_ident(n, names)} := ({_ident(n, names)})::JSON"
        if n in ("attributes", "groups")
        else f"{_ident(n, names)} := {_ident(n, names)}"
        for n in names
    )
    return f"sha256(to_json(struct_pack({parts})))"


def _stage_snapshot(
    con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, policy: Policy
) -> None:
    schema = SNAPSHOT_SCHEMAS[table]
    if rows.schema != schema:
        try:
            rows = rows.select(schema.names).cast(schema)
        except (KeyError, pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as e:
            raise StoreError(
                f"snapshot {table}: rows do not match the canonical schema: {e}"
            ) from None
    con.register("_snap_in", rows)
    col_list = ", ".join(_ident(c, schema.names) for c in schema.names)
    extra = ""
    if table == "grants":
        # Privileged is a property of the entitlement under the current policy.
        extra = (
            ", EXISTS (SELECT 1 FROM unnest($globs) AS g(p) "
            "WHERE lower(s.entitlement) GLOB lower(g.p)) AS privileged"
        )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _snap AS SELECT {col_list}{extra}, "
        f"{row_hash_sql(table)} AS row_hash "
        f"FROM _snap_in s",
        {"globs": list(policy.privileged)} if table == "grants" else {},
    )
    con.unregister("_snap_in")
    keys = [_ident(k, schema.names) for k in SNAPSHOT_KEYS[table]]
    dup = con.execute(
        f"SELECT {', '.join(keys)}, count(*) FROM _snap GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
    ).fetchall()
    if dup:
        dup = dup[0]
        key = "|".join("" if v is None else str(v) for v in dup[:-1])
        raise InputError(
            table, key, ",".join(SNAPSHOT_KEYS[table]), "duplicate key in one snapshot"
        )


def _merge_snapshot(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    apps: tuple[str, ...] | None,
    as_of: datetime,
    run_id: int,
    partial: bool = False,
) -> tuple[int, int, bool]:
    """Close changed/vanished current rows and open new ones; return (opened, closed, had_rows).

    A partial listing closes only rows it lists with other values, never the ones it omits.
    """
    t = _ident(table, SNAPSHOT_SCHEMAS)
    schema = SNAPSHOT_SCHEMAS[table]
    extra_cols = ["privileged"] if table == "grants" else []
    names = list(schema.names) + extra_cols
    cols = ", ".join(f'"{n}"' for n in names)
    scope = "source = $source AND valid_to IS NULL"
    params: dict = {"source": source}
    if apps is not None:
        scope += " AND app IN (SELECT unnest($apps))"
        params["apps"] = list(apps)
    had = bool(con.execute(f"SELECT count(*) > 0 FROM {t} WHERE {scope}", params).fetchall()[0][0])
    insert = (
        f"INSERT INTO {t} (source, valid_from, valid_to, run_id, row_hash, {cols}) "
        f"SELECT $source, $as_of, NULL, $run_id, row_hash, {cols} FROM "
    )
    opening = {"source": source, "as_of": as_of, "run_id": run_id}
    if not had:
        # A scope's first listing: everything opens, nothing closes, no diff to keep.
        opened = con.execute(insert + "_snap", opening).fetchall()[0][0]
        return int(opened), 0, False
    # Rows this run closes, kept for the inferred events.
    listed = ""
    if partial:
        match = " AND ".join(
            f"s.{_ident(k, schema.names)} IS NOT DISTINCT FROM c.{_ident(k, schema.names)}"
            for k in SNAPSHOT_KEYS[table]
        )
        listed = f" AND EXISTS (SELECT 1 FROM _snap s WHERE {match})"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _closed AS SELECT * FROM {t} c WHERE {scope} "
        f"AND row_hash NOT IN (SELECT row_hash FROM _snap){listed}",
        params,
    )
    closed = con.execute("SELECT count(*) FROM _closed").fetchall()[0][0]
    if closed:
        con.execute(
            f"UPDATE {t} SET valid_to = $as_of, closed_run_id = $run_id WHERE {scope} "
            f"AND row_hash IN (SELECT row_hash FROM _closed)",
            {**params, "as_of": as_of, "run_id": run_id},
        )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _opened AS SELECT * FROM _snap WHERE row_hash NOT IN "
        f"(SELECT row_hash FROM {t} WHERE {scope})",
        params,
    )
    opened = con.execute("SELECT count(*) FROM _opened").fetchall()[0][0]
    if opened:
        con.execute(insert + "_opened", opening)
    return opened, closed, True


_INFER = {
    "accounts": "infer_accounts.sql",
    "grants": "infer_grants.sql",
    "assignments": "infer_assignments.sql",
    "people": "infer_people.sql",
    "idp_users": "infer_idp_users.sql",
}


def _infer_events(con: duckdb.DuckDBPyConnection, table: str, params: dict) -> None:
    name = _INFER.get(table)
    if name is None:
        return
    run_sql(con, f"INSERT INTO _events_in {sql_text(name)}", params)


def commit_batch(
    con: duckdb.DuckDBPyConnection,
    batch: SourceBatch,
    policy: Policy,
    *,
    mode: str = "full",
    now: datetime | None = None,
    cursor_from: str | None = None,
    record_from: bool = False,
    allow_mass_removal: bool = False,
) -> RunResult:
    """Commit `batch` as one run: all of it or, on any error, none of it.

    A complete listing that would close too much is refused (MassRemovalRefused, see
    evidence.store.removals) unless `allow_mass_removal`; the run's counts then record, under
    `mass_removal_allowed`, each scope the override let through.

    With `record_from`, the run's cursors also record `from`, the position the read started
    at (`cursor_from`, None for a first read), so continuity between runs can be audited.
    """
    started = now or datetime.now(UTC)
    as_of = batch.as_of.astimezone(UTC)
    con.execute("BEGIN TRANSACTION")
    try:
        run_id = int(con.execute("SELECT nextval('run_id_seq')").fetchall()[0][0])
        result = RunResult(run_id=run_id, source=batch.source, as_of=as_of)
        create_events_in(con)
        params = {
            "source": batch.source,
            "kind": batch.kind,
            "tenant": batch.tenant,
            "as_of": as_of,
            "as_of_text": as_of.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        allowed = []
        for snap in batch.snapshots:
            _stage_snapshot(con, snap.table, snap.rows, policy)
            if not snap.partial:
                allowed += check_removals(
                    con, snap.table, batch.source, snap.apps, policy, allow=allow_mass_removal
                )
            opened, closed, had = _merge_snapshot(
                con, snap.table, batch.source, snap.apps, as_of, run_id, snap.partial
            )
            result.opened[snap.table] = result.opened.get(snap.table, 0) + opened
            result.closed[snap.table] = result.closed.get(snap.table, 0) + closed
            # The first listing of a scope is an observation, not a change: infer nothing.
            if had and (opened or closed):
                _infer_events(con, snap.table, params)
        events = batch.events
        if events.num_rows:
            if events.schema != EVENT_SCHEMA:
                events = events.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)
            con.register("_reported", events)
            con.execute("INSERT INTO _events_in SELECT *, false FROM _reported")
            con.unregister("_reported")
        if batch.pages:
            pages = pa.table(
                {
                    "run_id": pa.array([run_id] * len(batch.pages), pa.int32()),
                    "page": pa.array(range(1, len(batch.pages) + 1), pa.int32()),
                    "request": [p.request for p in batch.pages],
                    "sha256": [p.sha256 for p in batch.pages],
                    "item_count": pa.array([p.item_count for p in batch.pages], pa.int32()),
                    "total_results": pa.array([p.total_results for p in batch.pages], pa.int32()),
                }
            )
            con.register("_pages_in", pages)
            con.execute("INSERT INTO sync_pages SELECT * FROM _pages_in")
            con.unregister("_pages_in")
        result.pages = len(batch.pages)
        counts = {"opened": result.opened, "closed": result.closed, "pages": result.pages}
        if batch.notes:
            counts["notes"] = batch.notes
        if allowed:
            counts["mass_removal_allowed"] = [r.as_json() for r in allowed]
            result.mass_removal_allowed = allowed
        result.events_new, result.events_seen, result.chain_hash = finish_run(
            con,
            run_id=run_id,
            source=batch.source,
            kind=batch.kind,
            tenant=batch.tenant,
            mode=mode,
            as_of=as_of,
            started=started,
            counts=counts,
            cursor=batch.cursor,
            cursor_from=cursor_from,
            record_from=record_from,
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def finish_run(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: int,
    source: str,
    kind: str,
    tenant: str,
    mode: str,
    as_of: datetime,
    started: datetime,
    counts: dict,
    cursor: str | None = None,
    cursor_from: str | None = None,
    record_from: bool = False,
) -> tuple[int, int, str | None]:
    """Append the events staged in `_events_in` and record the run in sync_runs.

    Returns (events appended, events seen, chain hash or None). Call inside the transaction.
    """
    params = {
        "source": source,
        "kind": kind,
        "tenant": tenant,
        "run_id": run_id,
        "ingested_at": started,
    }
    new = run_sql(con, sql_text("append_events.sql"), params)
    events_new = int(new[0][0]) if new else 0
    seen = int(con.execute("SELECT count(*) FROM _events_in").fetchall()[0][0])
    record_sync_rows(con, run_id)  # the versions and pages it wrote, for its rows digest
    row = run_sql(
        con,
        sql_text("close_run.sql"),
        {
            "run_id": run_id,
            "source": source,
            "kind": kind,
            "mode": mode,
            "started_at": started,
            "finished_at": datetime.now(UTC),
            "as_of": as_of,
            "counts": json.dumps(
                {**counts, "events_new": events_new, "events_seen": seen},
                sort_keys=True,
                default=str,
            ),
            "cursors": _cursors(cursor, cursor_from, record_from),
            "status": "ok",
            "error": None,
        },
    )
    return events_new, seen, (row[0][0] if row else None)


def _cursors(cursor: str | None, cursor_from: str | None, record_from: bool) -> str | None:
    # `from` is written only when the caller knows it: a missing key means "not recorded",
    # a null one "started without a cursor" (a log's first read).
    if record_from:
        return json.dumps({"from": cursor_from, "cursor": cursor})
    return json.dumps({"cursor": cursor}) if cursor else None


# A failed run's counts: the keys of a committed run's, every figure 0.
FAILED_COUNTS = {"opened": {}, "closed": {}, "pages": 0, "events_new": 0, "events_seen": 0}


def record_failed_run(
    con: duckdb.DuckDBPyConnection,
    *,
    source: str,
    kind: str,
    mode: str,
    as_of: datetime,
    started: datetime,
    error: str,
    cursor_from: str | None = None,
    record_from: bool = False,
) -> int:
    """Record a failed run in sync_runs (status 'failed', its error); returns its run_id.

    Call after the failed run's rollback: its own small transaction adds this one row and
    nothing else, no events, so no digest or chain hash and the chain head stays where it
    was. Its counts are those of a run that committed nothing (FAILED_COUNTS). `error` must
    already be free of secrets (EvidenceError messages are).
    """
    con.execute("BEGIN TRANSACTION")
    try:
        run_id = int(con.execute("SELECT nextval('run_id_seq')").fetchall()[0][0])
        run_sql(
            con,
            sql_text("close_run.sql"),
            {
                "run_id": run_id,
                "source": source,
                "kind": kind,
                "mode": mode,
                "started_at": started,
                "finished_at": datetime.now(UTC),
                "as_of": as_of.astimezone(UTC),
                "status": "failed",
                "counts": json.dumps(FAILED_COUNTS, sort_keys=True),
                "cursors": _cursors(None, cursor_from, record_from),
                "error": error,
            },
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return run_id


def create_events_in(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the temp table `_events_in` where a run stages its events."""
    con.register("_empty_events", EVENT_SCHEMA.empty_table())
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _events_in AS SELECT *, false AS inferred FROM _empty_events"
    )
    con.unregister("_empty_events")
