"""The Okta export folder: JSON arrays exactly as the Okta API returns them."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from connectors.synthetic.catalog import OKTA_HOST
from connectors.synthetic.jsonio import dumps, write_json, write_json_lines
from connectors.synthetic.model import App, Assignment, IdpUser, Ids, OktaGroup, Tenant, iso_ms
from connectors.synthetic.okta_log import render_logs

__all__ = ["write_okta"]

_API = f"https://{OKTA_HOST}/api/v1"


def _user(u: IdpUser, type_id: str) -> dict[str, Any]:
    h = u.human
    rec = h.records[-1] if h.records else None
    profile = {
        "firstName": h.first,
        "lastName": h.last,
        "mobilePhone": None,
        "secondEmail": None,
        "login": u.login,
        "email": u.email,
        "displayName": h.display,
        "employeeNumber": u.employee_number,
        "department": h.dept,
        "title": h.title,
        "userType": h.worker_type,
        "organization": "Acme" if rec else None,
        "managerId": h.manager_id or None,
    }
    creds: dict[str, Any] = {
        "emails": [{"value": u.email, "status": "VERIFIED", "type": "PRIMARY"}],
        "provider": {"type": "OKTA", "name": "OKTA"},
    }
    if u.password_changed is not None:
        creds = {"password": {}, **creds}
    return {
        "id": u.uid,
        "status": u.status,
        "created": iso_ms(u.created),
        "activated": iso_ms(u.activated),
        "statusChanged": iso_ms(u.status_changed),
        "lastLogin": iso_ms(u.last_login),
        "lastUpdated": iso_ms(u.last_updated),
        "passwordChanged": iso_ms(u.password_changed),
        "type": {"id": type_id},
        "profile": profile,
        "credentials": creds,
        "_links": {"self": {"href": f"{_API}/users/{u.uid}"}},
    }


def _group(g: OktaGroup) -> dict[str, Any]:
    return {
        "id": g.gid,
        "created": iso_ms(g.created),
        "lastUpdated": iso_ms(g.created),
        "lastMembershipUpdated": iso_ms(g.created),
        "objectClass": ["okta:user_group"],
        "type": g.kind,
        "profile": {"name": g.name, "description": g.description},
        "_links": {
            "logo": [
                {
                    "name": "medium",
                    "href": "https://ok12static.oktacdn.com/assets/img/"
                    "logos/groups/okta-medium.png",
                    "type": "image/png",
                }
            ],
            "users": {"href": f"{_API}/groups/{g.gid}/users"},
            "apps": {"href": f"{_API}/groups/{g.gid}/apps"},
        },
    }


def _app(a: App) -> dict[str, Any]:
    features = ["PUSH_NEW_USERS", "PUSH_USER_DEACTIVATION", "PUSH_PROFILE_UPDATES"]
    if a.tpl.push:
        features.append("GROUP_PUSH")
    if not a.scim:
        features = []
    template = "${source.login}" if a.tpl.user_style == "email" else "${source.githubHandle}"
    return {
        "id": a.okta_id,
        "name": a.tpl.okta_name,
        "label": a.tpl.label,
        "status": "ACTIVE",
        "lastUpdated": iso_ms(a.created),
        "created": iso_ms(a.created),
        "accessibility": {"selfService": False, "errorRedirectUrl": None, "loginRedirectUrl": None},
        "visibility": {
            "autoSubmitToolbar": False,
            "hide": {"iOS": False, "web": False},
            "appLinks": {f"{a.tpl.okta_name}_link": True},
        },
        "features": features,
        "signOnMode": a.tpl.sign_on,
        "credentials": {
            "userNameTemplate": {"template": template, "type": "BUILT_IN"},
            "signing": {},
        },
        "settings": {"app": {}},
        "_links": {
            "users": {"href": f"{_API}/apps/{a.okta_id}/users"},
            "groups": {"href": f"{_API}/apps/{a.okta_id}/groups"},
            "self": {"href": f"{_API}/apps/{a.okta_id}"},
        },
    }


def _bookmark(t: Tenant, ids: Ids) -> dict[str, Any]:
    """An app in the IdP's list with no assignments: no desired state, so no drift."""
    created = t.period_start
    app_id = ids.okta("0oa")
    return {
        "id": app_id,
        "name": "bookmark",
        "label": "Status Page",
        "status": "ACTIVE",
        "lastUpdated": iso_ms(created),
        "created": iso_ms(created),
        "accessibility": {"selfService": False, "errorRedirectUrl": None, "loginRedirectUrl": None},
        "visibility": {
            "autoSubmitToolbar": False,
            "hide": {"iOS": False, "web": False},
            "appLinks": {"login": True},
        },
        "features": [],
        "signOnMode": "BOOKMARK",
        "credentials": {
            "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
            "signing": {},
        },
        "settings": {"app": {"requestIntegration": False, "url": "https://status.acme.example"}},
        "_links": {"self": {"href": f"{_API}/apps/{app_id}"}},
    }


