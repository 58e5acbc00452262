"""What a connector hands over: Arrow tables in the canonical shapes, and page provenance.

A connector reads one source and returns a `SourceBatch`; it knows nothing of the store.
The store merges each `Snapshot` (a complete listing of one table for a scope) into its
versioned table and appends `events` (de-duplicated on event_id).

Every instant is a timezone-aware UTC timestamp (`pa.timestamp("us", tz="UTC")`).
JSON-valued columns (`attributes`, `details`, `raw`, `groups`) are JSON text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

__all__ = [
    "TS",
    "SNAPSHOT_SCHEMAS",
    "EVENT_SCHEMA",
    "Snapshot",
    "PageRecord",
    "SourceBatch",
    "empty_table",
    "LIFECYCLES",
]

TS = pa.timestamp("us", tz="UTC")

# Versioned tables a connector may fill. The store adds source, valid_from, valid_to, row_hash.
SNAPSHOT_SCHEMAS: dict[str, pa.Schema] = {
    # HR person records (one row per record; a rehire may reuse person_id with a new hire_date).
    "people": pa.schema(
        [
            ("person_id", pa.string()),
            ("email", pa.string()),
            ("aliases", pa.string()),  # ';'-separated, as in the HR export
            ("display_name", pa.string()),
            ("department", pa.string()),
            ("title", pa.string()),
            ("manager_id", pa.string()),
            ("employment_type", pa.string()),
            ("status", pa.string()),  # active | leave | terminated
            ("hire_date", TS),  # start of the hire day, source timezone, in UTC
            ("termination_date", TS),  # end of the last working day, source timezone, in UTC
            ("effective_at", TS),  # when department/title took effect (null: snapshot as_of)
        ]
    ),
    # Users of the identity provider (Okta /api/v1/users, Entra users).
    "idp_users": pa.schema(
        [
            ("user_id", pa.string()),
            ("login", pa.string()),
            ("email", pa.string()),
            ("second_email", pa.string()),
            ("display_name", pa.string()),
            ("employee_number", pa.string()),
            ("department", pa.string()),
            ("title", pa.string()),
            ("status", pa.string()),  # vendor status verbatim, e.g. ACTIVE, DEPROVISIONED
            ("created_at", TS),
            ("status_changed_at", TS),
            ("last_login_at", TS),
            ("attributes", pa.string()),
            # Canonical lifecycle every IdP maps into (docs/decisions.md, "IdP lifecycle"):
            # staged | active | suspended | deprovisioned | deleted.
            ("lifecycle", pa.string()),
        ]
    ),
    # IdP groups and their members; group push mappings (IdP group -> app group name).
    "idp_groups": pa.schema(
        [("group_id", pa.string()), ("name", pa.string()), ("attributes", pa.string())]
    ),
    "idp_group_members": pa.schema([("group_id", pa.string()), ("user_id", pa.string())]),
    "group_push": pa.schema(
        [("app", pa.string()), ("group_id", pa.string()), ("target_group_name", pa.string())]
    ),
    # Apps the IdP knows (Okta apps.json): `app` is the label as written.
    "apps": pa.schema(
        [
            ("app", pa.string()),
            ("app_id", pa.string()),
            ("status", pa.string()),
            ("sign_on_mode", pa.string()),
            ("attributes", pa.string()),
        ]
    ),
    # Desired state: the IdP assigns a user to an app (with the user name it provisions).
    "assignments": pa.schema(
        [
            ("app", pa.string()),
            ("idp_user_id", pa.string()),
            ("user_name", pa.string()),
            ("status", pa.string()),
            ("scope", pa.string()),  # USER | GROUP
            ("assigned_at", TS),
            ("groups", pa.string()),  # JSON array of app group names the IdP pushes, or null
        ]
    ),
    # Actual state in an app.
    "accounts": pa.schema(
        [
            ("app", pa.string()),
            ("account_id", pa.string()),
            ("user_name", pa.string()),
            ("email", pa.string()),
            ("external_id", pa.string()),
            ("active", pa.bool_()),
            ("last_login_at", TS),
            ("created_at", TS),
            ("attributes", pa.string()),  # JSON: display_name, department, ... as reported
        ]
    ),
    "grants": pa.schema(
        [
            ("app", pa.string()),
            ("account_id", pa.string()),
            ("entitlement", pa.string()),
            ("entitlement_type", pa.string()),  # group | role | entitlement | license
            ("expires_at", TS),
        ]
    ),
}

# An IdP user's canonical lifecycle. staged: created, not yet activated; active: may sign in
# (a credential hold such as a lock-out is still active); suspended: sign-in blocked, app
# assignments kept and still granting (Okta SUSPENDED); deprovisioned: the IdP asks that no app
# access remain (Okta DEPROVISIONED, Entra accountEnabled false); deleted: soft-deleted,
# restorable (Entra deletedItems). A user absent from a complete listing is gone.
LIFECYCLES = ("staged", "active", "suspended", "deprovisioned", "deleted")

# Keys identifying one row of each versioned table within a source.
SNAPSHOT_KEYS: dict[str, tuple[str, ...]] = {
    "people": ("person_id", "hire_date"),
    "idp_users": ("user_id",),
    "idp_groups": ("group_id",),
    "idp_group_members": ("group_id", "user_id"),
    "group_push": ("app", "group_id", "target_group_name"),
    "apps": ("app_id",),
    "assignments": ("app", "idp_user_id"),
    "accounts": ("app", "account_id"),
    "grants": ("app", "account_id", "entitlement"),
}

# Events as a connector reports them. The store computes event_id, seq, hash, ingested_at.
EVENT_SCHEMA = pa.schema(
    [
        # Native id (Okta uuid, Graph id). Null for records without one (HR rows, CSV rows):
        # then `identity` must hold their identifying fields, joined with '|'.
        ("native_id", pa.string()),
        ("identity", pa.string()),
        ("native_type", pa.string()),
        ("occurred_at", TS),
        ("action", pa.string()),
        ("outcome", pa.string()),  # success | failure | unknown
        ("actor", pa.string()),
        ("person_id", pa.string()),
        ("app", pa.string()),
        ("account_id", pa.string()),
        ("entitlement", pa.string()),
        ("details", pa.string()),  # JSON object
        ("raw", pa.string()),  # JSON, the source's record verbatim with secrets redacted
    ]
)


def empty_table(schema: pa.Schema) -> pa.Table:
    """A zero-row table of `schema`."""
    return schema.empty_table()


@dataclass(frozen=True)
class Snapshot:
    """A complete listing of one versioned table for a scope.

    `apps` limits the scope: when set, only rows of those apps are compared (and closed when
    missing); when None the snapshot covers every row of this source in the table.
    `partial` marks an incremental listing (e.g. SCIM `meta.lastModified gt ...`): its rows
    open new versions of what changed, but a row it does not list is not thereby gone.
    """

    table: str
    rows: pa.Table
    apps: tuple[str, ...] | None = None
    partial: bool = False


@dataclass(frozen=True)
class PageRecord:
    """Provenance of one page or file read (IPE): what was asked, what came back."""

    request: str  # endpoint and parameters, or the file path relative to the config; no secrets
    sha256: str  # of the raw bytes received
    item_count: int
    total_results: int | None = None


@dataclass
class SourceBatch:
    """Everything one observation of a source produced, committed by the store as one run."""

    source: str
    kind: str
    tenant: str
    as_of: datetime  # the observation instant (UTC)
    snapshots: list[Snapshot] = field(default_factory=list)
    events: pa.Table = field(default_factory=lambda: EVENT_SCHEMA.empty_table())
    pages: list[PageRecord] = field(default_factory=list)
    cursor: str | None = None
    notes: list[str] = field(default_factory=list)  # server quirks met, kept with the run
