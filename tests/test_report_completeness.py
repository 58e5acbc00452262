"""Population completeness: the sources' sync runs, the per-app roll-forward and the
termination reconciliation (reports/queries/completeness_sources.sql, rollforward.sql,
reconciliation.sql), on hand-built stores with exact expected rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from evidence.config import SourceConfig, source_config
from evidence.store.db import open_store
from reports.population import Table
from tests.builders import Store, eod, report_query, ts

START = ts("2026-01-01T00:00:00Z")
END = ts("2026-07-01T00:00:00Z")


def query(
    store: Store,
    name: str,
    *,
    as_of: datetime,
    evidence_until: datetime,
    sources: Sequence[SourceConfig] | None = None,
) -> Table:
    return report_query(
        store.con,
        name,
        period_start=START,
        period_end=END,
        as_of=as_of,
        evidence_until=evidence_until,
        sources=sources,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    con = open_store(tmp_path / "evidence.duckdb")
    try:
        yield Store(con)
    finally:
        con.close()


def counts(store: Store, run_id: int, **values: Any) -> None:
    """The run's `counts` JSON, as commit_batch (or the detect runner) writes it."""
    store.con.execute(
        "UPDATE sync_runs SET counts = $c::JSON WHERE run_id = $r",
        {"c": json.dumps(values), "r": run_id},
    )


def page(
    store: Store, run_id: int, number: int, request: str, items: int, total: int | None = None
) -> None:
    store.row(
        "sync_pages",
        run_id=run_id,
        page=number,
        request=request,
        sha256="0" * 64,
        item_count=items,
        total_results=total,
    )


def idp_user(
    store: Store,
    user_id: str,
    lifecycle: str,
    *,
    run_id: int,
    valid_from: str,
    valid_to: str | None = None,
    source: str = "okta",
    email: str | None = None,
    status_changed_at: str | None = None,
) -> None:
    store.version(
        "idp_users",
        run_id=run_id,
        valid_from=valid_from,
        valid_to=valid_to,
        source=source,
        user_id=user_id,
        login=email or f"{user_id}@idp.example.com",
        email=email or f"{user_id}@idp.example.com",
        display_name=user_id,
        lifecycle=lifecycle,
        status=lifecycle.upper(),
        status_changed_at=ts(status_changed_at) if status_changed_at else None,
    )


def failed(store: Store) -> None:
    """Mark the last event written as a failed attempt (it changed nothing)."""
    store.con.execute(
        "UPDATE events SET outcome = 'failure' WHERE seq = (SELECT max(seq) FROM events)"
    )


# --------------------------------------------------------------------------- sources


def sources_tenant(s: Store) -> None:
    """HR, IdP and app sources around the period's boundaries, with pages and totals."""
    s.run(1, "workday", "hris", "full", "2025-12-01T06:00:00Z")
    counts(s, 1, opened={"people": 10}, closed={"people": 0}, events_new=10)
    page(s, 1, 1, "exports/workday/workers.csv", 10)
    # Exactly at the period start: in the period.
    s.run(2, "workday", "hris", "full", "2026-01-01T00:00:00Z")
    counts(s, 2, opened={"people": 2}, closed={"people": 1}, events_new=3)
    page(s, 2, 1, "exports/workday/workers.csv", 11)
    # Exactly at the period end: the data cut-off, but not in the period.
    s.run(3, "workday", "hris", "full", "2026-07-01T00:00:00Z")
    counts(s, 3, opened={"people": 1}, closed={"people": 1}, events_new=1)
    page(s, 3, 1, "exports/workday/workers.csv", 11)

    s.run(4, "okta", "okta", "full", "2025-12-01T00:00:00Z")
    counts(s, 4, opened={"idp_users": 5, "assignments": 4}, closed={}, events_new=0)
    page(s, 4, 1, "GET /api/v1/users?limit=200", 5)
    s.run(5, "okta", "okta", "delta", "2026-02-01T00:00:00Z")
    counts(s, 5, opened={"idp_users": 1}, closed={"idp_users": 1}, events_new=4)
    page(s, 5, 1, "GET /api/v1/logs?since=2025-12-01T00%3A00%3A00Z", 4)
    s.run(6, "okta", "okta", "delta", "2026-06-30T23:59:59.999999Z")
    counts(s, 6, opened={}, closed={}, events_new=2)
    page(s, 6, 1, "GET /api/v1/logs?after=c1", 2)

    s.run(7, "slack", "scim", "full", "2026-03-01T00:00:00Z")
    counts(s, 7, opened={"accounts": 3, "grants": 0}, closed={"accounts": 0, "grants": 0})
    page(s, 7, 1, "GET ServiceProviderConfig", 1)
    page(s, 7, 2, "GET Users?startIndex=1&count=2", 2, 3)
    page(s, 7, 3, "GET Users?startIndex=3&count=2", 1, 3)
    page(s, 7, 4, "GET Groups?startIndex=1&count=2", 0, 0)
    s.run(8, "slack", "scim", "delta", "2026-04-01T00:00:00Z")
    counts(s, 8, opened={"accounts": 1}, closed={"accounts": 1}, events_new=1)
    page(s, 8, 1, "GET Users?filter=meta.lastModified+gt+x&startIndex=1&count=2", 1, 1)
    # A listing that shifted: 2 of the 3 users the server announced.
    s.run(9, "slack", "scim", "full", "2026-06-15T00:00:00Z")
    counts(s, 9, opened={"accounts": 0}, closed={"accounts": 0}, events_new=0)
    page(s, 9, 1, "GET Users?startIndex=1&count=2", 2, 3)
    page(s, 9, 2, "GET Users?startIndex=3&count=2", 0, 3)
    page(s, 9, 3, "GET Users/U9", 0, 0)
    # After the period (the evidence cut-off): its short listing is not this period's.
    s.run(10, "slack", "scim", "full", "2026-07-10T00:00:00Z")
    counts(s, 10, opened={"accounts": 1}, closed={}, events_new=5)
    page(s, 10, 1, "GET Users?startIndex=1&count=2", 1, 3)

    # File pages: one listing over two files, then a single file one short of its total.
    s.run(11, "jira", "scim", "full", "2026-05-01T00:00:00Z")
    page(s, 11, 1, "exports/jira/Users-0001.json", 2, 4)
    page(s, 11, 2, "exports/jira/Users-0002.json", 2, 4)
    page(s, 11, 3, "exports/jira/Groups.json", 1, 1)
    # The server's total changed between the pages: a shifting listing, although the last
    # total matches the items.
    page(s, 11, 4, "exports/jira/Roles-0001.json", 2, 2)
    page(s, 11, 5, "exports/jira/Roles-0002.json", 2, 4)
    s.run(12, "jira", "scim", "full", "2026-05-02T00:00:00Z")
    page(s, 12, 1, "exports/jira/Users.json", 3, 4)
    # A page without totalResults: the listing is not judged.
    page(s, 12, 2, "exports/jira/Groups.json", 1)
    page(s, 12, 3, "exports/jira/Groups-0002.json", 1, 1)

    s.run(13, "github", "app_export", "full", "2025-11-01T00:00:00Z")
    page(s, 13, 1, "exports/github/members.csv", 4)
    # A source of another kind takes the role of each table it listed.
    s.run(14, "legacy", "synthetic", "full", "2026-02-10T00:00:00Z")
    counts(s, 14, opened={"people": 1, "accounts": 2}, closed={}, events_new=0)
    s.detect_run(15, "2026-06-15T01:00:00Z")
    counts(
        s,
        15,
        findings={"orphan/unmatched": 1},
        opened=1,
        resolved=0,
        reopened=0,
        accepted=0,
        events_new=1,
        events_seen=1,
    )
    # After the evidence cut-off: not read.
    s.run(16, "entra", "entra", "full", "2026-07-20T00:00:00Z")
    counts(s, 16, opened={"idp_users": 9}, closed={}, events_new=9)


