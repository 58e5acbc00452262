"""IdP-level lifecycle events and sign-ins, and the last logins apps report.

Sign-ins are what dormancy is judged on, so they follow one rule: the newest sign-in to an app
is never older than the person's last day of activity minus a few days; an app that reports a
last login gets its IdP single sign-on at exactly that instant.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from connectors.synthetic.clock import between, seconds
from connectors.synthetic.model import Account, Activity, Human, Tenant

__all__ = ["lifecycle_events", "signins"]


def lifecycle_events(t: Tenant, rng: random.Random) -> None:
    """user.lifecycle.*, profile updates (moves, renames) inside the period."""
    P = t.period_start
    renamed = {h.hid for h in t.humans if h.renamed_at is not None and h.old_email}
    # The renamed people's accounts, in account order (scanning every account per renamed
    # person was quadratic at enterprise sizes).
    theirs: dict[int, list[Account]] = {}
    for a in t.accounts:
        if a.human is not None and a.human.hid in renamed:
            theirs.setdefault(a.human.hid, []).append(a)
    for h in t.humans:
        u = h.idp
        if u is None:
            continue
        if u.created >= P:
            t.activity.append(Activity(u.created, "user.lifecycle.create", u))
        if u.activated and u.activated >= P:
            t.activity.append(Activity(u.activated, "user.lifecycle.activate", u))
        if h.old_end is not None and h.rehired is not None and h.old_end >= P:
            t.activity.append(
                Activity(h.old_end + h.deprov_delay, "user.lifecycle.deactivate", u, actor="system")
            )
            t.activity.append(
                Activity(h.rehired - timedelta(hours=2), "user.lifecycle.reactivate", u)
            )
        if u.status == "DEPROVISIONED" and u.status_changed and u.status_changed >= P:
            t.activity.append(
                Activity(u.status_changed, "user.lifecycle.deactivate", u, actor="system")
            )
        if u.status == "SUSPENDED" and u.status_changed and u.status_changed >= P:
            t.activity.append(Activity(u.status_changed, "user.lifecycle.suspend", u))
        if len(h.segments) > 1 and h.segments[-1][0] >= P:
            at, dept, title = h.segments[-1]
            _, old_dept, old_title = h.segments[-2]
            change = {}
            if dept != old_dept:
                change["department"] = {"from": old_dept, "to": dept}
            if title != old_title:
                change["title"] = {"from": old_title, "to": title}
            t.activity.append(
                Activity(
                    at + timedelta(hours=7),
                    "user.account.update_profile",
                    u,
                    actor="system",
                    change=change,
                )
            )
        if h.renamed_at is not None and h.old_email:
            t.activity.append(
                Activity(
                    h.renamed_at,
                    "user.account.update_profile",
                    u,
                    change={
                        "login": {"from": h.old_email, "to": h.email},
                        "email": {"from": h.old_email, "to": h.email},
                    },
                )
            )
            for a in theirs.get(h.hid, []):
                if a.app.scim and a.created < h.renamed_at and a.active:
                    t.activity.append(
                        Activity(
                            h.renamed_at + seconds(rng, 30, 300),
                            "application.provision.user.push_profile",
                            u,
                            a.app,
                            a,
                            actor="system",
                        )
                    )


def _last_active(t: Tenant, h: Human, rng: random.Random) -> datetime | None:
    T = t.as_of
    if h.status == "terminated" and h.end is not None:
        return h.end - timedelta(hours=rng.randint(6, 40))
    if h.status == "leave" and h.leave_start is not None:
        start = datetime.combine(h.leave_start, time(), T.tzinfo)
        return start - timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 12))
    if h.idp is not None and h.idp.status == "PROVISIONED":
        return None  # a new hire who has not signed in yet
    assert h.start is not None
    last = T - timedelta(hours=rng.randint(1, 12 * 24), seconds=rng.randint(0, 3599))
    return last if last > h.start else None


def signins(t: Tenant, rng: random.Random) -> None:
    """Okta lastLogin, app-reported last logins, and session / MFA / SSO events."""
    P = t.period_start
    mine: dict[int, list[Account]] = {}
    for a in t.accounts:
        if a.human is not None:
            mine.setdefault(a.human.hid, []).append(a)
    for h in t.humans:
        last = _last_active(t, h, rng)
        h.last_active = last
        accounts = mine.get(h.hid, [])
        for a in accounts:
            if a.app.reports_login and not a.pinned_login:
                _app_login(a, last, rng)
        u = h.idp
        if u is None or last is None or u.activated is None or last <= u.activated:
            if u is not None:
                u.last_login = None
            continue
        u.last_login = last
        if last < P:
            continue
        lo = max(P, u.activated)
        span = (last - lo).total_seconds() / 86400
        n = 1 + round(4 * span / 365)
        times = sorted(between(rng, lo, last) for _ in range(n - 1)) + [last]
        for i, at in enumerate(times):
            if rng.random() < 0.04:
                t.activity.append(
                    Activity(
                        at - seconds(rng, 20, 120),
                        "user.session.start",
                        u,
                        actor="self",
                        outcome="FAILURE",
                        reason="INVALID_CREDENTIALS",
                    )
                )
            t.activity.append(Activity(at, "user.session.start", u, actor="self"))
            if rng.random() < 0.25 or i == len(times) - 1:
                t.activity.append(
                    Activity(
                        at + seconds(rng, 2, 20),
                        "user.authentication.auth_via_mfa",
                        u,
                        actor="self",
                    )
                )
        _sso(t, h, accounts, last, lo, rng)


def _app_login(a: Account, last: datetime | None, rng: random.Random) -> None:
    end = last
    if a.deactivated_at is not None and (end is None or a.deactivated_at < end):
        end = a.deactivated_at - timedelta(hours=1)
    if end is None or end <= a.created or rng.random() < 0.04:
        a.last_login = None  # never reported: unknown, not dormant
        return
    a.last_login = between(rng, max(a.created, end - timedelta(days=6)), end)


def _sso(
    t: Tenant, h: Human, accounts: list[Account], last: datetime, lo: datetime, rng: random.Random
) -> None:
    u = h.idp
    assert u is not None
    for a in accounts:
        if not a.app.okta or a.deleted and a.deactivated_at is None:
            continue
        if a.app.reports_login:
            if a.last_login is not None and a.last_login >= lo:
                t.activity.append(
                    Activity(a.last_login, "user.authentication.sso", u, a.app, a, actor="self")
                )
            continue
        if rng.random() < 0.7:
            continue
        end = min(last, a.deactivated_at or last)
        if end <= max(lo, a.created):
            continue
        newest = between(rng, max(lo, a.created, end - timedelta(days=5)), end)
        t.activity.append(Activity(newest, "user.authentication.sso", u, a.app, a, actor="self"))
        if rng.random() < 0.3:
            t.activity.append(
                Activity(
                    between(rng, max(lo, a.created), newest),
                    "user.authentication.sso",
                    u,
                    a.app,
                    a,
                    actor="self",
                )
            )
