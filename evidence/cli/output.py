"""Render rows as a table, JSON or CSV: data to stdout, nothing else there."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from rich.table import Table
from rich.text import Text

from evidence.cli.terminal import cell, console
from evidence.csv_cells import csv_cell, to_jsonable

__all__ = ["Format", "csv_cell", "err", "render_rows", "to_jsonable"]

# Messages, progress and warnings: stdout carries the data and nothing else.
err = console(stderr=True, soft_wrap=True)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _listing_cell(value: Any) -> Any:
    # A listing's instants as its JSON writes them (a naive one without a zone), so its CSV
    # and JSON agree; csv_cell then neutralises the text.
    return csv_cell(to_jsonable(value) if isinstance(value, datetime) else value)


def _table_text(value: Any) -> Any:
    # A table shows lists and objects as the compact JSON its json format would carry.
    value = to_jsonable(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def _csv_line(buf: io.StringIO, cells: Sequence[Any]) -> str:
    # Python 3.11's writer quotes only the characters of its line terminator: written with CRLF
    # it quotes a field holding a bare CR too (as DuckDB's COPY does), which a reader would
    # otherwise take for the end of the row, undoing the neutralising quote of the cell after
    # it. The line then ends with LF, as every CSV of ours does.
    buf.seek(0)
    buf.truncate()
    csv.writer(buf, lineterminator="\r\n").writerow(cells)
    return buf.getvalue()[:-2] + "\n"


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
        json.dump(
            [to_jsonable(d) for d in dicts], out, indent=2, ensure_ascii=False, allow_nan=False
        )
        out.write("\n")
    elif fmt is Format.csv:
        buf = io.StringIO()
        for cells in [columns, *([_listing_cell(d[c]) for c in columns] for d in dicts)]:
            out.write(_csv_line(buf, cells))
    else:
        # Every cell and heading is Text: data never reaches Rich's markup parser.
        table = Table(title=None if title is None else Text(title), show_lines=False)
        for c in columns:
            table.add_column(Text(c), overflow="fold")
        for d in dicts:
            table.add_row(*(cell(_table_text(d[c])) for c in columns))
        console(file=out, width=200 if not out.isatty() else None).print(table)
