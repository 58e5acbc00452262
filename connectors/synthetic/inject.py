"""Injected findings on built accounts: each changes one fact and records the one finding the
definitions in ARCHITECTURE.md derive from it (and nothing else)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from fnmatch import fnmatchcase

from connectors.synthetic.apps import Grants, new_account
from connectors.synthetic.catalog import NICKNAMES, PRIVILEGED, ROLES, SOD_RULES
from connectors.synthetic.clock import between, seconds
from connectors.synthetic.lifecycle_plan import BIG, role_counts, safe_entitlement
from connectors.synthetic.model import Account, Activity, App, Human, Ids, Tenant

__all__ = ["Injector"]

PEER_MIN_GROUP = 10
Check = Callable[[Human, Account], bool]


def _privileged(ent: str) -> bool:
    return any(fnmatchcase(ent.lower(), p) for p in PRIVILEGED)


class Injector:
    def __init__(self, t: Tenant, rng: random.Random, ids: Ids, n: int) -> None:
        self.t, self.rng, self.ids, self.n = t, rng, ids, n
        self.by_human: dict[int, list[Account]] = {}
        for a in t.accounts:
            if a.human is not None:
                self.by_human.setdefault(a.human.hid, []).append(a)
        self.pushed_groups: dict[str, list[str]] = {}
        for a in t.accounts:
            for g in a.pushed:
                if g not in self.pushed_groups.setdefault(a.app.name, []):
                    self.pushed_groups[a.app.name].append(g)
        counts = role_counts(t, ("active", "leave"))
        self.small = {r for r, c in counts.items() if c < PEER_MIN_GROUP}
        self.big = {r for r, c in role_counts(t).items() if c >= BIG}

    # -- helpers ---------------------------------------------------------------------------
    def live(self, h: Human) -> list[Account]:
        return [a for a in self.by_human.get(h.hid, []) if a.active and not a.deleted]

    def ready(self, h: Human) -> bool:
        """An active person with a plain, active Okta user and nothing injected yet."""
        return (
            not h.used
            and not h.idp_only
            and h.status == "active"
            and h.idp is not None
            and h.idp.status == "ACTIVE"
            and len(h.segments) == 1
            and h.rehired is None
        )

    def pairs(self, tag: str, k: int, ok: Check) -> list[tuple[Human, Account]]:
        """Up to k (human, account) pairs, one per human, where ok(h, a) holds."""
        humans = [h for h in self.t.humans if self.ready(h)]
        self.rng.shuffle(humans)
        out: list[tuple[Human, Account]] = []
        for h in humans:
            if len(out) >= k:
                break
            mine = [a for a in self.live(h) if ok(h, a)]
            if mine:
                h.used = tag
                out.append((h, self.rng.choice(mine)))
        return out

    def grant(self, a: Account, ent: str, days: tuple[int, int], *, pushed: bool) -> None:
        when = between(
            self.rng, self.t.as_of - timedelta(days=days[1]), self.t.as_of - timedelta(days=days[0])
        )
        when = max(when, a.created + timedelta(hours=1))
        a.granted[ent] = when
        a.modified = max(a.modified or when, when)
        if not pushed:
            a.roles.append(ent)
            return
        a.groups.append(ent)
        a.pushed.append(ent)
        u = a.human.idp if a.human else None
        if u is not None and when >= self.t.period_start:
            self.t.activity.append(
                Activity(
                    when, "group.user_membership.add", u, a.app, a, f"{a.app.tpl.label} - {ent}"
                )
            )
            self.t.activity.append(
                Activity(
                    when + seconds(self.rng, 5, 90),
                    "application.provision.group_membership.add",
                    u,
                    a.app,
                    a,
                    ent,
                    group_kind="AppGroup",
                    actor="system",
                )
            )

    # -- injections ------------------------------------------------------------------------
    def apply(self) -> None:
        n = self.n
        self.unmatched(n)
        self.missing(n)
        self.unassigned(n)
        self.attribute(n)
        self.group_mismatch(n)
        self.peer_outlier(n)
        self.expired(max(1, n // 2))
        self.privilege(max(1, n // 2))
        self.sod(n)
        self.dormant(n)
        self.duplicate(max(1, n // 2))

    def unmatched(self, k: int) -> None:
        t, rng = self.t, self.rng
        apps = [a for a in t.apps if a.kind == "scim_okta"] + [
            a for a in t.apps if a.kind != "scim_okta"
        ]
        T = t.as_of
        for i in range(k + 1):
            app = apps[(i * 3) % len(apps)] if i else apps[0]
            name = (
                "legacy-build"
                if i == 0
                else (
                    f"temp-{rng.randint(10, 99)}{i:02d}"
                    if app.tpl.user_style == "handle"
                    else f"contractor.{rng.randint(10, 99)}{i:02d}@freelance.example"
                )
            )
            role = _basic_role(t, app)
            a = new_account(
                t,
                self.ids,
                rng,
                None,
                app,
                None,
                between(rng, T - timedelta(days=500), T - timedelta(days=40)),
                Grants((), (role,), ()),
                user_name=name,
            )
            a.email = name if "@" in name and "email" in app.tpl.reports else None
            a.display_name = "Build Robot" if i == 0 else "Temp Contractor"
            if app.reports_login:
                a.last_login = between(rng, T - timedelta(days=20), T - timedelta(days=1))
                a.pinned_login = True
            if i == 0:
                t.accepted_risks.append(
                    {
                        "kind": "orphan",
                        "subkind": "unmatched",
                        "app": app.name,
                        "account": name,
                        "owner": next(
                            (h.pid or "" for h in t.humans if h.title == "Systems Engineer"), ""
                        ),
                        "ticket": "SEC-1234",
                        "expires": (T + timedelta(days=150)).date().isoformat(),
                    }
                )
                t.find("orphan", "unmatched", app.name, name, status="accepted")
            else:
                t.find("orphan", "unmatched", app.name, name)

    def missing(self, k: int) -> None:
        for _h, a in self.pairs("drift:missing_account", k, _unpushed_okta):
            assert a.assignment is not None
            a.active = False
            a.deleted = a.app.scim
            a.groups = []
            a.deactivated_at = between(
                self.rng, self.t.as_of - timedelta(days=60), self.t.as_of - timedelta(days=3)
            )
            a.modified = a.deactivated_at
            self.t.find("drift", "missing_account", a.app.name, a.assignment.user_name)

    def unassigned(self, k: int) -> None:
        for _h, a in self.pairs("drift:unassigned_account", k, _unpushed_okta):
            assert a.assignment is not None
            a.assignment.removed = True
            self.t.find("drift", "unassigned_account", a.app.name, a.user_name)

    def attribute(self, k: int) -> None:
        def ok(h: Human, a: Account) -> bool:
            return _assigned(a) and bool(
                {"department", "display_name"} & set(a.app.tpl.reports) or (a.app.scim and a.email)
            )

        depts = sorted({r.dept for r in ROLES})
        for i, (h, a) in enumerate(self.pairs("drift:attribute_mismatch", k, ok)):
            rep = a.app.tpl.reports
            if i % 3 == 0 and "department" in rep:
                a.department = self.rng.choice([d for d in depts if d != h.dept])
            elif i % 3 == 1 and a.app.scim and a.email:
                a.email = f"{h.first}.{h.last}@acme-legacy.example".lower()
            else:
                nick = NICKNAMES.get(h.first, f"{h.first[0]}.")
                a.display_name = f"{nick} {h.last}"
            self.t.find("drift", "attribute_mismatch", a.app.name, a.user_name)

    def group_mismatch(self, k: int) -> None:
        def missing(h: Human, a: Account) -> bool:
            return _assigned(a) and bool(a.pushed)

        def extra(h: Human, a: Account) -> bool:
            return (
                _assigned(a)
                and a.app.tpl.push
                and (h.dept, h.title) in self.small
                and bool(self._foreign_groups(a))
            )

        for _h, a in self.pairs("drift:group_mismatch", (k + 1) // 2, missing):
            g = self.rng.choice(a.pushed)
            a.groups.remove(g)
            self.t.find("drift", "group_mismatch", a.app.name, a.user_name, entitlement=g)
        for _h, a in self.pairs("drift:group_mismatch", k // 2 or 1, extra):
            g = self.rng.choice(self._foreign_groups(a))
            a.groups.append(g)
            a.granted[g] = between(
                self.rng, self.t.as_of - timedelta(days=200), self.t.as_of - timedelta(days=5)
            )
            self.t.find("drift", "group_mismatch", a.app.name, a.user_name, entitlement=g)

    def _foreign_groups(self, a: Account) -> list[str]:
        return sorted(
            g
            for g in self.pushed_groups.get(a.app.name, [])
            if g not in a.groups and safe_entitlement(self.t, a.app.name, g)
        )

    def peer_outlier(self, k: int) -> None:
        def ok(h: Human, a: Account) -> bool:
            return (h.dept, h.title) in self.big and bool(self._spare(h, a))

        # One at a time: each claim narrows what the next may take.
        for h, a in (p for _ in range(k) for p in self.pairs("creep:peer_outlier", 1, ok)):
            e = self._spare(h, a)[0]
            self.t.claimed.add((h.dept, h.title, a.app.name, e))
            self.grant(a, e, (10, 300), pushed=False)
            self.t.find("creep", "peer_outlier", a.app.name, a.user_name, entitlement=e)

    def _spare(self, h: Human, a: Account) -> list[str]:
        return [
            e
            for e in a.app.tpl.extras
            if e not in a.entitlements()
            and (h.dept, h.title, a.app.name, e) not in self.t.claimed
            and safe_entitlement(self.t, a.app.name, e)
        ]

    def _aws(self, h: Human, a: Account, max_held: int) -> bool:
        """An aws account of a small role holding at most max_held privileged entitlements."""
        held = sum(_privileged(e) for e in a.entitlements())
        return (
            a.app.name == "aws"
            and (h.dept, h.title) in self.small
            and _assigned(a)
            and held <= max_held
        )

    def expired(self, k: int) -> None:
        aws = self.t.app("aws")
        if aws is None or not aws.tpl.time_bound:
            return
        ent, max_days = aws.tpl.time_bound[0]
        got = self.pairs("creep:expired_grant", k + 1, lambda h, a: self._aws(h, a, 1))
        for i, (_h, a) in enumerate(got):
            if i == len(got) - 1 and len(got) > 1:
                self.grant(a, ent, (1, max_days - 3), pushed=True)
                self.t.hazards.append(
                    f"{ent} in aws held for less than its {max_days} days "
                    "(time-bound, not yet expired)"
                )
                continue
            self.grant(a, ent, (max_days + 8, 80), pushed=True)
            self.t.find("creep", "expired_grant", "aws", a.user_name, entitlement=ent)

    def privilege(self, k: int) -> None:
        aws = self.t.app("aws")
        if aws is None:
            return
        for _h, a in self.pairs("creep:privilege_accumulation", k, lambda h, a: self._aws(h, a, 2)):
            pool = [g for g in aws.tpl.privileged_pool if g not in a.entitlements()]
            for g in self.rng.sample(pool, 3):
                self.grant(a, g, (5, 85), pushed=True)
            self.t.find("creep", "privilege_accumulation", "aws", a.user_name)

    def sod(self, k: int) -> None:
        rules = [r for r in SOD_RULES if self.t.app(r.a[0]) and self.t.app(r.b[0])]
        for i in range(k if rules else 0):
            rule = rules[i % len(rules)]
            cands: list[tuple[Human, tuple[str, str]]] = []
            for h in self.t.humans:
                if not self.ready(h) or (h.dept, h.title) not in self.small:
                    continue
                held = {(a.app.name, e) for a in self.live(h) for e in a.entitlements()}
                for have, add in ((rule.a, rule.b), (rule.b, rule.a)):
                    if have in held and self._can_add(h, add):
                        cands.append((h, add))
            if not cands:
                continue
            h, (app_name, ent) = self.rng.choice(cands)
            h.used = "sod:toxic_combination"
            self._add(h, app_name, ent)
            holder = next(
                a for a in self.live(h) if a.app.name == rule.a[0] and rule.a[1] in a.entitlements()
            )
            self.t.find("sod", "toxic_combination", rule.a[0], holder.user_name, rule=rule.name)

    def _can_add(self, h: Human, side: tuple[str, str]) -> bool:
        app = self.t.app(side[0])
        if app is None:
            return False
        mine = [a for a in self.live(h) if a.app is app]
        if mine:
            return not app.okta or _assigned(mine[0])
        return app.kind == "csv_only"

    def _add(self, h: Human, app_name: str, ent: str) -> None:
        app = self.t.app(app_name)
        assert app is not None
        mine = [a for a in self.live(h) if a.app is app]
        if mine:
            pushed = app.tpl.push and any(ent in a.pushed for a in self.t.accounts if a.app is app)
            self.grant(mine[0], ent, (10, 200), pushed=pushed)
            return
        when = between(
            self.rng, self.t.as_of - timedelta(days=200), self.t.as_of - timedelta(days=10)
        )
        a = new_account(self.t, self.ids, self.rng, None, app, h, when, Grants((), (ent,), ()))
        self.by_human.setdefault(h.hid, []).append(a)

    def dormant(self, k: int) -> None:
        T = self.t.as_of

        def ok(h: Human, a: Account) -> bool:
            return a.app.reports_login and a.created < T - timedelta(days=130)

        for _h, a in self.pairs("dormant:no_login", k, ok):
            a.last_login = between(
                self.rng,
                max(a.created + timedelta(days=1), T - timedelta(days=300)),
                T - timedelta(days=100),
            )
            a.pinned_login = True
            self.t.find("dormant", "no_login", a.app.name, a.user_name)

    def duplicate(self, k: int) -> None:
        T = self.t.as_of

        def ok(h: Human, a: Account) -> bool:
            return a.app.kind == "csv_only" and a.user_name == h.email

        for h, a in self.pairs("duplicate:multiple_accounts", k, ok):
            user = f"{h.first[0]}{h.last}".lower()
            if a.app.tpl.csv_format == "b":
                user = h.email.upper()
            else:
                user = self._free_name(a.app, user)
            b = new_account(
                self.t,
                self.ids,
                self.rng,
                None,
                a.app,
                h,
                between(self.rng, T - timedelta(days=300), T - timedelta(days=30)),
                Grants((), tuple(a.roles), ()),
                user_name=user,
            )
            if "email" in a.app.tpl.reports:
                b.email = h.email.upper()
            b.last_login = between(self.rng, T - timedelta(days=25), T - timedelta(days=1))
            b.pinned_login = True
            for acc in (a, b):
                self.t.find("duplicate", "multiple_accounts", acc.app.name, acc.user_name)

    def _free_name(self, app: App, user: str) -> str:
        """`user`, numbered when another account of the app has it (two J. Smiths)."""
        taken = {a.user_name.lower() for a in self.t.accounts if a.app is app}
        v, k = user, 1
        while v in taken:
            k += 1
            v = f"{user}{k}"
        return v


def _assigned(a: Account) -> bool:
    return a.app.okta and a.assignment is not None and not a.assignment.removed


def _unpushed_okta(h: Human, a: Account) -> bool:
    return _assigned(a) and not a.pushed


def _basic_role(t: Tenant, app: App) -> str:
    for r in app.tpl.rules:
        for role in r.roles:
            if safe_entitlement(t, app.name, role):
                return role
    return app.tpl.extras[0]
