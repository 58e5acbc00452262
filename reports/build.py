"""Build one framework's evidence bundle for one period, or several frameworks from one store.

A bundle (ARCHITECTURE.md "Reports and bundles") is a directory
`<framework>-<first day>-<last day>/` holding the PDF, `populations/<test id>.csv`,
`samples/<test id>.csv`, `queries/<name>.sql` and `manifest.json`.

Reproducible by construction: every value in the PDF comes from the store and the catalog,
the PDF is dated from the data cut-off, and a test's default sample seed comes from the period
and its population hash. Only `manifest.json` carries the wall-clock build time. Queries are
run once per build, however many controls or frameworks cite them (`QueryCache`).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from evidence.config import Policy, SourceConfig
from reports import summary as summary_mod
from reports.archive import write_zip
from reports.catalog import Framework, Query, Test, load_framework, load_query, with_prepared
from reports.context import install_tables, query_values
from reports.errors import ReportError
from reports.manifest import write_manifest
from reports.oscal import (
    OSCAL_VERSION,
    ControlOutcome,
    TestOutcome,
    assessment_results,
    document_bytes,
)
from reports.pades import PadesSigner, load_pades_signer, sign_pdf
from reports.population import (
    PopulationTable,
    Table,
    copy_csv,
    default_seed,
    file_sha256,
    materialise,
    population_hash,
    rfc3339,
    run_query,
)
from reports.render import render_pdf
from reports.signing import Signer
from reports.verify import MANIFEST, PUBLIC_KEY, SIGNATURE
from reports.views import Population, anchor, last_day, sources_view, test_view

__all__ = [
    "BuildOptions",
    "QueryCache",
    "ReportResult",
    "TestResult",
    "build_report",
    "build_reports",
    "bundle_name",
    "report_file_name",
]

# Above this many sync runs the PDF lists one line per source; manifest.json lists every run.
_RUNS_PRINTED = 200


@dataclass(frozen=True)
class TestResult:
    """The outcome of one test of the catalog."""

    test: str
    controls: tuple[str, ...]
    title: str
    kind: str
    population: int | None
    exceptions: int | None
    sample: int | None
    result: str
    csv: Path | None


@dataclass(frozen=True)
class ReportResult:
    """What a build wrote and the facts an auditor or the CLI reports back."""

    framework: str
    bundle: Path
    bundle_id: str
    pdf: Path
    manifest: Path
    files: dict[str, Path]
    data_as_of: datetime
    evidence_until: datetime
    population_hash: str
    seed: int | None
    tests: tuple[TestResult, ...]
    render_seconds: float
    zip: Path  # the bundle's deterministic zip, beside its folder

    def test(self, test_id: str) -> TestResult:
        return next(t for t in self.tests if t.test == test_id)


@dataclass(frozen=True)
class BuildOptions:
    """What a build takes besides the store, framework, period and folder (the keywords of
    build_report and build_reports)."""

    tool_version: str
    seed: int | None = None
    policy: Policy | None = None
    sources: Sequence[SourceConfig] | None = None
    organisation: str = ""
    signer: Signer | None = None  # signs the manifest and the PDF; None: an unsigned bundle

    @property
    def signer_fingerprint(self) -> str | None:
        return self.signer.fingerprint if self.signer else None


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


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ReportError(f"{name}: a timezone-aware instant is required")
    return value.astimezone(UTC)


def bundle_name(framework: str, period_start: datetime, period_end: datetime) -> str:
    """`<framework>-<first day>-<last day, inclusive>` for the half-open UTC period."""
    start = _utc(period_start, "period_start")
    end = _utc(period_end, "period_end")
    return f"{framework}-{start:%Y-%m-%d}-{last_day(end)}"


def report_file_name(framework: str, period_start: datetime, period_end: datetime) -> str:
    """The PDF's name: the bundle's, with `.pdf`."""
    return bundle_name(framework, period_start, period_end) + ".pdf"


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


def _bundle_id(framework: str, start: datetime, end: datetime, report_hash: str) -> str:
    """A bundle's id, derived from what it is a report of: the same inputs, the same id."""
    text = f"{framework}|{rfc3339(start)}|{rfc3339(end)}|{report_hash}"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return "-".join((digest[:8], digest[8:12], digest[12:16], digest[16:20], digest[20:]))


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
    finishes = [
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
    return [finish() for finish in finishes]


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
) -> Callable[[], ReportResult]:
    """Run the framework's queries and write the bundle's CSV files; return the step that
    renders the PDF and writes the manifest, which reads no population table."""
    fw: Framework = load_framework(framework)
    start, end = _utc(period_start, "period_start"), _utc(period_end, "period_end")
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
    bundle_id = _bundle_id(fw.id, start, end, report_hash)

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

    def finish() -> ReportResult:
        """Render the PDF and write the manifest."""
        pdf_path = bundle / report_file_name(fw.id, start, end)
        began = time.perf_counter()
        attachments = [
            (
                pop.csv_name.split("/", 1)[1],
                pop.csv_path,
                f"Population of test {pop.test.id} ({pop.test.title}), SHA-256 {pop.sha256}",
            )
            for pop in populations.values()
        ]
        signer = options.signer
        # The populations deflated for the PDF's attachments are the zip's entries too.
        with tempfile.TemporaryDirectory(prefix=f".{bundle.name}-", dir=bundle.parent) as tmp:
            parts = render_pdf(
                fw.template,
                context,
                pdf_path,
                created=as_of,
                modified=evidence_until,
                attachments=attachments,
                deflate_into=Path(tmp),
            )
            render_seconds = time.perf_counter() - began
            if signer is not None:
                # Signed as of the data cut-off, so a rebuild signs the same bytes the same way.
                sign_pdf(pdf_path, pdf_signer(signer), signing_time=as_of)
            written = {pdf_path.name: pdf_path, **files}
            written[OSCAL_FILE] = bundle / OSCAL_FILE
            written[OSCAL_FILE].write_bytes(
                _assessment_results(
                    fw, bundle_id, (start, end), (as_of, evidence_until), views, options
                )
            )
            if signer is not None:
                written[PUBLIC_KEY] = bundle / PUBLIC_KEY
                written[PUBLIC_KEY].write_bytes(signer.public_pem)

            manifest_path = bundle / MANIFEST
            write_manifest(
                manifest_path,
                fw=fw,
                bundle_id=bundle_id,
                period=(start, end),
                instants=(data_as_of, evidence_until),
                tool_version=options.tool_version,
                organisation=options.organisation,
                signer_fingerprint=options.signer_fingerprint,
                queries=queries,
                values=values,
                report_hash=report_hash,
                populations=[(p, views[tid]) for tid, p in populations.items()],
                runs=runs,
                files=written,
            )
            sealed = {**written, MANIFEST: manifest_path}
            if signer is not None:
                sealed[SIGNATURE] = bundle / SIGNATURE
                sealed[SIGNATURE].write_bytes(signer.key.sign(manifest_path.read_bytes()))
            zip_path = bundle.parent / f"{bundle.name}.zip"
            write_zip(
                zip_path,
                bundle.name,
                sealed,
                deflated={
                    p.csv_name: parts[p.csv_name.split("/", 1)[1]] for p in populations.values()
                },
                stored={pdf_path.name},
            )
        results = tuple(
            TestResult(
                test=test.id,
                controls=fw.cited_by(test.id),
                title=test.title,
                kind=test.kind,
                population=views[test.id].get("population"),
                exceptions=views[test.id].get("exceptions"),
                sample=views[test.id].get("sample_size"),
                result=views[test.id]["result"],
                csv=written.get(f"populations/{test.id}.csv"),
            )
            for test in fw.tests
        )
        return ReportResult(
            framework=fw.id,
            bundle=bundle,
            bundle_id=bundle_id,
            pdf=pdf_path,
            manifest=manifest_path,
            files=sealed,
            zip=zip_path,
            data_as_of=as_of,
            evidence_until=evidence_until,
            population_hash=report_hash,
            seed=seed,
            tests=results,
            render_seconds=render_seconds,
        )

    return finish


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


