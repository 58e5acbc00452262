"""The analysts' views: exact rows on a hand-built store, and their columns as documented."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from evidence.config import Policy
from evidence.matching import build_account_owners
from evidence.sql import sql_statements
from evidence.store.db import open_store
from evidence.store.schema import MIGRATIONS, migrate
from evidence.store.views import VIEWS
from tests.builders import Store, eod, ts

ROOT = Path(__file__).resolve().parent.parent
BOB_OUT = eod("2026-01-10")


def person(s: Store, pid: str, name: str, dept: str, status: str, **kw: Any) -> None:
    """One version of an HR record (hired 2020-01-06), its email `<pid>@example.com`."""
    vf, vt = kw.pop("valid_from", "2026-01-01T00:00:00Z"), kw.pop("valid_to", None)
    s.version(
        "people",
        run_id=1,
        valid_from=vf,
        valid_to=vt,
        source="workday",
        person_id=pid,
        hire_date=ts("2020-01-06T00:00:00Z"),
        email=f"{pid.lower()}@example.com",
        display_name=name,
        department=dept,
        title=kw.pop("title", "Engineer"),
        employment_type="employee",
        status=status,
        **kw,
    )


def account(s: Store, app: str, aid: str, user: str, email: str | None, **kw: Any) -> None:
    s.version("accounts", source=app, app=app, account_id=aid, user_name=user, email=email, **kw)


def event(s: Store, seq: int, source: str, action: str, at: str, **kw: Any) -> None:
    details = kw.pop("details", None)
    s.row(
        "events",
        event_id=f"ev-{seq}",
        seq=seq,
        run_id=kw.pop("run_id"),
        source=source,
        native_type=kw.pop("native_type", action),
        occurred_at=ts(at),
        ingested_at=ts(at),
        action=action,
        outcome="success",
        inferred=kw.pop("inferred", False),
        details=json.dumps(details) if details is not None else None,
        event_hash=f"h{seq}",
        **kw,
    )


def build(s: Store) -> None:
    """HR (Ada moved from Eng to Security; Bob terminated on 2026-01-10), Okta (Ada's user,
    an IdP-only contractor), GitHub (Ada's account, Bob's removed account, an unmatched one)
    and Jira (Bob's account, still active)."""
    s.run(1, "workday", "hris", "full", "2026-01-01T00:00:00Z")
    s.run(2, "okta", "okta", "full", "2026-01-02T00:00:00Z")
    s.run(3, "github", "scim", "full", "2026-01-02T00:00:00Z")
    s.run(4, "github", "scim", "full", "2026-01-04T00:00:00Z")
    s.run(5, "workday", "hris", "full", "2026-01-05T00:00:00Z")
    s.run(6, "github", "scim", "full", "2026-01-12T00:00:00Z")
    s.run(7, "jira", "scim", "full", "2026-01-03T00:00:00Z")
    person(s, "E1042", "Ada", "Eng", "active", valid_to="2026-01-05T00:00:00Z")
    person(s, "E1042", "Ada", "Security", "active", valid_from="2026-01-05T00:00:00Z")
    person(s, "E2001", "Bob", "Sales", "terminated", title="AE", termination_date=BOB_OUT)
    for uid, login, number in (
        ("00u1", "ada.l@example.com", "E1042"),
        ("00u9", "con@ext.example", None),
    ):
        s.version(
            "idp_users",
            run_id=2,
            valid_from="2026-01-02T00:00:00Z",
            source="okta",
            user_id=uid,
            login=login,
            email=login,
            employee_number=number,
            display_name=login.split("@")[0],
            status="ACTIVE",
            lifecycle="active",
        )
    # Ada's account: a new version on 01-04 (a new last login) is one spell of access.
    ada = dict(app="github", aid="gh-1", user="ada", email="e1042@example.com", active=True)
    account(s, **ada, run_id=3, valid_from="2026-01-02T00:00:00Z", valid_to="2026-01-04T00:00:00Z")
    account(s, **ada, run_id=4, valid_from="2026-01-04T00:00:00Z", last_login_at=ts("2026-01-03"))
    bob = dict(app="github", aid="gh-2", user="bob", email="e2001@example.com")
    account(s, **bob, active=True, run_id=3, valid_from="2026-01-02T00:00:00Z",
            valid_to="2026-01-12T00:00:00Z")  # fmt: skip
    account(s, **bob, active=False, run_id=6, valid_from="2026-01-12T00:00:00Z")
    account(s, "github", "gh-3", "stranger", None, active=True, run_id=3,
            valid_from="2026-01-02T00:00:00Z")  # fmt: skip
    account(s, "jira", "j-7", "bob", "e2001@example.com", active=True, run_id=7,
            valid_from="2026-01-03T00:00:00Z")  # fmt: skip
    # Ada's admin grant, dropped by the 01-04 listing and back on 01-12: two spells.
    s.grant("github", "gh-1", "admin", run_id=3, valid_from="2026-01-02T00:00:00Z",
            valid_to="2026-01-04T00:00:00Z")  # fmt: skip
    s.grant("github", "gh-1", "admin", run_id=6, valid_from="2026-01-12T00:00:00Z")

    event(s, 1, "workday", "hr.hire", "2020-01-06T00:00:00Z", run_id=1, person_id="E1042",
          details={"department": "Eng", "title": "Engineer", "status": "active"})  # fmt: skip
    event(s, 2, "workday", "hr.move", "2026-01-05T00:00:00Z", run_id=5, person_id="E1042",
          inferred=True, native_type="snapshot:people",
          details={"department": {"from": "Eng", "to": "Security"},
                   "title": {"from": "Engineer", "to": "Engineer"}})  # fmt: skip
    event(s, 3, "workday", "hr.terminate", BOB_OUT.isoformat(), run_id=5, person_id="E2001",
          details={"department": "Sales", "title": "AE", "status": "terminated"})  # fmt: skip
    event(s, 4, "workday", "hr.leave", "2026-01-05T00:00:00Z", run_id=5, person_id="E1042")
    # Okta names the app by its label and the person by the Okta user id.
    event(s, 5, "okta", "app.assign", "2026-01-02T10:00:00Z", run_id=2, person_id="00u1",
          app="GitHub", native_type="application.user_membership.add")  # fmt: skip
    event(s, 6, "okta", "user.login", "2026-01-02T11:00:00Z", run_id=2, person_id="00u9",
          app="Slack")  # fmt: skip
    event(s, 7, "okta", "user.login", "2026-01-02T12:00:00Z", run_id=2, person_id="00uX")
    # GitHub's own report of Bob's removal, 9 h after his last working day ended.
    event(s, 8, "github", "account.deactivate", "2026-01-11T09:00:00Z", run_id=6,
          app="github", account_id="gh-2")  # fmt: skip
    s.finding("f-1", "orphan", "terminated_active", app="jira", account_id="j-7",
              person_id="E2001", first_seen="2026-01-12T00:00:00Z")  # fmt: skip
    s.finding("f-2", "orphan", "unmatched", app="github", account_id="gh-3", person_id=None,
              first_seen="2026-01-12T00:00:00Z")  # fmt: skip
    build_account_owners(s.con, Policy(), 100)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Any:
    c = open_store(tmp_path_factory.mktemp("views") / "s.duckdb")
    build(Store(c))
    yield c
    c.close()


def q(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_v_events_resolves_the_okta_label_and_user_id(con) -> None:
    got = q(
        con,
        "SELECT event_id, app, native_app, person_id, native_person_id, person_via "
        "FROM v_events ORDER BY seq",
    )
    assert got == [
        ("ev-1", None, None, "E1042", "E1042", "source"),
        ("ev-2", None, None, "E1042", "E1042", "source"),
        ("ev-3", None, None, "E2001", "E2001", "source"),
        ("ev-4", None, None, "E1042", "E1042", "source"),
        ("ev-5", "github", "GitHub", "E1042", "00u1", "idp_user"),
        ("ev-6", "Slack", "Slack", "00u9", "00u9", "idp_user"),
        ("ev-7", None, None, "00uX", "00uX", "source"),
        ("ev-8", "github", "github", "E2001", None, "account"),
    ]
    # One WHERE finds every event of the app, and of the person, whichever source said it.
    assert q(con, "SELECT event_id FROM v_events WHERE app = 'github' ORDER BY seq") == [
        ("ev-5",),
        ("ev-8",),
    ]
    assert q(con, "SELECT event_id FROM v_events WHERE person_id = 'E1042' ORDER BY seq") == [
        ("ev-1",),
        ("ev-2",),
        ("ev-4",),
        ("ev-5",),
    ]
    # Every other column is the event's own.
    cols = ", ".join(c for c in VIEWS["v_events"][:19] if c not in ("app", "person_id"))
    assert q(con, f"SELECT {cols} FROM v_events EXCEPT SELECT {cols} FROM events") == []
    assert q(con, "SELECT count(*) FROM v_events") == q(con, "SELECT count(*) FROM events")


def test_v_access_intervals(con) -> None:
    got = q(
        con,
        "SELECT person_id, app, account_id, account, entitlement, valid_from, valid_to, "
        "evidence FROM v_access_intervals ORDER BY app, account_id, entitlement NULLS FIRST, "
        "valid_from",
    )

    def ev(table: str, source: str, *versions: tuple[int, str]) -> list[dict]:
        return [
            {
                "table": table,
                "source": source,
                "run_id": r,
                "valid_from": f"2026-01-{d} 00:00:00+00",
            }
            for r, d in versions
        ]

    rows = [(*r[:7], json.loads(r[7])) for r in got]
    assert rows == [
        ("E1042", "github", "gh-1", "ada", None, ts("2026-01-02T00:00:00Z"), None,
         ev("accounts", "github", (3, "02"), (4, "04"))),
        ("E1042", "github", "gh-1", "ada", "admin", ts("2026-01-02T00:00:00Z"),
         ts("2026-01-04T00:00:00Z"), ev("grants", "github", (3, "02"))),
        ("E1042", "github", "gh-1", "ada", "admin", ts("2026-01-12T00:00:00Z"), None,
         ev("grants", "github", (6, "12"))),
        ("E2001", "github", "gh-2", "bob", None, ts("2026-01-02T00:00:00Z"),
         ts("2026-01-12T00:00:00Z"), ev("accounts", "github", (3, "02"))),
        (None, "github", "gh-3", "stranger", None, ts("2026-01-02T00:00:00Z"), None,
         ev("accounts", "github", (3, "02"))),
        ("E2001", "jira", "j-7", "bob", None, ts("2026-01-03T00:00:00Z"), None,
         ev("accounts", "jira", (7, "03"))),
    ]  # fmt: skip


def test_v_people_current(con) -> None:
    got = q(
        con,
        "SELECT person_id, display_name, department, employment_type, status, termination_date, "
        "source FROM v_people_current ORDER BY person_id",
    )
    assert got == [
        ("00u9", "con", None, "idp_only", "active", None, "okta"),
        ("E1042", "Ada", "Security", "employee", "active", None, "workday"),
        ("E2001", "Bob", "Sales", "employee", "terminated", BOB_OUT, "workday"),
    ]


def test_v_findings(con) -> None:
    got = q(
        con,
        "SELECT finding_id, kind, subkind, app, account_id, person_id, person_name, "
        "person_department FROM v_findings ORDER BY finding_id",
    )
    assert got == [
        ("f-1", "orphan", "terminated_active", "jira", "j-7", "E2001", "Bob", "Sales"),
        ("f-2", "orphan", "unmatched", "github", "gh-3", None, None, None),
    ]


def test_v_deprovision_latency(con) -> None:
    got = q(
        con,
        "SELECT person_id, display_name, termination_at, app, status, access_ended_at, "
        "latency_hours, measured_by, evidence FROM v_deprovision_latency ORDER BY app",
    )
    rows = [(*r[:8], json.loads(r[8])) for r in got]
    assert rows == [
        ("E2001", "Bob", BOB_OUT, "github", "removed", ts("2026-01-11T09:00:00Z"), 9.0,
         "reported", [{"account_id": "gh-2", "account": "bob", "outcome": "reported",
                       "deactivated_at": "2026-01-11 09:00:00+00"}]),
        ("E2001", "Bob", BOB_OUT, "jira", "active", None, None, None,
         [{"account_id": "j-7", "account": "bob", "outcome": "active", "deactivated_at": None}]),
    ]  # fmt: skip


def test_v_joiners_movers_leavers(con) -> None:
    got = q(con, "SELECT * FROM v_joiners_movers_leavers ORDER BY occurred_at")
    assert got == [
        ("E1042", "joiner", ts("2020-01-06T00:00:00Z"), "Eng", "Engineer", None, None,
         "workday", False, "ev-1"),
        ("E1042", "mover", ts("2026-01-05T00:00:00Z"), "Security", "Engineer", "Eng",
         "Engineer", "workday", True, "ev-2"),
        ("E2001", "leaver", BOB_OUT, "Sales", "AE", None, None, "workday", False, "ev-3"),
    ]  # fmt: skip


def _columns(con: duckdb.DuckDBPyConnection, view: str) -> tuple[str, ...]:
    return tuple(r[0] for r in con.execute(f'DESCRIBE "{view}"').fetchall())


def _documented(view: str) -> tuple[str, ...]:
    """The columns README's list of views gives `view`, in order."""
    text = (ROOT / "README.md").read_text()
    m = re.search(rf"^- `{view}` \(([^)]*)\)", text, re.M)
    assert m, f"README does not list {view}'s columns"
    return tuple(re.findall(r"`([a-z_]+)`", m.group(1)))


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_has_its_documented_columns_on_a_fresh_store(store, view: str) -> None:
    kinds = dict(q(store, "SELECT table_name, table_type FROM information_schema.tables"))
    assert kinds[view] == "VIEW"
    assert _columns(store, view) == VIEWS[view] == _documented(view)


def test_a_migrated_store_gets_the_same_views(store_path: Path) -> None:
    con = duckdb.connect(str(store_path))
    con.execute("SET TimeZone = 'UTC'")
    with pytest.MonkeyPatch.context() as mp:  # a store as the previous release left it
        mp.setattr("evidence.store.schema.MIGRATIONS", MIGRATIONS[:5])
        assert migrate(con) == [1, 2, 3, 4, 5]
    assert not q(con, "SELECT * FROM information_schema.tables WHERE table_name LIKE 'v\\_%' "
                      "ESCAPE '\\'")  # fmt: skip
    con.close()
    con = open_store(store_path)
    try:
        assert {v: _columns(con, v) for v in VIEWS} == VIEWS
    finally:
        con.close()


def test_the_readme_view_examples_run(con) -> None:
    text = (ROOT / "README.md").read_text().split("#### Views", 1)[1]
    examples = sql_statements(text.split("```sql", 1)[1].split("```", 1)[0])
    assert [q(con, sql) for sql in examples] == [
        [(ts("2026-01-02T10:00:00Z"), "okta", "app.assign", "GitHub", "00u1")],
        [("E1042", "ada", ts("2026-01-12T00:00:00Z"))],
        [("E2001", "github", BOB_OUT, 9.0)],
    ]
