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
from evidence.siem.sinks.es_template import FIELDS
from evidence.store.db import open_store
from tests.siem_builders import ENTRA_RECORD, REFERENCE, add_event, load_okta, reference

# ECS 8.11 fields these documents may carry (besides scim_evidence.*), checked leaf by leaf.
ECS_FIELDS = set(
    """
    @timestamp message ecs.version
    event.kind event.category event.type event.action event.outcome event.id event.created
    event.ingested event.hash event.sequence event.provider event.severity
    user.id user.name user.full_name user.target.id user.target.name user.target.full_name
    user.target.group.id user.target.group.name group.id group.name related.user
    rule.id rule.name rule.category rule.ruleset
    source.ip source.domain source.user.id source.user.name source.user.full_name
    client.ip client.domain client.as.organization.name client.user.id client.user.name
    client.user.full_name client.geo.city_name client.geo.region_name client.geo.country_name
    client.geo.location.lat client.geo.location.lon user_agent.original related.ip
    user_agent.name user_agent.version user_agent.os.name user_agent.os.version
    user_agent.os.full user_agent.device.name
    """.split()
)
# Elastic's integration namespaces: their leaves must be mapped by the index template.
VENDOR_PREFIXES = ("okta.", "azure.")


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
    add_event(con, 1004, source="entra", action="account.create", raw=ENTRA_RECORD)
    flattened = tuple(f + "." for f, spec in FIELDS.items() if spec["type"] == "flattened")
    for doc in docs_by_id(con).values():
        ours = {k: v for k, v in leaves(doc).items() if not k.startswith("scim_evidence.")}
        vendor = {k for k in ours if k.startswith(VENDOR_PREFIXES)}
        assert {k for k in vendor if not k.startswith(flattened)} <= set(FIELDS)
        ours = {k: v for k, v in ours.items() if k not in vendor}
        assert set(ours) <= ECS_FIELDS, set(ours) - ECS_FIELDS
        assert all(v is not None and v != [] for v in ours.values())
        meta = {k: v for k, v in doc["scim_evidence"].items() if k not in ("details", "raw")}
        assert all(v is not None for v in leaves(meta).values())


# --- network context and vendor fields, as Elastic's integrations map them ----------------

# Compared both ways on every reference event: equal where Elastic has them, absent where it
# has not. Not here: what Elastic's GeoIP processor adds (source.geo.*, source.as.*: the
# user's own ingest pipeline, see the README), its KV parsing of debugData's `{k=v}` strings (risk_*, and their flattened copy),
# and okta.target, okta.device, okta.request.ip_chain, okta.transaction.detail.
_NETWORK = """
    source.ip source.domain source.user.id source.user.name source.user.full_name client.ip
    client.domain client.as.organization.name client.user.id client.user.name
    client.user.full_name client.geo.city_name client.geo.region_name client.geo.country_name
    client.geo.location.lat client.geo.location.lon user_agent.original related.ip
    user_agent.name user_agent.version user_agent.os.name user_agent.os.version
    user_agent.os.full user_agent.device.name
    okta.uuid okta.event_type okta.display_message okta.transaction.id okta.transaction.type
    okta.outcome.reason okta.outcome.result okta.actor.id okta.actor.alternate_id
    okta.actor.display_name okta.actor.type okta.client.device okta.client.id okta.client.ip
    okta.client.zone okta.client.user_agent.browser okta.client.user_agent.os
    okta.client.user_agent.raw_user_agent okta.authentication_context.authentication_provider
    okta.authentication_context.authentication_step
    okta.authentication_context.credential_provider okta.authentication_context.credential_type
    okta.authentication_context.external_session_id okta.authentication_context.interface
    okta.authentication_context.root_session_id okta.security_context.as.number
    okta.security_context.as.organization.name okta.security_context.domain
    okta.security_context.is_proxy okta.security_context.isp
    okta.debug_context.debug_data.request_id okta.debug_context.debug_data.request_uri
    okta.debug_context.debug_data.url okta.debug_context.debug_data.threat_suspected
    okta.debug_context.debug_data.device_fingerprint okta.debug_context.debug_data.dt_hash
    okta.debug_context.debug_data.factor
""".split()


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def test_okta_network_context_agrees_with_elastic(con: duckdb.DuckDBPyConnection) -> None:
    records, expected = reference("test-okta-system-events.log")
    ids = load_okta(con, records)
    docs = docs_by_id(con)
    present: dict[str, int] = dict.fromkeys(_NETWORK, 0)
    for i, (eid, theirs) in enumerate(zip(ids, expected, strict=True)):
        flat, want = leaves(docs[eid]), leaves(theirs)
        for field in _NETWORK:
            assert flat.get(field) == want.get(field), (i, field)
            present[field] += field in flat
        # Every key of debugData, as Okta wrote it (nulls dropped), in one flattened field.
        debug = records[i].get("debugContext", {}).get("debugData")
        got = docs[eid]["okta"].get("debug_context", {}).get("debug_data", {}).get("flattened")
        assert got == ((_without_nulls(debug) or None) if debug else None)
    # Coverage over Elastic's 25 events: 19 carry a client address (3 give the string "null",
    # 3 no client at all), 22 a user agent and Okta's geography, all 25 an actor.
    assert present["source.ip"] == present["client.ip"] == present["related.ip"] == 19
    assert present["user_agent.original"] == present["client.geo.city_name"] == 22
    # Parsed as Elastic's user_agent processor parses it: a name and a device always ("Other"
    # when unknown), an operating system on 17 of the 22.
    assert present["user_agent.name"] == present["user_agent.device.name"] == 22
    assert present["user_agent.os.name"] == 17
    assert present["source.user.id"] == present["client.user.name"] == 25
    assert present["okta.security_context.isp"] == 12
    assert present["okta.outcome.reason"] == 4


