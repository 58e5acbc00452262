"""Read-only queries behind the CLI's listing verbs (SQL in this folder)."""

from __future__ import annotations

import duckdb

from evidence.errors import ReadOnlyViolation
from evidence.sql import load_sql

__all__ = ["list_findings", "lock_down", "read_only_sql", "query_text"]

# Statement types a read-only session may run; everything else is refused by name.
_ALLOWED = {"SELECT", "EXPLAIN"}
_REFUSED_WORDS = ("ATTACH", "COPY", "INSTALL", "LOAD", "EXPORT", "IMPORT", "DETACH", "SET", "CALL")


def query_text(name: str) -> str:
    """A .sql file of evidence/queries by name."""
    return load_sql("evidence.queries", name)


def list_findings(
    con: duckdb.DuckDBPyConnection,
    *,
    kind: str | None = None,
    app: str | None = None,
    severity: str | None = None,
    person: str | None = None,
    status: str | None = None,
) -> tuple[list[str], list[tuple]]:
    """Findings (open and accepted unless `status` says otherwise) as columns and rows."""
    cur = con.execute(
        query_text("findings.sql"),
        {"kind": kind, "app": app, "severity": severity, "person": person, "status": status},
    )
    cols = [d[0] for d in cur.description]
    return cols, cur.fetchall()


def lock_down(con: duckdb.DuckDBPyConnection, *, allow_files: bool = False) -> None:
    """Make an analyst's session offline and keep it so.

    DuckDB would otherwise fetch and load `httpfs` for an `http://` or `s3://` path on its own.
    Extensions neither install nor load, the network file systems are disabled, local files
    are readable only when `allow_files`, and the configuration is locked, so a statement
    cannot undo any of it.
    """
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET disabled_filesystems = 'HTTPFileSystem,S3FileSystem'")
    if not allow_files:
        con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def read_only_sql(con: duckdb.DuckDBPyConnection, query: str) -> tuple[list[str], list[tuple]]:
    """Run an analyst's query; anything but reading is refused before it runs."""
    statements = con.extract_statements(query)
    if not statements:
        raise ReadOnlyViolation("empty query")
    for st in statements:
        kind = st.type.name
        first = st.query.lstrip().split(None, 1)[0].upper() if st.query.strip() else ""
        if kind not in _ALLOWED or first in _REFUSED_WORDS:
            raise ReadOnlyViolation(
                f"refused: {first or kind} statements are not allowed; `evidence sql` only reads"
            )
    cols: list[str] = []
    rows: list[tuple] = []
    for st in statements:
        cur = con.execute(st)
        if cur.description:
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
    return cols, rows