SOURCE_COLUMNS = (
    "source",
    "kind",
    "role",
    "runs_in_period",
    "full_runs",
    "delta_runs",
    "first_as_of",
    "last_as_of",
    "last_before_period",
    "records",
    "events",
    "changes",
    "pages",
    "pages_with_total",
    "pages_total_mismatch",
)
T = ts
LEGACY_HR = ("legacy", "synthetic", "hr", 1, 1, 0, T("2026-02-10T00:00:00Z"),
             T("2026-02-10T00:00:00Z"), None, None, 0, 3, 0, 0, 0)  # fmt: skip
WORKDAY = ("workday", "hris", "hr", 1, 1, 0, T("2026-01-01T00:00:00Z"),
           T("2026-07-01T00:00:00Z"), T("2025-12-01T06:00:00Z"), 11, 3, 3, 1, 0, 0)  # fmt: skip
OKTA = ("okta", "okta", "idp", 2, 0, 2, T("2026-02-01T00:00:00Z"),
        T("2026-06-30T23:59:59.999999Z"), T("2025-12-01T00:00:00Z"), 6, 6, 2, 2, 0, 0)  # fmt: skip
GITHUB = ("github", "app_export", "app", 0, 0, 0, None, None, T("2025-11-01T00:00:00Z"),
          None, None, None, 0, 0, 0)  # fmt: skip
JIRA = ("jira", "scim", "app", 2, 2, 0, T("2026-05-01T00:00:00Z"), T("2026-05-02T00:00:00Z"),
        None, 14, None, None, 8, 7, 3)  # fmt: skip
LEGACY_APP = ("legacy", "synthetic", "app", *LEGACY_HR[3:])
SLACK = ("slack", "scim", "app", 3, 2, 1, T("2026-03-01T00:00:00Z"), T("2026-06-15T00:00:00Z"),
         None, 7, 1, 5, 8, 7, 2)  # fmt: skip
DETECT = ("detect", "detect", "detect", 1, 1, 0, T("2026-06-15T01:00:00Z"),
          T("2026-06-15T01:00:00Z"), None, None, 1, None, 0, 0, 0)  # fmt: skip


def never_synced(name: str, kind: str) -> tuple[Any, ...]:
    return (name, kind, "app" if kind == "scim" else "idp", 0, 0, 0) + (None,) * 6 + (0, 0, 0)


def test_sources_rows_exactly(store: Store) -> None:
    sources_tenant(store)
    table = query(
        store,
        "completeness_sources.sql",
        as_of=ts("2026-07-01T00:00:00Z"),
        evidence_until=ts("2026-07-10T00:00:00Z"),
    )
    assert table.columns == SOURCE_COLUMNS
    # Without a configuration every source the store knows is listed; entra synced only
    # after the evidence cut-off, so none of its runs is read.
    assert table.rows == [
        LEGACY_HR,
        WORKDAY,
        never_synced("entra", "entra"),
        OKTA,
        GITHUB,
        JIRA,
        LEGACY_APP,
        SLACK,
        DETECT,
    ]


def test_sources_lists_a_configured_source_that_never_synced(store: Store) -> None:
    sources_tenant(store)
    configured = [
        source_config(name=n, kind=k)  # type: ignore[arg-type]
        for n, k in (
            ("workday", "hris"),
            ("okta", "okta"),
            ("slack", "scim"),
            ("jira", "scim"),
            ("github", "app_export"),
            # "legacy" is not configured (its kind, "synthetic", is no longer one): its runs
            # in the store are listed all the same.
            ("zendesk", "scim"),
        )
    ]
    table = query(
        store,
        "completeness_sources.sql",
        as_of=ts("2026-07-01T00:00:00Z"),
        evidence_until=ts("2026-07-10T00:00:00Z"),
        sources=configured,
    )
    assert table.rows == [
        LEGACY_HR,
        WORKDAY,
        OKTA,
        GITHUB,
        JIRA,
        LEGACY_APP,
        SLACK,
        never_synced("zendesk", "scim"),
        DETECT,
    ]


