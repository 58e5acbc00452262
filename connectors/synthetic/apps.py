"""Apps, role-based grants, and every human's accounts and IdP assignments over time."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.synthetic.app_catalog import APP_CATALOG
from connectors.synthetic.catalog import EXTERNAL_DEPT, AppTemplate, Rule
from connectors.synthetic.clock import seconds, slug
from connectors.synthetic.model import (
    Account,
    Activity,
    App,
    Assignment,
    Human,
    Ids,
    Tenant,
    day_start,
)

__all__ = ["Grants", "grants_for", "build_apps", "build_accounts", "new_account", "deactivate"]


@dataclass(frozen=True)
class Grants:
    groups: tuple[str, ...]
    roles: tuple[str, ...]
    ents: tuple[str, ...]

    def all(self) -> tuple[str, ...]:
        return (*self.groups, *self.roles, *self.ents)


def _matches(rule: Rule, dept: str, title: str) -> bool:
    if rule.dept == "*":
        return dept != EXTERNAL_DEPT and (rule.title in ("*", title))
    return rule.dept == dept and rule.title in ("*", title)


def grants_for(tpl: AppTemplate, dept: str, title: str) -> Grants | None:
    """What every holder of (dept, title) gets in the app; None: no access."""
    key = (tpl.name, dept, title)
    if key not in _CACHE:
        _CACHE[key] = _grants(tpl, dept, title)
    return _CACHE[key]


_CACHE: dict[tuple[str, str, str], Grants | None] = {}


def _grants(tpl: AppTemplate, dept: str, title: str) -> Grants | None:
    hit = [r for r in tpl.rules if _matches(r, dept, title)]
    if not hit:
        return None

    def merged(attr: str) -> tuple[str, ...]:
        out: dict[str, None] = {}
        for r in hit:
            for v in getattr(r, attr):
                out[v.replace("{dept}", slug(dept))] = None
        return tuple(out)

    return Grants(merged("groups"), merged("roles"), merged("ents"))


def build_apps(t: Tenant, ids: Ids, rng: random.Random) -> None:
    """The first n apps of the catalog, then generic in-house tools."""
    for i in range(t.n_apps):
        if i < len(APP_CATALOG):
            tpl = APP_CATALOG[i]
        else:
            n = i - len(APP_CATALOG) + 1
            tpl = AppTemplate(
                f"tool{n:02d}",
                f"Tool{n:02d}",
                f"acme_tool{n:02d}",
                "scim_okta",
                (Rule("*", "*", (), ("user",)),),
                cost=2.0,
                extras=("power-user",),
            )
        created = t.as_of - timedelta(days=int(365 * tpl.launched_years) + rng.randint(0, 400))
        # The IdP's id of the app: an Okta app id, or the Entra service principal's object id.
        okta_id = None
        if tpl.kind != "csv_only":
            okta_id = ids.uuid() if t.idp == "entra" else ids.okta("0oa")
        base = f"https://{tpl.name}.scim.example/scim/v2"
        t.apps.append(App(tpl, okta_id, created, base))


class _Names:
    """User names unique per app."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.taken: dict[str, set[str]] = {}

    def handle(self, app: str, h: Human) -> str:
        taken = self.taken.setdefault(app, set())
        base = f"{h.first.lower()}{h.last.lower()[:4]}"
        tries = 0
        while True:
            # Past a few dozen collisions the short suffixes are nearly used up (huge tenants):
            # widen the range rather than loop; smaller tenants never get here.
            hi = 999 if tries < 50 else 99999
            v = f"{base}-{self.rng.randint(1, hi)}"
            tries += 1
            if v not in taken:
                taken.add(v)
                return v


def _account_id(app: App, ids: Ids, rng: random.Random) -> str:
    """A fresh id in the app's style, never one already drawn (ids.seen is tenant-wide)."""
    if app.scim:
        return ids.uuid()
    while True:
        if app.tpl.csv_format == "a":
            v = f"U{rng.randint(10**7, 10**8 - 1)}"
        else:
            v = str(rng.randint(10**9, 10**10 - 1))
        if ids.fresh(v):
            return v


