"""Sampling and population files: reproducible samples, CSV order and cells, and a large
population's printed sample.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import duckdb

from evidence.store.db import open_store
from reports.build import build_report
from reports.catalog import Query
from reports.population import (
    Table,
    copy_csv,
    csv_cell,
    file_sha256,
    materialise,
    population_hash,
    sample_rows,
)
from tests.builders import Store, ts
from tests.pdf_text import pdftotext
from tests.report_tenant import END, START, VERSION

# --------------------------------------------------------------------------- sampling


def test_sample_is_reproducible_and_seed_dependent() -> None:
    keys = [f"P{i}|2026-01-01T00:00:00Z||" for i in range(5000)]
    first = sample_rows(keys, 7, "ab" * 32, 2000)
    assert first == sample_rows(keys, 7, "ab" * 32, 2000)
    assert len(first) == 2000 and first == sorted(first) and len(set(first)) == 2000
    assert first != sample_rows(keys, 8, "ab" * 32, 2000)
    assert first != sample_rows(keys, 7, "cd" * 32, 2000)
    assert sample_rows(keys[:10], 7, "ab" * 32, 2000) == list(range(10))
    assert (
        population_hash({"b.csv": "2" * 64, "a.csv": "1" * 64})
        == hashlib.sha256(f"{'1' * 64}  a.csv\n{'2' * 64}  b.csv\n".encode()).hexdigest()
    )


def test_a_population_csv_keeps_the_query_order_without_a_sort(tmp_path: Path) -> None:
    # The CSV of a whole population is copied without ORDER BY (DuckDB keeps a table's order
    # when preserve_insertion_order is on); at 600,000 rows in many parallel row groups the
    # file must still be in the query's order, and is sorted when the setting is off.
    con = duckdb.connect()
    con.execute("SET threads = 2")
    text = (
        "SELECT (i * 7919) % 600000 AS k, 'v' || i AS v, i % 3 = 0 AS b, "
        "TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i) AS t "
        "FROM range(600000) r(i) ORDER BY v"
    )
    pop = materialise(con, Query("o.sql", text, "0" * 64), {}, "_pop_o")
    rows = con.execute(text).fetchall()
    expected = [f"{k},{v},{str(b).lower()},{t:%Y-%m-%dT%H:%M:%SZ}" for k, v, b, t in rows]
    for keep in (True, False):
        con.execute(f"SET preserve_insertion_order = {str(keep).lower()}")
        copy_csv(con, pop, tmp_path / f"o-{keep}.csv")
        lines = (tmp_path / f"o-{keep}.csv").read_text("utf-8").splitlines()
        assert lines[0] == "k,v,b,t" and lines[1:] == expected, keep
    con.close()


def test_csv_cells_are_written_as_csv_cell_writes_them(tmp_path: Path) -> None:
    con = duckdb.connect()
    # The session's zone must not leak into instants.
    con.execute("SET TimeZone = 'Europe/Berlin'")
    text = (
        "SELECT * FROM (VALUES "
        "(1, '=HYPERLINK(1)', -4.0::DOUBLE, NULL::VARCHAR, true, "
        "TIMESTAMPTZ '2026-01-01 01:00:00+01', DATE '2026-01-02', 1.50::DECIMAL(5,2)), "
        "(2, 'a,\"b\"' || chr(10) || 'c', 0.1, '', false, "
        "TIMESTAMPTZ '2026-01-01 00:00:00.000123+00', NULL, -2.00), "
        "(3, '[/] :x: ' || chr(13), 1e-5, '@x', NULL, NULL, NULL, NULL), "
        "(4, '-1', 3.0, '+SUM(A1)', NULL, NULL, NULL, NULL)"
        ") t(n, s, d, e, b, ts, dt, m) ORDER BY n"
    )
    pop = materialise(con, Query("t.sql", text, "0" * 64), {}, "_pop_t")
    assert pop.rows == 4 and pop.columns == ("n", "s", "d", "e", "b", "ts", "dt", "m")
    copy_csv(con, pop, tmp_path / "p.csv")
    data = (tmp_path / "p.csv").read_bytes()
    assert data == (
        b"n,s,d,e,b,ts,dt,m\n"
        b"1,'=HYPERLINK(1),-4.0,,true,2026-01-01T00:00:00Z,2026-01-02,1.50\n"
        b'2,"a,""b""\nc",0.1,"",false,2026-01-01T00:00:00.000123Z,,-2.00\n'
        b'3,"[/] :x: \r",1e-05,\'@x,,,,\n'
        b"4,'-1,3.0,'+SUM(A1),,,,\n"
    )
    assert file_sha256(tmp_path / "p.csv") == hashlib.sha256(data).hexdigest()
    # The text of each cell is the one csv_cell gives the value (the sampling key's text).
    rows = con.execute("SELECT * FROM _pop_t ORDER BY rowid").fetchall()
    cells = con.execute("SELECT * EXCLUDE (_row) FROM _pop_t_csv ORDER BY _row").fetchall()
    for row, got in zip(rows, cells, strict=True):
        assert ["" if v is None else str(csv_cell(v)) for v in row] == [
            "" if c is None else c for c in got
        ]
    copy_csv(con, pop, tmp_path / "s.csv", [4, 2])
    lines = data.decode().split("\n")
    assert (tmp_path / "s.csv").read_bytes().decode() == "\n".join(
        [lines[0], lines[2], lines[3], lines[5], ""]
    )
    assert Table(("a",), [(1,)]).dicts() == [{"a": 1}]


def test_large_population_prints_a_reproducible_sample(tmp_path: Path) -> None:
    con = open_store(tmp_path / "big.duckdb")
    try:
        s = Store(con)
        s.run(1, "workday", "hris", "full", "2026-10-31T00:00:00Z")
        con.execute(
            "INSERT INTO people (source, valid_from, run_id, row_hash, person_id, hire_date, "
            "display_name, employment_type, status, termination_date) "
            "SELECT 'workday', $vf, 1, 'h' || i, printf('E%05d', i), $hire, 'Person ' || i, "
            "'employee', 'terminated', $t0 + to_minutes(i) FROM range(2100) r(i)",
            {
                "vf": ts("2026-10-31T00:00:00Z"),
                "hire": ts("2020-01-01T00:00:00Z"),
                "t0": ts("2026-01-01T00:00:00Z"),
            },
        )
        first = build_report(con, "soc2", START, END, tmp_path / "a", tool_version=VERSION, seed=42)
    finally:
        con.close()
    dep = next(t for t in first.tests if t.test == "deprovisioning")
    assert (dep.population, dep.exceptions, dep.sample) == (2100, 0, 29)
    assert first.seed == 42
    manifest = json.loads(first.manifest.read_text("utf-8"))
    sample = manifest["populations"]["deprovisioning"]["sample"]
    assert sample["size"] == 29 and sample["seed"] == 42 and sample["seed_given"] is True
    assert len(sample["rows"]) == 29 and sample["rows"] == sorted(sample["rows"])
    assert sample["file"] == "samples/deprovisioning.csv"
    # An auditor re-draws the sample from the CSV alone: key columns joined by "|".
    data = first.files["populations/deprovisioning.csv"].read_bytes()
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    keys = [
        "|".join(r[k] for k in ("person_id", "termination_date", "app", "account")) for r in rows
    ]
    redrawn = sample_rows(keys, 42, hashlib.sha256(data).hexdigest(), 29)
    assert [i + 1 for i in redrawn] == sample["rows"]
    assert sample["keys"] == [keys[i] for i in redrawn]  # the selected keys, as the CSV has them
    # samples/<test>.csv holds exactly those rows, in population order.
    lines = data.decode("utf-8").splitlines(keepends=True)
    expected = lines[0] + "".join(lines[i] for i in sample["rows"])
    assert first.files["samples/deprovisioning.csv"].read_text("utf-8") == expected
    flat = " ".join(pdftotext(first.pdf).split())
    assert "Sample (29 of 2,100)" in flat
    assert "Seed 42 (given by the auditor)" in flat
    assert "No exceptions noted" in flat
    # Exactly the sampled rows are printed: a row not in the sample is absent.
    skipped = next(i for i in range(1, 2101) if i not in set(sample["rows"]))
    assert f"E{skipped - 1:05d}" not in flat
    assert f"E{sample['rows'][0] - 1:05d}" in flat
