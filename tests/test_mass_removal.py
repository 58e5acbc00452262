"""The mass-removal safeguard: a complete listing that would close too much of a scope is
refused (nothing committed, one failed run on record) unless `--allow-mass-removal SOURCE`
accepts it, and then the run records the override."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from connectors.records import Snapshot
from evidence.cli.main import app
from evidence.config import Policy
from evidence.errors import MassRemovalRefused
from evidence.store.db import open_store
from evidence.store.load import FAILED_COUNTS, commit_batch
from tests.builders import batch, snap

T1 = datetime(2026, 1, 1, tzinfo=UTC)
T2 = datetime(2026, 1, 2, tzinfo=UTC)

HEADER = "Employee ID,Work Email,Worker Status,Start Date,Last Day\n"
HR_TOML = """\
[store]
path = "e.duckdb"

[[sources]]
name = "workday"
kind = "hris"
path = "workers.csv"
as_of = "{as_of}"

[sources.columns]
person_id = "Employee ID"
email = "Work Email"
status = "Worker Status"
hire_date = "Start Date"
termination_date = "Last Day"
"""


def _hr_lines(n: int) -> list[str]:
    return [f"E{i:05d},p{i}@example.com,Active,2020-01-01,\n" for i in range(n)]


def _hr_config(folder: Path, as_of: str, lines: list[str]) -> str:
    (folder / "workers.csv").write_text(HEADER + "".join(lines))
    (folder / "evidence.toml").write_text(HR_TOML.format(as_of=as_of))
    return str(folder / "evidence.toml")


def _state(con: duckdb.DuckDBPyConnection) -> tuple:
    """What a refused run must leave as it was: people versions, events, the chain head."""
    return con.execute(
        "SELECT (SELECT count(*) FROM people), "
        "(SELECT count(*) FROM people WHERE valid_to IS NULL), "
        "(SELECT count(*) FROM events), "
        "(SELECT chain_hash FROM sync_runs WHERE chain_hash IS NOT NULL "
        " ORDER BY run_id DESC LIMIT 1)"
    ).fetchall()[0]


def test_an_hr_export_cut_at_a_line_boundary_is_refused_then_accepted_once(
    tmp_path: Path,
) -> None:
    """The issue's reproduction: 2,005 people, then the same CSV cut after 1,000 rows."""
    full = _hr_lines(2005)
    config = _hr_config(tmp_path, "2026-01-01T00:00:00Z", full)
    run = CliRunner().invoke
    assert run(app, ["--config", config, "sync", "--all"]).exit_code == 0

    config = _hr_config(tmp_path, "2026-01-02T00:00:00Z", full[:1000])
    with open_store(tmp_path / "e.duckdb") as con:
        before = _state(con)
    refused = run(app, ["--config", config, "sync", "--all"])
    message = (
        "workday: refusing to close 1005 of 2005 people (50.1% > max_removal_pct 20, "
        "1005 > max_removals 500); pass --allow-mass-removal workday to accept this listing"
    )
    assert refused.exit_code == 1, refused.output
    assert [ln for ln in refused.stderr.splitlines() if "failed:" in ln] == [
        f"source workday failed: {message}"
    ]
    with open_store(tmp_path / "e.duckdb") as con:
        assert _state(con) == before
        assert before[:2] == (2005, 2005)
        failed = con.execute(
            "SELECT status, error, counts, digest, chain_hash FROM sync_runs "
            "ORDER BY run_id DESC LIMIT 1"
        ).fetchall()[0]
        assert failed[:2] == ("failed", message)
        assert json.loads(failed[2]) == FAILED_COUNTS and failed[3:] == (None, None)

    # An unknown source name is a usage error; the right one lets this listing through.
    bad = run(app, ["--config", config, "sync", "--all", "--allow-mass-removal", "wrokday"])
    assert bad.exit_code == 2 and "no source named 'wrokday'" in bad.stderr
    ok = run(app, ["--config", config, "sync", "--all", "--allow-mass-removal", "workday"])
    assert ok.exit_code == 0, ok.output
    assert "source workday: --allow-mass-removal accepted closing 1005 of 2005 people\n" in (
        ok.stderr
    )
    with open_store(tmp_path / "e.duckdb") as con:
        assert _state(con)[:2] == (2005, 1000)
        last, status, counts = con.execute(
            "SELECT run_id, status, counts FROM sync_runs ORDER BY run_id DESC LIMIT 1"
        ).fetchall()[0]
        counts = json.loads(counts)
        assert status == "ok" and counts["closed"] == {"people": 1005}
        # What an auditor reads in sync_runs: the override and the scope it let through.
        assert con.execute(
            "SELECT run_id FROM sync_runs WHERE (counts->'mass_removal_allowed') IS NOT NULL"
        ).fetchall() == [(last,)]
        assert counts["mass_removal_allowed"] == [
            {"table": "people", "app": None, "removed": 1005, "current": 2005}
        ]

    # Once: the flag was for that run. The next cut listing is refused again.
    config = _hr_config(tmp_path, "2026-01-03T00:00:00Z", full[:300])
    again = run(app, ["--config", config, "sync", "--all"])
    assert again.exit_code == 1
    assert "refusing to close 700 of 1000 people (70.0% > max_removal_pct 20, 700 > " in (
        again.stderr
    )


