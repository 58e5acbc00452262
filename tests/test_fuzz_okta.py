"""Okta (export folders and live pages): hostile input is read or refused as one InputError.

Property (hypothesis, `make test` short, `make soak` 10,000 examples): the fixture export
(tests/data/okta) with fields anywhere turned into other JSON types or hostile text, files
damaged at the byte level; the parser returns batches, which commit, or raises InputError,
one line naming the file; a failed sync leaves the store as it was. Fixed corpus below.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given

from connectors.http import Page
from connectors.okta.live import _records
from connectors.okta.mapping import okta_events, okta_snapshots
from evidence.errors import InputError
from tests.export_sources import DATA, okta_source, read_source
from tests.fuzz_corpus import every_type_cases, json_cases
from tests.fuzz_strategies import (
    Examples,
    expect_parse,
    folder_docs,
    fuzz_export_folder,
    mutated_docs,
)
from tests.soak import size

BASE = folder_docs(DATA / "okta")


@pytest.mark.soak
def test_okta_export_fuzz(tmp_path_factory: pytest.TempPathFactory) -> None:
    probe = fuzz_export_folder(tmp_path_factory.mktemp("fuzz-okta"), BASE, okta_source)
    assert probe.committed and probe.examples  # the examples reached the store


def _page(items: object, n: int = 1) -> Page:
    return Page(items, "GET /api/v1/logs?limit=2", n, None, "https://x.okta.com/api/v1/logs")  # type: ignore[arg-type]


@pytest.mark.soak
def test_okta_live_pages_fuzz() -> None:
    """Live pages (already parsed by the http layer: NaN, lone surrogates and huge text can
    be in them) go through the same checks and mappings."""
    examples = Examples("okta live pages")

    @given(docs=mutated_docs({"logs": BASE["logs.json"], "users": BASE["users.json"],
                              "groups": BASE["groups.json"]}))  # fmt: skip
    def prop(docs: dict) -> None:
        examples.tick()
        where = "GET /api/v1/logs?limit=2 (page 1)"
        try:
            okta_events(_records([_page(docs["logs"])]))
            okta_snapshots(
                users=_records([_page(docs["users"])]),
                groups=_records([_page(docs["groups"])]),
                members={}, apps=None, pushes={}, assigned={}, apps_where="GET /api/v1/apps",
            )  # fmt: skip
        except InputError as e:
            assert "\n" not in str(e) and str(e).startswith(where), str(e)

    prop()
    examples.check()


# ------------------------------------------------------------------------- fixed corpus

_USER = BASE["users.json"][0]
_EVENT = BASE["logs.json"][0]


@pytest.mark.parametrize(
    "case",
    json_cases(_USER, ("profile", "login"), lambda r: f"[{r}]", ""),
    ids=lambda c: c.label,
)
def test_okta_corpus_users(tmp_path: Path, case) -> None:
    (tmp_path / "users.json").write_bytes(case.data)
    result = expect_parse(lambda: read_source(okta_source(tmp_path)), [str(tmp_path)])
    if case.problem is not None:
        assert isinstance(result, InputError)
        assert str(result) == f"{tmp_path / 'users.json'}: {case.problem}"


def test_okta_corpus_deep_field_names_record_and_field(tmp_path: Path) -> None:
    """Nesting Python's parser can hold (100 levels) is named by record and field; 100,000
    levels (the corpus's deep-field case) exhaust it first: then only the file is named."""
    rec = {**_EVENT, "actor": {**_EVENT["actor"], "id": json.loads("[" * 100 + "]" * 100)}}
    (tmp_path / "logs.json").write_text(json.dumps([rec]))
    with pytest.raises(InputError) as err:
        read_source(okta_source(tmp_path))
    path = tmp_path / "logs.json"
    assert str(err.value) == (
        f"{path}: record [0]: field 'actor.id{'[0]' * 10}…': nested deeper than 64 levels"
    )


@pytest.mark.soak
@pytest.mark.parametrize(
    ("name", "record"),
    [("users.json", _USER), ("groups.json", BASE["groups.json"][0]),
     ("apps.json", BASE["apps.json"][0]), ("logs.json", _EVENT),
     ("app_users/0oa1slack.json", BASE["app_users/0oa1slack.json"][0]),
     ("group_push/0oa1slack.json", BASE["group_push/0oa1slack.json"][0]),
     ("group_members/00g1eng.json", BASE["group_members/00g1eng.json"][0])],
)  # fmt: skip
def test_okta_corpus_every_type_in_every_field(tmp_path: Path, name: str, record: dict) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    read = refused = 0
    for label, data in every_type_cases(record, lambda r: f"[{r}]", size(5, 1)):
        path.write_bytes(data)
        result = expect_parse(lambda: read_source(okta_source(tmp_path)), [str(path)])
        if isinstance(result, InputError):
            refused += 1
            assert str(result).startswith(f"{path}: record [0]: field "), (label, str(result))
        else:
            read += 1
    assert read and refused


def test_okta_wrong_types_are_named() -> None:
    """The messages the shapes give, exactly (record, field, expected and got)."""
    rec = {**_USER, "profile": {**_USER["profile"], "login": ["a"]}}
    with pytest.raises(InputError) as err:
        okta_snapshots(users=[("users.json", 0, rec)], groups=None, members={}, apps=None,
                       pushes={}, assigned={}, apps_where="apps.json")  # fmt: skip
    assert (
        str(err.value)
        == "users.json: record [0]: field 'profile.login': expected text, got an array"
    )
    rec = {**_EVENT, "target": [{"id": {"x": 1}, "type": "User"}]}
    with pytest.raises(InputError) as err:
        okta_events([("logs.json", 3, rec)])
    assert (
        str(err.value)
        == "logs.json: record [3]: field 'target[0].id': expected text, got an object"
    )
    # A number where text is expected is its JSON text; null is missing.
    rec = {**_USER, "profile": {**_USER["profile"], "login": 5, "email": None}}
    (snap,) = okta_snapshots(users=[("users.json", 0, rec)], groups=None, members={}, apps=None,
                             pushes={}, assigned={}, apps_where="apps.json")  # fmt: skip
    assert snap.rows.select(["login", "email"]).to_pylist() == [{"login": "5", "email": None}]
    assert json.loads(snap.rows["attributes"][0].as_py())["login"] == 5  # raw JSON kept as is
