"""Entra ID directory listings (Microsoft Graph JSON) -> the IdP snapshots.

Mapping choices (one per line):
- idp_users: user_id = id, login = userPrincipalName, email = mail, second_email = the first
  of otherMails, employee_number = employeeId, title = jobTitle, status = "ACTIVE" when
  accountEnabled is true, "DISABLED" when false, null when not returned; lifecycle active /
  deprovisioned likewise (Entra's provisioning disables a disabled user's app accounts);
  created_at = createdDateTime; status_changed_at = employeeLeaveDateTime of a disabled user
  (Graph records no time of the disable itself); last_login_at =
  signInActivity.lastSignInDateTime; attributes = the record.
- deletedUsers.json (GET /directory/deletedItems/microsoft.graph.user: soft-deleted users,
  restorable for 30 days) adds rows with status "DELETED", lifecycle "deleted" and
  status_changed_at = deletedDateTime. A user in neither listing is gone (hard-deleted).
- idp_groups: name = displayName; attributes = description, groupTypes, mailEnabled,
  securityEnabled. idp_group_members: user members only (`@odata.type` user or absent);
  nested groups, devices and service principals are not people.
- apps: one row per service principal, app = displayName, status = ACTIVE/DISABLED from
  accountEnabled, sign_on_mode = preferredSingleSignOnMode.
- assignments (scope: every app, the listing is complete): a User principal gives a USER row;
  a Group principal gives a GROUP row for each user member (a direct USER row wins); app =
  the resource service principal's displayName (else resourceDisplayName); user_name = the
  user's userPrincipalName when known; status null (Graph has none); `groups` = the names of
  the app's assigned groups the user is in, sorted, null when no group is assigned to the app.
- group_push: the groups assigned to an app (Entra provisions them under their displayName).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import pyarrow as pa

from connectors.entra.fields import blank, instant, required
from connectors.exports import Records
from connectors.exports.shapes import BOOL, TEXT, conform
from connectors.records import SNAPSHOT_KEYS, SNAPSHOT_SCHEMAS, Snapshot
from connectors.redact import dumps, redact_column

__all__ = ["entra_snapshots"]

# The JSON types each record's fields must have (connectors.exports.shapes).
_USER = {
    **dict.fromkeys(("id", "userPrincipalName", "mail", "displayName", "employeeId", "department",
                     "jobTitle", "createdDateTime", "employeeLeaveDateTime", "deletedDateTime"),
                    TEXT),
    "otherMails": [TEXT], "accountEnabled": BOOL, "signInActivity": {"lastSignInDateTime": TEXT},
}  # fmt: skip
_GROUP = {"id": TEXT, "displayName": TEXT}
_MEMBER = {"id": TEXT, "@odata.type": TEXT}
_APP = {"id": TEXT, "displayName": TEXT, "accountEnabled": BOOL, "preferredSingleSignOnMode": TEXT}
_ASSIGNMENT = dict.fromkeys(
    ("principalType", "resourceId", "resourceDisplayName", "createdDateTime", "principalId"), TEXT
)


def entra_snapshots(
    *,
    users: Records | None,
    groups: Records | None,
    members: dict[str, Records],
    service_principals: Records | None,
    assignments: Records | None,
    deleted_users: Records | None = None,
) -> list[Snapshot]:
    """IdP snapshots from loaded listings; None or an empty dict means "not provided"."""
    snapshots: list[Snapshot] = []
    upn: dict[str, str | None] = {}
    if users is not None:
        rows = [_user(*r) for r in users] + [_user(*r, deleted=True) for r in deleted_users or []]
        upn = {r["user_id"]: r["login"] for r in rows}
        snapshots.append(_snapshot("idp_users", rows))
    names: dict[str, str | None] = {}
    if groups is not None:
        rows = [_group(*r) for r in groups]
        names = {r["group_id"]: r["name"] for r in rows}
        snapshots.append(_snapshot("idp_groups", rows))
    member_ids: dict[str, set[str]] = defaultdict(set)
    for gid, recs in members.items():
        checked = ((file, i, conform(rec, _MEMBER, file, f"[{i}]")) for file, i, rec in recs)
        member_ids[gid].update(required(rec, file, i, "id") for file, i, rec in checked
                               if _is_user(rec))  # fmt: skip
    if members:
        rows = [
            {"group_id": g, "user_id": u} for g in sorted(member_ids) for u in sorted(member_ids[g])
        ]
        snapshots.append(_snapshot("idp_group_members", rows))
    labels: dict[str, str] = {}
    if service_principals is not None:
        rows = [_app(*r) for r in service_principals]
        labels = {r["app_id"]: r["app"] for r in rows}
        snapshots.append(_snapshot("apps", rows))
    if assignments is not None:
        push, rows = _assignments(assignments, labels, upn, names, member_ids)
        snapshots.append(_snapshot("group_push", push))
        snapshots.append(_snapshot("assignments", rows))
    return snapshots


def _snapshot(name: str, rows: list[dict[str, Any]]) -> Snapshot:
    """A snapshot with one row per key (the last listed wins) and attributes redacted."""
    key = SNAPSHOT_KEYS[name]
    unique = list({tuple(r[k] for k in key): r for r in rows}.values())
    table = pa.Table.from_pylist(unique, SNAPSHOT_SCHEMAS[name])
    if "attributes" in table.column_names:
        idx = table.schema.get_field_index("attributes")
        table = table.set_column(idx, "attributes", redact_column(table["attributes"]))
    return Snapshot(name, table)


def _status(enabled: Any) -> str | None:
    return None if enabled is None else ("ACTIVE" if enabled else "DISABLED")


def _is_user(rec: dict[str, Any]) -> bool:
    return str(rec.get("@odata.type") or "#microsoft.graph.user") == "#microsoft.graph.user"


def _user(file: str, i: int, rec: dict[str, Any], *, deleted: bool = False) -> dict[str, Any]:
    attrs = {k: v for k, v in rec.items() if not k.startswith("@odata.")}
    rec = conform(rec, _USER, file, f"[{i}]")
    other = rec.get("otherMails") or []
    enabled = rec.get("accountEnabled")
    if deleted:
        status, lifecycle = "DELETED", "deleted"
        changed = instant(rec.get("deletedDateTime"), file, i, "deletedDateTime")
    else:
        status = _status(enabled)
        lifecycle = None if enabled is None else ("active" if enabled else "deprovisioned")
        changed = None
        if enabled is False:
            changed = instant(rec.get("employeeLeaveDateTime"), file, i, "employeeLeaveDateTime")
    sign_in = rec.get("signInActivity") or {}
    return {
        "user_id": required(rec, file, i, "id"),
        "login": rec.get("userPrincipalName"),
        "email": rec.get("mail"),
        "second_email": other[0] if other else None,
        "display_name": rec.get("displayName"),
        "employee_number": blank(rec.get("employeeId")),
        "department": rec.get("department"),
        "title": rec.get("jobTitle"),
        "status": status,
        "created_at": instant(rec.get("createdDateTime"), file, i, "createdDateTime"),
        "status_changed_at": changed,
        "last_login_at": instant(
            sign_in.get("lastSignInDateTime"), file, i, "signInActivity.lastSignInDateTime"
        ),
        "attributes": dumps(attrs),
        "lifecycle": lifecycle,
    }


def _group(file: str, i: int, rec: dict[str, Any]) -> dict[str, Any]:
    rec = conform(rec, _GROUP, file, f"[{i}]")
    keys = ("description", "groupTypes", "mailEnabled", "securityEnabled")
    attrs = {k: rec[k] for k in keys if rec.get(k) is not None}
    return {
        "group_id": required(rec, file, i, "id"),
        "name": rec.get("displayName"),
        "attributes": dumps(attrs),
    }


def _app(file: str, i: int, rec: dict[str, Any]) -> dict[str, Any]:
    attrs = {k: v for k, v in rec.items() if not k.startswith("@odata.")}
    rec = conform(rec, _APP, file, f"[{i}]")
    return {
        "app": required(rec, file, i, "displayName"),
        "app_id": required(rec, file, i, "id"),
        "status": _status(rec.get("accountEnabled")),
        "sign_on_mode": rec.get("preferredSingleSignOnMode"),
        "attributes": dumps(attrs),
    }


def _assignments(
    records: Records,
    labels: dict[str, str],
    upn: dict[str, str | None],
    group_names: dict[str, str | None],
    members: dict[str, set[str]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(group_push rows, assignment rows) from appRoleAssignments."""
    direct: list[tuple[str, str, datetime | None]] = []  # (app, user id, assigned at)
    via: dict[str, dict[str, datetime | None]] = defaultdict(dict)  # app → group id → at
    for file, i, rec in records:
        rec = conform(rec, _ASSIGNMENT, file, f"[{i}]")
        kind = str(rec.get("principalType") or "")
        rid = required(rec, file, i, "resourceId")
        app = labels.get(rid) or blank(rec.get("resourceDisplayName")) or rid
        at = instant(rec.get("createdDateTime"), file, i, "createdDateTime")
        pid = required(rec, file, i, "principalId")
        if kind == "User":
            direct.append((app, pid, at))
        elif kind == "Group":
            via[app][pid] = at
    push = [
        {"app": app, "group_id": gid, "target_group_name": group_names.get(gid) or gid}
        for app, groups in via.items()
        for gid in groups
    ]

    def groups_of(app: str, uid: str) -> str | None:
        if app not in via:
            return None
        names = {group_names.get(g) or g for g in via[app] if uid in members.get(g, ())}
        return dumps(sorted(names))

    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for app, uid, at in direct:
        rows[(app, uid)] = _assignment(app, uid, upn.get(uid), "USER", at, groups_of(app, uid))
    for app, groups in via.items():
        for gid, at in groups.items():
            for uid in sorted(members.get(gid, ())):
                if (app, uid) not in rows:
                    row = _assignment(app, uid, upn.get(uid), "GROUP", at, groups_of(app, uid))
                    rows[(app, uid)] = row
    return push, list(rows.values())


def _assignment(
    app: str, uid: str, name: str | None, scope: str, at: datetime | None, groups: str | None
) -> dict[str, Any]:
    return {
        "app": app,
        "idp_user_id": uid,
        "user_name": name,
        "status": None,
        "scope": scope,
        "assigned_at": at,
        "groups": groups,
    }
