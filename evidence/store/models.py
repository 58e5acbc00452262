"""The store's tables, defined once as SQLModel classes (columns, types, keys).

The DDL is compiled from these classes through duckdb-engine's dialect (see `schema.py`).
Table and column names are a public contract: analysts, notebooks and tests use them.
Versioned tables carry `source`, `valid_from`, `valid_to` (null on the current row), the
`run_id` that opened the version and a `row_hash` of the tracked columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = ["TABLES", "VERSIONED", "model_for"]


def _ts(**kw: Any) -> Any:
    return Field(default=None, sa_type=sa.DateTime(timezone=True), **kw)


def _json(**kw: Any) -> Any:
    return Field(default=None, sa_type=sa.JSON, nullable=True, **kw)


class _Versioned(SQLModel):
    source: str = Field(primary_key=True)
    valid_from: datetime = Field(sa_type=sa.DateTime(timezone=True), primary_key=True)
    valid_to: datetime | None = _ts()
    run_id: int
    row_hash: str


class People(_Versioned, table=True):
    __tablename__ = "people"
    person_id: str = Field(primary_key=True)
    hire_date: datetime | None = _ts(primary_key=True, nullable=True)
    email: str | None = None
    aliases: str | None = None
    display_name: str | None = None
    department: str | None = None
    title: str | None = None
    manager_id: str | None = None
    employment_type: str | None = None
    status: str | None = None
    termination_date: datetime | None = _ts()
    effective_at: datetime | None = _ts()
    closed_run_id: int | None = None  # the run that closed the version (set valid_to)


class IdpUsers(_Versioned, table=True):
    __tablename__ = "idp_users"
    user_id: str = Field(primary_key=True)
    login: str | None = None
    email: str | None = None
    second_email: str | None = None
    display_name: str | None = None
    employee_number: str | None = None
    department: str | None = None
    title: str | None = None
    status: str | None = None
    created_at: datetime | None = _ts()
    status_changed_at: datetime | None = _ts()
    last_login_at: datetime | None = _ts()
    attributes: Any = _json()
    lifecycle: str | None = None  # staged | active | suspended | deprovisioned | deleted
    closed_run_id: int | None = None  # the run that closed the version (set valid_to)


class IdpGroups(_Versioned, table=True):
    __tablename__ = "idp_groups"
    group_id: str = Field(primary_key=True)
    name: str | None = None
    attributes: Any = _json()
    closed_run_id: int | None = None  # the run that closed the version (set valid_to)


class IdpGroupMembers(_Versioned, table=True):
    __tablename__ = "idp_group_members"
    group_id: str = Field(primary_key=True)
    user_id: str = Field(primary_key=True)
    closed_run_id: int | None = None  # the run that closed the version (set valid_to)


class GroupPush(_Versioned, table=True):
    __tablename__ = "group_push"
    app: str = Field(primary_key=True)
    group_id: str = Field(primary_key=True)
    target_group_name: str = Field(primary_key=True)
    closed_run_id: int | None = None  # the run that closed the version (set valid_to)


class Apps(_Versioned, table=True):
    __tablename__ = "apps"
    app_id: str = Field(primary_key=True)
    app: str | None = None
    status: str | None = None
    sign_on_mode: str | None = None
    attributes: Any = _json()
    closed_run_id: int | None = None  # the run that closed the version (set valid_to)


class Assignments(_Versioned, table=True):
    __tablename__ = "assignments"
    app: str = Field(primary_key=True)
    idp_user_id: str = Field(primary_key=True)
    user_name: str | None = None
    status: str | None = None
    scope: str | None = None
    assigned_at: datetime | None = _ts()
    groups: Any = _json()
    closed_run_id: int | None = None  # the run that closed the version (set valid_to)


class Accounts(_Versioned, table=True):
    __tablename__ = "accounts"
    app: str = Field(primary_key=True)
    account_id: str = Field(primary_key=True)
    user_name: str | None = None
    email: str | None = None
    external_id: str | None = None
    active: bool | None = None
    last_login_at: datetime | None = _ts()
    created_at: datetime | None = _ts()
    attributes: Any = _json()
    closed_run_id: int | None = None  # the run that closed the version (set valid_to)


class Grants(_Versioned, table=True):
    __tablename__ = "grants"
    app: str = Field(primary_key=True)
    account_id: str = Field(primary_key=True)
    entitlement: str = Field(primary_key=True)
    entitlement_type: str | None = None
    privileged: bool | None = None
    expires_at: datetime | None = _ts()
    closed_run_id: int | None = None  # the run that closed the version (set valid_to)


class Events(SQLModel, table=True):
    __tablename__ = "events"
    event_id: str = Field(primary_key=True)
    seq: int = Field(sa_type=sa.BigInteger)
    run_id: int
    source: str
    native_id: str | None = None
    native_type: str | None = None
    occurred_at: datetime | None = _ts()
    ingested_at: datetime | None = _ts()
    action: str
    outcome: str | None = None
    actor: str | None = None
    person_id: str | None = None
    app: str | None = None
    account_id: str | None = None
    entitlement: str | None = None
    details: Any = _json()
    inferred: bool = False
    raw: Any = _json()
    event_hash: str


class SyncRuns(SQLModel, table=True):
    __tablename__ = "sync_runs"
    run_id: int = Field(primary_key=True)
    source: str
    kind: str
    mode: str  # full | delta
    started_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    finished_at: datetime | None = _ts()
    as_of: datetime = Field(sa_type=sa.DateTime(timezone=True))
    # ok | failed: a failed run commits nothing else, only this row with its error (no digest,
    # no chain hash), so the log_integrity test can show whether it was re-run.
    status: str
    counts: Any = _json()
    # {"cursor": where the read stopped, "from": where it started} (live log sources)
    cursors: Any = _json()
    error: str | None = None
    digest: str | None = None
    chain_hash: str | None = None
    # sha256 over the hashes of the rows the run wrote (run_rows, in ord order); chain_hash
    # covers it too (close_run.sql). Null for a run that wrote no rows.
    rows_digest: str | None = None


class SyncPages(SQLModel, table=True):
    __tablename__ = "sync_pages"
    run_id: int = Field(primary_key=True)
    page: int = Field(primary_key=True)
    request: str
    sha256: str
    item_count: int
    total_results: int | None = None


class DetectRuns(SQLModel, table=True):
    __tablename__ = "detect_runs"
    run_id: int = Field(primary_key=True)
    as_of: datetime = Field(sa_type=sa.DateTime(timezone=True))
    started_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    finished_at: datetime | None = _ts()
    policy: Any = _json()
    policy_hash: str
    counts: Any = _json()


class Findings(SQLModel, table=True):
    __tablename__ = "findings"
    finding_id: str = Field(primary_key=True)
    kind: str
    subkind: str
    severity: str
    status: str  # open | resolved | accepted
    app: str | None = None
    account_id: str | None = None
    account: str | None = None
    person_id: str | None = None
    entitlement: str | None = None
    rule: str | None = None
    controls: Any = _json()
    first_seen_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    last_seen_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    resolved_at: datetime | None = _ts()
    explanation: str | None = None
    evidence: Any = _json()
    accepted_ticket: str | None = None
    accepted_owner: str | None = None
    accepted_until: datetime | None = _ts()


class SinkCursors(SQLModel, table=True):
    __tablename__ = "sink_cursors"
    sink: str = Field(primary_key=True)
    last_seq: int = Field(sa_type=sa.BigInteger)
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class DeadLetters(SQLModel, table=True):
    __tablename__ = "dead_letters"
    sink: str = Field(primary_key=True)
    event_id: str = Field(primary_key=True)
    seq: int = Field(sa_type=sa.BigInteger)
    reason: str
    document: Any = _json()
    refused_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class AccountOwners(SQLModel, table=True):
    """Who owns each account, as the identity matcher decided at the last detect run."""

    __tablename__ = "account_owners"
    app: str = Field(primary_key=True)
    account_id: str = Field(primary_key=True)
    user_name: str | None = None
    active: bool | None = None
    person_id: str | None = None
    person_kind: str | None = None  # hr | idp_only
    matched_by: str  # service_account | external_id | email | alias | login | none
    person_status: str | None = None  # active | leave | terminated
    termination_at: datetime | None = _ts()
    service_account: bool = False
    is_current: bool = True  # false: the account has since left the app's listing


class AccountFacts(SQLModel, table=True):
    """The matcher's result per account: account_owners' columns (a view of this table) plus the
    account's latest version, so detections read one table and a detect re-matches only the
    accounts whose inputs changed since the last one (see matching.py)."""

    __tablename__ = "account_facts"
    app: str = Field(primary_key=True)
    account_id: str = Field(primary_key=True)
    user_name: str | None = None
    active: bool | None = None
    person_id: str | None = None
    person_kind: str | None = None
    matched_by: str
    person_status: str | None = None
    termination_at: datetime | None = _ts()
    service_account: bool = False
    is_current: bool = True
    source: str | None = None
    email: str | None = None
    external_id: str | None = None
    last_login_at: datetime | None = _ts()
    created_at: datetime | None = _ts()
    valid_from: datetime | None = _ts()
    attributes: Any = _json()
    user_key: str | None = None
    email_key: str | None = None


class MatchState(SQLModel, table=True):
    """What account_facts was matched from: the detect run it is current to and a fingerprint
    of the rules (matcher SQL, service-account policy); a different fingerprint re-matches all."""

    __tablename__ = "match_state"
    name: str = Field(primary_key=True)
    run_id: int
    fingerprint: str
    matched_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class IdpUserOwners(SQLModel, table=True):
    """The HR person behind each current IdP user, as the matcher decided at the last detect run."""

    __tablename__ = "idp_user_owners"
    user_id: str = Field(primary_key=True)
    person_id: str | None = None  # null: no HR record, an idp_only person
    matched_by: str  # employee_number | email | none


class RunRows(SQLModel, table=True):
    """What each run wrote, one row per row written: a version opened or closed, a sync page,
    a finding as a detect run left it. `row_hash` is the canonical hash of the row as written
    (evidence/store/ledger.py); the run's rows_digest is sha256 over them in `ord` order."""

    __tablename__ = "run_rows"
    run_id: int = Field(primary_key=True)
    ord: int = Field(primary_key=True, sa_type=sa.BigInteger)
    table_name: str
    op: str  # open | close | page | write
    row_key: str  # the row's key as compact JSON, the way verify --store names it
    row_hash: str


