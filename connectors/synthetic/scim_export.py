"""SCIM 2.0 exports per app: Users and Groups ListResponses (RFC 7643 / RFC 7644)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from connectors.synthetic.jsonio import write_json
from connectors.synthetic.model import Account, App, Tenant, iso

__all__ = ["write_scim", "LIST_RESPONSE", "CORE_USER", "ENTERPRISE", "CORE_GROUP"]

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _version(*parts: object) -> str:
    return 'W/"' + hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:16] + '"'


def _listed(a: Account) -> bool:
    return not a.deleted


def _member(a: Account) -> bool:
    return _listed(a) and (a.active or a.stale_group_member)


def _user(a: Account, app: App, boss: dict[str, Account]) -> dict[str, Any]:
    h = a.human
    res: dict[str, Any] = {"schemas": [CORE_USER], "id": a.account_id}
    if a.external_id:
        res["externalId"] = a.external_id
    res["userName"] = a.user_name
    if a.first and a.last:
        res["name"] = {
            "formatted": f"{a.first} {a.last}",
            "familyName": a.last,
            "givenName": a.first,
        }
    if a.display_name:
        res["displayName"] = a.display_name
    if a.email:
        res["emails"] = [{"value": a.email, "type": "work", "primary": True}]
    res["active"] = a.active
    if h is not None and a.title:
        res["title"] = a.title
        res["userType"] = h.worker_type
    if app.tpl.list_groups_on_users and _member(a) and a.groups:
        res["groups"] = [
            {
                "value": app.groups[g],
                "$ref": f"{app.scim_base}/Groups/{app.groups[g]}",
                "display": g,
            }
            for g in a.groups
        ]
    if a.roles:
        res["roles"] = [
            {"value": r, "display": r, "type": "app", "primary": i == 0}
            for i, r in enumerate(a.roles)
        ]
    if a.ents:
        res["entitlements"] = [{"value": e, "display": e, "type": "license"} for e in a.ents]
    if h is not None and h.pid and "department" in app.tpl.reports:
        res["schemas"].append(ENTERPRISE)
        ext: dict[str, Any] = {"employeeNumber": h.pid, "department": a.department}
        m = boss.get(h.manager_id)
        if m is not None and m is not a:
            ext["manager"] = {
                "value": m.account_id,
                "$ref": f"{app.scim_base}/Users/{m.account_id}",
                "displayName": m.display_name,
            }
        res[ENTERPRISE] = ext
    modified = a.modified or a.created
    res["meta"] = {
        "resourceType": "User",
        "created": iso(a.created),
        "lastModified": iso(max(modified, a.created)),
        "location": f"{app.scim_base}/Users/{a.account_id}",
        "version": _version(a.account_id, iso(modified), a.active),
    }
    return res


def _list(resources: list[dict[str, Any]], total: int, start: int) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def write_scim(t: Tenant, root: Path) -> dict[str, int]:
    """sources/scim/<app>/Users[-NNNN].json and Groups.json for every SCIM app."""
    counts: dict[str, int] = {}
    for app in t.apps:
        if not app.scim:
            continue
        accounts = sorted(
            (a for a in t.accounts if a.app is app and _listed(a)),
            key=lambda a: (a.created, a.account_id),
        )
        boss = {a.human.pid: a for a in accounts if a.human and a.human.pid and a.active}
        users = [_user(a, app, boss) for a in accounts]
        folder = root / app.name
        size = app.tpl.page_size
        if size and len(users) > size:
            for i in range(0, len(users), size):
                write_json(
                    folder / f"Users-{i // size + 1:04d}.json",
                    _list(users[i : i + size], len(users), i + 1),
                    items="Resources",
                )
        else:
            write_json(folder / "Users.json", _list(users, len(users), 1), items="Resources")
        members: dict[str, list[Account]] = {g: [] for g in app.groups}
        for a in accounts:
            if _member(a):
                for g in a.groups:
                    members[g].append(a)
        groups = []
        for g, gid in app.groups.items():
            first = min((a.created for a in members[g]), default=app.created)
            groups.append(
                {
                    "schemas": [CORE_GROUP],
                    "id": gid,
                    "displayName": g,
                    "members": [
                        {
                            "value": a.account_id,
                            "$ref": f"{app.scim_base}/Users/{a.account_id}",
                            "display": a.display_name or a.user_name,
                        }
                        for a in members[g]
                    ],
                    "meta": {
                        "resourceType": "Group",
                        "created": iso(min(first, app.created)),
                        "lastModified": iso(
                            max((a.modified or a.created for a in members[g]), default=app.created)
                        ),
                        "location": f"{app.scim_base}/Groups/{gid}",
                        "version": _version(gid, len(members[g])),
                    },
                }
            )
        write_json(folder / "Groups.json", _list(groups, len(groups), 1), items="Resources")
        counts[app.name] = len(users)
    return counts