def test_sources_period_figures_follow_the_evidence_cut_off(store: Store) -> None:
    """Runs after the evidence cut-off are not read: slack's run of 2026-06-15 drops out."""
    sources_tenant(store)
    table = query(
        store,
        "completeness_sources.sql",
        as_of=ts("2026-06-01T00:00:00Z"),
        evidence_until=ts("2026-06-01T00:00:00Z"),
    )
    rows = {(r["source"], r["role"]): r for r in table.dicts()}
    slack = rows[("slack", "app")]
    assert (slack["runs_in_period"], slack["full_runs"], slack["delta_runs"]) == (2, 1, 1)
    assert slack["last_as_of"] == ts("2026-04-01T00:00:00Z")
    assert (slack["records"], slack["pages"], slack["pages_total_mismatch"]) == (5, 5, 0)
    # The workday run at the period end is past this cut-off; the detect run is too.
    assert rows[("workday", "hr")]["last_as_of"] == ts("2026-01-01T00:00:00Z")
    assert ("detect", "detect") not in rows


# --------------------------------------------------------------------------- roll-forward


def rollforward_tenant(s: Store) -> None:
    """slack: every kind of movement; github: first listed inside the period, with two
    sources at once; jira: nothing moves, two sources at once; notion: first listed after the
    cut-off."""
    for run_id, mode, at in (
        (1, "full", "2025-10-01T00:00:00Z"),
        (17, "full", "2025-11-01T00:00:00Z"),
        (18, "full", "2025-12-01T00:00:00Z"),
        (2, "full", "2026-01-01T00:00:00Z"),
        (3, "full", "2026-02-01T00:00:00Z"),
        (4, "delta", "2026-03-01T00:00:00Z"),
        (5, "full", "2026-04-01T00:00:00Z"),
        (6, "full", "2026-05-01T00:00:00Z"),
        (7, "full", "2026-06-20T00:00:00Z"),
        (8, "full", "2026-07-01T00:00:00Z"),
        (9, "full", "2026-07-05T00:00:00Z"),
    ):
        s.run(run_id, "slack", "scim", mode, at)
    s.run(10, "github", "app_export", "full", "2026-03-05T10:00:00Z")
    s.run(11, "github", "app_export", "full", "2026-05-01T00:00:00Z")
    s.run(12, "github-scim", "scim", "full", "2026-04-01T00:00:00Z")
    s.run(13, "jira", "scim", "full", "2025-10-01T00:00:00Z")
    s.run(19, "jira-scim", "scim", "full", "2025-11-01T00:00:00Z")
    s.run(14, "notion", "app_export", "full", "2026-07-05T00:00:00Z")
    s.run(15, "okta", "okta", "delta", "2026-04-02T00:00:00Z")
    s.run(16, "okta", "okta", "delta", "2026-07-10T00:00:00Z")

    a = s.account
    # Continuous through an attribute change.
    a("slack", "U1", "alice", True, run_id=1, valid_from="2025-10-01T00:00:00Z",
      valid_to="2026-02-01T00:00:00Z")  # fmt: skip
    a("slack", "U1", "alice.b", True, run_id=3, valid_from="2026-02-01T00:00:00Z")
    # Deactivated exactly at the period start: a removal in the period.
    a("slack", "U2", "bob", True, run_id=1, valid_from="2025-10-01T00:00:00Z",
      valid_to="2026-01-01T00:00:00Z")  # fmt: skip
    a("slack", "U2", "bob", False, run_id=2, valid_from="2026-01-01T00:00:00Z")
    # Deactivated, then reactivated.
    a("slack", "U3", "carol", True, run_id=1, valid_from="2025-10-01T00:00:00Z",
      valid_to="2026-02-01T00:00:00Z")  # fmt: skip
    a("slack", "U3", "carol", False, run_id=3, valid_from="2026-02-01T00:00:00Z",
      valid_to="2026-04-01T00:00:00Z")  # fmt: skip
    a("slack", "U3", "carol", True, run_id=5, valid_from="2026-04-01T00:00:00Z")
    # Removed (absent), then re-created under the same id.
    a("slack", "U4", "dave", True, run_id=1, valid_from="2025-10-01T00:00:00Z",
      valid_to="2026-04-01T00:00:00Z")  # fmt: skip
    a("slack", "U4", "dave", True, run_id=7, valid_from="2026-06-20T00:00:00Z")
    # Created, seen first by a delta listing.
    a("slack", "U5", "erin", True, run_id=4, valid_from="2026-03-01T00:00:00Z")
    # Removed exactly at the period end: the next period's removal.
    a("slack", "U6", "frank", True, run_id=1, valid_from="2025-10-01T00:00:00Z",
      valid_to="2026-07-01T00:00:00Z")  # fmt: skip
    # Created in the period, removed after it.
    a("slack", "U7", "gina", True, run_id=7, valid_from="2026-06-20T00:00:00Z",
      valid_to="2026-07-05T00:00:00Z")  # fmt: skip
    # Removed and re-created under a new id.
    a("slack", "U8", "hank", True, run_id=1, valid_from="2025-10-01T00:00:00Z",
      valid_to="2026-04-01T00:00:00Z")  # fmt: skip
    a("slack", "U9", "hank", True, run_id=5, valid_from="2026-04-01T00:00:00Z")
    # Listed inactive since before the period, active for the first time in it: created.
    a("slack", "U10", "ivan", False, run_id=1, valid_from="2025-10-01T00:00:00Z",
      valid_to="2026-05-01T00:00:00Z")  # fmt: skip
    a("slack", "U10", "ivan", True, run_id=6, valid_from="2026-05-01T00:00:00Z")
    # Created exactly at the period end: the next period's.
    a("slack", "U11", "judy", True, run_id=8, valid_from="2026-07-01T00:00:00Z")
    # Created exactly at the period start: this period's.
    a("slack", "U12", "kim", True, run_id=2, valid_from="2026-01-01T00:00:00Z")
    # Removed and reactivated before the period: active at its start, no movement in it.
    a("slack", "U13", "lee", True, run_id=1, valid_from="2025-10-01T00:00:00Z",
      valid_to="2025-11-01T00:00:00Z")  # fmt: skip
    a("slack", "U13", "lee", False, run_id=17, valid_from="2025-11-01T00:00:00Z",
      valid_to="2025-12-01T00:00:00Z")  # fmt: skip
    a("slack", "U13", "lee", True, run_id=18, valid_from="2025-12-01T00:00:00Z")

    a("github", "G1", "g1", True, run_id=10, valid_from="2026-03-05T10:00:00Z")
    a("github", "G2", "g2", True, run_id=10, valid_from="2026-03-05T10:00:00Z",
      valid_to="2026-05-01T00:00:00Z")  # fmt: skip
    a("github", "G2", "g2", False, run_id=11, valid_from="2026-05-01T00:00:00Z")
    a("github", "G3", "g3", False, run_id=10, valid_from="2026-03-05T10:00:00Z")
    a("github", "G4", "g4", True, run_id=11, valid_from="2026-05-01T00:00:00Z")
    a("github", "G5", "g5", True, run_id=10, valid_from="2026-03-05T10:00:00Z")
    a("github", "G5", "g5", True, run_id=12, valid_from="2026-04-01T00:00:00Z",
      source="github-scim")  # fmt: skip
    # Listed by the second source for a while inside the first's listing: no removal.
    a("github", "G6", "g6", True, run_id=10, valid_from="2026-03-05T10:00:00Z")
    a("github", "G6", "g6", True, run_id=12, valid_from="2026-04-01T00:00:00Z",
      valid_to="2026-05-01T00:00:00Z", source="github-scim")  # fmt: skip
    a("github", "G6", "g6", False, run_id=12, valid_from="2026-05-01T00:00:00Z",
      source="github-scim")  # fmt: skip
    a("jira", "J1", "j1", True, run_id=13, valid_from="2025-10-01T00:00:00Z")
    # Two sources list J3 active through the period: one account at the start and the end.
    a("jira", "J3", "j3", True, run_id=13, valid_from="2025-10-01T00:00:00Z")
    a("jira", "J3", "j3", True, run_id=19, valid_from="2025-11-01T00:00:00Z",
      source="jira-scim")  # fmt: skip
    # An export without an active flag: active.
    unknown: Any = None
    a("jira", "J4", "j4", unknown, run_id=13, valid_from="2025-10-01T00:00:00Z")
    a("notion", "N1", "n1", True, run_id=14, valid_from="2026-07-05T00:00:00Z")

    e = s.event
    e("account.create", "2026-01-01T00:00:00Z", run_id=2, source="slack", app="slack",
      account_id="U12")  # fmt: skip
    # Created and gone between two listings: reported, never listed.
    e("account.create", "2026-02-01T00:00:00Z", run_id=15, source="okta", app="jira",
      account_id="J2")  # fmt: skip
    e("account.create", "2026-03-01T00:00:00Z", run_id=4, source="slack", app="slack",
      account_id="U5")  # fmt: skip
    # An IdP names the app by its label.
    e("account.create", "2026-04-01T00:00:00Z", run_id=15, source="okta", app="Slack",
      account_id="U9")  # fmt: skip
    e("account.deactivate", "2026-01-31T12:00:00Z", run_id=3, source="slack", app="slack",
      account_id="U3")  # fmt: skip
    e("account.delete", "2026-03-20T00:00:00Z", run_id=5, source="slack", app="slack",
      account_id="U4")  # fmt: skip
    e("app.unassign", "2026-03-31T00:00:00Z", run_id=15, source="okta", app="Slack",
      account_id=None, person_id="00u8")  # fmt: skip
    # Not counted: before the period, inferred, failed, at or after the period end, and an
    # app without a listing.
    e("account.deactivate", "2025-12-31T23:00:00Z", run_id=2, source="slack", app="slack",
      account_id="U2")  # fmt: skip
    e("account.deactivate", "2026-01-01T00:00:00Z", run_id=2, source="slack", app="slack",
      account_id="U2", inferred=True)  # fmt: skip
    e("account.delete", "2026-05-15T00:00:00Z", run_id=6, source="slack", app="slack",
      account_id="U1")  # fmt: skip
    failed(s)
    e("account.create", "2026-07-01T00:00:00Z", run_id=8, source="slack", app="slack",
      account_id="U11")  # fmt: skip
    e("account.delete", "2026-07-02T00:00:00Z", run_id=9, source="slack", app="slack",
      account_id="U7")  # fmt: skip
    e("account.create", "2026-03-01T00:00:00Z", run_id=15, source="okta", app="zoom",
      account_id="Z1")  # fmt: skip
    # Read by a run after the evidence cut-off.
    e("account.create", "2026-02-01T00:00:00Z", run_id=16, source="okta", app="slack",
      account_id="U5")  # fmt: skip


