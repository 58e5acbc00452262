"""Forwarding to a real Elasticsearch 8 node: every event exactly once, across re-runs,
crashes of the node, refused documents and 429 rejections.

The node (tests/es/node.py) is shared by the session; each test writes its own data stream
from its own copy of one synthetic tenant's store.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from evidence.cli.main import app
from evidence.config import load_config
from evidence.errors import ConfigError, SinkError
from evidence.siem.forwarder import ForwardResult, forward, open_sink
from evidence.siem.mappings import ecs
from evidence.siem.sinks import elasticsearch as es_sink_module
from evidence.siem.sinks import es_template
from evidence.siem.sinks.base import Doc, SendResult
from evidence.siem.sinks.elasticsearch import ElasticsearchSink, classify, open_elasticsearch
from evidence.store.db import open_store
from tests.builders import detected_tenant
from tests.es.node import EsProcess
from tests.es_fixtures import es_fixture, es_sink, stream_fixture  # noqa: F401
from tests.servers.stub_http import free_port
from tests.siem_builders import ENTRA_RECORD, add_event, add_events, load_okta, reference


@pytest.fixture(scope="module")
def tenant_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthesized, synced and detected tenant (about 3,000 events, findings included)."""
    return detected_tenant(tmp_path_factory.mktemp("tenant"), seed=5)


@pytest.fixture
def store_file(tenant_store: Path, tmp_path: Path) -> Path:
    path = tmp_path / "evidence.duckdb"
    shutil.copy(tenant_store, path)
    return path


