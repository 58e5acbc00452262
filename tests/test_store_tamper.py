"""The whole store is tamper-evident: an UPDATE in place, a DELETE or an INSERT in any table
the reports read is named by `verify --store` (table, row key, run), and an old store migrates
forward to the same digests the writer records.

The store is built once through the real writer (commit_batch, detect) and copied for each
case; the expected row keys are written out here as the ledger's documented format (compact
JSON of the table's key columns, timestamps RFC 3339 UTC)."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from connectors.records import PageRecord
from evidence.config import Policy
from evidence.detections.runner import detect
from evidence.store.db import open_store
from evidence.store.load import commit_batch
from evidence.store.models import VERSIONED
from evidence.store.schema import SCHEMA_VERSION
from evidence.store.verify import ROW_PROBLEMS_SHOWN, verify_store
from evidence.store.views import VIEWS
from reports.verify import VerifyError, _check_store
from tests.builders import batch, events, report_query, snap, utc

T0 = utc(2026, 1, 1)
T1 = utc(2026, 1, 2)
HIRE = utc(2025, 1, 1)
TERM = utc(2025, 12, 1)


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def key(**cols: object) -> str:
    """A row key as the ledger writes it: compact JSON, the key columns in model order."""
    return json.dumps(cols, separators=(",", ":"))


def people(p2_status: str) -> list[dict]:
    return [
        dict(person_id="P1", email="p1@example.com", status="active", hire_date=HIRE),
        dict(
            person_id="P2",
            email="p2@example.com",
            status=p2_status,
            hire_date=HIRE,
            termination_date=TERM if p2_status == "terminated" else None,
        ),
    ]


def idp_batch() -> object:
    b = batch(
        "okta",
        "okta",
        T0,
        snap(
            "idp_users",
            [
                dict(user_id="u1", login="p1@example.com", email="p1@example.com", status="ACTIVE"),
                dict(user_id="u2", login="p2@example.com", email="p2@example.com", status="ACTIVE"),
            ],
        ),
        snap("idp_groups", [dict(group_id="g1", name="Engineering")]),
        snap("idp_group_members", [dict(group_id="g1", user_id="u1")]),
        snap(
            "assignments",
            [
                dict(app="gh", idp_user_id="u1", user_name="p1", status="ACTIVE", scope="USER"),
                dict(app="gh", idp_user_id="u2", user_name="p2", status="ACTIVE", scope="USER"),
            ],
            ("gh",),
        ),
    )
    b.events = events(
        [
            dict(
                native_id=f"login-{i}",
                native_type="user.session.start",
                occurred_at=T0 - timedelta(hours=i),
                action="user.login",
                outcome="success",
                actor=f"p{i}@example.com",
                details="{}",
                raw=json.dumps({"uuid": f"login-{i}"}),
            )
            for i in (1, 2, 3)
        ]
    )
    return b


def gh_batch(as_of: datetime, first_active: bool) -> object:
    b = batch(
        "gh",
        "scim",
        as_of,
        snap(
            "accounts",
            [
                dict(
                    app="gh",
                    account_id="1",
                    user_name="p1",
                    email="p1@example.com",
                    active=first_active,
                ),
                dict(app="gh", account_id="2", user_name="p2", email="p2@example.com", active=True),
                *(
                    [dict(app="gh", account_id="3", user_name="p3", active=True)]
                    if as_of == T1
                    else []
                ),
            ],
            ("gh",),
        ),  # fmt: skip
        snap(
            "grants",
            [dict(app="gh", account_id="2", entitlement="org-admin", entitlement_type="group")],
            ("gh",),
        ),
    )
    b.pages = [
        PageRecord(f"Users?startIndex={i}", hashlib.sha256(f"page{i}{as_of}".encode()).hexdigest(),
                   2, 3)
        for i in (1, 2)
    ]  # fmt: skip
    return b


# append_events.sql's event hash, as an SQL expression over an events row.
REHASH = (
    "sha256(json_object('event_id', event_id, 'source', source, 'native_type', native_type, "
    "'occurred_at', strftime(timezone('UTC', occurred_at), '%Y-%m-%dT%H:%M:%S.%fZ'), "
    "'action', action, 'outcome', outcome, 'actor', actor, 'person_id', person_id, "
    "'app', app, 'account_id', account_id, 'entitlement', entitlement, 'details', details, "
    "'raw', raw))"
)

# Run ids in build order: 1 hr, 2 okta, 3 gh, 4 hr (P2 terminated), 5 gh (1 deactivated,
# 3 new), 6 detect.
RUNS = {"hr": 1, "okta": 2, "gh": 3, "hr2": 4, "gh2": 5, "detect": 6}


def build(con: duckdb.DuckDBPyConnection) -> None:
    p = Policy()
    commit_batch(con, batch("hr", "hris", T0, snap("people", people("active"))), p)
    commit_batch(con, idp_batch(), p)
    commit_batch(con, gh_batch(T0, True), p)
    commit_batch(con, batch("hr", "hris", T1, snap("people", people("terminated"))), p)
    commit_batch(con, gh_batch(T1, False), p)
    detect(con, p)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tamper") / "built.duckdb"
    con = open_store(path)
    try:
        build(con)
        runs = con.execute("SELECT run_id, source FROM sync_runs ORDER BY run_id").fetchall()
        assert runs == [(1, "hr"), (2, "okta"), (3, "gh"), (4, "hr"), (5, "gh"), (6, "detect")]
    finally:
        con.close()
    return path


@pytest.fixture
def store(built: Path, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    path = tmp_path / "s.duckdb"
    shutil.copy(built, path)
    con = open_store(path)
    yield con
    con.close()


def finding_id(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute(
        "SELECT finding_id FROM findings WHERE kind = 'orphan' AND account_id = '2'"
    ).fetchall()
    assert len(rows) == 1
    return rows[0][0]


def event_at(con: duckdb.DuckDBPyConnection, seq: int) -> tuple[str, int]:
    return con.execute("SELECT event_id, run_id FROM events WHERE seq = $s", {"s": seq}).fetchall()[
        0
    ]


P2_NOW = key(source="hr", valid_from=iso(T1), person_id="P2", hire_date=iso(HIRE))
P2_THEN = key(source="hr", valid_from=iso(T0), person_id="P2", hire_date=iso(HIRE))
ACC1_NOW = key(source="gh", valid_from=iso(T1), app="gh", account_id="1")
ACC1_THEN = key(source="gh", valid_from=iso(T0), app="gh", account_id="1")
ACC3 = key(source="gh", valid_from=iso(T1), app="gh", account_id="3")
GRANT2 = key(source="gh", valid_from=iso(T0), app="gh", account_id="2", entitlement="org-admin")
ASSIGN1 = key(source="okta", valid_from=iso(T0), app="gh", idp_user_id="u1")
USER2 = key(source="okta", valid_from=iso(T0), user_id="u2")
GROUP1 = key(source="okta", valid_from=iso(T0), group_id="g1")
MEMBER1 = key(source="okta", valid_from=iso(T0), group_id="g1", user_id="u1")

# (case, SQL, the expected first row difference). <finding> is the orphan finding's id.
CASES = [
    # people: a terminated person made active, a version deleted, one inserted, a close undone
    ("people-update",
     "UPDATE people SET status = 'active', termination_date = NULL "
     "WHERE person_id = 'P2' AND valid_to IS NULL",
     f"people row {P2_NOW}: differs from what run 4 opened"),
    ("people-delete", "DELETE FROM people WHERE person_id = 'P2' AND valid_to IS NULL",
     f"people row {P2_NOW}: run 4 opened it, and the store no longer holds it"),
    ("people-insert",
     "INSERT INTO people (source, valid_from, run_id, row_hash, person_id, hire_date, status) "
     "SELECT 'hr', valid_from, 1, row_hash, 'P9', hire_date, 'active' FROM people "
     "WHERE person_id = 'P1'",
     "people row " + key(source="hr", valid_from=iso(T0), person_id="P9", hire_date=iso(HIRE))
     + ": run 1 did not open it"),
    ("people-reopen",
     "UPDATE people SET valid_to = NULL, closed_run_id = NULL "
     "WHERE person_id = 'P2' AND valid_to IS NOT NULL",
     f"people row {P2_THEN}: run 4 closed it, and the store no longer holds it closed"),
    ("people-close-moved",
     "UPDATE people SET valid_to = valid_to + INTERVAL 1 DAY "
     "WHERE person_id = 'P2' AND valid_to IS NOT NULL",
     f"people row {P2_THEN}: differs from what run 4 closed"),
    # accounts: a deactivated account re-activated, a new one deleted, one inserted
    ("accounts-update",
     "UPDATE accounts SET active = true WHERE account_id = '1' AND valid_to IS NULL",
     f"accounts row {ACC1_NOW}: differs from what run 5 opened"),
    ("accounts-delete", "DELETE FROM accounts WHERE account_id = '3'",
     f"accounts row {ACC3}: run 5 opened it, and the store no longer holds it"),
    ("accounts-insert",
     "INSERT INTO accounts (source, valid_from, run_id, row_hash, app, account_id, active) "
     "VALUES ('gh', TIMESTAMPTZ '2026-01-02 00:00:00+00', 5, 'x', 'gh', '9', true)",
     "accounts row " + key(source="gh", valid_from=iso(T1), app="gh", account_id="9")
     + ": run 5 did not open it"),
    ("accounts-closed-row-edited",
     "UPDATE accounts SET user_name = 'someone-else' WHERE account_id = '1' "
     "AND valid_to IS NOT NULL",
     f"accounts row {ACC1_THEN}: differs from what run 3 opened"),
    # grants
    ("grants-update", "UPDATE grants SET privileged = false",
     f"grants row {GRANT2}: differs from what run 3 opened"),
    ("grants-delete", "DELETE FROM grants",
     f"grants row {GRANT2}: run 3 opened it, and the store no longer holds it"),
    ("grants-insert",
     "INSERT INTO grants SELECT * REPLACE ('read-only' AS entitlement) FROM grants",
     "grants row " + key(source="gh", valid_from=iso(T0), app="gh", account_id="2",
                         entitlement="read-only") + ": run 3 did not open it"),
    # assignments
    ("assignments-update", "UPDATE assignments SET status = 'INACTIVE' WHERE idp_user_id = 'u1'",
     f"assignments row {ASSIGN1}: differs from what run 2 opened"),
    ("assignments-delete", "DELETE FROM assignments WHERE idp_user_id = 'u1'",
     f"assignments row {ASSIGN1}: run 2 opened it, and the store no longer holds it"),
    ("assignments-insert",
     "INSERT INTO assignments SELECT * REPLACE ('u7' AS idp_user_id) FROM assignments "
     "WHERE idp_user_id = 'u1'",
     "assignments row " + key(source="okta", valid_from=iso(T0), app="gh", idp_user_id="u7")
     + ": run 2 did not open it"),
    # the IdP's tables
    ("idp_users-update", "UPDATE idp_users SET status = 'SUSPENDED' WHERE user_id = 'u2'",
     f"idp_users row {USER2}: differs from what run 2 opened"),
    ("idp_users-delete", "DELETE FROM idp_users WHERE user_id = 'u2'",
     f"idp_users row {USER2}: run 2 opened it, and the store no longer holds it"),
    ("idp_users-insert",
     "INSERT INTO idp_users SELECT * REPLACE ('u8' AS user_id) FROM idp_users "
     "WHERE user_id = 'u2'",
     "idp_users row " + key(source="okta", valid_from=iso(T0), user_id="u8")
     + ": run 2 did not open it"),
    ("idp_groups-update", "UPDATE idp_groups SET name = 'Admins'",
     f"idp_groups row {GROUP1}: differs from what run 2 opened"),
    ("idp_groups-delete", "DELETE FROM idp_groups",
     f"idp_groups row {GROUP1}: run 2 opened it, and the store no longer holds it"),
    ("idp_groups-insert", "INSERT INTO idp_groups SELECT * REPLACE ('g2' AS group_id) FROM idp_groups",
     "idp_groups row " + key(source="okta", valid_from=iso(T0), group_id="g2")
     + ": run 2 did not open it"),
    # A key column changed: the row run 2 opened is gone (and one it did not open is there).
    ("idp_group_members-update", "UPDATE idp_group_members SET user_id = 'u2'",
     f"idp_group_members row {MEMBER1}: run 2 opened it, and the store no longer holds it"),
    ("idp_group_members-delete", "DELETE FROM idp_group_members",
     f"idp_group_members row {MEMBER1}: run 2 opened it, and the store no longer holds it"),
    ("idp_group_members-insert",
     "INSERT INTO idp_group_members SELECT * FROM idp_group_members",
     f"idp_group_members row {MEMBER1}: run 2 did not open it"),
    # findings: resolved by hand, deleted, invented
    ("findings-update",
     "UPDATE findings SET status = 'resolved', resolved_at = last_seen_at "
     "WHERE finding_id = '<finding>'",
     "findings row " + key(finding_id="<finding>") + ": differs from what run 6 wrote"),
    ("findings-delete", "DELETE FROM findings WHERE finding_id = '<finding>'",
     "findings row " + key(finding_id="<finding>")
     + ": run 6 wrote it, and the store no longer holds it"),
    ("findings-insert",
     "INSERT INTO findings SELECT * REPLACE (sha256('invented') AS finding_id) FROM findings "
     "WHERE finding_id = '<finding>'",
     "findings row " + key(finding_id=hashlib.sha256(b"invented").hexdigest())
     + ": no detect run wrote it"),
    # sync_pages: the IPE of a listing
    ("sync_pages-update",
     "UPDATE sync_pages SET sha256 = sha256('forged') WHERE run_id = 3 AND page = 2",
     "sync_pages row " + key(run_id=3, page=2) + ": differs from what run 3 recorded"),
    ("sync_pages-delete", "DELETE FROM sync_pages WHERE run_id = 3 AND page = 2",
     "sync_pages row " + key(run_id=3, page=2)
     + ": run 3 recorded it, and the store no longer holds it"),
    ("sync_pages-insert",
     "INSERT INTO sync_pages VALUES (3, 3, 'Users?startIndex=5', sha256('x'), 1, 3)",
     "sync_pages row " + key(run_id=3, page=3) + ": run 3 did not record it"),
    # events
    ("events-update", "UPDATE events SET actor = 'mallory@example.com' WHERE seq = 2",
     "event <event2> (seq 2, run 2): stored hash differs from its content"),
    ("events-delete", "DELETE FROM events WHERE seq = 2",
     "events row seq 2: missing, run 2 appended it (the store holds seq 1 and 3)"),
    # A forged event whose stored hash follows from its content, filed under an old run.
    ("events-insert",
     "INSERT INTO events SELECT * REPLACE (sha256('forged') AS event_id, "
     "(SELECT max(seq) + 1 FROM events) AS seq) FROM events WHERE seq = 2; "
     f"UPDATE events SET event_hash = {REHASH} WHERE event_id = sha256('forged')",
     "events row " + hashlib.sha256(b"forged").hexdigest()
     + " (seq <next_seq>): after run 6's events, so run 2 did not append it"),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_tampering_is_named_by_table_row_and_run(
    store: duckdb.DuckDBPyConnection, sql: str, line: str
) -> None:
    values = {
        "finding": finding_id(store),
        "event2": event_at(store, 2)[0],
        "next_seq": store.execute("SELECT max(seq) + 1 FROM events").fetchall()[0][0],
    }
    for name, value in values.items():
        sql, line = sql.replace(f"<{name}>", str(value)), line.replace(f"<{name}>", str(value))
    store.execute(sql)
    report = verify_store(store)
    assert not report.ok
    expected = line
    assert expected in report.problems, report.problems
    # The first difference a row makes, in the order verify prints them.
    rows = [p for p in report.problems if not p.startswith("run ")]
    assert rows[0] == expected, report.problems
    assert report.lines[0] == f"store chain: FAILED ({len(report.problems)} problems)"


def test_an_untouched_store_verifies_and_every_run_is_chained(
    store: duckdb.DuckDBPyConnection,
) -> None:
    report = verify_store(store)
    assert report.ok, report.problems
    assert report.problems == []
    runs = store.execute(
        "SELECT run_id, digest, rows_digest, chain_hash FROM sync_runs ORDER BY run_id"
    ).fetchall()
    # Every run wrote rows, so every run is on the chain: the first-listing runs (1, 3: no
    # events) too, which the event chain alone left out.
    head = ""
    for run_id, digest, rows, chain in runs:
        assert rows is not None, run_id
        expected_rows = hashlib.sha256(
            "".join(
                h
                for (h,) in store.execute(
                    "SELECT row_hash FROM run_rows WHERE run_id = $r ORDER BY ord", {"r": run_id}
                ).fetchall()
            ).encode()
        ).hexdigest()
        assert rows == expected_rows
        head = hashlib.sha256((head + (digest or "") + rows).encode()).hexdigest()
        assert chain == head, run_id
    assert report.head == head
    # What each run recorded, by table and op.
    recorded = store.execute(
        "SELECT run_id, table_name, op, count(*) FROM run_rows GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert recorded == [
        (1, "people", "open", 2),
        (2, "assignments", "open", 2),
        (2, "idp_group_members", "open", 1),
        (2, "idp_groups", "open", 1),
        (2, "idp_users", "open", 2),
        (3, "accounts", "open", 2),
        (3, "grants", "open", 1),
        (3, "sync_pages", "page", 2),
        (4, "people", "close", 1),
        (4, "people", "open", 1),
        (5, "accounts", "close", 1),
        (5, "accounts", "open", 2),
        (5, "sync_pages", "page", 2),
        (6, "findings", "write", store.execute("SELECT count(*) FROM findings").fetchall()[0][0]),
    ]


def test_a_canonical_hash_covers_every_column_not_the_stored_row_hash(
    store: duckdb.DuckDBPyConnection,
) -> None:
    """The entry is recomputed from the columns: forging row_hash to match does not hide a
    change, and the ledger's own hash names the run whose rows digest no longer holds."""
    store.execute(
        "UPDATE accounts SET active = true, row_hash = 'recomputed by the intruder' "
        "WHERE account_id = '1' AND valid_to IS NULL"
    )
    assert verify_store(store).problems == [
        f"accounts row {ACC1_NOW}: differs from what run 5 opened"
    ]
    store.execute(
        "UPDATE run_rows SET row_hash = sha256('x') WHERE run_id = 5 AND table_name = 'accounts' "
        "AND op = 'open' AND row_key = $k",
        {"k": ACC1_NOW},
    )
    assert verify_store(store).problems == [
        "run 5: chain hash does not follow from the previous run",
        "run 5: rows digest does not match the rows it recorded (run_rows)",
        f"accounts row {ACC1_NOW}: differs from what run 5 opened",
    ]


