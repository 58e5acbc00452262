"""`evidence verify --store`: re-compute event hashes, run digests, rows digests and the digest
chain, and compare every covered row with what its run recorded (evidence/store/ledger.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from evidence.store.digests import install_digests
from evidence.store.ledger import install_live_rows
from evidence.store.load import sql_text

__all__ = ["ROW_PROBLEMS_SHOWN", "StoreReport", "verify_store"]

# Row differences named one by one, the first by run first; past this many, only a count.
ROW_PROBLEMS_SHOWN = 100


@dataclass
class StoreReport:
    ok: bool
    events: int
    runs: int
    head: str | None
    problems: list[str] = field(default_factory=list)
    rows: int = 0  # run_rows entries checked

    @property
    def lines(self) -> list[str]:
        verdict = "OK" if self.ok else f"FAILED ({len(self.problems)} problems)"
        return [
            f"store chain: {verdict}",
            f"events: {self.events}, rows recorded: {self.rows}, runs on the chain: {self.runs}",
            f"chain head: {self.head or '(empty)'}",
            *self.problems,
        ]


def verify_store(con: duckdb.DuckDBPyConnection) -> StoreReport:
    """Check that every event, row, run digest and chain link still follows from the stored
    content: the digest chain first, then each row against its run's record."""
    install_digests(con, rows=True)
    problems = [r[0] for r in con.execute(sql_text("verify_chain.sql")).fetchall()]
    install_live_rows(con)
    con.execute(sql_text("verify_rows.sql"))
    con.execute(sql_text("verify_events.sql"))
    (n,) = con.execute("SELECT count(*) FROM _row_problems").fetchall()[0]
    problems += [
        r[0]
        for r in con.execute(
            "SELECT line FROM _row_problems ORDER BY run NULLS LAST, table_name, row_key, line "
            "LIMIT $k",
            {"k": ROW_PROBLEMS_SHOWN},
        ).fetchall()
    ]
    if n > ROW_PROBLEMS_SHOWN:
        problems.append(f"... and {n - ROW_PROBLEMS_SHOWN} more rows that differ")
    events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    rows = con.execute("SELECT count(*) FROM run_rows").fetchall()[0][0]
    runs, head = con.execute(
        "SELECT count(*), (SELECT chain_hash FROM sync_runs WHERE chain_hash IS NOT NULL "
        "ORDER BY run_id DESC LIMIT 1) FROM sync_runs WHERE chain_hash IS NOT NULL"
    ).fetchall()[0]
    return StoreReport(
        ok=not problems,
        events=int(events),
        runs=int(runs),
        head=head,
        problems=problems,
        rows=int(rows),
    )
