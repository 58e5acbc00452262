"""Authentication for live sources, as httpx.Auth classes (see `connectors.http` for the map).

Each class owns a `Secrets` set holding every value it sends (the static token, the client
secret, each access token fetched), which `build_client` adopts so messages are scrubbed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Generator

import httpx

from connectors.http._exceptions import AuthFailed, error_detail, status_text
from connectors.http._policy import check_url
from connectors.http._redact import request_target
from connectors.http._secrets import Secrets, read_secret
from connectors.settings import HttpSettings
from evidence.errors import ConfigError

__all__ = ["BearerAuth", "SswsAuth", "ClientCredentialsAuth", "auth_from_source"]

# Refresh this long before the server's expiry, so a token never dies mid-page.
EXPIRY_MARGIN_S = 60.0
# RFC 6749 leaves `expires_in` optional; without it we assume a short life and refetch early.
DEFAULT_EXPIRES_IN_S = 300.0


class _StaticTokenAuth(httpx.Auth):
    scheme = ""

    def __init__(self, token: str):
        self.secrets = Secrets([token])
        self._header = f"{self.scheme} {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return f"{type(self).__name__}([REDACTED])"


class BearerAuth(_StaticTokenAuth):
    """`Authorization: Bearer <token>` (OAuth access tokens, SCIM service-provider tokens)."""

    scheme = "Bearer"


class SswsAuth(_StaticTokenAuth):
    """`Authorization: SSWS <token>`: an Okta API token."""

    scheme = "SSWS"


class ClientCredentialsAuth(httpx.Auth):
    """OAuth 2.0 client-credentials grant (client_secret_post); caches the token, refreshes on 401 once."""

    # The token response must be read inside the flow; the data responses are read anyway.
    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        *,
        source: str = "?",
        clock: Callable[[], float] = time.monotonic,
    ):
        self.token_url, self.client_id, self.scope = token_url, client_id, scope
        self._client_secret = client_secret
        self.source = source
        self.secrets = Secrets([client_secret])
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.fetches = 0

    def __repr__(self) -> str:
        return f"ClientCredentialsAuth({self.token_url!r}, {self.client_id!r}, [REDACTED])"

    def _token_request(self) -> httpx.Request:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        if self.scope:
            form["scope"] = self.scope
        # A token POST changes nothing on the server, so the transport may retry it.
        return httpx.Request(
            "POST",
            self.token_url,
            data=form,
            headers={"Accept": "application/json"},
            extensions={"idempotent": True},
        )

    def _store(self, response: httpx.Response) -> str:
        target = self.secrets.scrub(request_target(response.request.url))
        if response.status_code != 200:
            detail = error_detail(response)
            raise AuthFailed(
                self.source,
                "POST",
                target,
                f"token request refused: {status_text(response)}",
                status=response.status_code,
                detail=self.secrets.scrub(detail) if detail else None,
            )
        try:
            body = json.loads(response.content)
            token = body["access_token"]
            expires_in = float(body.get("expires_in") or DEFAULT_EXPIRES_IN_S)
        except (ValueError, KeyError, TypeError):
            raise AuthFailed(
                self.source,
                "POST",
                target,
                "token response has no access_token",
                status=response.status_code,
            ) from None
        self.secrets.add(token)
        with self._lock:
            self._token = token
            self._expires_at = self._clock() + expires_in - EXPIRY_MARGIN_S
            self.fetches += 1
        return token

    def _cached(self) -> str | None:
        with self._lock:
            if self._token is not None and self._clock() < self._expires_at:
                return self._token
            return None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._cached()
        if token is None:
            token = self._store((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # Revoked or expired early: one fresh token, one more try; a second 401 stands.
            token = self._store((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


def auth_from_source(
    source: HttpSettings,
    *,
    default: str | None = None,
    token_url: str | None = None,
    scope: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> httpx.Auth | None:
    """The httpx.Auth the source's `auth` key (or the connector's default) asks for."""
    mode = (source.auth or default or "none").lower()
    if mode == "ssws":
        return SswsAuth(read_secret(source, "token"))
    if mode == "bearer":
        return BearerAuth(read_secret(source, "token"))
    if mode in ("oauth", "client_credentials"):
        if source.private_key_file or source.private_key_env:
            raise ConfigError(
                f"source {source.name}: private_key_jwt client authentication is not supported "
                'yet; use auth = "ssws" with token_env or token_file'
            )
        client_id = source.client_id
        if not client_id:
            raise ConfigError(f"source {source.name}: auth = {mode!r} needs client_id")
        url = source.token_url or token_url
        if not url:
            raise ConfigError(f"source {source.name}: auth = {mode!r} needs token_url")
        check_url(source, str(url), "token_url")
        return ClientCredentialsAuth(
            str(url),
            str(client_id),
            read_secret(source, "client_secret"),
            source.scope or " ".join(source.scopes or []) or scope,
            source=source.name,
            clock=clock,
        )
    if mode == "none":
        return None
    raise ConfigError(
        f"source {source.name}: auth = {mode!r}: expected ssws, bearer, oauth or none"
    )