def test_okta_client_exact(con: duckdb.DuckDBPyConnection) -> None:
    record = {
        "uuid": "u-1",
        "eventType": "user.session.start",
        "published": "2024-03-04T05:06:07.089Z",
        "displayMessage": "User login to Okta",
        "actor": {
            "id": "00u1",
            "alternateId": "ada@example.com",
            "displayName": "Ada",
            "type": "User",
        },
        "outcome": {"result": "FAILURE", "reason": "INVALID_CREDENTIALS"},
        "client": {
            "ipAddress": "2001:db8::7",
            "device": "Computer",
            "zone": "null",
            "userAgent": {"rawUserAgent": "curl/8.5.0", "os": "Unknown", "browser": "UNKNOWN"},
            "geographicalContext": {
                "city": "Lyon",
                "state": "Auvergne-Rhone-Alpes",
                "country": "France",
                "postalCode": "69001",
                "geolocation": {"lat": 45.76, "lon": 4.83},
            },
        },
        "securityContext": {
            "asNumber": 64500,
            "asOrg": "example net",
            "domain": "example.net",
            "isProxy": True,
            "isp": "example isp",
        },
        "authenticationContext": {
            "authenticationStep": 0,
            "externalSessionId": "s-1",
            "credentialType": None,
        },
        "debugContext": {"debugData": {"requestId": "r-1", "threatSuspected": "false"}},
    }
    eid = load_okta(con, [record])[0]
    doc = docs_by_id(con)[eid]
    actor = {"id": "00u1", "name": "ada@example.com", "full_name": "Ada"}
    assert doc["source"] == {"ip": "2001:db8::7", "domain": "example.net", "user": actor}
    assert doc["client"] == {
        "ip": "2001:db8::7",
        "domain": "example.net",
        "as": {"organization": {"name": "example net"}},
        "geo": {
            "city_name": "Lyon",
            "region_name": "Auvergne-Rhone-Alpes",
            "country_name": "France",
            "location": {"lat": 45.76, "lon": 4.83},
        },
        "user": actor,
    }
    assert doc["user_agent"] == {
        "original": "curl/8.5.0",
        "name": "curl",
        "version": "8.5.0",
        "device": {"name": "Other"},
    }
    assert doc["related"] == {"ip": ["2001:db8::7"], "user": ["Ada", "ada@example.com"]}
    assert {k: v for k, v in doc["okta"].items() if k not in ("actor", "uuid", "event_type")} == {
        "display_message": "User login to Okta",
        "outcome": {"reason": "INVALID_CREDENTIALS", "result": "FAILURE"},
        "client": {
            "device": "Computer",
            "zone": "null",
            "ip": "2001:db8::7",
            "user_agent": {"browser": "UNKNOWN", "os": "Unknown", "raw_user_agent": "curl/8.5.0"},
        },
        "authentication_context": {"authentication_step": 0, "external_session_id": "s-1"},
        "security_context": {
            "as": {"number": 64500, "organization": {"name": "example net"}},
            "domain": "example.net",
            "is_proxy": True,
            "isp": "example isp",
        },
        "debug_context": {
            "debug_data": {
                "flattened": {"requestId": "r-1", "threatSuspected": "false"},
                "request_id": "r-1",
                "threat_suspected": "false",
            }
        },
    }


