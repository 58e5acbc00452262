"""Live SCIM 2.0 service provider: discovery, complete listings, then the export parser.

The pages a server returns are spooled verbatim, in order, to a private temporary folder and
parsed by `read_scim_export`, so a live listing and a vendor export of the same data give
the same rows. `sync_pages` records each request (endpoint and parameters, never a secret)
with the SHA-256 of the bytes received, its item count and the server's totalResults.

A plain sync lists Users and Groups in full: only a complete listing shows deletions. With
`delta_since`, and where the server filters, Users are listed with
`meta.lastModified gt "..."` as a partial snapshot (nothing unlisted is closed) and Groups are
not listed; the next full sync settles group membership.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from connectors.http import (
    BadResponse,
    CountRefused,
    HttpStats,
    IndexPager,
    Listing,
    ListingInconsistent,
    NotFound,
    SourceHTTPError,
    Unavailable,
    client_for,
    get_json,
)
from connectors.records import PageRecord, SourceBatch
from connectors.scim.export import read_scim_export
from connectors.scim.settings import ScimSettings
from evidence.errors import ConfigError

__all__ = ["iter_live", "read_scim_live"]

# Statuses with which servers refuse a `count` they cannot handle (Canaille answers 500).
_COUNT_REFUSALS = {400, 500, 501}


def _sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _request(endpoint: str, params: dict[str, Any]) -> str:
    return f"GET {endpoint}" + (f"?{urlencode(params)}" if params else "")


def read_scim_live(
    source: ScimSettings,
    *,
    delta_since: datetime | None = None,
    known_ids: set[str] | None = None,
    client: Any = None,
    now: datetime | None = None,
    on_stats: Callable[[HttpStats], None] | None = None,
) -> SourceBatch:
    """List a SCIM server's Users and Groups (or the Users changed since `delta_since`).

    `known_ids` are the account ids the store holds as current: any a full listing no longer
    shows is fetched by id, so a listing that shifted under us never records a deletion
    that did not happen.
    """
    if not source.url:
        raise ConfigError(f"source {source.name!r}: kind scim needs `url` or `path`")
    if not source.app:
        raise ConfigError(f'source {source.name!r}: kind scim needs `app = "name"`')
    started = (now or datetime.now(UTC)).astimezone(UTC)
    own = client is None
    if own:
        base = source.url.rstrip("/") + "/"
        client = client_for(source, default_auth="bearer", base_url=base, on_stats=on_stats)
    pages: list[PageRecord] = []
    try:
        spc, raw, _ = get_json(client, "ServiceProviderConfig", source=source.name, page=0)
        pages.append(PageRecord(_request("ServiceProviderConfig", {}), _sha(raw), 1, None))
        filters = bool(isinstance(spc, dict) and (spc.get("filter") or {}).get("supported"))
        counter = [0]

        def fetch(endpoint: str, params: dict[str, Any], first: bool) -> tuple[Any, bytes]:
            counter[0] += 1
            probe = first and "count" in params
            try:
                body, raw, _ = get_json(
                    client,
                    endpoint,
                    params,
                    source=source.name,
                    page=counter[0],
                    attempts=1 if probe else None,
                )
            except SourceHTTPError as e:
                if probe and getattr(e, "status", None) in _COUNT_REFUSALS:
                    raise CountRefused(str(e)) from None
                raise
            resources = body.get("Resources") if isinstance(body, dict) else None
            if resources is not None and not isinstance(resources, list):
                raise BadResponse(
                    source.name,
                    "GET",
                    _request(endpoint, params),
                    "Resources is not an array",
                    page=counter[0],
                )
            for i, r in enumerate(resources or []):
                if not isinstance(r, dict) or not isinstance(r.get("id"), str) or not r["id"]:
                    raise BadResponse(
                        source.name,
                        "GET",
                        _request(endpoint, params),
                        f"Resources[{i}] has no id",
                        page=counter[0],
                    )
            return body, raw

        delta = delta_since is not None and filters
        extra: dict[str, Any] = {}
        if delta:
            since = delta_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            extra["filter"] = f'meta.lastModified gt "{since}"'
        try:
            pager = IndexPager(fetch, page_size=source.page_size)
            users = pager.list_all("Users", extra)
            groups: Listing | None = None
            if not delta:
                try:
                    groups = pager.list_all("Groups")
                except (NotFound, Unavailable):
                    groups = None  # a server without groups: the account listing still stands
        except ListingInconsistent as e:
            raise ListingInconsistent(f"source {source.name}: {e}") from None
        extra_users = [] if delta else _confirm_vanished(client, source, users, known_ids, pages)
        with tempfile.TemporaryDirectory(prefix="scim-evidence-") as tmp:
            folder = Path(tmp)
            for listing, stem in ((users, "Users"), (groups, "Groups")):
                if listing is None:
                    continue
                for i, page in enumerate(listing.pages, start=1):
                    (folder / f"{stem}-{i:05d}.json").write_bytes(page.raw)
                    pages.append(
                        PageRecord(
                            _request(page.endpoint, page.params),
                            _sha(page.raw),
                            len(page.resources),
                            page.body.get("totalResults"),
                        )
                    )
            if extra_users:
                doc = {"Resources": extra_users}
                (folder / "Users-zz-confirmed.json").write_text(json.dumps(doc))
            parsed = read_scim_export(source.model_copy(update={"path": folder, "as_of": started}))
    finally:
        if own:
            client.close()
    snapshots = parsed.snapshots
    if delta:
        snapshots = [replace(s, partial=True) for s in snapshots if s.table == "accounts"]
    notes = users.notes + (groups.notes if groups else [])
    return replace(
        parsed,
        as_of=started,
        snapshots=snapshots,
        pages=pages,
        notes=notes,
    )


def _confirm_vanished(
    client: Any,
    source: ScimSettings,
    users: Listing,
    known_ids: set[str] | None,
    pages: list[PageRecord],
) -> list[dict[str, Any]]:
    """Fetch each id the store knows but the listing lacks; return those that still exist."""
    if not known_ids:
        return []
    listed = set(users.ids)
    found: list[dict[str, Any]] = []
    for account_id in sorted(known_ids - listed):
        try:
            body, raw, _ = get_json(
                client, f"Users/{account_id}", source=source.name, optional=True
            )
        except NotFound:
            pages.append(PageRecord(_request(f"Users/{account_id}", {}), _sha(b""), 0, 0))
            continue
        pages.append(PageRecord(_request(f"Users/{account_id}", {}), _sha(raw), 1, 1))
        if isinstance(body, dict) and body.get("id"):
            found.append(body)
    return found


def iter_live(
    source: ScimSettings,
    *,
    delta_since: datetime | None = None,
    known_ids: set[str] | None = None,
    on_stats: Callable[[Any], None] | None = None,
    **_: Any,
) -> Iterator[SourceBatch]:
    if not source.url:
        raise ConfigError(
            f"source {source.name!r}: the live scim connector needs `url`; "
            "or set `path` to the vendor's export files"
        )
    yield read_scim_live(source, delta_since=delta_since, known_ids=known_ids, on_stats=on_stats)
