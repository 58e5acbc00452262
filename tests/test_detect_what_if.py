"""`detect --as-of` is a read-only what-if: the findings a detect at that instant would
record, printed, with nothing written; only a detect at the store's now moves state."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from connectors.synthetic import generate_tenant
from evidence.cli.main import app
from evidence.config import load_config
from evidence.detections.runner import detect, store_now
from evidence.detections.what_if import what_if
from evidence.errors import ConfigError
from evidence.store.db import open_store
from evidence.sync import sync_sources

# Everything a detect writes, and what the matcher keeps.
WRITTEN = (
    "findings",
    "events",
    "sync_runs",
    "detect_runs",
    "account_facts",
    "idp_user_owners",
    "match_state",
)
FINDING = (
    "finding_id, kind, subkind, severity, status, app, account, person_id, entitlement, rule, "
    "explanation, evidence"
)


def _fingerprint(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, str]]:
    """Each written table's row count and a digest of its rows in a fixed order."""
    out = {}
    for t in WRITTEN:
        rows = sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall()))
        out[t] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return out


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tenant synced but never detected: the matcher has everything still to do."""
    folder = tmp_path_factory.mktemp("whatif") / "t"
    generate_tenant(folder, seed=21, people=200, apps=8)
    cfg = load_config(folder / "evidence.toml")
    with open_store(cfg.store.path) as con:
        assert all(o.ok for o in sync_sources(con, cfg))
    return folder


def _copy(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.duckdb"
    shutil.copy(folder / "evidence.duckdb", target)
    return target


def test_a_what_if_gives_a_detects_findings_and_writes_nothing(
    synced: Path, tmp_path: Path
) -> None:
    cfg = load_config(synced / "evidence.toml")
    store = _copy(synced, tmp_path)
    with open_store(store) as con:
        now = store_now(con)
        assert detect(con, cfg.policy).resolved == 0  # the state at the store's now
        before = _fingerprint(con)
    at = now - timedelta(days=120)
    with open_store(store, read_only=True) as ro:
        w = what_if(ro, cfg.policy, at)
        assert _fingerprint(ro) == before
    with open_store(store) as con:
        assert _fingerprint(con) == before
        # What a detect at that instant would record, done for real on this copy: the same
        # findings, statuses and transitions the what-if reported.
        real = detect(con, cfg.policy, as_of=at)
        recorded = con.execute(
            f"SELECT {FINDING} FROM findings WHERE status IN ('open', 'accepted')"
        ).fetchall()
    cols = FINDING.split(", ")
    idx = [w.columns.index(c) for c in cols]
    got = sorted(
        tuple(json.loads(r[i]) if c == "evidence" else r[i] for i, c in zip(idx, cols, strict=True))
        for r in w.rows
    )
    want = sorted(tuple(json.loads(v) if c == "evidence" else v
                        for v, c in zip(r, cols, strict=True)) for r in recorded)  # fmt: skip
    assert got == want and len(got) > 10
    assert w.counts == real.counts
    assert w.changes == {
        k: v
        for k, v in {
            "finding.open": real.opened,
            "finding.resolve": real.resolved,
            "finding.reopen": real.reopened,
            "finding.accept": real.accepted,
        }.items()
        if v
    }
    assert real.resolved > 0  # the past differs from the now: the case of the issue


def test_a_what_if_on_a_never_detected_store_matches_in_temp_copies(
    synced: Path, tmp_path: Path
) -> None:
    # match_state is empty, so the matcher re-matches every account into its shadow tables.
    cfg = load_config(synced / "evidence.toml")
    store = _copy(synced, tmp_path)
    with open_store(store, read_only=True) as ro:
        before = _fingerprint(ro)
        assert before["match_state"][0] == 0 and before["findings"][0] == 0
        w = what_if(ro, cfg.policy, store_now(ro))
        assert _fingerprint(ro) == before
    with open_store(store) as con:
        detect(con, cfg.policy)
        assert con.execute("SELECT count(*) FROM findings").fetchall()[0][0] == len(w.rows)
    assert w.changes["finding.open"] + w.changes.get("finding.accept", 0) == len(w.rows)


def test_a_later_instant_is_refused(synced: Path) -> None:
    cfg = load_config(synced / "evidence.toml")
    with open_store(synced / "evidence.duckdb", read_only=True) as ro:
        now = store_now(ro)
        with pytest.raises(ConfigError, match=r"^--as-of: .* is later than the store's now, "):
            what_if(ro, cfg.policy, now + timedelta(seconds=1))


def test_detect_as_of_on_the_command_line(synced: Path, tmp_path: Path) -> None:
    store = _copy(synced, tmp_path)
    config = str(synced / "evidence.toml")
    run = CliRunner().invoke
    assert run(app, ["--config", config, "--db", str(store), "detect"]).exit_code == 0
    digest = hashlib.sha256(store.read_bytes()).hexdigest()
    with open_store(store, read_only=True) as ro:
        now = store_now(ro)
    past = f"{now - timedelta(days=120):%Y-%m-%d}"
    r = run(app, ["--config", config, "--db", str(store), "detect", "--as-of", past,
                  "--format", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert rows and {"finding_id", "kind", "status", "explanation"} <= set(rows[0])
    (line,) = r.stderr.splitlines()
    assert line.startswith(f"what-if at {past}T00:00:00Z (the store's now is ")
    assert "nothing recorded" in line and ", resolve " in line
    # Not a byte of the store changed: no finding, event, detect_runs or sync_runs row.
    assert hashlib.sha256(store.read_bytes()).hexdigest() == digest
    later = f"{now + timedelta(days=1):%Y-%m-%d}"
    r = run(app, ["--config", config, "--db", str(store), "detect", "--as-of", later])
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        f"error: --as-of: {later}T00:00:00Z is later than the store's now, "
        f"{now:%Y-%m-%dT%H:%M:%SZ} (the newest completed sync): nothing is known about it yet"
    ]
    # A what-if at the store's now, after a detect there, would change nothing.
    at_now = run(app, ["--config", config, "--db", str(store), "detect", "--as-of",
                       f"{now:%Y-%m-%dT%H:%M:%SZ}"])  # fmt: skip
    assert at_now.exit_code == 0
    assert "would open 0, reopen 0, resolve 0, accept 0" in at_now.stderr
    assert hashlib.sha256(store.read_bytes()).hexdigest() == digest
