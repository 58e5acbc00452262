"""Entra provisioning logs (GET /v1.0/auditLogs/provisioning `value` records), oldest first.

Outbound (Entra → SCIM app) records come from the tenant's provisioning activity: create,
disable (some failed or skipped), delete, stagedDelete (held back by accidental-deletion
prevention), update (attribute changes, re-enables) and group membership updates of the groups
assigned to an app. Inbound (HR → Entra, API-driven) records come from the HR lifecycle: user
create, update (moves, renames, leave) and disable; they are about Entra users, never about an
app account. Out-of-scope users give skipped records that change nothing. The whole period is
written, as a log archive (diagnostic settings) would hold it; Graph itself keeps 30 days.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.synthetic.clock import between, seconds
from connectors.synthetic.jsonio import dumps
from connectors.synthetic.model import Account, Activity, App, Human, IdpUser, Ids, Tenant

__all__ = ["EntraApps", "render_provisioning", "DIRECTORY", "HR_SYSTEM", "INBOUND_APP"]

DIRECTORY = "Microsoft Entra ID"
_DIRECTORY_OLD = "Azure Active Directory"  # what older jobs and outbound records still say
HR_SYSTEM = "Acme HR"
INBOUND_APP = "Acme HR Inbound"  # the API-driven inbound provisioning app (HR → Entra)
_INITIATOR = {"id": "", "displayName": "Azure AD Provisioning Service", "initiatorType": "system"}
_SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
_SCIM_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
_FAILURES = (
    (
        "SystemForCrossDomainIdentityManagementServiceUnavailable",
        "The SCIM endpoint answered HTTP 503 Service Unavailable; the disable will be retried.",
    ),
    (
        "SystemForCrossDomainIdentityManagementThrottled",
        "The SCIM endpoint answered HTTP 429 Too Many Requests; the disable will be retried.",
    ),
)


@dataclass(frozen=True)
class EntraApps:
    """Ids the listings and the logs share: each managed app's appId and app role, and the
    inbound provisioning app's service principal and appId."""

    app_ids: dict[str, str]
    roles: dict[str, str]
    inbound_sp: str
    inbound_app: str


def _when(dt: datetime) -> str:
    """Graph's 7-digit fractional seconds."""
    dt = dt.astimezone(UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond:06d}0Z"


def _prop(name: str, old: Any, new: Any) -> dict[str, Any]:
    return {"displayName": name, "oldValue": old, "newValue": new}


