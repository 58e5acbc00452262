"""A local stand-in for Microsoft Graph and the Entra token endpoint on 127.0.0.1.

    with GraphStandin(CLIENT_ID, SECRET) as graph:
        graph.seed()                                   # a small tenant (see `seed`)
        graph.add_logs(12, start=T)                    # provisioning entries from T on
        graph.fail("/v1.0/auditLogs", Fault("html"))   # the next audit-log request: HTML 200
        graph.throttle_every = 3                       # every 3rd auditLogs request: 429

What it follows (DOMAIN.md §3.2, Graph paging and throttling docs):
- `POST /{tenant}/oauth2/v2.0/token`, a client_credentials form (client_id, client_secret,
  scope ending `/.default`): `{token_type, expires_in, access_token}`, or 401 with an AADSTS
  error body (`error`, `error_description`, `error_codes`).
- Graph answers only `Authorization: Bearer <an issued token>`, else 401
  InvalidAuthenticationToken, in Graph's error shape `{"error": {code, message, innerError}}`.
- Collections `{"@odata.context", "value": [...], "@odata.nextLink"}`: `$top` (clamped to
  `max_top`, 999 unless a test lowers it), and an opaque `$skiptoken` inside an absolute nextLink; the result is fixed when the
  first page is served (entries added later are not in that listing).
- `/v1.0/users` (a `$select` naming signInActivity is 403 unless `premium`),
  `/v1.0/directory/deletedItems/microsoft.graph.user` (soft-deleted users), `/v1.0/groups`,
  `/v1.0/groups/{id}/members` (directory objects with `@odata.type`),
  `/v1.0/servicePrincipals`, `/v1.0/servicePrincipals/{id}/appRoleAssignedTo`,
  `/v1.0/auditLogs/provisioning` with `$filter=activityDateTime gt <instant>` only
  (case-sensitive: anything else is 400), newest first unless `ascending`.
Fault switches: `throttle_every` (every Nth auditLogs request: 429 + `Retry-After:
retry_after`), `fail(prefix, *faults, skip=0)` (one-shot: a status or an HTML 200),
`link_base` (nextLinks point at another origin).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from tests.servers.loopback import LoopbackServer

__all__ = ["Fault", "GraphStandin", "Seen", "provisioning_entry"]

_FILTER = re.compile(r"^activityDateTime gt (\S+)$")
_MAX_TOP = 999


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"  # Graph's 7 digits


def provisioning_entry(
    eid: str,
    at: datetime,
    action: str = "create",
    *,
    user: str = "u-alice",
    app: tuple[str, str] = ("sp-slack", "Slack"),
    status: str = "success",
    target: str = "",
    modified: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A provisioningObjectSummary in the shape GET /auditLogs/provisioning returns."""
    error = None if status != "failure" else {
        "errorCode": "SlackEntryConflict", "reason": "409 from the app",
        "errorCategory": "NonServiceFailure", "recommendedAction": None,
        "additionalDetails": None}  # fmt: skip
    return {
        "id": eid, "activityDateTime": _iso(at), "tenantId": "t-standin",
        "jobId": f"job.{app[0]}", "cycleId": "cycle-1", "changeId": f"ch-{eid}",
        "provisioningAction": action, "durationInMilliseconds": 812,
        "initiatedBy": {"id": "", "displayName": "Azure AD Provisioning Service",
                        "initiatorType": "system"},
        "servicePrincipal": {"id": app[0], "displayName": app[1]},
        "sourceSystem": {"id": "src", "displayName": "Azure Active Directory", "details": {}},
        "targetSystem": {"id": "tgt", "displayName": app[1], "details": {}},
        "sourceIdentity": {"id": user, "displayName": user, "identityType": "User",
                           "details": {}},
        "targetIdentity": {"id": target, "displayName": "", "identityType": "User",
                           "details": {}},
        "provisioningStatusInfo": {"status": status, "errorInformation": error},
        "provisioningSteps": [{"name": "EntryExportAdd", "provisioningStepType": "export",
                               "status": status, "description": "exported", "details": {}}],
        "modifiedProperties": modified or [],
    }  # fmt: skip


@dataclass
class Fault:
    """One scripted failure: `status` (a Graph JSON error) or `html` (200 text/html)."""

    kind: str = "status"
    status: int = 503


