"""The live SCIM connector against real SCIM servers from PyPI on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from evidence.config import Config, Policy, StoreConfig, source_config
from evidence.store.db import open_store
from evidence.sync import sync_sources
from tests.servers.canaille_server import canaille_server
from tests.servers.scim2_server import PATCH_OP, ScimServer, Seeded, scim2_server, seed

USERS, GROUPS = 2000, 20  # thousands of users, tens of groups, as real tenants have


def config(server: ScimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("APP_SCIM_TOKEN", server.token)
    src = source_config(
        name="app-scim", kind="scim", app="app", url=server.base_url, token_env="APP_SCIM_TOKEN"
    )
    return Config(
        store=StoreConfig(path=tmp_path / "evidence.duckdb"),
        sources=[src],
        policy=Policy(privileged=[]),
    )


def current(con: duckdb.DuckDBPyConnection, sql: str) -> set[tuple]:
    return set(con.execute(sql).fetchall())


def group_grants(seeded: Seeded, gone: set[str] = frozenset()) -> set[tuple[str, str]]:
    return {
        (m["value"], g["displayName"])
        for g in seeded.groups
        for m in g["members"]
        if m["value"] not in gone
    }


@pytest.fixture
def scim2(tmp_path: Path) -> Iterator[tuple[ScimServer, Seeded]]:
    with scim2_server() as server:
        yield server, seed(server, USERS, GROUPS, 7)


def test_scim2_server_full_sync_history_and_noop(scim2, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    server, seeded = scim2
    cfg = config(server, tmp_path, monkeypatch)
    con = open_store(cfg.store.path)
    try:
        (first,) = sync_sources(con, cfg)
        assert first.ok, first.error
        assert current(
            con,
            "SELECT account_id, user_name, active, external_id FROM accounts "
            "WHERE valid_to IS NULL",
        ) == {(u["id"], u["userName"], u["active"], u["externalId"]) for u in seeded.users}
        assert current(
            con,
            "SELECT account_id, entitlement FROM grants WHERE valid_to IS NULL "
            "AND entitlement_type = 'group'",
        ) == group_grants(seeded)
        pages = con.execute(
            "SELECT request, item_count, total_results FROM sync_pages ORDER BY page"
        ).fetchall()
        assert pages[0][0] == "GET ServiceProviderConfig"
        assert pages[1 : USERS // 100 + 2] == [
            (f"GET Users?startIndex={i * 100 + 1}&count=100", 100, USERS)
            for i in range(USERS // 100)
        ] + [("GET Groups?startIndex=1&count=100", GROUPS, GROUPS)]

        # An unchanged re-sync adds nothing.
        counts = current(
            con,
            "SELECT 'a', count(*) FROM accounts UNION ALL "
            "SELECT 'g', count(*) FROM grants UNION ALL "
            "SELECT 'e', count(*) FROM events",
        )
        (again,) = sync_sources(con, cfg)
        assert again.ok and again.runs[0].events_new == 0
        assert (
            current(
                con,
                "SELECT 'a', count(*) FROM accounts UNION ALL "
                "SELECT 'g', count(*) FROM grants UNION ALL "
                "SELECT 'e', count(*) FROM events",
            )
            == counts
        )

        # Deactivate three, delete two, move one member between groups.
        active = [u for u in seeded.users if u["active"]]
        off, gone = [u["id"] for u in active[:3]], [u["id"] for u in active[3:5]]
        g0, g1 = seeded.groups[0], seeded.groups[1]
        mover = next(
            m["value"]
            for m in g0["members"]
            if m["value"] not in off + gone
            and m["value"] not in {x["value"] for x in g1["members"]}
        )
        with server.client() as http:
            for uid in off:
                r = http.patch(
                    f"/Users/{uid}",
                    json={
                        "schemas": [PATCH_OP],
                        "Operations": [{"op": "replace", "path": "active", "value": False}],
                    },
                )
                assert r.status_code in (200, 204), r.text
            for uid in gone:
                assert http.delete(f"/Users/{uid}").status_code == 204
            for gid, op in ((g0["id"], "remove"), (g1["id"], "add")):
                body = (
                    {"op": "remove", "path": f'members[value eq "{mover}"]'}
                    if op == "remove"
                    else {"op": "add", "path": "members", "value": [{"value": mover}]}
                )
                r = http.patch(f"/Groups/{gid}", json={"schemas": [PATCH_OP], "Operations": [body]})
                assert r.status_code in (200, 204), r.text
        (third,) = sync_sources(con, cfg)
        assert third.ok, third.error
        run = third.runs[0].run_id
        events = sorted(
            con.execute(
                "SELECT action, account_id, entitlement FROM events WHERE run_id = $r", {"r": run}
            ).fetchall(),
            key=lambda e: (e[0], e[1], e[2] or ""),
        )
        deleted_groups = sorted(
            (uid, g["displayName"])
            for g in seeded.groups
            for m in g["members"]
            for uid in gone
            if m["value"] == uid
        )
        want = sorted(
            [("account.deactivate", uid, None) for uid in off]
            + [("account.delete", uid, None) for uid in gone]
            + [("group.member.remove", uid, grp) for uid, grp in deleted_groups]
            + [
                ("group.member.remove", mover, g0["displayName"]),
                ("group.member.add", mover, g1["displayName"]),
            ],
            key=lambda e: (e[0], e[1], e[2] or ""),
        )
        # Deleted accounts also lose their roles and entitlements (privilege.revoke).
        assert [e for e in events if e[0] != "privilege.revoke"] == want
        assert {e[1] for e in events if e[0] == "privilege.revoke"} <= set(gone)
        assert con.execute(
            "SELECT active, valid_to IS NULL FROM accounts WHERE account_id = $a ORDER BY valid_from",
            {"a": off[0]},
        ).fetchall() == [(True, False), (False, True)]
        assert con.execute(
            "SELECT count(*) FROM accounts WHERE account_id IN (SELECT unnest($g)) "
            "AND valid_to IS NULL",
            {"g": gone},
        ).fetchall() == [(0,)]
    finally:
        con.close()


def test_canaille_refuses_count_and_is_still_listed_whole(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    with canaille_server() as server:
        seeded = seed(server, 2000, 20, 11)
        cfg = config(server, tmp_path, monkeypatch)
        con = open_store(cfg.store.path)
        try:
            (out,) = sync_sources(con, cfg)
            assert out.ok, out.error
            assert current(
                con, "SELECT account_id, user_name, active FROM accounts WHERE valid_to IS NULL"
            ) == {(u["id"], u["userName"], u["active"]) for u in seeded.users}
            notes = con.execute("SELECT counts->'notes' FROM sync_runs").fetchall()[0][0]
            assert "refuses `count`" in notes
            requests = [
                r[0] for r in con.execute("SELECT request FROM sync_pages ORDER BY page").fetchall()
            ]
            assert requests[:2] == ["GET ServiceProviderConfig", "GET Users?startIndex=1"]

            # Unchanged: nothing new. Then deactivate one and delete two, and sync again.
            events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
            assert sync_sources(con, cfg)[0].ok
            assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] == events
            active = [u for u in seeded.users if u["active"]]
            off, gone = active[0]["id"], [u["id"] for u in active[1:3]]
            with server.client() as http:
                r = http.patch(
                    f"/Users/{off}",
                    json={
                        "schemas": [PATCH_OP],
                        "Operations": [{"op": "replace", "path": "active", "value": False}],
                    },
                )
                assert r.status_code in (200, 204), r.text
                for uid in gone:
                    assert http.delete(f"/Users/{uid}").status_code == 204
            (after,) = sync_sources(con, cfg)
            assert after.ok, after.error
            changed = con.execute(
                "SELECT action, account_id FROM events WHERE run_id = $r "
                "AND action LIKE 'account.%' ORDER BY action, account_id",
                {"r": after.runs[0].run_id},
            ).fetchall()
            assert changed == sorted(
                [("account.deactivate", off)] + [("account.delete", uid) for uid in gone]
            )
        finally:
            con.close()


def test_scim2_server_delta_lists_only_changed_users(scim2, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import time

    server, seeded = scim2
    cfg = config(server, tmp_path, monkeypatch)
    con = open_store(cfg.store.path)
    try:
        assert sync_sources(con, cfg)[0].ok
        time.sleep(1.1)  # lastModified must be later than the first sync's start, to the second
        target = next(u for u in seeded.users if u["active"])
        with server.client() as http:
            r = http.patch(
                f"/Users/{target['id']}",
                json={
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "replace", "path": "title", "value": "Chief Auditor"}],
                },
            )
            assert r.status_code in (200, 204), r.text
        (delta,) = sync_sources(con, cfg, mode="delta")
        assert delta.ok, delta.error
        run = delta.runs[0]
        assert run.opened == {"accounts": 1} and run.closed == {"accounts": 1}
        requests = [
            r[0]
            for r in con.execute(
                "SELECT request FROM sync_pages WHERE run_id = $r ORDER BY page", {"r": run.run_id}
            ).fetchall()
        ]
        assert requests[1].startswith("GET Users?filter=meta.lastModified+gt+")
        assert not any(q.startswith("GET Groups") for q in requests)
        # Nothing the delta did not list was closed.
        assert con.execute("SELECT count(*) FROM accounts WHERE valid_to IS NULL").fetchall() == [
            (USERS,)
        ]
        title = con.execute(
            "SELECT attributes->>'title' FROM accounts WHERE account_id = $a AND valid_to IS NULL",
            {"a": target["id"]},
        ).fetchall()
        assert title == [("Chief Auditor",)]
    finally:
        con.close()


def test_cli_sync_of_a_live_source_shows_http_progress(scim2, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from evidence.cli.main import app

    server, seeded = scim2
    monkeypatch.setenv("APP_SCIM_TOKEN", server.token)
    toml = tmp_path / "evidence.toml"
    toml.write_text(
        '[store]\npath = "e.duckdb"\n'
        f'[[sources]]\nname = "app-scim"\nkind = "scim"\napp = "app"\nurl = "{server.base_url}"\n'
        'token_env = "APP_SCIM_TOKEN"\n'
    )
    r = CliRunner().invoke(app, ["--config", str(toml), "sync", "--all"])
    assert r.exit_code == 0, r.output
    pages = USERS // 100 + 2  # ServiceProviderConfig, the user pages, one group page
    assert f"http: {pages} requests, 0 retries, 0 rate-limit waits" in r.stderr
    assert "app-scim" in r.stderr and server.token not in r.stderr + r.stdout
