"""The live Okta connector against the Okta stand-in on 127.0.0.1 (no real sleeping)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from connectors.http import (
    AuthFailed,
    BadResponse,
    HttpStats,
    RetryPolicy,
    SourceClient,
    auth_from_source,
    build_client,
)
from connectors.okta.export import read_okta_export
from connectors.okta.live import read_okta_live
from connectors.records import EVENT_SCHEMA, SNAPSHOT_SCHEMAS, SourceBatch
from evidence.config import Policy, SourceConfig, source_config
from evidence.store.db import open_store
from evidence.store.load import commit_batch
from tests.fake_time import T0, FakeTime
from tests.servers.okta_standin import Fault, OktaStandin

NOW = datetime.fromtimestamp(T0, UTC)
TOKEN = "00standin-SSWS-token-0123456789"


@pytest.fixture
def ft() -> FakeTime:
    return FakeTime()


@pytest.fixture
def okta(ft: FakeTime) -> Iterator[OktaStandin]:
    with OktaStandin(TOKEN, clock=ft.clock) as s:
        s.seed()
        yield s


def source(okta: OktaStandin, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> SourceConfig:
    monkeypatch.setenv("OKTA_STANDIN_TOKEN", extra.pop("token", TOKEN))
    return source_config(**
        {"name": "okta", "kind": "okta", "url": okta.url, "token_env": "OKTA_STANDIN_TOKEN",
         **extra}
    )  # fmt: skip


def client(src: SourceConfig, ft: FakeTime, stats: HttpStats | None = None) -> SourceClient:
    return build_client(
        src,
        base_url=str(src.url),
        auth=auth_from_source(src, default="ssws"),
        policy=RetryPolicy(jitter=lambda ceiling: ceiling),
        stats=stats,
        sleep=ft.sleep,
        clock=ft.clock,
    )


def run(src: SourceConfig, ft: FakeTime, cursor: str | None = None, **kw: Any) -> list[SourceBatch]:
    with client(src, ft, kw.pop("stats", None)) as c:
        return read_okta_live(src, cursor=cursor, client=c, now=NOW, **kw)


def table(batch: SourceBatch, name: str) -> list[dict[str, Any]]:
    (snap,) = [s for s in batch.snapshots if s.table == name]
    return snap.rows.to_pylist()


def uuids(batches: list[SourceBatch]) -> list[str]:
    return [u for b in batches for u in b.events["native_id"].to_pylist()]


def target(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def no_secret(batches: list[SourceBatch], secret: str = TOKEN) -> None:
    for b in batches:
        text = json.dumps([[p.request for p in b.pages], b.notes, b.cursor])
        assert secret not in text and "SSWS" not in text


# ---------------------------------------------------------------------------- full run


def test_full_run_equals_the_standin(okta, ft, monkeypatch) -> None:  # noqa: ANN001
    start = NOW - timedelta(days=10)
    ids = okta.add_events(7, start=start)
    (batch,) = run(source(okta, monkeypatch), ft)

    for snap in batch.snapshots:
        assert snap.rows.schema == SNAPSHOT_SCHEMAS[snap.table]
    assert batch.events.schema == EVENT_SCHEMA
    assert (batch.source, batch.kind, batch.tenant, batch.as_of) == (
        "okta", "okta", "127.0.0.1", NOW,
    )  # fmt: skip
    # DEPROVISIONED users come from the second, filtered listing.
    assert sorted((u["user_id"], u["login"], u["status"]) for u in table(batch, "idp_users")) == [
        ("00u1alice", "alice@example.com", "ACTIVE"),
        ("00u1bob", "bob@example.com", "ACTIVE"),
        ("00u1carol", "carol@example.com", "DEPROVISIONED"),
        ("00u1dave", "dave@example.com", "SUSPENDED"),
        ("00u1erin", "erin@example.com", "ACTIVE"),
    ]
    assert {(m["group_id"], m["user_id"]) for m in table(batch, "idp_group_members")} == {
        (g, u) for g, members in okta.data.members.items() for u in members
    }
    assert sorted((a["app"], a["app_id"], a["status"]) for a in table(batch, "apps")) == [
        ("GitHub", "0oa1github", "ACTIVE"),
        ("Slack", "0oa1slack", "ACTIVE"),
        ("Wiki", "0oa1wiki", "INACTIVE"),
    ]
    assert "app-secret-xyz" not in json.dumps(table(batch, "apps"))
    (assignments,) = [s for s in batch.snapshots if s.table == "assignments"]
    assert assignments.apps == ("Slack", "GitHub", "Wiki")  # Wiki: in scope, nobody assigned
    assert sorted(
        (a["app"], a["idp_user_id"], a["user_name"], a["scope"], a["groups"])
        for a in assignments.rows.to_pylist()
    ) == [
        ("GitHub", "00u1alice", "alice-s", "USER", None),
        ("GitHub", "00u1carol", "carol-w", "USER", None),
        ("Slack", "00u1alice", "alice.smith@example.com", "GROUP", '["eng-all","finance"]'),
        ("Slack", "00u1bob", "bob@example.com", "USER", '["eng-all"]'),
        ("Slack", "00u1erin", "erin@example.com", "GROUP", '["eng-all"]'),
    ]
    assert sorted((p["app"], p["group_id"], p["target_group_name"])
                  for p in table(batch, "group_push")) == [
        ("Slack", "00g1eng", "eng-all"), ("Slack", "00g1fin", "finance"),
    ]  # fmt: skip

    events = batch.events.to_pylist()
    assert [e["native_id"] for e in events] == ids
    assert [e["action"] for e in events] == ["user.login", "app.assign", "group.member.add"] * 2 + [
        "user.login"
    ]
    assert events[1]["app"] == "Slack" and events[2]["entitlement"] == "Engineering"
    assert events[6]["occurred_at"] == start + timedelta(minutes=6)

    # Polling mode: since = now - 90 days, no `until`, then the `next` link to an empty page.
    logs = okta.log_requests()
    assert logs[0].query == {"since": "2023-08-16T22:13:20.000Z", "limit": "1000"}
    assert all("until" not in r.query for r in logs) and len(logs) == 2
    assert batch.cursor is not None and batch.cursor.startswith(f"{okta.url}/api/v1/logs?after=")
    # The empty page's `next` keeps its position: the cursor is where the next poll starts.
    assert logs[1].target == target(batch.cursor)
    assert [(p.request.split("?")[0], p.item_count) for p in batch.pages][-2:] == [
        ("GET /api/v1/logs", 7),
        ("GET /api/v1/logs", 0),
    ]
    assert batch.notes == []
    no_secret([batch])


def test_live_rows_equal_the_export_parser(okta, ft, monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    """The same tenant as an export folder gives the same rows: one mapping for both."""
    okta.add_events(9, start=NOW - timedelta(days=3))
    (live,) = run(source(okta, monkeypatch), ft)
    d = okta.data
    files: dict[str, Any] = {"users.json": d.users, "groups.json": d.groups, "apps.json": d.apps,
                             "logs.json": [e for _, e in d.logs]}  # fmt: skip
    for gid, members in d.members.items():
        files[f"group_members/{gid}.json"] = [u for u in d.users if u["id"] in members]
    for app_id, users in d.app_users.items():
        files[f"app_users/{app_id}.json"] = users
    for app_id, maps in d.push.items():
        if maps:
            files[f"group_push/{app_id}.json"] = maps
    for name, doc in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(json.dumps(doc))
    export = read_okta_export(source_config(name="okta", kind="okta", path=tmp_path))
    key = {
        s.table: sorted(json.dumps(r, default=str) for r in s.rows.to_pylist())
        for s in live.snapshots
    }
    assert key == {
        s.table: sorted(json.dumps(r, default=str) for r in s.rows.to_pylist())
        for s in export.snapshots
    }
    assert live.events.to_pylist() == export.events.to_pylist()


# ---------------------------------------------------------------------------- cursor


def test_second_run_takes_only_new_events_then_none(okta, ft, monkeypatch) -> None:  # noqa: ANN001
    src = source(okta, monkeypatch)
    okta.add_events(5, start=NOW - timedelta(days=1))
    (first,) = run(src, ft)
    new = okta.add_events(3, start=NOW - timedelta(minutes=5), prefix="new")
    before = len(okta.log_requests())
    (second,) = run(src, ft, first.cursor)
    assert uuids([second]) == new
    # The stored cursor is followed verbatim: no `since` on a continuing run.
    assert okta.log_requests()[before].target == target(str(first.cursor))
    assert second.cursor != first.cursor
    before = len(okta.log_requests())
    (third,) = run(src, ft, second.cursor)
    assert third.events.num_rows == 0
    assert len(okta.log_requests()) == before + 1  # one empty page, then stop
    assert third.cursor == second.cursor  # an empty page's next stays where it was
    assert [p.item_count for p in third.pages if p.request.startswith("GET /api/v1/logs")] == [0]
    no_secret([first, second, third])


def test_backfill_splits_into_chained_batches(okta, ft, monkeypatch) -> None:  # noqa: ANN001
    src = source(okta, monkeypatch)
    ids = okta.add_events(2500, start=NOW - timedelta(days=80), step=timedelta(minutes=10))
    batches = run(src, ft, page_limit=200, max_pages_per_run=5)
    assert len(batches) == 3
    assert [b.events.num_rows for b in batches] == [1000, 1000, 500]
    assert uuids(batches) == ids  # in order, none twice, none missing
    logs = [[p for p in b.pages if p.request.startswith("GET /api/v1/logs")] for b in batches]
    assert [len(p) for p in logs] == [5, 5, 4]  # 13 full pages, then the empty one
    assert [bool(b.snapshots) for b in batches] == [True, False, False]
    assert {b.as_of for b in batches} == {NOW}
    # Each batch starts exactly where the previous batch's cursor points.
    requests = okta.log_requests()
    assert requests[5].target == target(str(batches[0].cursor))
    assert requests[10].target == target(str(batches[1].cursor))
    # A back-fill killed after the first commit resumes from its cursor: the rest, no gap.
    assert uuids(run(src, ft, batches[0].cursor, page_limit=200, max_pages_per_run=5)) == ids[1000:]


def test_since_beyond_retention_is_noted(okta, ft, monkeypatch) -> None:  # noqa: ANN001
    src = source(okta, monkeypatch, since="2023-06-01T00:00:00Z")
    (batch,) = run(src, ft)
    assert okta.log_requests()[0].query["since"] == "2023-06-01T00:00:00.000Z"
    assert len(batch.notes) == 1 and "90 days" in batch.notes[0]


# ---------------------------------------------------------------------------- faults


def test_rate_limit_reset_is_waited_out(okta, ft, monkeypatch) -> None:  # noqa: ANN001
    okta.add_events(40, start=NOW - timedelta(days=2))
    okta.rate_limit_every, okta.reset_in = 4, 30
    stats = HttpStats()
    batches = run(source(okta, monkeypatch), ft, page_limit=10, stats=stats)
    assert uuids(batches) == [f"ev-{i:06d}" for i in range(40)]
    limited = len(okta.requests) // 4
    assert limited >= 3 and stats.rate_limit_waits == limited
    # X-Rate-Limit-Reset is 30 s ahead of the server's Date; the client adds its 1 s margin.
    assert ft.sleeps == [31.0] * limited


def test_wrong_token_is_auth_failed_without_the_token(okta, ft, monkeypatch) -> None:  # noqa: ANN001
    wrong = "00wrong-token-value-987654321"
    src = source(okta, monkeypatch, token=wrong)
    with pytest.raises(AuthFailed) as e:
        run(src, ft)
    text = str(e.value)
    assert text.startswith("source okta: GET /api/v1/users")
    assert "401" in text and "E0000011" in text and wrong not in text
    assert okta.requests[0].headers["authorization"] == f"SSWS {wrong}"


@pytest.mark.parametrize(
    ("path", "fault", "skip", "problem"),
    [
        ("/api/v1/logs", Fault("html"), 0, "text/html where JSON was expected"),
        ("/api/v1/logs", Fault("truncate"), 1, "truncated JSON"),
        ("/api/v1/users", Fault("truncate"), 0, "truncated JSON"),
    ],
)
def test_broken_page_is_bad_response_naming_it(
    okta: OktaStandin,
    ft: FakeTime,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    fault: Fault,
    skip: int,
    problem: str,
) -> None:
    okta.add_events(30, start=NOW - timedelta(days=2))
    okta.fail(path, fault, skip=skip)
    with pytest.raises(BadResponse) as e:
        run(source(okta, monkeypatch), ft, page_limit=10)
    text = str(e.value)
    assert f"GET {path}" in text and problem in text
    page = len(okta.requests)  # the failing request was the last one
    assert e.value.page == page and f"(page {page})" in text
    assert TOKEN not in text


def test_server_error_is_retried(okta, ft, monkeypatch) -> None:  # noqa: ANN001
    okta.add_events(3, start=NOW - timedelta(days=2))
    okta.fail("/api/v1/logs", Fault("status", 500), Fault("cut"))
    (batch,) = run(source(okta, monkeypatch), ft)
    assert batch.events.num_rows == 3 and ft.sleeps == [0.5, 1.0]


def test_apps_forbidden_is_noted_and_the_rest_returned(okta, ft, monkeypatch) -> None:  # noqa: ANN001
    ids = okta.add_events(4, start=NOW - timedelta(days=2))
    okta.deny("/api/v1/apps", 403)
    (batch,) = run(source(okta, monkeypatch), ft)
    assert [s.table for s in batch.snapshots] == ["idp_users", "idp_groups", "idp_group_members"]
    assert uuids([batch]) == ids
    assert len(batch.notes) == 1 and "apps unavailable (403 Forbidden)" in batch.notes[0]


def test_one_app_without_app_users_is_out_of_scope(okta, ft, monkeypatch) -> None:  # noqa: ANN001
    okta.deny("/api/v1/apps/0oa1github/users", 404)
    okta.deny("/api/v1/apps/0oa1wiki/group-push", 404)
    (batch,) = run(source(okta, monkeypatch), ft)
    (assignments,) = [s for s in batch.snapshots if s.table == "assignments"]
    assert assignments.apps == ("Slack", "Wiki")
    assert batch.notes == [
        "app users unavailable for 1 apps: GitHub (404 Not Found)",
        "group push mappings unavailable for 1 apps: Wiki (404 Not Found)",
    ]


def test_listings_follow_next_links(okta, ft, monkeypatch) -> None:  # noqa: ANN001
    (batch,) = run(source(okta, monkeypatch), ft, page_limit=2)
    users = [p for p in batch.pages if p.request.startswith("GET /api/v1/users")]
    # 4 listed users at 2 a page, then the DEPROVISIONED listing.
    assert [(p.request, p.item_count) for p in users] == [
        ("GET /api/v1/users?limit=2", 2),
        ("GET /api/v1/users?limit=2&after=00u1bob", 2),
        ("GET /api/v1/users?limit=2&filter=status+eq+%22DEPROVISIONED%22", 1),
    ]
    assert len(table(batch, "idp_users")) == 5


# ---------------------------------------------------------------------------- store


def test_commit_batches_and_resume_without_duplicates(okta, ft, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    src = source(okta, monkeypatch)
    ids = okta.add_events(450, start=NOW - timedelta(days=30))
    con = open_store(tmp_path / "evidence.duckdb")

    def stored_cursor() -> str:
        row = con.execute(
            "SELECT cursors FROM sync_runs WHERE source = 'okta' ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
        return json.loads(row[0])["cursor"]

    def events() -> list[str]:
        rows = con.execute("SELECT details, raw FROM events WHERE source = 'okta' ORDER BY seq")
        return [json.loads(raw)["uuid"] for _, raw in rows.fetchall()]

    try:
        batches = run(src, ft, page_limit=100, max_pages_per_run=2)
        assert len(batches) == 3
        for b in batches:
            commit_batch(con, b, Policy())
        assert events() == ids and stored_cursor() == batches[-1].cursor
        more = okta.add_events(2, start=NOW - timedelta(minutes=1), prefix="late")
        for b in run(src, ft, stored_cursor(), page_limit=100):
            commit_batch(con, b, Policy())
        assert events() == ids + more
        # Running again from the stored cursor, and even a full back-fill, adds nothing.
        for cursor in (stored_cursor(), None):
            for b in run(src, ft, cursor, page_limit=100):
                commit_batch(con, b, Policy())
        assert events() == ids + more
        (count,) = con.execute("SELECT count(DISTINCT event_id) FROM events").fetchone()
        assert count == len(ids) + len(more)
    finally:
        con.close()
