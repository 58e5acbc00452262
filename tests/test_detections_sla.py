"""sla/deprovision_late on hand-made rows, its negative cases, and the report's latency table.

One termination instant T for everyone; the app's full listings at T-31d, T+12h, T+36h, T+72h
and now; the SLA and grace period are 24 h.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import timedelta

import pytest

from evidence.config import Policy, ServiceAccount
from evidence.detections.loader import load_detections
from evidence.detections.runner import detect
from evidence.store.load import commit_batch
from reports.build import build_report
from reports.catalog import load_query
from reports.population import run_query
from tests.builders import batch, events, snap, utc

T = utc(2025, 12, 2)  # every termination
H = utc(2020, 1, 1)
L0 = utc(2025, 11, 1)
NOW = utc(2026, 1, 10)
POLICY = Policy(
    grace_hours=24,
    deprovision_sla_hours=24,
    service_accounts=[ServiceAccount(app="app", account="svc-*", owner="P1")],
)


def h(hours: float):
    return T + timedelta(hours=hours)


def person(pid, status="terminated", hire=H, term=T):
    return dict(
        person_id=pid,
        email=f"{pid.lower()}@x.com",
        display_name=f"Person {pid}",
        status=status,
        hire_date=hire,
        termination_date=term if status == "terminated" else None,
    )


ALL = ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9")
PEOPLE_BEFORE = [person(p, "active", term=None) for p in ALL]
PEOPLE_AFTER = [person(p) for p in ALL] + [
    person("P9", "active", hire=h(24 * 5)),  # rehired under the same id
]

# Account id -> owner. A5 was never active; the service account is P1's team's.
APP = {
    "A1": "p1",  # removal reported by the app at T+30h: late
    "A2": "p2",  # removal reported at T+10h: within the SLA
    "A3": "p3",  # listing only: active at T+12h, gone at T+36h: earliest within the SLA
    "A4": "p4",  # listing only: active at T+36h, inactive at T+72h: even the earliest is late
    "A5": "p5",  # never active
    "A6": "p6",  # still active now: orphan, not sla
    "A7": "p7",  # IdP user deactivated at T+1h; the app account went at T+72h: late
    "A8": "p8",  # the IdP unassigned the app at T+2h (its label "App"): within the SLA
    "A9": "p9",  # still active when the person was rehired: no removal happened
}


def listing(inactive: set[str], gone: set[str] = frozenset()):
    rows = [
        dict(
            app="app",
            account_id=a,
            user_name=f"{u}-app",
            email=f"{u}@x.com",
            active=a != "A5" and a not in inactive,
        )
        for a, u in APP.items()
        if a not in gone
    ]
    rows.append(
        dict(app="app", account_id="S1", user_name="svc-deploy", active="S1" not in inactive)
    )
    return snap("accounts", rows, ("app",))


def crm(active: bool):
    rows = [dict(app="crm", account_id="C2", user_name="p2-crm", email="p2@x.com", active=active)]
    return snap("accounts", rows, ("crm",))


def idp_users(status: str):
    rows = [
        dict(
            user_id=f"00u{p}",
            login=f"{p.lower()}@x.com",
            email=f"{p.lower()}@x.com",
            employee_number=p,
            status=status if p != "P9" else "ACTIVE",
        )
        for p in ALL
    ]
    return snap("idp_users", rows)


def ev(native_id, action, at, app=None, account_id=None, person_id=None):
    return dict(
        native_id=native_id,
        occurred_at=at,
        action=action,
        outcome="success",
        app=app,
        account_id=account_id,
        person_id=person_id,
    )


@pytest.fixture
def found(store):
    p = Policy()
    commit_batch(store, batch("hr", "hris", L0, snap("people", PEOPLE_BEFORE)), p)
    commit_batch(store, batch("okta", "okta", L0, idp_users("ACTIVE")), p)
    commit_batch(store, batch("app", "scim", L0, listing(set())), p)
    commit_batch(store, batch("crm", "scim", L0, crm(True)), p)
    commit_batch(store, batch("hr", "hris", h(1), snap("people", PEOPLE_AFTER)), p)
    okta_events = [
        ev("o1", "user.deactivate", h(1), person_id="00uP7"),
        ev("o2", "app.unassign", h(2), app="App", person_id="00uP8"),
    ]
    commit_batch(store, batch("okta", "okta", h(3), ev=events(okta_events)), p, mode="delta")
    commit_batch(store, batch("app", "scim", h(12), listing({"A2"})), p)
    app_events = [
        ev("a1", "account.deactivate", h(30), app="app", account_id="A1"),
        ev("a2", "account.deactivate", h(10), app="app", account_id="A2"),
    ]
    commit_batch(
        store, batch("app", "scim", h(36), listing({"A1", "A2"}, {"A3"}), ev=events(app_events)), p
    )
    crm_events = [ev("c1", "account.deactivate", h(100), app="crm", account_id="C2")]
    commit_batch(store, batch("crm", "scim", h(101), crm(False), ev=events(crm_events)), p)
    gone = {"A1", "A2", "A4", "A7", "A8", "S1"}
    commit_batch(store, batch("app", "scim", h(72), listing(gone, {"A3"})), p)
    commit_batch(store, batch("hr", "hris", NOW, snap("people", PEOPLE_AFTER)), p)
    commit_batch(store, batch("okta", "okta", NOW, idp_users("DEPROVISIONED")), p)
    commit_batch(store, batch("app", "scim", NOW, listing(gone, {"A3"})), p)
    commit_batch(store, batch("crm", "scim", NOW, crm(False)), p)
    result = detect(store, POLICY)
    return store, result


def sla_rows(con):
    return con.execute(
        "SELECT app, account_id, account, person_id, entitlement, rule, explanation, evidence "
        "FROM findings WHERE kind = 'sla' ORDER BY app, account"
    ).fetchall()


def test_late_deprovisioning_exactly(found) -> None:
    con, result = found
    rows = sla_rows(con)
    assert [r[:6] for r in rows] == [
        ("app", "A1", "p1-app", "P1", None, None),
        ("app", "A4", "p4-app", "P4", None, None),
        ("app", "A7", "p7-app", "P7", None, None),
        ("crm", "C2", "p2-crm", "P2", None, None),
    ]
    assert result.counts["sla/deprovision_late"] == 4
    status = con.execute("SELECT DISTINCT status, severity FROM findings WHERE kind = 'sla'")
    assert status.fetchall() == [("open", "medium")]
    by_account = {r[1]: r for r in rows}
    assert by_account["A1"][6] == (
        "Account p1-app in app was removed 30.0 h after its owner P1 was terminated on "
        "2025-12-02 (account.deactivate reported by app), later than the 24 h SLA."
    )
    assert by_account["A4"][6] == (
        "Account p4-app in app had no reported removal: last listed active 36.0 h after its "
        "owner P4 was terminated on 2025-12-02 and first listed inactive or absent 72.0 h "
        "after it, so even the earliest possible removal is later than the 24 h SLA."
    )
    a1 = json.loads(by_account["A1"][7])
    assert a1["person"]["person_id"] == "P1" and a1["person"]["display_name"] == "Person P1"
    assert a1["account"] == {"app": "app", "account_id": "A1", "user_name": "p1-app"}
    assert a1["removal"]["measured_by"] == "reported"
    assert a1["removal"]["reported_by"] == "account.deactivate reported by app"
    assert a1["removal"]["inferred_at"].startswith("2025-12-03 12:00:00")  # only bounds it
    assert (a1["latency_hours"], a1["earliest_latency_hours"]) == (30.0, 30.0)
    assert a1["deprovision_sla_hours"] == 24
    a4 = json.loads(by_account["A4"][7])
    assert a4["removal"]["measured_by"] == "listing"
    assert a4["removal"]["reported_at"] is None
    assert a4["removal"]["last_listed_active"].startswith("2025-12-03 12:00:00")
    assert a4["removal"]["first_listed_inactive"].startswith("2025-12-05 00:00:00")
    assert (a4["latency_hours"], a4["earliest_latency_hours"]) == (72.0, 36.0)


def test_negative_cases(found) -> None:
    con, _ = found
    flagged = {r[1] for r in sla_rows(con)}
    # A2 removed within the SLA; A3 only inferred, its earliest instant within the SLA; A5
    # never active; A6 still active; A8 unassigned by the IdP in time (its app account went
    # late, which does not matter); A9 still active at the rehire; S1 a service account.
    assert not flagged & {"A2", "A3", "A5", "A6", "A8", "A9", "S1"}
    # A7: the IdP deactivated the person at T+1h; that does not remove the app account.
    assert "A7" in flagged
    orphans = con.execute(
        "SELECT app, account_id FROM findings WHERE kind = 'orphan' ORDER BY 1, 2"
    ).fetchall()
    assert orphans == [("app", "A6")]


def test_same_findings_next_run(found) -> None:
    con, _ = found
    first = con.execute("SELECT finding_id, first_seen_at FROM findings WHERE kind = 'sla'")
    before = sorted(first.fetchall())
    again = detect(con, POLICY)
    assert again.counts["sla/deprovision_late"] == 4
    after = con.execute(
        "SELECT finding_id, first_seen_at FROM findings WHERE kind = 'sla' AND status = 'open'"
    ).fetchall()
    assert sorted(after) == before


def test_a_longer_sla_raises_nothing(found) -> None:
    con, _ = found
    result = detect(con, Policy(grace_hours=24, deprovision_sla_hours=200))
    assert result.counts["sla/deprovision_late"] == 0


def latency(con, sla: float = 24.0):
    values = {
        "period_start": utc(2025, 11, 1),
        "period_end": utc(2026, 1, 1),
        "as_of": NOW,
        "evidence_until": NOW,
        "grace_hours": 24.0,
        "deprovision_sla_hours": sla,
    }
    return run_query(con, load_query("deprovisioning_latency.sql"), values)


def test_latency_percentiles_exactly(found) -> None:
    con, _ = found
    table = latency(con)
    assert table.columns == (
        "app",
        "removed",
        "p50_hours",
        "p90_hours",
        "p95_hours",
        "max_hours",
        "late",
        "active",
    )
    # app: removals after 2 (A8), 10 (A2), 30 (A1), 36 (A3), 72 (A4), 72 (A7) hours;
    # crm: 100 (C2). Nearest rank: the ceil(p * n)-th smallest.
    assert table.rows == [
        ("app", 6, 30.0, 72.0, 72.0, 72.0, 3, 1),
        ("crm", 1, 100.0, 100.0, 100.0, 100.0, 1, 0),
        (None, 7, 36.0, 100.0, 100.0, 100.0, 4, 1),
    ]
    assert latency(con, 200.0).rows[-1] == (None, 7, 36.0, 100.0, 100.0, 100.0, 0, 1)


def test_report_exceptions_agree_with_findings(found) -> None:
    con, _ = found
    values = {
        "period_start": utc(2025, 11, 1),
        "period_end": utc(2026, 1, 1),
        "as_of": NOW,
        "evidence_until": NOW,
        "grace_hours": 24.0,
        "deprovision_sla_hours": 24.0,
    }
    rows = run_query(con, load_query("deprovisioning.sql"), values).dicts()
    exceptions = sorted((r["app"], r["account"]) for r in rows if r["status"] == "exception")
    findings = con.execute(
        "SELECT app, account FROM findings WHERE kind IN ('sla', 'orphan') ORDER BY 1, 2"
    ).fetchall()
    # Besides the findings, A9: active for 120 h after the termination until the rehire, past
    # the grace period. An orphan in that gap, not a late removal; no detection now sees it.
    assert exceptions == sorted([*findings, ("app", "p9-app")])
    rehired = next(r for r in rows if r["account"] == "p9-app")
    assert rehired["reason"].startswith("Still active when the person was rehired on 2025-12-07")
    assert len(rows) == 10  # nine app accounts and one crm account, one termination each


def test_report_queries_include_the_detections_block() -> None:
    detection = next(d for d in load_detections() if d.id == "sla_deprovision_late")
    begin = detection.sql.index("-- shared: deprovisioning\n")
    end = detection.sql.index("-- end shared: deprovisioning\n")
    block = detection.sql[begin:end]
    verdicts = load_query("deprovisioning_verdicts.sql")
    assert block in verdicts.text
    assert "$now" not in verdicts.text
    assert verdicts.sha256 == hashlib.sha256(verdicts.text.encode()).hexdigest()
    # The population, its latency table and the reconciliation read that one judgement, run
    # once per build, instead of three copies of the block.
    for name in ("deprovisioning.sql", "deprovisioning_latency.sql", "reconciliation.sql"):
        query = load_query(name)
        assert query.prepares == ("deprovisioning_verdicts.sql",)
        assert "-- shared: deprovisioning" not in query.text


def test_report_prints_the_latency_table(found, tmp_path) -> None:
    con, _ = found
    result = build_report(
        con,
        "soc2",
        utc(2025, 11, 1),
        utc(2026, 1, 1),
        tmp_path,
        tool_version="0.1.0-test",
        policy=POLICY,
    )
    text = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(result.pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "Removal latency by app" in text
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "app 6 30.0 72.0 72.0 72.0 3 1" in lines
    assert "crm 1 100.0 100.0 100.0 100.0 1 0" in lines
    assert "All apps 7 36.0 100.0 100.0 100.0 4 1" in lines
    manifest = json.loads(result.manifest.read_text("utf-8"))
    latency_sql = load_query("deprovisioning_latency.sql")
    assert manifest["queries"]["deprovisioning_latency.sql"] == latency_sql.sha256
    verdicts_sql = load_query("deprovisioning_verdicts.sql")
    assert manifest["queries"]["deprovisioning_verdicts.sql"] == verdicts_sql.sha256
    assert (result.bundle / "queries" / "deprovisioning_verdicts.sql").read_bytes() == (
        verdicts_sql.text.encode("utf-8")
    )
