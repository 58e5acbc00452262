"""Real SCIM service providers for the tests: scim2-server (this module) and Canaille
(``canaille_server``), each a subprocess on 127.0.0.1 with a free port and a static bearer token.

This module also holds what both share: :class:`ScimServer`, process start/stop, :func:`seed`
(creates users and groups through the server's own SCIM API) and :func:`list_resources`.

scim2-server 0.8.3 (in the project venv, ``pip install scim2-server==0.8.3``)::

    scim2-server --hostname 127.0.0.1 --port P --bearer-token T      # base URL http://…:P/v2

Observed (wsgiref, HTTP/1.0 so no keep-alive, one request at a time): Bulk is supported
(maxOperations 1000, maxPayloadSize 1 MiB, ``bulkId:`` references resolve); ``count`` is
silently capped at ``filter.maxResults`` = 1000 (count=5000 → itemsPerPage 1000) and the default
page is also 1000; ``count=0`` → only totalResults; ``startIndex`` honoured. ``filter`` works:
``userName eq`` (case-insensitive), ``active eq false``, ``meta.lastModified gt "<iso>"``
(microsecond timestamps, bumped by PUT and by a PATCH that changes something); a bad filter →
400 invalidFilter. Every RFC 7643 attribute (externalId, entitlements, roles, EnterpriseUser) is
kept; duplicate userName → 409; PATCH → 204 with no body. A User's read-only ``groups`` is NOT
filled, and DELETE of a user leaves it listed in its groups' ``members`` (dangling value).

Use the context manager directly, or the fixture::

    with scim2_server() as server:          # ScimServer(base_url, token, process, kind)
        created = seed(server, users=300, groups=5, seed=1)

    def test_x(scim2_server): ...           # after importing scim2_server_fixture in a conftest
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers.stub_http import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SCIM2_SERVER_VERSION = "0.8.3"
SCIM2_SERVER_EXE = Path(sys.executable).with_name("scim2-server")

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"


class ServerUnavailable(RuntimeError):
    """The server could not be started (missing install, crash at start, never ready)."""


@dataclass
class ScimServer:
    base_url: str  # no trailing slash, e.g. http://127.0.0.1:41234/v2
    token: str
    process: subprocess.Popen
    kind: str = "scim2-server"  # or "canaille"
    log_path: Path | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "Accept": SCIM_JSON,
            "Content-Type": SCIM_JSON,
        }

    def client(self, **kwargs: Any) -> httpx.Client:
        kwargs.setdefault("timeout", 60.0)
        return httpx.Client(base_url=self.base_url, headers=self.headers, **kwargs)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Seeded:
    """What :func:`seed` created: the payloads the server accepted, each with its server ``id``.

    Group ``members`` hold user ids (what was sent). ``user_ids``/``group_ids`` keep order.
    """

    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def user_ids(self) -> list[str]:
        return [u["id"] for u in self.users]

    @property
    def group_ids(self) -> list[str]:
        return [g["id"] for g in self.groups]


# --------------------------------------------------------------------------- processes


def die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the server gets SIGTERM if the test process dies without a teardown."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def stop_process(process: subprocess.Popen, timeout: float = 5.0) -> None:
    """Terminate, wait, then kill. Safe to call twice."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


