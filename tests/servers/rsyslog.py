"""Debian's real rsyslogd for the tests, listening on 127.0.0.1 only and writing to files.

    from tests.servers.rsyslog import rsyslog_certs_fixture, rsyslog_fixture  # noqa: F401

    def test_x(rsyslog):                     # a fresh rsyslogd per test
        rsyslog.url("tcp")                   # tcp://127.0.0.1:P   imptcp, octet counting
        rsyslog.url("tls")                   # tls://127.0.0.1:P   imtcp + gtls (rsyslog-gnutls)
        rsyslog.url("udp")                   # udp://127.0.0.1:P   imudp
        rsyslog.wait_for("tcp", 12)          # the raw messages received, one per line

Each input has its own ruleset writing `%rawmsg%` (the message exactly as received, after
the octet-count framing is taken off) to `<kind>.log` in a temp work directory. The config is
ours alone: no imuxsock or imklog (so neither /dev/log nor the kernel log is touched), no
/etc/rsyslog.conf, the work directory and pid file in the temp dir. rsyslogd runs as a
non-daemon child (`-n`) and gets SIGTERM at the end, or when the test process dies.

The TLS listener uses a throwaway CA and a server certificate for 127.0.0.1 and localhost,
made with the openssl command at session start (`rsyslog_certs`); clients trust `ca_file`.
rsyslog authenticates no client (`authMode anon`).

Observed with rsyslog 8.2302 (Debian 12): imptcp and imtcp parse octet-counted framing by
default (`SupportOctetCountedFraming` on); a message longer than `maxMessageSize` is cut
(we raise it to 256 KiB); a listener that cannot bind is logged and skipped, rsyslogd keeps
running, hence the readiness check on every port.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.scim2_server import die_with_parent
from tests.servers.stub_http import free_port

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
KINDS = ("tcp", "tls", "udp")

_CONF = """\
global(
    workDirectory="{work}"
    maxMessageSize="256k"
    defaultNetstreamDriverCAFile="{ca}"
    defaultNetstreamDriverCertFile="{cert}"
    defaultNetstreamDriverKeyFile="{key}"
)
module(load="imptcp")
module(load="imudp")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")

template(name="raw" type="string" string="%rawmsg%\\n")

ruleset(name="tcp") {{ action(type="omfile" file="{work}/tcp.log" template="raw") }}
ruleset(name="tls") {{ action(type="omfile" file="{work}/tls.log" template="raw") }}
ruleset(name="udp") {{ action(type="omfile" file="{work}/udp.log" template="raw") }}

input(type="imptcp" address="127.0.0.1" port="{tcp}" ruleset="tcp")
input(type="imtcp" address="127.0.0.1" port="{tls}" ruleset="tls")
input(type="imudp" address="127.0.0.1" port="{udp}" ruleset="udp" rcvBufSize="4m")

