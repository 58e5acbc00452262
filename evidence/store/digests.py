"""Run digests recomputed from the stored events (and rows digests from run_rows), in
bounded memory.

A run's digest is sha256 of its events' hashes concatenated in seq order (close_run.sql).
In SQL that is `sha256(string_agg(...))`, which holds a whole run's hashes (64 bytes per
event) in one string and sorts them: a run of millions of events exhausts the memory limit.
Here DuckDB recomputes each event hash and Arrow batches stream out; each run's slice of the
hash column goes to hashlib straight from the Arrow data buffer, with no Python object per
event. Events are read in storage order, which is chain order; the order is checked as the
rows pass, and a store whose rows are not in chain order is read again, sorted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from evidence.store.load import sql_text

__all__ = [
    "ALTERED_KEPT",
    "ALTERED_TABLE",
    "DIGESTS_TABLE",
    "Digests",
    "ROWS_DIGESTS_TABLE",
    "install_digests",
    "recompute_digests",
    "recompute_rows_digests",
]

# Temp tables the verification queries read (log_integrity.sql, verify_chain.sql).
DIGESTS_TABLE = "_run_digests"
ROWS_DIGESTS_TABLE = "_run_rows_digests"
ALTERED_TABLE = "_altered_events"
# Altered events named one by one; past this many, only the counts per run are kept.
ALTERED_KEPT = 1000

_BATCH_ROWS = 1 << 17


class _OutOfOrder(Exception):
    """The storage order is not chain order: the rows must be read sorted."""


@dataclass
class Digests:
    """Per run with events: (events, altered events, digest); the first altered events."""

    runs: dict[int, tuple[int, int, str]] = field(default_factory=dict)
    altered: list[tuple[int, str, int]] = field(default_factory=list)  # run, event id, seq
    sorted_read: bool = False  # the rows had to be sorted (storage order was not chain order)


def _string_parts(arr: pa.Array) -> tuple[np.ndarray, memoryview]:
    """The offsets (one per row, plus the end) and data buffer of a string array."""
    if pa.types.is_string(arr.type):
        dtype: Any = np.int32
    elif pa.types.is_large_string(arr.type):
        dtype = np.int64
    else:  # string views and the like: one copy per batch
        return _string_parts(arr.cast(pa.large_string()))
    if arr.null_count:
        raise ValueError("an event hash is null")
    _, offsets, data = arr.buffers()
    off = np.frombuffer(offsets, dtype=dtype)[arr.offset : arr.offset + len(arr) + 1]
    return off, memoryview(data)


def _fold(con: duckdb.DuckDBPyConnection, text: str, lo: int, hi: int, check: bool) -> Digests:
    out = Digests()
    reader = con.sql(text, params={"lo": lo, "hi": hi}).to_arrow_reader(_BATCH_ROWS)
    hashers: dict[int, Any] = {}
    counts: dict[int, list[int]] = {}
    last: tuple[int, int] | None = None
    try:
        _fold_batches(reader, out, hashers, counts, last, check)
    finally:
        reader.close()  # a stream given up on must not hold the connection
    out.runs = {run: (c[0], c[1], hashers[run].hexdigest()) for run, c in counts.items()}
    return out


def _fold_batches(
    reader: pa.RecordBatchReader,
    out: Digests,
    hashers: dict[int, Any],
    counts: dict[int, list[int]],
    last: tuple[int, int] | None,
    check: bool,
) -> None:
    for batch in reader:
        n = batch.num_rows
        if n == 0:
            continue
        runs = batch.column(0).to_numpy(zero_copy_only=False)
        seqs = batch.column(1).to_numpy(zero_copy_only=False)
        if check:
            # Chain order: run ids never fall, and seq rises within a run (across batches too).
            same = runs[1:] == runs[:-1]
            if (runs[1:] < runs[:-1]).any() or (same & (seqs[1:] <= seqs[:-1])).any():
                raise _OutOfOrder
            if last is not None and (
                runs[0] < last[0] or (runs[0] == last[0] and seqs[0] <= last[1])
            ):
                raise _OutOfOrder
            last = (int(runs[-1]), int(seqs[-1]))
        off, data = _string_parts(batch.column(2))
        altered = batch.column(3)
        cuts = [0, *(np.flatnonzero(runs[1:] != runs[:-1]) + 1).tolist(), n]
        for s, e in zip(cuts, cuts[1:], strict=False):
            run = int(runs[s])
            if run not in hashers:
                hashers[run], counts[run] = hashlib.sha256(), [0, 0]
            hashers[run].update(data[off[s] : off[e]])
            counts[run][0] += e - s
        if altered.null_count < n:
            for i in np.flatnonzero(np.asarray(altered.is_valid())).tolist():
                counts[int(runs[i])][1] += 1
                if len(out.altered) < ALTERED_KEPT:
                    out.altered.append((int(runs[i]), altered[i].as_py(), int(seqs[i])))


def recompute_digests(
    con: duckdb.DuckDBPyConnection,
    lo: int | None = None,
    hi: int | None = None,
    *,
    stored: bool = False,
) -> Digests:
    """The digest of every run with events in run_id range lo..hi (all runs when omitted),
    from each event's hash recomputed from its content, or as stored when `stored`."""
    text = sql_text("stored_hashes.sql" if stored else "rehash_events.sql")
    return _fold_range(con, text, "events", "seq", lo, hi)


