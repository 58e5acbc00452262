"""The `[[sources]]` keys of a Microsoft Entra ID tenant (kind = "entra")."""

from __future__ import annotations

from typing import Literal

from connectors.settings import HttpSettings

__all__ = ["EntraSettings"]


class EntraSettings(HttpSettings):
    kind: Literal["entra"]
    tenant_id: str | None = None  # the directory (tenant) id: token URL and event identity
    graph_url: str | None = None  # another Graph endpoint (national clouds, a stand-in)
    max_pages_per_run: int = 50  # provisioning-log pages one run may read

    def tenant_key(self) -> str:
        """Event-id identity: `tenant`, else the Entra `tenant_id`, else the usual fallback."""
        if self.tenant:
            return self.tenant
        return self.tenant_id or super().tenant_key()
