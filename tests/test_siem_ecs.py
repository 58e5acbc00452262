"""ECS documents: exact values per event, and agreement with Elastic's own Okta output."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from evidence.siem.mappings import ecs
from evidence.store.db import open_store
from tests.siem_builders import REFERENCE, add_event, load_okta, reference

# ECS 8.11 fields these documents may carry (besides scim_evidence.*), checked leaf by leaf.
ECS_FIELDS = set(
    """
    @timestamp message ecs.version
    event.kind event.category event.type event.action event.outcome event.id event.created
    event.ingested event.hash event.sequence event.provider event.severity
    user.id user.name user.full_name user.target.id user.target.name user.target.full_name
    user.target.group.id user.target.group.name group.id group.name related.user
    rule.id rule.name rule.category rule.ruleset
    """.split()
)


def docs_by_id(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    return {d.event_id: json.loads(d.body) for d in ecs.documents(con, limit=100_000)}


def leaves(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(leaves(value, path + "."))
        else:
            out[path] = value
    return out


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    c = open_store(tmp_path / "store.duckdb")
    yield c
    c.close()


def test_hr_hire_document(con: duckdb.DuckDBPyConnection) -> None:
    raw = {"Employee ID": "E1001", "Name": "Ada Lovelace", "Manager": None}
    eid = add_event(
        con,
        1,
        source="workday",
        native_type="hire",
        action="hr.hire",
        person_id="E1001",
        occurred_at=datetime(2024, 1, 8, 0, 0, tzinfo=UTC),
        details={"department": "Eng"},
        raw=raw,
    )
    assert docs_by_id(con)[eid] == {
        "@timestamp": "2024-01-08T00:00:00.000Z",
        "ecs": {"version": "8.11.0"},
        "event": {
            "kind": "event",
            "category": ["iam"],
            "type": ["user", "creation"],
            "action": "hr.hire",
            "id": eid,
            "created": "2024-03-01T12:00:00.123Z",
            "ingested": "2024-03-01T12:00:00.123Z",
            "hash": hashlib.sha256(b"hash-1").hexdigest(),
            "sequence": 1,
            "provider": "workday",
        },
        "user": {"target": {"id": "E1001"}},
        "related": {"user": ["E1001"]},
        "scim_evidence": {
            "action": "hr.hire",
            "event_id": eid,
            "source": "workday",
            "native_type": "hire",
            "person_id": "E1001",
            "inferred": False,
            "details": {"department": "Eng"},
            "raw": raw,
        },
    }


_FINDING_KEYS = "kind subkind severity status account controls first_seen_at last_seen_at".split()


def test_finding_open_document(con: duckdb.DuckDBPyConnection) -> None:
    finding = json.loads("""{
        "finding_id": "f-123", "kind": "orphan", "subkind": "terminated_active",
        "severity": "high", "status": "open", "app": "github", "account": "jdoe",
        "person_id": "E1002", "entitlement": null, "rule": null, "controls": ["CC6.2", "A.5.18"],
        "explanation": "jdoe is active in github 3 days after E1002's termination.",
        "evidence": {"termination_date": "2024-01-31"}, "first_seen_at": "2024-02-03T00:00:00Z",
        "last_seen_at": "2024-02-03T00:00:00Z", "resolved_at": null}""")
    eid = add_event(
        con,
        7,
        source="detect",
        native_type="orphan/terminated_active",
        action="finding.open",
        outcome="success",
        actor="scim-evidence",
        raw=finding["evidence"],
        person_id="E1002",
        app="github",
        account_id="1234",
        details=finding,
        occurred_at=datetime(2024, 2, 3, tzinfo=UTC),
    )
    assert docs_by_id(con)[eid] == {
        "@timestamp": "2024-02-03T00:00:00.000Z",
        "ecs": {"version": "8.11.0"},
        "message": finding["explanation"],
        "event": {
            "kind": "alert",
            "category": ["iam"],
            "type": ["info"],
            "action": "finding.open",
            "outcome": "success",
            "id": eid,
            "created": "2024-03-01T12:00:00.123Z",
            "ingested": "2024-03-01T12:00:00.123Z",
            "hash": hashlib.sha256(b"hash-7").hexdigest(),
            "sequence": 7,
            "provider": "detect",
            "severity": 73,
        },
        "user": {"name": "scim-evidence", "target": {"id": "1234", "name": "jdoe"}},
        "related": {"user": ["scim-evidence", "jdoe", "1234", "E1002"]},
        "rule": {
            "id": "orphan.terminated_active",
            "name": "orphan.terminated_active",
            "category": "orphan",
            "ruleset": "scim-evidence",
        },
        "scim_evidence": {
            "action": "finding.open",
            "event_id": eid,
            "source": "detect",
            "native_type": "orphan/terminated_active",
            "app": "github",
            "account_id": "1234",
            "person_id": "E1002",
            "inferred": False,
            # Dates as every other ECS date: RFC 3339 UTC with milliseconds.
            "finding": {"id": "f-123"}
            | {k: finding[k] for k in _FINDING_KEYS}
            | {k: "2024-02-03T00:00:00.000Z" for k in ("first_seen_at", "last_seen_at")},
            "details": finding,
            "raw": {"termination_date": "2024-01-31"},
        },
    }


def test_sod_finding_rule_name_is_the_policy_rule(con: duckdb.DuckDBPyConnection) -> None:
    eid = add_event(
        con,
        1,
        source="detect",
        action="finding.accept",
        native_type="sod.toxic_combination",
        details=json.loads("""{"kind": "sod", "subkind": "toxic_combination",
            "severity": "critical", "rule": "release-and-approve", "status": "accepted"}"""),
    )
    doc = docs_by_id(con)[eid]
    assert doc["rule"]["id"] == "sod.toxic_combination"
    assert doc["rule"]["name"] == "release-and-approve"
    assert doc["event"]["severity"] == 99
    assert doc["event"]["kind"] == "alert"


@pytest.mark.parametrize(
    ("action", "kind", "category", "type_"),
    [
        ("hr.hire", "event", ["iam"], ["user", "creation"]),
        ("hr.terminate", "event", ["iam"], ["user", "change"]),
        ("user.create", "event", ["iam"], ["user", "creation"]),
        ("user.deactivate", "event", ["iam"], ["user", "change"]),
        ("user.suspend", "event", ["iam"], ["user", "change"]),
        ("user.activate", "event", ["iam"], ["user", "change"]),
        ("user.delete", "event", ["iam"], ["user", "deletion"]),
        ("account.delete", "event", ["iam"], ["user", "deletion"]),
        ("app.assign", "event", ["iam"], ["user", "change"]),
        ("group.member.add", "event", ["iam"], ["group", "change"]),
        ("group.member.remove", "event", ["iam"], ["group", "change"]),
        ("privilege.grant", "event", ["iam"], ["admin", "change"]),
        ("privilege.revoke", "event", ["iam"], ["admin", "change"]),
        ("user.login", "event", ["authentication"], ["start"]),
        ("account.login", "event", ["authentication"], ["start"]),
        ("finding.resolve", "alert", ["iam"], ["info"]),
        ("entra.Other", "event", None, None),
    ],
)
def test_action_classes(
    con: duckdb.DuckDBPyConnection, action: str, kind: str, category: Any, type_: Any
) -> None:
    eid = add_event(con, 1, action=action, outcome="Success", actor="admin@example.com")
    event = docs_by_id(con)[eid]["event"]
    assert (event["kind"], event.get("category"), event.get("type")) == (kind, category, type_)
    assert event["action"] == action
    assert event["outcome"] == "success"


def test_group_membership_names_the_group(con: duckdb.DuckDBPyConnection) -> None:
    eid = add_event(
        con,
        1,
        source="github",
        action="group.member.add",
        account_id="42",
        person_id="E7",
        entitlement="release-managers",
        actor="scim-bridge",
        inferred=True,
        occurred_at=datetime(2024, 5, 6, 7, 8, 9, 987654, tzinfo=UTC),
    )
    con.execute("SET TimeZone = 'Asia/Kolkata'")  # the forwarder's reader has no UTC setting
    doc = docs_by_id(con)[eid]
    assert doc["@timestamp"] == "2024-05-06T07:08:09.987Z"
    assert doc["group"] == {"name": "release-managers"}
    assert doc["user"] == {
        "name": "scim-bridge",
        "target": {"id": "42", "group": {"name": "release-managers"}},
    }
    assert doc["related"]["user"] == ["scim-bridge", "42", "E7"]
    assert doc["scim_evidence"]["inferred"] is True
    assert "details" not in doc["scim_evidence"] and "raw" not in doc["scim_evidence"]


def test_batches_follow_seq(con: duckdb.DuckDBPyConnection) -> None:
    ids = [add_event(con, seq) for seq in (5, 1, 3, 9)]
    got = ecs.documents(con, after_seq=1, limit=2)
    assert [(d.seq, d.event_id) for d in got] == [(3, ids[2]), (5, ids[0])]
    assert all("\n" not in d.body for d in got)


# --- Okta: agreement with Elastic's own integration output ------------------------------

# Fields both set, compared wherever Elastic's expected document has them.
_COMPARED = """
    @timestamp ecs.version event.action event.id event.outcome event.kind event.category
    event.type user.name user.full_name user.target.id user.target.full_name user.target.email
    user.target.group.id user.target.group.name related.user
