"""Byte-stable JSON and CSV writers: fixed key order, one array element per line, LF endings."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

__all__ = ["write_json", "write_json_lines", "write_csv", "dumps"]


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def write_json(path: Path, obj: Any, *, items: str | None = None) -> None:
    """A JSON array one element per line; a dict pretty-printed, except its `items` array,
    which is written one element per line (SCIM `Resources`)."""
    if isinstance(obj, list):
        body = ",\n".join(dumps(x) for x in obj)
        _write(path, f"[\n{body}\n]\n" if obj else "[]\n")
        return
    if items is None:
        _write(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
        return
    head = ",\n".join(f"  {dumps(k)}: {dumps(v)}" for k, v in obj.items() if k != items)
    rows = ",\n".join(f"    {dumps(x)}" for x in obj[items])
    arr = f"[\n{rows}\n  ]" if obj[items] else "[]"
    _write(path, f"{{\n{head},\n  {dumps(items)}: {arr}\n}}\n")


def write_json_lines(path: Path, rows: list[str]) -> None:
    """A JSON array from elements already serialised with `dumps`."""
    body = ",\n".join(rows)
    _write(path, f"[\n{body}\n]\n" if rows else "[]\n")


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    w.writerows(rows)
    _write(path, buf.getvalue())
