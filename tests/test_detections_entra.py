"""Detections on an Entra-driven tenant built by hand, parsed by the real Entra reader: the
IdP-neutral lifecycle (accountEnabled, soft deletion, leave), inbound provisioning records that
are no app, failed and skipped removals that are none, and a rehired IdP user without an
employee id. Each case names the finding it must (or must not) give, and what the Okta-shaped
rules gave before.

HR terminations are at T; the SLA and the grace period are 24 h; one listing of the app at NOW.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from connectors.entra.directory import entra_snapshots
from connectors.entra.mapping import entra_events, entra_records
from evidence.config import Policy
from evidence.detections.runner import detect
from evidence.store.db import open_store
from evidence.store.load import commit_batch
from reports.catalog import load_query
from reports.population import run_query
from tests.builders import batch, snap, utc

T = utc(2026, 1, 10, 23, 59, 59)
H = utc(2020, 1, 1)
NOW = utc(2026, 2, 1)
LONG_AGO = "2025-01-01T00:00:00Z"
POLICY = Policy(grace_hours=24, deprovision_sla_hours=24)
TID = "72f988bf86f141af91ab2d7cd011db47"


def h(hours: float) -> str:
    return (T + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def person(pid, email, status="active", term=None, hire=H):
    return dict(
        person_id=pid,
        email=email,
        display_name=pid,
        department="Eng",
        title="Dev",
        status=status,
        termination_date=term,
        hire_date=hire,
    )


PEOPLE = [
    person("E1", "ann@x.com"),
    person("E2", "bob@x.com", "terminated", T),  # disabled in Entra, account off late
    person("E3", "cat@x.com", "leave"),  # on leave, disabled in Entra, account active
    person("E4", "dan@x.com", "leave"),  # on leave, disabled in Entra, account inactive
    person("E5", "eve@x.com"),  # HR active, Entra blocked her: account active
    person("E6", "fay@x.com"),  # soft-deleted in Entra, assignment still listed
    person("E7", "gus@x.com"),  # assigned, no account: missing
    person("E10", "hal@x.com", "terminated", utc(2024, 3, 1), utc(2021, 1, 1)),  # Hal, first
    person("E20", "hal@x.com", hire=utc(2025, 6, 1)),  # Hal rehired under a new id
    person("E9", "ivy@x.com", "terminated", T),  # failed disable, account still active
]


def user(uid, mail, enabled=True, employee=None, **extra):
    return {
        "id": uid,
        "userPrincipalName": f"{uid}@contoso.onmicrosoft.example",
        "mail": mail,
        "displayName": mail,
        "employeeId": employee,
        "accountEnabled": enabled,
        "createdDateTime": LONG_AGO,
        **extra,
    }


USERS = [
    user("u1", "ann@x.com", employee="E1"),
    user("u2", "bob@x.com", False, "E2"),
    user("u3", "cat@x.com", False, "E3"),
    user("u4", "dan@x.com", False, "E4"),
    user("u5", "eve@x.com", False, "E5"),
    user("u7", "gus@x.com", employee="E7"),
    user("u8", "hal@x.com"),  # no employeeId: matched by mail, to Hal's active record
    user("u9", "ivy@x.com", False, "E9"),
    user("u11", "kim@partner.example", False, employeeLeaveDateTime=h(-24 * 5)),  # idp_only
]
DELETED = [user("u6", "fay@x.com", employee="E6", deletedDateTime=h(-24))]
SP = {"id": "sp-gh", "displayName": "GitHub", "appId": "app-gh", "accountEnabled": True}
INBOUND_SP = {"id": "sp-hr", "displayName": "Acme HR Inbound", "appId": "app-hr"}


def assigned(uid, kind="User"):
    return {
        "id": f"ra-{uid}",
        "principalType": kind,
        "principalId": uid,
        "resourceId": "sp-gh",
        "resourceDisplayName": "GitHub",
        "createdDateTime": LONG_AGO,
    }


ASSIGNED = [assigned(u) for u in ("u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9")] + [
    assigned("g-eng", "Group")
]
GROUPS = [{"id": "g-eng", "displayName": "Engineering"}]
MEMBERS = {"g-eng": [{"@odata.type": "#microsoft.graph.user", "id": u} for u in ("u1", "u8")]}


def log(rid, action, at, uid, account, status="success", inbound=False, enabled=None):
    rec = {
        "id": rid,
        "activityDateTime": at,
        "provisioningAction": action,
        "jobId": f"API2AAD.{TID}.0f1e" if inbound else "githubOutDelta.9a3c",
        "provisioningStatusInfo": {"status": status},
        "sourceSystem": {"displayName": "Acme HR" if inbound else "Azure Active Directory"},
        "targetSystem": {"displayName": "Microsoft Entra ID" if inbound else "GitHub"},
        "sourceIdentity": {"id": "W-" + uid if inbound else uid, "identityType": "User"},
        "targetIdentity": {"id": uid if inbound else account, "identityType": "User"},
        "servicePrincipal": INBOUND_SP if inbound else SP,
        "initiatedBy": {"displayName": "Azure AD Provisioning Service"},
        "modifiedProperties": [],
    }
    if status == "failure":
        rec["provisioningStatusInfo"]["errorInformation"] = {
            "errorCode": "SystemForCrossDomainIdentityManagementServiceIncompatible"
        }
    if enabled is not None:
        rec["modifiedProperties"] = [
            {"displayName": "accountEnabled", "oldValue": "True", "newValue": str(enabled)}
        ]
    return rec


LOGS = [
    log("l01", "create", LONG_AGO, "u2", "a2"),
    log("l02", "disable", h(2), "u2", "a2", "failure"),  # failed: no removal
    log("l03", "disable", h(72), "u2", "a2"),  # the removal: late
    log("l04", "create", LONG_AGO, "u9", "a9"),
    log("l05", "disable", h(48), "u9", "a9", "failure"),  # failed; a9 still active: orphan only
    log("l06", "disable", h(3), "u9", "a9", "skipped"),
    log("l07", "stagedDelete", h(4), "u9", "a9", "skipped"),  # held for review: no removal
    # HR → Entra: the directory is the target. Before, these were an "app" named after the job.
    log("i01", "update", h(70), "u2", None, inbound=True, enabled=False),
    log("i02", "disable", h(70), "u9", None, inbound=True),
    log("i03", "create", LONG_AGO, "u1", None, inbound=True),
]


def acc(account_id, user_name, active=True, external_id=None):
    return dict(
        app="github",
        account_id=account_id,
        user_name=user_name,
        email=None,
        active=active,
        external_id=external_id,
    )


ACCOUNTS = [
    acc("a1", "ann-gh", external_id="u1"),
    acc("a2", "bob-gh", False, "u2"),  # deactivated (late): no drift/missing_account
    acc("a3", "cat-gh", True, "u3"),  # leave keeps access: nothing
    acc("a4", "dan-gh", False, "u4"),  # leave, inactive: nothing
    acc("a5", "eve-gh", True, "u5"),  # Entra disabled an active employee: unassigned
    acc("a8", "hal@x.com"),  # Hal's own account, no externalId, user name = his email
    acc("a9", "ivy-gh", True, "u9"),  # terminated, still active: orphan only
    acc("a11", "kim@partner.example"),  # idp_only, disabled 5 days before T: orphan
]
GRANTS = [
    dict(app="github", account_id=a, entitlement="Engineering", entitlement_type="group")
    for a in ("a1", "a8")
]


def entra_batch():
    snapshots = entra_snapshots(
        users=entra_records(USERS, "users.json"),
        deleted_users=entra_records(DELETED, "deletedUsers.json"),
        groups=entra_records(GROUPS, "groups.json"),
        members={g: entra_records(m, f"group_members/{g}.json") for g, m in MEMBERS.items()},
        service_principals=entra_records([SP, INBOUND_SP], "servicePrincipals.json"),
        assignments=entra_records(ASSIGNED, "appRoleAssignments.json"),
    )
    b = batch("entra", "entra", NOW, *snapshots, tenant=TID)
    b.events = entra_events(entra_records(LOGS, "provisioning.json"))
    return b


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    store = open_store(tmp_path_factory.mktemp("entra") / "e.duckdb")
    commit_batch(store, batch("hr", "hris", NOW, snap("people", PEOPLE)), Policy())
    commit_batch(store, entra_batch(), Policy())
    commit_batch(
        store,
        batch(
            "github",
            "scim",
            NOW,
            snap("accounts", ACCOUNTS, ("github",)),
            snap("grants", GRANTS, ("github",)),
        ),
        Policy(),
    )
    detect(store, POLICY)
    yield store
    store.close()


def findings(con):
    return con.execute(
        "SELECT kind, subkind, app, account, person_id, entitlement FROM findings "
        "ORDER BY kind, subkind, app, account"
    ).fetchall()


def test_every_finding_exactly(con) -> None:
    assert findings(con) == [
        ("drift", "missing_account", "github", "u7@contoso.onmicrosoft.example", "E7", None),
        ("drift", "unassigned_account", "github", "eve-gh", "E5", None),
        ("orphan", "terminated_active", "github", "ivy-gh", "E9", None),
        ("orphan", "terminated_active", "github", "kim@partner.example", "u11", None),
        ("sla", "deprovision_late", "github", "bob-gh", "E2", None),
    ]


def test_lifecycle_is_canonical(con) -> None:
    rows = con.execute(
        "SELECT user_id, status, lifecycle, status_changed_at FROM idp_users "
        "WHERE user_id IN ('u1', 'u2', 'u6', 'u11') ORDER BY user_id"
    ).fetchall()
    assert [r[:3] for r in rows] == [
        ("u1", "ACTIVE", "active"),
        ("u11", "DISABLED", "deprovisioned"),
        ("u2", "DISABLED", "deprovisioned"),
        ("u6", "DELETED", "deleted"),
    ]
    assert rows[1][3] == T - timedelta(days=5) and rows[3][3] == T - timedelta(days=1)
    owners = dict(
        con.execute(
            "SELECT account_id, person_status FROM account_owners WHERE account_id = 'a11'"
        ).fetchall()
    )
    assert owners == {"a11": "terminated"}


def test_deprovisioned_and_deleted_users_ask_for_no_access(con) -> None:
    # Before: u2's correctly deactivated account and u4 (on leave) were missing_account, and
    # u6 (soft-deleted, assignment still listed) was missing too.
    missing = [r[3] for r in findings(con) if r[1] == "missing_account"]
    assert missing == ["u7@contoso.onmicrosoft.example"]


def test_leave_keeps_access_even_when_the_idp_blocks_sign_in(con) -> None:
    # Cat is on leave: Entra disabled her, her account is still active. Dan's is off. Neither
    # is a finding; Eve (HR active, blocked in Entra) is unassigned.
    flagged = {r[3] for r in findings(con)}
    assert not flagged & {
        "cat-gh",
        "dan-gh",
        "dan@x.com",
        "u3@contoso.onmicrosoft.example",
        "u4@contoso.onmicrosoft.example",
    }
    ev = json.loads(
        con.execute(
            "SELECT evidence FROM findings WHERE subkind = 'unassigned_account'"
        ).fetchall()[0][0]
    )
    assert ev["person"] == {"person_id": "E5", "kind": "hr", "status": "active"}


def test_inbound_records_are_idp_events_not_apps(con) -> None:
    rows = con.execute(
        "SELECT native_type, action, outcome, app, account_id, person_id FROM events "
        "WHERE source = 'entra' AND details->>'jobId' LIKE 'API2AAD.%' ORDER BY native_type"
    ).fetchall()
    assert rows == [
        ("create", "user.create", "success", None, None, "u1"),
        ("disable", "user.deactivate", "success", None, None, "u9"),
        ("update", "user.deactivate", "success", None, None, "u2"),
    ]
    apps = con.execute("SELECT DISTINCT app FROM findings ORDER BY 1").fetchall()
    assert apps == [("github",)]  # nothing on "Acme HR Inbound"


def test_only_a_successful_removal_counts(con) -> None:
    row = con.execute(
        "SELECT explanation, evidence FROM findings WHERE subkind = 'deprovision_late'"
    ).fetchall()[0]
    # The failed disable at T+2h would have made it on time; the removal is the one at T+72h.
    assert row[0] == (
        "Account bob-gh in github was removed 72.0 h after its owner E2 was terminated on "
        "2026-01-10 (account.deactivate reported by entra), later than the 24 h SLA."
    )
    assert json.loads(row[1])["removal"]["measured_by"] == "reported"
    # Ivy's failed (T+48h), skipped and staged removals leave her account active: an orphan,
    # never also a late removal.
    events = con.execute(
        "SELECT native_type, action, outcome FROM events WHERE account_id = 'a9' "
        "AND source = 'entra' ORDER BY occurred_at"
    ).fetchall()
    assert events == [
        ("create", "account.create", "success"),
        ("disable", "account.deactivate", "unknown"),
        ("stagedDelete", "entra.stagedDelete", "unknown"),
        ("disable", "account.deactivate", "failure"),
    ]


def test_rehired_idp_user_matches_the_active_record(con) -> None:
    # u8 carries no employeeId; HR has Hal's old terminated record E10 and the active E20 with
    # the same email. Before, u8 went to E10 (the lower id): Hal's own account a8 showed as
    # unassigned and group-mismatched, and his assignment as missing.
    owner = con.execute("SELECT person_id, matched_by FROM idp_user_owners WHERE user_id = 'u8'")
    assert owner.fetchall() == [("E20", "email")]
    assert not [r for r in findings(con) if r[4] in ("E10", "E20")]


def test_report_population_judges_alike(con) -> None:
    values = {
        "period_start": utc(2026, 1, 1),
        "period_end": utc(2026, 2, 1),
        "as_of": NOW,
        "evidence_until": NOW,
        "grace_hours": 24.0,
        "deprovision_sla_hours": 24.0,
    }
    rows = run_query(con, load_query("deprovisioning.sql"), values).dicts()
    status = {(r["app"], r["account"]): r["status"] for r in rows if r["app"]}
    assert status == {
        ("github", "bob-gh"): "exception",  # removed at T+72h: the failed attempt is none
        ("github", "ivy-gh"): "exception",  # still active
        ("github", "kim@partner.example"): "exception",  # idp_only, ended 5 days before T
    }


def test_idp_only_end_dated_by_the_first_listing_that_showed_it(store) -> None:
    # Entra records no instant of a disable: an IdP-only user listed disabled ten days ago is
    # terminated since then (an orphan now), not since an unknown instant (never an orphan).
    first = utc(2026, 1, 20)
    for at, enabled in ((utc(2026, 1, 1), True), (first, False), (NOW, False)):
        users = entra_records([user("u12", "lee@partner.example", enabled)], "users.json")
        snaps = entra_snapshots(
            users=users, groups=None, members={}, service_principals=None, assignments=None
        )
        commit_batch(store, batch("entra", "entra", at, *snaps, tenant=TID), Policy())
    commit_batch(
        store,
        batch(
            "crm",
            "app_export",
            NOW,
            snap(
                "accounts",
                [dict(app="crm", account_id="c1", user_name="lee@partner.example", active=True)],
                ("crm",),
            ),
        ),
        Policy(),
    )
    detect(store, POLICY)
    rows = store.execute(
        "SELECT subkind, account, person_id, evidence->>'$.person.termination_at' FROM findings"
    ).fetchall()
    assert [r[:3] for r in rows] == [("terminated_active", "lee@partner.example", "u12")]
    assert rows[0][3].startswith("2026-01-20 00:00:00")


# Fix 4: an inferred unassignment only bounds a removal from above. The IdP stops assigning
# the app at T+12h (inferred app.unassign), but the app's own full listings still show the
# account active at T+12h and T+96h; it is listed inactive at T+120h.
def test_inferred_unassignment_the_app_contradicts_is_no_removal(store) -> None:
    people = [
        person("E2", "bob@x.com", "terminated", T),
        person("E9", "ivy@x.com", "terminated", T),
    ]
    okta_users = [
        dict(user_id=u, login=m, email=m, status="ACTIVE", employee_number=e)
        for u, m, e in (("u2", "bob@x.com", "E2"), ("u9", "ivy@x.com", "E9"))
    ]

    def okta(at, uids):
        rows = [
            dict(
                app="GitHub",
                idp_user_id=u,
                user_name=u,
                status="PROVISIONED",
                scope="USER",
                assigned_at=utc(2025, 1, 1),
            )
            for u in uids
        ]
        return batch(
            "okta",
            "okta",
            at,
            snap("idp_users", okta_users),
            snap("assignments", rows, ("GitHub",)),
        )

    def app(at, bob_active):
        rows = [acc("a2", "bob-gh", bob_active, "u2"), acc("a9", "ivy-gh", True, "u9")]
        return batch("github", "scim", at, snap("accounts", rows, ("github",)))

    at = lambda hours: T + timedelta(hours=hours)  # noqa: E731
    commit_batch(store, batch("hr", "hris", at(-48), snap("people", people)), Policy())
    commit_batch(store, okta(at(-48), ["u2", "u9"]), Policy())
    commit_batch(store, app(at(-48), True), Policy())
    commit_batch(store, okta(at(12), []), Policy())  # both unassigned: inferred at T+12h
    commit_batch(store, app(at(12), True), Policy())
    commit_batch(store, app(at(96), True), Policy())
    commit_batch(store, app(at(120), False), Policy())
    detect(store, Policy(grace_hours=24, deprovision_sla_hours=24))
    rows = store.execute(
        "SELECT kind, subkind, account, evidence FROM findings ORDER BY kind, account"
    ).fetchall()
    # Before: bob-gh was judged removed at T+12h (on time), and ivy-gh, still active, had a
    # removal at T+12h too. Now bob-gh's earliest removal is after the T+96h listing: late;
    # ivy-gh is an orphan only.
    assert [r[:3] for r in rows] == [
        ("orphan", "terminated_active", "ivy-gh"),
        ("sla", "deprovision_late", "bob-gh"),
    ]
    removal = json.loads(rows[1][3])["removal"]
    assert removal["measured_by"] == "listing"
    assert removal["last_listed_active"].startswith("2026-01-14 23:59:59")
