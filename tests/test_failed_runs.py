"""Failed runs are evidence: every way a source's sync fails writes exactly one sync_runs row
(status failed, its error, counts of a run that committed nothing) in its own transaction,
with no data rows and the chain head where it was; and `evidence sync` exits 2 when a source
failed on its input, else 1, its summary still listing every source."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from evidence.cli.main import app
from evidence.config import Config, Policy, StoreConfig, load_config, source_config
from evidence.errors import InputError
from evidence.store.db import open_store
from evidence.store.load import FAILED_COUNTS
from evidence.store.verify import verify_store
from evidence.sync import sync_sources
from tests.servers.okta_standin import Fault, OktaStandin, log_event

TOKEN = "00-failed-runs-test-token"
DATA_TABLES = (
    "people", "idp_users", "idp_groups", "idp_group_members", "group_push", "apps",
    "assignments", "accounts", "grants", "events", "sync_pages",
)  # fmt: skip


def _data(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in DATA_TABLES}


def _head(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.execute(
        "SELECT chain_hash FROM sync_runs WHERE chain_hash IS NOT NULL ORDER BY run_id DESC LIMIT 1"
    ).fetchall()
    return rows[0][0] if rows else None


def _runs(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT run_id, source, status, error, counts, cursors, digest, chain_hash, as_of "
        "FROM sync_runs ORDER BY run_id"
    ).fetchall()


def _the_failed_row(con: duckdb.DuckDBPyConnection, runs_before: list[tuple], error: str) -> tuple:
    """Exactly one new run, a failed one, with nothing of its own: returns it."""
    runs = _runs(con)
    new = [r for r in runs if r not in runs_before]
    assert len(new) == 1 and runs[: len(runs_before)] == runs_before
    (row,) = new
    _, _, status, err, counts, _, digest, chain, _ = row
    assert (status, err, digest, chain) == ("failed", error, None, None)
    assert json.loads(counts) == FAILED_COUNTS
    # No data row carries the failed run's id.
    for t in ("people", "idp_users", "accounts", "grants", "assignments", "events"):
        n = con.execute(f'SELECT count(*) FROM "{t}" WHERE run_id = $r', {"r": row[0]}).fetchall()
        assert n == [(0,)], t
    return row


# ------------------------------------------------------------------ an export's input error


HEADER = "Employee ID,Work Email,Worker Status,Start Date,Last Day\n"
COLUMNS = """
[sources.columns]
person_id = "Employee ID"
email = "Work Email"
status = "Worker Status"
hire_date = "Start Date"
termination_date = "Last Day"
"""


def _people(n: int, start: int = 0) -> str:
    return "".join(f"E{i:05d},p{i}@example.com,Active,2020-01-01,\n" for i in range(start, n))


def _hr(folder: Path, name: str, path: str, as_of: str | None = None) -> str:
    at = f'as_of = "{as_of}"\n' if as_of else ""
    return f'[[sources]]\nname = "{name}"\nkind = "hris"\npath = "{path}"\n{at}{COLUMNS}'


def test_an_input_error_in_an_export_is_one_failed_run(tmp_path: Path) -> None:
    (tmp_path / "good.csv").write_text(HEADER + _people(30))
    (tmp_path / "bad.csv").write_text(HEADER + _people(20) + "E9,x@x,Active,2020-13-01,\n")
    (tmp_path / "evidence.toml").write_text(
        '[store]\npath = "e.duckdb"\n'
        + _hr(tmp_path, "bad", "bad.csv", "2026-01-01T00:00:00Z")
        + _hr(tmp_path, "good", "good.csv", "2026-01-01T00:00:00Z")
    )
    cfg = load_config(tmp_path / "evidence.toml")
    with open_store(cfg.store.path) as con:
        assert sync_sources(con, cfg, names=["good"])[0].ok
        before, data, head = _runs(con), _data(con), _head(con)
        (bad,) = sync_sources(con, cfg, names=["bad"])
        assert bad.error is not None and bad.error.endswith(
            "bad.csv: record 21: field 'Start Date': not an ISO 8601 date or date-time: "
            "'2020-13-01'"
        )
        row = _the_failed_row(con, before, bad.error)
        assert row[1] == "bad" and row[5] is None  # an export records no cursor
        assert _data(con) == data and data["people"] == 30
        assert _head(con) == head is not None and verify_store(con).ok


def test_a_folder_where_an_export_file_belongs_fails_that_source_only(tmp_path: Path) -> None:
    (tmp_path / "good.csv").write_text(HEADER + _people(30))
    (tmp_path / "folder.csv").mkdir()  # an HR path may be a folder of snapshots; an app's not
    (tmp_path / "evidence.toml").write_text(
        '[store]\npath = "e.duckdb"\n'
        '[[sources]]\nname = "bad"\nkind = "app_export"\napp = "github"\npath = "folder.csv"\n'
        '[sources.columns]\naccount_id = "id"\nuser_name = "login"\n'
        + _hr(tmp_path, "good", "good.csv", "2026-01-01T00:00:00Z")
    )
    cfg = load_config(tmp_path / "evidence.toml")
    with open_store(cfg.store.path) as con:
        bad, good = sync_sources(con, cfg)
        assert bad.error == f"{tmp_path / 'folder.csv'}: is a folder, not a file"
        assert isinstance(bad.failure, InputError)
        assert good.ok and _data(con)["people"] == 30


# ------------------------------------------------------------------ a live source


@pytest.fixture
def okta(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setenv("OKTA_TOKEN", TOKEN)
    with OktaStandin(TOKEN) as server:
        server.seed()
        yield server


def _live_config(tmp_path: Path, url: str) -> Config:
    src = source_config(**
        {"name": "okta", "kind": "okta", "url": url, "token_env": "OKTA_TOKEN",
         "page_limit": 200, "max_pages_per_run": 3, "max_attempts": 1}
    )  # fmt: skip
    return Config(store=StoreConfig(path=tmp_path / "e.duckdb"), sources=[src], policy=Policy())


def _two_batches_then(con: duckdb.DuckDBPyConnection, cfg: Config) -> tuple:
    """Sync; the first two batches of three pages commit, the third fails. Returns the
    outcome, the state after the second batch (data, head) and the runs before the failure."""
    (outcome,) = sync_sources(con, cfg)
    assert not outcome.ok and len(outcome.runs) == 2
    runs = _runs(con)
    return outcome, runs[:-1]


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        pytest.param("http", ": 500 Internal Server Error", 1, id="http-500"),
        pytest.param("record", "field 'published'", 2, id="bad-record-mid-backfill"),
    ],
)
def test_a_live_source_failing_midway_is_one_failed_run(
    tmp_path: Path, okta: OktaStandin, fault: str, error: str, code: int
) -> None:
    start = datetime.now(UTC) - timedelta(days=10)
    okta.add_events(1500, start=start)
    if fault == "http":
        okta.fail("/api/v1/logs", Fault("status", 500), skip=7)  # the third batch's 2nd page
    else:
        # A record the connector refuses, in the third batch: an InputError mid-stream.
        broken = log_event("broken", start, "user.session.start")
        broken["published"] = "yesterday"
        okta.append_event(broken, persisted_at=(start + timedelta(days=2)).timestamp())
    okta.add_events(500, start=start + timedelta(days=3), prefix="late")
    cfg = _live_config(tmp_path, okta.url)
    with open_store(cfg.store.path) as con:
        outcome, before = _two_batches_then(con, cfg)
        assert outcome.error is not None and error in outcome.error
        assert TOKEN not in outcome.error
        row = _the_failed_row(con, before, outcome.error)
        # Its cursors say where the failed read started: where the second batch stopped.
        last_ok = before[-1]
        assert json.loads(row[5]) == {"from": json.loads(last_ok[5])["cursor"], "cursor": None}
        # The chain head is the second batch's; the store verifies.
        assert _head(con) == last_ok[7] is not None and verify_store(con).ok
        assert con.execute(
            "SELECT count(*) FROM events WHERE native_type NOT LIKE 'snapshot:%'"
        ).fetchall() == [(1200,)]
    # The command line: a network failure exits 1, a record the connector refuses 2.
    if fault == "http":
        okta.fail("/api/v1/logs", Fault("status", 500))
    config = tmp_path / "evidence.toml"
    config.write_text(
        '[store]\npath = "e.duckdb"\n[[sources]]\nname = "okta"\nkind = "okta"\n'
        f'url = "{okta.url}"\ntoken_env = "OKTA_TOKEN"\npage_limit = 200\n'
        "max_pages_per_run = 3\nmax_attempts = 1\n"
    )
    r = CliRunner().invoke(app, ["--config", str(config), "sync", "--all"])
    assert r.exit_code == code, r.output
    assert error in r.stderr and TOKEN not in r.output


# ------------------------------------------------------------------ refused mass removal


def test_a_refused_listing_mid_history_is_one_failed_run_and_exit_1(tmp_path: Path) -> None:
    """An HR history folder: the first file commits, the second (cut) one is refused."""
    hist = tmp_path / "hist"
    hist.mkdir()
    (hist / "workers-2026-01-01.csv").write_text(HEADER + _people(2005))
    (hist / "workers-2026-01-02.csv").write_text(HEADER + _people(1000))
    (tmp_path / "evidence.toml").write_text(
        '[store]\npath = "e.duckdb"\n' + _hr(tmp_path, "hr", "hist")
    )
    r = CliRunner().invoke(app, ["--config", str(tmp_path / "evidence.toml"), "sync", "--all"])
    assert r.exit_code == 1, r.output
    with open_store(tmp_path / "e.duckdb") as con:
        runs = _runs(con)
        assert [x[2] for x in runs] == ["ok", "failed"]
        row = _the_failed_row(con, runs[:1], runs[1][3])
        assert row[3].startswith("hr: refusing to close 1005 of 2005 people (50.1% > ")
        assert row[8] == datetime(2026, 1, 2, tzinfo=UTC)  # the observation it refused
        assert _data(con)["people"] == 2005 and _head(con) == runs[0][7]


# ------------------------------------------------------------------ exit codes


def _three_sources(tmp_path: Path) -> str:
    """Sources `cut` (a mass removal once synced twice), `bad` (an input error) and `good`."""
    (tmp_path / "cut.csv").write_text(HEADER + _people(100))
    (tmp_path / "bad.csv").write_text(HEADER + _people(10))
    (tmp_path / "good.csv").write_text(HEADER + _people(10))
    config = tmp_path / "evidence.toml"
    config.write_text(
        '[store]\npath = "e.duckdb"\n'
        + _hr(tmp_path, "cut", "cut.csv", "2026-01-01T00:00:00Z")
        + _hr(tmp_path, "bad", "bad.csv", "2026-01-01T00:00:00Z")
        + _hr(tmp_path, "good", "good.csv", "2026-01-01T00:00:00Z")
    )
    assert CliRunner().invoke(app, ["--config", str(config), "sync", "--all"]).exit_code == 0
    text = config.read_text().replace("2026-01-01", "2026-01-02")
    config.write_text(text)
    (tmp_path / "cut.csv").write_text(HEADER + _people(50))
    return str(config)


def _summary_rows(stderr: str) -> dict[str, str]:
    """The sync summary's rows: source name -> the rest of its line."""
    rows = {}
    for line in stderr.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 8 and cells[0] in ("cut", "bad", "good"):
            rows[cells[0]] = cells[7]
    return rows


