"""SCIM 2.0 export pages (ListResponse or bare array) → an app's accounts and grants."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from connectors.scim.export import read_scim_export
from evidence.errors import InputError
from tests.export_sources import (
    DATA,
    REFERENCE,
    check_schemas,
    rows,
    scim_source,
    sha,
    utc,
)

# -------------------------------------------------------------------------------------- SCIM


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
            "record Resources[0]: field 'emails': expected an array, got text", id="wrong-shape",
        ),
    ],
)  # fmt: skip
def test_scim_input_errors(tmp_path: Path, name: str, text: str, problem: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_scim_export(scim_source(tmp_path))
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
