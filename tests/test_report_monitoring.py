"""The `monitoring` and `log_integrity` report tests, and failed sync runs on record.

Monitoring stores are hand-built rows (tests/builders.py). Log-integrity stores are
written by the store's own writer (`finish_run`, `record_failed_run`), so digests and chain
hashes are the real ones; the expected values are recomputed here in Python, independently
of the SQL.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

import evidence.sync as sync_mod
from evidence.config import Config, Policy, SourceConfig, StoreConfig, source_config
from evidence.errors import StoreError
from evidence.store.db import open_store
from evidence.store.load import FAILED_COUNTS, create_events_in, finish_run, record_failed_run
from evidence.store.verify import verify_store
from evidence.sync import sync_sources
from reports.catalog import load_query
from reports.context import install_tables, query_values
from reports.population import run_query
from tests.builders import Store, report_query, ts
from tests.servers.okta_standin import Fault, OktaStandin

# --------------------------------------------------------------------------- helpers


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run(
    con: duckdb.DuckDBPyConnection,
    name: str,
    start: str,
    end: str,
    *,
    policy: Policy | None = None,
    sources: list[SourceConfig] | None = None,
    evidence_until: str | None = None,
) -> list[dict[str, Any]]:
    """Run a report query the way a report build does; evidence_until defaults to the store's."""
    until = ts(evidence_until) if evidence_until else store_until(con)
    return report_query(
        con,
        name,
        policy,
        period_start=ts(start),
        period_end=ts(end),
        as_of=until,
        evidence_until=until,
        sources=sources,
    ).dicts()


def store_until(con: duckdb.DuckDBPyConnection) -> datetime:
    return con.execute("SELECT max(as_of) FROM sync_runs WHERE status = 'ok'").fetchall()[0][0]


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = open_store(tmp_path / "evidence.duckdb")
    try:
        yield c
    finally:
        c.close()


# =========================================================================== monitoring


def failed_row(s: Store, run_id: int, source: str, kind: str, as_of: str) -> None:
    """A failed run as sync records it: no digest, no chain hash, an error."""
    s.row(
        "sync_runs",
        run_id=run_id,
        source=source,
        kind=kind,
        mode="full",
        started_at=ts(as_of),
        finished_at=ts(as_of),
        as_of=ts(as_of),
        status="failed",
        error=f"{source}: HTTP 500",
    )


def monitored(s: Store) -> None:
    """Two sources and detect runs over 2026-03-01..05; evidence ends 2026-03-05 12:00."""
    okta = [
        "2026-02-28T23:00:00Z",
        "2026-03-02T00:00:00Z",  # 25 h after the one before: the longest on 03-01, ok
        "2026-03-03T03:00:00Z",  # 27 h after the one before: over the limit on 03-03
        "2026-03-04T03:00:00Z",
        "2026-03-05T02:00:00Z",
        "2026-03-05T12:00:00Z",
    ]
    hr = [f"2026-{d}T06:00:00Z" for d in ("02-28", "03-01", "03-02", "03-03", "03-04", "03-05")]
    rid = 0
    for at in okta:
        rid += 1
        s.run(rid, "okta", "okta", "delta", at)
    for at in hr:
        rid += 1
        s.run(rid, "workday", "hris", "full", at)
    # A failed okta run is no sync: were it one, 03-03's silence would be 15 h. Nor is a
    # failed detect run a detect run.
    failed_row(s, 20, "okta", "okta", "2026-03-02T12:00:00Z")
    failed_row(s, 21, "detect", "detect", "2026-03-04T10:00:00Z")
    detects = [
        "2026-03-01T12:00:00Z",
        "2026-03-02T00:00:00Z",  # 00:00:00 exactly: covers 03-02, not 03-01
        "2026-03-03T08:00:00Z",
        "2026-03-03T20:00:00Z",
        # 03-04: none
        "2026-03-05T00:00:00Z",  # the period's end in the 4-day period: not 03-04's
        "2026-03-05T12:00:00Z",
    ]
    for i, at in enumerate(detects):
        s.detect_run(30 + i, at)


MON_COLUMNS = (
    "day",
    "detect_runs",
    "first_detect_at",
    "last_detect_at",
    "sources_synced",
    "longest_silence_hours",
    "silent_sources",
    "status",
    "reason",
)

OK_2 = "All 2 configured sources synced within the 26 h limit; the longest silence was"

MON_ROWS = [
    {
        "day": ts("2026-03-01T00:00:00Z"),
        "detect_runs": 1,
        "first_detect_at": ts("2026-03-01T12:00:00Z"),
        "last_detect_at": ts("2026-03-01T12:00:00Z"),
        "sources_synced": 1,
        "longest_silence_hours": 25.0,
        "silent_sources": None,
        "status": "ok",
        "reason": f"One detect run evaluated the store, as of 12:00 UTC. {OK_2} 25.0 h (okta).",
    },
    {
        "day": ts("2026-03-02T00:00:00Z"),
        "detect_runs": 1,
        "first_detect_at": ts("2026-03-02T00:00:00Z"),
        "last_detect_at": ts("2026-03-02T00:00:00Z"),
        "sources_synced": 2,
        "longest_silence_hours": 24.0,
        "silent_sources": None,
        "status": "ok",
        # okta and workday both reach 24.0 h: the first by name is named.
        "reason": f"One detect run evaluated the store, as of 00:00 UTC. {OK_2} 24.0 h (okta).",
    },
    {
        "day": ts("2026-03-03T00:00:00Z"),
        "detect_runs": 2,
        "first_detect_at": ts("2026-03-03T08:00:00Z"),
        "last_detect_at": ts("2026-03-03T20:00:00Z"),
        "sources_synced": 2,
        "longest_silence_hours": 27.0,
        "silent_sources": "okta",
        "status": "exception",
        "reason": "2 detect runs evaluated the store, the first as of 08:00 UTC and the last "
        "as of 20:00 UTC. Over the 26 h limit: okta, silent 27.0 h (no successful sync from "
        "2026-03-02 00:00 to 2026-03-03 03:00 UTC).",
    },
    {
        "day": ts("2026-03-04T00:00:00Z"),
        "detect_runs": 0,
        "first_detect_at": None,
        "last_detect_at": None,
        "sources_synced": 2,
        "longest_silence_hours": 24.0,
        "silent_sources": None,
        "status": "exception",
        "reason": f"No detect run evaluated the store on this day. {OK_2} 24.0 h (okta).",
    },
    {
        "day": ts("2026-03-05T00:00:00Z"),
        "detect_runs": 2,
        "first_detect_at": ts("2026-03-05T00:00:00Z"),
        "last_detect_at": ts("2026-03-05T12:00:00Z"),
        "sources_synced": 2,
        "longest_silence_hours": 24.0,
        "silent_sources": None,
        "status": "ok",
        # Judged up to 12:00: okta's 02:00 sync ends a 23 h silence, workday's 06:00 a 24 h one.
        "reason": "2 detect runs evaluated the store, the first as of 00:00 UTC and the last "
        f"as of 12:00 UTC. {OK_2} 24.0 h (workday). Judged up to the store's newest sync, "
        "as of 2026-03-05 12:00 UTC.",
    },
    {
        "day": ts("2026-03-06T00:00:00Z"),
        "detect_runs": 0,
        "first_detect_at": None,
        "last_detect_at": None,
        "sources_synced": 0,
        "longest_silence_hours": None,
        "silent_sources": None,
        "status": "exception",
        "reason": "No detect run evaluated the store on this day. The store holds no evidence "
        "for this day (its newest sync is as of 2026-03-05 12:00 UTC), so the sources cannot "
        "be shown to have synced.",
    },
]


