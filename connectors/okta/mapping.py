"""Okta export folder (JSON arrays exactly as the Okta API returns them) → a SourceBatch.

The parsing (`okta_snapshots`, `okta_events`) takes JSON arrays already loaded, so the live
connector (`connectors.okta_live`) maps API pages with exactly the same rules as exports.

Layout (ARCHITECTURE.md, every file optional, `name-0001.json` splits concatenate):
users.json, groups.json, group_members/<groupId>.json, apps.json, app_users/<appId>.json,
group_push/<appId>.json, logs.json. A snapshot is emitted only for a table whose files exist;
`assignments` and `group_push` are scoped to the apps whose files exist.

Rules the architecture leaves to us:
- An app id with app_users or group_push files but no entry in apps.json is named by its id.
- `assignments.groups` lists, sorted, the app group names the app's push mappings give the
  user through the Okta groups they are a member of (per group_members/); null when the app
  has no group_push file, `[]` when it has one but the user is in none of its groups.
- `idp_users.display_name` is profile.displayName, else "firstName lastName".
- Event `person_id`: the first User target's id, else the actor's id when the actor is a User
  (a system actor is no person). `entitlement`: for privilege grants the role named in
  debugData (privilegeGranted/privilegeRevoked), else the first UserGroup (then AppGroup)
  target's displayName.
- Event errors name the record as `[i]`, the 0-based index within its file.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import pyarrow as pa

from connectors.exports import (
    Records,
    json_records,
    parse_instant_field,
)
from connectors.exports.shapes import TEXT, conform
from connectors.records import (
    EVENT_SCHEMA,
    SNAPSHOT_KEYS,
    SNAPSHOT_SCHEMAS,
    Snapshot,
)
from connectors.redact import dumps, redact_column
from evidence.errors import InputError

__all__ = [
    "okta_records",
    "okta_snapshots",
    "okta_events",
    "Records",
    "OKTA_ACTIONS",
    "okta_action",
    "okta_outcome",
    "okta_lifecycle",
]

# Okta eventType → canonical action. Anything else becomes `okta.<eventType>`.
#
# Provisioning to downstream apps (application.provision.user.*), from Okta's event catalogue:
# - `push` is "push new user to the app": the app account is created → account.create.
#   (`push_profile` updates an existing one → account.update.)
# - `activate`/`reactivate` turn the app account on → account.activate.
# - `deactivate` sets it inactive (SCIM active=false) → account.deactivate.
# - `deprovision` is logged when a deprovisioning task completes (legacy
#   app.user_management.deprovision_task_complete). Depending on the app's settings that
#   removes or only disables the account, so we claim what every case supports,
#   account.deactivate; both end access, so the SLA detection is unaffected, and a real
#   deletion still shows as the account missing from the next app snapshot.
OKTA_ACTIONS: dict[str, str] = {
    "user.lifecycle.create": "user.create",
    "user.lifecycle.activate": "user.activate",
    "user.lifecycle.reactivate": "user.activate",
    "user.lifecycle.deactivate": "user.deactivate",
    "user.lifecycle.suspend": "user.suspend",
    "user.lifecycle.unsuspend": "user.unsuspend",
    "user.lifecycle.delete.completed": "user.delete",
    "user.session.start": "user.login",
    "user.authentication.sso": "user.login",
    "application.user_membership.add": "app.assign",
    "application.user_membership.remove": "app.unassign",
    "application.provision.user.push": "account.create",
    "application.provision.user.push_profile": "account.update",
    "application.provision.user.activate": "account.activate",
    "application.provision.user.reactivate": "account.activate",
    "application.provision.user.deactivate": "account.deactivate",
    "application.provision.user.deprovision": "account.deactivate",
    "group.user_membership.add": "group.member.add",
    "group.user_membership.remove": "group.member.remove",
    "application.provision.group_membership.add": "group.member.add",
    "application.provision.group_membership.remove": "group.member.remove",
    "user.account.privilege.grant": "privilege.grant",
    "user.account.privilege.revoke": "privilege.revoke",
}
_OUTCOMES = {"SUCCESS": "success", "ALLOW": "success", "FAILURE": "failure", "DENY": "failure"}

# The JSON types each record's fields must have (connectors.exports.shapes).
_PROFILE = {k: TEXT for k in ("login", "email", "secondEmail", "displayName", "firstName",
                              "lastName", "employeeNumber", "department", "title")}  # fmt: skip
_USER = {"id": TEXT, "status": TEXT, "created": TEXT, "statusChanged": TEXT, "lastLogin": TEXT,
         "profile": _PROFILE}  # fmt: skip
_GROUP = {"id": TEXT, "type": TEXT, "profile": {"name": TEXT, "description": TEXT}}
_APP = {"id": TEXT, "label": TEXT, "status": TEXT, "signOnMode": TEXT}
_MEMBER = {"id": TEXT}
_PUSH = {"sourceGroupId": TEXT, "targetGroupName": TEXT}
_APP_USER = {"id": TEXT, "status": TEXT, "scope": TEXT, "created": TEXT,
             "credentials": {"userName": TEXT}}  # fmt: skip
_TARGET = {"type": TEXT, "id": TEXT, "alternateId": TEXT, "displayName": TEXT, "changeDetails": {}}
_EVENT = {
    "uuid": TEXT, "eventType": TEXT, "published": TEXT,
    "actor": {"id": TEXT, "type": TEXT, "alternateId": TEXT},
    "target": [_TARGET],
    "debugContext": {"debugData": {"privilegeGranted": TEXT, "privilegeRevoked": TEXT}},
    "transaction": {"id": TEXT},
    "outcome": {"result": TEXT, "reason": TEXT},
}  # fmt: skip


def okta_action(event_type: str) -> str:
    """Canonical action of an Okta eventType (`okta.<eventType>` when unmapped)."""
    return OKTA_ACTIONS.get(event_type, f"okta.{event_type}")


# Okta user states (DOMAIN.md §9.7): only DEPROVISIONED removes app assignments; SUSPENDED
# blocks sign-in but "app assignments are unaffected"; a lock-out, an expired password or a
# reset in progress is an active user with a credential hold.
_LIFECYCLE = {
    "STAGED": "staged",
    "PROVISIONED": "staged",
    "ACTIVE": "active",
    "RECOVERY": "active",
    "PASSWORD_EXPIRED": "active",
    "LOCKED_OUT": "active",
    "SUSPENDED": "suspended",
    "DEPROVISIONED": "deprovisioned",
}


def okta_lifecycle(status: str | None) -> str | None:
    """Canonical lifecycle of an Okta user status (an unknown status counts as active)."""
    if status is None or status == "":
        return None
    return _LIFECYCLE.get(str(status).upper(), "active")


def okta_outcome(result: str | None) -> str:
    """success | failure | unknown from Okta's outcome.result."""
    return _OUTCOMES.get((result or "").upper(), "unknown")


