"""A live log back-fill killed midway resumes from its last committed cursor: no gap, no
duplicate (Okta stand-in; the same path serves every log source)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evidence.config import Config, Policy, StoreConfig, source_config
from evidence.store.db import open_store
from evidence.store.verify import verify_store
from evidence.sync import sync_sources
from tests.servers.okta_standin import Fault, OktaStandin

TOKEN = "00-resume-test-token"


def test_a_killed_backfill_resumes_without_gap_or_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_TOKEN", TOKEN)
    with OktaStandin(TOKEN) as okta:
        okta.seed()
        uuids = okta.add_events(2500, start=datetime.now(UTC) - timedelta(days=10))
        src = source_config(**
            {"name": "okta", "kind": "okta", "url": okta.url, "token_env": "OKTA_TOKEN",
             "page_limit": 200, "max_pages_per_run": 3, "max_attempts": 1}
        )  # fmt: skip
        cfg = Config(store=StoreConfig(path=tmp_path / "e.duckdb"), sources=[src],
                     policy=Policy())  # fmt: skip
        # The 8th log request fails: the third batch of three pages never completes.
        okta.fail("/api/v1/logs", Fault("status", 500), skip=7)
        con = open_store(cfg.store.path)
        try:
            (first,) = sync_sources(con, cfg)
            assert not first.ok and "500" in first.error and TOKEN not in first.error
            assert len(first.runs) == 2
            logged = lambda: {  # noqa: E731
                r[0]
                for r in con.execute(
                    "SELECT native_id FROM events WHERE native_type NOT LIKE 'snapshot:%'"
                ).fetchall()
            }
            assert logged() == set(uuids[:1200])
            cursor = con.execute(
                "SELECT cursors->>'cursor' FROM sync_runs WHERE status = 'ok' "
                "ORDER BY run_id DESC LIMIT 1"
            ).fetchall()[0][0]
            assert "after=" in cursor and TOKEN not in cursor

            (second,) = sync_sources(con, cfg)
            assert second.ok, second.error
            assert logged() == set(uuids)
            assert con.execute(
                "SELECT count(*), count(DISTINCT native_id) FROM events "
                "WHERE native_type NOT LIKE 'snapshot:%'"
            ).fetchall() == [(2500, 2500)]
            assert verify_store(con).ok

            # Events published after the last poll arrive on the next one, exactly once.
            late = okta.add_events(7, start=datetime.now(UTC), prefix="late")
            (third,) = sync_sources(con, cfg)
            assert third.ok and logged() == set(uuids) | set(late)
        finally:
            con.close()
