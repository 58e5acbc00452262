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

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["FORMULA_START", "csv_cell", "neutralise", "to_jsonable"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """`text`, with a leading `'` when a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def to_jsonable(value: Any) -> Any:
    """Instants as RFC 3339 strings (UTC ones with `Z`), decimals as floats, recursively."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


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
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime):
        return _instant(value)
    if isinstance(value, dict | list):
        return neutralise(json.dumps(to_jsonable(value), separators=(",", ":")))
    # A tuple (a DuckDB ARRAY or ROW) prints as a list, as DuckDB casts an ARRAY to text.
    return neutralise(str(to_jsonable(value)))