def okta_records(doc: Any, where: str) -> Records:
    """The records of one loaded JSON array, each with where it came from and its index."""
    return json_records(doc, where)


def okta_snapshots(
    *,
    users: Records | None,
    groups: Records | None,
    members: dict[str, Records],
    apps: Records | None,
    pushes: dict[str, Records],
    assigned: dict[str, Records],
    apps_where: str,
) -> list[Snapshot]:
    """IdP snapshots from loaded listings; None or an empty dict means "not provided".

    `members`, `pushes` and `assigned` are keyed by group or app id; an app listed there
    with no records is in scope with nothing in it (its earlier rows close).
    """
    snapshots: list[Snapshot] = []
    if users is not None:
        snapshots.append(_snapshot("idp_users", [_user(*r) for r in users]))
    if groups is not None:
        snapshots.append(_snapshot("idp_groups", [_group(*r) for r in groups]))
    member_ids: dict[str, set[str]] = defaultdict(set)
    for gid, recs in members.items():
        member_ids[gid].update(_req(_conform(rec, _MEMBER, file, i), file, i, "id")
                               for file, i, rec in recs)  # fmt: skip
    if member_ids:
        rows = [
            {"group_id": g, "user_id": u} for g in sorted(member_ids) for u in sorted(member_ids[g])
        ]
        snapshots.append(_snapshot("idp_group_members", rows))
    labels: dict[str, str] = {}
    if apps is not None:
        rows = [_app(*r) for r in apps]
        labels = {r["app_id"]: r["app"] for r in rows}
        snapshots.append(_snapshot("apps", rows))

    pushed: dict[str, dict[str, list[str]]] = {}  # app id → Okta group id → app group names
    rows = []
    for app_id, recs in pushes.items():
        by_group = pushed.setdefault(app_id, defaultdict(list))
        for file, i, rec in recs:
            rec = _conform(rec, _PUSH, file, i)
            gid, name = _req(rec, file, i, "sourceGroupId"), _req(rec, file, i, "targetGroupName")
            by_group[gid].append(name)
            rows.append(
                {"app": labels.get(app_id, app_id), "group_id": gid, "target_group_name": name}
            )
    if pushes:
        scope = tuple(labels.get(a, a) for a in pushes)
        snapshots.append(_snapshot("group_push", rows, scope))

    if assigned:
        _check_labels(apps_where, assigned, labels)
        rows = [
            _assignment(labels.get(app_id, app_id), pushed.get(app_id), member_ids, *r)
            for app_id, recs in assigned.items()
            for r in recs
        ]
        snapshots.append(_snapshot("assignments", rows, tuple(labels.get(a, a) for a in assigned)))
    return snapshots