""".split()


def test_okta_agrees_with_elastic(con: duckdb.DuckDBPyConnection) -> None:
    """Elastic's ECS 8.11.0 pipeline output for the same System Log records."""
    records, expected = reference("test-okta-system-events.log")
    assert len(records) == len(expected)
    ids = load_okta(con, records)
    docs = docs_by_id(con)
    compared = 0
    for i, (eid, theirs) in enumerate(zip(ids, expected, strict=True)):
        ours, flat, want = docs[eid], leaves(docs[eid]), leaves(theirs)
        for field in set(_COMPARED) & set(want):
            assert flat.get(field) == want[field], (i, field)
            compared += 1
        assert "event.category" in want or "event.category" not in flat, i
        assert ours["message"] == records[i]["displayMessage"]
        assert ours["user"]["id"] == records[i]["actor"]["id"]
        assert ours["scim_evidence"]["raw"] == records[i]  # an object, nulls included
    assert compared > 200


# Elastic's older revision (ECS 8.6.0) of the same pipeline kept only the part of
# actor.alternateId before "@" in user.name, left it out of related.user, and typed sessions
# with "user" instead of "info"; its 8.11.0 revision, which we follow, changed all three.
_REVISED_IN_8_11 = {"ecs.version", "user.name", "related.user", "event.type"}


