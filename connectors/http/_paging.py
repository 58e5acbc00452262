"""How each API pages, as strategy objects over one client, and how a log is read in chunks.

- `LinkHeaderPager` (Okta): each page is a JSON array of objects; the next page is the
  `Link: <...>; rel="next"` URL, followed verbatim.
- `NextLinkPager` (Microsoft Graph): each page is an object whose `value` is the array; the
  next page is `@odata.nextLink`, followed verbatim.
- `IndexPager` (SCIM 2.0): `startIndex`/`count`. Index paging is not a consistent snapshot
  and real servers bend it (some cap `count` silently, some fail whenever `count` is sent,
  some ignore `startIndex`, and a listing can change under us), so a listing is accepted only
  when it is self-consistent: the same `totalResults` on every page, no id twice, and as many
  ids as `totalResults`. Otherwise it is retried, and after the last attempt the source
  fails: a snapshot with rows missing would close those rows and record deletions that never
  happened.
- `log_chunks`: a log (Okta System Log, Graph provisioning logs) read page by page and handed
  over in chunks of at most N pages, each with the cursor the next read resumes from.

The link pagers number their pages across a run (`count`) and record each page's provenance
(`pages`: the redacted request, the sha256 of the body, the item count).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from connectors.http._client import SourceClient, get_json
from connectors.http._exceptions import BadResponse
from connectors.http._redact import redact_url
from connectors.records import PageRecord
from evidence.errors import EvidenceError

__all__ = [
    "CountRefused",
    "Fetch",
    "IndexPager",
    "LinkHeaderPager",
    "ListedPage",
    "Listing",
    "ListingInconsistent",
    "LogChunk",
    "LogStep",
    "NextLinkPager",
    "Page",
    "log_chunks",
]


# ---------------------------------------------------------------------------- link paging


@dataclass(frozen=True)
class Page:
    """One page read: its items, where errors name it, and the next page's URL (None: last)."""

    items: list[dict[str, Any]]
    request: str  # "GET /path?query", redacted and scrubbed
    number: int
    next: str | None
    url: str  # the URL as requested

    @property
    def where(self) -> str:
        return f"{self.request} (page {self.number})"


class _LinkPager:
    """GETs JSON pages and follows the next link the strategy finds in each."""

    same_page = "next link points at the same page"
    # Whether every page (a log's too) must not point at itself, or only a listing's.
    check_every_page = False

    def __init__(self, client: httpx.Client, source: str, count: int = 0):
        self.client, self.source, self.count = client, source, count
        self.pages: list[PageRecord] = []

    def _parse(self, body: Any, response: httpx.Response) -> tuple[Any, Any, str]:
        """(items, next link, what a page must be): the strategy's reading of one body."""
        raise NotImplementedError

    def get(
        self, url: str, params: dict[str, Any] | None = None, *, optional: bool = False
    ) -> Page:
        """One page, its provenance recorded."""
        self.count += 1
        body, raw, response = get_json(
            self.client, url, params, source=self.source, page=self.count, optional=optional
        )
        request = self._request(response.request.url)
        items, nxt, shape = self._parse(body, response)
        if not (
            isinstance(items, list)
            and all(isinstance(r, dict) for r in items)
            and (nxt is None or isinstance(nxt, str))
        ):
            raise BadResponse(
                self.source,
                "GET",
                request.removeprefix("GET "),
                f"expected {shape}",
                status=response.status_code,
                page=self.count,
            )
        page = Page(items, request, self.count, nxt, str(response.request.url))
        if self.check_every_page:
            self._check_next(page)
        self.pages.append(PageRecord(request, hashlib.sha256(raw).hexdigest(), len(items)))
        return page

    def list_all(
        self, url: str, params: dict[str, Any] | None = None, *, optional: bool = False
    ) -> list[Page]:
        """Every page of a listing, following the next link until there is none."""
        out: list[Page] = []
        nxt: str | None = url
        query = params
        while nxt is not None:
            page = self.get(nxt, query, optional=optional)
            self._check_next(page)
            out.append(page)
            nxt, query = page.next, None
        return out

    def _check_next(self, page: Page) -> None:
        if page.next is not None and page.next == page.url:
            raise BadResponse(
                self.source,
                "GET",
                page.request.removeprefix("GET "),
                self.same_page,
                page=page.number,
            )

    def _request(self, url: httpx.URL | str) -> str:
        parts = urlsplit(redact_url(url))
        text = f"GET {parts.path}" + (f"?{parts.query}" if parts.query else "")
        return self.client.scrub(text) if isinstance(self.client, SourceClient) else text


