"""The synthetic tenant generator: determinism, coverage of every finding subkind, export shapes,
and truth = what the finding definitions derive from the tenant (nothing more, nothing less)."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import fields
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from connectors.synthetic import build_tenant, generate_tenant
from connectors.synthetic.app_catalog import _APP_FIELDS, APP_CATALOG, CatalogError, parse_catalog
from connectors.synthetic.catalog import EXTERNAL_DEPT, AppTemplate, Rule
from connectors.synthetic.oracle import expected_findings
from evidence.config import load_config
from tests.synthetic_cases import AS_OF, SMALL, SUBKINDS, load, tree_digest

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small")
    generate_tenant(out, seed=7, **SMALL)
    return out


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("default")
    info = generate_tenant(out)
    assert info.as_of == AS_OF and info.period_start == AS_OF - timedelta(days=365)
    return out


def test_same_seed_same_bytes(small: Path, tmp_path: Path) -> None:
    generate_tenant(tmp_path, seed=7, **SMALL)
    assert tree_digest(tmp_path) == tree_digest(small)


def test_other_seed_other_tenant(small: Path, tmp_path: Path) -> None:
    generate_tenant(tmp_path, seed=8, **SMALL)
    assert load(tmp_path / "truth.json") != load(small / "truth.json")
    assert tree_digest(tmp_path) != tree_digest(small)


@pytest.mark.parametrize("size", ["small", "default"])
def test_truth_covers_every_subkind(size: str, request: pytest.FixtureRequest) -> None:
    truth = load(request.getfixturevalue(size) / "truth.json")
    assert {(f["kind"], f["subkind"]) for f in truth} == SUBKINDS
    if size == "default":
        counts: dict[tuple[str, str], int] = {}
        for f in truth:
            counts[(f["kind"], f["subkind"])] = counts.get((f["kind"], f["subkind"]), 0) + 1
        assert min(counts.values()) >= 2, counts
    assert [f for f in truth if f.get("status") == "accepted"][0]["kind"] == "orphan"
    keys = [
        (
            f["kind"],
            f["subkind"],
            f["app"],
            f["account"],
            f.get("entitlement", ""),
            f.get("rule", ""),
        )
        for f in truth
    ]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for f in truth:
        assert set(f) <= {"kind", "subkind", "app", "account", "entitlement", "rule", "status"}
        if f["subkind"] in ("group_mismatch", "mover_residual", "peer_outlier", "expired_grant"):
            assert f["entitlement"]
        if f["kind"] == "sod":
            assert f["rule"]


@pytest.mark.parametrize(
    ("seed", "people", "apps"),
    [(7, 200, 8), (3, 200, 8), (11, 400, 12), (5, 120, 5), (7, 2000, 25)],
)
def test_truth_is_exactly_what_the_definitions_find(seed: int, people: int, apps: int) -> None:
    t = build_tenant(seed=seed, people=people, apps=apps)

    def keyed(fs: list[dict[str, str]]) -> list[str]:
        return sorted(json.dumps(f, sort_keys=True) for f in fs)

    assert keyed(expected_findings(t)) == keyed(t.truth)


def _config(out: Path):
    cfg = load_config(out / "evidence.toml")
    return cfg, {s.app: s for s in cfg.sources if s.app}


def _accounts(out: Path) -> dict[str, dict[str, bool]]:
    """app → user name → active, read from the exports as a connector would."""
    cfg, by_app = _config(out)
    found: dict[str, dict[str, bool]] = {}
    for app, src in by_app.items():
        assert src.path is not None
        rows = found.setdefault(app, {})
        if src.kind == "scim":
            for page in sorted(src.path.glob("Users*.json")):
                for r in load(page)["Resources"]:
                    rows[r["userName"]] = r["active"]
        else:
            with src.path.open(newline="", encoding="utf-8") as fh:
                for r in csv.DictReader(fh):
                    rows[r[src.columns["user_name"]]] = src.active_values[r[src.columns["active"]]]
    return found


def _assigned(out: Path) -> dict[str, set[str]]:
    okta = out / "sources" / "okta"
    labels = {a["id"]: a["label"].lower() for a in load(okta / "apps.json")}
    return {
        labels[p.stem]: {u["credentials"]["userName"] for u in load(p)}
        for p in (okta / "app_users").glob("*.json")
    }


@pytest.mark.parametrize("size", ["small", "default"])
def test_truth_names_accounts_in_the_exports(size: str, request: pytest.FixtureRequest) -> None:
    out = request.getfixturevalue(size)
    accounts, assigned = _accounts(out), _assigned(out)
    for f in load(out / "truth.json"):
        app, acc = f["app"], f["account"]
        if f["subkind"] == "missing_account":
            assert acc in assigned[app], f
            assert accounts[app].get(acc) is not True, f
        elif f["kind"] == "sla":
            assert accounts[app][acc] is False, f
        else:
            assert accounts[app][acc] is True, f
        if f["kind"] == "drift":
            assert app in assigned, f  # drift only where the IdP holds a desired state


def test_config_loads_and_points_at_the_exports(small: Path) -> None:
    cfg, by_app = _config(small)
    kinds = [s.kind for s in cfg.sources]
    assert kinds.count("hris") == 1 and kinds.count("okta") == 1
    for s in cfg.sources:
        assert s.path is not None and s.path.exists(), s.name
        assert s.as_of == AS_OF
    scim = {a for a, s in by_app.items() if s.kind == "scim"}
    exports = {a for a, s in by_app.items() if s.kind == "app_export"}
    okta_labels = {a["label"] for a in load(small / "sources/okta/apps.json")}
    assert len(exports - {lbl.lower() for lbl in okta_labels}) >= 2  # known only from a CSV
    assert exports & {lbl.lower() for lbl in okta_labels}  # Okta-managed, state from a CSV
    assert any(lbl not in by_app and lbl.lower() in by_app for lbl in okta_labels)
    p = cfg.policy
    assert (p.grace_hours, p.dormant_days, p.peer_min_group, p.privilege_growth_max) == (
        24,
        90,
        10,
        2,
    )
    assert p.service_accounts and p.sod and p.time_bound and len(p.accepted_risks) == 1
    assert all(a in scim | exports for a in p.license_cost)
    assert [k.kind for k in cfg.sinks] == ["ndjson"] and cfg.sinks[0].format == "ecs"


def test_hr_exports(small: Path) -> None:
    folder = small / "sources" / "hr"
    files = sorted(folder.glob("workers*.csv"))
    assert folder / "workers.csv" in files and 3 <= len(files) <= 5
    cfg, _ = _config(small)
    cols = cfg.source("workday").columns
    statuses = cfg.source("workday").status_values
    date = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    for path in files:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert rows and set(cols.values()) == set(rows[0])
        for r in rows:
            assert r[cols["status"]] in statuses
            for c in ("hire_date", "termination_date", "effective_date"):
                assert r[cols[c]] == "" or date.match(r[cols[c]]), r
    with (folder / "workers.csv").open(newline="", encoding="utf-8") as fh:
        now = list(csv.DictReader(fh))
    assert any(r[cols["aliases"]] for r in now)
    assert any(r[cols["email"]] != r[cols["email"]].strip().lower() for r in now)
    ids = [r[cols["person_id"]] for r in now]
    assert len(set(ids)) < len(ids)  # a rehire reusing the id


def test_scim_exports(small: Path) -> None:
    _, by_app = _config(small)
    paged = 0
    for _app, src in by_app.items():
        if src.kind != "scim":
            continue
        assert src.path is not None
        pages = sorted(src.path.glob("Users*.json"))
        paged += len(pages) > 1
        ids: set[str] = set()
        start = 1
        for page in pages:
            doc = load(page)
            assert doc["schemas"] == [LIST_RESPONSE]
            assert doc["startIndex"] == start and doc["itemsPerPage"] == len(doc["Resources"])
            start += doc["itemsPerPage"]
            for u in doc["Resources"]:
                assert "urn:ietf:params:scim:schemas:core:2.0:User" in u["schemas"]
                assert u["id"] and u["userName"] and isinstance(u["active"], bool)
                assert u["meta"]["resourceType"] == "User"
                assert u["meta"]["location"].endswith(u["id"])
                ids.add(u["id"])
        assert start - 1 == doc["totalResults"] == len(ids)
        groups = load(src.path / "Groups.json")
        assert groups["schemas"] == [LIST_RESPONSE]
        for g in groups["Resources"]:
            assert g["meta"]["resourceType"] == "Group" and g["displayName"]
            for m in g["members"]:
                assert set(m) == {"value", "$ref", "display"} and m["value"] in ids
    assert paged >= 1


def test_okta_exports(small: Path) -> None:
    okta = small / "sources" / "okta"
    users = load(okta / "users.json")
    user_keys = {
        "id",
        "status",
        "created",
        "activated",
        "statusChanged",
        "lastLogin",
        "lastUpdated",
        "passwordChanged",
        "type",
        "profile",
        "credentials",
        "_links",
    }
    assert all(set(u) == user_keys for u in users)
    assert all(
        {
            "login",
            "email",
            "firstName",
            "lastName",
            "displayName",
            "employeeNumber",
            "department",
            "title",
        }
        <= set(u["profile"])
        for u in users
    )
    statuses = {u["status"] for u in users}
    assert {"ACTIVE", "SUSPENDED", "DEPROVISIONED"} <= statuses
    uids = {u["id"] for u in users}
    groups = {g["id"]: g for g in load(okta / "groups.json")}
    for path in (okta / "group_members").glob("*.json"):
        assert path.stem in groups and {m["id"] for m in load(path)} <= uids
    apps = load(okta / "apps.json")
    assert all({"id", "name", "label", "status", "signOnMode", "created"} <= set(a) for a in apps)
    app_ids = {a["id"] for a in apps}
    for path in (okta / "app_users").glob("*.json"):
        assert path.stem in app_ids
        for x in load(path):
            assert {
                "id",
                "externalId",
                "created",
                "lastUpdated",
                "scope",
                "status",
                "statusChanged",
                "syncState",
                "credentials",
                "profile",
                "_links",
            } <= set(x)
            assert x["id"] in uids and x["scope"] in ("USER", "GROUP")
            assert x["credentials"]["userName"]
    pushes = list((okta / "group_push").glob("*.json"))
    assert pushes
    for path in pushes:
        for m in load(path):
            assert {"mappingId", "sourceGroupId", "targetGroupName", "status"} <= set(m)
            assert m["sourceGroupId"] in groups


def test_okta_system_log(small: Path) -> None:
    logs = load(small / "sources" / "okta" / "logs.json")
    people = len(load(small / "sources" / "okta" / "users.json"))
    assert 10 * people <= len(logs) <= 25 * people
    keys = {
        "uuid",
        "published",
        "eventType",
        "version",
        "severity",
        "legacyEventType",
        "displayMessage",
        "actor",
        "client",
        "authenticationContext",
        "outcome",
        "target",
        "transaction",
        "debugContext",
        "securityContext",
        "request",
    }
    assert len({e["uuid"] for e in logs}) == len(logs)
    assert [e["published"] for e in logs] == sorted(e["published"] for e in logs)
    lo, hi = AS_OF - timedelta(days=365), AS_OF
    for e in logs:
        assert set(e) == keys and ISO_MS.match(e["published"])
        when = datetime.fromisoformat(e["published"].replace("Z", "+00:00"))
        assert lo <= when < hi
        assert set(e["actor"]) == {"id", "type", "alternateId", "displayName", "detailEntry"}
        assert e["outcome"]["result"] in ("SUCCESS", "FAILURE")
        assert {"id", "type", "detail"} <= set(e["transaction"])
        assert "ipChain" in e["request"] and "debugData" in e["debugContext"]
        for target in e["target"] or []:
            assert {"id", "type", "alternateId", "displayName", "detailEntry"} <= set(target)
    types = {e["eventType"] for e in logs}
    assert {
        "user.lifecycle.create",
        "user.lifecycle.activate",
        "user.lifecycle.deactivate",
        "user.lifecycle.suspend",
        "user.session.start",
        "user.authentication.sso",
        "user.authentication.auth_via_mfa",
        "group.user_membership.add",
        "group.user_membership.remove",
        "application.user_membership.add",
        "application.user_membership.remove",
        "application.provision.user.push",
        "application.provision.user.deactivate",
        "user.account.update_profile",
    } <= types
    secret = [e for e in logs if {"token", "clientSecret"} & set(e["debugContext"]["debugData"])]
    assert secret


def test_app_csv_exports(small: Path) -> None:
    _, by_app = _config(small)
    for app, src in by_app.items():
        if src.kind != "app_export":
            continue
        assert src.path is not None
        with src.path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert rows and set(src.columns.values()) == set(rows[0]), app
        assert {r[src.columns["active"]] for r in rows} <= set(src.active_values), app
        logins = [r[src.columns["last_login_at"]] for r in rows]
        assert any(x not in ("", "never") for x in logins), app


def test_tenant_metadata(small: Path) -> None:
    meta = load(small / "tenant.json")
    truth = load(small / "truth.json")
    assert meta["seed"] == 7 and meta["as_of"] == "2026-11-01T00:00:00Z"
    assert sum(meta["truth_counts"].values()) == len(truth)
    assert len(meta["hazards"]) >= 10
    assert [s["path"] for s in meta["hr_snapshots"]][-1] == "sources/hr/workers.csv"


def test_too_small_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_tenant(tmp_path, people=50, apps=8)
    with pytest.raises(ValueError):
        generate_tenant(tmp_path, people=200, apps=3)


def test_the_pipeline_finds_the_truth(small: Path, tmp_path: Path) -> None:
    """Sync the exports with the real connectors and detect: for every finding kind the
    detections implement, the findings are exactly the truth."""
    from evidence.detections.runner import detect
    from evidence.store.db import open_store
    from evidence.sync import sync_sources

    cfg, _ = _config(small)
    con = open_store(tmp_path / "evidence.duckdb")
    try:
        assert all(o.ok for o in sync_sources(con, cfg)), "sync failed"
        detect(con, cfg.policy)
        rows = con.execute(
            "SELECT kind, subkind, app, account, entitlement, rule, status FROM findings"
        ).fetchall()
    finally:
        con.close()
    kinds = {r[0] for r in rows}
    assert "orphan" in kinds
    found = sorted(rows)
    truth = sorted(
        (
            f["kind"],
            f["subkind"],
            f["app"],
            f["account"],
            f.get("entitlement"),
            f.get("rule"),
            f.get("status", "open"),
        )
        for f in load(small / "truth.json")
        if f["kind"] in kinds
    )
    assert found == truth


def test_regenerating_replaces_a_tenant_but_not_a_foreign_folder(tmp_path: Path) -> None:
    generate_tenant(tmp_path / "t", seed=9, people=150, apps=6)
    generate_tenant(tmp_path / "t", seed=9, people=150, apps=6)
    generate_tenant(tmp_path / "fresh", seed=9, people=150, apps=6)
    assert tree_digest(tmp_path / "t") == tree_digest(tmp_path / "fresh")
    (tmp_path / "other" / "sources").mkdir(parents=True)
    with pytest.raises(ValueError):
        generate_tenant(tmp_path / "other", people=150, apps=6)


def test_app_catalog_yaml_keeps_the_types() -> None:
    assert list(_APP_FIELDS) == [f.name for f in fields(AppTemplate)]  # a new field is read too
    by_name = {a.name: a for a in APP_CATALOG}
    assert list(by_name)[:5] == ["github", "slack", "netsuite", "zoom", "expensify"]
    assert by_name["slack"].rules[0] == Rule("*", "*", ("team-{dept}",), ("member",), ())
    assert by_name["slack"].rules[2] == Rule(EXTERNAL_DEPT, "Auditor", (), ("guest",), ())
    assert by_name["aws"].time_bound == (("prod-admin", 7),)
    assert by_name["expensify"].reports == () and by_name["zoom"].reports[0] == "email"
    assert all(type(a.cost) is float and type(a.launched_years) is float for a in APP_CATALOG)


def _one_app(**change: object) -> str:
    app: dict[str, object] = {
        "name": "tool",
        "label": "Tool",
        "okta_name": "tool",
        "kind": "scim_okta",
        "rules": [{"dept": "IT", "title": "Systems Engineer", "roles": ["admin"]}],
    }
    app.update(change)
    return yaml.safe_dump({"apps": [{k: v for k, v in app.items() if v is not None}]})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_one_app(colour="red"), "app 'tool': unknown key 'colour'"),
        (_one_app(label=None), "app 'tool': missing 'label'"),
        (_one_app(cost="cheap"), "app 'tool': cost: must be a number"),
        (_one_app(push="yes"), "app 'tool': push: must be true or false"),
        (_one_app(extras="beta"), "app 'tool': extras: must be a list of strings"),
        (_one_app(page_size=2.5), "app 'tool': page_size: must be a whole number"),
        (_one_app(kind="scim"), "app 'tool': kind: 'scim' is not one of"),
        (_one_app(time_bound={"prod": 7}), "app 'tool': time_bound: names pushed groups"),
        (_one_app(rules=[{"dept": "IT", "grups": ["x"]}]), "app 'tool': rules[0]: unknown key"),
        (_one_app(rules=[{"dept": "Sails"}]), "app 'tool': rules[0]: dept: 'Sails' is not"),
        (
            _one_app(rules=[{"dept": "IT", "title": "Counsel"}]),
            "app 'tool': rules[0]: title: 'Counsel' is not a title in 'IT'",
        ),
        (_one_app(name=7), "app #1: name: must be a non-empty string"),
        (_one_app().replace("apps:", "apps:\n- {}\napp:"), "unknown key 'app'"),
        (_one_app().replace("  label: Tool", "  label: Tool\n  label: T"), "duplicate key"),
        (_one_app() + _one_app().replace("apps:\n", ""), "app 'tool': name: given to more"),
    ],
)
def test_app_catalog_yaml_is_validated_strictly(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=re.escape(message)):
        parse_catalog(text, "t.yaml")
