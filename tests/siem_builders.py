"""Builders the SIEM tests share: store rows for events, Okta records and findings, and the
Elastic reference vectors. Not a test module, so test modules import from here, never from
each other."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from connectors.okta.mapping import okta_action, okta_events

REFERENCE = Path("/work/shared/reference-data/elastic-okta")
INGESTED = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


_EVENT_INSERT = """
INSERT INTO events VALUES (
    $event_id, $seq, 1, $source, $native_id, $native_type, $occurred_at, $ingested_at,
    $action, $outcome, $actor, $person_id, $app, $account_id, $entitlement,
    $details::JSON, $inferred, $raw::JSON, $event_hash
)
"""


def add_event(con: duckdb.DuckDBPyConnection, seq: int, **cols: Any) -> str:
    """Insert one events row; unspecified columns get plain defaults. Returns its event_id."""
    row: dict[str, Any] = {
        "event_id": hashlib.sha256(f"event-{seq}".encode()).hexdigest(),
        "seq": seq,
        "source": "hr",
        "native_id": None,
        "native_type": None,
        "occurred_at": datetime(2024, 2, 1, 9, 30, tzinfo=UTC),
        "ingested_at": INGESTED,
        "action": "hr.move",
        "outcome": None,
        "actor": None,
        "person_id": None,
        "app": None,
        "account_id": None,
        "entitlement": None,
        "details": None,
        "inferred": False,
        "raw": None,
        "event_hash": hashlib.sha256(f"hash-{seq}".encode()).hexdigest(),
    }
    row.update(cols)
    for key in ("details", "raw"):
        if row[key] is not None and not isinstance(row[key], str):
            row[key] = json.dumps(row[key])
    con.execute(_EVENT_INSERT, row)
    return row["event_id"]


# An Entra provisioning record as Microsoft Graph returns it (provisioningObjectSummary).
ENTRA_RECORD: dict[str, Any] = {
    "id": "prov-1",
    "activityDateTime": "2024-05-01T10:00:00.1234567Z",
    "tenantId": "tenant-1",
    "jobId": "SlackOutDelta.tenant1.job1",
    "cycleId": "cycle-1",
    "changeId": "change-1",
    "action": "Create",
    "provisioningAction": "create",
    "durationInMilliseconds": 1234,
    "initiatedBy": {
        "id": "",
        "displayName": "Azure AD Provisioning Service",
        "initiatorType": "system",
    },
    "servicePrincipal": {"id": "sp-1", "displayName": "Slack"},
    "sourceSystem": {"id": "src-1", "displayName": "Azure Active Directory", "details": None},
    "targetSystem": {"id": "tgt-1", "displayName": "Slack", "details": None},
    "sourceIdentity": {
        "id": "user-1",
        "displayName": "Alice",
        "identityType": "User",
        "details": None,
    },
    "targetIdentity": {"id": "", "displayName": "", "identityType": "User", "details": None},
    "provisioningStatusInfo": {"status": "success", "errorInformation": None},
    "provisioningSteps": [],
    "modifiedProperties": [],
}


def reference(name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Elastic's test input records and its expected documents, one for one."""
    path, expected = REFERENCE / name, REFERENCE / f"{name}-expected.json"
    if not (path.exists() and expected.exists()):
        pytest.skip(f"{path} not present")
    if name.endswith(".json"):
        # Each message may hold several records; Elastic's json processor reads the first.
        messages = json.loads(path.read_text())["events"]
        records = [json.loads(m["message"].splitlines()[0]) for m in messages]
    else:
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return records, json.loads(expected.read_text())["expected"]


def load_okta(con: duckdb.DuckDBPyConnection, records: list[dict[str, Any]]) -> list[str]:
    ids = []
    for i, rec in enumerate(records, start=1):
        published = datetime.fromisoformat(rec["published"].replace("Z", "+00:00"))
        targets = rec.get("target") or []
        person = next((t["id"] for t in targets if t.get("type") == "User"), None)
        ids.append(
            add_event(
                con,
                i,
                source="okta",
                native_id=rec["uuid"],
                native_type=rec["eventType"],
                occurred_at=published,
                action=okta_action(rec["eventType"]),
                outcome=(rec.get("outcome") or {}).get("result"),
                actor=(rec.get("actor") or {}).get("alternateId"),
                person_id=person,
                details={"displayMessage": rec.get("displayMessage")},
                raw=rec,
            )
        )
    return ids


def eid(seq: int) -> str:
    return hashlib.sha256(f"event-{seq}".encode()).hexdigest()


def ehash(seq: int) -> str:
    return hashlib.sha256(f"hash-{seq}".encode()).hexdigest()


