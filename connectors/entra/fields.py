"""Reading Graph field values the same way in directory listings and provisioning records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.exports import parse_instant_field
from evidence.errors import InputError

__all__ = ["blank", "instant", "required"]


def required(rec: dict[str, Any], file: str, i: int, field: str) -> str:
    value = rec.get(field)
    if value is None or value == "":
        raise InputError(file, f"[{i}]", field, f"{field} is missing")
    return str(value)


def instant(value: Any, file: str, i: int, field: str) -> datetime | None:
    return parse_instant_field(value, file, f"[{i}]", field)


def blank(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
