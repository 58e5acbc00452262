"""Any SCIM 2.0 service provider: its /Users and /Groups, as an app's accounts and grants.

Read from exported pages (`path`) or the server itself (`url`); a live listing is staged as
pages and read by the same loader as an export, so both give the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from connectors.records import SourceBatch
from connectors.scim.export import read_scim_export
from connectors.scim.live import read_scim_live
from connectors.scim.settings import ScimSettings
from connectors.settings import single_batch
from evidence.errors import ConfigError

__all__ = ["KIND", "LOG", "Settings", "iter_live", "read_export"]

KIND = "scim"
LOG = False  # a listing is a snapshot, not a log
Settings = ScimSettings

read_export = single_batch(read_scim_export)


def iter_live(
    source: ScimSettings,
    *,
    delta_since: datetime | None = None,
    known_ids: set[str] | None = None,
    on_stats: Callable[[Any], None] | None = None,
    **_: Any,
) -> Iterator[SourceBatch]:
    if not source.url:
        raise ConfigError(
            f"source {source.name!r}: the live scim connector needs `url`; "
            "or set `path` to the vendor's export files"
        )
    yield read_scim_live(source, delta_since=delta_since, known_ids=known_ids, on_stats=on_stats)