def test_okta_agrees_with_elastic_older_revision(con: duckdb.DuckDBPyConnection) -> None:
    records, expected = reference("test-okta-system-events.json")
    assert len(records) == len(expected)
    ids = load_okta(con, records)
    docs = docs_by_id(con)
    for i, (eid, theirs) in enumerate(zip(ids, expected, strict=True)):
        ours, flat, want = docs[eid], leaves(docs[eid]), leaves(theirs)
        for field in (set(_COMPARED) - _REVISED_IN_8_11) & set(want):
            assert flat.get(field) == want[field], (i, field)
        assert ours["user"]["name"].split("@")[0] == theirs["user"]["name"]
        assert set(theirs["related"]["user"]) <= set(ours["related"]["user"])
        if "type" in theirs["event"]:
            assert ours["event"]["type"][0] == theirs["event"]["type"][0]


def test_only_ecs_fields_and_no_nulls(con: duckdb.DuckDBPyConnection) -> None:
    if (REFERENCE / "test-okta-system-events.log").exists():
        load_okta(con, reference("test-okta-system-events.log")[0])
    add_event(con, 1001, action="hr.hire", person_id="E1", raw={"a": None})
    add_event(con, 1002, action="group.member.remove", entitlement="g", account_id="7")
    add_event(
        con,
        1003,
        action="finding.reopen",
        details={"kind": "drift", "subkind": "group_mismatch", "severity": "low", "account": "x"},
    )
    for doc in docs_by_id(con).values():
        ours = {k: v for k, v in leaves(doc).items() if not k.startswith("scim_evidence.")}
        assert set(ours) <= ECS_FIELDS, set(ours) - ECS_FIELDS
        assert all(v is not None and v != [] for v in ours.values())
        meta = {k: v for k, v in doc["scim_evidence"].items() if k not in ("details", "raw")}
        assert all(v is not None for v in leaves(meta).values())
