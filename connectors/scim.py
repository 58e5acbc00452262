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

import duckdb

from connectors.files import files_as_of, load_json_file, relative_request
from connectors.records import SNAPSHOT_SCHEMAS, PageRecord, Snapshot, SourceBatch
from connectors.redact import redact_column
from evidence.config import SourceConfig
from evidence.errors import ConfigError, InputError

__all__ = ["read_scim_export"]

_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
_MULTI = 'STRUCT(value VARCHAR, display VARCHAR, "type" VARCHAR, "primary" VARCHAR)[]'
# Every scalar is read as VARCHAR: a number or boolean where text was expected (or "False"
# where a boolean was) converts instead of failing the whole read; SQL then judges values.
_USER = (
    "STRUCT(id VARCHAR, externalId VARCHAR, userName VARCHAR, displayName VARCHAR,"
    " title VARCHAR, userType VARCHAR, active VARCHAR,"
    " name STRUCT(formatted VARCHAR, givenName VARCHAR, familyName VARCHAR),"
    f" emails {_MULTI}, roles {_MULTI}, entitlements {_MULTI}, groups {_MULTI},"
    f' "{_ENTERPRISE}" STRUCT(employeeNumber VARCHAR, costCenter VARCHAR,'
    " organization VARCHAR, division VARCHAR, department VARCHAR,"
    " manager STRUCT(value VARCHAR, displayName VARCHAR)),"
    " meta STRUCT(created VARCHAR))"
)
_GROUP = (
    "STRUCT(id VARCHAR, displayName VARCHAR,"
    ' members STRUCT(value VARCHAR, display VARCHAR, "type" VARCHAR)[])'
)
_E = f'r."{_ENTERPRISE}"'
_USER_COLUMNS = f"""
    r.id AS id, r.userName AS user_name, r.externalId AS external_id,
    r.active AS active_text, r.meta.created AS created_text,
    try_cast(r.meta.created AS TIMESTAMPTZ) AS created_at,
    coalesce(list_filter(r.emails, lambda e: lower(e."primary") = 'true')[1].value,
             r.emails[1].value) AS email,
    json_merge_patch('{{}}', to_json(struct_pack(
        display_name := r.displayName, given_name := r.name.givenName,
        family_name := r.name.familyName, formatted_name := r.name.formatted,
        title := r.title, user_type := r.userType, department := {_E}.department,
        employee_number := {_E}.employeeNumber, cost_center := {_E}.costCenter,
        organization := {_E}.organization, division := {_E}.division,
        manager_id := {_E}.manager.value, manager_name := {_E}.manager.displayName
    )))::VARCHAR AS attributes,
    r.groups AS groups, r.roles AS roles, r.entitlements AS entitlements"""
_GROUP_COLUMNS = "r.id AS id, r.displayName AS name, r.members AS members"


def _load_sql(table: str, struct: str, columns: str, objects: bool, arrays: bool) -> str:
    """One pass: read every page, unnest its resources, keep the columns the snapshot needs.

    Page facts (file, ListResponse or bare array, totalResults, resource count, whether an
    object page is a ListResponse at all) ride along on each row; a page without resources
    still yields one row (`present` false), so every page is accounted for.
    """
    # read_json refuses an empty file list, so a page shape without files is left out.
    reads = []
    if objects:
        reads.append(f"""
        SELECT filename AS file, true AS listed, totalResults AS total, schemas, Resources AS res
        FROM read_json($objects, format = 'unstructured', filename = true, columns = {{
            'schemas': 'VARCHAR[]', 'totalResults': 'BIGINT', 'Resources': '{struct}[]'}})""")
    if arrays:
        reads.append(f"""
        SELECT filename AS file, false AS listed, NULL::BIGINT AS total,
               NULL::VARCHAR[] AS schemas, json AS res
        FROM read_json($arrays, format = 'unstructured', records = false, filename = true,
                       columns = {{'json': '{struct}[]'}})""")
    return f"""
CREATE OR REPLACE TEMP TABLE {table} AS
WITH pages AS ({" UNION ALL BY NAME ".join(reads)}),
rows AS (
    SELECT file, listed, total, n, ok, generate_subscripts(rs, 1) - 1 AS idx, unnest(rs) AS r
    FROM (SELECT file, listed, total, coalesce(len(res), 0) AS n,
                 NOT listed OR res IS NOT NULL OR total IS NOT NULL
                   OR coalesce(list_contains(schemas, $list_response), false) AS ok,
                 CASE WHEN len(res) > 0 THEN res ELSE [NULL] END AS rs
          FROM pages)
)
SELECT file, listed, total, n, ok, idx, r IS NOT NULL AS present, {columns}
FROM rows
"""


