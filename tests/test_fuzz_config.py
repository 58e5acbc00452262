"""evidence.toml: any file is a Config or one ConfigError, one line, naming the file.

Property (hypothesis): a valid configuration (every source kind, policy, sinks, reports)
with values anywhere turned into other TOML types or hostile text, keys added or removed,
and the file damaged at the byte level (BOM, invalid UTF-8, cut). Fixed corpus below.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from evidence.config import Config
from evidence.errors import ConfigError
from tests.fuzz_corpus import DEEP, HUGE
from tests.fuzz_strategies import (
    Examples,
    damage,
    load_config_or_error,
    mutated_docs,
    scratch,
    writes,
)

BASE: dict[str, Any] = {
    "store": {"path": "evidence.duckdb", "memory_limit": "1GB"},
    "sources": [
        {"name": "hr", "kind": "hris", "path": "hr.csv", "timezone": "America/New_York",
         "as_of": "2025-12-01T00:00:00Z", "columns": {"person_id": "Employee ID"},
         "status_values": {"Active": "active"}},
        {"name": "okta", "kind": "okta", "url": "https://example.okta.com",
         "token_env": "OKTA_TOKEN", "since": "2025-09-01"},
        {"name": "entra", "kind": "entra", "tenant_id": "t", "client_id": "c",
         "client_secret_env": "SECRET"},
        {"name": "slack", "kind": "scim", "app": "Slack", "url": "https://scim.example.com/v2",
         "token_env": "T", "page_size": 100},
        {"name": "github", "kind": "app_export", "app": "GitHub", "path": "github.csv",
         "columns": {"user_name": "login"}, "active_values": {"on": True}},
    ],
    "policy": {"grace_hours": 24, "dormant_days": 90, "privileged": ["*admin*"],
               "accepted_risks": [{"kind": "orphans", "owner": "o", "ticket": "T-1",
                                   "expires": "2026-01-01"}],
               "sod": [{"name": "r", "a": {"app": "x", "entitlement": "y"},
                        "b": {"app": "x", "entitlement": "z"}}]},
    "sinks": [{"name": "out", "kind": "ndjson", "path": "out.ndjson", "format": "ecs"}],
    "reports": {"organisation": "Example"},
}  # fmt: skip


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return (
            "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
        )
    if isinstance(v, int):
        return str(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_value(x)}" for k, x in v.items()
                               if x is not None) + "}"  # fmt: skip
    return json.dumps(v)  # a TOML basic string (JSON's escapes are TOML's); NUL, \ud800 too


def toml_text(doc: dict[str, Any]) -> str:
    """A document as TOML: top-level tables as [t], lists of tables as [[t]], the rest inline
    (TOML has no null: a None is left out)."""
    lines: list[str] = []
    for key, value in doc.items():
        if isinstance(value, dict) and value:
            lines.append(f"[{json.dumps(key)}]")
            lines += [f"{json.dumps(k)} = {_value(v)}" for k, v in value.items() if v is not None]
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for table in value:
                lines.append(f"[[{json.dumps(key)}]]")
                lines += [f"{json.dumps(k)} = {_value(v)}" for k, v in table.items()
                          if v is not None]  # fmt: skip
        elif value is not None:
            lines.insert(0, f"{json.dumps(key)} = {_value(value)}")
    return "\n".join(lines) + "\n"


def test_base_config_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "evidence.toml"
    path.write_text(toml_text(BASE))
    cfg = load_config_or_error(path)
    assert isinstance(cfg, Config), cfg
    assert [s.name for s in cfg.sources] == ["hr", "okta", "entra", "slack", "github"]


@pytest.mark.soak
def test_config_fuzz(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("fuzz-config")
    outcomes = {"config": 0, "error": 0}
    examples = Examples("evidence.toml")

    @given(docs=mutated_docs({"cfg": BASE}, max_mutations=4), how=writes)
    def prop(docs: dict, how: dict) -> None:
        examples.tick()
        with scratch(root) as folder:
            path = folder / "evidence.toml"
            data = toml_text(docs["cfg"]).replace("\n", how["newline"])
            path.write_bytes(damage(data.encode("utf-8", "surrogatepass"), how))
            result = load_config_or_error(path)
            outcomes["config" if isinstance(result, Config) else "error"] += 1

    prop()
    examples.check()
    assert outcomes["config"] and outcomes["error"], outcomes


_CORPUS = [
    ("deep", "a = " + "[" * DEEP + "]" * DEEP + "\n", "invalid TOML: nested too deeply"),
    ("10MB-value", f'[store]\nmemory_limit = "{"x" * HUGE}"\n', None),
    ("nul-escape", '[store]\npath = "a\\u0000b"\n', "store.path: holds a NUL character"),
    ("nul-byte", '[store]\npath = "a\x00b"\n', None),
    ("bom", "\ufeff[store]\npath = 'x.duckdb'\n", None),
    ("newline-in-key", '[[sources]]\nname = "a"\nkind = "okta"\n"bad\\nkey" = 1\n',
     "source 'a': bad\\nkey: unknown key"),
    ("as_of-number", '[[sources]]\nname = "a"\nkind = "hris"\nas_of = 5\n', None),
    ("as_of-date", '[[sources]]\nname = "a"\nkind = "hris"\nas_of = 2025-01-01\n', None),
    ("as_of-time", '[[sources]]\nname = "a"\nkind = "hris"\nas_of = 10:00:00\n', None),
    ("sources-table", "[sources]\na = 1\n", None),
    ("sources-strings", 'sources = ["a", 1]\n', None),
]  # fmt: skip


@pytest.mark.parametrize(("label", "text", "problem"), _CORPUS, ids=[c[0] for c in _CORPUS])
def test_config_corpus(tmp_path: Path, label: str, text: str, problem: str | None) -> None:
    path = tmp_path / "evidence.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    result = load_config_or_error(path)
    if problem is not None:
        assert isinstance(result, ConfigError)
        assert str(result) == f"{path}: {problem}"


def test_config_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "evidence.toml"
    path.write_bytes(b'[store]\npath = "x"\n[reports]\norganisation = "Caf\xe9"\n')
    with pytest.raises(ConfigError) as err:
        __import__("evidence.config").config.load_config(path)
    assert str(err.value) == f"{path}: line 4: not valid UTF-8 text"


def test_config_as_of_date_is_midnight_utc(tmp_path: Path) -> None:
    path = tmp_path / "evidence.toml"
    path.write_text('[[sources]]\nname = "a"\nkind = "hris"\nas_of = 2025-01-01\n')
    cfg = load_config_or_error(path)
    assert isinstance(cfg, Config)
    assert cfg.sources[0].as_of is not None
    assert cfg.sources[0].as_of.isoformat() == "2025-01-01T00:00:00+00:00"


def test_config_directory_is_a_config_error(tmp_path: Path) -> None:
    result = load_config_or_error(tmp_path)
    assert isinstance(result, ConfigError)
    assert str(result).startswith(f"{tmp_path}: cannot read: ")
