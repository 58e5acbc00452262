"""Entra ID export folder (Microsoft Graph JSON as the API returns it) → a SourceBatch.

The parsing (`entra_snapshots`, `entra_events`) takes records already loaded, so the live
connector (`connectors.entra_live`) maps Graph pages with exactly the same rules as exports.

Layout (ARCHITECTURE.md, every file optional, `name-0001.json` splits concatenate):
provisioning.json, users.json, deletedUsers.json, groups.json, group_members/<groupId>.json,
servicePrincipals.json, appRoleAssignments.json. Each file is a JSON array of Graph objects
(the `value` arrays) or one Graph response object whose `value` is that array.

Mapping choices (one per line):
- Event native_id = `id`, native_type = `provisioningAction`, occurred_at = `activityDateTime`.
- Direction: a record whose targetSystem is the directory itself (displayName "Azure Active
  Directory", "Microsoft Entra ID", …, or an API-driven inbound jobId `API2AAD.`/`API2AD.`) is
  inbound provisioning (HR → Entra): an IdP-level event about the Entra user, never an app
  account. create→user.create, delete→user.delete, disable→user.deactivate, an update setting
  accountEnabled false/true→user.deactivate/user.activate, others entra.<value>; app and
  account_id are null and person_id is the target Entra user (targetIdentity.id).
- Outbound action (provisioningAction matched in any case): create→account.create,
  update→account.update, delete→account.delete,
  disable→account.deactivate; stagedDelete stays entra.stagedDelete (a deletion held back by
  accidental-deletion prevention, awaiting an admin: no removal happened), as does anything
  else (other, unknownFutureValue).
- An update whose modifiedProperties set `accountEnabled`/`active` to false (old value not
  false) is account.deactivate; set to true with an old value of false is account.activate.
  An update with active=true and no old value is not an activation: Entra repeats unchanged
  values on every update and often leaves oldValue empty.
- A Group source identity (group provisioning) is no account: the action stays unmapped,
  entra.<provisioningAction> as ARCHITECTURE.md prescribes, person_id null, entitlement = the
  group's displayName; except an update whose modifiedProperties `members` added (removed)
  exactly one member: group.member.add (remove) with account_id = that member's id in the app
  (what dates a pushed group's grant). Several members in one record stay entra.update.
- An outbound user update whose modifiedProperties change the SCIM `roles` attribute (Entra's
  app-role mapping `roles[primary eq "True"].value`) is privilege.grant (revoke) with
  entitlement = the role added (removed), unless it also (de)activates the account.
- Outcome from provisioningStatusInfo.status: success→success, failure→failure,
  skipped/warning/anything else→unknown. Only a successful record ends access (detections).
- actor = initiatedBy.displayName; person_id = sourceIdentity.id; app =
  servicePrincipal.displayName; account_id = targetIdentity.id; empty strings (Graph sends
  `"id": ""` for objects not yet created) are null.
- details = jobId, cycleId, changeId, durationInMilliseconds, status, errorInformation,
  modifiedProperties, steps ([{name, provisioningStepType, status}]); raw = the record;
  both redacted with `connectors.redact`; a modifiedProperties entry whose displayName is
  secret-looking (`password`) has its values redacted too, since there the secret sits under
  `newValue`, not under its own key. A repeated id keeps its first record.
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
- Event errors name the record as `[i]`, the 0-based index within its file (or page).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

import pyarrow as pa

from connectors.exports import (
    Records,
    json_records,
    parse_instant_field,
)
from connectors.records import (
    EVENT_SCHEMA,
    SNAPSHOT_KEYS,
    SNAPSHOT_SCHEMAS,
    Snapshot,
)
from connectors.redact import REDACTED, dumps, is_secret_key, redact_column
from evidence.errors import InputError

__all__ = [
    "entra_records",
    "entra_snapshots",
    "entra_events",
    "entra_action",
    "entra_outcome",
    "is_inbound",
    "ENTRA_ACTIONS",
    "INBOUND_ACTIONS",
    "DIRECTORY_NAMES",
    "Records",
]

ENTRA_ACTIONS: dict[str, str] = {
    "create": "account.create",
    "update": "account.update",
    "delete": "account.delete",
    "disable": "account.deactivate",
}
INBOUND_ACTIONS: dict[str, str] = {
    "create": "user.create",
    "delete": "user.delete",
    "disable": "user.deactivate",
}
# The names the directory goes by as a provisioning target (DOMAIN.md §9.6), lower case; on-
# premises AD is the directory's own source in hybrid inbound jobs (Workday to AD).
DIRECTORY_NAMES = frozenset(
    {
        "azure active directory",
        "azure ad",
        "microsoft entra id",
        "microsoft entra",
        "entra id",
        "aad",
        "active directory",
        "on-premises active directory",
    }
)
_INBOUND_JOBS = ("api2aad.", "api2ad.")
_OUTCOMES = {"success": "success", "failure": "failure"}
_ENABLED_PROPS = ("accountenabled", "active")


def entra_records(doc: Any, where: str) -> Records:
    """The records of a loaded JSON array, or of a Graph response's `value` array."""
    return json_records(doc, where, value_key="value")


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
        member_ids[gid].update(_req(rec, file, i, "id") for file, i, rec in recs if _is_user(rec))
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


