"""The `[[sources]]` keys of an app's user-list export (kind = "app_export")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from connectors.settings import ColumnSettings

__all__ = ["AppExportSettings"]


class AppExportSettings(ColumnSettings):
    kind: Literal["app_export"]
    # Raw value of the `active` column -> active or not, beyond the built-in yes/no words.
    active_values: dict[str, bool] = Field(default_factory=dict)
