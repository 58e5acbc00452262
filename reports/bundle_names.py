"""The names and ids of a bundle, derived from its framework and period (and, for the id,
its populations): the same inputs, the same names."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from reports.errors import ReportError
from reports.population import rfc3339
from reports.views import last_day

__all__ = ["bundle_id", "bundle_name", "report_file_name", "utc_instant"]


def utc_instant(value: datetime, name: str) -> datetime:
    """`value` in UTC; a naive instant is refused (`name` says which)."""
    if value.tzinfo is None:
        raise ReportError(f"{name}: a timezone-aware instant is required")
    return value.astimezone(UTC)


def bundle_name(framework: str, period_start: datetime, period_end: datetime) -> str:
    """`<framework>-<first day>-<last day, inclusive>` for the half-open UTC period."""
    start = utc_instant(period_start, "period_start")
    end = utc_instant(period_end, "period_end")
    return f"{framework}-{start:%Y-%m-%d}-{last_day(end)}"


def report_file_name(framework: str, period_start: datetime, period_end: datetime) -> str:
    """The PDF's name: the bundle's, with `.pdf`."""
    return bundle_name(framework, period_start, period_end) + ".pdf"


def bundle_id(framework: str, start: datetime, end: datetime, report_hash: str) -> str:
    """A bundle's id, derived from what it is a report of: the same inputs, the same id."""
    text = f"{framework}|{rfc3339(start)}|{rfc3339(end)}|{report_hash}"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return "-".join((digest[:8], digest[8:12], digest[12:16], digest[16:20], digest[20:]))
