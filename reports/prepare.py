"""Steps a report query needs before it runs: temp tables the query reads.

A query names them in `-- prepare: <name>` lines. `run_digests` re-hashes the period's events
and folds them into run digests in Python (evidence/store/digests.py), because
`sha256(string_agg(...))` holds a whole run in one string. A name ending in `.sql` is a query
of reports/queries whose result several queries read: it runs into the temp table `_<stem>`,
once per build when the build passes its `done` set (the judgement of every leaver's accounts,
deprovisioning_verdicts.sql, is the population, its latency table and its reconciliation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb

from evidence.store.digests import install_digests
from reports.catalog import Query, load_query
from reports.errors import ReportError

__all__ = ["PREPARERS", "prepare", "run_into"]


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


def run_into(
    con: duckdb.DuckDBPyConnection, query: Query, values: dict[str, Any], table: str
) -> None:
    """Run `query` into the temp table `table`, rows in the query's order, with the values of
    the $names it uses (DuckDB refuses extra ones)."""
    missing = [p for p in query.parameters if p not in values]
    if missing:
        raise ReportError(f"query {query.name}: no value for ${missing[0]}")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS\n{query.text}",
            {p: values[p] for p in query.parameters},
        )
    except duckdb.Error as e:
        first = str(e).splitlines()[0]
        raise ReportError(f"query {query.name} failed: {first}") from e


def _run_sql(con: duckdb.DuckDBPyConnection, name: str, values: dict[str, Any]) -> None:
    run_into(con, load_query(name), values, f"_{name[: -len('.sql')]}")


def prepare(
    con: duckdb.DuckDBPyConnection,
    names: tuple[str, ...],
    values: dict[str, Any],
    done: set[tuple[str, str]] | None = None,
) -> None:
    """Run the named preparation steps of a query; a step already in `done` (a build's set:
    the store does not change during a build) with the same values is not run again."""
    for name in names:
        if not name.endswith(".sql") and name not in PREPARERS:
            raise ReportError(f"unknown preparation step {name!r}")
        key = (name, repr(sorted((k, repr(v)) for k, v in values.items())))
        if done is not None and key in done:
            continue
        if name.endswith(".sql"):
            _run_sql(con, name, values)
        else:
            PREPARERS[name](con, values)
        if done is not None:
            done.add(key)
