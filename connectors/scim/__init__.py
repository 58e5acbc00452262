"""Any SCIM 2.0 service provider: its /Users and /Groups, as an app's accounts and grants.

Read from exported pages (`path`) or the server itself (`url`); a live listing is staged as
pages and read by the same loader as an export, so both give the same rows.
"""

from __future__ import annotations

from connectors.scim.export import read_scim_export
from connectors.scim.live import iter_live
from connectors.scim.settings import ScimSettings as Settings
from connectors.settings import single_batch

__all__ = ["KIND", "LOG", "Settings", "iter_live", "read_export"]

KIND = "scim"
LOG = False  # a listing is a snapshot, not a log
read_export = single_batch(read_scim_export)
