"""Two stores compared row by row in DuckDB (both attached read-only, EXCEPT ALL both ways), so
that a 20,000-person store is compared set-based, never loaded into Python.

"Equal" for two stores that synced the same exports (`sync_differences`), one of them
resumed after kills:
- events: the same rows, every column but `run_id` and `ingested_at` (so the same event_id,
  seq, event_hash and data);
- every versioned table (people, idp_*, group_push, apps, assignments, accounts, grants):
  the same rows, every column but `run_id` and `closed_run_id`;
- run_rows (what each run wrote): the same versions opened and closed (table, op, key),
  whichever run wrote them;
- sync_runs: the runs that appended events, in run order, with the same source, as_of,
  counts and digest. Chain hashes are not compared: a resumed sync's re-observation writes
  its pages and so takes a place on the chain a clean run never had (each store's chain is
  checked by verify_store instead); the same set of observations
  (source, kind, mode, as_of, status) — a resumed sync may re-observe a snapshot the store
  already holds, which adds a run that changes nothing, but never a different or failed one;
  and the first run of each observation with the same counts;
- sync_pages: the same pages (page, request, sha256, counts) for each observation;
- every other table: the same rows, every column but timestamps of when the work ran.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from evidence.store.models import VERSIONED

__all__ = ["attach", "row_differences", "sync_differences", "VERSIONED"]

# When and by which run the work ran, not what it found: never compared.
_VOLATILE = frozenset(
    {
        "run_id",
        "closed_run_id",
        "ingested_at",
        "started_at",
        "finished_at",
        "applied_at",
        "matched_at",
    }
)
_SPECIAL = frozenset({"sync_runs", "sync_pages", "run_rows"})


def attach(a: Path, b: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with store `a` as `a` and store `b` as `b`, read-only."""
    con = duckdb.connect()
    for name, path in (("a", a), ("b", b)):
        quoted = str(path).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS {name} (READ_ONLY)")
    return con


def _columns(
    con: duckdb.DuckDBPyConnection, table: str, ignore: frozenset[str] | set[str] = frozenset()
) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = 'a' "
        "AND table_name = $t ORDER BY column_index",
        {"t": table},
    ).fetchall()
    return [r[0] for r in rows if r[0] not in _VOLATILE and r[0] not in ignore]


def row_differences(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    where: str = "true",
    ignore: frozenset[str] | set[str] = frozenset(),
    show: int = 3,
) -> list[str]:
    """Rows of `table` (filtered by `where`) in one store and not the other, as multisets,
    every column but the volatile ones and `ignore`: empty when equal, else a few rows of
    each side."""
    cols = ", ".join(f'"{c}"' for c in _columns(con, table, ignore))
    out = []
    for x, y in (("a", "b"), ("b", "a")):
        q = (
            f'SELECT {cols} FROM {x}."{table}" WHERE {where} EXCEPT ALL '
            f'SELECT {cols} FROM {y}."{table}" WHERE {where}'
        )
        (n,) = con.execute(f"SELECT count(*) FROM ({q})").fetchone() or (0,)
        if n:
            rows = con.execute(f"{q} LIMIT {show}").fetchall()
            out.append(f"{table}: {n} rows only in {x}, e.g. {rows}")
    return out


def _same(con: duckdb.DuckDBPyConnection, what: str, sql: str) -> list[str]:
    got = [con.execute(sql.format(db=db)).fetchall() for db in ("a", "b")]
    return [] if got[0] == got[1] else [f"{what} differ: a {got[0][:5]} b {got[1][:5]}"]


def sync_differences(a: Path, b: Path) -> list[str]:
    """Every way store `b` is not equal to store `a` in the module's sense; [] when equal."""
    con = attach(a, b)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'a' ORDER BY 1"
            ).fetchall()
        ]
        problems: list[str] = []
        for t in tables:
            if t not in _SPECIAL:
                problems += row_differences(con, t)
        if "run_rows" in tables:
            # Keys only: an entry's canonical hash covers its run's id (the versioned tables'
            # own comparison covers their content).
            problems += row_differences(
                con, "run_rows", where="op IN ('open', 'close')", ignore={"ord", "row_hash"}
            )
        problems += _same(
            con,
            "runs that appended events",
            "SELECT source, kind, mode, as_of, status, counts::VARCHAR, digest "
            "FROM {db}.sync_runs WHERE digest IS NOT NULL ORDER BY run_id",
        )
        problems += _same(
            con,
            "observations",
            "SELECT DISTINCT source, kind, mode, as_of, status FROM {db}.sync_runs ORDER BY ALL",
        )
        problems += _same(
            con,
            "first runs of each observation",
            "SELECT source, as_of, counts::VARCHAR FROM {db}.sync_runs "
            "QUALIFY row_number() OVER (PARTITION BY source, as_of ORDER BY run_id) = 1 "
            "ORDER BY ALL",
        )
        problems += _same(
            con,
            "pages",
            "SELECT DISTINCT r.source, r.as_of, p.page, p.request, p.sha256, p.item_count, "
            "p.total_results FROM {db}.sync_pages p JOIN {db}.sync_runs r USING (run_id) "
            "ORDER BY ALL",
        )
        return problems
    finally:
        con.close()
