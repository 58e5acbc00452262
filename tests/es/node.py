"""A real Elasticsearch 8 node for the tests: one JVM, plain HTTP on 127.0.0.1, no auth.

The classpath (the ES server jar and transport-netty4, see pom.xml) is resolved with
`mvn -q` into ~/.m2 and the small runner in src/main/java is compiled with javac; both are
cached under tests/es/.build (git-ignored), keyed by the hash of pom.xml and of the sources.
`python -m tests.es.node` does that ahead of time (`make test` runs it), so the first test
that asks for the node only pays for the JVM start.

Fixtures: `es_process` (session) is the running node with `stop()`, `kill()` and `start()`
on the same data directory and port; `es_node` (session) is its base URL.

The JVM never outlives the test session: it is stopped at session end, at interpreter exit
(atexit), and, should pytest itself be killed, by the runner noticing its stdin pipe close.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["EsProcess", "es_node", "es_process", "prepare"]

ES_DIR = Path(__file__).resolve().parent
BUILD = ES_DIR / ".build"
MAIN_CLASS = "scimevidence.esnode.EsNode"
JVM_OPTS = ("-Xms256m", "-Xmx512m", "-XX:-UsePerfData")
START_TIMEOUT = 180.0  # seconds; 2 busy cores have taken 13 s for a warm start

_LIVE: set[subprocess.Popen[bytes]] = set()


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.relative_to(ES_DIR).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _classpath() -> str:
    """The node's jar classpath, resolved by Maven once per pom version."""
    pom = ES_DIR / "pom.xml"
    cache = BUILD / f"classpath-{_digest(pom)}.txt"
    if cache.exists():
        cp = cache.read_text(encoding="utf-8").strip()
        # A cleaned ~/.m2 invalidates the cache: resolve again rather than fail in the JVM.
        if cp and all(Path(j).exists() for j in cp.split(os.pathsep)):
            return cp
    BUILD.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    _run(["mvn", "-q", "-B", "dependency:build-classpath", f"-Dmdep.outputFile={tmp}"], pom.parent)
    tmp.replace(cache)
    return cache.read_text(encoding="utf-8").strip()


def _classes(cp: str) -> Path:
    """The compiled runner, rebuilt only when a source file changes."""
    sources = sorted((ES_DIR / "src" / "main" / "java").rglob("*.java"))
    out = BUILD / f"classes-{_digest(*sources)}"
    if (out / ".done").exists():
        return out
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    _run(["javac", "-nowarn", "-d", str(tmp), "-cp", cp, *map(str, sources)], ES_DIR)
    (tmp / ".done").touch()
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def _run(cmd: list[str], cwd: Path) -> None:
    if shutil.which(cmd[0]) is None:
        raise RuntimeError(f"{cmd[0]} not found: run `make test` (it installs Java 17 and Maven)")
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip()[-2000:]
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({proc.returncode}):\n{tail}")


def prepare() -> str:
    """Resolve and compile what the node needs; its full Java classpath."""
    cp = _classpath()
    return f"{_classes(cp)}{os.pathsep}{cp}"


class EsProcess:
    """One node in a JVM on a data directory that outlives restarts."""

    def __init__(self, home: Path, cluster: str = "scim-evidence-test") -> None:
        self.home, self.cluster = Path(home), cluster
        self.port = 0  # 0 until the first start picks a free port; kept for restarts
        self._proc: subprocess.Popen[bytes] | None = None
        self._cp: str | None = None

    @property
    def url(self) -> str:
        """Base URL of the node (stable across restarts)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> str:
        """Start the node (on the previous port after a stop) and wait for yellow health."""
        if self.running:
            return self.url
        if self._cp is None:
            self._cp = prepare()
        ports = self.home / "logs" / "http.ports"
        ports.unlink(missing_ok=True)  # left behind by the previous run
        (self.home / "tmp").mkdir(parents=True, exist_ok=True)
        log = open(self.home / "node.log", "ab")  # handed to the child, closed below
        cmd = [
            "java",
            *JVM_OPTS,
            f"-Djava.io.tmpdir={self.home / 'tmp'}",
            "-cp",
            self._cp,
            MAIN_CLASS,
            str(self.home),
            str(self.port),
            self.cluster,
        ]
        env = {**os.environ, "ESNODE_EXIT_ON_STDIN_EOF": "1"}
        # stdout goes to a file: an undrained pipe would block the node's logging.
        try:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        finally:
            log.close()
        _LIVE.add(self._proc)
        deadline = time.monotonic() + timeout
        address = self._wait_for_ports(ports, deadline)
        host, _, port = address.rpartition(":")
        if host.strip("[]") not in ("127.0.0.1", "::ffff:127.0.0.1"):
            self.kill()
            raise RuntimeError(f"the node bound {address}, not loopback")
        self.port = int(port)
        self._wait_for_health(deadline)
        return self.url

    def _wait_for_ports(self, ports: Path, deadline: float) -> str:
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"the node exited ({self._proc.returncode}):\n{self.log_tail()}")
            text = ports.read_text(encoding="utf-8").strip() if ports.exists() else ""
            if text:
                return text.splitlines()[0]
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"the node did not start in time:\n{self.log_tail()}")

    def _wait_for_health(self, deadline: float) -> None:
        # GET / answers before shards are assigned; health yellow means they are.
        url = f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=10s"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=15) as resp:
                    if json.load(resp).get("status") in ("yellow", "green"):
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.3)
        self.kill()
        raise RuntimeError(f"the node never became healthy:\n{self.log_tail()}")

    def stop(self, timeout: float = 60.0) -> None:
        """A clean shutdown (SIGTERM), waiting for the JVM to exit."""
        self._end(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """A crash (SIGKILL): what the node acknowledged must survive it."""
        self._end(signal.SIGKILL, 30.0)

    def restart(self) -> str:
        """Stop and start again on the same data directory and port."""
        self.stop()
        return self.start()

    def _end(self, sig: signal.Signals, timeout: float) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        _terminate(proc, sig, timeout)
        _LIVE.discard(proc)

    def log_tail(self, lines: int = 40) -> str:
        path = self.home / "node.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _terminate(proc: subprocess.Popen[bytes], sig: signal.Signals, timeout: float) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)
    if proc.stdin is not None:
        proc.stdin.close()


@atexit.register
def _kill_leftovers() -> None:
    # Ctrl-C or an error outside the fixture's teardown: never leave a JVM behind.
    for proc in list(_LIVE):
        _terminate(proc, signal.SIGTERM, 15.0)
    _LIVE.clear()


@pytest.fixture(scope="session")
def es_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EsProcess]:
    """The session's node; tests may stop, kill and start it (always on the same data)."""
    node = EsProcess(tmp_path_factory.mktemp("es-node"))
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def es_node(es_process: EsProcess) -> str:
    """Base URL of a running Elasticsearch 8 node on 127.0.0.1."""
    return es_process.url


if __name__ == "__main__":
    # `python -m tests.es.node`: prefetch the Maven classpath and compile the runner.
    t0 = time.monotonic()
    entries = prepare().split(os.pathsep)
    print(
        f"elasticsearch test node ready: {len(entries)} classpath entries, "
        f"{time.monotonic() - t0:.1f} s",
        file=sys.stderr,
    )
