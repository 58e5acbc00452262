"""Entra ID export folder (Microsoft Graph JSON as the API returns it) → a SourceBatch.

The parsing (`entra_events` here, `entra_snapshots` in connectors.entra.directory) takes records already loaded, so the live
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
- Event errors name the record as `[i]`, the 0-based index within its file (or page).
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from connectors.entra.fields import blank, instant, required
from connectors.exports import Records, json_records
from connectors.exports.shapes import ANY, TEXT, conform
from connectors.records import (
    EVENT_SCHEMA,
)
from connectors.redact import REDACTED, dumps, is_secret_key, redact_column

__all__ = [
    "entra_records",
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
# The JSON types a provisioning record's fields must have (connectors.exports.shapes).
_IDENTITY = {"id": TEXT, "displayName": TEXT, "identityType": TEXT}
_PROVISIONING = {
    **dict.fromkeys(("id", "provisioningAction", "activityDateTime", "jobId", "cycleId",
                     "changeId"), TEXT),
    "provisioningStatusInfo": {"status": TEXT},
    "sourceIdentity": _IDENTITY, "targetIdentity": _IDENTITY,
    "targetSystem": {"displayName": TEXT}, "servicePrincipal": {"displayName": TEXT},
    "initiatedBy": {"displayName": TEXT},
    "modifiedProperties": [{"displayName": TEXT, "oldValue": ANY, "newValue": ANY}],
    "provisioningSteps": [{"name": TEXT, "provisioningStepType": TEXT, "status": TEXT}],
}  # fmt: skip


def entra_records(doc: Any, where: str) -> Records:
    """The records of a loaded JSON array, or of a Graph response's `value` array."""
    return json_records(doc, where, value_key="value")


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
        except (ValueError, RecursionError):  # not JSON (or absurdly nested): the text itself
            parsed = [text]
        items = parsed if isinstance(parsed, list) else [parsed]
    return [str(v).strip() for v in items if v is not None and str(v).strip()]


def entra_outcome(status: str | None) -> str:
    """success | failure | unknown from provisioningStatusInfo.status."""
    return _OUTCOMES.get((status or "").lower(), "unknown")


# ---------------------------------------------------------------------------- reading


# ---------------------------------------------------------------------------- rows


def _flag(value: Any) -> bool | None:
    """A modifiedProperties value as a boolean: Graph sends "True", "false", '["True"]'."""
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().strip('[]"').strip().lower()
    return {"true": True, "false": False}.get(text)


def _masked(props: Any) -> list[Any]:
    """modifiedProperties with the values of secret-looking properties redacted."""
    out = []
    for p in props if isinstance(props, list) else []:
        if isinstance(p, dict) and is_secret_key(str(p.get("displayName") or "")):
            p = {k: REDACTED if k in ("oldValue", "newValue") and v is not None else v
                 for k, v in p.items()}  # fmt: skip
        out.append(p)
    return out


def _event(file: str, i: int, original: dict[str, Any]) -> dict[str, Any]:
    # `rec`, in the expected types, is what the mapping reads; `original` (secrets masked)
    # is what raw and details keep.
    rec = conform(original, _PROVISIONING, file, f"[{i}]")
    props = rec.get("modifiedProperties") or []
    if any(is_secret_key(p.get("displayName") or "") for p in props):
        original = {**original, "modifiedProperties": _masked(original["modifiedProperties"])}
        rec = {**rec, "modifiedProperties": _masked(props)}
    native_id = required(rec, file, i, "id")
    native_type = required(rec, file, i, "provisioningAction")
    required(rec, file, i, "activityDateTime")
    occurred = instant(rec.get("activityDateTime"), file, i, "activityDateTime")
    status = rec.get("provisioningStatusInfo") or {}
    source = rec.get("sourceIdentity") or {}
    group = str(source.get("identityType") or "").lower() == "group"
    steps = [
        {k: s.get(k) for k in ("name", "provisioningStepType", "status")}
        for s in rec.get("provisioningSteps") or []
    ]
    details = {
        "jobId": rec.get("jobId"),
        "cycleId": rec.get("cycleId"),
        "changeId": rec.get("changeId"),
        "durationInMilliseconds": rec.get("durationInMilliseconds"),
        "status": status.get("status"),
        "errorInformation": status.get("errorInformation"),
        "modifiedProperties": original.get("modifiedProperties") or [],
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
        "actor": blank((rec.get("initiatedBy") or {}).get("displayName")),
        # Inbound: the Entra user is the target, and the directory is no app.
        "person_id": (
            blank((rec.get("targetIdentity") or {}).get("id"))
            if inbound
            else None
            if group
            else blank(source.get("id"))
        ),
        "app": None if inbound else blank((rec.get("servicePrincipal") or {}).get("displayName")),
        "account_id": (
            None
            if inbound
            else named
            if group and named is not None
            else blank((rec.get("targetIdentity") or {}).get("id"))
        ),
        "entitlement": blank(source.get("displayName")) if group else named,
        "details": dumps(details),
        "raw": dumps(original),
    }
