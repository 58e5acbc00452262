"""App user-list exports (CSV) → accounts, role grants and account.login events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.app_export.export import read_app_export
from evidence.errors import InputError
from tests.export_sources import (
    app_source,
    check_schemas,
    rows,
    utc,
)

# ------------------------------------------------------------------------------- App exports


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
