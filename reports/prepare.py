"""Steps a report query needs before it runs, where SQL alone would not stay in bounded memory.

A query names them in a `-- prepare: <name>` line; each fills temp tables the query reads.
`run_digests` re-hashes the period's events and folds them into run digests in Python
(evidence/store/digests.py), because `sha256(string_agg(...))` holds a whole run in one string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb

from evidence.store.digests import install_digests
from reports.errors import ReportError

__all__ = ["PREPARERS", "prepare"]


def _run_digests(con: duckdb.DuckDBPyConnection, values: dict[str, Any]) -> None:
    # The runs whose as_of lies in the period (log_integrity.sql's population), by run_id.
    lo, hi = con.execute(
        "SELECT min(run_id), max(run_id) FROM sync_runs "
        "WHERE as_of >= CAST($s AS TIMESTAMPTZ) AND as_of < CAST($e AS TIMESTAMPTZ)",
        {"s": values["period_start"], "e": values["period_end"]},
    ).fetchall()[0]
    install_digests(con, 1, 0) if lo is None else install_digests(con, lo, hi)


PREPARERS: dict[str, Callable[[duckdb.DuckDBPyConnection, dict[str, Any]], None]] = {
    "run_digests": _run_digests,
}


def prepare(con: duckdb.DuckDBPyConnection, names: tuple[str, ...], values: dict[str, Any]) -> None:
    """Run the named preparation steps of a query."""
    for name in names:
        if name not in PREPARERS:
            raise ReportError(f"unknown preparation step {name!r}")
        PREPARERS[name](con, values)
