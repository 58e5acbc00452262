"""Framework catalogs (`frameworks/*.yaml`) and evidence queries (`queries/*.sql`), as data.

A catalog maps each requirement of a standard to the tests that evidence it; a test names one
query file. Loading validates the catalog against the query files, so a typo fails here,
before anything is read from the store.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from reports.errors import ReportError

__all__ = [
    "Breakdown",
    "Column",
    "Distinct",
    "Framework",
    "Query",
    "Requirement",
    "Test",
    "frameworks",
    "load_framework",
    "load_query",
]

TEST_KINDS = ("population", "figures")
COLUMN_TYPES = ("text", "instant", "hours", "count", "status")
# Parameters a query may ask for; the builder knows how to supply each of them.
PARAMETERS = (
    "period_start",
    "period_end",
    "as_of",
    "evidence_until",
    "grace_hours",
    "deprovision_sla_hours",
)
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# `-- include: <detection file> <block>` in a query file stands for that block of the
# detection: the lines from `-- shared: <block>` to `-- end shared: <block>`, both included.
_INCLUDE_RE = re.compile(r"^-- include: ([a-z0-9_]+\.sql) ([a-z0-9_]+)\n", re.MULTILINE)


@dataclass(frozen=True)
class Query:
    """One evidence query: file name, text as run, and the sha256 of that text's bytes.

    The text is the file's with each `-- include:` line followed by the detection block it
    names, so the text printed in a report runs as it stands.
    """

    name: str
    text: str
    sha256: str

    @property
    def parameters(self) -> tuple[str, ...]:
        """The $names the query text uses, in order of first use."""
        return tuple(dict.fromkeys(_PARAM_RE.findall(self.text)))


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    type: str = "text"
    print: str = "always"  # always | exceptions (only in the exceptions table) | never
    width: float | None = None  # relative share of the printed table's width


@dataclass(frozen=True)
class Distinct:
    """A count printed with the population size: distinct non-empty values of `columns`."""

    label: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Breakdown:
    """A table printed in a population test's section: figures over the same population
    (e.g. removal latency by app), from a query of its own with the test's parameters."""

    title: str
    query: Query
    note: str
    columns: tuple[Column, ...]
    total: str = "Total"  # printed for the row whose first column is empty


@dataclass(frozen=True)
class Test:
    id: str
    title: str
    kind: str
    query: Query
    parameters: tuple[str, ...]
    procedure: str
    point_of_focus: str | None = None
    key: tuple[str, ...] = ()
    columns: tuple[Column, ...] = ()
    distinct: tuple[Distinct, ...] = ()
    breakdowns: tuple[Breakdown, ...] = ()


@dataclass(frozen=True)
class Requirement:
    id: str
    gist: str
    criterion: str
    tests: tuple[Test, ...]


@dataclass(frozen=True)
class Framework:
    id: str
    title: str
    running_title: str
    standard: str
    template: str
    summary_query: Query
    print_limit: int
    requirements: tuple[Requirement, ...]

    @property
    def tests(self) -> tuple[tuple[Requirement, Test], ...]:
        """Every (requirement, test) pair in catalog order."""
        return tuple((r, t) for r in self.requirements for t in r.tests)

    @property
    def queries(self) -> dict[str, Query]:
        """Every query the catalog names, by file name, in catalog order."""
        out = {self.summary_query.name: self.summary_query}
        for _, t in self.tests:
            out[t.query.name] = t.query
            for b in t.breakdowns:
                out[b.query.name] = b.query
        return out


def frameworks() -> list[str]:
    """Names of the shipped framework catalogs."""
    folder = resources.files("reports").joinpath("frameworks")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


@cache
def load_query(name: str) -> Query:
    """A query file of reports/queries by file name (e.g. `deprovisioning.sql`)."""
    if not name.endswith(".sql") or not _NAME_RE.match(name[: -len(".sql")]):
        raise ReportError(f"query {name!r}: not a query file name")
    path = resources.files("reports").joinpath("queries", name)
    if not path.is_file():
        raise ReportError(f"query {name!r}: no such file in reports/queries")
    text = _INCLUDE_RE.sub(
        lambda m: m.group(0) + _shared_block(name, m.group(1), m.group(2)),
        path.read_bytes().decode("utf-8"),
    )
    data = text.encode("utf-8")
    return Query(name=name, text=text, sha256=hashlib.sha256(data).hexdigest())


