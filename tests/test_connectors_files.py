"""File connectors: vendor-native exports (HR CSV, Okta folder, SCIM pages, app CSV) → batches."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from connectors.app_export import read_app_export
from connectors.files import read_source
from connectors.hris import read_hris
from connectors.okta import OKTA_ACTIONS, okta_action, okta_outcome, read_okta_export
from connectors.records import EVENT_SCHEMA, SNAPSHOT_SCHEMAS, SourceBatch
from connectors.redact import REDACTED, is_secret_key, redact, redact_column, redact_json_text
from connectors.scim import read_scim_export
from evidence.config import SourceConfig
from evidence.errors import ConfigError, InputError

DATA = Path(__file__).parent / "data"
REFERENCE = Path("/work/shared/reference-data")
AS_OF = "2025-12-01T00:00:00Z"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def check_schemas(batch: SourceBatch) -> None:
    """Every table a connector hands over matches the contract exactly."""
    for snap in batch.snapshots:
        assert snap.rows.schema == SNAPSHOT_SCHEMAS[snap.table], snap.table
    assert batch.events.schema == EVENT_SCHEMA


def rows(batch: SourceBatch, table: str) -> list[dict[str, Any]]:
    (snap,) = [s for s in batch.snapshots if s.table == table]
    return snap.rows.to_pylist()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------- HR

HR_COLUMNS = {
    "person_id": "Employee ID",
    "email": "Work Email",
    "display_name": "Preferred Name",
    "aliases": "Other Emails",
    "department": "Dept",
    "title": "Job Title",
    "manager_id": "Manager ID",
    "employment_type": "Worker Type",
    "status": "Worker Status",
    "hire_date": "Start Date",
    "termination_date": "Last Day",
}


def hr_source(path: Path, **extra: Any) -> SourceConfig:
    settings: dict[str, Any] = {
        "name": "workday",
        "kind": "hris",
        "path": path,
        "timezone": "America/New_York",
        "as_of": AS_OF,
        "columns": HR_COLUMNS,
        "status_values": {"Active": "active", "On Leave": "leave", "Terminated": "terminated"},
        "employment_type_values": {"Regular": "employee", "Contractor": "contractor"},
    }
    return SourceConfig(**{**settings, **extra})


def person(pid: str, email: str, name: str, dept: str, title: str, **kw: Any) -> dict[str, Any]:
    base = {
        "person_id": pid, "email": email, "aliases": None, "display_name": name,
        "department": dept, "title": title, "manager_id": None, "employment_type": "employee",
        "status": "active", "hire_date": None, "termination_date": None, "effective_at": None,
    }  # fmt: skip
    return {**base, **kw}


def test_hris_people_rows_with_new_york_day_boundaries() -> None:
    batch = read_hris(hr_source(DATA / "hris" / "workers.csv"))
    check_schemas(batch)
    assert (batch.source, batch.kind, batch.tenant) == ("workday", "hris", "workday")
    assert batch.as_of == utc(2025, 12, 1)
    assert rows(batch, "people") == [
        person(
            "E1001", "Alice.Smith@Example.com", "Alice Smith", "Engineering", "Staff Engineer",
            aliases="alice@old.example.com;asmith@example.com",
            hire_date=utc(2019, 3, 4, 5),  # EST: midnight is 05:00Z
        ),
        person(
            "E1002", "bob@example.com", "Bob Jones", "Engineering", "Engineer",
            manager_id="E1001", employment_type="contractor", status="leave",
            hire_date=utc(2021, 6, 1, 4),  # EDT: midnight is 04:00Z
        ),
        person(
            "E1003", "carol@example.com", "Carol White", "Finance", "Analyst",
            manager_id="E1001", status="terminated", hire_date=utc(2020, 1, 15, 5),
            # Last day 2025-03-09, the day DST starts: its end is 23:59:59.999999 EDT.
            termination_date=utc(2025, 3, 10, 3, 59, 59, 999999),
        ),
        person(
            "E1004", "dave@example.com", "Dave Brown", "Sales", "Account Executive",
            employment_type="Intern", status="terminated", hire_date=utc(2022, 7, 1, 4),
            # Last day 2025-11-02, the day DST ends: its end is 23:59:59.999999 EST.
            termination_date=utc(2025, 11, 3, 4, 59, 59, 999999),
        ),
        person(
            "E1003", "carol@example.com", "Carol White", "Finance", "Senior Analyst",
            manager_id="E1001", hire_date=utc(2025, 6, 2, 4),
        ),
    ]  # fmt: skip
    (page,) = batch.pages
    assert page.request == "workers.csv"
    assert page.sha256 == sha(DATA / "hris" / "workers.csv")
    assert (page.item_count, page.total_results) == (5, None)


def test_hris_events() -> None:
    batch = read_hris(hr_source(DATA / "hris" / "workers.csv"))
    got = [
        (e["identity"], e["action"], e["native_type"], e["occurred_at"], e["person_id"])
        for e in batch.events.to_pylist()
    ]
    assert got == [
        ("E1001|2019-03-04T05:00:00Z|hr.hire", "hr.hire", "hire", utc(2019, 3, 4, 5), "E1001"),
        ("E1002|2021-06-01T04:00:00Z|hr.hire", "hr.hire", "hire", utc(2021, 6, 1, 4), "E1002"),
        ("E1002|2021-06-01T04:00:00Z|hr.leave", "hr.leave", "leave", utc(2025, 12, 1), "E1002"),
        ("E1003|2020-01-15T05:00:00Z|hr.hire", "hr.hire", "hire", utc(2020, 1, 15, 5), "E1003"),
        (
            "E1003|2020-01-15T05:00:00Z|hr.terminate", "hr.terminate", "terminate",
            utc(2025, 3, 10, 3, 59, 59, 999999), "E1003",
        ),
        ("E1004|2022-07-01T04:00:00Z|hr.hire", "hr.hire", "hire", utc(2022, 7, 1, 4), "E1004"),
        (
            "E1004|2022-07-01T04:00:00Z|hr.terminate", "hr.terminate", "terminate",
            utc(2025, 11, 3, 4, 59, 59, 999999), "E1004",
        ),
        ("E1003|2025-06-02T04:00:00Z|hr.hire", "hr.hire", "hire", utc(2025, 6, 2, 4), "E1003"),
    ]  # fmt: skip
    first = batch.events.to_pylist()[0]
    assert (first["native_id"], first["outcome"], first["actor"], first["app"]) == (
        None, "success", None, None,
    )  # fmt: skip
    # raw is the row's mapped columns only (HR exports carry PII we do not keep), as written.
    assert json.loads(first["raw"]) == {
        "Employee ID": "E1001", "Work Email": "Alice.Smith@Example.com",
        "Preferred Name": "Alice Smith",
        "Other Emails": " alice@old.example.com ; ;asmith@example.com ",
        "Dept": "Engineering", "Job Title": "Staff Engineer", "Manager ID": "",
        "Worker Type": "Regular", "Worker Status": "Active", "Start Date": "2019-03-04",
        "Last Day": "",
    }  # fmt: skip
    assert "CC-100" not in first["raw"] and "Badge Token" not in first["raw"]
    assert json.loads(first["details"]) == {
        "status": "active", "employment_type": "employee", "department": "Engineering",
        "title": "Staff Engineer",
    }  # fmt: skip


def test_hris_json_array_gives_the_same_people(tmp_path: Path) -> None:
    import csv

    with (DATA / "hris" / "workers.csv").open(newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    path = tmp_path / "workers.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    from_json = read_hris(hr_source(path))
    from_csv = read_hris(hr_source(DATA / "hris" / "workers.csv"))
    check_schemas(from_json)
    assert rows(from_json, "people") == rows(from_csv, "people")
    assert from_json.events.to_pylist() == from_csv.events.to_pylist()


def test_hris_defaults_and_future_dates(tmp_path: Path) -> None:
    """Headers named as canonical fields need no map; status is derived; future events wait."""
    path = tmp_path / "people.csv"
    path.write_text(
        "person_id,email,hire_date,termination_date,effective_date\n"
        "P1,p1@example.com,2026-01-05,,2025-11-01T09:30:00\n"
        "P2,p2@example.com,2020-01-01,2025-12-31,\n"
        "P3,p3@example.com,2020-01-01T08:00:00+01:00,2025-11-30T17:00:00Z,\n",
        encoding="utf-8",
    )
    src = SourceConfig(name="hr", kind="hris", path=path, as_of=AS_OF)
    batch = read_hris(src)
    check_schemas(batch)
    got = [(r["person_id"], r["status"], r["hire_date"], r["termination_date"], r["effective_at"])
           for r in rows(batch, "people")]  # fmt: skip
    assert got == [
        ("P1", "active", utc(2026, 1, 5), None, utc(2025, 11, 1, 9, 30)),
        ("P2", "active", utc(2020, 1, 1), utc(2025, 12, 31, 23, 59, 59, 999999), None),
        ("P3", "terminated", utc(2020, 1, 1, 7), utc(2025, 11, 30, 17), None),
    ]
    assert [e["identity"] for e in batch.events.to_pylist()] == [
        "P2|2020-01-01T00:00:00Z|hr.hire",
        "P3|2020-01-01T07:00:00Z|hr.hire",
        "P3|2020-01-01T07:00:00Z|hr.terminate",
    ]


def test_hris_history_folder_one_batch_per_snapshot() -> None:
    src = SourceConfig(
        name="hist", kind="hris", path=DATA / "hris" / "history",
        timezone="America/New_York", as_of=AS_OF,
    )  # fmt: skip
    batches = read_source(src)
    assert [b.as_of for b in batches] == [utc(2025, 1, 1, 5), utc(2025, 6, 1, 4), utc(2025, 12, 1)]
    assert [b.pages[0].request for b in batches] == [
        "history/workers-2025-01-01.csv",
        "history/workers-2025-06-01.csv",
        "history/workers.csv",
    ]
    assert [len(rows(b, "people")) for b in batches] == [2, 2, 3]
    titles = [[r["title"] for r in rows(b, "people")] for b in batches]
    assert titles == [
        ["Engineer", "Analyst"],
        ["Staff Engineer", "Analyst"],
        ["Staff Engineer", "Analyst", "Senior Analyst"],
    ]
    for b in batches:
        check_schemas(b)


HR_HEADER = "Employee ID,Work Email,Worker Status,Start Date,Last Day\n"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        pytest.param(
            "E1,a@x,Active,2020-01-01,\n,b@x,Active,2020-01-01,\n",
            "record 2: field 'Employee ID': person_id is missing",
            id="person-id-missing",
        ),
        pytest.param(
            "E1,a@x,Active,2020-13-01,\n",
            "record 1: field 'Start Date': not an ISO 8601 date or date-time: '2020-13-01'",
            id="bad-hire-date",
        ),
        pytest.param(
            "E1,a@x,Terminated,2020-01-01,01/02/2024\n",
            "record 1: field 'Last Day': not an ISO 8601 date or date-time: '01/02/2024'",
            id="bad-termination-date",
        ),
        pytest.param(
            "E1,a@x,Active,2020-01-01,\nE2,b@x,Retired,2020-01-01,\n",
            "record 2: field 'Worker Status': unknown status 'Retired' "
            "(known: Active, On Leave, Terminated, active, leave, terminated)",
            id="unknown-status",
        ),
        pytest.param(
            "E1,a@x,Active,2020-01-01,\nE1,a@x,Active,2020-01-01,\n",
            "record 2: field 'Employee ID': duplicate of record 1 (same person_id and hire_date)",
            id="duplicate-record",
        ),
        pytest.param(
            "E1,a@x,Active,2020-01-01\n",
            "record 1: has 4 fields, the header has 5",
            id="ragged-row",
        ),
    ],
)
def test_hris_input_errors(tmp_path: Path, body: str, problem: str) -> None:
    path = tmp_path / "workers.csv"
    path.write_text(HR_HEADER + body, encoding="utf-8")
    columns = {k: v for k, v in HR_COLUMNS.items() if v in HR_HEADER}
    with pytest.raises(InputError) as err:
        read_hris(hr_source(path, columns=columns))
    assert str(err.value) == f"{path}: {problem}"


def test_hris_mapped_column_missing_from_header(tmp_path: Path) -> None:
    path = tmp_path / "workers.csv"
    path.write_text(HR_HEADER, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_hris(hr_source(path))
    assert str(err.value) == (
        f"{path}: field 'Preferred Name': column (mapped to display_name) not in the header"
    )


def test_hris_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "workers.csv"
    path.write_text("person_id\nE1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'salary' is not a person field"):
        read_hris(SourceConfig(name="hr", kind="hris", path=path, columns={"salary": "person_id"}))
    with pytest.raises(ConfigError, match="'gone' is not one of active, leave, terminated"):
        read_hris(SourceConfig(name="hr", kind="hris", path=path, status_values={"Gone": "gone"}))
    with pytest.raises(ConfigError, match="unknown timezone 'Mars/Olympus'"):
        read_hris(SourceConfig(name="hr", kind="hris", path=path, timezone="Mars/Olympus"))


# -------------------------------------------------------------------------------------- Okta


def okta_source(path: Path = DATA / "okta", **extra: Any) -> SourceConfig:
    return SourceConfig(
        **{"name": "okta", "kind": "okta", "path": path, "tenant": "example.okta.com",
           "as_of": AS_OF, **extra}
    )  # fmt: skip


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


# -------------------------------------------------------------------------------------- SCIM


def scim_source(path: Path = DATA / "scim", **extra: Any) -> SourceConfig:
    settings = {"name": "slack-scim", "kind": "scim", "path": path, "app": "Slack", "as_of": AS_OF}
    return SourceConfig(**{**settings, **extra})


def test_scim_accounts_and_grants() -> None:
    batch = read_scim_export(scim_source())
    check_schemas(batch)
    assert batch.events.num_rows == 0
    assert [(s.table, s.apps) for s in batch.snapshots] == [
        ("accounts", ("Slack",)),
        ("grants", ("Slack",)),
    ]
    accounts = rows(batch, "accounts")
    assert [{k: v for k, v in a.items() if k != "attributes"} for a in accounts] == [
        {"app": "Slack", "account_id": "U01ALICE", "user_name": "Alice.Smith@Example.com",
         "email": "Alice.Smith@Example.com", "external_id": "00u1alice", "active": True,
         "last_login_at": None, "created_at": utc(2020, 2, 1, 10, 0, 7)},
        # On both pages: the later page wins (active false, primary email).
        {"app": "Slack", "account_id": "U02BOB", "user_name": "bob@example.com",
         "email": "Bob@Example.com", "external_id": None, "active": False,
         "last_login_at": None, "created_at": utc(2021, 6, 2, 10, 0, 9, 123000)},
        # No `active`: listed, so active.
        {"app": "Slack", "account_id": "U03SVC", "user_name": "deploy-bot", "email": None,
         "external_id": None, "active": True, "last_login_at": None, "created_at": None},
    ]  # fmt: skip
    assert [json.loads(a["attributes"]) for a in accounts] == [
        {"display_name": "Alice Smith", "given_name": "Alice", "family_name": "Smith",
         "formatted_name": "Alice Smith", "title": "Staff Engineer",
         "department": "Engineering", "employee_number": "E1001", "manager_id": "U01BOSS",
         "manager_name": "The Boss"},
        {},
        {"display_name": "Deploy Bot", "user_type": "Bot"},
    ]  # fmt: skip
    assert [(g["account_id"], g["entitlement"], g["entitlement_type"], g["expires_at"])
            for g in rows(batch, "grants")] == [
        ("U01ALICE", "Workspace Admin", "role", None),
        ("U01ALICE", "eng-all", "group", None),
        ("U02BOB", "finance", "group", None),  # also a role of the same name: group wins
        ("U02BOB", "grid-seat", "entitlement", None),
        ("U03SVC", "finance", "group", None),
    ]  # fmt: skip
    assert [(p.request, p.item_count, p.total_results) for p in batch.pages] == [
        ("scim/Users-0001.json", 2, 4),
        ("scim/Users-0002.json", 2, 4),
        ("scim/Groups.json", 3, None),
    ]
    assert [p.sha256 for p in batch.pages] == [
        sha(DATA / "scim" / n) for n in ("Users-0001.json", "Users-0002.json", "Groups.json")
    ]


def test_scim_without_users_has_no_snapshots(tmp_path: Path) -> None:
    shutil.copy(DATA / "scim" / "Groups.json", tmp_path)
    (tmp_path / "Users-empty.json").unlink(missing_ok=True)
    batch = read_scim_export(scim_source(tmp_path))
    assert batch.snapshots == []
    assert [p.request for p in batch.pages] == [f"{tmp_path.name}/Groups.json"]


def test_scim_empty_pages(tmp_path: Path) -> None:
    (tmp_path / "Users-1.json").write_text(
        '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0}'
    )
    (tmp_path / "Users-2.json").write_text("[]")
    batch = read_scim_export(scim_source(tmp_path))
    check_schemas(batch)
    assert [s.rows.num_rows for s in batch.snapshots] == [0, 0]
    assert [(p.item_count, p.total_results) for p in batch.pages] == [(0, 0), (0, None)]


LIST = '{{"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "Resources": {}}}'


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        pytest.param(
            "Users.json", '{"Resources": [\n{"id": "1",, "userName": "a"}]}',
            "invalid JSON at line 2 column 12: Expecting property name enclosed in double quotes",
            id="malformed-json",
        ),
        pytest.param(
            "Users.json", LIST.format('[{"id": "1", "userName": "a"}, {"id": "2"}]'),
            "record Resources[1]: field 'userName': userName is missing", id="username-missing",
        ),
        pytest.param(
            "Users.json", '[{"userName": "a"}]', "record [0]: field 'id': id is missing",
            id="id-missing-bare-array",
        ),
        pytest.param(
            "Users.json", LIST.format('[{"id": "1", "userName": "a", "active": "yes"}]'),
            "record Resources[0]: field 'active': not a valid boolean: 'yes'", id="bad-active",
        ),
        pytest.param(
            "Users.json",
            LIST.format('[{"id": "1", "userName": "a", "meta": {"created": "2017-09-31"}}]'),
            "record Resources[0]: field 'meta.created': not a valid timestamp: '2017-09-31'",
            id="bad-created",
        ),
        pytest.param(
            "Groups.json", '[{"id": "g1", "displayName": "x"}, {"id": "g2"}]',
            "record [1]: field 'displayName': displayName is missing", id="group-name-missing",
        ),
        pytest.param(
            "Users.json", '{"id": "1", "userName": "a"}',
            "neither a SCIM ListResponse nor a JSON array", id="single-resource",
        ),
        pytest.param(
            "Users.json", LIST.format('[{"id": "1", "userName": "a", "emails": "a@x"}]'),
            None, id="wrong-shape",
        ),
    ],
)  # fmt: skip
def test_scim_input_errors(tmp_path: Path, name: str, text: str, problem: str | None) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_scim_export(scim_source(tmp_path))
    if problem is None:  # DuckDB's own words follow; the file must be named
        assert str(err.value).startswith(f"{path}: unexpected value types: ")
    else:
        assert str(err.value) == f"{path}: {problem}"


SCIM_EXAMPLES = REFERENCE / "scim-examples"


@pytest.mark.skipif(not SCIM_EXAMPLES.exists(), reason="shared reference data not present")
def test_scim_reference_payloads(tmp_path: Path) -> None:
    """RFC, Entra and Okta examples: single resources wrapped as bare-array pages."""
    singles = {
        "Users-1.json": "rfc/rfc7643-8.3-enterprise_user.json",
        "Users-2.json": "okta/06-get-user.response.json",
        "Groups-1.json": "rfc/rfc7643-8.4-group.json",
    }
    for name, rel in singles.items():
        doc = json.loads((SCIM_EXAMPLES / rel).read_text(encoding="utf-8"))
        (tmp_path / name).write_text(json.dumps([doc]), encoding="utf-8")
    shutil.copy(
        SCIM_EXAMPLES / "entra/04-get-user-by-query.response.json", tmp_path / "Users-3.json"
    )
    shutil.copy(
        SCIM_EXAMPLES / "okta/01-get-users-filter-empty.response.json", tmp_path / "Users-4.json"
    )
    batch = read_scim_export(scim_source(tmp_path))
    check_schemas(batch)
    accounts = {a["account_id"]: a for a in rows(batch, "accounts")}
    babs = accounts["2819c223-7f76-453a-919d-413861904646"]
    assert (babs["user_name"], babs["email"], babs["external_id"], babs["active"]) == (
        "bjensen@example.com", "bjensen@example.com", "701984", True,
    )  # fmt: skip
    assert babs["created_at"] == utc(2010, 1, 23, 4, 56, 22)
    attrs = json.loads(babs["attributes"])
    assert (attrs["department"], attrs["manager_id"], attrs["employee_number"]) == (
        "Tour Operations", "26118915-6090-4610-87e4-49d8ca9f808d", "701984",
    )  # fmt: skip
    assert "t1meMa$heen" not in babs["attributes"]  # the example's password never lands
    entra = accounts["2441309d85324e7793ae"]
    assert entra["email"] == "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
    assert accounts["23a35c27-23d3-4c03-b4c5-6443c09e7173"]["user_name"] == "test.user@okta.local"
    # Babs is a member of Tour Guides (its Group page) and lists it among her own groups:
    # one grant for it, beside the two groups she alone lists.
    assert [(g["account_id"], g["entitlement"], g["entitlement_type"])
            for g in rows(batch, "grants")] == [
        ("2819c223-7f76-453a-919d-413861904646", "Employees", "group"),
        ("2819c223-7f76-453a-919d-413861904646", "Tour Guides", "group"),
        ("2819c223-7f76-453a-919d-413861904646", "US Employees", "group"),
    ]  # fmt: skip
    pages = {p.request.split("/")[-1]: (p.item_count, p.total_results) for p in batch.pages}
    assert pages["Users-3.json"] == (1, 1) and pages["Users-4.json"] == (0, 0)


# ------------------------------------------------------------------------------- App exports

GITHUB_COLUMNS = {
    "user_name": "login", "active": "state", "last_login_at": "last_active",
    "created_at": "created", "entitlements": "teams", "display_name": "name",
}  # fmt: skip


def app_source(path: Path = DATA / "apps" / "github.csv", **extra: Any) -> SourceConfig:
    settings = {"name": "github", "kind": "app_export", "path": path, "app": "GitHub",
                "as_of": AS_OF, "columns": GITHUB_COLUMNS}  # fmt: skip
    return SourceConfig(**{**settings, **extra})


def test_app_export_accounts_grants_and_logins() -> None:
    batch = read_app_export(app_source())
    check_schemas(batch)
    assert [(s.table, s.apps) for s in batch.snapshots] == [
        ("accounts", ("GitHub",)),
        ("grants", ("GitHub",)),
    ]
    assert rows(batch, "accounts") == [
        {"app": "GitHub", "account_id": "alice-s", "user_name": "alice-s",
         "email": "Alice.Smith@Example.com", "external_id": None, "active": True,
         "last_login_at": utc(2025, 11, 28, 9, 30), "created_at": utc(2019, 3, 5),
         "attributes": '{"display_name":"Alice Smith"}'},
        # Mixed-case email kept as the app reports it; "never" is no login.
        {"app": "GitHub", "account_id": "carol-w", "user_name": "carol-w",
         "email": "CAROL@example.com", "external_id": None, "active": False,
         "last_login_at": None, "created_at": utc(2020, 1, 20),
         "attributes": '{"display_name":"Carol White"}'},
        {"app": "GitHub", "account_id": "svc-deploy", "user_name": "svc-deploy", "email": None,
         "external_id": None, "active": True, "last_login_at": utc(2025, 11, 30),
         "created_at": utc(2021, 2, 1), "attributes": '{"display_name":"Deploy Bot"}'},
    ]  # fmt: skip
    assert [(g["account_id"], g["entitlement"], g["entitlement_type"])
            for g in rows(batch, "grants")] == [
        ("alice-s", "release-managers", "role"),
        ("alice-s", "developers", "role"),
        ("carol-w", "developers", "role"),
    ]  # fmt: skip
    events = batch.events.to_pylist()
    assert [(e["identity"], e["action"], e["occurred_at"], e["actor"], e["account_id"], e["app"])
            for e in events] == [
        ("GitHub|alice-s|2025-11-28T09:30:00Z", "account.login", utc(2025, 11, 28, 9, 30),
         "alice-s", "alice-s", "GitHub"),
        ("GitHub|svc-deploy|2025-11-30T00:00:00Z", "account.login", utc(2025, 11, 30),
         "svc-deploy", "svc-deploy", "GitHub"),
    ]  # fmt: skip
    assert events[0]["native_id"] is None
    assert json.loads(events[0]["raw"])["org_role"] == "member"
    (page,) = batch.pages
    assert (page.request, page.item_count) == ("github.csv", 3)


def test_app_export_account_id_and_active_values(tmp_path: Path) -> None:
    path = tmp_path / "app.csv"
    path.write_text("id,user,enabled\n7,ann,Y-ES\n8,ben,nope\n", encoding="utf-8")
    src = app_source(
        path, columns={"account_id": "id", "user_name": "user", "active": "enabled"},
        active_values={"Y-ES": True, "nope": False},
    )  # fmt: skip
    got = [
        (a["account_id"], a["user_name"], a["active"])
        for a in rows(read_app_export(src), "accounts")
    ]
    assert got == [("7", "ann", True), ("8", "ben", False)]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        pytest.param(
            "alice,a@x,active,,,,,\nbob,b@x,maybe,,,,,\n",
            "record 2: field 'state': not a known active value: 'maybe'", id="bad-boolean",
        ),
        pytest.param(
            "alice,a@x,active,last tuesday,,,,\n",
            "record 1: field 'last_active': not an ISO 8601 date or date-time: 'last tuesday'",
            id="bad-date",
        ),
        pytest.param(
            "alice,a@x,active,,,,,\n ,b@x,active,,,,,\n",
            "record 2: field 'login': user_name is missing", id="user-name-missing",
        ),
        pytest.param(
            "alice,a@x,active,,,,,\nalice,b@x,active,,,,,\n",
            "record 2: field 'login': duplicate account 'alice' (first at record 1)",
            id="duplicate-account",
        ),
    ],
)  # fmt: skip
def test_app_export_input_errors(tmp_path: Path, body: str, problem: str) -> None:
    path = tmp_path / "github.csv"
    path.write_text("login,email,state,last_active,created,teams,name,org_role\n" + body)
    with pytest.raises(InputError) as err:
        read_app_export(app_source(path))
    assert str(err.value) == f"{path}: {problem}"


# ---------------------------------------------------------------------------------- Redaction


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("clientSecret", True), ("client_secret", True), ("password", True),
        ("Password", True), ("token", True), ("access_token", True), ("refresh_token", True),
        ("secret", True), ("Authorization", True), ("api_key", True), ("apiKey", True),
        ("X-Api-Key", True), ("private_key", True), ("privateKey", True), ("sessionToken", True),
        ("idToken", True), ("passwd", True), ("Cookie", True), ("Badge Token", True),
        ("rootApiTokenId", False), ("tokenType", False), ("passwordChanged", False),
        ("clientAuthType", False), ("authenticationContext", False), ("credentialType", False),
        ("userName", False), ("key", False), ("apiVersion", False),
    ],
)  # fmt: skip
def test_secret_keys(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_redact_recurses_and_keeps_nulls() -> None:
    value = {"a": [{"password": "p", "x": 1}, {"nested": {"Token": {"v": 1}}}],
             "secret": None, "list_token": ["a", "b"], "ok": "token in a value"}  # fmt: skip
    assert redact(value) == {
        "a": [{"password": REDACTED, "x": 1}, {"nested": {"Token": REDACTED}}],
        "secret": None, "list_token": REDACTED, "ok": "token in a value",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', '{"a": 1}'),  # nothing secret-looking: the very same text
        ('{"note": "token"}', '{"note": "token"}'),  # only in a value: unchanged text
        ('{"apiKey": "k", "b": "é"}', '{"apiKey":"[REDACTED]","b":"é"}'),
        ('{"\\u0074oken": "t"}', '{"token":"[REDACTED]"}'),  # escaped key names are caught
        (None, None),
    ],
)
def test_redact_json_text(text: str | None, expected: str | None) -> None:
    assert redact_json_text(text) == expected


def test_redact_column_in_bulk() -> None:
    column = pa.array(['{"a":1}', None, '{"password":"x"}', '{"b":"secret"}', '{"\\u0074oken":1}'])
    assert redact_column(column).to_pylist() == [
        '{"a":1}', None, '{"password":"[REDACTED]"}', '{"b":"secret"}', '{"token":"[REDACTED]"}',
    ]  # fmt: skip
    assert redact_column(pa.array(['{"a":1}'])).to_pylist() == ['{"a":1}']


# ------------------------------------------------------------------------------ read_source


def test_read_source_dispatches_on_kind() -> None:
    kinds = [
        (hr_source(DATA / "hris" / "workers.csv"), ["people"]),
        (okta_source(), ["idp_users", "idp_groups", "idp_group_members", "apps", "group_push",
                         "assignments"]),
        (scim_source(), ["accounts", "grants"]),
        (app_source(), ["accounts", "grants"]),
    ]  # fmt: skip
    for source, tables in kinds:
        (batch,) = read_source(source)
        assert [s.table for s in batch.snapshots] == tables
        assert (batch.source, batch.kind) == (source.name, source.kind)


@pytest.mark.parametrize(
    "make",
    [
        lambda: hr_source(DATA / "hris" / "workers.csv"),
        lambda: okta_source(),
        lambda: scim_source(),
        lambda: app_source(),
    ],
    ids=["hris", "okta", "scim", "app_export"],
)
def test_reading_twice_gives_identical_batches(make: Any) -> None:
    """Deterministic output: the store's de-duplication relies on it."""
    first, second = read_source(make()), read_source(make())
    assert first == second