ROLLFORWARD_COLUMNS = (
    "app",
    "first_listing_at",
    "active_at_start",
    "created",
    "reactivated",
    "first_listed",
    "removed",
    "active_at_end",
    "difference",
    "events_created",
    "events_removed",
    "explanation",
)
EVENTS_TEXT = (
    " The sources reported {} account.create and {} removal events (account.deactivate, "
    "account.delete, app.unassign) in the period."
)


def overlap_text(n: int) -> str:
    was = "account was" if n == 1 else "accounts were"
    return (
        f" {n} {was} listed by more than one source at once (overlapping versions), counted once."
    )


def test_rollforward_rows_exactly(store: Store) -> None:
    rollforward_tenant(store)
    table = query(
        store,
        "rollforward.sql",
        as_of=ts("2026-07-01T00:00:00Z"),
        evidence_until=ts("2026-07-05T00:00:00Z"),
    )
    assert table.columns == ROLLFORWARD_COLUMNS
    assert table.rows == [
        (
            "github", ts("2026-03-05T10:00:00Z"), 0, 1, 0, 4, 1, 4, 0, 0, 0,
            "0 active at the start + 1 created + 4 first listed + 0 reactivated - 1 removed = "
            "4 active at the end. The app's first listing, on 2026-03-05 "
            "10:00 UTC, lies inside the period: the 4 accounts active in it were first "
            "observed then, not created (first listed)." + overlap_text(2)
            + EVENTS_TEXT.format(0, 0),
        ),
        (
            "jira", ts("2025-10-01T00:00:00Z"), 3, 0, 0, 0, 0, 3, 0, 1, 0,
            "3 active at the start + 0 created + 0 reactivated - 0 removed = 3 active at the "
            "end." + overlap_text(1) + EVENTS_TEXT.format(1, 0),
        ),
        (
            "slack", ts("2025-10-01T00:00:00Z"), 7, 5, 2, 0, 4, 10, 0, 3, 3,
            "7 active at the start + 5 created + 2 reactivated - 4 removed = 10 active at the "
            "end." + EVENTS_TEXT.format(3, 3),
        ),
        (
            None, None, 10, 6, 2, 4, 5, 17, 0, 4, 3,
            "10 active at the start + 6 created + 4 first listed + 2 reactivated - 5 removed "
            "= 17 active at the end. 4 accounts were active in their app's "
            "first listing inside the period (github on 2026-03-05 10:00 UTC): first observed "
            "then, not created (first listed)." + overlap_text(3) + EVENTS_TEXT.format(4, 3),
        ),
    ]  # fmt: skip


