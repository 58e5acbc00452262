"""Entra ID: the export parser on tests/data/entra, the live connector against the Graph stand-in."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.entra.export import read_entra_export
from connectors.entra.live import entra_clients, read_entra_live
from connectors.entra.mapping import entra_events, entra_records
from connectors.http import AuthFailed, BadResponse, HttpStats, RetryPolicy
from connectors.records import EVENT_SCHEMA, SNAPSHOT_SCHEMAS, SourceBatch
from evidence.config import Policy, SourceConfig, source_config
from evidence.store.db import open_store
from evidence.store.load import commit_batch
from tests.fake_time import T0, FakeTime
from tests.servers.graph_standin import Fault, GraphStandin, provisioning_entry

DATA = Path(__file__).parent / "data" / "entra"
ALICE, BOB = "6e7b768e-07e2-4810-8459-485f84f8f204", "87d349ed-44d7-43e1-9a83-5f2406dee5bd"
ENG = "02bd9fd6-8f93-4758-87c3-1fb73740a315"
NOW = datetime.fromtimestamp(T0, UTC)  # 2023-11-14T22:13:20Z
CLIENT_ID, SECRET = "11111111-2222-3333-4444-555555555555", "standin~client~secret~0123456789"


def table(batch: SourceBatch, name: str) -> list[dict[str, Any]]:
    (snap,) = [s for s in batch.snapshots if s.table == name]
    return snap.rows.to_pylist()


# ---------------------------------------------------------------------------- export


@pytest.fixture(scope="module")
def export() -> SourceBatch:
    src = source_config(**
        {"name": "entra", "kind": "entra", "path": DATA, "tenant_id": "t-contoso",
         "as_of": "2024-03-10T00:00:00Z"}
    )  # fmt: skip
    return read_entra_export(src)


def test_export_snapshots(export: SourceBatch) -> None:
    assert (export.source, export.kind, export.tenant) == ("entra", "entra", "t-contoso")
    assert export.as_of == datetime(2024, 3, 10, tzinfo=UTC)
    for snap in export.snapshots:
        assert snap.rows.schema == SNAPSHOT_SCHEMAS[snap.table] and snap.apps is None
    users = {u["user_id"]: u for u in table(export, "idp_users")}
    a, b = users[ALICE], users[BOB]
    assert (a["login"], a["email"], a["second_email"], a["display_name"]) == (
        "alice@contoso.example", "alice.smith@contoso.example", "alice@personal.example",
        "Alice Smith",
    )  # fmt: skip
    assert (a["employee_number"], a["department"], a["title"], a["status"]) == (
        "E1001", "Engineering", "Engineer", "ACTIVE",
    )  # fmt: skip
    assert a["created_at"] == datetime(2023, 1, 10, 8, tzinfo=UTC)
    assert a["last_login_at"] == datetime(2024, 3, 1, 9, 15, 30, tzinfo=UTC)
    assert (b["status"], b["email"], b["last_login_at"]) == ("DISABLED", None, None)
    assert table(export, "idp_groups") == [
        {"group_id": ENG, "name": "Engineering", "attributes": '{"description":"All engineers",'
         '"groupTypes":[],"mailEnabled":false,"securityEnabled":true}'}
    ]  # fmt: skip
    # The nested group and the device are no people.
    assert table(export, "idp_group_members") == [
        {"group_id": ENG, "user_id": ALICE}, {"group_id": ENG, "user_id": BOB},
    ]  # fmt: skip
    apps = table(export, "apps")
    assert [(x["app"], x["status"], x["sign_on_mode"]) for x in apps] == [
        ("Slack", "ACTIVE", "saml"), ("GitHub", "DISABLED", None),
    ]  # fmt: skip
    assert "sp-secret-value" not in json.dumps(apps) and "[REDACTED]" in apps[0]["attributes"]
    assert table(export, "group_push") == [
        {"app": "Slack", "group_id": ENG, "target_group_name": "Engineering"}
    ]
    rows = sorted(
        (r["app"], r["idp_user_id"], r["user_name"], r["scope"], r["groups"], r["assigned_at"])
        for r in table(export, "assignments")
    )
    assert rows == [  # the service principal's assignment is no person's
        ("GitHub", BOB, "bob@contoso.example", "USER", None, datetime(2023, 6, 1, 10, tzinfo=UTC)),
        ("Slack", ALICE, "alice@contoso.example", "USER", '["Engineering"]',
         datetime(2023, 4, 1, 10, tzinfo=UTC)),
        ("Slack", BOB, "bob@contoso.example", "GROUP", '["Engineering"]',
         datetime(2023, 5, 1, 10, tzinfo=UTC)),
    ]  # fmt: skip
    assert [(p.request, p.item_count) for p in export.pages] == [
        ("entra/users.json", 2), ("entra/groups.json", 1),
        (f"entra/group_members/{ENG}.json", 4), ("entra/servicePrincipals.json", 2),
        ("entra/appRoleAssignments.json", 4), ("entra/provisioning.json", 10),
    ]  # fmt: skip


def test_export_events(export: SourceBatch) -> None:
    assert export.events.schema == EVENT_SCHEMA
    events = export.events.to_pylist()
    keys = ("native_id", "native_type", "action", "outcome", "person_id", "account_id",
            "entitlement")  # fmt: skip
    assert [tuple(e[k] for k in keys) for e in events] == [
        ("p-01", "create", "account.create", "success", ALICE, "U0SLACKA1", None),
        ("p-02", "update", "account.deactivate", "failure", BOB, "U0SLACKB2", None),
        ("p-03", "update", "account.activate", "success", BOB, "U0SLACKB2", None),
        ("p-04", "update", "account.update", "success", ALICE, "U0SLACKA1", None),
        ("p-05", "disable", "account.deactivate", "unknown", BOB, "U0SLACKB2", None),
        ("p-06", "stagedDelete", "entra.stagedDelete", "unknown", BOB, "U0SLACKB2", None),
        ("p-07", "delete", "account.delete", "success", BOB, "U0SLACKB2", None),
        ("p-08", "other", "entra.other", "success", ALICE, None, None),
        ("p-09", "create", "entra.create", "success", None, "S0GROUP1", "Engineering"),
    ]  # the repeated p-01 keeps its first record
    assert {(e["actor"], e["app"]) for e in events} == {("Azure AD Provisioning Service", "Slack")}
    assert events[0]["occurred_at"] == datetime(2024, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
    details = json.loads(events[1]["details"])
    assert details["errorInformation"]["errorCode"] == "SlackHttp500"
    assert details["steps"] == [
        {"name": "EntryExportAdd", "provisioningStepType": "export", "status": "failure"}
    ]
    assert (details["jobId"], details["changeId"], details["status"]) == (
        "SlackOutDelta.74beb1753b804b63b9d56f0b76082b16", "chg-p-02", "failure",
    )  # fmt: skip
    raw = json.loads(events[0]["raw"])
    assert raw["provisioningSteps"][0]["details"]["SecretToken"] == "[REDACTED]"
    assert raw["modifiedProperties"][1] == {
        "displayName": "password", "oldValue": None, "newValue": "[REDACTED]",
    }  # fmt: skip
    text = json.dumps(export.events.to_pylist(), default=str)
    assert "scim-bearer-abc123" not in text and "Initial-Pa55!" not in text
    assert raw["activityDateTime"] == "2024-03-01T10:00:00.1234567Z"  # verbatim


def test_export_files_are_optional(tmp_path: Path) -> None:
    shutil.copy(DATA / "provisioning.json", tmp_path / "provisioning-0001.json")
    batch = read_entra_export(source_config(name="e", kind="entra", path=tmp_path))
    assert batch.snapshots == [] and batch.events.num_rows == 9 and batch.tenant == "e"


# ---------------------------------------------------------------------------- live


@pytest.fixture
def ft() -> FakeTime:
    return FakeTime()


@pytest.fixture
def graph(ft: FakeTime) -> Iterator[GraphStandin]:
    with GraphStandin(CLIENT_ID, SECRET, clock=ft.clock) as g:
        g.seed()
        g.page_size = g.max_top = 2  # every listing pages
        yield g


def source(graph: GraphStandin, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> SourceConfig:
    monkeypatch.setenv("ENTRA_STANDIN_SECRET", extra.pop("secret", SECRET))
    return source_config(**
        {"name": "entra", "kind": "entra", "tenant_id": "t-standin", "client_id": CLIENT_ID,
         "client_secret_env": "ENTRA_STANDIN_SECRET", "graph_url": graph.url,
         "token_url": f"{graph.url}/t-standin/oauth2/v2.0/token", **extra}
    )  # fmt: skip


def clients(src: SourceConfig, ft: FakeTime, stats: HttpStats | None = None) -> tuple:
    return entra_clients(src, policy=RetryPolicy(jitter=lambda c: c), stats=stats,
                         sleep=ft.sleep, clock=ft.clock)  # fmt: skip


def run(src: SourceConfig, ft: FakeTime, cursor: str | None = None, **kw: Any) -> list[SourceBatch]:
    directory, audit = clients(src, ft, kw.pop("stats", None))
    with directory, audit:
        return read_entra_live(src, cursor=cursor, client=directory, audit_client=audit, now=NOW,
                               **kw)  # fmt: skip


def ids(batches: list[SourceBatch]) -> list[str]:
    return [i for b in batches for i in b.events["native_id"].to_pylist()]


def test_full_run_equals_the_standin(graph, ft, monkeypatch) -> None:  # noqa: ANN001
    start = NOW - timedelta(days=3)
    logged = graph.add_logs(5, start=start)
    (batch,) = run(source(graph, monkeypatch), ft)
    assert (batch.source, batch.kind, batch.tenant, batch.as_of) == (
        "entra", "entra", "t-standin", NOW,
    )  # fmt: skip
    assert sorted((u["user_id"], u["email"], u["status"], u["lifecycle"], u["last_login_at"])
                  for u in table(batch, "idp_users")) == [
        ("u-alice", "alice@example.com", "ACTIVE", "active", datetime(2024, 3, 1, 9, tzinfo=UTC)),
        ("u-bob", "bob@example.com", "ACTIVE", "active", None),
        ("u-carol", "carol@example.com", "DISABLED", "deprovisioned", None),
        ("u-dave", "dave@example.com", "DELETED", "deleted", None),
    ]  # fmt: skip
    assert sorted((m["group_id"], m["user_id"]) for m in table(batch, "idp_group_members")) == [
        ("g-eng", "u-alice"), ("g-eng", "u-bob"), ("g-fin", "u-carol"),
    ]  # fmt: skip
    assert sorted(a["app"] for a in table(batch, "apps")) == ["GitHub", "Slack"]
    assert "sp-secret-xyz" not in json.dumps(table(batch, "apps"))
    assert sorted((a["app"], a["idp_user_id"], a["user_name"], a["scope"], a["groups"])
                  for a in table(batch, "assignments")) == [
        ("GitHub", "u-alice", "alice@example.com", "USER", None),
        ("Slack", "u-alice", "alice@example.com", "GROUP", '["Engineering"]'),
        ("Slack", "u-bob", "bob@example.com", "GROUP", '["Engineering"]'),
        ("Slack", "u-carol", "carol@example.com", "USER", "[]"),
    ]  # fmt: skip
    events = batch.events.to_pylist()
    assert sorted(e["native_id"] for e in events) == logged  # Graph serves newest first
    assert {e["native_id"]: e["action"] for e in events} == dict(
        zip(logged, ["account.create", "account.update", "account.deactivate", "account.delete",
                     "account.create"], strict=True))  # fmt: skip
    assert batch.cursor == "2023-11-11T22:17:20.000000Z"  # the newest entry
    # Since = now - 30 days, one microsecond back for `ge`; the filter spelled as Graph's docs.
    (first, *_rest) = graph.audit_requests()
    assert first.query == {"$filter": "activityDateTime gt 2023-10-15T22:13:19.999999Z"}
    assert first.target.startswith("/v1.0/auditLogs/provisioning?$filter=activityDateTime%20gt")
    # Listings ask $top=999, the stand-in serves 2 a page: nextLinks are followed verbatim.
    assert graph.requests[1].query["$top"] == "999"
    skips = [r for r in graph.requests if "$skiptoken" in r.query]
    assert {r.path for r in skips} >= {"/v1.0/users", "/v1.0/auditLogs/provisioning"}
    assert [p.item_count for p in batch.pages if "auditLogs" in p.request] == [2, 2, 1]
    assert batch.notes == []
    text = json.dumps([[p.request for p in batch.pages], batch.cursor, batch.notes])
    assert SECRET not in text and "Bearer" not in text and "$skiptoken=" in text


def test_live_rows_equal_the_export_parser(graph, ft, monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    graph.add_logs(6, start=NOW - timedelta(days=2))
    (live,) = run(source(graph, monkeypatch), ft)
    d = graph.data
    files: dict[str, Any] = {
        "users.json": d.users, "deletedUsers.json": d.deleted, "groups.json": d.groups,
        "servicePrincipals.json": d.sps,
        "appRoleAssignments.json": [a for sp in d.sps for a in d.assigned[sp["id"]]],
        "provisioning.json": {"value": sorted(d.logs, key=lambda e: e["activityDateTime"],
                                              reverse=True)},
        **{f"group_members/{g}.json": m for g, m in d.members.items()},
    }  # fmt: skip
    for name, doc in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(json.dumps(doc))
    export = read_entra_export(source_config(name="entra", kind="entra", path=tmp_path,
                                            tenant="t-standin"))  # fmt: skip

    def rows(batch: SourceBatch) -> dict[str, list[str]]:
        return {s.table: sorted(json.dumps(r, default=str) for r in s.rows.to_pylist())
                for s in batch.snapshots}  # fmt: skip

    live_rows, export_rows = rows(live), rows(export)
    # The export holds whole user objects; live asked $select: compare all but attributes.
    for r in (live_rows, export_rows):
        r["idp_users"] = [json.dumps({k: v for k, v in json.loads(u).items() if k != "attributes"})
                          for u in r["idp_users"]]  # fmt: skip
    assert live_rows == export_rows
    assert live.events.to_pylist() == export.events.to_pylist()


def test_second_run_gets_only_new_entries(graph, ft, monkeypatch) -> None:  # noqa: ANN001
    src = source(graph, monkeypatch)
    old = graph.add_logs(3, start=NOW - timedelta(days=1))
    (first,) = run(src, ft)
    assert sorted(ids([first])) == old
    new = graph.add_logs(2, start=NOW - timedelta(minutes=10), prefix="new")
    (second,) = run(src, ft, first.cursor)
    # `ge` the cursor: the newest old entry is read again (the store drops it), no other.
    assert sorted(ids([second])) == sorted([old[-1], *new])
    cont = [r for r in graph.audit_requests() if "$skiptoken" not in r.query][1]
    assert cont.query["$filter"] == "activityDateTime gt 2023-11-13T22:15:19.999999Z"
    assert second.cursor == "2023-11-14T22:04:20.000000Z"
    (third,) = run(src, ft, second.cursor)
    assert ids([third]) == [new[-1]] and third.cursor == second.cursor


def test_same_timestamp_entries_are_not_skipped(graph, ft, monkeypatch) -> None:  # noqa: ANN001
    src = source(graph, monkeypatch)
    at = NOW - timedelta(hours=1)
    graph.add_log(provisioning_entry("same-1", at))
    (first,) = run(src, ft)
    graph.add_log(provisioning_entry("same-2", at))  # late, with the cursor's very timestamp
    (second,) = run(src, ft, first.cursor)
    assert sorted(ids([second])) == ["same-1", "same-2"]


@pytest.mark.parametrize(("ascending", "cursors"), [
    (False, ["2023-10-15T22:13:20.000000Z", "2023-10-15T22:13:20.000000Z",
             "2023-11-13T22:13:29.000000Z"]),
    (True, ["2023-11-13T22:13:23.000000Z", "2023-11-13T22:13:27.000000Z",
            "2023-11-13T22:13:29.000000Z"]),
])  # fmt: skip
def test_backfill_batches_and_their_cursors(graph, ft, monkeypatch, ascending, cursors) -> None:  # noqa: ANN001
    graph.ascending = ascending
    logged = graph.add_logs(10, start=NOW - timedelta(days=1), step=timedelta(seconds=1))
    batches = run(source(graph, monkeypatch), ft, max_pages_per_run=2)
    assert [b.events.num_rows for b in batches] == [4, 4, 2]
    assert sorted(ids(batches)) == logged
    assert [bool(b.snapshots) for b in batches] == [True, False, False]
    # Newest first: only the last batch may move the cursor; oldest first: each batch does.
    assert [b.cursor for b in batches] == cursors


def test_since_beyond_retention_is_noted(graph, ft, monkeypatch) -> None:  # noqa: ANN001
    (batch,) = run(source(graph, monkeypatch, since="2023-09-01T00:00:00Z"), ft)
    assert graph.audit_requests()[0].query["$filter"] == (
        "activityDateTime gt 2023-08-31T23:59:59.999999Z"
    )
    assert len(batch.notes) == 1 and "30 days" in batch.notes[0]


def test_no_premium_licence_lists_users_without_sign_ins(graph, ft, monkeypatch) -> None:  # noqa: ANN001
    graph.premium = False
    (batch,) = run(source(graph, monkeypatch), ft)
    assert {u["last_login_at"] for u in table(batch, "idp_users")} == {None}
    assert len(table(batch, "idp_users")) == 4  # three listed, one soft-deleted
    assert batch.notes == ["signInActivity unavailable (403 Forbidden): last logins are unknown"]


# ---------------------------------------------------------------------------- faults


def test_429_retry_after_is_waited_out(graph, ft, monkeypatch) -> None:  # noqa: ANN001
    logged = graph.add_logs(9, start=NOW - timedelta(days=2))
    graph.throttle_every, graph.retry_after = 2, 7
    stats = HttpStats()
    batches = run(source(graph, monkeypatch), ft, stats=stats)
    assert sorted(ids(batches)) == logged
    # 5 pages; every 2nd audit request is answered 429 first: 4 retries after 7 s each.
    assert len(graph.audit_requests()) == 9 and ft.sleeps.count(7.0) == 4
    assert stats.retries == 4
    # Between audit requests the paced client waits out the rest of its 2 s interval.
    assert ft.sleeps.count(2.0) == 4


def test_wrong_secret_is_auth_failed_without_the_secret(graph, ft, monkeypatch) -> None:  # noqa: ANN001
    wrong = "wrong~secret~value~987654321"
    with pytest.raises(AuthFailed) as e:
        run(source(graph, monkeypatch, secret=wrong), ft)
    text = str(e.value)
    assert text.startswith("source entra: POST /t-standin/oauth2/v2.0/token")
    assert "401" in text and "AADSTS7000215" in text
    assert wrong not in text and SECRET not in text


def test_html_200_is_bad_response_naming_the_page(graph, ft, monkeypatch) -> None:  # noqa: ANN001
    graph.add_logs(5, start=NOW - timedelta(days=2))
    graph.fail("/v1.0/auditLogs", Fault("html"), skip=1)
    with pytest.raises(BadResponse) as e:
        run(source(graph, monkeypatch), ft)
    text = str(e.value)
    assert "GET /v1.0/auditLogs/provisioning?" in text and "text/html" in text
    page = len([r for r in graph.requests if r.method == "GET"])
    assert e.value.page == page and f"(page {page})" in text and SECRET not in text


def test_server_error_is_retried(graph, ft, monkeypatch) -> None:  # noqa: ANN001
    logged = graph.add_logs(3, start=NOW - timedelta(days=2))
    graph.fail("/v1.0/auditLogs", Fault("status", 503), Fault("status", 500))
    assert sorted(ids(run(source(graph, monkeypatch), ft))) == logged


def test_next_link_to_another_host_is_refused(graph, ft, monkeypatch) -> None:  # noqa: ANN001
    graph.link_base = "http://127.0.0.2:9"
    with pytest.raises(BadResponse) as e:
        run(source(graph, monkeypatch), ft)
    assert "another origin" in str(e.value) and "127.0.0.2" in str(e.value)
    assert not any(r.headers.get("host", "").startswith("127.0.0.2") for r in graph.requests)


# ---------------------------------------------------------------------------- store


def test_commit_and_rerun_from_stored_cursor(graph, ft, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    src = source(graph, monkeypatch)
    logged = graph.add_logs(9, start=NOW - timedelta(days=5))
    con = open_store(tmp_path / "evidence.duckdb")

    def stored_cursor() -> str:
        row = con.execute(
            "SELECT cursors FROM sync_runs WHERE source = 'entra' ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
        return json.loads(row[0])["cursor"]

    def events() -> list[str]:
        rows = con.execute("SELECT raw FROM events WHERE source = 'entra' ORDER BY seq")
        return sorted(json.loads(raw)["id"] for (raw,) in rows.fetchall())

    try:
        batches = run(src, ft, max_pages_per_run=2)
        assert len(batches) == 3
        for b in batches:
            commit_batch(con, b, Policy())
        assert events() == logged and stored_cursor() == batches[-1].cursor
        more = graph.add_logs(2, start=NOW - timedelta(minutes=3), prefix="late")
        for cursor in (stored_cursor(), stored_cursor(), None):
            for b in run(src, ft, cursor):
                commit_batch(con, b, Policy())
        assert events() == sorted(logged + more)
        (count,) = con.execute("SELECT count(*) FROM events WHERE source = 'entra'").fetchone()
        assert count == len(logged) + len(more)
    finally:
        con.close()


def test_evidence_sync_of_a_live_entra_source(graph, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    from evidence.config import Config, StoreConfig
    from evidence.sync import sync_sources

    graph.add_logs(3, start=datetime.now(UTC) - timedelta(days=1))
    src = source(graph, monkeypatch)
    cfg = Config(store=StoreConfig(path=tmp_path / "e.duckdb"), sources=[src])
    con = open_store(cfg.store.path)
    try:
        (first,) = sync_sources(con, cfg)
        assert first.ok, first.error
        n = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        assert n == 3
        assert con.execute("SELECT count(*) FROM idp_users").fetchall()[0][0] > 0
        (again,) = sync_sources(con, cfg)
        assert again.ok and con.execute("SELECT count(*) FROM events").fetchall()[0][0] == n
        assert SECRET not in str(con.execute("SELECT * FROM sync_pages").fetchall())
    finally:
        con.close()


@pytest.mark.parametrize(
    ("target", "job", "action", "inbound"),
    [
        ("Microsoft Entra ID", "Workday2AAD.1a2b.3c4d", "disable", True),
        ("azure active directory", "SuccessFactors2AAD.x.y", "create", True),
        ("Contoso", "API2AAD.74beb.0f1e", "create", True),  # API-driven inbound by its job id
        ("Active Directory", "Workday2AD.1.2", "delete", True),  # hybrid inbound to on-prem AD
        ("Contoso", "ContosoOutDelta.7928", "disable", False),
        ("Entra Toolkit", "EntraToolkitOut.1", "disable", False),  # an app, not the directory
    ],
)
def test_inbound_records_are_the_directory_not_an_app(target, job, action, inbound) -> None:  # noqa: ANN001
    rec = {"id": "x1", "activityDateTime": "2024-03-01T00:00:00Z", "provisioningAction": action,
           "jobId": job, "provisioningStatusInfo": {"status": "success"},
           "targetSystem": {"displayName": target},
           "sourceIdentity": {"id": "W-100", "identityType": "User"},
           "targetIdentity": {"id": "u-entra", "identityType": "User"},
           "servicePrincipal": {"id": "sp1", "displayName": "Inbound or app"}}  # fmt: skip
    (row,) = entra_events(entra_records([rec], "provisioning.json")).to_pylist()
    verb = {"create": "create", "disable": "deactivate", "delete": "delete"}[action]
    if inbound:
        assert (row["action"], row["app"], row["account_id"], row["person_id"]) == (
            f"user.{verb}",
            None,
            None,
            "u-entra",
        )
    else:
        assert (row["action"], row["app"], row["account_id"], row["person_id"]) == (
            f"account.{verb}",
            "Inbound or app",
            "u-entra",
            "W-100",
        )


def _update(identity: str, prop: str, old: object, new: object) -> dict[str, Any]:
    return {"id": "m1", "activityDateTime": "2024-03-01T00:00:00Z", "provisioningAction": "update",
            "jobId": "GitHubOut.1", "provisioningStatusInfo": {"status": "success"},
            "targetSystem": {"displayName": "GitHub"},
            "sourceIdentity": {"id": "g-1" if identity == "Group" else "u-1",
                               "displayName": "Engineering", "identityType": identity},
            "targetIdentity": {"id": "T-1", "identityType": identity},
            "servicePrincipal": {"id": "sp1", "displayName": "GitHub"},
            "modifiedProperties": [{"displayName": prop, "oldValue": old, "newValue": new}]}  # fmt: skip


@pytest.mark.parametrize(
    ("identity", "prop", "old", "new", "expected"),
    [
        # A pushed group's membership change names the member's id in the app: it dates a grant.
        ("Group", "members", None, '["A-7"]', ("group.member.add", "A-7", "Engineering")),
        ("Group", "members", '["A-7"]', None, ("group.member.remove", "A-7", "Engineering")),
        ("Group", "members", None, '["A-7","A-8"]', ("entra.update", "T-1", "Engineering")),
        ("Group", "description", None, "x", ("entra.update", "T-1", "Engineering")),
        # Entra's app-role mapping to SCIM roles: a grant or a revoke of that role.
        (
            "User",
            'roles[primary eq "True"].value',
            None,
            "prod-admin",
            ("privilege.grant", "T-1", "prod-admin"),
        ),
        (
            "User",
            'roles[primary eq "True"].value',
            '["prod-admin"]',
            "[]",
            ("privilege.revoke", "T-1", "prod-admin"),
        ),
        ("User", "department", "Eng", "Sales", ("account.update", "T-1", None)),
    ],
)
def test_membership_and_role_updates(identity, prop, old, new, expected) -> None:  # noqa: ANN001
    rec = _update(identity, prop, old, new)
    (row,) = entra_events(entra_records([rec], "provisioning.json")).to_pylist()
    assert (row["action"], row["account_id"], row["entitlement"]) == expected


def test_group_member_files_named_by_a_uuid_with_a_numeric_tail(tmp_path: Path) -> None:
    # A uuid whose last group is all digits is no split page "<id>-0001.json".
    gid = "442f3a07-2452-4185-8ecb-902454511899"
    (tmp_path / "group_members").mkdir()
    (tmp_path / "groups.json").write_text(json.dumps([{"id": gid, "displayName": "G"}]))
    split = "00000000-0000-4000-8000-000000000001"  # and one split into pages
    (tmp_path / "group_members" / f"{gid}.json").write_text(json.dumps([{"id": "u1"}]))
    (tmp_path / "group_members" / f"{split}.json").write_text(json.dumps([{"id": "u2"}]))
    (tmp_path / "group_members" / f"{split}-0001.json").write_text(json.dumps([{"id": "u3"}]))
    batch = read_entra_export(source_config(name="entra", kind="entra", path=tmp_path))
    assert sorted((m["group_id"], m["user_id"]) for m in table(batch, "idp_group_members")) == [
        (split, "u2"), (split, "u3"), (gid, "u1"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("native", "action"),
    [
        ("disable", "account.deactivate"),
        ("Disable", "account.deactivate"),
        ("DELETE", "account.delete"),
        ("Create", "account.create"),
        ("stageddelete", "entra.stageddelete"),
        ("stagedDelete", "entra.stagedDelete"),
    ],
)
def test_provisioning_action_in_any_case(native: str, action: str) -> None:
    rec = {"id": "c1", "activityDateTime": "2024-03-01T00:00:00Z", "provisioningAction": native,
           "provisioningStatusInfo": {"status": "Success"},
           "targetSystem": {"displayName": "GitHub"},
           "sourceIdentity": {"id": "u-1", "identityType": "User"},
           "targetIdentity": {"id": "T-1"}, "servicePrincipal": {"displayName": "GitHub"}}  # fmt: skip
    (row,) = entra_events(entra_records([rec], "provisioning.json")).to_pylist()
    assert (row["native_type"], row["action"], row["outcome"]) == (native, action, "success")
