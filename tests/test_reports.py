"""The SOC 2 bundle: deprovisioning population, CSVs, manifest and the PDF itself.

Stores are real DuckDB files built with exact rows; the PDF is checked with poppler's
pdftotext, the way an auditor's tooling reads it.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from evidence.config import Policy
from evidence.store.db import open_store
from reports.build import build_report, build_reports
from reports.bundle_names import report_file_name
from reports.catalog import load_query
from reports.catalog_load import frameworks, load_framework, load_test
from reports.context import PARAMETERS
from reports.errors import ReportError
from reports.population import Table, population_hash, run_query, sample_rows
from tests.report_store import Store, eod, ts

START = datetime(2025, 11, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
VERSION = "0.1.0-test"
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


def tenant(store: Store) -> None:
    """Three terminations in the period (late, on time, still active), one before it."""
    s = store
    s.run(1, "workday", "hris", "full", "2025-10-01T00:00:00Z")
    s.run(2, "slack", "scim", "full", "2025-10-01T00:00:00Z")
    s.run(3, "github", "app_export", "full", "2025-10-01T00:00:00Z")
    s.run(4, "okta", "okta", "full", "2025-10-01T00:00:00Z")
    s.run(5, "workday", "hris", "full", "2026-03-02T06:00:00Z")
    s.run(6, "okta", "okta", "delta", "2026-03-04T12:00:00Z")
    s.run(7, "slack", "scim", "full", "2026-03-05T00:00:00Z")
    s.run(8, "workday", "hris", "full", "2026-06-16T06:00:00Z")
    s.run(9, "okta", "okta", "delta", "2026-06-16T06:00:00Z")
    s.run(10, "github", "app_export", "full", "2026-06-17T00:00:00Z")
    s.run(11, "workday", "hris", "full", "2026-09-02T06:00:00Z")
    s.run(12, "slack", "scim", "full", "2026-10-31T12:00:00Z")

    s.person("E1", "Alice Active", "active", run_id=1, valid_from="2025-10-01T00:00:00Z")
    s.person(
        "E2",
        "Bob Late",
        "active",
        run_id=1,
        valid_from="2025-10-01T00:00:00Z",
        valid_to="2026-03-02T06:00:00Z",
    )
    s.person(
        "E2",
        "Bob Late",
        "terminated",
        run_id=5,
        valid_from="2026-03-02T06:00:00Z",
        termination=eod("2026-03-01"),
    )
    s.person(
        "E3",
        "Carol Ontime",
        "active",
        run_id=1,
        valid_from="2025-10-01T00:00:00Z",
        valid_to="2026-06-16T06:00:00Z",
    )
    s.person(
        "E3",
        "Carol Ontime",
        "terminated",
        run_id=8,
        valid_from="2026-06-16T06:00:00Z",
        termination=eod("2026-06-15"),
    )
    s.person(
        "E4",
        "Dave Still",
        "active",
        run_id=1,
        valid_from="2025-10-01T00:00:00Z",
        valid_to="2026-09-02T06:00:00Z",
    )
    s.person(
        "E4",
        "Dave Still",
        "terminated",
        run_id=11,
        valid_from="2026-09-02T06:00:00Z",
        termination=eod("2026-09-01"),
    )
    s.person(
        "E5",
        "Erin Before",
        "terminated",
        run_id=1,
        valid_from="2025-10-01T00:00:00Z",
        termination=eod("2025-06-30"),
    )
    s.person(
        "00u9",
        "Build Bot",
        "active",
        run_id=4,
        valid_from="2025-10-01T00:00:00Z",
        employment_type="idp_only",
        source="idp:okta",
    )

    s.account("slack", "U1", "alice", True, run_id=2, valid_from="2025-10-01T00:00:00Z")
    s.account(
        "slack",
        "U2",
        "bob",
        True,
        run_id=2,
        valid_from="2025-10-01T00:00:00Z",
        valid_to="2026-03-05T00:00:00Z",
    )
    s.account("slack", "U2", "bob", False, run_id=7, valid_from="2026-03-05T00:00:00Z")
    s.account("slack", "U4", "dave", True, run_id=2, valid_from="2025-10-01T00:00:00Z")
    s.account(
        "github",
        "G3",
        "carol-gh",
        True,
        run_id=3,
        valid_from="2025-10-01T00:00:00Z",
        valid_to="2026-06-17T00:00:00Z",
    )
    s.account("github", "G3", "carol-gh", False, run_id=10, valid_from="2026-06-17T00:00:00Z")
    s.account("github", "G9", "svc-deploy", True, run_id=3, valid_from="2025-10-01T00:00:00Z")

    s.owner("slack", "U1", "alice", "E1", "email")
    s.owner("slack", "U2", "bob", "E2", "email")
    s.owner("slack", "U4", "dave", "E4", "email")
    s.owner("github", "G3", "carol-gh", "E3", "login")
    s.owner("github", "G9", "svc-deploy", "E3", "service_account")

    s.event(
        "account.deactivate",
        "2026-03-04T10:00:00Z",
        run_id=6,
        source="okta",
        app="slack",
        account_id="U2",
        person_id="E2",
    )
    s.event(
        "account.deactivate",
        "2026-03-05T00:00:00Z",
        run_id=7,
        source="slack",
        app="slack",
        account_id="U2",
        inferred=True,
    )
    s.event(
        "account.deactivate",
        "2026-06-16T03:00:00Z",
        run_id=9,
        source="okta",
        app="github",
        account_id="G3",
        person_id="E3",
    )

    s.finding(
        "f-dave",
        "orphan",
        "terminated_active",
        "open",
        app="slack",
        account_id="U4",
        person_id="E4",
        first_seen="2026-09-03T06:00:00Z",
    )
    s.finding(
        "f-drift",
        "drift",
        "unassigned_account",
        "resolved",
        app="slack",
        account_id="U1",
        person_id="E1",
        first_seen="2026-01-01T00:00:00Z",
        resolved_at="2026-02-01T00:00:00Z",
    )


EXPECTED_CSV = (
    "person_id,display_name,termination_date,app,account,deactivated_at,latency_hours,"
    "status,reason\n"
    "E2,Bob Late,2026-03-01T23:59:59.999999Z,slack,bob,2026-03-04T10:00:00Z,58.0,exception,"
    '"Removed 58.0 h after the termination (account.deactivate reported by okta), later than '
    'the 24 h SLA."\n'
    "E3,Carol Ontime,2026-06-15T23:59:59.999999Z,github,carol-gh,2026-06-16T03:00:00Z,3.0,ok,"
    '"Removed 3.0 h after the termination (account.deactivate reported by okta), within the '
    '24 h SLA."\n'
    'E4,Dave Still,2026-09-01T23:59:59.999999Z,slack,dave,,,exception,"Still active at the '
    "evidence cut-off 2026-10-31 12:00 UTC, 1428.0 h after the termination, past the 24 h "
    "grace period. Monitoring raised orphan/terminated_active f-dave on 2026-09-03 "
    '(status open)."\n'
)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "evidence.duckdb"
    con = open_store(path)
    tenant(Store(con))
    con.close()
    return path


@pytest.fixture(scope="module")
def built(store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    con = open_store(store_path, read_only=True)
    try:
        yield build_report(
            con, "soc2", START, END, tmp_path_factory.mktemp("out"), tool_version=VERSION
        )
    finally:
        con.close()


def pdftotext(pdf: Path, *, layout: bool = False) -> str:
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + [str(pdf), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def pages(pdf: Path) -> list[str]:
    return pdftotext(pdf).split("\f")


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


def test_file_names(built: Any) -> None:
    assert built.bundle.name == "soc2-2025-11-01-2026-10-31"
    assert built.pdf.name == "soc2-2025-11-01-2026-10-31.pdf"
    assert built.pdf.parent == built.bundle
    assert report_file_name("soc2", START, END) == "soc2-2025-11-01-2026-10-31.pdf"
    assert report_file_name("soc2", START, ts("2026-10-31T12:00:00Z")).endswith("-2026-10-31.pdf")
    tests = [t for t in SOC2_TESTS if t != "access_inventory"]
    assert sorted(built.files) == sorted(
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
        str(p.relative_to(built.bundle)) for p in built.bundle.rglob("*") if p.is_file()
    )
    assert written == sorted(built.files)


def test_population_csv_rows_exactly(built: Any) -> None:
    text = (built.bundle / "populations" / "deprovisioning.csv").read_text("utf-8")
    assert text == EXPECTED_CSV
    dep = built.test("deprovisioning")
    assert (dep.controls, dep.population, dep.exceptions) == (("CC6.2",), 3, 2)
    assert dep.result == "2 exceptions" and dep.sample == 3
    # A population smaller than the sample size is sampled whole.
    assert (built.bundle / "samples" / "deprovisioning.csv").read_text("utf-8") == EXPECTED_CSV


def test_manifest_hashes_match_files(built: Any) -> None:
    manifest = json.loads(built.manifest.read_text("utf-8"))
    out = built.manifest.parent
    assert set(manifest["files"]) == set(built.files) - {"manifest.json"}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    # Reproducible with `sha256sum populations/*.csv | sha256sum` in the bundle.
    listing = "".join(
        f"{manifest['files'][name]}  {name}\n"
        for name in sorted(n for n in manifest["files"] if n.startswith("populations/"))
    ).encode()
    assert manifest["population_hash"] == hashlib.sha256(listing).hexdigest()
    assert manifest["population_hash"] == built.population_hash
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


def test_pdf_text_shows_headings_counts_and_exceptions(built: Any) -> None:
    text = pdftotext(built.pdf)
    flat = " ".join(text.split())
    for heading in (
        "Management summary",
        "Results by control",
        "CC6.1",
        "CC6.2",
        "Deprovisioning of terminated users",
        "Sources used",
        "Appendix: queries",
        "Contents",
    ):
        assert heading in flat
    assert "SOC 2 Type 2 — Logical access evidence" in flat
    assert "Data as of 2026-10-31 12:00:00 UTC" in flat
    assert f"scim-evidence {VERSION}" in flat
    assert built.population_hash in flat
    assert "3 rows (terminations: 3, app accounts: 3)" in flat
    assert "Exceptions (2)" in flat
    assert "2 exceptions" in flat
    assert "deprovisioning.sql" in flat and load_query("deprovisioning.sql").sha256 in flat
    # The frame table is printed once, under the first test; the others refer to it.
    assert flat.count("Source Role Runs in period Full Delta") == 1
    frame = "The frame: every sync run of the sources this population is drawn from"
    assert flat.count(frame) == 8
    assert (
        f"{frame} (hr, idp, app, 4 sources), from completeness_sources.sql: the rows of those "
        "roles in the table printed under test unique_ids, page "
    ) in flat
    assert (
        f"{frame} (hr, idp, app, detect, 4 sources), from completeness_sources.sql: the table "
        "printed under test unique_ids, page "
    ) in flat
    # The exception table names the people and apps.
    section = flat.split("Test performed. For every termination dated within the period")[1]
    exceptions = section.split("Exceptions (2)")[1].split("CC6.3 —")[0]
    assert "E2" in exceptions and "Bob Late" in exceptions and "slack" in exceptions
    assert "E4" in exceptions and "Dave Still" in exceptions
    assert "E3" not in exceptions
    assert "later than the 24 h SLA" in exceptions
    # Each exception's reason is a line of its own under its row, labelled: one per exception.
    assert exceptions.count("Reason: ") == 2
    # The reconciliation numbers its lines: its notes add them up by number ("1 = 2 + 3").
    assert "Line Figure Count Note 1 Terminations in the period" in flat
    # The render time never appears: no day but the data's own is printed.
    manifest = json.loads(built.manifest.read_text("utf-8"))
    shown = {k: v for k, v in manifest.items() if k != "built_at"}
    data_days = set(re.findall(r"\d{4}-\d\d-\d\d", EXPECTED_CSV + json.dumps(shown)))
    # ... or a day of the period (the monitoring test has a row per day, the charts a month).
    period_days = {
        (START + timedelta(days=d)).strftime("%Y-%m-%d") for d in range((END - START).days)
    }
    printed = set(re.findall(r"\d{4}-\d\d-\d\d", flat))
    assert printed <= data_days | period_days
    assert datetime.now(UTC).strftime("%Y-%m-%d") not in printed - data_days
    # The sources are named with their digests.
    assert hashlib.sha256(b"digest-12").hexdigest() in flat
    assert hashlib.sha256(b"chain-12").hexdigest() in flat


def test_pdf_layout_cover_contents_and_running_header(built: Any) -> None:
    page_texts = pages(built.pdf)
    total = len([p for p in page_texts if p.strip()])
    cover = " ".join(page_texts[0].split())
    assert "Page 1 of" not in cover and "Data as of 2026-10-31 12:00:00 UTC" in cover
    contents = " ".join(page_texts[1].split())
    assert "Contents" in contents and f"Page 2 of {total}" in contents
    assert "SOC 2 Type 2 — 2025-11-01 to 2026-10-31" in contents
    # The contents page numbers point at the pages holding the headings.
    summary_page = (
        next(
            i
            for i, p in enumerate(page_texts)
            if p.lstrip().startswith("SOC 2 Type 2") and "\nManagement summary\n" in p
        )
        + 1
    )
    assert f"Management summary {summary_page}" in " ".join(contents.replace(".", " ").split())
    info = subprocess.run(
        ["pdfinfo", str(built.pdf)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC"},
    ).stdout
    assert "Oct 31 12:00:00 2026" in info


def test_pdf_bookmarks_follow_h1_h2(built: Any) -> None:
    xml = subprocess.run(
        ["pdftohtml", "-xml", "-stdout", "-i", "-q", str(built.pdf)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    titles = [html.unescape(t) for t in re.findall(r'<item page="\d+">([^<]*)', xml)]
    assert titles[:5] == [
        "Management summary",
        "Results by control",
        "Inventory at the data cut-off",
        "CC6.1 — Logical access security over protected information assets",
        "Inventory of people, apps and accounts",
    ]
    assert titles.count("Deprovisioning of terminated users") == 1
    # A test cited by two controls: in full under the first, a reference under the second.
    assert titles.count(load_test("monitoring").title) == 2
    cc41 = titles.index("CC4.1 — Ongoing evaluations of internal control")
    assert titles[cc41 + 1] == load_test("monitoring").title
    assert "Sources used" in titles and "Appendix: queries and parameters" in titles


def test_building_twice_is_byte_identical(store_path: Path, built: Any, tmp_path: Path) -> None:
    con = open_store(store_path, read_only=True)
    try:
        again = build_report(con, "soc2", START, END, tmp_path, tool_version=VERSION)
    finally:
        con.close()
    assert again.pdf.read_bytes() == built.pdf.read_bytes()
    assert again.files["populations/deprovisioning.csv"].read_bytes() == (
        built.files["populations/deprovisioning.csv"].read_bytes()
    )
    assert again.seed == built.seed


def test_later_sync_is_shown_as_removal_evidence_not_as_data_as_of(
    store_path: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "later.duckdb"
    shutil.copy(store_path, copy)
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


def test_policy_thresholds_are_parameters(store_path: Path, tmp_path: Path) -> None:
    con = open_store(store_path, read_only=True)
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


def test_a_period_without_data_is_reported_not_refused(store_path: Path, tmp_path: Path) -> None:
    con = open_store(store_path, read_only=True)
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


def test_summary_figures(store_path: Path) -> None:
    con = open_store(store_path, read_only=True)
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
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # deprovisioning.sql, deprovisioning_latency.sql and reconciliation.sql read one judgement:
    # a build of every framework runs deprovisioning_verdicts.sql once and drops its table.
    import reports.prepare as prepare_mod

    for fw in frameworks():
        load_framework(fw)  # its checks on an empty store prepare too, once per process
    ran: list[str] = []
    real = prepare_mod._run_sql
    monkeypatch.setattr(
        prepare_mod,
        "_run_sql",
        lambda con, name, values: (ran.append(name), real(con, name, values)),
    )
    con = open_store(store_path, read_only=True)
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


# --------------------------------------------------------------------------- query branches

T = "2026-05-10"  # the termination date of every case below: the end of that day


def _base(s: Store, *, until: str) -> None:
    s.run(1, "workday", "hris", "full", "2025-10-01T00:00:00Z")
    s.run(2, "app", "scim", "full", "2025-10-01T00:00:00Z")
    s.run(3, "okta", "okta", "delta", "2026-05-11T06:00:00Z")
    s.run(99, "workday", "hris", "full", until)
    s.person(
        "P1",
        "Pat Leaver",
        "terminated",
        run_id=1,
        valid_from="2025-10-01T00:00:00Z",
        termination=eod(T),
    )


def _active_account(s: Store, until: str | None = None, *, owner: str = "email") -> None:
    s.account("app", "A1", "pat", True, run_id=2, valid_from="2025-10-01T00:00:00Z", valid_to=until)
    s.owner("app", "A1", "pat", "P1", owner)


def case_no_account(s: Store) -> None:
    pass


def case_listing_late(s: Store) -> None:
    _active_account(s, "2026-05-13T00:00:00Z")
    s.run(10, "app", "scim", "full", "2026-05-12T06:00:00Z")  # still listed active, +30 h
    s.run(11, "app", "scim", "full", "2026-05-13T00:00:00Z")
    s.account("app", "A1", "pat", False, run_id=11, valid_from="2026-05-13T00:00:00Z")


def case_listing_bounds_within_sla(s: Store) -> None:
    _active_account(s, "2026-05-12T06:00:00Z")
    s.run(10, "app", "scim", "full", "2026-05-11T06:00:00Z")  # last listed active, +6 h
    s.run(11, "app", "scim", "full", "2026-05-12T06:00:00Z")
    s.account("app", "A1", "pat", False, run_id=11, valid_from="2026-05-12T06:00:00Z")


def case_deleted_known_from_events(s: Store) -> None:
    # Gone from the listing, so not a current account: its own events still name the person.
    s.account(
        "app",
        "A1",
        "pat",
        True,
        run_id=2,
        valid_from="2025-10-01T00:00:00Z",
        valid_to="2026-05-11T06:00:00Z",
    )
    s.run(10, "app", "scim", "full", "2026-05-11T06:00:00Z")
    s.event(
        "account.delete",
        "2026-05-10T20:00:00Z",
        run_id=3,
        source="okta",
        app="app",
        account_id="A1",
        person_id="P1",
    )


def case_service_account_only(s: Store) -> None:
    _active_account(s, owner="service_account")


def case_inactive_before(s: Store) -> None:
    _active_account(s, "2026-04-01T00:00:00Z")
    s.run(10, "app", "scim", "full", "2026-04-01T00:00:00Z")
    s.account("app", "A1", "pat", False, run_id=10, valid_from="2026-04-01T00:00:00Z")


def case_never_active(s: Store) -> None:
    s.account("app", "A1", "pat", False, run_id=2, valid_from="2025-10-01T00:00:00Z")
    s.owner("app", "A1", "pat", "P1", "email")


def case_still_active(s: Store) -> None:
    _active_account(s)


def case_rehired(s: Store) -> None:
    _active_account(s)
    s.person(
        "P1",
        "Pat Leaver",
        "active",
        run_id=1,
        valid_from="2025-10-01T00:00:00Z",
        hire="2026-05-11T00:00:00Z",
    )


def case_accepted_risk(s: Store) -> None:
    _active_account(s)
    s.finding(
        "f-pat",
        "orphan",
        "terminated_active",
        "accepted",
        app="app",
        account_id="A1",
        person_id="P1",
        first_seen="2026-05-11T00:00:00Z",
        ticket="SEC-1",
        owner="E1",
        until="2027-03-31T00:00:00Z",
    )


BRANCHES = [
    # (builder, evidence cut-off, SLA hours, expected row, reason fragment)
    (
        case_no_account,
        "2026-10-31T00:00:00Z",
        24,
        (None, "ok", None, None),
        "No app account belonged to this person.",
    ),
    (
        case_listing_late,
        "2026-10-31T00:00:00Z",
        24,
        ("app", "exception", "2026-05-13T00:00:00Z", 48.0),
        "last listed active 30.0 h after the termination and first listed inactive or absent "
        "48.0 h after it, so even the earliest possible removal is later than the 24 h SLA.",
    ),
    (
        case_listing_late,
        "2026-10-31T00:00:00Z",
        72,
        ("app", "ok", "2026-05-13T00:00:00Z", 48.0),
        "the earliest possible removal is within the 72 h SLA.",
    ),
    (
        case_listing_bounds_within_sla,
        "2026-10-31T00:00:00Z",
        24,
        ("app", "ok", "2026-05-12T06:00:00Z", 30.0),
        "last listed active 6.0 h after the termination",
    ),
    (
        case_deleted_known_from_events,
        "2026-10-31T00:00:00Z",
        24,
        ("app", "ok", "2026-05-10T20:00:00Z", -4.0),
        "Removed 4.0 h before the termination (account.delete reported by okta), within the "
        "24 h SLA.",
    ),
    (
        case_service_account_only,
        "2026-10-31T00:00:00Z",
        24,
        (None, "ok", None, None),
        "No app account belonged to this person.",
    ),
    (
        case_inactive_before,
        "2026-10-31T00:00:00Z",
        24,
        ("app", "ok", "2026-04-01T00:00:00Z", -960.0),
        "Access had already ended before the termination, at 2026-04-01 00:00 UTC.",
    ),
    (
        case_never_active,
        "2026-10-31T00:00:00Z",
        24,
        ("app", "ok", None, None),
        "Never observed active",
    ),
    (
        case_still_active,
        "2026-05-11T10:00:00Z",
        24,
        ("app", "ok", None, None),
        "10.0 h after the termination, within the 24 h grace period: removal not yet due.",
    ),
    (
        case_still_active,
        "2026-05-12T10:00:00Z",
        24,
        ("app", "exception", None, None),
        "34.0 h after the termination, past the 24 h grace period.",
    ),
    (
        case_rehired,
        "2026-10-31T00:00:00Z",
        24,
        ("app", "ok", None, None),
        "Still active when the person was rehired on 2026-05-11, 0.0 h after the termination, "
        "within the 24 h grace period.",
    ),
    (
        case_accepted_risk,
        "2026-05-11T10:00:00Z",
        24,
        ("app", "exception", None, None),
        "Monitoring raised orphan/terminated_active f-pat on 2026-05-11 (status accepted, "
        "accepted risk SEC-1 owned by E1 until 2027-03-31).",
    ),
]


@pytest.mark.parametrize(
    ("build", "until", "sla", "expected", "reason"),
    BRANCHES,
    ids=[f"{b[0].__name__[5:]}-sla{b[2]}-{b[1][:10]}" for b in BRANCHES],
)
def test_deprovisioning_branches(
    tmp_path: Path, build: Any, until: str, sla: int, expected: tuple[Any, ...], reason: str
) -> None:
    con = open_store(tmp_path / "s.duckdb")
    try:
        s = Store(con)
        _base(s, until=until)
        build(s)
        table = run_query(
            con,
            load_query("deprovisioning.sql"),
            {
                "period_start": START,
                "period_end": END,
                "as_of": ts(until),
                "evidence_until": ts(until),
                "grace_hours": 24.0,
                "deprovision_sla_hours": float(sla),
            },
        )
    finally:
        con.close()
    rows = table.dicts()
    assert len(rows) == 1, rows
    row = rows[0]
    deactivated = (
        row["deactivated_at"].isoformat().replace("+00:00", "Z") if row["deactivated_at"] else None
    )
    latency = None if row["latency_hours"] is None else round(row["latency_hours"], 1)
    assert (row["app"], row["status"], deactivated, latency) == expected
    assert row["person_id"] == "P1" and row["termination_date"] == eod(T)
    assert reason in row["reason"]


def test_period_bounds_and_idp_only_people(tmp_path: Path) -> None:
    con = open_store(tmp_path / "s.duckdb")
    try:
        s = Store(con)
        s.run(1, "workday", "hris", "full", "2026-11-02T00:00:00Z")
        # The first instant of the period counts; the end is excluded; the last day counts.
        s.person(
            "IN1",
            "First Instant",
            "terminated",
            run_id=1,
            valid_from="2026-11-02T00:00:00Z",
            termination=START,
        )
        s.person(
            "IN2",
            "Last Day",
            "terminated",
            run_id=1,
            valid_from="2026-11-02T00:00:00Z",
            termination=eod("2026-10-31"),
        )
        s.person(
            "OUT1",
            "At End",
            "terminated",
            run_id=1,
            valid_from="2026-11-02T00:00:00Z",
            termination=END,
        )
        s.person(
            "OUT2",
            "Idp Only",
            "terminated",
            run_id=1,
            valid_from="2026-11-02T00:00:00Z",
            termination=eod("2026-05-01"),
            employment_type="idp_only",
            source="idp:okta",
        )
        table = run_query(
            con,
            load_query("deprovisioning.sql"),
            {
                "period_start": START,
                "period_end": END,
                "as_of": ts("2026-11-02T00:00:00Z"),
                "evidence_until": ts("2026-11-02T00:00:00Z"),
                "grace_hours": 24.0,
                "deprovision_sla_hours": 24.0,
            },
        )
    finally:
        con.close()
    assert [r["person_id"] for r in table.dicts()] == ["IN1", "IN2"]


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
    from reports.catalog import Query
    from reports.population import copy_csv, materialise

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
    from reports.catalog import Query
    from reports.population import copy_csv, csv_cell, file_sha256, materialise

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


# --------------------------------------------------------------------------- all frameworks

# The exceptions each test finds on tenant(): the two leavers, the joiner nobody owns, no day
# with a detect run (the fixture has none), and every run (the fixture's digests are made up).
EXPECTED_EXCEPTIONS = {
    "unique_ids": (3, 0),
    "provisioning": (1, 1),
    "deprovisioning": (3, 2),
    "role_changes": (0, 0),
    "privileged_access": (0, 0),
    "segregation_of_duties": (0, 0),
    "monitoring": (365, 365),
    "log_integrity": (8, 8),
}


@pytest.fixture(scope="module")
def all_built(store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    con = open_store(store_path, read_only=True)
    try:
        return build_reports(
            con, frameworks(), START, END, tmp_path_factory.mktemp("all"), tool_version=VERSION
        )
    finally:
        con.close()


def test_report_all_writes_one_bundle_per_framework(all_built: list[Any]) -> None:
    assert [r.bundle.name for r in all_built] == [
        f"{fw}-2025-11-01-2026-10-31" for fw in ("hipaa", "iso27001", "soc2")
    ]
    for r in all_built:
        fw = load_framework(r.framework)
        flat = " ".join(pdftotext(r.pdf).split())
        # Every control id of the catalog, as the standard writes it.
        for req in fw.requirements:
            assert f"{req.id} — {req.gist}" in flat, (r.framework, req.id)
        manifest = json.loads(r.manifest.read_text("utf-8"))
        for t in r.tests:
            if t.kind != "population":
                continue
            assert (t.population, t.exceptions) == EXPECTED_EXCEPTIONS[t.test], t.test
            assert manifest["populations"][t.test]["exceptions"] == t.exceptions
            assert f"Exceptions ({t.exceptions:,})" in flat
        assert {t.test for t in r.tests} == {t.id for t in fw.tests}


def test_a_shared_test_has_the_same_population_and_sample_in_every_framework(
    all_built: list[Any],
) -> None:
    by_fw = {r.framework: r for r in all_built}
    for tid in ("deprovisioning", "monitoring", "unique_ids"):
        pops = {
            fw: (r.bundle / "populations" / f"{tid}.csv").read_bytes() for fw, r in by_fw.items()
        }
        samples = {
            fw: (r.bundle / "samples" / f"{tid}.csv").read_bytes() for fw, r in by_fw.items()
        }
        assert len(set(pops.values())) == 1 and len(set(samples.values())) == 1, tid


def test_every_sampled_row_lies_inside_its_population(all_built: list[Any]) -> None:
    for r in all_built:
        manifest = json.loads(r.manifest.read_text("utf-8"))
        for pop in manifest["populations"].values():
            rows = (r.bundle / pop["file"]).read_text("utf-8").splitlines(keepends=True)
            sample = (r.bundle / pop["sample"]["file"]).read_text("utf-8").splitlines(True)
            assert sample[0] == rows[0]
            assert sample[1:] == [rows[i] for i in pop["sample"]["rows"]]
            assert len(sample) - 1 == min(pop["sample"]["planned"], pop["rows"])
            assert all(1 <= i <= pop["rows"] for i in pop["sample"]["rows"])


def test_every_population_is_attached_to_the_pdf(all_built: list[Any], tmp_path: Path) -> None:
    r = next(b for b in all_built if b.framework == "soc2")
    listing = subprocess.run(
        ["pdfdetach", "-list", str(r.pdf)], check=True, capture_output=True, text=True
    ).stdout
    names = sorted(line.split(": ", 1)[1] for line in listing.splitlines()[1:])
    tests = sorted(t.test for t in r.tests if t.kind == "population")
    assert names == [f"{t}.csv" for t in tests]
    subprocess.run(["pdfdetach", "-saveall", "-o", str(tmp_path), str(r.pdf)], check=True)
    for t in tests:
        assert (tmp_path / f"{t}.csv").read_bytes() == (
            r.bundle / "populations" / f"{t}.csv"
        ).read_bytes()
    # Each embedded file's parameters describe its bytes (filled in after WeasyPrint).
    import pikepdf

    with pikepdf.open(r.pdf) as pdf:
        names = pdf.Root.Names.EmbeddedFiles.Names
        for i in range(0, len(names), 2):
            spec = names[i + 1]
            data = (r.bundle / "populations" / str(spec.UF)).read_bytes()
            assert int(spec.EF.F.Params.Size) == len(data)
            assert bytes(spec.EF.F.Params.CheckSum) == hashlib.md5(data).digest()
            assert spec.AFRelationship == pikepdf.Name.Data


def test_report_cli_writes_every_framework(store_path: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from evidence.cli.main import app

    db = tmp_path / "copy.duckdb"
    shutil.copy(store_path, db)
    (tmp_path / "evidence.toml").write_text(
        f'[store]\npath = "{db.name}"\n[reports]\norganisation = "Example <b>Corp</b> & Co"\n'
    )
    args = ["--config", str(tmp_path / "evidence.toml"), "report", "all"]
    args += ["--from", "2025-11-01", "--to", "2026-10-31", "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    bundles = [Path(line) for line in result.stdout.split()]
    assert [b.name for b in bundles] == [
        f"{fw}-2025-11-01-2026-10-31" for fw in ("hipaa", "iso27001", "soc2")
    ]
    from reports.signing import load_signer

    signer = load_signer(Path(str(db) + ".signing-key.pem"), create=False)
    for b in bundles:
        cover = pages(b / f"{b.name}.pdf")[0]
        flat = " ".join(cover.split())
        # Data is text: the organisation prints as itself.
        assert "Example <b>Corp</b> & Co" in flat
        assert signer.fingerprint in flat
        manifest = json.loads((b / "manifest.json").read_text("utf-8"))
        assert manifest["signer_fingerprint"] == signer.fingerprint
        assert manifest["organisation"] == "Example <b>Corp</b> & Co"
        assert manifest["bundle_id"] in flat
