"""An app's own user-list export (CSV or JSON array) → `accounts` and `grants` snapshots.

Rules the architecture leaves to us:
- `[sources.columns]` maps canonical account field → header; a field whose name is itself
  a header needs no entry. `account_id` defaults to the user name.
- Values are kept as written (matching normalises, not we); a blank cell is null.
- `active`: `[sources.active_values]` first, then true/yes/1/active/enabled and
  false/no/0/inactive/suspended/deactivated/disabled, case-insensitively. A blank cell or no
  active column means active: the user is listed, so the account exists.
- Instants are ISO 8601 (a bare date is 00:00 in the source's timezone); `never`, `n/a`,
  `none`, `null` and `-` mean no value (what exports print for "never logged in").
- `entitlements` split on ';' (trimmed, empty and repeated parts dropped) → grants of type
  `role`.
- One `account.login` event per account with a last login; its identity is
  app|account_id|last_login_at, so the same login seen in several exports is one event.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from connectors.app_export.settings import AppExportSettings
from connectors.exports import (
    cell,
    column_mapping,
    files_as_of,
    page_record,
    parse_instant_field,
    read_records,
    shown,
    source_zone,
)
from connectors.records import EVENT_SCHEMA, SNAPSHOT_SCHEMAS, Snapshot, SourceBatch
from connectors.redact import dumps, redact, redact_column
from evidence.errors import ConfigError, InputError

__all__ = ["read_app_export", "ACCOUNT_FIELDS", "DEFAULT_ACTIVE_VALUES"]

ACCOUNT_FIELDS = (
    "account_id",
    "user_name",
    "email",
    "external_id",
    "active",
    "last_login_at",
    "created_at",
    "entitlements",
    "display_name",
    "department",
    "title",
)
DEFAULT_ACTIVE_VALUES: dict[str, bool] = {
    **dict.fromkeys(("true", "yes", "y", "1", "active", "enabled"), True),
    **dict.fromkeys(
        ("false", "no", "n", "0", "inactive", "suspended", "deactivated", "disabled"), False
    ),
}
_NO_VALUE = frozenset(("never", "n/a", "none", "null", "-"))
_ATTRIBUTES = ("display_name", "department", "title")


def read_app_export(source: AppExportSettings) -> SourceBatch:
    """Parse an app's user-list export into accounts, role grants and account.login events."""
    if source.path is None:
        raise ConfigError(f"source {source.name!r}: no `path` for the app export")
    if not source.app:
        raise ConfigError(f'source {source.name!r}: kind app_export needs `app = "name"`')
    app, path, file = source.app, source.path, str(source.path)
    header, records, data, numbering = read_records(path)
    mapping = column_mapping(source, header, file, ACCOUNT_FIELDS, "user_name", "an account field")
    actives = {**DEFAULT_ACTIVE_VALUES}
    for raw, value in source.active_values.items():
        actives[raw.strip().casefold()] = value
    zone = source_zone(source)

    accounts: list[dict[str, Any]] = []
    grants: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    seen: dict[str, Any] = {}
    for n, rec in enumerate(records):
        where = numbering(n)
        cells = {f: cell(rec, col, file, where) for f, col in mapping.items()}
        user_name = cells.get("user_name")
        if user_name is None:
            raise InputError(file, where, mapping["user_name"], "user_name is missing")
        account_id = cells.get("account_id") or user_name
        if account_id in seen:
            col = mapping.get("account_id", mapping["user_name"])
            raise InputError(
                file,
                where,
                col,
                f"duplicate account {shown(account_id)} (first at record {seen[account_id]})",
            )
        seen[account_id] = where
        active = _active(
            cells.get("active"), source.active_values, actives, file, where, mapping.get("active")
        )

        last_login, created = (
            parse_instant_field(
                None if (v := cells.get(f)) is None or v.strip().casefold() in _NO_VALUE else v,
                file,
                where,
                mapping.get(f, f),
                zone,
            )
            for f in ("last_login_at", "created_at")
        )
        attrs = {k: cells[k] for k in _ATTRIBUTES if cells.get(k) is not None}
        accounts.append(
            {
                "app": app,
                "account_id": account_id,
                "user_name": user_name,
                "email": cells.get("email"),
                "external_id": cells.get("external_id"),
                "active": active,
                "last_login_at": last_login,
                "created_at": created,
                "attributes": dumps(attrs),
            }
        )
        ents = cells.get("entitlements")
        parts = [p.strip() for p in ents.split(";")] if ents else []
        for ent in dict.fromkeys(p for p in parts if p):
            grants.append(
                {
                    "app": app,
                    "account_id": account_id,
                    "entitlement": ent,
                    "entitlement_type": "role",
                    "expires_at": None,
                }
            )
        if last_login is not None:
            stamp = last_login.isoformat().replace("+00:00", "Z")
            events.append(
                {
                    "native_id": None,
                    "identity": f"{app}|{account_id}|{stamp}",
                    "native_type": "last_login",
                    "occurred_at": last_login,
                    "action": "account.login",
                    "outcome": "success",
                    "actor": user_name,
                    "person_id": None,
                    "app": app,
                    "account_id": account_id,
                    "entitlement": None,
                    "details": dumps({"user_name": user_name}),
                    "raw": dumps(redact(rec)),
                }
            )

    acc = pa.Table.from_pylist(accounts, SNAPSHOT_SCHEMAS["accounts"])
    acc = acc.set_column(
        acc.schema.get_field_index("attributes"), "attributes", redact_column(acc["attributes"])
    )
    return SourceBatch(
        source=source.name,
        kind=source.kind,
        tenant=source.tenant_key(),
        as_of=files_as_of(source, [path]),
        snapshots=[
            Snapshot("accounts", acc, apps=(app,)),
            Snapshot(
                "grants", pa.Table.from_pylist(grants, SNAPSHOT_SCHEMAS["grants"]), apps=(app,)
            ),
        ],
        events=pa.Table.from_pylist(events, EVENT_SCHEMA),
        pages=[page_record(path, source, data, len(records))],
    )


def _active(
    raw: str | None,
    configured: dict[str, bool],
    actives: dict[str, bool],
    file: str,
    where: Any,
    col: str | None,
) -> bool:
    if raw is None:
        return True
    if raw in configured:
        return configured[raw]
    found = actives.get(raw.strip().casefold())
    if found is None:
        raise InputError(file, where, col, f"not a known active value: {shown(raw)}")
    return found
