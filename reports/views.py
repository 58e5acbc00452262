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

from reports.catalog import Column, Test
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


# Relative widths of a column by type when the test gives none: fixed table layout (about
# twice as fast in WeasyPrint as automatic layout) needs a width for every column.
_TYPE_WIDTHS = {"instant": 13.0, "day": 10.0, "hours": 7.0, "count": 7.0, "status": 9.0}
_NAME_WIDTHS = {"reason": 34.0, "app": 9.0, "person_id": 9.0}


def _widths(columns: list[Column]) -> list[str] | None:
    # CSS widths in percent from the catalog's relative widths, else the defaults above.
    if not columns:
        return None
    shares = [
        c.width or _NAME_WIDTHS.get(c.name) or _TYPE_WIDTHS.get(c.type) or 13.0 for c in columns
    ]
    total = sum(shares)
    return [f"{100 * w / total:.2f}%" for w in shares]


# Exceptions printed per test; the population CSV (attached to the PDF) holds every one.
EXCEPTIONS_PRINTED = 1000


def test_view(
    pop: Population | None,
    test: Test,
    values: dict[str, Any],
    seed: int | None,
    seed_given: bool,
) -> dict[str, Any]:
    """Everything the template prints for one test, its sample drawn with `seed`."""
    view: dict[str, Any] = {
        "test": test,
        "kind": test.kind,
        "anchor": f"test-{anchor(test.id)}",
        "parameters": [(p, param_text(values[p])) for p in test.parameters],
    }
    if pop is None:
        view["result"] = "Inventory; no exceptions tested"
        return view
    assert test.sampling is not None and seed is not None
    rows = pop.table.dicts()
    exceptions = [r for r in rows if r["status"] == "exception"]
    size = min(test.sampling.size, len(rows))
    chosen = sample_rows([row_key(r, test.key) for r in rows], seed, pop.sha256, size)
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
        sample=[dict(rows[i], _row=i + 1) for i in chosen],
        sample_rows=[i + 1 for i in chosen],
        sample_size=len(chosen),
        sample_planned=test.sampling.size,
        sample_exceptions=sum(1 for i in chosen if rows[i]["status"] == "exception"),
        sampling_text=test.sampling.text,
        seed=seed,
        seed_given=seed_given,
        exception_rows=exceptions[:EXCEPTIONS_PRINTED],
        exceptions_cut=max(0, len(exceptions) - EXCEPTIONS_PRINTED),
        exception_runs=_runs(rows, test.print_runs, test.print_runs_by)
        if test.print_runs
        else None,
        runs_columns=[c for c in test.columns if c.name in test.print_runs_by],
        population_columns=printed,
        population_widths=_widths(printed),
        exception_columns=listed,
        exception_widths=_widths(listed),
        csv_name=pop.csv_name,
        csv_sha256=pop.sha256,
        sample_name=f"samples/{test.id}.csv",
    )
    return view


def _runs(rows: list[dict[str, Any]], column: str, by: tuple[str, ...]) -> list[dict[str, Any]]:
    """Consecutive exception rows (in population order) that agree on the `by` columns, as one
    entry: first and last value of `column`, how many rows, the `by` values, the first reason."""
    out: list[dict[str, Any]] = []
    last = None
    for i, r in enumerate(rows):
        if r["status"] != "exception":
            continue
        same = last == i - 1 and all(out[-1]["row"][b] == r[b] for b in by)
        if out and same:
            out[-1].update(last_value=r[column], rows=out[-1]["rows"] + 1)
        else:
            out.append({"first": r[column], "last_value": r[column], "rows": 1, "row": r})
        last = i
    return out


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
