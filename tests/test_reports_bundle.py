"""The SOC 2 bundle built from the SOC 2 tenant (tests/report_tenant.py): the catalog it follows,
its files, population CSV and manifest, and that a build is reproducible and reads its
thresholds, period and cut-offs as parameters.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import reports.prepare as prepare_mod
from evidence.config import Policy
from evidence.store.db import open_store
from reports.build import build_report, build_reports
from reports.bundle_names import report_file_name
from reports.catalog import load_query
from reports.catalog_load import frameworks, load_framework
from reports.context import PARAMETERS
from reports.errors import ReportError
from reports.population import run_query
from tests.builders import Store, ts
from tests.pdf_text import pdftotext
from tests.report_tenant import END, EXPECTED_CSV, START, VERSION

SOC2_TESTS = [
    "access_inventory",
    "unique_ids",
    "provisioning",
    "deprovisioning",
    "role_changes",
    "privileged_access",
    "segregation_of_duties",
    "monitoring",
    "log_integrity",
]
# Every query a SOC 2 build runs: its tests', the summary's KPIs, completeness, cut-offs.
QUERIES_RUN = sorted(
    f"{q}.sql"
    for q in (
        "completeness_sources data_cutoff deprovisioning deprovisioning_latency "
        "deprovisioning_verdicts detect_coverage "
        "kpi_dormant_licences kpi_findings_monthly kpi_orphan_rate log_integrity monitoring "
        "population_summary privileged_access provisioning provisioning_latency reconciliation "
        "role_changes rollforward segregation_of_duties sync_sources unique_ids"
    ).split()
)


# --------------------------------------------------------------------------- catalog


def test_catalog_maps_soc2_requirements_to_existing_queries() -> None:
    fw = load_framework("soc2")
    assert "soc2" in frameworks()
    assert [r.id for r in fw.requirements] == ["CC6.1", "CC6.2", "CC6.3", "CC7.2", "CC4.1"]
    cc62 = fw.requirements[1]
    assert cc62.criterion.startswith("Prior to issuing system credentials")
    assert cc62.criterion.endswith(
        "user system credentials are removed when user access is no longer authorized."
    )
    assert [t.id for t in cc62.tests] == ["provisioning", "deprovisioning"]
    test = cc62.tests[1]
    assert test.query.name == "deprovisioning.sql"
    assert set(test.query.all_parameters) == set(test.parameters) <= set(PARAMETERS)
    assert [c.name for c in test.columns] == [
        "person_id",
        "display_name",
        "termination_date",
        "app",
        "account",
        "deactivated_at",
        "latency_hours",
        "status",
        "reason",
    ]
    assert fw.requirements[0].tests[0].query.name == "population_summary.sql"


def test_unknown_framework_and_query_are_refused() -> None:
    with pytest.raises(ReportError, match="no such file"):
        load_query("missing.sql")
    with pytest.raises(ReportError, match="not a query file"):
        load_query("../build.py")


# --------------------------------------------------------------------------- the built report


def test_file_names(soc2_bundle: Any) -> None:
    assert soc2_bundle.bundle.name == "soc2-2025-11-01-2026-10-31"
    assert soc2_bundle.pdf.name == "soc2-2025-11-01-2026-10-31.pdf"
    assert soc2_bundle.pdf.parent == soc2_bundle.bundle
    assert report_file_name("soc2", START, END) == "soc2-2025-11-01-2026-10-31.pdf"
    assert report_file_name("soc2", START, ts("2026-10-31T12:00:00Z")).endswith("-2026-10-31.pdf")
    tests = [t for t in SOC2_TESTS if t != "access_inventory"]
    assert sorted(soc2_bundle.files) == sorted(
        [
            "assessment-results.json",
            "manifest.json",
            "soc2-2025-11-01-2026-10-31.pdf",
            *(f"populations/{t}.csv" for t in tests),
            *(f"samples/{t}.csv" for t in tests),
            *(f"queries/{q}" for q in QUERIES_RUN),
        ]
    )
    written = sorted(
        str(p.relative_to(soc2_bundle.bundle)) for p in soc2_bundle.bundle.rglob("*") if p.is_file()
    )
    assert written == sorted(soc2_bundle.files)


def test_population_csv_rows_exactly(soc2_bundle: Any) -> None:
    text = (soc2_bundle.bundle / "populations" / "deprovisioning.csv").read_text("utf-8")
    assert text == EXPECTED_CSV
    dep = soc2_bundle.test("deprovisioning")
    assert (dep.controls, dep.population, dep.exceptions) == (("CC6.2",), 3, 2)
    assert dep.result == "2 exceptions" and dep.sample == 3
    # A population smaller than the sample size is sampled whole.
    assert (soc2_bundle.bundle / "samples" / "deprovisioning.csv").read_text(
        "utf-8"
    ) == EXPECTED_CSV


def test_manifest_hashes_match_files(soc2_bundle: Any) -> None:
    manifest = json.loads(soc2_bundle.manifest.read_text("utf-8"))
    out = soc2_bundle.manifest.parent
    assert set(manifest["files"]) == set(soc2_bundle.files) - {"manifest.json"}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    # Reproducible with `sha256sum populations/*.csv | sha256sum` in the bundle.
    listing = "".join(
        f"{manifest['files'][name]}  {name}\n"
        for name in sorted(n for n in manifest["files"] if n.startswith("populations/"))
    ).encode()
    assert manifest["population_hash"] == hashlib.sha256(listing).hexdigest()
    assert manifest["population_hash"] == soc2_bundle.population_hash
    for name, digest in manifest["queries"].items():
        assert load_query(name).sha256 == digest
    assert set(manifest["queries"]) == set(QUERIES_RUN)
    for name in manifest["queries"]:
        assert (out / "queries" / name).read_text("utf-8") == load_query(name).text
    assert manifest["framework"] == "soc2"
    assert manifest["period"] == {
        "start": "2025-11-01T00:00:00Z",
        "end": "2026-11-01T00:00:00Z",
        "last_day": "2026-10-31",
    }
    assert manifest["data_as_of"] == "2026-10-31T12:00:00Z"
    assert manifest["parameters"]["grace_hours"] == "24"
    assert manifest["populations"]["deprovisioning"]["rows"] == 3
    assert manifest["populations"]["deprovisioning"]["exceptions"] == 2
    assert manifest["populations"]["deprovisioning"]["controls"] == ["CC6.2"]
    assert manifest["controls"]["CC7.2"] == ["monitoring", "log_integrity"]
    assert [r["run_id"] for r in manifest["sync_runs"]] == list(range(1, 13))
    assert "built_at" in manifest


def test_building_twice_is_byte_identical(
    soc2_store: Path, soc2_bundle: Any, tmp_path: Path
) -> None:
    con = open_store(soc2_store, read_only=True)
    try:
        again = build_report(con, "soc2", START, END, tmp_path, tool_version=VERSION)
    finally:
        con.close()
    assert again.pdf.read_bytes() == soc2_bundle.pdf.read_bytes()
    assert again.files["populations/deprovisioning.csv"].read_bytes() == (
        soc2_bundle.files["populations/deprovisioning.csv"].read_bytes()
    )
    assert again.seed == soc2_bundle.seed


def test_later_sync_is_shown_as_removal_evidence_not_as_data_as_of(
    soc2_store: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "later.duckdb"
    shutil.copy(soc2_store, copy)
    con = open_store(copy)
    try:
        s = Store(con)
        s.run(13, "slack", "scim", "full", "2026-11-05T00:00:00Z")
        con.execute(
            "UPDATE accounts SET valid_to = $t WHERE account_id = 'U4'",
            {"t": ts("2026-11-05T00:00:00Z")},
        )
        s.account("slack", "U4", "dave", False, run_id=13, valid_from="2026-11-05T00:00:00Z")
        result = build_report(con, "soc2", START, END, tmp_path / "out", tool_version=VERSION)
    finally:
        con.close()
    manifest = json.loads(result.manifest.read_text("utf-8"))
    assert manifest["data_as_of"] == "2026-10-31T12:00:00Z"
    assert manifest["evidence_until"] == "2026-11-05T00:00:00Z"
    rows = list(
        csv.DictReader(
            io.StringIO(result.files["populations/deprovisioning.csv"].read_text("utf-8"))
        )
    )
    dave = next(r for r in rows if r["person_id"] == "E4")
    assert dave["status"] == "exception" and dave["deactivated_at"] == "2026-11-05T00:00:00Z"
    flat = " ".join(pdftotext(result.pdf).split())
    assert "Data as of 2026-10-31 12:00:00 UTC" in flat
    assert "Evidence to 2026-11-05 00:00:00 UTC" in flat


def test_policy_thresholds_are_parameters(soc2_store: Path, tmp_path: Path) -> None:
    con = open_store(soc2_store, read_only=True)
    try:
        result = build_report(
            con,
            "soc2",
            START,
            END,
            tmp_path,
            tool_version=VERSION,
            policy=Policy(deprovision_sla_hours=72),
        )
    finally:
        con.close()
    dep = next(t for t in result.tests if t.test == "deprovisioning")
    assert (dep.population, dep.exceptions, dep.result) == (3, 1, "1 exception")
    manifest = json.loads(result.manifest.read_text("utf-8"))
    assert manifest["parameters"]["deprovision_sla_hours"] == "72"
    population = result.files["populations/deprovisioning.csv"].read_text("utf-8")
    assert "within the 72 h SLA" in population
    flat = " ".join(pdftotext(result.pdf).split())
    assert "Parameter $deprovision_sla_hours 72" in flat


def test_a_period_without_data_is_reported_not_refused(soc2_store: Path, tmp_path: Path) -> None:
    con = open_store(soc2_store, read_only=True)
    try:
        result = build_report(
            con,
            "soc2",
            ts("2024-01-01T00:00:00Z"),
            ts("2025-01-01T00:00:00Z"),
            tmp_path,
            tool_version=VERSION,
        )
        with pytest.raises(ReportError, match="period is empty"):
            build_report(con, "soc2", END, START, tmp_path, tool_version=VERSION)
    finally:
        con.close()
    flat = " ".join(pdftotext(result.pdf).split())
    assert "No sync completed at or before the end of the period (2025-01-01 00:00 UTC)" in flat
    assert "The store holds no detect run" in flat
    manifest = json.loads(result.manifest.read_text("utf-8"))
    assert manifest["data_as_of"] is None
    for tid, pop in manifest["populations"].items():
        # Nothing is read for a period before the first sync, except the monitoring's days
        # (every one an exception: no detect run, no source synced).
        if tid == "monitoring":
            assert (pop["rows"], pop["exceptions"]) == (366, 366)
        else:
            assert pop["rows"] == 0, tid


def test_summary_figures(soc2_store: Path) -> None:
    con = open_store(soc2_store, read_only=True)
    try:
        table = run_query(
            con,
            load_query("population_summary.sql"),
            {"period_start": START, "period_end": END, "as_of": ts("2026-10-31T12:00:00Z")},
        )
    finally:
        con.close()
    assert [(r["figure"], r["value"]) for r in table.dicts()] == [
        ("People (HR and identity provider records)", 6),
        ("Active people", 2),
        ("HR terminations in the period", 3),
        ("Apps with collected user lists", 2),
        ("Accounts", 5),
        ("Active accounts", 3),
        ("Open findings, all kinds", 1),
        ("Open findings: orphan", 1),
    ]


def test_a_build_judges_the_leavers_once_for_three_queries(
    soc2_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # deprovisioning.sql, deprovisioning_latency.sql and reconciliation.sql read one judgement:
    # a build of every framework runs deprovisioning_verdicts.sql once and drops its table.
    for fw in frameworks():
        load_framework(fw)  # its checks on an empty store prepare too, once per process
    ran: list[str] = []
    real = prepare_mod._run_sql
    monkeypatch.setattr(
        prepare_mod,
        "_run_sql",
        lambda con, name, values: (ran.append(name), real(con, name, values)),
    )
    con = open_store(soc2_store, read_only=True)
    try:
        results = build_reports(con, frameworks(), START, END, tmp_path, tool_version=VERSION)
        tables = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name LIKE '\\_%' "
            "ESCAPE '\\'"
        ).fetchall()
        # Without the build's set of steps done, a query prepares again (the store may differ).
        values = {
            "period_start": START,
            "period_end": END,
            "as_of": END,
            "evidence_until": END,
            "grace_hours": 24,
            "deprovision_sla_hours": 24,
        }
        run_query(con, load_query("deprovisioning_latency.sql"), values)
        run_query(con, load_query("deprovisioning_latency.sql"), values)
    finally:
        con.close()
    assert ran == ["deprovisioning_verdicts.sql"] * 3
    assert [t[0] for t in tables if t[0].startswith("_deprovisioning")] == []
    assert [
        (r.test("deprovisioning").population, r.test("deprovisioning").exceptions) for r in results
    ] == [(3, 2)] * 3
