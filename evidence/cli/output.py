"""Render rows as a table, JSON or CSV: data to stdout, nothing else there."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["Format", "render_rows", "to_jsonable", "csv_cell"]

_FORMULA_START = ("=", "+", "-", "@")


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def to_jsonable(value: Any) -> Any:
    """Instants as RFC 3339 UTC strings; JSON text columns decoded to objects."""
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


def csv_cell(value: Any) -> Any:
    """A CSV cell: numbers stay numbers; text that a spreadsheet would run is neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, dict | list):
        value = json.dumps(to_jsonable(value), separators=(",", ":"), sort_keys=False)
    else:
        value = to_jsonable(value)
        value = str(value)
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _decode_json_columns(rows: list[dict[str, Any]], json_columns: Sequence[str]) -> None:
    for row in rows:
        for c in json_columns:
            if isinstance(row.get(c), str):
                try:
                    row[c] = json.loads(row[c])
                except ValueError:
                    pass


def render_rows(
    columns: list[str],
    rows: list[tuple],
    fmt: Format,
    *,
    json_columns: Sequence[str] = (),
    title: str | None = None,
    out: Any = None,
) -> None:
    """Write `rows` in `fmt` to stdout (or `out`)."""
    out = out or sys.stdout
    dicts = [dict(zip(columns, r, strict=True)) for r in rows]
    _decode_json_columns(dicts, json_columns)
    if fmt is Format.json:
        json.dump([to_jsonable(d) for d in dicts], out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif fmt is Format.csv:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        for d in dicts:
            w.writerow([csv_cell(d[c]) for c in columns])
        out.write(buf.getvalue())
    else:
        table = Table(title=title, show_lines=False)
        for c in columns:
            table.add_column(c, overflow="fold")
        for d in dicts:
            table.add_row(*("" if d[c] is None else str(to_jsonable(d[c])) for c in columns))
        Console(file=out, width=200 if not out.isatty() else None).print(table)
