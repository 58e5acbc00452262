"""Entra-only facts decided before accounts exist: which leavers' users are soft-deleted
(Graph deletedItems keeps a deleted user 30 days), and the tenant's id."""

from __future__ import annotations

import random
from datetime import timedelta

from connectors.synthetic.clock import between
from connectors.synthetic.model import Ids, Tenant

__all__ = ["plan_entra", "ENTRA_HAZARDS"]

# Okta-worded hazard texts of the shared generator steps, as they read for an Entra tenant.
ENTRA_HAZARDS = {
    "long-gone leavers: DEPROVISIONED in Okta or deleted from it, accounts "
    "deleted or inactive, no events inside the period": "long-gone leavers: disabled in Entra "
    "(their app role assignments still listed) or deleted from it, accounts deleted or "
    "inactive, no events inside the period",
    "GitHub accounts linked only through SCIM externalId = Okta user id "
    "(handle user names, no email)": "GitHub accounts linked only through SCIM externalId = "
    "Entra object id (handle user names, no email)",
    "renamed people: new address in HR and Okta, the old one in HR Aliases "
    "and still the user name of their accounts in CSV-only apps": "renamed people: new address "
    "in HR and Entra (the old one in otherMails and HR Aliases) and still the user name of "
    "their accounts in CSV-only apps",
    "owned service accounts (svc-*) listed in policy.service_accounts, "
    "unassigned in Okta, matching no person": "owned service accounts (svc-*) listed in "
    "policy.service_accounts, unassigned in Entra, matching no person",
}

# Leavers whose hazard needs the user listed: the failed disable of an active account.
_KEEP_LISTED = ("orphan:scim_failed", "orphan:never", "grace")


def plan_entra(t: Tenant, rng: random.Random) -> None:
    """The tenant id, and leavers of the last two months whose Entra user was deleted
    since (soft-deleted: their assignments and group memberships are gone with them)."""
    t.entra_tenant = Ids(rng, t.ids_seen).uuid()
    T = t.as_of
    n = 0
    for h in t.humans:
        u = h.idp
        if u is None or h.idp_only or u.status != "DEPROVISIONED" or h.used in _KEEP_LISTED:
            continue
        assert u.status_changed is not None
        if T - timedelta(days=60) < u.status_changed < T - timedelta(days=3):
            if rng.random() < 0.35:
                lo = max(u.status_changed + timedelta(days=1), T - timedelta(days=29))
                u.deleted_at = between(rng, lo, T - timedelta(hours=1))
                n += 1
    t.hazards.append(
        f"leavers whose Entra user was deleted in the last 30 days ({n}): listed in "
        "deletedItems with deletedDateTime, their assignments gone"
    )
    t.hazards.append(
        "terminated people's disabled Entra users keep their app role assignments and group "
        "memberships (the accounts themselves were deactivated on time)"
    )
