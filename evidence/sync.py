"""Run the connectors of a config and commit what they read, one atomic run per observation."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from connectors import connector
from connectors.records import SourceBatch
from evidence.config import Config, SourceConfig
from evidence.errors import EvidenceError, InputError
from evidence.store.load import RunResult, commit_batch, record_failed_run

__all__ = ["SourceOutcome", "sync_sources", "read_batches"]


@dataclass
class SourceOutcome:
    source: str
    kind: str
    runs: list[RunResult] = field(default_factory=list)
    skipped: int = 0  # observations older than what the store already holds
    error: str | None = None
    # The error itself: its type tells an input error (exit 2) from any other failure.
    failure: EvidenceError | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None


def _os_problem(e: OSError) -> str:
    if isinstance(e, IsADirectoryError):
        return "is a folder, not a file"
    return f"cannot be read: {e.strerror or type(e).__name__}"


def read_batches(
    source: SourceConfig,
    *,
    delta_since: datetime | None = None,
    known_ids: set[str] | None = None,
    cursor: str | None = None,
    on_stats: Callable[[Any], None] | None = None,
) -> Iterator[SourceBatch]:
    """Read one source with its connector: export files from `path`, or the live API.

    Batches are yielded one at a time, so the caller commits each (and its cursor) before
    the next is fetched: a back-fill killed midway resumes from its last committed cursor.
    """
    kind = connector(source)
    if source.path is not None:
        try:
            batches = sorted(kind.read_export(source), key=lambda b: b.as_of)
        except OSError as e:  # a folder where a file belongs, no permission: this source only
            raise InputError(str(e.filename or source.path), None, None, _os_problem(e)) from None
        yield from batches
    else:
        yield from kind.iter_live(
            source,
            cursor=cursor,
            delta_since=delta_since,
            known_ids=known_ids,
            on_stats=on_stats,
        )


def _last_cursor(con: duckdb.DuckDBPyConnection, source: str) -> str | None:
    rows = con.execute(
        "SELECT cursors->>'cursor' FROM sync_runs WHERE source = $s AND status = 'ok' "
        "AND cursors->>'cursor' IS NOT NULL ORDER BY run_id DESC LIMIT 1",
        {"s": source},
    ).fetchall()
    return rows[0][0] if rows else None


def _known_account_ids(con: duckdb.DuckDBPyConnection, source: SourceConfig) -> set[str]:
    rows = con.execute(
        "SELECT account_id FROM accounts WHERE source = $s AND valid_to IS NULL",
        {"s": source.name},
    ).fetchall()
    return {r[0] for r in rows}


def _latest_as_of(con: duckdb.DuckDBPyConnection, source: str) -> datetime | None:
    rows = con.execute(
        "SELECT max(as_of) FROM sync_runs WHERE source = $s AND status = 'ok'", {"s": source}
    ).fetchall()
    return rows[0][0].astimezone(UTC) if rows and rows[0][0] else None


def sync_sources(
    con: duckdb.DuckDBPyConnection,
    cfg: Config,
    *,
    names: list[str] | None = None,
    mode: str = "full",
    on_source: Callable[[SourceConfig], None] | None = None,
    on_run: Callable[[SourceConfig, RunResult], None] | None = None,
    on_stats: Callable[[Any], None] | None = None,
    allow_mass_removal: Collection[str] = (),
) -> list[SourceOutcome]:
    """Sync the named sources (all when None). A failing source commits nothing of its
    failing observation (what it committed before stays) and records the failure as a
    sync_runs row of status 'failed'; the other sources go on. The sources named in
    `allow_mass_removal` may close more than the policy's mass-removal limits, this once."""
    sources = [cfg.source(n) for n in names] if names else list(cfg.sources)
    outcomes = []
    for src in sources:
        if on_source:
            on_source(src)
        outcome = SourceOutcome(source=src.name, kind=src.kind)
        outcomes.append(outcome)
        live = src.path is None
        log = live and connector(src).LOG
        # Where the attempt in progress started reading, when, and the observation it holds:
        # what a failed run's record says.
        position: str | None = None
        attempt_at = datetime.now(UTC)
        observed: datetime | None = None
        try:
            latest = _latest_as_of(con, src.name)
            position = _last_cursor(con, src.name) if live else None
            batches = read_batches(
                src,
                delta_since=latest if mode == "delta" else None,
                known_ids=_known_account_ids(con, src) if live and mode == "full" else None,
                cursor=position,
                on_stats=on_stats,
            )
            for batch in batches:
                observed = batch.as_of
                # History cannot be re-written backwards: an older snapshot than the store's
                # newest for this source would close current rows with stale ones.
                if latest is not None and batch.as_of < latest:
                    outcome.skipped += 1
                else:
                    run = commit_batch(
                        con,
                        batch,
                        cfg.policy,
                        mode=mode,
                        cursor_from=position,
                        record_from=log,
                        allow_mass_removal=src.name in allow_mass_removal,
                    )
                    outcome.runs.append(run)
                    latest = batch.as_of
                    if on_run:
                        on_run(src, run)
                # The connector reads on from this batch's cursor, committed or skipped, so
                # the next run's `from` shows any gap a skipped batch leaves.
                if log and batch.cursor is not None:
                    position = batch.cursor
                attempt_at, observed = datetime.now(UTC), None
        except EvidenceError as e:
            # Kept without its traceback: the frames would hold the failed batch's tables.
            outcome.error, outcome.failure = str(e), e.with_traceback(None)
            record_failed_run(
                con,
                source=src.name,
                kind=src.kind,
                mode=mode,
                as_of=observed or attempt_at,
                started=attempt_at,
                error=outcome.error,
                cursor_from=position,
                record_from=log,
            )
    return outcomes
