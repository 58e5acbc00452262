"""Run digests recomputed in bounded memory (evidence/store/digests.py).

The expected digests are computed here in Python, independently: sha256 over the events'
hashes concatenated in seq order (close_run.sql's definition)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from evidence.store import digests as digests_mod
from evidence.store.db import open_store
from evidence.store.digests import install_digests, recompute_digests
from evidence.store.verify import verify_store

# append_events.sql's event hash, as an SQL expression over an events row.
REHASH = (
    "sha256(json_object('event_id', event_id, 'source', source, 'native_type', native_type, "
    "'occurred_at', strftime(timezone('UTC', occurred_at), '%Y-%m-%dT%H:%M:%S.%fZ'), "
    "'action', action, 'outcome', outcome, 'actor', actor, 'person_id', person_id, "
    "'app', app, 'account_id', account_id, 'entitlement', entitlement, 'details', details, "
    "'raw', raw))"
)


def add_run(con: duckdb.DuckDBPyConnection, run_id: int, first_seq: int, n: int) -> None:
    """A run of n events with their real hashes, seq first_seq.., stored in seq order."""
    con.execute(
        "INSERT INTO events (event_id, seq, run_id, source, native_type, occurred_at, "
        "ingested_at, action, outcome, app, account_id, inferred, event_hash) "
        "SELECT sha256('e' || $r || '-' || i), $s + i, $r, 'src', 't', "
        "TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i), TIMESTAMPTZ '2026-02-01 00:00:00+00', "
        "'account.login', 'success', 'app' || (i % 7), 'a' || i, false, '' FROM range($n) t(i) ORDER BY i",
        {"r": run_id, "s": first_seq, "n": n},
    )
    con.execute(f"UPDATE events SET event_hash = {REHASH} WHERE run_id = $r", {"r": run_id})


def py_digest(con: duckdb.DuckDBPyConnection, run_id: int) -> str:
    h = hashlib.sha256()
    for (hash_,) in con.execute(
        "SELECT event_hash FROM events WHERE run_id = $r ORDER BY seq", {"r": run_id}
    ).fetchall():
        h.update(hash_.encode())
    return h.hexdigest()


def seal(con: duckdb.DuckDBPyConnection, run_ids: list[int]) -> None:
    head = ""
    for r in run_ids:
        d = py_digest(con, r)
        head = hashlib.sha256((head + d).encode()).hexdigest()
        con.execute(
            "INSERT INTO sync_runs (run_id, source, kind, mode, started_at, as_of, status, "
            "digest, chain_hash) VALUES ($r, 'src', 'scim', 'full', TIMESTAMPTZ '2026-02-01', "
            "TIMESTAMPTZ '2026-02-01', 'ok', $d, $h)",
            {"r": r, "d": d, "h": head},
        )


def test_a_run_too_big_for_string_agg_is_digested_within_the_memory_limit(
    tmp_path: Path,
) -> None:
    con = open_store(tmp_path / "s.duckdb")
    try:
        add_run(con, 1, 0, 600_000)
        add_run(con, 2, 600_000, 3)
        seal(con, [1, 2])
        con.execute("SET memory_limit = '24MB'")
        con.execute("SET threads = 1")
        # The SQL construction needs the whole run (38 MB of hashes) in one string.
        with pytest.raises(duckdb.OutOfMemoryException):
            con.execute(
                "SELECT sha256(string_agg(event_hash, '' ORDER BY seq)) FROM events "
                "WHERE run_id = 1"
            ).fetchall()
        got = recompute_digests(con)
        assert got.runs == {
            1: (600_000, 0, py_digest(con, 1)),
            2: (3, 0, py_digest(con, 2)),
        }
        assert got.altered == [] and not got.sorted_read
        assert recompute_digests(con, 2, 2).runs == {2: (3, 0, py_digest(con, 2))}
        assert verify_store(con).ok
    finally:
        con.close()


def test_rows_stored_out_of_chain_order_are_read_sorted(tmp_path: Path) -> None:
    con = open_store(tmp_path / "s.duckdb")
    try:
        add_run(con, 1, 0, 5)
        # A delete and re-insert moves seq 2 to the end of the table's storage order.
        con.execute("CREATE TEMP TABLE moved AS SELECT * FROM events WHERE seq = 2")
        con.execute("DELETE FROM events WHERE seq = 2")
        con.execute("INSERT INTO events SELECT * FROM moved")
        seal(con, [1])
        got = recompute_digests(con)
        assert got.sorted_read
        assert got.runs == {1: (5, 0, py_digest(con, 1))}
        assert verify_store(con).ok
    finally:
        con.close()


def test_altered_events_are_counted_and_the_first_ones_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digests_mod, "ALTERED_KEPT", 2)
    con = open_store(tmp_path / "s.duckdb")
    try:
        add_run(con, 1, 0, 10)
        seal(con, [1])
        stored = py_digest(con, 1)
        con.execute("UPDATE events SET actor = 'mallory' WHERE seq IN (3, 4, 7)")
        got = install_digests(con)
        ids = dict(con.execute("SELECT seq, event_id FROM events").fetchall())
        assert got.altered == [(1, ids[3], 3), (1, ids[4], 4)]
        # The stored hashes are untouched, so their digest still matches; the content's not.
        assert recompute_digests(con, stored=True).runs == {1: (10, 0, stored)}
        assert got.runs[1][:2] == (10, 3) and got.runs[1][2] != stored
        assert con.execute("SELECT * FROM _run_digests").fetchall() == [(1, 10, 3, got.runs[1][2])]
        assert verify_store(con).problems == sorted(
            [
                f"event {ids[3]} (seq 3, run 1): stored hash differs from its content",
                f"event {ids[4]} (seq 4, run 1): stored hash differs from its content",
                "run 1: 1 more events whose stored hash differs from their content",
                "run 1: chain hash does not follow from the previous run",
                "run 1: digest does not match its events",
            ]
        )
    finally:
        con.close()
