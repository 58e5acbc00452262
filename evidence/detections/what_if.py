"""`detect --as-of`: every detection evaluated at an earlier instant, changing nothing.

A what-if runs on a read-only connection, so it takes no writer lock and cannot write: no
finding changes, no event is appended, no sync_runs or detect_runs row is added. The matcher
keeps its results in account_facts, idp_user_owners and match_state; the what-if shadows
those with temp copies (DuckDB resolves an unqualified name, in views too, to a temp table
first), so the matcher brings its own copies up to date and the store's stay as they were.
Only a detect at the store's now (`runner.detect`) moves state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from evidence.config import Policy
from evidence.detections.loader import Detection, load_detections
from evidence.detections.runner import evaluate, store_now
from evidence.errors import ConfigError, StoreError
from evidence.sql import load_sql, run_sql

__all__ = ["WhatIf", "what_if"]

# The persistent tables the matcher writes, shadowed by temp copies for a what-if.
_MATCHER_TABLES = ("account_facts", "idp_user_owners", "match_state")


@dataclass
class WhatIf:
    as_of: datetime
    store_now: datetime
    columns: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)  # the findings at as_of
    counts: dict[str, int] = field(default_factory=dict)  # per kind/subkind
    # What a detect at as_of would do to the findings on record, per finding.* action.
    changes: dict[str, int] = field(default_factory=dict)


def _text(t: datetime) -> str:
    return f"{t.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _shadow_matcher_tables(con: duckdb.DuckDBPyConnection) -> None:
    db = con.execute("SELECT current_database()").fetchall()[0][0]
    for table in _MATCHER_TABLES:
        (ddl,) = con.execute(
            "SELECT sql FROM duckdb_tables() WHERE database_name = $db "
            "AND schema_name = 'main' AND table_name = $t",
            {"db": db, "t": table},
        ).fetchall()[0]
        # The same definition (match_state's key included), as a temp table.
        con.execute(ddl.replace("CREATE TABLE ", "CREATE TEMP TABLE ", 1))
        quoted = '"' + db.replace('"', '""') + '"'
        con.execute(f'INSERT INTO temp.main."{table}" SELECT * FROM {quoted}.main."{table}"')


def what_if(
    con: duckdb.DuckDBPyConnection,
    policy: Policy,
    as_of: datetime,
    *,
    detections: list[Detection] | None = None,
    rematch: bool = False,
) -> WhatIf:
    """The findings every detection gives at `as_of`, no later than the store's now, on a
    read-only connection `con` (open_store(read_only=True)); nothing is written. `rematch`
    re-matches every account (into the temp copies), as `detect --rematch` does."""
    now = store_now(con)
    if now is None:
        raise StoreError("the store holds no completed sync yet: run `evidence sync` first")
    at = as_of.astimezone(UTC)
    if at > now:
        raise ConfigError(
            f"--as-of: {_text(at)} is later than the store's now, {_text(now)} (the newest "
            "completed sync): nothing is known about it yet"
        )
    detections = detections if detections is not None else load_detections()
    try:
        _shadow_matcher_tables(con)
        # A read-only store hands out no run id; the shadowed match_state takes 0.
        result = evaluate(con, policy, at, 0, detections, rematch=rematch)
        # _transitions: what each finding would do to the findings on record (temp only).
        run_sql(con, load_sql("evidence.detections", "sql/upsert_findings.sql"))
        changes = con.execute(
            "SELECT action, count(*) FROM _transitions WHERE action IS NOT NULL GROUP BY 1"
        ).fetchall()
        cur = con.execute(load_sql("evidence.detections", "sql/what_if_findings.sql"))
        columns = [d[0] for d in cur.description]
        rows = cur.fetchall()
    finally:
        # The connection reads the store's own matcher tables again.
        for table in _MATCHER_TABLES:
            con.execute(f'DROP TABLE IF EXISTS temp.main."{table}"')
    return WhatIf(
        as_of=at,
        store_now=now,
        columns=columns,
        rows=rows,
        counts=result.counts,
        changes={action: int(n) for action, n in changes},
    )
