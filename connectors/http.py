"""The one HTTP layer every live connector uses: client factory, secrets, redaction, errors.

A connector gets its client from `build_client` and reads pages with `get_json`:

    auth = auth_from_source(source, default="ssws")        # connectors.http_auth
    client = build_client(source, base_url=source.url, auth=auth)
    obj, raw, response = get_json(client, "/api/v1/users", {"limit": 200}, source=source.name)

The work is split over three modules; this one is the base the other two import:

- `connectors.http`: errors, secrets (`read_secret`, `Secrets`), redaction (`redact_url`,
  `redact_headers`), URL policy (`check_url`), `build_client`, `raise_for_status`, `get_json`.
- `connectors.http_auth`: `auth_from_source`, and the httpx.Auth classes `BearerAuth`,
  `SswsAuth`, `ClientCredentialsAuth`.
- `connectors.http_retry`: `RetryPolicy`, `HttpStats`, `RetryingTransport` (backoff, 429,
  Okta's X-Rate-Limit-* pacing, the per-run request budget).

Exceptions (every message names the source, the method and the redacted path, never a secret):

EvidenceError                      (evidence.errors)
├── ConfigError                    missing secret, plain http:// to a remote host, bad auth mode
└── SourceHTTPError                any failed request to a source; other 4xx/5xx statuses
    ├── AuthFailed                 401, or 403 on a required API; token endpoint refused us
    ├── Unavailable                403 on an optional API: report "unavailable" and go on
    │   └── NotFound               404
    ├── BadResponse                not JSON where JSON was expected (HTML page with 200),
    │                              malformed or truncated JSON, a link to another origin
    ├── RateLimited                429 still returned after the last attempt, or a wait too long
    ├── BudgetExhausted            the run's `max_requests` budget is spent
    └── Unreachable                connection errors or timeouts after the last attempt

Secret file paths (`token_file`, `client_secret_file`) and `ca_bundle` are used as given: a
relative path resolves against the current directory, not the config file's folder, because
`SourceConfig` does not carry that folder.

Not yet supported: Okta's `private_key_jwt` client authentication (`auth = "oauth"` with
`private_key_file`) raises ConfigError; use an API token (`auth = "ssws"`) meanwhile.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import ssl
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit, urlunsplit
from urllib.request import getproxies

import httpx

from evidence.config import SourceConfig
from evidence.errors import ConfigError, EvidenceError

if TYPE_CHECKING:
    from connectors.http_retry import HttpStats, RetryPolicy

__all__ = [
    "REDACTED",
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "SourceHTTPError",
    "AuthFailed",
    "Unavailable",
    "NotFound",
    "BadResponse",
    "RateLimited",
    "BudgetExhausted",
    "Unreachable",
    "Secrets",
    "SourceClient",
    "read_secret",
    "is_sensitive_name",
    "redact_url",
    "redact_headers",
    "check_url",
    "build_client",
    "raise_for_status",
    "get_json",
]

logger = logging.getLogger("scim_evidence.http")

REDACTED = "[REDACTED]"
DEFAULT_TIMEOUT = httpx.Timeout(connect=10, read=60, write=30, pool=10)
USER_AGENT = "scim-evidence/0.1 (+https://github.com/scim-evidence)"


# ---------------------------------------------------------------------------- errors


class SourceHTTPError(EvidenceError):
    """A request to a source failed; the message is already redacted and scrubbed."""

    def __init__(
        self,
        source: str,
        method: str,
        target: str,
        problem: str,
        *,
        status: int | None = None,
        page: int | None = None,
        detail: str | None = None,
    ):
        self.source, self.method, self.target = source, method, target
        self.status, self.page, self.detail, self.problem = status, page, detail, problem
        where = f"source {source}: {method} {target}"
        if page is not None:
            where += f" (page {page})"
        super().__init__(f"{where}: {problem}" + (f": {detail}" if detail else ""))


class AuthFailed(SourceHTTPError):
    """401, or 403 on a required API: the credentials are wrong or lack a scope."""


class Unavailable(SourceHTTPError):
    """The tenant does not offer this API (403 on an optional API, or 404)."""


class NotFound(Unavailable):
    """404."""


class BadResponse(SourceHTTPError):
    """The body is not the JSON we asked for (HTML error page, malformed or truncated JSON)."""


class RateLimited(SourceHTTPError):
    """Still rate limited after the last attempt, or the server asked for too long a wait."""


class BudgetExhausted(SourceHTTPError):
    """The run's request budget (`max_requests`) is spent."""


