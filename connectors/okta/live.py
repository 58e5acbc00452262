"""Live Okta: the desired state (users, groups, apps, app users, group push) and the System Log.

Pages are parsed by the export parser's own functions (`connectors.okta.okta_snapshots`,
`okta_events`), so a live sync and an export of the same tenant give the same rows.

- The first batch carries the snapshots, listed in full with `limit` + `Link: rel="next"`.
  `/api/v1/users` leaves DEPROVISIONED users out, so they are listed a second time with
  `filter=status eq "DEPROVISIONED"`: a deprovisioned user must stay visible, not vanish.
  Apps, app users and group push mappings answering 403/404 are noted "unavailable" and the
  rest goes on; users and groups are required.
- The System Log is read in polling mode (no `until`): from the stored cursor (the last `next`
  URL, followed verbatim) or from `since` (the source's, else now - 90 days: Okta keeps 90),
  following `next` until a page comes back empty. Every `max_pages_per_run` pages close a
  batch whose `cursor` is the `next` URL after its last page, so the batches chain with no
  gap; a back-fill committed batch by batch resumes from the last one committed.
- Every batch's `as_of` is the run's start. Page provenance (`PageRecord.request`) is the
  redacted path and query; the http layer keeps secrets out of every error.

Rules the documents leave to us:
- Listings use `limit = min(page_limit, 200)` (200 is the largest page /api/v1/users allows).
- Group push mappings come from `/api/v1/apps/{id}/group-push/mappings`; an app with no mapping
  is treated like an export without a group_push file (`assignments.groups` null).
- A System Log page without a `next` link (Okta always sends one) ends the run with the
  cursor on that page itself: the next sync re-reads it and the store drops the duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from connectors.exports.jsontext import check_json
from connectors.http import LinkHeaderPager, LogStep, Page, Unavailable, client_for, log_chunks
from connectors.okta.mapping import Records, okta_events, okta_records, okta_snapshots
from connectors.okta.settings import OktaSettings
from connectors.records import Snapshot, SourceBatch
from evidence.errors import ConfigError

__all__ = ["iter_live", "read_okta_live", "iter_okta_live", "RETENTION", "LIST_LIMIT"]

RETENTION = timedelta(days=90)  # Okta System Log retention (DOMAIN.md §3.1)
LIST_LIMIT = 200  # the largest page Okta serves for /api/v1/users
LOGS = "/api/v1/logs"


def read_okta_live(
    source: OktaSettings,
    *,
    cursor: str | None,
    client: httpx.Client | None = None,
    now: datetime | None = None,
    page_limit: int = 1000,
    max_pages_per_run: int = 50,
) -> list[SourceBatch]:
    """Every batch of one Okta sync: snapshots and the first log pages, then further log pages."""
    return list(
        iter_okta_live(
            source,
            cursor=cursor,
            client=client,
            now=now,
            page_limit=page_limit,
            max_pages_per_run=max_pages_per_run,
        )
    )


def iter_okta_live(
    source: OktaSettings,
    *,
    cursor: str | None,
    client: httpx.Client | None = None,
    now: datetime | None = None,
    page_limit: int = 1000,
    max_pages_per_run: int = 50,
) -> Iterator[SourceBatch]:
    """`read_okta_live` one batch at a time, each yielded before the next page is fetched.

    Committing each batch as it comes is what makes a long back-fill resumable: an error on
    page 120 leaves every earlier batch, and its cursor, in the store.
    """
    if not source.url:
        raise ConfigError(f"source {source.name!r}: kind okta needs `url` or `path`")
    if not 1 <= page_limit <= 1000:
        raise ConfigError(f"source {source.name!r}: page_limit must be 1..1000 (Okta's range)")
    if max_pages_per_run < 1:
        raise ConfigError(f"source {source.name!r}: max_pages_per_run must be at least 1")
    started = (now or datetime.now(UTC)).astimezone(UTC)
    own = client is None
    if client is None:
        client = client_for(source, default_auth="ssws", base_url=source.url.rstrip("/"))
    pager = LinkHeaderPager(client, source.name)
    try:
        notes: list[str] = []
        snapshots = _desired_state(pager, min(page_limit, LIST_LIMIT), notes)
        first_pages, pager.pages = pager.pages, []
        url, params = _log_start(source, cursor, started, page_limit, notes)
        first = True
        for chunk in log_chunks(pager, url, params, max_pages_per_run, _log_step):
            yield SourceBatch(
                source=source.name,
                kind=source.kind,
                tenant=source.tenant_key(),
                as_of=started,
                snapshots=snapshots if first else [],
                events=okta_events(_records(chunk.pages)),
                pages=(first_pages if first else []) + chunk.provenance,
                cursor=chunk.cursor,
                notes=(notes + chunk.notes) if first else chunk.notes,
            )
            first = False
    finally:
        if own:
            client.close()


def _list(
    pager: LinkHeaderPager, path: str, params: dict[str, Any], *, optional: bool = False
) -> Records:
    """Every record of a listing (Link: rel="next" until there is none)."""
    return _records(pager.list_all(path, params, optional=optional))


def _records(pages: list[Page]) -> Records:
    """The records of pages, each named by its request and page number, checked as export
    files are (connectors.exports.jsontext)."""
    for p in pages:
        check_json(p.items, p.where)
    return [r for p in pages for r in okta_records(p.items, p.where)]


# ---------------------------------------------------------------------------- snapshots


def _desired_state(pager: LinkHeaderPager, limit: int, notes: list[str]) -> list[Snapshot]:
    """Users, groups and members (required), then apps, app users and push (optional)."""
    users = _list(pager, "/api/v1/users", {"limit": limit})
    users += _list(pager, "/api/v1/users", {"limit": limit, "filter": 'status eq "DEPROVISIONED"'})
    groups = _list(pager, "/api/v1/groups", {"limit": limit})
    members: dict[str, Records] = {}
    for _, _, group in groups:
        gid = str(group.get("id") or "")
        if gid:
            path = f"/api/v1/groups/{quote(gid, safe='')}/users"
            members[gid] = _list(pager, path, {"limit": limit})
    apps: Records | None = None
    assigned: dict[str, Records] = {}
    pushes: dict[str, Records] = {}
    try:
        apps = _list(pager, "/api/v1/apps", {"limit": limit}, optional=True)
    except Unavailable as e:
        notes.append(f"apps unavailable ({e.problem}): no apps, assignments or group push")
    missing: dict[str, list[str]] = {"app users": [], "group push mappings": []}
    for _, _, app in apps or []:
        app_id = str(app.get("id") or "")
        if not app_id:
            continue
        label, base = str(app.get("label") or app_id), f"/api/v1/apps/{quote(app_id, safe='')}"
        try:
            assigned[app_id] = _list(pager, f"{base}/users", {"limit": limit}, optional=True)
        except Unavailable as e:
            missing["app users"].append(f"{label} ({e.problem})")
        try:
            mappings = _list(pager, f"{base}/group-push/mappings", {"limit": limit}, optional=True)
        except Unavailable as e:
            missing["group push mappings"].append(f"{label} ({e.problem})")
            continue
        if mappings:
            pushes[app_id] = mappings
    for what, which in missing.items():
        if which:
            notes.append(f"{what} unavailable for {len(which)} apps: {', '.join(which)}")
    return okta_snapshots(
        users=users,
        groups=groups,
        members=members,
        apps=apps,
        pushes=pushes,
        assigned=assigned,
        apps_where="GET /api/v1/apps",
    )


# ---------------------------------------------------------------------------- System Log


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _log_start(
    source: OktaSettings, cursor: str | None, started: datetime, limit: int, notes: list[str]
) -> tuple[str, dict[str, Any] | None]:
    """Where this run's System Log reading starts: the stored `next` URL, else `since`."""
    if cursor:
        return cursor, None  # verbatim: `after` is opaque and only valid as Okta gave it
    oldest = started - RETENTION
    since = source.since.astimezone(UTC) if source.since else oldest
    if since < oldest:
        notes.append(
            f"since {_rfc3339(since)} asks for more than the 90 days of System Log Okta "
            f"keeps: events before about {_rfc3339(oldest)} are no longer available"
        )
    return LOGS, {"since": _rfc3339(since), "limit": limit}


def _log_step(page: Page) -> LogStep:
    """Okta's log ends at an empty page; its cursor is the next link, kept verbatim."""
    if page.next is None:
        # Okta always sends `next` in polling mode; without one, re-read this page later.
        return LogStep(
            True,
            page.url,
            f"System Log page {page.number} had no next link; the next sync re-reads it",
        )
    return LogStep(not page.items, page.next)


def iter_live(
    source: OktaSettings, *, cursor: str | None = None, **_: Any
) -> Iterator[SourceBatch]:
    return iter_okta_live(
        source,
        cursor=cursor,
        page_limit=source.page_limit,
        max_pages_per_run=source.max_pages_per_run,
    )