def new_account(
    t: Tenant,
    ids: Ids,
    rng: random.Random,
    names: _Names | None,
    app: App,
    h: Human | None,
    created: datetime,
    g: Grants,
    *,
    user_name: str | None = None,
) -> Account:
    """An active account shaped like the app's others, granted `g` at `created`."""
    if user_name is None:
        assert h is not None
        if app.tpl.user_style == "handle" and names is not None:
            user_name = names.handle(app.name, h)
        elif app.kind == "csv_only" and h.old_email and h.renamed_at and created < h.renamed_at:
            user_name = h.old_email
        else:
            user_name = h.email
    a = Account(app, _account_id(app, ids, rng), user_name, h, created, modified=created)
    rep = app.tpl.reports
    if h is not None:
        a.first, a.last = h.first, h.last
        if "email" in rep:
            a.email = user_name if "@" in user_name else h.email
        if "display_name" in rep or app.scim or app.tpl.csv_format == "b":
            a.display_name = h.display
        if "department" in rep:
            a.department = h.dept
        a.title = h.title
        if app.scim and h.idp is not None:
            a.external_id = h.idp.uid
    a.groups = list(g.groups)
    a.pushed = list(g.groups) if app.tpl.push else []
    a.roles, a.ents = list(g.roles), list(g.ents)
    a.granted = dict.fromkeys(g.all(), created)
    t.accounts.append(a)
    return a


def deactivate(
    t: Tenant,
    a: Account,
    at: datetime,
    rng: random.Random,
    *,
    events: bool = True,
    delete: bool = False,
    keep_groups: bool = False,
    keep_assignment: bool = False,
) -> None:
    """End an account at `at`, with the IdP's unassign/deprovision events when it manages it.
    keep_assignment: the IdP keeps the user's assignment and group memberships (Entra keeps
    those of a disabled user; its provisioning disables the app account all the same)."""
    a.active = False
    a.deleted = delete
    a.deactivated_at = at
    a.modified = at
    if not keep_groups:
        a.groups = []
    kept = list(a.pushed) if keep_assignment else []
    a.pushed = kept
    if a.assignment is not None and not keep_assignment:
        a.assignment.removed = True
    if not (events and a.app.okta and a.human and a.human.idp and at >= t.period_start):
        return
    u = a.human.idp
    for g in [] if keep_assignment else _okta_groups(a):
        t.activity.append(Activity(at, "group.user_membership.remove", u, a.app, a, g))
    t.activity.append(
        Activity(at + seconds(rng, 3, 40), "application.user_membership.remove", u, a.app, a)
    )
    if a.app.scim:
        t.activity.append(
            Activity(
                at + seconds(rng, 41, 180),
                "application.provision.user.deactivate",
                u,
                a.app,
                a,
                actor="system",
            )
        )


def _okta_groups(a: Account) -> list[str]:
    return [f"{a.app.tpl.label} - {g}" for g in a.pushed]


def _assigned(t: Tenant, a: Account, rng: random.Random, *, push_events: bool = True) -> None:
    """Okta assigns the account's human to the app (events when inside the period)."""
    h = a.human
    if h is None or h.idp is None or not a.app.okta:
        return
    u = h.idp
    when = a.created - seconds(rng, 60, 600)
    user_name = a.user_name if a.app.tpl.user_style == "handle" else u.login
    a.assignment = Assignment(a.app, u, user_name, when, a)
    t.assignments.append(a.assignment)
    if when < t.period_start:
        return
    for g in _okta_groups(a):
        t.activity.append(
            Activity(when - seconds(rng, 5, 60), "group.user_membership.add", u, a.app, a, g)
        )
    t.activity.append(Activity(when, "application.user_membership.add", u, a.app, a))
    if a.app.scim and push_events:
        t.activity.append(
            Activity(a.created, "application.provision.user.push", u, a.app, a, actor="system")
        )
        for g in a.pushed:
            t.activity.append(
                Activity(
                    a.created + seconds(rng, 5, 90),
                    "application.provision.group_membership.add",
                    u,
                    a.app,
                    a,
                    g,
                    group_kind="AppGroup",
                    actor="system",
                )
            )


