"""Running evidence queries, writing their populations as CSV, hashing and sampling them.

The CSV file is the canonical population: its SHA-256 is the population hash an auditor
recomputes with `sha256sum`, and the sample is drawn from it with a rule anyone can re-run
(see `sample_rows`).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from reports.catalog import Query
from reports.errors import ReportError
from reports.prepare import prepare

__all__ = [
    "Table",
    "csv_bytes",
    "csv_cell",
    "default_seed",
    "population_hash",
    "rfc3339",
    "row_key",
    "run_query",
    "sample_rows",
]

# Cells a spreadsheet would run as a formula (ARCHITECTURE.md: CSV output is neutralised).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    """A query's result: column names and rows, in the query's order."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by column name."""
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


def run_query(con: duckdb.DuckDBPyConnection, query: Query, values: dict[str, Any]) -> Table:
    """Run `query` with the values of the $names it uses (DuckDB refuses extra ones)."""
    missing = [p for p in query.parameters if p not in values]
    if missing:
        raise ReportError(f"query {query.name}: no value for ${missing[0]}")
    params = {p: values[p] for p in query.parameters}
    prepare(con, query.prepares, values)
    try:
        cur = con.execute(query.text, params)
        columns = tuple(d[0] for d in cur.description)
        rows = cur.fetchall()
    except duckdb.Error as e:
        first = str(e).splitlines()[0]
        raise ReportError(f"query {query.name} failed: {first}") from e
    return Table(columns, rows)


def rfc3339(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, microseconds only when there are any."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def csv_cell(value: Any) -> str | int | float:
    """One CSV cell: instants as RFC 3339 UTC, numbers as numbers, formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """The canonical CSV of a population: one header line, `\\n` line ends, UTF-8."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def population_hash(files: dict[str, str]) -> str:
    """The report's population hash: sha256 of `sha256sum` output over its population files.

    `files` maps file name to its sha256; lines are in file-name order, so
    `sha256sum *-population.csv | sha256sum` in the report folder reproduces it.
    """
    lines = "".join(f"{files[name]}  {name}\n" for name in sorted(files))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def default_seed(period_start: datetime, period_end: datetime, report_hash: str) -> int:
    """The sample seed when the auditor gives none: from the period and the population hash."""
    text = f"{rfc3339(period_start)}|{rfc3339(period_end)}|{report_hash}"
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16)


def sample_rows(keys: Sequence[str], seed: int, population_sha256: str, size: int) -> list[int]:
    """Indexes (0-based, in population order) of a reproducible sample of `size` rows.

    Each row is ranked by sha256("<seed>:<population sha256>:<row key>"), ties by position,
    and the `size` lowest are taken: the same seed and population always give the same rows,
    without depending on any language's random number generator.
    """
    if size >= len(keys):
        return list(range(len(keys)))

    def rank(i: int) -> tuple[str, int]:
        text = f"{seed}:{population_sha256}:{keys[i]}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest(), i

    return sorted(sorted(range(len(keys)), key=rank)[:size])


def row_key(row: dict[str, Any], key: Sequence[str]) -> str:
    """A row's sampling key: its key columns as written in the CSV, joined by `|`."""
    return "|".join(str(csv_cell(row[k])) for k in key)
