"""Build one framework's report for one period: populations as CSV, the PDF, the manifest.

Reproducible by construction: every value in the PDF comes from the store and the catalog,
the PDF is dated from the data cut-off, and the default sample seed comes from the period and
the population hash. Only `manifest.json` carries the wall-clock build time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from evidence.config import Policy
from reports.catalog import Breakdown, Framework, Query, Test, load_framework, load_query
from reports.errors import ReportError
from reports.manifest import write_manifest
from reports.population import (
    Table,
    csv_bytes,
    default_seed,
    population_hash,
    rfc3339,
    run_query,
)
from reports.render import render_pdf
from reports.views import Population, anchor, last_day, sources_view, test_view

__all__ = ["ReportResult", "TestResult", "build_report", "report_file_name"]

# Above this many sync runs the PDF lists one line per source; manifest.json lists every run.
_RUNS_PRINTED = 200


@dataclass(frozen=True)
class TestResult:
    """The outcome of one test of the catalog."""

    requirement: str
    test: str
    title: str
    kind: str
    population: int | None
    exceptions: int | None
    result: str
    csv: Path | None
    sampled: bool


@dataclass(frozen=True)
class ReportResult:
    """What `build_report` wrote and the facts an auditor or the CLI reports back."""

    framework: str
    pdf: Path
    manifest: Path
    files: dict[str, Path]
    data_as_of: datetime
    evidence_until: datetime
    population_hash: str
    seed: int
    tests: tuple[TestResult, ...]
    render_seconds: float


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ReportError(f"{name}: a timezone-aware instant is required")
    return value.astimezone(UTC)


def report_file_name(framework: str, period_start: datetime, period_end: datetime) -> str:
    """`<framework>-<first day>-<last day, inclusive>.pdf` for the half-open UTC period."""
    start = _utc(period_start, "period_start")
    end = _utc(period_end, "period_end")
    return f"{framework}-{start:%Y-%m-%d}-{last_day(end)}.pdf"


def _check_columns(test: Test, table: Table) -> None:
    # The catalog promises columns; a query that drifts from it must fail loudly, not print blanks.
    expected = [c.name for c in test.columns]
    if list(table.columns) != expected:
        raise ReportError(
            f"test {test.id}: {test.query.name} returns columns {list(table.columns)}, "
            f"the catalog lists {expected}"
        )
    bad = {r[table.columns.index("status")] for r in table.rows} - {"ok", "exception"}
    if bad:
        raise ReportError(f"test {test.id}: status {sorted(bad)[0]!r} is not ok or exception")


def _breakdown_view(
    con: duckdb.DuckDBPyConnection, test: Test, b: Breakdown, values: dict[str, Any]
) -> dict[str, Any]:
    """A breakdown table of a test, as the template prints it."""
    table = run_query(con, b.query, values)
    expected = [c.name for c in b.columns]
    if list(table.columns) != expected:
        raise ReportError(
            f"test {test.id}: {b.query.name} returns columns {list(table.columns)}, "
            f"the catalog lists {expected}"
        )
    return {"breakdown": b, "columns": b.columns, "rows": table.dicts()}


def _cutoffs(con: duckdb.DuckDBPyConnection, end: datetime) -> tuple[datetime, datetime]:
    data_as_of, evidence_until = run_query(
        con, load_query("data_cutoff.sql"), {"period_end": end}
    ).rows[0]
    if data_as_of is None:
        raise ReportError(
            f"no completed sync at or before {rfc3339(end)}: nothing to report for this period"
        )
    return data_as_of, evidence_until


def build_report(
    con: duckdb.DuckDBPyConnection,
    framework: str,
    period_start: datetime,
    period_end: datetime,
    out_dir: Path,
    *,
    seed: int | None = None,
    tool_version: str,
    policy: Policy | None = None,
) -> ReportResult:
    """Write `<framework>-<from>-<to>.pdf`, each `<test>-population.csv` and `manifest.json`.

    The period is half-open and in UTC; `policy` supplies the grace period and the
    deprovisioning SLA (defaults of `[policy]` when omitted). Reads the store only.
    """
    fw: Framework = load_framework(framework)
    start, end = _utc(period_start, "period_start"), _utc(period_end, "period_end")
    if end <= start:
        raise ReportError("the period is empty: its end must be after its start")
    policy = policy or Policy()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    data_as_of, evidence_until = _cutoffs(con, end)
    values: dict[str, Any] = {
        "period_start": start,
        "period_end": end,
        "as_of": data_as_of,
        "evidence_until": evidence_until,
        "grace_hours": float(policy.grace_hours),
        "deprovision_sla_hours": float(policy.deprovision_sla_hours),
    }

    summary = run_query(con, fw.summary_query, values)
    populations: dict[str, Population] = {}
    for req, test in fw.tests:
        if test.kind != "population":
            continue
        table = run_query(con, test.query, values)
        _check_columns(test, table)
        name = f"{test.id}-population.csv"
        populations[test.id] = Population(
            req, test, table, name, csv_bytes(table.columns, table.rows)
        )
    sources_query = load_query("sync_sources.sql")
    runs = run_query(con, sources_query, values)

    csv_files: dict[str, Path] = {}
    for pop in populations.values():
        csv_files[pop.csv_name] = out_dir / pop.csv_name
        csv_files[pop.csv_name].write_bytes(pop.csv_data)
    report_hash = population_hash({p.csv_name: p.sha256 for p in populations.values()})
    used_seed = seed if seed is not None else default_seed(start, end, report_hash)

    views = {
        test.id: test_view(populations.get(test.id), req, test, values, used_seed, fw.print_limit)
        for req, test in fw.tests
    }
    for _, test in fw.tests:
        views[test.id]["breakdowns"] = [
            _breakdown_view(con, test, b, values) for b in test.breakdowns
        ]
    queries: dict[str, Query] = {
        **fw.queries,
        "data_cutoff.sql": load_query("data_cutoff.sql"),
        sources_query.name: sources_query,
    }
    per_source, chain_head = sources_view(runs)
    context = {
        "fw": fw,
        "period": {
            "start": start,
            "end": end,
            "first_day": f"{start:%Y-%m-%d}",
            "last_day": last_day(end),
        },
        "data_as_of": data_as_of,
        "evidence_until": evidence_until,
        "tool_version": tool_version,
        "population_hash": report_hash,
        "seed": used_seed,
        "seed_given": seed is not None,
        "summary_rows": summary.dicts(),
        "summary_query": fw.summary_query,
        "requirements": [
            {
                "requirement": req,
                "anchor": f"req-{anchor(req.id)}",
                "tests": [views[t.id] for t in req.tests],
            }
            for req in fw.requirements
        ],
        "sources": per_source,
        "chain_head": chain_head,
        "runs": runs.dicts() if len(runs.rows) <= _RUNS_PRINTED else [],
        "runs_total": len(runs.rows),
        "queries": list(queries.values()),
    }

    pdf_path = out_dir / report_file_name(fw.id, start, end)
    began = time.perf_counter()
    render_pdf(fw.template, context, pdf_path, created=data_as_of, modified=evidence_until)
    render_seconds = time.perf_counter() - began
    files = {pdf_path.name: pdf_path, **csv_files}

    manifest_path = out_dir / "manifest.json"
    write_manifest(
        manifest_path,
        fw=fw,
        period=(start, end),
        instants=(data_as_of, evidence_until),
        tool_version=tool_version,
        queries=queries,
        values=values,
        report_hash=report_hash,
        populations=[(p, views[tid]) for tid, p in populations.items()],
        seed=(used_seed, seed is not None),
        runs=runs,
        files=files,
    )
    results = tuple(
        TestResult(
            requirement=req.id,
            test=test.id,
            title=test.title,
            kind=test.kind,
            population=views[test.id].get("population"),
            exceptions=views[test.id].get("exceptions"),
            result=views[test.id]["result"],
            csv=csv_files.get(f"{test.id}-population.csv"),
            sampled=bool(views[test.id].get("sampled")),
        )
        for req, test in fw.tests
    )
    return ReportResult(
        framework=fw.id,
        pdf=pdf_path,
        manifest=manifest_path,
        files={**files, "manifest.json": manifest_path},
        data_as_of=data_as_of,
        evidence_until=evidence_until,
        population_hash=report_hash,
        seed=used_seed,
        tests=results,
        render_seconds=render_seconds,
    )