class LinkHeaderPager(_LinkPager):
    """Okta: a JSON array per page; the next page in the `Link` header (rel="next")."""

    def _parse(self, body: Any, response: httpx.Response) -> tuple[Any, Any, str]:
        nxt = (response.links.get("next") or {}).get("url")
        return body, nxt, "a JSON array of objects"


class NextLinkPager(_LinkPager):
    """Microsoft Graph: an object with a `value` array; the next page in `@odata.nextLink`."""

    same_page = "@odata.nextLink points at the same page"
    check_every_page = True

    def _parse(self, body: Any, response: httpx.Response) -> tuple[Any, Any, str]:
        if not isinstance(body, dict):
            return None, None, "a Graph collection (an object with a `value` array)"
        return (
            body.get("value"),
            body.get("@odata.nextLink"),
            "a Graph collection (an object with a `value` array)",
        )


# ---------------------------------------------------------------------------- log chunks


@dataclass(frozen=True)
class LogStep:
    """What a log's vendor reads off one page: whether the log ends there, the cursor to
    resume from after it, and a note for the run's record."""

    done: bool
    cursor: str
    note: str | None = None


@dataclass
class LogChunk:
    cursor: str
    pages: list[Page] = field(default_factory=list)
    provenance: list[PageRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def log_chunks(
    pager: _LinkPager,
    url: str,
    params: dict[str, Any] | None,
    max_pages: int,
    step: Callable[[Page], LogStep],
) -> Iterator[LogChunk]:
    """Log pages until `step` says the log ends, in chunks of at most `max_pages`, each
    yielded before the next page is fetched, with the cursor after its last page."""
    chunk = LogChunk(cursor=url)
    query = params
    while True:
        before = len(pager.pages)
        page = pager.get(url, query)
        chunk.pages.append(page)
        chunk.provenance.extend(pager.pages[before:])
        now = step(page)
        chunk.cursor = now.cursor
        if now.note:
            chunk.notes.append(now.note)
        if now.done or len(chunk.pages) >= max_pages:
            yield chunk
            chunk = LogChunk(cursor=now.cursor)
        if now.done or page.next is None:
            return
        url, query = page.next, None


# ---------------------------------------------------------------------------- index paging


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

    @property
    def ids(self) -> list[str]:
        """The ids of the page's resources, in order."""
        return [str(r.get("id")) for r in self.resources if isinstance(r, dict)]


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


class IndexPager:
    """SCIM `startIndex`/`count` listings through a `fetch` callable, accepted only whole."""

    def __init__(self, fetch: Fetch, *, page_size: int = 100, attempts: int = 3):
        self.fetch, self.page_size, self.attempts = fetch, page_size, attempts

    def list_all(self, endpoint: str, extra: dict[str, Any] | None = None) -> Listing:
        """Every resource of `endpoint`, consistent, or ListingInconsistent after `attempts`."""
        listing = Listing()
        problem: str | None = None
        for attempt in range(1, self.attempts + 1):
            listing.attempts = attempt
            problem = self._one_pass(endpoint, dict(extra or {}), listing)
            if problem is None:
                return listing
            listing.notes.append(f"attempt {attempt}: {problem}")
        raise ListingInconsistent(
            f"{endpoint}: the listing stayed inconsistent after {self.attempts} attempts: {problem}"
        )

    def _one_pass(self, endpoint: str, extra: dict[str, Any], listing: Listing) -> str | None:
        """List once; return None when consistent, else why not."""
        page_size = self.page_size
        listing.pages = []
        listing.total = None
        seen: set[str] = set()
        start = 1
        while True:
            params: dict[str, Any] = {**extra, "startIndex": start}
            if not listing.count_refused:
                params["count"] = page_size
            try:
                body, raw = self.fetch(endpoint, params, start == 1)
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
            ids = page.ids
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


# Limitation, on purpose stated: a deletion inside an already-read page paired with an
# insertion keeps every count right while shifting one id out of view. Index paging cannot see
# that, so a caller that records deletions from a listing confirms the ids that vanished one
# by one (GET /Users/{id}) first; an id missed that way is at worst a new account seen a run
# later, never a deletion that did not happen.
