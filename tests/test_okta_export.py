"""Okta export folders → IdP snapshots and System Log events (and Elastic's public samples)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from connectors.okta.export import read_okta_export
from connectors.okta.mapping import OKTA_ACTIONS, okta_action, okta_outcome
from connectors.redact import REDACTED
from evidence.errors import InputError
from tests.export_sources import (
    DATA,
    REFERENCE,
    check_schemas,
    okta_source,
    rows,
    sha,
    utc,
)

# -------------------------------------------------------------------------------------- Okta


def test_okta_snapshots() -> None:
    batch = read_okta_export(okta_source())
    check_schemas(batch)
    assert (batch.source, batch.kind, batch.tenant, batch.as_of) == (
        "okta", "okta", "example.okta.com", utc(2025, 12, 1),
    )  # fmt: skip
    assert [(s.table, s.apps) for s in batch.snapshots] == [
        ("idp_users", None),
        ("idp_groups", None),
        ("idp_group_members", None),
        ("apps", None),
        ("group_push", ("Slack",)),
        ("assignments", ("GitHub", "Slack")),
    ]
    users = rows(batch, "idp_users")
    assert [
        (u["user_id"], u["login"], u["email"], u["second_email"], u["display_name"],
         u["employee_number"], u["status"], u["created_at"], u["status_changed_at"],
         u["last_login_at"])
        for u in users
    ] == [
        ("00u1alice", "Alice.Smith@Example.com", "Alice.Smith@Example.com",
         "alice@old.example.com", "Alice Smith", "E1001", "ACTIVE", utc(2019, 3, 1, 15),
         utc(2019, 3, 1, 15, 0, 1), utc(2025, 11, 30, 13, 14, 15)),
        ("00u1bob", "bob@example.com", "bob@example.com", None, "Bobby Jones", "1002",
         "SUSPENDED", utc(2021, 5, 20, 14), utc(2025, 9, 1, 10), None),
        ("00u1carol", "carol@example.com", "carol@example.com", None, "Carol White", None,
         "DEPROVISIONED", utc(2020, 1, 10, 14), utc(2025, 3, 10, 4, 30), utc(2025, 3, 8, 18)),
    ]  # fmt: skip
    assert json.loads(users[2]["attributes"]) == {
        "firstName": "Carol", "lastName": "White", "login": "carol@example.com",
        "email": "carol@example.com", "department": "Finance",
    }  # fmt: skip
    assert rows(batch, "idp_groups") == [
        {"group_id": "00g1eng", "name": "Engineering",
         "attributes": '{"type":"OKTA_GROUP","description":"All engineers"}'},
        {"group_id": "00g1fin", "name": "Finance", "attributes": '{"type":"OKTA_GROUP"}'},
    ]  # fmt: skip
    assert rows(batch, "idp_group_members") == [
        {"group_id": "00g1eng", "user_id": "00u1alice"},
        {"group_id": "00g1eng", "user_id": "00u1bob"},
        {"group_id": "00g1fin", "user_id": "00u1alice"},  # from the split 00g1fin-0001.json
        {"group_id": "00g1fin", "user_id": "00u1carol"},
    ]
    apps = rows(batch, "apps")
    assert [(a["app"], a["app_id"], a["status"], a["sign_on_mode"]) for a in apps] == [
        ("Slack", "0oa1slack", "ACTIVE", "SAML_2_0"),
        ("GitHub", "0oa1github", "ACTIVE", "SAML_2_0"),
        ("Wiki", "0oa1wiki", "INACTIVE", "BOOKMARK"),
    ]
    slack = json.loads(apps[0]["attributes"])
    assert slack["settings"]["app"] == {"domain": "example", "apiToken": REDACTED}
    assert "_links" not in slack and "_embedded" not in json.loads(apps[1]["attributes"])
    assert rows(batch, "group_push") == [
        {"app": "Slack", "group_id": "00g1eng", "target_group_name": "eng-all"},
        {"app": "Slack", "group_id": "00g1fin", "target_group_name": "finance"},
    ]
    assert rows(batch, "assignments") == [
        {"app": "GitHub", "idp_user_id": "00u1carol", "user_name": "carol-w",
         "status": "PROVISIONED", "scope": "USER", "assigned_at": utc(2020, 1, 20, 10),
         "groups": None},
        {"app": "Slack", "idp_user_id": "00u1alice", "user_name": "alice.smith@example.com",
         "status": "PROVISIONED", "scope": "GROUP", "assigned_at": utc(2020, 2, 1, 10),
         "groups": '["eng-all","finance"]'},
        {"app": "Slack", "idp_user_id": "00u1bob", "user_name": "bob@example.com",
         "status": "PROVISIONED", "scope": "USER", "assigned_at": utc(2021, 6, 2, 10),
         "groups": '["eng-all"]'},
    ]  # fmt: skip
    folder = DATA / "okta"
    assert [(p.request, p.item_count) for p in batch.pages] == [
        ("okta/users.json", 3),
        ("okta/groups.json", 2),
        ("okta/group_members/00g1eng.json", 2),
        ("okta/group_members/00g1fin.json", 1),
        ("okta/group_members/00g1fin-0001.json", 1),
        ("okta/apps.json", 3),
        ("okta/group_push/0oa1slack.json", 2),
        ("okta/app_users/0oa1github.json", 1),
        ("okta/app_users/0oa1slack.json", 2),
        ("okta/logs.json", 7),
        ("okta/logs-0001.json", 3),
    ]
    assert batch.pages[0].sha256 == sha(folder / "users.json")


def test_okta_events() -> None:
    batch = read_okta_export(okta_source())
    got = [
        (e["native_id"][-2:], e["native_type"], e["action"], e["outcome"], e["actor"],
         e["person_id"], e["app"], e["entitlement"], e["occurred_at"])
        for e in batch.events.to_pylist()
    ]  # fmt: skip
    admin = "admin@example.com"
    assert got == [
        ("01", "user.lifecycle.create", "user.create", "success", admin, "00u1carol", None, None,
         utc(2025, 6, 2, 13)),
        ("02", "application.user_membership.add", "app.assign", "success", admin, "00u1alice",
         "Slack", None, utc(2025, 6, 2, 13, 5)),
        ("03", "group.user_membership.add", "group.member.add", "success", admin, "00u1alice",
         None, "Engineering", utc(2025, 6, 2, 13, 6)),
        ("04", "user.account.privilege.grant", "privilege.grant", "success", admin, "00u1bob",
         None, "Super administrator", utc(2025, 7, 1, 9)),
        ("05", "user.session.start", "user.login", "failure", "bob@example.com", "00u1bob",
         None, None, utc(2025, 7, 1, 7, 30)),
        ("06", "user.account.update_profile", "okta.user.account.update_profile", "success",
         "Workday", "00u1alice", None, None, utc(2025, 8, 15, 12)),
        ("07", "device.user.add", "okta.device.user.add", "success", "Device Sync", None, None,
         None, utc(2025, 9, 1, 10)),
        ("08", "application.provision.user.deactivate", "account.deactivate", "success",
         "system@okta.com", "00u1carol", "GitHub", None, utc(2025, 9, 1, 10)),
        # The repeated uuid ...01 in logs-0001.json is dropped; ALLOW is a success.
        ("09", "policy.evaluate_sign_on", "okta.policy.evaluate_sign_on", "success",
         "Alice.Smith@Example.com", "00u1alice", None, None, utc(2025, 9, 2, 8)),
    ]  # fmt: skip
    events = batch.events.to_pylist()
    assert all(e["identity"] is None and e["account_id"] is None for e in events)
    assert json.loads(events[1]["details"]) == {
        "displayMessage": "Add user to application membership",
        "targets": [
            {"type": "AppUser", "id": "0ua1appuser", "alternateId": "alice.smith@example.com",
             "displayName": "Alice Smith"},
            {"type": "AppInstance", "id": "0oa1slack", "alternateId": "slack",
             "displayName": "Slack"},
            {"type": "User", "id": "00u1alice", "alternateId": "Alice.Smith@Example.com",
             "displayName": "Alice Smith"},
        ],
        "transactionId": "XtxnAssign1",
    }  # fmt: skip
    assert json.loads(events[4]["details"])["reason"] == "INVALID_CREDENTIALS"
    assert json.loads(events[5]["details"])["changeDetails"] == [
        {"id": "00u1alice", "from": {"title": "Engineer"}, "to": {"title": "Staff Engineer"}}
    ]


def test_okta_raw_is_verbatim_with_secrets_redacted() -> None:
    batch = read_okta_export(okta_source())
    source_events = json.loads((DATA / "okta" / "logs.json").read_text(encoding="utf-8"))
    raws = [json.loads(r) for r in batch.events.column("raw").to_pylist()]
    assert raws[0] == source_events[0]  # nothing to hide: verbatim
    device = raws[6]
    assert device["debugContext"]["debugData"] == {
        "clientAuthType": "client_secret_post", "clientSecret": REDACTED,
        "grantType": "client_credentials", "requestUri": "/oauth2/v1/token",
    }  # fmt: skip
    assert device["authenticationContext"] == {"rootApiTokenId": "00T1token"}
    assert "E5NMtFDu" not in batch.events.column("raw").to_pylist()[6]


def test_okta_emits_only_tables_whose_files_exist(tmp_path: Path) -> None:
    shutil.copy(DATA / "okta" / "users.json", tmp_path / "users.json")
    (tmp_path / "app_users").mkdir()
    shutil.copy(DATA / "okta" / "app_users" / "0oa1slack.json", tmp_path / "app_users")
    batch = read_okta_export(okta_source(tmp_path))
    check_schemas(batch)
    assert [(s.table, s.apps) for s in batch.snapshots] == [
        ("idp_users", None),
        ("assignments", ("0oa1slack",)),  # no apps.json: the app is named by its id
    ]
    assert rows(batch, "assignments")[0]["groups"] is None  # no group push file
    assert batch.events.num_rows == 0
    empty = read_okta_export(okta_source(tmp_path / "app_users"))
    assert empty.snapshots == [] and empty.events.num_rows == 0


@pytest.mark.parametrize(
    ("event_type", "action"),
    [
        ("user.lifecycle.create", "user.create"),
        ("user.lifecycle.reactivate", "user.activate"),
        ("user.lifecycle.suspend", "user.suspend"),
        ("user.lifecycle.delete.completed", "user.delete"),
        ("user.lifecycle.delete.initiated", "okta.user.lifecycle.delete.initiated"),
        ("user.authentication.sso", "user.login"),
        ("application.user_membership.remove", "app.unassign"),
        ("application.provision.user.push", "account.create"),
        ("application.provision.user.push_profile", "account.update"),
        ("application.provision.user.reactivate", "account.activate"),
        ("application.provision.user.deprovision", "account.deactivate"),
        ("application.provision.group_membership.remove", "group.member.remove"),
        ("user.account.privilege.revoke", "privilege.revoke"),
        ("app.user_management", "okta.app.user_management"),
    ],
)
def test_okta_action_table(event_type: str, action: str) -> None:
    assert okta_action(event_type) == action


def test_okta_actions_are_canonical() -> None:
    prefixes = ("user.", "app.", "account.", "group.member.", "privilege.")
    assert all(a.startswith(prefixes) for a in OKTA_ACTIONS.values())


@pytest.mark.parametrize(
    ("result", "outcome"),
    [("SUCCESS", "success"), ("ALLOW", "success"), ("FAILURE", "failure"), ("DENY", "failure"),
     ("SKIPPED", "unknown"), ("CHALLENGE", "unknown"), (None, "unknown")],
)  # fmt: skip
def test_okta_outcomes(result: str | None, outcome: str) -> None:
    assert okta_outcome(result) == outcome


GOOD_EVENT = {"uuid": "u1", "published": "2025-01-01T00:00:00Z", "eventType": "x.y"}


@pytest.mark.parametrize(
    ("name", "text", "record", "problem"),
    [
        pytest.param(
            "logs.json", '[{"uuid": "u1",\n  "published": }]', None,
            "invalid JSON at line 2 column 16: Expecting value", id="malformed-json",
        ),
        pytest.param(
            "logs.json", '{"uuid": "u1"}', None, "expected a JSON array", id="not-an-array",
        ),
        pytest.param(
            "logs.json", json.dumps([GOOD_EVENT, {**GOOD_EVENT, "uuid": None}]),
            "record [1]: field 'uuid'", "uuid is missing", id="uuid-missing",
        ),
        pytest.param(
            "logs.json", json.dumps([{k: v for k, v in GOOD_EVENT.items() if k != "published"}]),
            "record [0]: field 'published'", "published is missing", id="published-missing",
        ),
        pytest.param(
            "logs.json", json.dumps([{k: v for k, v in GOOD_EVENT.items() if k != "eventType"}]),
            "record [0]: field 'eventType'", "eventType is missing", id="event-type-missing",
        ),
        pytest.param(
            "logs-0002.json", json.dumps([{**GOOD_EVENT, "published": "yesterday"}]),
            "record [0]: field 'published'",
            "not an ISO 8601 date or date-time: 'yesterday'", id="bad-published",
        ),
        pytest.param(
            "users.json", json.dumps([{"id": "00u1"}, {"profile": {}}]),
            "record [1]: field 'id'", "id is missing", id="user-id-missing",
        ),
        pytest.param(
            "users.json", json.dumps([{"id": "00u1", "created": "2025-02-30T00:00:00Z"}]),
            "record [0]: field 'created'",
            "not an ISO 8601 date or date-time: '2025-02-30T00:00:00Z'", id="bad-created",
        ),
        pytest.param(
            "users.json", "[1]", "record [0]", "expected a JSON object", id="not-an-object",
        ),
    ],
)  # fmt: skip
def test_okta_input_errors(
    tmp_path: Path, name: str, text: str, record: str | None, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_okta_export(okta_source(tmp_path))
    where = f"{path}: {record}" if record else str(path)
    assert str(err.value) == f"{where}: {problem}"


def test_okta_refuses_two_assigned_apps_with_one_label(tmp_path: Path) -> None:
    (tmp_path / "apps.json").write_text(
        json.dumps([{"id": "0oa1", "label": "Jira"}, {"id": "0oa2", "label": "JIRA"}])
    )
    (tmp_path / "app_users").mkdir()
    for app_id in ("0oa1", "0oa2"):
        (tmp_path / "app_users" / f"{app_id}.json").write_text(json.dumps([{"id": "00u1"}]))
    with pytest.raises(InputError) as err:
        read_okta_export(okta_source(tmp_path))
    assert str(err.value) == (
        f"{tmp_path / 'apps.json'}: field 'label': apps 0oa1 and 0oa2 share the label 'JIRA'; "
        "assignments could not tell them apart"
    )


# -------------------------------------------------------------- Okta: Elastic's public samples

ELASTIC_LOG = REFERENCE / "elastic-okta" / "partial-no-expected"
ELASTIC_LOG = ELASTIC_LOG / "test-okta-system-no-flattened-events.log"


@pytest.mark.skipif(not ELASTIC_LOG.exists(), reason="shared reference data not present")
def test_okta_reference_events(tmp_path: Path) -> None:
    lines = ELASTIC_LOG.read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines if line.strip()]
    (tmp_path / "logs.json").write_text(json.dumps(events), encoding="utf-8")
    batch = read_okta_export(okta_source(tmp_path))
    check_schemas(batch)
    got = {(e["native_type"], e["action"], e["entitlement"], e["app"])
           for e in batch.events.to_pylist()}  # fmt: skip
    assert ("group.user_membership.add", "group.member.add", "Sales", None) in got
    assert ("user.authentication.sso", "user.login", None, "An App Server") in got
    assert ("app.user_management", "okta.app.user_management", "Payable",
            "Google Workspace") in got  # fmt: skip
    assert batch.events.num_rows == len({e["uuid"] for e in events})
    # The OAuth token request carries a client secret in debugData.
    secret = [e for e in events if "clientSecret" in json.dumps(e)]
    (tmp_path / "logs.json").write_text(json.dumps(secret), encoding="utf-8")
    raw = json.loads(read_okta_export(okta_source(tmp_path)).events["raw"][0].as_py())
    debug = raw["debugContext"]["debugData"]
    assert debug["clientSecret"] == REDACTED
    assert debug["clientAuthType"] == "client_secret_post"
    assert {k: v for k, v in raw.items() if k != "debugContext"} == {
        k: v for k, v in secret[0].items() if k != "debugContext"
    }


DOCS_EVENT = REFERENCE / "vendor-samples" / "okta-system-log" / "okta-docs-example-logevent.json"


@pytest.mark.skipif(not DOCS_EVENT.exists(), reason="shared reference data not present")
def test_okta_docs_example_has_an_impossible_date(tmp_path: Path) -> None:
    """Okta's documented LogEvent is published on 31 September: refused, naming the field."""
    event = json.loads(DOCS_EVENT.read_text(encoding="utf-8"))
    (tmp_path / "logs.json").write_text(json.dumps([event]), encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_okta_export(okta_source(tmp_path))
    assert str(err.value) == (
        f"{tmp_path / 'logs.json'}: record [0]: field 'published': "
        "not an ISO 8601 date or date-time: '2017-09-31T22:23:07.777Z'"
    )
    event["published"] = "2017-09-30T22:23:07.777Z"
    (tmp_path / "logs.json").write_text(json.dumps([event]), encoding="utf-8")
    (row,) = read_okta_export(okta_source(tmp_path)).events.to_pylist()
    assert (row["action"], row["person_id"], row["actor"]) == (
        "user.login", "00u1qw1mqitPHM8AJ0g7", "admin@example.com",
    )  # fmt: skip
