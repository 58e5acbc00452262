"""Okta groups (Everyone, departments, contractors, and the groups pushed to apps) and the
app-side group ids, derived from the final state of accounts."""

from __future__ import annotations

import random
from datetime import timedelta

from connectors.synthetic.clock import between
from connectors.synthetic.model import IdpUser, Ids, OktaGroup, Tenant

__all__ = ["build_directory"]


def build_directory(t: Tenant, ids: Ids, rng: random.Random) -> None:
    T = t.as_of
    start = T - timedelta(days=6 * 365)
    live = [u for u in t.idp_users if u.status != "DEPROVISIONED"]
    t.groups.append(
        OktaGroup(
            ids.okta("00g"),
            "Everyone",
            "All users in your organization",
            start,
            "BUILT_IN",
            list(t.idp_users),
        )
    )
    depts: dict[str, list[IdpUser]] = {}
    for u in live:
        depts.setdefault(u.human.dept, []).append(u)
    for dept in sorted(depts):
        t.groups.append(
            OktaGroup(
                ids.okta("00g"),
                f"Dept - {dept}",
                f"Everyone in {dept} (from HR)",
                start,
                members=depts[dept],
            )
        )
    t.groups.append(
        OktaGroup(
            ids.okta("00g"),
            "Contractors",
            "Non-employee workers",
            start,
            members=[u for u in live if u.human.worker_type == "Contractor"],
        )
    )

    for app in t.apps:
        names: dict[str, None] = {}
        members: dict[str, dict[str, IdpUser]] = {}
        for a in t.accounts:
            if a.app is not app:
                continue
            names.update(dict.fromkeys([*a.groups, *a.pushed]))
            u = a.human.idp if a.human else None
            if u is not None and a.app.tpl.push:
                for g in a.pushed:
                    members.setdefault(g, {}).setdefault(u.uid, u)
        for g in sorted(names):
            app.groups[g] = ids.uuid()
        if not app.tpl.push:
            continue
        created = app.created + timedelta(days=1)
        for g in sorted(names):
            og = OktaGroup(
                ids.okta("00g"),
                f"{app.tpl.label} - {g}",
                f"Pushed to {app.tpl.label} as {g}",
                between(rng, created, created + timedelta(days=30)),
                members=list(members.get(g, {}).values()),
                app=app,
                target=g,
                mapping_id=ids.okta("gPm"),
            )
            t.groups.append(og)
