"""The duplicate, dormant and SoD detections on hand-made rows, with their negative cases."""

from __future__ import annotations

import json

import pytest

from evidence.config import Policy, ServiceAccount, SodRule
from evidence.detections.runner import detect
from evidence.store.load import commit_batch
from tests.builders import batch, events, snap, utc

NOW = utc(2026, 1, 10)
OLD = utc(2025, 6, 1)  # more than 90 days before NOW
H = utc(2020, 1, 1)


def person(pid, email, status="active", term=None):
    return dict(person_id=pid, email=email, status=status, termination_date=term, hire_date=H)


PEOPLE = [
    person("E1", "ann@x.com"),
    person("E2", "bob@x.com", "terminated", utc(2025, 1, 1)),
    person("E3", "cat@x.com"),
    person("E4", "dan@x.com"),
    person("E5", "eve@x.com"),
    person("E6", "gus@x.com"),
    person("E7", "fay@x.com", "leave"),
]


def acc(app, account_id, user_name, email=None, active=True, last_login=None):
    return dict(
        app=app,
        account_id=account_id,
        user_name=user_name,
        email=email,
        active=active,
        last_login_at=last_login,
    )


GH = [
    acc("gh", "g1", "ann", "ann@x.com"),
    acc("gh", "g2", "ann.alt", " ANN@x.com"),  # E1's second account
    acc("gh", "g3", "ann-old", "ann@x.com", active=False),  # inactive: not counted
    acc("gh", "g4", "svc-ci"),  # owned by E1: a service account, not E1's own
    acc("gh", "g5", "bob@x.com"),  # terminated owner: orphans, not duplicates
    acc("gh", "g6", "bob2", "bob@x.com"),
    acc("gh", "g7", "cat@x.com"),
    acc("gh", "g8", "ghost1"),  # unmatched: orphans, not duplicates
    acc("gh", "g9", "ghost2"),
    acc("gh", "g10", "fay@x.com"),  # on leave: still a person with two accounts
    acc("gh", "g11", "fay2", "fay@x.com"),
    acc("gh", "g12", "eve@x.com"),
]
NS = [
    acc("ns", "n1", "ann@x.com"),
    acc("ns", "n2", "cat@x.com"),
    acc("ns", "n3", "svc-ns"),
    acc("ns", "n4", "eve@x.com", active=False),
]
ZM = [
    acc("zm", "z1", "ann@x.com", last_login=OLD),  # dormant
    acc("zm", "z2", "cat@x.com"),  # no reported login: unknown
    acc("zm", "z3", "dan@x.com", last_login=OLD),  # a newer login event
    acc("zm", "z4", "eve@x.com"),  # dormant from its login event alone
    acc("zm", "z5", "fay@x.com", last_login=OLD),  # on leave
    acc("zm", "z6", "bob@x.com", last_login=OLD),  # orphan, not also dormant
    acc("zm", "z7", "svc-bot", last_login=OLD),  # service account: dormant all the same
    acc("zm", "z8", "ghost3", last_login=OLD),  # orphan
    acc("zm", "z9", "gus@x.com", active=False, last_login=OLD),  # inactive
    acc("zm", "z10", "gus2", "gus@x.com", last_login=utc(2025, 10, 20)),  # within 90 days
]
GRANTS_GH = [
    ("g1", "release-managers"),
    ("g7", "release-managers"),
    ("g12", "release-managers"),
]
GRANTS_NS_BEFORE = [("n2", "AP Approver")]  # removed in the current snapshot
GRANTS_NS = [
    ("n1", "ap approver"),  # case-blind match
    ("n3", "vendor-admin"),  # on E1's service account
    ("n4", "AP Approver"),  # on an inactive account
]


def login(native_id, account_id, at, outcome="success"):
    return dict(
        native_id=native_id,
        occurred_at=at,
        action="account.login",
        outcome=outcome,
        app="zm",
        account_id=account_id,
    )


EVENTS = [
    login("e1", "z3", utc(2025, 12, 20)),
    login("e2", "z4", utc(2025, 8, 1)),
    login("e3", "z4", utc(2025, 12, 1), outcome="failure"),  # a failed login is no login
]

POLICY = Policy(
    dormant_days=90,
    license_cost={"ZM": 13.33},
    service_accounts=[
        ServiceAccount(app=app, account="svc-*", owner="E1") for app in ("gh", "ns", "zm")
    ],
    sod=[
        SodRule.model_validate(
            {
                "name": "release-and-pay",
                "a": {"app": "gh", "entitlement": "release-managers"},
                "b": {"app": "ns", "entitlement": "AP Approver"},
            }
        ),
        SodRule.model_validate(
            {
                "name": "approve-and-admin",
                "a": {"app": "ns", "entitlement": "AP Approver"},
                "b": {"app": "ns", "entitlement": "vendor-admin"},
            }
        ),
    ],
)


def grants(app, rows):
    return [dict(app=app, account_id=a, entitlement=e) for a, e in rows]