def test_rollforward_reads_listings_as_of_the_cut_off(store: Store) -> None:
    """With the cut-off inside the period, later versions and events are not yet known."""
    rollforward_tenant(store)
    table = query(
        store,
        "rollforward.sql",
        as_of=ts("2026-04-01T00:00:00Z"),
        evidence_until=ts("2026-07-05T00:00:00Z"),
    )
    slack = next(r for r in table.rows if r[0] == "slack")
    # Created U12, U5, U9; reactivated U3; removed U2, U3, U4, U8; U10 not yet active.
    assert slack == (
        "slack", ts("2025-10-01T00:00:00Z"), 7, 3, 1, 0, 4, 7, 0, 3, 3,
        "7 active at the start + 3 created + 1 reactivated - 4 removed = 7 active at the "
        "end." + EVENTS_TEXT.format(3, 3),
    )  # fmt: skip
    assert [r[0] for r in table.rows] == ["github", "jira", "slack", None]


# --------------------------------------------------------------------------- reconciliation


def reconciliation_tenant(s: Store) -> None:
    """Ten terminations in the period: each identity-provider outcome and each account
    outcome of the deprovisioning population, and one termination just outside each end."""
    for run_id, source, kind, mode, at in (
        (1, "workday", "hris", "full", "2025-12-01T00:00:00Z"),
        (2, "okta", "okta", "full", "2025-12-01T00:00:00Z"),
        (3, "slack", "scim", "full", "2025-12-01T00:00:00Z"),
        (4, "github", "app_export", "full", "2025-12-01T00:00:00Z"),
        (5, "workday", "hris", "full", "2026-03-02T00:00:00Z"),
        (6, "okta", "okta", "full", "2026-03-03T00:00:00Z"),
        (7, "okta", "okta", "delta", "2026-04-01T00:00:00Z"),
        (8, "slack", "scim", "full", "2026-03-05T00:00:00Z"),
        (9, "workday", "hris", "full", "2026-06-30T00:00:00Z"),
        (10, "okta", "okta", "full", "2026-06-30T00:00:00Z"),
        (11, "slack", "scim", "full", "2026-07-05T00:00:00Z"),
        (12, "github", "app_export", "full", "2026-06-30T00:00:00Z"),
        (13, "entra", "entra", "full", "2025-12-01T00:00:00Z"),
        (14, "entra", "entra", "full", "2026-03-03T00:00:00Z"),
        (15, "okta", "okta", "delta", "2026-07-02T00:00:00Z"),
        (16, "workday", "hris", "full", "2026-03-21T00:00:00Z"),
        (17, "okta", "okta", "delta", "2026-07-10T00:00:00Z"),
    ):
        s.run(run_id, source, kind, mode, at)

    def leaver(pid: str, name: str, known: str, run_id: int, term: datetime) -> None:
        s.person(pid, name, "active", run_id=1, valid_from="2025-12-01T00:00:00Z",
                 valid_to=known)  # fmt: skip
        s.person(pid, name, "terminated", run_id=run_id, valid_from=known, termination=term)

    leaver("E1", "Ann Removed", "2026-03-02T00:00:00Z", 5, eod("2026-03-01"))
    leaver("E2", "Ben Kept", "2026-03-02T00:00:00Z", 5, eod("2026-02-15"))
    leaver("E3", "Cal Late", "2026-06-30T00:00:00Z", 9, eod("2026-06-29"))
    leaver("E4", "Dee Nobody", "2026-06-30T00:00:00Z", 9, eod("2026-04-15"))
    leaver("E5", "Eve Deleted", "2026-06-30T00:00:00Z", 9, eod("2026-05-10"))
    leaver("E6", "Fay Rehired", "2026-03-21T00:00:00Z", 16, eod("2026-03-20"))
    s.person("E6", "Fay Rehired", "active", run_id=9, valid_from="2026-06-30T00:00:00Z",
             hire="2026-05-01T00:00:00Z")  # fmt: skip
    leaver("E11", "Jo Back", "2026-03-02T00:00:00Z", 5, eod("2026-02-10"))
    s.person("E11", "Jo Back", "active", run_id=9, valid_from="2026-06-30T00:00:00Z",
             hire="2026-04-01T00:00:00Z")  # fmt: skip
    leaver("E12", "Kit Back", "2026-03-02T00:00:00Z", 5, eod("2026-02-12"))
    s.person("E12", "Kit Back", "active", run_id=9, valid_from="2026-06-30T00:00:00Z",
             hire="2026-04-02T00:00:00Z")  # fmt: skip
    # Just outside the period at each end, and exactly at its start.
    s.person("E7", "Gil Before", "terminated", run_id=1, valid_from="2025-12-01T00:00:00Z",
             termination=eod("2025-12-31"))  # fmt: skip
    leaver("E8", "Hal After", "2026-06-30T00:00:00Z", 9, eod("2026-07-01"))
    s.person("E10", "Ida Start", "terminated", run_id=1, valid_from="2025-12-01T00:00:00Z",
             termination=ts("2026-01-01T00:00:00Z"))  # fmt: skip

    u = idp_user
    u(s, "00u1", "active", run_id=2, valid_from="2025-12-01T00:00:00Z",
      valid_to="2026-03-03T00:00:00Z")  # fmt: skip
    u(s, "00u1", "deprovisioned", run_id=6, valid_from="2026-03-03T00:00:00Z")
    u(s, "00u2", "active", run_id=2, valid_from="2025-12-01T00:00:00Z")
    u(s, "ent-2", "active", run_id=13, valid_from="2025-12-01T00:00:00Z",
      valid_to="2026-03-03T00:00:00Z", source="entra")  # fmt: skip
    u(s, "ent-2", "deprovisioned", run_id=14, valid_from="2026-03-03T00:00:00Z", source="entra")
    u(s, "00u3", "active", run_id=2, valid_from="2025-12-01T00:00:00Z")
    # Deleted from the IdP: no longer listed, so the matcher no longer has it.
    u(s, "00u5", "active", run_id=2, valid_from="2025-12-01T00:00:00Z",
      valid_to="2026-06-30T00:00:00Z", email="e5@example.com")  # fmt: skip
    # Suspended before the rehire, active again after it (the new employment's).
    u(s, "00u6", "active", run_id=2, valid_from="2025-12-01T00:00:00Z",
      valid_to="2026-04-01T00:00:00Z")  # fmt: skip
    u(s, "00u6", "suspended", run_id=7, valid_from="2026-04-01T00:00:00Z",
      valid_to="2026-06-30T00:00:00Z")  # fmt: skip
    u(s, "00u6", "active", run_id=10, valid_from="2026-06-30T00:00:00Z")
    # Listed active before E11's rehire (last on 2026-03-03), deactivated by an event after
    # that listing and before the rehire; deleted after it.
    u(s, "00u11", "active", run_id=2, valid_from="2025-12-01T00:00:00Z",
      valid_to="2026-06-30T00:00:00Z", email="e11@example.com")  # fmt: skip
    # Still listed active at E12's rehire; deleted only after it.
    u(s, "00u12", "active", run_id=2, valid_from="2025-12-01T00:00:00Z",
      valid_to="2026-06-30T00:00:00Z", email="e12@example.com")  # fmt: skip
    # The matcher gave 00u7 to E7: its email being E4's does not make it E4's.
    u(s, "00u7", "active", run_id=2, valid_from="2025-12-01T00:00:00Z", email="e4@example.com")
    u(s, "00u9", "active", run_id=2, valid_from="2025-12-01T00:00:00Z",
      valid_to="2026-03-03T00:00:00Z")  # fmt: skip
    u(s, "00u9", "deprovisioned", run_id=6, valid_from="2026-03-03T00:00:00Z",
      status_changed_at="2026-03-02T12:00:00Z")  # fmt: skip
    u(s, "00u10", "active", run_id=2, valid_from="2025-12-01T00:00:00Z",
      valid_to="2026-03-03T00:00:00Z")  # fmt: skip
    u(s, "00u10", "suspended", run_id=6, valid_from="2026-03-03T00:00:00Z")
    for user_id, person_id, via in (
        ("00u1", "E1", "employee_number"),
        ("00u2", "E2", "employee_number"),
        ("ent-2", "E2", "email"),
        ("00u3", "E3", "employee_number"),
        ("00u6", "E6", "employee_number"),
        ("00u7", "E7", "employee_number"),
        ("00u9", None, "none"),
        ("00u10", "E10", "email"),
    ):
        s.row("idp_user_owners", user_id=user_id, person_id=person_id, matched_by=via)

    e = s.event
    # Older than the full listings that still show 00u2 active: the listings win.
    e("user.deactivate", "2026-02-10T00:00:00Z", run_id=6, source="okta", app=None,
      account_id=None, person_id="00u2")  # fmt: skip
    # Newer than the listings, but none counts: inferred, failed, occurred after the evidence
    # cut-off, or read by a run after it.
    e("user.deactivate", "2026-07-01T00:00:00Z", run_id=15, source="okta", app=None,
      account_id=None, person_id="00u2", inferred=True)  # fmt: skip
    e("user.deactivate", "2026-07-01T01:00:00Z", run_id=15, source="okta", app=None,
      account_id=None, person_id="00u2")  # fmt: skip
    failed(s)
    e("user.deactivate", "2026-07-06T00:00:00Z", run_id=15, source="okta", app=None,
      account_id=None, person_id="00u2")  # fmt: skip
    e("user.deactivate", "2026-07-04T00:00:00Z", run_id=17, source="okta", app=None,
      account_id=None, person_id="00u2")  # fmt: skip
    # Newer than the last listing of 00u3: the event wins.
    e("user.deactivate", "2026-07-01T09:00:00Z", run_id=15, source="okta", app=None,
      account_id=None, person_id="00u3")  # fmt: skip
    # Suspended after the termination; unsuspended after the rehire (the new employment's).
    e("user.suspend", "2026-03-21T10:00:00Z", run_id=7, source="okta", app=None,
      account_id=None, person_id="00u6")  # fmt: skip
    e("user.unsuspend", "2026-05-01T09:00:00Z", run_id=10, source="okta", app=None,
      account_id=None, person_id="00u6")  # fmt: skip
    e("user.deactivate", "2026-03-10T00:00:00Z", run_id=7, source="okta", app=None,
      account_id=None, person_id="00u11")  # fmt: skip
    # Unsuspended after the last listing that showed 00u10 suspended (a log run takes
    # events published after its start).
    e("user.unsuspend", "2026-07-02T06:00:00Z", run_id=15, source="okta", app=None,
      account_id=None, person_id="00u10")  # fmt: skip
    e("account.deactivate", "2026-03-02T10:00:00Z", run_id=8, source="slack", app="slack",
      account_id="U1")  # fmt: skip
    e("app.unassign", "2026-03-02T12:00:00Z", run_id=7, source="okta", app="github",
      account_id=None, person_id="00u9")  # fmt: skip

    a = s.account
    a("slack", "U1", "ann", True, run_id=3, valid_from="2025-12-01T00:00:00Z",
      valid_to="2026-03-05T00:00:00Z")  # fmt: skip
    a("slack", "U1", "ann", False, run_id=8, valid_from="2026-03-05T00:00:00Z")
    a("github", "G1", "ann-gh", True, run_id=4, valid_from="2025-12-01T00:00:00Z",
      valid_to="2026-06-30T00:00:00Z")  # fmt: skip
    a("github", "G1", "ann-gh", False, run_id=12, valid_from="2026-06-30T00:00:00Z")
    a("github", "G8", "svc-ann", True, run_id=4, valid_from="2025-12-01T00:00:00Z")
    a("slack", "U2", "ben", True, run_id=3, valid_from="2025-12-01T00:00:00Z")
    a("github", "G4", "dee-gh", False, run_id=4, valid_from="2025-12-01T00:00:00Z")
    a("slack", "U4", "dee", False, run_id=3, valid_from="2025-12-01T00:00:00Z")
    a("slack", "U5", "eve", True, run_id=3, valid_from="2025-12-01T00:00:00Z",
      valid_to="2026-03-05T00:00:00Z")  # fmt: skip
    a("slack", "U5", "eve", False, run_id=8, valid_from="2026-03-05T00:00:00Z")
    a("slack", "U6", "fay", True, run_id=3, valid_from="2025-12-01T00:00:00Z")
    a("github", "G9", "build-bot", True, run_id=4, valid_from="2025-12-01T00:00:00Z",
      valid_to="2026-06-30T00:00:00Z")  # fmt: skip
    a("github", "G9", "build-bot", False, run_id=12, valid_from="2026-06-30T00:00:00Z")
    s.owner("slack", "U1", "ann", "E1", "email")
    s.owner("github", "G1", "ann-gh", "E1", "login")
    s.owner("github", "G8", "svc-ann", "E1", "service_account")
    s.owner("slack", "U2", "ben", "E2", "email")
    s.owner("github", "G4", "dee-gh", "E4", "login")
    s.owner("slack", "U4", "dee", "E4", "email")
    s.owner("slack", "U5", "eve", "E5", "email")
    s.owner("slack", "U6", "fay", "E6", "email")
    s.owner("github", "G9", "build-bot", "00u9", "login")


