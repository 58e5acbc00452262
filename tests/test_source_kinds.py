"""The registry of source kinds: dispatch, determinism, provenance time, errors."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors import KINDS
from evidence.config import load_config, source_config
from evidence.errors import ConfigError, InputError
from tests.export_sources import (
    DATA,
    app_source,
    hr_source,
    okta_source,
    read_source,
    scim_source,
)

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
        read_source(source_config(name="x", kind="okta"))
    with pytest.raises(InputError) as err:
        read_source(okta_source(tmp_path / "missing"))
    assert str(err.value) == f"{tmp_path / 'missing'}: no such file or directory"
    with pytest.raises(InputError) as err:
        read_source(okta_source(DATA / "okta" / "users.json"))
    assert str(err.value) == f"{DATA / 'okta' / 'users.json'}: an Okta export must be a folder"
    # "synthetic" is no source kind: the generator writes export files of the real kinds.
    config = tmp_path / "evidence.toml"
    config.write_text('[[sources]]\nname = "x"\nkind = "synthetic"\npath = "."\n')
    with pytest.raises(ConfigError) as err:
        load_config(config)
    kinds = "okta, entra, scim, hris, app_export"
    assert str(err.value) == f"{config}: source 'x': kind 'synthetic' is not one of {kinds}"
    with pytest.raises(ConfigError, match='needs `app = "name"`'):
        read_source(source_config(name="x", kind="scim", path=tmp_path))
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("person_id\n")
    with pytest.raises(InputError) as err:
        read_source(source_config(name="hr", kind="hris", path=tmp_path))
    assert str(err.value) == f"{tmp_path}: more than one undated snapshot: a.csv, b.csv"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('kind = "okta"\nurl = "https://acme.okta.com"\npage_limt = 200', "page_limt: unknown key"),
        ('kind = "entra"\ntenant_idd = "t"', "tenant_idd: unknown key"),
        ('kind = "scim"\napp = "github"\npath = "p"\npagesize = 10', "pagesize: unknown key"),
        ('kind = "hris"\npath = "w.csv"\nstatus_value = {}', "status_value: unknown key"),
        ('kind = "app_export"\napp = "a"\npath = "a.csv"\nactive_value = {}', "active_value: unknown key"),
        # A key of another kind is as unknown as a misspelt one.
        ('kind = "hris"\npath = "w.csv"\npage_limit = 5', "page_limit: unknown key"),
        ('kind = "okta"\nurl = "https://acme.okta.com"\ntoken = "00secret"',
         "token must not be written in the config; set token_env (an environment variable) "
         "or token_file (a file) instead"),
        ('kind = "okta"\npage_limit = "many"', "page_limit: Input should be a valid integer, unable to parse string as an integer"),
        ('kind = "ldap"', "kind 'ldap' is not one of okta, entra, scim, hris, app_export"),
        ('path = "x"', "no kind (one of okta, entra, scim, hris, app_export)"),
    ],
)  # fmt: skip
def test_config_names_the_source_and_the_key(tmp_path: Path, table: str, message: str) -> None:
    """A misspelt or foreign key fails the load in one line: file, source, key; never a value."""
    config = tmp_path / "evidence.toml"
    config.write_text(f'[[sources]]\nname = "hr"\nkind = "hris"\npath = "w.csv"\n\n'
                      f'[[sources]]\nname = "prod"\n{table}\n')  # fmt: skip
    with pytest.raises(ConfigError) as err:
        load_config(config)
    assert str(err.value) == f"{config}: source 'prod': {message}"
    assert "\n" not in str(err.value) and "00secret" not in str(err.value)


def test_every_kind_is_in_the_registry_and_the_config() -> None:
    assert list(KINDS) == ["okta", "entra", "scim", "hris", "app_export"]
    for kind, package in KINDS.items():
        assert package.KIND == kind
        assert package.Settings.model_fields["kind"].annotation.__args__ == (kind,)
        for name in ("read_export", "iter_live"):
            assert callable(getattr(package, name))
    assert [k.LOG for k in KINDS.values()] == [True, True, False, False, False]
