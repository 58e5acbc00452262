"""Events → OCSF 1.5.0 documents, built in SQL a batch at a time.

Why 1.5.0: it is the newest release in which every class and activity used here exists and
none is deprecated (Account Change gained 12 Unlock in 1.4.0; User Access Management gained
`resources` in 1.5.0, deprecating `resource`; 1.9.0 deprecates Account Change and User Access
Management in favour of User Management), and it is the version py-ocsf-models implements,
which the tests use to validate our Detection Findings. `metadata.version` is pinned to it.

Every event yields exactly one document (the forwarder's cursor is per event). Classes:

- Account Change 3001 (IAM): user/account create 1, activate/unsuspend 2 Enable,
  deactivate/suspend 5 Disable (a suspension is an admin's disable, not a lockout, which is
  9 Lock), delete 6. `account.update` and every HR record take 99 Other: an HR record
  describes a person, not an account, so claiming Create or Disable would fire account rules.
- Authentication 3002: `user.login`, `account.login` → 1 Logon.
- User Access Management 3005: `privilege.grant`/`app.assign` → 1 Assign Privileges,
  `privilege.revoke`/`app.unassign` → 2 Revoke Privileges; the entitlement is `privileges`,
  the app `resources`.
- Group Management 3006: `group.member.add` 3 Add User, `group.member.remove` 4 Remove User.
- Detection Finding 2004 (Findings): `finding.open` 1 Create, `finding.reopen` and
  `finding.accept` 2 Update, `finding.resolve` 3 Close; `status_id` is the finding's
  lifecycle there (New, Suppressed for an accepted risk, Resolved), not success/failure.
  (Compliance Finding 2003 reports one control check; a finding of ours is a detection about
  an account that touches several controls, listed in the unmapped details.)
- Anything else (`okta.*`, `entra.*`, ... unmapped actions) → Account Change 99 Other with
  `activity_name` = the action: all our sources are identity sources, and that class keeps
  the actor and target user, which the Base Event class has no place for.

Okta System Log records (raw has `uuid` and `eventType`) first try `OKTA_EVENT_TYPES` (types
with an exact OCSF activity but no canonical action), then the canonical action, then
`OKTA_PREFIXES` (sign-in families → Authentication 99). They keep the uuid as
`metadata.uid` (ECS `event.id`), the eventType as `metadata.event_code`, `published` verbatim
as `metadata.original_time`, transaction.id as `metadata.correlation_uid`, outcome.result and
reason as `status_code`/`status_detail`, and map the actor and the first User / UserGroup
(else AppGroup) target as the ECS mapping does. Elsewhere `metadata.uid` is the event_id, the
actor a user name, the target `user.uid` the account id (person id in `uid_alt`), else the
person id. A source that names no target gets no `user` (OCSF requires one for the IAM
classes; we do not invent it), except Authentication, whose user is then the actor.

`time` = occurred_at (ingested_at when the source gave none), `metadata.logged_time` =
ingested_at, both epoch ms. `severity_id` is 1 Informational for activity (the source records
an action, not a judgment) and the finding's severity for findings. `status_id` 1 Success,
2 Failure, 0 Unknown from the outcome, absent when there is none. `raw_data` is the stored raw
record; `unmapped.scim_evidence` carries the canonical columns, event_hash and details.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import duckdb

from evidence import __version__
from evidence.siem.mappings.docs import json_path, query_docs
from evidence.siem.sinks.base import Doc
from evidence.sql import load_sql

__all__ = [
    "event_id_of",
    "ACTIONS",
    "FINDING_STATUS",
    "OCSF_VERSION",
    "OKTA_EVENT_TYPES",
    "OKTA_PREFIXES",
    "OTHER",
    "PRODUCT",
    "SEVERITY",
    "OcsfClass",
    "documents",
]

OCSF_VERSION = "1.5.0"

PRODUCT = {"name": "scim-evidence", "vendor_name": "scim-evidence", "version": __version__}


class OcsfClass(NamedTuple):
    """One class/activity pair, with the captions OCSF gives them."""

    category_uid: int
    category_name: str
    class_uid: int
    class_name: str
    activity_id: int
    activity_name: str


_IAM = (3, "Identity & Access Management")
_ACCOUNT = partial(OcsfClass, *_IAM, 3001, "Account Change")
_AUTH = partial(OcsfClass, *_IAM, 3002, "Authentication")
_ACCESS = partial(OcsfClass, *_IAM, 3005, "User Access Management")
_GROUP = partial(OcsfClass, *_IAM, 3006, "Group Management")
_FINDING = partial(OcsfClass, 2, "Findings", 2004, "Detection Finding")


# activity_name "Other" is replaced by the action itself in SQL (OCSF: for 99 it must carry
# the source's label).
OTHER = _ACCOUNT(99, "Other")

ACTIONS: dict[str, OcsfClass] = {
    "hr.hire": OTHER,
    "hr.move": OTHER,
    "hr.leave": OTHER,
    "hr.return": OTHER,
    "hr.terminate": OTHER,
    "user.create": _ACCOUNT(1, "Create"),
    "user.activate": _ACCOUNT(2, "Enable"),
    "user.unsuspend": _ACCOUNT(2, "Enable"),
    "user.deactivate": _ACCOUNT(5, "Disable"),
    "user.suspend": _ACCOUNT(5, "Disable"),
    "user.delete": _ACCOUNT(6, "Delete"),
    "user.login": _AUTH(1, "Logon"),
    "app.assign": _ACCESS(1, "Assign Privileges"),
    "app.unassign": _ACCESS(2, "Revoke Privileges"),
    "account.create": _ACCOUNT(1, "Create"),
    "account.update": OTHER,
    "account.activate": _ACCOUNT(2, "Enable"),
    "account.deactivate": _ACCOUNT(5, "Disable"),
    "account.delete": _ACCOUNT(6, "Delete"),
    "account.login": _AUTH(1, "Logon"),
    "group.member.add": _GROUP(3, "Add User"),
    "group.member.remove": _GROUP(4, "Remove User"),
    "privilege.grant": _ACCESS(1, "Assign Privileges"),
    "privilege.revoke": _ACCESS(2, "Revoke Privileges"),
    "finding.open": _FINDING(1, "Create"),
    "finding.reopen": _FINDING(2, "Update"),
    "finding.accept": _FINDING(2, "Update"),
    "finding.resolve": _FINDING(3, "Close"),
}

# Okta eventTypes our canonical actions leave unmapped (`okta.<eventType>`) but OCSF 1.5.0
# has an exact activity for; checked before ACTIONS.
OKTA_EVENT_TYPES: dict[str, OcsfClass] = {
    "user.session.end": _AUTH(2, "Logoff"),
    "user.account.update_password": _ACCOUNT(3, "Password Change"),
    "user.account.reset_password": _ACCOUNT(4, "Password Reset"),
    "user.account.lock": _ACCOUNT(9, "Lock"),
    "user.account.unlock": _ACCOUNT(12, "Unlock"),
    "user.mfa.factor.activate": _ACCOUNT(10, "MFA Factor Enable"),
    "user.mfa.factor.deactivate": _ACCOUNT(11, "MFA Factor Disable"),
    "group.lifecycle.create": _GROUP(6, "Create"),
    "group.lifecycle.delete": _GROUP(5, "Delete"),
}

# Okta's sign-in families (authentication, session, sign-on policy evaluation) are
# Authentication whatever the exact type: 99 Other (first matching prefix; OKTA_EVENT_TYPES
# and ACTIONS win), rather than the Account Change catch-all.
OKTA_PREFIXES: dict[str, OcsfClass] = {
    "user.authentication.": _AUTH(99, "Other"),
    "user.session.": _AUTH(99, "Other"),
    "policy.evaluate_sign_on": _AUTH(99, "Other"),
}

# Finding lifecycle (OCSF Finding status_id). An accepted risk is reviewed and needs no action:
# Suppressed, the bucket SIEMs leave out of open work; our own word stays in unmapped.
FINDING_STATUS: dict[str, tuple[int, str]] = {
    "finding.open": (1, "New"),
    "finding.reopen": (1, "New"),
    "finding.accept": (3, "Suppressed"),
    "finding.resolve": (4, "Resolved"),
}

SEVERITY: dict[str, tuple[int, str]] = {
    "info": (1, "Informational"),
    "low": (2, "Low"),
    "medium": (3, "Medium"),
    "high": (4, "High"),
    "critical": (5, "Critical"),
}

_SQL = load_sql("evidence.siem.mappings", "ocsf.sql")


def _row(key: str, value: str, c: OcsfClass) -> dict[str, Any]:
    return {key: value, "cls": c._asdict()}


def _params(after_seq: int, limit: int) -> dict[str, Any]:
    return {
        "after": after_seq,
        "limit": limit,
        "version": OCSF_VERSION,
        "product": PRODUCT,
        "actions": [_row("action", a, c) for a, c in ACTIONS.items()],
        "okta_types": [_row("event_type", t, c) for t, c in OKTA_EVENT_TYPES.items()],
        "okta_prefixes": [_row("prefix", t, c) for t, c in OKTA_PREFIXES.items()],
        "other": OTHER._asdict(),
        "finding_status": [
            {"action": a, "status_id": i, "status": s} for a, (i, s) in FINDING_STATUS.items()
        ],
        "severities": [
            {"severity": s, "severity_id": i, "caption": c} for s, (i, c) in SEVERITY.items()
        ],
    }


def documents(
    con: duckdb.DuckDBPyConnection, *, after_seq: int = 0, limit: int = 5000
) -> list[Doc]:
    """OCSF documents of up to `limit` events with seq > `after_seq`, in seq order."""
    return query_docs(con, _SQL, _params(after_seq, limit))


def event_id_of(body: str) -> str | None:
    """The event id an OCSF document carries (`unmapped.scim_evidence.event_id`)."""
    return json_path(body, ("unmapped", "scim_evidence", "event_id"))
