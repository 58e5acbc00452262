"""The management summary's KPI queries and charts.

The queries run on real DuckDB stores built with exact rows (tests/builders.py) and are
checked row by row, boundaries included. The charts are checked as an auditor's tooling would
meet them: the SVG parses as XML, is byte-identical across calls, processes and time zones,
carries data as literal text, and renders in a WeasyPrint PDF whose text pdftotext reads.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import weasyprint

from evidence.config import Policy
from evidence.store.db import open_store
from evidence.store.schema import migrate
from reports.catalog import load_query
from reports.charts.dormant import dormant_chart
from reports.charts.drawing import KIND_COLOURS
from reports.charts.findings import findings_monthly_chart
from reports.charts.latency import latency_chart, provision_chart
from reports.charts.orphan_rate import orphan_rate_chart
from reports.context import PARAMETERS, install_tables, query_values
from reports.population import Table, run_query
from reports.render import FONT_DIR
from tests.builders import Store, report_query, ts

ROOT = Path(__file__).resolve().parents[1]
SVG_NS = "{http://www.w3.org/2000/svg}"
LAST_JAN = ts("2026-01-31T23:59:59.999999Z")
LAST_FEB = ts("2026-02-28T23:59:59.999999Z")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    con = open_store(tmp_path / "evidence.duckdb")
    try:
        yield Store(con)
    finally:
        con.close()


def kpi(
    store: Store,
    name: str,
    *,
    start: str,
    end: str,
    as_of: str,
    evidence_until: str,
    policy: Policy | None = None,
) -> Table:
    return report_query(
        store.con,
        name,
        policy,
        period_start=ts(start),
        period_end=ts(end),
        as_of=ts(as_of),
        evidence_until=ts(evidence_until),
    )


def finding(
    s: Store,
    fid: str,
    kind: str,
    subkind: str,
    first_seen: str,
    resolved_at: str | None = None,
    *,
    status: str | None = None,
    app: str = "slack",
    account_id: str | None = None,
) -> None:
    s.finding(
        fid,
        kind,
        subkind,
        status or ("resolved" if resolved_at else "open"),
        app=app,
        account_id=account_id or fid,
        person_id=None,
        first_seen=first_seen,
        resolved_at=resolved_at,
        ticket="SEC-1" if status == "accepted" else None,
        owner="E1" if status == "accepted" else None,
        until="2027-01-01T00:00:00Z" if status == "accepted" else None,
    )


def listed(
    s: Store,
    app: str,
    account_id: str,
    active: bool | None,
    valid_from: str,
    valid_to: str | None = None,
    *,
    source: str | None = None,
) -> None:
    s.version(
        "accounts",
        run_id=1,
        valid_from=valid_from,
        valid_to=valid_to,
        source=source or app,
        app=app,
        account_id=account_id,
        user_name=account_id.lower(),
        active=active,
    )


# --------------------------------------------------------------------------- findings monthly

FINDINGS_COLUMNS = ("month", "kind", "opened", "open_at_month_end", "resolved")


def test_findings_monthly_counts_each_month_and_kind(store: Store) -> None:
    s = store
    # Open before the period, resolved at January's very last instant: not open at its end.
    finding(s, "o-old", "orphan", "terminated_active", "2025-12-15T00:00:00Z", str(LAST_JAN))
    # Raised at February's first instant: February's, not January's.
    finding(s, "o-feb", "orphan", "unmatched", "2026-02-01T00:00:00Z")
    # Resolved at February's first instant: still open at January's end.
    finding(
        s, "d-jan", "drift", "unassigned_account", "2026-01-10T00:00:00Z", "2026-02-01T00:00:00Z"
    )
    # Raised a microsecond after the evidence cut-off: not read at all.
    finding(s, "d-late", "drift", "attribute_mismatch", "2026-03-20T00:00:00.000001Z")
    # Resolved after the evidence cut-off: open at the (capped) end of March, not resolved in it.
    finding(s, "d-mar", "drift", "group_mismatch", "2026-03-01T00:00:00Z", "2026-03-25T00:00:00Z")
    # A kind whose only finding ended before the period: no rows for it.
    finding(
        s, "sod-old", "sod", "toxic_combination", "2025-11-01T00:00:00Z", "2025-12-31T23:59:59Z"
    )
    # Resolved exactly at the period's start: it overlaps the period, so creep has rows.
    finding(s, "c-edge", "creep", "peer_outlier", "2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z")
    # An accepted risk is still open.
    finding(s, "s-acc", "sla", "deprovision_late", "2026-03-19T00:00:00Z", status="accepted")

    table = kpi(
        s,
        "kpi_findings_monthly.sql",
        start="2026-01-01T00:00:00Z",
        end="2026-04-01T00:00:00Z",
        as_of="2026-03-20T00:00:00Z",
        evidence_until="2026-03-20T00:00:00Z",
    )
    assert table.columns == FINDINGS_COLUMNS
    jan, feb, mar = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
    assert table.rows == [
        (jan, "creep", 0, 0, 1),
        (jan, "drift", 1, 1, 0),
        (jan, "orphan", 0, 0, 1),
        (jan, "sla", 0, 0, 0),
        (feb, "creep", 0, 0, 0),
        (feb, "drift", 0, 0, 1),
        (feb, "orphan", 1, 1, 0),
        (feb, "sla", 0, 0, 0),
        (mar, "creep", 0, 0, 0),
        (mar, "drift", 1, 1, 0),
        (mar, "orphan", 0, 1, 0),
        (mar, "sla", 1, 1, 0),
    ]


def test_findings_monthly_clips_partial_months_to_the_period(store: Store) -> None:
    s = store
    finding(s, "x-before", "dormant", "no_login", "2026-01-14T23:59:59.999999Z")
    finding(s, "x-start", "dormant", "no_login", "2026-01-15T00:00:00Z")
    finding(s, "x-feb", "dormant", "no_login", "2026-02-01T00:00:00Z", "2026-03-15T00:00:00Z")
    finding(s, "x-last", "dormant", "no_login", "2026-03-14T23:59:59.999999Z")
    finding(s, "x-end", "dormant", "no_login", "2026-03-15T00:00:00Z")
    # A kind raised only at the period's end: no rows for it.
    finding(s, "sod-end", "sod", "toxic_combination", "2026-03-15T00:00:00Z")
    table = kpi(
        s,
        "kpi_findings_monthly.sql",
        start="2026-01-15T00:00:00Z",
        end="2026-03-15T00:00:00Z",
        as_of="2026-03-14T00:00:00Z",
        evidence_until="2026-04-01T00:00:00Z",
    )
    # March ends with the period (14 March, 23:59:59.999999): x-end is outside, and x-feb,
    # resolved at the period's end, is resolved after March's part of the period.
    assert table.rows == [
        (date(2026, 1, 1), "dormant", 1, 2, 0),
        (date(2026, 2, 1), "dormant", 1, 3, 0),
        (date(2026, 3, 1), "dormant", 1, 4, 0),
    ]


def test_findings_monthly_months_after_the_evidence_repeat_its_backlog(store: Store) -> None:
    s = store
    finding(s, "o1", "orphan", "unmatched", "2026-01-20T00:00:00Z", "2026-02-20T00:00:00Z")
    finding(s, "o2", "orphan", "unmatched", "2026-02-01T00:00:00Z", "2026-02-09T00:00:00Z")
    table = kpi(
        s,
        "kpi_findings_monthly.sql",
        start="2026-01-01T00:00:00Z",
        end="2026-04-01T00:00:00Z",
        as_of="2026-02-10T00:00:00Z",
        evidence_until="2026-02-10T00:00:00Z",
    )
    assert table.rows == [
        (date(2026, 1, 1), "orphan", 1, 1, 0),
        (date(2026, 2, 1), "orphan", 1, 1, 1),
        (date(2026, 3, 1), "orphan", 0, 1, 0),
    ]


def test_findings_monthly_without_findings_is_empty(store: Store) -> None:
    table = kpi(
        store,
        "kpi_findings_monthly.sql",
        start="2026-01-01T00:00:00Z",
        end="2026-04-01T00:00:00Z",
        as_of="2026-03-01T00:00:00Z",
        evidence_until="2026-03-01T00:00:00Z",
    )
    assert table.columns == FINDINGS_COLUMNS and table.rows == []


# --------------------------------------------------------------------------- orphan rate

ORPHAN_COLUMNS = ("measured_at", "point", "active_accounts", "orphan_accounts", "rate")


def test_orphan_rate_at_each_month_end_and_the_cut_off(store: Store) -> None:
    s = store
    listed(s, "slack", "U1", True, "2025-12-01T00:00:00Z")
    # Closed at February's first instant: active at January's end, inactive at February's.
    listed(s, "slack", "U2", True, "2025-12-01T00:00:00Z", "2026-02-01T00:00:00Z")
    listed(s, "slack", "U2", False, "2026-02-01T00:00:00Z")
    listed(s, "slack", "U3", True, "2026-02-01T00:00:00Z")
    # Listed at February's last instant: active at its end.
    listed(s, "slack", "U5", True, str(LAST_FEB))
    # No active flag in the listing: counted active, as in the inventory.
    listed(s, "github", "G1", None, "2025-12-01T00:00:00Z")
    # Listed exactly at the cut-off, and a microsecond after it.
    listed(s, "github", "G3", True, "2026-03-20T06:00:00Z")
    listed(s, "github", "G2", True, "2026-03-20T06:00:00.000001Z")
    # Closed exactly at the cut-off: no longer listed then.
    listed(s, "github", "G4", True, "2025-12-01T00:00:00Z", "2026-03-20T06:00:00Z")
    listed(s, "github", "G4", False, "2026-03-20T06:00:00Z")
    # One account listed by two sources of the same app counts once.
    listed(s, "jira", "J1", True, "2025-12-01T00:00:00Z", source="jira-scim")
    listed(s, "jira", "J1", True, "2025-12-01T00:00:00Z", source="jira-csv")
    listed(s, "jira", "J2", True, "2025-12-01T00:00:00Z", source="jira-scim")

    finding(
        s,
        "f-u2",
        "orphan",
        "terminated_active",
        "2026-01-15T00:00:00Z",
        "2026-02-01T00:00:00Z",
        account_id="U2",
    )
    # Raised at February's last instant: open at its end; an accepted risk stays open.
    finding(
        s,
        "f-g1",
        "orphan",
        "unmatched",
        str(LAST_FEB),
        status="accepted",
        app="github",
        account_id="G1",
    )
    # A second orphan finding of the same account: the account counts once.
    finding(
        s,
        "f-g1b",
        "orphan",
        "terminated_active",
        "2026-03-01T00:00:00Z",
        app="github",
        account_id="G1",
    )
    finding(
        s,
        "f-j1",
        "orphan",
        "unmatched",
        "2026-03-20T06:00:00.000001Z",
        app="jira",
        account_id="J1",
    )
    # Resolved at February's last instant: no longer open at its end.
    finding(
        s,
        "f-j2",
        "orphan",
        "unmatched",
        "2026-02-10T00:00:00Z",
        str(LAST_FEB),
        app="jira",
        account_id="J2",
    )
    finding(s, "f-drift", "drift", "unassigned_account", "2026-01-02T00:00:00Z", account_id="U1")

    table = kpi(
        s,
        "kpi_orphan_rate.sql",
        start="2026-01-01T00:00:00Z",
        end="2026-04-01T00:00:00Z",
        as_of="2026-03-20T06:00:00Z",
        evidence_until="2026-03-25T00:00:00Z",
    )
    assert table.columns == ORPHAN_COLUMNS
    # March ends after the cut-off: no point for it.
    assert table.rows == [
        (LAST_JAN, "month end", 6, 1, 1 / 6),
        (LAST_FEB, "month end", 7, 1, 1 / 7),
        (ts("2026-03-20T06:00:00Z"), "data cut-off", 7, 1, 1 / 7),
    ]


def test_orphan_rate_is_zero_without_active_accounts(store: Store) -> None:
    finding(store, "f-x", "orphan", "unmatched", "2026-01-05T00:00:00Z")
    table = kpi(
        store,
        "kpi_orphan_rate.sql",
        start="2026-01-01T00:00:00Z",
        end="2026-03-01T00:00:00Z",
        as_of="2026-03-01T00:00:00Z",
        evidence_until="2026-03-01T00:00:00Z",
    )
    # The cut-off at the period's end: both month ends lie before it.
    assert table.rows == [
        (LAST_JAN, "month end", 0, 1, 0.0),
        (LAST_FEB, "month end", 0, 1, 0.0),
        (ts("2026-03-01T00:00:00Z"), "data cut-off", 0, 1, 0.0),
    ]


# --------------------------------------------------------------------------- dormant licences

DORMANT_COLUMNS = (
    "app",
    "active_accounts",
    "dormant_accounts",
    "cost_per_seat_month",
    "reclaimable_per_month",
    "reclaimable_per_year",
)
AS_OF = "2026-03-20T06:00:00Z"


def test_dormant_licences_per_app_and_total(store: Store) -> None:
    s = store
    for acc in ("U1", "U2", "U3"):
        listed(s, "slack", acc, True, "2025-12-01T00:00:00Z")
    listed(s, "slack", "U4", False, "2025-12-01T00:00:00Z")
    # The app's own spelling differs from the policy key's: matched case-insensitively.
    listed(s, "GitHub", "G1", True, "2025-12-01T00:00:00Z")
    listed(s, "GitHub", "G2", None, "2025-12-01T00:00:00Z")
    # Closed exactly at the cut-off: no longer listed then.
    listed(s, "GitHub", "G3", True, "2025-12-01T00:00:00Z", AS_OF)
    # Listed a microsecond after the cut-off.
    listed(s, "GitHub", "G5", True, "2026-03-20T06:00:00.000001Z")
    listed(s, "jira", "J1", True, "2025-12-01T00:00:00Z", source="jira-scim")
    listed(s, "jira", "J1", True, "2025-12-01T00:00:00Z", source="jira-csv")
    listed(s, "jira", "J2", True, "2025-12-01T00:00:00Z", source="jira-csv")
    listed(s, "zoom", "Z1", True, "2025-12-01T00:00:00Z")
    for acc in ("M1", "M2", "M3"):
        listed(s, "miro", acc, True, "2025-12-01T00:00:00Z")

    def dormant(fid: str, app: str, acc: str, first: str, resolved: str | None = None) -> None:
        finding(s, fid, "dormant", "no_login", first, resolved, app=app, account_id=acc)

    dormant("d-u1", "slack", "U1", "2026-03-01T00:00:00Z")
    # Raised exactly at the cut-off, as an accepted risk: the seat is still paid.
    finding(
        s, "d-u2", "dormant", "no_login", AS_OF, status="accepted", app="slack", account_id="U2"
    )
    # Resolved exactly at the cut-off: no longer open then.
    dormant("d-u3", "slack", "U3", "2026-03-01T00:00:00Z", AS_OF)
    # Raised a microsecond after the cut-off.
    dormant("d-g1", "GitHub", "G1", "2026-03-20T06:00:00.000001Z")
    dormant("d-g2", "GitHub", "G2", "2026-02-01T00:00:00Z")
    dormant("d-j1", "jira", "J1", "2026-02-01T00:00:00Z")
    # An app with an open dormant finding and no account listed active: still a row.
    dormant("d-b1", "box", "B1", "2026-02-01T00:00:00Z")
    for acc in ("M1", "M2", "M3"):
        dormant(f"d-{acc}", "miro", acc, "2026-02-01T00:00:00Z")
    finding(s, "not-dormant", "drift", "unassigned_account", "2026-02-01T00:00:00Z")
    finding(s, "not-no-login", "dormant", "other", "2026-02-01T00:00:00Z")

    policy = Policy(license_cost={"Slack": 8.75, "github": 21.0, "zoom": 12.5, "miro": 0.1})
    table = kpi(
        s,
        "kpi_dormant_licences.sql",
        start="2026-01-01T00:00:00Z",
        end="2026-04-01T00:00:00Z",
        as_of=AS_OF,
        evidence_until="2026-03-25T00:00:00Z",
        policy=policy,
    )
    assert table.columns == DORMANT_COLUMNS
    assert table.rows == [
        ("GitHub", 2, 1, 21.0, 21.0, 252.0),
        ("slack", 3, 2, 8.75, 17.5, 210.0),
        # 3 x 0.1 rounded to cents, not 0.30000000000000004.
        ("miro", 3, 3, 0.1, 0.3, 3.6),
        ("zoom", 1, 0, 12.5, 0.0, 0.0),
        ("box", 0, 1, None, None, None),
        ("jira", 2, 1, None, None, None),
        (None, 11, 8, None, 38.8, 465.6),
    ]


def test_dormant_licences_empty_store_has_a_zero_total(store: Store) -> None:
    table = kpi(
        store,
        "kpi_dormant_licences.sql",
        start="2026-01-01T00:00:00Z",
        end="2026-04-01T00:00:00Z",
        as_of=AS_OF,
        evidence_until=AS_OF,
    )
    assert table.rows == [(None, 0, 0, None, None, None)]


def test_dormant_licences_total_is_unknown_without_any_cost(store: Store) -> None:
    listed(store, "jira", "J1", True, "2025-12-01T00:00:00Z")
    finding(store, "d-j1", "dormant", "no_login", "2026-02-01T00:00:00Z", app="jira")
    table = kpi(
        store,
        "kpi_dormant_licences.sql",
        start="2026-01-01T00:00:00Z",
        end="2026-04-01T00:00:00Z",
        as_of=AS_OF,
        evidence_until=AS_OF,
    )
    assert table.rows == [("jira", 1, 1, None, None, None), (None, 1, 1, None, None, None)]


# --------------------------------------------------------------------------- chart inputs

HOSTILE = '<script>&"x"'
APPS = [
    "slack",
    "github",
    "zoom",
    "salesforce-production-emea-instance-long-name",
    "jira",
    "confluence",
    "aws",
    "gcp",
    "okta",
    HOSTILE,
    "notion",
    "figma",
    "box",
    "dropbox",
    "workday",
    "netsuite",
    "tableau",
    "a$b$c",
]


def latency_rows() -> list[dict[str, Any]]:
    # p90 distinct per app, so the ranking is plain: slack lowest ... a$b$c highest.
    rows: list[dict[str, Any]] = [
        {"app": a, "removed": 3, "p50_hours": 1.5 + i, "p90_hours": 10.0 + 7 * i}
        for i, a in enumerate(APPS)
    ]
    rows.append({"app": "nothing-measured", "removed": 0, "p50_hours": None, "p90_hours": None})
    return rows


def findings_rows() -> list[dict[str, Any]]:
    months = [date(2025, 11, 1), date(2025, 12, 1)] + [date(2026, m, 1) for m in range(1, 11)]
    kinds = ["orphan", "drift", "creep", "dormant", "sla", "sod", "duplicate", "_private"]
    return [
        {
            "month": m,
            "kind": k,
            "opened": (i * 3 + j) % 7,
            "open_at_month_end": (i + j * 2) % 9 + 1,
            "resolved": (i + j) % 4,
        }
        for i, m in enumerate(months)
        for j, k in enumerate(kinds)
    ]


def orphan_rows() -> list[dict[str, Any]]:
    ends = [date(2025, 12, 1)] + [date(2026, m, 1) for m in range(1, 11)]
    rows: list[dict[str, Any]] = [
        {
            "measured_at": datetime(d.year, d.month, d.day, tzinfo=UTC) - timedelta(microseconds=1),
            "point": "month end",
            "active_accounts": 500 + i,
            "orphan_accounts": 10 + i % 5,
            "rate": (10 + i % 5) / (500 + i),
        }
        for i, d in enumerate(ends)
    ]
    rows.append(
        {
            "measured_at": datetime(2026, 10, 31, 12, tzinfo=UTC),
            "point": "data cut-off",
            "active_accounts": 510,
            "orphan_accounts": 12,
            "rate": 12 / 510,
        }
    )
    return rows


def dormant_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i, a in enumerate(APPS):
        cost = None if i % 4 == 0 else 8.75
        rows.append(
            {
                "app": a,
                "active_accounts": 100,
                "dormant_accounts": i + 1,
                "cost_per_seat_month": cost,
                "reclaimable_per_month": None if cost is None else round((i + 1) * cost, 2),
                "reclaimable_per_year": None if cost is None else round((i + 1) * cost * 12, 2),
            }
        )
    rows.append(
        {
            "app": None,
            "active_accounts": 1800,
            "dormant_accounts": 171,
            "cost_per_seat_month": None,
            "reclaimable_per_month": 1.0,
            "reclaimable_per_year": 12.0,
        }
    )
    return rows


CHARTS: dict[str, tuple[Callable[..., str], Callable[[], list[dict[str, Any]]]]] = {
    "latency": (latency_chart, latency_rows),
    "provision": (provision_chart, latency_rows),
    "findings_monthly": (findings_monthly_chart, findings_rows),
    "orphan_rate": (orphan_rate_chart, orphan_rows),
    "dormant": (dormant_chart, dormant_rows),
}
EMPTY = {
    "latency": "No account removal after a termination was measured in the period.",
    "provision": "No account provisioning was measured in the period.",
    "findings_monthly": "No finding was open, raised or resolved in the period.",
    "orphan_rate": "No account listing was collected in the period.",
    "dormant": "No dormant account with a known licence cost at the data cut-off.",
}


def svg_texts(svg: str) -> list[str]:
    """Every text the SVG draws, as an XML parser reads it."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    return [t.text or "" for t in root.iter(f"{SVG_NS}text")]