def test_many_differences_are_counted_past_the_ones_named(
    store: duckdb.DuckDBPyConnection,
) -> None:
    store.execute(
        "INSERT INTO sync_pages SELECT 3, 200 + i, 'forged', sha256('x'), 0, NULL "
        "FROM range($n) t(i)",
        {"n": ROW_PROBLEMS_SHOWN + 5},
    )
    problems = verify_store(store).problems
    assert len(problems) == ROW_PROBLEMS_SHOWN + 1
    assert problems[0] == "sync_pages row " + key(run_id=3, page=200) + ": run 3 did not record it"
    assert problems[-1] == "... and 5 more rows that differ"


def test_reingest_of_the_same_data_is_a_no_op(store: duckdb.DuckDBPyConnection) -> None:
    """Nothing opens, closes or appends; the run's only rows are its own sync pages."""
    before = {
        t: store.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0]
        for t in (*VERSIONED, "events", "findings")
    }
    p = Policy()
    r1 = commit_batch(store, batch("hr", "hris", T1, snap("people", people("terminated"))), p)
    r2 = commit_batch(store, gh_batch(T1, False), p)
    assert (sum(r1.opened.values()), sum(r1.closed.values()), r1.events_new) == (0, 0, 0)
    assert (sum(r2.opened.values()), sum(r2.closed.values()), r2.events_new) == (0, 0, 0)
    after = {t: store.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in before}
    assert after == before
    assert r1.chain_hash is None  # nothing written at all: the head stays
    assert store.execute(
        "SELECT table_name, op, count(*) FROM run_rows WHERE run_id = $r GROUP BY ALL",
        {"r": r2.run_id},
    ).fetchall() == [("sync_pages", "page", 2)]
    assert verify_store(store).ok


