"""The world the secrets sweep (tests/test_secrets_sweep.py) runs in: one distinct sentinel
per secret setting, the key files, the servers it talks to, and the config naming them all."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from tests.servers.es_auth_proxy import EsAuthProxy
from tests.servers.graph_standin import GraphStandin
from tests.servers.hec_receiver import HecReceiver
from tests.servers.okta_standin import Fault, OktaStandin
from tests.servers.rsyslog import Rsyslog
from tests.servers.scim2_server import ScimServer, seed

CLIENT_ID = "sweep-client-0b7e"
ES_USER = "sweep-elastic"
STREAM = "logs-scim_evidence.sweep_{}-default"


def sentinel(what: str) -> str:
    """A long value that cannot occur by chance; `~.+/` make its URL-encoded forms differ."""
    digest = hashlib.sha256(what.encode()).hexdigest()[:24]
    return f"SENTINEL-{what}-{digest}~x.y+z/w"


# Every secret setting, each with its own sentinel (env var name -> value, or a file).
S = {
    k: sentinel(k)
    for k in (
        "okta-token-env", "okta-wrong-token-file", "scim-token-file", "entra-client-secret-env",
        "entra-client-secret-file", "entra-wrong-client-secret", "okta-private-key-env",
        "okta-private-key-file", "es-api-key-env", "es-password-env", "es-wrong-api-key",
        "hec-token-env", "hec-token-file", "hec-wrong-token",
    )
}  # fmt: skip
ENV = {
    "SWEEP_OKTA_TOKEN": S["okta-token-env"],
    "SWEEP_ENTRA_SECRET": S["entra-client-secret-env"],
    "SWEEP_ENTRA_WRONG_SECRET": S["entra-wrong-client-secret"],
    "SWEEP_OKTA_KEY": f"-----BEGIN PRIVATE KEY-----\n{S['okta-private-key-env']}\n"
    "-----END PRIVATE KEY-----",
    "SWEEP_ES_KEY": S["es-api-key-env"],
    "SWEEP_ES_PASSWORD": S["es-password-env"],
    "SWEEP_ES_WRONG_KEY": S["es-wrong-api-key"],
    "SWEEP_HEC_TOKEN": S["hec-token-env"],
    "SWEEP_HEC_WRONG_TOKEN": S["hec-wrong-token"],
}
FILES = {
    "okta-wrong.token": S["okta-wrong-token-file"],
    "scim.token": S["scim-token-file"],
    "entra.secret": S["entra-client-secret-file"],
    "okta.pem": f"-----BEGIN PRIVATE KEY-----\n{S['okta-private-key-file']}\n"
    "-----END PRIVATE KEY-----\n",
    "hec.token": S["hec-token-file"],
}


@dataclass
class World:
    okta: OktaStandin
    graph: GraphStandin
    graph_b: GraphStandin
    scim: ScimServer
    hec: HecReceiver
    hec_b: HecReceiver
    proxy: EsAuthProxy
    rsyslog: Rsyslog


def pem_lines(pem: bytes) -> list[str]:
    """The base64 lines of a PEM body."""
    return [ln for ln in pem.decode().splitlines() if ln and not ln.startswith("-----")]


def write_keys(secrets: Path) -> tuple[Path, Path, Path, list[str]]:
    """The report signing key, a syslog TLS client key and certificate; (signer, cert, key,
    key-material needles)."""
    signer = Ed25519PrivateKey.generate()
    pem = signer.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (secrets / "signer.pem").write_bytes(pem)
    raw = signer.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    needles = pem_lines(pem) + [raw.hex(), base64.b64encode(raw).decode().rstrip("=")]
    key = ec.generate_private_key(ec.SECP256R1())
    kpem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    (secrets / "client.key").write_bytes(kpem)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sweep client")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (secrets / "client.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    d = key.private_numbers().private_value.to_bytes(32, "big")
    needles += pem_lines(kpem)[1:] + [d.hex()]  # line 1 starts with a constant DER prefix
    return secrets / "signer.pem", secrets / "client.pem", secrets / "client.key", needles


def config(w: World, secrets: Path, es_down: int, hec_down: int) -> str:
    okta, closed = w.okta.url, "http://127.0.0.1"
    return f"""
[store]
path = "evidence.duckdb"

[[sources]]
name = "okta"
kind = "okta"
url = "{okta}"
token_env = "SWEEP_OKTA_TOKEN"

[[sources]]
name = "okta-wrong"
kind = "okta"
url = "{okta}"
tenant = "okta-wrong.example"
token_file = "{secrets / "okta-wrong.token"}"

[[sources]]
name = "okta-jwt-env"
kind = "okta"
url = "{okta}"
tenant = "okta-jwt-env.example"
auth = "oauth"
client_id = "{CLIENT_ID}"
private_key_env = "SWEEP_OKTA_KEY"
token_url = "{okta}/oauth2/v1/token"
scopes = ["okta.logs.read"]