def entra_events(logs: Records) -> pa.Table:
    """provisioningObjectSummary records → canonical events (the first of a repeated id wins)."""
    unique: dict[str, dict[str, Any]] = {}
    for r in logs:
        row = _event(*r)
        unique.setdefault(row["native_id"], row)
    events = pa.Table.from_pylist(list(unique.values()), EVENT_SCHEMA)
    for col in ("details", "raw"):
        idx = events.schema.get_field_index(col)
        events = events.set_column(idx, col, redact_column(events[col]))
    return events


def is_inbound(rec: dict[str, Any]) -> bool:
    """True for a record whose target system is the directory (HR → Entra provisioning)."""
    target = rec.get("targetSystem") or {}
    name = str(target.get("displayName") or "").strip().lower()
    job = str(rec.get("jobId") or "").lower()
    return name in DIRECTORY_NAMES or job.startswith(_INBOUND_JOBS)


def entra_action(rec: dict[str, Any]) -> str:
    """Canonical action of a provisioning record (see the module docstring)."""
    return _classify(rec)[0]


def _classify(rec: dict[str, Any]) -> tuple[str, bool, str | None]:
    """(action, inbound, the member's app id or the role the action names), read once."""
    native = str(rec.get("provisioningAction") or "")
    source = rec.get("sourceIdentity") or {}
    inbound = is_inbound(rec)
    if str(source.get("identityType") or "").lower() == "group":
        member = None if inbound else member_change(rec)
        return (member[0], False, member[1]) if member else (f"entra.{native}", False, None)
    verbs = INBOUND_ACTIONS if inbound else ENTRA_ACTIONS
    noun = "user" if inbound else "account"
    verb = native.lower()  # Graph writes camelCase, its docs and portal downloads other cases
    if verb == "update":
        for prop in rec.get("modifiedProperties") or []:
            if not isinstance(prop, dict):
                continue
            if str(prop.get("displayName") or "").lower() not in _ENABLED_PROPS:
                continue
            new, old = _flag(prop.get("newValue")), _flag(prop.get("oldValue"))
            if new is False and old is not False:
                return f"{noun}.deactivate", inbound, None
            if new is True and old is False:
                return f"{noun}.activate", inbound, None
        if not inbound and (role := role_change(rec)) is not None:
            return role[0], False, role[1]
    return verbs.get(verb, f"entra.{native}"), inbound, None


def member_change(rec: dict[str, Any]) -> tuple[str, str] | None:
    """(group.member.add | group.member.remove, the member's id in the app) of an outbound
    group update whose modifiedProperties `members` added or removed exactly one member; None
    otherwise (several members in one record stay entra.update: one record, one event)."""
    if str(rec.get("provisioningAction") or "").lower() != "update":
        return None
    for prop in rec.get("modifiedProperties") or []:
        if not isinstance(prop, dict) or str(prop.get("displayName") or "").lower() != "members":
            continue
        new, old = _values(prop.get("newValue")), _values(prop.get("oldValue"))
        added, removed = [v for v in new if v not in old], [v for v in old if v not in new]
        if len(added) == 1 and not removed:
            return "group.member.add", added[0]
        if len(removed) == 1 and not added:
            return "group.member.remove", removed[0]
    return None


