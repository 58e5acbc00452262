"""The four drift detections on hand-made rows: the IdP's desired state (assignments, pushed
groups) against the apps' listings, with the negative cases and precedence rules."""

from __future__ import annotations

import json

import pytest

from evidence.config import Policy, ServiceAccount
from evidence.detections.runner import detect
from evidence.store.load import commit_batch
from tests.builders import batch, snap, utc

NOW = utc(2026, 3, 1)
H = utc(2020, 1, 1)
LONG_AGO = utc(2025, 1, 1)
POLICY = Policy(
    grace_hours=24,
    service_accounts=[ServiceAccount(app="github", account="svc-*", owner="E1")],
)


def person(pid, email, name, dept="Eng", status="active", term=None):
    return dict(
        person_id=pid,
        email=email,
        display_name=name,
        department=dept,
        title="Dev",
        status=status,
        termination_date=term,
        hire_date=H,
    )


PEOPLE = [
    person("E1", "ann@x.com", "Ann Lee"),
    person("E2", "bob@x.com", "Bob Roy"),
    person("E3", "cat@x.com", "Cat Poe"),
    person("E4", "dan@x.com", "Dan Fry"),
    person("E5", "eve@x.com", "Eve Ng", status="terminated", term=utc(2025, 6, 1)),
    person("E6", "fay@x.com", "Fay Orr"),
    person("E7", "gus@x.com", "Gus Hale"),
]


def idp_user(uid, login, status="ACTIVE", employee=None):
    return dict(user_id=uid, login=login, email=login, status=status, employee_number=employee)


IDP_USERS = [
    idp_user("u1", "ann@x.com", employee="E1"),
    idp_user("u2", "bob@x.com", employee="E2"),
    idp_user("u3", "cat@x.com", employee="E3"),
    idp_user("u4", "dan@x.com", employee="E4"),
    idp_user("u5", "eve@x.com", "DEPROVISIONED", employee="E5"),
    idp_user("u6", "fay@x.com", employee="E6"),
    idp_user("u7", "gus@x.com", employee="E7"),
    idp_user("u9", "ivy@x.com"),  # idp_only person
]


def assign(app, uid, user_name, at=LONG_AGO, status="PROVISIONED"):
    return dict(
        app=app, idp_user_id=uid, user_name=user_name, status=status, scope="USER", assigned_at=at
    )


ASSIGNMENTS = [
    assign("GitHub", "u1", "ann@x.com"),  # fulfilled by externalId
    assign("GitHub", "u2", "bob@x.com"),  # fulfilled by the matcher's person (email)
    assign("GitHub", "u3", "cat-gh"),  # fulfilled by the assigned user name alone
    assign("GitHub", "u4", "dan@x.com"),  # its account is inactive: missing
    assign("GitHub", "u6", "fay@x.com", at=NOW),  # no account yet, inside the grace period
    assign("GitHub", "u7", "gus@x.com"),  # no account at all: missing
    assign("GitHub", "u5", "eve@x.com"),  # deprovisioned IdP user: wants no access
    assign("GitHub", "u9", "ivy@x.com", status="INACTIVE"),  # the IdP marks it inactive
]


def acc(account_id, user_name, email=None, active=True, external_id=None, **attrs):
    return dict(
        app="github",
        account_id=account_id,
        user_name=user_name,
        email=email,
        active=active,
        external_id=external_id,
        attributes=json.dumps(attrs) if attrs else None,
    )


ACCOUNTS = [
    acc("a1", "ann-gh", external_id="u1", display_name="Ann  lee"),  # formatting only
    acc("a2", "bob@x.com", email="BOB@x.com ", display_name="Bobby Roy", department="Eng"),
    acc("a3", "cat-gh", department="Sales"),  # department differs from HR
    acc("a4", "dan@x.com", active=False),
    acc("a5", "eve@x.com"),  # terminated owner: orphan, not drift
    acc("a6", "ghost"),  # unmatched: orphan, not drift
    acc("a7", "svc-ci"),  # owned service account
    acc("a8", "ivy@x.com", display_name="Ivy Wu"),  # idp_only, assignment INACTIVE: unassigned
    acc("a9", "hal@x.com"),  # HR person E8 with no IdP user: unassigned
]
PUSH = [dict(app="GitHub", group_id="g-eng", target_group_name="Engineering")]
MEMBERS = [dict(group_id="g-eng", user_id=u) for u in ("u1", "u2", "u9")]
GRANTS = [
    dict(app="github", account_id="a1", entitlement="engineering", entitlement_type="group"),
    dict(app="github", account_id="a3", entitlement="Engineering", entitlement_type="group"),
    dict(app="github", account_id="a5", entitlement="Engineering", entitlement_type="group"),
    dict(app="github", account_id="a7", entitlement="Engineering", entitlement_type="group"),
    dict(app="github", account_id="a8", entitlement="Engineering", entitlement_type="group"),
    dict(app="github", account_id="a9", entitlement="Other", entitlement_type="group"),
]