@pytest.mark.parametrize(
    ("end", "rows"),
    [
        ("2026-03-06T00:00:00Z", MON_ROWS[:5]),
        # The period's end is exclusive: 03-05's detect run at 00:00:00 is not 03-04's.
        ("2026-03-05T00:00:00Z", MON_ROWS[:4]),
        # A day after the evidence cut-off cannot be shown to be monitored; nor can its
        # sources be judged silent (03-07 would otherwise show both over the limit).
        ("2026-03-07T00:00:00Z", MON_ROWS),
        (
            "2026-03-08T00:00:00Z",
            [*MON_ROWS, {**MON_ROWS[5], "day": ts("2026-03-07T00:00:00Z")}],
        ),
    ],
)
def test_monitoring_rows_exactly(
    con: duckdb.DuckDBPyConnection, end: str, rows: list[dict[str, Any]]
) -> None:
    monitored(Store(con))
    got = run(con, "monitoring.sql", "2026-03-01T00:00:00Z", end)
    assert tuple(got[0]) == MON_COLUMNS
    assert got == rows


def test_monitoring_first_day_of_a_mid_day_period(con: duckdb.DuckDBPyConnection) -> None:
    """A period starting mid-day: the first day's window starts at the period's start."""
    monitored(Store(con))
    got = run(con, "monitoring.sql", "2026-03-01T13:00:00Z", "2026-03-02T00:00:00Z")
    # The 12:00 detect run lies before the period; okta's 25 h silence is still reached.
    assert [(r["day"], r["detect_runs"], r["sources_synced"], r["status"]) for r in got] == [
        (ts("2026-03-01T00:00:00Z"), 0, 0, "exception")
    ]
    assert got[0]["longest_silence_hours"] == 25.0


def test_monitoring_a_period_ending_mid_day(con: duckdb.DuckDBPyConnection) -> None:
    """The last day's window ends at the period's end: a detect run at that instant is out."""
    monitored(Store(con))
    got = run(con, "monitoring.sql", "2026-03-05T00:00:00Z", "2026-03-05T12:00:00Z")
    assert [(r["day"], r["detect_runs"], r["last_detect_at"]) for r in got] == [
        (ts("2026-03-05T00:00:00Z"), 1, ts("2026-03-05T00:00:00Z"))
    ]


