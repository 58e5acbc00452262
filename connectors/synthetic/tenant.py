"""`generate_tenant`: a whole synthetic tenant (HR, an IdP: Okta or Entra ID, SCIM apps, CSV
apps), its config, and the findings it must produce."""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.synthetic.activity import lifecycle_events, signins
from connectors.synthetic.apps import build_accounts, build_apps
from connectors.synthetic.config_export import write_config, write_tenant, write_truth
from connectors.synthetic.csv_export import history_dates, write_app_csvs, write_hr
from connectors.synthetic.directory import build_directory
from connectors.synthetic.entra_export import write_entra
from connectors.synthetic.entra_plan import ENTRA_HAZARDS, plan_entra
from connectors.synthetic.hazards import account_hazards, idp_hazards, people_hazards
from connectors.synthetic.inject import Injector
from connectors.synthetic.lifecycle_plan import lifecycle_truth, plan_lifecycle
from connectors.synthetic.model import Ids, Tenant
from connectors.synthetic.okta_export import write_okta
from connectors.synthetic.people import assign_ids, build_people, finish_idp
from connectors.synthetic.scim_export import write_scim

__all__ = ["generate_tenant", "build_tenant", "TenantInfo", "MIN_APPS", "IDPS"]

MIN_APPS = 5
IDPS = ("okta", "entra")
DEFAULT_AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TenantInfo:
    """What generate_tenant wrote."""

    out_dir: Path
    seed: int
    as_of: datetime
    period_start: datetime
    paths: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, object] = field(default_factory=dict)


def build_tenant(
    *,
    seed: int = 7,
    people: int = 2000,
    apps: int = 25,
    as_of: datetime = DEFAULT_AS_OF,
    idp: str = "okta",
) -> Tenant:
    """The tenant in memory, every injection applied and its truth recorded. `idp` is the
    identity provider that manages the managed apps: "okta" or "entra" (Microsoft Entra ID);
    the same seed gives the same people, apps and injections under either, told apart where
    the IdPs differ."""
    if apps < MIN_APPS:
        raise ValueError(f"apps must be at least {MIN_APPS}")
    if idp not in IDPS:
        raise ValueError(f"idp must be one of {', '.join(IDPS)}")
    as_of = (as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)).astimezone(UTC)
    t = Tenant(seed, as_of, people, apps, idp=idp)
    t.history_dates = history_dates(as_of)

    def stream(name: str) -> random.Random:
        return random.Random(f"scim-evidence:{seed}:{name}")

    ids = Ids(stream("ids"), t.ids_seen)
    n = max(1, people // 400)
    build_apps(t, ids, stream("apps"))
    build_people(t, stream("people"))
    people_hazards(t, stream("hazards"))
    plan_lifecycle(t, stream("plan"), n)
    assign_ids(t)
    finish_idp(t, stream("idp"), ids)
    idp_hazards(t, stream("idp-hazards"))
    if idp == "entra":
        plan_entra(t, stream("entra-plan"))
    t.admin = next(
        (
            h.idp
            for h in t.humans
            if h.title == "Systems Engineer" and h.idp and h.idp.status == "ACTIVE"
        ),
        t.idp_users[0],
    )
    build_accounts(t, ids, stream("accounts"))
    account_hazards(t, stream("account-hazards"), ids)
    lifecycle_truth(t)
    Injector(t, stream("inject"), ids, n).apply()
    lifecycle_events(t, stream("lifecycle"))
    signins(t, stream("signins"))
    _login_hazard(t, stream("login-hazard"))
    build_directory(t, ids, stream("directory"))
    if idp == "entra":
        t.hazards = [ENTRA_HAZARDS.get(x, x) for x in t.hazards]
    return t


def _login_hazard(t: Tenant, rng: random.Random) -> None:
    """One active account last seen 80 days ago: inside dormant_days, so not dormant."""
    cands = [
        a
        for a in t.accounts
        if a.active
        and a.app.kind == "csv_only"
        and a.human
        and a.human.status == "active"
        and not a.human.used
        and not a.pinned_login
        and a.created < t.as_of - timedelta(days=120)
    ]
    if cands:
        a = rng.choice(cands)
        a.last_login = t.as_of - timedelta(days=80, hours=rng.randint(0, 20))
        a.pinned_login = True
        t.hazards.append("an account last used 80 days ago (dormant_days is 90)")
    t.hazards.append(
        "accounts whose app never reported a login (blank / 'never'): unknown, not dormant"
    )


def generate_tenant(
    out_dir: Path,
    *,
    seed: int = 7,
    people: int = 2000,
    apps: int = 25,
    as_of: datetime = DEFAULT_AS_OF,
    idp: str = "okta",
) -> TenantInfo:
    """Write the tenant's vendor-native exports, evidence.toml, truth.json and tenant.json."""
    out = Path(out_dir)
    src = out / "sources"
    if src.exists():
        if not (out / "tenant.json").exists():
            raise ValueError(f"{src} exists and is not a generated tenant's; choose another folder")
        shutil.rmtree(src)  # a previous tenant: stale pages must not survive
    t = build_tenant(seed=seed, people=people, apps=apps, as_of=as_of, idp=idp)
    hr = write_hr(t, src / "hr")
    if idp == "entra":
        written = write_entra(
            t,
            src / "entra",
            Ids(random.Random(f"scim-evidence:{seed}:entra"), t.ids_seen),
            random.Random(f"scim-evidence:{seed}:provisioning"),
        )
    else:
        written = write_okta(
            t,
            src / "okta",
            Ids(random.Random(f"scim-evidence:{seed}:okta"), t.ids_seen),
            random.Random(f"scim-evidence:{seed}:logs"),
        )
    scim = write_scim(t, src / "scim")
    csvs = write_app_csvs(t, src / "apps")
    counts: dict[str, object] = {
        "hr_records": sum(len(h.records) for h in t.humans),
        "humans": len(t.humans),
        **written,
        "scim_accounts": scim,
        "csv_accounts": csvs,
        "truth": len(t.truth),
    }
    paths = {
        "config": write_config(t, out),
        "truth": write_truth(t, out),
        "tenant": write_tenant(t, out, counts),
        "hr": hr[-1],
        idp: src / idp,
        "scim": src / "scim",
        "apps": src / "apps",
    }
    return TenantInfo(out, seed, t.as_of, t.period_start, paths, counts)