class Unreachable(SourceHTTPError):
    """Connection errors or timeouts persisted through every attempt."""


# ---------------------------------------------------------------------------- redaction

# Names are compared lower-cased with `_ - . $` and spaces removed. Long words match anywhere
# in the name, short ones only as the whole name or its end (`api_key`, `sig`, `code`), so
# `keyword` or `signin` stay readable in logs.
_SECRET_PARTS = (
    "token",
    "secret",
    "password",
    "passwd",
    "authorization",
    "apikey",
    "assertion",
    "credential",
    "cookie",
    "signature",
    "privatekey",
)
_SECRET_ENDINGS = ("key", "sig", "code", "auth")
# Paging cursors that merely contain a secret word: Graph's `$skiptoken` must stay visible
# in logs and page provenance, and is no credential.
_NOT_SECRET = frozenset({"skiptoken"})


def is_sensitive_name(name: str) -> bool:
    """True when a query parameter or header of this name may carry a credential."""
    norm = "".join(c for c in name.lower() if c not in "_-.$ ")
    if norm in _NOT_SECRET:
        return False
    return any(p in norm for p in _SECRET_PARTS) or norm.endswith(_SECRET_ENDINGS)


def redact_url(url: str | httpx.URL) -> str:
    """The URL with sensitive query values and any userinfo password replaced by [REDACTED]."""
    parts = urlsplit(str(url))
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{host}" if ":" in userinfo else f"{REDACTED}@{host}"
    query = parts.query
    if query:
        # Rebuilt piece by piece so the non-secret parameters keep their exact encoding.
        pieces = []
        for piece in query.split("&"):
            name = piece.split("=", 1)[0]
            pieces.append(f"{name}={REDACTED}" if is_sensitive_name(unquote_plus(name)) else piece)
        query = "&".join(pieces)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_headers(headers: Mapping[str, str] | httpx.Headers) -> dict[str, str]:
    """A copy of the headers with sensitive values replaced by [REDACTED]."""
    items = headers.multi_items() if isinstance(headers, httpx.Headers) else headers.items()
    return {k: (REDACTED if is_sensitive_name(k) else v) for k, v in items}


def _target(url: httpx.URL) -> str:
    """Path and redacted query: what messages name (the host is in the source's config)."""
    full = urlsplit(redact_url(url))
    return full.path + (f"?{full.query}" if full.query else "")


class Secrets:
    """The secret values one client knows, scrubbed from every message it produces."""

    def __init__(self, values: Iterable[str] = ()):
        self._values: set[str] = set()
        for v in values:
            self.add(v)
        _LIVE_SECRETS.add(self)

    def add(self, value: str | None) -> None:
        """Remember a secret value (and its URL-encoded forms) for scrubbing."""
        if value:
            self._values.update({value, quote(value, safe=""), quote_plus(value)})

    def update(self, other: Secrets) -> None:
        """Take over every value another set knows."""
        self._values |= other._values

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def scrub(self, text: str) -> str:
        """The text with every known secret value replaced by [REDACTED]."""
        # Longest first, so a secret containing another is replaced whole.
        for v in sorted(self._values, key=len, reverse=True):
            if v in text:
                text = text.replace(v, REDACTED)
        return text


