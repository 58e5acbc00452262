"""What the templates print: one view per test, the sources table, and the words for results.

Views are plain dicts built from query results and the catalog, so the template holds layout
only and every figure in it comes from here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reports.catalog import Column, Requirement, Test
from reports.population import Table, rfc3339, row_key, sample_rows

__all__ = [
    "Population",
    "anchor",
    "last_day",
    "param_text",
    "result_text",
    "sources_view",
    "test_view",
]


@dataclass(frozen=True)
class Population:
    """A population test's rows and its canonical CSV bytes."""

    requirement: Requirement
    test: Test
    table: Table
    csv_name: str
    csv_data: bytes

    @property
    def sha256(self) -> str:
        """SHA-256 of the CSV file: the population hash of this test."""
        return hashlib.sha256(self.csv_data).hexdigest()


def anchor(text: str) -> str:
    """An id for links and bookmarks: lower case, runs of other characters as `-`."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def last_day(period_end: datetime) -> str:
    """The inclusive last day of a half-open period: the day of the instant before its end."""
    return (period_end - timedelta(microseconds=1)).strftime("%Y-%m-%d")


def result_text(exceptions: int) -> str:
    """The result line auditors expect: "No exceptions noted" or the number of exceptions."""
    if exceptions == 0:
        return "No exceptions noted"
    return "1 exception" if exceptions == 1 else f"{exceptions:,} exceptions"


def param_text(value: Any) -> str:
    """A query parameter as printed and recorded: instants in RFC 3339, whole hours bare."""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, float) and value.is_integer():
        return f"{int(value)}"
    return str(value)


def _widths(columns: list[Column]) -> list[str] | None:
    # CSS widths in percent from the catalog's relative widths; None means automatic layout.
    if not columns or any(c.width is None for c in columns):
        return None
    total = sum(c.width or 0 for c in columns)
    return [f"{100 * (c.width or 0) / total:.2f}%" for c in columns]


def test_view(
    pop: Population | None,
    req: Requirement,
    test: Test,
    values: dict[str, Any],
    seed: int,
    print_limit: int,
) -> dict[str, Any]:
    """Everything the template prints for one test, the sample drawn with `seed`."""
    view: dict[str, Any] = {
        "requirement": req,
        "test": test,
        "kind": test.kind,
        "anchor": f"test-{anchor(test.id)}",
        "parameters": [(p, param_text(values[p])) for p in test.parameters],
    }
    if pop is None:
        view["result"] = "Inventory; no exceptions tested"
        return view
    rows = pop.table.dicts()
    exceptions = [r for r in rows if r["status"] == "exception"]
    chosen = sample_rows([row_key(r, test.key) for r in rows], seed, pop.sha256, print_limit)
    printed = [c for c in test.columns if c.print == "always"]
    # Every row of the exceptions table is an exception: its status column would only repeat.
    listed = [c for c in test.columns if c.print != "never" and c.type != "status"]
    distinct = []
    for d in test.distinct:
        found = {tuple(r[c] for c in d.columns) for r in rows}
        distinct.append((d.label, len({k for k in found if any(v is not None for v in k)})))
    view.update(
        population=len(rows),
        exceptions=len(exceptions),
        result=result_text(len(exceptions)),
        distinct=distinct,
        rows=[rows[i] for i in chosen],
        sample_rows=[i + 1 for i in chosen] if len(chosen) < len(rows) else None,
        printed=len(chosen),
        sampled=len(chosen) < len(rows),
        exception_rows=exceptions,
        population_columns=printed,
        population_widths=_widths(printed),
        exception_columns=listed,
        exception_widths=_widths(listed),
        csv_name=pop.csv_name,
        csv_sha256=pop.sha256,
    )
    return view


def sources_view(runs: Table) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One line per source (runs read, first and newest), and the digest chain's head."""
    per: dict[str, dict[str, Any]] = {}
    for r in runs.dicts():
        s = per.setdefault(
            r["source"],
            {"source": r["source"], "kind": r["kind"], "runs": 0, "first_as_of": r["as_of"]},
        )
        s["runs"] += 1
        s.update(run_id=r["run_id"], as_of=r["as_of"], digest=r["digest"])
    chained = [r for r in runs.dicts() if r["chain_hash"]]
    head = max(chained, key=lambda r: (r["as_of"], r["run_id"])) if chained else None
    return sorted(per.values(), key=lambda s: s["source"]), head