class _Log:
    def __init__(self, t: Tenant, ids: Ids, rng: random.Random, apps: EntraApps) -> None:
        self.t, self.ids, self.rng, self.apps = t, ids, rng, apps
        tid = t.entra_tenant.replace("-", "")
        self.tid = tid
        self.jobs = {
            a.name: f"{a.tpl.label.replace(' ', '')}OutDelta.{tid}.{ids.uuid().replace('-', '')}"
            for a in t.apps
            if a.scim
        }
        self.inbound_job = f"API2AAD.{tid}.{ids.uuid().replace('-', '')}"
        self.cycles: dict[tuple[str, str], str] = {}
        self.groups = {(g.app.name, g.target): g for g in t.groups if g.app and g.target}
        self.rows: list[tuple[str, str, str]] = []
        self.n = 0

    # -- records ---------------------------------------------------------------------------
    def emit(
        self,
        at: datetime,
        action: str,
        status: str,
        *,
        job: str,
        source_system: dict[str, Any],
        target_system: dict[str, Any],
        source: dict[str, Any],
        target: dict[str, Any],
        sp: dict[str, Any],
        props: list[dict[str, Any]],
        step: str,
        error: tuple[str, str] | None = None,
    ) -> None:
        t = self.t
        if not t.period_start <= at < t.as_of:
            return
        self.n += 1
        key = (job, at.date().isoformat())
        if key not in self.cycles:
            self.cycles[key] = self.ids.uuid()
        export = "success" if status == "success" else status
        steps = [
            {
                "name": "EntryImport",
                "provisioningStepType": "import",
                "status": "success",
                "description": f"Retrieved {source.get('displayName') or ''} from the source",
                "details": {},
            },
            {
                "name": "EntrySynchronizationScoping",
                "provisioningStepType": "scoping",
                "status": "skipped" if step == "scope" else "success",
                "description": "Out of scope: not assigned to the application"
                if step == "scope"
                else "In scope",
                "details": {},
            },
            {
                "name": f"EntryExport{action[:1].upper()}{action[1:]}",
                "provisioningStepType": "export",
                "status": export,
                "description": step,
                "details": {},
            },
        ]
        if self.n % 25 == 7:
            # The SCIM bearer token leaks into step details now and then: redaction must catch it.
            steps[2]["details"] = {"SecretToken": self.ids.token(40)}
        rid = self.ids.uuid()
        rec = {
            "id": rid,
            "activityDateTime": _when(at),
            "tenantId": t.entra_tenant,
            "jobId": job,
            "cycleId": self.cycles[key],
            "changeId": self.ids.uuid(),
            "provisioningAction": action,
            "durationInMilliseconds": self.rng.randint(180, 4200),
            "provisioningStatusInfo": {
                "status": status,
                "errorInformation": None
                if error is None
                else {
                    "errorCode": error[0],
                    "reason": error[1],
                    "errorCategory": "NonServiceFailure",
                    "recommendedAction": "Check the target application's availability.",
                    "additionalDetails": None,
                },
            },
            "provisioningSteps": steps,
            "modifiedProperties": props,
            "initiatedBy": _INITIATOR,
            "servicePrincipal": sp,
            "sourceSystem": source_system,
            "targetSystem": target_system,
            "sourceIdentity": source,
            "targetIdentity": target,
        }
        self.rows.append((rec["activityDateTime"], rid, dumps(rec)))

    def outbound(
        self,
        at: datetime,
        app: App,
        action: str,
        status: str,
        source: dict[str, Any],
        target: dict[str, Any],
        props: list[dict[str, Any]],
        step: str,
        error: tuple[str, str] | None = None,
    ) -> None:
        sp = {"id": app.okta_id, "displayName": app.tpl.label}
        self.emit(
            at,
            action,
            status,
            job=self.jobs[app.name],
            source_system={"id": self.t.entra_tenant, "displayName": _DIRECTORY_OLD, "details": {}},
            target_system={
                "id": self.jobs[app.name].split(".")[0],
                "displayName": app.tpl.label,
                "details": {
                    "ApplicationId": self.apps.app_ids[app.name],
                    "ServicePrincipalId": app.okta_id,
                    "ServicePrincipalDisplayName": app.tpl.label,
                },
            },
            source=source,
            target=target,
            sp=sp,
            props=props,
            step=step,
            error=error,
        )

    @staticmethod
    def user(u: IdpUser) -> dict[str, Any]:
        return {
            "id": u.uid,
            "displayName": u.human.display,
            "identityType": "User",
            "details": {"UserPrincipalName": u.login},
        }

    @staticmethod
    def account(a: Account | None) -> dict[str, Any]:
        if a is None:
            return {"id": "", "displayName": "", "identityType": _SCIM_USER, "details": {}}
        return {
            "id": a.account_id,
            "displayName": a.user_name,
            "identityType": _SCIM_USER,
            "details": {},
        }

    # -- outbound, from the provisioning activity -------------------------------------------
    def activity(self, ev: Activity) -> None:
        app, a, u = ev.app, ev.account, ev.user
        if app is None or not app.scim or u is None:
            return
        et = ev.event_type
        if et in ("group.user_membership.add", "group.user_membership.remove"):
            self.membership(ev)
            return
        if a is None:
            return
        src, tgt = self.user(u), self.account(a)
        if et == "application.provision.user.push":
            props = [
                _prop("userName", None, a.user_name),
                _prop("active", None, "True"),
                _prop("externalId", None, u.uid),
            ]
            if a.email:
                props.append(_prop('emails[type eq "work"].value', None, a.email))
            self.outbound(ev.at, app, "create", "success", src, tgt, props, "Created the user")
        elif et == "application.provision.user.deactivate":
            if ev.outcome == "FAILURE":
                err = _FAILURES[0] if ev.reason else _FAILURES[1]
                props = [_prop("active", "True", "False")]
                self.outbound(ev.at, app, "disable", "failure", src, tgt, props, "Failed", err)
            elif ev.outcome == "SKIPPED":
                self.outbound(
                    ev.at,
                    app,
                    "disable",
                    "skipped",
                    src,
                    tgt,
                    [],
                    "Skipped: the user's entitlement is being re-evaluated",
                )
            elif a.deleted and a.deactivated_at is not None and ev.at >= a.deactivated_at:
                self.outbound(ev.at, app, "delete", "success", src, tgt, [], "Deleted the user")
            else:
                props = [_prop("active", "True", "False")]
                self.outbound(ev.at, app, "disable", "success", src, tgt, props, "Disabled")
        elif et == "entra.stagedDelete":
            self.outbound(
                ev.at,
                app,
                "stagedDelete",
                "skipped",
                src,
                tgt,
                [],
                "Held: the cycle exceeded the accidental deletions threshold; awaiting an admin",
            )
        elif et == "application.provision.user.reactivate":
            props = [_prop("active", "False", "True")]
            self.outbound(ev.at, app, "update", "success", src, tgt, props, "Re-enabled the user")
        elif et == "application.provision.user.push_profile":
            h = u.human
            # Entra repeats unchanged values with no old value: that is no activation.
            props = [_prop("active", None, "True")]
            if a.email and h.old_email:
                props.append(_prop('emails[type eq "work"].value', h.old_email, h.email))
            self.outbound(ev.at, app, "update", "success", src, tgt, props, "Updated the user")

    def membership(self, ev: Activity) -> None:
        """A member added to (removed from) a group assigned to the app, as the group's update."""
        app, a = ev.app, ev.account
        assert app is not None
        prefix = f"{app.tpl.label} - "
        if a is None or ev.group is None or not ev.group.startswith(prefix):
            return
        name = ev.group[len(prefix) :]
        g = self.groups.get((app.name, name))
        if g is None:
            return
        member = dumps([a.account_id])
        add = ev.event_type.endswith(".add")
        self.outbound(
            ev.at,
            app,
            "update",
            "success",
            {"id": g.gid, "displayName": g.name, "identityType": "Group", "details": {}},
            {
                "id": app.groups.get(name, ""),
                "displayName": name,
                "identityType": _SCIM_GROUP,
                "details": {},
            },
            [_prop("members", None, member) if add else _prop("members", member, None)],
            "Added a member" if add else "Removed a member",
        )

    def out_of_scope(self) -> None:
        """Users the job evaluated and skipped: not assigned to the app. They change nothing."""
        t, rng = self.t, self.rng
        scim = [a for a in t.apps if a.scim]
        holds = {(a.app.name, a.human.hid) for a in t.accounts if a.human is not None}
        holds |= {(x.app.name, x.user.human.hid) for x in t.assignments}
        people = [h for h in t.humans if h.idp and h.idp.enabled and h.idp.deleted_at is None]
        want, tries = max(4, t.n_people // 100), 0
        while want and tries < 50 * max(4, t.n_people // 100):
            tries += 1
            h = rng.choice(people)
            app = rng.choice(scim)
            if (app.name, h.hid) in holds or h.idp is None:
                continue
            want -= 1
            at = between(rng, t.period_start, t.as_of - timedelta(hours=1))
            self.outbound(
                at, app, "other", "skipped", self.user(h.idp), self.account(None), [], "scope"
            )

    # -- inbound, from the HR lifecycle ----------------------------------------------------
    def inbound(
        self,
        at: datetime,
        h: Human,
        action: str,
        status: str,
        props: list[dict[str, Any]],
        step: str,
        pid: str | None = None,
        error: tuple[str, str] | None = None,
    ) -> None:
        u = h.idp
        assert u is not None
        sp = {"id": self.apps.inbound_sp, "displayName": INBOUND_APP}
        directory = _DIRECTORY_OLD if self.rng.random() < 0.3 else DIRECTORY
        self.emit(
            at,
            action,
            status,
            job=self.inbound_job,
            source_system={"id": "acme-hr", "displayName": HR_SYSTEM, "details": {}},
            target_system={
                "id": self.t.entra_tenant,
                "displayName": directory,
                "details": {
                    "ApplicationId": self.apps.inbound_app,
                    "ServicePrincipalId": self.apps.inbound_sp,
                    "ServicePrincipalDisplayName": INBOUND_APP,
                },
            },
            source={
                "id": pid or h.pid or "",
                "displayName": h.display,
                "identityType": "User",
                "details": {},
            },
            target=self.user(u),
            sp=sp,
            props=props,
            step=step,
            error=error,
        )

    def hr_lifecycle(self, h: Human) -> None:
        u, rng = h.idp, self.rng
        if u is None or h.idp_only:
            return
        first = h.records[0].pid
        self.inbound(
            u.created,
            h,
            "create",
            "success",
            [
                _prop("employeeId", None, first),
                _prop("userPrincipalName", None, u.login),
                _prop("accountEnabled", None, "True"),
                _prop("department", None, h.segments[0][1]),
                _prop("jobTitle", None, h.segments[0][2]),
            ],
            "Created the user from the HR record",
            pid=first,
        )
        if len(h.segments) > 1:
            at, dept, title = h.segments[-1]
            _, old_dept, old_title = h.segments[-2]
            props = [_prop("department", old_dept, dept), _prop("jobTitle", old_title, title)]
            self.inbound(at + timedelta(hours=7), h, "update", "success", props, "Updated")
        if h.renamed_at is not None and h.old_email:
            props = [
                _prop("mail", h.old_email, h.email),
                _prop("userPrincipalName", h.old_email, h.email),
            ]
            self.inbound(h.renamed_at, h, "update", "success", props, "Updated")
        if h.old_end is not None and h.rehired is not None:
            old = h.records[0].pid
            self.inbound(
                h.old_end + h.deprov_delay,
                h,
                "disable",
                "success",
                [_prop("accountEnabled", "True", "False")],
                "Disabled",
                pid=old,
            )
            self.inbound(
                h.rehired - timedelta(hours=2),
                h,
                "update",
                "success",
                [_prop("accountEnabled", "False", "True")],
                "Re-enabled",
            )
        if u.status == "SUSPENDED" and u.status_changed is not None:
            self.inbound(
                u.status_changed,
                h,
                "update",
                "success",
                [_prop("accountEnabled", "True", "False")],
                "Leave: sign-in blocked",
            )
        if u.status == "DEPROVISIONED" and u.status_changed is not None:
            props = [_prop("accountEnabled", "True", "False")]
            if rng.random() < 0.25:
                self.inbound(
                    u.status_changed - seconds(rng, 1800, 5400),
                    h,
                    "disable",
                    "failure",
                    props,
                    "Failed",
                    error=_INBOUND_FAILURE,
                )
            self.inbound(u.status_changed, h, "disable", "success", props, "Disabled")
        if h.deprov == "never" and h.end is not None:
            # The termination never reached Entra: the disable failed and was never retried.
            at = h.end + timedelta(hours=rng.randint(1, 3))
            self.inbound(
                at,
                h,
                "disable",
                "failure",
                [_prop("accountEnabled", "True", "False")],
                "Failed",
                error=_INBOUND_FAILURE,
            )


_INBOUND_FAILURE = (
    "AzureActiveDirectoryConflictEntry",
    "The user could not be updated: another object holds the same value of userPrincipalName.",
)


def render_provisioning(t: Tenant, ids: Ids, rng: random.Random, apps: EntraApps) -> list[str]:
    """Every provisioning record inside the period, serialised, by activityDateTime then id."""
    log = _Log(t, ids, rng, apps)
    for ev in t.activity:
        log.activity(ev)
    log.out_of_scope()
    for h in t.humans:
        log.hr_lifecycle(h)
    log.rows.sort()
    return [line for _, _, line in log.rows]