def okta_events(logs: Records) -> pa.Table:
    """System Log LogEvents → canonical events (the first of a repeated uuid wins)."""
    # The same uuid twice (overlapping exports, a re-read page) is one event: the first.
    unique: dict[str, dict[str, Any]] = {}
    for r in logs:
        row = _event(*r)
        unique.setdefault(row["native_id"], row)
    events = pa.Table.from_pylist(list(unique.values()), EVENT_SCHEMA)
    for col in ("details", "raw"):
        idx = events.schema.get_field_index(col)
        events = events.set_column(idx, col, redact_column(events[col]))
    return events


def _assignment(
    label: str,
    pushed: dict[str, list[str]] | None,
    members: dict[str, set[str]],
    file: str,
    i: int,
    rec: dict[str, Any],
) -> dict[str, Any]:
    rec = _conform(rec, _APP_USER, file, i)
    uid = _req(rec, file, i, "id")
    groups = None
    if pushed is not None:
        names = {n for gid, ns in pushed.items() if uid in members.get(gid, ()) for n in ns}
        groups = dumps(sorted(names))
    return {
        "app": label,
        "idp_user_id": uid,
        "user_name": (rec.get("credentials") or {}).get("userName"),
        "status": rec.get("status"),
        "scope": rec.get("scope"),
        "assigned_at": _instant(rec, file, i, "created"),
        "groups": groups,
    }


def _check_labels(where: str, assigned: dict[str, Any], labels: dict[str, str]) -> None:
    """Two assigned apps sharing a label would merge their desired states: refuse."""
    first: dict[str, str] = {}
    for app_id in assigned:
        label = labels.get(app_id, app_id)
        other = first.setdefault(label.casefold(), app_id)
        if other != app_id:
            raise InputError(
                where,
                None,
                "label",
                f"apps {other} and {app_id} share the label {label!r}; "
                "assignments could not tell them apart",
            )


def _snapshot(
    name: str, rows: list[dict[str, Any]], apps: tuple[str, ...] | None = None
) -> Snapshot:
    """A snapshot with one row per key (the last listed wins) and attributes redacted."""
    key = SNAPSHOT_KEYS[name]
    unique = list({tuple(r[k] for k in key): r for r in rows}.values())
    table = pa.Table.from_pylist(unique, SNAPSHOT_SCHEMAS[name])
    if "attributes" in table.column_names:
        idx = table.schema.get_field_index("attributes")
        table = table.set_column(idx, "attributes", redact_column(table["attributes"]))
    return Snapshot(name, table, apps)


def _conform(rec: dict[str, Any], shape: dict[str, Any], file: str, i: int) -> dict[str, Any]:
    return conform(rec, shape, file, f"[{i}]")


def _req(rec: dict[str, Any], file: str, i: int, field: str) -> str:
    value = rec.get(field)
    if value is None or value == "":
        raise InputError(file, f"[{i}]", field, f"{field} is missing")
    return str(value)


