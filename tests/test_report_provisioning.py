"""The `provisioning` (joiners) and `unique_ids` report tests on hand-built stores: every rule
and edge case as an exact population row, and the latency breakdown reconciled with it."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from evidence.config import Policy
from evidence.store.db import open_store
from reports.catalog import load_query
from reports.context import PARAMETERS, install_tables
from reports.population import Table
from tests.builders import Store, eod, report_query, ts

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 7, 1, tzinfo=UTC)
AS_OF = ts("2026-06-30T06:00:00Z")
UNTIL = ts("2026-07-02T06:00:00Z")
POLICY = Policy()


class Tenant(Store):
    """Store with the columns these tests need that the shared helpers leave out."""

    def acct(
        self,
        app: str,
        account_id: str,
        user_name: str,
        *,
        run_id: int,
        valid_from: str,
        valid_to: str | None = None,
        active: bool = True,
        created_at: str | None = None,
        external_id: str | None = None,
        source: str | None = None,
    ) -> None:
        self.version(
            "accounts",
            run_id=run_id,
            valid_from=valid_from,
            valid_to=valid_to,
            source=source or app,
            app=app,
            account_id=account_id,
            user_name=user_name,
            active=active,
            created_at=ts(created_at) if created_at else None,
            external_id=external_id,
        )

    def facts(
        self,
        app: str,
        account_id: str,
        user_name: str,
        person_id: str | None,
        matched_by: str,
        *,
        person_kind: str | None = "hr",
        person_status: str | None = "active",
        termination_at: datetime | None = None,
    ) -> None:
        """The matcher's verdict for one account (account_facts, the table behind
        account_owners)."""
        self.row(
            "account_facts",
            app=app,
            account_id=account_id,
            user_name=user_name,
            active=True,
            person_id=person_id,
            person_kind=person_kind if person_id else None,
            matched_by=matched_by,
            person_status=person_status if person_id else None,
            termination_at=termination_at,
            service_account=matched_by == "service_account",
            is_current=True,
        )

    def hr(
        self,
        pid: str,
        name: str,
        *,
        hire: str,
        email: str | None = None,
        status: str = "active",
        termination: datetime | None = None,
        run_id: int = 1,
        valid_from: str = "2025-10-01T00:00:00Z",
    ) -> None:
        self.version(
            "people",
            run_id=run_id,
            valid_from=valid_from,
            source="workday",
            person_id=pid,
            hire_date=ts(hire),
            email=email or f"{pid.lower()}@example.com",
            display_name=name,
            employment_type="employee",
            status=status,
            termination_date=termination,
        )

    def idp_user(self, user_id: str, login: str, name: str, *, person_id: str | None) -> None:
        self.version(
            "idp_users",
            run_id=3,
            valid_from="2025-10-01T00:00:00Z",
            source="okta",
            user_id=user_id,
            login=login,
            display_name=name,
            status="ACTIVE",
            lifecycle="active",
        )
        self.row("idp_user_owners", user_id=user_id, person_id=person_id, matched_by="email")

    def assignment(
        self,
        app: str,
        user_id: str,
        *,
        valid_from: str,
        valid_to: str | None = None,
        assigned_at: str | None = None,
        user_name: str | None = None,
        status: str = "PROVISIONED",
        run_id: int = 3,
    ) -> None:
        self.version(
            "assignments",
            run_id=run_id,
            valid_from=valid_from,
            valid_to=valid_to,
            source="okta",
            app=app,
            idp_user_id=user_id,
            user_name=user_name,
            status=status,
            assigned_at=ts(assigned_at) if assigned_at else None,
        )


def run(con: duckdb.DuckDBPyConnection, name: str, **period: datetime) -> Table:
    return report_query(
        con,
        name,
        POLICY,
        period_start=period.get("start", START),
        period_end=period.get("end", END),
        as_of=period.get("as_of", AS_OF),
        evidence_until=period.get("until", UNTIL),
    )


# --------------------------------------------------------------------------- provisioning


def joiners(s: Tenant) -> None:
    """Accounts created around the period [2026-01-01, 2026-07-01), one per rule and edge."""
    s.run(1, "workday", "hris", "full", "2025-10-01T00:00:00Z")
    s.run(2, "slack", "scim", "full", "2025-10-01T00:00:00Z")  # slack's first listing
    s.run(3, "okta", "okta", "full", "2025-10-01T00:00:00Z")
    s.run(4, "slack", "scim", "full", "2026-01-01T00:00:00Z")  # exactly at the period start
    s.run(5, "github", "app_export", "full", "2026-02-01T00:00:00Z")  # github's first listing
    s.run(6, "slack", "scim", "full", "2026-03-10T00:00:00Z")
    s.run(7, "zoom", "scim", "full", "2026-03-20T00:00:00Z")
    s.run(8, "slack", "scim", "full", "2026-06-30T06:00:00Z")
    s.run(9, "slack", "scim", "full", "2026-07-01T00:00:00Z")  # exactly at the period end
    s.run(10, "slack-export", "app_export", "full", "2026-04-15T00:00:00Z")  # a second source
    s.run(11, "slack-export", "app_export", "full", "2026-04-20T00:00:00Z")

    # People: a joiner, a long-standing employee, a rehire under the same id (both records
    # kept), a rehire under a new id with the same email, a leaver with no rehire, an owner.
    s.hr("E1", "Alice New", hire="2026-03-06T00:00:00Z")
    s.hr("E2", "Bob Steady", hire="2020-01-06T00:00:00Z")
    s.hr(
        "E3",
        "Carol Rehired",
        hire="2019-01-07T00:00:00Z",
        status="terminated",
        termination=eod("2026-02-15"),
    )
    s.hr(
        "E3",
        "Carol Rehired",
        hire="2026-04-01T00:00:00Z",
        run_id=6,
        valid_from="2026-03-10T00:00:00Z",
    )
    s.hr(
        "E8",
        "Dan Before",
        hire="2018-03-05T00:00:00Z",
        email="dan@example.com",
        status="terminated",
        termination=eod("2025-11-30"),
    )
    s.hr("E9", "Dan Again", hire="2026-05-04T00:00:00Z", email="Dan@Example.com ")
    s.hr("E4", "Dora Drift", hire="2021-02-01T00:00:00Z")
    s.hr("E5", "Erin Owner", hire="2015-06-01T00:00:00Z")
    s.hr(
        "E6",
        "Fred Gone",
        hire="2017-09-04T00:00:00Z",
        status="terminated",
        termination=eod("2026-02-27"),
    )
    s.idp_user("00u2", "e2@example.com", "Bob S.", person_id="E2")
    s.idp_user("00u9", "build-bot", "Build Bot", person_id=None)  # idp_only: no HR record
    s.person(
        "00u7",
        "Ivy Advisor",
        "active",
        run_id=3,
        valid_from="2025-10-01T00:00:00Z",
        employment_type="idp_only",
        source="idp:okta",
    )
    # Bob's Slack assignment was removed before 2026 and given again in March.
    s.assignment(
        "Slack",
        "00u2",
        valid_from="2025-10-01T00:00:00Z",
        valid_to="2025-12-01T00:00:00Z",
        assigned_at="2025-09-01T00:00:00Z",
    )
    s.assignment(
        "Slack", "00u2", valid_from="2026-03-09T18:00:00Z", assigned_at="2026-03-09T12:00:00Z"
    )
    # An assignment the IdP marks INACTIVE grants nothing: not an assignment of the app.
    s.assignment("GitHub", "00u2", valid_from="2025-10-01T00:00:00Z", status="INACTIVE")
    # An assignment episode that ended before the account was created does not count...
    s.assignment("Zoom", "00u9", valid_from="2025-10-01T00:00:00Z", valid_to="2026-01-15T00:00:00Z")
    # ... the next one, listed without an assigned_at, dates from its first listing.
    s.assignment("Zoom", "00u9", valid_from="2026-03-19T00:00:00Z", valid_to="2026-03-20T00:00:00Z")
    s.assignment("Zoom", "00u9", valid_from="2026-03-20T00:00:00Z")

    # slack: listed since its first listing, before the period.
    s.acct(
        "slack",
        "S-old1",
        "old1",
        run_id=2,
        valid_from="2025-10-01T00:00:00Z",
        created_at="2025-06-01T08:00:00Z",
    )
    s.acct(
        "slack",
        "S-old2",
        "old2",
        run_id=2,
        valid_from="2025-10-01T00:00:00Z",
        created_at="2025-06-02T08:00:00Z",
    )
    s.acct("slack", "S-old3", "old3", run_id=2, valid_from="2025-10-01T00:00:00Z")
    # Exactly at the period start: reported, and first listed.
    s.acct(
        "slack",
        "S-frank",
        "frank",
        run_id=4,
        valid_from="2026-01-01T00:00:00Z",
        created_at="2026-01-01T00:00:00Z",
    )
    s.acct("slack", "S-erin", "erin", run_id=4, valid_from="2026-01-01T00:00:00Z")
    # Created before the hire date.
    s.acct(
        "slack",
        "S-alice",
        "alice",
        run_id=6,
        valid_from="2026-03-10T00:00:00Z",
        created_at="2026-03-02T09:00:00Z",
    )
    # First listed, during the employment, 12 h after the IdP assigned it.
    s.acct("slack", "S-bob", "bob", run_id=6, valid_from="2026-03-10T00:00:00Z")
    # Rehire under the same id: during the old employment, between the two, after the rehire.
    s.acct(
        "slack",
        "S-carol",
        "carol",
        run_id=4,
        valid_from="2026-01-01T00:00:00Z",
        created_at="2026-02-01T10:00:00Z",
    )
    s.acct(
        "zoom",
        "Z-carol",
        "carol",
        run_id=7,
        valid_from="2026-03-20T00:00:00Z",
        created_at="2026-03-15T00:00:00Z",
    )
    s.acct(
        "slack",
        "S-carol2",
        "carol.2",
        run_id=8,
        valid_from="2026-06-30T06:00:00Z",
        created_at="2026-04-02T12:00:00Z",
    )
    # Rehire under a new id (same email): before the new hire date.
    s.acct(
        "zoom",
        "Z-dan",
        "dan",
        run_id=7,
        valid_from="2026-03-20T00:00:00Z",
        created_at="2026-05-01T00:00:00Z",
    )
    # Created after the employment ended, with no later hire.
    s.acct(
        "slack",
        "S-fred",
        "fred",
        run_id=6,
        valid_from="2026-03-10T00:00:00Z",
        created_at="2026-03-02T00:00:00Z",
    )
    # idp_only owner, assigned in the IdP.
    s.acct(
        "zoom",
        "Z-bot",
        "build-bot",
        run_id=7,
        valid_from="2026-03-20T00:00:00Z",
        created_at="2026-03-20T06:00:00Z",
    )
    # An IdP-only person the store holds as a person record (no HR hire date).
    s.acct("slack", "S-ivy", "ivy", run_id=6, valid_from="2026-03-10T00:00:00Z")
    # Unmatched, inactive: monitoring raised nothing (orphans are active accounts), yet
    # nobody authorised it.
    s.acct(
        "slack",
        "S-temp",
        "temp-import",
        run_id=6,
        valid_from="2026-03-10T00:00:00Z",
        created_at="2026-03-09T08:00:00Z",
        active=False,
    )
    # Unmatched (accepted risk), and unassigned (drift) in an IdP-managed app.
    s.acct("slack", "S-ghost", "ghost", run_id=6, valid_from="2026-03-10T00:00:00Z")
    s.acct("slack", "S-dora", "dora", run_id=8, valid_from="2026-06-30T06:00:00Z")
    # github's first listing falls in the period: only a reported creation date counts.
    s.acct("github", "G-legacy", "legacy", run_id=5, valid_from="2026-02-01T00:00:00Z")
    s.acct(
        "github",
        "G-new",
        "gh-new",
        run_id=5,
        valid_from="2026-02-01T00:00:00Z",
        created_at="2026-01-20T15:30:00Z",
    )
    s.acct("github", "G-ci", "legacy-ci", run_id=5, valid_from="2026-02-01T00:00:00Z")
    s.acct(
        "github",
        "G-svc",
        "svc-deploy",
        run_id=5,
        valid_from="2026-02-01T00:00:00Z",
        created_at="2026-01-25T00:00:00Z",
    )
    # jira's listings were loaded without a sync record: its earliest version is its first
    # listing.
    s.acct("jira", "J-old", "jold", run_id=5, valid_from="2026-02-01T00:00:00Z")
    s.acct("jira", "J-new", "jnew", run_id=6, valid_from="2026-03-10T00:00:00Z")
    # Listed by two sources. S-both was in slack's first listing: the export's later listing
    # does not date it. S-multi was first listed by slack in March, before the export's
    # first listing showed it: March dates it.
    s.acct("slack", "S-both", "both", run_id=2, valid_from="2025-10-01T00:00:00Z")
    s.acct(
        "slack",
        "S-both",
        "both",
        run_id=11,
        valid_from="2026-04-20T00:00:00Z",
        source="slack-export",
    )
    s.acct("slack", "S-multi", "multi", run_id=6, valid_from="2026-03-10T00:00:00Z")
    s.acct(
        "slack",
        "S-multi",
        "multi",
        run_id=10,
        valid_from="2026-04-15T00:00:00Z",
        source="slack-export",
    )
    # Exactly at the period end: reported, and first listed.
    s.acct(
        "slack",
        "S-gina",
        "gina",
        run_id=8,
        valid_from="2026-06-30T06:00:00Z",
        created_at="2026-07-01T00:00:00Z",
    )
    s.acct("slack", "S-hal", "hal", run_id=9, valid_from="2026-07-01T00:00:00Z")

    s.facts("slack", "S-old1", "old1", "E2", "email")
    s.facts("slack", "S-old2", "old2", None, "none")
    s.facts("slack", "S-old3", "old3", "E2", "email")
    s.facts("slack", "S-frank", "frank", "E2", "alias")
    s.facts("slack", "S-erin", "erin", "E5", "email")
    s.facts("slack", "S-alice", "alice", "E1", "email")
    s.facts("slack", "S-bob", "bob", "E2", "email")
    s.facts("slack", "S-carol", "carol", "E3", "email")
    s.facts("zoom", "Z-carol", "carol", "E3", "email")
    s.facts("slack", "S-carol2", "carol.2", "E3", "alias")
    s.facts("zoom", "Z-dan", "dan", "E9", "email")
    s.facts(
        "slack",
        "S-fred",
        "fred",
        "E6",
        "email",
        person_status="terminated",
        termination_at=eod("2026-02-27"),
    )
    s.facts("zoom", "Z-bot", "build-bot", "00u9", "login", person_kind="idp_only")
    s.facts("slack", "S-ghost", "ghost", None, "none")
    s.facts("slack", "S-ivy", "ivy", "00u7", "email", person_kind=None)
    s.facts("slack", "S-temp", "temp-import", None, "none")
    s.facts("slack", "S-dora", "dora", "E4", "email")
    s.facts("github", "G-legacy", "legacy", "E2", "login")
    s.facts("github", "G-new", "gh-new", "E2", "login")
    s.facts("github", "G-ci", "legacy-ci", None, "none")
    s.facts("github", "G-svc", "svc-deploy", "E5", "service_account")
    s.facts("slack", "S-both", "both", "E2", "email")
    s.facts("slack", "S-multi", "multi", "E2", "email")
    s.facts("jira", "J-old", "jold", "E2", "email")
    s.facts("jira", "J-new", "jnew", "E2", "email")
    s.facts("slack", "S-gina", "gina", "E2", "email")
    s.facts("slack", "S-hal", "hal", "E2", "email")

    s.finding(
        "f-ghost",
        "orphan",
        "unmatched",
        "accepted",
        app="slack",
        account_id="S-ghost",
        person_id=None,
        first_seen="2026-03-10T06:00:00Z",
        ticket="SEC-7",
        owner="E5",
        until="2026-12-31T00:00:00Z",
    )
    s.finding(
        "f-dora",
        "drift",
        "unassigned_account",
        "open",
        app="slack",
        account_id="S-dora",
        person_id="E4",
        first_seen="2026-06-30T06:00:00Z",
    )
    # Resolved before the period: not an exception, its account not added.
    s.finding(
        "f-old1",
        "drift",
        "unassigned_account",
        "resolved",
        app="slack",
        account_id="S-old1",
        person_id="E2",
        first_seen="2025-10-02T00:00:00Z",
        resolved_at="2025-12-31T23:59:59Z",
    )
    # Resolved exactly at the period start: open in the period, its old account added.
    s.finding(
        "f-old2",
        "orphan",
        "unmatched",
        "resolved",
        app="slack",
        account_id="S-old2",
        person_id=None,
        first_seen="2025-10-02T00:00:00Z",
        resolved_at="2026-01-01T00:00:00Z",
    )
    # First seen exactly at the period end: not in the period.
    s.finding(
        "f-old3",
        "drift",
        "unassigned_account",
        "open",
        app="slack",
        account_id="S-old3",
        person_id="E2",
        first_seen="2026-07-01T00:00:00Z",
    )
    # An account of the first listing, creation unknown, that monitoring found unmatched.
    s.finding(
        "f-ci",
        "orphan",
        "unmatched",
        "open",
        app="github",
        account_id="G-ci",
        person_id=None,
        first_seen="2026-02-01T06:00:00Z",
    )
    # A kind this test does not judge.
    s.finding(
        "f-dormant",
        "dormant",
        "no_login",
        "open",
        app="slack",
        account_id="S-bob",
        person_id="E2",
        first_seen="2026-05-01T00:00:00Z",
    )


# --------------------------------------------------------------------------- unique_ids


def identities(s: Tenant) -> None:
    """Accounts around the data cut-off 2026-06-30 06:00, one per rule and edge."""
    s.run(1, "workday", "hris", "full", "2025-10-01T00:00:00Z")
    s.run(2, "slack", "scim", "full", "2025-10-01T00:00:00Z")
    s.run(3, "okta", "okta", "full", "2025-10-01T00:00:00Z")
    s.run(4, "github", "app_export", "full", "2025-10-01T00:00:00Z")
    s.run(5, "slack", "scim", "full", "2026-06-30T06:00:00Z")  # the data cut-off

    s.hr("E1", "Alice Unique", hire="2020-01-06T00:00:00Z")
    s.hr("E2", "Bob Twice", hire="2020-01-06T00:00:00Z")
    s.hr("E3", "Carl Merged", hire="2020-01-06T00:00:00Z")
    s.hr(
        "E4",
        "Dee Gone",
        hire="2020-01-06T00:00:00Z",
        status="terminated",
        termination=eod("2026-05-31"),
    )
    s.hr("E5", "Erin Owner", hire="2015-06-01T00:00:00Z")
    s.hr("E6", "Fay Double", hire="2020-01-06T00:00:00Z")
    s.hr("E7", "Gil Late", hire="2026-06-29T00:00:00Z")
    s.hr("E8", "Hana Merged", hire="2020-01-06T00:00:00Z")
    s.idp_user("00u7", "ivy@partner.example", "Ivy Advisor", person_id=None)
    s.idp_user("00u9", "build-bot", "Build Bot", person_id=None)

    v = "2025-10-01T00:00:00Z"
    s.acct("slack", "S1", "alice", run_id=2, valid_from=v)
    s.acct("github", "G1", "bob", run_id=4, valid_from=v)
    s.acct("github", "G2", "bob-admin", run_id=4, valid_from=v)
    # Carl's second account was merged away before the cut-off; its finding resolved then.
    s.acct("slack", "S3", "carl", run_id=2, valid_from=v)
    s.acct("slack", "S3b", "carl.old", run_id=2, valid_from=v, valid_to="2026-05-01T00:00:00Z")
    s.acct("slack", "S3b", "carl.old", run_id=2, valid_from="2026-05-01T00:00:00Z", active=False)
    # Dee was terminated past the grace period: her two accounts are orphans, not duplicates.
    s.acct("github", "G4", "dee", run_id=4, valid_from=v)
    s.acct("github", "G4b", "dee-2", run_id=4, valid_from=v)
    s.acct("github", "G9", "svc-deploy", run_id=4, valid_from=v)
    s.acct("slack", "S9", "build-bot", run_id=2, valid_from=v)
    s.acct("slack", "S-ghost", "ghost", run_id=2, valid_from=v)
    s.acct("github", "G5", "erin", run_id=4, valid_from=v)
    s.acct("slack", "S8", "hana", run_id=2, valid_from=v)
    s.acct("slack", "S8b", "hana.k", run_id=2, valid_from=v, valid_to="2026-06-15T00:00:00Z")
    s.acct("slack", "S8b", "hana.k", run_id=2, valid_from="2026-06-15T00:00:00Z", active=False)
    s.acct("slack", "S7", "ivy", run_id=2, valid_from=v)
    s.acct("slack", "S-nobody", "nobody", run_id=2, valid_from=v)
    # Fay holds two accounts; monitoring has not (yet) said so.
    s.acct("zoom", "Z6", "fay", run_id=2, valid_from=v, source="zoom")
    s.acct("zoom", "Z6b", "fay.d", run_id=2, valid_from=v, source="zoom")
    # A version ending exactly at the cut-off is not active then; one starting there is.
    s.acct("slack", "S-left", "left", run_id=2, valid_from=v, valid_to="2026-06-30T06:00:00Z")
    s.acct("slack", "S-left", "left", run_id=5, valid_from="2026-06-30T06:00:00Z", active=False)
    s.acct("slack", "S-new", "newbie", run_id=5, valid_from="2026-06-30T06:00:00Z")
    # Deactivated before the cut-off, yet its unmatched finding was still open then.
    s.acct("slack", "S-stale", "stale", run_id=2, valid_from=v, valid_to="2026-06-01T00:00:00Z")
    s.acct("slack", "S-stale", "stale", run_id=2, valid_from="2026-06-01T00:00:00Z", active=False)

    s.facts("slack", "S1", "alice", "E1", "email")
    s.facts("github", "G1", "bob", "E2", "login")
    s.facts("github", "G2", "bob-admin", "E2", "external_id")
    s.facts("slack", "S3", "carl", "E3", "email")
    s.facts("slack", "S3b", "carl.old", "E3", "alias")
    for acc, name in (("G4", "dee"), ("G4b", "dee-2")):
        s.facts(
            "github",
            acc,
            name,
            "E4",
            "email",
            person_status="terminated",
            termination_at=eod("2026-05-31"),
        )
    s.facts("github", "G9", "svc-deploy", "E5", "service_account")
    s.facts("slack", "S9", "build-bot", "00u9", "login", person_kind="idp_only")
    s.facts("slack", "S-ghost", "ghost", None, "none")
    s.facts("slack", "S-nobody", "nobody", None, "none")
    s.facts("github", "G5", "erin", "E5", "email")
    s.facts("slack", "S8", "hana", "E8", "email")
    s.facts("slack", "S8b", "hana.k", "E8", "alias")
    s.facts("slack", "S7", "ivy", "00u7", "email", person_kind=None)
    s.facts("zoom", "Z6", "fay", "E6", "email")
    s.facts("zoom", "Z6b", "fay.d", "E6", "email")
    s.facts("slack", "S-left", "left", "E1", "alias")
    s.facts("slack", "S-new", "newbie", "E7", "login")
    s.facts("slack", "S-stale", "stale", None, "none")

    s.finding(
        "f-bob1",
        "duplicate",
        "multiple_accounts",
        "open",
        app="github",
        account_id="G1",
        person_id="E2",
        first_seen="2026-02-01T00:00:00Z",
    )
    s.finding(
        "f-bob2",
        "duplicate",
        "multiple_accounts",
        "accepted",
        app="github",
        account_id="G2",
        person_id="E2",
        first_seen="2026-02-01T00:00:00Z",
        ticket="SEC-9",
        owner="E5",
        until="2026-09-30T00:00:00Z",
    )
    s.finding(
        "f-carl",
        "duplicate",
        "multiple_accounts",
        "resolved",
        app="slack",
        account_id="S3",
        person_id="E3",
        first_seen="2026-01-10T00:00:00Z",
        resolved_at="2026-05-01T00:00:00Z",
    )
    s.finding(
        "f-ghost",
        "orphan",
        "unmatched",
        "open",
        app="slack",
        account_id="S-ghost",
        person_id=None,
        first_seen="2025-10-01T06:00:00Z",
    )
    s.finding(
        "f-stale",
        "orphan",
        "unmatched",
        "resolved",
        app="slack",
        account_id="S-stale",
        person_id=None,
        first_seen="2025-10-01T06:00:00Z",
        resolved_at="2026-07-01T06:00:00Z",
    )
    # Resolved after the cut-off: open at it, on an account listed active and on one not.
    for acc in ("S8", "S8b"):
        s.finding(
            f"f-hana-{acc}",
            "duplicate",
            "multiple_accounts",
            "resolved",
            app="slack",
            account_id=acc,
            person_id="E8",
            first_seen="2026-03-01T00:00:00Z",
            resolved_at="2026-07-01T06:00:00Z",
        )
    # First seen after the cut-off: not open at it.
    s.finding(
        "f-alice",
        "duplicate",
        "multiple_accounts",
        "open",
        app="slack",
        account_id="S1",
        person_id="E1",
        first_seen="2026-06-30T06:00:01Z",
    )
    # A kind this test does not judge.
    s.finding(
        "f-dee",
        "orphan",
        "terminated_active",
        "open",
        app="github",
        account_id="G4",
        person_id="E4",
        first_seen="2026-06-02T00:00:00Z",
    )


# --------------------------------------------------------------------------- expectations

PROVISIONING_COLUMNS = (
    "person_id",
    "display_name",
    "app",
    "account",
    "account_id",
    "created_at",
    "created_basis",
    "hire_date",
    "assigned_at",
    "hours_to_provision",
    "status",
    "reason",
)

# Every row of the joiners population, in the query's order, by account_id. Absent on
# purpose: S-old1 (finding resolved before the period), S-old3 (finding first seen at the
# period end), G-legacy, J-old and S-both (in a source's first listing, no creation date), S-gina
# and S-hal
# (created or first listed exactly at the period end).
PROVISIONING: dict[str, tuple[Any, ...]] = {
    "S-old2": (
        None,
        None,
        "slack",
        "old2",
        "S-old2",
        ts("2025-06-02T08:00:00Z"),
        "reported",
        None,
        None,
        None,
        "exception",
        (
            "Created 2025-06-02 08:00 UTC, as the app reports, outside the period. It matches no "
            "person (no HR record or IdP user by externalId, email, alias or login) and no "
            "service-account policy names it: nobody authorised it. It is in the population "
            "because a monitoring finding was open in the period: orphan/unmatched f-old2 on "
            "2025-10-02 (status resolved on 2026-01-01)."
        ),
    ),
    "S-erin": (
        "E5",
        "Erin Owner",
        "slack",
        "erin",
        "S-erin",
        ts("2026-01-01T00:00:00Z"),
        "first listed",
        ts("2015-06-01T00:00:00Z"),
        None,
        92808.0,
        "ok",
        (
            "First listed 2026-01-01 00:00 UTC; the app reports no creation date, so the first "
            "observation is taken as the creation date. Owned by Erin Owner (E5), matched by "
            "email; created 3867.0 days after the hire date 2015-06-01."
        ),
    ),
    "S-frank": (
        "E2",
        "Bob Steady",
        "slack",
        "frank",
        "S-frank",
        ts("2026-01-01T00:00:00Z"),
        "reported",
        ts("2020-01-06T00:00:00Z"),
        ts("2026-03-09T12:00:00Z"),
        -1620.0,
        "ok",
        (
            "Created 2026-01-01 00:00 UTC, as the app reports. Owned by Bob Steady (E2), matched "
            "by alias; created 2187.0 days after the hire date 2020-01-06. The identity provider "
            "assigned the app at 2026-03-09 12:00 UTC, 67.5 days after the creation."
        ),
    ),
    "G-new": (
        "E2",
        "Bob Steady",
        "github",
        "gh-new",
        "G-new",
        ts("2026-01-20T15:30:00Z"),
        "reported",
        ts("2020-01-06T00:00:00Z"),
        None,
        52959.5,
        "ok",
        (
            "Created 2026-01-20 15:30 UTC, as the app reports. Owned by Bob Steady (E2), matched "
            "by login; created 2206.6 days after the hire date 2020-01-06."
        ),
    ),
    "G-svc": (
        "E5",
        "Erin Owner",
        "github",
        "svc-deploy",
        "G-svc",
        ts("2026-01-25T00:00:00Z"),
        "reported",
        None,
        None,
        None,
        "ok",
        (
            "Created 2026-01-25 00:00 UTC, as the app reports. An owned service account (policy), "
            "authorised by its owner Erin Owner (E5)."
        ),
    ),
    "S-carol": (
        "E3",
        "Carol Rehired",
        "slack",
        "carol",
        "S-carol",
        ts("2026-02-01T10:00:00Z"),
        "reported",
        ts("2019-01-07T00:00:00Z"),
        None,
        61978.0,
        "ok",
        (
            "Created 2026-02-01 10:00 UTC, as the app reports. Owned by Carol Rehired (E3), "
            "matched by email; created 2582.4 days after the hire date 2019-01-07, during the "
            "employment that ended 2026-02-15."
        ),
    ),
    "S-fred": (
        "E6",
        "Fred Gone",
        "slack",
        "fred",
        "S-fred",
        ts("2026-03-02T00:00:00Z"),
        "reported",
        None,
        None,
        None,
        "exception",
        (
            "Created 2026-03-02 00:00 UTC, as the app reports. Owned by Fred Gone (E6), matched "
            "by email; created 2.0 days after the employment ended 2026-02-27, with no later "
            "hire."
        ),
    ),
    "S-alice": (
        "E1",
        "Alice New",
        "slack",
        "alice",
        "S-alice",
        ts("2026-03-02T09:00:00Z"),
        "reported",
        ts("2026-03-06T00:00:00Z"),
        None,
        -87.0,
        "exception",
        (
            "Created 2026-03-02 09:00 UTC, as the app reports. Owned by Alice New (E1), matched "
            "by email; created 3.6 days before the hire date 2026-03-06."
        ),
    ),
    "S-temp": (
        None,
        None,
        "slack",
        "temp-import",
        "S-temp",
        ts("2026-03-09T08:00:00Z"),
        "reported",
        None,
        None,
        None,
        "exception",
        (
            "Created 2026-03-09 08:00 UTC, as the app reports. It matches no person (no HR record "
            "or IdP user by externalId, email, alias or login) and no service-account policy "
            "names it: nobody authorised it."
        ),
    ),
    "J-new": (
        "E2",
        "Bob Steady",
        "jira",
        "jnew",
        "J-new",
        ts("2026-03-10T00:00:00Z"),
        "first listed",
        ts("2020-01-06T00:00:00Z"),
        None,
        54120.0,
        "ok",
        (
            "First listed 2026-03-10 00:00 UTC; the app reports no creation date, so the first "
            "observation is taken as the creation date. Owned by Bob Steady (E2), matched by "
            "email; created 2255.0 days after the hire date 2020-01-06."
        ),
    ),
    "S-bob": (
        "E2",
        "Bob Steady",
        "slack",
        "bob",
        "S-bob",
        ts("2026-03-10T00:00:00Z"),
        "first listed",
        ts("2020-01-06T00:00:00Z"),
        ts("2026-03-09T12:00:00Z"),
        12.0,
        "ok",
        (
            "First listed 2026-03-10 00:00 UTC; the app reports no creation date, so the first "
            "observation is taken as the creation date. Owned by Bob Steady (E2), matched by "
            "email; created 2255.0 days after the hire date 2020-01-06. The identity provider "
            "assigned the app at 2026-03-09 12:00 UTC, 12.0 h before the creation."
        ),
    ),
    "S-ghost": (
        None,
        None,
        "slack",
        "ghost",
        "S-ghost",
        ts("2026-03-10T00:00:00Z"),
        "first listed",
        None,
        None,
        None,
        "exception",
        (
            "First listed 2026-03-10 00:00 UTC; the app reports no creation date, so the first "
            "observation is taken as the creation date. It matches no person (no HR record or IdP "
            "user by externalId, email, alias or login) and no service-account policy names it: "
            "nobody authorised it. Monitoring raised orphan/unmatched f-ghost on 2026-03-10 "
            "(status accepted, accepted risk SEC-7 owned by E5 until 2026-12-31)."
        ),
    ),
    "S-ivy": (
        "00u7",
        "Ivy Advisor",
        "slack",
        "ivy",
        "S-ivy",
        ts("2026-03-10T00:00:00Z"),
        "first listed",
        None,
        None,
        None,
        "ok",
        (
            "First listed 2026-03-10 00:00 UTC; the app reports no creation date, so the first "
            "observation is taken as the creation date. Owned by Ivy Advisor (00u7), matched by "
            "email, a person known to the identity provider only: there is no HR hire date, so no "
            "before-hire judgement."
        ),
    ),
    "S-multi": (
        "E2",
        "Bob Steady",
        "slack",
        "multi",
        "S-multi",
        ts("2026-03-10T00:00:00Z"),
        "first listed",
        ts("2020-01-06T00:00:00Z"),
        ts("2026-03-09T12:00:00Z"),
        12.0,
        "ok",
        (
            "First listed 2026-03-10 00:00 UTC; the app reports no creation date, so the first "
            "observation is taken as the creation date. Owned by Bob Steady (E2), matched by "
            "email; created 2255.0 days after the hire date 2020-01-06. The identity provider "
            "assigned the app at 2026-03-09 12:00 UTC, 12.0 h before the creation."
        ),
    ),
    "Z-carol": (
        "E3",
        "Carol Rehired",
        "zoom",
        "carol",
        "Z-carol",
        ts("2026-03-15T00:00:00Z"),
        "reported",
        ts("2026-04-01T00:00:00Z"),
        None,
        -408.0,
        "exception",
        (
            "Created 2026-03-15 00:00 UTC, as the app reports. Owned by Carol Rehired (E3), "
            "matched by email; created 17.0 days before the hire date 2026-04-01 of a rehire, "
            "after the previous employment ended 2026-02-15."
        ),
    ),
    "Z-bot": (
        "00u9",
        "Build Bot",
        "zoom",
        "build-bot",
        "Z-bot",
        ts("2026-03-20T06:00:00Z"),
        "reported",
        None,
        ts("2026-03-19T00:00:00Z"),
        30.0,
        "ok",
        (
            "Created 2026-03-20 06:00 UTC, as the app reports. Owned by Build Bot (00u9), matched "
            "by login, a person known to the identity provider only: there is no HR hire date, so "
            "no before-hire judgement. The identity provider assigned the app at 2026-03-19 00:00 "
            "UTC, 30.0 h before the creation."
        ),
    ),
    "S-carol2": (
        "E3",
        "Carol Rehired",
        "slack",
        "carol.2",
        "S-carol2",
        ts("2026-04-02T12:00:00Z"),
        "reported",
        ts("2026-04-01T00:00:00Z"),
        None,
        36.0,
        "ok",
        (
            "Created 2026-04-02 12:00 UTC, as the app reports. Owned by Carol Rehired (E3), "
            "matched by alias; created 36.0 h after the hire date 2026-04-01 of a rehire (the "
            "previous employment ended 2026-02-15)."
        ),
    ),
    "Z-dan": (
        "E9",
        "Dan Again",
        "zoom",
        "dan",
        "Z-dan",
        ts("2026-05-01T00:00:00Z"),
        "reported",
        ts("2026-05-04T00:00:00Z"),
        None,
        -72.0,
        "exception",
        (
            "Created 2026-05-01 00:00 UTC, as the app reports. Owned by Dan Again (E9), matched "
            "by email; created 3.0 days before the hire date 2026-05-04 of a rehire, after the "
            "previous employment ended 2025-11-30."
        ),
    ),
    "S-dora": (
        "E4",
        "Dora Drift",
        "slack",
        "dora",
        "S-dora",
        ts("2026-06-30T06:00:00Z"),
        "first listed",
        ts("2021-02-01T00:00:00Z"),
        None,
        47406.0,
        "exception",
        (
            "First listed 2026-06-30 06:00 UTC; the app reports no creation date, so the first "
            "observation is taken as the creation date. Owned by Dora Drift (E4), matched by "
            "email; created 1975.2 days after the hire date 2021-02-01. Monitoring raised "
            "drift/unassigned_account f-dora on 2026-06-30 (status open)."
        ),
    ),
    "G-ci": (
        None,
        None,
        "github",
        "legacy-ci",
        "G-ci",
        None,
        None,
        None,
        None,
        None,
        "exception",
        (
            "Listed since the first listing of its source on 2026-02-01 00:00 UTC, and the app "
            "reports no creation date: when it was created is unknown. It matches no person (no "
            "HR record or IdP user by externalId, email, alias or login) and no service-account "
            "policy names it: nobody authorised it. It is in the population because a monitoring "
            "finding was open in the period: orphan/unmatched f-ci on 2026-02-01 (status open)."
        ),
    ),
}

UNIQUE_IDS_COLUMNS = (
    "app",
    "account",
    "account_id",
    "person_id",
    "display_name",
    "matched_by",
    "owner",
    "status",
    "reason",
)

# Every row of the unique-ids population, in order, by account_id. Absent on purpose: S3b
# (inactive at the cut-off, its finding resolved) and S-left (its active version ends exactly
# at the cut-off).
UNIQUE_IDS: dict[str, tuple[Any, ...]] = {
    "G1": (
        "github",
        "bob",
        "G1",
        "E2",
        "Bob Twice",
        "login",
        None,
        "exception",
        (
            "One of 2 active accounts of Bob Twice (E2) in github at the data cut-off (bob, "
            "bob-admin). Monitoring raised duplicate/multiple_accounts f-bob1 on 2026-02-01 "
            "(status open), open at the cut-off."
        ),
    ),
    "G2": (
        "github",
        "bob-admin",
        "G2",
        "E2",
        "Bob Twice",
        "external_id",
        None,
        "exception",
        (
            "One of 2 active accounts of Bob Twice (E2) in github at the data cut-off (bob, "
            "bob-admin). Monitoring raised duplicate/multiple_accounts f-bob2 on 2026-02-01 "
            "(status accepted, accepted risk SEC-9 owned by E5 until 2026-09-30), open at the "
            "cut-off."
        ),
    ),
    "G4": (
        "github",
        "dee",
        "G4",
        "E4",
        "Dee Gone",
        "email",
        None,
        "ok",
        "Matched by email.",
    ),
    "G4b": (
        "github",
        "dee-2",
        "G4b",
        "E4",
        "Dee Gone",
        "email",
        None,
        "ok",
        "Matched by email.",
    ),
    "G5": (
        "github",
        "erin",
        "G5",
        "E5",
        "Erin Owner",
        "email",
        None,
        "ok",
        "Matched by email.",
    ),
    "G9": (
        "github",
        "svc-deploy",
        "G9",
        None,
        None,
        "service_account",
        "E5",
        "ok",
        ("An owned service account: the service-account policy names its owner Erin Owner (E5)."),
    ),
    "S1": (
        "slack",
        "alice",
        "S1",
        "E1",
        "Alice Unique",
        "email",
        None,
        "ok",
        "Matched by email.",
    ),
    "S9": (
        "slack",
        "build-bot",
        "S9",
        "00u9",
        "Build Bot",
        "login",
        None,
        "ok",
        ("Matched by login to a person known to the identity provider only."),
    ),
    "S3": (
        "slack",
        "carl",
        "S3",
        "E3",
        "Carl Merged",
        "email",
        None,
        "ok",
        "Matched by email.",
    ),
    "S-ghost": (
        "slack",
        "ghost",
        "S-ghost",
        None,
        None,
        "none",
        None,
        "exception",
        (
            "Identifies nobody: it matches no HR record or IdP user by externalId, email, alias "
            "or login, and no service-account policy names it. Monitoring raised orphan/unmatched "
            "f-ghost on 2025-10-01 (status open), open at the cut-off."
        ),
    ),
    "S8": (
        "slack",
        "hana",
        "S8",
        "E8",
        "Hana Merged",
        "email",
        None,
        "exception",
        (
            "Matched by email. Monitoring raised "
            "duplicate/multiple_accounts f-hana-S8 on 2026-03-01 (status resolved on 2026-07-01), "
            "open at the cut-off."
        ),
    ),
    "S8b": (
        "slack",
        "hana.k",
        "S8b",
        "E8",
        "Hana Merged",
        "alias",
        None,
        "exception",
        (
            "Not listed active at the data cut-off 2026-06-30 06:00 UTC. Matched by alias. "
            "Monitoring raised duplicate/multiple_accounts f-hana-S8b on "
            "2026-03-01 (status resolved on 2026-07-01), open at the cut-off."
        ),
    ),
    "S7": (
        "slack",
        "ivy",
        "S7",
        "00u7",
        "Ivy Advisor",
        "email",
        None,
        "ok",
        ("Matched by email to a person known to the identity provider only."),
    ),
    "S-new": (
        "slack",
        "newbie",
        "S-new",
        "E7",
        "Gil Late",
        "login",
        None,
        "ok",
        "Matched by login.",
    ),
    "S-nobody": (
        "slack",
        "nobody",
        "S-nobody",
        None,
        None,
        "none",
        None,
        "exception",
        (
            "Identifies nobody: it matches no HR record or IdP user by externalId, email, alias "
            "or login, and no service-account policy names it."
        ),
    ),
    "S-stale": (
        "slack",
        "stale",
        "S-stale",
        None,
        None,
        "none",
        None,
        "exception",
        (
            "Not listed active at the data cut-off 2026-06-30 06:00 UTC. Identifies nobody: it "
            "matches no HR record or IdP user by externalId, email, alias or login, and no "
            "service-account policy names it. Monitoring raised orphan/unmatched f-stale on "
            "2025-10-01 (status resolved on 2026-07-01), open at the cut-off."
        ),
    ),
    "Z6": (
        "zoom",
        "fay",
        "Z6",
        "E6",
        "Fay Double",
        "email",
        None,
        "exception",
        ("One of 2 active accounts of Fay Double (E6) in zoom at the data cut-off (fay, fay.d)."),
    ),
    "Z6b": (
        "zoom",
        "fay.d",
        "Z6b",
        "E6",
        "Fay Double",
        "email",
        None,
        "exception",
        ("One of 2 active accounts of Fay Double (E6) in zoom at the data cut-off (fay, fay.d)."),
    ),
}


# --------------------------------------------------------------------------- fixtures


def _store(tmp: Path, build: Any) -> duckdb.DuckDBPyConnection:
    """A real store file holding `build`'s rows, with the report's temp tables installed.

    The writer connection is kept for the queries: they only read.
    """
    con = open_store(tmp / "evidence.duckdb")
    build(Tenant(con))
    install_tables(con, POLICY)
    return con


@pytest.fixture(scope="module")
def joiners_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = _store(tmp_path_factory.mktemp("joiners"), joiners)
    yield con
    con.close()


@pytest.fixture(scope="module")
def identities_db(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[duckdb.DuckDBPyConnection]:
    con = _store(tmp_path_factory.mktemp("ids"), identities)
    yield con
    con.close()


@pytest.fixture(scope="module")
def joiners_table(joiners_db: duckdb.DuckDBPyConnection) -> Table:
    return run(joiners_db, "provisioning.sql")


@pytest.fixture(scope="module")
def identities_table(identities_db: duckdb.DuckDBPyConnection) -> Table:
    return run(identities_db, "unique_ids.sql")


def by_account(table: Table) -> dict[str, tuple[Any, ...]]:
    index = table.columns.index("account_id")
    return {r[index]: r for r in table.rows}


# --------------------------------------------------------------------------- provisioning


def test_provisioning_population_is_exactly_these_rows_in_order(joiners_table: Table) -> None:
    assert joiners_table.columns == PROVISIONING_COLUMNS
    assert [r[4] for r in joiners_table.rows] == list(PROVISIONING)
    assert len({(r[2], r[4]) for r in joiners_table.rows}) == len(joiners_table.rows)


@pytest.mark.parametrize("account_id", list(PROVISIONING))
def test_provisioning_row(joiners_table: Table, account_id: str) -> None:
    assert by_account(joiners_table).get(account_id) == PROVISIONING[account_id]


def test_provisioning_period_is_half_open(joiners_db: duckdb.DuckDBPyConnection) -> None:
    # A period ending a microsecond later takes in the two accounts created or first listed
    # exactly at 2026-07-01 00:00 (and the finding first seen then).
    later = run(joiners_db, "provisioning.sql", end=ts("2026-07-01T00:00:00.000001Z"))
    added = set(by_account(later)) - set(PROVISIONING)
    assert added == {"S-gina", "S-hal", "S-old3"}
    # A period starting a microsecond later loses the two at 2026-01-01 00:00, and the old
    # account whose finding was resolved exactly then.
    start = ts("2026-01-01T00:00:00.000001Z")
    lost = set(PROVISIONING) - set(by_account(run(joiners_db, "provisioning.sql", start=start)))
    assert lost == {"S-frank", "S-erin", "S-old2"}


def test_provisioning_latency_by_app(joiners_db: duckdb.DuckDBPyConnection) -> None:
    table = run(joiners_db, "provisioning_latency.sql")
    assert table.columns == (
        "app",
        "created",
        "measured",
        "p50_hours",
        "p90_hours",
        "p95_hours",
        "max_hours",
        "before",
    )
    assert table.rows == [
        ("github", 2, 1, 52959.5, 52959.5, 52959.5, 52959.5, 0),
        ("jira", 1, 1, 54120.0, 54120.0, 54120.0, 54120.0, 0),
        ("slack", 12, 6, 36.0, 92808.0, 92808.0, 92808.0, 2),
        ("zoom", 3, 1, 30.0, 30.0, 30.0, 30.0, 2),
        (None, 18, 9, 47406.0, 92808.0, 92808.0, 92808.0, 4),
    ]


def _nearest_rank(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)] if ordered else None


def test_provisioning_latency_reconciles_with_the_population(
    joiners_db: duckdb.DuckDBPyConnection, joiners_table: Table
) -> None:
    # The figures are the population's own: recomputed here from its rows created in the
    # period (created_at inside it), per app and in total.
    rows = [
        r
        for r in joiners_table.dicts()
        if r["created_at"] is not None and START <= r["created_at"] < END
    ]
    groups: dict[str | None, list[dict[str, Any]]] = {None: rows}
    for r in rows:
        groups.setdefault(r["app"], []).append(r)
    expected = []
    for app in sorted(a for a in groups if a is not None) + [None]:
        hours = [r["hours_to_provision"] for r in groups[app]]
        measured = [h for h in hours if h is not None and h >= 0]
        expected.append(
            (
                app,
                len(hours),
                len(measured),
                _nearest_rank(measured, 0.5),
                _nearest_rank(measured, 0.9),
                _nearest_rank(measured, 0.95),
                max(measured, default=None),
                len([h for h in hours if h is not None and h < 0]),
            )
        )
    assert run(joiners_db, "provisioning_latency.sql").rows == expected


def test_latency_query_shares_the_population_block() -> None:
    # provisioning_latency.sql computes the population with provisioning.sql's own text.
    def block(name: str) -> str:
        text = load_query(name).text
        match = re.search(r"-- shared: population.*?-- end shared: population\n", text, re.DOTALL)
        assert match, name
        return match.group(0)

    assert block("provisioning.sql") == block("provisioning_latency.sql")
    raw = (Path(__file__).parent.parent / "reports/queries/provisioning_latency.sql").read_text()
    assert "-- include: provisioning.sql population\n" in raw and "-- shared:" not in raw


def test_queries_on_an_empty_store(tmp_path: Path) -> None:
    con = _store(tmp_path, lambda s: None)
    assert run(con, "provisioning.sql").rows == []
    assert run(con, "provisioning_latency.sql").rows == [(None, 0, 0, None, None, None, None, 0)]
    assert run(con, "unique_ids.sql").rows == []
    con.close()


# --------------------------------------------------------------------------- unique_ids


def test_unique_ids_population_is_exactly_these_rows_in_order(identities_table: Table) -> None:
    assert identities_table.columns == UNIQUE_IDS_COLUMNS
    assert [r[2] for r in identities_table.rows] == list(UNIQUE_IDS)


@pytest.mark.parametrize("account_id", list(UNIQUE_IDS))
def test_unique_ids_row(identities_table: Table, account_id: str) -> None:
    assert by_account(identities_table).get(account_id) == UNIQUE_IDS[account_id]


def test_unique_ids_reads_the_listings_as_of_the_cut_off(
    identities_db: duckdb.DuckDBPyConnection,
) -> None:
    # A microsecond before the cut-off, S-left is still active and S-new not yet listed;
    # f-alice (first seen a second after the cut-off) stays out either way.
    before = by_account(
        run(identities_db, "unique_ids.sql", as_of=ts("2026-06-30T05:59:59.999999Z"))
    )
    assert set(before) - set(UNIQUE_IDS) == {"S-left"}
    assert set(UNIQUE_IDS) - set(before) == {"S-new"}
    # S-left is Alice's second slack account then: both are duplicates.
    assert before["S-left"][7] == before["S1"][7] == "exception"
    assert before["S1"][8] == (
        "One of 2 active accounts of Alice Unique (E1) in slack at the data cut-off (alice, left)."
    )


# --------------------------------------------------------------------------- library entries


@pytest.mark.parametrize("test_id", ["provisioning", "unique_ids"])
def test_library_entry_matches_its_queries(test_id: str, tmp_path: Path) -> None:
    # The YAML lists every column each query returns, in order, and every $name it uses.
    entry = yaml.safe_load(
        (Path(__file__).parents[1] / "reports" / "library" / f"{test_id}.yaml").read_text("utf-8")
    )
    assert entry["id"] == test_id and entry["kind"] == "population"
    con = _store(tmp_path, lambda s: None)
    try:
        for name, columns in [
            (entry["query"], entry["columns"]),
            *((b["query"], b["columns"]) for b in entry.get("breakdowns") or ()),
        ]:
            query = load_query(name)
            assert set(query.parameters) <= set(entry["parameters"]) <= set(PARAMETERS)
            assert list(run(con, name).columns) == [c["name"] for c in columns]
        assert set(load_query(entry["query"]).parameters) == set(entry["parameters"])
        names = [c["name"] for c in entry["columns"]]
        assert {"status", "reason", "app", "account", "account_id", *entry["key"]} <= set(names)
    finally:
        con.close()
