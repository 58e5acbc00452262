"""The Splunk HEC sink against a strict local HEC receiver."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from evidence.config import SinkConfig
from evidence.errors import ConfigError, SinkError
from evidence.siem.forwarder import ForwardResult, forward
from evidence.siem.mappings import ecs
from evidence.siem.sinks.base import Doc
from evidence.siem.sinks.hec import HecSink, envelope
from evidence.store.db import open_store
from tests.servers.hec_receiver import HecReceiver
from tests.servers.stub_http import Reply, StubServer
from tests.siem_builders import add_events, cursor

TOKEN = "11111111-2222-4333-8444-555555555555"


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = open_store(tmp_path / "store.duckdb")
    yield c
    c.close()


@pytest.fixture
def hec() -> Iterator[HecReceiver]:
    with HecReceiver(token=TOKEN, indexes={"identity", "main"}) as receiver:
        yield receiver


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_sink(hec: HecReceiver, sleeps: list[float], token: str = TOKEN, **kw: Any) -> HecSink:
    kw.setdefault("host", "evidence-test")
    return HecSink("splunk", hec.url, token, sleep=sleeps.append, **kw)


def run(con: duckdb.DuckDBPyConnection, sink: HecSink, **kw: Any) -> ForwardResult:
    cfg = SinkConfig(name="splunk", kind="splunk_hec", url="http://127.0.0.1:1")
    return forward(con, cfg, destination=sink, **kw)


def ids_received(hec: HecReceiver) -> list[str]:
    return [e["fields"]["event_id"] for e in hec.events]


def test_envelopes_are_exact(
    con: duckdb.DuckDBPyConnection, hec: HecReceiver, sleeps: list[float]
) -> None:
    ids = add_events(con, 4)
    sink = make_sink(hec, sleeps, index="identity")
    assert run(con, sink) == ForwardResult(sent=4, skipped=0, dead=0, last_seq=4)
    docs = ecs.documents(con, after_seq=0, limit=10)
    expected = []
    for doc in docs:
        body = json.loads(doc.body)
        when = datetime.fromisoformat(body["@timestamp"].replace("Z", "+00:00")).timestamp()
        expected.append(
            {
                "time": when,
                "host": "evidence-test",
                "source": "scim-evidence",
                "sourcetype": "scim_evidence:ecs",
                "index": "identity",
                "event": body,
                "fields": {"event_id": doc.event_id},
            }
        )
    assert hec.events == expected
    assert [list(e) for e in hec.events] == [list(x) for x in expected]
    assert ids_received(hec) == ids
    (req,) = hec.requests
    assert req.headers["authorization"] == f"Splunk {TOKEN}"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["x-splunk-request-channel"]


def test_time_has_milliseconds_and_strings_stay_strings() -> None:
    meta = {"host": "h", "source": "scim-evidence", "sourcetype": "scim_evidence:cef"}
    cef = Doc("e1", 1, r"CEF:0|a|b|1|c|d|5|rt=1704067260123 suser=ann msg=x\=y")
    env = envelope(cef, meta, now=5.0)
    assert env.startswith(b'{"time":1704067260.123,"host":"h",')
    assert json.loads(env)["event"] == cef.body
    ecs_doc = Doc("e2", 2, '{"@timestamp":"2024-01-01T00:01:00.250Z","x":[1, 2]}')
    env = envelope(ecs_doc, meta, now=5.0)
    assert b'"event":{"@timestamp":"2024-01-01T00:01:00.250Z","x":[1, 2]}' in env  # verbatim
    assert json.loads(env)["time"] == 1704067260.25
    assert json.loads(envelope(Doc("e3", 3, "no time here"), meta, now=5.0))["time"] == 5.0


@pytest.mark.parametrize(
    ("token", "answer"), [("wrong-token", "HTTP 403, code 4 'Invalid token'"), ("", None)]
)
def test_wrong_token(
    con: duckdb.DuckDBPyConnection,
    hec: HecReceiver,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
    token: str,
    answer: str | None,
) -> None:
    add_events(con, 3)
    if not token:
        with pytest.raises(ConfigError, match="token is empty"):
            make_sink(hec, sleeps, token=token)
        return
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SinkError) as err:
        run(con, make_sink(hec, sleeps, token=token))
    message = str(err.value)
    assert message.startswith("sink 'splunk': POST http://127.0.0.1:")
    assert f"the HEC token was rejected ({answer})" in message
    assert token not in message and TOKEN not in message
    assert token not in caplog.text
    assert cursor(con, "splunk") is None
    assert hec.events == []


def test_busy_then_success_is_retried(
    con: duckdb.DuckDBPyConnection, hec: HecReceiver, sleeps: list[float]
) -> None:
    ids = add_events(con, 6)
    hec.fail_next(2)
    assert run(con, make_sink(hec, sleeps, retry_backoff=0.25)).sent == 6
    assert [r.status for r in hec.requests] == [503, 503, 200]
    assert sleeps == [0.25, 0.5]
    assert ids_received(hec) == ids


@pytest.mark.parametrize(("retry_after", "slept"), [(None, 0.1), (2, 2.0), (60, 4.0)])
def test_retry_after_is_honoured(
    hec: HecReceiver, sleeps: list[float], retry_after: int | None, slept: float
) -> None:
    hec.fail_next(1, status=429, retry_after=retry_after)
    sink = make_sink(hec, sleeps, retry_backoff=0.1, max_backoff=4)
    try:
        assert sink.send([Doc("a", 1, '{"x":1}')]).acked == ["a"]
    finally:
        sink.close()
    assert sleeps == [slept]  # the server's wait, but never more than max_backoff


def test_a_200_that_is_not_hec_acks_nothing(sleeps: list[float]) -> None:
    with StubServer() as srv:
        srv.script("/services/collector/event", Reply(200, body="<html>Welcome</html>"))
        sink = HecSink("splunk", srv.url, TOKEN, sleep=sleeps.append)
        try:
            with pytest.raises(SinkError, match=r"the answer is not HEC's \(HTTP 200\)"):
                sink.send([Doc("a", 1, "{}")])
        finally:
            sink.close()


def test_still_busy_leaves_events_unacknowledged(
    con: duckdb.DuckDBPyConnection, hec: HecReceiver, sleeps: list[float]
) -> None:
    ids = add_events(con, 10)
    sink = make_sink(hec, sleeps, batch_docs=4, retries=2)
    hec.fail_next(3, after=1)  # the first request goes through, the second meets 3 x 503
    with pytest.raises(SinkError, match="6 documents not acknowledged after seq 4"):
        run(con, sink)
    assert cursor(con, "splunk") == 4
    assert ids_received(hec) == ids[:4]

    assert run(con, make_sink(hec, sleeps)).sent == 6
    assert ids_received(hec) == ids


def test_unreachable_raises_with_the_reason(
    con: duckdb.DuckDBPyConnection, hec: HecReceiver, sleeps: list[float]
) -> None:
    add_events(con, 2)
    sink = make_sink(hec, sleeps, retries=1)
    hec.stop()
    with pytest.raises(SinkError, match=r"still failing after 2 attempts \(ConnectError"):
        run(con, sink)
    assert cursor(con, "splunk") is None


@pytest.mark.parametrize(
    ("limits", "counts"),
    [
        ({"batch_docs": 4}, [4, 4, 3]),
        ({"batch_docs": 100, "batch_bytes": 5000}, None),
    ],
)
def test_requests_are_bounded(
    con: duckdb.DuckDBPyConnection,
    hec: HecReceiver,
    sleeps: list[float],
    limits: dict[str, int],
    counts: list[int] | None,
) -> None:
    ids = add_events(con, 11)
    assert run(con, make_sink(hec, sleeps, **limits)).sent == 11
    assert ids_received(hec) == ids
    got = [r.count for r in hec.requests]
    if counts is not None:
        assert got == counts
    else:
        assert len(got) > 1
        assert all(r.size <= limits["batch_bytes"] for r in hec.requests)


def test_bad_event_is_isolated_and_refused(hec: HecReceiver, sleeps: list[float]) -> None:
    docs = [Doc(f"e{i}", i, json.dumps({"n": i})) for i in range(8)]
    docs[5] = Doc("e5", 5, " ")  # a blank event: HEC code 13
    sink = make_sink(hec, sleeps)
    try:
        result = sink.send(docs)
    finally:
        sink.close()
    assert result.refused == {
        "e5": "HEC refused the event: HTTP 400, code 13 'Event field cannot be blank'"
    }
    assert sorted(result.acked) == sorted(d.event_id for d in docs if d.event_id != "e5")
    assert ids_received(hec) == [d.event_id for d in docs if d.event_id != "e5"]
    assert [r.status for r in hec.requests] == [400, 200, 400, 200]  # split at the bad one


def test_request_too_large_for_the_server_is_split(
    con: duckdb.DuckDBPyConnection, sleeps: list[float]
) -> None:
    ids = add_events(con, 6)
    with HecReceiver(token=TOKEN, max_content_length=4000) as hec:
        assert run(con, make_sink(hec, sleeps)).sent == 6
        assert ids_received(hec) == ids
        assert hec.requests[0].status == 413


def test_oversized_envelope_is_refused(
    con: duckdb.DuckDBPyConnection, hec: HecReceiver, sleeps: list[float]
) -> None:
    add_events(con, 3)
    result = run(con, make_sink(hec, sleeps, batch_bytes=300))
    assert result == ForwardResult(sent=0, skipped=0, dead=3, last_seq=3)
    reasons = [r[0] for r in con.execute("SELECT reason FROM dead_letters").fetchall()]
    assert len(reasons) == 3
    assert all(r.endswith("bytes exceeds batch_bytes 300") for r in reasons)
    assert hec.requests == []


def test_from_config(monkeypatch: pytest.MonkeyPatch, hec: HecReceiver) -> None:
    monkeypatch.setenv("HEC_TOKEN", TOKEN)
    cfg = SinkConfig(
        name="splunk",
        kind="splunk_hec",
        url=hec.url + "/services/collector/event",
        token_env="HEC_TOKEN",
        format="cef",
        index="identity",
    )
    sink = HecSink.from_config(cfg)
    try:
        assert sink.url == hec.url + "/services/collector/event"
        assert sink.meta["sourcetype"] == "scim_evidence:cef"
        assert sink.send([Doc("a", 1, "CEF:0|a|b|1|c|d|5|x=1")]).acked == ["a"]
    finally:
        sink.close()
    assert hec.events[0]["index"] == "identity"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"token": "abc"}, "token must not be written in the config"),
        ({"token_env": "NO_SUCH_HEC_TOKEN_VAR"}, "NO_SUCH_HEC_TOKEN_VAR (token_env) is not set"),
        ({"token_env": None}, "set token_env or token_file"),
        ({"url": "http://splunk.example:8088"}, "plain http:// is refused"),
        ({"url": "https://user:pw@splunk.example:8088"}, "no credentials"),
        ({"url": None}, "needs `url`"),
        ({"batchsize": 3}, "unknown splunk_hec setting 'batchsize'"),
        ({"token_file": "/nonexistent/token"}, "token_file /nonexistent/token"),
    ],
)
def test_config_errors(
    monkeypatch: pytest.MonkeyPatch, changes: dict[str, Any], message: str
) -> None:
    monkeypatch.setenv("HEC_TOKEN", TOKEN)
    data = {"name": "s", "kind": "splunk_hec", "url": "https://splunk.example:8088"}
    data["token_env"] = "HEC_TOKEN"
    data.update(changes)
    if "token_file" in changes:
        del data["token_env"]
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        HecSink.from_config(SinkConfig(**data))


GOOD = {"time": 1.5, "host": "h", "source": "s", "sourcetype": "t", "event": {"a": 1}}


@pytest.mark.parametrize(
    ("body", "auth", "status", "code"),
    [
        (json.dumps(GOOD) * 2, f"Splunk {TOKEN}", 200, 0),
        (json.dumps(GOOD), None, 401, 2),
        (json.dumps(GOOD), f"Bearer {TOKEN}", 401, 3),
        (json.dumps(GOOD), "Splunk nope", 403, 4),
        ("", f"Splunk {TOKEN}", 400, 5),
        (json.dumps(GOOD) + '{"event": "x", "extra": 1}', f"Splunk {TOKEN}", 400, 6),
        (json.dumps({**GOOD, "time": "1.5"}), f"Splunk {TOKEN}", 400, 6),
        (json.dumps(GOOD) + "{not json", f"Splunk {TOKEN}", 400, 6),
        (json.dumps({**GOOD, "index": "secret"}), f"Splunk {TOKEN}", 400, 7),
        (json.dumps({"time": 1}), f"Splunk {TOKEN}", 400, 12),
        (json.dumps({**GOOD, "event": ""}), f"Splunk {TOKEN}", 400, 13),
        (json.dumps({**GOOD, "fields": {"a": {"b": 1}}}), f"Splunk {TOKEN}", 400, 15),
    ],
)
def test_receiver_is_strict(
    hec: HecReceiver, body: str, auth: str | None, status: int, code: int
) -> None:
    """The stand-in must refuse what Splunk refuses, or the sink tests would prove nothing."""
    headers = {"Authorization": auth} if auth else {}
    r = httpx.post(hec.url + "/services/collector/event", content=body, headers=headers)
    assert (r.status_code, r.json()["code"]) == (status, code)
    if code == 6:
        assert r.json()["invalid-event-number"] in (0, 1)
    assert len(hec.events) == (2 if status == 200 else 0)
