"""Identity matching and the orphan detections on hand-made hazards, row by row."""

from __future__ import annotations

import pytest

from evidence.config import AcceptedRisk, Policy, ServiceAccount
from evidence.detections.runner import detect
from evidence.store.load import commit_batch
from tests.builders import batch, snap, utc

NOW = utc(2026, 1, 10)
H = utc(2020, 1, 1)


def person(pid, email, status="active", term=None, hire=H, aliases=None, etype="employee"):
    return dict(
        person_id=pid,
        email=email,
        status=status,
        termination_date=term,
        hire_date=hire,
        aliases=aliases,
        employment_type=etype,
    )


PEOPLE = [
    person("E1", "Ann@x.com"),
    person("E2", "bob@x.com", "terminated", utc(2026, 1, 1, 23, 59, 59)),
    person("E3", "cat@x.com", "terminated", utc(2026, 1, 9, 12)),  # inside the 24 h grace
    person("E4", "dan@x.com", "terminated", utc(2025, 1, 1), hire=utc(2019, 1, 1)),
    person("E5", "dan@x.com", hire=utc(2025, 6, 1)),  # rehire under a new id
    person("E6", "eve.new@x.com", aliases="eve.old@x.com; eve@x.com"),  # renamed
    person("E7", "fay@x.com", "leave"),
    person("E8", "gus@x.com", "terminated", utc(2025, 12, 1), etype="contractor"),
    person("E9", "hal@x.com", "terminated", utc(2024, 1, 1), hire=utc(2020, 1, 1)),
    person("E9", "hal@x.com", hire=utc(2025, 3, 1)),  # rehire reusing the id
]
IDP = [
    dict(
        user_id="00u1", login="ann@x.com", email="ann@x.com", status="ACTIVE", employee_number="E1"
    ),
    dict(user_id="00u9", login="ext@partner.com", email="ext@partner.com", status="ACTIVE"),
    dict(
        user_id="00u8",
        login="old@partner.com",
        email="old@partner.com",
        status="DEPROVISIONED",
        status_changed_at=utc(2025, 6, 1),
    ),
    dict(user_id="00u7", login="sus@partner.com", email="sus@partner.com", status="SUSPENDED"),
]
# account_id, user_name, email, external_id, active, expected (matched_by, person_id, status), orphan
CASES = [
    ("1", "annie", None, "00u1", True, ("external_id", "E1", "active"), None),
    ("2", " BOB@x.com ", None, None, True, ("email", "E2", "terminated"), "terminated_active"),
    ("3", "cat", "cat@x.com", None, True, ("email", "E3", "terminated"), None),
    ("4", "dan@x.com", None, None, True, ("email", "E5", "active"), None),
    ("5", "eve.old@x.com", None, None, True, ("alias", "E6", "active"), None),
    ("6", "ghost", "ghost@x.com", None, True, ("none", None, None), "unmatched"),
    ("7", "svc-ci", None, None, True, ("service_account", "E1", None), None),
    ("8", "ext@partner.com", None, None, True, ("login", "00u9", "active"), None),
    ("9", "ghost2", None, None, False, ("none", None, None), None),
    ("10", "fay", "FAY@X.COM", None, True, ("email", "E7", "leave"), None),
    ("11", "gus@x.com", None, None, True, ("email", "E8", "terminated"), "terminated_active"),
    ("12", "hal@x.com", None, None, True, ("email", "E9", "active"), None),
    ("13", "x", None, "00u8", True, ("external_id", "00u8", "terminated"), "terminated_active"),
    ("14", "sus@partner.com", None, None, True, ("login", "00u7", "leave"), None),
    ("15", "legacy-ci", None, None, True, ("none", None, None), "unmatched"),
]


