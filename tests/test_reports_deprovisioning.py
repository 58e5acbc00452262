"""The deprovisioning query's branches, one hand-built store per case, and its period bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evidence.store.db import open_store
from reports.catalog import load_query
from reports.population import run_query
from tests.builders import Store, eod, ts
from tests.report_tenant import END, START

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