# Every live Secrets, so the filter on httpx's own logger can scrub values of any client.
_LIVE_SECRETS: weakref.WeakSet[Secrets] = weakref.WeakSet()


class _HttpxLogFilter(logging.Filter):
    """httpx logs each request's full URL at INFO: redact it before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is logging's problem, not ours
            return True
        text = " ".join(redact_url(w) if "?" in w or "@" in w else w for w in text.split(" "))
        for secrets in list(_LIVE_SECRETS):
            text = secrets.scrub(text)
        record.msg, record.args = text, ()
        return True


_HTTPX_FILTER = _HttpxLogFilter()


def _install_httpx_filter() -> None:
    # Installed by the factory, never at import time; adding the same filter twice is a no-op.
    logging.getLogger("httpx").addFilter(_HTTPX_FILTER)


# ---------------------------------------------------------------------------- secrets


def _extra(source: SourceConfig, key: str) -> Any:
    return (source.model_extra or {}).get(key)


def read_secret(source: SourceConfig, key: str, secrets: Secrets | None = None) -> str:
    """The secret named `key`, from `<key>_env` (a variable name) or `<key>_file` (a path)."""
    if _extra(source, key) is not None:
        raise ConfigError(
            f"source {source.name}: {key} must not be written in the config; "
            f"set {key}_env (an environment variable) or {key}_file (a file) instead"
        )
    env_name, file_name = _extra(source, f"{key}_env"), _extra(source, f"{key}_file")
    if env_name and file_name:
        raise ConfigError(f"source {source.name}: set {key}_env or {key}_file, not both")
    if env_name:
        value = os.environ.get(str(env_name), "").strip()
        if not value:
            raise ConfigError(
                f"source {source.name}: environment variable {env_name} ({key}_env) is not set"
            )
    elif file_name:
        path = Path(os.path.expanduser(str(file_name)))
        try:
            value = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise ConfigError(f"source {source.name}: {key}_file {path}: file not found") from None
        except OSError as e:
            raise ConfigError(
                f"source {source.name}: {key}_file {path}: cannot read ({e.strerror})"
            ) from None
        if not value:
            raise ConfigError(f"source {source.name}: {key}_file {path}: file is empty")
    else:
        raise ConfigError(f"source {source.name}: set {key}_env or {key}_file")
    if secrets is not None:
        secrets.add(value)
    return value


# ---------------------------------------------------------------------------- client factory


def is_loopback(host: str) -> bool:
    """A loopback host name or address (localhost, *.localhost, 127/8, ::1)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(source: SourceConfig, url: str, what: str = "url") -> None:
    """Refuse anything but https://, except plain http:// to a loopback host."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if scheme == "https" and host:
        return
    if scheme == "http" and host and is_loopback(host):
        return
    if scheme == "http":
        raise ConfigError(
            f"source {source.name}: {what} {redact_url(url)}: plain http:// is refused "
            "except to loopback addresses; use https://"
        )
    raise ConfigError(f"source {source.name}: {what} {redact_url(url)}: not an https:// URL")


def _env_proxy_mounts() -> dict[str, str | None]:
    """Proxy URL per mount pattern from HTTP(S)_PROXY/ALL_PROXY/NO_PROXY, as httpx reads them."""
    # httpx ignores the environment once a custom transport is given, so we read it the same
    # way httpx does (curl's NO_PROXY rules) and mount retrying transports ourselves.
    info = getproxies()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        if info.get(scheme):
            proxy = info[scheme]
            mounts[f"{scheme}://"] = proxy if "://" in proxy else f"http://{proxy}"
    for host in (h.strip() for h in info.get("no", "").split(",")):
        if host == "*":
            return {}
        if not host:
            continue
        if "://" in host:
            mounts[host] = None
            continue
        try:
            ip = ipaddress.ip_address(host)
            mounts[f"all://[{host}]" if ip.version == 6 else f"all://{host}"] = None
        except ValueError:
            mounts[f"all://{host}" if host.lower() == "localhost" else f"all://*{host}"] = None
    return mounts


class SourceClient(httpx.Client):
    """An httpx.Client that knows its source's name, secrets and request statistics."""

    def __init__(self, *, source: str, secrets: Secrets, stats: HttpStats, **kwargs: Any):
        super().__init__(**kwargs)
        self.source, self.secrets, self.stats = source, secrets, stats

    def scrub(self, text: str) -> str:
        """Text with this client's secret values replaced by [REDACTED]."""
        return self.secrets.scrub(text)


