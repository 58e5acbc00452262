"""The access-rights report tests: role changes (movers), privileged access and segregation of
duties (SOC 2 CC6.3; ISO 27001 A.5.3, A.5.18, A.6.5, A.8.2; HIPAA 164.308(a)(4)(ii)(C)).

Each query runs on a real store built with exact rows; every rule and edge case is checked on
whole rows (every column, the exact reason sentence).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from evidence.config import Policy, SodRule, SodSide
from evidence.store.db import open_store
from reports.catalog import load_query
from reports.context import PARAMETERS
from tests.builders import Store, eod, report_query, ts

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 7, 1, tzinfo=UTC)
AS_OF = ts("2026-06-30T06:00:00Z")
EVIDENCE_UNTIL = ts("2026-07-20T06:00:00Z")
FIRST = "2025-10-01T00:00:00Z"  # the first listing of every source below
LIBRARY = Path(__file__).resolve().parent.parent / "reports" / "library"


# --------------------------------------------------------------------------- helpers


def run(
    con: duckdb.DuckDBPyConnection,
    name: str,
    policy: Policy,
    *,
    as_of: datetime = AS_OF,
    evidence_until: datetime = EVIDENCE_UNTIL,
) -> list[dict[str, Any]]:
    return report_query(
        con,
        name,
        policy,
        period_start=START,
        period_end=END,
        as_of=as_of,
        evidence_until=evidence_until,
    ).dicts()


def person(
    s: Store,
    pid: str,
    name: str,
    *versions: dict[str, Any],
    status: str = "active",
) -> None:
    """An HR record: one people version per mapping (valid_from, and optionally valid_to,
    department, title, effective_at, status, termination); the first starts at FIRST."""
    for i, v in enumerate(versions or ({},)):
        s.version(
            "people",
            run_id=1,
            source="workday",
            valid_from=v.get("valid_from", FIRST),
            valid_to=v.get("valid_to"),
            person_id=pid,
            hire_date=ts("2020-01-06T00:00:00Z"),
            email=f"{pid.lower()}@example.com",
            display_name=name,
            department=v.get("department"),
            title=v.get("title"),
            effective_at=ts(v["effective_at"]) if v.get("effective_at") else None,
            employment_type="employee",
            status=v.get("status", status),
            termination_date=v.get("termination"),
            manager_id=v.get("manager", f"M{i}"),
        )


def account(
    s: Store,
    app: str,
    account_id: str,
    user_name: str,
    owner: str | None,
    *,
    matched_by: str = "email",
    active: bool = True,
    until: str | None = None,
) -> None:
    """An account listed from FIRST (active, until `until`, then inactive), and its owner."""
    s.account(app, account_id, user_name, active, run_id=2, valid_from=FIRST, valid_to=until)
    if until:
        s.account(app, account_id, user_name, False, run_id=3, valid_from=until)
    s.owner(app, account_id, user_name, owner, matched_by if owner else "none")


def grant(
    s: Store,
    app: str,
    account_id: str,
    entitlement: str,
    since: str = FIRST,
    until: str | None = None,
    *,
    expires: str | None = None,
) -> None:
    s.grant(
        app,
        account_id,
        entitlement,
        run_id=2,
        valid_from=since,
        valid_to=until,
        expires_at=expires,
    )


def rows(table: list[dict[str, Any]], *columns: str) -> list[tuple[Any, ...]]:
    return [tuple(r[c] for c in columns) for r in table]


@pytest.fixture
def store(tmp_path: Path) -> Any:
    con = open_store(tmp_path / "s.duckdb")
    try:
        yield con, Store(con)
    finally:
        con.close()


# --------------------------------------------------------------------------- privileged access

PRIVILEGED = Policy(privileged=["*admin*", "owner"], grace_hours=24)


def privileged_tenant(s: Store) -> None:
    person(s, "E1", "Alice Admin")
    person(s, "E2", "Bob Grace", {"status": "terminated", "termination": eod("2026-03-01")})
    person(s, "E3", "Carol Late", {"status": "terminated", "termination": eod("2026-04-10")})
    person(s, "E4", "Dora Leave", status="leave")
    # Terminated in the period, but HR recorded it only after the data cut-off.
    person(
        s,
        "E5",
        "Eve Later",
        {"valid_to": "2026-07-05T06:00:00Z"},
        {
            "valid_from": "2026-07-05T06:00:00Z",
            "status": "terminated",
            "termination": eod("2026-06-29"),
        },
    )
    # An IdP-only person (no HR record), deprovisioned in Okta on 2026-05-01 12:00.
    s.version(
        "idp_users",
        run_id=4,
        source="okta",
        valid_from=FIRST,
        valid_to="2026-05-02T06:00:00Z",
        user_id="00u1",
        login="ivy@partner.example",
        display_name="Ivy Idp",
        status="ACTIVE",
        lifecycle="active",
    )
    s.version(
        "idp_users",
        run_id=5,
        source="okta",
        valid_from="2026-05-02T06:00:00Z",
        user_id="00u1",
        login="ivy@partner.example",
        display_name="Ivy Idp",
        status="DEPROVISIONED",
        lifecycle="deprovisioned",
        status_changed_at=ts("2026-05-01T12:00:00Z"),
    )
    s.row("idp_user_owners", user_id="00u1", person_id=None, matched_by="none")

    # Alice: an expired grant (with the source's expiry), an expiring non-privileged one.
    account(s, "aws", "A1", "alice", "E1")
    grant(s, "aws", "A1", "prod-admin", expires="2026-03-31T00:00:00Z")
    grant(s, "aws", "A1", "prod-read")
    grant(s, "aws", "A1", "ReadOnly")
    # Alice's GitHub account accumulated privileges; accepted risk.
    account(s, "github", "G1", "alice-gh", "E1")
    grant(s, "github", "G1", "Admin", "2026-02-01T00:00:00Z")
    grant(s, "github", "G1", "owner", "2026-02-02T00:00:00Z")
    grant(s, "github", "G1", "triage", "2026-02-02T00:00:00Z")
    # Period bounds, spells and versions.
    account(s, "box", "BX1", "alice-box", "E1")
    grant(s, "box", "BX1", "admin-ends-at-start", until="2026-01-01T00:00:00Z")
    grant(s, "box", "BX1", "admin-ends-after-start", until="2026-01-01T00:01:00Z")
    grant(s, "box", "BX1", "admin-starts-at-end", "2026-07-01T00:00:00Z")
    grant(s, "box", "BX1", "admin-starts-before-end", "2026-06-30T23:59:00Z")
    grant(s, "box", "BX1", "admin-spells", "2026-01-10T00:00:00Z", "2026-02-01T00:00:00Z")
    grant(s, "box", "BX1", "admin-spells", "2026-02-01T00:00:00Z", "2026-02-10T00:00:00Z")
    grant(s, "box", "BX1", "admin-spells", "2026-03-01T00:00:00Z")
    # Bob: his account was deactivated 6 h after his termination; the app still lists the grant.
    account(s, "aws", "B1", "bob", "E2", until="2026-03-02T06:00:00Z")
    grant(s, "aws", "B1", "prod-admin")
    # Carol: the grant was removed four days after her termination.
    account(s, "aws", "C1", "carol", "E3")
    grant(s, "aws", "C1", "iam-admin", until="2026-04-15T00:00:00Z")
    # Service accounts, judged by their owners: Carol (terminated) and Alice (active).
    account(s, "github", "S1", "svc-deploy", "E3", matched_by="service_account")
    grant(s, "github", "S1", "owner")
    account(s, "github", "S2", "svc-ci", "E1", matched_by="service_account")
    grant(s, "github", "S2", "admin")
    # An account that matches nobody, one whose owner is on leave, one never active.
    account(s, "github", "U1", "ghost", None)
    grant(s, "github", "U1", "admin")
    account(s, "github", "D1", "dora", "E4")
    grant(s, "github", "D1", "admin")
    account(s, "github", "X1", "xavier", "E1", active=False)
    grant(s, "github", "X1", "admin")
    account(s, "slack", "K1", "eve", "E5")
    grant(s, "slack", "K1", "workspace-admin")
    account(s, "jira", "J1", "ivy", "00u1", matched_by="login")
    grant(s, "jira", "J1", "jira-admins")

    s.finding(
        "f-exp",
        "creep",
        "expired_grant",
        app="aws",
        account_id="A1",
        person_id="E1",
        entitlement="prod-admin",
        first_seen="2026-04-01T06:00:00Z",
    )
    s.finding(
        "f-read",
        "creep",
        "expired_grant",
        app="aws",
        account_id="A1",
        person_id="E1",
        entitlement="prod-read",
        first_seen="2026-03-01T06:00:00Z",
        status="accepted",
        ticket="SEC-9",
        owner="E9",
        until="2026-12-31T00:00:00Z",
    )
    s.finding(
        "f-acc",
        "creep",
        "privilege_accumulation",
        app="github",
        account_id="G1",
        person_id="E1",
        first_seen="2026-02-03T06:00:00Z",
        status="accepted",
        ticket="SEC-7",
        owner="E1",
        until="2026-09-30T00:00:00Z",
    )
    # Resolved before the period: not an exception of this period.
    s.finding(
        "f-old",
        "creep",
        "expired_grant",
        app="box",
        account_id="BX1",
        person_id="E1",
        entitlement="admin-ends-after-start",
        first_seen="2025-11-01T06:00:00Z",
        status="resolved",
        resolved_at="2025-12-31T06:00:00Z",
    )
    # Raised after the period: not this period's exception.
    s.finding(
        "f-after",
        "creep",
        "expired_grant",
        app="box",
        account_id="BX1",
        person_id="E1",
        entitlement="admin-starts-before-end",
        first_seen="2026-07-05T06:00:00Z",
    )
    # An expired unprivileged grant of the accumulating account: the accumulation is not its.
    s.finding(
        "f-triage",
        "creep",
        "expired_grant",
        app="github",
        account_id="G1",
        person_id="E1",
        entitlement="triage",
        first_seen="2026-02-10T06:00:00Z",
        status="resolved",
        resolved_at="2026-02-20T06:00:00Z",
    )


COLUMNS_PRIVILEGED = (
    "app",
    "account",
    "account_id",
    "entitlement",
    "person_id",
    "display_name",
    "person_status",
    "held_from",
    "held_to",
    "expires_at",
    "status",
    "reason",
)
STILL = "still held at the evidence cut-off 2026-07-20 06:00 UTC"
SINCE_FIRST = f"Held from 2025-10-01 00:00 UTC, {STILL}"
ALICE_OK = "its owner E1 was active at the data cut-off."
ACCEPTED_ACC = (
    " Monitoring raised creep/privilege_accumulation f-acc on 2026-02-03 (status accepted, "
    "accepted risk SEC-7 owned by E1 until 2026-09-30) for this account."
)


def test_privileged_access_population(store: Any) -> None:
    con, s = store
    privileged_tenant(s)
    got = rows(run(con, "privileged_access.sql", PRIVILEGED), *COLUMNS_PRIVILEGED)
    first, alice = ts(FIRST), ("E1", "Alice Admin", "active")
    assert got == [
        # The source's own expiry passed: monitoring's expired-grant finding.
        (
            "aws",
            "alice",
            "A1",
            "prod-admin",
            *alice,
            first,
            None,
            ts("2026-03-31T00:00:00Z"),
            "exception",
            f"{SINCE_FIRST}; {ALICE_OK} Monitoring raised creep/expired_grant f-exp on "
            "2026-04-01 (status open).",
        ),
        # Not privileged, but an expired-grant finding (accepted risk) names it: listed.
        (
            "aws",
            "alice",
            "A1",
            "prod-read",
            *alice,
            first,
            None,
            None,
            "exception",
            f"{SINCE_FIRST}, not privileged under policy.privileged; {ALICE_OK} Monitoring "
            "raised creep/expired_grant f-read on 2026-03-01 (status accepted, accepted risk "
            "SEC-9 owned by E9 until 2026-12-31).",
        ),
        # The account was deactivated 6 h after the termination: within the grace period,
        # though the app still lists the grant on the inactive account.
        (
            "aws",
            "bob",
            "B1",
            "prod-admin",
            "E2",
            "Bob Grace",
            "terminated",
            first,
            ts("2026-03-02T06:00:00Z"),
            None,
            "ok",
            "Held from 2025-10-01 00:00 UTC to 2026-03-02 06:00 UTC; its owner E2 was "
            "terminated 2026-03-01 23:59 UTC, and the holding lasted 6.0 h after it, within "
            "the 24 h grace period.",
        ),
        (
            "aws",
            "carol",
            "C1",
            "iam-admin",
            "E3",
            "Carol Late",
            "terminated",
            first,
            ts("2026-04-15T00:00:00Z"),
            None,
            "exception",
            "Held from 2025-10-01 00:00 UTC to 2026-04-15 00:00 UTC; its owner E3 was "
            "terminated 2026-04-10 23:59 UTC, and the holding lasted 96.0 h after it, past "
            "the 24 h grace period.",
        ),
        # Ended one minute into the period: held in it. (Ended at its start: not listed.)
        (
            "box",
            "alice-box",
            "BX1",
            "admin-ends-after-start",
            *alice,
            first,
            ts("2026-01-01T00:01:00Z"),
            None,
            "ok",
            f"Held from 2025-10-01 00:00 UTC to 2026-01-01 00:01 UTC; {ALICE_OK}",
        ),
        # Two versions back to back are one spell; a gap starts another.
        (
            "box",
            "alice-box",
            "BX1",
            "admin-spells",
            *alice,
            ts("2026-01-10T00:00:00Z"),
            None,
            None,
            "ok",
            f"Held from 2026-01-10 00:00 UTC, {STILL} (in 2 separate spells); {ALICE_OK}",
        ),
        # Granted a minute before the period's end: held in it. (At its end: not listed.)
        (
            "box",
            "alice-box",
            "BX1",
            "admin-starts-before-end",
            *alice,
            ts("2026-06-30T23:59:00Z"),
            None,
            None,
            "ok",
            f"Held from 2026-06-30 23:59 UTC, {STILL}; {ALICE_OK}",
        ),
        # People on leave keep their access.
        (
            "github",
            "dora",
            "D1",
            "admin",
            "E4",
            "Dora Leave",
            "leave",
            first,
            None,
            None,
            "ok",
            f"{SINCE_FIRST}; its owner E4 was on leave at the data cut-off.",
        ),
        # Accumulation is per account: it marks each privileged row of the account (not the
        # account's unprivileged triage).
        (
            "github",
            "alice-gh",
            "G1",
            "Admin",
            *alice,
            ts("2026-02-01T00:00:00Z"),
            None,
            None,
            "exception",
            f"Held from 2026-02-01 00:00 UTC, {STILL}; {ALICE_OK}{ACCEPTED_ACC}",
        ),
        (
            "github",
            "alice-gh",
            "G1",
            "owner",
            *alice,
            ts("2026-02-02T00:00:00Z"),
            None,
            None,
            "exception",
            f"Held from 2026-02-02 00:00 UTC, {STILL}; {ALICE_OK}{ACCEPTED_ACC}",
        ),
        (
            "github",
            "alice-gh",
            "G1",
            "triage",
            *alice,
            ts("2026-02-02T00:00:00Z"),
            None,
            None,
            "exception",
            f"Held from 2026-02-02 00:00 UTC, {STILL}, not privileged under policy.privileged; "
            f"{ALICE_OK} Monitoring raised creep/expired_grant f-triage on 2026-02-10 (status "
            "resolved).",
        ),
        # Owned service accounts are judged by their owners.
        (
            "github",
            "svc-deploy",
            "S1",
            "owner",
            "E3",
            "Carol Late",
            "terminated",
            first,
            None,
            None,
            "exception",
            f"{SINCE_FIRST}; an owned service account, judged by its owner E3, who was "
            "terminated 2026-04-10 23:59 UTC, 2406.0 h before the evidence cut-off, past the "
            "24 h grace period.",
        ),
        (
            "github",
            "svc-ci",
            "S2",
            "admin",
            *alice,
            first,
            None,
            None,
            "ok",
            f"{SINCE_FIRST}; an owned service account, judged by its owner E1, who was active "
            "at the data cut-off.",
        ),
        (
            "github",
            "ghost",
            "U1",
            "admin",
            None,
            None,
            None,
            first,
            None,
            None,
            "exception",
            f"{SINCE_FIRST}; the account matches no person and is not an owned service account.",
        ),
        # An IdP-only person ends when the IdP deprovisions them.
        (
            "jira",
            "ivy",
            "J1",
            "jira-admins",
            "00u1",
            "Ivy Idp",
            "terminated",
            first,
            None,
            None,
            "exception",
            f"{SINCE_FIRST}; its owner 00u1 was deprovisioned in the identity provider "
            "2026-05-01 12:00 UTC, 1914.0 h before the evidence cut-off, past the 24 h grace "
            "period.",
        ),
        # HR recorded Eve's termination only after the data cut-off: active as of then.
        (
            "slack",
            "eve",
            "K1",
            "workspace-admin",
            "E5",
            "Eve Later",
            "active",
            first,
            None,
            None,
            "ok",
            f"{SINCE_FIRST}; its owner E5 was active at the data cut-off.",
        ),
    ]


def test_privileged_access_judged_at_the_cut_off(store: Any) -> None:
    con, s = store
    person(s, "E1", "Alice Admin")
    person(s, "E6", "Finn Fresh", {"status": "terminated", "termination": eod("2026-06-29")})
    person(s, "E7", "Gil Nodate", status="terminated")
    person(s, "E8", "Hal Early", {"status": "terminated", "termination": eod("2026-05-31")})
    account(s, "github", "F1", "finn", "E6")
    grant(s, "github", "F1", "admin")
    account(s, "github", "N1", "gil", "E7")
    grant(s, "github", "N1", "admin")
    account(s, "github", "E8A", "hal", "E8")
    grant(s, "github", "E8A", "admin", until="2026-05-01T00:00:00Z")
    account(s, "github", "S9", "svc-orphan", "E404", matched_by="service_account")
    grant(s, "github", "S9", "admin")
    # Findings naming what the listings do not show held in the period: listed all the same.
    account(s, "github", "H1", "alice-old", "E1")
    grant(s, "github", "H1", "admin", until="2025-12-20T00:00:00Z")
    s.finding(
        "f-acc2",
        "creep",
        "privilege_accumulation",
        app="github",
        account_id="H1",
        person_id="E1",
        first_seen="2025-12-10T06:00:00Z",
        status="resolved",
        resolved_at="2026-01-05T06:00:00Z",
    )
    account(s, "aws", "Q1", "alice", "E1")
    grant(s, "aws", "Q1", "temp-access", until="2025-12-01T00:00:00Z")
    s.finding(
        "f-q",
        "creep",
        "expired_grant",
        app="aws",
        account_id="Q1",
        person_id="E1",
        entitlement="temp-access",
        first_seen="2025-11-20T06:00:00Z",
    )
    got = rows(
        run(con, "privileged_access.sql", PRIVILEGED, evidence_until=AS_OF), *COLUMNS_PRIVILEGED
    )
    first = ts(FIRST)
    held = "Held from 2025-10-01 00:00 UTC, still held at the evidence cut-off 2026-06-30 06:00 UTC"
    assert got == [
        (
            "aws",
            "alice",
            "Q1",
            "temp-access",
            "E1",
            "Alice Admin",
            "active",
            None,
            None,
            None,
            "exception",
            f"Not held on an active account in the period; {ALICE_OK} Monitoring raised "
            "creep/expired_grant f-q on 2025-11-20 (status open).",
        ),
        (
            "github",
            "hal",
            "E8A",
            "admin",
            "E8",
            "Hal Early",
            "terminated",
            first,
            ts("2026-05-01T00:00:00Z"),
            None,
            "ok",
            "Held from 2025-10-01 00:00 UTC to 2026-05-01 00:00 UTC; its owner E8 was "
            "terminated 2026-05-31 23:59 UTC, when the holding had already ended.",
        ),
        (
            "github",
            "finn",
            "F1",
            "admin",
            "E6",
            "Finn Fresh",
            "terminated",
            first,
            None,
            None,
            "ok",
            f"{held}; its owner E6 was terminated 2026-06-29 23:59 UTC, 6.0 h before the "
            "evidence cut-off, within the 24 h grace period: removal not yet due.",
        ),
        (
            "github",
            "alice-old",
            "H1",
            None,
            "E1",
            "Alice Admin",
            "active",
            None,
            None,
            None,
            "exception",
            "No privileged entitlement of this account was held on an active account in the "
            f"period; {ALICE_OK} Monitoring raised creep/privilege_accumulation f-acc2 on "
            "2025-12-10 (status resolved) for this account.",
        ),
        (
            "github",
            "gil",
            "N1",
            "admin",
            "E7",
            "Gil Nodate",
            "terminated",
            first,
            None,
            None,
            "exception",
            f"{held}; its owner E7 is terminated, with no termination date recorded.",
        ),
        (
            "github",
            "svc-orphan",
            "S9",
            "admin",
            "E404",
            None,
            None,
            first,
            None,
            None,
            "exception",
            f"{held}; an owned service account, judged by its owner E404, who is not a known "
            "person at the data cut-off.",
        ),
    ]


# --------------------------------------------------------------------------- role changes

MOVERS = Policy(mover_days=30)
SALES = {"department": "Sales", "title": "AE"}
ENG = {"department": "Engineering", "title": "SWE"}


def movers_tenant(s: Store) -> None:
    # Mia moved on 2026-03-01 (HR's effective date; the sync showed it the next day).
    person(
        s,
        "M1",
        "Mia Mover",
        {**SALES, "valid_to": "2026-03-02T06:00:00Z"},
        {**ENG, "valid_from": "2026-03-02T06:00:00Z", "effective_at": "2026-03-01T00:00:00Z"},
    )
    account(s, "github", "MG", "mia", "M1")
    grant(s, "github", "MG", "sales-crm")  # kept, and monitoring says it is a residual
    grant(s, "github", "MG", "all-hands")  # kept, not a residual
    grant(s, "github", "MG", "sales-deals", until="2026-03-20T00:00:00Z")  # dropped in time
    grant(s, "github", "MG", "sales-report", until="2026-04-15T00:00:00Z")  # dropped late
    grant(s, "github", "MG", "eng-repo", "2026-03-02T06:00:00Z")  # the new role's
    # A finding resolved in the period but before the move is not about the move.
    s.finding(
        "f-mia-old",
        "creep",
        "mover_residual",
        app="github",
        account_id="MG",
        person_id="M1",
        entitlement="all-hands",
        first_seen="2026-01-10T06:00:00Z",
        status="resolved",
        resolved_at="2026-02-15T06:00:00Z",
    )
    # Raised after the evidence cut-off: not read.
    s.finding(
        "f-mia-late",
        "creep",
        "mover_residual",
        app="github",
        account_id="MG",
        person_id="M1",
        entitlement="sales-report",
        first_seen="2026-07-25T06:00:00Z",
    )
    account(s, "github", "MS", "svc-sales", "M1", matched_by="service_account")
    grant(s, "github", "MS", "sales-crm")  # a service account is not the person's access
    s.finding(
        "f-mia",
        "creep",
        "mover_residual",
        app="github",
        account_id="MG",
        person_id="M1",
        entitlement="sales-crm",
        first_seen="2026-04-02T06:00:00Z",
    )
    # Monitoring also flagged an entitlement granted after the move: listed all the same.
    s.finding(
        "f-mia-eng",
        "creep",
        "mover_residual",
        app="github",
        account_id="MG",
        person_id="M1",
        entitlement="eng-repo",
        first_seen="2026-04-05T06:00:00Z",
    )
    # Noah: a title change at the first instant of the period; accepted risk.
    person(
        s,
        "M2",
        "Noah Inside",
        {"department": "Finance", "title": "Analyst", "valid_to": "2026-01-01T00:00:00Z"},
        {"department": "Finance", "title": "Senior Analyst", "valid_from": "2026-01-01T00:00:00Z"},
    )
    account(s, "slack", "N1", "noah", "M2")
    grant(s, "slack", "N1", "finance-ch")
    s.finding(
        "f-noah",
        "creep",
        "mover_residual",
        app="slack",
        account_id="N1",
        person_id="M2",
        entitlement="finance-ch",
        first_seen="2026-02-05T06:00:00Z",
        status="accepted",
        ticket="SEC-5",
        owner="E1",
        until="2026-12-31T00:00:00Z",
    )
    # Olive moves at the period's end (effective date): outside the period.
    person(
        s,
        "M3",
        "Olive Outside",
        {**SALES, "valid_to": "2026-06-29T06:00:00Z"},
        {**ENG, "valid_from": "2026-06-29T06:00:00Z", "effective_at": "2026-07-01T00:00:00Z"},
    )
    account(s, "slack", "O1", "olive", "M3")
    grant(s, "slack", "O1", "sales-ch")
    # Raised after the period for a move outside it: not in the population.
    s.finding(
        "f-olive",
        "creep",
        "mover_residual",
        app="slack",
        account_id="O1",
        person_id="M3",
        entitlement="sales-ch",
        first_seen="2026-07-12T06:00:00Z",
    )
    # Paul moved a second before the period; his residual finding is open during it.
    person(
        s,
        "M4",
        "Paul Before",
        {**SALES, "valid_to": "2025-12-31T23:59:59Z"},
        {"department": "Ops", "title": "SRE", "valid_from": "2025-12-31T23:59:59Z"},
    )
    account(s, "slack", "P1", "paul", "M4")
    grant(s, "slack", "P1", "sales-ch")
    s.finding(
        "f-paul",
        "creep",
        "mover_residual",
        app="slack",
        account_id="P1",
        person_id="M4",
        entitlement="sales-ch",
        first_seen="2026-01-31T06:00:00Z",
    )
    # Quinn's finding for the same entitlement was resolved before the period: not this one's.
    person(
        s,
        "M5",
        "Quinn Resolved",
        {**SALES, "valid_to": "2026-02-01T00:00:00Z"},
        {**ENG, "valid_from": "2026-02-01T00:00:00Z"},
    )
    account(s, "slack", "Q1", "quinn", "M5")
    grant(s, "slack", "Q1", "sales-ch")
    grant(s, "slack", "Q1", "eng-wiki", "2026-02-01T00:00:00Z")  # granted at the move
    s.finding(
        "f-quinn",
        "creep",
        "mover_residual",
        app="slack",
        account_id="Q1",
        person_id="M5",
        entitlement="sales-ch",
        first_seen="2025-11-01T06:00:00Z",
        status="resolved",
        resolved_at="2025-12-15T06:00:00Z",
    )
    # Rita's 30 days end after the evidence cut-off: not judged yet.
    person(
        s,
        "M6",
        "Rita Recent",
        {**SALES, "valid_to": "2026-06-25T00:00:00Z"},
        {**ENG, "valid_from": "2026-06-25T00:00:00Z"},
    )
    account(s, "slack", "R1", "rita", "M6")
    grant(s, "slack", "R1", "sales-ch")
    # Sam's versions differ in case, spacing and manager only: no move.
    person(
        s,
        "M7",
        "Sam Same",
        {**SALES, "valid_to": "2026-02-01T00:00:00Z"},
        {
            "department": " sales ",
            "title": "ae",
            "valid_from": "2026-02-01T00:00:00Z",
            "manager": "M9",
        },
    )
    account(s, "slack", "S1", "sam", "M7")
    grant(s, "slack", "S1", "sales-ch")
    # Tara's move (effective in the period) reached HR only after the data cut-off.
    person(
        s,
        "M8",
        "Tara Late",
        {**SALES, "valid_to": "2026-07-02T06:00:00Z"},
        {**ENG, "valid_from": "2026-07-02T06:00:00Z", "effective_at": "2026-05-01T00:00:00Z"},
    )
    account(s, "slack", "T1", "tara", "M8")
    grant(s, "slack", "T1", "sales-ch")
    # Uma's 30 days ended after the period: the finding came after it, still about this move.
    person(
        s,
        "M9",
        "Uma Edge",
        {**SALES, "valid_to": "2026-06-10T00:00:00Z"},
        {**ENG, "valid_from": "2026-06-10T00:00:00Z"},
    )
    account(s, "slack", "U1", "uma", "M9")
    grant(s, "slack", "U1", "sales-ch")
    s.finding(
        "f-uma",
        "creep",
        "mover_residual",
        app="slack",
        account_id="U1",
        person_id="M9",
        entitlement="sales-ch",
        first_seen="2026-07-11T06:00:00Z",
    )


COLUMNS_MOVERS = (
    "person_id",
    "display_name",
    "moved_at",
    "from_role",
    "to_role",
    "app",
    "account",
    "account_id",
    "entitlement",
    "held_since",
    "held_until",
    "status",
    "reason",
)


def kept(since: str, move: str, roles: str, day30: str, end: str | None) -> str:
    tail = f"held until {end} UTC." if end else "still held at the evidence cut-off."
    return (
        f"Held since {since} UTC, before the move from {roles} on {move} UTC, and still 30 "
        f"days after it ({day30} UTC); {tail}"
    )


NOT_RESIDUAL = (
    " Monitoring did not judge it a residual of the old role (no creep/mover_residual finding)."
)


def test_role_changes_population(store: Any) -> None:
    con, s = store
    movers_tenant(s)
    got = rows(run(con, "role_changes.sql", MOVERS), *COLUMNS_MOVERS)
    first = ts(FIRST)
    sales_eng = ("Sales / AE", "Engineering / SWE")
    mia = ("M1", "Mia Mover", ts("2026-03-01T00:00:00Z"), *sales_eng, "github", "mia", "MG")
    mia_move = ("2025-10-01 00:00", "2026-03-01 00:00", "Sales / AE to Engineering / SWE")
    assert got == [
        # A finding of the period resolved before any move: a row of its own.
        (
            "M1",
            "Mia Mover",
            None,
            None,
            None,
            "github",
            "mia",
            "MG",
            "all-hands",
            first,
            None,
            "exception",
            "Monitoring raised creep/mover_residual f-mia-old on 2026-01-10 (status resolved); "
            "no move of the owner is recorded before it.",
        ),
        # Moved a second before the period: only its open finding brings it in.
        (
            "M4",
            "Paul Before",
            ts("2025-12-31T23:59:59Z"),
            "Sales / AE",
            "Ops / SRE",
            "slack",
            "paul",
            "P1",
            "sales-ch",
            first,
            None,
            "exception",
            "Monitoring raised creep/mover_residual f-paul on 2026-01-31 (status open); the "
            "move it follows, on 2025-12-31, is before the period.",
        ),
        # A title change at the period's first instant; the residual is an accepted risk.
        (
            "M2",
            "Noah Inside",
            START,
            "Finance / Analyst",
            "Finance / Senior Analyst",
            "slack",
            "noah",
            "N1",
            "finance-ch",
            first,
            None,
            "exception",
            kept(
                "2025-10-01 00:00",
                "2026-01-01 00:00",
                "Finance / Analyst to Finance / Senior Analyst",
                "2026-01-31 00:00",
                None,
            )
            + " Monitoring raised creep/mover_residual f-noah on 2026-02-05 (status accepted, "
            "accepted risk SEC-5 owned by E1 until 2026-12-31).",
        ),
        # Quinn's finding was resolved before the period (and the move): not an exception.
        (
            "M5",
            "Quinn Resolved",
            ts("2026-02-01T00:00:00Z"),
            *sales_eng,
            "slack",
            "quinn",
            "Q1",
            "sales-ch",
            first,
            None,
            "ok",
            kept(
                "2025-10-01 00:00",
                "2026-02-01 00:00",
                "Sales / AE to Engineering / SWE",
                "2026-03-03 00:00",
                None,
            )
            + NOT_RESIDUAL,
        ),
        (
            *mia,
            "all-hands",
            first,
            None,
            "ok",
            kept(*mia_move, "2026-03-31 00:00", None) + NOT_RESIDUAL,
        ),
        # Granted after the move, flagged by monitoring: listed with the move it follows.
        (
            *mia,
            "eng-repo",
            ts("2026-03-02T06:00:00Z"),
            None,
            "exception",
            "Monitoring raised creep/mover_residual f-mia-eng on 2026-04-05 (status open); the "
            "entitlement was not held before the move of 2026-03-01 and still 30 days after it.",
        ),
        (
            *mia,
            "sales-crm",
            first,
            None,
            "exception",
            kept(*mia_move, "2026-03-31 00:00", None)
            + " Monitoring raised creep/mover_residual f-mia on 2026-04-02 (status open).",
        ),
        # Dropped 45 days after the move: past the 30 days, listed. (sales-deals, dropped
        # within them, is not; nor is the service account's sales-crm.)
        (
            *mia,
            "sales-report",
            first,
            ts("2026-04-15T00:00:00Z"),
            "ok",
            kept(*mia_move, "2026-03-31 00:00", "2026-04-15 00:00") + NOT_RESIDUAL,
        ),
        # The 30 days ended after the period, and so did the finding: still this move's.
        (
            "M9",
            "Uma Edge",
            ts("2026-06-10T00:00:00Z"),
            *sales_eng,
            "slack",
            "uma",
            "U1",
            "sales-ch",
            first,
            None,
            "exception",
            kept(
                "2025-10-01 00:00",
                "2026-06-10 00:00",
                "Sales / AE to Engineering / SWE",
                "2026-07-10 00:00",
                None,
            )
            + " Monitoring raised creep/mover_residual f-uma on 2026-07-11 (status open).",
        ),
    ]


@pytest.mark.parametrize(
    ("moved_at", "listed"),
    [
        ("2025-12-31T23:59:59Z", False),
        ("2026-01-01T00:00:00Z", True),
        ("2026-06-30T23:59:00Z", True),
        ("2026-07-01T00:00:00Z", False),
    ],
)
def test_role_changes_period_bounds(store: Any, moved_at: str, listed: bool) -> None:
    con, s = store
    # One day after the move, so the window has elapsed by the cut-off either way.
    person(
        s,
        "M1",
        "Mia Mover",
        {**SALES, "valid_to": "2026-06-29T06:00:00Z"},
        {**ENG, "valid_from": "2026-06-29T06:00:00Z", "effective_at": moved_at},
    )
    account(s, "github", "MG", "mia", "M1")
    grant(s, "github", "MG", "sales-crm")
    got = rows(run(con, "role_changes.sql", Policy(mover_days=1)), "person_id", "moved_at")
    assert got == ([("M1", ts(moved_at))] if listed else [])


# --------------------------------------------------------------------------- segregation of duties

SOD = Policy(
    sod=[
        SodRule(
            name="release-and-approve",
            a=SodSide(app="github", entitlement="release-managers"),
            b=SodSide(app="netsuite", entitlement="AP Approver"),
        ),
        SodRule(
            name="deploy-and-review",
            a=SodSide(app="github", entitlement="deployers"),
            b=SodSide(app="github", entitlement="reviewers"),
        ),
    ]
)
COLUMNS_SOD = (
    "rule",
    "person_id",
    "display_name",
    "app",
    "account",
    "account_id",
    "entitlement",
    "conflicting_app",
    "conflicting_account",
    "conflicting_entitlement",
    "held_from",
    "held_to",
    "overlap_from",
    "overlap_to",
    "status",
    "reason",
)


def sod_tenant(s: Store) -> None:
    # Sara held both sides at once, across apps (names differ in case and spacing).
    person(s, "S1", "Sara Overlap")
    account(s, "github", "GS", "sara", "S1")
    grant(s, "github", "GS", "Release-Managers")
    account(s, "netsuite", "NS", "sara@example.com", "S1")
    grant(s, "netsuite", "NS", "ap approver ", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")
    s.finding(
        "f-sara",
        "sod",
        "toxic_combination",
        app="github",
        account_id="GS",
        person_id="S1",
        rule="release-and-approve",
        first_seen="2026-02-01T06:00:00Z",
        status="accepted",
        ticket="SEC-3",
        owner="E1",
        until="2026-12-31T00:00:00Z",
    )
    # Tom handed one over for the other: back to back, never both at once.
    person(s, "S2", "Tom Apart")
    account(s, "github", "GT", "tom", "S2")
    grant(s, "github", "GT", "release-managers", until="2026-02-01T00:00:00Z")
    s.finding(
        "f-tom",
        "sod",
        "toxic_combination",
        app="github",
        account_id="GT",
        person_id="S2",
        rule="release-and-approve",
        first_seen="2025-11-01T06:00:00Z",
        status="resolved",
        resolved_at="2025-12-01T06:00:00Z",
    )
    account(s, "netsuite", "NT", "tom@example.com", "S2")
    grant(s, "netsuite", "NT", "AP Approver", "2026-02-01T00:00:00Z")
    # Uma held both in one app before the period only; the finding was resolved in it.
    person(s, "S3", "Uma Fixed")
    account(s, "github", "GU", "uma", "S3")
    grant(s, "github", "GU", "deployers")
    grant(s, "github", "GU", "reviewers", until="2025-12-01T00:00:00Z")
    s.finding(
        "f-uma",
        "sod",
        "toxic_combination",
        app="github",
        account_id="GU",
        person_id="S3",
        rule="deploy-and-review",
        first_seen="2025-10-02T06:00:00Z",
        status="resolved",
        resolved_at="2026-01-05T06:00:00Z",
    )
    # Vic left before the period, his accounts still hold both: only the finding lists him.
    person(s, "S4", "Vic Gone", {"status": "terminated", "termination": eod("2025-12-15")})
    account(s, "github", "GV", "vic", "S4")
    grant(s, "github", "GV", "release-managers")
    account(s, "netsuite", "NV", "vic@example.com", "S4")
    grant(s, "netsuite", "NV", "AP Approver")
    s.finding(
        "f-vic",
        "sod",
        "toxic_combination",
        app="github",
        account_id="GV",
        person_id="S4",
        rule="release-and-approve",
        first_seen="2025-12-20T06:00:00Z",
    )
    # Walt holds one side only, and a finding of a rule no longer in the policy.
    person(s, "S5", "Walt Only")
    account(s, "github", "GW", "walt", "S5")
    grant(s, "github", "GW", "release-managers")
    # ... also on an account never listed active, and a finding after the period.
    account(s, "netsuite", "NW", "walt@example.com", "S5", active=False)
    grant(s, "netsuite", "NW", "AP Approver")
    s.finding(
        "f-walt",
        "sod",
        "toxic_combination",
        app="github",
        account_id="GW",
        person_id="S5",
        rule="release-and-approve",
        first_seen="2026-07-02T06:00:00Z",
    )
    s.finding(
        "f-legacy",
        "sod",
        "toxic_combination",
        app="github",
        account_id="GW",
        person_id="S5",
        rule="legacy-rule",
        first_seen="2026-03-01T06:00:00Z",
    )
    # Xena gains the other side at the period's end: not in the period.
    person(s, "S6", "Xena Edge")
    account(s, "github", "GX", "xena", "S6")
    grant(s, "github", "GX", "deployers")
    grant(s, "github", "GX", "reviewers", "2026-07-01T00:00:00Z")
    # Yan held both for a day between two detect runs: no finding, still the exception.
    person(s, "S7", "Yan Brief")
    account(s, "github", "GY", "yan", "S7")
    grant(s, "github", "GY", "release-managers", "2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z")
    account(s, "netsuite", "NY", "yan@example.com", "S7")
    grant(s, "netsuite", "NY", "AP Approver")
    # Sara's service account holds deployers: not her own access, no row.
    account(s, "github", "SV", "svc-release", "S1", matched_by="service_account")
    grant(s, "github", "SV", "deployers")
    grant(s, "github", "SV", "reviewers")


def test_segregation_of_duties_population(store: Any) -> None:
    con, s = store
    sod_tenant(s)
    got = rows(run(con, "segregation_of_duties.sql", SOD), *COLUMNS_SOD)
    first = ts(FIRST)
    none3 = (None, None, None)
    assert got == [
        # Both held only before the period; the finding, resolved in it, is the exception.
        (
            "deploy-and-review",
            "S3",
            "Uma Fixed",
            "github",
            "uma",
            "GU",
            "deployers",
            *none3,
            first,
            None,
            None,
            None,
            "exception",
            "Held github deployers (account uma) from 2025-10-01 00:00 UTC, still held at the "
            "evidence cut-off; held no github reviewers in the period (rule "
            "deploy-and-review). Monitoring raised sod/toxic_combination f-uma on 2025-10-02 "
            "(status resolved).",
        ),
        # The other side granted at the period's end: not in the period.
        (
            "deploy-and-review",
            "S6",
            "Xena Edge",
            "github",
            "xena",
            "GX",
            "deployers",
            *none3,
            first,
            None,
            None,
            None,
            "ok",
            "Held github deployers (account xena) from 2025-10-01 00:00 UTC, still held at the "
            "evidence cut-off; held no github reviewers in the period (rule deploy-and-review).",
        ),
        # A finding of a rule the policy no longer has: listed, never dropped.
        (
            "legacy-rule",
            "S5",
            "Walt Only",
            "github",
            "walt",
            "GW",
            None,
            *none3,
            None,
            None,
            None,
            None,
            "exception",
            "Rule legacy-rule is not configured. Monitoring raised sod/toxic_combination "
            "f-legacy on 2026-03-01 (status open).",
        ),
        # Both at once, across apps: the exception, with the overlap.
        (
            "release-and-approve",
            "S1",
            "Sara Overlap",
            "github",
            "sara",
            "GS",
            "Release-Managers",
            "netsuite",
            "sara@example.com",
            "ap approver ",
            first,
            None,
            ts("2026-02-01T00:00:00Z"),
            ts("2026-03-01T00:00:00Z"),
            "exception",
            "Held github Release-Managers (account sara) from 2025-10-01 00:00 UTC, still held "
            "at the evidence cut-off, and netsuite ap approver  (account sara@example.com) at "
            "the same time from 2026-02-01 00:00 UTC to 2026-03-01 00:00 UTC, a combination "
            "forbidden by rule release-and-approve. Monitoring raised sod/toxic_combination "
            "f-sara on 2026-02-01 (status accepted, accepted risk SEC-3 owned by E1 until "
            "2026-12-31).",
        ),
        # One side handed over for the other, back to back: never both at once.
        (
            "release-and-approve",
            "S2",
            "Tom Apart",
            "github",
            "tom",
            "GT",
            "release-managers",
            *none3,
            first,
            ts("2026-02-01T00:00:00Z"),
            None,
            None,
            "ok",
            "Held github release-managers (account tom) from 2025-10-01 00:00 UTC to "
            "2026-02-01 00:00 UTC; held netsuite AP Approver (account tom@example.com) only "
            "from 2026-02-01 00:00 UTC, never at the same time in the period (rule "
            "release-and-approve).",
        ),
        # Terminated before the period: not a person of the period, but the open finding is.
        (
            "release-and-approve",
            "S4",
            "Vic Gone",
            "github",
            "vic",
            "GV",
            "release-managers",
            *none3,
            None,
            None,
            None,
            None,
            "exception",
            "The person was terminated 2025-12-15 23:59 UTC, before the period. Monitoring "
            "raised sod/toxic_combination f-vic on 2025-12-20 (status open).",
        ),
        (
            "release-and-approve",
            "S5",
            "Walt Only",
            "github",
            "walt",
            "GW",
            "release-managers",
            *none3,
            first,
            None,
            None,
            None,
            "ok",
            "Held github release-managers (account walt) from 2025-10-01 00:00 UTC, still held "
            "at the evidence cut-off; held no netsuite AP Approver in the period (rule "
            "release-and-approve).",
        ),
        (
            "release-and-approve",
            "S7",
            "Yan Brief",
            "github",
            "yan",
            "GY",
            "release-managers",
            "netsuite",
            "yan@example.com",
            "AP Approver",
            ts("2026-03-10T00:00:00Z"),
            ts("2026-03-11T00:00:00Z"),
            ts("2026-03-10T00:00:00Z"),
            ts("2026-03-11T00:00:00Z"),
            "exception",
            "Held github release-managers (account yan) from 2026-03-10 00:00 UTC to "
            "2026-03-11 00:00 UTC, and netsuite AP Approver (account yan@example.com) at the "
            "same time from 2026-03-10 00:00 UTC to 2026-03-11 00:00 UTC, a combination "
            "forbidden by rule release-and-approve.",
        ),
    ]


def test_segregation_of_duties_without_rules_is_empty(store: Any) -> None:
    con, s = store
    sod_tenant(s)
    con.execute("DELETE FROM findings")
    assert run(con, "segregation_of_duties.sql", Policy()) == []


# --------------------------------------------------------------------------- the library entries


@pytest.mark.parametrize(
    ("test_id", "build", "policy"),
    [
        ("role_changes", movers_tenant, MOVERS),
        ("privileged_access", privileged_tenant, PRIVILEGED),
        ("segregation_of_duties", sod_tenant, SOD),
    ],
)
def test_library_entry_describes_its_query(
    store: Any, test_id: str, build: Any, policy: Policy
) -> None:
    raw = yaml.safe_load((LIBRARY / f"{test_id}.yaml").read_text("utf-8"))
    query = load_query(raw["query"])
    assert raw["id"] == test_id and raw["kind"] == "population"
    assert set(raw["parameters"]) == set(query.parameters) <= set(PARAMETERS)
    assert raw["sampling"]["frequency"] and raw["empty"] and raw["procedure"]
    con, s = store
    build(s)
    table = run(con, raw["query"], policy)
    names = [c["name"] for c in raw["columns"]]
    assert names == list(table[0])
    assert {"app", "account", "account_id", "status", "reason"} <= set(names)
    assert set(raw["key"]) <= set(names)
    assert all(set(d["columns"]) <= set(names) for d in raw["distinct"])
    # The key identifies each row.
    keys = [tuple(r[k] for k in raw["key"]) for r in table]
    assert len(keys) == len(set(keys))