FIGURES = (
    "Terminations in the period",
    "HR terminations",
    "Identity-provider deprovisioning of people without an HR record",
    "Deactivated in the identity provider",
    "Still active in the identity provider",
    "Without an identity-provider user",
    "Terminations with app accounts",
    "Terminations without an app account",
    "App accounts of the terminated people",
    "Removed after the termination",
    "Removed: reported by the app or identity provider",
    "Removed: observed in the listings",
    "Access had ended before the termination",
    "Still active at the evidence cut-off",
    "Kept through a rehire",
    "Never active",
)
NOTES = (
    "Terminations dated in the period, as the deprovisioning population draws them; a person "
    "terminated twice counts twice. 1 = 2 + 3 = 4 + 5 + 6 = 7 + 8.",
    "From the HR records known at the data cut-off.",
    "People known only to the identity provider, deprovisioned or deleted there.",
    "Every identity-provider user matched to the person was deprovisioned, deleted or "
    "suspended: by its last listing, or a later reported lifecycle event, up to the evidence "
    "cut-off (or the rehire).",
    "At least one identity-provider user matched to the person was not deprovisioned, deleted "
    "or suspended by then.",
    "No identity-provider user is matched to the person.",
    "At least one app account belonged to the person.",
    "Listed once in the deprovisioning population, as ok.",
    "One per termination and account, as in the deprovisioning population (owned service "
    "accounts excepted). 9 = 10 + 13 + 14 + 15 + 16.",
    "10 = 11 + 12.",
    "A reported account.deactivate, account.delete or app.unassign.",
    "No removal event; a listing showed the account inactive or absent.",
    "Inactive or absent from before the termination.",
    "Not removed by the evidence cut-off, whether still inside the grace period or past it "
    "(the removal-latency table counts those past it).",
    "Still active when the person was rehired, or first active after the rehire: the new "
    "employment's access.",
    "Never observed active in a listing or a reported event.",
)
# The sums each split must reproduce: whole -> parts (ord numbers).
SPLITS = {1: [(2, 3), (4, 5, 6), (7, 8)], 9: [(10, 13, 14, 15, 16)], 10: [(11, 12)]}


