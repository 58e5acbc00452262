"""Redaction of values under secret-looking keys in every `raw` and `attributes` JSON.

A key is secret-looking when its name, lower-cased with `_`, `-`, `.` and spaces removed,
contains one of SECRET_WORDS (`clientSecret`, `access_token`, `Authorization`, `apiKey`,
`private_key`, `password` ...). Names that end in a metadata suffix (`rootApiTokenId`,
`tokenType`, `passwordChanged`) describe a secret without holding one, so they are kept:
auditors need those ids and instants. Values are replaced whole (a nested object or list
under a secret key becomes the string), null values stay null (nothing to hide).

The hot path is `redact_json_text`/`redact_column`: a cheap regular expression rules out
the overwhelming majority of records before any JSON is parsed.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "REDACTED",
    "SECRET_WORDS",
    "is_secret_key",
    "redact",
    "redact_json_text",
    "redact_column",
    "dumps",
]

REDACTED = "[REDACTED]"
SECRET_WORDS = (
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "authorization",
    "apikey",
    "privatekey",
    "cookie",
)
# Suffixes (after normalisation) naming metadata about a secret rather than the secret.
_META_SUFFIXES = ("id", "ids", "type", "changed", "expiresat", "expiry", "count")
_STRIP = re.compile(r"[_\-. ]")
# A record can only need redaction if a secret word appears somewhere in its text, possibly
# split by a separator (`api_key`, `private-key`), or if it uses \u escapes that could spell one.
_PREFILTER = re.compile(
    r"token|secret|passw|passphrase|authorization|api[_\-. ]?key|private[_\-. ]?key|cookie|\\u",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """True when values under `key` must be replaced by [REDACTED]."""
    norm = _STRIP.sub("", key.lower())
    if not any(w in norm for w in SECRET_WORDS):
        return False
    return not norm.endswith(_META_SUFFIXES)


def redact(value: Any) -> Any:
    """A copy of a parsed JSON value with secret-looking keys' values redacted (recursively)."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if v is not None else None)
            if is_secret_key(k)
            else (redact(v) if isinstance(v, dict | list) else v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) if isinstance(v, dict | list) else v for v in value]
    return value


def dumps(value: Any) -> str:
    """Compact JSON text, key order kept, non-ASCII kept (the form every raw column uses)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def redact_json_text(text: str | None) -> str | None:
    """JSON text with secrets redacted; returned unchanged when nothing can need it."""
    if text is None or not _PREFILTER.search(text):
        return text
    parsed = json.loads(text)
    cleaned = redact(parsed)
    return text if cleaned == parsed else dumps(cleaned)


def redact_column(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Redact a string column of JSON texts in bulk: only rows the prefilter flags are parsed."""
    if len(column) == 0:
        return column
    flagged = pc.match_substring_regex(column, _PREFILTER.pattern, ignore_case=True)
    if not pc.any(flagged).as_py():
        return column
    values = column.to_pylist()
    mask = flagged.to_pylist()
    out = [redact_json_text(v) if m else v for v, m in zip(values, mask, strict=True)]
    return pa.array(out, type=column.type)