def test_monitoring_judges_up_to_the_evidence(con: duckdb.DuckDBPyConnection) -> None:
    """Silence is measured up to the store's newest sync, not past it to the day's end."""
    s = Store(con)
    s.run(1, "quiet", "scim", "full", "2026-02-28T20:00:00Z")
    s.run(2, "busy", "scim", "full", "2026-02-28T20:00:00Z")
    s.run(3, "busy", "scim", "full", "2026-03-01T12:00:00Z")
    s.detect_run(4, "2026-03-01T12:00:00Z")
    (got,) = run(con, "monitoring.sql", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z")
    # To the day's end, quiet would be silent 28 h; the evidence ends at 12:00 (16 h).
    assert (got["status"], got["longest_silence_hours"], got["reason"]) == (
        "ok",
        16.0,
        "One detect run evaluated the store, as of 12:00 UTC. All 2 configured sources synced "
        "within the 26 h limit; the longest silence was 16.0 h (busy). Judged up to the "
        "store's newest sync, as of 2026-03-01 12:00 UTC.",
    )


def test_monitoring_limit_is_the_policy(con: duckdb.DuckDBPyConnection) -> None:
    monitored(Store(con))
    got = run(
        con,
        "monitoring.sql",
        "2026-03-03T00:00:00Z",
        "2026-03-04T00:00:00Z",
        policy=Policy(max_source_silence_hours=28),
    )
    assert [(r["status"], r["silent_sources"], r["reason"]) for r in got] == [
        (
            "ok",
            None,
            "2 detect runs evaluated the store, the first as of 08:00 UTC and the last as of "
            "20:00 UTC. All 2 configured sources synced within the 28 h limit; the longest "
            "silence was 27.0 h (okta).",
        )
    ]


def test_monitoring_never_synced_sources(con: duckdb.DuckDBPyConnection) -> None:
    """A configured source never synced is silent since forever; one first synced mid-day was
    silent since forever until then."""
    s = Store(con)
    monitored(s)
    s.run(50, "ldap", "scim", "full", "2026-03-02T10:00:00Z")
    configured = [
        source_config(name="okta", kind="okta", url="https://example.okta.com"),
        source_config(name="workday", kind="hris", path=Path("w.csv")),
        source_config(name="ldap", kind="scim", url="https://ldap.example.com"),
        source_config(name="github", kind="scim", url="https://api.github.com/scim"),
    ]
    got = run(
        con, "monitoring.sql", "2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z", sources=configured
    )
    assert [
        (r["day"], r["sources_synced"], r["longest_silence_hours"], r["silent_sources"])
        for r in got
    ] == [
        (ts("2026-03-01T00:00:00Z"), 1, None, "github, ldap"),
        (ts("2026-03-02T00:00:00Z"), 3, None, "github, ldap"),
    ]
    assert [r["status"] for r in got] == ["exception", "exception"]
    assert got[0]["reason"] == (
        "One detect run evaluated the store, as of 12:00 UTC. Over the 26 h limit: github, no "
        "successful sync ever, up to 2026-03-02 00:00 UTC; ldap, no successful sync ever, up to "
        "2026-03-02 00:00 UTC."
    )
    assert got[1]["reason"] == (
        "One detect run evaluated the store, as of 00:00 UTC. Over the 26 h limit: github, no "
        "successful sync ever, up to 2026-03-03 00:00 UTC; ldap, no successful sync until its "
        "first, as of 2026-03-02 10:00 UTC."
    )


def test_monitoring_a_day_without_any_sync(con: duckdb.DuckDBPyConnection) -> None:
    """A day with no sync of a source carries its silence over from the days before."""
    s = Store(con)
    s.run(1, "hr", "hris", "full", "2026-03-01T06:00:00Z")
    s.run(2, "hr", "hris", "full", "2026-03-03T08:00:00Z")
    for i, day in enumerate(("01", "02", "03")):
        s.detect_run(10 + i, f"2026-03-{day}T09:00:00Z")
    got = run(
        con,
        "monitoring.sql",
        "2026-03-01T00:00:00Z",
        "2026-03-04T00:00:00Z",
        evidence_until="2026-03-04T00:00:00Z",
    )
    assert [
        (r["sources_synced"], r["longest_silence_hours"], r["silent_sources"], r["status"])
        for r in got
    ] == [
        (1, None, "hr", "exception"),  # never synced before 06:00
        (0, 42.0, "hr", "exception"),  # 03-01 06:00 to 03-03 00:00
        (1, 50.0, "hr", "exception"),  # 03-01 06:00 to 03-03 08:00
    ]
    assert got[1]["reason"] == (
        "One detect run evaluated the store, as of 09:00 UTC. Over the 26 h limit: hr, silent "
        "42.0 h (no successful sync from 2026-03-01 06:00 to 2026-03-03 00:00 UTC)."
    )


def test_monitoring_names_many_silent_sources_briefly(con: duckdb.DuckDBPyConnection) -> None:
    s = Store(con)
    s.detect_run(1, "2026-03-01T05:00:00Z")
    names = [f"app{i}" for i in range(7)]
    configured = [source_config(name=n, kind="scim", url=f"https://{n}.example.com") for n in names]
    (got,) = run(
        con, "monitoring.sql", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", sources=configured
    )
    assert got["silent_sources"] == ", ".join(names)
    assert got["reason"] == (
        "One detect run evaluated the store, as of 05:00 UTC. Over the 26 h limit: "
        + "; ".join(f"{n}, no successful sync ever, up to 2026-03-01 05:00 UTC" for n in names[:5])
        + "; and 2 more, named under silent sources. Judged up to the store's newest sync, as "
        "of 2026-03-01 05:00 UTC."
    )


def test_monitoring_without_sources_or_period(con: duckdb.DuckDBPyConnection) -> None:
    s = Store(con)
    s.detect_run(1, "2026-03-01T05:00:00Z")
    got = run(con, "monitoring.sql", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z")
    assert [(r["status"], r["reason"]) for r in got] == [
        (
            "ok",
            "One detect run evaluated the store, as of 05:00 UTC. No source is configured. "
            "Judged up to the store's newest sync, as of 2026-03-01 05:00 UTC.",
        )
    ]
    assert run(con, "monitoring.sql", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z") == []


def test_monitoring_of_an_empty_store(con: duckdb.DuckDBPyConnection) -> None:
    install_tables(con, Policy())
    t = ts("2026-03-01T00:00:00Z")
    values = query_values(Policy(), period_start=t, period_end=t + timedelta(days=1), as_of=None,
                          evidence_until=None)  # fmt: skip
    assert run_query(con, load_query("monitoring.sql"), values).dicts() == [
        {
            "day": t,
            "detect_runs": 0,
            "first_detect_at": None,
            "last_detect_at": None,
            "sources_synced": 0,
            "longest_silence_hours": None,
            "silent_sources": None,
            "status": "exception",
            "reason": "No detect run evaluated the store on this day. The store holds no "
            "evidence for this day (it holds no completed sync), so the sources cannot be shown "
            "to have synced.",
        }
    ]
    assert run_query(con, load_query("log_integrity.sql"), values).rows == []


def test_monitoring_is_set_based_at_scale(con: duckdb.DuckDBPyConnection) -> None:
    """365 days x 300 sources with a sync every 6 h (438,000 runs) and hourly detect runs."""
    con.execute(
        """
        INSERT INTO sync_runs (run_id, source, kind, mode, started_at, as_of, status)
        SELECT row_number() OVER (), 'src' || s, 'scim', 'delta', t, t, 'ok'
        FROM range(300) a(s),
             range(TIMESTAMPTZ '2025-01-01', TIMESTAMPTZ '2026-01-01', INTERVAL 6 HOUR) b(t);
        INSERT INTO sync_runs (run_id, source, kind, mode, started_at, as_of, status)
        SELECT 1000000 + row_number() OVER (), 'detect', 'detect', 'full', t, t, 'ok'
        FROM range(TIMESTAMPTZ '2025-01-01', TIMESTAMPTZ '2026-01-01', INTERVAL 1 HOUR) b(t);
        """
    )
    t0 = time.perf_counter()
    got = run(con, "monitoring.sql", "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z")
    elapsed = time.perf_counter() - t0
    assert len(got) == 365 and {r["status"] for r in got} == {"ok"}
    assert got[100]["detect_runs"] == 24 and got[100]["sources_synced"] == 300
    assert got[100]["longest_silence_hours"] == 6.0
    assert elapsed < 5, elapsed


# =========================================================================== log integrity


class ChainStore(Store):
    """Runs as the store's writer records them: events appended and hashed by
    append_events.sql, the digest and chain hash by close_run.sql."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        super().__init__(con)
        self._n = 0

    def sync(
        self,
        source: str,
        kind: str,
        mode: str,
        as_of: str,
        *,
        events: int = 0,
        action: str = "account.update",
        cursor: str | None = None,
        cursor_from: str | None = None,
        record_from: bool = False,
    ) -> int:
        create_events_in(self.con)
        for _ in range(events):
            self._n += 1
            self.con.execute(
                "INSERT INTO _events_in (native_id, native_type, occurred_at, action, outcome, "
                "actor, app, account_id, details, raw, inferred) VALUES ($id, $type, $at, "
                "$action, 'success', 'admin@example.com', $source, $acc, $details, $raw, false)",
                {
                    "id": f"n{self._n}",
                    "type": action,
                    "at": ts(as_of),
                    "action": action,
                    "source": source,
                    "acc": f"A{self._n}",
                    "details": json.dumps({"n": self._n}),
                    "raw": json.dumps({"id": f"n{self._n}", "eventType": action}),
                },
            )
        run_id = int(self.con.execute("SELECT nextval('run_id_seq')").fetchall()[0][0])
        finish_run(
            self.con,
            run_id=run_id,
            source=source,
            kind=kind,
            tenant=f"{source}.example.com",
            mode=mode,
            as_of=ts(as_of),
            started=ts(as_of) + timedelta(minutes=1),
            counts={},
            cursor=cursor,
            cursor_from=cursor_from,
            record_from=record_from,
        )
        return run_id

    def failed(
        self,
        source: str,
        kind: str,
        as_of: str,
        error: str,
        *,
        cursor_from: str | None = None,
        record_from: bool = False,
    ) -> int:
        return record_failed_run(
            self.con,
            source=source,
            kind=kind,
            mode="full",
            as_of=ts(as_of),
            started=ts(as_of) + timedelta(minutes=1),
            error=error,
            cursor_from=cursor_from,
            record_from=record_from,
        )


def stored(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, Any]:
    cur = con.execute("SELECT * FROM sync_runs WHERE run_id = $r", {"r": run_id})
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchall()[0], strict=True))


def py_event_hash(row: dict[str, Any]) -> str:
    """The event hash of ARCHITECTURE.md, recomputed in Python from the stored content."""
    occurred = row["occurred_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    obj = {
        "event_id": row["event_id"],
        "source": row["source"],
        "native_type": row["native_type"],
        "occurred_at": occurred,
        "action": row["action"],
        "outcome": row["outcome"],
        "actor": row["actor"],
        "person_id": row["person_id"],
        "app": row["app"],
        "account_id": row["account_id"],
        "entitlement": row["entitlement"],
        "details": None if row["details"] is None else json.loads(row["details"]),
        "raw": None if row["raw"] is None else json.loads(row["raw"]),
    }
    return sha(json.dumps(obj, separators=(",", ":")))


def py_digest(con: duckdb.DuckDBPyConnection, run_id: int) -> str | None:
    """sha256 over the run's events re-hashed from their content, in seq order."""
    cur = con.execute("SELECT * FROM events WHERE run_id = $r ORDER BY seq", {"r": run_id})
    names = [d[0] for d in cur.description]
    hashes = [py_event_hash(dict(zip(names, r, strict=True))) for r in cur.fetchall()]
    return sha("".join(hashes)) if hashes else None


LOG_COLUMNS = (
    "run_id",
    "source",
    "kind",
    "mode",
    "started_at",
    "as_of",
    "run_status",
    "events",
    "digest",
    "digest_recomputed",
    "chain_hash",
    "chain_recomputed",
    "cursor_from",
    "cursor_to",
    "status",
    "reason",
)


def logged(s: ChainStore) -> dict[str, int]:
    """Runs of every kind around the period 2026-03: returns run ids by name."""
    r = {}
    r["before"] = s.sync("workday", "hris", "full", "2026-02-28T06:00:00Z", events=2)
    r["start"] = s.sync("workday", "hris", "full", "2026-03-01T00:00:00Z", events=1)
    r["first"] = s.sync(
        "okta", "okta", "full", "2026-03-02T00:00:00Z", events=2, cursor="c1", record_from=True
    )
    r["delta"] = s.sync(
        "okta",
        "okta",
        "delta",
        "2026-03-03T00:00:00Z",
        events=1,
        cursor="c2",
        cursor_from="c1",
        record_from=True,
    )
    r["empty"] = s.sync("github", "scim", "delta", "2026-03-04T00:00:00Z")
    r["failed"] = s.failed(
        "okta",
        "okta",
        "2026-03-05T00:00:00Z",
        "source 'okta': HTTP 500 from /api/v1/logs.",
        cursor_from="c2",
        record_from=True,
    )
    r["rerun"] = s.sync(
        "okta",
        "okta",
        "full",
        "2026-03-05T01:00:00Z",
        events=1,
        cursor="c3",
        cursor_from="c2",
        record_from=True,
    )
    r["lost"] = s.failed(
        "entra", "entra", "2026-03-06T00:00:00Z", "source 'entra': token request refused (401)"
    )
    r["lost_again"] = s.failed(
        "entra", "entra", "2026-03-06T06:00:00Z", "source 'entra': token request refused (401)"
    )
    r["gap"] = s.sync(
        "okta",
        "okta",
        "full",
        "2026-03-07T00:00:00Z",
        events=1,
        cursor="c4",
        cursor_from="cX",
        record_from=True,
    )
    r["tampered"] = s.sync("github", "scim", "full", "2026-03-08T00:00:00Z", events=2)
    r["detect"] = s.sync(
        "detect", "detect", "full", "2026-03-09T00:00:00Z", events=1, action="finding.open"
    )
    # Committed in the period, observed in January: not in the population, still on the chain.
    r["archive"] = s.sync("archive", "hris", "full", "2026-01-15T00:00:00Z", events=1)
    r["export"] = s.sync("okta-files", "okta", "full", "2026-03-10T00:00:00Z", events=1)
    r["legacy"] = s.sync("okta", "okta", "full", "2026-03-11T00:00:00Z", events=1, cursor="c5")
    r["end"] = s.sync("workday", "hris", "full", "2026-04-01T00:00:00Z", events=1)
    return r


def expected_log_rows(con: duckdb.DuckDBPyConnection, r: dict[str, int]) -> list[dict]:
    def row(name: str, status: str, reason: str, **over: Any) -> dict[str, Any]:
        rid = r[name]
        st = stored(con, rid)
        cursors = json.loads(st["cursors"]) if st["cursors"] else {}
        out = {
            "run_id": rid,
            "source": st["source"],
            "kind": st["kind"],
            "mode": st["mode"],
            "started_at": st["started_at"],
            "as_of": st["as_of"],
            "run_status": st["status"],
            "events": con.execute(
                "SELECT count(*) FROM events WHERE run_id = $r", {"r": rid}
            ).fetchall()[0][0],
            "digest": st["digest"],
            "digest_recomputed": py_digest(con, rid),
            "chain_hash": st["chain_hash"],
            "chain_recomputed": None,
            "cursor_from": cursors.get("from"),
            "cursor_to": cursors.get("cursor"),
            "status": status,
            "reason": reason,
        }
        out.update(over)
        return out

    def link(prev: str, name: str) -> str:
        return sha(stored(con, r[prev])["chain_hash"] + py_digest(con, r[name]))

    follows = "Its chain hash follows from run {}'s."
    return [
        row(
            "start",
            "ok",
            f"Its one event hashes to the stored digest. {follows.format(r['before'])}",
            chain_recomputed=link("before", "start"),
        ),
        row(
            "first",
            "ok",
            f"Its 2 events hash to the stored digest. {follows.format(r['start'])} "
            "First read of the log: no earlier cursor to continue.",
            chain_recomputed=link("start", "first"),
        ),
        row(
            "delta",
            "ok",
            f"Its one event hashes to the stored digest. {follows.format(r['first'])} "
            f"Continued from where run {r['first']} stopped.",
            chain_recomputed=link("first", "delta"),
        ),
        row("empty", "ok", "Added no events: no digest, and the chain head is unchanged."),
        row(
            "failed",
            "ok",
            "The run failed: source 'okta': HTTP 500 from /api/v1/logs. "
            f"Re-run by run {r['rerun']} (as of 2026-03-05 01:00 UTC), which succeeded.",
        ),
        row(
            "rerun",
            "ok",
            f"Its one event hashes to the stored digest. {follows.format(r['delta'])} "
            f"Continued from where run {r['delta']} stopped.",
            chain_recomputed=link("delta", "rerun"),
        ),
        row(
            "lost",
            "exception",
            "The run failed: source 'entra': token request refused (401). No later run of "
            "entra succeeded up to the evidence cut-off 2026-04-01 00:00 UTC: nothing re-ran it.",
        ),
        row(
            "lost_again",
            "exception",
            "The run failed: source 'entra': token request refused (401). No later run of "
            "entra succeeded up to the evidence cut-off 2026-04-01 00:00 UTC: nothing re-ran it.",
        ),
        row(
            "gap",
            "exception",
            f"Its one event hashes to the stored digest. {follows.format(r['rerun'])} "
            f"Cursor gap: it started from cX, but the previous successful run {r['rerun']} "
            "stopped at c3.",
            chain_recomputed=link("rerun", "gap"),
        ),
        row(
            "tampered",
            "exception",
            "The digest recomputed from its 2 events differs from the stored one (1 event's "
            "content no longer matches its stored hash). Its chain hash does not follow from "
            f"run {r['gap']}'s chain hash and the recomputed digest.",
            chain_recomputed=link("gap", "tampered"),
        ),
        row(
            "detect",
            "ok",
            f"Its one event hashes to the stored digest. {follows.format(r['tampered'])}",
            chain_recomputed=link("tampered", "detect"),
        ),
        row(
            "export",
            "ok",
            f"Its one event hashes to the stored digest. {follows.format(r['archive'])} "
            "Loaded from export files, which carry no cursor: continuity not judged.",
            chain_recomputed=link("archive", "export"),
        ),
        row(
            "legacy",
            "ok",
            f"Its one event hashes to the stored digest. {follows.format(r['export'])} "
            "The run did not record where it started reading: continuity not judged.",
            chain_recomputed=link("export", "legacy"),
        ),
    ]


def tamper_one_event(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    con.execute(
        "UPDATE events SET actor = 'mallory@example.com' WHERE seq = "
        "(SELECT min(seq) FROM events WHERE run_id = $r)",
        {"r": run_id},
    )


def test_the_writer_and_python_agree_on_hashes(con: duckdb.DuckDBPyConnection) -> None:
    """The independent Python recomputation matches what the writer stored."""
    s = ChainStore(con)
    a = s.sync("workday", "hris", "full", "2026-03-01T00:00:00Z", events=3)
    b = s.sync("okta", "okta", "full", "2026-03-02T00:00:00Z", events=2)
    c = s.sync("github", "scim", "full", "2026-03-03T00:00:00Z")
    assert stored(con, a)["digest"] == py_digest(con, a)
    assert stored(con, a)["chain_hash"] == sha(py_digest(con, a) or "")
    assert stored(con, b)["chain_hash"] == sha(stored(con, a)["chain_hash"] + py_digest(con, b))
    assert (stored(con, c)["digest"], stored(con, c)["chain_hash"]) == (None, None)


def test_log_integrity_rows_exactly(con: duckdb.DuckDBPyConnection) -> None:
    r = logged(ChainStore(con))
    tamper_one_event(con, r["tampered"])
    got = run(con, "log_integrity.sql", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert tuple(got[0]) == LOG_COLUMNS
    # The period's first instant is in, its end is out; January's archive run is not a row.
    assert [g["run_id"] for g in got] == [
        r[n]
        for n in (
            "start", "first", "delta", "empty", "failed", "rerun", "lost", "lost_again", "gap",
            "tampered",
            "detect", "export", "legacy",
        )
    ]  # fmt: skip
    assert got == expected_log_rows(con, r)
    assert not verify_store(con).ok  # the store's own check agrees about the tampering


def test_a_broken_link_outside_the_population(con: duckdb.DuckDBPyConnection) -> None:
    """A run outside the period whose stored chain hash no longer follows from its stored
    digest: the next population run on the chain says so."""
    r = logged(ChainStore(con))
    con.execute(
        "UPDATE sync_runs SET digest = sha256('forged') WHERE run_id IN ($a, $b)",
        {"a": r["before"], "b": r["archive"]},
    )
    got = {g["run_id"]: g for g in run(
        con, "log_integrity.sql", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"
    )}  # fmt: skip
    assert got[r["start"]]["status"] == "exception"
    assert got[r["start"]]["reason"] == (
        f"Its one event hashes to the stored digest. Its chain hash follows from run "
        f"{r['before']}'s. The chain breaks before this run, outside the population: the chain "
        f"hash of run {r['before']} does not follow from its stored digest and the previous "
        "chain hash."
    )
    assert got[r["export"]]["status"] == "exception"
    assert f"the chain hash of run {r['archive']} does not" in got[r["export"]]["reason"]
    # Only those two rows changed.
    assert [g for g in got.values() if g["status"] == "exception"] == [
        got[r[n]] for n in ("start", "lost", "lost_again", "gap", "export")
    ]


def test_several_broken_links_before_the_period(con: duckdb.DuckDBPyConnection) -> None:
    s = ChainStore(con)
    a = s.sync("workday", "hris", "full", "2026-02-01T00:00:00Z", events=1)
    b = s.sync("workday", "hris", "full", "2026-02-02T00:00:00Z", events=1)
    s.sync("workday", "hris", "full", "2026-02-03T00:00:00Z", events=1)
    d = s.sync("workday", "hris", "full", "2026-03-01T00:00:00Z", events=1)
    con.execute(
        "UPDATE sync_runs SET digest = sha256('forged') WHERE run_id IN ($a, $b)", {"a": a, "b": b}
    )
    (got,) = run(con, "log_integrity.sql", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert (got["run_id"], got["status"]) == (d, "exception")
    assert got["reason"].endswith(
        f"The chain breaks before this run, outside the population: the chain hashes of runs "
        f"{a}, {b} do not follow from their stored digests and the previous chain hashes."
    )


def test_a_forged_chain_hash_breaks_its_link_and_the_next(
    con: duckdb.DuckDBPyConnection,
) -> None:
    s = ChainStore(con)
    a = s.sync("workday", "hris", "full", "2026-03-01T00:00:00Z", events=1)
    b = s.sync("workday", "hris", "full", "2026-03-02T00:00:00Z", events=1)
    c = s.sync("workday", "hris", "full", "2026-03-03T00:00:00Z", events=1)
    con.execute("UPDATE sync_runs SET chain_hash = sha256('forged') WHERE run_id = $b", {"b": b})
    got = run(con, "log_integrity.sql", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert [(g["run_id"], g["status"]) for g in got] == [
        (a, "ok"),
        (b, "exception"),
        (c, "exception"),
    ]
    assert got[1]["reason"].endswith(
        f"Its chain hash does not follow from run {a}'s chain hash and the recomputed digest."
    )
    assert got[2]["chain_recomputed"] == sha(sha("forged") + py_digest(con, c))


@pytest.mark.parametrize(
    ("tampering", "reason"),
    [
        # Every event of the run gone.
        (
            "DELETE FROM events WHERE run_id = $r",
            "Its stored digest covers events, but the store holds none for this run now. Its "
            "chain hash does not follow from the start of the chain and the recomputed digest.",
        ),
        # One event gone: the digest no longer matches, though every remaining hash does.
        (
            "DELETE FROM events WHERE seq = (SELECT max(seq) FROM events WHERE run_id = $r)",
            "The digest recomputed from its one event differs from the stored one. Its chain "
            "hash does not follow from the start of the chain and the recomputed digest.",
        ),
        # The stored digest rewritten, the chain hash left: only the digest fails.
        (
            "UPDATE sync_runs SET digest = sha256('forged') WHERE run_id = $r",
            "The digest recomputed from its 2 events differs from the stored one. Its chain "
            "hash follows from the start of the chain.",
        ),
    ],
)
def test_altered_runs_break_the_digest(
    con: duckdb.DuckDBPyConnection, tampering: str, reason: str
) -> None:
    s = ChainStore(con)
    rid = s.sync("workday", "hris", "full", "2026-03-01T00:00:00Z", events=2)
    con.execute(tampering, {"r": rid})
    (got,) = run(con, "log_integrity.sql", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert (got["status"], got["reason"]) == ("exception", reason)


def test_events_added_to_a_run_without_events(con: duckdb.DuckDBPyConnection) -> None:
    """Events slipped into a run that recorded none put it on the chain, with no chain hash:
    its link and the next one break."""
    s = ChainStore(con)
    a = s.sync("workday", "hris", "full", "2026-03-01T00:00:00Z", events=1)
    b = s.sync("github", "scim", "full", "2026-03-02T00:00:00Z")
    c = s.sync("workday", "hris", "full", "2026-03-03T00:00:00Z", events=1)
    con.execute(
        "INSERT INTO events SELECT * REPLACE ($b AS run_id, 99 AS seq, 'x' AS event_id) "
        "FROM events WHERE run_id = $a",
        {"a": a, "b": b},
    )
    got = run(con, "log_integrity.sql", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert [(g["run_id"], g["status"], g["reason"]) for g in got] == [
        (a, "ok", "Its one event hashes to the stored digest. Its chain hash follows from the "
         "start of the chain."),
        (b, "exception", "It recorded no digest, but the store now holds one event for it. Its "
         f"chain hash does not follow from run {a}'s chain hash and the recomputed digest."),
        (c, "exception", "Its one event hashes to the stored digest. Its chain hash does not "
         f"follow from run {b}'s chain hash and the recomputed digest."),
    ]  # fmt: skip


def test_cursor_gap_variants(con: duckdb.DuckDBPyConnection) -> None:
    s = ChainStore(con)
    a = s.sync("entra", "entra", "full", "2026-03-01T00:00:00Z", cursor="t1", record_from=True)
    # Started over without a cursor although run a stopped at t1.
    b = s.sync("entra", "entra", "full", "2026-03-02T00:00:00Z", cursor="t2", record_from=True)
    # A first read that claims a starting cursor nobody stopped at.
    c = s.sync(
        "okta", "okta", "full", "2026-03-03T00:00:00Z", cursor="u2", cursor_from="u1",
        record_from=True,
    )  # fmt: skip
    # A failed run, even one claiming a cursor, moves nothing: d continues from c.
    failed = int(con.execute("SELECT nextval('run_id_seq')").fetchall()[0][0])
    s.row(
        "sync_runs", run_id=failed, source="okta", kind="okta", mode="full",
        started_at=ts("2026-03-03T06:00:00Z"), as_of=ts("2026-03-03T06:00:00Z"),
        status="failed", error="boom", cursors=json.dumps({"from": "u2", "cursor": "u9"}),
    )  # fmt: skip
    d = s.sync(
        "okta", "okta", "full", "2026-03-04T00:00:00Z", cursor="u3", cursor_from="u2",
        record_from=True,
    )  # fmt: skip
    got = run(con, "log_integrity.sql", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    got = [g for g in got if g["run_id"] != failed]
    assert [(g["run_id"], g["status"], g["reason"]) for g in got] == [
        (
            a,
            "ok",
            "Added no events: no digest, and the chain head is unchanged. First read of the "
            "log: no earlier cursor to continue.",
        ),
        (
            b,
            "exception",
            "Added no events: no digest, and the chain head is unchanged. Cursor gap: it "
            f"started without a cursor, but run {a} had stopped at t1.",
        ),
        (
            c,
            "exception",
            "Added no events: no digest, and the chain head is unchanged. Cursor gap: it "
            "started from u1, where no earlier successful run of the source stopped.",
        ),
        (
            d,
            "ok",
            "Added no events: no digest, and the chain head is unchanged. Continued from where "
            f"run {c} stopped.",
        ),
    ]


def test_a_failed_run_rerun_only_after_the_cut_off(con: duckdb.DuckDBPyConnection) -> None:
    """A re-run counts only up to $evidence_until."""
    s = ChainStore(con)
    f = s.failed("github", "scim", "2026-03-01T00:00:00Z", "boom")
    s.sync("github", "scim", "full", "2026-03-02T00:00:00Z")
    args = ("log_integrity.sql", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    (now, _) = run(con, *args)
    (then, _) = run(con, *args, evidence_until="2026-03-01T12:00:00Z")
    assert (now["run_id"], now["status"]) == (f, "ok")
    assert (then["run_id"], then["status"], then["reason"]) == (
        f,
        "exception",
        "The run failed: boom. No later run of github succeeded up to the evidence cut-off "
        "2026-03-01 12:00 UTC: nothing re-ran it.",
    )


def test_log_integrity_cost_on_two_million_events(con: duckdb.DuckDBPyConnection) -> None:
    """2M events in 2,000 runs, a period holding a quarter of them: only those are re-hashed."""
    # Synthetic runs and events in SQL, without digests: every row is an exception, which
    # costs the query the same as a clean store.
    con.execute(
        """
        INSERT INTO sync_runs (run_id, source, kind, mode, started_at, as_of, status)
        SELECT 100 + r, 'app' || (r % 50), 'scim', 'full',
               TIMESTAMPTZ '2025-01-01' + to_hours(r * 4),
               TIMESTAMPTZ '2025-01-01' + to_hours(r * 4), 'ok'
        FROM range(2000) t(r);
        INSERT INTO events (event_id, seq, run_id, source, native_type, occurred_at, ingested_at,
                            action, outcome, app, account_id, inferred, raw, event_hash)
        SELECT 'e' || i, 1 + i, 100 + i // 1000, 'app', 'User', TIMESTAMPTZ '2025-01-01'
               + to_seconds(i), TIMESTAMPTZ '2025-01-01', 'account.update', 'success', 'app',
               'A' || (i % 5000), false, '{"id": 1}', ''
        FROM range(2000000) t(i);
        """
    )
    t0 = time.perf_counter()
    got = run(con, "log_integrity.sql", "2025-04-01T00:00:00Z", "2025-07-01T00:00:00Z")
    elapsed = time.perf_counter() - t0
    assert len(got) == 546  # runs with as_of in Q2 2025 (every 4 h)
    assert all(g["events"] == 1000 for g in got)
    print(f"log_integrity over 2M events, 546 runs re-hashed: {elapsed:.2f} s")
    assert elapsed < 10, elapsed


# =========================================================================== failed runs


def scim_export(path: Path, users: list[dict[str, Any]] | str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    text = users if isinstance(users, str) else json.dumps(
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
         "totalResults": len(users), "Resources": users}
    )  # fmt: skip
    (path / "Users.json").write_text(text)
    return path


def test_a_failed_sync_records_one_run_and_leaves_the_chain(tmp_path: Path) -> None:
    def listing(active: bool, day: int) -> None:
        scim_export(tmp_path / "good", [{"id": "1", "userName": "a@example.com", "active": active}])
        cfg.sources[0].as_of = datetime(2026, 3, day, tzinfo=UTC)

    scim_export(tmp_path / "bad", "{ not json")
    cfg = Config(
        store=StoreConfig(path=tmp_path / "e.duckdb"),
        sources=[
            source_config(name="good", kind="scim", app="good", path=tmp_path / "good"),
            source_config(name="bad", kind="scim", app="bad", path=tmp_path / "bad",
                         as_of=datetime(2026, 3, 1, tzinfo=UTC)),
        ],
    )  # fmt: skip
    con = open_store(cfg.store.path)
    try:
        listing(True, 1)
        assert [o.ok for o in sync_sources(con, cfg)] == [True, False]
        listing(False, 2)  # a change: this run has events and moves the chain head
        assert sync_sources(con, cfg, names=["good"])[0].ok
        head = verify_store(con).head
        assert head is not None

        before = datetime.now(UTC)
        (failed,) = sync_sources(con, cfg, names=["bad"])
        assert not failed.ok and "Users.json" in (failed.error or "")
        rows = con.execute(
            "SELECT source, status, error, digest, chain_hash, counts, cursors, started_at, "
            "finished_at, as_of, mode, kind FROM sync_runs ORDER BY run_id"
        ).fetchall()
        assert [r[:2] for r in rows] == [
            ("good", "ok"), ("bad", "failed"), ("good", "ok"), ("bad", "failed")
        ]  # fmt: skip
        _, _, error, digest, chain, counts, cursors, started, finished, as_of, mode, kind = rows[3]
        assert (error, mode, kind) == (failed.error, "full", "scim")
        assert (digest, chain, cursors) == (None, None, None)
        assert json.loads(counts) == FAILED_COUNTS
        assert before <= started <= finished and as_of == started
        # Nothing else of the failed run: the head is where the good run left it.
        assert verify_store(con).head == head and verify_store(con).ok
        # The next run chains from the last run with a chain hash, not from the failed one.
        listing(True, 3)
        assert sync_sources(con, cfg, names=["good"])[0].ok
        digest, chain, rows = con.execute(
            "SELECT digest, chain_hash, rows_digest FROM sync_runs ORDER BY run_id DESC LIMIT 1"
        ).fetchall()[0]
        # The link covers the rows the run wrote too (its versions and sync pages).
        assert rows is not None
        assert chain == sha(head + digest + rows) and verify_store(con).ok
    finally:
        con.close()


def test_a_run_failing_at_commit_records_the_observation_it_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure while committing an export's batch: the failed run's as_of is the batch's."""

    def refuse(*args: Any, **kw: Any) -> Any:
        raise StoreError("store refused the batch")

    monkeypatch.setattr(sync_mod, "commit_batch", refuse)
    scim_export(tmp_path / "app", [{"id": "1", "userName": "a@example.com", "active": True}])
    at = datetime(2026, 3, 5, 6, tzinfo=UTC)
    src = source_config(name="app", kind="scim", app="app", path=tmp_path / "app", as_of=at)
    cfg = Config(store=StoreConfig(path=tmp_path / "e.duckdb"), sources=[src])
    con = open_store(cfg.store.path)
    try:
        (out,) = sync_sources(con, cfg, mode="delta")
        assert out.error == "store refused the batch"
        assert con.execute(
            "SELECT status, mode, as_of, error, digest, chain_hash FROM sync_runs"
        ).fetchall() == [("failed", "delta", at, "store refused the batch", None, None)]
    finally:
        con.close()


def test_a_failed_live_log_run_records_where_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live back-fill that fails midway: its committed runs chain their cursors, the failed
    attempt is on record with its starting cursor and no secret, and the re-run continues."""
    token = "00-monitoring-test-token"
    monkeypatch.setenv("OKTA_TOKEN", token)
    with OktaStandin(token) as okta:
        okta.seed()
        okta.add_events(1500, start=datetime.now(UTC) - timedelta(days=5))
        src = source_config(**
            {"name": "okta", "kind": "okta", "url": okta.url, "token_env": "OKTA_TOKEN",
             "page_limit": 200, "max_pages_per_run": 3, "max_attempts": 1}
        )  # fmt: skip
        cfg = Config(store=StoreConfig(path=tmp_path / "e.duckdb"), sources=[src])
        okta.fail("/api/v1/logs", Fault("status", 500), skip=4)
        con = open_store(cfg.store.path)
        try:
            (first,) = sync_sources(con, cfg)
            assert not first.ok and len(first.runs) == 1
            (second,) = sync_sources(con, cfg)
            assert second.ok, second.error
            rows = con.execute(
                "SELECT run_id, status, cursors->>'from', cursors->>'cursor', error, chain_hash "
                "FROM sync_runs ORDER BY run_id"
            ).fetchall()
            (r1, s1, f1, c1, _, _), (r2, s2, f2, c2, e2, h2), *rest = rows
            assert (s1, f1, s2, f2, c2, h2) == ("ok", None, "failed", c1, None, None)
            assert "500" in e2 and token not in e2
            assert rest and all(s == "ok" for _, s, *_ in rest)
            assert rest[0][2] == c1  # the re-run starts where run 1 stopped
            assert [b[2] for b in rest[1:]] == [a[3] for a in rest[:-1]]
            assert verify_store(con).ok
            install_tables(con, Policy())
            until = store_until(con)
            got = run_query(
                con,
                load_query("log_integrity.sql"),
                query_values(
                    Policy(),
                    period_start=until - timedelta(days=1),
                    period_end=until + timedelta(days=1),
                    as_of=until,
                    evidence_until=until,
                ),
            ).dicts()
            assert [(g["run_id"], g["run_status"], g["status"]) for g in got] == [
                (r, s, "ok") for r, s, *_ in rows
            ]
            assert got[0]["reason"].endswith(
                "First read of the log: no earlier cursor to continue."
            )
            assert got[1]["reason"].startswith("The run failed: ")
            assert got[1]["reason"].endswith(
                f"Re-run by run {rest[0][0]} (as of {until:%Y-%m-%d %H:%M} UTC), which succeeded."
            )
            assert got[2]["reason"].endswith(f"Continued from where run {r1} stopped.")
        finally:
            con.close()