_PAGE_STATS_SQL = """
SELECT file, any_value(n), any_value(total), bool_and(ok) FROM {table} GROUP BY file
"""

# The first resource a snapshot cannot take, with the field at fault.
_USER_CHECK_SQL = """
SELECT file, listed, idx, field,
       CASE field WHEN 'active' THEN active_text WHEN 'meta.created' THEN created_text END
FROM (SELECT *, CASE
        WHEN id IS NULL OR id = '' THEN 'id'
        WHEN user_name IS NULL OR user_name = '' THEN 'userName'
        WHEN active_text IS NOT NULL AND lower(active_text) NOT IN ('true', 'false')
          THEN 'active'
        WHEN created_text IS NOT NULL AND created_at IS NULL THEN 'meta.created'
      END AS field FROM users WHERE present)
WHERE field IS NOT NULL ORDER BY file, idx LIMIT 1
"""

_GROUP_CHECK_SQL = """
SELECT file, listed, idx, field, NULL
FROM (SELECT *, CASE
        WHEN id IS NULL OR id = '' THEN 'id'
        WHEN name IS NULL OR name = '' THEN 'displayName'
      END AS field FROM groups WHERE present)
WHERE field IS NOT NULL ORDER BY file, idx LIMIT 1
"""

_HAS_DUPLICATES_SQL = "SELECT count(*) > count(DISTINCT id) FROM users WHERE present"
_ACCTS_SQL = "CREATE OR REPLACE TEMP VIEW accts AS SELECT * FROM users WHERE present"
_ACCTS_DEDUP_SQL = """
CREATE OR REPLACE TEMP TABLE accts AS SELECT * FROM users WHERE present
QUALIFY row_number() OVER (PARTITION BY id ORDER BY file DESC, idx DESC) = 1
"""

_ACCOUNTS_SQL = """
SELECT $app AS app, id AS account_id, user_name, email, external_id,
       coalesce(lower(active_text) = 'true', true) AS active,
       NULL::TIMESTAMPTZ AS last_login_at, created_at, attributes
FROM accts ORDER BY account_id
"""

_GRANTS_SQL = """
WITH grp AS (
    SELECT id AS gid, name, members FROM groups WHERE present
    QUALIFY row_number() OVER (PARTITION BY id ORDER BY file DESC, idx DESC) = 1
), member AS (
    SELECT m.value AS account_id, name AS entitlement, 'group' AS kind, 1 AS rank
    FROM (SELECT name, unnest(members) AS m FROM grp)
    WHERE m.value IN (SELECT id FROM accts)
      AND (m."type" IS NULL OR lower(m."type") = 'user')
), own AS (
    SELECT id AS account_id, unnest(groups) AS g, unnest(roles) AS ro,
           unnest(entitlements) AS en
    FROM accts
), listed AS (
    SELECT own.account_id, coalesce(grp.name, own.g.display) AS entitlement,
           'group' AS kind, 1 AS rank
    FROM own LEFT JOIN grp ON grp.gid = own.g.value WHERE own.g IS NOT NULL
    UNION ALL
    SELECT account_id, coalesce(ro.value, ro.display), 'role', 2 FROM own WHERE ro IS NOT NULL
    UNION ALL
    SELECT account_id, coalesce(en.value, en.display), 'entitlement', 3
    FROM own WHERE en IS NOT NULL
), every AS (SELECT * FROM member UNION ALL SELECT * FROM listed)
SELECT $app AS app, account_id, entitlement, kind AS entitlement_type,
       NULL::TIMESTAMPTZ AS expires_at
FROM every WHERE entitlement IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY account_id, entitlement ORDER BY rank) = 1
ORDER BY account_id, entitlement
"""