@pytest.fixture
def matched(store):
    commit_batch(store, batch("hr", "hris", NOW, snap("people", PEOPLE)), Policy())
    commit_batch(store, batch("okta", "okta", NOW, snap("idp_users", IDP)), Policy())
    accounts = [
        dict(app="gh", account_id=a, user_name=u, email=e, external_id=x, active=act)
        for a, u, e, x, act, _, _ in CASES
    ]
    commit_batch(store, batch("gh", "scim", NOW, snap("accounts", accounts, ("gh",))), Policy())
    policy = Policy(
        service_accounts=[ServiceAccount(app="GH", account="svc-*", owner="E1")],
        accepted_risks=[
            AcceptedRisk(
                kind="orphan",
                app="gh",
                account="legacy-ci",
                owner="E1",
                ticket="SEC-1",
                expires="2027-01-01",
            )
        ],
    )
    result = detect(store, policy)
    return store, result


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_owner_of_each_account(matched, case) -> None:
    con, _ = matched
    account_id, *_, expected, _ = case
    row = con.execute(
        "SELECT matched_by, person_id, person_status FROM account_owners WHERE account_id = $a",
        {"a": account_id},
    ).fetchall()
    assert row == [expected]


def test_orphans_exactly(matched) -> None:
    con, result = matched
    got = con.execute(
        "SELECT account_id, subkind, status FROM findings WHERE kind = 'orphan' ORDER BY 1"
    ).fetchall()
    want = sorted(
        (c[0], c[6], "accepted" if c[1] == "legacy-ci" else "open") for c in CASES if c[6]
    )
    assert got == want
    orphan_counts = {k: n for k, n in result.counts.items() if k.startswith("orphan/")}
    assert orphan_counts == {"orphan/terminated_active": 3, "orphan/unmatched": 2}
    assert result.opened == 4 and result.accepted == 1


def test_findings_lifecycle_resolve_and_reopen(matched) -> None:
    con, _ = matched
    fid = con.execute("SELECT finding_id FROM findings WHERE account_id = '6'").fetchall()[0][0]
    later = utc(2026, 1, 11)
    gone = [dict(app="gh", account_id="6", user_name="ghost", active=False)]
    keep = [
        dict(app="gh", account_id=c[0], user_name=c[1], email=c[2], external_id=c[3], active=c[4])
        for c in CASES
        if c[0] != "6"
    ]
    commit_batch(con, batch("gh", "scim", later, snap("accounts", keep + gone, ("gh",))), Policy())
    detect(con, Policy())
    assert con.execute(
        "SELECT status, resolved_at FROM findings WHERE finding_id = $f", {"f": fid}
    ).fetchall() == [("resolved", later)]
    back = [dict(app="gh", account_id="6", user_name="ghost", active=True)]
    again = utc(2026, 1, 12)
    commit_batch(con, batch("gh", "scim", again, snap("accounts", keep + back, ("gh",))), Policy())
    detect(con, Policy())
    rows = con.execute(
        "SELECT status, first_seen_at, last_seen_at, resolved_at FROM findings "
        "WHERE finding_id = $f",
        {"f": fid},
    ).fetchall()
    assert rows == [("open", NOW, again, None)]
    actions = [
        r[0]
        for r in con.execute(
            "SELECT action FROM events WHERE details->>'finding_id' = $f ORDER BY seq", {"f": fid}
        ).fetchall()
    ]
    assert actions == ["finding.open", "finding.resolve", "finding.reopen"]


def test_a_deleted_account_keeps_its_owner(matched) -> None:
    con, _ = matched
    keep = [
        dict(app="gh", account_id=c[0], user_name=c[1], email=c[2], external_id=c[3], active=c[4])
        for c in CASES
        if c[0] != "2"
    ]
    commit_batch(
        con, batch("gh", "scim", utc(2026, 1, 11), snap("accounts", keep, ("gh",))), Policy()
    )
    detect(con, Policy())
    row = con.execute(
        "SELECT person_id, matched_by, active, is_current FROM account_owners WHERE account_id = '2'"
    ).fetchall()
    assert row == [("E2", "email", False, False)]
    assert con.execute(
        "SELECT status FROM findings WHERE account_id = '2' AND kind = 'orphan'"
    ).fetchall() == [("resolved",)]