def undo_v5(con: duckdb.DuckDBPyConnection) -> None:
    """The store as release v4 left it: no ledger, no closed_run_id, no rows digest, and the
    chain hash over event digests alone (runs without events off the chain), nor the views
    of v6."""
    for v in VIEWS:
        con.execute(f'DROP VIEW "{v}"')
    for t in ("run_rows", "digest_recomputations", "superseded_chain_hashes"):
        con.execute(f"DROP TABLE {t}")
    for t in VERSIONED:
        con.execute(f'ALTER TABLE "{t}" DROP COLUMN closed_run_id')
    con.execute("ALTER TABLE sync_runs DROP COLUMN rows_digest")
    head = ""
    for run_id, digest in con.execute(
        "SELECT run_id, digest FROM sync_runs ORDER BY run_id"
    ).fetchall():
        chain = None
        if digest is not None:
            head = chain = hashlib.sha256((head + digest).encode()).hexdigest()
        con.execute(
            "UPDATE sync_runs SET chain_hash = $c WHERE run_id = $r", {"c": chain, "r": run_id}
        )
    con.execute("DELETE FROM schema_version WHERE version >= 5")


def test_an_old_store_migrates_to_the_digests_the_writer_records(
    built: Path, tmp_path: Path
) -> None:
    path = tmp_path / "old.duckdb"
    shutil.copy(built, path)
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    runs = "SELECT run_id, digest, rows_digest, chain_hash FROM sync_runs ORDER BY run_id"
    ledger = "SELECT * FROM run_rows ORDER BY run_id, ord"
    written_runs, written_ledger = con.execute(runs).fetchall(), con.execute(ledger).fetchall()
    closers = {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in VERSIONED}
    undo_v5(con)
    old_runs = con.execute(
        "SELECT run_id, digest, chain_hash FROM sync_runs ORDER BY run_id"
    ).fetchall()
    old_chain = [(r, c) for r, _, c in old_runs if c is not None]
    # Only the runs with events were on the old chain: okta's logins (2), gh's inferred
    # account changes (5) and detect's finding.open (6); the first listings were off it.
    assert [r for r, _ in old_chain] == [2, 5, 6]
    con.close()

    con = open_store(path)
    try:
        assert con.execute("SELECT max(version) FROM schema_version").fetchall() == [
            (SCHEMA_VERSION,)
        ]
        # Every run's ledger, rows digest and chain hash as the writer had recorded them (the
        # store has one detect run, so its current findings are what that run wrote), and
        # every closed version attributed to the run that closed it.
        assert con.execute(runs).fetchall() == written_runs
        assert con.execute(ledger).fetchall() == written_ledger
        assert {
            t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in VERSIONED
        } == closers
        assert con.execute(
            "SELECT run_id, chain_hash FROM superseded_chain_hashes WHERE version = 5 ORDER BY 1"
        ).fetchall() == [(r, c) for r, _, c in old_runs]
        (rec,) = con.execute(
            "SELECT version, runs, rows, closes_unattributed, links_broken_before, head_before, "
            "head_after FROM digest_recomputations"
        ).fetchall()
        assert rec == (
            5, 6, len(written_ledger), 0, 0, old_chain[-1][1], written_runs[-1][3]
        )  # fmt: skip
        assert verify_store(con).ok
        # A bundle signed before the migration carries the old chain hashes: it still
        # verifies against the store, and says why its hashes are not the current ones.
        old_bundle = SimpleNamespace(
            manifest={
                "sync_runs": [{"run_id": r, "digest": d, "chain_hash": c} for r, d, c in old_runs]
            }
        )
        assert _check_store(old_bundle, con) == (
            "store: 6 sync runs have the store's digests and chain hashes (as they stood "
            "before the store's schema 5 recomputed the chain)"
        )
        new_bundle = SimpleNamespace(
            manifest={
                "sync_runs": [
                    {"run_id": r, "digest": d, "chain_hash": c} for r, d, _, c in written_runs
                ]
            }
        )
        assert _check_store(new_bundle, con) == (
            "store: 6 sync runs have the store's digests and chain hashes"
        )
        forged = SimpleNamespace(
            manifest={"sync_runs": [{"run_id": 5, "digest": old_runs[4][1], "chain_hash": "f0"}]}
        )
        with pytest.raises(VerifyError, match="sync run 5 has digest/chain hash"):
            _check_store(forged, con)
        # And the store goes on as any other: a tampering after the migration is named.
        con.execute("UPDATE accounts SET active = true WHERE account_id = '1' AND valid_to IS NULL")
        assert verify_store(con).problems == [
            f"accounts row {ACC1_NOW}: differs from what run 5 opened"
        ]
    finally:
        con.close()


