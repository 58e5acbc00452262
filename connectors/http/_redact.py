"""Redaction: query values, userinfo and headers that may carry a credential, and httpx's logs.

`REDACTED` is the project's one placeholder (defined with the JSON redaction in
connectors.redact); every message of this package uses it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import httpx

from connectors.http._secrets import live_secrets
from connectors.redact import REDACTED

__all__ = [
    "REDACTED",
    "install_httpx_filter",
    "is_sensitive_name",
    "redact_headers",
    "redact_url",
    "request_target",
]


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


def request_target(url: httpx.URL) -> str:
    """Path and redacted query: what messages name (the host is in the source's config)."""
    full = urlsplit(redact_url(url))
    return full.path + (f"?{full.query}" if full.query else "")


class _HttpxLogFilter(logging.Filter):
    """httpx logs each request's full URL at INFO: redact it before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is logging's problem, not ours
            return True
        text = " ".join(redact_url(w) if "?" in w or "@" in w else w for w in text.split(" "))
        for secrets in live_secrets():
            text = secrets.scrub(text)
        record.msg, record.args = text, ()
        return True


_HTTPX_FILTER = _HttpxLogFilter()


def install_httpx_filter() -> None:
    # Installed by the factory, never at import time; adding the same filter twice is a no-op.
    logging.getLogger("httpx").addFilter(_HTTPX_FILTER)
