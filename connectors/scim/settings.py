"""The `[[sources]]` keys of a SCIM 2.0 service provider (kind = "scim")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from connectors.settings import HttpSettings

__all__ = ["ScimSettings"]


class ScimSettings(HttpSettings):
    kind: Literal["scim"]
    page_size: int = Field(default=100, ge=1)  # the `count` asked of each /Users page
