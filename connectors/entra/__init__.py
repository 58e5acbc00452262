"""Microsoft Entra ID: directory users, groups, service principals and app-role assignments,
and the provisioning logs (Microsoft Graph).

Read from an export folder (`path`) or Graph itself; both map through
`connectors.entra.mapping`, so an export and a live read of the same tenant give the same rows.
"""

from __future__ import annotations

from connectors.entra.export import read_entra_export
from connectors.entra.live import iter_live
from connectors.entra.settings import EntraSettings as Settings
from connectors.settings import single_batch

__all__ = ["KIND", "LOG", "Settings", "iter_live", "read_export"]

KIND = "entra"
LOG = True  # live reads continue the provisioning log from the stored cursor
read_export = single_batch(read_entra_export)