def build_accounts(t: Tenant, ids: Ids, rng: random.Random) -> _Names:
    """Every human's accounts from their role segments and lifecycle, with assignments."""
    names = _Names(rng)
    for h in t.humans:
        for app in t.apps:
            _human_app(t, ids, rng, names, h, app)
    return names


def _human_app(t: Tenant, ids: Ids, rng: random.Random, names: _Names, h: Human, app: App) -> None:
    segs = h.segments
    cur = grants_for(app.tpl, segs[-1][1], segs[-1][2])
    old = grants_for(app.tpl, segs[0][1], segs[0][2]) if len(segs) > 1 else None
    kept = [e for a, e in h.keep if a == app.name]
    if cur is None and old is None:
        return
    assert h.start is not None
    rehire = h.rehired is not None and h.old_end is not None and app.created < h.old_end
    began = day_start(h.records[0].hire) + timedelta(hours=9) if rehire else h.start
    if len(segs) > 1 and old is None:
        began = segs[-1][0] + timedelta(hours=10)
    created = max(began, app.created) + seconds(rng, 1800, 4 * 3600)
    stop = h.end
    if len(segs) > 1 and cur is None and not kept:
        stop = segs[-1][0]
    if stop is not None and created > stop - timedelta(days=2):
        return
    first = old or cur
    assert first is not None
    a = new_account(t, ids, rng, names, app, h, created, first)
    _assigned(t, a, rng)
    if len(segs) > 1 and old is not None:
        moved = segs[-1][0] + timedelta(hours=10) + seconds(rng, 0, 7200)
        if cur is None and not kept:
            deactivate(t, a, moved, rng, delete=app.scim and rng.random() < 0.3)
            if not a.app.okta:
                a.deleted = rng.random() < 0.4
            return
        _move(t, a, old, cur or Grants((), (), ()), kept, moved, rng)
    if rehire and h.old_end is not None and h.rehired is not None:
        _rehire(t, a, h.old_end + h.deprov_delay, h.rehired, rng)
    if h.status == "terminated" and h.end is not None:
        _terminate(t, a, h, rng)


def _move(
    t: Tenant,
    a: Account,
    old: Grants,
    cur: Grants,
    kept: list[str],
    at: datetime,
    rng: random.Random,
) -> None:
    u = a.human.idp if a.human else None
    for g in old.groups:
        if g not in cur.groups and g not in kept:
            if g in a.pushed and u is not None and at >= t.period_start:
                t.activity.append(
                    Activity(
                        at, "group.user_membership.remove", u, a.app, a, f"{a.app.tpl.label} - {g}"
                    )
                )
    add = [g for g in cur.groups if g not in old.groups]
    a.groups = [g for g in a.groups if g in cur.groups or g in kept] + add
    if a.app.tpl.push:
        a.pushed = [g for g in a.groups if g in cur.groups]
    a.roles = [r for r in a.roles if r in cur.roles or r in kept]
    a.roles += [r for r in cur.roles if r not in a.roles]
    a.ents = [e for e in a.ents if e in cur.ents or e in kept]
    a.ents += [e for e in cur.ents if e not in a.ents]
    for e in cur.all():
        if e not in old.all():
            a.granted[e] = at
    a.granted = {e: a.granted[e] for e in a.entitlements()}
    a.modified = at
    if a.human is not None and a.department is not None:
        a.department = a.human.dept
    if u is not None and at >= t.period_start:
        for g in add:
            if a.app.tpl.push:
                t.activity.append(
                    Activity(
                        at, "group.user_membership.add", u, a.app, a, f"{a.app.tpl.label} - {g}"
                    )
                )
                t.activity.append(
                    Activity(
                        at + seconds(rng, 5, 90),
                        "application.provision.group_membership.add",
                        u,
                        a.app,
                        a,
                        g,
                        group_kind="AppGroup",
                        actor="system",
                    )
                )