def _shared_block(query: str, detection: str, block: str) -> str:
    """The lines of a detection file from `-- shared: <block>` to `-- end shared: <block>`.

    A detection and a report query that must agree (e.g. sla_deprovision_late and the CC6.2
    deprovisioning population) share one text this way instead of two copies.
    """
    path = resources.files("evidence.detections").joinpath(detection)
    if not path.is_file():
        raise ReportError(f"query {query}: includes {detection}, no such detection file")
    text = path.read_text(encoding="utf-8")
    begin, end = f"-- shared: {block}\n", f"-- end shared: {block}\n"
    start = text.find(begin)
    stop = text.find(end, start + 1) if start >= 0 else -1
    if start < 0 or stop < 0 or (start > 0 and text[start - 1] != "\n"):
        raise ReportError(f"query {query}: {detection} has no shared block {block!r}")
    return text[start : stop + len(end)]


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


def _test(raw: dict[str, Any], where: str) -> Test:
    tid = _need(raw, "id", where)
    where = f"{where}: test {tid}"
    kind = _need(raw, "kind", where)
    if kind not in TEST_KINDS:
        raise ReportError(f"{where}: unknown kind {kind!r} (one of {', '.join(TEST_KINDS)})")
    query = load_query(_need(raw, "query", where))
    params = tuple(raw.get("parameters") or ())
    unknown = [p for p in params if p not in PARAMETERS]
    if unknown:
        raise ReportError(f"{where}: unknown parameter {unknown[0]!r}")
    missing = [p for p in query.parameters if p not in params]
    if missing:
        raise ReportError(f"{where}: {query.name} uses ${missing[0]}, not listed in parameters")
    columns = tuple(_column(c, where) for c in raw.get("columns") or ())
    key = tuple(raw.get("key") or ())
    distinct = tuple(
        Distinct(label=_need(d, "label", where), columns=tuple(_need(d, "columns", where)))
        for d in raw.get("distinct") or ()
    )
    breakdowns = tuple(_breakdown(b, where, params) for b in raw.get("breakdowns") or ())
    if breakdowns and kind != "population":
        raise ReportError(f"{where}: only a population test has breakdowns")
    if kind == "population":
        names = {c.name for c in columns}
        wanted = ("status", "reason", *key, *(c for d in distinct for c in d.columns))
        for needed in wanted:
            if needed not in names:
                raise ReportError(f"{where}: a population test needs a {needed!r} column")
        if not key:
            raise ReportError(f"{where}: a population test needs a `key`")
    return Test(
        id=tid,
        title=_need(raw, "title", where),
        kind=kind,
        query=query,
        parameters=params,
        procedure=" ".join(str(_need(raw, "procedure", where)).split()),
        point_of_focus=raw.get("point_of_focus"),
        key=key,
        columns=columns,
        distinct=distinct,
        breakdowns=breakdowns,
    )


def _breakdown(raw: dict[str, Any], where: str, params: tuple[str, ...]) -> Breakdown:
    query = load_query(_need(raw, "query", where))
    where = f"{where}: breakdown {query.name}"
    missing = [p for p in query.parameters if p not in params]
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


@cache
def load_framework(name: str) -> Framework:
    """The catalog `frameworks/<name>.yaml`, validated against the query files."""
    if name not in frameworks():
        known = ", ".join(frameworks()) or "none"
        raise ReportError(f"framework {name!r}: no catalog (known: {known})")
    where = f"frameworks/{name}.yaml"
    text = resources.files("reports").joinpath("frameworks", f"{name}.yaml").read_text("utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ReportError(f"{where}: invalid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ReportError(f"{where}: not a mapping")
    requirements = []
    for r in _need(raw, "requirements", where):
        rid = _need(r, "id", where)
        tests = tuple(_test(t, f"{where}: {rid}") for t in _need(r, "tests", f"{where}: {rid}"))
        requirements.append(
            Requirement(
                id=rid,
                gist=_need(r, "gist", f"{where}: {rid}"),
                criterion=" ".join(str(_need(r, "criterion", f"{where}: {rid}")).split()),
                tests=tests,
            )
        )
    ids = [t.id for r in requirements for t in r.tests]
    if len(ids) != len(set(ids)):
        raise ReportError(f"{where}: test ids must be unique")
    summary = load_query(_need(raw, "summary_query", where))
    unknown = [p for p in summary.parameters if p not in PARAMETERS]
    if unknown:
        raise ReportError(f"{where}: {summary.name} uses unknown parameter ${unknown[0]}")
    fw = Framework(
        id=_need(raw, "id", where),
        title=_need(raw, "title", where),
        running_title=raw.get("running_title") or raw["title"],
        standard=_need(raw, "standard", where),
        template=_need(raw, "template", where),
        summary_query=summary,
        print_limit=int(raw.get("print_limit", 2000)),
        requirements=tuple(requirements),
    )
    if fw.id != name:
        raise ReportError(f"{where}: id {fw.id!r} differs from the file name")
    return fw
