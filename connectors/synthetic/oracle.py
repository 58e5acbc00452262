"""Self-check: every finding definition of ARCHITECTURE.md evaluated over the generated tenant,
independently of how the injections recorded their truth. `expected_findings(t)` must equal
`t.truth`: that is what proves the background clean and the truth complete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from connectors.synthetic.catalog import PRIVILEGED, SOD_RULES
from connectors.synthetic.config_export import POLICY, truth_key
from connectors.synthetic.directory import listed
from connectors.synthetic.lifecycle_plan import removal_logged
from connectors.synthetic.model import Account, Assignment, Human, IdpUser, Tenant

__all__ = ["expected_findings", "lifecycle", "listed_assignments"]

Add = Callable[..., None]
_ENDED = ("deprovisioned", "deleted", "gone")
_OKTA = {"DEPROVISIONED": "deprovisioned", "SUSPENDED": "suspended", "STAGED": "staged",
         "PROVISIONED": "staged"}  # fmt: skip


def _key(x: str | None) -> str:
    return (x or "").strip().lower()


def lifecycle(t: Tenant, u: IdpUser | None) -> str:
    """The IdP user's canonical lifecycle (DOMAIN.md §9.7), as the IdP's listings show it:
    Okta's status; Entra's accountEnabled (false: deprovisioned) and deletedItems (deleted);
    gone when no listing has the user."""
    if u is None:
        return "gone"
    if t.idp == "entra":
        return "deleted" if u.deleted_at else "active" if u.enabled else "deprovisioned"
    return _OKTA.get(u.status, "active")


def _status(t: Tenant, h: Human) -> str:
    if h.idp_only:
        lc = lifecycle(t, h.idp)
        return "terminated" if lc in _ENDED else "leave" if lc == "suspended" else "active"
    return h.status


def _privileged(ent: str) -> bool:
    return any(fnmatchcase(ent.lower(), p) for p in PRIVILEGED)


def expected_findings(t: Tenant) -> list[dict[str, str]]:
    """The findings the tenant must produce, derived from the definitions alone."""
    T = t.as_of
    grace = timedelta(hours=POLICY["grace_hours"])
    out: list[dict[str, str]] = []

    def add(kind: str, sub: str, app: str, account: str, **extra: str) -> None:
        out.append({"kind": kind, "subkind": sub, "app": app, "account": account, **extra})

    live = [a for a in t.accounts if a.active and not a.deleted]
    orphans: set[int] = set()
    for a in live:
        if a.service_owner:
            continue
        h = a.human
        if h is None:
            orphans.add(id(a))
            accepted = any(
                r["app"] == a.app.name and r["account"] == a.user_name for r in t.accepted_risks
            )
            add(
                "orphan",
                "unmatched",
                a.app.name,
                a.user_name,
                **({"status": "accepted"} if accepted else {}),
            )
        elif _status(t, h) == "terminated":
            end = h.end if not h.idp_only else (h.idp.status_changed if h.idp else h.end)
            assert end is not None
            if end + grace < T:
                orphans.add(id(a))
                add("orphan", "terminated_active", a.app.name, a.user_name)

    def judged(a: Account) -> bool:
        return id(a) not in orphans and not a.service_owner

    _drift(t, live, judged, add)
    _creep(t, live, add)
    for a in live:
        if (
            judged(a)
            and a.app.reports_login
            and a.last_login is not None
            and a.last_login < T - timedelta(days=POLICY["dormant_days"])
        ):
            add("dormant", "no_login", a.app.name, a.user_name)
    last_sso: dict[tuple[str, str], datetime] = {}
    for ev in t.activity:
        if ev.event_type == "user.authentication.sso" and ev.app and ev.user and ev.at < T:
            k = (ev.app.name, ev.user.uid)
            last_sso[k] = max(last_sso.get(k, ev.at), ev.at)
    for a in live:
        u = a.human.idp if a.human else None
        seen = last_sso.get((a.app.name, u.uid)) if u else None
        if judged(a) and seen is not None and a.last_login is None:
            assert seen >= T - timedelta(days=POLICY["dormant_days"]), (
                f"{a.app.name} {a.user_name}: newest SSO {seen} would read as dormant"
            )
    sla = timedelta(hours=POLICY["deprovision_sla_hours"])
    for a in t.accounts:
        h = a.human
        if (
            h is not None
            and h.status == "terminated"
            and h.end
            and removal_logged(t, a.app)
            and a.deactivated_at
            and a.deactivated_at >= t.period_start
            and a.deactivated_at > h.end + sla
            and not a.active
        ):
            add("sla", "deprovision_late", a.app.name, a.user_name)
    by_person: dict[tuple[int, str], list[Account]] = {}
    for a in live:
        if a.human is not None and not a.service_owner:
            by_person.setdefault((a.human.hid, a.app.name), []).append(a)
    for accs in by_person.values():
        if len(accs) > 1:
            for a in accs:
                add("duplicate", "multiple_accounts", a.app.name, a.user_name)
    return sorted(out, key=truth_key)


def listed_assignments(t: Tenant) -> list[Assignment]:
    """The assignments the IdP's listing holds: not removed, of a listed user (a deleted
    user's assignments go with it; Entra keeps those of a disabled user)."""
    return [x for x in t.assignments if not x.removed and listed(t, x.user)]


