"""The `[[sources]]` keys of an Okta org (kind = "okta"): export folder or live API."""

from __future__ import annotations

from typing import Literal

from connectors.settings import HttpSettings

__all__ = ["OktaSettings"]


class OktaSettings(HttpSettings):
    kind: Literal["okta"]
    # System Log page size (Okta serves 1..1000) and how many pages one run may read.
    page_limit: int = 1000
    max_pages_per_run: int = 50
