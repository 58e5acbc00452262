"""Every CLI command, run as a user would, with its exit codes and output contracts."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.synthetic import generate_tenant
from evidence.cli.main import app
from evidence.cli.output import csv_cell
from evidence.detections.runner import open_at_or_above
from evidence.store.db import store_session


def run(*args: str, input: str | None = None):  # noqa: ANN201
    return CliRunner().invoke(app, list(args), input=input)


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "t"
    generate_tenant(folder, seed=11, people=200, apps=8)
    return folder


@pytest.fixture(scope="module")
def synced(tenant: Path) -> Path:
    cfg = str(tenant / "evidence.toml")
    assert run("--config", cfg, "sync", "--all").exit_code == 0
    assert run("--config", cfg, "detect").exit_code == 0
    return tenant


def cfg(folder: Path) -> str:
    return str(folder / "evidence.toml")


def test_help_lists_every_command() -> None:
    r = run("--help")
    assert r.exit_code == 0
    for cmd in ("init", "sync", "detect", "findings", "forward", "sql", "verify", "report", "demo"):
        assert cmd in r.output


def test_help_loads_neither_the_store_nor_the_reports() -> None:
    # `evidence --help` stays quick: DuckDB, SQLModel and the PDF stack load with a command.
    code = (
        "import sys\n"
        "from evidence.cli.main import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('duckdb', 'sqlmodel', 'weasyprint', 'pyarrow', 'httpx')\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "print(loaded)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Usage" in r.stdout and r.stdout.splitlines()[-1] == "[]"


def test_init_creates_the_store(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    r = run("--db", str(db), "init")
    assert r.exit_code == 0 and db.exists()
    assert "schema version" in r.stderr


def test_sync_prints_one_row_per_source_and_is_idempotent(synced: Path) -> None:
    r = run("--config", cfg(synced), "sync", "--source", "okta")
    assert r.exit_code == 0, r.output
    assert "okta" in r.stderr and "ok" in r.stderr


def test_sync_reports_a_source_failing_on_its_input_with_exit_2(tmp_path: Path) -> None:
    generate_tenant(tmp_path / "t", seed=12, people=150, apps=6)
    users = next((tmp_path / "t" / "sources" / "scim").glob("*/Users*.json"))
    users.write_text('{"Resources": [')
    r = run("--config", cfg(tmp_path / "t"), "sync", "--all")
    assert r.exit_code == 2
    line = [ln for ln in r.stderr.splitlines() if "failed:" in ln]
    assert len(line) == 1 and users.name in line[0]


def test_detect_counts_and_fail_on(synced: Path) -> None:
    r = run("--config", cfg(synced), "detect", "--format", "json")
    assert r.exit_code == 0
    rows = json.loads(r.stdout)
    assert {(x["kind"], x["subkind"]) for x in rows} >= {
        ("orphan", "terminated_active"),
        ("orphan", "unmatched"),
    }
    # Nothing changed since: the next detect re-matches nothing, unless asked to.
    again = run("--config", cfg(synced), "detect")
    assert ": 0 accounts matched, 0 opened, 0 reopened, 0 resolved" in again.stderr
    full = run("--config", cfg(synced), "detect", "--rematch")
    accounts = int(re.search(r": (\d+) accounts matched, 0 opened", full.stderr).group(1))
    listed = run(
        "--config",
        cfg(synced),
        "sql",
        "--format",
        "json",
        "SELECT count(DISTINCT (app, account_id)) AS n FROM accounts",
    )
    assert accounts == json.loads(listed.stdout)[0]["n"] > 0
    assert run("--config", cfg(synced), "detect", "--fail-on", "high").exit_code == 1
    assert run("--config", cfg(synced), "detect", "--fail-on", "bogus").exit_code == 2


_FINDING = (
    "INSERT INTO findings (finding_id, kind, subkind, severity, status, first_seen_at, "
    "last_seen_at) VALUES ($id, 'orphan', 'unmatched', $severity, $status, $at, $at)"
)


@pytest.mark.parametrize(
    ("severity", "count"), [("low", 6), ("medium", 5), ("high", 3), ("critical", 1)]
)
def test_open_at_or_above_counts_open_findings_of_that_severity_or_worse(
    tmp_path: Path, severity: str, count: int
) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        ("low", "open"),
        ("medium", "open"),
        ("medium", "open"),
        ("high", "open"),
        ("high", "open"),
        ("critical", "open"),
        ("critical", "resolved"),
        ("critical", "accepted"),
        ("high", "resolved"),
    ]
    with store_session(tmp_path / "s.duckdb") as con:
        for i, (sev, status) in enumerate(rows):
            con.execute(_FINDING, {"id": f"f{i}", "severity": sev, "status": status, "at": at})
        assert open_at_or_above(con, severity) == count


def test_findings_json_is_the_public_contract(synced: Path) -> None:
    r = run("--config", cfg(synced), "findings", "--format", "json")
    assert r.exit_code == 0
    rows = json.loads(r.stdout)  # stdout holds the data and nothing else
    truth = json.loads((synced / "truth.json").read_text())
    kinds = {x["kind"] for x in rows}  # every kind the detections implement, orphans at least
    assert "orphan" in kinds
    want = sorted((f["subkind"], f["app"], f["account"]) for f in truth if f["kind"] in kinds)
    assert sorted((x["subkind"], x["app"], x["account"]) for x in rows) == want
    assert list(rows[0]) == [
        "finding_id",
        "kind",
        "subkind",
        "severity",
        "status",
        "app",
        "account",
        "person_id",
        "entitlement",
        "rule",
        "controls",
        "first_seen_at",
        "last_seen_at",
        "resolved_at",
        "explanation",
        "evidence",
    ]
    assert isinstance(rows[0]["controls"], list) and isinstance(rows[0]["evidence"], dict)
    assert rows[0]["first_seen_at"].endswith("Z")


@pytest.mark.parametrize(
    ("args", "check"),
    [
        (("--kind", "orphan"), lambda r: r["kind"] == "orphan"),
        (("--severity", "medium"), lambda r: r["severity"] == "medium"),
        (("--status", "accepted"), lambda r: r["status"] == "accepted"),
        (("--app", "GITHUB"), lambda r: r["app"] == "github"),
    ],
)
def test_findings_filters(synced: Path, args: tuple[str, ...], check) -> None:  # noqa: ANN001
    r = run("--config", cfg(synced), "findings", *args, "--format", "json")
    assert r.exit_code == 0
    rows = json.loads(r.stdout)
    assert rows and all(check(x) for x in rows)


def test_findings_csv_and_table(synced: Path) -> None:
    r = run("--config", cfg(synced), "findings", "--format", "csv")
    assert r.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    j = json.loads(run("--config", cfg(synced), "findings", "--format", "json").stdout)
    assert len(rows) == len(j) and rows[0]["finding_id"] == j[0]["finding_id"]
    t = run("--config", cfg(synced), "findings")
    assert t.exit_code == 0 and f"{len(j)} findings" in t.stdout


def test_csv_neutralises_formulas() -> None:
    assert [csv_cell(v) for v in ("=cmd()", "+1", "-2", "@x", "ok", 3, 2.5, None, True)] == [
        "'=cmd()",
        "'+1",
        "'-2",
        "'@x",
        "ok",
        3,
        2.5,
        "",
        "true",
    ]


def test_sql_reads_and_refuses_writes(synced: Path) -> None:
    r = run(
        "--config", cfg(synced), "sql", "SELECT count(*) AS n FROM findings", "--format", "json"
    )
    assert r.exit_code == 0
    n = json.loads(r.stdout)[0]["n"]
    assert n > 0
    for stmt in (
        "DELETE FROM findings",
        "COPY findings TO 'x.csv'",
        "ATTACH 'x.duckdb' AS x",
        "INSTALL httpfs",
        "LOAD json",
        "CREATE TABLE x (a INT)",
    ):
        bad = run("--config", cfg(synced), "sql", stmt)
        assert bad.exit_code == 2, stmt
        assert "refused" in bad.stderr
    after = run(
        "--config", cfg(synced), "sql", "SELECT count(*) AS n FROM findings", "--format", "json"
    )
    assert json.loads(after.stdout)[0]["n"] == n
    assert run("--config", cfg(synced), "sql", "SELEC nonsense").exit_code == 2


def test_sql_interactive(synced: Path) -> None:
    r = run("--config", cfg(synced), "sql", "--format", "csv", input="SELECT 40 +\n 2 AS answer;\n")
    assert r.exit_code == 0
    assert r.stdout.splitlines() == ["answer", "42"]


def test_forward_sends_once(synced: Path) -> None:
    r = run("--config", cfg(synced), "forward", "--to", "file")
    assert r.exit_code == 0, r.output
    out = synced / "siem" / "events.ndjson"
    n = len(out.read_text().splitlines())
    [total] = json.loads(
        run(
            "--config",
            cfg(synced),
            "sql",
            "SELECT (SELECT count(*) FROM events) AS events, "
            "(SELECT count(*) FROM accounts) AS accounts, "
            "(SELECT max(seq) FROM events) AS last",
            "--format",
            "json",
        ).stdout
    )
    # Every event, then every account version as an asset document.
    assert n == total["events"] + total["accounts"]
    assert r.output.splitlines()[0] == (
        f"file: events sent {total['events']}, dead-lettered 0, cursor at {total['last']}"
    )
    assert r.output.splitlines()[1].startswith(f"file: assets sent {total['accounts']}, ")
    assert run("--config", cfg(synced), "forward", "--to", "file").exit_code == 0
    assert len(out.read_text().splitlines()) == n
    assert run("--config", cfg(synced), "forward", "--to", "nope").exit_code == 2


def test_verify_store(synced: Path) -> None:
    r = run("--config", cfg(synced), "verify", "--store")
    assert r.exit_code == 0
    assert r.stdout.startswith("store chain: OK")


def test_report_writes_the_pdf(synced: Path, tmp_path: Path) -> None:
    r = run(
        "--config",
        cfg(synced),
        "report",
        "soc2",
        "--from",
        "2026-01-01",
        "--to",
        "2026-06-30",
        "--out",
        str(tmp_path),
    )
    assert r.exit_code == 0, r.output
    bundle = tmp_path / "soc2-2026-01-01-2026-06-30"
    assert Path(r.stdout.strip()) == bundle
    assert (bundle / "soc2-2026-01-01-2026-06-30.pdf").stat().st_size > 10_000
    assert (bundle / "populations" / "deprovisioning.csv").is_file()
    # The signing key is made beside the store on first use, readable by its owner only.
    key = Path(str(synced / "evidence.duckdb") + ".signing-key.pem")
    assert key.is_file() and key.stat().st_mode & 0o777 == 0o600
    assert (
        run(
            "--config",
            cfg(synced),
            "report",
            "pci",
            "--from",
            "2026-01-01",
            "--to",
            "2026-06-30",
            "--out",
            str(tmp_path),
        ).exit_code
        == 2
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--config", "/nonexistent/evidence.toml", "sync", "--all"), "config file not found"),
        (("--db", "/nonexistent/dir/none.duckdb", "findings"), "no store here"),
        (("detect", "--as-of", "yesterday"), "--as-of: 'yesterday' is not an RFC 3339"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    args: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    r = run(*args)
    assert r.exit_code == 2
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_bad_config_names_file_and_field(tmp_path: Path) -> None:
    p = tmp_path / "evidence.toml"
    p.write_text('[store]\npath = "x.duckdb"\n[[sources]]\nname = "a"\nkind = "ldap"\n')
    r = run("--config", str(p), "sync", "--all")
    assert r.exit_code == 2
    kinds = "okta, entra, scim, hris, app_export"
    assert r.stderr == f"error: {p}: source 'a': kind 'ldap' is not one of {kinds}\n"


def test_store_busy_exits_1(synced: Path) -> None:
    # The lock must be held by another process: within one, DuckDB shares the instance.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); "
            "print('ok', flush=True); time.sleep(30)",
            str(synced / "evidence.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        r = run("--config", cfg(synced), "--wait", "0.2", "detect")
        assert r.exit_code == 1
        assert "store busy" in r.stderr
    finally:
        holder.kill()
        holder.wait()