def recompute_rows_digests(
    con: duckdb.DuckDBPyConnection, lo: int | None = None, hi: int | None = None
) -> Digests:
    """The rows digest of every run with run_rows entries in run_id range lo..hi (all when
    omitted): sha256 over its entries' hashes in ord order (close_run.sql's definition)."""
    return _fold_range(con, sql_text("ledger_hashes.sql"), "run_rows", "ord", lo, hi)


def _fold_range(
    con: duckdb.DuckDBPyConnection,
    text: str,
    table: str,
    order: str,
    lo: int | None,
    hi: int | None,
) -> Digests:
    if lo is None or hi is None:
        # `table` is one of two names fixed above, never input.
        lo_all, hi_all = con.execute(f"SELECT min(run_id), max(run_id) FROM {table}").fetchall()[0]
        lo = lo_all if lo is None else lo
        hi = hi_all if hi is None else hi
    if lo is None or hi is None or hi < lo:
        return Digests()
    try:
        return _fold(con, text, lo, hi, check=True)
    except _OutOfOrder:
        out = _fold(con, f"SELECT * FROM ({text}) ORDER BY run_id, {order}", lo, hi, check=False)
        out.sorted_read = True
        return out


def install_digests(
    con: duckdb.DuckDBPyConnection,
    lo: int | None = None,
    hi: int | None = None,
    *,
    rows: bool = False,
) -> Digests:
    """Recompute the digests of runs lo..hi into the temp tables the verification queries
    read: `_run_digests(run_id, events, altered, digest)`, one row per run with events,
    `_altered_events(run_id, event_id, seq)`, the first ALTERED_KEPT altered events, and
    with `rows`, `_run_rows_digests(run_id, rows, rows_digest)`, one row per run with
    run_rows entries (empty without)."""
    rec = recompute_digests(con, lo, hi)
    runs = sorted(rec.runs.items())
    # The reports' log_integrity reads only the event digests: the ledger is read for verify.
    ledger = sorted(recompute_rows_digests(con, lo, hi).runs.items()) if rows else []
    tables = {
        ROWS_DIGESTS_TABLE: pa.table(
            {
                "run_id": pa.array([r for r, _ in ledger], pa.int64()),
                "rows": pa.array([v[0] for _, v in ledger], pa.int64()),
                "rows_digest": pa.array([v[2] for _, v in ledger], pa.string()),
            }
        ),
        DIGESTS_TABLE: pa.table(
            {
                "run_id": pa.array([r for r, _ in runs], pa.int64()),
                "events": pa.array([v[0] for _, v in runs], pa.int64()),
                "altered": pa.array([v[1] for _, v in runs], pa.int64()),
                "digest": pa.array([v[2] for _, v in runs], pa.string()),
            }
        ),
        ALTERED_TABLE: pa.table(
            {
                "run_id": pa.array([a[0] for a in rec.altered], pa.int64()),
                "event_id": pa.array([a[1] for a in rec.altered], pa.string()),
                "seq": pa.array([a[2] for a in rec.altered], pa.int64()),
            }
        ),
    }
    for name, table in tables.items():
        con.register("_digests_in", table)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _digests_in")
        finally:
            con.unregister("_digests_in")
    return rec