def test_a_migration_records_the_broken_links_it_found(built: Path, tmp_path: Path) -> None:
    """Recomputing the chain must not launder a link that was already broken: the record says
    so, and an event altered before the migration is still named after it."""
    path = tmp_path / "old.duckdb"
    shutil.copy(built, path)
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    undo_v5(con)
    con.execute("UPDATE sync_runs SET chain_hash = sha256('forged') WHERE run_id = 5")
    con.execute("UPDATE events SET actor = 'mallory@example.com' WHERE seq = 2")
    event2 = con.execute("SELECT event_id FROM events WHERE seq = 2").fetchall()[0][0]
    con.close()
    con = open_store(path)
    try:
        ((broken, at),) = con.execute(
            "SELECT links_broken_before, applied_at FROM digest_recomputations"
        ).fetchall()
        assert broken == 2  # run 5's link, and run 6's that rested on it
        problems = verify_store(con).problems
        assert (
            f"migration 5 ({at.strftime('%Y-%m-%d %H:%M')} UTC): 2 chain links did not hold "
            "before it recomputed the chain"
        ) in problems
        assert f"event {event2} (seq 2, run 2): stored hash differs from its content" in problems
        assert "run 2: digest does not match its events" in problems
    finally:
        con.close()


def test_the_log_integrity_report_follows_the_chain_through_rows_only_runs(
    store: duckdb.DuckDBPyConnection,
) -> None:
    """A first listing adds no events but writes rows: it is on the chain, and the report's
    link recomputation (event digests recomputed, rows digests as stored) agrees."""
    got = report_query(
        store,
        "log_integrity.sql",
        period_start=T0,
        period_end=T1 + timedelta(days=1),
        as_of=T1,
        evidence_until=T1,
    ).dicts()
    reasons = {g["run_id"]: (g["status"], g["reason"]) for g in got}
    assert reasons[1] == (
        "ok",
        "Added no events; its chain hash covers the rows it wrote. Its chain hash follows "
        "from the start of the chain.",
    )
    assert reasons[3] == (
        "ok",
        "Added no events; its chain hash covers the rows it wrote. Its chain hash follows "
        "from run 2's.",
    )
    assert {status for status, _ in reasons.values()} == {"ok"}
    assert [g["chain_recomputed"] for g in got] == [g["chain_hash"] for g in got]
