"""Writers and readers racing on one store, as real processes (DuckDB's lock is per process):
nothing corrupts it, nothing hangs, a waiting command says once that it waits and for whom,
and "store busy" names the holder's program and PID."""

from __future__ import annotations

import json
import multiprocessing
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

import pytest

from connectors.synthetic import generate_tenant
from evidence.errors import StoreBusy
from evidence.store.db import holder, open_store
from tests.evidence_proc import run, start
from tests.store_compare import VERSIONED, attach, row_differences

WAITING = "waiting for the store (held by {who}) up to {s} s"


class Lines:
    """A stream's lines as they come, read on a thread, so a test can wait with a timeout."""

    def __init__(self, stream: IO[str]) -> None:
        self.q: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.q.put(line)
        self.q.put(None)

    def next(self, timeout: float = 60.0) -> str | None:
        line = self.q.get(timeout=timeout)
        if line is not None:
            self.seen.append(line)
        return line


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("race") / "t"
    generate_tenant(folder, seed=11, people=100, apps=8)
    return folder


@pytest.fixture
def store(tenant: Path, tmp_path: Path) -> Path:
    """A fresh copy of the tenant with an initialised store; its config's path."""
    folder = tmp_path / "t"
    shutil.copytree(tenant, folder)
    cfg = folder / "evidence.toml"
    assert run("--config", str(cfg), "init").returncode == 0
    return cfg


@pytest.fixture
def sql_holder(store: Path):  # noqa: ANN201
    """An interactive `evidence sql` session: it holds the store (read-only) until its
    stdin closes. Yields (process, its stderr lines)."""
    p = start("--config", str(store), "sql", stdin=subprocess.PIPE)
    lines = Lines(p.stderr)  # type: ignore[arg-type]
    try:
        first = lines.next()
        assert first is not None and first.startswith("read-only SQL"), first
        yield p, lines
    finally:
        if p.stdin:
            p.stdin.close()
        p.wait(timeout=60)


# ------------------------------------------------------------------------ the messages


def test_busy_names_the_holders_program_and_pid(store: Path, sql_holder) -> None:  # noqa: ANN001
    p, _ = sql_holder
    who = f"evidence sql, PID {p.pid}"
    r = run("--config", str(store), "--wait", "0.5", "detect", timeout=60)
    assert r.returncode == 1
    assert r.stderr == (
        WAITING.format(who=who, s="0.5") + f"\nerror: store busy: held by {who} (waited 0.5 s)\n"
    )
    # --wait 0: no waiting, so no waiting line.
    r = run("--config", str(store), "--wait", "0", "init", timeout=60)
    assert (r.returncode, r.stderr) == (1, f"error: store busy: held by {who}\n")


def test_a_waiting_command_says_once_for_whom_then_runs(store: Path, sql_holder) -> None:  # noqa: ANN001
    p, _ = sql_holder
    t0 = time.monotonic()
    w = start("--config", str(store), "--wait", "60", "init")
    out = Lines(w.stderr)  # type: ignore[arg-type]
    assert out.next() == WAITING.format(who=f"evidence sql, PID {p.pid}", s="60") + "\n"
    time.sleep(1.5)  # it keeps waiting, and keeps quiet
    assert w.poll() is None and out.q.empty()
    assert p.stdin is not None
    p.stdin.close()  # the holder ends its session: the waiter goes on
    assert w.wait(timeout=60) == 0
    assert time.monotonic() - t0 < 30
    while out.next() is not None:
        pass
    assert sum("waiting for the store" in line for line in out.seen) == 1
    assert any(line.startswith("store ready:") for line in out.seen)