def _wait_ready(server: ScimServer, probe: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    with httpx.Client(headers=server.headers, timeout=2.0) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise ServerUnavailable(
                    f"{server.kind} exited with {server.process.returncode} before answering "
                    f"{probe}:\n{server.log_tail()}"
                )
            try:
                r = http.get(server.base_url + probe)
                if r.status_code == 200 and "schemas" in r.json():
                    return
                last = f"HTTP {r.status_code}: {r.text[:200]}"
            except (httpx.HTTPError, ValueError) as exc:
                last = repr(exc)
            time.sleep(0.05)
    raise ServerUnavailable(
        f"{server.kind} did not answer {probe} within {timeout} s (last: {last}):\n"
        f"{server.log_tail()}"
    )


@contextmanager
def run_server(
    command: Callable[[int], list[str]],
    base_url: Callable[[int], str],
    token: str,
    kind: str,
    probe: str = "/ServiceProviderConfig",
    startup_timeout: float = 30.0,
    attempts: int = 3,
    env: dict[str, str] | None = None,
) -> Iterator[ScimServer]:
    """Start ``command(port)`` on a free port, wait until ``probe`` answers 200, yield, stop.

    The port is picked then released before the child binds it; if another process takes it in
    between the child dies at start, and the next attempt uses a new port. ``env`` replaces the
    environment (default: inherited). stdout/stderr go to a log file (a pipe would fill up with the access log and block the server).
    """
    log_dir = Path(tempfile.mkdtemp(prefix=f"scim-evidence-{kind}-"))
    server: ScimServer | None = None
    try:
        for attempt in range(1, attempts + 1):
            port = free_port()
            log_path = log_dir / f"server-{attempt}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    command(port),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=log_dir,
                    env=dict(os.environ) if env is None else env,
                    preexec_fn=die_with_parent if sys.platform == "linux" else None,
                )
            server = ScimServer(base_url(port), token, process, kind, log_path)
            try:
                _wait_ready(server, probe, startup_timeout)
                break
            except ServerUnavailable:
                stop_process(process)
                in_use = "Address already in use" in server.log_tail()
                if attempt == attempts or not in_use:
                    raise
        assert server is not None
        yield server
    finally:
        if server is not None:
            stop_process(server.process)
        shutil.rmtree(log_dir, ignore_errors=True)


@contextmanager
def scim2_server(token: str | None = None, startup_timeout: float = 20.0) -> Iterator[ScimServer]:
    """scim2-server on 127.0.0.1:<free port>, base ``/v2``, accepting ``Bearer <token>``."""
    if not SCIM2_SERVER_EXE.exists():
        raise ServerUnavailable(
            f"{SCIM2_SERVER_EXE} not found; install it: "
            f"{Path(sys.executable)} -m pip install scim2-server=={SCIM2_SERVER_VERSION}"
        )
    token = token or uuid.uuid4().hex
    with run_server(
        lambda port: [
            str(SCIM2_SERVER_EXE),
            "--hostname",
            "127.0.0.1",
            "--port",
            str(port),
            "--bearer-token",
            token,
        ],
        lambda port: f"http://127.0.0.1:{port}/v2",
        token,
        "scim2-server",
        startup_timeout=startup_timeout,
    ) as server:
        yield server


@pytest.fixture(name="scim2_server")
def scim2_server_fixture() -> Iterator[ScimServer]:
    """A fresh, empty scim2-server per test (starts in ~0.5 s)."""
    with scim2_server() as server:
        yield server


# --------------------------------------------------------------------------- data


GIVEN = [
    "Ada",
    "Alan",
    "Grace",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Dennis",
    "Radia",
    "Linus",
    "Sophie",
    "Tim",
    "Hedy",
    "John",
    "Katherine",
    "Niklaus",
]
FAMILY = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Perlman",
    "Torvalds",
    "Wilson",
    "Berners-Lee",
    "Lamarr",
    "Backus",
    "Johnson",
    "Wirth",
]
DEPARTMENTS = ["Engineering", "Finance", "Sales", "Support", "Legal", "People", "Security"]
TITLES = ["Engineer", "Senior Engineer", "Analyst", "Manager", "Director", "Specialist"]
ENTITLEMENTS = ["billing:read", "billing:write", "prod:deploy", "prod:read", "hr:read", "admin"]
ROLES = ["employee", "contractor", "approver", "auditor"]


