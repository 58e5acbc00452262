"""`evidence.toml`: store, sources, policy and sinks, validated once at load time."""

from __future__ import annotations

import os
import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from connectors import KINDS, SETTINGS
from connectors.settings import SourceSettings, parse_instant
from evidence.errors import ConfigError

__all__ = [
    "Config",
    "SourceConfig",
    "SinkConfig",
    "Policy",
    "ReportsConfig",
    "load_config",
    "parse_instant",
    "source_config",
]

SOURCE_KINDS = tuple(KINDS)
SINK_KINDS = ("elasticsearch", "syslog", "splunk_hec", "ndjson")
# A `[[sources]]` table: the model of its kind (connectors/<kind>/settings.py), chosen by
# `kind`; each refuses keys it does not know.
AnySource = Annotated[Union[SETTINGS], Field(discriminator="kind")]  # noqa: UP007
SourceConfig = SourceSettings  # what code that takes any source annotates
_SOURCE = TypeAdapter(AnySource)


def source_config(**values: Any) -> SourceSettings:
    """One source's settings, validated by the model of its kind (tests, tools); a bad key
    or value is a ConfigError worded as load_config words it (never echoing a value)."""
    try:
        return _SOURCE.validate_python(values)
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError(
            _describe({**err, "loc": ("sources", 0, *err["loc"])}, {"sources": [values]})
        ) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreConfig(_Strict):
    path: Path = Path("evidence.duckdb")
    # DuckDB's buffer limit; beyond it joins and sorts spill to disk. Keeps an enterprise-size
    # detect under 4 GB of RSS on a laptop (DuckDB's own default is 80 % of RAM).
    memory_limit: str = "3GB"


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
    # Mass-removal safeguard: a complete listing closing more of a scope's current rows than
    # this share (per cent) or count is refused (evidence.store.removals).
    max_removal_pct: float = Field(default=20, ge=0, le=100)
    max_removals: int = Field(default=500, ge=0)


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
    sources: list[AnySource] = Field(default_factory=list)
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


def _no_nul_paths(path: Path, cfg: Config) -> None:
    """A path holding NUL cannot name a file (the OS refuses it): refused here, not at use."""
    named = [("store.path", cfg.store.path), ("reports.signing_key_file",
             cfg.reports.signing_key_file)]  # fmt: skip
    named += [(f"source {s.name!r}: path", s.path) for s in cfg.sources]
    named += [(f"sink {k.name!r}: {key}", getattr(k, key)) for k in cfg.sinks
              for key in ("path", "ca_bundle")]  # fmt: skip
    for where, p in named:
        if p is not None and "\x00" in str(p):
            raise ConfigError(f"{path}: {where}: holds a NUL character")


def _describe(err: Any, data: dict[str, Any]) -> str:
    """One validation error in the words of the file: a source by its name, a key by its own."""
    loc = list(err["loc"])
    msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
    msg = msg.removeprefix("Value error, ")
    if err["type"] == "union_tag_invalid":
        msg = f"kind {err['input'].get('kind')!r} is not one of {', '.join(SOURCE_KINDS)}"
    if err["type"] == "union_tag_not_found":
        msg = f"no kind (one of {', '.join(SOURCE_KINDS)})"
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        table = (data.get("sources") or [{}])[loc[1]]
        name = table.get("name") if isinstance(table, dict) else None
        where = f"source {name!r}" if isinstance(name, str) else f"sources[{loc[1]}]"
        # After the index comes the kind's tag (the union member); the key follows it.
        keys = [str(x) for x in loc[3:]] if len(loc) > 2 and loc[2] in KINDS else []
        return f"{where}: {'.'.join(keys)}: {msg}" if keys else f"{where}: {msg}"
    return f"{'.'.join(str(x) for x in loc)}: {msg}"


def _one_line(text: str) -> str:
    """A message as one line: control characters (a newline in a quoted TOML key, say) escaped."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's TOML (UTF-8, a byte order mark allowed); ConfigError for any reading error."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or type(e).__name__}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: not valid UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None


def load_config(path: Path | None) -> Config:
    """Read and validate a config file; relative paths resolve against the file's folder."""
    if path is None:
        return Config()
    try:
        return _load_config(Path(path))
    except ConfigError as e:
        raise ConfigError(_one_line(str(e))) from None


def _load_config(path: Path) -> Config:
    data = _read_toml(path)
    base = Path(path).resolve().parent
    try:
        cfg = Config.model_validate({**data, "base_dir": base})
    except ValidationError as e:
        raise ConfigError(f"{path}: {_describe(e.errors()[0], data)}") from None
    names = [s.name for s in cfg.sources]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"{path}: sources: duplicate name {sorted(dup)[0]!r}")
    _no_nul_paths(path, cfg)
    cfg.store.path = _resolve(base, cfg.store.path) or cfg.store.path
    for s in cfg.sources:
        s.path = _resolve(base, s.path)
        for name in _SOURCE_FILES:
            if isinstance(value := getattr(s, name, None), str):
                setattr(s, name, str(_resolve(base, Path(value))))
    cfg.reports.signing_key_file = _resolve(base, cfg.reports.signing_key_file)
    for k in cfg.sinks:
        k.path = _resolve(base, k.path)
        k.ca_bundle = _resolve(base, k.ca_bundle)
        extra = k.model_extra or {}
        for name, value in extra.items():  # a sink kind's own files: token_file, cert_file, ...
            if name.endswith("_file") and isinstance(value, str):
                extra[name] = str(_resolve(base, Path(value)))
    return cfg


# Files a live source names besides `path`; like every path, relative to the config file.
_SOURCE_FILES = ("token_file", "client_secret_file", "private_key_file", "ca_bundle")