def test_read_source_as_of_is_newest_mtime_without_as_of(tmp_path: Path) -> None:
    for name, stamp in (("Users-1.json", 1_700_000_000), ("Groups.json", 1_700_000_500)):
        (tmp_path / name).write_text("[]")
        os.utime(tmp_path / name, (stamp, stamp))
    (batch,) = read_source(scim_source(tmp_path, as_of=None))
    assert batch.as_of == datetime.fromtimestamp(1_700_000_500, UTC)


def test_read_source_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no `path`"):
        read_source(SourceConfig(name="x", kind="okta"))
    with pytest.raises(InputError) as err:
        read_source(okta_source(tmp_path / "missing"))
    assert str(err.value) == f"{tmp_path / 'missing'}: no such file or directory"
    with pytest.raises(InputError) as err:
        read_source(okta_source(DATA / "okta" / "users.json"))
    assert str(err.value) == f"{DATA / 'okta' / 'users.json'}: an Okta export must be a folder"
    with pytest.raises(ConfigError, match="kind 'synthetic' has no export reader"):
        read_source(SourceConfig(name="x", kind="synthetic", path=tmp_path))
    with pytest.raises(ConfigError, match='needs `app = "name"`'):
        read_source(SourceConfig(name="x", kind="scim", path=tmp_path))
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("person_id\n")
    with pytest.raises(InputError) as err:
        read_source(SourceConfig(name="hr", kind="hris", path=tmp_path))
    assert str(err.value) == f"{tmp_path}: more than one undated snapshot: a.csv, b.csv"