@pytest.fixture
def con(store):
    people = PEOPLE + [person("E8", "hal@x.com", "Hal Moe")]
    commit_batch(store, batch("hr", "hris", NOW, snap("people", people)), Policy())
    commit_batch(
        store,
        batch(
            "okta",
            "okta",
            NOW,
            snap("idp_users", IDP_USERS),
            snap("idp_group_members", MEMBERS),
            snap("group_push", PUSH, ("GitHub",)),
            snap("assignments", ASSIGNMENTS, ("GitHub",)),
        ),
        Policy(),
    )
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
    # An app only its own export knows: no desired state, so no drift at all.
    commit_batch(
        store,
        batch(
            "zm",
            "app_export",
            NOW,
            snap(
                "accounts",
                [dict(app="zm", account_id="z1", user_name="nobody@x.com", active=True)],
                ("zm",),
            ),
        ),
        Policy(),
    )
    detect(store, POLICY)
    return store


def found(con, subkind):
    return con.execute(
        "SELECT app, account, person_id, entitlement, explanation, evidence FROM findings "
        "WHERE kind = 'drift' AND subkind = $s ORDER BY app, account, entitlement",
        {"s": subkind},
    ).fetchall()


def test_missing_accounts_exactly(con) -> None:
    rows = found(con, "missing_account")
    assert [r[:3] for r in rows] == [("github", "dan@x.com", "E4"), ("github", "gus@x.com", "E7")]
    assert rows[0][4] == (
        "dan@x.com is assigned to github in the IdP since 2025-01-01 (grace 24.0 h), "
        "but their account in the app is not active."
    )
    assert rows[1][4].endswith("but the app lists no account for them.")
    ev = json.loads(rows[0][5])
    assert ev["assignment"]["app"] == "GitHub" and ev["assignment"]["idp_user_id"] == "u4"
    assert ev["app_accounts"] == [
        {"account_id": "a4", "user_name": "dan@x.com", "active": False, "linked_by": "person"}
    ]


def test_unassigned_accounts_exactly(con) -> None:
    rows = found(con, "unassigned_account")
    # Not: orphans (a5 terminated, a6 unmatched), the service account, fulfilled assignments,
    # and zm, which the IdP does not manage.
    assert [r[:3] for r in rows] == [("github", "hal@x.com", "E8"), ("github", "ivy@x.com", "u9")]
    assert rows[0][4] == (
        "Account hal@x.com in github is active, but okta has no current assignment of GitHub "
        "for its owner E8."
    )


def test_attribute_mismatch_exactly(con) -> None:
    rows = found(con, "attribute_mismatch")
    # a1 differs in formatting only; a8 is unassigned (reported as such, not compared).
    assert [r[:3] for r in rows] == [("github", "bob@x.com", "E2"), ("github", "cat-gh", "E3")]
    assert rows[0][4] == (
        "Account bob@x.com in github reports display name Bobby Roy (record: Bob Roy), which "
        "differs from the HR record for person E2."
    )
    assert rows[1][4] == (
        "Account cat-gh in github reports department Sales (record: Eng), which differs from the "
        "HR record for person E3."
    )
    assert json.loads(rows[0][5])["differs"] == {
        "email": False,
        "display_name": True,
        "department": False,
    }


def test_group_mismatch_exactly(con) -> None:
    rows = found(con, "group_mismatch")
    # u1 (a1) matches case-blind; u2's account a2 lacks the group; a3 holds it without the
    # IdP group; a8 (u9) is a member both sides. Orphans and service accounts are not judged.
    assert [r[:4] for r in rows] == [
        ("github", "bob@x.com", "E2", "Engineering"),
        ("github", "cat-gh", "E3", "Engineering"),
    ]
    assert "is not a member of github group Engineering" in rows[0][4]
    assert "but the IdP group has no member it stands for" in rows[1][4]
    ev = json.loads(rows[0][5])
    assert ev["app_member"] is False
    assert [m["user_id"] for m in ev["idp_members"]] == ["u2"]


def test_counts_per_subkind(con) -> None:
    counts = dict(
        con.execute(
            "SELECT subkind, count(*) FROM findings WHERE kind = 'drift' GROUP BY 1"
        ).fetchall()
    )
    assert counts == {
        "missing_account": 2,
        "unassigned_account": 2,
        "attribute_mismatch": 2,
        "group_mismatch": 2,
    }
