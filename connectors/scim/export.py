"""SCIM 2.0 export pages (`Users*.json`, `Groups*.json`: ListResponse or bare array) → the
`accounts` and `grants` snapshots of one app, parsed in bulk by DuckDB.

The pages are read by `read_json` with explicit column types (so an odd page cannot change
inferred types), unnested and projected in SQL, and handed over as Arrow: no Python loop over
resources. Python only hashes each file for its PageRecord and, when DuckDB refuses a page,
finds which file and why.

Rules the architecture leaves to us:
- Attribute names match as RFC 7643 writes them (`userName`, `Resources`); SCIM says they are
  case-insensitive, but a page spelling `username` fails loudly (userName missing) rather than
  silently.
- `active` missing means true: RFC 7643 gives it no default, and an account the provider
  lists without saying it is inactive may be usable, so it must not escape orphan detection.
  `active` as a string ("False", Entra-style) is read case-insensitively.
- The same `id` on several pages (index paging is not a consistent snapshot) keeps the
  occurrence read last (file name order, then position).
- `email`: the primary email's value, else the first. `last_login_at`: null (no standard SCIM
  attribute). `created_at`: meta.created.
- `attributes`: display_name, given_name, family_name, formatted_name, title, user_type and
  the EnterpriseUser department, employee_number, cost_center, organization, division,
  manager_id, manager_name, as reported; null ones omitted.
- Grants: group memberships from Groups members (type User or untyped) and from the users'
  own `groups` attribute (name from the Groups page when known, else its `display`); `roles`
  (type role) and `entitlements` (type entitlement) by value, else display. Members that are
  not in the Users pages and nested Group members are ignored: a grant needs an account of
  this snapshot. One grant per (account, name): group over role over entitlement.
- No Users pages: no accounts or grants snapshot (nothing is known about accounts).
- Errors name the record as `Resources[i]` (ListResponse) or `[i]` (bare array): the
  0-based index within that file.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb

from connectors.exports import (
    MAX_TEXT,
    files_as_of,
    json_type,
    load_json_file,
    relative_request,
    shown,
)
from connectors.exports.shapes import TEXT, conform
from connectors.records import SNAPSHOT_SCHEMAS, PageRecord, Snapshot, SourceBatch
from connectors.redact import redact_column
from connectors.scim.settings import ScimSettings
from evidence.errors import ConfigError, InputError
from evidence.sql import load_sql, run_sql

__all__ = ["read_scim_export"]

_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
_MULTI = 'STRUCT(value JSON, display JSON, "type" JSON, "primary" JSON)[]'
# Every scalar is read as JSON and taken as text with `->>`: a number or boolean where text
# was expected (or "False" where a boolean was) converts instead of failing the whole read,
# and an object or array there is seen (json_type) instead of becoming its JSON text; SQL then
# judges values, and Python names the field of a resource it flags (`_suspect`).
_USER = (
    "STRUCT(id JSON, externalId JSON, userName JSON, displayName JSON,"
    " title JSON, userType JSON, active JSON,"
    " name STRUCT(formatted JSON, givenName JSON, familyName JSON),"
    f" emails {_MULTI}, roles {_MULTI}, entitlements {_MULTI}, groups {_MULTI},"
    f' "{_ENTERPRISE}" STRUCT(employeeNumber JSON, costCenter JSON,'
    " organization JSON, division JSON, department JSON,"
    " manager STRUCT(value JSON, displayName JSON)),"
    " meta STRUCT(created JSON))"
)
_GROUP = (
    'STRUCT(id JSON, displayName JSON, members STRUCT(value JSON, display JSON, "type" JSON)[])'
)
# The same, as shapes (connectors.exports.shapes), to name the field DuckDB or SQL refused.
_MULTI_SHAPE = [{"value": TEXT, "display": TEXT, "type": TEXT, "primary": TEXT}]
_USER_SHAPE = {
    **dict.fromkeys(("id", "externalId", "userName", "displayName", "title", "userType",
                     "active"), TEXT),
    "name": dict.fromkeys(("formatted", "givenName", "familyName"), TEXT),
    **dict.fromkeys(("emails", "roles", "entitlements", "groups"), _MULTI_SHAPE),
    _ENTERPRISE: {
        **dict.fromkeys(("employeeNumber", "costCenter", "organization", "division",
                         "department"), TEXT),
        "manager": {"value": TEXT, "displayName": TEXT},
    },
    "meta": {"created": TEXT},
}  # fmt: skip
_GROUP_SHAPE = {"id": TEXT, "displayName": TEXT,
                "members": [{"value": TEXT, "display": TEXT, "type": TEXT}]}  # fmt: skip


def _sql(name: str) -> str:
    return load_sql("connectors.scim", f"sql/{name}")


def read_scim_export(source: ScimSettings) -> SourceBatch:
    """Parse a folder of SCIM Users/Groups pages into the app's accounts and grants."""
    if source.path is None:
        raise ConfigError(f"source {source.name!r}: no `path` for the SCIM export")
    if not source.app:
        raise ConfigError(f'source {source.name!r}: kind scim needs `app = "name"`')
    folder = source.path
    if not folder.is_dir():
        raise InputError(str(folder), None, None, "a SCIM export must be a folder")
    user_files = sorted(folder.glob("Users*.json"))
    group_files = sorted(folder.glob("Groups*.json"))
    snapshots: list[Snapshot] = []
    # Hashing (for provenance) runs beside DuckDB's parse: both release the GIL.
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        duckdb.connect() as con,
    ):
        digests = pool.map(_sha256, user_files + group_files)
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        stats = _load(con, user_files, "users", _USER)
        stats |= _load(con, group_files, "groups", _GROUP)
        if user_files:
            (dups,) = con.execute(_sql("has_duplicates.sql")).fetchone() or (False,)
            con.execute(_sql("accts_dedup.sql" if dups else "accts.sql"))
            if not group_files:
                con.execute(_sql("no_groups.sql"))
            app = {"app": source.app}
            accounts = con.sql(_sql("accounts.sql"), params=app).to_arrow_table()
            accounts = accounts.cast(SNAPSHOT_SCHEMAS["accounts"])
            idx = accounts.schema.get_field_index("attributes")
            accounts = accounts.set_column(idx, "attributes", redact_column(accounts["attributes"]))
            grants = con.sql(_sql("grants.sql"), params=app).to_arrow_table()
            snapshots = [
                Snapshot("accounts", accounts, apps=(source.app,)),
                Snapshot("grants", grants.cast(SNAPSHOT_SCHEMAS["grants"]), apps=(source.app,)),
            ]
        pages = [
            PageRecord(relative_request(p, source), digest, *stats[str(p)])
            for p, digest in zip(user_files + group_files, digests, strict=True)
        ]
    return SourceBatch(
        source=source.name,
        kind=source.kind,
        tenant=source.tenant_key(),
        as_of=files_as_of(source, user_files + group_files),
        snapshots=snapshots,
        pages=pages,
    )