@pytest.fixture
def con(store_file: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = open_store(store_file)
    yield c
    c.close()


def totals(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    row = con.execute("SELECT count(*), max(seq) FROM events").fetchone()
    assert row is not None
    return row[0], row[1]


def cursor(con: duckdb.DuckDBPyConnection, sink: str = "es") -> int | None:
    row = con.execute("SELECT last_seq FROM sink_cursors WHERE sink = $s", {"s": sink}).fetchone()
    return row[0] if row else None


def count(es: Elasticsearch, stream: str) -> int:
    es.indices.refresh(index=stream)
    return es.count(index=stream)["count"]


def stored_ids(es: Elasticsearch, stream: str) -> list[str]:
    es.indices.refresh(index=stream)
    hits = es.search(index=stream, size=10_000, source=False, sort=["_doc"])["hits"]["hits"]
    return [h["_id"] for h in hits]


def by_id(es: Elasticsearch, stream: str, event_id: str, *fields: str) -> dict[str, Any]:
    """One document by `_id`, with the doc values of `fields` as Elasticsearch parsed them."""
    hits = es.search(
        index=stream,
        query={"ids": {"values": [event_id]}},
        docvalue_fields=list(fields),
    )["hits"]["hits"]
    assert len(hits) == 1, f"{event_id}: {len(hits)} documents"
    return hits[0]


def millis(instant: datetime) -> int:
    return int(instant.astimezone(UTC).timestamp() * 1000)


def one(con: duckdb.DuckDBPyConnection, where: str) -> dict[str, Any]:
    cur = con.execute(f"SELECT * FROM events WHERE {where} ORDER BY seq LIMIT 1")
    cols = [d[0] for d in cur.description]
    row = cur.fetchone()
    assert row is not None, where
    return dict(zip(cols, row, strict=True))


def ecs_doc(con: duckdb.DuckDBPyConnection, seq: int) -> dict[str, Any]:
    [doc] = ecs.documents(con, after_seq=seq - 1, limit=1)
    return json.loads(doc.body)


def test_the_demo_tenant_lands_exactly_once(
    con: duckdb.DuckDBPyConnection,
    store_file: Path,
    es: Elasticsearch,
    es_node: str,
    stream: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    n, last = totals(con)
    sink = es_sink(es_node, stream, batch_docs=300)  # several bulk requests per batch
    assert forward(con, sink, batch_size=1000) == ForwardResult(
        sent=n, skipped=0, dead=0, last_seq=last
    )
    assert count(es, stream) == n
    mapping = es.indices.get_mapping(index=stream)
    props = next(iter(mapping.values()))["mappings"]
    assert props["dynamic"] == "strict"
    assert props["properties"]["scim_evidence"]["properties"]["raw"]["type"] == "flattened"

    # An Okta group membership, mapped as Elastic's Okta integration maps it.
    okta = one(con, "source = 'okta' AND native_type = 'group.user_membership.add'")
    raw = json.loads(okta["raw"])
    hit = by_id(es, stream, okta["event_id"], "@timestamp", "event.sequence")
    src = hit["_source"]
    assert src == ecs_doc(con, okta["seq"])
    assert src["event"]["id"] == raw["uuid"]
    assert src["event"]["action"] == "group.user_membership.add"
    assert (src["event"]["kind"], src["event"]["category"], src["event"]["type"]) == (
        "event",
        ["iam"],
        ["group", "change"],
    )
    assert src["event"]["outcome"] == "success"
    assert src["event"]["hash"] == okta["event_hash"]
    assert src["user"]["name"] == raw["actor"]["alternateId"]
    assert src["user"]["target"]["id"] == raw["target"][0]["id"]
    assert src["user"]["target"]["group"]["name"] == "Slack - team-sales"
    assert src["scim_evidence"]["raw"] == raw
    assert hit["fields"]["event.sequence"] == [okta["seq"]]
    assert hit["fields"]["@timestamp"] == [raw["published"]]

    # An HR termination: effective at the end of the last working day.
    hr = one(con, "source = 'workday' AND action = 'hr.terminate'")
    hit = by_id(es, stream, hr["event_id"], "@timestamp", "scim_evidence.inferred")
    src = hit["_source"]
    assert src == ecs_doc(con, hr["seq"])
    assert src["event"]["id"] == hr["event_id"]
    assert (src["event"]["action"], src["event"]["provider"]) == ("hr.terminate", "workday")
    assert src["event"]["type"] == ["user", "change"]
    assert src["user"]["target"]["id"] == hr["person_id"]
    assert src["scim_evidence"]["person_id"] == hr["person_id"]
    assert src["scim_evidence"]["raw"] == json.loads(hr["raw"])
    assert hit["fields"]["@timestamp"] == [
        hr["occurred_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{hr['occurred_at'].microsecond // 1000:03d}Z"
    ]
    assert hit["fields"]["scim_evidence.inferred"] == [False]

    # A finding: an alert whose RFC 3339 dates Elasticsearch parsed as dates.
    fnd = one(con, "action = 'finding.open'")
    details = json.loads(fnd["details"])
    hit = by_id(
        es, stream, fnd["event_id"], "event.severity", "scim_evidence.finding.first_seen_at"
    )
    src = hit["_source"]
    assert src == ecs_doc(con, fnd["seq"])
    assert src["event"]["kind"] == "alert"
    assert src["rule"]["id"] == f"{details['kind']}.{details['subkind']}"
    assert src["message"] == details["explanation"]
    assert src["scim_evidence"]["finding"]["controls"] == details["controls"]
    assert src["scim_evidence"]["details"] == details
    assert hit["fields"]["event.severity"] == [ecs.SEVERITY[details["severity"]]]
    seen = datetime.fromisoformat(details["first_seen_at"])
    assert (
        src["scim_evidence"]["finding"]["first_seen_at"]
        == seen.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    )
    first_seen = hit["fields"]["scim_evidence.finding.first_seen_at"][0]
    assert millis(datetime.fromisoformat(first_seen)) == millis(seen)
    found = es.count(index=stream, query={"term": {"scim_evidence.details.kind": details["kind"]}})
    assert (
        found["count"]
        == con.execute(
            "SELECT count(*) FROM events WHERE details->>'kind' = $k", {"k": details["kind"]}
        ).fetchone()[0]
    )

    # Again, through the CLI and a config file: nothing new, nothing sent. As a new process
    # would, it puts the template again and the mapping onto the existing data stream.
    monkeypatch.setattr(es_sink_module, "_INSTALLED", set())
    config = tmp_path / "evidence.toml"
    config.write_text(
        f'[store]\npath = "{store_file}"\n\n[[sinks]]\nname = "es"\n'
        f'kind = "elasticsearch"\nurl = "{es_node}"\ndata_stream = "{stream}"\nreplicas = 0\n',
        encoding="utf-8",
    )
    # The CLI also sends every account version, as asset documents.
    versions = con.execute("SELECT count(*), max(rowid) + 1 FROM accounts").fetchone()
    acc = con.execute(
        "SELECT rowid, app, account_id, active FROM accounts "
        "WHERE attributes IS NOT NULL ORDER BY rowid LIMIT 1"
    ).fetchone()
    [asset] = ecs.asset_documents(con, after_seq=acc[0], limit=1)  # seq = rowid + 1
    con.close()
    out = CliRunner().invoke(app, ["--config", str(config), "forward", "--to", "es"])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == [
        f"es: events sent 0, dead-lettered 0, cursor at {last}",
        f"es: assets sent {versions[0]}, dead-lettered 0, cursor at {versions[1]}",
    ]
    assert count(es, stream) == n + versions[0]
    src = by_id(es, stream, asset.event_id)["_source"]
    assert src == json.loads(asset.body)
    assert (src["event"]["kind"], src["event"]["type"]) == ("asset", ["user", "info"])
    assert (src["scim_evidence"]["app"], src["user"]["id"]) == (acc[1], acc[2])
    assert src["scim_evidence"]["account"]["active"] is acc[3]
    assert src["scim_evidence"]["account"]["attributes"]

    out = CliRunner().invoke(app, ["--config", str(config), "forward", "--to", "es"])
    assert out.output.splitlines() == [
        f"es: events sent 0, dead-lettered 0, cursor at {last}",
        f"es: assets sent 0, dead-lettered 0, cursor at {versions[1]}",
    ]
    assert count(es, stream) == n + versions[0]


class KillAfterBulks(logging.Handler):
    """Kills the node (SIGKILL, a crash) right after its `n`-th bulk response, before the next
    bulk request of the same batch: the transport logs each response in the sending thread."""

    def __init__(self, node: EsProcess, n: int) -> None:
        super().__init__(logging.INFO)
        self.node, self.left = node, n

    def emit(self, record: logging.LogRecord) -> None:
        if "/_bulk [status:200" in record.getMessage():
            self.left -= 1
            if self.left == 0:
                self.node.kill()


@pytest.fixture
def transport_log() -> Iterator[logging.Logger]:
    logger = logging.getLogger("elastic_transport.transport")
    level = logger.level
    logger.setLevel(logging.INFO)
    yield logger
    logger.setLevel(level)


def test_node_killed_mid_forward(
    con: duckdb.DuckDBPyConnection,
    es: Elasticsearch,
    es_node: str,
    es_process: EsProcess,
    stream: str,
    transport_log: logging.Logger,
) -> None:
    n, last = totals(con)
    # 500 events per batch in bulk requests of 100: killed after 2 batches and 2 requests.
    sink = es_sink(es_node, stream, batch_docs=100, timeout=10)
    seqs = [r[0] for r in con.execute("SELECT seq FROM events ORDER BY seq").fetchall()]
    killer = KillAfterBulks(es_process, 12)
    transport_log.addHandler(killer)
    try:
        with pytest.raises(SinkError) as e:
            forward(con, sink, batch_size=500)
        assert str(e.value) == (
            f"sink 'es': 300 documents not acknowledged after seq {seqs[1199]}; "
            "the next run sends them again"
        )
        assert not es_process.running
        assert cursor(con) == seqs[1199]  # exactly what Elasticsearch confirmed

        # With the node down from the start, the run fails at once with the cause.
        with pytest.raises(SinkError) as e:
            forward(con, sink)
        message = str(e.value)
        assert message.startswith(f"sink 'es': bulk request to {es_node} failed: ")
        assert "Connection refused" in message and "\n" not in message
        assert cursor(con) == seqs[1199]
    finally:
        transport_log.removeHandler(killer)
        if not es_process.running:
            es_process.start()  # on the same data directory and port

    result = forward(con, sink, batch_size=500)
    assert result == ForwardResult(sent=n - 1200, skipped=0, dead=0, last_seq=last)
    assert cursor(con) == last
    assert count(es, stream) == n
    ids = stored_ids(es, stream)
    assert len(ids) == n
    assert set(ids) == {r[0] for r in con.execute("SELECT event_id FROM events").fetchall()}
    dupes = es.search(
        index=stream,
        size=0,
        aggs={"d": {"terms": {"field": "scim_evidence.event_id", "min_doc_count": 2}}},
    )
    assert dupes["aggregations"]["d"]["buckets"] == []


def test_a_document_elasticsearch_refuses_is_dead_lettered(
    con: duckdb.DuckDBPyConnection, es: Elasticsearch, es_node: str, stream: str
) -> None:
    n, last = totals(con)
    # A source record nested deeper than the flattened field allows (20 levels).
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(30):
        deep = {"nested": deep}
    bad = one(con, f"seq = {last // 2}")
    con.execute(
        "UPDATE events SET raw = $raw::JSON WHERE seq = $seq",
        {"raw": json.dumps(deep), "seq": bad["seq"]},
    )
    result = forward(con, es_sink(es_node, stream), batch_size=1000)
    assert result == ForwardResult(sent=n - 1, skipped=0, dead=1, last_seq=last)
    assert cursor(con) == last
    dead = con.execute("SELECT sink, event_id, seq, reason FROM dead_letters").fetchall()
    assert len(dead) == 1
    sink_name, event_id, seq, reason = dead[0]
    assert (sink_name, event_id, seq) == ("es", bad["event_id"], bad["seq"])
    assert reason.startswith("400 document_parsing_exception")
    assert "depth" in reason
    assert count(es, stream) == n - 1
    assert bad["event_id"] not in set(stored_ids(es, stream))
    # Nothing more to send: the dead letter is not retried by a plain re-run.
    assert forward(con, es_sink(es_node, stream)).sent == 0


class StopAfter:
    """Delivers `batches` batches, then stops the run like an operator's Ctrl-C."""

    def __init__(self, inner: ElasticsearchSink, batches: int) -> None:
        self.inner, self.left = inner, batches

    def last_delivered(self) -> str | None:
        return self.inner.last_delivered()

    def send(self, docs: Sequence[Doc]) -> SendResult:
        if self.left == 0:
            raise SinkError("stopped by the test")
        self.left -= 1
        return self.inner.send(docs)

    def close(self) -> None:
        self.inner.close()


class _OnFirst(logging.Handler):
    """Calls `then` once, on the first log record that mentions `needle`."""

    def __init__(self, needle: str, then: Any) -> None:
        super().__init__(logging.INFO)
        self.needle, self.then, self.at = needle, then, None

    def emit(self, record: logging.LogRecord) -> None:
        if self.at is None and self.needle in record.getMessage():
            self.at = time.monotonic()
            self.then()


def test_429_rejections_are_retried_then_left_for_the_next_run(
    con: duckdb.DuckDBPyConnection,
    es: Elasticsearch,
    es_node: str,
    stream: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    n, last = totals(con)
    sink = es_sink(es_node, stream, batch_docs=500, retries=2, retry_backoff=0.1)
    with pytest.raises(SinkError, match="stopped by the test"):
        forward(con, sink, batch_size=500, destination=StopAfter(open_elasticsearch(sink), 1))
    assert cursor(con) == 500

    # The flood-stage block: Elasticsearch answers every item with a real 429.
    block = {"index.blocks.read_only_allow_delete": True}
    es.indices.put_settings(index=stream, settings=block)
    try:
        with pytest.raises(SinkError, match="500 documents not acknowledged after seq 500"):
            forward(con, sink, batch_size=500)
        assert cursor(con) == 500
        assert con.execute("SELECT count(*) FROM dead_letters").fetchone() == (0,)

        # Lifted while the sink backs off (0.25 + 0.5 + 1 + 2 s): the same run succeeds. The
        # lift is timed from the first bulk answer (a 429), not from the start: on a loaded
        # machine the run's first query can outlast a fixed timer, and then nothing is retried.
        lift = threading.Timer(
            0.5,
            es.indices.put_settings,
            kwargs={"index": stream, "settings": {"index.blocks.read_only_allow_delete": None}},
        )
        transport = logging.getLogger("elastic_transport.transport")
        first_bulk = _OnFirst("/_bulk", lift.start)
        transport.addHandler(first_bulk)
        patient = sink.model_copy(update={"retries": 6, "retry_backoff": 0.25})
        caplog.set_level(logging.INFO, logger="elastic_transport.transport")
        try:
            result = forward(con, patient, batch_size=1000)
        finally:
            transport.removeHandler(first_bulk)
            lift.join(timeout=30)
        assert first_bulk.at is not None and time.monotonic() - first_bulk.at >= 0.5
    finally:
        es.indices.put_settings(
            index=stream, settings={"index.blocks.read_only_allow_delete": None}
        )
    assert result == ForwardResult(sent=n - 500, skipped=0, dead=0, last_seq=last)
    bulks = [r for r in caplog.records if "/_bulk" in r.getMessage()]
    assert len(bulks) > -(-(n - 500) // 500)  # more requests than batches: some were retries
    assert count(es, stream) == n


def test_follow_keeps_forwarding_until_interrupted(
    store_file: Path, es: Elasticsearch, es_node: str, stream: str, tmp_path: Path
) -> None:
    con = open_store(store_file)
    n, _ = totals(con)
    n += con.execute("SELECT count(*) FROM accounts").fetchone()[0]  # and the asset documents
    con.close()
    config = tmp_path / "evidence.toml"
    config.write_text(
        f'[store]\npath = "{store_file}"\n\n[[sinks]]\nname = "es"\n'
        f'kind = "elasticsearch"\nurl = "{es_node}"\ndata_stream = "{stream}"\nreplicas = 0\n',
        encoding="utf-8",
    )
    cli = Path(sys.executable).parent / "evidence"
    proc = subprocess.Popen(
        [str(cli), "--config", str(config), "forward", "--follow", "--interval", "0.3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The follower's report lines as they come: it is stopped only once it has said it sent
    # the new events (an interrupt between a commit and its line would lose the line).
    lines: list[str] = []
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")))
    reader.start()
    try:
        wait_for(lambda: _count_or_zero(es, stream) == n, 60)
        con = open_store(store_file, wait=30)  # between two polls of the follower
        try:
            add_events(con, 3)
        finally:
            con.close()
        wait_for(lambda: _count_or_zero(es, stream) == n + 3, 60)
        wait_for(lambda: any("es: events sent 3, dead-lettered 0" in ln for ln in lines), 60)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        reader.join(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = "".join(lines)
    assert proc.returncode == 0, err
    assert lines[0].startswith(f"es: events sent {n - _assets(store_file)}, dead-lettered 0")
    assert lines[-1] == "es: stopped\n"


def _assets(store_file: Path) -> int:
    con = open_store(store_file)
    try:
        return con.execute("SELECT count(*) FROM accounts").fetchone()[0]
    finally:
        con.close()


def _count_or_zero(es: Elasticsearch, stream: str) -> int:
    if not es.indices.exists(index=stream):
        return 0
    return count(es, stream)


def wait_for(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


# Without the node: what the sink does with each kind of bulk item, its configuration and
# its secrets.


@pytest.mark.parametrize(
    ("item", "outcome"),
    [
        ({"_id": "a", "status": 201, "result": "created"}, "acked"),
        (
            {"_id": "a", "status": 409, "error": {"type": "version_conflict_engine_exception"}},
            "acked",
        ),
        (
            {
                "_id": "a",
                "status": 400,
                "error": {
                    "type": "document_parsing_exception",
                    "reason": "failed to parse field [x]",
                },
            },
            "refused",
        ),
        (
            {
                "_id": "a",
                "status": 400,
                "error": {"type": "index_closed_exception", "reason": "closed"},
            },
            "unresolved",
        ),
        (
            {"_id": "a", "status": 429, "error": {"type": "es_rejected_execution_exception"}},
            "unresolved",
        ),
        (
            {"_id": "a", "status": 503, "error": {"type": "unavailable_shards_exception"}},
            "unresolved",
        ),
        ({"_id": "a", "status": 404, "error": {"type": "index_not_found_exception"}}, "unresolved"),
    ],
)
def test_bulk_items_are_classified(item: dict[str, Any], outcome: str) -> None:
    assert classify(item)[0] == outcome


def test_refusal_reason_names_the_cause() -> None:
    item = {
        "status": 400,
        "error": {
            "type": "document_parsing_exception",
            "reason": "[1:44] failed to parse field [event.sequence] of type [long]",
            "caused_by": {"type": "illegal_argument_exception", "reason": "For input string"},
        },
    }
    assert classify(item) == (
        "refused",
        "400 document_parsing_exception: [1:44] failed to parse field [event.sequence] of "
        "type [long] (caused by illegal_argument_exception: For input string)",
    )


@pytest.mark.parametrize(("name", "end"), [("ecs.sql", "verbatim AS ("), ("ecs_assets.sql", None)])
def test_template_maps_every_field_ecs_sql_writes(name: str, end: str | None) -> None:
    sql = (Path(ecs.__file__).parent / name).read_text(encoding="utf-8")
    core = sql[sql.index("core AS (") : sql.index(end) if end else None]
    core = re.sub(r"'kind', '\w+'", "'kind'", core)  # a value, not a key
    keys = set(re.findall(r"'([@a-z_]+)',", core))
    mapped = {part for path in es_template.FIELDS for part in path.split(".")}
    assert keys - mapped == set()
    assert {"details", "raw", "attributes"} <= mapped  # spliced in after the object is built


@pytest.mark.parametrize(
    "auth",
    [
        {"api_key_env": "TEST_ES_KEY"},
        {"username": "elastic", "password_env": "TEST_ES_KEY"},
    ],
)
def test_secrets_stay_out_of_messages(
    auth: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cr3t-VALUE-never-shown"
    monkeypatch.setenv("TEST_ES_KEY", secret)
    caplog.set_level(logging.DEBUG)
    cfg = es_sink(f"http://127.0.0.1:{free_port()}", "logs-x-default", timeout=2, **auth)
    sink = open_sink(cfg)
    assert secret not in repr(sink)
    with pytest.raises(SinkError) as e:
        sink.last_delivered()
    sink.close()
    assert str(e.value).startswith("sink 'es': cannot install the index template at http://")
    assert secret not in str(e.value)
    assert secret not in caplog.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": None}, "needs `url`"),
        ({"url": "http://elastic:pw@127.0.0.1:9200"}, "no credentials in url"),
        ({"url": "http://siem.example:9200", "api_key_env": "TEST_ES_KEY"}, "plain http"),
        ({"api_key_env": "TEST_ES_UNSET"}, r"TEST_ES_UNSET \(api_key_env\) is not set$"),
        ({"username": "elastic"}, "needs username and password_env"),
        ({"data_stream": "Logs-Upper"}, "not a valid name"),
        ({"api_key": "pasted-secret"}, r"unknown key\(s\) api_key$"),
    ],
)
def test_bad_elasticsearch_configs(
    changes: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_ES_KEY", "k")
    monkeypatch.delenv("TEST_ES_UNSET", raising=False)
    cfg = es_sink("http://127.0.0.1:9200", "logs-x-default").model_copy(update=changes)
    with pytest.raises(ConfigError, match=message):
        open_sink(cfg)


@pytest.mark.parametrize(
    ("settings", "verify", "ca"),
    [
        ("", True, None),
        ('ca_bundle = "corp-ca.pem"\n', True, "corp-ca.pem"),
        ("verify_tls = false\n", False, None),
    ],
)
def test_tls_options_reach_the_client(
    tmp_path: Path, settings: str, verify: bool, ca: str | None
) -> None:
    (tmp_path / "corp-ca.pem").write_text("not read until a request\n", encoding="utf-8")
    config = tmp_path / "evidence.toml"
    config.write_text(
        '[[sinks]]\nname = "es"\nkind = "elasticsearch"\nurl = "https://siem.example:9200"\n'
        + settings,
        encoding="utf-8",
    )
    cfg = load_config(config).sinks[0]
    assert cfg.data_stream == "logs-scim_evidence.events-default"
    assert (cfg.batch_docs, cfg.batch_bytes, cfg.replicas) == (1000, 5_000_000, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the client warns about verify_tls = false
        sink = open_sink(cfg)
    node = sink._client.transport.node_pool.all()[0].config  # type: ignore[attr-defined]
    sink.close()
    assert node.verify_certs is verify
    assert node.ca_certs == (str(tmp_path / ca) if ca else None)


def test_a_missing_ca_bundle_is_a_config_error(tmp_path: Path) -> None:
    cfg = es_sink("https://siem.example:9200", "logs-x-default", ca_bundle=tmp_path / "no.pem")
    with pytest.raises(ConfigError, match="no.pem"):
        open_sink(cfg)


def test_network_context_indexes_under_the_strict_template(
    es: Elasticsearch, es_node: str, stream: str, tmp_path: Path
) -> None:
    """Every Okta reference event, an Entra record, and a document as a GeoIP and user_agent
    pipeline would complete it, all index with no mapping error."""
    con = open_store(tmp_path / "net.duckdb")
    records, _ = reference("test-okta-system-events.log")
    ids = load_okta(con, records)
    ids.append(
        add_event(con, len(ids) + 1, source="entra", action="account.create", raw=ENTRA_RECORD)
    )
    docs = ecs.documents(con)
    con.close()
    enriched = json.loads(docs[0].body) | {
        "source": {
            "ip": "175.16.199.1",
            "geo": {
                "city_name": "Changchun",
                "continent_name": "Asia",
                "country_iso_code": "CN",
                "country_name": "China",
                "location": {"lat": 43.88, "lon": 125.3228},
                "region_iso_code": "CN-22",
                "region_name": "Jilin Sheng",
            },
            "as": {"number": 64500, "organization": {"name": "example"}},
        },
        "user_agent": {
            "original": "x",
            "name": "Firefox",
            "version": "72.0",
            "os": {"name": "Mac OS X", "full": "Mac OS X 10.15", "version": "10.15"},
            "device": {"name": "Mac"},
        },
    }
    docs.append(Doc("enriched", len(docs) + 1, json.dumps(enriched)))
    sink = open_sink(es_sink(es_node, stream))
    try:
        sink.last_delivered()
        result = sink.send(docs)
    finally:
        sink.close()
    assert result.refused == {}
    assert sorted(result.acked) == sorted([*ids, "enriched"])
    es.indices.refresh(index=stream)
    hit = by_id(es, stream, ids[0], "source.ip", "client.geo.location", "related.ip")
    assert hit["fields"]["source.ip"] == [records[0]["client"]["ipAddress"]]
    assert hit["fields"]["related.ip"] == [records[0]["client"]["ipAddress"]]