def _accounts(app_name: str, n: int, *, start: int = 0, active: bool = True) -> list[dict]:
    return [
        {"app": app_name, "account_id": f"{app_name}-{i}", "user_name": f"u{i}", "active": active}
        for i in range(start, start + n)
    ]


@pytest.fixture
def con(tmp_path: Path):  # noqa: ANN201
    c = open_store(tmp_path / "s.duckdb")
    yield c
    c.close()


def _two_listings(
    con: duckdb.DuckDBPyConnection,
    first: list[dict],
    second: list[dict],
    *,
    apps: tuple[str, ...] | None = None,
    partial: bool = False,
    policy: Policy | None = None,
    allow: bool = False,
    source: str = "app",
) -> dict[str, int]:
    """Commit `first`, then `second`, as complete (or partial) account listings of `source`;
    the second run's closed counts."""
    policy = policy or Policy()
    commit_batch(con, batch(source, "app_export", T1, snap("accounts", first, apps)), policy)
    second_snap = snap("accounts", second, apps)
    if partial:
        second_snap = Snapshot("accounts", second_snap.rows, apps, partial=True)
    run = commit_batch(
        con, batch(source, "app_export", T2, second_snap), policy, allow_mass_removal=allow
    )
    return run.closed


@pytest.mark.parametrize(
    ("current", "kept", "refused"),
    [
        pytest.param(3, 2, None, id="1-of-3-tiny-scope"),
        pytest.param(12, 2, None, id="10-of-12-at-the-floor"),
        pytest.param(50, 40, None, id="10-of-50-at-the-floor"),
        pytest.param(50, 39, "11 of 50 accounts of app 'a' (22.0% > max_removal_pct 20)", id="11-of-50"),
        pytest.param(60, 48, None, id="12-of-60-exactly-20pct"),
        pytest.param(60, 47, "13 of 60 accounts of app 'a' (21.7% > max_removal_pct 20)", id="13-of-60"),
        pytest.param(10_000, 9_500, None, id="500-of-10000-at-max"),
        pytest.param(10_000, 9_499, "501 of 10000 accounts of app 'a' (501 > max_removals 500)", id="501-of-10000"),
    ],
)  # fmt: skip
def test_the_limits_and_the_floor(
    con: duckdb.DuckDBPyConnection, current: int, kept: int, refused: str | None
) -> None:
    rows = _accounts("a", current)
    if refused is None:
        assert _two_listings(con, rows, rows[:kept]) == {"accounts": current - kept}
        return
    with pytest.raises(MassRemovalRefused) as e:
        _two_listings(con, rows, rows[:kept])
    assert str(e.value) == (
        f"app: refusing to close {refused}; pass --allow-mass-removal app to accept this listing"
    )
    # Refused before anything was written: only the first run's rows and run.
    assert con.execute(
        "SELECT count(*), count(*) FILTER (WHERE valid_to IS NULL) FROM accounts"
    ).fetchall() == [(current, current)]
    assert con.execute("SELECT count(*) FROM sync_runs").fetchall() == [(1,)]


def test_a_changed_row_is_no_removal(con: duckdb.DuckDBPyConnection) -> None:
    # Every account deactivated: 50 of 50 versions closed, each with a successor.
    rows = _accounts("a", 50)
    assert _two_listings(con, rows, _accounts("a", 50, active=False)) == {"accounts": 50}


def test_a_partial_listing_is_never_refused(con: duckdb.DuckDBPyConnection) -> None:
    rows = _accounts("a", 50)
    assert _two_listings(con, rows, rows[:1], partial=True) == {"accounts": 0}


