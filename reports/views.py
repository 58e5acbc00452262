"""What the templates print: one view per test, the sources table, and the words for results.

Views are plain dicts built from query results and the catalog, so the template holds layout
only and every figure in it comes from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from reports.catalog import Column, Test
from reports.population import PopulationTable, Table, rfc3339, row_key

__all__ = [
    "Population",
    "anchor",
    "last_day",
    "param_text",
    "result_text",
    "sources_view",
    "test_view",
]


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
_NAME_WIDTHS = {"app": 9.0, "person_id": 9.0}
_STATUS_MIN = 10.0  # percent of the table


def _widths(columns: list[Column], room: float = 100.0) -> list[str] | None:
    # CSS widths in percent of `room` from the catalog's relative widths, else the defaults.
    if not columns:
        return None
    shares = [
        c.width or _NAME_WIDTHS.get(c.name) or _TYPE_WIDTHS.get(c.type) or 13.0 for c in columns
    ]
    total = sum(shares)
    widths = [room * w / total for w in shares]
    # A status column holds "exception" in bold on one line: 10 % at least, the other columns
    # giving up the difference in proportion.
    short = [i for i, c in enumerate(columns) if c.type == "status" and widths[i] < _STATUS_MIN]
    if short and len(short) < len(columns):
        rest = room - _STATUS_MIN * len(short)
        others = sum(w for i, w in enumerate(widths) if i not in short)
        widths = [_STATUS_MIN if i in short else w * rest / others for i, w in enumerate(widths)]
    return [f"{w:.2f}%" for w in widths]


# Exceptions printed per test, in population order; the population CSV (attached to the PDF)
# holds every one. A test at the enterprise scale has tens of thousands, which no reader
# pages through: the PDF lists the first ones and says where the rest are.
EXCEPTIONS_PRINTED = 100


@dataclass(frozen=True)
class Population:
    """A population test's rows, materialised in DuckDB, and its canonical CSV file."""

    test: Test
    table: PopulationTable
    csv_name: str
    csv_path: Path
    sha256: str  # of the CSV file: the population hash of this test


def _q(name: str) -> str:
    return f'"{name}"'


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _sample(
    con: duckdb.DuckDBPyConnection, pop: Population, key: tuple[str, ...], seed: int, size: int
) -> list[int]:
    """The CSV rows (1-based, in order) `sample_rows` picks, ranked in SQL over the CSV cells."""
    if size >= pop.table.rows:
        return list(range(1, pop.table.rows + 1))
    key_sql = " || '|' || ".join(f"coalesce({_q(k)}, '')" for k in key)
    rows = con.execute(
        f"SELECT _row FROM {pop.table.view} ORDER BY sha256($prefix || {key_sql}), _row LIMIT $n",
        {"prefix": f"{seed}:{pop.sha256}:", "n": size},
    ).fetchall()
    return sorted(r[0] for r in rows)


def test_view(
    con: duckdb.DuckDBPyConnection,
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
    t = pop.table.table
    total = pop.table.rows
    exceptions = con.execute(f"SELECT count(*) FROM {t} WHERE status = 'exception'").fetchall()[0][
        0
    ]
    size = min(test.sampling.size, total)
    chosen = _sample(con, pop, test.key, seed, size)
    sample = _dicts(
        con.execute(
            f"SELECT rowid + 1 AS _row, * FROM {t} "
            "WHERE rowid + 1 IN (SELECT unnest(CAST($rows AS BIGINT[]))) ORDER BY rowid",
            {"rows": chosen},
        )
    )
    printed = [c for c in test.columns if c.print == "always"]
    # Every row of the exceptions table is an exception: its status column would only repeat.
    listed = [c for c in test.columns if c.print != "never" and c.type != "status"]
    # The reason is printed on a line of its own under each exception (the template's
    # rows_table), the other columns share the width.
    reason = next((c for c in listed if c.name == "reason"), None)
    listed = [c for c in listed if c is not reason]
    distinct = []
    for d in test.distinct:
        cols = ", ".join(_q(c) for c in d.columns)
        any_set = " OR ".join(f"{_q(c)} IS NOT NULL" for c in d.columns)
        n = con.execute(
            f"SELECT count(*) FROM (SELECT DISTINCT {cols} FROM {t} WHERE {any_set})"
        ).fetchall()[0][0]
        distinct.append((d.label, n))
    exception_rows = _dicts(
        con.execute(
            f"SELECT * FROM {t} WHERE status = 'exception' ORDER BY rowid LIMIT $n",
            {"n": EXCEPTIONS_PRINTED},
        )
    )
    runs = _runs(con, t, test.print_runs, test.print_runs_by) if test.print_runs else None
    view.update(
        population=total,
        exceptions=exceptions,
        result=result_text(exceptions),
        distinct=distinct,
        sample=sample,
        sample_rows=chosen,
        # Each sampled row's key as the CSV writes it: what the draw ranked.
        sample_keys=[row_key(r, test.key) for r in sample],
        sample_size=len(chosen),
        sample_planned=test.sampling.size,
        sample_exceptions=sum(1 for r in sample if r["status"] == "exception"),
        sampling_text=test.sampling.text,
        seed=seed,
        seed_given=seed_given,
        exception_rows=exception_rows,
        exceptions_cut=max(0, exceptions - len(exception_rows)),
        exception_runs=runs[0] if runs else None,
        exception_runs_cut=runs[1] if runs else 0,
        runs_columns=[c for c in test.columns if c.name in test.print_runs_by],
        population_columns=printed,
        # The sample table's Row column takes 6 % (the template's rows_table).
        population_widths=_widths(printed, 94.0),
        exception_columns=listed,
        exception_widths=_widths(listed),
        exception_reason=reason,
        csv_name=pop.csv_name,
        csv_sha256=pop.sha256,
        sample_name=f"samples/{test.id}.csv",
    )
    return view


def _runs(
    con: duckdb.DuckDBPyConnection, table: str, column: str, by: tuple[str, ...]
) -> tuple[list[dict[str, Any]], int]:
    """Consecutive exception rows (in population order) that agree on the `by` columns, as one
    entry: first and last value of `column`, how many rows, the first row (whose reason is
    printed). At most EXCEPTIONS_PRINTED entries, and how many more there are."""
    same = " AND ".join(f"{_q(b)} IS NOT DISTINCT FROM lag({_q(b)}) OVER w" for b in by) or "true"
    cur = con.execute(
        f"""
        WITH marked AS (
            SELECT rowid AS _i, *,
                   status = 'exception' AND NOT coalesce(
                       lag(status) OVER w = 'exception' AND {same}, false) AS _starts
            FROM {table} WINDOW w AS (ORDER BY rowid)
        ),
        grouped AS (
            SELECT *, sum(CAST(_starts AS INTEGER)) OVER (ORDER BY _i) AS _g
            FROM marked WHERE status = 'exception'
        ),
        runs AS (
            SELECT _g, count(*) AS _rows, arg_max({_q(column)}, _i) AS _last, min(_i) AS _first
            FROM grouped GROUP BY _g
        )
        SELECT r._rows, r._last, count(*) OVER () AS _groups, g.*
        FROM runs r JOIN grouped g ON g._i = r._first
        ORDER BY r._first LIMIT $n
        """,
        {"n": EXCEPTIONS_PRINTED},
    )
    out, groups = [], 0
    for r in _dicts(cur):
        groups = r["_groups"]
        row = {k: v for k, v in r.items() if not k.startswith("_")}
        out.append({"first": row[column], "last_value": r["_last"], "rows": r["_rows"], "row": row})
    return out, max(0, groups - len(out))


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
