"""HR exports (Workday and the like): CSV or JSON snapshots of the people, no live API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connectors.hris.export import hris_snapshot_files, read_hris
from connectors.hris.settings import HrisSettings as Settings
from connectors.records import SourceBatch
from connectors.settings import require_path
from evidence.errors import ConfigError

__all__ = ["KIND", "LOG", "Settings", "iter_live", "read_export"]

KIND = "hris"
LOG = False  # live reads continue no log


def read_export(source: Settings) -> list[SourceBatch]:
    """A file, or a folder of dated snapshots (one batch each, oldest first)."""
    path = require_path(source)
    if path.is_dir():
        return [read_hris(source, as_of=when, path=p) for p, when in hris_snapshot_files(source)]
    return [read_hris(source)]


def iter_live(source: Settings, **_: Any) -> Iterator[SourceBatch]:
    raise ConfigError(
        f"source {source.name!r}: an HR source reads export files; set `path` to them"
    )
