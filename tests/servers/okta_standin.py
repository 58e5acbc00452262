"""A local stand-in for Okta's management API on 127.0.0.1, following its documented contracts.

    with OktaStandin() as okta:
        okta.seed()                                  # a small tenant (see `seed`)
        okta.add_events(250, start=T)                # System Log events, published from T on
        okta.fail("/api/v1/logs", Fault("html"))     # the next logs request gets an HTML 200
        okta.rate_limit_every = 5                    # every 5th request: 429 + X-Rate-Limit-Reset

What it follows (DOMAIN.md §3.1):
- `Authorization: SSWS <token>` or 401 with Okta's error body (E0000011).
- `GET /api/v1/logs` in polling mode: `since` (default 7 days ago) or the opaque `after`
  (never both), `limit` 0-1000 (default 100; larger values are clamped), ascending
  persistence order, `Link: rel="self"` and ALWAYS `Link: rel="next"`, even on an empty page;
  events appended later show up on the next poll of that link. `until` (bounded mode) is
  answered 400: the connector must never send it.
- Listings `/api/v1/users` (without DEPROVISIONED users unless `filter=status eq "..."` asks
  for them), `/api/v1/groups`, `/api/v1/groups/{id}/users`, `/api/v1/apps`,
  `/api/v1/apps/{id}/users`, `/api/v1/apps/{id}/group-push/mappings`: `limit` + `after` (the
  last id of the previous page), `rel="next"` only when more remain.
- `X-Rate-Limit-Limit/-Remaining/-Reset` (epoch seconds) on every response.

Group push mappings: Okta's Group Push Mapping API returns `targetGroupId`; the stand-in also
carries `targetGroupName`, the field the export layout (ARCHITECTURE.md) defines.

Fault switches: `rate_limit_every` (429 every Nth request, waiting `reset_in` seconds),
`fail(path, *faults, skip=0)` (one-shot faults: a status, an HTML 200, a JSON body cut short
with a consistent Content-Length, a connection cut mid-body), `deny(prefix, status)` (a
permanent 403/404 for a path prefix, e.g. an unlicensed API).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.servers.loopback import LoopbackServer

__all__ = ["Fault", "OktaStandin", "Seen", "log_event"]

# Okta's default and maximum `limit` per listing (logs: 100 and 1000).
_LIMITS = {"logs": (100, 1000), "users": (200, 200), "groups": (200, 10000),
           "members": (1000, 10000), "apps": (20, 200), "app_users": (50, 500),
           "push": (100, 1000)}  # fmt: skip
_ERRORS = {
    400: ("E0000001", "Api validation failed"),
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found: Resource not found"),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
    500: ("E0000009", "Internal Server Error"),
}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def log_event(
    uuid: str,
    published: datetime,
    event_type: str,
    *,
    actor: str = "admin@example.com",
    targets: list[dict[str, Any]] | None = None,
    result: str = "SUCCESS",
) -> dict[str, Any]:
    """A LogEvent in the shape the System Log API returns."""
    return {
        "uuid": uuid,
        "published": _iso(published),
        "eventType": event_type,
        "version": "0",
        "severity": "INFO",
        "displayMessage": event_type,
        "actor": {"id": "00uadmin", "type": "User", "alternateId": actor, "displayName": "Admin"},
        "client": {"ipAddress": "203.0.113.7", "userAgent": {"rawUserAgent": "standin"}},
        "outcome": {"result": result},
        "target": targets or [],
        "transaction": {"type": "WEB", "id": f"tx-{uuid}"},
        "debugContext": {"debugData": {"requestUri": "/api/v1/standin"}},
    }


@dataclass
class Fault:
    """One scripted failure: `status` (JSON error), `html` (200 text/html), `truncate` (200 JSON
    cut in half, Content-Length matching the cut body), `cut` (connection closed mid-body)."""

    kind: str = "status"
    status: int = 500


@dataclass
class Seen:
    """One request as received: path, parsed query, lower-cased headers."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    target: str  # the request line's target, verbatim


@dataclass
class _Scripted:
    path: str
    skip: int
    fault: Fault


@dataclass
class _Tenant:
    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)
    apps: list[dict[str, Any]] = field(default_factory=list)
    app_users: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    push: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    logs: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # (persisted, event)


