"""The in-memory tenant the exports are written from: humans, HR records, IdP users, apps,
accounts, assignments, activity (future System Log events) and the expected findings."""

from __future__ import annotations

import base64
import random
import string
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from connectors.synthetic.catalog import AppTemplate

__all__ = [
    "Ids",
    "Human",
    "HrRecord",
    "IdpUser",
    "App",
    "Account",
    "Assignment",
    "OktaGroup",
    "Activity",
    "Tenant",
    "day_start",
    "day_end",
    "iso",
    "iso_ms",
]

_B62 = string.digits + string.ascii_letters


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(), UTC)


def day_end(d: date) -> datetime:
    """End of a termination day (the last working day), as the HR reader reads it."""
    return datetime.combine(d, time(23, 59, 59, 999999), UTC)


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat(timespec="seconds")[:-6] + "Z"


def iso_ms(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class Ids:
    """Vendor-shaped identifiers drawn from one seeded stream, unique by construction: every
    id is checked against `seen`, which several streams of one tenant may share. A redraw
    happens only on a collision, so sizes where none occurs draw exactly the same ids."""

    def __init__(self, rng: random.Random, seen: set[str] | None = None) -> None:
        self.rng = rng
        self.seen: set[str] = set() if seen is None else seen

    def fresh(self, v: str) -> bool:
        """True (and `v` taken) when no id drawn so far is `v`."""
        if v in self.seen:
            return False
        self.seen.add(v)
        return True

    def okta(self, prefix: str) -> str:
        while True:
            v = prefix + "".join(self.rng.choices(_B62, k=17))
            if self.fresh(v):
                return v

    def uuid(self) -> str:
        while True:
            n = self.rng.getrandbits(128)
            n = (n & ~(0xF << 76)) | (4 << 76)
            n = (n & ~(0x3 << 62)) | (0x2 << 62)
            h = f"{n:032x}"
            v = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            if self.fresh(v):
                return v

    def token(self, n: int = 27) -> str:
        """An opaque value of n url-safe characters (request and transaction ids: not checked
        for uniqueness, they name no object)."""
        raw = self.rng.getrandbits(n * 6).to_bytes((n * 6 + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).decode()[:n]

    def unique_token(self, n: int = 43) -> str:
        """An opaque object id (Graph appRoleAssignment ids), never drawn before."""
        while True:
            v = self.token(n)
            if self.fresh(v):
                return v


@dataclass(eq=False)
class HrRecord:
    pid: str
    human: Human
    hire: date
    term: date | None
    status: str  # Active | On Leave | Terminated (at as_of)
    worker_type: str
    dept: str  # role of this record when it is not the human's current one
    title: str


@dataclass(eq=False)
class Human:
    """One real person (or an IdP-only identity), with every HR record they have."""

    hid: int
    first: str
    last: str
    email: str  # current address, lower case
    worker_type: str = "Employee"
    records: list[HrRecord] = field(default_factory=list)
    idp: IdpUser | None = None
    # (effective instant, department, title), oldest first; the last is current.
    segments: list[tuple[datetime, str, str]] = field(default_factory=list)
    start: datetime | None = None  # current employment start
    end: datetime | None = None  # termination instant (end of last day), if terminated
    status: str = "active"  # active | leave | terminated
    leave_start: date | None = None
    old_email: str | None = None
    old_last: str | None = None
    renamed_at: datetime | None = None
    rehired: datetime | None = None  # old employment ended, then this re-hire instant
    same_id: bool = False  # the re-hire reuses the old employee id
    old_end: datetime | None = None
    manager_id: str = ""
    email_raw: str = ""  # as written in the HR export
    deprov: str = "ontime"  # ontime | late | never | missed_csv | scim_failed | grace
    deprov_delay: timedelta = timedelta(hours=2)
    deprov_app: str | None = None
    keep: list[tuple[str, str]] = field(default_factory=list)  # mover residue (app, ent)
    last_active: datetime | None = None
    used: str = ""  # injection or hazard that claimed this human
    idp_only: bool = False

    @property
    def dept(self) -> str:
        return self.segments[-1][1]

    @property
    def title(self) -> str:
        return self.segments[-1][2]

    @property
    def display(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def pid(self) -> str | None:
        return self.records[-1].pid if self.records else None


@dataclass(eq=False)
class IdpUser:
    uid: str
    human: Human
    login: str
    status: str  # ACTIVE | PROVISIONED | SUSPENDED | DEPROVISIONED | ...
    created: datetime
    activated: datetime | None
    status_changed: datetime | None
    last_login: datetime | None = None
    password_changed: datetime | None = None
    last_updated: datetime | None = None
    employee_number: str | None = None
    email: str = ""
    # Entra only: soft-deleted at this instant (listed in deletedItems, restorable 30 days).
    deleted_at: datetime | None = None

    @property
    def enabled(self) -> bool:
        """Entra accountEnabled: leave (SUSPENDED) and leavers (DEPROVISIONED) are disabled."""
        return self.status not in ("SUSPENDED", "DEPROVISIONED")


@dataclass(eq=False)
class App:
    tpl: AppTemplate
    okta_id: str | None
    created: datetime
    scim_base: str
    groups: dict[str, str] = field(default_factory=dict)  # app group name -> app group id

    @property
    def name(self) -> str:
        return self.tpl.name

    @property
    def kind(self) -> str:
        return self.tpl.kind

    @property
    def okta(self) -> bool:
        """Managed by the IdP (Okta, or Entra in entra mode): it has assignments."""
        return self.tpl.kind in ("scim_okta", "csv_okta")

    @property
    def scim(self) -> bool:
        return self.tpl.kind == "scim_okta"

    @property
    def reports_login(self) -> bool:
        return self.tpl.kind in ("csv_okta", "csv_only")


@dataclass(eq=False)
class Account:
    app: App
    account_id: str
    user_name: str
    human: Human | None
    created: datetime
    active: bool = True
    modified: datetime | None = None
    email: str | None = None  # as the app reports it
    display_name: str | None = None
    department: str | None = None
    title: str | None = None
    first: str | None = None
    last: str | None = None
    external_id: str | None = None
    last_login: datetime | None = None
    groups: list[str] = field(default_factory=list)  # app groups held (actual)
    pushed: list[str] = field(default_factory=list)  # app groups the IdP pushes (desired)
    roles: list[str] = field(default_factory=list)
    ents: list[str] = field(default_factory=list)
    granted: dict[str, datetime] = field(default_factory=dict)
    deleted: bool = False  # gone from the app's listing
    deactivated_at: datetime | None = None
    stale_group_member: bool = False  # inactive, yet still listed in its app groups
    service_owner: str | None = None
    pinned_login: bool = False  # last_login set on purpose; no IdP sign-in after it
    assignment: Assignment | None = None

    def entitlements(self) -> list[str]:
        return [*self.groups, *self.roles, *self.ents]


@dataclass(eq=False)
class Assignment:
    app: App
    user: IdpUser
    user_name: str
    created: datetime
    account: Account | None
    status: str = "PROVISIONED"
    sync_state: str = "SYNCHRONIZED"
    removed: bool = False


@dataclass(eq=False)
class OktaGroup:
    gid: str
    name: str
    description: str
    created: datetime
    kind: str = "OKTA_GROUP"
    members: list[IdpUser] = field(default_factory=list)
    app: App | None = None  # pushed to this app ...
    target: str | None = None  # ... as this app group
    mapping_id: str | None = None
    # Entra only: groups nested in this one (Entra cascades no assignment to their members).
    nested: list[OktaGroup] = field(default_factory=list)


@dataclass
class Activity:
    """One future System Log event, rendered by okta_log."""

    at: datetime
    event_type: str
    user: IdpUser | None = None
    app: App | None = None
    account: Account | None = None
    group: str | None = None  # Okta group name (UserGroup) or app group (AppGroup)
    group_kind: str = "UserGroup"
    actor: str = "admin"  # admin | system | self
    outcome: str = "SUCCESS"
    reason: str | None = None
    change: dict[str, dict[str, str | None]] | None = None
    debug: dict[str, str] | None = None


@dataclass
class Tenant:
    seed: int
    as_of: datetime
    n_people: int
    n_apps: int
    humans: list[Human] = field(default_factory=list)
    idp_users: list[IdpUser] = field(default_factory=list)
    apps: list[App] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    groups: list[OktaGroup] = field(default_factory=list)
    activity: list[Activity] = field(default_factory=list)
    truth: list[dict[str, str]] = field(default_factory=list)
    hazards: list[str] = field(default_factory=list)
    service_accounts: list[dict[str, str]] = field(default_factory=list)
    accepted_risks: list[dict[str, str]] = field(default_factory=list)
    admin: IdpUser | None = None
    history_dates: list[date] = field(default_factory=list)
    # (dept, title, app, entitlement) an injection gave one member of a role: never twice.
    claimed: set[tuple[str, str, str, str]] = field(default_factory=set)
    idp: str = "okta"  # okta | entra: which IdP manages the managed apps
    entra_tenant: str = ""  # the Entra tenant id (entra mode)
    ids_seen: set[str] = field(default_factory=set)  # every object id drawn, all streams
    late_variants: int = 0  # entra: late SCIM deprovisionings given a failed first attempt

    period_start: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.period_start = self.as_of - timedelta(days=365)

    def app(self, name: str) -> App | None:
        for a in self.apps:
            if a.name == name:
                return a
        return None

    def find(self, kind: str, subkind: str, app: str, account: str, **extra: str) -> None:
        """Record one expected finding."""
        self.truth.append(
            {"kind": kind, "subkind": subkind, "app": app, "account": account, **extra}
        )