_NO_GROUPS_SQL = """
CREATE OR REPLACE TEMP TABLE groups AS
SELECT NULL::VARCHAR AS file, NULL::BIGINT AS idx, false AS present, NULL::VARCHAR AS id,
       NULL::VARCHAR AS name, NULL::STRUCT(value VARCHAR, "type" VARCHAR)[] AS members
WHERE false
"""


def read_scim_export(source: SourceConfig) -> SourceBatch:
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
        stats = _load(con, user_files, "users", _USER, _USER_COLUMNS, _USER_CHECK_SQL)
        stats |= _load(con, group_files, "groups", _GROUP, _GROUP_COLUMNS, _GROUP_CHECK_SQL)
        if user_files:
            (dups,) = con.execute(_HAS_DUPLICATES_SQL).fetchone() or (False,)
            con.execute(_ACCTS_DEDUP_SQL if dups else _ACCTS_SQL)
            if not group_files:
                con.execute(_NO_GROUPS_SQL)
            app = {"app": source.app}
            accounts = con.sql(_ACCOUNTS_SQL, params=app).to_arrow_table()
            accounts = accounts.cast(SNAPSHOT_SCHEMAS["accounts"])
            idx = accounts.schema.get_field_index("attributes")
            accounts = accounts.set_column(idx, "attributes", redact_column(accounts["attributes"]))
            grants = con.sql(_GRANTS_SQL, params=app).to_arrow_table()
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
        tenant=source.tenant_id(),
        as_of=files_as_of(source, user_files + group_files),
        snapshots=snapshots,
        pages=pages,
    )


def _load(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    table: str,
    struct: str,
    columns: str,
    check_sql: str,
) -> dict[str, tuple[int, int | None]]:
    """Read `files` into `table`, validate, and return each file's (item count, totalResults)."""
    if not files:
        return {}
    listed = {p: _first_byte(p) == b"{" for p in files}
    objects = [str(p) for p in files if listed[p]]
    arrays = [str(p) for p in files if not listed[p]]
    params = {"objects": objects, "arrays": arrays, "list_response": _LIST_RESPONSE}
    try:
        con.execute(
            _load_sql(table, struct, columns, bool(objects), bool(arrays)),
            {k: v for k, v in params.items() if v},
        )
    except duckdb.Error as e:
        raise _diagnose(con, files, struct, columns, e) from None
    stats: dict[str, tuple[int, int | None]] = {}
    for file, n, total, ok in con.execute(_PAGE_STATS_SQL.format(table=table)).fetchall():
        if not ok:
            raise InputError(file, None, None, "neither a SCIM ListResponse nor a JSON array")
        stats[file] = (n, total)
    bad = con.execute(check_sql).fetchone()
    if bad is not None:
        file, is_list, idx, field, value = bad
        record = f"Resources[{idx}]" if is_list else f"[{idx}]"
        if field in ("active", "meta.created"):
            kind = "boolean" if field == "active" else "timestamp"
            raise InputError(file, record, field, f"not a valid {kind}: {value!r}")
        raise InputError(file, record, field, f"{field} is missing")
    return stats


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
    struct: str,
    columns: str,
    error: duckdb.Error,
) -> InputError:
    """Which file DuckDB refused, and why, in the words of an InputError."""
    for path in files:
        load_json_file(path)  # raises naming line and column when the JSON is malformed
    for path in files:
        listed = _first_byte(path) == b"{"
        params = {"objects" if listed else "arrays": [str(path)], "list_response": _LIST_RESPONSE}
        try:
            con.execute(_load_sql("diagnosis", struct, columns, listed, not listed), params)
        except duckdb.Error as e:
            return InputError(str(path), None, None, f"unexpected value types: {_first_line(e)}")
    return InputError(str(files[0].parent), None, None, f"cannot read: {_first_line(error)}")


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
