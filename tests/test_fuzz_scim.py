"""SCIM 2.0 pages (ListResponses and bare arrays of resources, read in bulk by DuckDB):
hostile input is read or refused as one InputError naming the file, record and field.

Property (hypothesis): the fixture pages (tests/data/scim) with fields anywhere, ListResponse
envelopes included, turned into other JSON types or hostile text, and pages damaged at the
byte level; batches commit, a failed sync leaves the store as it was. Fixed corpus below.
A live listing is staged as these same pages (connectors/scim/live.py), so this covers it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evidence.errors import InputError
from tests.export_sources import DATA, read_source, scim_source
from tests.fuzz_corpus import every_type_cases, json_cases
from tests.fuzz_strategies import (
    expect_parse,
    folder_docs,
    fuzz_export_folder,
)
from tests.soak import size

BASE = folder_docs(DATA / "scim")
_USER = BASE["Users-0001.json"]["Resources"][0]
_GROUP = (
    BASE["Groups.json"]["Resources"][0]
    if isinstance(BASE["Groups.json"], dict)
    else BASE["Groups.json"][0]
)
_LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def _list_response(resource: str) -> str:
    return f'{{"schemas": ["{_LIST}"], "totalResults": 1, "Resources": [{resource}]}}'


@pytest.mark.soak
def test_scim_export_fuzz(tmp_path_factory: pytest.TempPathFactory) -> None:
    probe = fuzz_export_folder(tmp_path_factory.mktemp("fuzz-scim"), BASE, scim_source)
    assert probe.committed


@pytest.mark.parametrize(
    "case", json_cases(_USER, ("userName",), _list_response, "Resources"), ids=lambda c: c.label
)
def test_scim_corpus_users(tmp_path: Path, case) -> None:
    (tmp_path / "Users.json").write_bytes(case.data)
    result = expect_parse(lambda: read_source(scim_source(tmp_path)), [str(tmp_path)])
    if case.problem is not None:
        assert isinstance(result, InputError)
        assert str(result) == f"{tmp_path / 'Users.json'}: {case.problem}"


@pytest.mark.soak
@pytest.mark.parametrize(
    ("name", "record"), [("Users.json", _USER), ("Groups.json", _GROUP)], ids=["user", "group"]
)
def test_scim_corpus_every_type_in_every_field(tmp_path: Path, name: str, record: dict) -> None:
    path = tmp_path / name
    if name == "Groups.json":  # groups are read beside users
        (tmp_path / "Users.json").write_text(_list_response(json.dumps(_USER)))
    read = refused = 0
    for label, data in every_type_cases(record, _list_response, size(7, 1)):
        path.write_bytes(data)
        result = expect_parse(lambda: read_source(scim_source(tmp_path)), [str(path)])
        if isinstance(result, InputError):
            refused += 1
            assert str(result).startswith(f"{path}: record Resources[0]: field "), (
                label,
                str(result),
            )
        else:
            read += 1
    assert read and refused


@pytest.mark.parametrize(
    ("resource", "problem"),
    [
        ({"id": {"a": 1}, "userName": "a"}, "field 'id': expected text, got an object"),
        ({"id": "1", "userName": ["a"]}, "field 'userName': expected text, got an array"),
        ({"id": "1", "userName": "a", "name": {"givenName": {}}},
         "field 'name.givenName': expected text, got an object"),
        ({"id": "1", "userName": "a", "emails": [{"value": ["x"]}]},
         "field 'emails[0].value': expected text, got an array"),
        ({"id": "1", "userName": "a", "emails": {"value": "x"}},
         "field 'emails': expected an array, got an object"),
        ({"id": "1", "userName": "a", "title": "t\x00"},
         "field 'title': holds a NUL character (U+0000)"),
    ],
)  # fmt: skip
def test_scim_wrong_types_are_named(tmp_path: Path, resource: dict, problem: str) -> None:
    (tmp_path / "Users.json").write_text(_list_response(json.dumps(resource)))
    with pytest.raises(InputError) as err:
        read_source(scim_source(tmp_path))
    assert str(err.value) == f"{tmp_path / 'Users.json'}: record Resources[0]: {problem}"


def test_scim_number_user_name_and_null_members_are_read(tmp_path: Path) -> None:
    (tmp_path / "Users.json").write_text(_list_response('{"id": 1, "userName": 42}'))
    (tmp_path / "Groups.json").write_text(
        _list_response('{"id": "g", "displayName": "G", "members": null}')
    )
    (batch,) = read_source(scim_source(tmp_path))
    accounts, grants = batch.snapshots
    assert accounts.rows.select(["account_id", "user_name"]).to_pylist() == [
        {"account_id": "1", "user_name": "42"}
    ]
    assert grants.rows.num_rows == 0


@pytest.mark.parametrize("name", ["Users.json", "Groups.json"])
@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf \r\n"], ids=["empty", "bom-blank"])
def test_an_empty_page_is_refused(tmp_path: Path, name: str, data: bytes) -> None:
    """Found by the soak: a page cut to nothing gave a KeyError (no page row named it)."""
    (tmp_path / "Users.json").write_text(_list_response(json.dumps(_USER)))
    (tmp_path / name).write_bytes(data)
    with pytest.raises(InputError) as err:
        read_source(scim_source(tmp_path))
    assert str(err.value) == (
        f"{tmp_path / name}: empty file: neither a SCIM ListResponse nor a JSON array"
    )


def test_a_refusal_duckdb_words_with_a_cut_character_is_an_input_error(tmp_path: Path) -> None:
    """Found by the soak: DuckDB quoted the bad value and cut it inside a UTF-8 sequence, so
    its error could not be decoded (UnicodeDecodeError, a traceback)."""
    (tmp_path / "Users.json").write_text(_list_response(json.dumps(_USER)))
    doc = [[None, {"\U00010000\U00010000\U00017900": False, "00": "0\x1f\x1f\x80\x80"}],
           {"id": "G-EMPTY", "displayName": "nobody"}]  # fmt: skip
    (tmp_path / "Groups.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_source(scim_source(tmp_path))
    assert (
        str(err.value)
        == f"{tmp_path / 'Groups.json'}: record [0]: expected an object, got an array"
    )