def _instant(rec: dict[str, Any], file: str, i: int, field: str) -> datetime | None:
    return parse_instant_field(rec.get(field), file, f"[{i}]", field)


def _user(file: str, i: int, original: dict[str, Any]) -> dict[str, Any]:
    rec = _conform(original, _USER, file, i)
    profile = rec.get("profile") or {}
    display = profile.get("displayName")
    if not display:
        display = " ".join(p for p in (profile.get("firstName"), profile.get("lastName")) if p)
    return {
        "user_id": _req(rec, file, i, "id"),
        "login": profile.get("login"),
        "email": profile.get("email"),
        "second_email": profile.get("secondEmail"),
        "display_name": display or None,
        "employee_number": _text(profile.get("employeeNumber")),
        "department": profile.get("department"),
        "title": profile.get("title"),
        "status": rec.get("status"),
        "created_at": _instant(rec, file, i, "created"),
        "status_changed_at": _instant(rec, file, i, "statusChanged"),
        "last_login_at": _instant(rec, file, i, "lastLogin"),
        "attributes": dumps(original.get("profile") or {}),  # as listed, not as conformed
        "lifecycle": okta_lifecycle(rec.get("status")),
    }


def _group(file: str, i: int, rec: dict[str, Any]) -> dict[str, Any]:
    rec = _conform(rec, _GROUP, file, i)
    profile = rec.get("profile") or {}
    attrs = {"type": rec.get("type"), "description": profile.get("description")}
    return {
        "group_id": _req(rec, file, i, "id"),
        "name": profile.get("name"),
        "attributes": dumps({k: v for k, v in attrs.items() if v is not None}),
    }


def _app(file: str, i: int, rec: dict[str, Any]) -> dict[str, Any]:
    attrs = {k: v for k, v in rec.items() if k not in ("_links", "_embedded")}
    rec = _conform(rec, _APP, file, i)
    return {
        "app": _req(rec, file, i, "label"),
        "app_id": _req(rec, file, i, "id"),
        "status": rec.get("status"),
        "sign_on_mode": rec.get("signOnMode"),
        "attributes": dumps(attrs),
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _first(targets: list[dict[str, Any]], *types: str) -> dict[str, Any] | None:
    for wanted in types:
        for t in targets:
            if t.get("type") == wanted:
                return t
    return None


def _event(file: str, i: int, original: dict[str, Any]) -> dict[str, Any]:
    rec = _conform(original, _EVENT, file, i)
    uuid = _req(rec, file, i, "uuid")
    event_type = _req(rec, file, i, "eventType")
    _req(rec, file, i, "published")
    published = _instant(rec, file, i, "published")
    actor = rec.get("actor") or {}
    targets = rec.get("target") or []
    user = _first(targets, "User")
    person = user.get("id") if user else (actor.get("id") if actor.get("type") == "User" else None)
    app = _first(targets, "AppInstance")
    debug = (rec.get("debugContext") or {}).get("debugData") or {}
    entitlement = None
    if event_type.startswith("user.account.privilege."):
        entitlement = debug.get("privilegeGranted") or debug.get("privilegeRevoked")
    if entitlement is None:
        group = _first(targets, "UserGroup", "AppGroup")
        entitlement = group.get("displayName") if group else None
    details: dict[str, Any] = {
        "displayMessage": rec.get("displayMessage"),
        "targets": [
            {k: t.get(k) for k in ("type", "id", "alternateId", "displayName")} for t in targets
        ],
        "transactionId": (rec.get("transaction") or {}).get("id"),
    }
    reason = (rec.get("outcome") or {}).get("reason")
    if reason:
        details["reason"] = reason
    changes = [{"id": t.get("id"), **t["changeDetails"]} for t in targets if t.get("changeDetails")]
    if changes:
        details["changeDetails"] = changes
    return {
        "native_id": uuid,
        "identity": None,
        "native_type": event_type,
        "occurred_at": published,
        "action": okta_action(event_type),
        "outcome": okta_outcome((rec.get("outcome") or {}).get("result")),
        "actor": actor.get("alternateId"),
        "person_id": person,
        "app": app.get("displayName") if app else None,
        "account_id": None,
        "entitlement": _text(entitlement),
        "details": dumps(details),
        "raw": dumps(original),
    }
