"""Query results of one report build, by query and parameter values, so that a query shared
by several tests, controls or frameworks runs once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from reports.catalog import Query
from reports.population import (
    PopulationTable,
    Table,
    copy_csv,
    file_sha256,
    materialise,
    run_query,
)

__all__ = ["QueryCache"]

_Key = tuple[str, tuple[tuple[str, str], ...]]


@dataclass
class QueryCache:
    """Query results by (query, parameter values): a query shared by several tests, controls
    or frameworks of one build runs once. Populations stay in DuckDB temp tables, their CSV
    written once (`csv`) and copied into each bundle that holds them."""

    results: dict[_Key, Table] = field(default_factory=dict)
    populations: dict[_Key, tuple[PopulationTable, Path, str]] = field(default_factory=dict)
    prepared: set[tuple[str, str]] = field(default_factory=set)  # steps run (prepare.py)
    runs: int = 0

    @staticmethod
    def _key(query: Query, values: dict[str, Any]) -> _Key:
        return (query.sha256, tuple((p, repr(values.get(p))) for p in query.all_parameters))

    def run(self, con: duckdb.DuckDBPyConnection, query: Query, values: dict[str, Any]) -> Table:
        key = self._key(query, values)
        if key not in self.results:
            self.results[key] = run_query(con, query, values, self.prepared)
            self.runs += 1
        return self.results[key]

    def population(
        self, con: duckdb.DuckDBPyConnection, query: Query, values: dict[str, Any], csv: Path
    ) -> tuple[PopulationTable, Path, str]:
        """The query's population table, its CSV file and the file's SHA-256; the CSV is
        written to `csv` the first time, and the file first written is returned after."""
        key = self._key(query, values)
        if key not in self.populations:
            name = f"_pop_{len(self.populations)}"
            table = materialise(con, query, values, name, self.prepared)
            copy_csv(con, table, csv)
            self.populations[key] = (table, csv, file_sha256(csv))
            self.runs += 1
        return self.populations[key]

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        """Drop the population and prepared tables (before rendering: the memory goes to the
        PDF)."""
        for table, _, _ in self.populations.values():
            con.execute(f"DROP VIEW IF EXISTS {table.view}")
            con.execute(f"DROP TABLE IF EXISTS {table.table}")
        self.populations.clear()
        for name in {n for n, _ in self.prepared if n.endswith(".sql")}:
            con.execute(f"DROP TABLE IF EXISTS _{name[: -len('.sql')]}")
        self.prepared.clear()
