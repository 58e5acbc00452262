"""`evidence verify --store`: re-compute event hashes, run digests and the digest chain."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from evidence.store.digests import install_digests
from evidence.store.load import sql_text

__all__ = ["StoreReport", "verify_store"]


@dataclass
class StoreReport:
    ok: bool
    events: int
    runs: int
    head: str | None
    problems: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        verdict = "OK" if self.ok else f"FAILED ({len(self.problems)} problems)"
        return [
            f"store chain: {verdict}",
            f"events: {self.events}, runs with events: {self.runs}",
            f"chain head: {self.head or '(empty)'}",
            *self.problems,
        ]


def verify_store(con: duckdb.DuckDBPyConnection) -> StoreReport:
    """Check that every event and run digest still follows from the stored content."""
    install_digests(con)
    problems = [r[0] for r in con.execute(sql_text("verify_chain.sql")).fetchall()]
    events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    runs, head = con.execute(
        "SELECT count(*), (SELECT chain_hash FROM sync_runs WHERE chain_hash IS NOT NULL "
        "ORDER BY run_id DESC LIMIT 1) FROM sync_runs WHERE chain_hash IS NOT NULL"
    ).fetchall()[0]
    return StoreReport(
        ok=not problems, events=int(events), runs=int(runs), head=head, problems=problems
    )
