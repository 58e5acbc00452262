"""scim-evidence: audit and compliance evidence for SaaS user provisioning."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scim-evidence")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
