"""CSV exports: the HR worker report (now and at earlier dates) and apps' own user lists."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from connectors.synthetic.jsonio import write_csv
from connectors.synthetic.model import Account, App, HrRecord, Tenant, day_end, day_start, iso

__all__ = ["write_hr", "write_app_csvs", "history_dates", "HR_COLUMNS", "CSV_COLUMNS", "CSV_ACTIVE"]

HR_COLUMNS = {
    "person_id": "Employee ID",
    "email": "Work Email",
    "display_name": "Legal Name",
    "department": "Department",
    "title": "Job Title",
    "manager_id": "Manager ID",
    "employment_type": "Worker Type",
    "status": "Worker Status",
    "hire_date": "Hire Date",
    "termination_date": "Termination Date",
    "aliases": "Aliases",
    "effective_date": "Effective Date",
}
# app_export canonical field → header, per CSV layout
CSV_COLUMNS = {
    "a": {
        "account_id": "User ID",
        "user_name": "Username",
        "email": "Email",
        "active": "Status",
        "last_login_at": "Last Login",
        "created_at": "Created",
        "entitlements": "Roles",
        "display_name": "Display Name",
        "department": "Department",
    },
    "b": {
        "account_id": "Account ID",
        "user_name": "Login",
        "display_name": "Name",
        "active": "State",
        "last_login_at": "Last Activity",
        "created_at": "Created At",
        "entitlements": "Permissions",
    },
}
CSV_ACTIVE = {
    "a": {"Active": True, "Suspended": False, "Deactivated": False},
    "b": {"enabled": True, "disabled": False},
}


def _row(t: Tenant, r: HrRecord, at: datetime) -> list[str] | None:
    """The record as the HR report printed it at `at` (None: not hired yet)."""
    h = r.human
    if day_start(r.hire) > at:
        return None
    current = r is h.records[-1]
    seg = h.segments[0]
    for s in h.segments:
        if s[0] <= at:
            seg = s
    dept, title = (seg[1], seg[2]) if current else (r.dept, r.title)
    effective = seg[0].date() if current and seg is not h.segments[0] else r.hire
    status, term = "Active", ""
    if r.term is not None and day_end(r.term) < at:
        status, term = "Terminated", r.term.isoformat()
    elif r.term is not None and at >= t.as_of:
        term = r.term.isoformat()  # a notice period already known
        status = "Terminated" if r.status == "Terminated" else status
    elif current and h.leave_start is not None and day_start(h.leave_start) <= at:
        status = "On Leave"
    renamed = h.renamed_at is not None and h.renamed_at <= at
    email = h.email_raw if (renamed or h.old_email is None) else (h.old_email or "")
    aliases = h.old_email or "" if renamed else ""
    last = h.last if (renamed or h.old_last is None) else h.old_last
    return [
        r.pid,
        email,
        f"{h.first} {last}",
        dept,
        title,
        h.manager_id if current else "",
        r.worker_type,
        status,
        r.hire.isoformat(),
        term,
        aliases,
        effective.isoformat(),
    ]


def write_hr(t: Tenant, folder: Path) -> list[Path]:
    """workers.csv now, and workers-YYYY-MM-DD.csv at each earlier snapshot date."""
    records = sorted((r for h in t.humans for r in h.records), key=lambda r: (r.pid, r.hire))
    header = list(HR_COLUMNS.values())
    written = []
    snapshots: list[tuple[str, datetime]] = [
        (f"workers-{d.isoformat()}.csv", day_start(d)) for d in t.history_dates
    ] + [("workers.csv", t.as_of)]
    for name, at in snapshots:
        rows = [row for r in records if (row := _row(t, r, at)) is not None]
        write_csv(folder / name, header, rows)
        written.append(folder / name)
    return written


def _status(a: Account, fmt: str, t: Tenant) -> str:
    if fmt == "b":
        return "enabled" if a.active else "disabled"
    if a.active:
        return "Active"
    recent = a.deactivated_at is not None and (t.as_of - a.deactivated_at).days < 30
    return "Suspended" if recent else "Deactivated"


def write_app_csvs(t: Tenant, folder: Path) -> dict[str, int]:
    """sources/apps/<app>.csv for every app whose state comes from its own export."""
    counts: dict[str, int] = {}
    for app in t.apps:
        if app.scim:
            continue
        fmt = app.tpl.csv_format
        accounts = sorted(
            (a for a in t.accounts if a.app is app and not a.deleted),
            key=lambda a: (a.created, a.account_id),
        )
        rows = [_csv_row(a, app, fmt, t) for a in accounts]
        write_csv(folder / f"{app.name}.csv", list(CSV_COLUMNS[fmt].values()), rows)
        counts[app.name] = len(rows)
    return counts


def _csv_row(a: Account, app: App, fmt: str, t: Tenant) -> list[str]:
    roles = ";".join(a.entitlements())
    if fmt == "b":
        return [
            a.account_id,
            a.user_name,
            a.display_name or "",
            _status(a, fmt, t),
            iso(a.last_login) or "never",
            iso(a.created) or "",
            roles,
        ]
    dept = a.department or "" if "department" in app.tpl.reports else ""
    return [
        a.account_id,
        a.user_name,
        a.email or "",
        _status(a, fmt, t),
        iso(a.last_login) or "",
        iso(a.created) or "",
        roles,
        a.display_name or "",
        dept,
    ]


def history_dates(as_of: datetime) -> list[date]:
    """Dates of the earlier HR snapshots: quarterly, the oldest nine months back."""
    return [(as_of - timedelta(days=d)).date() for d in (270, 180, 90)]