def role_change(rec: dict[str, Any]) -> tuple[str, str] | None:
    """(privilege.grant | privilege.revoke, app role) of an outbound update that changed the
    SCIM `roles` attribute (Entra maps app role assignments to `roles[primary eq "True"].value`
    and logs the change in modifiedProperties); None otherwise. Several roles added in one
    record: the first in order names the event (details keep them all)."""
    for prop in rec.get("modifiedProperties") or []:
        if not isinstance(prop, dict):
            continue
        if not str(prop.get("displayName") or "").strip().lower().startswith("roles"):
            continue
        new, old = _values(prop.get("newValue")), _values(prop.get("oldValue"))
        if added := [v for v in new if v not in old]:
            return "privilege.grant", added[0]
        if removed := [v for v in old if v not in new]:
            return "privilege.revoke", removed[0]
    return None


def _values(value: Any) -> list[str]:
    """A modifiedProperties value as its list of texts: Graph sends "x", '["x","y"]' or null."""
    if value is None:
        return []
    if isinstance(value, list):
        items = value
    else:
        text = str(value).strip()
        try:
            parsed = json.loads(text) if text.startswith("[") else [text]
        except ValueError:
            parsed = [text]
        items = parsed if isinstance(parsed, list) else [parsed]
    return [str(v).strip() for v in items if v is not None and str(v).strip()]


def entra_outcome(status: str | None) -> str:
    """success | failure | unknown from provisioningStatusInfo.status."""
    return _OUTCOMES.get((status or "").lower(), "unknown")


# ---------------------------------------------------------------------------- reading


# ---------------------------------------------------------------------------- rows


def _snapshot(name: str, rows: list[dict[str, Any]]) -> Snapshot:
    """A snapshot with one row per key (the last listed wins) and attributes redacted."""
    key = SNAPSHOT_KEYS[name]
    unique = list({tuple(r[k] for k in key): r for r in rows}.values())
    table = pa.Table.from_pylist(unique, SNAPSHOT_SCHEMAS[name])
    if "attributes" in table.column_names:
        idx = table.schema.get_field_index("attributes")
        table = table.set_column(idx, "attributes", redact_column(table["attributes"]))
    return Snapshot(name, table)


def _req(rec: dict[str, Any], file: str, i: int, field: str) -> str:
    value = rec.get(field)
    if value is None or value == "":
        raise InputError(file, f"[{i}]", field, f"{field} is missing")
    return str(value)


def _instant(value: Any, file: str, i: int, field: str) -> datetime | None:
    return parse_instant_field(value, file, f"[{i}]", field)