def test_each_app_is_its_own_scope(con: duckdb.DuckDBPyConnection) -> None:
    # The source as a whole loses 15 of 1,030 (1.5 %), but app b loses 15 of its 30.
    first = _accounts("a", 1000) + _accounts("b", 30)
    second = _accounts("a", 1000) + _accounts("b", 15)
    with pytest.raises(MassRemovalRefused, match=r"15 of 30 accounts of app 'b' \(50\.0% >"):
        _two_listings(con, first, second, apps=("a", "b"))


def test_several_scopes_over_the_limits_are_all_named_and_recorded(
    con: duckdb.DuckDBPyConnection,
) -> None:
    first = _accounts("a", 40) + _accounts("b", 30)
    second = _accounts("a", 20) + _accounts("b", 15)
    with pytest.raises(MassRemovalRefused) as e:
        _two_listings(con, first, second)
    assert str(e.value) == (
        "app: refusing to close 20 of 40 accounts of app 'a' (50.0% > max_removal_pct 20, "
        "and 1 more scopes of accounts); pass --allow-mass-removal app to accept this listing"
    )


def test_the_override_records_every_scope_it_let_through(con: duckdb.DuckDBPyConnection) -> None:
    first = _accounts("a", 40) + _accounts("b", 30) + _accounts("c", 30)
    second = _accounts("a", 20) + _accounts("b", 15) + _accounts("c", 29)
    assert _two_listings(con, first, second, allow=True) == {"accounts": 36}
    counts = json.loads(
        con.execute("SELECT counts FROM sync_runs ORDER BY run_id DESC LIMIT 1").fetchall()[0][0]
    )
    assert counts["mass_removal_allowed"] == [
        {"table": "accounts", "app": "a", "removed": 20, "current": 40},
        {"table": "accounts", "app": "b", "removed": 15, "current": 30},
    ]


def test_the_policy_sets_the_limits(con: duckdb.DuckDBPyConnection) -> None:
    rows = _accounts("a", 100)
    loose = Policy(max_removal_pct=60, max_removals=1000)
    assert _two_listings(con, rows, rows[:45], policy=loose) == {"accounts": 55}
    strict = Policy(max_removal_pct=100, max_removals=3)
    with pytest.raises(MassRemovalRefused, match=r"refusing to close 4 of 45 accounts of app "
                       r"'a' \(4 > max_removals 3\)"):  # fmt: skip
        commit_batch(
            con, batch("app", "app_export", datetime(2026, 1, 3, tzinfo=UTC),
                       snap("accounts", rows[:41])), strict,
        )  # fmt: skip


# Per app: current rows, how many the listing drops, changes and adds.
_APP_CHANGE = st.tuples(
    st.integers(0, 80), st.integers(0, 80), st.integers(0, 80), st.integers(0, 20)
)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """One store for every example; each example syncs a source of its own."""
    c = open_store(tmp_path_factory.mktemp("prop") / "s.duckdb")
    yield c, itertools.count()
    c.close()


@given(
    changes=st.lists(_APP_CHANGE, min_size=1, max_size=3),
    pct=st.sampled_from([0.0, 5.0, 20.0, 33.3, 100.0]),
    most=st.sampled_from([0, 5, 30, 500]),
)
def test_refused_exactly_when_an_app_scope_breaks_a_limit(
    shared: tuple[duckdb.DuckDBPyConnection, itertools.count],
    changes: list[tuple[int, int, int, int]],
    pct: float,
    most: int,
) -> None:
    first: list[dict] = []
    second: list[dict] = []
    expect_refused = False
    closed = 0
    for k, (current, drop, change, add) in enumerate(changes):
        name = f"app{k}"
        drop = min(drop, current)
        change = min(change, current - drop)
        rows = _accounts(name, current)
        first += rows
        kept = rows[drop:]
        second += [{**r, "active": False} for r in kept[:change]] + kept[change:]
        second += _accounts(name, add, start=current)
        closed += drop + change
        expect_refused |= drop > most or (drop > 10 and drop * 100 > pct * current)
    policy = Policy(max_removal_pct=pct, max_removals=most)
    c, counter = shared
    source = f"s{next(counter)}"
    runs = "SELECT count(*) FROM sync_runs WHERE source = $s"
    if expect_refused:
        with pytest.raises(MassRemovalRefused, match=f"^{source}: refusing to close "):
            _two_listings(c, first, second, policy=policy, source=source)
        assert c.execute(runs, {"s": source}).fetchall() == [(1,)]
    else:
        got = _two_listings(c, first, second, policy=policy, source=source)
        assert got.get("accounts", 0) == closed
        assert c.execute(runs, {"s": source}).fetchall() == [(2,)]
