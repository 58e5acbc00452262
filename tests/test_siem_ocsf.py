"""OCSF documents: exact values per event, one document per event, classes per action, and
Detection Findings validated by py-ocsf-models (the OCSF 1.5.0 models it ships)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from py_ocsf_models import OCSF_VERSION as MODELS_OCSF_VERSION
from py_ocsf_models.events.findings.detection_finding import DetectionFinding
from py_ocsf_models.objects.metadata import Metadata
from pydantic import BaseModel, ValidationError

from connectors.okta.mapping import okta_action
from evidence import __version__
from evidence.siem.mappings import ocsf
from evidence.store.db import open_store
from tests.siem_builders import (
    FINDING,
    OKTA_RECORD,
    add_event,
    add_finding,
    add_okta,
    ehash,
    eid,
    load_okta,
    reference,
)

INGESTED_MS = 1709294400123  # tests.siem_builders.INGESTED
OCCURRED_MS = 1706779800000  # add_event's default occurred_at, 2024-02-01T09:30:00Z
IAM = {"category_uid": 3, "category_name": "Identity & Access Management"}
PRODUCT = {"name": "scim-evidence", "vendor_name": "scim-evidence", "version": __version__}

# OCSF 1.5.0 attributes each class may carry here (base event + class), and the required ones.
_BASE = set(
    """activity_id activity_name category_uid category_name class_uid class_name type_uid
    type_name severity_id severity status_id status status_code status_detail time message
    metadata raw_data unmapped""".split()
)
ALLOWED = {
    3001: _BASE | {"actor", "user", "src_endpoint", "http_request"},
    3002: _BASE | {"actor", "user", "src_endpoint", "http_request"},
    3005: _BASE | {"actor", "user", "privileges", "resources", "src_endpoint", "http_request"},
    3006: _BASE | {"actor", "user", "group", "privileges", "src_endpoint", "http_request"},
    2004: _BASE | {"finding_info", "resources"},
}
REQUIRED = {3001: {"user"}, 3002: {"user"}, 3005: {"user"}, 3006: {"group"}, 2004: {"finding_info"}}


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = open_store(tmp_path / "store.duckdb")
    yield c
    c.close()


def docs_by_id(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    return {d.event_id: json.loads(d.body) for d in ocsf.documents(con, limit=100_000)}


def iam(class_uid: int, class_name: str, activity_id: int, activity_name: str) -> dict[str, Any]:
    caption = "Other" if activity_id == 99 else activity_name
    return IAM | {
        "activity_id": activity_id,
        "activity_name": activity_name,
        "class_uid": class_uid,
        "class_name": class_name,
        "type_uid": class_uid * 100 + activity_id,
        "type_name": f"{class_name}: {caption}",
        "severity_id": 1,
        "severity": "Informational",
    }


def meta(seq: int, source: str, code: str | None, **more: Any) -> dict[str, Any]:
    m = {"version": "1.5.0", "product": PRODUCT, "uid": eid(seq)}
    if code is not None:
        m["event_code"] = code
    return m | {"log_provider": source, "logged_time": INGESTED_MS, "sequence": seq} | more


def known_fields(value: dict[str, Any], model: BaseModel, path: str = "") -> None:
    """Every key of the document is a field of the model (py-ocsf-models ignores extras)."""
    fields = type(model).model_fields
    for key, v in value.items():
        assert key in fields, f"{path}{key} is not in {type(model).__name__}"
        attr = getattr(model, key)
        if isinstance(attr, BaseModel):
            known_fields(v, attr, f"{path}{key}.")
        elif isinstance(attr, list):
            for i, (item, sub) in enumerate(zip(v, attr, strict=True)):
                if isinstance(sub, BaseModel):
                    known_fields(item, sub, f"{path}{key}[{i}].")


def validate_finding(doc: dict[str, Any]) -> None:
    """Validate a Detection Finding with py-ocsf-models, strictly (no unknown attributes)."""
    known_fields(doc, DetectionFinding.model_validate(doc))


# --- exact documents per action family ----------------------------------------------------


def test_models_implement_the_pinned_version() -> None:
    assert ocsf.OCSF_VERSION == MODELS_OCSF_VERSION == "1.5.0"


def test_hr_record_is_account_change_other(con: duckdb.DuckDBPyConnection) -> None:
    raw = {"Employee ID": "E1001", "Department": "Sales", "Manager": None}
    details = {"department": {"from": "Eng", "to": "Sales"}, "title": None}
    add_event(
        con,
        1,
        source="workday",
        native_type="move",
        action="hr.move",
        outcome="success",
        person_id="E1001",
        details=details,
        raw=raw,
    )
    assert docs_by_id(con)[eid(1)] == iam(3001, "Account Change", 99, "hr.move") | {
        "status_id": 1,
        "status": "Success",
        "time": OCCURRED_MS,
        "metadata": meta(1, "workday", "move"),
        "user": {"uid": "E1001"},
        "raw_data": json.dumps(raw),
        "unmapped": {
            "scim_evidence": {
                "event_id": eid(1),
                "event_hash": ehash(1),
                "action": "hr.move",
                "source": "workday",
                "native_type": "move",
                "person_id": "E1001",
                "inferred": False,
                "details": details,  # verbatim, its null kept
            }
        },
    }


def test_inferred_account_deactivation(con: duckdb.DuckDBPyConnection) -> None:
    raw = {"before": {"active": True}, "after": {"active": False}}
    add_event(
        con,
        2,
        source="github",
        native_type="snapshot:accounts",
        action="account.deactivate",
        outcome="success",
        app="github",
        account_id="1234",
        person_id="E1002",
        inferred=True,
        raw=raw,
        occurred_at=datetime(2024, 5, 6, 7, 8, 9, 987654, tzinfo=UTC),
    )
    con.execute("SET TimeZone = 'Asia/Kolkata'")  # the forwarder's reader has no UTC setting
    assert docs_by_id(con)[eid(2)] == iam(3001, "Account Change", 5, "Disable") | {
        "status_id": 1,
        "status": "Success",
        "time": 1714979289987,
        "metadata": meta(2, "github", "snapshot:accounts"),
        "user": {"uid": "1234", "uid_alt": "E1002"},
        "raw_data": json.dumps(raw),
        "unmapped": {
            "scim_evidence": {
                "event_id": eid(2),
                "event_hash": ehash(2),
                "action": "account.deactivate",
                "source": "github",
                "native_type": "snapshot:accounts",
                "person_id": "E1002",
                "app": "github",
                "account_id": "1234",
                "inferred": True,
            }
        },
    }


def _unmapped(seq: int, **cols: Any) -> dict[str, Any]:
    base = {"event_id": eid(seq), "event_hash": ehash(seq)}
    return {"scim_evidence": base | cols | {"inferred": False}}


def test_group_membership(con: duckdb.DuckDBPyConnection) -> None:
    add_event(
        con,
        3,
        source="github",
        action="group.member.remove",
        actor="scim-bridge",
        account_id="42",
        person_id="E7",
        entitlement="release-managers",
    )
    assert docs_by_id(con)[eid(3)] == iam(3006, "Group Management", 4, "Remove User") | {
        "time": OCCURRED_MS,
        "metadata": meta(3, "github", None),
        "actor": {"user": {"name": "scim-bridge"}},
        "user": {"uid": "42", "uid_alt": "E7"},
        "group": {"name": "release-managers"},
        "unmapped": _unmapped(
            3,
            action="group.member.remove",
            source="github",
            actor="scim-bridge",
            person_id="E7",
            account_id="42",
            entitlement="release-managers",
        ),
    }


def test_privilege_grant_failed(con: duckdb.DuckDBPyConnection) -> None:
    add_event(
        con,
        4,
        source="aws",
        action="privilege.grant",
        outcome="failure",
        actor="admin@example.com",
        app="aws",
        account_id="AIDA1",
        entitlement="prod-admin",
    )
    assert docs_by_id(con)[eid(4)] == iam(
        3005, "User Access Management", 1, "Assign Privileges"
    ) | {
        "status_id": 2,
        "status": "Failure",
        "time": OCCURRED_MS,
        "metadata": meta(4, "aws", None),
        "actor": {"user": {"name": "admin@example.com"}},
        "user": {"uid": "AIDA1"},
        "privileges": ["prod-admin"],
        "resources": [{"type": "Application", "name": "aws"}],
        "unmapped": _unmapped(
            4,
            action="privilege.grant",
            source="aws",
            actor="admin@example.com",
            app="aws",
            account_id="AIDA1",
            entitlement="prod-admin",
        ),
    }


def test_app_unassign_without_entitlement(con: duckdb.DuckDBPyConnection) -> None:
    add_event(
        con,
        5,
        source="entra",
        action="app.unassign",
        outcome="weird",
        person_id="E9",
        app="slack",
        occurred_at=None,
    )
    assert docs_by_id(con)[eid(5)] == iam(
        3005, "User Access Management", 2, "Revoke Privileges"
    ) | {
        "status_id": 0,
        "status": "Unknown",
        "time": INGESTED_MS,  # no source time: when we took it
        "metadata": meta(5, "entra", None),
        "user": {"uid": "E9"},
        "resources": [{"type": "Application", "name": "slack"}],
        "unmapped": _unmapped(
            5, action="app.unassign", source="entra", person_id="E9", app="slack"
        ),
    }


def test_account_login(con: duckdb.DuckDBPyConnection) -> None:
    add_event(con, 6, source="slack", action="account.login", app="slack", account_id="U1")
    assert docs_by_id(con)[eid(6)] == iam(3002, "Authentication", 1, "Logon") | {
        "time": OCCURRED_MS,
        "metadata": meta(6, "slack", None),
        "user": {"uid": "U1"},
        "unmapped": _unmapped(
            6, action="account.login", source="slack", app="slack", account_id="U1"
        ),
    }


def test_okta_group_membership(con: duckdb.DuckDBPyConnection) -> None:
    row = add_okta(con, 7, OKTA_RECORD)
    assert docs_by_id(con)[eid(7)] == iam(3006, "Group Management", 3, "Add User") | {
        "status_id": 1,
        "status": "Success",
        "status_code": "SUCCESS",
        "time": 1709528767089,
        "message": "Add user to group membership",
        "metadata": {
            "version": "1.5.0",
            "product": PRODUCT,
            "uid": "9c3f7a1e-5b2d-11ef-8a6c-0242ac120002",  # Okta's uuid, as ECS event.id
            "event_code": "group.user_membership.add",
            "log_provider": "okta",
            "logged_time": INGESTED_MS,
            "original_time": "2024-03-04T05:06:07.089Z",
            "correlation_uid": "YmFzZTY0dHhu",
            "sequence": 7,
        },
        "actor": {
            "user": {"uid": "00uadmin1", "name": "admin@example.com", "full_name": "Ada Admin"}
        },
        "user": {"uid": "00utarget1", "name": "grace@example.com", "full_name": "Grace Hopper"},
        "group": {"uid": "00gsales1", "name": "Sales"},
        "raw_data": row["raw"],
        "unmapped": {
            "scim_evidence": {
                "event_id": eid(7),
                "event_hash": ehash(7),
                "action": "group.member.add",
                "source": "okta",
                "native_type": "group.user_membership.add",
                "actor": "admin@example.com",
                "person_id": "00utarget1",
                "entitlement": "Sales",
                "inferred": False,
                "details": json.loads(row["details"]),
            }
        },
    }


def test_okta_sign_in_without_target_uses_actor(con: duckdb.DuckDBPyConnection) -> None:
    record = OKTA_RECORD | {
        "eventType": "user.session.start",
        "displayMessage": "User login to Okta",
        "outcome": {"result": "FAILURE", "reason": "INVALID_CREDENTIALS"},
        "target": None,
    }
    add_okta(con, 8, record)
    doc = docs_by_id(con)[eid(8)]
    assert (doc["class_uid"], doc["activity_id"], doc["type_uid"]) == (3002, 1, 300201)
    assert (doc["status_id"], doc["status_code"], doc["status_detail"]) == (
        2,
        "FAILURE",
        "INVALID_CREDENTIALS",
    )
    assert (
        doc["user"]
        == doc["actor"]["user"]
        == {"uid": "00uadmin1", "name": "admin@example.com", "full_name": "Ada Admin"}
    )
    assert "group" not in doc
    assert "src_endpoint" not in doc and "http_request" not in doc


def test_okta_client_is_the_source_endpoint(con: duckdb.DuckDBPyConnection) -> None:
    client = {
        "ipAddress": "81.2.69.144",
        "userAgent": {"rawUserAgent": "curl/8.5.0", "os": "Unknown", "browser": "UNKNOWN"},
        "geographicalContext": {
            "city": "Lyon",
            "state": "Auvergne-Rhone-Alpes",
            "country": "France",
            "postalCode": "69001",
            "geolocation": {"lat": 45.76, "lon": 4.83},
        },
    }
    add_okta(con, 8, OKTA_RECORD | {"eventType": "user.session.start", "client": client})
    doc = docs_by_id(con)[eid(8)]
    assert doc["src_endpoint"] == {
        "ip": "81.2.69.144",
        "location": {"city": "Lyon", "postal_code": "69001", "lat": 45.76, "long": 4.83},
    }
    assert doc["http_request"] == {"user_agent": "curl/8.5.0"}
    add_okta(con, 9, OKTA_RECORD | {"uuid": "u-9", "client": {"ipAddress": "null"}})
    assert "src_endpoint" not in docs_by_id(con)[eid(9)]


def test_finding_open(con: duckdb.DuckDBPyConnection) -> None:
    add_finding(con, 9, "finding.open")
    doc = docs_by_id(con)[eid(9)]
    assert doc == {
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "severity_id": 4,
        "severity": "High",
        "status_id": 1,
        "status": "New",
        "time": 1707004800000,
        "message": FINDING["explanation"],
        "metadata": meta(9, "detect", "orphan/terminated_active"),
        "resources": [
            {"type": "Account", "uid": "1234", "name": "jdoe"},
            {"type": "Application", "name": "github"},
            {"type": "User", "uid": "E1002"},
        ],
        "finding_info": {
            "uid": "f-123",
            "title": "orphan/terminated_active",
            "desc": FINDING["explanation"],
            "first_seen_time": 1706918400000,
            "last_seen_time": 1707004800000,
            "analytic": {
                "uid": "orphan.terminated_active",
                "name": "orphan.terminated_active",
                "category": "orphan",
                "type_id": 1,
                "type": "Rule",
            },
        },
        "raw_data": json.dumps({"termination_date": "2024-01-31"}),
        "unmapped": {
            "scim_evidence": {
                "event_id": eid(9),
                "event_hash": ehash(9),
                "action": "finding.open",
                "source": "detect",
                "native_type": "orphan/terminated_active",
                "actor": "scim-evidence",
                "person_id": "E1002",
                "app": "github",
                "account_id": "1234",
                "inferred": False,
                "details": FINDING,
            }
        },
    }
    validate_finding(doc)


@pytest.mark.parametrize(
    ("action", "severity", "activity", "status", "severity_id"),
    [
        ("finding.open", "info", (1, "Create"), (1, "New"), (1, "Informational")),
        ("finding.reopen", "low", (2, "Update"), (1, "New"), (2, "Low")),
        ("finding.accept", "medium", (2, "Update"), (3, "Suppressed"), (3, "Medium")),
        ("finding.resolve", "critical", (3, "Close"), (4, "Resolved"), (5, "Critical")),
        ("finding.resolve", "CRITICAL", (3, "Close"), (4, "Resolved"), (5, "Critical")),
        ("finding.open", "bogus", (1, "Create"), (1, "New"), (0, "Unknown")),
    ],
)
def test_finding_lifecycle(
    con: duckdb.DuckDBPyConnection,
    action: str,
    severity: str,
    activity: tuple[int, str],
    status: tuple[int, str],
    severity_id: tuple[int, str],
) -> None:
    add_finding(con, 1, action, severity=severity)
    doc = docs_by_id(con)[eid(1)]
    assert (doc["activity_id"], doc["activity_name"]) == activity
    assert doc["type_uid"] == 200400 + activity[0]
    assert (doc["status_id"], doc["status"]) == status
    assert (doc["severity_id"], doc["severity"]) == severity_id
    validate_finding(doc)


def test_sod_finding_analytic_is_the_policy_rule(con: duckdb.DuckDBPyConnection) -> None:
    add_finding(
        con,
        1,
        "finding.accept",
        kind="sod",
        subkind="toxic_combination",
        rule="release-and-approve",
        severity="critical",
        status="accepted",
    )
    info = docs_by_id(con)[eid(1)]["finding_info"]
    assert info["title"] == "sod/toxic_combination"
    assert info["analytic"]["uid"] == "sod.toxic_combination"
    assert info["analytic"]["name"] == "release-and-approve"


def test_validator_rejects_what_ocsf_does_not_define(con: duckdb.DuckDBPyConnection) -> None:
    add_finding(con, 1, "finding.open")
    doc = docs_by_id(con)[eid(1)]
    with pytest.raises(AssertionError, match="bogus"):
        validate_finding(doc | {"bogus": 1})
    with pytest.raises(AssertionError, match="finding_info.rule"):
        validate_finding(doc | {"finding_info": doc["finding_info"] | {"rule": "x"}})
    with pytest.raises(ValidationError):
        validate_finding(doc | {"type_uid": 300603})
    with pytest.raises(ValidationError):
        validate_finding({k: v for k, v in doc.items() if k != "finding_info"})


# --- class and activity per action -------------------------------------------------------

ACCOUNT, AUTH, ACCESS, GROUP = 3001, 3002, 3005, 3006


@pytest.mark.parametrize(
    ("action", "class_uid", "activity_id", "activity_name"),
    [
        ("hr.hire", ACCOUNT, 99, "hr.hire"),
        ("hr.move", ACCOUNT, 99, "hr.move"),
        ("hr.leave", ACCOUNT, 99, "hr.leave"),
        ("hr.return", ACCOUNT, 99, "hr.return"),
        ("hr.terminate", ACCOUNT, 99, "hr.terminate"),
        ("user.create", ACCOUNT, 1, "Create"),
        ("user.activate", ACCOUNT, 2, "Enable"),
        ("user.unsuspend", ACCOUNT, 2, "Enable"),
        ("user.deactivate", ACCOUNT, 5, "Disable"),
        ("user.suspend", ACCOUNT, 5, "Disable"),
        ("user.delete", ACCOUNT, 6, "Delete"),
        ("user.login", AUTH, 1, "Logon"),
        ("app.assign", ACCESS, 1, "Assign Privileges"),
        ("app.unassign", ACCESS, 2, "Revoke Privileges"),
        ("account.create", ACCOUNT, 1, "Create"),
        ("account.update", ACCOUNT, 99, "account.update"),
        ("account.activate", ACCOUNT, 2, "Enable"),
        ("account.deactivate", ACCOUNT, 5, "Disable"),
        ("account.delete", ACCOUNT, 6, "Delete"),
        ("account.login", AUTH, 1, "Logon"),
        ("group.member.add", GROUP, 3, "Add User"),
        ("group.member.remove", GROUP, 4, "Remove User"),
        ("privilege.grant", ACCESS, 1, "Assign Privileges"),
        ("privilege.revoke", ACCESS, 2, "Revoke Privileges"),
        ("finding.open", 2004, 1, "Create"),
        ("finding.reopen", 2004, 2, "Update"),
        ("finding.accept", 2004, 2, "Update"),
        ("finding.resolve", 2004, 3, "Close"),
        ("entra.Other", ACCOUNT, 99, "entra.Other"),
        ("scim.patch", ACCOUNT, 99, "scim.patch"),
    ],
)
def test_action_classes(
    con: duckdb.DuckDBPyConnection,
    action: str,
    class_uid: int,
    activity_id: int,
    activity_name: str,
) -> None:
    add_event(con, 1, action=action, person_id="E1", entitlement="g", app="a")
    doc = docs_by_id(con)[eid(1)]
    got = (doc["class_uid"], doc["activity_id"], doc["activity_name"], doc["type_uid"])
    assert got == (class_uid, activity_id, activity_name, class_uid * 100 + activity_id)
    assert doc["category_uid"] == (2 if class_uid == 2004 else 3)


def test_every_canonical_action_is_mapped() -> None:
    canonical = """hr.hire hr.move hr.leave hr.return hr.terminate user.create user.activate
        user.deactivate user.suspend user.unsuspend user.delete user.login app.assign
        app.unassign account.create account.update account.activate account.deactivate
        account.delete account.login group.member.add group.member.remove privilege.grant
        privilege.revoke finding.open finding.resolve finding.reopen finding.accept""".split()
    assert set(ocsf.ACTIONS) == set(canonical)


@pytest.mark.parametrize(
    ("event_type", "class_uid", "activity_id", "activity_name"),
    [
        ("user.session.end", AUTH, 2, "Logoff"),
        ("user.session.start", AUTH, 1, "Logon"),  # canonical user.login
        ("user.session.access_admin_app", AUTH, 99, "okta.user.session.access_admin_app"),
        ("user.authentication.auth_via_mfa", AUTH, 99, "okta.user.authentication.auth_via_mfa"),
        ("user.authentication.sso", AUTH, 1, "Logon"),  # canonical user.login
        ("policy.evaluate_sign_on", AUTH, 99, "okta.policy.evaluate_sign_on"),
        ("user.account.update_password", ACCOUNT, 3, "Password Change"),
        ("user.account.reset_password", ACCOUNT, 4, "Password Reset"),
        ("user.account.lock", ACCOUNT, 9, "Lock"),
        ("user.account.unlock", ACCOUNT, 12, "Unlock"),
        ("user.mfa.factor.activate", ACCOUNT, 10, "MFA Factor Enable"),
        ("user.mfa.factor.deactivate", ACCOUNT, 11, "MFA Factor Disable"),
        ("group.lifecycle.create", GROUP, 6, "Create"),
        ("group.lifecycle.delete", GROUP, 5, "Delete"),
        ("user.lifecycle.suspend", ACCOUNT, 5, "Disable"),
        ("user.account.privilege.grant", ACCESS, 1, "Assign Privileges"),
        ("application.lifecycle.update", ACCOUNT, 99, "okta.application.lifecycle.update"),
    ],
)
def test_okta_event_types(
    con: duckdb.DuckDBPyConnection,
    event_type: str,
    class_uid: int,
    activity_id: int,
    activity_name: str,
) -> None:
    add_event(
        con,
        1,
        source="okta",
        native_id="u-1",
        native_type=event_type,
        action=okta_action(event_type),
        raw={"uuid": "u-1", "eventType": event_type},
    )
    doc = docs_by_id(con)[eid(1)]
    got = (doc["class_uid"], doc["activity_id"], doc["activity_name"], doc["type_uid"])
    assert got == (class_uid, activity_id, activity_name, class_uid * 100 + activity_id)
    assert doc["metadata"]["uid"] == "u-1"


def test_a_non_okta_record_does_not_take_okta_types(con: duckdb.DuckDBPyConnection) -> None:
    # raw without a uuid is not a System Log record, whatever its eventType says.
    add_event(con, 1, action="entra.x", raw={"eventType": "user.session.end"})
    assert docs_by_id(con)[eid(1)]["class_uid"] == ACCOUNT


# --- one document per event, in seq order, paged -----------------------------------------


def _population(con: duckdb.DuckDBPyConnection) -> int:
    """Every canonical action, unmapped ones, odd records and, when present, Elastic's Okta
    test records. Returns the number of events."""
    n = 0
    if (Path("/work/shared/reference-data/elastic-okta") / "test-okta-system-events.log").exists():
        n = len(load_okta(con, reference("test-okta-system-events.log")[0]))
    seq = 1000
    for action in [*ocsf.ACTIONS, "okta.thing", "entra.Other"]:
        seq += 1
        details = FINDING if action.startswith("finding.") else {"k": None}
        add_event(
            con,
            seq,
            action=action,
            person_id="E1",
            account_id="A1",
            entitlement="g",
            app="a",
            actor="x",
            outcome="success",
            details=details,
            raw={"r": [1, None]},
        )
    odd = [
        {"action": "account.create", "occurred_at": None, "details": None, "raw": None},
        {"action": "group.member.add"},  # no group, no user: nothing to invent
        {"action": "okta.x", "raw": {"uuid": "u", "eventType": "x", "target": "not a list"}},
        {"action": "finding.open", "details": {"kind": "drift"}},
        {"action": "hr.hire", "details": '{\n"multi": "line"\n}', "raw": "[1,\n2]"},
    ]
    for cols in odd:
        seq += 1
        add_event(con, seq, **cols)
    return n + len(ocsf.ACTIONS) + 2 + len(odd)


def test_one_valid_document_per_event(con: duckdb.DuckDBPyConnection) -> None:
    count = _population(con)
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == count
    docs = ocsf.documents(con, limit=100_000)
    seqs = [s for (s,) in con.execute("SELECT seq FROM events ORDER BY seq").fetchall()]
    assert [d.seq for d in docs] == seqs
    for d in docs:
        assert "\n" not in d.body and "\r" not in d.body
        doc = json.loads(d.body)
        cls = doc["class_uid"]
        assert set(doc) <= ALLOWED[cls], (d.seq, set(doc) - ALLOWED[cls])
        if doc["activity_id"] != 99 and doc["unmapped"]["scim_evidence"].get("person_id"):
            assert REQUIRED[cls] <= set(doc), (d.seq, REQUIRED[cls] - set(doc))
        assert doc["type_uid"] == cls * 100 + doc["activity_id"]
        assert doc["metadata"]["version"] == "1.5.0"
        assert isinstance(doc["time"], int)
        known_fields(doc["metadata"], Metadata.model_validate(doc["metadata"]), "metadata.")
        assert doc["unmapped"]["scim_evidence"]["event_id"] == d.event_id
        if cls == 2004:
            if "uid" in doc["finding_info"]:
                validate_finding(doc)
        _no_nulls({k: v for k, v in doc.items() if k != "unmapped"})


def _no_nulls(value: Any) -> None:
    if isinstance(value, dict):
        assert value and all(v is not None for v in value.values()), value
        for v in value.values():
            _no_nulls(v)
    elif isinstance(value, list):
        assert value
        for v in value:
            _no_nulls(v)


def test_multiline_details_stay_on_one_line(con: duckdb.DuckDBPyConnection) -> None:
    add_event(con, 1, action="hr.hire", details='{\n"multi": "li\\nne"\n}')
    (doc,) = ocsf.documents(con)
    assert "\n" not in doc.body
    assert json.loads(doc.body)["unmapped"]["scim_evidence"]["details"] == {"multi": "li\nne"}


def test_batches_follow_seq(con: duckdb.DuckDBPyConnection) -> None:
    for seq in (5, 1, 3, 9):
        add_event(con, seq)
    got = ocsf.documents(con, after_seq=1, limit=2)
    assert [(d.seq, d.event_id) for d in got] == [(3, eid(3)), (5, eid(5))]
    assert [json.loads(d.body)["metadata"]["sequence"] for d in got] == [3, 5]
    assert [d.seq for d in ocsf.documents(con, after_seq=5)] == [9]
    assert ocsf.documents(con, after_seq=9) == []
    assert [d.seq for d in ocsf.documents(con)] == [1, 3, 5, 9]