def _drift(t: Tenant, live: list[Account], judged: Callable[[Account], bool], add: Add) -> None:
    T = t.as_of
    grace = timedelta(hours=POLICY["grace_hours"])
    # Desired state: listed assignments of users whose lifecycle still grants access.
    assigned = [x for x in listed_assignments(t) if lifecycle(t, x.user) not in _ENDED]
    have = {(x.app.name, x.user.uid) for x in assigned}
    still_listed = {(x.app.name, x.user.uid) for x in listed_assignments(t)}
    for x in assigned:
        a = x.account
        ok = a is not None and a.active and not a.deleted
        if not ok and x.created + grace < T:
            add("drift", "missing_account", x.app.name, x.user_name)
    for a in live:
        if not a.app.okta or not judged(a):
            continue
        h = a.human
        assert h is not None
        if h.idp is None or (a.app.name, h.idp.uid) not in have:
            # People on leave keep their access, whatever the IdP did to their user's sign-in:
            # an assignment still listed stands for their account.
            on_leave = _status(t, h) == "leave" and h.idp is not None
            if not (on_leave and (a.app.name, h.idp.uid) in still_listed):
                add("drift", "unassigned_account", a.app.name, a.user_name)
            continue
        email = h.email
        if (
            (a.email is not None and _key(a.email) != email)
            or (a.display_name is not None and a.display_name != h.display)
            or (a.department is not None and a.department != h.dept)
        ):
            add("drift", "attribute_mismatch", a.app.name, a.user_name)
    for g in t.groups:
        if g.app is None or g.target is None:
            continue
        idp = {u.uid for u in g.members}
        for a in live:
            if a.app is not g.app or not judged(a):
                continue
            uid = a.human.idp.uid if a.human and a.human.idp else None
            if (g.target in a.groups) != (uid in idp):
                add("drift", "group_mismatch", a.app.name, a.user_name, entitlement=g.target)
        app_members = {a.human.idp.uid for a in live if a.app is g.app and a.human and a.human.idp}
        for u in g.members:
            if lifecycle(t, u) not in _ENDED:
                assert u.uid in app_members, f"{g.name}: IdP member {u.login} has no app account"


def _creep(t: Tenant, live: list[Account], add: Add) -> None:
    T = t.as_of
    peers: dict[tuple[str, str], list[Human]] = {}
    for h in t.humans:
        if _status(t, h) == "active":
            peers.setdefault((h.dept, h.title), []).append(h)
    holds: dict[int, set[tuple[str, str]]] = {}
    for a in live:
        if a.human is not None:
            holds.setdefault(a.human.hid, set()).update((a.app.name, e) for e in a.entitlements())

    def share(role: tuple[str, str], ent: tuple[str, str]) -> tuple[float, int]:
        group = peers.get(role, [])
        n = sum(ent in holds.get(p.hid, set()) for p in group)
        return (n / len(group) if group else 0.0), len(group)

    limits = {(a.name, e): d for a in t.apps for e, d in a.tpl.time_bound}
    window = T - timedelta(days=POLICY["privilege_window_days"])
    pct = POLICY["peer_outlier_pct"] / 100
    for a in live:
        h = a.human
        if h is None:
            continue
        gained = [e for e in a.entitlements() if _privileged(e) and a.granted.get(e, T) >= window]
        total = [e for e in a.entitlements() if _privileged(e)]
        if len(gained) > POLICY["privilege_growth_max"]:
            add("creep", "privilege_accumulation", a.app.name, a.user_name)
        else:
            assert len(total) <= POLICY["privilege_growth_max"], (a.app.name, a.user_name, total)
        role = (h.dept, h.title)
        for e in a.entitlements():
            ent = (a.app.name, e)
            if len(h.segments) > 1 and h.segments[-1][0] < T - timedelta(days=POLICY["mover_days"]):
                old = (h.segments[-2][1], h.segments[-2][2])
                if share(old, ent)[0] >= 0.5 and share(role, ent)[0] < pct:
                    add("creep", "mover_residual", a.app.name, a.user_name, entitlement=e)
                    continue
            if ent in limits and a.granted.get(e, T) < T - timedelta(days=limits[ent]):
                add("creep", "expired_grant", a.app.name, a.user_name, entitlement=e)
                continue
            s, n = share(role, ent)
            if _status(t, h) == "active" and n >= POLICY["peer_min_group"] and s < pct:
                add("creep", "peer_outlier", a.app.name, a.user_name, entitlement=e)
    for h in t.humans:
        mine = holds.get(h.hid, set())
        for r in SOD_RULES:
            if r.a in mine and r.b in mine:
                holder = next(
                    a
                    for a in live
                    if a.human is h and a.app.name == r.a[0] and r.a[1] in a.entitlements()
                )
                add("sod", "toxic_combination", r.a[0], holder.user_name, rule=r.name)
