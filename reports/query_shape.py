"""The load-time check of a test's queries: each runs on an empty store with the current
schema and returns the columns the test lists, so a query that drifts fails when its catalog
loads, not in a report."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

import duckdb

from evidence.config import Policy
from evidence.store.schema import migrate
from reports.catalog import Test
from reports.context import install_tables, query_values
from reports.errors import ReportError
from reports.prepare import prepare

__all__ = ["check_shape"]


def check_shape(test: Test, where: str) -> None:
    """Run the test's queries on an empty store: each must bind, and return the columns the
    test lists, in order (a query without `status` fails here, not in a report)."""
    con, values = _empty_store()
    for q, cols in (
        (test.query, test.columns),
        *((b.query, b.columns) for b in test.breakdowns),
    ):
        try:
            prepare(con, q.prepares, values)
            cur = con.execute(
                f"SELECT * FROM (\n{q.text}\n) LIMIT 0", {p: values[p] for p in q.parameters}
            )
        # Whatever stops it (DuckDB, an unknown step, a $name without a value), it does not run.
        except Exception as e:
            first = str(e).splitlines()[0]
            raise ReportError(f"{where}: {q.name} does not run: {first}") from None
        got = [d[0] for d in cur.description]
        expected = [c.name for c in cols]
        if cols and got != expected:
            raise ReportError(f"{where}: {q.name} returns columns {got}, the test lists {expected}")


@cache
def _empty_store() -> tuple[duckdb.DuckDBPyConnection, dict[str, Any]]:
    """An in-memory store with the current schema and the report's temp tables, and a value
    for every parameter."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    migrate(con)
    install_tables(con, Policy())
    t = datetime(2026, 1, 1, tzinfo=UTC)
    return con, query_values(Policy(), period_start=t, period_end=t, as_of=t, evidence_until=t)
