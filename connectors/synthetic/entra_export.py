"""The Entra ID export folder: Microsoft Graph JSON as the API returns it (each file the `value`
array of its listing): users, deleted users, groups and their direct members, service
principals, app role assignments, and the provisioning logs (entra_log)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from connectors.synthetic.entra_log import INBOUND_APP, EntraApps, render_provisioning
from connectors.synthetic.jsonio import dumps, write_json, write_json_lines
from connectors.synthetic.model import (
    App,
    Assignment,
    IdpUser,
    Ids,
    OktaGroup,
    Tenant,
    day_start,
    iso,
)
from connectors.synthetic.oracle import listed_assignments

__all__ = ["write_entra", "INBOUND_APP", "FIRST_PARTY"]

# Microsoft's own service principals every tenant lists, with their well-known appIds: in the
# listing, never assigned, so they must produce nothing.
FIRST_PARTY = (
    ("Microsoft Graph", "00000003-0000-0000-c000-000000000000"),
    ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000"),
)
_MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
_SSO = {"SAML_2_0": "saml", "OPENID_CONNECT": "oidc", "AUTO_LOGIN": "password"}


def _user(t: Tenant, u: IdpUser, request_id: str) -> dict[str, Any]:
    h = u.human
    rec: dict[str, Any] = {
        "id": u.uid,
        "userPrincipalName": u.login,
        "mail": u.email,
        "otherMails": [h.old_email] if h.old_email and h.renamed_at else [],
        "displayName": h.display,
        "givenName": h.first,
        "surname": h.last,
    }
    if not h.idp_only:
        rec["employeeId"] = u.employee_number  # null for the users HR links by email only
    rec["department"] = h.dept
    rec["jobTitle"] = h.title
    rec["accountEnabled"] = u.enabled and u.deleted_at is None
    rec["createdDateTime"] = iso(u.created)
    rec["employeeHireDate"] = iso(day_start(h.records[-1].hire)) if h.records else None
    # A leaver's last day as HR (or, for an IdP-only user, the admin) recorded it: the only
    # instant Graph gives for a disable.
    rec["employeeLeaveDateTime"] = (
        iso(u.status_changed if h.idp_only else h.end) if u.status == "DEPROVISIONED" else None
    )
    rec["userType"] = "Member"
    rec["signInActivity"] = {
        "lastSignInDateTime": iso(u.last_login),
        "lastSignInRequestId": request_id if u.last_login else None,
        "lastNonInteractiveSignInDateTime": iso(u.last_login),
    }
    if u.deleted_at is not None:
        rec["deletedDateTime"] = iso(u.deleted_at)
    return rec


def _group(g: OktaGroup) -> dict[str, Any]:
    dynamic = g.kind == "DYNAMIC"
    return {
        "id": g.gid,
        "displayName": g.name,
        "description": g.description,
        "createdDateTime": iso(g.created),
        "groupTypes": ["DynamicMembership"] if dynamic else [],
        "mailEnabled": False,
        "mailNickname": "".join(c for c in g.name if c.isalnum()) or g.gid[:8],
        "membershipRule": 'user.userType -eq "Member"' if dynamic else None,
        "membershipRuleProcessingState": "On" if dynamic else None,
        "securityEnabled": True,
        "visibility": "Private",
    }


def _member(u: IdpUser) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.user",
        "id": u.uid,
        "displayName": u.human.display,
        "userPrincipalName": u.login,
        "mail": u.email,
    }


def _sp(sp_id: str, app_id: str, name: str, mode: str | None, roles: list[Any]) -> dict[str, Any]:
    return {
        "id": sp_id,
        "appId": app_id,
        "displayName": name,
        "accountEnabled": True,
        "appRoleAssignmentRequired": bool(roles),
        "appRoles": roles,
        "preferredSingleSignOnMode": mode,
        "servicePrincipalType": "Application",
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"] if roles else [],
    }


def _assignment(
    aid: str, role: str, at: Any, who: str, pid: str, kind: str, app: App
) -> dict[str, Any]:
    return {
        "id": aid,
        "appRoleId": role,
        "createdDateTime": iso(at),
        "deletedDateTime": None,
        "principalDisplayName": who,
        "principalId": pid,
        "principalType": kind,
        "resourceDisplayName": app.tpl.label,
        "resourceId": app.okta_id,
    }


def _by_group(x: Assignment) -> bool:
    """Entra holds this assignment through the user's membership of groups assigned to the
    app (the analogue of Okta group push), not as a user assignment of its own."""
    a = x.account
    return x.app.tpl.push and a is not None and bool(a.pushed)


def write_entra(t: Tenant, root: Path, ids: Ids, rng: random.Random) -> dict[str, int]:
    """Write the Graph listings and provisioning.json under `root`; counts of what was written."""
    users = [u for u in t.idp_users if u.deleted_at is None]
    deleted = [u for u in t.idp_users if u.deleted_at is not None]
    write_json_lines(root / "users.json", [dumps(_user(t, u, ids.uuid())) for u in users])
    write_json_lines(root / "deletedUsers.json", [dumps(_user(t, u, ids.uuid())) for u in deleted])
    write_json(root / "groups.json", [_group(g) for g in t.groups])
    members = {u.uid: dumps(_member(u)) for u in users}
    for g in t.groups:
        nested = [
            dumps({"@odata.type": "#microsoft.graph.group", "id": n.gid, "displayName": n.name})
            for n in g.nested
        ]
        write_json_lines(
            root / "group_members" / f"{g.gid}.json",
            [members[u.uid] for u in g.members if u.uid in members] + nested,
        )

    managed = [a for a in t.apps if a.okta]
    apps = EntraApps(
        app_ids={a.name: ids.uuid() for a in managed},
        roles={a.name: ids.uuid() for a in managed},
        inbound_sp=ids.uuid(),
        inbound_app=ids.uuid(),
    )
    sps = []
    for a in managed:
        role = {
            "id": apps.roles[a.name],
            "allowedMemberTypes": ["User"],
            "displayName": "User",
            "description": f"{a.tpl.label} user",
            "isEnabled": True,
            "value": None,
        }
        sps.append(
            _sp(a.okta_id or "", apps.app_ids[a.name], a.tpl.label, _SSO.get(a.tpl.sign_on), [role])
        )
    for name, app_id in FIRST_PARTY:
        sp = _sp(ids.uuid(), app_id, name, None, [])
        sp["appOwnerOrganizationId"] = _MICROSOFT_TENANT
        sps.append(sp)
    sps.append(_sp(apps.inbound_sp, apps.inbound_app, INBOUND_APP, None, []))
    write_json(root / "servicePrincipals.json", sps)

    rows: list[dict[str, Any]] = []
    direct = [x for x in listed_assignments(t) if x.app.okta and not _by_group(x)]
    for a in managed:
        mine = sorted((x for x in direct if x.app is a), key=lambda x: x.user.uid)
        for x in mine:
            rows.append(
                _assignment(
                    ids.unique_token(43),
                    apps.roles[a.name],
                    x.created,
                    x.user.human.display,
                    x.user.uid,
                    "User",
                    a,
                )
            )
        for g in sorted((g for g in t.groups if g.app is a), key=lambda g: g.gid):
            rows.append(
                _assignment(
                    ids.unique_token(43), apps.roles[a.name], g.created, g.name, g.gid, "Group", a
                )
            )
    write_json(root / "appRoleAssignments.json", rows)
    logs = render_provisioning(t, ids, rng, apps)
    write_json_lines(root / "provisioning.json", logs)
    return {
        "entra_users": len(users),
        "entra_deleted_users": len(deleted),
        "entra_groups": len(t.groups),
        "assignments": len(rows),
        "provisioning_records": len(logs),
    }
