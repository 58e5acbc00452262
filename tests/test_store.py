"""The store: migrations, atomic runs, versioned snapshots, event ids and the hash chain."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from connectors.records import PageRecord, Snapshot
from evidence.config import Policy
from evidence.detections.runner import detect
from evidence.errors import InputError, StoreBusy, StoreError
from evidence.store.db import open_store, store_session
from evidence.store.load import commit_batch
from evidence.store.models import TABLES
from evidence.store.schema import MIGRATIONS, SCHEMA_VERSION, current_version, migrate
from evidence.store.verify import verify_store
from tests.builders import batch, events, snap, utc

T0 = utc(2026, 1, 1)
T1 = utc(2026, 1, 2)

DATA_TABLES = ("people", "idp_users", "accounts", "grants", "assignments", "events")


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in DATA_TABLES}


def head(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.execute(
        "SELECT chain_hash FROM sync_runs WHERE chain_hash IS NOT NULL ORDER BY run_id DESC LIMIT 1"
    ).fetchall()
    return rows[0][0] if rows else None


def gh(as_of, accounts, grants=()):
    return batch(
        "gh",
        "scim",
        as_of,
        snap("accounts", [dict(app="gh", **a) for a in accounts], ("gh",)),
        snap("grants", [dict(app="gh", **g) for g in grants], ("gh",)),
    )


def test_store_session_closes_the_store_however_the_block_ends(store_path: Path) -> None:
    with store_session(store_path) as con:
        assert current_version(con) == SCHEMA_VERSION
    with pytest.raises(duckdb.ConnectionException):
        con.execute("SELECT 1")
    with pytest.raises(RuntimeError, match="boom"), store_session(store_path) as con:
        raise RuntimeError("boom")
    with pytest.raises(duckdb.ConnectionException):
        con.execute("SELECT 1")
    # Read-only, and the same refusal as open_store where there is no store.
    with store_session(store_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(0,)]
    with (
        pytest.raises(StoreError, match="no store here"),
        store_session(store_path.with_name("none.duckdb"), read_only=True),
    ):
        pass


def test_migrations_from_an_empty_file(store_path: Path) -> None:
    con = duckdb.connect(str(store_path))
    assert current_version(con) == 0
    con.close()
    con = open_store(store_path)
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert set(TABLES) <= tables
    assert {"current_accounts", "current_people"} <= tables  # views
    assert current_version(con) == SCHEMA_VERSION
    versions = [
        r[0] for r in con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
    ]
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    con.close()
    # Re-opening applies nothing twice.
    con = open_store(store_path)
    assert con.execute("SELECT count(*) FROM schema_version").fetchall()[0][0] == SCHEMA_VERSION
    con.close()


def test_v2_store_gets_account_facts_and_rematches_on_next_detect(store_path: Path) -> None:
    con = duckdb.connect(str(store_path))
    con.execute("SET TimeZone = 'UTC'")
    with pytest.MonkeyPatch.context() as mp:  # a store as the previous release left it
        mp.setattr("evidence.store.schema.MIGRATIONS", MIGRATIONS[:2])
        assert migrate(con) == [1, 2]
    con.execute(
        "INSERT INTO account_owners (app, account_id, matched_by, service_account, is_current) "
        "VALUES ('a', '1', 'none', false, true)"
    )
    con.close()
    con = open_store(store_path)
    kinds = dict(
        con.execute(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_name IN ('account_owners', 'account_facts', 'match_state')"
        ).fetchall()
    )
    assert kinds == {
        "account_owners": "VIEW",
        "account_facts": "BASE TABLE",
        "match_state": "BASE TABLE",
    }
    owners = [c.name for c in TABLES["account_owners"].__table__.columns]
    assert [r[0] for r in con.execute("DESCRIBE account_owners").fetchall()] == owners
    commit_batch(
        con,
        batch(
            "gh",
            "scim",
            utc(2026, 1, 1),
            snap("accounts", [dict(app="gh", account_id="9", user_name="x", active=True)], ("gh",)),
        ),
        Policy(),
    )
    assert detect(con, Policy()).rematched == 1
    assert con.execute("SELECT app, account_id, matched_by FROM account_owners").fetchall() == [
        ("gh", "9", "none")
    ]
    con.close()


def test_v3_store_gets_idp_lifecycle_and_resyncs_as_a_no_op(store_path: Path) -> None:
    users = [
        dict(user_id="u1", login="a@x.com", status="ACTIVE"),
        dict(user_id="u2", login="b@x.com", status="DEPROVISIONED"),
        dict(user_id="u3", login="c@x.com", status="SUSPENDED"),
        # Entra writes DISABLED for accountEnabled false, and its lifecycle says deprovisioned.
        dict(user_id="u4", login="d@x.com", status="DISABLED", lifecycle="deprovisioned"),
        dict(user_id="u5", login="e@x.com", status="STAGED"),
    ]
    con = duckdb.connect(str(store_path))
    con.execute("SET TimeZone = 'UTC'")
    with pytest.MonkeyPatch.context() as mp:  # a store as the previous release left it
        mp.setattr("evidence.store.schema.MIGRATIONS", MIGRATIONS[:3])
        assert migrate(con) == [1, 2, 3]
    commit_batch(con, batch("idp", "okta", utc(2026, 1, 1), snap("idp_users", users)), Policy())
    con.execute("ALTER TABLE idp_users DROP COLUMN lifecycle")
    con.execute("UPDATE idp_users SET row_hash = 'hashed without lifecycle'")
    con.close()
    con = open_store(store_path)
    rows = con.execute("SELECT user_id, lifecycle FROM idp_users ORDER BY 1").fetchall()
    assert rows == [
        ("u1", "active"),
        ("u2", "deprovisioned"),
        ("u3", "suspended"),
        ("u4", "deprovisioned"),
        ("u5", "staged"),
    ]
    result = commit_batch(
        con, batch("idp", "okta", utc(2026, 1, 2), snap("idp_users", users)), Policy()
    )
    assert (result.opened.get("idp_users", 0), result.closed.get("idp_users", 0)) == (0, 0)
    con.close()


def test_contract_columns_exist(store) -> None:
    cols = lambda t: [r[0] for r in store.execute(f"DESCRIBE {t}").fetchall()]  # noqa: E731
    assert {
        "event_id",
        "seq",
        "source",
        "native_type",
        "occurred_at",
        "ingested_at",
        "action",
        "outcome",
        "actor",
        "person_id",
        "app",
        "account_id",
        "entitlement",
        "details",
        "inferred",
        "raw",
        "event_hash",
    } <= set(cols("events"))
    assert {
        "app",
        "account_id",
        "user_name",
        "email",
        "external_id",
        "active",
        "last_login_at",
        "created_at",
        "attributes",
        "valid_from",
        "valid_to",
    } <= set(cols("accounts"))
    assert {
        "run_id",
        "source",
        "mode",
        "started_at",
        "finished_at",
        "as_of",
        "status",
        "counts",
        "cursors",
        "error",
        "digest",
        "chain_hash",
    } <= set(cols("sync_runs"))


def test_snapshot_versions_and_inferred_events(store) -> None:
    p = Policy()
    commit_batch(
        store,
        gh(
            T0,
            [
                dict(account_id="1", user_name="a", active=True),
                dict(account_id="2", user_name="b", active=True),
            ],
            [dict(account_id="1", entitlement="org-admin", entitlement_type="group")],
        ),
        p,
    )
    # The first listing is an observation, not a change: no inferred events.
    assert store.execute("SELECT count(*) FROM events").fetchall()[0][0] == 0
    commit_batch(
        store,
        gh(
            T1,
            [
                dict(account_id="1", user_name="a", active=False),
                dict(account_id="3", user_name="c", active=True),
            ],
        ),
        p,
    )
    rows = store.execute(
        "SELECT account_id, active, valid_from, valid_to FROM accounts ORDER BY account_id, valid_from"
    ).fetchall()
    assert rows == [
        ("1", True, T0, T1),
        ("1", False, T1, None),
        ("2", True, T0, T1),
        ("3", True, T1, None),
    ]
    ev = store.execute(
        "SELECT action, account_id, entitlement, inferred, occurred_at FROM events ORDER BY seq"
    ).fetchall()
    assert sorted(ev, key=lambda r: (r[0], r[1])) == [
        ("account.create", "3", None, True, T1),
        ("account.deactivate", "1", None, True, T1),
        ("account.delete", "2", None, True, T1),
        ("group.member.remove", "1", "org-admin", True, T1),
    ]
    assert store.execute("SELECT privileged FROM grants").fetchall() == [(True,)]


def test_reingest_is_a_noop(store) -> None:
    p = Policy()
    b = gh(T0, [dict(account_id="1", user_name="a", active=True)])
    b.events = events(
        [
            dict(
                native_id="u-1",
                native_type="user.session.start",
                occurred_at=T0,
                action="user.login",
                details="{}",
                raw='{"uuid": "u-1"}',
            )
        ]
    )
    commit_batch(store, b, p)
    before, chain = counts(store), head(store)
    commit_batch(store, b, p)
    assert counts(store) == before
    assert head(store) == chain
    last = store.execute(
        "SELECT digest, chain_hash FROM sync_runs ORDER BY run_id DESC LIMIT 1"
    ).fetchall()
    assert last == [(None, None)]


def test_event_id_and_hash_are_the_documented_ones(store) -> None:
    b = gh(T0, [])
    b.tenant = "example.okta.com"
    raw = {"uuid": "abc", "eventType": "user.session.start"}
    b.events = events(
        [
            dict(
                native_id="abc",
                native_type="user.session.start",
                occurred_at=T0,
                action="user.login",
                outcome="success",
                actor="x@y",
                details="{}",
                raw=json.dumps(raw),
            )
        ]
    )
    commit_batch(store, b, Policy())
    event_id, h = store.execute("SELECT event_id, event_hash FROM events").fetchall()[0]
    assert event_id == hashlib.sha256(b"scim|example.okta.com|abc").hexdigest()
    doc = {
        "event_id": event_id,
        "source": "gh",
        "native_type": "user.session.start",
        "occurred_at": "2026-01-01T00:00:00.000000Z",
        "action": "user.login",
        "outcome": "success",
        "actor": "x@y",
        "person_id": None,
        "app": None,
        "account_id": None,
        "entitlement": None,
        "details": {},
        "raw": raw,
    }
    assert h == hashlib.sha256(json.dumps(doc, separators=(",", ":")).encode()).hexdigest()
    digest, chain = store.execute("SELECT digest, chain_hash FROM sync_runs").fetchall()[0]
    assert digest == hashlib.sha256(h.encode()).hexdigest()
    assert chain == hashlib.sha256(digest.encode()).hexdigest()


def test_a_failing_run_leaves_no_trace(store) -> None:
    p = Policy()
    commit_batch(store, gh(T0, [dict(account_id="1", user_name="a", active=True)]), p)
    before, chain = counts(store), head(store)
    runs = store.execute("SELECT count(*) FROM sync_runs").fetchall()[0][0]
    bad = gh(
        T1,
        [
            dict(account_id="1", user_name="a", active=False),
            dict(account_id="1", user_name="dup", active=True),
        ],
    )
    with pytest.raises(InputError, match="duplicate key"):
        commit_batch(store, bad, p)
    assert counts(store) == before
    assert head(store) == chain
    assert store.execute("SELECT count(*) FROM sync_runs").fetchall()[0][0] == runs
    assert store.execute("SELECT active FROM accounts WHERE valid_to IS NULL").fetchall() == [
        (True,)
    ]


def test_verify_store_detects_tampering(store) -> None:
    b = gh(T0, [])
    b.events = events(
        [
            dict(
                native_id=f"e{i}",
                native_type="t",
                occurred_at=T0,
                action="user.login",
                details="{}",
                raw="{}",
            )
            for i in range(3)
        ]
    )
    commit_batch(store, b, Policy())
    assert verify_store(store).ok
    store.execute("UPDATE events SET actor = 'mallory' WHERE seq = 2")
    report = verify_store(store)
    assert not report.ok
    assert any("seq 2" in p for p in report.problems)


def test_busy_store_waits_then_says_who(store_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); print('ok', flush=True); time.sleep(30)",
            str(store_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(StoreBusy, match=r"^store busy: "):
            open_store(store_path, wait=0.3)
    finally:
        holder.kill()
        holder.wait()


def test_pages_are_recorded_with_the_run(store) -> None:
    b = gh(T0, [dict(account_id="1", user_name="a", active=True)])
    b.pages = [
        PageRecord("scim/gh/Users-0001.json", "a" * 64, 100, 150),
        PageRecord("scim/gh/Users-0002.json", "b" * 64, 50, None),
    ]
    run = commit_batch(store, b, Policy()).run_id
    assert store.execute("SELECT * FROM sync_pages ORDER BY page").fetchall() == [
        (run, 1, "scim/gh/Users-0001.json", "a" * 64, 100, 150),
        (run, 2, "scim/gh/Users-0002.json", "b" * 64, 50, None),
    ]


def test_a_partial_listing_never_closes_what_it_omits(store) -> None:
    p = Policy()
    commit_batch(
        store,
        gh(
            T0,
            [
                dict(account_id="1", user_name="a", active=True),
                dict(account_id="2", user_name="b", active=True),
            ],
        ),
        p,
    )
    delta = gh(
        T1,
        [
            dict(account_id="1", user_name="a", active=False),
            dict(account_id="3", user_name="c", active=True),
        ],
    )
    delta.snapshots = [Snapshot(s.table, s.rows, s.apps, partial=True) for s in delta.snapshots]
    commit_batch(store, delta, p)
    rows = store.execute(
        "SELECT account_id, active, valid_from, valid_to FROM accounts ORDER BY account_id, valid_from"
    ).fetchall()
    assert rows == [
        ("1", True, T0, T1),
        ("1", False, T1, None),
        ("2", True, T0, None),
        ("3", True, T1, None),
    ]
    actions = sorted(r[0] for r in store.execute("SELECT action FROM events").fetchall())
    assert actions == ["account.create", "account.deactivate"]


def test_memory_limit_caps_duckdb_and_a_bad_one_is_a_clear_error(tmp_path) -> None:
    con = open_store(tmp_path / "a.duckdb", memory_limit="512MB")
    try:
        assert con.execute("SELECT current_setting('memory_limit')").fetchall() == [("488.2 MiB",)]
    finally:
        con.close()
    with pytest.raises(StoreError, match=r"^\[store\] memory_limit 'lots': "):
        open_store(tmp_path / "b.duckdb", memory_limit="lots")