[[sources]]
name = "okta-jwt-file"
kind = "okta"
url = "{okta}"
tenant = "okta-jwt-file.example"
auth = "oauth"
client_id = "{CLIENT_ID}"
private_key_file = "{secrets / "okta.pem"}"
token_url = "{okta}/oauth2/v1/token"

[[sources]]
name = "scim"
kind = "scim"
app = "Confluence"
url = "{w.scim.base_url}"
token_file = "{secrets / "scim.token"}"

[[sources]]
name = "entra"
kind = "entra"
tenant_id = "t-sweep"
client_id = "{CLIENT_ID}"
client_secret_env = "SWEEP_ENTRA_SECRET"
graph_url = "{w.graph.url}"
token_url = "{w.graph.url}/t-sweep/oauth2/v2.0/token"

[[sources]]
name = "entra-file"
kind = "entra"
tenant_id = "t-sweep-b"
client_id = "{CLIENT_ID}"
client_secret_file = "{secrets / "entra.secret"}"
graph_url = "{w.graph_b.url}"
token_url = "{w.graph_b.url}/t-sweep-b/oauth2/v2.0/token"

[[sources]]
name = "entra-wrong"
kind = "entra"
tenant_id = "t-wrong"
client_id = "{CLIENT_ID}"
client_secret_env = "SWEEP_ENTRA_WRONG_SECRET"
graph_url = "{w.graph.url}"
token_url = "{w.graph.url}/t-wrong/oauth2/v2.0/token"

[reports]
organisation = "Sweep Corp"
signing_key_file = "{secrets / "signer.pem"}"

[[sinks]]
name = "ndjson-ecs"
kind = "ndjson"
path = "siem/ecs.ndjson"

[[sinks]]
name = "ndjson-ocsf"
kind = "ndjson"
path = "siem/ocsf.ndjson"
format = "ocsf"

[[sinks]]
name = "ndjson-cef"
kind = "ndjson"
path = "siem/cef.ndjson"
format = "cef"

[[sinks]]
name = "es-apikey"
kind = "elasticsearch"
url = "{w.proxy.url}"
api_key_env = "SWEEP_ES_KEY"
data_stream = "{STREAM.format("apikey")}"
replicas = 0

[[sinks]]
name = "es-basic"
kind = "elasticsearch"
url = "{w.proxy.url}"
username = "{ES_USER}"
password_env = "SWEEP_ES_PASSWORD"
data_stream = "{STREAM.format("basic")}"
replicas = 0

[[sinks]]
name = "es-wrong"
kind = "elasticsearch"
url = "{w.proxy.url}"
api_key_env = "SWEEP_ES_WRONG_KEY"
data_stream = "{STREAM.format("wrong")}"
replicas = 0
retries = 0

[[sinks]]
name = "es-down"
kind = "elasticsearch"
url = "{closed}:{es_down}"
api_key_env = "SWEEP_ES_KEY"
data_stream = "{STREAM.format("down")}"
retries = 1
retry_backoff = 0.1
timeout = 2

[[sinks]]
name = "hec-env"
kind = "splunk_hec"
url = "{w.hec.url}"
token_env = "SWEEP_HEC_TOKEN"

[[sinks]]
name = "hec-file"
kind = "splunk_hec"
url = "{w.hec_b.url}"
token_file = "{secrets / "hec.token"}"
format = "cef"

[[sinks]]
name = "hec-wrong"
kind = "splunk_hec"
url = "{w.hec.url}"
token_env = "SWEEP_HEC_WRONG_TOKEN"

[[sinks]]
name = "hec-down"
kind = "splunk_hec"
url = "{closed}:{hec_down}"
token_env = "SWEEP_HEC_TOKEN"
retries = 1
retry_backoff = 0.1
timeout = 2

[[sinks]]
name = "syslog-tcp"
kind = "syslog"
url = "{w.rsyslog.url("tcp")}"
format = "cef"

[[sinks]]
name = "syslog-tls"
kind = "syslog"
url = "{w.rsyslog.url("tls")}"
format = "cef"
ca_bundle = "{w.rsyslog.ca_file}"
cert_file = "{secrets / "client.pem"}"
key_file = "{secrets / "client.key"}"
"""


def seed_world(w: World) -> None:
    now = dt.datetime.now(dt.UTC)
    w.okta.seed()
    w.okta.add_events(30, start=now - dt.timedelta(days=2))
    w.okta.fail("/api/v1/users", Fault("status", 503))  # a retry, with its log line
    for g in (w.graph, w.graph_b):
        g.seed()
        g.page_size = g.max_top = 2  # every listing pages
        g.add_logs(8, start=now - dt.timedelta(days=1))
    w.graph.fail("/v1.0/auditLogs", Fault("status", 503))
    seed(w.scim, 12, 2, 3)