def _load(
    con: duckdb.DuckDBPyConnection, files: list[Path], table: str, struct: str
) -> dict[str, tuple[int, int | None]]:
    """Read `files` into `table`, validate, and return each file's (item count, totalResults)."""
    if not files:
        return {}
    first = {p: _first_byte(p) for p in files}
    for p, byte in first.items():
        if not byte:  # read_json reads no row from it, so no page would name it
            raise InputError(
                str(p), None, None, "empty file: neither a SCIM ListResponse nor a JSON array"
            )
    listed = {p: byte == b"{" for p, byte in first.items()}
    objects = [str(p) for p in files if listed[p]]
    arrays = [str(p) for p in files if not listed[p]]
    try:
        run_sql(
            con,
            _sql(_load_file(table, bool(objects), bool(arrays))),
            _params(struct, objects, arrays),
        )
    # DuckDB quotes the offending value in its message and may cut it inside a UTF-8
    # sequence, which the binding then fails to decode: that is a refusal too.
    except (duckdb.Error, UnicodeDecodeError) as e:
        raise _diagnose(con, files, table, struct, e) from None
    stats: dict[str, tuple[int, int | None]] = {}
    for file, n, total, ok in con.execute(_sql(f"{table}_page_stats.sql")).fetchall():
        if not ok:
            raise InputError(file, None, None, "neither a SCIM ListResponse nor a JSON array")
        stats[file] = (n, total)
    bad = con.execute(_sql("user_check.sql" if table == "users" else "group_check.sql")).fetchone()
    if bad is not None:
        file, is_list, idx, field, value = bad
        record = f"Resources[{idx}]" if is_list else f"[{idx}]"
        if field == "suspect":
            raise _suspect(Path(file), table, idx)
        if field in ("active", "meta.created"):
            kind = "boolean" if field == "active" else "timestamp"
            raise InputError(file, record, field, f"not a valid {kind}: {shown(value)}")
        raise InputError(file, record, field, f"{field} is missing")
    return stats


