"""The global options (`--config`, `--db`, `--wait`), the config they name and its store."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evidence.cli.lazy import lazy_module
from evidence.cli.output import Format
from evidence.errors import ConfigError

if TYPE_CHECKING:  # for annotations only: DuckDB loads with the first command that opens it
    import duckdb

    from evidence.config import Config

__all__ = ["STATE", "FormatOpt", "State", "default_config", "instant"]

db = lazy_module("evidence.store.db")
# The config joins every source kind's settings, so it loads the connectors (httpx, Arrow).
config_module = lazy_module("evidence.config")

FormatOpt = Annotated[Format, typer.Option("--format", help="table, json or csv.")]


@dataclass
class State:
    config_path: Path | None = None
    db: Path | None = None
    wait: float = 30.0
    _cfg: Config | None = None

    def config(self) -> Config:
        """The config, loaded once, with `--db` over its store path."""
        if self._cfg is None:
            self._cfg = config_module.load_config(self.config_path)
            if self.db is not None:
                self._cfg.store.path = self.db
        return self._cfg

    def store(
        self, *, read_only: bool = False
    ) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """The configured store, open for a `with` block (waiting `--wait` s for a lock)."""
        store = self.config().store
        return db.store_session(
            store.path, read_only=read_only, wait=self.wait, memory_limit=store.memory_limit
        )


STATE = State()


def default_config() -> Path | None:
    """$EVIDENCE_CONFIG, else ./evidence.toml when present."""
    env = os.environ.get("EVIDENCE_CONFIG")
    if env:
        return Path(env)
    local = Path("evidence.toml")
    return local if local.exists() else None


def instant(option: str, value: str) -> datetime:
    """An option's RFC 3339 instant (a bare date is 00:00 UTC), or a ConfigError naming it."""
    try:
        return config_module.parse_instant(value)
    except ValueError:
        raise ConfigError(f"{option}: {value!r} is not an RFC 3339 instant or a date") from None
