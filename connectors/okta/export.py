"""An Okta export folder (the API's JSON as listed, ARCHITECTURE.md's layout) -> a SourceBatch."""

from __future__ import annotations

from connectors.exports import ExportReader, files_as_of, split_files
from connectors.okta.mapping import okta_events, okta_records, okta_snapshots
from connectors.okta.settings import OktaSettings
from connectors.records import SourceBatch
from evidence.errors import ConfigError, InputError

__all__ = ["read_okta_export"]


def read_okta_export(source: OktaSettings) -> SourceBatch:
    """Parse an Okta export folder into IdP snapshots and System Log events."""
    folder = source.path
    if folder is None:
        raise ConfigError(f"source {source.name!r}: no `path` for the Okta export")
    if not folder.is_dir():
        raise InputError(str(folder), None, None, "an Okta export must be a folder")
    reader = ExportReader(source, okta_records)
    # Loaded in this order so the page provenance lists files as it always has.
    users = reader.records(split_files(folder, "users"))
    groups = reader.records(split_files(folder, "groups"))
    members = reader.per_id(folder / "group_members")
    apps = reader.records(split_files(folder, "apps"))
    pushes = reader.per_id(folder / "group_push")
    assigned = reader.per_id(folder / "app_users")
    logs = reader.records(split_files(folder, "logs"))
    snapshots = okta_snapshots(
        users=users,
        groups=groups,
        members=members,
        apps=apps,
        pushes=pushes,
        assigned=assigned,
        apps_where=str(folder / "apps.json"),
    )
    return SourceBatch(
        source=source.name,
        kind=source.kind,
        tenant=source.tenant_key(),
        as_of=files_as_of(source, reader.paths),
        snapshots=snapshots,
        events=okta_events(logs or []),
        pages=reader.pages,
    )
