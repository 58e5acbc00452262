"""The whole pipeline on synthetic tenants: truth, re-ingest, atomic failure, the demo."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from connectors.synthetic import generate_tenant
from evidence.config import load_config
from evidence.detections.runner import detect
from evidence.store.db import open_store
from evidence.sync import sync_sources

DATA_TABLES = ("people", "idp_users", "accounts", "grants", "assignments", "apps", "events")


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in DATA_TABLES}


def _head(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.execute(
        "SELECT chain_hash FROM sync_runs WHERE chain_hash IS NOT NULL ORDER BY run_id DESC LIMIT 1"
    ).fetchall()
    return rows[0][0] if rows else None


def _moved_only_by_pages(con: duckdb.DuckDBPyConnection, head: str) -> bool:
    """The runs after the one whose chain hash is `head` appended no event and opened or
    closed no version: the chain moved only by the sync pages they read (a run's pages are in
    its rows digest, so a run that read pages is on the chain even when it changed nothing)."""
    ((since,),) = con.execute(
        "SELECT run_id FROM sync_runs WHERE chain_hash = $h", {"h": head}
    ).fetchall()
    tables = con.execute(
        "SELECT DISTINCT table_name FROM run_rows WHERE run_id > $s", {"s": since}
    ).fetchall()
    ((events,),) = con.execute(
        "SELECT count(*) FROM sync_runs WHERE run_id > $s AND digest IS NOT NULL", {"s": since}
    ).fetchall()
    return set(tables) <= {("sync_pages",)} and events == 0


def _orphans(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return sorted(
        con.execute(
            "SELECT subkind, app, account, status FROM findings WHERE kind = 'orphan'"
        ).fetchall()
    )


def _truth_orphans(folder: Path) -> list[tuple]:
    truth = json.loads((folder / "truth.json").read_text())
    return sorted(
        (f["subkind"], f["app"], f["account"], f.get("status", "open"))
        for f in truth
        if f["kind"] == "orphan"
    )


@pytest.mark.parametrize(("seed", "people", "apps"), [(1, 300, 8), (2, 600, 12), (3, 1000, 16)])
def test_orphans_equal_truth(tmp_path: Path, seed: int, people: int, apps: int) -> None:
    generate_tenant(tmp_path, seed=seed, people=people, apps=apps)
    cfg = load_config(tmp_path / "evidence.toml")
    con = open_store(cfg.store.path)
    try:
        assert all(o.ok for o in sync_sources(con, cfg))
        detect(con, cfg.policy)
        got = _orphans(con)
    finally:
        con.close()
    want = _truth_orphans(tmp_path)
    assert {s for s, *_ in want} == {"terminated_active", "unmatched"}
    assert got == want


@pytest.fixture
def tenant(tmp_path: Path) -> Path:
    generate_tenant(tmp_path / "t", seed=5, people=200, apps=8)
    return tmp_path / "t"


def test_reingesting_the_same_exports_changes_nothing(tenant: Path) -> None:
    cfg = load_config(tenant / "evidence.toml")
    con = open_store(cfg.store.path)
    try:
        first = sync_sources(con, cfg)
        assert all(o.ok for o in first)
        before, head = _counts(con), _head(con)
        assert before["events"] > 1000 and head is not None
        second = sync_sources(con, cfg)
        assert all(o.ok for o in second)
        assert _counts(con) == before
        assert _moved_only_by_pages(con, head)
        assert all(r.events_new == 0 for o in second for r in o.runs)
        assert all(sum(r.opened.values()) == 0 for o in second for r in o.runs)
    finally:
        con.close()


def test_a_bad_record_halfway_leaves_no_trace(tenant: Path) -> None:
    cfg = load_config(tenant / "evidence.toml")
    con = open_store(cfg.store.path)
    try:
        assert all(o.ok for o in sync_sources(con, cfg))
        before, head = _counts(con), _head(con)
        runs = con.execute("SELECT count(*) FROM sync_runs").fetchall()[0][0]
        # Break one record in the middle of a later page of one SCIM app.
        scim = next(s for s in cfg.sources if s.kind == "scim")
        page = sorted(Path(scim.path).glob("Users*.json"))[-1]
        doc = json.loads(page.read_text())
        resources = doc["Resources"] if isinstance(doc, dict) else doc
        victim = len(resources) // 2
        resources[victim]["active"] = False  # a change that would otherwise be committed
        del resources[victim]["userName"]
        page.write_text(json.dumps(doc))
        outcomes = {o.source: o for o in sync_sources(con, cfg)}
        bad = outcomes[scim.name]
        assert not bad.ok
        assert page.name in bad.error and "userName" in bad.error
        assert all(o.ok for n, o in outcomes.items() if n != scim.name)
        assert _counts(con) == before
        assert _moved_only_by_pages(con, head)
        # The untouched sources recorded (no-op) runs; the failed one only its failure.
        after_runs = con.execute("SELECT count(*) FROM sync_runs").fetchall()[0][0]
        assert after_runs == runs + sum(len(o.runs) for o in outcomes.values()) + 1
        assert con.execute(
            "SELECT status, count(*) FROM sync_runs WHERE source = $s GROUP BY 1 ORDER BY 1",
            {"s": scim.name},
        ).fetchall() == [("failed", 1), ("ok", 1)]
    finally:
        con.close()


def test_demo_leaves_every_artifact(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from evidence.cli.main import app

    out = tmp_path / "demo-out"
    result = CliRunner().invoke(
        app, ["demo", "--out", str(out), "--people", "300", "--apps", "8", "--seed", "4"]
    )
    assert result.exit_code == 0, result.output
    for rel in ("evidence.toml", "truth.json", "evidence.duckdb", "siem/events.ndjson"):
        assert (out / rel).is_file(), rel
    assert (out / "sources" / "okta" / "users.json").is_file()
    # One bundle per framework, from the same store.
    pdfs = sorted((out / "reports").glob("*/*.pdf"))
    assert [p.name for p in pdfs] == [
        f"{fw}-2025-11-02-2026-11-01.pdf" for fw in ("hipaa", "iso27001", "soc2")
    ]
    soc2 = out / "reports" / "soc2-2025-11-02-2026-11-01"

    con = open_store(out / "evidence.duckdb", read_only=True)
    try:
        n_events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        n_versions = con.execute("SELECT count(*) FROM accounts").fetchall()[0][0]
        assert _orphans(con) == _truth_orphans(out)
        terminations = con.execute(
            "SELECT count(*) FROM people WHERE valid_to IS NULL AND status = 'terminated' "
            "AND coalesce(employment_type, '') <> 'idp_only' "
            "AND termination_date >= TIMESTAMPTZ '2025-11-02' "
            "AND termination_date < TIMESTAMPTZ '2026-11-02'"
        ).fetchall()[0][0]
    finally:
        con.close()
    lines = (out / "siem" / "events.ndjson").read_text().splitlines()
    # Every event, then every account version as an asset document.
    assert len(lines) == n_events + n_versions
    kinds = [json.loads(line)["event"]["kind"] for line in lines]
    assert kinds[n_events:] == ["asset"] * n_versions and "asset" not in kinds[:n_events]
    first = json.loads(lines[0])
    assert first["ecs"]["version"] == "8.11.0" and first["event"]["hash"]

    text = subprocess.run(
        ["pdftotext", "-layout", str(soc2 / (soc2.name + ".pdf")), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = " ".join(text.split())
    population = sum(1 for _ in (soc2 / "populations" / "deprovisioning.csv").open()) - 1
    exceptions = sum(
        1
        for line in (soc2 / "populations" / "deprovisioning.csv").read_text().splitlines()
        if ",exception," in line
    )
    # The deprovisioning exceptions are exactly the tenant's injected deprovisioning failures.
    truth = json.loads((out / "truth.json").read_text())
    want = sorted(
        (f["app"], f["account"])
        for f in truth
        if (f["kind"], f["subkind"])
        in {("orphan", "terminated_active"), ("sla", "deprovision_late")}
    )
    rows = list(csv.DictReader((soc2 / "populations" / "deprovisioning.csv").open()))
    assert sorted((r["app"], r["account"]) for r in rows if r["status"] == "exception") == want
    for heading in (
        "SOC 2 Type 2",
        "Management summary",
        "CC6.2",
        "Deprovisioning of terminated users",
        "Sources used",
    ):
        assert heading in flat, heading
    assert "Period 2025-11-02 to 2026-11-01" in flat
    assert f"HR terminations in the period {terminations:,}" in flat
    assert f"Deprovisioning of terminated users {population:,} {exceptions:,}" in flat
    assert f"Exceptions ({exceptions:,})" in flat


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from evidence.cli.main import app

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("precious")
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "mine")])
    assert result.exit_code == 2
    assert "not a previous demo folder" in result.output
    assert (tmp_path / "mine" / "thesis.txt").read_text() == "precious"
    shutil.rmtree(tmp_path / "mine")