class DigestRecomputations(SQLModel, table=True):
    """A migration that recomputed every run's rows digest and chain hash, and what it found."""

    __tablename__ = "digest_recomputations"
    version: int = Field(primary_key=True)
    applied_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    runs: int  # runs whose rows it recorded
    rows: int  # run_rows it wrote
    closes_unattributed: int  # closed versions no run could be found to have closed
    links_broken_before: int  # chain links that did not hold before the recomputation
    head_before: str | None = None
    head_after: str | None = None


class SupersededChainHashes(SQLModel, table=True):
    """Each run's chain hash before a migration recomputed it: a bundle signed earlier
    carries these."""

    __tablename__ = "superseded_chain_hashes"
    version: int = Field(primary_key=True)
    run_id: int = Field(primary_key=True)
    chain_hash: str | None = None


class SchemaVersion(SQLModel, table=True):
    __tablename__ = "schema_version"
    version: int = Field(primary_key=True)
    applied_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    description: str


TABLES: dict[str, type[SQLModel]] = {
    m.__tablename__: m  # type: ignore[misc]
    for m in (
        People,
        IdpUsers,
        IdpGroups,
        IdpGroupMembers,
        GroupPush,
        Apps,
        Assignments,
        Accounts,
        Grants,
        Events,
        SyncRuns,
        SyncPages,
        DetectRuns,
        Findings,
        SinkCursors,
        DeadLetters,
        AccountOwners,
        AccountFacts,
        MatchState,
        IdpUserOwners,
        RunRows,
        DigestRecomputations,
        SupersededChainHashes,
        SchemaVersion,
    )
}

VERSIONED: tuple[str, ...] = (
    "people",
    "idp_users",
    "idp_groups",
    "idp_group_members",
    "group_push",
    "apps",
    "assignments",
    "accounts",
    "grants",
)


def model_for(table: str) -> type[SQLModel]:
    """The model class of a table name from the allow-list."""
    return TABLES[table]
