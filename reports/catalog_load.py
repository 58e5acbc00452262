"""Framework catalogs (`frameworks/*.yaml`) and the shared tests (`library/*.yaml`), read and
validated into the dataclasses of reports/catalog.py.

Loading validates the catalog against the library and every query against an empty store (its
columns must be the ones the test lists, `status` and `reason` among them; reports/query_shape.py),
so a typo fails here, before anything is read from the store.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import yaml

from reports.catalog import (
    COLUMN_TYPES,
    COMPLETENESS,
    FREQUENCY_SIZES,
    NAME_RE,
    SOURCE_ROLES,
    TEST_KINDS,
    Breakdown,
    Citation,
    Column,
    Distinct,
    Framework,
    Query,
    Requirement,
    Sampling,
    Test,
    load_query,
)
from reports.context import PARAMETERS
from reports.errors import ReportError
from reports.query_shape import check_shape

__all__ = [
    "frameworks",
    "load_framework",
    "load_test",
    "parse_framework",
    "parse_test",
    "tests",
]


def frameworks() -> list[str]:
    """Names of the shipped framework catalogs."""
    folder = resources.files("reports").joinpath("frameworks")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _need(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj or obj[key] in (None, ""):
        raise ReportError(f"{where}: missing {key!r}")
    return obj[key]


def _column(raw: dict[str, Any], where: str) -> Column:
    col = Column(
        name=_need(raw, "name", where),
        label=_need(raw, "label", where),
        type=raw.get("type", "text"),
        print=raw.get("print", "always"),
        width=float(raw["width"]) if raw.get("width") is not None else None,
    )
    if col.type not in COLUMN_TYPES:
        raise ReportError(f"{where}: column {col.name!r}: unknown type {col.type!r}")
    if col.print not in ("always", "exceptions", "never"):
        raise ReportError(f"{where}: column {col.name!r}: unknown print {col.print!r}")
    return col


def _sampling(raw: Any, where: str) -> Sampling:
    if not isinstance(raw, dict):
        raise ReportError(f"{where}: `sampling` must be a mapping")
    # `frequency: event` is an event-driven control (joiners, leavers, movers): attribute
    # sampling, as DOMAIN.md §2 (c) says such controls are sampled.
    if "frequency" in raw and raw["frequency"] != "event":
        if raw["frequency"] not in FREQUENCY_SIZES:
            known = ", ".join(FREQUENCY_SIZES)
            raise ReportError(
                f"{where}: unknown frequency {raw['frequency']!r} (one of {known}, event)"
            )
        return Sampling(method="frequency", frequency=raw["frequency"])
    risk = float(raw.get("risk", 0.05))
    rate = float(raw.get("tolerable_rate", 0.10))
    if not (0 < risk < 1 and 0 < rate < 1):
        raise ReportError(f"{where}: sampling risk and tolerable_rate must lie between 0 and 1")
    return Sampling(method="attribute", risk=risk, tolerable_rate=rate)


def parse_test(
    raw: dict[str, Any], where: str, query_loader: Callable[[str], Query] | None = None
) -> Test:
    """A test from its YAML mapping; `query_loader` finds its query files (default: the
    package's reports/queries). Raises ReportError naming `where` and the field at fault."""
    loader = query_loader or load_query
    tid = _need(raw, "id", where)
    where = f"{where}: test {tid}"
    kind = _need(raw, "kind", where)
    if kind not in TEST_KINDS:
        raise ReportError(f"{where}: unknown kind {kind!r} (one of {', '.join(TEST_KINDS)})")
    query = _load(loader, _need(raw, "query", where), where)
    params = tuple(raw.get("parameters") or ())
    unknown = [p for p in params if p not in PARAMETERS]
    if unknown:
        raise ReportError(f"{where}: unknown parameter {unknown[0]!r}")
    missing = [p for p in query.all_parameters if p not in params]
    if missing:
        raise ReportError(f"{where}: {query.name} uses ${missing[0]}, not listed in parameters")
    columns = tuple(_column(c, where) for c in raw.get("columns") or ())
    key = tuple(raw.get("key") or ())
    distinct = tuple(
        Distinct(label=_need(d, "label", where), columns=tuple(_need(d, "columns", where)))
        for d in raw.get("distinct") or ()
    )
    breakdowns = tuple(_breakdown(b, where, params, loader) for b in raw.get("breakdowns") or ())
    if breakdowns and kind != "population":
        raise ReportError(f"{where}: only a population test has breakdowns")
    sampling = None
    if kind == "population":
        names = {c.name for c in columns}
        wanted = ("status", "reason", *key, *(c for d in distinct for c in d.columns))
        for needed in wanted:
            if needed not in names:
                raise ReportError(f"{where}: a population test needs a {needed!r} column")
        if not key:
            raise ReportError(f"{where}: a population test needs a `key`")
        sampling = _sampling(_need(raw, "sampling", where), where)
    sources = tuple(raw.get("sources") or ())
    bad = [r for r in sources if r not in SOURCE_ROLES]
    if bad:
        raise ReportError(f"{where}: unknown source role {bad[0]!r}")
    completeness = tuple(raw.get("completeness") or ())
    bad = [c for c in completeness if c not in COMPLETENESS]
    if bad:
        raise ReportError(f"{where}: unknown completeness table {bad[0]!r}")
    test = Test(
        id=tid,
        title=_need(raw, "title", where),
        kind=kind,
        query=query,
        parameters=params,
        procedure=" ".join(str(_need(raw, "procedure", where)).split()),
        key=key,
        columns=columns,
        distinct=distinct,
        breakdowns=breakdowns,
        sampling=sampling,
        empty=" ".join(str(raw.get("empty") or "The population is empty.").split()),
        sources=sources,
        completeness=completeness,
        print_runs=(raw.get("print_runs") or {}).get("column"),
        print_runs_by=tuple((raw.get("print_runs") or {}).get("by") or ()),
    )
    names = {c.name for c in columns}
    for name in (test.print_runs, *test.print_runs_by):
        if name is not None and name not in names:
            raise ReportError(f"{where}: print_runs names no column: {name!r}")
    check_shape(test, where)
    return test


def _load(loader: Callable[[str], Query], name: str, where: str) -> Query:
    try:
        return loader(name)
    except ReportError as e:
        raise ReportError(f"{where}: {e}") from None


def _breakdown(
    raw: dict[str, Any],
    where: str,
    params: tuple[str, ...],
    loader: Callable[[str], Query],
) -> Breakdown:
    query = _load(loader, _need(raw, "query", where), where)
    where = f"{where}: breakdown {query.name}"
    missing = [p for p in query.all_parameters if p not in params]
    if missing:
        raise ReportError(f"{where}: uses ${missing[0]}, not among the test's parameters")
    columns = tuple(_column(c, where) for c in _need(raw, "columns", where))
    return Breakdown(
        title=_need(raw, "title", where),
        query=query,
        note=" ".join(str(raw.get("note") or "").split()),
        columns=columns,
        total=str(raw.get("total") or "Total"),
    )


def tests() -> list[str]:
    """Ids of the tests of the shared library."""
    folder = resources.files("reports").joinpath("library")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _yaml(where: str, text: str) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ReportError(f"{where}: invalid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ReportError(f"{where}: not a mapping")
    return raw


@cache
def load_test(test_id: str) -> Test:
    """The test `library/<test_id>.yaml`, validated against its queries."""
    if not NAME_RE.match(test_id) or test_id not in tests():
        raise ReportError(f"test {test_id!r}: not in reports/library")
    where = f"library/{test_id}.yaml"
    raw = _yaml(
        where, resources.files("reports").joinpath("library", f"{test_id}.yaml").read_text("utf-8")
    )
    test = parse_test(raw, where)
    if test.id != test_id:
        raise ReportError(f"{where}: id {test.id!r} differs from the file name")
    return test


def _citation(raw: Any, where: str, test_loader: Callable[[str], Test]) -> Citation:
    if isinstance(raw, str):
        raw = {"test": raw}
    if not isinstance(raw, dict):
        raise ReportError(f"{where}: a test citation is a test id or a mapping with `test`")
    tid = str(_need(raw, "test", where))
    try:
        test = test_loader(tid)
    except ReportError as e:
        raise ReportError(f"{where}: {e}") from None
    return Citation(test=test, point_of_focus=raw.get("point_of_focus"))


@cache
def load_framework(name: str) -> Framework:
    """The catalog `frameworks/<name>.yaml`, validated against the library and its queries."""
    if name not in frameworks():
        known = ", ".join(frameworks()) or "none"
        raise ReportError(f"framework {name!r}: no catalog (known: {known})")
    where = f"frameworks/{name}.yaml"
    raw = _yaml(
        where, resources.files("reports").joinpath("frameworks", f"{name}.yaml").read_text("utf-8")
    )
    fw = parse_framework(raw, where)
    if fw.id != name:
        raise ReportError(f"{where}: id {fw.id!r} differs from the file name")
    return fw


def parse_framework(
    raw: dict[str, Any], where: str, test_loader: Callable[[str], Test] | None = None
) -> Framework:
    """A catalog from its YAML mapping; `test_loader` resolves test ids (default: the
    library). Raises ReportError naming `where`, the control and the field at fault."""
    loader = test_loader or _library_test
    requirements = []
    for r in _need(raw, "requirements", where):
        rid = str(_need(r, "id", where))
        at = f"{where}: {rid}"
        citations = tuple(_citation(c, at, loader) for c in _need(r, "tests", at))
        ids = [c.test.id for c in citations]
        if len(ids) != len(set(ids)):
            raise ReportError(f"{at}: a test is cited twice")
        requirements.append(
            Requirement(
                id=rid,
                gist=_need(r, "gist", at),
                criterion=" ".join(str(_need(r, "criterion", at)).split()),
                citations=citations,
            )
        )
    rids = [r.id for r in requirements]
    if len(rids) != len(set(rids)):
        raise ReportError(f"{where}: control ids must be unique")
    fw = Framework(
        id=_need(raw, "id", where),
        title=_need(raw, "title", where),
        running_title=raw.get("running_title") or raw["title"],
        standard=_need(raw, "standard", where),
        source=" ".join(str(raw.get("source") or "").split()),
        keywords=str(raw.get("keywords") or raw["standard"]),
        template=raw.get("template") or "report.html.j2",
        requirements=tuple(requirements),
    )
    return fw


def _library_test(test_id: str) -> Test:
    if test_id not in tests():
        raise ReportError(f"test {test_id!r} is not in reports/library")
    return load_test(test_id)