@pytest.mark.parametrize(
    ("address", "kept"),
    [
        ("175.16.199.1", True),
        ("::1", True),
        ("fe80::1:2", True),
        ("1:2:3:4:5:6:7:8", True),
        ("null", False),
        ("", False),
        ("256.1.1.1", False),
        ("1.2.3", False),
        ("1::2::3", False),
        ("1:2:3", False),
        (":1:2", False),
    ],
)
def test_only_real_addresses_reach_ip_fields(
    con: duckdb.DuckDBPyConnection, address: str, kept: bool
) -> None:
    record = {
        "uuid": "u",
        "eventType": "user.session.start",
        "published": "2024-01-01T00:00:00Z",
        "actor": {"id": "a"},
        "client": {"ipAddress": address},
    }
    eid = load_okta(con, [record])[0]
    doc = docs_by_id(con)[eid]
    assert doc.get("source", {}).get("ip") == (address if kept else None)
    assert doc.get("client", {}).get("ip") == (address if kept else None)
    assert ("ip" in doc.get("related", {})) is kept


def test_malformed_target_list_does_not_stall_the_batch(con: duckdb.DuckDBPyConnection) -> None:
    """A target that is no list (a vendor bug, a hand-edited export) maps without targets;
    the events around it still map, so the sink's cursor moves on."""
    good = {
        "uuid": "u-1",
        "eventType": "user.lifecycle.create",
        "published": "2024-01-01T00:00:00Z",
        "actor": {"id": "a1", "alternateId": "admin@example.com"},
        "target": [{"id": "00u9", "type": "User", "displayName": "Grace"}],
    }
    bad = {
        "uuid": "u-2",
        "eventType": "user.lifecycle.create",
        "published": "2024-01-01T00:00:01Z",
        "actor": {"id": "a1", "alternateId": "admin@example.com"},
        "target": {"id": "00u9", "type": "User"},
    }
    ids = load_okta(con, [good])
    # As the connector stores it: the record verbatim, whatever its target holds.
    ids.append(add_event(con, 2, source="okta", native_id="u-2", action="user.create", raw=bad))
    add_event(con, 3, action="hr.hire", person_id="E1")
    docs = ecs.documents(con)
    assert [d.seq for d in docs] == [1, 2, 3]
    got = json.loads(docs[1].body)
    assert got["user"] == {"id": "a1", "name": "admin@example.com"}
    assert got["related"] == {"user": ["admin@example.com"]}
    assert got["event"]["id"] == "u-2"
    assert got["event"]["action"] == "user.lifecycle.create"
    assert got["scim_evidence"]["raw"] == bad
    assert json.loads(docs[0].body)["user"]["target"] == {"id": "00u9", "full_name": "Grace"}
    assert ids[1] == docs[1].event_id


def test_entra_provisioning_as_elastic_names_it(con: duckdb.DuckDBPyConnection) -> None:
    eid = add_event(con, 1, source="entra", action="account.create", raw=ENTRA_RECORD)
    assert docs_by_id(con)[eid]["azure"] == {
        "provisioning": {
            "properties": {
                "id": "prov-1",
                "activity_datetime": "2024-05-01T10:00:00.1234567Z",
                "tenant_id": "tenant-1",
                "job_id": "SlackOutDelta.tenant1.job1",
                "cycle_id": "cycle-1",
                "change_id": "change-1",
                "action": "Create",
                "provisioning_action": "create",
                "duration_ms": 1234,
                "initiated_by": {
                    "id": "",
                    "name": "Azure AD Provisioning Service",
                    "type": "system",
                },
                "service_principal": {"id": "sp-1", "name": "Slack"},
                "source_system": {"id": "src-1", "name": "Azure Active Directory"},
                "target_system": {"id": "tgt-1", "name": "Slack"},
                "source_identity": {"id": "user-1", "name": "Alice", "identity_type": "User"},
                "target_identity": {"id": "", "name": "", "identity_type": "User"},
                "provisioning_status_info": {"status": "success"},
            }
        }
    }


def test_entra_field_names_are_elastics() -> None:
    """Every azure.* name we write is one Elastic's azure provisioning pipeline writes."""
    expected = REFERENCE.parent / "elastic-azure" / "test-provisioninglogs-raw.log-expected.json"
    if not expected.exists():
        pytest.skip(f"{expected} not present")
    theirs = {k for doc in json.loads(expected.read_text())["expected"] for k in leaves(doc)}
    parents = {k.rsplit(".", 1)[0] for k in theirs} | theirs
    ours = {f for f in FIELDS if f.startswith("azure.")}
    assert ours <= parents, ours - parents