def lines(svg: str) -> set[str]:
    """The texts drawn (matplotlib draws each line of a text as a text element of its own)."""
    return set(svg_texts(svg))


def prose(svg: str) -> str:
    """All the text drawn, in order, one space between elements: wrapped notes read whole."""
    return " ".join(svg_texts(svg))


# --------------------------------------------------------------------------- charts


@pytest.mark.parametrize("name", CHARTS)
def test_chart_is_standalone_svg_identical_on_every_call(name: str) -> None:
    chart, rows = CHARTS[name]
    first, second = chart(rows()), chart(rows())
    assert first == second
    assert first.startswith('<?xml version="1.0" encoding="utf-8" standalone="no"?>')
    assert svg_texts(first)
    # Nothing about the run: no date, no creator version, no random id.
    assert "<dc:date>" not in first and "Matplotlib v" not in first
    assert not re.search(r"\d{4}-\d\d-\d\d", first)
    assert datetime.now(UTC).strftime("%Y-%m-%d") not in first
    # Text stays text, in the face the PDF embeds.
    assert "font-family: 'DejaVu Sans'" in first
    assert "<path" in first and 'id="' in first


def test_charts_do_not_change_with_the_process_or_time_zone() -> None:
    program = (
        "import hashlib, json, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import tests.test_report_charts as t\n"
        "import reports.charts\n"
        "print(json.dumps({n: hashlib.sha256(c(r()).encode()).hexdigest()"
        " for n, (c, r) in t.CHARTS.items()}))\n"
    )
    here = {n: hashlib.sha256(c(r()).encode()).hexdigest() for n, (c, r) in CHARTS.items()}
    for tz, seed in (("Asia/Tokyo", "1"), ("America/Los_Angeles", "12345")):
        env = {**os.environ, "TZ": tz, "PYTHONHASHSEED": seed, "LC_ALL": "C.UTF-8"}
        out = subprocess.run(
            [sys.executable, "-c", program, str(ROOT)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        ).stdout
        assert json.loads(out) == here


def test_charts_leave_matplotlib_as_they_found_it() -> None:
    program = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from reports.charts.findings import findings_monthly_chart\n"
        "from reports.charts.latency import latency_chart\n"
        "assert 'matplotlib' not in sys.modules, 'imported at import time'\n"
        "import matplotlib\n"
        "before = matplotlib.rcParams.copy()\n"
        "latency_chart([{'app': 'a', 'p50_hours': 1.0, 'p90_hours': 2.0}])\n"
        "findings_monthly_chart([])\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "after = matplotlib.rcParams.copy()\n"
        # Reading `backend` would resolve it (importing pyplot): compare everything else.
        "keys = [k for k in before if k != 'backend']\n"
        "assert [before[k] for k in keys] == [after[k] for k in keys], 'rcParams leaked'\n"
        "assert before['svg.hashsalt'] is None and before['svg.fonttype'] == 'path'\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", program, str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.stdout == "ok\n" and out.stderr == ""


@pytest.mark.parametrize("name", CHARTS)
def test_chart_of_nothing_says_so(name: str) -> None:
    chart, _ = CHARTS[name]
    svg = chart([])
    assert svg_texts(svg) == [EMPTY[name]]
    assert chart([]) == svg


def test_charts_with_only_unmeasured_rows_are_empty() -> None:
    assert (
        svg_texts(latency_chart([{"app": "a", "p50_hours": None, "p90_hours": None}]))[0]
        == (EMPTY["latency"])
    )
    only_unpriced = [
        {"app": "jira", "dormant_accounts": 4, "reclaimable_per_month": None},
        {"app": None, "dormant_accounts": 4, "reclaimable_per_month": None},
    ]
    assert prose(dormant_chart(only_unpriced)) == (
        EMPTY["dormant"] + " 4 dormant accounts in 1 app without a configured licence cost "
        "not shown."
    )


@pytest.mark.parametrize(
    "name, label",
    [
        ("latency", HOSTILE),
        ("provision", HOSTILE),
        ("dormant", HOSTILE),
        ("latency", "a$b$c"),
        ("dormant", "a$b$c"),
        ("findings_monthly", "_private"),
    ],
)
def test_names_are_drawn_as_literal_text(name: str, label: str) -> None:
    chart, rows = CHARTS[name]
    svg = chart(rows())
    assert label in lines(svg)
    # Escaped by the SVG backend, never markup: no element but the SVG's own.
    root = ET.fromstring(svg)
    assert {e.tag for e in root.iter()} <= {
        f"{SVG_NS}{t}" for t in ("svg", "metadata", "defs", "style", "g", "path", "use", "text")
    } | {f"{SVG_NS}clipPath", f"{SVG_NS}rect"} | {
        "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF",
        "{http://creativecommons.org/ns#}Work",
        "{http://purl.org/dc/elements/1.1/}type",
        "{http://purl.org/dc/elements/1.1/}format",
    }
    if label == HOSTILE:
        assert '&lt;script&gt;&amp;"x"' in svg and "<script" not in svg


def test_control_characters_and_long_names_do_not_break_the_svg() -> None:
    svg = latency_chart(
        [
            {"app": "bad\x00\x1bname\nhere", "p50_hours": 1.0, "p90_hours": 2.0},
            {"app": "x" * 40, "p50_hours": 1.0, "p90_hours": 3.0},
            {"app": "", "p50_hours": 1.0, "p90_hours": 1.0},
        ]
    )
    assert {"bad  name here", "x" * 31 + "…", "(empty)"} <= lines(svg)
    assert "\x00" not in svg and "\x1b" not in svg


def test_ranked_charts_show_the_top_15_and_say_what_they_leave_out() -> None:
    svg = latency_chart(latency_rows())
    shown = lines(svg)
    # Highest p90 first: the last 15 of APPS; slack, github and zoom are left out.
    assert {"a$b$c", "tableau", "jira", "salesforce-production-emea-inst…", HOSTILE} <= shown
    assert not {"slack", "github", "zoom", "nothing-measured"} & shown
    assert (
        "The 15 apps with the highest p90 of 18; 3 others are omitted. 1 app with no measured "
        "removal not shown."
    ) in prose(svg)
    assert {"p50 (median)", "p90", "Hours from termination to removal"} <= shown
    assert "129.0" in shown and "18.5" in shown  # a$b$c's p90 and p50 labels

    dormant_svg = dormant_chart(dormant_rows())
    dormant = lines(dormant_svg)
    # 13 priced apps (every fourth has no cost): all drawn; the total row is not an app.
    assert ("45 dormant accounts in 5 apps without a configured licence cost not shown.") in prose(
        dormant_svg
    )
    assert "157.50 (18 seats)" in dormant and "17.50 (2 seats)" in dormant
    assert "slack" not in dormant and "github" in dormant

    few = lines(latency_chart(latency_rows()[:3], sla_hours=24))
    assert "SLA 24 h" in few and not any(t.startswith("The ") for t in few)


def test_findings_chart_stacks_kinds_in_a_fixed_order() -> None:
    svg = findings_monthly_chart(findings_rows())
    texts = svg_texts(svg)
    legend = [t for t in texts if t in {*KIND_COLOURS, "_private"}]
    assert legend == ["orphan", "sla", "drift", "creep", "sod", "duplicate", "dormant", "_private"]
    assert {"opened in the month", "resolved in the month", "Findings"} <= set(texts)
    # The year is named where it starts or changes, under the month.
    assert "Nov 2025 Dec Jan 2026 Feb Mar Apr May Jun Jul Aug Sep Oct" in prose(svg)
    # Each kind keeps its colour in every report.
    assert "fill: #d55e00" in svg.lower() and "fill: #f0e442" in svg.lower()


def test_orphan_chart_labels_points_and_the_cut_off() -> None:
    svg = orphan_rate_chart(orphan_rows())
    texts, words = set(svg_texts(svg)), prose(svg)
    assert "Nov 2025 Dec Jan 2026 Feb Mar Apr May Jun Jul Aug Sep 31 Oct cut-off" in words
    assert {"2.0%", "2.4%", "Orphaned / active accounts"} <= texts
    assert (
        "Share of active accounts with an open orphan finding, at each month end and at the "
        "data cut-off; at the last point, 12 of 510 active accounts are orphaned."
    ) in words


def test_charts_are_fast() -> None:
    for chart, rows in CHARTS.values():
        chart(rows())  # matplotlib's import and font cache are paid once per process
    for name, (chart, rows) in CHARTS.items():
        data = rows()
        # CPU time, best of three: other processes on the machine do not count against it.
        spent = []
        for _ in range(3):
            started = time.process_time()
            chart(data)
            spent.append(time.process_time() - started)
        assert min(spent) < 0.5, (name, spent)


def test_charts_draw_the_query_rows(store: Store) -> None:
    s = store
    listed(s, "slack", "U1", True, "2025-12-01T00:00:00Z")
    finding(s, "f1", "orphan", "unmatched", "2026-01-10T00:00:00Z", account_id="U1")
    finding(s, "f2", "dormant", "no_login", "2026-02-10T00:00:00Z", account_id="U1")
    common = {
        "start": "2026-01-01T00:00:00Z",
        "end": "2026-04-01T00:00:00Z",
        "as_of": "2026-03-20T00:00:00Z",
        "evidence_until": "2026-03-20T00:00:00Z",
        "policy": Policy(license_cost={"slack": 8.75}),
    }
    monthly = kpi(s, "kpi_findings_monthly.sql", **common).dicts()
    orphan = kpi(s, "kpi_orphan_rate.sql", **common).dicts()
    dormant = kpi(s, "kpi_dormant_licences.sql", **common).dicts()
    assert "Jan 2026 Feb Mar" in prose(findings_monthly_chart(monthly))
    assert {"orphan", "dormant"} <= lines(findings_monthly_chart(monthly))
    orphan_svg = orphan_rate_chart(orphan)
    assert "Jan 2026 Feb 20 Mar cut-off" in prose(orphan_svg) and "100.0%" in lines(orphan_svg)
    assert {"slack", "8.75 (1 seat)"} <= set(svg_texts(dormant_chart(dormant)))


# --------------------------------------------------------------------------- in the PDF


def test_charts_render_in_a_weasyprint_pdf(tmp_path: Path) -> None:
    """All charts in one A4 page set, as the summary embeds them: each SVG behind an <img>."""
    figures = {name: chart(rows()) for name, (chart, rows) in CHARTS.items()}
    figures["empty"] = orphan_rate_chart([])
    body = "".join(
        f"<figure><figcaption>{html.escape(name)}</figcaption><img alt='' src='data:image/svg+xml;"
        f"base64,{base64.b64encode(svg.encode()).decode()}'></figure>"
        for name, svg in figures.items()
    )
    page = (
        "<html><head><style>"
        f"@font-face {{ font-family: 'Report Sans'; src: url('{(FONT_DIR / 'DejaVuSans.ttf').as_uri()}'); }}"
        "@page { size: A4; margin: 22mm 17mm 20mm 17mm; }"
        "body { font-family: 'Report Sans'; font-size: 10pt; }"
        "figure { margin: 0 0 5mm 0; break-inside: avoid; } img { width: 100%; }"
        f"</style></head><body>{body}</body></html>"
    )
    pdf = tmp_path / "charts.pdf"
    weasyprint.HTML(string=page, base_url=str(tmp_path)).write_pdf(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    flat = " ".join(text.split())
    for label in (
        "Hours from termination to removal",
        "Hours from hire to account creation",
        "Findings",
        "opened in the month",
        "Orphaned / active accounts",
        "Reclaimable licence cost per month",
        "cut-off",
        "tableau",
        HOSTILE,
        "a$b$c",
        "157.50 (18 seats)",
        EMPTY["orphan_rate"],
    ):
        assert label in flat, label
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    # Chart text is set in DejaVu Sans, embedded like the report's own text.
    assert any("DejaVu-Sans" in f for f in fonts)
    assert all(f.split()[-5] == "yes" for f in fonts), fonts


def test_query_files_use_only_report_parameters() -> None:
    for name in ("kpi_findings_monthly.sql", "kpi_orphan_rate.sql", "kpi_dormant_licences.sql"):
        query = load_query(name)
        assert set(query.parameters) <= set(PARAMETERS), name
        assert query.text.startswith("-- "), name


def test_queries_run_on_an_empty_in_memory_store() -> None:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'America/New_York'")  # month boundaries are UTC's regardless
    migrate(con)
    install_tables(con, Policy())
    values = query_values(
        Policy(),
        period_start=ts("2026-01-01T00:00:00Z"),
        period_end=ts("2026-03-01T00:00:00Z"),
        as_of=ts("2026-03-01T00:00:00Z"),
        evidence_until=ts("2026-03-01T00:00:00Z"),
    )
    orphan = run_query(con, load_query("kpi_orphan_rate.sql"), values)
    assert [r[0].astimezone(UTC) for r in orphan.rows] == [
        LAST_JAN,
        LAST_FEB,
        ts("2026-03-01T00:00:00Z"),
    ]
    finding_con = Store(con)
    finding(finding_con, "f", "orphan", "unmatched", "2026-01-31T23:30:00Z")
    monthly = run_query(con, load_query("kpi_findings_monthly.sql"), values)
    # 23:30 UTC on 31 January is 18:30 in New York, and still January in UTC.
    assert monthly.rows == [
        (date(2026, 1, 1), "orphan", 1, 1, 0),
        (date(2026, 2, 1), "orphan", 0, 1, 0),
    ]
    con.close()
