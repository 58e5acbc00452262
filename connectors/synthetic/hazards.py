"""Hazards: realistic identity mess that must NOT produce findings (unless a definition says
so). Each one is listed in tenant.json so the reader knows what the matcher has to survive."""

from __future__ import annotations

import random
from datetime import timedelta

from connectors.synthetic.apps import Grants, grants_for, new_account
from connectors.synthetic.catalog import LAST_NAMES, ROLES
from connectors.synthetic.clock import between, day_between
from connectors.synthetic.model import (
    Activity,
    Assignment,
    HrRecord,
    Human,
    IdpUser,
    Ids,
    Tenant,
    day_end,
)

__all__ = ["people_hazards", "idp_hazards", "account_hazards", "pick"]

_FIXED = {r.title for r in ROLES if r.fixed}


def pick(rng: random.Random, cands: list[Human], k: int, tag: str) -> list[Human]:
    """Up to k unclaimed humans from `cands` (in a seeded order), claimed for `tag`."""
    pool = [h for h in cands if not h.used]
    rng.shuffle(pool)
    out = pool[:k]
    for h in out:
        h.used = tag
    return out


def _plain(t: Tenant, h: Human) -> bool:
    """An ordinary employee: HR record, one role, no lifecycle oddity yet."""
    return not h.idp_only and not h.used and len(h.segments) == 1 and h.title not in _FIXED