@dataclass
class Seen:
    """One request as received: method, path, parsed query, lower-cased headers, target."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    target: str


@dataclass
class _Tenant:
    users: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)  # soft-deleted users
    groups: list[dict[str, Any]] = field(default_factory=list)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sps: list[dict[str, Any]] = field(default_factory=list)
    assigned: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    logs: list[dict[str, Any]] = field(default_factory=list)


class _Reject(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class GraphStandin(LoopbackServer):
    """Graph's directory and provisioning-log APIs plus the token endpoint, in a daemon thread."""

    def __init__(self, client_id: str, client_secret: str, *, clock: Any = time.time):
        self.client_id, self.client_secret, self.clock = client_id, client_secret, clock
        self.data = _Tenant()
        self.page_size = 100  # Graph's default page when no $top is sent
        self.max_top = _MAX_TOP  # a server may serve fewer than $top asks: lower it to page
        self.premium, self.ascending = True, False
        self.throttle_every, self.retry_after = 0, 7
        self.link_base: str | None = None
        self.requests: list[Seen] = []
        self.tokens: list[str] = []
        self._faults: list[tuple[str, list[int], Fault]] = []
        self._listings: dict[str, tuple[list[dict[str, Any]], str]] = {}
        self._audit = 0
        self._lock = threading.RLock()
        self._server = None
        self.handler = _Handler

    # ------------------------------------------------------------------ tenant data

    def add_user(self, uid: str, upn: str, *, enabled: bool = True, **fields: Any) -> None:
        """A user; `fields` adds Graph properties (department, jobTitle, employeeId, ...)."""
        with self._lock:
            self.data.users.append({
                "id": uid, "userPrincipalName": upn, "mail": upn, "otherMails": [],
                "displayName": upn.split("@")[0].title(), "accountEnabled": enabled,
                "createdDateTime": "2024-01-02T03:04:05Z", **fields})  # fmt: skip

    def add_deleted_user(self, uid: str, upn: str, deleted_at: str) -> None:
        """A soft-deleted user (directory/deletedItems): Graph prefixes its UPN with its id."""
        with self._lock:
            self.data.deleted.append({
                "id": uid, "userPrincipalName": uid.replace("-", "") + upn, "mail": upn,
                "otherMails": [], "displayName": upn.split("@")[0].title(),
                "accountEnabled": True, "createdDateTime": "2024-01-02T03:04:05Z",
                "deletedDateTime": deleted_at})  # fmt: skip

    def add_group(self, gid: str, name: str, members: list[str]) -> None:
        """A security group; members are user ids, or `group:<id>`/`device:<id>` objects."""
        with self._lock:
            self.data.groups.append({
                "id": gid, "displayName": name, "description": f"{name} group",
                "groupTypes": [], "mailEnabled": False, "securityEnabled": True})  # fmt: skip
            objs = []
            for m in members:
                kind, _, oid = m.rpartition(":")
                objs.append({"@odata.type": f"#microsoft.graph.{kind or 'user'}", "id": oid})
            self.data.members[gid] = objs

    def add_app(self, spid: str, name: str, principals: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
        """A service principal and its app role assignments ((principalType, principalId))."""
        with self._lock:
            self.data.sps.append({
                "id": spid, "appId": f"app-{spid}", "displayName": name, "accountEnabled": True,
                "servicePrincipalType": "Application", "preferredSingleSignOnMode": "saml",
                "passwordCredentials": [{"keyId": "k1", "secretText": "sp-secret-xyz"}]})  # fmt: skip
            self.data.assigned[spid] = [
                {"id": f"ara-{spid}-{pid}", "appRoleId": "00000000-0000-0000-0000-000000000000",
                 "createdDateTime": "2024-02-03T04:05:06Z", "principalDisplayName": pid,
                 "principalId": pid, "principalType": kind, "resourceDisplayName": name,
                 "resourceId": spid}
                for kind, pid in principals
            ]  # fmt: skip

    def seed(self) -> None:
        """3 users (carol disabled) and a soft-deleted one (dave), 2 groups (Engineering nests a group and a device),
        Slack (assigned to Engineering and to carol) and GitHub (assigned to alice)."""
        self.add_user("u-alice", "alice@example.com", department="Engineering",
                      jobTitle="Engineer", employeeId="E1001", otherMails=["a@alt.example"],
                      signInActivity={"lastSignInDateTime": "2024-03-01T09:00:00Z"})  # fmt: skip
        self.add_user("u-bob", "bob@example.com")
        self.add_user("u-carol", "carol@example.com", enabled=False)
        self.add_deleted_user("u-dave", "dave@example.com", "2024-03-05T10:00:00Z")
        self.add_group("g-eng", "Engineering", ["u-alice", "u-bob", "group:g-fin", "device:d1"])
        self.add_group("g-fin", "Finance", ["u-carol"])
        self.add_app("sp-slack", "Slack", [("Group", "g-eng"), ("User", "u-carol")])
        self.add_app("sp-github", "GitHub", [("User", "u-alice")])

    def add_log(self, entry: dict[str, Any]) -> None:
        """Persist one provisioning entry now (it shows up in the next listing)."""
        with self._lock:
            self.data.logs.append(entry)

    def add_logs(
        self, n: int, *, start: datetime, step: timedelta = timedelta(minutes=1),
        prefix: str = "pl",
    ) -> list[str]:  # fmt: skip
        """`n` entries from `start`, cycling create/update/disable/delete; returns their ids."""
        actions = ("create", "update", "disable", "delete")
        with self._lock:
            base = len(self.data.logs)
            ids = [f"{prefix}-{base + k:05d}" for k in range(n)]
            for k, eid in enumerate(ids):
                self.add_log(provisioning_entry(eid, start + k * step, actions[k % 4],
                                                target=f"acct-{k}"))  # fmt: skip
        return ids

    # ------------------------------------------------------------------ switches, server

    def fail(self, prefix: str, *faults: Fault, skip: int = 0) -> None:
        """The requests under `prefix` after the next `skip` ones get these faults, one each."""
        with self._lock:
            self._faults.extend((prefix, [skip], f) for f in faults)

    def audit_requests(self) -> list[Seen]:
        """The provisioning-log requests received so far."""
        return [r for r in self.requests if r.path == "/v1.0/auditLogs/provisioning"]

    # ------------------------------------------------------------------ answering

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint's answer to one form POST."""
        if form.get("grant_type") != "client_credentials":
            return 400, _aadsts("unsupported_grant_type", 70003, "The grant type is unsupported.")
        if form.get("client_id") != self.client_id:
            return 400, _aadsts("unauthorized_client", 700016,
                                "Application was not found in the directory.")  # fmt: skip
        if form.get("client_secret") != self.client_secret:
            return 401, _aadsts("invalid_client", 7000215, "Invalid client secret provided.")
        if not form.get("scope", "").endswith("/.default"):
            return 400, _aadsts("invalid_scope", 1002012, "The scope is not valid.")
        with self._lock:
            tok = "eyJ0eXAiOiJKV1Qi.standin." + base64.urlsafe_b64encode(
                f"{len(self.tokens)}:{self.clock()}".encode()).decode().rstrip("=")  # fmt: skip
            self.tokens.append(tok)
        return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                     "access_token": tok}  # fmt: skip

    def answer(self, path: str, q: dict[str, str], headers: dict[str, str]) -> tuple:
        """(status, body, extra headers, fault) for one Graph GET."""
        with self._lock:
            auth = headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
                return 401, _graph_error("InvalidAuthenticationToken",
                                         "Access token validation failure."), {}, None  # fmt: skip
            audit = path.startswith("/v1.0/auditLogs/")
            if audit:
                self._audit += 1
                if self.throttle_every and self._audit % self.throttle_every == 0:
                    body = _graph_error("TooManyRequests", "Too many requests.")
                    return 429, body, {"Retry-After": str(self.retry_after)}, None
            fault = self._take_fault(path)
            if fault is not None and fault.kind == "status":
                return fault.status, _graph_error("ServiceUnavailable", "Try again."), {}, None
            try:
                status, body = self._route(path, q)
            except _Reject as e:
                return e.status, _graph_error(e.code, e.message), {}, None
            return status, body, {}, fault

    def _take_fault(self, path: str) -> Fault | None:
        for item in self._faults:
            prefix, skip, fault = item
            if path.startswith(prefix):
                if skip[0]:
                    skip[0] -= 1
                    return None
                self._faults.remove(item)
                return fault
        return None

    def _route(self, path: str, q: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if "$skiptoken" in q:
            return self._page(path, q, *self._resume(q["$skiptoken"]))
        parts, d = path.strip("/").split("/"), self.data
        if parts[0] != "v1.0":
            raise _Reject(404, "BadRequest", f"Resource not found for the segment '{parts[0]}'.")
        rest = parts[1:]
        if rest == ["users"]:
            if "signInActivity" in q.get("$select", "") and not self.premium:
                raise _Reject(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                              "Neither tenant is B2C or tenant doesn't have premium license")  # fmt: skip
            return self._first(path, q, d.users)
        if rest == ["directory", "deletedItems", "microsoft.graph.user"]:
            return self._first(path, q, d.deleted)
        if rest == ["groups"]:
            return self._first(path, q, d.groups)
        if rest == ["servicePrincipals"]:
            return self._first(path, q, d.sps)
        if len(rest) == 3 and rest[0] == "groups" and rest[2] == "members":
            if rest[1] not in d.members:
                raise _Reject(404, "Request_ResourceNotFound", f"'{rest[1]}' does not exist.")
            return self._first(path, q, d.members[rest[1]])
        if len(rest) == 3 and rest[0] == "servicePrincipals" and rest[2] == "appRoleAssignedTo":
            if rest[1] not in d.assigned:
                raise _Reject(404, "Request_ResourceNotFound", f"'{rest[1]}' does not exist.")
            return self._first(path, q, d.assigned[rest[1]])
        if rest == ["auditLogs", "provisioning"]:
            return self._first(path, q, self._provisioning(q))
        raise _Reject(400, "BadRequest", f"Unsupported segment in {path}.")

    def _provisioning(self, q: dict[str, str]) -> list[dict[str, Any]]:
        logs = list(self.data.logs)
        if "$filter" in q:
            m = _FILTER.match(q["$filter"])
            if m is None:
                raise _Reject(400, "BadRequest", f"Invalid filter clause: {q['$filter']}")
            try:
                after = datetime.fromisoformat(m.group(1))
            except ValueError:
                raise _Reject(400, "BadRequest", f"Invalid DateTimeOffset {m.group(1)}") from None
            logs = [e for e in logs if datetime.fromisoformat(e["activityDateTime"]) > after]
        logs.sort(key=lambda e: e["activityDateTime"], reverse=not self.ascending)
        return logs

    def _first(self, path: str, q: dict[str, str], items: list[dict[str, Any]]) -> tuple:
        try:
            top = max(1, min(self.max_top, int(q.get("$top", self.page_size))))
        except ValueError:
            raise _Reject(400, "BadRequest", "Invalid $top") from None
        fields = [f for f in q.get("$select", "").split(",") if f]
        if fields:  # Graph returns the selected properties only (plus @odata.type)
            items = [{k: v for k, v in i.items() if k in fields or k.startswith("@")}
                     for i in items]  # fmt: skip
        query = "&".join(f"{k}={quote(v, safe=':,')}" for k, v in q.items())
        return self._page(path, q, items, query, top, 0)

    def _resume(self, token: str) -> tuple[list[dict[str, Any]], str, int, int]:
        try:
            key, top, offset = base64.urlsafe_b64decode(token + "==").decode().split("|")
            items, query = self._listings[key]
            return items, query, int(top), int(offset)
        except (ValueError, KeyError):
            raise _Reject(400, "BadRequest", "Invalid $skiptoken") from None

    def _page(self, path: str, q: dict[str, str], items: list[dict[str, Any]], query: str,
              top: int, offset: int) -> tuple[int, dict[str, Any]]:  # fmt: skip
        body: dict[str, Any] = {"@odata.context": f"{self.url}/v1.0/$metadata#{path}",
                                "value": items[offset : offset + top]}  # fmt: skip
        if offset + top < len(items):
            key = str(len(self._listings))
            self._listings[key] = (items, query)
            token = base64.urlsafe_b64encode(f"{key}|{top}|{offset + top}".encode()).decode()
            base = self.link_base or self.url
            body["@odata.nextLink"] = f"{base}{path}?{query}&$skiptoken={token.rstrip('=')}"
        return 200, body


def _graph_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "innerError": {
        "date": "2024-01-01T00:00:00", "request-id": "req-standin",
        "client-request-id": "creq-standin"}}}  # fmt: skip


