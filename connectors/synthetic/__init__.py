"""Synthetic tenant generator: vendor-native exports with known, injected findings."""

from connectors.synthetic.tenant import TenantInfo, build_tenant, generate_tenant

__all__ = ["generate_tenant", "build_tenant", "TenantInfo"]
