"""Smoke tests of the real SCIM server fixtures: start, seed through SCIM, list with plain httpx,
check exact counts and values, and the quirks a connector has to survive."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.servers.canaille_server import canaille_server
from tests.servers.scim2_server import (
    ENTERPRISE,
    LIST_RESPONSE,
    PATCH_OP,
    ScimServer,
    Seeded,
    list_resources,
    scim2_server,
    seed,
)

USERS, GROUPS, SEED = 300, 5, 42


@pytest.fixture(scope="module")
def scim2() -> Iterator[tuple[ScimServer, Seeded]]:
    with scim2_server() as server:
        yield server, seed(server, USERS, GROUPS, SEED)


@pytest.fixture(scope="module")
def canaille() -> Iterator[tuple[ScimServer, Seeded]]:
    with canaille_server() as server:
        yield server, seed(server, USERS, GROUPS, SEED)


def by_id(resources: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in resources}


def assert_users_match(listed: list[dict], seeded: Seeded, keys: tuple[str, ...]) -> None:
    assert len(listed) == USERS
    got = by_id(listed)
    assert set(got) == set(seeded.user_ids)
    for want in seeded.users:
        have = got[want["id"]]
        for key in keys:
            assert have.get(key) == want.get(key), (key, have.get(key), want.get(key))
        assert have[ENTERPRISE]["employeeNumber"] == want[ENTERPRISE]["employeeNumber"]
        assert have[ENTERPRISE]["department"] == want[ENTERPRISE]["department"]


# ----------------------------------------------------------------------------- scim2-server


def test_scim2_server_lists_exactly_what_was_seeded(scim2: tuple[ScimServer, Seeded]) -> None:
    server, seeded = scim2
    users = list_resources(server, "Users", count=100)
    assert_users_match(
        users,
        seeded,
        (
            "userName",
            "externalId",
            "name",
            "displayName",
            "title",
            "active",
            "emails",
            "entitlements",
            "roles",
        ),
    )
    assert sum(not u["active"] for u in users) == sum(not u["active"] for u in seeded.users) > 0

    groups = by_id(list_resources(server, "Groups", count=100))
    assert set(groups) == set(seeded.group_ids)
    for want in seeded.groups:
        have = groups[want["id"]]
        assert have["displayName"] == want["displayName"]
        assert have["externalId"] == want["externalId"]
        assert sorted(m["value"] for m in have["members"]) == sorted(
            m["value"] for m in want["members"]
        )


def test_scim2_server_paging_cap_and_filters(scim2: tuple[ScimServer, Seeded]) -> None:
    server, seeded = scim2
    with server.client() as http:
        page = http.get("/Users", params={"count": 5000}).json()
        assert page["schemas"] == [LIST_RESPONSE]
        assert (page["totalResults"], page["itemsPerPage"], len(page["Resources"])) == (
            USERS,
            USERS,
            USERS,
        )
        page = http.get("/Users", params={"startIndex": 291, "count": 100}).json()
        assert (page["startIndex"], page["itemsPerPage"], len(page["Resources"])) == (291, 10, 10)

        name = seeded.users[7]["userName"]
        page = http.get("/Users", params={"filter": f'userName eq "{name.upper()}"'}).json()
        assert [u["id"] for u in page["Resources"]] == [seeded.users[7]["id"]]

        page = http.get("/Users", params={"filter": "active eq false", "count": 0}).json()
        assert page["totalResults"] == sum(not u["active"] for u in seeded.users)

        everyone = http.get("/Users", params={"count": 1000}).json()["Resources"]
        last = max(u["meta"]["lastModified"] for u in everyone)
        target = next(u for u in seeded.users if u["active"])
        r = http.patch(
            f"/Users/{target['id']}",
            json={
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "title", "value": "Changed"}],
            },
        )
        assert r.status_code in (200, 204)
        page = http.get("/Users", params={"filter": f'meta.lastModified gt "{last}"'}).json()
        assert [u["id"] for u in page["Resources"]] == [target["id"]]

        r = http.get("/Users", params={"filter": "nonsense (("})
        assert r.status_code == 400 and r.json()["scimType"] == "invalidFilter"


def test_scim2_server_requires_the_token(scim2: tuple[ScimServer, Seeded]) -> None:
    server, _ = scim2
    assert httpx.get(server.base_url + "/Users").status_code == 401
    bad = {"Authorization": "Bearer wrong"}
    assert httpx.get(server.base_url + "/Users", headers=bad).status_code == 401


def test_scim2_server_stops() -> None:
    with scim2_server() as server:
        process = server.process
        assert httpx.get(server.base_url + "/ServiceProviderConfig").status_code == 200
    assert process.poll() is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.base_url + "/ServiceProviderConfig", timeout=2)


# ----------------------------------------------------------------------------- Canaille


def test_canaille_lists_exactly_what_was_seeded(canaille: tuple[ScimServer, Seeded]) -> None:
    server, seeded = canaille
    users = list_resources(server, "Users", count=None)
    assert_users_match(
        users, seeded, ("userName", "name", "displayName", "title", "active", "emails")
    )
    assert all("externalId" not in u for u in users)  # accepted on write, never returned

    groups = by_id(list_resources(server, "Groups", count=None))
    assert set(groups) == set(seeded.group_ids)
    name_of = {u["id"]: u["userName"] for u in seeded.users}
    for want in seeded.groups:
        have = groups[want["id"]]
        assert have["displayName"] == want["displayName"]
        # Canaille lists members by userName, not by id
        assert sorted(m["value"] for m in have["members"]) == sorted(
            name_of[m["value"]] for m in want["members"]
        )


def test_canaille_quirks(canaille: tuple[ScimServer, Seeded]) -> None:
    server, seeded = canaille
    with server.client() as http:
        r = http.get("/Users", params={"count": 10})
        assert r.status_code == 500  # any count → 500, plain text

        page = http.get("/Users", params={"startIndex": USERS - 9}).json()
        assert page["totalResults"] == USERS
        assert page["startIndex"] == USERS - 9 and len(page["Resources"]) == 10
        assert "itemsPerPage" not in page

        name = seeded.users[7]["userName"]
        page = http.get("/Users", params={"filter": f'userName eq "{name}"'}).json()
        assert len(page["Resources"]) == USERS  # filter ignored

        spc = http.get("/ServiceProviderConfig").json()
        assert not spc["bulk"]["supported"] and not spc["filter"]["supported"]
        assert httpx.get(server.base_url + "/Users").status_code == 401


def test_canaille_delete_removes_group_membership() -> None:
    with canaille_server() as server:
        seeded = seed(server, users=6, groups=1, seed=3)
        group = seeded.groups[0]
        victim = group["members"][0]["value"]
        victim_name = next(u["userName"] for u in seeded.users if u["id"] == victim)
        with server.client() as http:
            assert http.delete(f"/Users/{victim}").status_code == 204
            members = http.get(f"/Groups/{group['id']}").json().get("members") or []
        assert victim_name not in [m["value"] for m in members]
        assert len(list_resources(server, "Users", count=None)) == 5
    assert server.process.poll() is not None
