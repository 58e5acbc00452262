"""What the analyst's terminal shows: data as itself, never markup, and every DuckDB type as
JSON; listings' filters checked; the SQL session offline; `--version`."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence.cli.main import app
from evidence.cli.terminal import log_to_stderr, visible
from evidence.config import Policy
from evidence.detections.runner import detect
from evidence.store.db import store_session
from evidence.store.load import commit_batch
from tests.builders import batch, snap, utc

NOW = utc(2026, 11, 1)

# A name an app's admin (or an attacker who can pick a user name) could hold, and what the
# terminal must show for it.
HOSTILE = {
    "[/]": "[/]",
    ":x: [red]red[/red]": ":x: [red]red[/red]",
    "[link=https://evil.example]click[/link]": "[link=https://evil.example]click[/link]",
    "esc\x1b[31mRED\x1b[0m": "esc\\x1b[31mRED\\x1b[0m",
    "bidi\u202eevil\u2066": "bidi\\u202eevil\\u2066",
    "two\nlines\r": "two\\nlines\\r",
    "tab\there\x00nul\x7f": "tab\\there\\x00nul\\x7f",
    "DOMAIN\\user": "DOMAIN\\user",
}


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose only app lists one unmatched account per hostile name: each becomes an
    orphan/unmatched finding whose account is that name."""
    path = tmp_path_factory.mktemp("hostile") / "evidence.duckdb"
    rows = [
        {"app": "wiki", "account_id": f"a{i}", "user_name": name, "active": True}
        for i, name in enumerate(HOSTILE)
    ]
    with store_session(path) as con:
        commit_batch(con, batch("wiki", "scim", NOW, snap("accounts", rows, ("wiki",))), Policy())
        detect(con, Policy())
    return path


def test_visible_shows_control_characters_and_leaves_text_alone() -> None:
    for name, shown in HOSTILE.items():
        assert visible(name) == shown
    assert visible("Zoë Ødegård 李") == "Zoë Ødegård 李"


def test_findings_table_prints_every_hostile_name_as_itself(hostile_store: Path) -> None:
    r = run("--db", str(hostile_store), "findings", "--app", "wiki")
    assert r.exit_code == 0, r.output
    assert f"{len(HOSTILE)} findings" in r.output
    for shown in HOSTILE.values():
        assert shown in r.output
    # No escape sequence, bidi control or emoji reached the terminal.
    assert "\x1b" not in r.output and "\u202e" not in r.output and "\u274c" not in r.output


def test_findings_json_keeps_the_names_exact(hostile_store: Path) -> None:
    r = run("--db", str(hostile_store), "findings", "--app", "wiki", "--format", "json")
    assert r.exit_code == 0
    assert sorted(f["account"] for f in json.loads(r.stdout)) == sorted(HOSTILE)


def test_sync_summary_shows_a_hostile_error_as_text(tmp_path: Path) -> None:
    # A source whose failure message carries markup: the summary and the error line show it
    # as written (a closing tag used to crash the summary and hide the error), and the next
    # source still commits.
    bad = tmp_path / "bad.csv"
    bad.write_text('user_name,active\nann,"[/]:x:[red]r[/red]"\n', encoding="utf-8")
    good = tmp_path / "good.csv"
    good.write_text("user_name,active\nann,true\n", encoding="utf-8")
    config = tmp_path / "evidence.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "s.duckdb"}"\n'
        f'[[sources]]\nname = "bad"\nkind = "app_export"\napp = "wiki"\npath = "{bad}"\n'
        f'[[sources]]\nname = "good"\nkind = "app_export"\napp = "docs"\npath = "{good}"\n',
        encoding="utf-8",
    )
    r = run("--config", str(config), "sync", "--all")
    assert r.exit_code != 0
    assert r.stderr.endswith(
        f"source bad failed: {bad}: record 1: field 'active': not a known active value: "
        "'[/]:x:[red]r[/red]'\n"
    )
    assert "Traceback" not in r.output
    with store_session(tmp_path / "s.duckdb", read_only=True) as con:
        assert con.execute("SELECT count(*) FROM accounts WHERE app = 'docs'").fetchall() == [(1,)]


