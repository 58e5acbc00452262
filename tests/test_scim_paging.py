"""The SCIM listing strategy against scripted server behaviours (the paging algorithm alone;
the same code runs against real SCIM servers in the live-connector tests)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.http import CountRefused, IndexPager, ListingInconsistent


class Server:
    """A SCIM /Users listing with a configurable quirk."""

    def __init__(
        self,
        n: int,
        *,
        cap: int | None = None,
        refuse_count: bool = False,
        ignore_start: bool = False,
        grow_after: int | None = None,
        shift_after: int | None = None,
    ) -> None:
        self.ids = [f"u{i:04d}" for i in range(n)]
        self.cap, self.refuse_count, self.ignore_start = cap, refuse_count, ignore_start
        self.grow_after, self.shift_after = grow_after, shift_after
        self.calls: list[dict[str, Any]] = []

    def __call__(self, endpoint: str, params: dict[str, Any], first: bool) -> tuple[Any, bytes]:
        self.calls.append(dict(params))
        if self.refuse_count and "count" in params:
            raise CountRefused("500 on count")
        if self.grow_after is not None and len(self.calls) == self.grow_after:
            self.ids.append("late-arrival")
        if self.shift_after is not None and len(self.calls) == self.shift_after:
            self.ids.pop(0)  # a deletion mid-listing shifts every later index
            self.ids.append("replacement")
        start = 1 if self.ignore_start else params["startIndex"]
        count = params.get("count", 50)
        if self.cap:
            count = min(count, self.cap)
        chunk = self.ids[start - 1 : start - 1 + count]
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": len(self.ids),
            "startIndex": start,
            "itemsPerPage": len(chunk),
            "Resources": [{"id": i} for i in chunk],
        }
        return body, json.dumps(body).encode()


@pytest.mark.parametrize(
    ("server", "page_size", "requests", "note"),
    [
        (Server(250), 100, 3, None),
        (Server(250, cap=40), 100, 7, "silent page cap"),
        (Server(120, refuse_count=True), 100, 4, "refuses `count`"),
        (Server(30, ignore_start=True), 100, 1, None),
        (Server(0), 100, 1, None),
    ],
    ids=["plain", "silent-cap", "refuses-count", "one-page", "empty"],
)
def test_lists_every_id_once(server: Server, page_size: int, requests: int, note) -> None:  # noqa: ANN001
    want = list(server.ids)
    listing = IndexPager(server, page_size=page_size).list_all("/Users")
    assert listing.ids == want
    assert listing.total == len(want)
    assert len(server.calls) == requests
    if note:
        assert any(note in n for n in listing.notes)


def test_a_server_that_ignores_start_index_on_a_long_list_is_refused() -> None:
    with pytest.raises(ListingInconsistent, match="listed twice"):
        IndexPager(Server(150, ignore_start=True, cap=50), page_size=50, attempts=2).list_all(
            "/Users"
        )


def test_a_growing_listing_is_retried_and_accepted_once_stable() -> None:
    server = Server(150, grow_after=2)
    listing = IndexPager(server, page_size=100).list_all("/Users")
    assert listing.attempts == 2
    assert sorted(listing.ids) == sorted(server.ids) and len(listing.ids) == 151
    assert any("totalResults changed" in n for n in listing.notes)


def test_a_shift_mid_listing_keeps_counts_right_but_misses_one_id() -> None:
    # The documented limit of index paging: a deletion on an already-read page paired with an
    # insertion shifts one id out of view. The live connector confirms vanished ids by id.
    server = Server(150, shift_after=2)
    listing = IndexPager(server, page_size=100).list_all("/Users")
    assert listing.attempts == 1 and len(listing.ids) == 150
    assert "u0100" not in listing.ids and "u0100" in server.ids


def test_count_refusal_after_the_first_page_is_not_papered_over() -> None:
    class Flaky(Server):
        def __call__(self, endpoint, params, first):  # noqa: ANN001, ANN204
            if not first and "count" in params:
                raise CountRefused("500")
            return super().__call__(endpoint, params, first)

    with pytest.raises(CountRefused):
        IndexPager(Flaky(250), page_size=100).list_all("/Users")