def _resources(path: Path) -> tuple[list[Any], str]:
    """A page's resources as Python reads them, and how its records are named. Python's
    loader refuses NUL, overlong text, invalid UTF-8, ... anywhere, naming the field."""
    doc, _ = load_json_file(path)
    if isinstance(doc, dict):
        res = doc.get("Resources")
        return (res if isinstance(res, list) else []), "Resources"
    return (doc if isinstance(doc, list) else []), ""


def _check_resource(path: Path, table: str, name: str, idx: int, res: Any) -> None:
    """InputError naming the field of one resource a snapshot cannot take, if any."""
    record = f"{name}[{idx}]"
    if not isinstance(res, dict):
        if res is None:
            return
        raise InputError(str(path), record, None, f"expected an object, got {json_type(res)}")
    conform(res, _USER_SHAPE if table == "users" else _GROUP_SHAPE, str(path), record)


def _suspect(path: Path, table: str, idx: int) -> InputError:
    """The InputError of a resource SQL flagged (a wrong type, NUL or an overlong text)."""
    resources, name = _resources(path)
    if 0 <= idx < len(resources):
        try:
            _check_resource(path, table, name, idx, resources[idx])
        except InputError as e:
            return e
    record = f"{name}[{idx}]"
    return InputError(str(path), record, None, "a value is not text a snapshot can take")


def _load_file(table: str, objects: bool, arrays: bool) -> str:
    """The load of `table` for the page shapes present (read_json needs a file per shape)."""
    shape = "both" if objects and arrays else "objects" if objects else "arrays"
    return f"{table}_{shape}.sql"


def _params(struct: str, objects: list[str], arrays: list[str]) -> dict[str, object]:
    """A load's parameters: the files of each shape and the resource type to read them as."""
    return {
        "objects": objects,
        "arrays": arrays,
        "objects_columns": {
            "schemas": "VARCHAR[]",
            "totalResults": "BIGINT",
            "Resources": f"{struct}[]",
        },
        "arrays_columns": {"json": f"{struct}[]"},
        "list_response": _LIST_RESPONSE,
        "max_text": MAX_TEXT,
    }


def _first_byte(path: Path) -> bytes:
    with path.open("rb") as fh:
        head = fh.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
    return head[:1]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _diagnose(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    table: str,
    struct: str,
    error: Exception,
) -> InputError:
    """Which file DuckDB refused, and why, in the words of an InputError."""
    for path in files:
        # Raises naming the record and field (or line and column) when the JSON is malformed,
        # or a resource has a value of the wrong type.
        resources, name = _resources(path)
        for idx, res in enumerate(resources):
            _check_resource(path, table, name, idx, res)
    for path in files:
        listed = _first_byte(path) == b"{"
        one = [str(path)]
        try:
            run_sql(
                con,
                _sql(_load_file(table, listed, not listed)),
                _params(struct, one if listed else [], [] if listed else one),
            )
        except (duckdb.Error, UnicodeDecodeError) as e:
            return InputError(str(path), None, None, f"unexpected value types: {_first_line(e)}")
    return InputError(str(files[0].parent), None, None, f"cannot read: {_first_line(error)}")


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