def test_sql_json_encodes_every_duckdb_type(hostile_store: Path) -> None:
    query = (
        "SELECT '1e3a7d64-1c22-4f88-bbb4-0ee9e716cc17'::UUID AS u, INTERVAL 3 DAY AS i,"
        " INTERVAL '1 hour 2 minutes 3.5 seconds' AS s, -INTERVAL '1 day 2 hours' AS n,"
        " INTERVAL 0 DAY AS z, 'ab'::BLOB AS b, TIME '10:00' AS t, '10:00:00+02'::TIMETZ AS tz,"
        " 'nan'::DOUBLE AS nan, '-inf'::FLOAT AS inf, 2::HUGEINT ** 100 AS big,"
        " 170141183460469231731687303715884105727::HUGEINT AS h, MAP([1, 2], ['a', 'b']) AS m,"
        " [1, 2]::INT[2] AS arr, '101'::BIT AS bits, DATE '2026-03-03' AS d,"
        " TIMESTAMPTZ '2026-03-03 10:00:00+00' AS ts, 1.50::DECIMAL(10, 2) AS dec,"
        " {'k': [TIME '01:02']} AS st"
    )
    r = run("--db", str(hostile_store), "sql", query, "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == [
        {
            "u": "1e3a7d64-1c22-4f88-bbb4-0ee9e716cc17",
            "i": "P3D",
            "s": "PT1H2M3.5S",
            "n": "-P1DT2H",
            "z": "PT0S",
            "b": "YWI=",
            "t": "10:00:00",
            "tz": "10:00:00+02:00",
            "nan": "NaN",
            "inf": "-Infinity",
            "big": 1.2676506002282294e30,
            "h": 170141183460469231731687303715884105727,
            "m": {"1": "a", "2": "b"},
            "arr": [1, 2],
            "bits": "101",
            "d": "2026-03-03",
            "ts": "2026-03-03T10:00:00Z",
            "dec": 1.5,
            "st": {"k": ["01:02:00"]},
        }
    ]
    r = run("--db", str(hostile_store), "sql", query, "--format", "csv")
    assert r.exit_code == 0
    assert r.stdout.splitlines()[1].startswith(
        "1e3a7d64-1c22-4f88-bbb4-0ee9e716cc17,P3D,PT1H2M3.5S,'-P1DT2H,PT0S,YWI=,10:00:00,"
        "10:00:00+02:00,NaN,'-Infinity,"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--severity", "bogus"),
            "error: --severity: 'bogus' is not one of low, medium, high, critical\n",
        ),
        (
            ("--kind", "orphans"),
            "error: --kind: 'orphans' is not one of creep, dormant, drift, duplicate, orphan, sla, sod\n",
        ),
        (
            ("--status", "closed"),
            "error: --status: 'closed' is not one of open, accepted, resolved, all\n",
        ),
    ],
)
def test_findings_refuses_an_unknown_filter_value(
    hostile_store: Path, args: tuple[str, ...], message: str
) -> None:
    r = run("--db", str(hostile_store), "findings", *args)
    assert (r.exit_code, r.stderr) == (2, message)


def test_findings_filters_ignore_case(hostile_store: Path) -> None:
    r = run(
        "--db",
        str(hostile_store),
        "findings",
        "--kind",
        "ORPHAN",
        "--severity",
        "Medium",
        "--status",
        "OPEN",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    found = json.loads(r.stdout)
    assert len(found) == len(HOSTILE)
    assert {(f["kind"], f["subkind"], f["severity"]) for f in found} == {
        ("orphan", "unmatched", "medium")
    }


@pytest.mark.parametrize(
    ("path", "hint"),
    [
        ("http://127.0.0.1:9/x.csv", "(`evidence sql` never reads URLs)"),
        ("s3://bucket/x.csv", "(`evidence sql` never reads URLs)"),
        ("LOCAL", "(--allow-files reads local files)"),
    ],
)
def test_sql_is_offline(hostile_store: Path, tmp_path: Path, path: str, hint: str) -> None:
    local = tmp_path / "x.csv"
    local.write_text("a\n1\n2\n", encoding="utf-8")
    path = str(local) if path == "LOCAL" else path
    r = run("--db", str(hostile_store), "sql", f"SELECT count(*) AS n FROM read_csv('{path}')")
    assert r.exit_code == 2
    assert r.stderr.startswith("error: query: ") and r.stderr.endswith(f"{hint}\n")
    assert r.stderr.count("\n") == 1


def test_sql_allow_files_reads_local_files_but_never_urls(
    hostile_store: Path, tmp_path: Path
) -> None:
    local = tmp_path / "x.csv"
    local.write_text("a\n1\n2\n", encoding="utf-8")
    db = str(hostile_store)
    q = f"SELECT count(*) AS n FROM read_csv('{local}')"
    r = run("--db", db, "sql", "--allow-files", q, "--format", "json")
    assert (r.exit_code, json.loads(r.stdout)) == (0, [{"n": 2}])
    for url in ("http://127.0.0.1:9/x.csv", "s3://bucket/x.csv"):
        r = run("--db", db, "sql", "--allow-files", f"SELECT * FROM read_csv('{url}')")
        assert r.exit_code == 2 and "never reads URLs" in r.stderr


def test_sql_session_configuration_is_locked(hostile_store: Path) -> None:
    db = str(hostile_store)
    for statement in (
        "SET enable_external_access = true",
        "SELECT * FROM duckdb_settings() WHERE name = 'lock_configuration' AND value = 'false'",
    ):
        r = run("--db", db, "sql", statement, "--format", "json")
        assert r.exit_code == 2 or json.loads(r.stdout) == [], r.output
    r = run(
        "--db", db, "sql", "SELECT current_setting('lock_configuration') AS v", "--format", "json"
    )
    assert json.loads(r.stdout) == [{"v": True}]


def test_version() -> None:
    from evidence import __version__

    r = run("--version")
    assert (r.exit_code, r.stdout) == (0, f"scim-evidence {__version__}\n")


def test_log_lines_are_one_line_of_visible_text(capsys: pytest.CaptureFixture[str]) -> None:
    log_to_stderr()
    log_to_stderr()  # once per process, however often the CLI's callback runs
    logging.getLogger("scim_evidence.siem").warning("sink %s: down", "x\x1b[2J\n[red]y")
    assert capsys.readouterr().err == "warning: sink x\\x1b[2J\\n[red]y: down\n"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--people", "0"], "error: --people must be at least 100, not 0\n"),
        (["--people", "99"], "error: --people must be at least 100, not 99\n"),
        (["--apps", "4"], "error: --apps must be at least 5, not 4\n"),
    ],
)
def test_demo_below_the_generators_minimum_is_one_line(
    tmp_path: Path, args: list[str], line: str
) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    r = run("demo", "--out", str(out), *args)
    assert (r.exit_code, r.stderr) == (2, line)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]  # checked before anything is cleared