def build_client(
    source: SourceConfig,
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
    from connectors.http_retry import HttpStats, RetryController, RetryingTransport

    check_url(source, base_url)
    verify: ssl.SSLContext | bool = True
    ca_bundle = _extra(source, "ca_bundle")
    if ca_bundle:
        path = Path(os.path.expanduser(str(ca_bundle)))
        try:
            verify = ssl.create_default_context(cafile=str(path))
        except (FileNotFoundError, ssl.SSLError) as e:
            raise ConfigError(f"source {source.name}: ca_bundle {path}: {e}") from None
    if not source.verify_tls:
        logger.warning("source %s: TLS certificate verification is disabled", source.name)
        verify = False
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
        for pattern, proxy in _env_proxy_mounts().items()
    }
    _install_httpx_filter()
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


# ---------------------------------------------------------------------------- responses


def _scrub(client: httpx.Client | None, text: str) -> str:
    return client.scrub(text) if isinstance(client, SourceClient) else text


def _error_detail(response: httpx.Response) -> str | None:
    """The server's own explanation, from the JSON error shapes Okta, Graph, OAuth and SCIM use."""
    try:
        body = json.loads(response.content)
    except (ValueError, httpx.ResponseNotRead):
        return None
    if not isinstance(body, dict):
        return None
    err = body.get("error")
    if isinstance(err, dict):  # Microsoft Graph
        parts = [err.get("code"), err.get("message")]
    elif body.get("errorCode") or body.get("errorSummary"):  # Okta
        parts = [body.get("errorCode"), body.get("errorSummary")]
    elif err:  # OAuth 2.0 token endpoint
        parts = [err, body.get("error_description")]
    else:  # SCIM
        parts = [body.get("scimType"), body.get("detail")]
    text = ": ".join(str(p) for p in parts if p)
    return text[:300] or None


def _status_text(response: httpx.Response) -> str:
    try:
        phrase = response.reason_phrase or HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = ""
    return f"{response.status_code} {phrase}".strip()


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
    detail = _error_detail(response)
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
        _scrub(client, _target(request.url)),
        _status_text(response),
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
        target = _scrub(client, _target(request.url))
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
        raise bad(f"{_status_text(response)} with an empty body where JSON was expected")
    if "json" not in ctype:
        snippet = " ".join(raw[:120].decode("utf-8", "replace").split())
        raise bad(
            f"{_status_text(response)} with {ctype or 'no content type'} where JSON was "
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
    return obj, raw, response


def client_for(
    source: SourceConfig,
    *,
    default_auth: str,
    base_url: str | None = None,
    on_stats: Callable[[HttpStats], None] | None = None,
) -> SourceClient:
    """The client a live connector uses: the source's url, auth, `max_attempts`, `max_requests`."""
    from connectors.http_auth import auth_from_source
    from connectors.http_retry import RetryPolicy

    attempts = int(getattr(source, "max_attempts", None) or RetryPolicy.max_attempts)
    budget = getattr(source, "max_requests", None)  # requests one run may send, retries included
    return build_client(
        source,
        base_url=base_url or str(source.url),
        auth=auth_from_source(source, default=default_auth),
        policy=RetryPolicy(max_attempts=attempts, max_requests=int(budget) if budget else None),
        on_stats=on_stats,
    )