OKTA_RECORD: dict[str, Any] = {
    "uuid": "9c3f7a1e-5b2d-11ef-8a6c-0242ac120002",
    "published": "2024-03-04T05:06:07.089Z",
    "eventType": "group.user_membership.add",
    "version": "0",
    "severity": "INFO",
    "displayMessage": "Add user to group membership",
    "actor": {
        "id": "00uadmin1",
        "type": "User",
        "alternateId": "admin@example.com",
        "displayName": "Ada Admin",
        "detailEntry": None,
    },
    "outcome": {"result": "SUCCESS", "reason": None},
    "transaction": {"type": "WEB", "id": "YmFzZTY0dHhu", "detail": {}},
    "target": [
        {
            "id": "00gsales1",
            "type": "UserGroup",
            "alternateId": "unknown",
            "displayName": "Sales",
            "detailEntry": None,
        },
        {
            "id": "00utarget1",
            "type": "User",
            "alternateId": "grace@example.com",
            "displayName": "Grace Hopper",
            "detailEntry": None,
        },
    ],
}


def add_okta(con: duckdb.DuckDBPyConnection, seq: int, record: dict[str, Any]) -> dict[str, Any]:
    """Insert a System Log record as the Okta connector maps it; returns the canonical row."""
    row = okta_events([("logs.json", 0, record)]).to_pylist()[0]
    cols = {k: v for k, v in row.items() if k != "identity"}
    add_event(con, seq, source="okta", **cols)
    return row


FINDING: dict[str, Any] = {
    "finding_id": "f-123",
    "kind": "orphan",
    "subkind": "terminated_active",
    "severity": "high",
    "status": "open",
    "app": "github",
    "account": "jdoe",
    "person_id": "E1002",
    "entitlement": None,
    "rule": None,
    "controls": ["CC6.2", "A.5.18"],
    "explanation": "jdoe is active in github 3 days after E1002's termination.",
    # As finding_events.sql renders TIMESTAMPTZ in JSON, in the writer's time zone.
    "first_seen_at": "2024-02-03 05:30:00+05:30",
    "last_seen_at": "2024-02-04 00:00:00+00",
    "resolved_at": None,
    "detect_run": 3,
}


def add_finding(con: duckdb.DuckDBPyConnection, seq: int, action: str, **finding: Any) -> str:
    details = FINDING | finding
    return add_event(
        con,
        seq,
        source="detect",
        native_type=f"{details['kind']}/{details['subkind']}",
        action=action,
        outcome="success",
        actor="scim-evidence",
        person_id="E1002",
        app="github",
        account_id="1234",
        details=details,
        raw={"termination_date": "2024-01-31"},
        occurred_at=datetime(2024, 2, 4, tzinfo=UTC),
    )


_BATCH_INSERT = """
INSERT INTO events (event_id, seq, run_id, source, native_type, occurred_at, ingested_at,
    action, actor, person_id, app, account_id, entitlement, details, inferred, raw, event_hash)
VALUES ($event_id, $seq, 1, 'github', 'member', $at, $at, $action, 'okta-scim', $person,
    'github', $account, $entitlement, $details::JSON, false, $raw::JSON, $hash)
"""
_T0 = datetime(2024, 1, 1, tzinfo=UTC)


def add_events(con: duckdb.DuckDBPyConnection, n: int) -> list[str]:
    """Append n events after the highest seq; their event ids in seq order."""
    row = con.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
    start = row[0] if row else 0
    ids = []
    for seq in range(start + 1, start + n + 1):
        eid = hashlib.sha256(f"event-{seq}".encode()).hexdigest()
        con.execute(
            _BATCH_INSERT,
            {
                "event_id": eid,
                "seq": seq,
                "at": _T0 + timedelta(minutes=seq),
                "action": "group.member.add" if seq % 2 else "account.create",
                "person": f"E{seq}",
                "account": str(1000 + seq),
                "entitlement": "devs",
                "details": json.dumps({"line": seq, "note": "multi\nline"}),
                # Some sources store pretty-printed JSON; a document must still be one line.
                "raw": json.dumps({"id": str(seq), "manager": None}, indent=2 if seq % 3 else None),
                "hash": hashlib.sha256(f"hash-{seq}".encode()).hexdigest(),
            },
        )
        ids.append(eid)
    return ids


def cursor(con: duckdb.DuckDBPyConnection, sink: str = "file") -> int | None:
    row = con.execute("SELECT last_seq FROM sink_cursors WHERE sink = $s", {"s": sink}).fetchone()
    return row[0] if row else None
