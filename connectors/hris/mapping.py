"""HR records -> canonical people rows' values and hr.* events (the rules are in export.py's
docstring): status and employment-type value maps, and what a person's record says happened."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.exports import shown
from connectors.hris.settings import HrisSettings
from connectors.redact import dumps
from evidence.errors import ConfigError, InputError

__all__ = [
    "DETAIL_KEYS",
    "PERSON_FIELDS",
    "STATUSES",
    "TEXT_FIELDS",
    "hr_events",
    "status_of",
    "value_map",
]

PERSON_FIELDS = (
    "person_id",
    "email",
    "aliases",
    "display_name",
    "department",
    "title",
    "manager_id",
    "employment_type",
    "status",
    "hire_date",
    "termination_date",
    "effective_date",
)
STATUSES = ("active", "leave", "terminated")
TEXT_FIELDS = ("person_id", "email", "display_name", "department", "title", "manager_id")
DETAIL_KEYS = ("status", "employment_type", "department", "title", "manager_id")


def _event(
    pid: str, hire_text: str, verb: str, at: datetime, details: str, raw: str
) -> dict[str, Any]:
    return {
        "native_id": None,
        "identity": f"{pid}|{hire_text}|hr.{verb}",
        "native_type": verb,
        "occurred_at": at,
        "action": f"hr.{verb}",
        "outcome": "success",
        "actor": None,
        "person_id": pid,
        "app": None,
        "account_id": None,
        "entitlement": None,
        "details": details,
        "raw": raw,
    }


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def value_map(
    source: HrisSettings, key: str, values: dict[str, str], allowed: tuple[str, ...] | None
) -> dict[str, str]:
    """Raw → canonical, looked up as written, then trimmed and case-folded."""
    out: dict[str, str] = {}
    for raw, canonical in values.items():
        if allowed is not None and canonical not in allowed:
            raise ConfigError(
                f"source {source.name!r}: {key}: {canonical!r} is not one of {', '.join(allowed)}"
            )
        out[raw] = canonical
        out.setdefault(raw.strip().casefold(), canonical)
    return out


def status_of(
    raw: str | None,
    statuses: dict[str, str],
    known: str,
    file: str,
    where: Any,
    col: str | None,
) -> str | None:
    if raw is None:
        return None
    folded = raw.strip().casefold()
    found = statuses.get(raw) or statuses.get(folded)
    if found is None and folded in STATUSES:
        found = folded
    if found is None:
        raise InputError(file, where, col, f"unknown status {shown(raw)} (known: {known})")
    return found


def hr_events(row: dict[str, Any], when: datetime, raw: str) -> list[dict[str, Any]]:
    """What a person's record says happened by `when`: hire, terminate, leave."""
    pid, hire, term, status = (
        row["person_id"],
        row["hire_date"],
        row["termination_date"],
        row["status"],
    )
    details = dumps({k: row[k] for k in DETAIL_KEYS if row[k] is not None})
    hire_text = _rfc3339(hire) if hire is not None else ""
    events = []
    if hire is not None and hire <= when:
        events.append(_event(pid, hire_text, "hire", hire, details, raw))
    if status == "terminated":
        at = term if term is not None else when
        if at <= when:
            events.append(_event(pid, hire_text, "terminate", at, details, raw))
    elif status == "leave":
        events.append(_event(pid, hire_text, "leave", when, details, raw))
    return events
