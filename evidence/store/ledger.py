"""What each run wrote, row by row: the `run_rows` ledger behind a run's rows digest.

A sync run records every version it opened (`run_id` = the run) and closed (`closed_run_id`
= the run) in each versioned table, and its `sync_pages`; a detect run records every finding
row as it left it. Each entry carries the row's key (compact JSON, the way `verify --store`
names the row) and its canonical hash: sha256 of the JSON object of all the row's columns
(timestamps as RFC 3339 UTC), recomputed from the columns themselves, never from the stored
`row_hash`. A closed version's entry hashes its open hash with `valid_to` and `closed_run_id`,
so a content change shows at the run that opened it and a moved or erased close at the run
that closed it. close_run.sql folds the run's entries into `rows_digest` and the chain hash.

The projections are generated from the SQLModel columns (identifiers from the model only);
the same expression writes an entry and, in `verify --store`, recomputes it.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import sqlalchemy as sa

from evidence.errors import StoreError
from evidence.store.models import TABLES, VERSIONED

__all__ = [
    "LEDGER_TABLES",
    "install_live_rows",
    "live_rows_sql",
    "record_findings",
    "record_sync_rows",
]

# Every table the ledger covers, in digest order (its rank orders a run's entries).
LEDGER_TABLES: tuple[str, ...] = (*VERSIONED, "sync_pages", "findings")
_BOOKKEEPING = {"valid_to", "closed_run_id"}  # set when a version closes, not when it opens
_TS = "%Y-%m-%dT%H:%M:%S.%fZ"


def _q(table: str, column: str | None = None) -> str:
    if table not in LEDGER_TABLES:
        raise StoreError(f"table {table!r} is not in the ledger's allow-list")
    if column is None:
        return f'"{table}"'
    if column not in TABLES[table].__table__.columns:  # type: ignore[attr-defined]
        raise StoreError(f"column {table}.{column} is not in the model")
    return f'"{column}"'


def _value(table: str, col: sa.Column) -> str:
    name = _q(table, col.name)
    if isinstance(col.type, sa.DateTime):
        # Explicit format: to_json of a TIMESTAMPTZ would follow the session's TimeZone.
        return f"strftime(timezone('UTC', {name}), '{_TS}')"
    return name


def _object(table: str, cols: list[sa.Column]) -> str:
    return "json_object(" + ", ".join(f"'{c.name}', {_value(table, c)}" for c in cols) + ")"


def _columns(table: str) -> list[sa.Column]:
    return list(TABLES[table].__table__.columns)  # type: ignore[attr-defined]


def _key_sql(table: str) -> str:
    t: sa.Table = TABLES[table].__table__  # type: ignore[attr-defined]
    return f"{_object(table, list(t.primary_key.columns))}::VARCHAR"


def _hash_sql(table: str) -> str:
    cols = [c for c in _columns(table) if c.name not in _BOOKKEEPING]
    return f"sha256({_object(table, cols)}::VARCHAR)"


def live_rows_sql(table: str, *, run_filter: bool = False) -> str:
    """SELECT (t_rank, table_name, op, run, row_key, row_hash) of `table`'s rows as the ledger
    records them; with `run_filter`, only the rows run `$run_id` wrote (sync tables)."""
    rank = LEDGER_TABLES.index(table)
    t = _q(table)
    key, h = _key_sql(table), _hash_sql(table)
    head = f"SELECT {rank} AS t_rank, '{table}' AS table_name"
    if table == "sync_pages":
        where = " WHERE run_id = $run_id" if run_filter else ""
        return f"{head}, 'page' AS op, run_id AS run, {key} AS row_key, {h} AS row_hash FROM {t}{where}"
    if table == "findings":
        if run_filter:
            raise StoreError("findings are recorded by record_findings, not by run_id")
        return f"{head}, 'write' AS op, NULL::BIGINT AS run, {key} AS row_key, {h} AS row_hash FROM {t}"
    opened = " WHERE run_id = $run_id" if run_filter else ""
    closed = (
        "closed_run_id = $run_id"
        if run_filter
        else ("(valid_to IS NOT NULL OR closed_run_id IS NOT NULL)")
    )
    valid_to = _value(table, TABLES[table].__table__.columns["valid_to"])  # type: ignore[attr-defined]
    return (
        f"{head}, 'open' AS op, run_id AS run, {key} AS row_key, {h} AS row_hash "
        f"FROM {t}{opened}\nUNION ALL\n"
        f"{head}, 'close' AS op, closed_run_id AS run, {key} AS row_key, "
        f"sha256({h} || '|' || coalesce({valid_to}, '') || '|' "
        f"|| coalesce(CAST(closed_run_id AS VARCHAR), '')) AS row_hash "
        f"FROM {t} WHERE {closed}"
    )


def _append(con: duckdb.DuckDBPyConnection, source_sql: str, params: dict) -> int:
    """Append the rows of `source_sql` to run $run_id's entries, after any it has, in
    (table, op, key) order: the order its rows digest folds them in."""
    rows = con.execute(
        "INSERT INTO run_rows (run_id, ord, table_name, op, row_key, row_hash) "
        "SELECT $run_id, (SELECT coalesce(max(ord), 0) FROM run_rows WHERE run_id = $run_id) "
        "+ row_number() OVER (ORDER BY t_rank, op, row_key, row_hash) AS ord, "
        # No ORDER BY on the insert: every reader orders by ord itself (digests.py), and
        # sorting the rows a second time cost a fifth of the ledger's write.
        f"table_name, op, row_key, row_hash FROM (\n{source_sql}\n)",
        params,
    ).fetchall()
    return int(rows[0][0]) if rows else 0


def record_sync_rows(con: duckdb.DuckDBPyConnection, run_id: int) -> int:
    """Record the versions run `run_id` opened and closed and its sync pages; returns how
    many entries. Call inside the run's transaction, before close_run.sql."""
    union = "\nUNION ALL\n".join(
        live_rows_sql(t, run_filter=True) for t in LEDGER_TABLES if t != "findings"
    )
    return _append(con, union, {"run_id": run_id})


def record_findings(con: duckdb.DuckDBPyConnection, run_id: int, now: datetime) -> int:
    """Record every finding row detect run `run_id` wrote at `now` (seen, or resolved, at
    now) as it stands; returns how many. Call after the upsert, inside the transaction."""
    touched = live_rows_sql("findings") + " WHERE last_seen_at = $now OR resolved_at = $now"
    return _append(con, touched, {"run_id": run_id, "now": now})


def install_live_rows(con: duckdb.DuckDBPyConnection) -> None:
    """The temp view `_live_rows(t_rank, table_name, op, run, row_key, row_hash)`: every
    covered row's entry recomputed from the stored columns (verify_rows.sql compares it with
    run_rows)."""
    union = "\nUNION ALL\n".join(live_rows_sql(t) for t in LEDGER_TABLES)
    con.execute(f"CREATE OR REPLACE TEMP VIEW _live_rows AS\n{union}")
