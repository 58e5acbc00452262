"""Events → CEF lines (no syslog header: the syslog sink adds it), built in SQL a batch at a time.

`CEF:0|scim-evidence|scim-evidence|<version>|<class id>|<name>|<severity>|<extension>`:

- Device Event Class ID: the Okta eventType for Okta System Log records (raw has `uuid` and
  `eventType`), else the canonical action.
- Name: `NAMES` by action (a finding adds its `kind/subkind`), else Okta's displayMessage,
  else the action.
- Severity: a finding's severity through `SEVERITY`; every other event, and a finding without
  a known severity, `EVENT_SEVERITY` (low: the source records an action, not a judgment).
- Extension, in this order, a key left out when it has no value: `rt` (epoch ms), `act`
  (canonical action), `outcome`, `suser` (actor), `duser` (Okta's first User target, else the
  finding's account name, else account id, else person id), `msg` (Okta displayMessage or the
  finding's explanation), `externalId` (Okta uuid, else event_id), then the custom strings in
  `CUSTOM` with their labels.

Escaping (CEF spec): in the header `\\` and `|` are escaped and a line break, which the
header cannot carry, becomes a space; in the extension `\\`, `=`, and line breaks (`\\n`,
`\\r`) are escaped. Values are UTF-8 as stored.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

from evidence import __version__
from evidence.siem.mappings.docs import query_docs
from evidence.siem.sinks.base import Doc
from evidence.sql import load_sql

__all__ = ["event_id_of", "CUSTOM", "EVENT_SEVERITY", "NAMES", "SEVERITY", "documents"]

VENDOR = "scim-evidence"
PRODUCT = "scim-evidence"

NAMES: dict[str, str] = {
    "hr.hire": "Person hired",
    "hr.move": "Person moved",
    "hr.leave": "Person on leave",
    "hr.return": "Person returned from leave",
    "hr.terminate": "Person terminated",
    "user.create": "User created",
    "user.activate": "User activated",
    "user.deactivate": "User deactivated",
    "user.suspend": "User suspended",
    "user.unsuspend": "User unsuspended",
    "user.delete": "User deleted",
    "user.login": "User signed in",
    "app.assign": "App assigned",
    "app.unassign": "App unassigned",
    "account.create": "Account created",
    "account.update": "Account updated",
    "account.activate": "Account activated",
    "account.deactivate": "Account deactivated",
    "account.delete": "Account deleted",
    "account.login": "Account signed in",
    "group.member.add": "Group member added",
    "group.member.remove": "Group member removed",
    "privilege.grant": "Privilege granted",
    "privilege.revoke": "Privilege revoked",
    "finding.open": "Finding opened",
    "finding.resolve": "Finding resolved",
    "finding.reopen": "Finding reopened",
    "finding.accept": "Finding accepted",
}

SEVERITY: dict[str, int] = {"info": 0, "low": 3, "medium": 5, "high": 8, "critical": 10}
EVENT_SEVERITY = 3

# CEF custom string slots: (key, label). The slot meaning is fixed whatever the event, so a
# SIEM can map each slot once; slots without a value are left out, label included.
CUSTOM: tuple[tuple[str, str], ...] = (
    ("cs1", "app"),
    ("cs2", "person_id"),
    ("cs3", "account_id"),
    ("cs4", "entitlement"),
    ("cs5", "event_hash"),
    ("cs6", "finding"),
    ("flexString1", "finding_id"),
    ("flexString2", "source"),
)

_SQL = load_sql("evidence.siem.mappings", "cef.sql")


def _params(after_seq: int, limit: int) -> dict[str, Any]:
    return {
        "after": after_seq,
        "limit": limit,
        "header": [VENDOR, PRODUCT, __version__],
        "names": [{"action": a, "name": n} for a, n in NAMES.items()],
        "severities": [{"severity": s, "score": n} for s, n in SEVERITY.items()],
        "event_severity": EVENT_SEVERITY,
        "labels": [label for _, label in CUSTOM],
        "keys": [key for key, _ in CUSTOM],
    }


def documents(
    con: duckdb.DuckDBPyConnection, *, after_seq: int = 0, limit: int = 5000
) -> list[Doc]:
    """CEF lines of up to `limit` events with seq > `after_seq`, in seq order."""
    return query_docs(con, _SQL, _params(after_seq, limit))


def event_id_of(body: str) -> str | None:
    """A CEF line's `externalId` (our event id; an Okta event's uuid, which the forwarder also
    resolves), or None. Only the extension is searched: the header may hold any text, and in
    the extension an unescaped `=` follows only a key."""
    if not body.startswith("CEF:"):
        return None
    pipes, i = 0, 0
    while pipes < 7 and i < len(body):
        if body[i] == "\\":
            i += 1
        elif body[i] == "|":
            pipes += 1
        i += 1
    m = re.search(r"(?:^| )externalId=(\S+)", body[i:])
    return m.group(1) if m and pipes == 7 else None
