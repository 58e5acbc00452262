"""Listing a SCIM 2.0 resource type completely, on servers that do not all follow RFC 7644.

Index paging (`startIndex`, `count`) is not a consistent snapshot, and real servers bend it:
some cap `count` silently, some fail whenever `count` is sent, some ignore `startIndex`, and
a listing can change under us. A listing is accepted only when it is self-consistent: the
same `totalResults` on every page, no id twice, and as many ids as `totalResults`. Otherwise
it is retried, and after the last attempt the source fails: a snapshot with rows missing
would close those rows and record deletions that never happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evidence.errors import EvidenceError

__all__ = [
    "Fetch",
    "ListedPage",
    "Listing",
    "ListingInconsistent",
    "CountRefused",
    "ids_of",
    "list_all",
]


class CountRefused(EvidenceError):
    """The server failed a request because it carried `count` (raised by the fetch callable)."""


class ListingInconsistent(EvidenceError):
    """A listing stayed inconsistent after every attempt."""


# fetch(endpoint, params, first_page) -> (parsed JSON, raw bytes). It raises CountRefused when
# the server answers a request with `count` by a 400/500 on the first page (no retries there).
Fetch = Callable[[str, dict[str, Any], bool], tuple[Any, bytes]]


@dataclass(frozen=True)
class ListedPage:
    endpoint: str
    params: dict[str, Any]
    body: dict[str, Any]
    raw: bytes

    @property
    def resources(self) -> list[dict[str, Any]]:
        res = self.body.get("Resources") or []
        return res if isinstance(res, list) else []


@dataclass
class Listing:
    pages: list[ListedPage] = field(default_factory=list)
    total: int | None = None
    attempts: int = 0
    count_refused: bool = False
    notes: list[str] = field(default_factory=list)  # quirks observed, for the run's record

    @property
    def ids(self) -> list[str]:
        return [str(r.get("id")) for p in self.pages for r in p.resources]


def _one_pass(
    fetch: Fetch, endpoint: str, page_size: int, extra: dict[str, Any], listing: Listing
) -> str | None:
    """List once; return None when consistent, else why not."""
    listing.pages = []
    listing.total = None
    seen: set[str] = set()
    start = 1
    while True:
        params: dict[str, Any] = {**extra, "startIndex": start}
        if not listing.count_refused:
            params["count"] = page_size
        try:
            body, raw = fetch(endpoint, params, start == 1)
        except CountRefused:
            if listing.count_refused or start != 1:
                raise
            listing.count_refused = True
            listing.notes.append(f"{endpoint}: the server refuses `count`; listing without it")
            continue
        if not isinstance(body, dict):
            return f"{endpoint} startIndex={start}: not a ListResponse object"
        total = body.get("totalResults")
        if not isinstance(total, int) or total < 0:
            return f"{endpoint} startIndex={start}: totalResults missing or not a number"
        if listing.total is None:
            listing.total = total
        elif total != listing.total:
            return (
                f"{endpoint}: totalResults changed from {listing.total} to {total} "
                f"at startIndex={start}"
            )
        page = ListedPage(endpoint, params, body, raw)
        ids = ids_of(page)
        repeated = [i for i in ids if i in seen]
        if repeated:
            if len(repeated) == len(ids) and len(seen) >= listing.total:
                # A server that ignores startIndex hands the first page back: we have it all.
                listing.notes.append(f"{endpoint}: the server ignores startIndex")
                return None
            return f"{endpoint}: id {repeated[0]} listed twice (startIndex={start})"
        if len(set(ids)) != len(ids):
            return f"{endpoint}: an id is listed twice within the page at startIndex={start}"
        listing.pages.append(page)
        seen.update(ids)
        if not ids or len(seen) >= listing.total:
            break
        capped = "count" in params and len(ids) < page_size and len(seen) < listing.total
        if capped and not any("silent page cap" in n for n in listing.notes):
            listing.notes.append(
                f"{endpoint}: the server returned {len(ids)} of count={page_size} "
                "(a silent page cap); continuing"
            )
        start += len(ids)
    if len(seen) != listing.total:
        return f"{endpoint}: listed {len(seen)} ids but totalResults says {listing.total}"
    return None


def ids_of(page: ListedPage) -> list[str]:
    """The ids of a page's resources, in order."""
    return [str(r.get("id")) for r in page.resources if isinstance(r, dict)]


def list_all(
    fetch: Fetch,
    endpoint: str,
    *,
    page_size: int = 100,
    attempts: int = 3,
    extra: dict[str, Any] | None = None,
) -> Listing:
    """Every resource of `endpoint`, consistent, or ListingInconsistent after `attempts`."""
    listing = Listing()
    problem: str | None = None
    for attempt in range(1, attempts + 1):
        listing.attempts = attempt
        problem = _one_pass(fetch, endpoint, page_size, dict(extra or {}), listing)
        if problem is None:
            return listing
        listing.notes.append(f"attempt {attempt}: {problem}")
    raise ListingInconsistent(
        f"{endpoint}: the listing stayed inconsistent after {attempts} attempts: {problem}"
    )


# Limitation, on purpose stated: a deletion inside an already-read page paired with an
# insertion keeps every count right while shifting one id out of view. Index paging cannot see
# that, so a caller that records deletions from a listing confirms the ids that vanished one
# by one (GET /Users/{id}) first; an id missed that way is at worst a new account seen a run
# later, never a deletion that did not happen.
