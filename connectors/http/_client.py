"""The client factory and the one way pages are read: `build_client`, `client_for`,
`get_json` and `raise_for_status`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from connectors.http._auth import auth_from_source
from connectors.http._exceptions import (
    AuthFailed,
    BadResponse,
    NotFound,
    RateLimited,
    SourceHTTPError,
    Unavailable,
    error_detail,
    status_text,
)
from connectors.http._policy import (
    DEFAULT_TIMEOUT,
    USER_AGENT,
    check_url,
    env_proxy_mounts,
    tls_verify,
)
from connectors.http._redact import install_httpx_filter, redact_url, request_target
from connectors.http._retry import HttpStats, RetryController, RetryingTransport, RetryPolicy
from connectors.http._secrets import Secrets
from connectors.settings import HttpSettings

__all__ = ["SourceClient", "build_client", "client_for", "get_json", "raise_for_status"]


class SourceClient(httpx.Client):
    """An httpx.Client that knows its source's name, secrets and request statistics."""

    def __init__(self, *, source: str, secrets: Secrets, stats: HttpStats, **kwargs: Any):
        super().__init__(**kwargs)
        self.source, self.secrets, self.stats = source, secrets, stats

    def scrub(self, text: str) -> str:
        """Text with this client's secret values replaced by [REDACTED]."""
        return self.secrets.scrub(text)


def build_client(
    source: HttpSettings,
    *,
    base_url: str,
    auth: httpx.Auth | None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    user_agent: str = USER_AGENT,
    policy: RetryPolicy | None = None,
    stats: HttpStats | None = None,
    on_stats: Callable[[HttpStats], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> SourceClient:
    """The httpx.Client for one source: TLS, auth, timeouts, retries, rate limits, redaction."""
    check_url(source, base_url)
    verify = tls_verify(source)
    secrets = getattr(auth, "secrets", None)
    if not isinstance(secrets, Secrets):
        secrets = Secrets()
    stats = stats if stats is not None else HttpStats()
    policy_kwargs = {} if policy is None else {"policy": policy}
    controller = RetryController(
        source.name,
        secrets=secrets,
        stats=stats,
        on_stats=on_stats,
        sleep=sleep,
        clock=clock,
        timeout=timeout,
        **policy_kwargs,
    )

    def transport(proxy: str | None = None) -> RetryingTransport:
        return RetryingTransport(httpx.HTTPTransport(verify=verify, proxy=proxy), controller)

    mounts = {
        pattern: None if proxy is None else transport(proxy)
        for pattern, proxy in env_proxy_mounts().items()
    }
    install_httpx_filter()
    return SourceClient(
        source=source.name,
        secrets=secrets,
        stats=stats,
        base_url=base_url,
        auth=auth,
        timeout=timeout,
        headers={"User-Agent": user_agent, "Accept": "application/json"},
        transport=transport(),
        mounts=mounts,
        follow_redirects=False,
    )


def _scrub(client: httpx.Client | None, text: str) -> str:
    return client.scrub(text) if isinstance(client, SourceClient) else text


def raise_for_status(
    response: httpx.Response,
    *,
    source: str,
    page: int | None = None,
    optional: bool = False,
    client: httpx.Client | None = None,
) -> None:
    """Raise the SourceHTTPError subclass for a non-2xx response (403 on `optional` APIs: Unavailable)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = error_detail(response)
    detail = _scrub(client, detail) if detail else None
    cls: type[SourceHTTPError] = SourceHTTPError
    if status == 401 or (status == 403 and not optional):
        cls = AuthFailed
    elif status == 403:
        cls = Unavailable
    elif status == 404:
        cls = NotFound
    elif status == 429:
        cls = RateLimited
    request = response.request
    raise cls(
        source,
        request.method,
        _scrub(client, request_target(request.url)),
        status_text(response),
        status=status,
        page=page,
        detail=detail,
    )


def get_json(
    client: httpx.Client,
    url: str | httpx.URL,
    params: Mapping[str, Any] | None = None,
    *,
    source: str | None = None,
    page: int | None = None,
    optional: bool = False,
    attempts: int | None = None,
) -> tuple[Any, bytes, httpx.Response]:
    """GET a JSON document: (parsed object, raw bytes, response), or a SourceHTTPError.

    `attempts` caps the retries of this one request (a probe that expects to fail).
    """
    if source is None:
        source = client.source if isinstance(client, SourceClient) else "?"
    base = client.base_url
    target = base.join(url)
    if base.host and (target.scheme, target.host, target.port) != (
        base.scheme,
        base.host,
        base.port,
    ):
        # A next link pointing elsewhere would carry our Authorization header to that host.
        raise BadResponse(
            source,
            "GET",
            _scrub(client, redact_url(target)),
            "refusing a link to another origin than the source's url",
            page=page,
        )
    extensions = {"max_attempts": attempts} if attempts else None
    response = client.get(url, params=params, extensions=extensions)
    raise_for_status(response, source=source, page=page, optional=optional, client=client)
    raw = response.content
    request = response.request

    def bad(problem: str) -> BadResponse:
        target = _scrub(client, request_target(request.url))
        return BadResponse(
            source,
            request.method,
            target,
            _scrub(client, problem),
            status=response.status_code,
            page=page,
        )

    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not raw.strip():
        raise bad(f"{status_text(response)} with an empty body where JSON was expected")
    if "json" not in ctype:
        snippet = " ".join(raw[:120].decode("utf-8", "replace").split())
        raise bad(
            f"{status_text(response)} with {ctype or 'no content type'} where JSON was "
            f"expected: {snippet!r}"
        )
    try:
        obj = json.loads(raw)
    except UnicodeDecodeError as e:
        raise bad(f"body is not UTF-8 text at byte {e.start}") from None
    except json.JSONDecodeError as e:
        # Running out of text (at the end, or inside a string) is what a cut-off body looks like.
        cut = e.pos >= len(e.doc.rstrip()) or e.msg.startswith("Unterminated string")
        kind = "truncated" if cut else "malformed"
        raise bad(f"{kind} JSON at char {e.pos} of {len(e.doc)}: {e.msg}") from None
    except RecursionError:
        raise bad("JSON nested too deeply to read") from None
    except ValueError as e:  # an integer beyond int's 4300-digit string conversion limit
        raise bad(f"a JSON number is too large: {str(e)[:60]}") from None
    return obj, raw, response


def client_for(
    source: HttpSettings,
    *,
    default_auth: str,
    base_url: str | None = None,
    on_stats: Callable[[HttpStats], None] | None = None,
) -> SourceClient:
    """The client a live connector uses: the source's url, auth, `max_attempts`, `max_requests`."""
    attempts = source.max_attempts or RetryPolicy.max_attempts
    budget = source.max_requests  # requests one run may send, retries included
    return build_client(
        source,
        base_url=base_url or str(source.url),
        auth=auth_from_source(source, default=default_auth),
        policy=RetryPolicy(max_attempts=attempts, max_requests=budget),
        on_stats=on_stats,
    )
