"""Secrets: read from an environment variable or a file (never the config), and remembered so
that every message can be scrubbed of them."""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, quote_plus

from connectors.redact import REDACTED
from connectors.settings import HttpSettings
from evidence.errors import ConfigError

__all__ = ["Secrets", "live_secrets", "read_secret", "secret_value"]


class Secrets:
    """The secret values one client knows, scrubbed from every message it produces."""

    def __init__(self, values: Iterable[str] = ()):
        self._values: set[str] = set()
        for v in values:
            self.add(v)
        _LIVE_SECRETS.add(self)

    def add(self, value: str | None) -> None:
        """Remember a secret value (and its URL-encoded forms) for scrubbing."""
        if value:
            self._values.update({value, quote(value, safe=""), quote_plus(value)})

    def update(self, other: Secrets) -> None:
        """Take over every value another set knows."""
        self._values |= other._values

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def scrub(self, text: str) -> str:
        """The text with every known secret value replaced by [REDACTED]."""
        # Longest first, so a secret containing another is replaced whole.
        for v in sorted(self._values, key=len, reverse=True):
            if v in text:
                text = text.replace(v, REDACTED)
        return text


# Every live Secrets, so the filter on httpx's own logger can scrub values of any client.
_LIVE_SECRETS: weakref.WeakSet[Secrets] = weakref.WeakSet()


def live_secrets() -> list[Secrets]:
    """Every Secrets set still in use (the httpx log filter scrubs with all of them)."""
    return list(_LIVE_SECRETS)


def secret_value(where: str, key: str, env_name: str | None, file_name: str | None) -> str:
    """The secret `key` of `where` (a source or a sink, as messages name it), from the
    environment variable `env_name` (`<key>_env`) or the file `file_name` (`<key>_file`)."""
    if env_name and file_name:
        raise ConfigError(f"{where}: set {key}_env or {key}_file, not both")
    if env_name:
        value = os.environ.get(env_name, "").strip()
        if not value:
            raise ConfigError(f"{where}: environment variable {env_name} ({key}_env) is not set")
        return value
    if not file_name:
        raise ConfigError(f"{where}: set {key}_env or {key}_file")
    path = Path(os.path.expanduser(file_name))
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(f"{where}: {key}_file {path}: file not found") from None
    except OSError as e:
        raise ConfigError(f"{where}: {key}_file {path}: cannot read ({e.strerror})") from None
    if not value:
        raise ConfigError(f"{where}: {key}_file {path}: file is empty")
    return value


def read_secret(source: HttpSettings, key: str, secrets: Secrets | None = None) -> str:
    """A source's secret `key` (token, client_secret), remembered in `secrets` for scrubbing."""
    env_name, file_name = source.secret_ref(key)
    value = secret_value(f"source {source.name}", key, env_name, file_name)
    if secrets is not None:
        secrets.add(value)
    return value
