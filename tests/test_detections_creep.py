"""The four creep detections on hand-made rows, with their negative cases and precedence."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from evidence.config import Policy, ServiceAccount, TimeBound
from evidence.detections.loader import load_detections
from evidence.detections.runner import detect
from evidence.store.load import commit_batch
from tests.builders import batch, events, snap, utc

NOW = utc(2026, 1, 10)
T0 = utc(2025, 6, 1)  # the first listing of HR and of aws
H = utc(2020, 1, 1)


def days(n: int):
    return NOW - timedelta(days=n)


def person(pid, dept, title, status="active", effective=None):
    return dict(
        person_id=pid,
        email=f"{pid.lower()}@x.com",
        department=dept,
        title=title,
        status=status,
        hire_date=H,
        effective_at=effective,
    )


ENG, SALES, OPS = ("Eng", "Dev"), ("Sales", "Rep"), ("Ops", "SRE")
STAYERS = [
    *(person(f"D{i}", *ENG) for i in range(1, 6)),  # 5 + M1 = 6 active Eng/Dev peers
    person("L1", *ENG, status="leave"),  # on leave: neither judged nor a peer
    *(person(f"S{i}", *SALES) for i in range(1, 5)),  # 4 Sales/Rep peers
    person("O1", *OPS),
    person("O2", *OPS),  # O1, O2 + M2 = 3 Ops/SRE peers: below peer_min_group
    person("P1", "Ops", "Lead"),
]
PEOPLE_T0 = [*STAYERS, person("M1", *SALES), person("M2", *SALES)]
PEOPLE_NOW = [
    *STAYERS,
    person("M1", *ENG, effective=days(60)),  # moved 60 days ago
    person("M2", *OPS, effective=days(10)),  # moved 10 days ago: within mover_days
]


def acc(app, account_id, user_name):
    email = user_name if "@" in user_name else None
    return dict(app=app, account_id=account_id, user_name=user_name, email=email, active=True)


def g(app, account_id, entitlement, expires=None, kind="group"):
    return dict(
        app=app,
        account_id=account_id,
        entitlement=entitlement,
        entitlement_type=kind,
        expires_at=expires,
    )


GH_PEOPLE = ["D1", "D2", "D3", "D4", "D5", "L1", "S1", "S2", "S3", "S4", "M1", "M2", "O1"]
GH_ACCOUNTS = [acc("gh", f"g-{p}", f"{p.lower()}@x.com") for p in GH_PEOPLE] + [
    acc("gh", "g-svc", "svc-ci"),  # D1's service account
]
PAST = days(10)
GH_GRANTS = [
    *(g("gh", f"g-{p}", "dev") for p in ("D1", "D2", "D3", "D4", "D5", "M1", "L1")),
    g("gh", "g-D1", "rare"),  # 1 of 6 Eng/Dev peers: peer_outlier
    g("gh", "g-D5", "contractor", expires=PAST),  # source expiry passed (and 1 of 6)
    g("gh", "g-L1", "rare2"),  # on leave: not judged
    *(g("gh", f"g-S{i}", "sales-core") for i in range(1, 5)),
    g("gh", "g-S1", "sales-x"),  # 1 of 4 = exactly 25%: not under the limit
    g("gh", "g-M1", "sales-core", expires=PAST),  # mover residue, also expired and rare
    g("gh", "g-M2", "sales-core"),  # moved 10 days ago
    g("gh", "g-O1", "ops-rare"),  # peer group of 3: not judged
    g("gh", "g-svc", "deploy-key"),  # a service account is not its owner's access
]

AWS_ACCOUNTS_T0 = [acc("aws", "a-O2", "o2@x.com"), acc("aws", "a-P1", "p1@x.com")]
AWS_ACCOUNTS = [*AWS_ACCOUNTS_T0, acc("aws", "a-O1", "o1@x.com"), acc("aws", "a-x", "ghost")]
AWS_T0 = [
    # Already there at the first listing: held since T0 at least, gained at an unknown time.
    g("aws", "a-O2", "iam-admin"),
    g("aws", "a-O2", "org-admin"),
    g("aws", "a-O2", "net-admin"),
    g("aws", "a-P1", "prod-admin"),  # held since T0 at least: past 7 days
]
AWS_NOW = [
    *AWS_T0,
    g("aws", "a-O2", "prod-admin"),  # re-granted 3 days ago: within max_days
    g("aws", "a-O1", "prod-admin"),  # granted 20 days ago (Okta push): expired
    g("aws", "a-O1", "iam-admin"),  # 30 days ago
    g("aws", "a-O1", "org-admin"),  # 60 days ago
    g("aws", "a-O1", "net-admin"),  # 120 days ago: outside the window
    g("aws", "a-P1", "a-admin"),  # new since the T0 listing, no event: gained by now
    g("aws", "a-P1", "b-admin"),
    g("aws", "a-P1", "c-admin"),
    g("aws", "a-x", "prod-admin", expires=PAST),  # unmatched account, source expiry passed
]

IDP_USERS = [
    dict(
        user_id=f"u-{p}",
        login=f"{p.lower()}@x.com",
        email=f"{p.lower()}@x.com",
        employee_number=p,
        status="ACTIVE",
    )
    for p in ("O1", "O2")
]


def push(n, user, entitlement, at, action="group.member.add"):
    kind = "add" if action.endswith("add") else "remove"
    return dict(
        native_id=f"ev{n}",
        native_type=f"application.provision.group_membership.{kind}",
        occurred_at=at,
        action=action,
        outcome="success",
        person_id=user,
        app="AWS",  # the Okta app label
        entitlement=entitlement,
    )


OKTA_EVENTS = [
    push(1, "u-O1", "prod-admin", days(20)),
    push(2, "u-O1", "iam-admin", days(30)),
    push(3, "u-O1", "org-admin", days(60)),
    push(4, "u-O1", "net-admin", days(120)),
    push(5, "u-O2", "prod-admin", days(40)),
    push(6, "u-O2", "prod-admin", days(30), action="group.member.remove"),
    push(7, "u-O2", "prod-admin", days(3)),  # the latest grant, no removal after it
]

POLICY = Policy(
    mover_days=30,
    peer_outlier_pct=25,
    peer_min_group=4,
    privilege_window_days=90,
    privilege_growth_max=2,
    privileged=["*admin*", "owner"],
    time_bound=[TimeBound(app="AWS", entitlement="Prod-Admin", max_days=7)],
    service_accounts=[ServiceAccount(app="gh", account="svc-*", owner="D1")],
)
CREEP = [d for d in load_detections() if d.kind == "creep"]


def build(con, policy: Policy = POLICY):
    commit_batch(con, batch("hr", "hris", T0, snap("people", PEOPLE_T0)), Policy())
    commit_batch(con, batch("hr", "hris", NOW, snap("people", PEOPLE_NOW)), Policy())
    for at, accounts, grants in ((T0, AWS_ACCOUNTS_T0, AWS_T0), (NOW, AWS_ACCOUNTS, AWS_NOW)):
        commit_batch(
            con,
            batch(
                "aws",
                "scim",
                at,
                snap("accounts", accounts, ("aws",)),
                snap("grants", grants, ("aws",)),
            ),
            Policy(),
        )
    commit_batch(
        con,
        batch(
            "gh",
            "scim",
            NOW,
            snap("accounts", GH_ACCOUNTS, ("gh",)),
            snap("grants", GH_GRANTS, ("gh",)),
        ),
        Policy(),
    )
    commit_batch(
        con,
        batch("okta", "okta", NOW, snap("idp_users", IDP_USERS), ev=events(OKTA_EVENTS)),
        Policy(),
    )
    return detect(con, policy, detections=CREEP)


@pytest.fixture
def found(store):
    result = build(store)
    return store, result


def rows(con, subkind):
    return con.execute(
        "SELECT app, account, person_id, entitlement, explanation, evidence FROM findings "
        "WHERE kind = 'creep' AND subkind = $s ORDER BY app, account, entitlement",
        {"s": subkind},
    ).fetchall()


def test_mover_residual(found) -> None:
    con, result = found
    got = rows(con, "mover_residual")
    # M1 keeps sales-core (4 of 4 Sales/Rep peers, 1 of 6 Eng/Dev peers) 60 days after the
    # move; M2 moved only 10 days ago. The same grant is expired and rare: mover wins.
    assert [r[:4] for r in got] == [("gh", "m1@x.com", "M1", "sales-core")]
    assert result.counts["creep/mover_residual"] == 1
    explanation, evidence = got[0][4], json.loads(got[0][5])
    assert explanation == (
        "Account m1@x.com in gh still holds sales-core from the role Sales / Rep that its "
        "owner left 60 days ago (held there by 4 of 4 active peers), while 1 of the 6 peers "
        "of the new role Eng / Dev hold it (limits: 30 days after a move, under 25% of peers)."
    )
    assert evidence["person_versions"]["old"]["department"] == "Sales"
    assert evidence["person_versions"]["new"]["title"] == "Dev"
    assert evidence["peers"] == {
        "old_role": {"peers": 4, "holders": 4},
        "new_role": {"peers": 6, "holders": 1},
    }


def test_recent_mover_after_mover_days(store) -> None:
    # M2 holds sales-core alone among 3 Ops/SRE peers (33%): under 40%, it is residue too.
    build(store, POLICY.model_copy(update={"mover_days": 5, "peer_outlier_pct": 40}))
    got = [r[:4] for r in rows(store, "mover_residual")]
    assert got == [
        ("gh", "m1@x.com", "M1", "sales-core"),
        ("gh", "m2@x.com", "M2", "sales-core"),
    ]


def test_expired_grant(found) -> None:
    con, result = found
    got = rows(con, "expired_grant")
    assert [r[:4] for r in got] == [
        ("aws", "ghost", None, "prod-admin"),  # unmatched: an expired grant all the same
        ("aws", "o1@x.com", "O1", "prod-admin"),  # Okta push 20 days ago
        ("aws", "p1@x.com", "P1", "prod-admin"),  # held since the first listing, at least
        ("gh", "d5@x.com", "D5", "contractor"),  # the source's expiry (also rare: expired wins)
    ]  # not O2's prod-admin (re-granted 3 days ago), not M1's sales-core (mover)
    assert result.counts["creep/expired_grant"] == 4
    by_account = {r[1]: (r[4], json.loads(r[5])) for r in got}
    text, ev = by_account["o1@x.com"]
    assert text == (
        "Account o1@x.com in aws has held the time-bound prod-admin for 20 days "
        "(since 2025-12-21, by grant event), longer than the 7 days policy.time_bound allows."
    )
    assert ev["grant"]["held_since_basis"] == "grant event"
    assert [e["native_type"] for e in ev["events"]] == [
        "application.provision.group_membership.add"
    ]
    assert by_account["p1@x.com"][1]["grant"]["held_since_basis"] == "first listing of the source"
    assert by_account["d5@x.com"][0] == (
        "Account d5@x.com in gh still holds contractor, which the source reports expired "
        "on 2025-12-31."
    )


def test_peer_outlier(found) -> None:
    con, result = found
    got = rows(con, "peer_outlier")
    # Not: S1's sales-x (exactly 25%), O1's ops-rare (peer group of 3), L1's rare2 (on
    # leave), D1's deploy-key (service account), D5's contractor (expired), M1 (mover).
    assert [r[:4] for r in got] == [("gh", "d1@x.com", "D1", "rare")]
    assert result.counts["creep/peer_outlier"] == 1
    assert got[0][4] == (
        "Account d1@x.com in gh holds rare, which only 1 of the 6 active peers of person D1 "
        "(Eng / Dev) hold, under the 25% limit."
    )
    ev = json.loads(got[0][5])
    assert (ev["peers"], ev["holders"], ev["share_pct"]) == (6, 1, 16.67)


def test_privilege_accumulation(found) -> None:
    con, result = found
    got = rows(con, "privilege_accumulation")
    # O1: prod-, iam-, org-admin pushed within 90 days (net-admin 120 days ago is not).
    # P1: three admin groups new since the previous listing (prod-admin was in the first).
    # O2: only prod-admin is known to be recent; the first listing's three do not count.
    assert [r[:4] for r in got] == [
        ("aws", "o1@x.com", "O1", None),
        ("aws", "p1@x.com", "P1", None),
    ]
    assert result.counts["creep/privilege_accumulation"] == 2
    assert got[0][4] == (
        "Account o1@x.com in aws gained 3 privileged entitlements in the last 90 days "
        "(org-admin, iam-admin, prod-admin), more than the 2 allowed."
    )
    ev = json.loads(got[1][5])
    assert (ev["gained"], ev["privileged_held"]) == (3, 4)
    basis = {x["entitlement"]: x["held_since_basis"] for x in ev["grants"]}
    assert basis == {
        "a-admin": "first snapshot",
        "b-admin": "first snapshot",
        "c-admin": "first snapshot",
        "prod-admin": "first listing of the source",
    }


def test_first_listing_is_not_gained(store) -> None:
    """A first-ever sync sees everything "now": nothing of it counts as gained."""
    aws = [x for x in AWS_NOW if x["account_id"] != "a-O1"]
    commit_batch(store, batch("hr", "hris", NOW, snap("people", PEOPLE_NOW)), Policy())
    commit_batch(
        store,
        batch(
            "aws",
            "scim",
            NOW,
            snap("accounts", AWS_ACCOUNTS, ("aws",)),
            snap("grants", aws, ("aws",)),
        ),
        Policy(),
    )
    detect(store, POLICY, detections=CREEP)
    assert rows(store, "privilege_accumulation") == []
    # Held since now at least: only the source's own expiry is known to have passed.
    assert [r[:4] for r in rows(store, "expired_grant")] == [("aws", "ghost", None, "prod-admin")]
