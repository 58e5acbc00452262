"""An app's own user-list export (CSV or JSON): accounts, role grants and last logins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connectors.app_export.export import read_app_export
from connectors.app_export.settings import AppExportSettings as Settings
from connectors.records import SourceBatch
from connectors.settings import single_batch
from evidence.errors import ConfigError

__all__ = ["KIND", "LOG", "Settings", "iter_live", "read_export"]

KIND = "app_export"
LOG = False
read_export = single_batch(read_app_export)


def iter_live(source: Settings, **_: Any) -> Iterator[SourceBatch]:
    raise ConfigError(
        f"source {source.name!r}: an app export is a file; set `path` to the vendor's export"
    )