def user_payloads(count: int, seed: int, kind: str = "scim2-server") -> list[dict[str, Any]]:
    """Deterministic User payloads. ``kind="canaille"`` drops what Canaille 0.3.6 rejects
    (entitlements, roles, emails[].type/primary → 400) or silently drops (externalId)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        user_name = f"{given.lower()}.{family.lower()}.{seed}.{i:05d}"
        u: dict[str, Any] = {
            "schemas": [USER, ENTERPRISE],
            "userName": user_name,
            "externalId": f"hr-{seed}-{i:05d}",
            "name": {"givenName": given, "familyName": family, "formatted": f"{given} {family}"},
            "displayName": f"{given} {family}",
            "title": rng.choice(TITLES),
            "active": rng.random() >= 0.1,
            "emails": [{"value": f"{user_name}@example.org", "type": "work", "primary": True}],
            "entitlements": [{"value": e} for e in rng.sample(ENTITLEMENTS, rng.randint(0, 3))],
            "roles": [{"value": rng.choice(ROLES)}],
            ENTERPRISE: {
                "employeeNumber": f"E{seed:03d}{i:06d}",
                "department": rng.choice(DEPARTMENTS),
            },
        }
        if not u["entitlements"]:
            del u["entitlements"]
        if kind == "canaille":
            del u["externalId"], u["roles"]
            u.pop("entitlements", None)
            u["emails"] = [{"value": e["value"]} for e in u["emails"]]
        out.append(u)
    return out


def group_memberships(users: int, groups: int, seed: int) -> list[list[int]]:
    """For each group, the sorted indexes of its member users (1–20 % of users; never empty)."""
    rng = random.Random(seed * 7919 + 1)
    return [
        sorted(rng.sample(range(users), max(1, int(users * rng.uniform(0.01, 0.2)))))
        if users
        else []
        for _ in range(groups)
    ]


def group_payload(
    server: ScimServer, name: str, seed: int, member_ids: list[str]
) -> dict[str, Any]:
    g: dict[str, Any] = {"schemas": [GROUP], "displayName": name}
    if server.kind == "canaille":
        # Canaille: members required, each with "$ref"; no "type"; externalId dropped.
        g["members"] = [{"value": m, "$ref": f"{server.base_url}/Users/{m}"} for m in member_ids]
    else:
        g["externalId"] = f"grp-{seed}-{name}"
        g["members"] = [{"value": m, "type": "User"} for m in member_ids]
    return g


# --------------------------------------------------------------------------- seeding


def _check(r: httpx.Response, what: str) -> dict[str, Any]:
    if r.status_code not in (200, 201):
        raise AssertionError(f"{what}: HTTP {r.status_code} {r.text[:500]}")
    return r.json()


def _bulk_limits(http: httpx.Client) -> tuple[int, int] | None:
    spc = _check(http.get("/ServiceProviderConfig"), "ServiceProviderConfig")
    bulk = spc.get("bulk") or {}
    if not bulk.get("supported") or not bulk.get("maxOperations"):
        return None
    return int(bulk["maxOperations"]), int(bulk.get("maxPayloadSize") or 1_000_000)


def _bulk_post(
    http: httpx.Client, path: str, payloads: list[dict[str, Any]], limits: tuple[int, int]
) -> list[str]:
    """POST payloads through /Bulk in chunks within maxOperations and maxPayloadSize."""
    max_ops, max_bytes = limits
    ids: list[str] = []
    chunk: list[dict[str, Any]] = []
    size = 200

    def flush() -> None:
        nonlocal chunk, size
        if not chunk:
            return
        body = {"schemas": [BULK_REQUEST], "failOnErrors": 1, "Operations": chunk}
        resp = _check(http.post("/Bulk", content=json.dumps(body)), f"Bulk {path}")
        ops = resp["Operations"]
        bad = [op for op in ops if str(op.get("status")) not in ("200", "201")]
        if bad or len(ops) != len(chunk):
            raise AssertionError(f"Bulk {path}: {len(ops)}/{len(chunk)} answered, failed {bad[:3]}")
        ids.extend(op["location"].rstrip("/").rsplit("/", 1)[1] for op in ops)
        chunk, size = [], 200

    for n, data in enumerate(payloads):
        op = {"method": "POST", "bulkId": f"b{n}", "path": path, "data": data}
        op_size = len(json.dumps(op)) + 2
        if len(chunk) >= max_ops or size + op_size > int(max_bytes * 0.9):
            flush()
        chunk.append(op)
        size += op_size
    flush()
    return ids


def _post_each(
    server: ScimServer, path: str, payloads: list[dict[str, Any]], workers: int
) -> list[str]:
    """One POST per resource, in order, over ``workers`` keep-alive clients. The servers handle
    one request at a time, but a few client threads hide the client's own per-request time
    (measured: Canaille 100 → ~150 POST/s with 3 workers; scim2-server 165 → ~190)."""
    local = threading.local()
    clients: list[httpx.Client] = []
    lock = threading.Lock()

    def post(item: tuple[int, dict[str, Any]]) -> str:
        n, p = item
        http = getattr(local, "http", None)
        if http is None:
            http = local.http = server.client()
            with lock:
                clients.append(http)
        return _check(http.post(path, content=json.dumps(p)), f"POST {path} #{n}")["id"]

    try:
        with ThreadPoolExecutor(max(1, workers)) as pool:
            return list(pool.map(post, enumerate(payloads)))
    finally:
        for http in clients:
            http.close()


def seed(
    server: ScimServer,
    users: int,
    groups: int,
    seed: int,
    use_bulk: bool | None = None,
    workers: int = 3,
) -> Seeded:
    """Create ``users`` users then ``groups`` groups (with members) through the SCIM API.

    Uses /Bulk when ServiceProviderConfig announces it (scim2-server), else one POST per
    resource (Canaille) over ``workers`` connections. ``use_bulk=False`` forces single POSTs.
    Deterministic for a given ``seed``; user
    names embed the seed, so several seeds can share a server.
    """
    started = time.perf_counter()
    u_payloads = user_payloads(users, seed, server.kind)
    with server.client() as http:
        limits = _bulk_limits(http) if use_bulk is not False else None
        if use_bulk and limits is None:
            raise AssertionError(f"{server.kind} does not announce Bulk support")
        if limits:
            user_ids = _bulk_post(http, "/Users", u_payloads, limits)
        else:
            user_ids = _post_each(server, "/Users", u_payloads, workers)
        created_users = [{**p, "id": i} for p, i in zip(u_payloads, user_ids, strict=True)]

        memberships = group_memberships(users, groups, seed)
        g_payloads = [
            group_payload(server, f"grp-{seed}-{n:03d}", seed, [user_ids[i] for i in members])
            for n, members in enumerate(memberships)
        ]
        if limits:
            group_ids = _bulk_post(http, "/Groups", g_payloads, limits)
        else:
            group_ids = _post_each(server, "/Groups", g_payloads, workers)
        created_groups = [{**p, "id": i} for p, i in zip(g_payloads, group_ids, strict=True)]
    return Seeded(created_users, created_groups, time.perf_counter() - started)


# --------------------------------------------------------------------------- listing


def list_resources(
    server: ScimServer,
    resource: str,
    count: int | None = 100,
    params: dict[str, str] | None = None,
    http: httpx.Client | None = None,
) -> list[dict[str, Any]]:
    """All resources of ``/Users`` or ``/Groups`` with plain httpx, paging by ``startIndex``.

    ``count=None`` sends no ``count`` (Canaille answers 500 to any ``count``, and without one
    returns everything from ``startIndex`` in one page). Stops when ``totalResults`` is reached or a page comes back empty;
    de-duplicates on ``id``.
    """
    own = http is None
    http = http or server.client()
    try:
        out: dict[str, dict[str, Any]] = {}
        start = 1
        while True:
            q = dict(params or {})
            q["startIndex"] = str(start)
            if count is not None:
                q["count"] = str(count)
            page = _check(http.get(f"/{resource}", params=q), f"GET /{resource} {q}")
            items = page.get("Resources") or []
            for item in items:
                out.setdefault(item["id"], item)
            start += len(items)
            if not items or start > int(page["totalResults"]):
                return list(out.values())
    finally:
        if own:
            http.close()
