"""`evidence.toml`: store, sources, policy and sinks, validated once at load time."""

from __future__ import annotations

import os
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evidence.errors import ConfigError

__all__ = [
    "Config",
    "SourceConfig",
    "SinkConfig",
    "Policy",
    "ReportsConfig",
    "load_config",
    "parse_instant",
]

SOURCE_KINDS = ("okta", "entra", "scim", "hris", "app_export", "synthetic")
SINK_KINDS = ("elasticsearch", "syslog", "splunk_hec", "ndjson")


def parse_instant(value: str | datetime) -> datetime:
    """RFC 3339 instant, or a bare date meaning 00:00 UTC; always timezone-aware UTC."""
    from datetime import UTC

    if isinstance(value, datetime):
        dt = value
    else:
        text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreConfig(_Strict):
    path: Path = Path("evidence.duckdb")
    # DuckDB's buffer limit; beyond it joins and sorts spill to disk. Keeps an enterprise-size
    # detect under 4 GB of RSS on a laptop (DuckDB's own default is 80 % of RAM).
    memory_limit: str = "3GB"


class SourceConfig(BaseModel):
    """One `[[sources]]` table. Kind-specific keys are kept as extras for the connector."""

    model_config = ConfigDict(extra="allow")

    name: str
    kind: Literal["okta", "entra", "scim", "hris", "app_export", "synthetic"]
    path: Path | None = None
    url: str | None = None
    app: str | None = None
    tenant: str | None = None
    as_of: datetime | None = None
    since: datetime | None = None
    timezone: str = "UTC"
    columns: dict[str, str] = Field(default_factory=dict)
    status_values: dict[str, str] = Field(default_factory=dict)
    employment_type_values: dict[str, str] = Field(default_factory=dict)
    active_values: dict[str, bool] = Field(default_factory=dict)
    verify_tls: bool = True

    @field_validator("as_of", "since", mode="before")
    @classmethod
    def _instant(cls, v: Any) -> Any:
        return None if v is None else parse_instant(v)

    def tenant_id(self) -> str:
        """Identity used in event ids: `tenant`, else the url's host, else the name."""
        if self.tenant:
            return self.tenant
        if self.url:
            from urllib.parse import urlparse

            host = urlparse(self.url).hostname
            if host:
                return host
        return self.name


class ServiceAccount(_Strict):
    app: str
    account: str  # glob on the account's user_name
    owner: str


class SodSide(_Strict):
    app: str
    entitlement: str


class SodRule(_Strict):
    name: str
    a: SodSide
    b: SodSide


class TimeBound(_Strict):
    app: str
    entitlement: str
    max_days: int


class AcceptedRisk(_Strict):
    kind: str
    subkind: str | None = None
    app: str | None = None
    account: str | None = None
    entitlement: str | None = None
    person_id: str | None = None
    owner: str
    ticket: str
    expires: datetime

    @field_validator("expires", mode="before")
    @classmethod
    def _instant(cls, v: Any) -> Any:
        return parse_instant(v if isinstance(v, datetime | str) else str(v))


class Policy(_Strict):
    grace_hours: float = 24
    deprovision_sla_hours: float = 24
    dormant_days: int = 90
    mover_days: int = 30
    privilege_window_days: int = 90
    privilege_growth_max: int = 2
    peer_outlier_pct: float = 5
    peer_min_group: int = 10
    privileged: list[str] = Field(default_factory=lambda: ["*admin*", "owner"])
    license_cost: dict[str, float] = Field(default_factory=dict)
    service_accounts: list[ServiceAccount] = Field(default_factory=list)
    sod: list[SodRule] = Field(default_factory=list)
    time_bound: list[TimeBound] = Field(default_factory=list)
    accepted_risks: list[AcceptedRisk] = Field(default_factory=list)
    # The monitoring test: a configured source unsynced longer than this is an exception.
    max_source_silence_hours: float = Field(default=26, gt=0)


class ReportsConfig(_Strict):
    organisation: str = ""  # printed on every cover
    signing_key_file: Path | None = None  # default: generated beside the store


class SinkConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    kind: Literal["elasticsearch", "syslog", "splunk_hec", "ndjson"]
    path: Path | None = None
    url: str | None = None
    format: Literal["ecs", "ocsf", "cef"] = "ecs"
    # Also send every account version as an asset document (ECS only).
    assets: bool = True
    verify_tls: bool = True
    ca_bundle: Path | None = None
    # Elasticsearch: where documents go and how they get there. Secrets only by env var.
    data_stream: str = "logs-scim_evidence.events-default"
    install_template: bool = True
    replicas: int | None = Field(default=None, ge=0)
    api_key_env: str | None = None
    username: str | None = None
    password_env: str | None = None
    batch_docs: int = Field(default=1000, ge=1)
    batch_bytes: int = Field(default=5_000_000, ge=1024)
    retries: int = Field(default=5, ge=0)
    retry_backoff: float = Field(default=0.5, gt=0)
    timeout: float = Field(default=30.0, gt=0)


class Config(_Strict):
    store: StoreConfig = Field(default_factory=StoreConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)
    sinks: list[SinkConfig] = Field(default_factory=list)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    base_dir: Path = Path(".")

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(f"no source named {name!r} in the config")

    def sink(self, name: str) -> SinkConfig:
        for s in self.sinks:
            if s.name == name:
                return s
        raise ConfigError(f"no sink named {name!r} in the config")


def _resolve(base: Path, p: Path | None) -> Path | None:
    if p is None:
        return None
    p = Path(os.path.expanduser(p))
    return p if p.is_absolute() else (base / p)


def load_config(path: Path | None) -> Config:
    """Read and validate a config file; relative paths resolve against the file's folder."""
    if path is None:
        return Config()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    base = Path(path).resolve().parent
    try:
        cfg = Config.model_validate({**data, "base_dir": base})
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise ConfigError(f"{path}: {loc}: {err['msg']}") from None
    names = [s.name for s in cfg.sources]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"{path}: sources: duplicate name {sorted(dup)[0]!r}")
    cfg.store.path = _resolve(base, cfg.store.path) or cfg.store.path
    for s in cfg.sources:
        s.path = _resolve(base, s.path)
    cfg.reports.signing_key_file = _resolve(base, cfg.reports.signing_key_file)
    for k in cfg.sinks:
        k.path = _resolve(base, k.path)
        k.ca_bundle = _resolve(base, k.ca_bundle)
    return cfg