def _rehire(t: Tenant, a: Account, off: datetime, back: datetime, rng: random.Random) -> None:
    """Deprovisioned at the first termination, restored on the re-hire."""
    pushed, groups = list(a.pushed), list(a.groups)
    deactivate(t, a, off, rng)
    a.active, a.deleted, a.deactivated_at = True, False, None
    a.groups, a.pushed = groups, pushed
    when = back + seconds(rng, 600, 3 * 3600)
    a.modified = when
    a.granted = dict.fromkeys(a.entitlements(), when)
    if a.assignment is not None:
        a.assignment.removed = False
        a.assignment.created = when - seconds(rng, 5, 60)
    u = a.human.idp if a.human else None
    if u is None or not a.app.okta:
        return
    for g in _okta_groups(a):
        t.activity.append(
            Activity(when - seconds(rng, 5, 60), "group.user_membership.add", u, a.app, a, g)
        )
    t.activity.append(Activity(when, "application.user_membership.add", u, a.app, a))
    if a.app.scim:
        t.activity.append(
            Activity(
                when + seconds(rng, 5, 60),
                "application.provision.user.reactivate",
                u,
                a.app,
                a,
                actor="system",
            )
        )


def _terminate(t: Tenant, a: Account, h: Human, rng: random.Random) -> None:
    assert h.end is not None
    mode = h.deprov
    if mode in ("never", "grace"):
        return
    if mode == "missed_csv" and a.app.name == h.deprov_app:
        return
    on_time = h.end + h.deprov_delay + seconds(rng, 20, 900)
    old = h.end < t.period_start
    entra = t.idp == "entra"
    if mode == "scim_failed" and a.app.name == h.deprov_app:
        if a.assignment is not None and not entra:
            a.assignment.removed = True  # Okta unassigned; Entra keeps a disabled user's
        a.pushed = a.pushed if entra else []
        if h.idp is not None:
            t.activity.append(
                Activity(on_time, "application.user_membership.remove", h.idp, a.app, a)
            )
            t.activity.append(
                Activity(
                    on_time + seconds(rng, 30, 120),
                    "application.provision.user.deactivate",
                    h.idp,
                    a.app,
                    a,
                    actor="system",
                    outcome="FAILURE",
                    reason="Automatic deactivation of the user in the app failed: "
                    "HTTP 503 Service Unavailable",
                )
            )
        return
    if mode == "late" and a.app.okta:
        at = h.end + h.deprov_delay + seconds(rng, 20, 900)
    else:
        at = on_time
    # A late deprovisioning stays listed (inactive) so its account is on record.
    delete = mode != "late" and (
        (a.app.scim and rng.random() < (0.7 if old else 0.25))
        or (not a.app.okta and rng.random() < (0.6 if old else 0.3))
    )
    if entra and mode == "late" and a.app.scim and at >= t.period_start:
        _first_attempt(t, a, h, rng)
    u = h.idp
    keep = entra and u is not None and u.deleted_at is None
    deactivate(t, a, at, rng, delete=delete, keep_assignment=keep)


# Entra: what happened on time to a deprovisioning that took effect late, in turn.
_LATE_FIRST = ("failure", "stagedDelete", "skipped", None)


def _first_attempt(t: Tenant, a: Account, h: Human, rng: random.Random) -> None:
    """A first, on-time disable of a late leaver's SCIM account that removed nothing: failed,
    held back by accidental-deletion prevention, or skipped (or none at all)."""
    assert h.end is not None
    kind = _LATE_FIRST[t.late_variants % len(_LATE_FIRST)]
    t.late_variants += 1
    if kind is None or h.idp is None:
        return
    at = h.end + timedelta(hours=rng.randint(1, 6)) + seconds(rng, 0, 3599)
    if kind == "stagedDelete":
        ev = Activity(at, "entra.stagedDelete", h.idp, a.app, a, actor="system", outcome="SKIPPED")
    else:
        ev = Activity(
            at,
            "application.provision.user.deactivate",
            h.idp,
            a.app,
            a,
            actor="system",
            outcome="FAILURE" if kind == "failure" else "SKIPPED",
        )
    t.activity.append(ev)
