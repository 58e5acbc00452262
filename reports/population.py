"""Running evidence queries, writing their populations as CSV, hashing and sampling them.

The CSV file is the canonical population: its SHA-256 is the population hash an auditor
recomputes with `sha256sum`, and the sample is drawn from it with a rule anyone can re-run
(see `sample_rows`).

A population stays in DuckDB: `materialise` runs the test's query into a temp table (rows in
the query's order, `rowid` + 1 being the CSV row number), and the CSV, the counts, the sample
and the printed exceptions are read from it in SQL, so a population of millions of accounts
never becomes Python objects. DuckDB's COPY writes the CSV from a view that formats each cell
as `evidence.csv_cells.csv_cell` does: instants in RFC 3339 UTC (microseconds only when there
are any), booleans as true/false, numbers as numbers, NULL as an empty field, and text with a
formula start neutralised by a leading `'`. A field holding a comma, a quote, CR or LF is
quoted, and an empty string is written `""`, told apart from a missing value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from evidence.csv_cells import FORMULA_START, csv_cell
from reports.catalog import Query
from reports.errors import ReportError
from reports.prepare import prepare, run_into

__all__ = [
    "Table",
    "PopulationTable",
    "copy_csv",
    "file_sha256",
    "csv_cell",
    "default_seed",
    "materialise",
    "population_hash",
    "rfc3339",
    "row_key",
    "run_query",
    "sample_rows",
]


@dataclass(frozen=True)
class Table:
    """A query's result: column names and rows, in the query's order."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by column name."""
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


def run_query(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    values: dict[str, Any],
    prepared: set[tuple[str, str]] | None = None,
) -> Table:
    """Run `query` with the values of the $names it uses (DuckDB refuses extra ones), after
    its preparation steps (those not in `prepared`, a build's set of steps done)."""
    missing = [p for p in query.parameters if p not in values]
    if missing:
        raise ReportError(f"query {query.name}: no value for ${missing[0]}")
    params = {p: values[p] for p in query.parameters}
    prepare(con, query.prepares, values, prepared)
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


@dataclass(frozen=True)
class PopulationTable:
    """A population materialised in DuckDB: the table with the query's columns in population
    order, the view of its CSV cells (with `_row`, the CSV row number), and its size."""

    table: str
    view: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: int


_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")
_PLAIN = ("DATE", "DOUBLE", *_INTEGERS, *("U" + t for t in _INTEGERS))
# The code points of csv_cells.FORMULA_START, the one rule: ascii() reads a text's first code
# point without cutting the string.
_FORMULA_CODES = tuple(ord(c) for c in FORMULA_START)


def _cell_sql(name: str, type_: str) -> str:
    """The SQL of one CSV cell: the text `csv_cell` writes for the same value."""
    col = f'"{name}"'
    t = type_.upper()
    if t.startswith("TIMESTAMP"):
        utc = f"timezone('UTC', {col})" if t == "TIMESTAMP WITH TIME ZONE" else col
        return (
            f"CASE WHEN microsecond({utc}) % 1000000 = 0 "
            f"THEN strftime({utc}, '%Y-%m-%dT%H:%M:%SZ') "
            f"ELSE strftime({utc}, '%Y-%m-%dT%H:%M:%S.%fZ') END"
        )
    if t == "BOOLEAN":
        return f"CASE WHEN {col} THEN 'true' WHEN NOT {col} THEN 'false' END"
    if t == "FLOAT":  # a float32 prints as Python prints the double it widens to
        return f"CAST(CAST({col} AS DOUBLE) AS VARCHAR)"
    if t in _PLAIN or t.startswith("DECIMAL"):
        return f"CAST({col} AS VARCHAR)"
    text = f"CAST({col} AS VARCHAR)"
    # Equalities, not IN or list_contains: DuckDB plans those over a constant list as a join,
    # and a join loses the row order the population's CSV is copied in.
    formula = " OR ".join(f"ascii({text}) = {c}" for c in _FORMULA_CODES)
    return f"CASE WHEN {formula} THEN '''' || {text} ELSE {text} END"


def materialise(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    values: dict[str, Any],
    name: str,
    prepared: set[tuple[str, str]] | None = None,
) -> PopulationTable:
    """Run `query` into the temp table `name` (rows in the query's order), with the view
    `<name>_csv` of its CSV cells; return both and the row count."""
    prepare(con, query.prepares, values, prepared)
    run_into(con, query, values, name)
    described = con.execute(f"DESCRIBE {name}").fetchall()
    columns = tuple(r[0] for r in described)
    types = tuple(r[1] for r in described)
    cells = ", ".join(f'{_cell_sql(c, t)} AS "{c}"' for c, t in zip(columns, types, strict=True))
    view = f"{name}_csv"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT rowid + 1 AS _row, {cells} FROM {name}"
    )
    rows = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
    return PopulationTable(name, view, columns, types, int(rows))


def copy_csv(
    con: duckdb.DuckDBPyConnection,
    pop: PopulationTable,
    path: Path,
    rows: Sequence[int] | None = None,
) -> None:
    """Write the population's CSV, or only its given (1-based) rows, to `path` in row order:
    one header line, LF line ends, UTF-8."""
    cols = ", ".join(f'"{c}"' for c in pop.columns)
    # A COPY of a projection of one table keeps the table's order (DuckDB's documented order
    # preservation, with preserve_insertion_order on, its default): the whole population needs
    # no sort, which costs seconds at millions of rows. A sample is selected through a join,
    # which does not keep it, so it is sorted (a few rows).
    where, params = "", {}
    if rows is not None:
        where = "WHERE _row IN (SELECT unnest(CAST($rows AS BIGINT[]))) ORDER BY _row"
        params = {"rows": rows}
    elif not con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]:
        where = "ORDER BY _row"
    target = str(path).replace("'", "''")
    con.execute(
        f"COPY (SELECT {cols} FROM {pop.view} {where}) TO '{target}' "
        "(FORMAT csv, HEADER, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NEW_LINE '\\n')",
        params,
    )


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB pieces."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


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
