"""Every file evidence.toml names resolves against the config file's folder, whatever the
working directory: `path`, a source's secret files and CA bundle, a sink's own files."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence.config import load_config

CONFIG = """
[store]
path = "s.duckdb"
[[sources]]
name = "okta"
kind = "okta"
url = "https://x.okta.com"
token_file = "secrets/okta"
ca_bundle = "ca.pem"
[[sources]]
name = "hr"
kind = "hris"
path = "hr.csv"
[[sinks]]
name = "hec"
kind = "splunk_hec"
url = "https://hec.example.com:8088"
token_file = "secrets/hec"
[[sinks]]
name = "sys"
kind = "syslog"
url = "tls://syslog.example.com:6514"
cert_file = "c.pem"
key_file = "/abs/k.pem"
"""


def test_files_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "evidence.toml").write_text(CONFIG)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config(Path("../conf/evidence.toml"))
    okta, hr = cfg.sources
    hec, syslog = cfg.sinks
    base = conf.resolve()
    assert (cfg.store.path, hr.path) == (base / "s.duckdb", base / "hr.csv")
    assert (okta.token_file, okta.ca_bundle) == (str(base / "secrets/okta"), str(base / "ca.pem"))
    assert hec.token_file == str(base / "secrets/hec")  # type: ignore[attr-defined]
    assert syslog.cert_file == str(base / "c.pem")  # type: ignore[attr-defined]
    assert syslog.key_file == "/abs/k.pem"  # type: ignore[attr-defined]  # absolute: as written