OSCAL_FILE = "assessment-results.json"


def _assessment_results(
    fw: Framework,
    bundle_id: str,
    period: tuple[datetime, datetime],
    instants: tuple[datetime, datetime],
    views: dict[str, dict[str, Any]],
    options: BuildOptions,
) -> bytes:
    """The bundle's OSCAL Assessment Results: one observation per test, one finding per
    control (reports/oscal.py), from the figures the PDF prints."""
    tests = [
        TestOutcome(
            test_id=t.id,
            title=t.title,
            procedure=t.procedure,
            kind=t.kind,
            population=views[t.id].get("population"),
            exceptions=views[t.id].get("exceptions"),
            file=views[t.id].get("csv_name"),
            sha256=views[t.id].get("csv_sha256"),
        )
        for t in fw.tests
    ]
    controls = [
        ControlOutcome(control_id=r.id, title=r.gist, tests=tuple(t.id for t in r.tests))
        for r in fw.requirements
    ]
    doc = assessment_results(
        framework_id=fw.id,
        framework_title=fw.title,
        standard=fw.standard,
        bundle_id=bundle_id,
        period_start=period[0],
        period_end=period[1],
        data_as_of=instants[0],
        evidence_until=instants[1],
        tool_version=options.tool_version,
        oscal_version=OSCAL_VERSION,
        controls=controls,
        tests=tests,
    )
    return document_bytes(doc)


_PDF_SIGNERS: dict[tuple[str, str], PadesSigner] = {}


def pdf_signer(signer: Signer) -> PadesSigner:
    """The signer's RSA key and certificate for the PDF's PAdES signature, created beside its
    Ed25519 key on first use (read once per process)."""
    key = (str(signer.path), signer.fingerprint)
    if key not in _PDF_SIGNERS:
        _PDF_SIGNERS[key] = load_pades_signer(signer, create=True)
    return _PDF_SIGNERS[key]


def _breakdown_view(table: Table, test: Test, b: Any) -> dict[str, Any]:
    """A breakdown table of a test, as the template prints it."""
    expected = [c.name for c in b.columns]
    if list(table.columns) != expected:
        raise ReportError(
            f"test {test.id}: {b.query.name} returns columns {list(table.columns)}, "
            f"the catalog lists {expected}"
        )
    return {"breakdown": b, "columns": b.columns, "rows": table.dicts()}
