"""The framework-independent parts of a report: the management summary (KPIs and charts) and
the completeness tables each test's section prints (source runs, roll-forward per app, the
termination reconciliation). Each is one named query, run through the build's cache, so the
same figure is computed once for every framework of a build and traces to its query.
"""

from __future__ import annotations

import base64
from typing import Any

import duckdb

from reports.catalog import Framework, Query, load_query
from reports.charts.dormant import dormant_chart
from reports.charts.findings import findings_monthly_chart
from reports.charts.latency import latency_chart, provision_chart
from reports.charts.orphan_rate import orphan_rate_chart

__all__ = ["completeness", "management_summary"]

KPI_QUERIES = {
    "inventory": "population_summary.sql",
    "removal": "deprovisioning_latency.sql",
    "provision": "provisioning_latency.sql",
    "findings_monthly": "kpi_findings_monthly.sql",
    "orphan_rate": "kpi_orphan_rate.sql",
    "dormant": "kpi_dormant_licences.sql",
    "detect": "detect_coverage.sql",
}
# The columns of the completeness tables printed in a test's section (name, label, share of
# the width); the bundle's query output and the queries themselves have all of them.
PRINTED = {
    "sources": (
        ("source", "Source", 14),
        ("role", "Role", 7),
        ("runs_in_period", "Runs in period", 8),
        ("full_runs", "Full", 6),
        ("delta_runs", "Delta", 6),
        ("first_as_of", "First in period (UTC)", 13),
        ("last_as_of", "Last to cut-off (UTC)", 13),
        ("last_before_period", "Last before period (UTC)", 13),
        ("records", "Records listed", 9),
        ("events", "Events", 9),
        ("pages_total_mismatch", "Pages off total", 7),
    ),
    "rollforward": (
        ("app", "App", 14),
        ("first_listing_at", "First listing (UTC)", 13),
        ("active_at_start", "Active at start", 8),
        ("created", "Created", 7),
        ("reactivated", "Re-activated", 8),
        ("first_listed", "First listed", 7),
        ("removed", "Removed", 7),
        ("active_at_end", "Active at end", 8),
        ("difference", "Diff.", 6),
        ("events_created", "Events: created", 8),
        ("events_removed", "Events: removed", 8),
    ),
}
COMPLETENESS_QUERIES = {
    "sources": "completeness_sources.sql",
    "rollforward": "rollforward.sql",
    "reconciliation": "reconciliation.sql",
}


def _run(con: duckdb.DuckDBPyConnection, cache: Any, name: str, values: dict[str, Any]):
    query = load_query(name)
    return query, cache.run(con, query, values)


def _data_uri(svg: str) -> str:
    # Each chart is its own SVG document behind an <img>: no id of one can clash with another,
    # and no text in it can reach the report's HTML.
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _total(rows: list[dict[str, Any]], col: str = "app") -> dict[str, Any] | None:
    return next((r for r in rows if r.get(col) is None), None)


def management_summary(
    con: duckdb.DuckDBPyConnection,
    cache: Any,
    values: dict[str, Any],
) -> dict[str, Any]:
    """KPIs, charts and the inventory, with the queries they came from."""
    queries: list[Query] = []
    data: dict[str, list[dict[str, Any]]] = {}
    for key, name in KPI_QUERIES.items():
        query, table = _run(con, cache, name, values)
        queries.append(query)
        data[key] = table.dicts()
    removal = data.get("removal", [])
    provision = data.get("provision", [])
    orphan = data.get("orphan_rate", [])
    dormant = data.get("dormant", [])
    detect = (data.get("detect") or [{}])[0]
    per_app = [r for r in removal if r.get("app") is not None]
    per_app_provision = [r for r in provision if r.get("app") is not None]
    chart_list = [
        (
            "Removal latency after termination, by app (hours)",
            "removal",
            latency_chart(per_app, sla_hours=values["deprovision_sla_hours"]),
        ),
        (
            "Time to provision, by app (hours)",
            "provision",
            provision_chart(per_app_provision),
        ),
        (
            "Findings by kind, per month of the period",
            "findings_monthly",
            findings_monthly_chart(data.get("findings_monthly", [])),
        ),
        (
            "Orphaned accounts as a share of active accounts, at each month end",
            "orphan_rate",
            orphan_rate_chart(orphan),
        ),
        (
            "Dormant licences: reclaimable cost per month, by app",
            "dormant",
            dormant_chart([r for r in dormant if r.get("app") is not None]),
        ),
    ]
    kpis = {
        "removal": _total(removal),
        "provision": _total(provision),
        "orphan": orphan[-1] if orphan else None,
        "dormant": _total(dormant),
    }
    return {
        "queries": queries,
        "inventory": data.get("inventory", []),
        "kpis": kpis,
        "charts": [
            {"title": title, "query": KPI_QUERIES[key], "src": _data_uri(svg)}
            for title, key, svg in chart_list
        ],
        "detect_runs": detect,
    }


def completeness(
    con: duckdb.DuckDBPyConnection, cache: Any, fw: Framework, values: dict[str, Any]
) -> dict[str, Any]:
    """The completeness tables the framework's tests ask for, each computed once."""
    wanted = {c for t in fw.tests for c in t.completeness}
    if any(t.sources for t in fw.tests):
        wanted.add("sources")
    out: dict[str, Any] = {"queries": []}
    for key in ("sources", "rollforward", "reconciliation"):
        name = COMPLETENESS_QUERIES[key]
        if key not in wanted:
            out[key] = None
            continue
        query, table = _run(con, cache, name, values)
        out["queries"].append(query)
        rows = table.dicts()
        printed = [c for c in PRINTED.get(key, ()) if c[0] in table.columns]
        total = sum(w for _, _, w in printed) or 1
        out[key] = {
            "query": query,
            "rows": rows,
            "columns": table.columns,
            "printed": [
                {"name": n, "label": label, "width": f"{100 * w / total:.2f}%"}
                for n, label, w in printed
            ],
            # Rows whose figures do not add up, with the query's explanation, and the
            # total's when some app was first listed in the period (it names those apps).
            "notes": [
                r
                for r in rows
                if r.get("difference") or (r.get("app") is None and r.get("first_listed"))
            ],
        }
    return out
