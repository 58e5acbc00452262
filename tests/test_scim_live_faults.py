"""Bad answers from a live SCIM source: one clear error naming source and page, nothing of
that run committed, other sources unaffected."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence.config import Config, Policy, StoreConfig, source_config
from evidence.store.db import open_store
from evidence.sync import sync_sources
from tests.servers.stub_http import Reply, StubServer

SPC = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    "filter": {"supported": True, "maxResults": 200},
}


def users_page(start: int, ids: list[str], total: int) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(ids),
        "Resources": [{"id": i, "userName": f"{i}@example.com", "active": True} for i in ids],
    }


def healthy(stub: StubServer, prefix: str, ids: list[str]) -> None:
    stub.script(f"{prefix}/ServiceProviderConfig", Reply(200, SPC))
    stub.script(f"{prefix}/Users", Reply(200, users_page(1, ids, len(ids))))
    stub.script(f"{prefix}/Groups", Reply(200, users_page(1, [], 0) | {"Resources": []}))


SECOND_PAGE_FAULTS = {
    "malformed": (
        Reply(
            200, b'{"totalResults": 3, "Resources": [}', {"Content-Type": "application/scim+json"}
        ),
        "malformed JSON",
    ),
    "html-200": (
        Reply(
            200,
            "<html><body>Service temporarily unavailable</body></html>",
            {"Content-Type": "text/html"},
        ),
        "where JSON was expected",
    ),
    "truncated": (
        Reply(
            200,
            b'{"totalResults": 3, "Resources": [{"id": "c", "userName": "c"}]}',
            {"Content-Type": "application/scim+json"},
            truncate=30,
        ),
        "startIndex=3",
    ),
    "wrong-schema": (
        Reply(
            200,
            {"totalResults": 3, "Resources": [{"userName": "no-id"}]},
            {"Content-Type": "application/scim+json"},
        ),
        "id",
    ),
    "401": (
        Reply(
            401,
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "401",
                "detail": "token expired",
            },
        ),
        "401",
    ),
    "403": (
        Reply(
            403,
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "403",
                "detail": "forbidden",
            },
        ),
        "403",
    ),
}


@pytest.mark.parametrize("fault", sorted(SECOND_PAGE_FAULTS))
def test_a_bad_page_fails_its_source_only(
    fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reply, message = SECOND_PAGE_FAULTS[fault]
    monkeypatch.setenv("SCIM_TOKEN", "s3cr3t-token-value")
    with StubServer() as stub:
        healthy(stub, "/good/v2", ["x", "y"])
        stub.script("/bad/v2/ServiceProviderConfig", Reply(200, SPC))
        stub.script("/bad/v2/Users", Reply(200, users_page(1, ["a", "b"], 3)), reply)
        cfg = Config(
            store=StoreConfig(path=tmp_path / "e.duckdb"),
            policy=Policy(),
            sources=[
                source_config(
                    name="bad",
                    kind="scim",
                    app="bad",
                    url=f"{stub.url}/bad/v2",
                    token_env="SCIM_TOKEN",
                    page_size=2,
                    max_attempts=2,
                ),
                source_config(
                    name="good",
                    kind="scim",
                    app="good",
                    url=f"{stub.url}/good/v2",
                    token_env="SCIM_TOKEN",
                ),
            ],
        )
        con = open_store(cfg.store.path)
        try:
            bad, good = sync_sources(con, cfg)
            assert not bad.ok and good.ok
            assert "bad" in bad.error and message in bad.error
            assert "s3cr3t" not in bad.error
            # The failed source left one failed run record (its error, no data), nothing more.
            assert con.execute(
                "SELECT source, status FROM sync_runs ORDER BY source"
            ).fetchall() == [("bad", "failed"), ("good", "ok")]
            assert con.execute("SELECT app, count(*) FROM accounts GROUP BY app").fetchall() == [
                ("good", 2)
            ]
        finally:
            con.close()


@pytest.mark.parametrize(("by_id", "still_current"), [(200, True), (404, False)])
def test_an_id_missing_from_a_listing_is_confirmed_before_it_is_deleted(
    by_id: int, still_current: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCIM_TOKEN", "t")
    with StubServer() as stub:
        healthy(stub, "/v2", ["a", "b", "c"])
        src = source_config(
            name="app", kind="scim", app="app", url=f"{stub.url}/v2", token_env="SCIM_TOKEN"
        )
        cfg = Config(store=StoreConfig(path=tmp_path / "e.duckdb"), sources=[src])
        con = open_store(cfg.store.path)
        try:
            assert sync_sources(con, cfg)[0].ok
            # The next listing misses "c" (as a shifted index page would).
            stub.script("/v2/Users", Reply(200, users_page(1, ["a", "b"], 2)))
            user_c = users_page(1, ["c"], 1)["Resources"][0]
            stub.script("/v2/Users/c", Reply(by_id, user_c if by_id == 200 else {"status": "404"}))
            (out,) = sync_sources(con, cfg)
            assert out.ok, out.error
            current = {
                r[0]
                for r in con.execute(
                    "SELECT account_id FROM accounts WHERE valid_to IS NULL"
                ).fetchall()
            }
            assert ("c" in current) is still_current
            deletes = con.execute(
                "SELECT count(*) FROM events WHERE action = 'account.delete'"
            ).fetchall()[0][0]
            assert deletes == (0 if still_current else 1)
            assert "/v2/Users/c" in stub.paths()
        finally:
            con.close()


def test_a_run_stops_at_its_request_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCIM_TOKEN", "t")
    with StubServer() as stub:
        healthy(stub, "/v2", ["a", "b", "c"])
        src = source_config(
            name="app",
            kind="scim",
            app="app",
            url=f"{stub.url}/v2",
            token_env="SCIM_TOKEN",
            max_requests=2,
        )
        cfg = Config(store=StoreConfig(path=tmp_path / "e.duckdb"), sources=[src])
        con = open_store(cfg.store.path)
        try:
            (out,) = sync_sources(con, cfg)
            assert not out.ok and "budget" in out.error.lower()
            assert len(stub.requests) == 2
            assert con.execute("SELECT status, digest, chain_hash FROM sync_runs").fetchall() == [
                ("failed", None, None)
            ]
        finally:
            con.close()
