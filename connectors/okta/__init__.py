"""Okta: the org's users, groups, apps and assignments, and its System Log.

Read from an export folder (`path`) or the Management API (`url`); both map through
`connectors.okta.mapping`, so an export and a live read of the same org give the same rows.
"""

from __future__ import annotations

from connectors.okta.export import read_okta_export
from connectors.okta.live import iter_live
from connectors.okta.settings import OktaSettings as Settings
from connectors.settings import single_batch

__all__ = ["KIND", "LOG", "Settings", "iter_live", "read_export"]

KIND = "okta"
LOG = True  # live reads continue the System Log from the stored cursor
read_export = single_batch(read_okta_export)