def people_hazards(t: Tenant, rng: random.Random) -> None:
    T, P, n = t.as_of, t.period_start, t.n_people
    hr = [h for h in t.humans if not h.idp_only]
    for h in hr:
        h.email_raw = h.email
    for h in [h for h in hr if rng.random() < 0.03]:
        local, domain = h.email.split("@")
        h.email_raw = rng.choice(
            [
                f"{local.title()}@{domain.title()}",
                f" {h.email}",
                f"{h.email.upper()} ",
                f"{local.title()}@{domain}",
            ]
        )
    n_ct = sum(h.worker_type == "Contractor" for h in hr)
    n_in = sum(h.worker_type == "Intern" for h in hr)
    t.hazards.append(f"contractors ({n_ct}, C… ids) and interns ({n_in}) among the workers")
    t.hazards.append(
        f"people on leave ({sum(h.status == 'leave' for h in hr)}): accounts stay "
        + (
            "active, half of them SUSPENDED in Okta"
            if t.idp == "okta"
            else "active and assigned, their Entra users disabled (accountEnabled false)"
        )
    )
    t.hazards.append(
        "background movers (department or title change) whose entitlements were "
        "switched to the new role on the day of the move"
    )
    t.hazards.append(
        "long-gone leavers: DEPROVISIONED in Okta or deleted from it, accounts "
        "deleted or inactive, no events inside the period"
    )
    t.hazards.append(
        "GitHub accounts linked only through SCIM externalId = Okta user id "
        "(handle user names, no email)"
    )
    t.hazards.append(
        "HR emails with mixed case and leading/trailing whitespace "
        f"({sum(h.email_raw != h.email for h in hr)} rows)"
    )

    taken = {h.email for h in t.humans}
    active = [h for h in hr if h.status == "active" and _plain(t, h)]
    for h in pick(
        rng,
        [h for h in active if h.start and h.start < T - timedelta(days=400)],
        max(2, n // 200),
        "renamed",
    ):
        new_last = rng.choice([x for x in LAST_NAMES if x != h.last])
        base, k = f"{h.first}.{new_last}".lower(), 1
        while f"{base}{k if k > 1 else ''}@{h.email.split('@')[1]}" in taken:
            k += 1
        h.old_email, h.old_last, h.last = h.email, h.last, new_last
        h.email = f"{base}{k if k > 1 else ''}@{h.email.split('@')[1]}"
        h.email_raw = h.email
        taken.add(h.email)
        h.renamed_at = between(rng, T - timedelta(days=300), T - timedelta(days=60))
    t.hazards.append(
        "renamed people: new address in HR and Okta, the old one in HR Aliases "
        "and still the user name of their accounts in CSV-only apps"
    )

    recent = [
        h for h in active if h.start and P + timedelta(days=80) < h.start < T - timedelta(days=30)
    ]
    for i, h in enumerate(pick(rng, recent, 2 * max(1, n // 800), "rehire")):
        assert h.start is not None
        old_term = day_between(
            rng, (P + timedelta(days=5)).date(), (h.start - timedelta(days=40)).date()
        )
        old_hire = day_between(
            rng, (T - timedelta(days=6 * 365)).date(), (T - timedelta(days=3 * 365)).date()
        )
        h.same_id = i % 2 == 1
        h.rehired, h.old_end = h.start, day_end(old_term)
        h.records.insert(
            0, HrRecord("", h, old_hire, old_term, "Terminated", h.worker_type, h.dept, h.title)
        )
    t.hazards.append(
        "rehires: the old HR record terminated (deprovisioned on time), a new "
        "active record (new id, or the same id with a new hire date), the same "
        "accounts re-activated"
    )

    for h in pick(
        rng,
        [h for h in active if h.start and h.start < T - timedelta(days=200)],
        max(1, n // 1000),
        "grace",
    ):
        term = (T - timedelta(days=1)).date()
        h.status, h.end, h.deprov = "terminated", day_end(term), "grace"
        h.records[-1].term, h.records[-1].status = term, "Terminated"
    t.hazards.append("terminated yesterday: accounts still active inside the grace period")

    for h in pick(rng, active, 1, "notice"):
        h.records[-1].term = (T + timedelta(days=14)).date()
    t.hazards.append("an active worker with a future termination date (notice period)")

    ext = [h for h in t.humans if h.idp_only]
    advisors = [h for h in ext if h.title == "Advisor"]
    if t.idp == "entra":
        # Entra has no suspension: a disabled IdP-only user is a leaver, not on leave.
        t.hazards.append(
            "IdP-only people (auditors, board members, advisors): no HR record, "
            "status from Entra (disabled: terminated, at employeeLeaveDateTime)"
        )
        return
    for h in advisors[:1]:
        h.status, h.used = "leave", "suspended"
        h.leave_start = (T - timedelta(days=30)).date()
    t.hazards.append(
        "IdP-only people (auditors, board members, advisors): no HR record, "
        "status from Okta; a SUSPENDED one keeps an active CSV account (leave-like)"
    )


def idp_hazards(t: Tenant, rng: random.Random) -> None:
    """Okta statuses that still mean active, and users linked only by email."""
    hr_users = [
        h.idp
        for h in t.humans
        if h.idp
        and not h.idp_only
        and not h.used
        and h.status == "active"
        and h.idp.status == "ACTIVE"
    ]
    rng.shuffle(hr_users)
    odd = hr_users[: max(3, t.n_people // 300)]
    if t.idp == "entra":
        _entra_idp_hazards(t, hr_users[len(odd) : len(odd) + max(2, t.n_people // 100)], rng)
        return
    for i, u in enumerate(odd):
        u.status = ("LOCKED_OUT", "PASSWORD_EXPIRED", "RECOVERY")[i % 3]
        u.status_changed = between(rng, t.as_of - timedelta(days=20), t.as_of - timedelta(days=1))
        u.last_updated = u.status_changed
    t.hazards.append("Okta users LOCKED_OUT / PASSWORD_EXPIRED / RECOVERY (still active people)")
    for u in hr_users[len(odd) : len(odd) + max(2, t.n_people // 100)]:
        u.employee_number = None
        u.human.email_raw = u.human.email.title() if rng.random() < 0.5 else u.human.email_raw
    t.hazards.append("Okta users without employeeNumber, linked to HR by email only")
    for h in t.humans:
        if h.idp_only and h.idp and h.status == "active" and h.title == "Auditor":
            h.idp.status = "PASSWORD_EXPIRED"
            break


def _entra_idp_hazards(t: Tenant, no_id: list[IdpUser], rng: random.Random) -> None:
    """Entra has no lock-out states worth a hazard; users without employeeId it has."""
    for u in no_id:
        u.employee_number = None
        u.human.email_raw = u.human.email.title() if rng.random() < 0.5 else u.human.email_raw
    t.hazards.append("Entra users without employeeId, linked to HR by email only")
    t.hazards.append(
        "a rehire under a new employee id: the re-enabled Entra user has no employeeId, HR "
        "holds the old terminated record and the new active one under the same email"
    )


def account_hazards(t: Tenant, rng: random.Random, ids: Ids) -> None:
    T = t.as_of
    owner = next((h.pid for h in t.humans if h.title == "Systems Engineer" and h.pid), "")
    for app, user, roles in (
        ("github", "svc-deploy-bot", ("member",)),
        ("slack", "svc-alerts@acme.example", ("member",)),
        ("netsuite", "svc-integration", ("Reports Viewer",)),
        ("zoom", "svc-room-boardroom@acme.example", ("Licensed",)),
        ("expensify", "svc-card-feed@acme.example", ("submitter",)),
    ):
        a_app = t.app(app)
        if a_app is None:
            continue
        a = new_account(
            t,
            ids,
            rng,
            None,
            a_app,
            None,
            between(rng, T - timedelta(days=900), T - timedelta(days=400)),
            Grants((), roles, ()),
            user_name=user,
        )
        a.display_name = user.split("@")[0]
        a.email = user if "@" in user and "email" in a_app.tpl.reports else None
        a.service_owner = owner
        a.last_login = between(rng, T - timedelta(days=3), T - timedelta(hours=2))
        a.pinned_login = True
        t.service_accounts.append({"app": app, "account": "svc-*", "owner": owner})
    t.hazards.append(
        "owned service accounts (svc-*) listed in policy.service_accounts, "
        "unassigned in Okta, matching no person"
    )

    # Case and whitespace on the app side.
    for a in t.accounts:
        if a.human is None or not a.active or a.human.idp_only:
            continue
        if a.app.scim and a.app.tpl.user_style == "email" and rng.random() < 0.04:
            local, domain = a.user_name.split("@")
            a.user_name = f"{local.title()}@{domain}"
            if a.email is not None:
                a.email = a.user_name
        elif not a.app.scim and a.email and rng.random() < 0.03:
            a.email = rng.choice([f"{a.email} ", f" {a.email.upper()}"])
    t.hazards.append("app user names and emails in mixed case or with stray whitespace")

    zoom = t.app("zoom") or next((a for a in t.apps if a.kind == "csv_okta"), None)
    auditor = next(
        (
            h
            for h in t.humans
            if h.idp_only and h.title == "Auditor" and h.idp and h.status == "active"
        ),
        None,
    )
    if zoom is not None and auditor is not None and auditor.idp is not None:
        when = T - timedelta(hours=rng.randint(2, 8))
        t.assignments.append(Assignment(zoom, auditor.idp, auditor.idp.login, when, None))
        t.activity.append(Activity(when, "application.user_membership.add", auditor.idp, zoom))
        t.hazards.append(
            f"a new {zoom.tpl.label} assignment made hours ago, not yet "
            "provisioned (inside the grace period)"
        )

    stale = [
        a
        for a in t.accounts
        if a.app.tpl.push
        and not a.active
        and not a.deleted
        and a.human
        and a.human.status == "terminated"
        and a.deactivated_at
        and a.deactivated_at > t.period_start
    ]
    if stale:
        a = rng.choice(stale)
        g = grants_for(a.app.tpl, a.human.dept, a.human.title) if a.human else None
        if g and g.groups:
            a.groups = list(g.groups)
            a.stale_group_member = True
            t.hazards.append(
                "a deactivated SCIM account still listed in a pushed app group "
                "(only active members count)"
            )
