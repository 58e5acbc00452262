"""The `[[sources]]` keys of an HR export (kind = "hris")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from connectors.settings import ColumnSettings

__all__ = ["HrisSettings"]


class HrisSettings(ColumnSettings):
    kind: Literal["hris"]
    # Raw value -> canonical status (active, leave, terminated) / employment type.
    status_values: dict[str, str] = Field(default_factory=dict)
    employment_type_values: dict[str, str] = Field(default_factory=dict)
