"""Connectors: one package per source kind, and the registry every dispatcher reads.

A kind's package (okta/, entra/, scim/, hris/, app_export/) exposes:
- `KIND`, the `kind = "..."` of its `[[sources]]` tables;
- `Settings`, the pydantic model of those tables (unknown keys refused);
- `LOG`, whether its live reads continue a log from a stored cursor;
- `read_export(source)`, the batches of its export files (`path`), oldest first;
- `iter_live(source, *, cursor, delta_since, known_ids, on_stats)`, the batches of its API,
  each yielded before the next is fetched.

Shared pieces: `connectors.exports` (reading export files), `connectors.http` (the HTTP
layer), `connectors.records` (what a connector returns), `connectors.redact`,
`connectors.settings` (the keys every kind has). `connectors.synthetic` generates tenants.
"""

from __future__ import annotations

from types import ModuleType

from connectors import app_export, entra, hris, okta, scim
from connectors.settings import SourceSettings
from evidence.errors import ConfigError

__all__ = ["KINDS", "SETTINGS", "connector"]

KINDS: dict[str, ModuleType] = {m.KIND: m for m in (okta, entra, scim, hris, app_export)}
# The models evidence.config joins into the `[[sources]]` union, by kind.
SETTINGS: tuple[type[SourceSettings], ...] = tuple(m.Settings for m in KINDS.values())


def connector(source: SourceSettings) -> ModuleType:
    """The package of a source's kind."""
    try:
        return KINDS[source.kind]
    except KeyError:
        raise ConfigError(f"source {source.name!r}: unknown kind {source.kind!r}") from None
