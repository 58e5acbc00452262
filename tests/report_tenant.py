"""The SOC 2 tenant the bundle tests build: three terminations in the period (late, on time,
still active) and one before it, with the sync runs that evidence them."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.builders import Store, eod

START = datetime(2025, 11, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
VERSION = "0.1.0-test"


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


# The deprovisioning population the tenant gives for START to END, as its CSV.
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