def _blank(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _flag(value: Any) -> bool | None:
    """A modifiedProperties value as a boolean: Graph sends "True", "false", '["True"]'."""
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().strip('[]"').strip().lower()
    return {"true": True, "false": False}.get(text)


def _status(enabled: Any) -> str | None:
    return None if enabled is None else ("ACTIVE" if enabled else "DISABLED")


def _is_user(rec: dict[str, Any]) -> bool:
    return str(rec.get("@odata.type") or "#microsoft.graph.user") == "#microsoft.graph.user"


def _user(file: str, i: int, rec: dict[str, Any], *, deleted: bool = False) -> dict[str, Any]:
    other = rec.get("otherMails") or []
    enabled = rec.get("accountEnabled")
    if deleted:
        status, lifecycle = "DELETED", "deleted"
        changed = _instant(rec.get("deletedDateTime"), file, i, "deletedDateTime")
    else:
        status = _status(enabled)
        lifecycle = None if enabled is None else ("active" if enabled else "deprovisioned")
        changed = None
        if enabled is False:
            changed = _instant(rec.get("employeeLeaveDateTime"), file, i, "employeeLeaveDateTime")
    sign_in = rec.get("signInActivity") or {}
    attrs = {k: v for k, v in rec.items() if not k.startswith("@odata.")}
    return {
        "user_id": _req(rec, file, i, "id"),
        "login": rec.get("userPrincipalName"),
        "email": rec.get("mail"),
        "second_email": other[0] if isinstance(other, list) and other else None,
        "display_name": rec.get("displayName"),
        "employee_number": _blank(rec.get("employeeId")),
        "department": rec.get("department"),
        "title": rec.get("jobTitle"),
        "status": status,
        "created_at": _instant(rec.get("createdDateTime"), file, i, "createdDateTime"),
        "status_changed_at": changed,
        "last_login_at": _instant(
            sign_in.get("lastSignInDateTime"), file, i, "signInActivity.lastSignInDateTime"
        ),
        "attributes": dumps(attrs),
        "lifecycle": lifecycle,
    }


def _group(file: str, i: int, rec: dict[str, Any]) -> dict[str, Any]:
    keys = ("description", "groupTypes", "mailEnabled", "securityEnabled")
    attrs = {k: rec[k] for k in keys if rec.get(k) is not None}
    return {
        "group_id": _req(rec, file, i, "id"),
        "name": rec.get("displayName"),
        "attributes": dumps(attrs),
    }


def _app(file: str, i: int, rec: dict[str, Any]) -> dict[str, Any]:
    attrs = {k: v for k, v in rec.items() if not k.startswith("@odata.")}
    return {
        "app": _req(rec, file, i, "displayName"),
        "app_id": _req(rec, file, i, "id"),
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
        kind = str(rec.get("principalType") or "")
        rid = _req(rec, file, i, "resourceId")
        app = labels.get(rid) or _blank(rec.get("resourceDisplayName")) or rid
        at = _instant(rec.get("createdDateTime"), file, i, "createdDateTime")
        pid = _req(rec, file, i, "principalId")
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


def _masked(props: Any) -> list[Any]:
    """modifiedProperties with the values of secret-looking properties redacted."""
    out = []
    for p in props if isinstance(props, list) else []:
        if isinstance(p, dict) and is_secret_key(str(p.get("displayName") or "")):
            p = {k: REDACTED if k in ("oldValue", "newValue") and v is not None else v
                 for k, v in p.items()}  # fmt: skip
        out.append(p)
    return out


def _event(file: str, i: int, rec: dict[str, Any]) -> dict[str, Any]:
    if any(isinstance(p, dict) and is_secret_key(str(p.get("displayName") or ""))
           for p in rec.get("modifiedProperties") or []):  # fmt: skip
        rec = {**rec, "modifiedProperties": _masked(rec["modifiedProperties"])}
    native_id = _req(rec, file, i, "id")
    native_type = _req(rec, file, i, "provisioningAction")
    _req(rec, file, i, "activityDateTime")
    occurred = _instant(rec.get("activityDateTime"), file, i, "activityDateTime")
    status = rec.get("provisioningStatusInfo") or {}
    source = rec.get("sourceIdentity") or {}
    group = str(source.get("identityType") or "").lower() == "group"
    steps = [
        {k: s.get(k) for k in ("name", "provisioningStepType", "status")}
        for s in rec.get("provisioningSteps") or []
        if isinstance(s, dict)
    ]
    details = {
        "jobId": rec.get("jobId"),
        "cycleId": rec.get("cycleId"),
        "changeId": rec.get("changeId"),
        "durationInMilliseconds": rec.get("durationInMilliseconds"),
        "status": status.get("status"),
        "errorInformation": status.get("errorInformation"),
        "modifiedProperties": rec.get("modifiedProperties") or [],
        "steps": steps,
    }
    action, inbound, named = _classify(rec)
    return {
        "native_id": native_id,
        "identity": None,
        "native_type": native_type,
        "occurred_at": occurred,
        "action": action,
        "outcome": entra_outcome(status.get("status")),
        "actor": _blank((rec.get("initiatedBy") or {}).get("displayName")),
        # Inbound: the Entra user is the target, and the directory is no app.
        "person_id": (
            _blank((rec.get("targetIdentity") or {}).get("id"))
            if inbound
            else None
            if group
            else _blank(source.get("id"))
        ),
        "app": None if inbound else _blank((rec.get("servicePrincipal") or {}).get("displayName")),
        "account_id": (
            None
            if inbound
            else named
            if group and named is not None
            else _blank((rec.get("targetIdentity") or {}).get("id"))
        ),
        "entitlement": _blank(source.get("displayName")) if group else named,
        "details": dumps(details),
        "raw": dumps(rec),
    }
