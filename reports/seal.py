"""The last step of a report build, after the population tables are gone: render the PDF, sign
it, write the OSCAL results and the manifest, sign the manifest, and zip the bundle.

It reads no population table, so a build of several frameworks drops the shared tables
(and their memory) before the first PDF is rendered (reports/build.py).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from reports.archive import write_zip
from reports.bundle_names import report_file_name
from reports.catalog import Framework, Query
from reports.manifest import write_manifest
from reports.oscal import (
    OSCAL_VERSION,
    ControlOutcome,
    TestOutcome,
    assessment_results,
    document_bytes,
)
from reports.pades import PadesSigner, load_pades_signer, sign_pdf
from reports.population import Table
from reports.render import render_pdf
from reports.results import BuildOptions, ReportResult, TestResult
from reports.signing import Signer
from reports.verify import MANIFEST, PUBLIC_KEY, SIGNATURE
from reports.views import Population

__all__ = ["OSCAL_FILE", "PreparedBundle", "pdf_signer", "seal_bundle"]

OSCAL_FILE = "assessment-results.json"


@dataclass(frozen=True)
class PreparedBundle:
    """A bundle whose queries have run and whose CSV and query files are written: what the
    PDF, the OSCAL results and the manifest are made from."""

    fw: Framework
    folder: Path
    period: tuple[datetime, datetime]
    data_as_of: datetime | None
    as_of: datetime
    evidence_until: datetime
    bundle_id: str
    report_hash: str
    options: BuildOptions
    populations: dict[str, Population]
    files: dict[str, Path]
    views: dict[str, dict[str, Any]]
    queries: dict[str, Query]
    values: dict[str, Any]
    runs: Table
    context: dict[str, Any]


def seal_bundle(b: PreparedBundle) -> ReportResult:
    """Render the PDF and write the manifest."""
    fw, bundle, options, views = b.fw, b.folder, b.options, b.views
    start, end = b.period
    pdf_path = bundle / report_file_name(fw.id, start, end)
    began = time.perf_counter()
    attachments = [
        (
            pop.csv_name.split("/", 1)[1],
            pop.csv_path,
            f"Population of test {pop.test.id} ({pop.test.title}), SHA-256 {pop.sha256}",
        )
        for pop in b.populations.values()
    ]
    signer = options.signer
    # The populations deflated for the PDF's attachments are the zip's entries too.
    with tempfile.TemporaryDirectory(prefix=f".{bundle.name}-", dir=bundle.parent) as tmp:
        parts = render_pdf(
            fw.template,
            b.context,
            pdf_path,
            created=b.as_of,
            modified=b.evidence_until,
            attachments=attachments,
            deflate_into=Path(tmp),
        )
        render_seconds = time.perf_counter() - began
        if signer is not None:
            # Signed as of the data cut-off, so a rebuild signs the same bytes the same way.
            sign_pdf(pdf_path, pdf_signer(signer), signing_time=b.as_of)
        written = {pdf_path.name: pdf_path, **b.files}
        written[OSCAL_FILE] = bundle / OSCAL_FILE
        written[OSCAL_FILE].write_bytes(
            _assessment_results(
                fw, b.bundle_id, (start, end), (b.as_of, b.evidence_until), views, options
            )
        )
        if signer is not None:
            written[PUBLIC_KEY] = bundle / PUBLIC_KEY
            written[PUBLIC_KEY].write_bytes(signer.public_pem)

        manifest_path = bundle / MANIFEST
        write_manifest(
            manifest_path,
            fw=fw,
            bundle_id=b.bundle_id,
            period=(start, end),
            instants=(b.data_as_of, b.evidence_until),
            tool_version=options.tool_version,
            organisation=options.organisation,
            signer_fingerprint=options.signer_fingerprint,
            queries=b.queries,
            values=b.values,
            report_hash=b.report_hash,
            populations=[(p, views[tid]) for tid, p in b.populations.items()],
            runs=b.runs,
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
                p.csv_name: parts[p.csv_name.split("/", 1)[1]] for p in b.populations.values()
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
        bundle_id=b.bundle_id,
        pdf=pdf_path,
        manifest=manifest_path,
        files=sealed,
        zip=zip_path,
        data_as_of=b.as_of,
        evidence_until=b.evidence_until,
        population_hash=b.report_hash,
        seed=options.seed,
        tests=results,
        render_seconds=render_seconds,
    )


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