def _app_user(x: Assignment) -> dict[str, Any]:
    u, a = x.user, x.account
    h = u.human
    profile: dict[str, Any] = {
        "email": u.email,
        "givenName": h.first,
        "familyName": h.last,
        "displayName": h.display,
    }
    if "department" in x.app.tpl.reports:
        profile["department"] = h.dept
    return {
        "id": u.uid,
        "externalId": a.account_id if a is not None and x.app.scim and not a.deleted else None,
        "created": iso_ms(x.created),
        "lastUpdated": iso_ms(max(x.created, a.modified or x.created) if a else x.created),
        "scope": "GROUP" if a is not None and a.pushed else "USER",
        "status": x.status if x.app.scim else "ACTIVE",
        "statusChanged": iso_ms(x.created),
        "passwordChanged": None,
        "syncState": x.sync_state if x.app.scim else "DISABLED",
        "lastSync": iso_ms(a.modified if a is not None else x.created),
        "credentials": {"userName": x.user_name},
        "profile": profile,
        "_links": {
            "app": {"href": f"{_API}/apps/{x.app.okta_id}"},
            "user": {"href": f"{_API}/users/{u.uid}"},
        },
    }


def _push(g: OktaGroup) -> dict[str, Any]:
    assert g.app is not None and g.target is not None
    return {
        "mappingId": g.mapping_id,
        "sourceGroupId": g.gid,
        "targetGroupId": g.app.groups.get(g.target),
        "targetGroupName": g.target,
        "status": "ACTIVE",
        "created": iso_ms(g.created),
        "lastUpdated": iso_ms(g.created),
        "lastPush": iso_ms(g.created),
        "errorSummary": None,
        "_links": {
            "app": {"href": f"{_API}/apps/{g.app.okta_id}"},
            "sourceGroup": {"href": f"{_API}/groups/{g.gid}"},
        },
    }


def write_okta(t: Tenant, root: Path, ids: Ids, rng: random.Random) -> dict[str, int]:
    """Write users, groups, members, apps, app users, group push and logs under `root`."""
    type_id = ids.okta("oty")
    users = {u.uid: dumps(_user(u, type_id)) for u in t.idp_users}
    write_json_lines(root / "users.json", list(users.values()))
    write_json(root / "groups.json", [_group(g) for g in t.groups])
    for g in t.groups:
        write_json_lines(
            root / "group_members" / f"{g.gid}.json", [users[u.uid] for u in g.members]
        )
    okta_apps = [a for a in t.apps if a.okta]
    write_json(root / "apps.json", [_app(a) for a in okta_apps] + [_bookmark(t, ids)])
    n_assign = 0
    for a in okta_apps:
        rows = sorted(
            (x for x in t.assignments if x.app is a and not x.removed), key=lambda x: x.user.uid
        )
        n_assign += len(rows)
        write_json(root / "app_users" / f"{a.okta_id}.json", [_app_user(x) for x in rows])
        if a.tpl.push:
            write_json(
                root / "group_push" / f"{a.okta_id}.json",
                [_push(g) for g in t.groups if g.app is a],
            )
    logs = render_logs(t, ids, rng)
    write_json_lines(root / "logs.json", logs)
    return {
        "okta_users": len(users),
        "okta_groups": len(t.groups),
        "assignments": n_assign,
        "log_events": len(logs),
    }
