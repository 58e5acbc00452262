"""The errors of the HTTP layer, and how a failed response is described in them.

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
"""

from __future__ import annotations

import json
from http import HTTPStatus

import httpx

from evidence.errors import EvidenceError

__all__ = [
    "AuthFailed",
    "BadResponse",
    "BudgetExhausted",
    "NotFound",
    "RateLimited",
    "SourceHTTPError",
    "Unavailable",
    "Unreachable",
    "error_detail",
    "status_text",
]


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


def error_detail(response: httpx.Response) -> str | None:
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


def status_text(response: httpx.Response) -> str:
    try:
        phrase = response.reason_phrase or HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = ""
    return f"{response.status_code} {phrase}".strip()
