"""IdP groups (Everyone, departments, contractors, and the groups pushed to apps, or in Entra
assigned to them) and the app-side group ids, derived from the final state of accounts."""

from __future__ import annotations

import random
from datetime import timedelta

from connectors.synthetic.clock import between
from connectors.synthetic.model import Account, IdpUser, Ids, OktaGroup, Tenant

__all__ = ["build_directory", "listed"]


def listed(t: Tenant, u: IdpUser | None) -> bool:
    """The user is in the IdP's user listing (not soft-deleted) and so in its groups."""
    return u is not None and u.deleted_at is None


def build_directory(t: Tenant, ids: Ids, rng: random.Random) -> None:
    entra = t.idp == "entra"

    def gid() -> str:
        return ids.uuid() if entra else ids.okta("00g")

    T = t.as_of
    start = T - timedelta(days=6 * 365)
    live = [u for u in t.idp_users if u.status != "DEPROVISIONED"]
    t.groups.append(
        OktaGroup(
            gid(),
            "All Users" if entra else "Everyone",
            "All users in your organization",
            start,
            "DYNAMIC" if entra else "BUILT_IN",
            [u for u in t.idp_users if listed(t, u)],
        )
    )
    depts: dict[str, list[IdpUser]] = {}
    for u in live:
        depts.setdefault(u.human.dept, []).append(u)
    for dept in sorted(depts):
        t.groups.append(
            OktaGroup(
                gid(),
                f"Dept - {dept}",
                f"Everyone in {dept} (from HR)",
                start,
                members=depts[dept],
            )
        )
    t.groups.append(
        OktaGroup(
            gid(),
            "Contractors",
            "Non-employee workers",
            start,
            members=[u for u in live if u.human.worker_type == "Contractor"],
        )
    )

    per_app: dict[int, list[Account]] = {}
    for a in t.accounts:
        per_app.setdefault(id(a.app), []).append(a)
    for app in t.apps:
        names: dict[str, None] = {}
        members: dict[str, dict[str, IdpUser]] = {}
        for a in per_app.get(id(app), []):
            names.update(dict.fromkeys([*a.groups, *a.pushed]))
            u = a.human.idp if a.human else None
            if u is not None and a.app.tpl.push and listed(t, u):
                for g in a.pushed:
                    members.setdefault(g, {}).setdefault(u.uid, u)
        for g in sorted(names):
            app.groups[g] = ids.uuid()
        if not app.tpl.push:
            continue
        created = app.created + timedelta(days=1)
        for g in sorted(names):
            # Entra provisions an assigned group under its own displayName, so the group is
            # named as the app group; an Okta push mapping names the target explicitly.
            og = OktaGroup(
                gid(),
                g if entra else f"{app.tpl.label} - {g}",
                f"Assigned to {app.tpl.label} ({g})"
                if entra
                else f"Pushed to {app.tpl.label} as {g}",
                between(rng, created, created + timedelta(days=30)),
                members=list(members.get(g, {}).values()),
                app=app,
                target=g,
                mapping_id=None if entra else ids.okta("gPm"),
            )
            t.groups.append(og)
    if entra:
        _nested(t, ids, rng)


def _nested(t: Tenant, ids: Ids, rng: random.Random) -> None:
    """A group nested in an app's assigned group, its members with no access to the app:
    Entra assigns only the direct members of an assigned group, so they are not assigned."""
    pushed = [g for g in t.groups if g.app is not None and g.members]
    if not pushed:
        return
    host = next((g for g in pushed if g.app is not None and g.app.name == "github"), pushed[0])
    app = host.app
    assert app is not None
    holders = {a.human.hid for a in t.accounts if a.app is app and a.human is not None}
    assigned = {x.user.uid for x in t.assignments if x.app is app}
    cands = [
        u
        for u in t.idp_users
        if u.human.hid not in holders
        and u.uid not in assigned
        and u.enabled
        and listed(t, u)
        and not u.human.idp_only
    ]
    rng.shuffle(cands)
    inner = OktaGroup(
        ids.uuid(),
        f"{app.tpl.label} Readers",
        f"Meant to give read access to {app.tpl.label} through {host.name} (nested)",
        host.created + timedelta(days=40),
        members=sorted(cands[:3], key=lambda u: u.uid),
    )
    host.nested.append(inner)
    t.groups.append(inner)
    t.hazards.append(
        f"a group nested in the {app.tpl.label} group {host.name!r}: its members are not "
        "assigned (Entra does not cascade an assignment to nested groups' members)"
    )
