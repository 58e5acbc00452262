"""DDL compiled from the SQLModel classes, and the numbered forward migrations.

Only small bookkeeping tables get a PRIMARY KEY: on the big versioned tables and on `events`
an ART index would cost memory on every bulk load, and uniqueness there is kept by the
set-based loads (anti-joins inside one writer transaction) and checked by `verify --store`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import duckdb
import sqlalchemy as sa
from duckdb_engine import Dialect

from evidence.store.load import row_hash_sql
from evidence.store.models import TABLES, VERSIONED
from evidence.store.rechain import add_columns, rechain
from evidence.store.views import create_views

__all__ = ["SCHEMA_VERSION", "create_table_sql", "migrate", "current_version"]

_KEYED = {
    "sync_runs",
    "sync_pages",
    "detect_runs",
    "findings",
    "sink_cursors",
    "dead_letters",
    "schema_version",
    "match_state",
    "digest_recomputations",
    "superseded_chain_hashes",
}
# Tables created by a later migration than v1.
_LATER = {"account_facts", "match_state"}
_DIALECT = Dialect()


def create_table_sql(table: str) -> str:
    """CREATE TABLE for one table of the model, types compiled by duckdb-engine."""
    t: sa.Table = TABLES[table].__table__  # type: ignore[attr-defined]
    cols = []
    for c in t.columns:
        typ = c.type.compile(dialect=_DIALECT)
        null = "" if c.nullable else " NOT NULL"
        cols.append(f'"{c.name}" {typ}{null}')
    if table in _KEYED:
        pk = ", ".join(f'"{c.name}"' for c in t.primary_key.columns)
        cols.append(f"PRIMARY KEY ({pk})")
    return f'CREATE TABLE "{table}" (\n  ' + ",\n  ".join(cols) + "\n)"


def _v1(con: duckdb.DuckDBPyConnection) -> None:
    for name in TABLES:
        if name not in _LATER:
            con.execute(create_table_sql(name))
    con.execute("CREATE SEQUENCE IF NOT EXISTS run_id_seq START 1")


def _v2(con: duckdb.DuckDBPyConnection) -> None:
    # Views of the current state: what analysts query most.
    for name in VERSIONED:
        con.execute(
            f'CREATE VIEW "current_{name}" AS SELECT * FROM "{name}" WHERE valid_to IS NULL'
        )


def _v3(con: duckdb.DuckDBPyConnection) -> None:
    # account_owners becomes a view of the matcher's persistent account_facts; the next detect
    # re-matches every account (match_state is empty).
    con.execute("DROP TABLE account_owners")
    con.execute(create_table_sql("account_facts"))
    con.execute(create_table_sql("match_state"))
    owners: sa.Table = TABLES["account_owners"].__table__  # type: ignore[attr-defined]
    cols = ", ".join(f'"{c.name}"' for c in owners.columns)
    con.execute(f"CREATE VIEW account_owners AS SELECT {cols} FROM account_facts")


def _v4(con: duckdb.DuckDBPyConnection) -> None:
    # The IdP user's canonical lifecycle (connectors map their vendor's states into it). Rows
    # stored before it come only from Okta (its statuses verbatim) and Entra (ACTIVE/DISABLED
    # from accountEnabled), so the status alone tells which; the hash then covers the column,
    # as a new snapshot's would, so the next sync of unchanged users opens nothing.
    have = con.execute(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_name = 'idp_users' AND column_name = 'lifecycle'"
    ).fetchall()[0][0]
    if have:  # a new store: v1 created the table from the current model
        return
    con.execute("ALTER TABLE idp_users ADD COLUMN lifecycle VARCHAR")
    con.execute(
        """UPDATE idp_users SET lifecycle = CASE upper(status)
               WHEN 'DEPROVISIONED' THEN 'deprovisioned' WHEN 'DISABLED' THEN 'deprovisioned'
               WHEN 'SUSPENDED' THEN 'suspended'
               WHEN 'STAGED' THEN 'staged' WHEN 'PROVISIONED' THEN 'staged'
               ELSE 'active' END
           WHERE status IS NOT NULL"""
    )
    con.execute(f"UPDATE idp_users SET row_hash = {row_hash_sql('idp_users')}")


def _v5(con: duckdb.DuckDBPyConnection) -> None:
    # The whole store tamper-evident: each run's rows digest covers the rows it wrote
    # (run_rows), and the chain hash covers it. A store written before gets its ledger, and
    # every run's rows digest and chain hash are recomputed (rechain.py says how).
    # v1 creates the tables from the current model: only a store v1 made before lacks them.
    have = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    for name in ("run_rows", "digest_recomputations", "superseded_chain_hashes"):
        if name not in have:
            con.execute(create_table_sql(name))
    if add_columns(con):
        rechain(con, 5)


def _v6(con: duckdb.DuckDBPyConnection) -> None:
    # The analysts' views: migrate() (re)creates them with the newest step, whatever it is.
    pass


MIGRATIONS: list[tuple[int, str, Callable[[duckdb.DuckDBPyConnection], None]]] = [
    (1, "tables of ARCHITECTURE.md's canonical model", _v1),
    (2, "current_* views over the versioned tables", _v2),
    (3, "account_facts (persistent matcher result); account_owners becomes its view", _v3),
    (4, "idp_users.lifecycle: the IdP user's canonical lifecycle state", _v4),
    (5, "run_rows and rows digests: every run's chain hash covers the rows it wrote", _v5),
    (6, "analyst views v_* (re-created by every later step)", _v6),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """Schema version of an open store (0 for an empty file)."""
    # fetchall, not fetchone: a result left unfinished keeps the connection busy, and the next
    # statement on a read-only store (a report's temp tables) fails with "resource in use".
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchall()
    if not exists or not exists[0][0]:
        return 0
    rows = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()
    return int(rows[0][0]) if rows else 0


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply every pending migration, each in its own transaction; return those applied."""
    applied = []
    have = current_version(con)
    for version, description, step in MIGRATIONS:
        if version <= have:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            step(con)
            if version == SCHEMA_VERSION:
                # Views read the newest tables and are cheap to rebuild: recreating them with
                # the newest step means a view file may use any column a step adds.
                create_views(con)
            con.execute(
                "INSERT INTO schema_version VALUES ($v, $at, $d)",
                {"v": version, "at": datetime.now(UTC), "d": description},
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied
