"""Activity → Okta System Log LogEvent objects (GET /api/v1/logs shape), oldest first."""

from __future__ import annotations

import random
from typing import Any

from connectors.synthetic.jsonio import dumps
from connectors.synthetic.model import Activity, IdpUser, Ids, Tenant, iso_ms

__all__ = ["render_logs"]

# eventType → (displayMessage, legacyEventType)
_META: dict[str, tuple[str, str | None]] = {
    "user.lifecycle.create": ("Create Okta user", "core.user.config.user_creation.success"),
    "user.lifecycle.activate": ("Activate Okta user", "core.user.config.user_activated"),
    "user.lifecycle.deactivate": ("Deactivate Okta user", "core.user.config.user_deactivated"),
    "user.lifecycle.reactivate": ("Reactivate Okta user", "core.user.config.user_reactivated"),
    "user.lifecycle.suspend": ("Suspend Okta user", "core.user.config.user_status.suspended"),
    "user.account.update_profile": (
        "Update user profile for Okta",
        "core.user.config.profile_update.success",
    ),
    "user.session.start": ("User login to Okta", "core.user_auth.login_success"),
    "user.authentication.auth_via_mfa": (
        "Authentication of user via MFA",
        "core.user.factor.attempt_success",
    ),
    "user.authentication.sso": ("User single sign on to app", "app.auth.sso"),
    "group.user_membership.add": (
        "Add user to group membership",
        "core.user_group_member.user_add",
    ),
    "group.user_membership.remove": (
        "Remove user from group membership",
        "core.user_group_member.user_remove",
    ),
    "application.user_membership.add": (
        "Add user to application membership",
        "app.generic.provision.assign_user_to_app",
    ),
    "application.user_membership.remove": (
        "Remove user from application membership",
        "app.generic.unassign_user_from_app",
    ),
    "application.provision.user.push": (
        "Push new user to external application",
        "app.user_management.push_new_user_success",
    ),
    "application.provision.user.push_profile": (
        "Push user profile to external application",
        "app.user_management.push_profile_success",
    ),
    "application.provision.user.deactivate": (
        "Deactivate user in external application",
        "app.user_management.deactivate_user_success",
    ),
    "application.provision.user.reactivate": (
        "Reactivate user in external application",
        "app.user_management.reactivate_user_success",
    ),
    "application.provision.group_membership.add": (
        "Add user to group membership in external application",
        "app.user_management.push_group_membership_add_success",
    ),
    "application.provision.group_membership.remove": (
        "Remove user from group membership in external application",
        "app.user_management.push_group_membership_remove_success",
    ),
}
_PLACES = (
    ("San Francisco", "California", "United States", "94107", 37.7642, -122.3993, "198.51.100"),
    ("New York", "New York", "United States", "10001", 40.7506, -73.9972, "203.0.113"),
    ("Austin", "Texas", "United States", "78701", 30.2711, -97.7437, "192.0.2"),
    ("London", "England", "United Kingdom", "EC1A", 51.5201, -0.0983, "198.18.7"),
    ("Dublin", "Leinster", "Ireland", "D02", 53.3441, -6.2675, "198.19.4"),
)
_AGENTS = (
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/128.0.0.0 Safari/537.36",
        "Mac OS X",
        "CHROME",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/128.0.0.0 Safari/537.36 Edg/128.0.0.0",
        "Windows 10",
        "EDGE",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.6; rv:130.0) Gecko/20100101 Firefox/130.0",
        "Mac OS X",
        "FIREFOX",
    ),
)
_AUTH_HEAD = (
    '{"authenticationProvider":null,"credentialProvider":null,"credentialType":null,'
    '"issuer":null,"interface":null,"authenticationStep":0,"externalSessionId":'
)
_SECURITY_WEB = (
    '{"asNumber":64496,"asOrg":"example transit","isp":"example isp",'
    '"domain":"example.net","isProxy":false}'
)
_SECURITY_JOB = '{"asNumber":null,"asOrg":null,"isp":null,"domain":null,"isProxy":null}'
_SYSTEM = {
    "id": "0oa1sys0okta0system7",
    "type": "SystemPrincipal",
    "alternateId": "system@okta.com",
    "displayName": "Okta System",
    "detailEntry": None,
}


class _Renderer:
    def __init__(self, t: Tenant, ids: Ids, rng: random.Random) -> None:
        self.t, self.ids, self.rng = t, ids, rng
        self.group_ids = {g.name: g.gid for g in t.groups}
        self.app_user_ids: dict[tuple[str, str], str] = {}
        self.places: dict[str, tuple[Any, ...]] = {}
        self.n_secret = 0
        self.cache: dict[str, tuple[str, str, str]] = {}

    def user(self, u: IdpUser) -> dict[str, Any]:
        return {
            "id": u.uid,
            "type": "User",
            "alternateId": u.login,
            "displayName": u.human.display,
            "detailEntry": None,
        }

    def place(self, u: IdpUser) -> tuple[Any, ...]:
        if u.uid not in self.places:
            p = self.rng.choice(_PLACES)
            self.places[u.uid] = (
                *p,
                f"{p[6]}.{self.rng.randint(2, 250)}",
                self.rng.choice(_AGENTS),
            )
        return self.places[u.uid]

    def client(self, u: IdpUser | None) -> dict[str, Any]:
        if u is None:
            return {
                "userAgent": None,
                "zone": None,
                "device": None,
                "id": None,
                "ipAddress": None,
                "geographicalContext": None,
            }
        city, state, country, post, lat, lon, _, ip, agent = self.place(u)
        return {
            "userAgent": {"rawUserAgent": agent[0], "os": agent[1], "browser": agent[2]},
            "zone": "null",
            "device": "Computer",
            "id": None,
            "ipAddress": ip,
            "geographicalContext": {
                "city": city,
                "state": state,
                "country": country,
                "postalCode": post,
                "geolocation": {"lat": lat, "lon": lon},
            },
        }

    def targets(self, ev: Activity) -> list[dict[str, Any]] | None:
        et, u = ev.event_type, ev.user
        out: list[dict[str, Any]] = []
        if et in ("user.session.start", "user.authentication.auth_via_mfa"):
            return None
        if u is not None and et != "user.authentication.sso":
            user = self.user(u)
            if ev.change:
                user["changeDetails"] = {
                    "from": {k: v["from"] for k, v in ev.change.items()},
                    "to": {k: v["to"] for k, v in ev.change.items()},
                }
            out.append(user)
        if ev.app is not None and ev.app.okta_id is not None:
            out.append(
                {
                    "id": ev.app.okta_id,
                    "type": "AppInstance",
                    "alternateId": ev.app.tpl.label,
                    "displayName": ev.app.tpl.label,
                    "detailEntry": {"signOnModeType": ev.app.tpl.sign_on},
                }
            )
            if u is not None:
                key = (ev.app.name, u.uid)
                if key not in self.app_user_ids:
                    self.app_user_ids[key] = self.ids.okta("0ua")
                name = ev.account.user_name if ev.account is not None else u.login
                out.append(
                    {
                        "id": self.app_user_ids[key],
                        "type": "AppUser",
                        "alternateId": name,
                        "displayName": u.human.display,
                        "detailEntry": None,
                    }
                )
        if ev.group is not None and ev.group_kind == "UserGroup":
            out.append(
                {
                    "id": self.group_ids.get(ev.group, ""),
                    "type": "UserGroup",
                    "alternateId": "unknown",
                    "displayName": ev.group,
                    "detailEntry": None,
                }
            )
        elif ev.group is not None and ev.app is not None:
            out.append(
                {
                    "id": ev.app.groups.get(ev.group, ""),
                    "type": "AppGroup",
                    "alternateId": ev.group,
                    "displayName": ev.group,
                    "detailEntry": None,
                }
            )
        return out

    def debug(self, ev: Activity) -> dict[str, Any]:
        rid = self.ids.token(27)
        if ev.actor == "system":
            data: dict[str, Any] = {"requestId": rid}
            if ev.app is not None:
                data["appname"] = ev.app.tpl.okta_name
            if ev.event_type.startswith("application.provision."):
                self.n_secret += 1
                if self.n_secret % 25 == 1:
                    data["token"] = "00" + self.ids.token(40)  # redaction must catch this
                elif self.n_secret % 25 == 13:
                    data["clientSecret"] = self.ids.token(40)
            return data
        uri = {
            "user.session.start": "/api/v1/authn",
            "user.authentication.auth_via_mfa": "/api/v1/authn/factors/verify",
            "user.authentication.sso": "/app/sso/saml",
        }.get(ev.event_type, "/api/v1/users")
        return {"requestId": rid, "requestUri": uri, "url": f"{uri}?", "threatSuspected": "false"}

    def _fragments(self, u: IdpUser | None) -> tuple[str, str, str]:
        """Serialised actor, client and request of a user (or the system), built once."""
        key = u.uid if u is not None else ""
        if key not in self.cache:
            client = self.client(u)
            chain = (
                [
                    {
                        "ip": client["ipAddress"],
                        "geographicalContext": None,
                        "version": "V4",
                        "source": None,
                    }
                ]
                if u is not None
                else []
            )
            actor = self.user(u) if u is not None else _SYSTEM
            self.cache[key] = (dumps(actor), dumps(client), dumps({"ipChain": chain}))
        return self.cache[key]

    def render(self, ev: Activity) -> tuple[str, str, str]:
        """(published, uuid, the LogEvent as one line of JSON), keys in a fixed order."""
        actor_user = (
            ev.user if ev.actor == "self" else self.t.admin if ev.actor == "admin" else None
        )
        actor, client, request = self._fragments(actor_user)
        message, legacy = _META.get(ev.event_type, (ev.event_type, None))
        if ev.outcome == "FAILURE" and ev.event_type == "user.session.start":
            legacy = "core.user_auth.login_failed"
        elif ev.outcome == "FAILURE":
            legacy = (legacy or "").replace("_success", "_failure") or None
        web = ev.actor != "system"
        session = self.ids.token(25) if web else None
        uuid, published = self.ids.uuid(), iso_ms(ev.at)
        assert published is not None
        # Ids, instants, event types and catalogue messages need no JSON escaping.
        line = "".join(
            (
                '{"uuid":"',
                uuid,
                '","published":"',
                published,
                '","eventType":"',
                ev.event_type,
                '","version":"0","severity":',
                '"WARN"' if ev.outcome == "FAILURE" else '"INFO"',
                ',"legacyEventType":',
                f'"{legacy}"' if legacy else "null",
                ',"displayMessage":"',
                message,
                '","actor":',
                actor,
                ',"client":',
                client,
                ',"authenticationContext":',
                _AUTH_HEAD,
                f'"{session}"' if session else "null",
                "}",
                ',"outcome":{"result":"',
                ev.outcome,
                '","reason":',
                dumps(ev.reason) if ev.reason else "null",
                "}",
                ',"target":',
                dumps(self.targets(ev)),
                ',"transaction":{"type":',
                '"WEB"' if web else '"JOB"',
                ',"id":"',
                self.ids.token(27),
                '","detail":{}}',
                ',"debugContext":{"debugData":',
                dumps(self.debug(ev)),
                "}",
                ',"securityContext":',
                _SECURITY_WEB if web else _SECURITY_JOB,
                ',"request":',
                request,
                "}",
            )
        )
        return published, uuid, line


def render_logs(t: Tenant, ids: Ids, rng: random.Random) -> list[str]:
    """Every activity inside the period as a serialised LogEvent, by published then uuid."""
    r = _Renderer(t, ids, rng)
    events = [r.render(ev) for ev in t.activity if t.period_start <= ev.at < t.as_of]
    events.sort()
    return [line for _, _, line in events]