# rsyslogd's own messages (start, errors) land in the default ruleset.
action(type="omfile" file="{work}/rsyslogd.log")
"""


class RsyslogUnavailable(RuntimeError):
    """rsyslogd (or rsyslog-gnutls, or openssl) is missing, or it did not come up."""


@dataclass(frozen=True)
class Certs:
    ca_file: Path
    cert_file: Path
    key_file: Path


@dataclass
class Rsyslog:
    work: Path
    ports: dict[str, int]
    certs: Certs
    process: subprocess.Popen

    @property
    def ca_file(self) -> Path:
        return self.certs.ca_file

    def url(self, kind: str) -> str:
        return f"{kind}://127.0.0.1:{self.ports[kind]}"

    def messages(self, kind: str) -> list[str]:
        """Every raw message the `kind` listener has written so far."""
        path = self.work / f"{kind}.log"
        if not path.exists():
            return []
        return path.read_text(encoding="utf-8").splitlines()

    def wait_for(
        self, kind: str, count: int, timeout: float = 10.0, settle: float = 0.3
    ) -> list[str]:
        """The messages once at least `count` arrived and no more came for `settle` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.messages(kind)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(settle)  # a duplicate arriving late must still be counted
        return self.messages(kind)

    def log(self) -> str:
        """rsyslogd's own messages (its stderr and the default ruleset's file)."""
        paths = [self.work / "stderr.log", self.work / "rsyslogd.log"]
        return "".join(p.read_text(errors="replace") for p in paths if p.exists())

    def start(self, timeout: float = 15.0) -> None:
        """Start rsyslogd again after `stop`: same config, ports and files (appended to)."""
        if self.process.poll() is None:
            return
        (self.work / "rsyslogd.pid").unlink(missing_ok=True)
        self.process = _launch(self.work)
        deadline = time.monotonic() + timeout
        while not _ready(self):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RsyslogUnavailable(f"rsyslogd did not come back:\n{self.log()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s. Safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def make_certs(directory: Path) -> Certs:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost, valid for two days."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RsyslogUnavailable("the openssl command is needed to make test certificates")
    d = directory
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    steps = [
        [openssl, "req", "-x509", *ec, "-keyout", d / "ca.key", "-out", d / "ca.pem",
         "-days", "2", "-subj", "/CN=scim-evidence test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [openssl, "req", *ec, "-keyout", d / "server.key", "-out", d / "server.csr",
         "-subj", "/CN=localhost"],
        [openssl, "x509", "-req", "-in", d / "server.csr", "-CA", d / "ca.pem",
         "-CAkey", d / "ca.key", "-CAcreateserial", "-out", d / "server.pem", "-days", "2",
         "-extfile", d / "server.ext"],
    ]  # fmt: skip
    (d / "server.ext").write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    for cmd in steps:
        done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
        if done.returncode != 0:
            raise RsyslogUnavailable(f"openssl failed: {done.stderr.strip()}")
    return Certs(d / "ca.pem", d / "server.pem", d / "server.key")


def _udp_bound(port: int) -> bool:
    want = f"0100007F:{port:04X}"
    try:
        rows = Path("/proc/net/udp").read_text().splitlines()[1:]
    except OSError:
        return True  # cannot tell on this platform; the first send will show
    return any(row.split()[1] == want for row in rows)


def _ready(server: Rsyslog) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", server.ports["tcp"]), timeout=0.25):
            pass
        ctx = ssl.create_default_context(cafile=str(server.ca_file))
        # Short timeouts: a handshake started before gtls is ready would otherwise stall.
        with socket.create_connection(("127.0.0.1", server.ports["tls"]), timeout=0.25) as raw:
            tls = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
            try:
                tls.unwrap()  # a clean close_notify keeps rsyslogd's log free of errors
            except OSError:
                pass
    except OSError:
        return False
    return _udp_bound(server.ports["udp"])


def _launch(work: Path) -> subprocess.Popen:
    with (work / "stderr.log").open("ab") as err:
        return subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(work / "rsyslog.conf"), "-i", str(work / "rsyslogd.pid")],
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=subprocess.STDOUT,
            cwd=work,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )


@contextmanager
def rsyslog_server(certs: Certs, timeout: float = 15.0, attempts: int = 3) -> Iterator[Rsyslog]:
    """rsyslogd on free 127.0.0.1 ports, ready to receive; stopped and removed afterwards."""
    if not Path(RSYSLOGD).exists():
        raise RsyslogUnavailable("rsyslogd not found: apt-get install rsyslog rsyslog-gnutls")
    work = Path(tempfile.mkdtemp(prefix="scim-evidence-rsyslog-"))
    server: Rsyslog | None = None
    try:
        for attempt in range(1, attempts + 1):
            ports = {
                "tcp": free_port(socket.SOCK_STREAM),
                "tls": free_port(socket.SOCK_STREAM),
                "udp": free_port(socket.SOCK_DGRAM),
            }
            conf = work / "rsyslog.conf"
            conf.write_text(
                _CONF.format(
                    work=work, ca=certs.ca_file, cert=certs.cert_file, key=certs.key_file, **ports
                )
            )
            server = Rsyslog(work, ports, certs, _launch(work))
            process = server.process
            deadline = time.monotonic() + timeout
            while process.poll() is None and time.monotonic() < deadline:
                if _ready(server):
                    break
                time.sleep(0.05)
            else:
                server.stop()
                detail = server.log()
                if attempt == attempts:
                    raise RsyslogUnavailable(f"rsyslogd did not come up:\n{detail[-3000:]}")
                server = None
                continue
            break
        assert server is not None
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(name="rsyslog_certs", scope="session")
def rsyslog_certs_fixture() -> Iterator[Certs]:
    """The throwaway CA and server certificate, made once per session."""
    d = Path(tempfile.mkdtemp(prefix="scim-evidence-certs-"))
    try:
        yield make_certs(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(name="rsyslog")
def rsyslog_fixture(rsyslog_certs: Certs) -> Iterator[Rsyslog]:
    """A fresh rsyslogd per test, so each test reads only its own messages."""
    with rsyslog_server(rsyslog_certs) as server:
        yield server