def figures(values: Sequence[int]) -> list[tuple[int, str, int, str]]:
    return [
        (i + 1, f, v, n) for i, (f, v, n) in enumerate(zip(FIGURES, values, NOTES, strict=True))
    ]


def reconciliation(store: Store) -> Table:
    return query(
        store,
        "reconciliation.sql",
        as_of=ts("2026-06-30T00:00:00Z"),
        evidence_until=ts("2026-07-05T00:00:00Z"),
    )


def test_reconciliation_rows_exactly(store: Store) -> None:
    reconciliation_tenant(store)
    table = reconciliation(store)
    assert table.columns == ("ord", "figure", "value", "note")
    # Terminations: E1-E6, E10 (exactly at the period start), E11, E12 (HR) and 00u9 (IdP
    # only). IdP deactivated: E1 (deprovisioned), E3 (event after the last listing), E5
    # (deleted, matched by email), E6 (suspended before the rehire), E11 (event before the
    # rehire), 00u9; still active: E2 (one of two IdP users), E10 (unsuspended after the last
    # listing), E12 (deleted only after the rehire); none: E4. Accounts: U1, G9 reported; G1
    # by the listings; U5 ended before; U2 still active; U6 kept through the rehire; G4, U4
    # never active.
    assert table.rows == figures([10, 9, 1, 6, 3, 1, 6, 4, 8, 3, 2, 1, 1, 1, 1, 2])
    values = {r[0]: r[2] for r in table.rows}
    for whole, splits in SPLITS.items():
        for parts in splits:
            assert sum(values[p] for p in parts) == values[whole], (whole, parts)


