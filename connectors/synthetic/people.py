"""Humans and their HR records: headcount per role, hires, moves, leaves, terminations,
renames, rehires, IdP-only identities, and the IdP (Okta or Entra) user of each."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from connectors.synthetic.catalog import (
    DOMAIN,
    EXTERNAL_DEPT,
    EXTERNAL_TITLES,
    FIRST_NAMES,
    LAST_NAMES,
    ROLES,
    RoleSpec,
)
from connectors.synthetic.clock import between, day_between
from connectors.synthetic.model import (
    HrRecord,
    Human,
    IdpUser,
    Ids,
    Tenant,
    day_end,
    day_start,
)

__all__ = ["build_people", "finish_idp", "MIN_PEOPLE"]

MIN_PEOPLE = 100
_HEADS = (
    "Director of Engineering",
    "VP of Sales",
    "Controller",
    "General Counsel",
    "Security Architect",
    "Support Team Lead",
    "Marketing Manager",
    "HR Business Partner",
    "Systems Engineer",
    "Product Manager",
    "Office Manager",
    "Chief Executive Officer",
)
_EXTERNAL_DOMAINS = {
    "Auditor": "auditfirm.example",
    "Board Member": "board.example",
    "Advisor": "advisors.example",
}


def _headcounts(n: int) -> list[tuple[RoleSpec, int]]:
    if n < MIN_PEOPLE:
        raise ValueError(f"people must be at least {MIN_PEOPLE}")
    rest = n - sum(r.fixed for r in ROLES)
    weighted = [r for r in ROLES if not r.fixed]
    total = sum(r.weight for r in weighted)
    exact = [(r, rest * r.weight / total) for r in weighted]
    counts = {r.title: int(x) for r, x in exact}
    short = rest - sum(counts.values())
    for r, _x in sorted(exact, key=lambda p: (-(p[1] - int(p[1])), p[0].title))[:short]:
        counts[r.title] += 1
    return [(r, r.fixed or counts[r.title]) for r in ROLES]


class _Emails:
    def __init__(self) -> None:
        self.taken: set[str] = set()

    def make(self, first: str, last: str, domain: str = DOMAIN) -> str:
        base = f"{first}.{last}".lower()
        n = 1
        while True:
            addr = f"{base}{'' if n == 1 else n}@{domain}"
            if addr not in self.taken:
                self.taken.add(addr)
                return addr
            n += 1


def build_people(t: Tenant, rng: random.Random) -> None:
    """Create every human with HR records (ids in hire order) and IdP-only identities."""
    T, P = t.as_of, t.period_start
    emails = _Emails()
    slots = [spec for spec, k in _headcounts(t.n_people) for _ in range(k)]
    rng.shuffle(slots)
    weighted = [r for r in ROLES if not r.fixed]
    for i, spec in enumerate(slots):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        h = Human(i, first, last, emails.make(first, last))
        x = rng.random()
        h.worker_type = (
            "Contractor"
            if x < spec.contractors
            else "Intern"
            if x < spec.contractors + spec.interns
            else "Employee"
        )
        fate = "active" if spec.fixed else _fate(rng.random())
        if fate == "term_old":
            term = day_between(
                rng, (T - timedelta(days=4 * 365)).date(), (P - timedelta(days=1)).date()
            )
            hire = day_between(rng, (T - timedelta(days=8 * 365)).date(), term - timedelta(days=90))
        elif fate == "term":
            term = day_between(rng, (P + timedelta(days=2)).date(), (T - timedelta(days=3)).date())
            hire = day_between(rng, (T - timedelta(days=8 * 365)).date(), term - timedelta(days=45))
        else:
            term = None
            recent = h.worker_type == "Intern" or rng.random() < 0.16
            lo = (P + timedelta(days=1)) if recent else (T - timedelta(days=8 * 365))
            hi = (T - timedelta(days=1)) if recent else P
            hire = day_between(rng, lo.date(), hi.date())
        h.start = day_start(hire) + timedelta(hours=9)
        h.segments = [(day_start(hire), spec.dept, spec.title)]
        if term is not None:
            h.end = day_end(term)
            h.status = "terminated"
        elif fate == "leave" and hire < (T - timedelta(days=120)).date():
            h.status = "leave"
            h.leave_start = day_between(
                rng, (T - timedelta(days=70)).date(), (T - timedelta(days=7)).date()
            )
        # Background movers: the role they hold now is the slot's; they came from another.
        last_day = (h.end - timedelta(days=10)).date() if h.end else (T - timedelta(days=10)).date()
        first_day = max(hire + timedelta(days=60), (P - timedelta(days=120)).date())
        if not spec.fixed and rng.random() < 0.06 and first_day < last_day:
            same = [r for r in weighted if r.dept == spec.dept and r.title != spec.title]
            old = rng.choice(same or [r for r in weighted if r.title != spec.title])
            moved = day_start(day_between(rng, first_day, last_day))
            h.segments = [(day_start(hire), old.dept, old.title), (moved, spec.dept, spec.title)]
        h.records.append(
            HrRecord("", h, hire, term, _status(h), h.worker_type, spec.dept, spec.title)
        )
        t.humans.append(h)
    _external(t, rng, emails)


def _fate(x: float) -> str:
    if x < 0.04:
        return "term_old"
    if x < 0.13:
        return "term"
    if x < 0.15:
        return "leave"
    return "active"


def _status(h: Human) -> str:
    return {"active": "Active", "leave": "On Leave", "terminated": "Terminated"}[h.status]


def _external(t: Tenant, rng: random.Random, emails: _Emails) -> None:
    """IdP users with no HR record: auditors, board members, advisors."""
    k = max(6, t.n_people // 250)
    base = len(t.humans)
    for j in range(k):
        title = EXTERNAL_TITLES[j % len(EXTERNAL_TITLES)]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        h = Human(base + j, first, last, emails.make(first, last, _EXTERNAL_DOMAINS[title]))
        h.idp_only = True
        h.worker_type = "External"
        start = between(rng, t.as_of - timedelta(days=900), t.period_start)
        h.start = start
        h.segments = [(start, EXTERNAL_DEPT, title)]
        t.humans.append(h)


def assign_ids(t: Tenant) -> None:
    """Employee ids in hire order (E… employees and interns, C… contractors); managers."""
    records = sorted((r for h in t.humans for r in h.records), key=lambda r: (r.hire, r.human.hid))
    counters = {"E": 10001, "C": 20001}
    shared: dict[int, str] = {}
    for r in records:
        if r.pid:
            continue
        if r.human.hid in shared and r.human.same_id:
            r.pid = shared[r.human.hid]
            continue
        prefix = "C" if r.worker_type == "Contractor" else "E"
        r.pid = f"{prefix}{counters[prefix]}"
        counters[prefix] += 1
        shared[r.human.hid] = r.pid
    heads: dict[str, str] = {}
    ceo = ""
    for h in t.humans:
        if h.idp_only or h.status == "terminated" or h.title not in _HEADS:
            continue
        if h.title == "Chief Executive Officer":
            ceo = h.pid or ""
        heads.setdefault(h.dept, h.pid or "")
    for h in t.humans:
        if h.idp_only:
            continue
        boss = heads.get(h.dept, ceo)
        h.manager_id = ceo if boss == h.pid else boss
        if h.title == "Chief Executive Officer":
            h.manager_id = ""


def finish_idp(t: Tenant, rng: random.Random, ids: Ids) -> None:
    """One Okta user per human (some long-gone leavers were deleted), status from lifecycle."""
    T = t.as_of
    for h in t.humans:
        if h.status == "terminated" and h.end is not None and h.end < t.period_start:
            if rng.random() < 0.5:
                continue  # deleted from Okta long ago
        first_start = day_start(min(r.hire for r in h.records)) if h.records else h.start
        assert first_start is not None
        created = max(first_start - timedelta(days=7), T - timedelta(days=6 * 365))
        created = created.replace(hour=0) + timedelta(hours=15, seconds=rng.randint(0, 7200))
        activated = created + timedelta(days=rng.randint(1, 6), hours=2)
        if h.start and activated > h.start:
            activated = h.start - timedelta(hours=1)
        uid = ids.uuid() if t.idp == "entra" else ids.okta("00u")
        u = IdpUser(uid, h, h.email, "ACTIVE", created, activated, activated)
        u.email = h.email
        u.employee_number = None if h.idp_only else h.pid
        if t.idp == "entra" and h.rehired is not None and not h.same_id:
            # Rehired under a new id: the Entra user (re-enabled) never got the new employeeId,
            # so only the email links it to HR, which also holds the old, terminated record.
            u.employee_number = None
        u.password_changed = activated
        h.idp = u
        t.idp_users.append(u)
        _status_of(t, h, u, rng)


def _status_of(t: Tenant, h: Human, u: IdpUser, rng: random.Random) -> None:
    T = t.as_of
    if h.status == "terminated" and h.deprov not in ("never", "grace"):
        u.status = "DEPROVISIONED"
        assert h.end is not None
        u.status_changed = h.end + h.deprov_delay
        u.password_changed = None
    elif h.status == "leave" and (h.idp_only or h.hid % 2 == 0 or t.idp == "entra"):
        # Entra blocks sign-in for every leave (accountEnabled false); Okta suspends half.
        u.status = "SUSPENDED"
        leave = h.leave_start or (T - timedelta(days=20)).date()
        u.status_changed = datetime.combine(leave, time(8, 30), T.tzinfo)
    elif h.rehired is not None:
        u.status_changed = h.rehired - timedelta(hours=2)
    elif h.start is not None and h.start > T - timedelta(days=3) and not h.idp_only:
        u.status = "PROVISIONED"
        u.status_changed = u.activated
        u.password_changed = None
    u.last_updated = max(d for d in (u.status_changed, u.activated, u.created) if d)
