"""Injected findings decided before accounts exist: how a leaver is (not) deprovisioned, and
movers who keep entitlements of their old role. Their truth is read off the built accounts."""

from __future__ import annotations

import random
from datetime import timedelta
from fnmatch import fnmatchcase

from connectors.synthetic.apps import grants_for
from connectors.synthetic.catalog import PRIVILEGED, ROLES, SOD_RULES
from connectors.synthetic.clock import between, day_between
from connectors.synthetic.hazards import pick
from connectors.synthetic.model import App, Human, Tenant, day_start

__all__ = [
    "plan_lifecycle",
    "lifecycle_truth",
    "removal_logged",
    "safe_entitlement",
    "role_counts",
    "BIG",
]

BIG = 21  # one holder in a peer group this size is under 5 %


def safe_entitlement(t: Tenant, app: str, ent: str) -> bool:
    """Not privileged, not part of an SoD rule, not time-bound: reported by one finding only."""
    if any(fnmatchcase(ent.lower(), p) for p in PRIVILEGED):
        return False
    if any((app, ent) in (r.a, r.b) for r in SOD_RULES):
        return False
    a = t.app(app)
    return a is None or all(ent != e for e, _ in a.tpl.time_bound)


def role_counts(t: Tenant, statuses: tuple[str, ...] = ("active",)) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for h in t.humans:
        if h.status in statuses:
            out[(h.dept, h.title)] = out.get((h.dept, h.title), 0) + 1
    return out


def _apps_of(t: Tenant, h: Human, kinds: tuple[str, ...]) -> list[str]:
    return [
        a.name for a in t.apps if a.kind in kinds and grants_for(a.tpl, h.dept, h.title) is not None
    ]


def _leavers(t: Tenant, lo_days: int) -> list[Human]:
    T, P = t.as_of, t.period_start
    return [
        h
        for h in t.humans
        if not h.idp_only
        and h.status == "terminated"
        and h.end
        and not h.used
        and P + timedelta(days=5) < h.end < T - timedelta(days=lo_days)
        and len(h.segments) == 1
    ]


