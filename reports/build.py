"""Build one framework's evidence bundle for one period, or several frameworks from one store.

A bundle (ARCHITECTURE.md "Reports and bundles") is a directory
`<framework>-<first day>-<last day>/` holding the PDF, `populations/<test id>.csv`,
`samples/<test id>.csv`, `queries/<name>.sql` and `manifest.json`.

Reproducible by construction: every value in the PDF comes from the store and the catalog,
the PDF is dated from the data cut-off, and a test's default sample seed comes from the period
and its population hash. Only `manifest.json` carries the wall-clock build time. Queries are
run once per build, however many controls or frameworks cite them (reports/query_cache.py);
the PDF, manifest and zip are written by reports/seal.py once the queries are done.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from evidence.config import Policy, SourceConfig
from reports import summary as summary_mod
from reports.bundle_names import bundle_id as make_bundle_id
from reports.bundle_names import bundle_name, utc_instant
from reports.catalog import Query, Test, load_query, with_prepared
from reports.catalog_load import load_framework
from reports.context import install_tables, query_values
from reports.errors import ReportError
from reports.population import (
    PopulationTable,
    Table,
    copy_csv,
    default_seed,
    population_hash,
    run_query,
)
from reports.query_cache import QueryCache
from reports.results import BuildOptions, ReportResult
from reports.seal import PreparedBundle, seal_bundle
from reports.signing import Signer
from reports.views import Population, anchor, last_day, sources_view, test_view

__all__ = ["build_report", "build_reports"]

# Above this many sync runs the PDF lists one line per source; manifest.json lists every run.
_RUNS_PRINTED = 200


def _check_columns(con: duckdb.DuckDBPyConnection, test: Test, table: PopulationTable) -> None:
    # The catalog promises columns; a query that drifts from it must fail loudly, not print blanks.
    expected = [c.name for c in test.columns]
    if list(table.columns) != expected:
        raise ReportError(
            f"test {test.id}: {test.query.name} returns columns {list(table.columns)}, "
            f"the catalog lists {expected}"
        )
    bad = con.execute(
        f"SELECT DISTINCT coalesce(status, 'NULL') FROM {table.table} "
        "WHERE status IS NULL OR status NOT IN ('ok', 'exception') ORDER BY 1 LIMIT 1"
    ).fetchall()
    if bad:
        raise ReportError(f"test {test.id}: status {bad[0][0]!r} is not ok or exception")


def _cutoffs(con: duckdb.DuckDBPyConnection, end: datetime) -> tuple[datetime | None, datetime]:
    """(data as of, evidence until); data as of is None when no sync completed by `end`."""
    data_as_of, evidence_until = run_query(
        con, load_query("data_cutoff.sql"), {"period_end": end}
    ).rows[0]
    if evidence_until is None:
        raise ReportError("the store holds no completed sync: run `evidence sync` first")
    return data_as_of, evidence_until


def build_reports(
    con: duckdb.DuckDBPyConnection,
    frameworks: Sequence[str],
    period_start: datetime,
    period_end: datetime,
    out_dir: Path,
    *,
    seed: int | None = None,
    tool_version: str,
    policy: Policy | None = None,
    sources: Sequence[SourceConfig] | None = None,
    organisation: str = "",
    signer: Signer | None = None,
) -> list[ReportResult]:
    """One bundle per framework, from one store; shared queries run once."""
    options = BuildOptions(
        tool_version=tool_version,
        seed=seed,
        policy=policy,
        sources=sources,
        organisation=organisation,
        signer=signer,
    )
    cache = QueryCache()
    # Every framework's queries first, while the shared population tables exist; then the
    # tables go and the PDFs are rendered.
    prepared = [
        _prepare_report(
            con,
            fw,
            period_start,
            period_end,
            out_dir,
            options,
            cache,
        )
        for fw in frameworks
    ]
    cache.drop(con)
    return [seal_bundle(p) for p in prepared]


def build_report(
    con: duckdb.DuckDBPyConnection,
    framework: str,
    period_start: datetime,
    period_end: datetime,
    out_dir: Path,
    **options: Any,
) -> ReportResult:
    """Write the bundle `out_dir/<framework>-<from>-<to>/` and return what it holds.

    The period is half-open and in UTC; the keywords are build_reports' (`policy` supplies
    the thresholds and lists, defaults of `[policy]` when omitted; `sources` the configured
    sources, the monitoring test's frame). Reads the store only.
    """
    return build_reports(con, [framework], period_start, period_end, out_dir, **options)[0]


def _prepare_report(
    con: duckdb.DuckDBPyConnection,
    framework: str,
    period_start: datetime,
    period_end: datetime,
    out_dir: Path,
    options: BuildOptions,
    cache: QueryCache,
) -> PreparedBundle:
    """Run the framework's queries and write the bundle's CSV and query files; return what
    seal_bundle needs to render the PDF and write the manifest (no population table)."""
    fw = load_framework(framework)
    start, end = utc_instant(period_start, "period_start"), utc_instant(period_end, "period_end")
    if end <= start:
        raise ReportError("the period is empty: its end must be after its start")
    policy = options.policy or Policy()
    seed, sources = options.seed, options.sources
    bundle = Path(out_dir) / bundle_name(fw.id, start, end)
    if bundle.exists():
        shutil.rmtree(bundle)  # a rebuild replaces the bundle whole, never mixes two builds
    for sub in ("populations", "samples", "queries"):
        (bundle / sub).mkdir(parents=True)

    data_as_of, evidence_until = _cutoffs(con, end)
    # No sync by the period's end: every population is read as of the period's start, so each
    # is empty and the PDF says why instead of failing.
    as_of = data_as_of or start
    install_tables(con, policy, sources)
    values = query_values(
        policy, period_start=start, period_end=end, as_of=as_of, evidence_until=evidence_until
    )

    populations: dict[str, Population] = {}
    files: dict[str, Path] = {}
    for test in fw.tests:
        if test.kind != "population":
            continue
        csv_name = f"populations/{test.id}.csv"
        files[csv_name] = bundle / csv_name
        table, first, sha = cache.population(con, test.query, values, files[csv_name])
        _check_columns(con, test, table)
        if first != files[csv_name]:  # written for an earlier framework of this build
            shutil.copyfile(first, files[csv_name])
        populations[test.id] = Population(test, table, csv_name, files[csv_name], sha)
    report_hash = population_hash({p.csv_name: p.sha256 for p in populations.values()})
    bundle_id = make_bundle_id(fw.id, start, end, report_hash)

    views: dict[str, dict[str, Any]] = {}
    for test in fw.tests:
        pop = populations.get(test.id)
        test_seed = (
            seed if seed is not None else (default_seed(start, end, pop.sha256) if pop else None)
        )
        views[test.id] = test_view(con, pop, test, values, test_seed, seed is not None)
        views[test.id]["controls"] = fw.cited_by(test.id)
        views[test.id].update(frame_ref=None, frame_subset=False)  # see _share_frames
        views[test.id]["breakdowns"] = [
            _breakdown_view(cache.run(con, b.query, values), test, b) for b in test.breakdowns
        ]
    completeness = summary_mod.completeness(con, cache, fw, values)
    summary = summary_mod.management_summary(con, cache, values)

    sources_query = load_query("sync_sources.sql")
    runs = cache.run(con, sources_query, values)
    queries: dict[str, Query] = {
        **fw.queries,
        **with_prepared(summary["queries"]),
        **with_prepared(completeness["queries"]),
        "data_cutoff.sql": load_query("data_cutoff.sql"),
        sources_query.name: sources_query,
    }
    for pop in populations.values():
        sample_name = f"samples/{pop.test.id}.csv"
        files[sample_name] = bundle / sample_name
        copy_csv(con, pop.table, files[sample_name], views[pop.test.id]["sample_rows"])
    for q in queries.values():
        files[f"queries/{q.name}"] = bundle / "queries" / q.name
        files[f"queries/{q.name}"].write_bytes(q.text.encode("utf-8"))

    per_source, chain_head = sources_view(runs)
    # A test cited by several controls is printed in full under the first; the others refer.
    printed: set[str] = set()
    requirements = []
    for req in fw.requirements:
        entries = []
        for cit in req.citations:
            first = cit.test.id not in printed
            printed.add(cit.test.id)
            entries.append(
                {"view": views[cit.test.id], "point_of_focus": cit.point_of_focus, "full": first}
            )
        requirements.append(
            {"requirement": req, "anchor": f"req-{anchor(req.id)}", "tests": entries}
        )
    _share_frames(requirements)
    context = {
        "fw": fw,
        "organisation": options.organisation,
        "bundle_id": bundle_id,
        "signer_fingerprint": options.signer_fingerprint,
        "period": {
            "start": start,
            "end": end,
            "first_day": f"{start:%Y-%m-%d}",
            "last_day": last_day(end),
        },
        "data_as_of": data_as_of,
        "as_of": as_of,
        "evidence_until": evidence_until,
        "tool_version": options.tool_version,
        "population_hash": report_hash,
        "seed": seed,
        "summary": summary,
        "completeness": completeness,
        "requirements": requirements,
        "sources": per_source,
        "chain_head": chain_head,
        "runs": runs.dicts() if len(runs.rows) <= _RUNS_PRINTED else [],
        "runs_total": len(runs.rows),
        "queries": list(queries.values()),
        "parameters": [
            (k, values[k]) for k in sorted({p for q in queries.values() for p in q.parameters})
        ],
        "detect_runs": summary["detect_runs"],
    }

    return PreparedBundle(
        fw=fw,
        folder=bundle,
        period=(start, end),
        data_as_of=data_as_of,
        as_of=as_of,
        evidence_until=evidence_until,
        bundle_id=bundle_id,
        report_hash=report_hash,
        options=options,
        populations=populations,
        files=files,
        views=views,
        queries=queries,
        values=values,
        runs=runs,
        context=context,
    )


def _share_frames(requirements: list[dict[str, Any]]) -> None:
    """Set each printed test's `frame_ref`: the test under which the frame table (the sync runs
    of its sources) is printed when an earlier table covers its source roles (`frame_subset`
    when that table has other roles too), else None (its own table). The same hundred-source
    table, once per test, was a third of the PDF's rows at enterprise scale."""
    printed: list[tuple[set[str], str]] = []
    for req in requirements:
        for entry in req["tests"]:
            view = entry["view"]
            roles = set(view["test"].sources)
            if not entry["full"] or view["kind"] != "population" or not roles:
                continue
            covering = next(((got, tid) for got, tid in printed if roles <= got), None)
            if covering is None:
                printed.append((roles, view["test"].id))
            else:
                view["frame_ref"], view["frame_subset"] = covering[1], roles != covering[0]


def _breakdown_view(table: Table, test: Test, b: Any) -> dict[str, Any]:
    """A breakdown table of a test, as the template prints it."""
    expected = [c.name for c in b.columns]
    if list(table.columns) != expected:
        raise ReportError(
            f"test {test.id}: {b.query.name} returns columns {list(table.columns)}, "
            f"the catalog lists {expected}"
        )
    return {"breakdown": b, "columns": b.columns, "rows": table.dicts()}
