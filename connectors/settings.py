"""The settings every `[[sources]]` table shares, and those of the kinds that read an API.

Each source kind's package (connectors/<kind>/) subclasses these with its own keys and a
`kind` literal; evidence.config joins them into one discriminated union. Every model forbids
keys it does not know, so a misspelt key is an error that names the source and the key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.records import SourceBatch
from evidence.errors import ConfigError, InputError

__all__ = [
    "ColumnSettings",
    "HttpSettings",
    "SourceSettings",
    "parse_instant",
    "require_path",
    "single_batch",
]

# Keys that would hold a secret in the config file itself; only `<key>_env`/`<key>_file` may.
_INLINE_SECRETS = ("token", "client_secret", "private_key", "password", "api_key")


def parse_instant(value: str | datetime | date) -> datetime:
    """RFC 3339 instant, or a bare date meaning 00:00 UTC; always timezone-aware UTC.
    ValueError for anything else (a validator's error, reported as the config's)."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):  # a TOML local date
        dt = datetime.combine(value, time())
    elif isinstance(value, str):
        text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        dt = datetime.fromisoformat(text)
    else:
        raise ValueError("expected an RFC 3339 date-time or a date")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


class SourceSettings(BaseModel):
    """One `[[sources]]` table: the keys every kind has."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: str
    path: Path | None = None
    url: str | None = None
    app: str | None = None
    tenant: str | None = None
    as_of: datetime | None = None
    since: datetime | None = None
    timezone: str = "UTC"
    verify_tls: bool = True

    @field_validator("as_of", "since", mode="before")
    @classmethod
    def _instant(cls, v: Any) -> Any:
        return None if v is None else parse_instant(v)

    def tenant_key(self) -> str:
        """Identity used in event ids: `tenant`, else the url's host, else the name."""
        if self.tenant:
            return self.tenant
        host = urlparse(self.url).hostname if self.url else None
        return host or self.name


class ColumnSettings(SourceSettings):
    """A CSV/JSON export whose columns are mapped onto canonical fields (`[sources.columns]`)."""

    columns: dict[str, str] = Field(default_factory=dict)


class HttpSettings(SourceSettings):
    """A source with a live API: credentials by reference, TLS and the request budget."""

    auth: str | None = None
    token_env: str | None = None
    token_file: str | None = None
    client_id: str | None = None
    client_secret_env: str | None = None
    client_secret_file: str | None = None
    private_key_env: str | None = None
    private_key_file: str | None = None
    token_url: str | None = None
    scope: str | None = None  # OAuth scopes, space-separated as RFC 6749 sends them ...
    scopes: list[str] | None = None  # ... or as a list (ARCHITECTURE.md's Okta example)
    ca_bundle: str | None = None
    max_attempts: int | None = Field(default=None, ge=1)  # per request, retries included
    max_requests: int | None = Field(default=None, ge=1)  # per run, retries included

    def secret_ref(self, key: str) -> tuple[str | None, str | None]:
        """(`<key>_env`, `<key>_file`) of a secret this source may name."""
        refs = {
            "token": (self.token_env, self.token_file),
            "client_secret": (self.client_secret_env, self.client_secret_file),
            "private_key": (self.private_key_env, self.private_key_file),
        }
        return refs[key]

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secret(cls, data: Any) -> Any:
        # Checked before the unknown-key check, so the error says what to write instead.
        if isinstance(data, dict):
            for key in _INLINE_SECRETS:
                if data.get(key) is not None:
                    raise ValueError(
                        f"{key} must not be written in the config; "
                        f"set {key}_env (an environment variable) or {key}_file (a file) instead"
                    )
        return data


def require_path(source: SourceSettings) -> Path:
    """The source's export `path`, which must exist (ConfigError when unset)."""
    if source.path is None:
        raise ConfigError(f"source {source.name!r}: no `path` to read exports from")
    if not source.path.exists():
        raise InputError(str(source.path), None, None, "no such file or directory")
    return source.path


def single_batch(
    read: Callable[[Any], SourceBatch],
) -> Callable[[Any], list[SourceBatch]]:
    """A kind's `read_export` when its export is read as one batch: `path` must exist."""

    def read_export(source: SourceSettings) -> list[SourceBatch]:
        require_path(source)
        return [read(source)]

    return read_export