def plan_lifecycle(t: Tenant, rng: random.Random, n: int) -> None:
    """Choose the leavers and movers the injected lifecycle findings happen to."""
    T = t.as_of
    for h in pick(rng, _fewest(t, _leavers(t, 10), n), max(1, n // 2), "orphan:never"):
        h.deprov = "never"
    missed = [h for h in _leavers(t, 5) if _apps_of(t, h, ("csv_only",))]
    for h in pick(rng, missed, max(1, n // 2), "orphan:missed_csv"):
        h.deprov, h.deprov_app = "missed_csv", rng.choice(_apps_of(t, h, ("csv_only",)))
    failed = [h for h in _leavers(t, 5) if _unpushed_scim(t, h)]
    for h in pick(rng, failed, 1, "orphan:scim_failed"):
        h.deprov, h.deprov_app = "scim_failed", rng.choice(_unpushed_scim(t, h))
    # Late deprovisioning is on record where the IdP logs it: Okta for every app it manages,
    # Entra's provisioning logs for the SCIM apps only.
    managed = ("scim_okta", "csv_okta") if t.idp == "okta" else ("scim_okta",)
    late = [h for h in _leavers(t, 30) if _apps_of(t, h, managed)]
    for h in pick(rng, _fewest(t, late, n), max(1, n // 2), "sla:late"):
        h.deprov = "late"
        h.deprov_delay = timedelta(days=rng.randint(3, 20), hours=rng.randint(0, 20))
    advisors = [h for h in t.humans if h.idp_only and h.title == "Advisor" and not h.used]
    if t.app("expensify") is not None:
        for h in pick(rng, advisors, 1, "orphan:idp_only"):
            h.status, h.deprov, h.deprov_app = "terminated", "missed_csv", "expensify"
            h.end = between(rng, T - timedelta(days=100), T - timedelta(days=20))
            h.deprov_delay = timedelta(0)
    for h in t.humans:
        if h.status == "terminated" and h.deprov in ("ontime", "missed_csv", "scim_failed"):
            h.deprov_delay = (
                h.deprov_delay
                if h.idp_only
                else timedelta(hours=rng.randint(1, 12), seconds=rng.randint(0, 3599))
            )
    _plan_movers(t, rng, max(1, n // 2))


def _fewest(t: Tenant, humans: list[Human], n: int) -> list[Human]:
    """The leavers with the fewest accounts (so one injection is a handful of findings)."""
    ranked = sorted(
        humans, key=lambda h: (len(_apps_of(t, h, ("scim_okta", "csv_okta", "csv_only"))), h.hid)
    )
    return ranked[: max(4, 2 * n)]


def _unpushed_scim(t: Tenant, h: Human) -> list[str]:
    out = []
    for a in t.apps:
        g = grants_for(a.tpl, h.dept, h.title) if a.scim else None
        if g is not None and not (a.tpl.push and g.groups):
            out.append(a.name)
    return out


def _plan_movers(t: Tenant, rng: random.Random, k: int) -> None:
    """Movers into a big role who keep entitlements of the role they left."""
    T = t.as_of
    counts = role_counts(t)
    big = {r for r, c in counts.items() if c >= BIG}
    weighted = [(r.dept, r.title) for r in ROLES if not r.fixed]
    cands = [
        h
        for h in t.humans
        if not h.idp_only
        and not h.used
        and h.status == "active"
        and len(h.segments) == 1
        and (h.dept, h.title) in big
        and h.start
        and h.start < T - timedelta(days=330)
    ]
    claimed = t.claimed
    for h in pick(rng, cands, k, "creep:mover_residual"):
        olds = [r for r in weighted if r != (h.dept, h.title) and counts.get(r, 0) >= 3]
        rng.shuffle(olds)
        for old in olds:
            keep = _residue(t, old, (h.dept, h.title))
            keep = [(a, e) for a, e in keep if (h.dept, h.title, a, e) not in claimed]
            if keep:
                break
        else:
            h.used = ""
            continue
        for a, e in keep:
            claimed.add((h.dept, h.title, a, e))
        assert h.start is not None
        moved = day_between(
            rng,
            max(h.start + timedelta(days=90), T - timedelta(days=250)).date(),
            (T - timedelta(days=100)).date(),
        )
        h.segments = [(h.segments[0][0], *old), (day_start(moved), h.dept, h.title)]
        h.keep = keep


def _residue(t: Tenant, old: tuple[str, str], new: tuple[str, str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for app in t.apps:
        g0 = grants_for(app.tpl, *old)
        g1 = grants_for(app.tpl, *new)
        if g0 is None:
            continue
        if g1 is not None:
            local = () if app.tpl.push else g0.groups
            cand = [e for e in (*local, *g0.roles, *g0.ents) if e not in g1.all()]
        elif app.kind == "csv_only":
            cand = list(g0.all())
        else:
            continue
        out += [(app.name, e) for e in cand if safe_entitlement(t, app.name, e)]
    return out


def removal_logged(t: Tenant, app: App) -> bool:
    """The IdP logs the removal of this app's accounts: Okta unassigns and deprovisions in its
    System Log for every app it manages; Entra's provisioning logs hold only the apps it
    provisions (SCIM), an SSO-only app's account ends unrecorded."""
    return app.okta if t.idp == "okta" else app.scim


def lifecycle_truth(t: Tenant) -> None:
    """Expected findings of the planned lifecycle injections, from the accounts as built."""
    for a in t.accounts:
        h = a.human
        if h is None or a.service_owner:
            continue
        if h.status == "terminated" and a.active and not a.deleted and h.deprov != "grace":
            t.find("orphan", "terminated_active", a.app.name, a.user_name)
        elif (
            h.deprov == "late"
            and removal_logged(t, a.app)
            and a.deactivated_at
            and h.end
            and a.deactivated_at > h.end
        ):
            t.find("sla", "deprovision_late", a.app.name, a.user_name)
        if h.keep and a.active:
            for app, e in h.keep:
                if app == a.app.name and e in a.entitlements():
                    t.find("creep", "mover_residual", app, a.user_name, entitlement=e)