class OktaStandin(LoopbackServer):
    """Okta's users, groups, apps and System Log APIs over real HTTP, in a daemon thread."""

    def __init__(self, token: str = "00standin-SSWS-token-0123456789", *, clock: Any = time.time):
        self.token, self.clock = token, clock
        self.data = _Tenant()
        self.rate_limit, self.rate_limit_every, self.reset_in = 600, 0, 30
        self.requests: list[Seen] = []
        self._faults: list[_Scripted] = []
        self._denied: dict[str, int] = {}
        self._window = (0, 0)  # (window start, requests in it)
        self._lock = threading.RLock()
        self._server = None
        self.handler = _Handler

    # ------------------------------------------------------------------ tenant data

    def add_user(self, uid: str, login: str, *, status: str = "ACTIVE", **profile: Any) -> None:
        """A user; `profile` adds fields (firstName, lastName, department, employeeNumber...)."""
        created = "2024-01-02T03:04:05.000Z"
        with self._lock:
            self.data.users.append({
                "id": uid, "status": status, "created": created, "activated": created,
                "statusChanged": created, "lastLogin": None, "lastUpdated": created,
                "type": {"id": "oty1"},
                "profile": {"login": login, "email": login, **profile},
                "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
                "_links": {"self": {"href": f"/api/v1/users/{uid}"}},
            })  # fmt: skip

    def add_group(self, gid: str, name: str, members: list[str]) -> None:
        """An Okta group and its member user ids."""
        with self._lock:
            self.data.groups.append({
                "id": gid, "type": "OKTA_GROUP", "created": "2024-01-02T03:04:05.000Z",
                "profile": {"name": name, "description": f"{name} group"},
                "_links": {"users": {"href": f"/api/v1/groups/{gid}/users"}},
            })  # fmt: skip
            self.data.members[gid] = list(members)

    def add_app(
        self,
        app_id: str,
        label: str,
        users: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
        push: list[tuple[str, str]] = (),  # type: ignore[assignment]
        *,
        status: str = "ACTIVE",
        sign_on_mode: str = "SAML_2_0",
    ) -> None:
        """An app, its app users (user id, credentials.userName, scope), its push mappings."""
        with self._lock:
            self.data.apps.append({
                "id": app_id, "name": label.lower(), "label": label, "status": status,
                "signOnMode": sign_on_mode, "created": "2024-01-02T03:04:05.000Z",
                "settings": {"app": {"domain": "example", "apiToken": "app-secret-xyz"}},
                "_links": {"users": {"href": f"/api/v1/apps/{app_id}/users"}},
            })  # fmt: skip
            self.data.app_users[app_id] = [
                {"id": uid, "externalId": None, "created": "2024-02-03T04:05:06.000Z",
                 "scope": scope, "status": "PROVISIONED", "syncState": "SYNCHRONIZED",
                 "credentials": {"userName": name}, "profile": {"email": name}}
                for uid, name, scope in users
            ]  # fmt: skip
            self.data.push[app_id] = [
                {"id": f"gpm{app_id}{i}", "sourceGroupId": gid, "targetGroupId": f"tg-{name}",
                 "targetGroupName": name, "status": "ACTIVE"}
                for i, (gid, name) in enumerate(push)
            ]  # fmt: skip

    def seed(self) -> None:
        """A small tenant: 5 users (one deprovisioned), 2 groups, 3 apps, Slack group push."""
        self.add_user("00u1alice", "alice@example.com", firstName="Alice", lastName="Smith",
                      department="Engineering", employeeNumber="E1001")  # fmt: skip
        self.add_user("00u1bob", "bob@example.com", firstName="Bob", lastName="Jones")
        self.add_user("00u1carol", "carol@example.com", status="DEPROVISIONED",
                      firstName="Carol", lastName="White")  # fmt: skip
        self.add_user("00u1dave", "dave@example.com", status="SUSPENDED", displayName="Dave D")
        self.add_user("00u1erin", "erin@example.com", firstName="Erin", lastName="Li")
        self.add_group("00g1eng", "Engineering", ["00u1alice", "00u1bob", "00u1erin"])
        self.add_group("00g1fin", "Finance", ["00u1alice", "00u1carol"])
        self.add_app("0oa1slack", "Slack",
                     [("00u1alice", "alice.smith@example.com", "GROUP"),
                      ("00u1bob", "bob@example.com", "USER"),
                      ("00u1erin", "erin@example.com", "GROUP")],
                     [("00g1eng", "eng-all"), ("00g1fin", "finance")])  # fmt: skip
        self.add_app("0oa1github", "GitHub", [("00u1carol", "carol-w", "USER"),
                                              ("00u1alice", "alice-s", "USER")])  # fmt: skip
        self.add_app("0oa1wiki", "Wiki", status="INACTIVE", sign_on_mode="BOOKMARK")

    def append_event(self, event: dict[str, Any], persisted_at: float | None = None) -> None:
        """Persist one LogEvent now (or at `persisted_at`: a delayed event keeps its published)."""
        with self._lock:
            if persisted_at is None:
                persisted_at = datetime.fromisoformat(event["published"]).timestamp()
            last = self.data.logs[-1][0] if self.data.logs else persisted_at
            self.data.logs.append((max(persisted_at, last), event))

    def add_events(
        self, n: int, *, start: datetime, step: timedelta = timedelta(minutes=1), prefix: str = "ev"
    ) -> list[str]:
        """`n` varied LogEvents published from `start`; returns their uuids in order."""
        uuids = []
        with self._lock:
            base = len(self.data.logs)
            for k in range(n):
                uuid = f"{prefix}-{base + k:06d}"
                user = {"id": "00u1alice", "type": "User", "alternateId": "alice@example.com",
                        "displayName": "Alice Smith"}  # fmt: skip
                kind = k % 3
                if kind == 0:
                    etype, targets = "user.session.start", [user]
                elif kind == 1:
                    app = {"id": "0oa1slack", "type": "AppInstance", "displayName": "Slack"}
                    etype, targets = "application.user_membership.add", [user, app]
                else:
                    grp = {"id": "00g1eng", "type": "UserGroup", "displayName": "Engineering"}
                    etype, targets = "group.user_membership.add", [user, grp]
                self.append_event(log_event(uuid, start + k * step, etype, targets=targets))
                uuids.append(uuid)
        return uuids

    # ------------------------------------------------------------------ fault switches

    def fail(self, path: str, *faults: Fault, skip: int = 0) -> None:
        """The requests to `path` after the next `skip` ones get these faults, one each."""
        with self._lock:
            for f in faults:
                self._faults.append(_Scripted(path, skip, f))

    def deny(self, prefix: str, status: int = 403) -> None:
        """Every request whose path starts with `prefix` gets `status` (403 or 404) from now on."""
        with self._lock:
            self._denied[prefix] = status

    # ------------------------------------------------------------------ server

    def used(self, window: int) -> int:
        """Requests counted in the rate-limit window starting at `window` (epoch seconds)."""
        with self._lock:
            if self._window[0] != window:
                self._window = (window, 0)
            self._window = (window, self._window[1] + 1)
            return self._window[1]

    def log_requests(self) -> list[Seen]:
        """The System Log requests received so far."""
        return [r for r in self.requests if r.path == "/api/v1/logs"]

    # ------------------------------------------------------------------ answering

    def _take_fault(self, path: str) -> Fault | None:
        for s in self._faults:
            if s.path == path:
                if s.skip:
                    s.skip -= 1
                    return None
                self._faults.remove(s)
                return s.fault
        return None

    def answer(self, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple:
        """(status, body object or bytes, extra headers, fault) for one request."""
        with self._lock:
            self.requests.append(Seen(path, query, headers, ""))
            n = len(self.requests)
            if headers.get("authorization") != f"SSWS {self.token}":
                return _error(401), {}, None
            if self.rate_limit_every and n % self.rate_limit_every == 0:
                return _error(429), {"X-Rate-Limit-Remaining": "0"}, None
            fault = self._take_fault(path)
            if fault is not None and fault.kind == "status":
                return _error(fault.status), {}, None
            for prefix, status in self._denied.items():
                if path.startswith(prefix):
                    return _error(status), {}, None
            try:
                status, body, extra = self._route(path, query)
            except _Reject as e:
                return _error(e.status, e.detail), {}, None
            return (status, body), extra, fault

    def _route(self, path: str, q: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        parts = path.strip("/").split("/")
        if parts[:2] != ["api", "v1"] or len(parts) < 3:
            raise _Reject(404, path)
        rest, d = parts[2:], self.data
        if rest == ["logs"]:
            return self._logs(q)
        if rest == ["users"]:
            wanted = q.get("filter", "")
            if wanted:
                prefix = 'status eq "'
                if not (wanted.startswith(prefix) and wanted.endswith('"')):
                    raise _Reject(400, f"Invalid search criteria: {wanted}")
                users = [u for u in d.users if u["status"] == wanted[len(prefix) : -1]]
            else:  # Okta leaves DEPROVISIONED users out of a plain listing
                users = [u for u in d.users if u["status"] != "DEPROVISIONED"]
            return self._page(path, q, users, "users")
        if rest == ["groups"]:
            return self._page(path, q, d.groups, "groups")
        if rest == ["apps"]:
            return self._page(path, q, d.apps, "apps")
        if len(rest) == 3 and rest[0] == "groups" and rest[2] == "users":
            if rest[1] not in d.members:
                raise _Reject(404, f"{rest[1]} (UserGroup)")
            users = [u for uid in d.members[rest[1]] for u in d.users if u["id"] == uid]
            return self._page(path, q, users, "members")
        if len(rest) >= 3 and rest[0] == "apps" and rest[1] in d.app_users:
            if rest[2:] == ["users"]:
                return self._page(path, q, d.app_users[rest[1]], "app_users")
            if rest[2:] == ["group-push", "mappings"]:
                return self._page(path, q, d.push[rest[1]], "push")
        raise _Reject(404, path)

    def _limit(self, q: dict[str, str], kind: str) -> int:
        default, most = _LIMITS[kind]
        try:
            return max(0, min(most, int(q.get("limit", default))))
        except ValueError:
            raise _Reject(400, "limit: not a number") from None

    def _page(
        self, path: str, q: dict[str, str], items: list[dict[str, Any]], kind: str
    ) -> tuple[int, Any, dict[str, str]]:
        limit, start = self._limit(q, kind), 0
        if "after" in q:
            ids = [i["id"] for i in items]
            start = ids.index(q["after"]) + 1 if q["after"] in ids else len(items)
        page = items[start : start + limit]
        links = [f'<{self.url}{path}?{urlencode(q)}>; rel="self"']
        if start + len(page) < len(items) and page:
            nq = {**{k: v for k, v in q.items() if k != "after"}, "limit": str(limit)}
            nq["after"] = page[-1]["id"]
            links.append(f'<{self.url}{path}?{urlencode(nq)}>; rel="next"')
        return 200, page, {"Link": links}  # type: ignore[dict-item]

    def _logs(self, q: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if "until" in q:
            raise _Reject(400, "until: the stand-in serves polling requests only")
        if "since" in q and "after" in q:
            raise _Reject(400, "since and after are mutually exclusive")
        limit, logs = self._limit(q, "logs"), self.data.logs
        if "after" in q:
            pos = _decode(q["after"])
            if pos is None or pos > len(logs):
                raise _Reject(400, "after: invalid cursor")
        else:
            try:
                since = (
                    datetime.fromisoformat(q["since"].replace("Z", "+00:00")).timestamp()
                    if "since" in q
                    else self.clock() - 7 * 86400
                )
            except ValueError:
                raise _Reject(400, "since: not an ISO 8601 instant") from None
            pos = next((i for i, (at, _) in enumerate(logs) if at >= since), len(logs))
        page = [e for _, e in logs[pos : pos + limit]]
        nxt = urlencode({"after": _encode(pos + len(page)), "limit": str(limit)})
        links = [
            f'<{self.url}/api/v1/logs?{urlencode(q)}>; rel="self"',
            f'<{self.url}/api/v1/logs?{nxt}>; rel="next"',  # always, even on an empty page
        ]
        return 200, page, {"Link": links}  # type: ignore[dict-item]


class _Reject(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


def _error(status: int, detail: str | None = None) -> tuple[int, dict[str, Any]]:
    code, summary = _ERRORS.get(status, ("E0000009", "Internal Server Error"))
    return status, {
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": f"oae{status}standin",
        "errorCauses": [{"errorSummary": detail}] if detail else [],
    }


def _encode(pos: int) -> str:
    return base64.urlsafe_b64encode(f"standin-log:{pos:012d}".encode()).decode().rstrip("=")


def _decode(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        return int(text.removeprefix("standin-log:")) if text.startswith("standin-log:") else None
    except ValueError:
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        standin: OktaStandin = self.server.standin  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        (status, body), extra, fault = standin.answer(split.path, query, headers)
        standin.requests[-1].target = self.path
        now = standin.clock()
        ctype = "application/json"
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        if fault is not None and fault.kind == "html":
            ctype, payload = "text/html", b"<!DOCTYPE html><html><body>Sign in</body></html>"
        elif fault is not None and fault.kind == "truncate":
            payload = payload[: max(1, len(payload) // 2)]
        window = int(now // 60) * 60  # Okta's limits are per minute
        used = standin.used(window)
        self.send_response_only(status)
        self.send_header("Date", formatdate(now, usegmt=True))
        self.send_header("Content-Type", ctype)
        self.send_header("X-Rate-Limit-Limit", str(standin.rate_limit))
        if "X-Rate-Limit-Remaining" not in extra:
            self.send_header("X-Rate-Limit-Remaining", str(max(0, standin.rate_limit - used)))
        reset = int(now) + standin.reset_in if status == 429 else window + 60
        self.send_header("X-Rate-Limit-Reset", str(reset))
        for name, value in extra.items():
            for v in value if isinstance(value, list) else [value]:
                self.send_header(name, v)
        cut = fault is not None and fault.kind == "cut"
        self.send_header("Content-Length", str(len(payload)))
        if cut:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2] if cut else payload)
        self.wfile.flush()
