"""One CSV cell, whoever writes the CSV: the CLI's listings and the report populations.

Text a spreadsheet would run as a formula is neutralised with a leading `'`: a cell starting
with `=`, `+`, `-` or `@` (ARCHITECTURE.md), or with TAB or CR, which spreadsheets skip
before reading the formula behind them (OWASP, CSV injection). Numbers stay numbers, booleans
are `true`/`false`, NULL is an empty field, instants are RFC 3339 UTC, lists and objects are
compact JSON. `reports.population` writes the same cells in SQL for its COPY path; a test
runs hostile strings through both.

Stdlib only: the CLI imports this module for `evidence --help` too.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

__all__ = ["FORMULA_START", "csv_cell", "neutralise", "to_jsonable"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """`text`, with a leading `'` when a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _duration(value: timedelta) -> str:
    # ISO 8601, as DuckDB's INTERVAL reaches Python: days and seconds (a month is 30 days).
    sign, value = ("-", -value) if value < timedelta(0) else ("", value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    secs = f"{seconds}.{value.microseconds:06d}".rstrip("0").rstrip(".")
    clock = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M")) if n)
    if seconds or value.microseconds:
        clock += f"{secs}S"
    days = f"{value.days}D" if value.days else ""
    if not days and not clock:
        return "PT0S"
    return f"{sign}P{days}" + (f"T{clock}" if clock else "")


def to_jsonable(value: Any) -> Any:
    """Any value DuckDB returns as JSON's own types, recursively.

    Instants are RFC 3339 strings (UTC ones with `Z`), dates and times ISO 8601, decimals
    floats, intervals ISO 8601 durations, UUIDs their text, BLOBs base64, NaN and the
    infinities the strings "NaN", "Infinity" and "-Infinity" (JSON has no such numbers), and
    map keys text.
    """
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, timedelta):
        return _duration(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k if isinstance(k, str) else _key(k): to_jsonable(v) for k, v in value.items()}
    return value


def _key(key: Any) -> str:
    # A JSON key is text: a number as JSON writes it, anything else as compact JSON.
    value = to_jsonable(key)
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _instant(value: datetime) -> str:
    # A naive instant is UTC, as everywhere in the store (and as the SQL twin reads it), so the
    # text does not depend on the zone of the machine that writes it.
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return utc.isoformat().replace("+00:00", "Z")


def csv_cell(value: Any) -> str | int | float | Decimal:
    """One CSV cell: numbers as numbers, instants as RFC 3339 UTC, formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return neutralise(to_jsonable(value))
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime):
        return _instant(value)
    if isinstance(value, dict | list):
        return neutralise(json.dumps(to_jsonable(value), separators=(",", ":")))
    # A tuple (a DuckDB ARRAY or ROW) prints as a list, as DuckDB casts an ARRAY to text.
    return neutralise(str(to_jsonable(value)))
