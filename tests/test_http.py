"""The shared HTTP layer against a real scripted server on 127.0.0.1 (no real sleeping)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.http import (
    REDACTED,
    AuthFailed,
    BadResponse,
    BearerAuth,
    BudgetExhausted,
    ClientCredentialsAuth,
    NotFound,
    RateLimited,
    RetryPolicy,
    SourceClient,
    SourceHTTPError,
    SswsAuth,
    Unavailable,
    Unreachable,
    auth_from_source,
    build_client,
    get_json,
    read_secret,
    redact_headers,
    redact_url,
)
from evidence.config import SourceConfig, source_config
from evidence.errors import ConfigError
from tests.fake_time import T0, FakeTime
from tests.servers.stub_http import Reply, StubServer, free_port

DATE = formatdate(T0, usegmt=True)  # the Date the scripted replies claim: the fake clock's start
TOKEN = "00aBcD-very-secret-token-XyZ"


def source(**extra: Any) -> SourceConfig:
    return source_config(**{"name": "okta-prod", "kind": "okta", **extra})


@pytest.fixture
def srv() -> Iterator[StubServer]:
    with StubServer() as s:
        yield s


@pytest.fixture
def ft() -> FakeTime:
    return FakeTime()


def client_for(
    srv: StubServer, ft: FakeTime, auth: httpx.Auth | None = None, **policy: Any
) -> SourceClient:
    policy.setdefault("jitter", lambda ceiling: ceiling)  # the backoff ceiling, exactly
    return build_client(
        source(),
        base_url=srv.url,
        auth=auth,
        policy=RetryPolicy(**policy),
        sleep=ft.sleep,
        clock=ft.clock,
    )


# ---------------------------------------------------------------------------- rate limits


@pytest.mark.parametrize(
    ("headers", "waits"),
    [
        ({"Retry-After": "2"}, [2.0]),
        ({"Retry-After": "0.25"}, [0.25]),
        ({"Retry-After": formatdate(T0 + 3, usegmt=True), "Date": DATE}, [3.0]),
        # Okta: epoch seconds, measured against the server's Date, plus a 1 s margin.
        ({"X-Rate-Limit-Reset": str(int(T0) + 7), "Date": DATE}, [8.0]),
        # Both: the longer one wins.
        ({"X-Rate-Limit-Reset": str(int(T0) + 7), "Retry-After": "20", "Date": DATE}, [20.0]),
        # Okta's headers on the 429 itself: one wait, not a second pacing wait after it.
        (
            {
                "X-Rate-Limit-Limit": "600",
                "X-Rate-Limit-Remaining": "0",
                "X-Rate-Limit-Reset": str(int(T0) + 7),
                "Date": DATE,
            },
            [8.0],
        ),
        # Neither: exponential backoff (first ceiling 0.5 s).
        ({}, [0.5]),
    ],
    ids=[
        "retry-after-s",
        "retry-after-frac",
        "retry-after-date",
        "okta-reset",
        "both",
        "okta-all-headers",
        "none",
    ],
)
def test_429_waits_as_told_then_succeeds(
    srv: StubServer, ft: FakeTime, headers: dict[str, str], waits: list[float]
) -> None:
    srv.script("/api/v1/logs", Reply(429, {"errorCode": "E0000047"}, headers), Reply(200, []))
    client = client_for(srv, ft)
    obj, raw, _ = get_json(client, "/api/v1/logs", source="okta-prod")
    assert obj == [] and raw == b"[]"
    assert ft.sleeps == waits
    s = client.stats
    assert (s.requests, s.retries, s.rate_limit_waits, s.waited_s) == (2, 1, 1, sum(waits))


@pytest.mark.parametrize(
    ("remaining", "waits"),
    [
        ("50", []),  # half the limit left: full speed
        ("5", [2.0]),  # 5 left for 10 s: one every 2 s
        ("0", [11.0]),  # none left: until the reset, plus the margin
    ],
)
def test_low_remaining_slows_the_next_request(
    srv: StubServer, ft: FakeTime, remaining: str, waits: list[float]
) -> None:
    headers = {
        "X-Rate-Limit-Limit": "100",
        "X-Rate-Limit-Remaining": remaining,
        "X-Rate-Limit-Reset": str(int(T0) + 10),
        "Date": DATE,
    }
    srv.script("/api/v1/users", Reply(200, [], headers))
    client = client_for(srv, ft)
    get_json(client, "/api/v1/users", source="okta-prod")
    assert ft.sleeps == []  # the wait falls before the next request, not after this one
    get_json(client, "/api/v1/users", source="okta-prod")
    assert ft.sleeps == waits
    assert client.stats.rate_limit_waits == len(waits)


def test_min_interval_spaces_requests(srv: StubServer, ft: FakeTime) -> None:
    srv.script("/auditLogs/provisioning", Reply(200, {"value": []}))
    client = client_for(srv, ft, min_interval=2.0)  # Graph audit logs: 5 per 10 s
    for _ in range(3):
        get_json(client, "/auditLogs/provisioning", source="entra")
    assert ft.sleeps == [2.0, 2.0]


def test_429_every_time_raises_rate_limited(srv: StubServer, ft: FakeTime) -> None:
    srv.script("/api/v1/logs", Reply(429, {}, {"Retry-After": "1"}))
    client = client_for(srv, ft, max_attempts=3)
    with pytest.raises(RateLimited, match=r"source okta-prod: GET /api/v1/logs: 429 .* 3 attempts"):
        get_json(client, "/api/v1/logs", source="okta-prod")
    assert ft.sleeps == [1.0, 1.0] and len(srv.requests) == 3


def test_429_asking_too_long_a_wait_gives_up(srv: StubServer, ft: FakeTime) -> None:
    srv.script("/api/v1/logs", Reply(429, {}, {"Retry-After": "3600"}))
    with pytest.raises(RateLimited, match="3600 s wait"):
        get_json(client_for(srv, ft), "/api/v1/logs", source="okta-prod")
    assert ft.sleeps == []


# ---------------------------------------------------------------------------- retries


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_twice_then_200_backs_off_exponentially(
    srv: StubServer, ft: FakeTime, status: int
) -> None:
    srv.script("/api/v1/users", Reply(status, "down"), Reply(status, "down"), Reply(200, [1]))
    client = client_for(srv, ft)
    assert get_json(client, "/api/v1/users", source="okta-prod")[0] == [1]
    assert ft.sleeps == [0.5, 1.0]
    assert (client.stats.retries, client.stats.rate_limit_waits) == (2, 0)


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base=0.5, cap=30.0, jitter=lambda ceiling: ceiling)
    assert [policy.backoff(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    jittered = RetryPolicy()
    assert all(0 <= jittered.backoff(4) <= 4 for _ in range(50))


def test_5xx_exhausted_raises_with_status(srv: StubServer, ft: FakeTime) -> None:
    srv.script("/api/v1/users", Reply(503, "down"))
    with pytest.raises(SourceHTTPError, match="503 Service Unavailable") as e:
        get_json(client_for(srv, ft, max_attempts=2), "/api/v1/users", source="okta-prod")
    assert e.value.status == 503 and ft.sleeps == [0.5]


def test_a_probe_asks_for_one_attempt(srv: StubServer, ft: FakeTime) -> None:
    srv.script("/v2/Users", Reply(500, "count not supported"))
    with pytest.raises(SourceHTTPError, match="500"):
        get_json(client_for(srv, ft), "/v2/Users", {"count": 10}, source="app", attempts=1)
    assert len(srv.requests) == 1 and ft.sleeps == []


def test_post_is_not_repeated_after_5xx(srv: StubServer, ft: FakeTime) -> None:
    srv.script("/hec", Reply(503, "down"), Reply(200, {}))
    response = client_for(srv, ft).post("/hec", json={"event": 1})
    assert response.status_code == 503 and len(srv.requests) == 1


def test_connection_refused_until_the_server_comes_up(ft: FakeTime) -> None:
    port = free_port()
    late = StubServer(port).script("/api/v1/users", Reply(200, ["up"]))

    def sleep_then_start(seconds: float) -> None:
        ft.sleep(seconds)
        if late._server is None:
            late.start()

    client = build_client(
        source(),
        base_url=f"http://127.0.0.1:{port}",
        auth=None,
        policy=RetryPolicy(jitter=lambda c: c),
        sleep=sleep_then_start,
        clock=ft.clock,
    )
    try:
        assert get_json(client, "/api/v1/users", source="okta-prod")[0] == ["up"]
    finally:
        late.stop()
    assert ft.sleeps == [0.5] and client.stats.requests == 2


@pytest.mark.parametrize(
    "broken",
    [Reply(drop=True), Reply(200, b'{"a": 1, "b": 2}', truncate=5)],
    ids=["closed-without-response", "closed-mid-body"],
)
def test_dropped_connection_is_retried(srv: StubServer, ft: FakeTime, broken: Reply) -> None:
    srv.script("/api/v1/users", broken, Reply(200, {"ok": True}))
    assert get_json(client_for(srv, ft), "/api/v1/users", source="okta-prod")[0] == {"ok": True}
    assert ft.sleeps == [0.5]


def test_read_timeout_is_retried_then_gives_up(srv: StubServer, ft: FakeTime) -> None:
    srv.script("/slow", Reply(200, [], delay=0.4), Reply(200, ["fast"]))
    client = client_for(srv, ft)
    client.timeout = httpx.Timeout(1.0, read=0.1)
    assert get_json(client, "/slow", source="okta-prod")[0] == ["fast"]
    assert ft.sleeps == [0.5]

    srv.script("/slow", Reply(200, [], delay=0.4))
    client = client_for(srv, ft, max_attempts=2)
    client.timeout = httpx.Timeout(1.0, read=0.1)
    with pytest.raises(Unreachable, match=r"GET /slow: ReadTimeout.* after 2 attempts"):
        get_json(client, "/slow", source="okta-prod")


def test_budget_counts_every_request_including_retries(srv: StubServer, ft: FakeTime) -> None:
    srv.script("/api/v1/users", Reply(503, ""), Reply(200, []))
    client = client_for(srv, ft, max_requests=3)
    get_json(client, "/api/v1/users", source="okta-prod")  # 2 requests: 503, then 200
    get_json(client, "/api/v1/users", source="okta-prod")  # the 3rd
    with pytest.raises(BudgetExhausted, match="budget of 3 requests"):
        get_json(client, "/api/v1/users", source="okta-prod")
    assert len(srv.requests) == 3


def test_stats_callback_sees_progress(srv: StubServer, ft: FakeTime) -> None:
    seen: list[tuple[int, int]] = []
    srv.script("/x", Reply(429, {}, {"Retry-After": "1"}), Reply(200, []))
    client = build_client(
        source(),
        base_url=srv.url,
        auth=None,
        sleep=ft.sleep,
        clock=ft.clock,
        on_stats=lambda s: seen.append((s.requests, s.rate_limit_waits)),
    )
    get_json(client, "/x", source="okta-prod")
    assert seen[-1] == (2, 1) and (1, 1) in seen


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "body", "optional", "error", "message"),
    [
        (
            401,
            {"errorCode": "E0000011", "errorSummary": "Invalid token provided"},
            False,
            AuthFailed,
            "source okta-prod: GET /api/v1/users: 401 Unauthorized: E0000011: Invalid token provided",
        ),
        (
            403,
            {
                "error": {
                    "code": "Authorization_RequestDenied",
                    "message": "Insufficient privileges",
                }
            },
            False,
            AuthFailed,
            "403 Forbidden: Authorization_RequestDenied: Insufficient privileges",
        ),
        (403, {"errorCode": "E0000006"}, True, Unavailable, "403 Forbidden: E0000006"),
        (404, {"detail": "Resource not found", "status": "404"}, False, NotFound, "404 Not Found"),
        (
            400,
            {"error": "invalid_request", "error_description": "bad"},
            False,
            SourceHTTPError,
            "400 Bad Request: invalid_request: bad",
        ),
    ],
    ids=["okta-401", "graph-403", "optional-403", "scim-404", "oauth-400"],
)
def test_error_statuses_map_to_exceptions(
    srv: StubServer,
    ft: FakeTime,
    status: int,
    body: dict,
    optional: bool,
    error: type[SourceHTTPError],
    message: str,
) -> None:
    srv.script("/api/v1/users", Reply(status, body))
    client = client_for(srv, ft, auth=SswsAuth(TOKEN))
    with pytest.raises(SourceHTTPError) as e:
        get_json(client, "/api/v1/users", source="okta-prod", optional=optional)
    assert type(e.value) is error
    assert message in str(e.value) and e.value.status == status
    assert TOKEN not in str(e.value)
    assert isinstance(e.value, Unavailable) == (error in (Unavailable, NotFound))


def test_401_echoing_the_token_is_scrubbed(srv: StubServer, ft: FakeTime) -> None:
    srv.script("/api/v1/users", Reply(401, {"errorSummary": f"Invalid token {TOKEN}"}))
    with pytest.raises(AuthFailed) as e:
        get_json(client_for(srv, ft, auth=SswsAuth(TOKEN)), "/api/v1/users", source="okta-prod")
    assert TOKEN not in str(e.value) and f"Invalid token {REDACTED}" in str(e.value)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            Reply(200, "<html><body>Sign in</body></html>", {"Content-Type": "text/html"}),
            "GET /api/v1/users?limit=200 (page 3): 200 OK with text/html where JSON was expected: '<html><body>Sign in",
        ),
        (
            Reply(
                200,
                b'[{"id": "00u1", "profile": {"login": "a@x',
                {"Content-Type": "application/json"},
            ),
            "(page 3): truncated JSON at char 37",
        ),
        (
            Reply(200, b'[{"id": 00u1}]', {"Content-Type": "application/json"}),
            "(page 3): malformed JSON at char 9 of 14",
        ),
        (Reply(200, b"", {"Content-Type": "application/json"}), "empty body"),
    ],
    ids=["html", "truncated", "malformed", "empty"],
)
def test_bad_bodies_raise_bad_response(
    srv: StubServer, ft: FakeTime, reply: Reply, message: str
) -> None:
    srv.script("/api/v1/users", reply)
    with pytest.raises(BadResponse) as e:
        get_json(client_for(srv, ft), "/api/v1/users", {"limit": 200}, source="okta-prod", page=3)
    assert str(e.value).startswith("source okta-prod: GET /api/v1/users")
    assert message in str(e.value)


def test_link_to_another_origin_is_refused(srv: StubServer, ft: FakeTime) -> None:
    client = client_for(srv, ft, auth=SswsAuth(TOKEN))
    with pytest.raises(BadResponse, match="another origin"):
        get_json(client, "https://evil.example.com/api/v1/users?after=x", source="okta-prod")
    srv.script("/api/v1/users", Reply(200, []))
    get_json(client, f"{srv.url}/api/v1/users?after=x", source="okta-prod")  # same origin: fine
    assert srv.paths() == ["/api/v1/users?after=x"]


def test_json_content_types_are_accepted(srv: StubServer, ft: FakeTime) -> None:
    srv.script(
        "/Users", Reply(200, b'{"totalResults": 0}', {"Content-Type": "application/scim+json"})
    )
    obj, raw, response = get_json(client_for(srv, ft), "/Users", source="scim")
    assert obj == {"totalResults": 0} and raw == b'{"totalResults": 0}'
    assert response.status_code == 200


# ---------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    ("auth", "header"),
    [(SswsAuth(TOKEN), f"SSWS {TOKEN}"), (BearerAuth(TOKEN), f"Bearer {TOKEN}")],
    ids=["ssws", "bearer"],
)
def test_static_token_headers_as_received(
    srv: StubServer, ft: FakeTime, auth: httpx.Auth, header: str
) -> None:
    srv.script("/api/v1/users", Reply(200, []))
    get_json(client_for(srv, ft, auth=auth), "/api/v1/users", source="okta-prod")
    got = srv.requests[0].headers
    assert got["authorization"] == header
    assert got["user-agent"].startswith("scim-evidence/") and got["accept"] == "application/json"
    assert TOKEN not in repr(auth)


def test_client_credentials_fetches_caches_and_refreshes(srv: StubServer, ft: FakeTime) -> None:
    srv.script(
        "/oauth2/v2.0/token",
        Reply(200, {"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600}),
        Reply(200, {"access_token": "tok-2", "expires_in": 3600}),
        Reply(200, {"access_token": "tok-3", "expires_in": 3600}),
    )
    srv.script("/v1.0/users", Reply(200, {"value": []}))
    auth = ClientCredentialsAuth(
        f"{srv.url}/oauth2/v2.0/token",
        "app-id",
        "client-secret-value",
        "https://graph.microsoft.com/.default",
        source="entra",
        clock=ft.clock,
    )
    client = client_for(srv, ft, auth=auth)
    for _ in range(3):
        get_json(client, "/v1.0/users", source="entra")
    token_posts = [r for r in srv.requests if r.path == "/oauth2/v2.0/token"]
    assert len(token_posts) == 1  # cached
    form = dict(p.split("=", 1) for p in token_posts[0].body.decode().split("&"))
    assert form == {
        "grant_type": "client_credentials",
        "client_id": "app-id",
        "client_secret": "client-secret-value",
        "scope": "https%3A%2F%2Fgraph.microsoft.com%2F.default",
    }
    assert srv.requests[-1].headers["authorization"] == "Bearer tok-1"

    ft.now += 3600 - 60  # within a minute of expiry: refetch before sending
    get_json(client, "/v1.0/users", source="entra")
    assert srv.requests[-1].headers["authorization"] == "Bearer tok-2"

    # Revoked early: the 401 triggers one refetch and one more try.
    srv.script(
        "/v1.0/users",
        Reply(401, {"error": {"code": "InvalidAuthenticationToken"}}),
        Reply(200, {"value": [1]}),
    )
    assert get_json(client, "/v1.0/users", source="entra")[0] == {"value": [1]}
    assert [r.headers.get("authorization") for r in srv.requests[-3:]] == [
        "Bearer tok-2",
        None,
        "Bearer tok-3",
    ]
    assert auth.fetches == 3


def test_client_credentials_second_401_stands(srv: StubServer, ft: FakeTime) -> None:
    srv.script("/token", Reply(200, {"access_token": "tok", "expires_in": 3600}))
    srv.script("/v1.0/users", Reply(401, {"error": {"code": "InvalidAuthenticationToken"}}))
    auth = ClientCredentialsAuth(f"{srv.url}/token", "id", "s3cr3t-value", clock=ft.clock)
    with pytest.raises(AuthFailed, match="401 Unauthorized: InvalidAuthenticationToken"):
        get_json(client_for(srv, ft, auth=auth), "/v1.0/users", source="entra")
    assert srv.paths() == ["/token", "/v1.0/users", "/token", "/v1.0/users"]


def test_token_endpoint_refusal_names_it_without_the_secret(srv: StubServer, ft: FakeTime) -> None:
    srv.script(
        "/token",
        Reply(401, {"error": "invalid_client", "error_description": "bad secret s3cr3t-value"}),
    )
    auth = ClientCredentialsAuth(f"{srv.url}/token", "id", "s3cr3t-value", source="entra")
    with pytest.raises(AuthFailed) as e:
        get_json(client_for(srv, ft, auth=auth), "/v1.0/users", source="entra")
    msg = str(e.value)
    assert msg.startswith("source entra: POST /token: token request refused: 401 Unauthorized")
    assert "invalid_client" in msg and "s3cr3t-value" not in msg


def test_auth_from_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OKTA_TOKEN", TOKEN)
    assert isinstance(auth_from_source(source(auth="ssws", token_env="OKTA_TOKEN")), SswsAuth)
    assert isinstance(
        auth_from_source(source(token_env="OKTA_TOKEN"), default="bearer"), BearerAuth
    )
    assert auth_from_source(source()) is None
    secret = tmp_path / "secret"
    secret.write_text("cs\n")
    cc = auth_from_source(
        source(auth="oauth", client_id="id", client_secret_file=str(secret)),
        token_url="https://login.example.com/t/oauth2/v2.0/token",
    )
    assert isinstance(cc, ClientCredentialsAuth) and "cs" in cc.secrets


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"auth": "oauth", "client_id": "id", "private_key_file": "k.pem"},
            "private_key_jwt client authentication is not supported yet",
        ),
        ({"auth": "oauth", "client_secret_env": "X"}, "needs client_id"),
        (
            {
                "auth": "oauth",
                "client_id": "id",
                "client_secret_env": "X",
                "token_url": "http://login.example.com/token",
            },
            "token_url http://login.example.com/token: plain http:// is refused",
        ),
        ({"auth": "kerberos"}, "auth = 'kerberos': expected ssws, bearer, oauth or none"),
    ],
)
def test_auth_config_errors(extra: dict, message: str) -> None:
    with pytest.raises(ConfigError, match="^source okta-prod: ") as e:
        auth_from_source(source(**extra))
    assert message in str(e.value)


# ---------------------------------------------------------------------------- secrets


def test_read_secret_from_env_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OKTA_TOKEN", TOKEN)
    assert read_secret(source(token_env="OKTA_TOKEN"), "token") == TOKEN
    (tmp_path / "token.txt").write_text(TOKEN + "\n")
    assert read_secret(source(token_file=str(tmp_path / "token.txt")), "token") == TOKEN
    monkeypatch.chdir(tmp_path)  # a relative path resolves against the current directory
    assert read_secret(source(token_file="token.txt"), "token") == TOKEN


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"token_env": "NO_SUCH_VAR_XYZ"},
            "source okta-prod: environment variable NO_SUCH_VAR_XYZ (token_env) is not set",
        ),
        (
            {"token_file": "/nonexistent/okta.token"},
            "source okta-prod: token_file /nonexistent/okta.token: file not found",
        ),
        ({}, "source okta-prod: set token_env or token_file"),
        ({"token_env": "A", "token_file": "b"}, "set token_env or token_file, not both"),
        ({"token": TOKEN}, "token must not be written in the config"),
    ],
    ids=["env-missing", "file-missing", "neither", "both", "literal"],
)
def test_read_secret_errors_name_the_source_not_the_value(extra: dict, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        read_secret(source(**extra), "token")
    assert message in str(e.value) and TOKEN not in str(e.value)


def test_read_secret_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="file is empty"):
        read_secret(source(token_file=str(tmp_path / "empty")), "token")


# ---------------------------------------------------------------------------- redaction


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://h/api?limit=200&after=abc", "https://h/api?limit=200&after=abc"),
        ("https://h/api?api_token=s&limit=2", f"https://h/api?api_token={REDACTED}&limit=2"),
        ("https://h/cb?code=abc&state=x", f"https://h/cb?code={REDACTED}&state=x"),
        ("https://h/b?sig=abc&sv=2020", f"https://h/b?sig={REDACTED}&sv=2020"),
        (
            "https://h/x?client_secret=a&key=b",
            f"https://h/x?client_secret={REDACTED}&key={REDACTED}",
        ),
        ("https://h/x?client_assertion=jwt", f"https://h/x?client_assertion={REDACTED}"),
        (
            "https://h/x?X-Api-Key=k&password=p",
            f"https://h/x?X-Api-Key={REDACTED}&password={REDACTED}",
        ),
        ("https://u:pw@h/x", f"https://u:{REDACTED}@h/x"),
        ("https://graph/v1.0/x?$skiptoken=abc", "https://graph/v1.0/x?$skiptoken=abc"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_headers() -> None:
    headers = httpx.Headers(
        {
            "Authorization": "SSWS x",
            "X-Api-Key": "k",
            "Cookie": "c",
            "Accept": "application/json",
            "X-Rate-Limit-Reset": "1",
        }
    )
    assert redact_headers(headers) == {
        "authorization": REDACTED,
        "x-api-key": REDACTED,
        "cookie": REDACTED,
        "accept": "application/json",
        "x-rate-limit-reset": "1",
    }


def test_token_in_query_never_logged_nor_raised(
    srv: StubServer, ft: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    srv.script("/api", Reply(429, {}, {"Retry-After": "1"}), Reply(404, {"error": "nope"}))
    client = client_for(srv, ft, auth=BearerAuth(TOKEN))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NotFound) as e:
        get_json(client, f"/api?apikey=qs-secret-1&token={TOKEN}&limit=5", source="okta-prod")
    assert "qs-secret-1" not in str(e.value) and TOKEN not in str(e.value)
    assert f"GET /api?apikey={REDACTED}&token={REDACTED}&limit=5" in str(e.value)
    assert caplog.records, "expected request logs"
    assert "qs-secret-1" not in caplog.text and TOKEN not in caplog.text
    ours = [r for r in caplog.records if r.name == "scim_evidence.http"]
    assert any("-> 429" in r.getMessage() for r in ours)
    assert any(r.name == "httpx" for r in caplog.records)  # httpx's own line, redacted too


def test_secret_value_in_path_is_scrubbed(srv: StubServer, ft: FakeTime) -> None:
    srv.script(f"/hooks/{TOKEN}", Reply(500, "x"))
    client = client_for(srv, ft, auth=BearerAuth(TOKEN), max_attempts=1)
    with pytest.raises(SourceHTTPError) as e:
        get_json(client, f"/hooks/{TOKEN}", source="okta-prod")
    assert TOKEN not in str(e.value) and f"/hooks/{REDACTED}" in str(e.value)


# ---------------------------------------------------------------------------- client factory


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://example.okta.com", "plain http:// is refused"),
        ("http://10.0.0.5:8080/scim", "plain http:// is refused"),
        ("ftp://example.com", "not an https:// URL"),
        ("https://example.okta.com", None),
        ("http://127.0.0.1:9000", None),
        ("http://127.8.9.10", None),
        ("http://localhost:8080", None),
        ("http://[::1]:8080", None),
    ],
)
def test_plain_http_only_to_loopback(url: str, refused: str | None) -> None:
    if refused is None:
        build_client(source(), base_url=url, auth=None).close()
        return
    with pytest.raises(ConfigError, match=f"^source okta-prod: url .*{refused}"):
        build_client(source(), base_url=url, auth=None)


def test_tls_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="source okta-prod: ca_bundle .*missing.pem"):
        build_client(
            source(ca_bundle=str(tmp_path / "missing.pem")), base_url="https://h", auth=None
        )
    build_client(source(verify_tls=False), base_url="https://h", auth=None).close()


def test_proxy_from_environment(
    srv: StubServer, ft: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", srv.url)
    monkeypatch.setenv("http_proxy", srv.url)
    srv.script("/via-proxy", Reply(200, ["proxied"]))
    client = build_client(source(), base_url="http://127.0.0.9:1", auth=None, sleep=ft.sleep)
    assert get_json(client, "/via-proxy", source="okta-prod")[0] == ["proxied"]
    assert srv.requests[0].path == "http://127.0.0.9:1/via-proxy"


@pytest.mark.parametrize(
    ("keys", "sent"),
    [
        ({}, "https://graph.microsoft.com/.default"),
        ({"scope": "okta.logs.read okta.users.read"}, "okta.logs.read okta.users.read"),
        ({"scopes": ["okta.logs.read", "okta.users.read"]}, "okta.logs.read okta.users.read"),
    ],
)
def test_oauth_scope_from_the_source(
    keys: dict[str, Any], sent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLIENT_SECRET", "s3cr3t-value")
    src = source(auth="oauth", client_id="id", client_secret_env="CLIENT_SECRET",
                 token_url="https://login.example.com/token", **keys)  # fmt: skip
    auth = auth_from_source(src, scope="https://graph.microsoft.com/.default")
    assert isinstance(auth, ClientCredentialsAuth) and auth.scope == sent