def test_reconciliation_agrees_with_the_deprovisioning_population(store: Store) -> None:
    reconciliation_tenant(store)
    values = {r[0]: r[2] for r in reconciliation(store).rows}
    population = query(
        store,
        "deprovisioning.sql",
        as_of=ts("2026-06-30T00:00:00Z"),
        evidence_until=ts("2026-07-05T00:00:00Z"),
    ).dicts()
    accounts = [r for r in population if r["app"] is not None]
    assert len({(r["person_id"], r["termination_date"]) for r in population}) == values[1]
    assert len([r for r in population if r["app"] is None]) == values[8]
    assert len(accounts) == len({(r["app"], r["account"]) for r in accounts}) == values[9]

    def starting(*prefixes: str) -> int:
        return sum(1 for r in accounts if r["reason"].startswith(prefixes))

    assert starting("Removed ") == values[11]
    assert starting("No removal event was reported") == values[12]
    assert starting("Access had already ended") == values[13]
    assert starting("Still active at the evidence cut-off") == values[14]
    assert starting("Still active when the person was rehired", "First observed") == values[15]
    assert starting("Never observed active") == values[16]


@pytest.mark.parametrize(
    ("email", "employee_number", "alias", "idp_split"),
    [
        ("e5@example.com", None, None, [6, 3, 1]),
        ("x@example.com", None, None, [5, 3, 2]),
        (" Eve.Alias@Example.com", None, "eve.alias@example.com", [6, 3, 1]),
        ("x@example.com", "E5", None, [6, 3, 1]),
    ],
    ids=["email", "no-match", "alias", "employee-number"],
)
def test_reconciliation_matches_a_deleted_idp_user(
    store: Store, email: str, employee_number: str | None, alias: str | None, idp_split: list
) -> None:
    """The matcher no longer has the deleted user 00u5: E5's by employee number, email or
    alias, else E5 has no IdP user."""
    reconciliation_tenant(store)
    store.con.execute(
        "UPDATE idp_users SET email = $e, login = $e, employee_number = $n WHERE user_id = '00u5'",
        {"e": email, "n": employee_number},
    )
    store.con.execute("UPDATE people SET aliases = $a WHERE person_id = 'E5'", {"a": alias})
    values = [r[2] for r in reconciliation(store).rows]
    assert values[3:6] == idp_split


# --------------------------------------------------------------------------- all zero


def quiet_tenant(s: Store) -> None:
    """Data, but nothing in the period: a termination before it, an inactive account."""
    s.run(1, "workday", "hris", "full", "2025-10-01T00:00:00Z")
    s.run(2, "slack", "scim", "full", "2025-10-01T00:00:00Z")
    s.person("E7", "Gil Before", "terminated", run_id=1, valid_from="2025-10-01T00:00:00Z",
             termination=eod("2025-09-30"))  # fmt: skip
    s.account("slack", "U7", "gil", False, run_id=2, valid_from="2025-10-01T00:00:00Z")
    s.owner("slack", "U7", "gil", "E7", "email")


ZERO_TEXT = "0 active at the start + 0 created + 0 reactivated - 0 removed = 0 active at the end."


@pytest.mark.parametrize("build", [quiet_tenant, None], ids=["quiet", "empty"])
def test_every_figure_zero(store: Store, build: Any) -> None:
    if build:
        build(store)
    at = dict(as_of=ts("2025-10-01T00:00:00Z"), evidence_until=ts("2025-10-01T00:00:00Z"))
    assert query(store, "reconciliation.sql", **at).rows == figures([0] * 16)
    total = (None, None, 0, 0, 0, 0, 0, 0, 0, 0, 0, ZERO_TEXT)
    slack = ("slack", ts("2025-10-01T00:00:00Z"), *total[2:])
    assert query(store, "rollforward.sql", **at).rows == ([slack] if build else []) + [total]
    before = ts("2025-10-01T00:00:00Z")
    silent = (0, 0, 0, None, None, before, None, None, None, 0, 0, 0)
    expected = [("workday", "hris", "hr", *silent), ("slack", "scim", "app", *silent)]
    sources = query(store, "completeness_sources.sql", **at).rows
    assert sources == (expected if build else [])