@pytest.mark.parametrize(
    ("bad_input", "allow", "code"),
    [
        pytest.param(False, False, 1, id="refused-mass-removal-exits-1"),
        pytest.param(True, False, 2, id="input-error-wins-exits-2"),
        pytest.param(True, True, 2, id="input-error-only-exits-2"),
        pytest.param(False, True, 0, id="override-exits-0"),
    ],
)
def test_sync_exit_codes(tmp_path: Path, bad_input: bool, allow: bool, code: int) -> None:
    config = _three_sources(tmp_path)
    if bad_input:
        (tmp_path / "bad.csv").write_text(HEADER + "E1,a@x,Active,not-a-date,\n")
    args = ["--config", config, "sync", "--all"]
    if allow:
        args += ["--allow-mass-removal", "cut"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == code, r.output
    failed = sorted(ln.split(" failed: ")[0] for ln in r.stderr.splitlines() if " failed: " in ln)
    want = (["source bad"] if bad_input else []) + ([] if allow else ["source cut"])
    assert failed == sorted(want)
    # The summary lists every source, ok or not.
    rows = _summary_rows(r.stderr)
    assert set(rows) == {"cut", "bad", "good"}
    assert rows["good"] == "ok"
    assert rows["cut"].startswith("ok" if allow else "FAILED")
    assert rows["bad"].startswith("FAILED" if bad_input else "ok")
