"""The one HTTP layer every live connector and HTTP sink uses.

A connector gets its client from `build_client` and reads pages with `get_json`:

    auth = auth_from_source(source, default="ssws")
    client = build_client(source, base_url=source.url, auth=auth)
    obj, raw, response = get_json(client, "/api/v1/users", {"limit": 200}, source=source.name)

Modules (private; import from `connectors.http`), each importing only those above it:

- `_exceptions`: the error tree (drawn in its docstring), `status_text`, `error_detail`.
- `_secrets`: `Secrets` (values to scrub), `secret_value` / `read_secret` (`<key>_env`,
  `<key>_file`; never the config itself).
- `_redact`: `REDACTED`, `redact_url`, `redact_headers`, the filter on httpx's logger.
- `_policy`: `check_url` (https only, plain http to loopback), TLS verification, proxies.
- `_retry`: `RetryPolicy`, `HttpStats`, `RetryingTransport` (backoff, 429, Okta's
  X-Rate-Limit-* pacing, the per-run request budget).
- `_auth`: `auth_from_source`, `BearerAuth`, `SswsAuth`, `ClientCredentialsAuth`.
- `_client`: `build_client`, `client_for`, `get_json`, `raise_for_status`.
- `_paging`: how each API pages: `LinkHeaderPager` (Okta), `NextLinkPager` (Graph),
  `IndexPager` (SCIM), and `log_chunks` (a log read as batches of pages).

Secret file paths (`token_file`, `client_secret_file`) and `ca_bundle` are used as given: a
relative path resolves against the current directory, not the config file's folder, because
the source settings do not carry that folder.

Not yet supported: Okta's `private_key_jwt` client authentication (`auth = "oauth"` with
`private_key_file`) raises ConfigError; use an API token (`auth = "ssws"`) meanwhile.
"""

from connectors.http._auth import BearerAuth, ClientCredentialsAuth, SswsAuth, auth_from_source
from connectors.http._client import (
    SourceClient,
    build_client,
    client_for,
    get_json,
    raise_for_status,
)
from connectors.http._exceptions import (
    AuthFailed,
    BadResponse,
    BudgetExhausted,
    NotFound,
    RateLimited,
    SourceHTTPError,
    Unavailable,
    Unreachable,
)
from connectors.http._paging import (
    CountRefused,
    Fetch,
    IndexPager,
    LinkHeaderPager,
    ListedPage,
    Listing,
    ListingInconsistent,
    LogChunk,
    LogStep,
    NextLinkPager,
    Page,
    log_chunks,
)
from connectors.http._policy import DEFAULT_TIMEOUT, USER_AGENT, check_url, is_loopback
from connectors.http._redact import REDACTED, is_sensitive_name, redact_headers, redact_url
from connectors.http._retry import HttpStats, RetryingTransport, RetryPolicy
from connectors.http._secrets import Secrets, read_secret, secret_value

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
    "DEFAULT_TIMEOUT",
    "REDACTED",
    "USER_AGENT",
    "AuthFailed",
    "BadResponse",
    "BearerAuth",
    "BudgetExhausted",
    "ClientCredentialsAuth",
    "HttpStats",
    "NotFound",
    "RateLimited",
    "RetryPolicy",
    "RetryingTransport",
    "Secrets",
    "SourceClient",
    "SourceHTTPError",
    "SswsAuth",
    "Unavailable",
    "Unreachable",
    "auth_from_source",
    "build_client",
    "check_url",
    "client_for",
    "get_json",
    "is_loopback",
    "is_sensitive_name",
    "raise_for_status",
    "read_secret",
    "redact_headers",
    "redact_url",
    "secret_value",
]