def _aadsts(error: str, code: int, text: str) -> dict[str, Any]:
    return {"error": error, "error_description": f"AADSTS{code}: {text} Trace ID: standin",
            "error_codes": [code], "timestamp": "2024-01-01 00:00:00Z",
            "trace_id": "trace-standin", "correlation_id": "corr-standin"}  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def _seen(self) -> tuple[GraphStandin, Seen]:
        standin: GraphStandin = self.server.standin  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        seen = Seen(self.command, split.path, query,
                    {k.lower(): v for k, v in self.headers.items()}, self.path)  # fmt: skip
        with standin._lock:
            standin.requests.append(seen)
        return standin, seen

    def do_POST(self) -> None:
        standin, seen = self._seen()
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if not re.fullmatch(r"/[^/]+/oauth2/v2\.0/token", seen.path):
            return self._send(standin, 404, _graph_error("NotFound", seen.path), {}, None)
        status, body = standin.token(form)
        self._send(standin, status, body, {}, None)

    def do_GET(self) -> None:
        standin, seen = self._seen()
        status, body, extra, fault = standin.answer(seen.path, seen.query, seen.headers)
        self._send(standin, status, body, extra, fault)

    def _send(self, standin: GraphStandin, status: int, body: Any, extra: dict[str, str],
              fault: Fault | None) -> None:  # fmt: skip
        ctype, payload = "application/json; odata.metadata=minimal", json.dumps(body).encode()
        if fault is not None and fault.kind == "html":
            ctype, payload = "text/html", b"<!DOCTYPE html><html><body>Sign in</body></html>"
        self.send_response_only(status)
        self.send_header("Date", formatdate(standin.clock(), usegmt=True))
        self.send_header("Content-Type", ctype)
        self.send_header("request-id", "req-standin")
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()
