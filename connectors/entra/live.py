"""Live Entra ID through Microsoft Graph: the directory (desired state) and provisioning logs.

Pages are parsed by the export parser's own functions (`connectors.entra.entra_snapshots`,
`entra_events`), so a live sync and an export of the same tenant give the same rows.

- Auth: OAuth 2.0 client credentials (client_secret_post) against
  `https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token`, scope
  `https://graph.microsoft.com/.default`; source keys `token_url`, `scope` and `graph_url`
  override them (tests point both URLs at a stand-in on 127.0.0.1; the http layer allows
  plain http to loopback only). Secrets only through `client_secret_env` / `client_secret_file`.
- Two clients share one token: the directory client (no pacing) and the audit-log client,
  paced to one request per 2 s (`AUDIT_MIN_INTERVAL`) because everything under auditLogs is
  limited to 5 requests per 10 s per app and tenant. 429 waits out `Retry-After` (http_retry).
- The first batch carries the snapshots: users, groups, group members, service principals and
  each one's `appRoleAssignedTo`, listed in full with `$top` and `@odata.nextLink` followed
  verbatim (never built or parsed). Users are asked with `$select` including `signInActivity`;
  a tenant without Entra ID P1 refuses that (403), so users are listed again without it and a
  note says last logins are unknown. Service principals and their assignments answering
  403/404 are noted "unavailable" and the rest goes on; users and groups are required.
- Provisioning logs: `GET /v1.0/auditLogs/provisioning?$filter=activityDateTime gt <t>`,
  where t is one microsecond before the start instant, which is the stored cursor, else the
  source's `since`, else now - 30 days (Entra keeps about 30 days; an older `since` is noted).
  Graph offers `gt` but no `ge`; going one microsecond back makes it `ge`, so entries sharing
  the cursor's timestamp (several per instant are common, and one may arrive after the run)
  are read again rather than skipped; the store drops the repeats by event_id.
- Every `max_pages_per_run` log pages close a batch. Its `cursor` is the newest
  activityDateTime committed so far only while the pages came oldest first; Graph returns
  newest first by default, and then an intermediate batch keeps the start instant (a killed
  back-fill restarts from it, harmless thanks to de-duplication) and only the last batch,
  having seen everything, moves the cursor to the newest entry. Cursors are RFC 3339 UTC with
  microseconds (Graph's 7th fractional digit is dropped: the 1 µs step back covers it).
- Every batch's `as_of` is the run's start; `tenant` is `tenant`, else `tenant_id`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from connectors.entra.directory import entra_snapshots
from connectors.entra.mapping import Records, entra_events, entra_records
from connectors.entra.settings import EntraSettings
from connectors.exports import parse_instant_field
from connectors.exports.jsontext import check_json
from connectors.http import (
    HttpStats,
    LogStep,
    NextLinkPager,
    Page,
    RetryPolicy,
    SourceClient,
    Unavailable,
    auth_from_source,
    build_client,
    log_chunks,
)
from connectors.records import Snapshot, SourceBatch
from evidence.errors import ConfigError

__all__ = [
    "iter_live",
    "iter_entra_live",
    "read_entra_live",
    "entra_clients",
    "RETENTION",
    "AUDIT_MIN_INTERVAL",
    "GRAPH_URL",
    "TOKEN_URL",
    "SCOPE",
]

RETENTION = timedelta(days=30)  # Entra provisioning logs (P1/P2), DOMAIN.md §3.2
AUDIT_MIN_INTERVAL = 2.0  # 5 requests per 10 s on auditLogs
GRAPH_URL = "https://graph.microsoft.com"
TOKEN_URL = "https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token"
SCOPE = "https://graph.microsoft.com/.default"
LIST_TOP = 999  # the largest $top the directory listings accept
PROVISIONING = "/v1.0/auditLogs/provisioning"
_USER_FIELDS = ("id,userPrincipalName,mail,otherMails,displayName,employeeId,department,"
                "jobTitle,accountEnabled,createdDateTime,employeeLeaveDateTime")  # fmt: skip
_GROUP_FIELDS = "id,displayName,description,groupTypes,mailEnabled,securityEnabled"


def entra_clients(
    source: EntraSettings,
    *,
    policy: RetryPolicy | None = None,
    stats: HttpStats | None = None,
    on_stats: Callable[[HttpStats], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> tuple[SourceClient, SourceClient]:
    """(directory client, audit-log client) for one source, sharing one token."""
    token_url = source.token_url
    if not token_url:
        tenant_id = source.tenant_id
        if not tenant_id:
            raise ConfigError(f"source {source.name!r}: kind entra needs tenant_id (or token_url)")
        token_url = TOKEN_URL.format(tenant_id=quote(str(tenant_id), safe=""))
    graph = str(source.graph_url or GRAPH_URL).rstrip("/")
    auth = auth_from_source(source, default="oauth", token_url=str(token_url), scope=SCOPE)
    if policy is None:
        policy = RetryPolicy(max_attempts=source.max_attempts or 5)
    stats = stats if stats is not None else HttpStats()
    common: dict[str, Any] = {"auth": auth, "stats": stats, "on_stats": on_stats,
                              "sleep": sleep, "clock": clock}  # fmt: skip
    directory = build_client(source, base_url=graph, policy=policy, **common)
    paced = dataclasses.replace(policy, min_interval=max(policy.min_interval, AUDIT_MIN_INTERVAL))
    return directory, build_client(source, base_url=graph, policy=paced, **common)


def read_entra_live(source: EntraSettings, *, cursor: str | None, **kw: Any) -> list[SourceBatch]:
    """Every batch of one Entra sync (see `iter_entra_live`)."""
    return list(iter_entra_live(source, cursor=cursor, **kw))


def iter_entra_live(
    source: EntraSettings,
    *,
    cursor: str | None,
    client: httpx.Client | None = None,
    audit_client: httpx.Client | None = None,
    now: datetime | None = None,
    max_pages_per_run: int = 50,
) -> Iterator[SourceBatch]:
    """Snapshots and the first provisioning-log pages, then further log pages, one batch at a
    time, each yielded before the next page is fetched (a back-fill resumes from the last
    committed batch). `client` alone serves both the directory and the audit logs."""
    if max_pages_per_run < 1:
        raise ConfigError(f"source {source.name!r}: max_pages_per_run must be at least 1")
    started = (now or datetime.now(UTC)).astimezone(UTC)
    owned: list[httpx.Client] = []
    if client is None:
        client, audit = entra_clients(source)
        owned = [client, audit]
        audit_client = audit_client or audit
    audit_client = audit_client or client
    try:
        notes: list[str] = []
        directory = NextLinkPager(client, source.name)
        snapshots = _desired_state(directory, notes)
        start = _log_start(source, cursor, started, notes)
        logs = NextLinkPager(audit_client, source.name, count=directory.count)
        first = True
        steps = _LogSteps(start)
        for chunk in log_chunks(logs, _log_url(start), None, max_pages_per_run, steps):
            yield SourceBatch(
                source=source.name,
                kind=source.kind,
                tenant=source.tenant_key(),
                as_of=started,
                snapshots=snapshots if first else [],
                events=entra_events(_records(chunk.pages)),
                pages=(directory.pages if first else []) + chunk.provenance,
                cursor=chunk.cursor,
                notes=notes if first else [],
            )
            first = False
    finally:
        for c in owned:
            c.close()


def _list(pager: NextLinkPager, url: str, *, optional: bool = False) -> Records:
    """Every record of a listing, following `@odata.nextLink` verbatim until absent."""
    return _records(pager.list_all(url, optional=optional))


def _records(pages: list[Page]) -> Records:
    """The records of pages, each named by its request and page number, checked as export
    files are (connectors.exports.jsontext)."""
    for p in pages:
        check_json(p.items, p.where)
    return [r for p in pages for r in entra_records(p.items, p.where)]


def _query(path: str, **params: str) -> str:
    """A Graph URL with `$`-options spelled as Graph documents them (`$filter=a%20gt%20b`)."""
    return path + "?" + "&".join(f"${k}={quote(v, safe=':,/')}" for k, v in params.items())


# ---------------------------------------------------------------------------- snapshots


def _desired_state(pager: NextLinkPager, notes: list[str]) -> list[Snapshot]:
    """Users, groups and members (required), then service principals and assignments."""
    top = str(LIST_TOP)
    try:
        users = _list(
            pager,
            _query("/v1.0/users", select=_USER_FIELDS + ",signInActivity", top=top),
            optional=True,
        )
    except Unavailable as e:
        notes.append(f"signInActivity unavailable ({e.problem}): last logins are unknown")
        users = _list(pager, _query("/v1.0/users", select=_USER_FIELDS, top=top))
    deleted: Records | None = None
    try:
        deleted = _list(pager,
            _query("/v1.0/directory/deletedItems/microsoft.graph.user", select=_USER_FIELDS
                   + ",deletedDateTime", top=top), optional=True
        )  # fmt: skip
    except Unavailable as e:
        notes.append(f"deleted users unavailable ({e.problem}): soft-deleted users look gone")
    groups = _list(pager, _query("/v1.0/groups", select=_GROUP_FIELDS, top=top))
    members: dict[str, Records] = {}
    for _, _, group in groups:
        gid = str(group.get("id") or "")
        if gid:
            path = f"/v1.0/groups/{quote(gid, safe='')}/members"
            members[gid] = _list(pager, _query(path, select="id,userPrincipalName", top=top))
    sps: Records | None = None
    try:
        sps = _list(pager, _query("/v1.0/servicePrincipals", top=top), optional=True)
    except Unavailable as e:
        notes.append(f"servicePrincipals unavailable ({e.problem}): no apps or assignments")
    assigned: Records | None = None if sps is None else []
    missing: list[str] = []
    for _, _, sp in sps or []:
        spid = str(sp.get("id") or "")
        if not spid:
            continue
        path = f"/v1.0/servicePrincipals/{quote(spid, safe='')}/appRoleAssignedTo"
        try:
            found = _list(pager, _query(path, top=top), optional=True)
        except Unavailable as e:
            missing.append(f"{sp.get('displayName') or spid} ({e.problem})")
            continue
        assigned = (assigned or []) + found
    if missing:
        # An incomplete listing must not close the other apps' assignments: leave them out.
        assigned = None
        notes.append(
            f"appRoleAssignedTo unavailable for {len(missing)} apps: {', '.join(missing)}; "
            "no assignments this run"
        )
    return entra_snapshots(
        users=users,
        deleted_users=deleted,
        groups=groups,
        members=members,
        service_principals=sps,
        assignments=assigned,
    )


# ---------------------------------------------------------------------------- provisioning logs


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _log_start(
    source: EntraSettings, cursor: str | None, started: datetime, notes: list[str]
) -> datetime:
    """Where this run's reading starts: the stored cursor, else `since`, else now - 30 days."""
    if cursor:
        try:
            at = datetime.fromisoformat(cursor)
        except ValueError:
            raise ConfigError(
                f"source {source.name!r}: stored cursor {cursor!r} is not an RFC 3339 instant"
            ) from None
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    oldest = started - RETENTION
    since = source.since.astimezone(UTC) if source.since else oldest
    if since < oldest:
        notes.append(
            f"since {_rfc3339(since)} asks for more than the 30 days of provisioning logs "
            f"Entra keeps: entries before about {_rfc3339(oldest)} are no longer available"
        )
    return since


