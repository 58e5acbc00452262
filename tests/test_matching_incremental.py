"""The incremental matcher equals a full re-match, over random changes to every input.

Each round commits changed HR, IdP, assignment and account listings (keys drawn from small
pools, so emails collide, people are rehired, logins and handles are shared and accounts move
between owners), runs a detect (which re-matches only what changed), then re-matches every
account in a transaction it rolls back, and compares account_facts row for row.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from evidence.config import Policy, ServiceAccount
from evidence.detections.loader import load_detections
from evidence.detections.runner import detect
from evidence.matching import build_account_owners
from evidence.store.load import commit_batch
from tests.builders import batch, snap, utc

T0 = utc(2026, 1, 1)
APPS = ("GitHub", "Slack", "Jira")
ORPHANS = [d for d in load_detections() if d.kind in ("orphan", "drift")]


def _world(rnd: random.Random) -> dict[str, dict]:
    return {"people": {}, "idp": {}, "accounts": {}, "assign": {}, "rnd": rnd}  # type: ignore[dict-item]


def _names(rnd: random.Random, k: int) -> list[str]:
    return [f"u{rnd.randrange(40)}" for _ in range(k)]


def _email(rnd: random.Random) -> str:
    # Mixed case and padding: the matcher normalises both.
    e = f"u{rnd.randrange(40)}@x.com"
    return rnd.choice([e, e.upper(), f" {e} "])


def _person(rnd: random.Random, pid: str) -> dict:
    status = rnd.choice(["active", "active", "leave", "terminated"])
    hire = T0 - timedelta(days=rnd.randrange(2000))
    return dict(
        person_id=pid,
        hire_date=hire,
        email=_email(rnd),
        aliases=";".join(f"{n}@old.com" for n in _names(rnd, rnd.randrange(3))) or None,
        status=status,
        termination_date=hire + timedelta(days=rnd.randrange(1, 900))
        if status == "terminated"
        else None,
        employment_type=rnd.choice(["employee", "contractor"]),
    )


def _idp_user(rnd: random.Random, uid: str) -> dict:
    return dict(
        user_id=uid,
        login=rnd.choice([_email(rnd), f"{rnd.choice(_names(rnd, 1))}@old.com", f"x{uid}@p.com"]),
        email=_email(rnd),
        employee_number=rnd.choice([None, f"E{rnd.randrange(30)}"]),
        status=rnd.choice(["ACTIVE", "ACTIVE", "SUSPENDED", "DEPROVISIONED"]),
        status_changed_at=T0 - timedelta(days=rnd.randrange(100)),
    )


def _account(rnd: random.Random, app: str, aid: str) -> dict:
    name = rnd.choice(
        [
            _email(rnd),
            f"{_names(rnd, 1)[0]}@old.com",
            f"h{rnd.randrange(25)}",
            f"svc-{aid}",
            f"x00u{rnd.randrange(25)}@p.com",
        ]
    )
    return dict(
        app=app,
        account_id=aid,
        user_name=name,
        email=rnd.choice([None, _email(rnd)]),
        external_id=rnd.choice([None, None, f"00u{rnd.randrange(25)}"]),
        active=rnd.random() < 0.8,
    )


def _assignment(rnd: random.Random, app: str, uid: str) -> dict:
    return dict(
        app=app,
        idp_user_id=uid,
        user_name=f"h{rnd.randrange(25)}",
        status="ACTIVE",
        assigned_at=T0 - timedelta(days=10),
    )


def _change(w: dict, first: bool) -> None:
    """Change about a fifth of each input (all of it the first time)."""
    rnd: random.Random = w["rnd"]
    share = 1.0 if first else 0.2
    for i in range(30):
        pid = f"E{i}"
        if first or rnd.random() < share:
            if rnd.random() < 0.1 and not first:
                w["people"].pop(pid, None)
            else:
                w["people"][pid] = _person(rnd, pid)
    for i in range(25):
        uid = f"00u{i}"
        if first or rnd.random() < share:
            if rnd.random() < 0.1 and not first:
                w["idp"].pop(uid, None)  # leaves the IdP's listing
                continue
            w["idp"][uid] = _idp_user(rnd, uid)
            for app in APPS:
                if rnd.random() < 0.5:
                    w["assign"][(app, uid)] = _assignment(rnd, app, uid)
                else:
                    w["assign"].pop((app, uid), None)
    for app in APPS:
        for i in range(40):
            aid = f"{app[0]}{i}"
            if first or rnd.random() < share:
                roll = rnd.random()
                if roll < 0.15 and not first:
                    w["accounts"].pop((app, aid), None)  # leaves the listing
                elif roll < 0.5 and (app, aid) in w["accounts"]:
                    # Same keys, new facts: only copied, not re-matched (a user name in
                    # other case keeps its key, but a service-account glob may differ).
                    old = w["accounts"][(app, aid)]
                    w["accounts"][(app, aid)] = {
                        **old,
                        "user_name": rnd.choice([old["user_name"], old["user_name"].upper()]),
                        "active": rnd.random() < 0.8,
                        "last_login_at": T0 - timedelta(days=rnd.randrange(400)),
                    }
                else:
                    w["accounts"][(app, aid)] = _account(rnd, app, aid)


def _commit(con, w: dict, at) -> None:  # noqa: ANN001
    commit_batch(con, batch("hr", "hris", at, snap("people", list(w["people"].values()))), Policy())
    idp = batch(
        "okta",
        "okta",
        at,
        snap("idp_users", list(w["idp"].values())),
        snap("assignments", list(w["assign"].values()), APPS),
    )
    commit_batch(con, idp, Policy())
    for app in APPS:
        rows = [a for (p, _), a in w["accounts"].items() if p == app]
        commit_batch(con, batch(app.lower(), "scim", at, snap("accounts", rows, (app,))), Policy())


def _facts(con) -> set[tuple]:  # noqa: ANN001
    return set(con.execute("SELECT * FROM account_facts").fetchall())


def _full_facts(con, policy: Policy) -> set[tuple]:  # noqa: ANN001
    con.execute("BEGIN TRANSACTION")
    try:
        assert build_account_owners(con, policy, 0, full=True) == len(_facts(con))
        return _facts(con)
    finally:
        con.execute("ROLLBACK")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_match_equals_full(store, seed: int) -> None:
    policy = Policy(service_accounts=[ServiceAccount(app="GitHub", account="svc-*", owner="E1")])
    w = _world(random.Random(seed))
    rematched = []
    for r in range(8):
        _change(w, first=r == 0)
        at = T0 + timedelta(days=r)
        _commit(store, w, at)
        rematched.append(detect(store, policy, as_of=at, detections=ORPHANS).rematched)
        got = _facts(store)
        assert got == _full_facts(store, policy), f"round {r}"
        assert (
            len(got)
            == store.execute("SELECT count(DISTINCT (app, account_id)) FROM accounts").fetchall()[
                0
            ][0]
        )
    # Later rounds re-matched part of the tenant, not all of it (else this proves nothing).
    assert rematched[0] == 120
    assert all(0 < n < 120 for n in rematched[1:]), rematched


def test_unchanged_store_rematches_nothing_and_rule_change_rematches_all(store) -> None:
    w = _world(random.Random(7))
    _change(w, first=True)
    _commit(store, w, T0)
    detect(store, Policy(), as_of=T0, detections=ORPHANS)
    before = _facts(store)
    assert detect(store, Policy(), as_of=T0, detections=ORPHANS).rematched == 0
    assert _facts(store) == before
    # A new service-account rule changes the fingerprint: every account is re-matched.
    policy = Policy(service_accounts=[ServiceAccount(app="GitHub", account="svc-*", owner="E1")])
    assert detect(store, policy, as_of=T0, detections=ORPHANS).rematched == 120
    svc = store.execute(
        "SELECT count(*) FROM account_owners WHERE matched_by = 'service_account'"
    ).fetchall()[0][0]
    assert svc == sum(
        1
        for (app, _), a in w["accounts"].items()
        if app == "GitHub" and a["user_name"].startswith("svc-")
    )


def test_changes_the_matcher_does_not_read_rematch_nothing(store) -> None:
    w = _world(random.Random(11))
    _change(w, first=True)
    _commit(store, w, T0)
    detect(store, Policy(), as_of=T0, detections=ORPHANS)
    for p in w["people"].values():
        p["department"] = "Moved"  # a new HR version for everyone, no key or status change
    for u in w["idp"].values():
        u["last_login_at"] = T0  # likewise every IdP user
    for a in w["accounts"].values():
        a["last_login_at"] = T0  # and every account, one in two deactivated too
        a["active"] = not a["active"] if a["account_id"].endswith(("0", "2", "4")) else True
    at = T0 + timedelta(days=1)
    _commit(store, w, at)
    assert store.execute(
        "SELECT count(*) FROM people WHERE valid_from = $at", {"at": at}
    ).fetchall()[0][0] == len(w["people"])
    before = _facts(store)
    assert detect(store, Policy(), as_of=at, detections=ORPHANS).rematched == 0
    after = _facts(store)
    assert after == _full_facts(store, Policy())
    # The accounts' new facts were copied: every row changed, its owner did not.
    assert len(after - before) == len(w["accounts"])
    assert {r[:2] + r[4:9] for r in after} == {r[:2] + r[4:9] for r in before}
