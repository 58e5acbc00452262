"""An Entra ID export folder (Microsoft Graph JSON as the API returns it) -> a SourceBatch."""

from __future__ import annotations

from connectors.entra.directory import entra_snapshots
from connectors.entra.mapping import entra_events, entra_records
from connectors.entra.settings import EntraSettings
from connectors.exports import ExportReader, files_as_of, split_files
from connectors.records import SourceBatch
from evidence.errors import ConfigError, InputError

__all__ = ["read_entra_export"]


def read_entra_export(source: EntraSettings) -> SourceBatch:
    """Parse an Entra ID export folder into IdP snapshots and provisioning events."""
    folder = source.path
    if folder is None:
        raise ConfigError(f"source {source.name!r}: no `path` for the Entra export")
    if not folder.is_dir():
        raise InputError(str(folder), None, None, "an Entra export must be a folder")
    reader = ExportReader(source, entra_records)
    users = reader.records(split_files(folder, "users"))
    deleted = reader.records(split_files(folder, "deletedUsers"))
    groups = reader.records(split_files(folder, "groups"))
    members = reader.per_id(folder / "group_members")
    sps = reader.records(split_files(folder, "servicePrincipals"))
    assigned = reader.records(split_files(folder, "appRoleAssignments"))
    logs = reader.records(split_files(folder, "provisioning"))
    return SourceBatch(
        source=source.name,
        kind=source.kind,
        tenant=source.tenant_key(),
        as_of=files_as_of(source, reader.paths),
        snapshots=entra_snapshots(
            users=users,
            deleted_users=deleted,
            groups=groups,
            members=members,
            service_principals=sps,
            assignments=assigned,
        ),  # fmt: skip
        events=entra_events(logs or []),
        pages=reader.pages,
    )
