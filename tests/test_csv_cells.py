"""One CSV cell rule for every writer: the CLI's listings, the Python cells of a population and
the SQL twin its COPY path writes, run over the same hostile strings."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from evidence.cli.output import Format, render_rows
from evidence.csv_cells import csv_cell
from reports.catalog import Query
from reports.population import copy_csv, materialise

# (text, cell): every formula start of ARCHITECTURE.md plus TAB and CR is neutralised; text
# that only contains one further in, or starts with a look-alike, is left as it is.
HOSTILE = [
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=cmd|' /C calc'!A0", "'\t=cmd|' /C calc'!A0"),
    ("\r=1", "'\r=1"),
    ("\r\n@x", "'\r\n@x"),
    ("=", "'="),
    ("\n=1", "\n=1"),
    (" =1", " =1"),
    ("a=b", "a=b"),
    ("'=1", "'=1"),
    ("\uff1d1", "\uff1d1"),  # FULLWIDTH EQUALS SIGN: not a formula start
    ("\u00e9=1", "\u00e9=1"),
    ("\U0001f600@", "\U0001f600@"),
    ("ok", "ok"),
]


@pytest.mark.parametrize(("text", "cell"), HOSTILE)
def test_csv_cell_neutralises_formula_starts(text: str, cell: str) -> None:
    assert csv_cell(text) == cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (-3, -3),
        (-2.5, -2.5),
        (Decimal("-1.50"), Decimal("-1.50")),
        (datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), "2026-01-01T00:00:00Z"),
        (datetime(2026, 1, 1, 0, 0, 0, 123, tzinfo=UTC), "2026-01-01T00:00:00.000123Z"),
        (datetime(2026, 1, 1), "2026-01-01T00:00:00Z"),
        (date(2026, 1, 2), "2026-01-02"),
        ({"a": "-x"}, '{"a":"-x"}'),
        (["=1"], '["=1"]'),
        ((1, 2), "[1, 2]"),
    ],
)
def test_csv_cell_keeps_numbers_and_writes_instants_in_utc(value: Any, cell: Any) -> None:
    assert csv_cell(value) == cell


def test_python_and_sql_cells_are_identical(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE hostile (n INTEGER, s VARCHAR)")
    con.executemany("INSERT INTO hostile VALUES (?, ?)", list(enumerate(t for t, _ in HOSTILE)))
    query = Query("hostile.sql", "SELECT n, s FROM hostile ORDER BY n", "0" * 64)
    pop = materialise(con, query, {}, "_pop_hostile")
    sql_cells = [
        r[0] for r in con.execute("SELECT s FROM _pop_hostile_csv ORDER BY _row").fetchall()
    ]
    assert sql_cells == [csv_cell(t) for t, _ in HOSTILE] == [c for _, c in HOSTILE]
    # The whole files agree too: the COPY path's and the CLI's listing of the same rows.
    copy_csv(con, pop, tmp_path / "p.csv")
    listing = io.StringIO()
    render_rows(["n", "s"], [(n, t) for n, (t, _) in enumerate(HOSTILE)], Format.csv, out=listing)
    assert (tmp_path / "p.csv").read_bytes().decode("utf-8") == listing.getvalue()
    rows = list(csv.reader(io.StringIO(listing.getvalue())))
    assert [r[1] for r in rows[1:]] == [c for _, c in HOSTILE]
    con.close()
