"""What the mappings share in Python: running a mapping query into `Doc`s, reading a field."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from evidence.siem.sinks.base import Doc
from evidence.sql import run_sql

__all__ = ["json_path", "query_docs"]


def json_path(body: str, path: tuple[str, ...]) -> str | None:
    """The string at `path` in a JSON document, or None (not JSON, or no string there)."""
    try:
        node = json.loads(body)
    except ValueError:
        return None
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, str) else None


def query_docs(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[Doc]:
    """A mapping script's last rows, (id, seq, body) each, as documents."""
    return [Doc(doc_id, seq, body) for doc_id, seq, body in run_sql(con, sql, params)]
