"""Entra ID (export folders and live Graph pages): hostile input is read or refused as one
InputError naming the file (or request), record and field.

Property (hypothesis): the fixture export (tests/data/entra, plus a deletedUsers.json) with
fields anywhere turned into other JSON types or hostile text and files damaged at the byte
level; batches commit, a failed sync leaves the store as it was. Fixed corpus below.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given

from connectors.entra.directory import entra_snapshots
from connectors.entra.live import _records
from connectors.entra.mapping import entra_events
from connectors.http import Page
from evidence.config import source_config
from evidence.errors import InputError
from tests.export_sources import AS_OF, DATA, read_source
from tests.fuzz_corpus import every_type_cases, json_cases
from tests.fuzz_strategies import (
    Examples,
    expect_parse,
    folder_docs,
    fuzz_export_folder,
    mutated_docs,
)
from tests.soak import size

BASE = folder_docs(DATA / "entra")
_USER = BASE["users.json"]["value"][0]
BASE["deletedUsers.json"] = [
    {**_USER, "id": "deleted-1", "deletedDateTime": "2024-02-01T00:00:00Z"}
]
_EVENT = BASE["provisioning.json"][0]


def entra_source(path: Path):
    return source_config(name="entra", kind="entra", path=path, tenant="t", as_of=AS_OF)


@pytest.mark.soak
def test_entra_export_fuzz(tmp_path_factory: pytest.TempPathFactory) -> None:
    probe = fuzz_export_folder(tmp_path_factory.mktemp("fuzz-entra"), BASE, entra_source)
    assert probe.committed


def _page(items: object) -> Page:
    return Page(items, "GET /v1.0/users?$top=999", 1, None, "https://graph/v1.0/users")  # type: ignore[arg-type]


@pytest.mark.soak
def test_entra_live_pages_fuzz() -> None:
    examples = Examples("entra live pages")

    @given(docs=mutated_docs({"logs": BASE["provisioning.json"], "users": BASE["users.json"]["value"],
                              "sps": BASE["servicePrincipals.json"],
                              "assigned": BASE["appRoleAssignments.json"]}))  # fmt: skip
    def prop(docs: dict) -> None:
        examples.tick()
        where = "GET /v1.0/users?$top=999 (page 1)"
        try:
            entra_events(_records([_page(docs["logs"])]))
            entra_snapshots(
                users=_records([_page(docs["users"])]), groups=None, members={},
                service_principals=_records([_page(docs["sps"])]),
                assignments=_records([_page(docs["assigned"])]),
            )  # fmt: skip
        except InputError as e:
            assert "\n" not in str(e) and str(e).startswith(where), str(e)

    prop()
    examples.check()


# ------------------------------------------------------------------------- fixed corpus


@pytest.mark.parametrize(
    "case",
    json_cases(_USER, ("displayName",), lambda r: '{"value": [' + r + "]}", "value"),
    ids=lambda c: c.label,
)
def test_entra_corpus_users(tmp_path: Path, case) -> None:
    (tmp_path / "users.json").write_bytes(case.data)
    result = expect_parse(lambda: read_source(entra_source(tmp_path)), [str(tmp_path)])
    if case.problem is not None:
        assert isinstance(result, InputError)
        assert str(result) == f"{tmp_path / 'users.json'}: {case.problem}"


@pytest.mark.soak
@pytest.mark.parametrize(
    ("name", "record"),
    [("users.json", _USER), ("deletedUsers.json", BASE["deletedUsers.json"][0]),
     ("groups.json", BASE["groups.json"][0]),
     ("servicePrincipals.json", BASE["servicePrincipals.json"][0]),
     ("appRoleAssignments.json", BASE["appRoleAssignments.json"][0]),
     ("provisioning.json", _EVENT)],
)  # fmt: skip
def test_entra_corpus_every_type_in_every_field(tmp_path: Path, name: str, record: dict) -> None:
    path = tmp_path / name
    # deletedUsers are read only beside users.json.
    (tmp_path / "users.json").write_text("[]")
    read = refused = 0
    for label, data in every_type_cases(record, lambda r: f"[{r}]", size(5, 1)):
        path.write_bytes(data)
        result = expect_parse(lambda: read_source(entra_source(tmp_path)), [str(path)])
        if isinstance(result, InputError):
            refused += 1
            assert str(result).startswith(f"{path}: record [0]: field "), (label, str(result))
        else:
            read += 1
    assert read and refused


def test_entra_wrong_types_are_named() -> None:
    rec = {**_EVENT, "sourceIdentity": "alice"}
    with pytest.raises(InputError) as err:
        entra_events([("provisioning.json", 2, rec)])
    assert str(err.value) == (
        "provisioning.json: record [2]: field 'sourceIdentity': expected an object, got text"
    )
    rec = {**_USER, "accountEnabled": "yes"}
    with pytest.raises(InputError) as err:
        entra_snapshots(users=[("users.json", 0, rec)], groups=None, members={},
                        service_principals=None, assignments=None)  # fmt: skip
    assert str(err.value) == (
        "users.json: record [0]: field 'accountEnabled': expected a boolean, got text"
    )
    # "False" (Graph's portal downloads) is a boolean; a number for the UPN is its text.
    rec = {**_USER, "accountEnabled": "False", "userPrincipalName": 7}
    (users,) = entra_snapshots(users=[("users.json", 0, rec)], groups=None, members={},
                               service_principals=None, assignments=None)  # fmt: skip
    assert users.rows.select(["login", "status", "lifecycle"]).to_pylist() == [
        {"login": "7", "status": "DISABLED", "lifecycle": "deprovisioned"}
    ]
