"""Migration 5: a store written before run_rows gets its ledger, rows digests and chain.

For each existing run it records what that run wrote, as the writer now does: the versions it
opened (run_id), the versions it closed (closed_run_id, attributed here to the first later
successful run of the row's source whose as_of is the row's valid_to: load.py closes a
version at its run's as_of), its sync pages, and, for the latest detect run, every current
finding (earlier states of a finding were overwritten before they could be recorded). Then
every run's rows digest and chain hash are recomputed in run order from its stored event
digest (kept as it was, so an altered event still shows) and its rows digest. The former
chain hashes are kept in superseded_chain_hashes (bundles signed before carry them), and
digest_recomputations records what was done and how many chain links did not hold before.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from evidence.store.digests import recompute_rows_digests
from evidence.store.ledger import LEDGER_TABLES, live_rows_sql
from evidence.store.models import VERSIONED

__all__ = ["add_columns", "rechain"]


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = $t AND column_name = $c",
            {"t": table, "c": column},
        ).fetchall()[0][0]
    )


def add_columns(con: duckdb.DuckDBPyConnection) -> bool:
    """Add closed_run_id and sync_runs.rows_digest where missing; True if the store is old
    (it lacked them), False for a store v1 just created from the current model."""
    old = not _has_column(con, "sync_runs", "rows_digest")
    if old:
        con.execute("ALTER TABLE sync_runs ADD COLUMN rows_digest VARCHAR")
    for t in VERSIONED:
        if not _has_column(con, t, "closed_run_id"):
            con.execute(f'ALTER TABLE "{t}" ADD COLUMN closed_run_id INTEGER')
            # The closing run: the first later successful run of the source at valid_to.
            con.execute(
                f'UPDATE "{t}" v SET closed_run_id = ('
                "SELECT min(r.run_id) FROM sync_runs r WHERE r.source = v.source "
                "AND r.as_of = v.valid_to AND r.run_id > v.run_id AND r.status = 'ok') "
                "WHERE v.valid_to IS NOT NULL"
            )
    return old


def rechain(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """Record every existing run's rows, recompute rows digests and chain hashes, and record
    the recomputation. Call inside the migration's transaction."""
    head_before = _head(con)
    con.execute("DELETE FROM run_rows")
    sync = "\nUNION ALL\n".join(live_rows_sql(t) for t in LEDGER_TABLES if t != "findings")
    latest_detect = con.execute(
        "SELECT max(run_id) FROM sync_runs WHERE kind = 'detect' AND status = 'ok'"
    ).fetchall()[0][0]
    con.execute(
        "INSERT INTO run_rows (run_id, ord, table_name, op, row_key, row_hash) "
        "SELECT run, row_number() OVER (PARTITION BY run ORDER BY t_rank, op, row_key, "
        "row_hash), table_name, op, row_key, row_hash FROM ("
        f"SELECT * FROM ({sync}) WHERE run IS NOT NULL UNION ALL "
        f"SELECT * REPLACE ($detect::BIGINT AS run) FROM ({live_rows_sql('findings')}) "
        "WHERE $detect::BIGINT IS NOT NULL) ORDER BY 1, 2",
        {"detect": latest_detect},
    )
    unattributed = sum(
        con.execute(
            f'SELECT count(*) FROM "{t}" WHERE valid_to IS NOT NULL AND closed_run_id IS NULL'
        ).fetchall()[0][0]
        for t in VERSIONED
    )
    rows_digests = {run: v[2] for run, v in recompute_rows_digests(con).runs.items()}
    runs = con.execute(
        "SELECT run_id, digest, chain_hash FROM sync_runs ORDER BY run_id"
    ).fetchall()
    prev_old = prev_new = ""
    broken = 0
    new_chain: list[tuple[int, str | None, str | None]] = []
    for run_id, digest, chain in runs:
        if chain is not None or digest is not None:
            # The link as it was defined before: sha256(previous head || event digest).
            if chain != hashlib.sha256((prev_old + (digest or "")).encode()).hexdigest():
                broken += 1
            prev_old = chain or prev_old
        rows = rows_digests.get(run_id)
        if digest is None and rows is None:
            new_chain.append((run_id, None, None))
            continue
        prev_new = hashlib.sha256((prev_new + (digest or "") + (rows or "")).encode()).hexdigest()
        new_chain.append((run_id, rows, prev_new))
    con.execute(
        # Every run, off-chain ones too: a bundle names those with no chain hash.
        "INSERT INTO superseded_chain_hashes SELECT $v, run_id, chain_hash FROM sync_runs",
        {"v": version},
    )
    table = pa.table(
        {
            "run_id": pa.array([r[0] for r in new_chain], pa.int64()),
            "rows_digest": pa.array([r[1] for r in new_chain], pa.string()),
            "chain_hash": pa.array([r[2] for r in new_chain], pa.string()),
        }
    )
    con.register("_rechain_in", table)
    try:
        con.execute(
            "UPDATE sync_runs r SET rows_digest = n.rows_digest, chain_hash = n.chain_hash "
            "FROM _rechain_in n WHERE r.run_id = n.run_id"
        )
    finally:
        con.unregister("_rechain_in")
    con.execute(
        "INSERT INTO digest_recomputations VALUES ($v, $at, $runs, $rows, $unattributed, "
        "$broken, $before, $after)",
        {
            "v": version,
            "at": datetime.now(UTC),
            "runs": len(rows_digests),
            "rows": con.execute("SELECT count(*) FROM run_rows").fetchall()[0][0],
            "unattributed": unattributed,
            "broken": broken,
            "before": head_before,
            "after": _head(con),
        },
    )


def _head(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.execute(
        "SELECT chain_hash FROM sync_runs WHERE chain_hash IS NOT NULL ORDER BY run_id DESC LIMIT 1"
    ).fetchall()
    return rows[0][0] if rows else None