@pytest.fixture
def found(store):
    commit_batch(store, batch("hr", "hris", NOW, snap("people", PEOPLE)), Policy())
    commit_batch(
        store,
        batch(
            "gh",
            "scim",
            NOW,
            snap("accounts", GH, ("gh",)),
            snap("grants", grants("gh", GRANTS_GH), ("gh",)),
        ),
        Policy(),
    )
    for at, rows in ((utc(2026, 1, 9), GRANTS_NS_BEFORE + GRANTS_NS), (NOW, GRANTS_NS)):
        commit_batch(
            store,
            batch(
                "ns",
                "scim",
                at,
                snap("accounts", NS, ("ns",)),
                snap("grants", grants("ns", rows), ("ns",)),
            ),
            Policy(),
        )
    commit_batch(
        store,
        batch("zm", "scim", NOW, snap("accounts", ZM, ("zm",)), ev=events(EVENTS)),
        Policy(),
    )
    result = detect(store, POLICY)
    return store, result


def rows(con, kind):
    return con.execute(
        "SELECT app, account, person_id, entitlement, rule, explanation, evidence "
        "FROM findings WHERE kind = $k ORDER BY app, account",
        {"k": kind},
    ).fetchall()


def test_duplicates_exactly(found) -> None:
    con, result = found
    got = [r[:5] for r in rows(con, "duplicate")]
    assert got == [
        ("gh", "ann", "E1", None, None),
        ("gh", "ann.alt", "E1", None, None),
        ("gh", "fay2", "E7", None, None),
        ("gh", "fay@x.com", "E7", None, None),
    ]
    assert result.counts["duplicate/multiple_accounts"] == 4
    explanation, evidence = rows(con, "duplicate")[0][5:]
    assert explanation == (
        "Account ann in gh is one of 2 active accounts held by person E1 in that app "
        "(ann, ann.alt)."
    )
    assert [a["user_name"] for a in json.loads(evidence)["accounts"]] == ["ann", "ann.alt"]


def test_orphans_are_not_duplicates_or_dormant(found) -> None:
    con, _ = found
    orphans = con.execute(
        "SELECT app, account FROM findings WHERE kind = 'orphan' ORDER BY 1, 2"
    ).fetchall()
    assert orphans == [
        ("gh", "bob2"),
        ("gh", "bob@x.com"),
        ("gh", "ghost1"),
        ("gh", "ghost2"),
        ("zm", "bob@x.com"),
        ("zm", "ghost3"),
    ]


def test_dormant_exactly(found) -> None:
    con, result = found
    got = rows(con, "dormant")
    assert [r[:5] for r in got] == [
        ("zm", "ann@x.com", "E1", None, None),
        ("zm", "eve@x.com", "E5", None, None),
        # An owned service account gets no orphan, drift or duplicate finding, but an idle one
        # is still a paid seat and a standing credential.
        ("zm", "svc-bot", "E1", None, None),
    ]
    assert result.counts["dormant/no_login"] == 3
    ann, eve, _ = got
    assert ann[5] == (
        "Account ann@x.com in zm has not logged in for 223 days (last login 2025-06-01, "
        "limit 90 days); its licence costs 13.33 per month."
    )
    ev = json.loads(eve[6])
    assert ev["last_login"].startswith("2025-08-01") and ev["login_events"] == 1
    assert ev["license_cost_per_month"] == 13.33 and ev["account"]["last_login_at"] is None


def test_dormant_without_a_licence_cost(store) -> None:
    commit_batch(store, batch("hr", "hris", NOW, snap("people", PEOPLE)), Policy())
    commit_batch(store, batch("zm", "scim", NOW, snap("accounts", ZM[:1], ("zm",))), Policy())
    detect(store, Policy())
    [(explanation, evidence)] = store.execute(
        "SELECT explanation, evidence FROM findings WHERE kind = 'dormant'"
    ).fetchall()
    assert explanation.endswith("; no licence cost configured for the app.")
    assert json.loads(evidence)["license_cost_per_month"] is None


def test_sod_exactly(found) -> None:
    con, result = found
    got = rows(con, "sod")
    assert [r[:5] for r in got] == [("gh", "ann", "E1", None, "release-and-pay")]
    assert result.counts["sod/toxic_combination"] == 1
    explanation, evidence = got[0][5:]
    assert explanation == (
        "Person E1 holds gh release-managers (account ann) and ns ap approver "
        "(account ann@x.com), a combination forbidden by rule release-and-pay."
    )
    ev = json.loads(evidence)
    assert ev["rule"]["b"] == {"app": "ns", "entitlement": "AP Approver"}
    assert [(g["side"], g["account_id"]) for g in ev["grants"]] == [("a", "g1"), ("b", "n1")]


def test_no_policy_no_sod_and_no_cost(store) -> None:
    commit_batch(store, batch("hr", "hris", NOW, snap("people", PEOPLE)), Policy())
    commit_batch(
        store,
        batch(
            "gh",
            "scim",
            NOW,
            snap("accounts", GH, ("gh",)),
            snap("grants", grants("gh", GRANTS_GH), ("gh",)),
        ),
        Policy(),
    )
    result = detect(store, Policy())
    assert result.counts["sod/toxic_combination"] == 0
    # without the service-account policy svc-ci is unmatched, an orphan, never a duplicate
    assert result.counts["duplicate/multiple_accounts"] == 4
