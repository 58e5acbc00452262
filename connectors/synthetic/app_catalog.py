"""The app catalog: app_catalog.yaml (each app's kind, Okta label and role-based access rules)
read into the AppTemplate and Rule of connectors/synthetic/catalog.py.

The data is validated strictly when loaded: an unknown key, a wrong type, an unknown department
or title, or a duplicate key fails with the app and the key at fault, rather than turning into
an app that no one is granted or a field that silently keeps its default.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from importlib import resources
from typing import Any

import yaml

from connectors.synthetic.catalog import EXTERNAL_DEPT, EXTERNAL_TITLES, ROLES, AppTemplate, Rule

__all__ = ["APP_CATALOG", "CatalogError", "parse_catalog"]

KINDS = ("scim_okta", "csv_okta", "csv_only")
USER_STYLES = ("email", "handle", "first.last")
CSV_FORMATS = ("a", "b")
SIGN_ONS = ("SAML_2_0", "OPENID_CONNECT", "AUTO_LOGIN")
REPORTS = ("email", "display_name", "department")

# The titles a rule may name, by department; "*" (every employee department) any employee's.
_TITLES: dict[str, frozenset[str]] = {
    "*": frozenset(r.title for r in ROLES),
    **{
        d: frozenset(r.title for r in ROLES if r.dept == d)
        for d in dict.fromkeys(r.dept for r in ROLES)
    },
    EXTERNAL_DEPT: frozenset(EXTERNAL_TITLES),
}


class CatalogError(ValueError):
    """app_catalog.yaml is malformed; the message names the app and the key at fault."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load, but a key given twice in one mapping is an error, not the last one winning."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _str(v: Any, where: str) -> str:
    if not isinstance(v, str) or not v:
        raise CatalogError(f"{where}: must be a non-empty string, not {v!r}")
    return v


def _bool(v: Any, where: str) -> bool:
    if not isinstance(v, bool):
        raise CatalogError(f"{where}: must be true or false, not {v!r}")
    return v


def _int(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise CatalogError(f"{where}: must be a whole number of 0 or more, not {v!r}")
    return v


def _float(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
        raise CatalogError(f"{where}: must be a number of 0 or more, not {v!r}")
    return float(v)


def _strs(v: Any, where: str) -> tuple[str, ...]:
    if not isinstance(v, list):
        raise CatalogError(f"{where}: must be a list of strings, not {v!r}")
    return tuple(_str(s, f"{where}[{i}]") for i, s in enumerate(v))


def _one_of(choices: tuple[str, ...]) -> Callable[[Any, str], str]:
    def check(v: Any, where: str) -> str:
        if v not in choices:
            raise CatalogError(f"{where}: {v!r} is not one of {', '.join(choices)}")
        return v

    return check


def _reports(v: Any, where: str) -> tuple[str, ...]:
    check = _one_of(REPORTS)
    return tuple(check(s, f"{where}[{i}]") for i, s in enumerate(_strs(v, where)))


def _mapping(v: Any, where: str) -> dict[Any, Any]:
    if not isinstance(v, dict):
        raise CatalogError(f"{where}: must be a mapping, not {v!r}")
    return v


def _time_bound(v: Any, where: str) -> tuple[tuple[str, int], ...]:
    return tuple(
        (_str(g, f"{where}: group"), _int(days, f"{where}.{g}"))
        for g, days in _mapping(v, where).items()
    )


def _meta(v: Any, where: str) -> dict[str, str]:
    return {
        _str(k, f"{where}: key"): _str(s, f"{where}.{k}") for k, s in _mapping(v, where).items()
    }


def _fields(
    raw: Any,
    where: str,
    fields: dict[str, Callable[[Any, str], Any]],
    required: tuple[str, ...],
) -> dict[str, Any]:
    """`raw`'s keys checked against `fields` and each value converted; `where` names it."""
    obj = _mapping(raw, where)
    unknown = [k for k in obj if k not in fields]
    if unknown:
        raise CatalogError(f"{where}: unknown key {unknown[0]!r} (one of {', '.join(fields)})")
    missing = [k for k in required if k not in obj]
    if missing:
        raise CatalogError(f"{where}: missing {missing[0]!r}")
    return {k: fields[k](v, f"{where}: {k}") for k, v in obj.items()}


_RULE_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "dept": _one_of(tuple(_TITLES)),
    "title": _str,
    "groups": _strs,
    "roles": _strs,
    "ents": _strs,
}


def _rule(raw: Any, where: str) -> Rule:
    kw = _fields(raw, where, _RULE_FIELDS, ("dept",))
    title = kw.get("title", "*")
    if title != "*" and title not in _TITLES[kw["dept"]]:
        raise CatalogError(f"{where}: title: {title!r} is not a title in {kw['dept']!r}")
    return Rule(**kw)


def _rules(v: Any, where: str) -> tuple[Rule, ...]:
    if not isinstance(v, list) or not v:
        raise CatalogError(f"{where}: must be a non-empty list of rules")
    return tuple(_rule(r, f"{where}[{i}]") for i, r in enumerate(v))


_APP_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "name": _str,
    "label": _str,
    "okta_name": _str,
    "kind": _one_of(KINDS),
    "rules": _rules,
    "push": _bool,
    "user_style": _one_of(USER_STYLES),
    "reports": _reports,
    "csv_format": _one_of(CSV_FORMATS),
    "cost": _float,
    "extras": _strs,
    "privileged_pool": _strs,
    "time_bound": _time_bound,
    "page_size": _int,
    "sign_on": _one_of(SIGN_ONS),
    "list_groups_on_users": _bool,
    "launched_years": _float,
    "meta": _meta,
}


def _app(raw: Any, where: str, n: int) -> AppTemplate:
    name = raw.get("name") if isinstance(raw, dict) else None
    where = f"{where}: app {name!r}" if isinstance(name, str) else f"{where}: app #{n}"
    kw = _fields(raw, where, _APP_FIELDS, ("name", "label", "okta_name", "kind", "rules"))
    if kw.get("push") and kw["kind"] != "scim_okta":
        raise CatalogError(f"{where}: push: only a scim_okta app pushes groups")
    for key in ("privileged_pool", "time_bound"):
        if kw.get(key) and not kw.get("push"):
            raise CatalogError(f"{where}: {key}: names pushed groups, but the app has no push")
    return AppTemplate(**kw)


def parse_catalog(text: str, where: str = "app_catalog.yaml") -> tuple[AppTemplate, ...]:
    """The apps of a catalog's YAML text, in order. Raises CatalogError naming `where`, the app
    and the key at fault."""
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as e:
        raise CatalogError(f"{where}: invalid YAML: {e}") from None
    apps = _fields(raw, where, {"apps": lambda v, _: v}, ("apps",))["apps"]
    if not isinstance(apps, list) or not apps:
        raise CatalogError(f"{where}: apps: must be a non-empty list")
    catalog = tuple(_app(a, where, i + 1) for i, a in enumerate(apps))
    names = [a.name for a in catalog]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise CatalogError(f"{where}: app {dup!r}: name: given to more than one app")
    return catalog


APP_CATALOG: tuple[AppTemplate, ...] = parse_catalog(
    resources.files("connectors.synthetic").joinpath("app_catalog.yaml").read_text("utf-8")
)
