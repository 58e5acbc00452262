"""Forwarding to an NDJSON file: every event once, across re-runs and crashes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pytest

from evidence.config import Policy, SinkConfig
from evidence.errors import ConfigError, SinkError, StoreBusy
from evidence.siem.forwarder import ForwardResult, follow, forward, forward_streams, streams
from evidence.siem.sinks.base import Doc, SendResult
from evidence.siem.sinks.ndjson import NdjsonSink
from evidence.store.db import open_store, store_session
from evidence.store.load import commit_batch
from tests.builders import batch, snap
from tests.siem_builders import add_events, cursor


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def line_ids(path: Path) -> list[str]:
    return [doc["event"]["id"] for doc in lines(path)]


def set_cursor(con: duckdb.DuckDBPyConnection, last_seq: int, sink: str = "file") -> None:
    """Put back an older cursor row: the state a crash before the cursor commit leaves."""
    con.execute(
        "UPDATE sink_cursors SET last_seq = $seq WHERE sink = $s", {"seq": last_seq, "s": sink}
    )


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    c = open_store(tmp_path / "store.duckdb")
    yield c
    c.close()


@pytest.fixture
def sink(tmp_path: Path) -> SinkConfig:
    return SinkConfig(name="file", kind="ndjson", path=tmp_path / "siem" / "out" / "events.ndjson")


class CrashAfter:
    """Writes the first `keep` documents of a batch for real, then dies like a killed process."""

    def __init__(self, path: Path, keep: int) -> None:
        self.inner, self.keep = NdjsonSink(path), keep

    def last_delivered(self) -> str | None:
        return self.inner.last_delivered()

    def send(self, docs: Sequence[Doc]) -> SendResult:
        self.inner.send(docs[: self.keep])
        raise KeyboardInterrupt("killed")

    def close(self) -> None:
        self.inner.close()


class Picky:
    """A destination that refuses some documents and leaves others unanswered."""

    def __init__(self, refuse: set[str], ignore: set[str]) -> None:
        self.refuse, self.ignore, self.got = refuse, ignore, []

    def last_delivered(self) -> str | None:
        return None

    def send(self, docs: Sequence[Doc]) -> SendResult:
        self.got.extend(d.event_id for d in docs)
        return SendResult(
            acked=[d.event_id for d in docs if d.event_id not in self.refuse | self.ignore],
            refused={
                d.event_id: "mapper_parsing_exception" for d in docs if d.event_id in self.refuse
            },
        )

    def close(self) -> None:
        pass


def test_forward_writes_each_event_once(con: duckdb.DuckDBPyConnection, sink: SinkConfig) -> None:
    ids = add_events(con, 12)
    result = forward(con, sink, batch_size=5)
    assert result == ForwardResult(sent=12, skipped=0, dead=0, last_seq=12)
    assert sink.path is not None and sink.path.exists()
    assert line_ids(sink.path) == ids
    assert [d["event"]["sequence"] for d in lines(sink.path)] == list(range(1, 13))
    assert lines(sink.path)[0]["scim_evidence"]["raw"] == {"id": "1", "manager": None}
    assert cursor(con) == 12

    before = sink.path.read_bytes()
    assert forward(con, sink) == ForwardResult(sent=0, skipped=0, dead=0, last_seq=12)
    assert sink.path.read_bytes() == before

    more = add_events(con, 3)
    assert forward(con, sink) == ForwardResult(sent=3, skipped=0, dead=0, last_seq=15)
    after = sink.path.read_bytes()
    assert after.startswith(before)
    assert line_ids(sink.path) == ids + more
    assert len(after.splitlines()) == 15


def test_crash_after_write_before_cursor_commit(
    con: duckdb.DuckDBPyConnection, sink: SinkConfig
) -> None:
    ids = add_events(con, 4)
    forward(con, sink)
    ids += add_events(con, 3)
    forward(con, sink)
    set_cursor(con, 4)  # the three lines are on disk, their cursor commit never happened
    written = sink.path.read_bytes()

    result = forward(con, sink, batch_size=2)  # a different batch size than the crashed run
    assert result == ForwardResult(sent=0, skipped=3, dead=0, last_seq=7)
    assert sink.path.read_bytes() == written
    assert line_ids(sink.path) == ids
    assert cursor(con) == 7


def test_crash_in_the_middle_of_a_batch(con: duckdb.DuckDBPyConnection, sink: SinkConfig) -> None:
    ids = add_events(con, 3)
    forward(con, sink)
    ids += add_events(con, 6)
    with pytest.raises(KeyboardInterrupt):
        forward(con, sink, destination=CrashAfter(sink.path, keep=2))
    assert cursor(con) == 3
    assert len(line_ids(sink.path)) == 5

    result = forward(con, sink, batch_size=4)
    assert result == ForwardResult(sent=4, skipped=2, dead=0, last_seq=9)
    assert line_ids(sink.path) == ids


def add_okta_event(con: duckdb.DuckDBPyConnection, uuid: str) -> str:
    """Append an Okta System Log event, whose CEF line names it by its uuid."""
    seq = add_events(con, 1)[0]
    raw = {"uuid": uuid, "eventType": "user.lifecycle.deactivate", "displayMessage": "x"}
    con.execute(
        "UPDATE events SET native_id = $u, raw = $raw::JSON WHERE event_id = $e",
        {"u": uuid, "raw": json.dumps(raw), "e": seq},
    )
    return seq


@pytest.mark.parametrize("fmt", ["ecs", "ocsf", "cef"])
def test_crash_repair_in_every_format(
    con: duckdb.DuckDBPyConnection, sink: SinkConfig, fmt: str
) -> None:
    sink = sink.model_copy(update={"format": fmt})
    add_events(con, 4)
    forward(con, sink)
    add_events(con, 2)
    okta = add_okta_event(con, "d7a5f3a2-0000-4000-8000-000000000001")
    forward(con, sink)
    set_cursor(con, 4)  # three lines on disk, their cursor commit never happened
    written = sink.path.read_bytes()
    last = written.splitlines()[-1].decode()
    # The last line names the Okta event: ECS and OCSF by event id, CEF by its uuid.
    assert (okta in last) == (fmt != "cef")
    assert ("externalId=d7a5f3a2-0000-4000-8000-000000000001" in last) == (fmt == "cef")

    assert forward(con, sink, batch_size=2) == ForwardResult(sent=0, skipped=3, dead=0, last_seq=7)
    assert sink.path.read_bytes() == written
    assert cursor(con) == 7


def test_torn_last_line_is_rewritten(con: duckdb.DuckDBPyConnection, sink: SinkConfig) -> None:
    ids = add_events(con, 5)
    forward(con, sink)
    set_cursor(con, 3)
    # The write of line 5 was cut short: keep lines 1-4 and half of line 5.
    data = sink.path.read_bytes()
    cut = data.rstrip(b"\n").rfind(b"\n") + 1
    sink.path.write_bytes(data[: cut + 40])

    result = forward(con, sink)
    assert result == ForwardResult(sent=1, skipped=1, dead=0, last_seq=5)
    assert sink.path.read_bytes() == data
    assert line_ids(sink.path) == ids


def test_only_a_torn_line(con: duckdb.DuckDBPyConnection, sink: SinkConfig) -> None:
    ids = add_events(con, 2)
    sink.path.parent.mkdir(parents=True)
    sink.path.write_bytes(b'{"event":{"id":"half')
    assert forward(con, sink) == ForwardResult(sent=2, skipped=0, dead=0, last_seq=2)
    assert line_ids(sink.path) == ids


def test_foreign_last_line_is_ignored(con: duckdb.DuckDBPyConnection, sink: SinkConfig) -> None:
    ids = add_events(con, 2)
    sink.path.parent.mkdir(parents=True)
    foreign = {"event": {"id": "x"}, "scim_evidence": {"event_id": "from-another-store"}}
    sink.path.write_text(json.dumps(foreign) + "\n" + "not json\n", encoding="utf-8")
    assert forward(con, sink).sent == 2
    sink.path.write_text(json.dumps(foreign) + "\n", encoding="utf-8")
    set_cursor(con, 0)
    assert forward(con, sink).sent == 2
    assert line_ids(sink.path) == ["x", *ids]


def test_refused_documents_become_dead_letters(
    con: duckdb.DuckDBPyConnection, sink: SinkConfig
) -> None:
    ids = add_events(con, 6)
    picky = Picky(refuse={ids[1]}, ignore={ids[4]})
    with pytest.raises(SinkError, match="2 documents not acknowledged"):
        forward(con, sink, destination=picky)
    assert cursor(con) == 4  # stops before the unanswered fifth event
    dead = con.execute(
        "SELECT sink, event_id, seq, reason, document->>'$.event.id' FROM dead_letters"
    ).fetchall()
    assert dead == [("file", ids[1], 2, "mapper_parsing_exception", ids[1])]

    retry = Picky(refuse=set(), ignore=set())
    assert forward(con, sink, destination=retry) == ForwardResult(
        sent=2, skipped=0, dead=0, last_seq=6
    )
    assert retry.got == ids[4:]


def test_file_is_locked_while_forwarding(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    first = NdjsonSink(path)
    first.last_delivered()
    try:
        with pytest.raises(SinkError, match="in use"):
            NdjsonSink(path).last_delivered()
    finally:
        first.close()
    second = NdjsonSink(path)
    assert second.last_delivered() is None
    second.close()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "syslog"}, "a syslog sink needs `url`"),
        ({"path": None}, "needs `path`"),
    ],
)
def test_unavailable_sinks(
    con: duckdb.DuckDBPyConnection, sink: SinkConfig, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        forward(con, sink.model_copy(update=changes))


def _accounts(con: duckdb.DuckDBPyConnection, at: datetime, logins: dict[str, datetime]) -> None:
    rows = [
        {
            "app": "GitHub",
            "account_id": aid,
            "user_name": f"{aid}@x.com",
            "active": True,
            "last_login_at": login,
            "attributes": json.dumps({"team": "core"}),
        }
        for aid, login in logins.items()
    ]
    commit_batch(con, batch("github", "scim", at, snap("accounts", rows, ("GitHub",))), Policy())


def test_account_versions_go_out_once_as_assets(
    con: duckdb.DuckDBPyConnection, sink: SinkConfig
) -> None:
    assert streams(sink) == ["events", "assets"]
    assert streams(sink.model_copy(update={"format": "cef"})) == ["events"]
    assert streams(sink.model_copy(update={"assets": False})) == ["events"]
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    _accounts(con, t0, {"a1": t0, "a2": t0, "a3": t0})
    n_events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    assert forward(con, sink).sent == n_events
    assert forward(con, sink, stream="assets") == ForwardResult(
        sent=3, skipped=0, dead=0, last_seq=3
    )
    assets = [d for d in lines(sink.path) if d["event"]["kind"] == "asset"]
    assert [(d["user"]["id"], d["event"]["type"]) for d in assets] == [
        (a, ["user", "info"]) for a in ("a1", "a2", "a3")
    ]
    assert assets[0]["scim_evidence"]["account"] == {
        "active": True,
        "last_login_at": "2026-01-01T00:00:00.000Z",
        "valid_from": "2026-01-01T00:00:00.000Z",
        "run_id": 1,
        "attributes": {"team": "core"},
    }
    assert assets[0]["@timestamp"] == "2026-01-01T00:00:00.000Z"
    assert assets[0]["related"] == {"user": ["a1@x.com", "a1"]}  # user name first, no email

    # A new login is a new version: one more asset document. Nothing else is re-sent.
    t1 = t0 + timedelta(days=1)
    _accounts(con, t1, {"a1": t0, "a2": t1, "a3": t0})
    forward(con, sink)
    written = sink.path.read_bytes()
    assert forward(con, sink, stream="assets") == ForwardResult(
        sent=1, skipped=0, dead=0, last_seq=4
    )
    new = json.loads(sink.path.read_bytes()[len(written) :])
    assert (new["user"]["id"], new["scim_evidence"]["account"]["last_login_at"]) == (
        "a2",
        "2026-01-02T00:00:00.000Z",
    )
    assert new["event"]["id"] != assets[1]["event"]["id"]

    # A crash before the assets cursor commit: the file's last line is repaired from, not
    # written again.
    set_cursor(con, 3, sink="file/assets")
    before = sink.path.read_bytes()
    assert forward(con, sink, stream="assets") == ForwardResult(
        sent=0, skipped=1, dead=0, last_seq=4
    )
    assert sink.path.read_bytes() == before
    assert (
        cursor(con, "file/assets") == 4
        and cursor(con)
        == n_events + con.execute("SELECT count(*) FROM events WHERE run_id = 2").fetchone()[0]
    )


def test_forward_streams_yields_each_stream_as_it_ends(
    con: duckdb.DuckDBPyConnection, sink: SinkConfig
) -> None:
    add_events(con, 5)
    assert list(forward_streams(con, sink)) == [
        ("events", ForwardResult(sent=5, skipped=0, dead=0, last_seq=5)),
        ("assets", ForwardResult(sent=0, skipped=0, dead=0, last_seq=0)),
    ]
    assert list(forward_streams(con, sink.model_copy(update={"assets": False}))) == [
        ("events", ForwardResult(sent=0, skipped=0, dead=0, last_seq=5)),
    ]


def test_follow_reports_every_stream_first_then_only_what_moved(
    tmp_path: Path, sink: SinkConfig
) -> None:
    path = tmp_path / "store.duckdb"
    with store_session(path) as c:
        add_events(c, 5)
    reported: list[tuple[str, ForwardResult]] = []
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        # Between two polls the follower holds no connection: another writer gets the store.
        slept.append(seconds)
        if len(slept) == 1:
            with store_session(path, wait=0) as c:
                add_events(c, 2)

    follow(
        partial(store_session, path),
        sink,
        interval=0.5,
        on_result=lambda stream, result: reported.append((stream, result)),
        on_error=pytest.fail,
        polls=3,
        sleep=sleep,
    )
    assert slept == [0.5, 0.5]
    assert reported == [
        ("events", ForwardResult(sent=5, skipped=0, dead=0, last_seq=5)),
        ("assets", ForwardResult(sent=0, skipped=0, dead=0, last_seq=0)),
        ("events", ForwardResult(sent=2, skipped=0, dead=0, last_seq=7)),
    ]
    assert len(line_ids(sink.path)) == 7


def test_follow_retries_a_busy_store_at_the_next_poll(tmp_path: Path, sink: SinkConfig) -> None:
    path = tmp_path / "store.duckdb"
    with store_session(path) as c:
        add_events(c, 3)
    calls: list[int] = []

    def connect() -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        calls.append(len(calls))
        if len(calls) == 1:
            raise StoreBusy("store busy: another process")
        return store_session(path)

    errors: list[Exception] = []
    reported: list[tuple[str, ForwardResult]] = []
    follow(
        connect,
        sink,
        interval=1,
        on_result=lambda stream, result: reported.append((stream, result)),
        on_error=errors.append,
        polls=2,
        sleep=lambda _s: None,
    )
    assert [str(e) for e in errors] == ["store busy: another process"]
    # The first poll that succeeds still reports every stream, as a first poll does.
    assert reported == [
        ("events", ForwardResult(sent=3, skipped=0, dead=0, last_seq=3)),
        ("assets", ForwardResult(sent=0, skipped=0, dead=0, last_seq=0)),
    ]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_forward_follow_stops_on_ctrl_c_or_sigterm(tmp_path: Path, stop: signal.Signals) -> None:
    path = tmp_path / "store.duckdb"
    with store_session(path) as c:
        add_events(c, 4)
    config = tmp_path / "evidence.toml"
    config.write_text(
        f'[store]\npath = "{path}"\n\n[[sinks]]\nname = "file"\nkind = "ndjson"\n'
        f'path = "{tmp_path / "out.ndjson"}"\n',
        encoding="utf-8",
    )
    # The worktree's own code, as `evidence` would run it.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from evidence.cli.main import app; app()",
            "--config",
            str(config),
            "forward",
            "--follow",
            "--interval",
            "0.2",
        ],
        cwd=Path(__file__).resolve().parents[1],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first == "file: events sent 4, dead-lettered 0, cursor at 4\n"
        proc.send_signal(stop)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert err.endswith("file: stopped\n")