HOLDER = """\
import os, sys, duckdb
con = duckdb.connect(os.environ["HOLD_DB"])
print("ok", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["{evidence}", "--config", "x.toml", "--wait", "5", "sync", "--all"], "evidence sync"),
        (["{evidence}", "--db=x.duckdb", "forward", "--follow"], "evidence forward"),
        (["{evidence}"], "evidence"),
        (["{odd}", "arg"], "odd?[31mname?name"),
        (["-u", "-m", "holder_mod", "--secret", "s3cr3t"], "holder_mod"),
        (["-c", HOLDER, "--secret", "s3cr3t"], f"{Path(sys.executable).name} -c"),
    ],
)
def test_the_holder_is_named_by_program_and_command_never_its_arguments(
    tmp_path: Path, argv: list[str], name: str
) -> None:
    """The name comes from /proc/<pid>/cmdline: the program, and for `evidence` its command;
    no other argument (one could be a secret), no control character."""
    db = tmp_path / "e.duckdb"
    open_store(db).close()
    (tmp_path / "evidence").write_text(HOLDER)
    (tmp_path / "odd\x1b[31mname\u202ename").write_text(HOLDER)
    (tmp_path / "holder_mod.py").write_text(HOLDER)
    paths = {"evidence": tmp_path / "evidence", "odd": tmp_path / "odd\x1b[31mname\u202ename"}
    args = [a.format(**paths) if a.startswith("{") else a for a in argv]
    p = subprocess.Popen(
        [sys.executable, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={"HOLD_DB": str(db), "PYTHONPATH": str(tmp_path)},
    )
    try:
        assert p.stdout is not None and p.stdout.readline() == "ok\n"
        with pytest.raises(StoreBusy) as e:
            open_store(db, wait=0)
        assert str(e.value) == f"store busy: held by {name}, PID {p.pid}"
    finally:
        p.communicate(timeout=30)


def test_a_holder_that_cannot_be_read_is_named_as_duckdb_names_it() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its PID now names no process (reuse within the test is vanishingly rare)
    tail = "See also https://duckdb.org/docs/current/connect/concurrency"
    msg = (
        'IO Error: Could not set lock on file "/s/e.duckdb": Conflicting lock is held in '
        f"/opt/py/bin/python3.11 (PID {gone.pid}) by user alice. {tail}"
    )
    assert holder(msg) == f"/opt/py/bin/python3.11, PID {gone.pid}"
    assert holder(f"Conflicting lock is held in /usr/bin/duck.db.exe. {tail}") == (
        "/usr/bin/duck.db.exe"
    )
    assert holder("IO Error: Could not set lock on file") == "another process"


# ------------------------------------------------------------------------------ the race


def _forwarded(path: Path) -> tuple[Counter[str], Counter[str]]:
    """How often each event and each asset (account version) occurs in an NDJSON file, by
    the store's id (`event.id` is the vendor's where it has one)."""
    events: Counter[str] = Counter()
    assets: Counter[str] = Counter()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            kind = assets if doc["event"]["kind"] == "asset" else events
            kind[doc["scim_evidence"]["event_id"]] += 1
    return events, assets


def test_racing_writers_and_readers_never_corrupt_or_hang(tenant: Path, tmp_path: Path) -> None:
    race, seq = tmp_path / "race", tmp_path / "seq"
    for folder in (race, seq):
        shutil.copytree(tenant, folder)
    rcfg, scfg = str(race / "evidence.toml"), str(seq / "evidence.toml")
    period = ("--from", "2025-11-02", "--to", "2026-11-01")
    # Both start with a completed sync (detect and report refuse a store without one).
    for cfg in (rcfg, scfg):
        for args in (["init"], ["sync", "--source", "workday"]):
            r = run("--config", cfg, *args)
            assert r.returncode == 0, r.stderr

    commands = [
        ["sync", "--all"],
        ["sync", "--all"],
        ["detect"],
        ["detect"],
        ["sql", "SELECT count(*) AS n FROM events", "--format", "json"],
        ["sql", "SELECT count(*) AS n FROM events", "--format", "json"],
        ["report", "soc2", *period, "--out", str(race / "rep")],
    ]
    rng = random.Random(9)
    rng.shuffle(commands)
    follower = start("--config", rcfg, "--wait", "120", "forward", "--follow", "--interval", "0.2")
    procs = []
    for args in commands:
        procs.append((args, start("--config", rcfg, "--wait", "120", *args)))
        time.sleep(rng.uniform(0.0, 0.4))
    results = []
    for args, p in procs:
        out, err = p.communicate(timeout=300)  # a hang fails here
        results.append((args[0], p.returncode, out, err))
    follower.send_signal(signal.SIGTERM)
    f_out, f_err = follower.communicate(timeout=120)
    results.append(("forward", follower.returncode, f_out, f_err))

    for name, rc, out, err in results:
        assert rc == 0 or (rc == 1 and "store busy" in err), (name, rc, err)
        if name != "forward":  # a follower opens the store at every poll
            assert err.count("waiting for the store") <= 1, (name, err)
        if name == "sql" and rc == 0:
            ((row,),) = [json.loads(out)]
            assert isinstance(row["n"], int)
    assert "stopped" in f_err

    # What sequential runs give: the race store, brought up to date, equals a store that ran
    # the same commands one at a time.
    for args in (["sync", "--all"], ["detect"], ["forward"]):
        r = run("--config", rcfg, *args)
        assert r.returncode == 0, r.stderr
    for args in (["sync", "--all"], ["detect"], ["forward"]):
        r = run("--config", scfg, *args)
        assert r.returncode == 0, r.stderr
    v = run("--config", rcfg, "verify", "--store")
    assert v.returncode == 0 and "OK" in v.stdout, v.stdout + v.stderr

    con = attach(seq / "evidence.duckdb", race / "evidence.duckdb")
    try:
        problems = [
            # Sync events are numbered after any finding events a racing detect appended.
            *row_differences(con, "events", where="source <> 'detect'", ignore={"seq"}),
            *row_differences(
                con,
                "findings",
                where="resolved_at IS NULL",
                ignore={"first_seen_at", "last_seen_at"},
            ),
            *(d for t in VERSIONED for d in row_differences(con, t)),
        ]
        n_events = {
            db: con.execute(f"SELECT count(*) FROM {db}.events").fetchone()[0] for db in "ab"
        }
        race_ids = {r[0] for r in con.execute("SELECT event_id FROM b.events").fetchall()}
        (versions,) = con.execute("SELECT count(*) FROM b.accounts").fetchone() or (0,)
    finally:
        con.close()
    assert problems == []
    assert n_events["a"] > 0
    # Forwarded exactly once: no document twice, every event once.
    events, assets = _forwarded(race / "siem" / "events.ndjson")
    assert [d for d, n in (events + assets).items() if n > 1] == []
    assert set(events) == race_ids and len(assets) == versions
    assert len(list(race.glob("rep/*/manifest.json"))) == 1


def _first_report_key(barrier: Any, path: str, out: Any) -> None:
    from reports.signing import load_signer

    barrier.wait()
    try:
        out.put(load_signer(Path(path), create=True).fingerprint)
    except BaseException as e:  # noqa: BLE001 - the parent reports it
        out.put(f"{type(e).__name__}: {e}")


def test_first_reports_at_once_share_one_whole_signing_key(tmp_path: Path) -> None:
    """Two reports on a store that has no key yet (read-only, so they run together) used to
    crash one of them: it found the key created and half written, or created under it."""
    ctx = multiprocessing.get_context("fork")
    for trial in range(3):
        path = tmp_path / f"k{trial}.pem"
        barrier, out = ctx.Barrier(6), ctx.Queue()
        procs = [ctx.Process(target=_first_report_key, args=(barrier, str(path), out))
                 for _ in range(6)]  # fmt: skip
        for p in procs:
            p.start()
        got = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert len(set(got)) == 1 and re.fullmatch(r"[0-9a-f]{64}", got[0]), got
        assert path.stat().st_mode & 0o777 == 0o600
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
