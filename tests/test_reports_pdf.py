"""The SOC 2 bundle's PDF as an auditor's tooling reads it (poppler's pdftotext): headings,
counts and exceptions, cover, contents, running header and bookmarks.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

from reports.catalog import load_query
from reports.catalog_load import load_test
from tests.pdf_text import pages, pdftotext
from tests.report_tenant import END, EXPECTED_CSV, START, VERSION


def test_pdf_text_shows_headings_counts_and_exceptions(soc2_bundle: Any) -> None:
    text = pdftotext(soc2_bundle.pdf)
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
    assert soc2_bundle.population_hash in flat
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
    manifest = json.loads(soc2_bundle.manifest.read_text("utf-8"))
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


def test_pdf_layout_cover_contents_and_running_header(soc2_bundle: Any) -> None:
    page_texts = pages(soc2_bundle.pdf)
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
        ["pdfinfo", str(soc2_bundle.pdf)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC"},
    ).stdout
    assert "Oct 31 12:00:00 2026" in info


def test_pdf_bookmarks_follow_h1_h2(soc2_bundle: Any) -> None:
    xml = subprocess.run(
        ["pdftohtml", "-xml", "-stdout", "-i", "-q", str(soc2_bundle.pdf)],
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