class _LogSteps:
    """Graph's provisioning log ends without a nextLink. The cursor is the newest activity
    read; pages newest-first leave older entries unread, so then only the end may move it."""

    def __init__(self, start: datetime):
        self.start, self.newest, self.previous, self.ascending = start, start, None, True

    def __call__(self, page: Page) -> LogStep:
        for where, i, rec in entra_records(page.items, page.where):
            at = _activity(rec, where, i)
            if at is None:
                continue
            self.ascending = self.ascending and (self.previous is None or at >= self.previous)
            self.previous, self.newest = at, max(self.newest, at)
        done = page.next is None
        return LogStep(done, _rfc3339(self.newest if self.ascending or done else self.start))


def _log_url(start: datetime) -> str:
    after = _rfc3339(start - timedelta(microseconds=1))
    return _query(PROVISIONING, filter=f"activityDateTime gt {after}")


def _activity(rec: dict[str, Any], where: str, i: int) -> datetime | None:
    return parse_instant_field(rec.get("activityDateTime"), where, f"[{i}]", "activityDateTime")


def iter_live(
    source: EntraSettings, *, cursor: str | None = None, **_: Any
) -> Iterator[SourceBatch]:
    return iter_entra_live(source, cursor=cursor, max_pages_per_run=source.max_pages_per_run)
