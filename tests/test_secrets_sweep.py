"""Secrets never leak: every CLI command, run with a distinct sentinel in every secret setting
the config accepts, leaves none of them (nor their URL-encoded or base64 forms) in stdout,
stderr, the store, NDJSON, PDFs, bundles, SIEM documents or anything else it wrote.

The sources are live, against the stand-ins and real servers the suite already has (Okta and
Graph stand-ins, scim2-server, a HEC receiver, rsyslog, a real Elasticsearch node behind an
authenticating proxy), so every sentinel is really sent; the positive controls check that each
reached its server. Wrong sentinels on purpose exercise the 401/403 paths (failed sync_runs rows
and their error text, sink errors), and sinks whose endpoint is down exercise the retry and
error paths. Secret settings swept:

- sources: token_env, token_file, client_secret_env, client_secret_file, private_key_env,
  private_key_file (the last two are refused before being read: private_key_jwt is not
  supported, so only the refusal path can be checked for them);
- sinks: Elasticsearch api_key_env and password_env, Splunk HEC token_env and token_file,
  syslog TLS key_file (the client key's material);
- reports: signing_key_file (Ed25519) and the PAdES RSA key created beside it;
- what the sources themselves return under secret keys (Okta's app `apiToken`, Graph's
  `secretText`) and the access tokens the Graph stand-in issues.

`demo` takes no config (it writes its own, with export sources and no secret), so it is not
swept.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import duckdb
import pikepdf
from cryptography.hazmat.primitives import serialization
from elasticsearch import Elasticsearch

from tests.secret_scan import Scanner
from tests.secret_sweep_world import (
    CLIENT_ID,
    ENV,
    ES_USER,
    FILES,
    S,
    World,
    config,
    pem_lines,
    seed_world,
    write_keys,
)  # fmt: skip
from tests.servers.es_auth_proxy import EsAuthProxy
from tests.servers.graph_standin import GraphStandin
from tests.servers.hec_receiver import HecReceiver
from tests.servers.okta_standin import OktaStandin
from tests.servers.rsyslog import Rsyslog, rsyslog_certs_fixture, rsyslog_fixture  # noqa: F401
from tests.servers.scim2_server import scim2_server
from tests.servers.stub_http import free_port

REPO = Path(__file__).resolve().parents[1]
EVIDENCE = Path(sys.executable).with_name("evidence")


@dataclass
class Ran:
    argv: list[str]
    rc: int
    out: str
    err: str
    seconds: float

    def __str__(self) -> str:  # for failed asserts: the command and its stderr's last lines
        return f"evidence {' '.join(self.argv)} -> {self.rc}\n{self.err[-2000:]}"


class Cli:
    """The real `evidence` console script in `work`, importing this worktree's code."""

    def __init__(self, work: Path) -> None:
        self.work, self.ran = work, []
        home = work / "home"
        (home / "tmp").mkdir(parents=True)
        keep = ("PATH", "LANG", "LC_ALL", "JAVA_HOME")
        self.env = {k: os.environ[k] for k in keep if k in os.environ}
        self.env.update(ENV, PYTHONPATH=str(REPO), HOME=str(home), TMPDIR=str(home / "tmp"),
                        XDG_CACHE_HOME=str(home / ".cache"), COLUMNS="200",
                        EVIDENCE_CONFIG=str(work / "evidence.toml"))  # fmt: skip

    def __call__(self, *argv: str, rc: int = 0) -> Ran:
        t0 = time.monotonic()
        done = subprocess.run(
            [str(EVIDENCE), "--wait", "60", *argv],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        ran = Ran(list(argv), done.returncode, done.stdout, done.stderr, time.monotonic() - t0)
        self.ran.append(ran)
        print(f"{ran.seconds:6.2f} s  evidence {' '.join(argv)[:90]}")
        assert ran.rc == rc, str(ran)
        return ran


def run_every_command(cli: Cli, out: Path) -> dict[str, Ran]:
    r: dict[str, Ran] = {}
    today = dt.datetime.now(dt.UTC).date()
    r["init"] = cli("init")
    # 2: the private_key_jwt sources fail on their config, and an input error wins the code.
    r["sync"] = cli("sync", "--all", rc=2)
    r["delta"] = cli("sync", "--all", "--delta", rc=2)
    r["detect"] = cli("detect")
    cli("detect", "--format", "json")
    for fmt in ("table", "json", "csv"):
        cli("findings", "--format", fmt)
        cli("sql", "SELECT * FROM sync_runs ORDER BY started_at", "--format", fmt)
    cli("sql", "SELECT * FROM no_such_table", rc=2)
    for sink in ("ndjson-ecs", "ndjson-ocsf", "ndjson-cef", "es-apikey", "es-basic",
                 "hec-env", "hec-file", "syslog-tcp", "syslog-tls"):  # fmt: skip
        r[sink] = cli("forward", "--to", sink)
    for sink in ("es-wrong", "es-down", "hec-wrong", "hec-down"):
        r[sink] = cli("forward", "--to", sink, rc=1)
    frm, to = str(today - dt.timedelta(days=7)), str(today)
    r["report"] = cli("report", "all", "--from", frm, "--to", to, "--out", str(out))
    bundles = sorted(p for p in out.iterdir() if p.is_dir())
    assert [b.name.split("-")[0] for b in bundles] == ["hipaa", "iso27001", "soc2"]
    for b in bundles:
        r[f"verify bundle {b.name}"] = cli("verify", str(b))
        cli("verify", str(b.with_suffix(".zip")), "--store")
    r["verify --store"] = cli("verify", "--store")
    return r


def positive_controls(w: World, r: dict[str, Ran], work: Path, signer: Path) -> None:
    """Each sentinel reached its server (or, for private keys, the documented refusal)."""
    auths = [q.headers.get("authorization") for q in w.okta.requests]
    assert f"SSWS {S['okta-token-env']}" in auths and f"SSWS {S['okta-wrong-token-file']}" in auths
    assert w.graph.tokens and w.graph_b.tokens  # issued only for the right client secret
    con = duckdb.connect(str(work / "evidence.duckdb"), read_only=True)
    try:
        runs = dict(
            con.execute(
                "SELECT source, string_agg(DISTINCT status || ': ' || coalesce(error, ''), ' | ') "
                "FROM sync_runs GROUP BY source"
            ).fetchall()
        )
        (scim_accounts,) = con.execute(
            "SELECT count(*) FROM accounts WHERE app = 'Confluence'"
        ).fetchone()
    finally:
        con.close()
    assert scim_accounts == 12  # the SCIM token was accepted
    for ok in ("okta", "scim", "entra", "entra-file"):
        assert runs[ok].startswith("ok: ") and "failed" not in runs[ok], runs[ok]
    assert "401" in runs["okta-wrong"] and "Invalid token provided" in runs["okta-wrong"]
    assert "invalid_client" in runs["entra-wrong"] or "7000215" in runs["entra-wrong"], runs
    for jwt in ("okta-jwt-env", "okta-jwt-file"):
        assert "private_key_jwt client authentication is not supported" in runs[jwt], runs[jwt]

    hec = {(q.headers.get("authorization"), q.status) for q in w.hec.requests}
    assert (f"Splunk {S['hec-token-env']}", 200) in hec
    assert (f"Splunk {S['hec-wrong-token']}", 403) in hec
    assert {q.headers.get("authorization") for q in w.hec_b.requests} == {
        f"Splunk {S['hec-token-file']}"
    }
    assert w.hec.events and w.hec_b.events
    basic = base64.b64encode(f"{ES_USER}:{S['es-password-env']}".encode()).decode()
    es = {(q.headers.get("authorization"), q.status) for q in w.proxy.requests}
    assert (f"ApiKey {S['es-api-key-env']}", 200) in es
    assert (f"Basic {basic}", 200) in es
    assert (f"ApiKey {S['es-wrong-api-key']}", 401) in es
    assert w.rsyslog.messages("tcp") and w.rsyslog.messages("tls")
    # The configured signing key signed the bundles.
    pub = serialization.load_pem_private_key(signer.read_bytes(), None).public_key()
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    fp = hashlib.sha256(raw).hexdigest()
    assert all(
        f"signer {fp}" in v.out + v.err for k, v in r.items() if k.startswith("verify bundle ")
    )
    # The failure paths ran and said so.
    assert "401" in r["es-wrong"].err and "403" in r["hec-wrong"].err, (
        r["es-wrong"],
        r["hec-wrong"],
    )
    assert "es-down" in r["es-down"].err and "hec-down" in r["hec-down"].err


def scan_servers(scan: Scanner, w: World, es_node: str) -> None:
    """What the servers received, Authorization headers aside, and what they stored."""

    def headers(h: dict[str, str]) -> str:
        return json.dumps({k: v for k, v in h.items() if k != "authorization"})

    for name, standin in (("okta", w.okta), ("graph", w.graph), ("graph-b", w.graph_b)):
        for i, q in enumerate(standin.requests):
            scan.text(f"{name} request {i} ({q.target})", q.target + headers(q.headers))
    for name, hec in (("hec", w.hec), ("hec-b", w.hec_b)):
        scan.text(f"{name} received events", json.dumps(hec.events))
        for i, q in enumerate(hec.requests):
            scan.text(f"{name} request {i} headers", headers(q.headers))
    for i, q in enumerate(w.proxy.requests):
        scan.data(f"es request {i} {q.method} {q.target}", q.target.encode() + q.body)
        scan.text(f"es request {i} headers", headers(q.headers))
    for kind in ("tcp", "tls"):
        scan.text(f"rsyslog {kind}.log", "\n".join(w.rsyslog.messages(kind)))
    scan.text("rsyslogd's own log", w.rsyslog.log())
    client = Elasticsearch(es_node, request_timeout=60)
    try:
        client.indices.refresh(index="*sweep*", expand_wildcards="all")
        hits = client.search(
            index="*sweep*", expand_wildcards="all", size=10_000, query={"match_all": {}}
        )["hits"]["hits"]
    finally:
        client.close()
    assert {h["_index"].split("sweep_")[1].split("-")[0] for h in hits} >= {"apikey", "basic"}
    scan.text(f"elasticsearch documents ({len(hits)})", json.dumps(hits))


def self_test(scan: Scanner, work: Path, out: Path, tmp: Path) -> None:
    """The scanner finds sentinels planted on purpose: in a store cell (through SQL), a
    compressed PDF stream, a deflated zip entry and a text file, in encoded forms too."""
    planted = Scanner(needles=dict(scan.needles))
    store = tmp / "planted.duckdb"
    shutil.copy(work / "evidence.duckdb", store)
    con = duckdb.connect(str(store))
    basic = base64.b64encode(f"{ES_USER}:{S['es-password-env']}".encode()).decode()
    con.execute("UPDATE sync_runs SET error = $e WHERE source = 'okta-wrong'", {"e": basic})
    con.close()
    planted.store(store)
    pdf_path = next(out.rglob("soc2-*.pdf"))
    with pikepdf.open(pdf_path) as pdf:
        page = pdf.pages[0]
        font = pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
        if "/Font" not in page.Resources:
            page.Resources.Font = pikepdf.Dictionary()
        page.Resources.Font.SweepF = pdf.make_indirect(font)
        text = f"BT /SweepF 6 Tf 20 20 Td ({S['hec-token-file']}) Tj ET"
        stream = pikepdf.Stream(pdf, text.encode())
        pdf.pages[0].Contents = pdf.make_indirect(pikepdf.Array([pdf.pages[0].Contents, stream]))
        buf = io.BytesIO()
        pdf.save(buf, compress_streams=True)
    data = buf.getvalue()
    assert S["hec-token-file"].encode() not in data  # only a decompressing scan can find it
    planted.file("planted.pdf", data)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("notes.txt", "x" * 500 + quote(S["entra-client-secret-env"], safe=""))
    planted.file("planted.zip", zbuf.getvalue())
    planted.text("planted stderr", f"retrying with SSWS {S['okta-token-env']}")
    found = {(h.where, h.secret, h.form) for h in planted.hits}
    assert ("store main.sync_runs.error", "es-password-env", "basic") in found, found
    assert any(
        w.startswith("planted.pdf stream") and s == "hec-token-file" and f == "raw"
        for w, s, f in found
    ), found
    assert ("planted.pdf (pdftotext)", "hec-token-file", "raw") in found, found
    assert ("planted stderr", "okta-token-env", "raw") in found, found
    assert ("planted.zip!notes.txt", "entra-client-secret-env", "url") in found, found


def test_every_command_leaks_no_secret(es_node: str, rsyslog: Rsyslog, tmp_path: Path) -> None:
    started = time.monotonic()
    secrets, work = tmp_path / "secrets", tmp_path / "work"
    secrets.mkdir()
    work.mkdir()
    for name, value in FILES.items():
        (secrets / name).write_text(value)
    signer, _, _, key_needles = write_keys(secrets)
    with (
        OktaStandin(S["okta-token-env"]) as okta,
        GraphStandin(CLIENT_ID, S["entra-client-secret-env"]) as graph,
        GraphStandin(CLIENT_ID, S["entra-client-secret-file"]) as graph_b,
        scim2_server(S["scim-token-file"]) as scim,
        HecReceiver(S["hec-token-env"]) as hec,
        HecReceiver(S["hec-token-file"]) as hec_b,
        EsAuthProxy(
            es_node, api_keys={S["es-api-key-env"]}, basic={(ES_USER, S["es-password-env"])}
        ) as proxy,
    ):
        w = World(okta, graph, graph_b, scim, hec, hec_b, proxy, rsyslog)
        seed_world(w)
        print(f"servers up and seeded at {time.monotonic() - started:.1f} s")
        (work / "evidence.toml").write_text(config(w, secrets, free_port(), free_port()))
        cli = Cli(work)
        out = work / "reports"
        r = run_every_command(cli, out)
        positive_controls(w, r, work, signer)

        print(f"commands done at {time.monotonic() - started:.1f} s")
        scan = Scanner()
        for label, value in S.items():
            basic_user = ES_USER if label == "es-password-env" else None
            scan.secret(label, value, basic_user=basic_user)
        scan.secret("entra-client-secret-env as client id:secret",
                    f"{CLIENT_ID}:{S['entra-client-secret-env']}")  # fmt: skip
        for i, token in enumerate(graph.tokens + graph_b.tokens):
            scan.secret(f"graph access token {i}", token)
        scan.secret("okta app apiToken (returned by the source)", "app-secret-xyz")
        scan.secret("graph secretText (returned by the source)", "sp-secret-xyz")
        pades_key = secrets / "signer.pem.pades-key.pem"
        assert pades_key.exists()
        for i, line in enumerate(key_needles + pem_lines(pades_key.read_bytes())[1:]):
            scan.literal(f"private key material {i}", line)

        for i, ran in enumerate(cli.ran):
            scan.text(f"stdout of #{i} evidence {' '.join(ran.argv)}", ran.out)
            scan.text(f"stderr of #{i} evidence {' '.join(ran.argv)}", ran.err)
        scan.store(work / "evidence.duckdb")
        files = scan.tree(work)  # config, store, NDJSON, bundles and zips, HOME, TMPDIR
        scan_servers(scan, w, es_node)

        print(f"scanned at {time.monotonic() - started:.1f} s")
        assert not scan.hits, "secrets leaked:\n" + scan.report()
        assert files >= 3 * 2 + 3 + 2, files  # bundles and zips, NDJSON, config and store
        assert any(p.startswith("store main.sync_runs.error") for p in scan.places)
        assert any(" stream " in p for p in scan.places)  # PDF streams were decompressed
        assert any(
            "!" in p and p.endswith("/manifest.json") for p in scan.places
        )  # zip entries were read
        self_test(scan, work, out, tmp_path)
    print(f"secrets sweep: {len(cli.ran)} commands, {len(scan.needles)} needles, "
          f"{len(scan.places)} places, {time.monotonic() - started:.1f} s")  # fmt: skip
