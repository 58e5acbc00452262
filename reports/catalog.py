"""Framework catalogs (`frameworks/*.yaml`), the shared tests (`library/*.yaml`) and evidence
queries (`queries/*.sql`), as data.

A test is defined once in the library and names one query; a catalog maps each control of a
standard, written as the standard writes it, to test ids. Loading validates the catalog
against the library and every query against an empty store (its columns must be the ones the
test lists, `status` and `reason` among them), so a typo fails here, before anything is read
from the store.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from evidence.sql import SqlFileError, load_sql
from reports.context import PARAMETERS
from reports.errors import ReportError

__all__ = [
    "Breakdown",
    "Citation",
    "Sampling",
    "Column",
    "Distinct",
    "Framework",
    "Query",
    "Requirement",
    "Test",
    "frameworks",
    "load_framework",
    "load_query",
    "load_test",
    "make_query",
    "parse_framework",
    "parse_test",
    "tests",
    "with_prepared",
]

TEST_KINDS = ("population", "figures")
COLUMN_TYPES = ("text", "instant", "day", "hours", "count", "status", "hash")
# How often the control operates (DOMAIN.md §2 (a)): the sample size of each frequency.
FREQUENCY_SIZES = {
    "annual": 1,
    "quarterly": 2,
    "monthly": 2,
    "weekly": 5,
    "daily": 25,
    "many_per_day": 25,
}
COMPLETENESS = ("sources", "rollforward", "reconciliation")
SOURCE_ROLES = ("hr", "idp", "app", "detect")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_PREPARE_RE = re.compile(r"^-- prepare: *([a-z0-9_]+(?:\.sql)?) *$", re.MULTILINE)


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

    @property
    def prepares(self) -> tuple[str, ...]:
        """The preparation steps (reports/prepare.py) its `-- prepare:` lines name."""
        return tuple(dict.fromkeys(_PREPARE_RE.findall(self.text)))

    @property
    def prepared_queries(self) -> tuple[Query, ...]:
        """The queries its `-- prepare: <name>.sql` steps run (their results it reads)."""
        return tuple(load_query(n) for n in self.prepares if n.endswith(".sql"))

    @property
    def all_parameters(self) -> tuple[str, ...]:
        """The $names its text and its prepared queries use: the values its result rests on."""
        names = [*self.parameters, *(p for q in self.prepared_queries for p in q.parameters)]
        return tuple(dict.fromkeys(names))


def with_prepared(queries: Iterable[Query]) -> dict[str, Query]:
    """The queries by file name, each preceded by the queries its preparation steps run."""
    return {q.name: q for query in queries for q in (*query.prepared_queries, query)}


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
class Sampling:
    """How a test's sample size is chosen (DOMAIN.md §2): by the control's frequency, or by
    attribute sampling with zero expected deviations, n = ceil(ln(risk) / ln(1 - rate))."""

    method: str  # frequency | attribute
    frequency: str | None = None
    risk: float = 0.05  # risk of overreliance
    tolerable_rate: float = 0.10  # tolerable deviation rate

    @property
    def size(self) -> int:
        if self.method == "frequency":
            return FREQUENCY_SIZES[self.frequency or "many_per_day"]
        return math.ceil(math.log(self.risk) / math.log(1 - self.tolerable_rate))

    @property
    def text(self) -> str:
        """The method in the words the report prints."""
        if self.method == "frequency":
            freq = (self.frequency or "many_per_day").replace("_", "-")
            return f"by the control's frequency ({freq}: {self.size} items)"
        return (
            f"attribute sampling, zero expected deviations, {self.risk:.0%} risk of "
            f"overreliance, {self.tolerable_rate:.0%} tolerable deviation rate: "
            f"n = ⌈ln {self.risk:g} / ln (1 − {self.tolerable_rate:g})⌉ = {self.size}"
        )


@dataclass(frozen=True)
class Test:
    """One test of the shared library (`library/<id>.yaml`): any catalog may cite it."""

    id: str
    title: str
    kind: str
    query: Query
    parameters: tuple[str, ...]
    procedure: str
    key: tuple[str, ...] = ()
    columns: tuple[Column, ...] = ()
    distinct: tuple[Distinct, ...] = ()
    breakdowns: tuple[Breakdown, ...] = ()
    sampling: Sampling | None = None
    empty: str = "The population is empty."
    # Which sources' runs are listed as the population's frame (SOURCE_ROLES), and whether the
    # per-app roll-forward and the termination reconciliation are printed in its section.
    sources: tuple[str, ...] = ()
    completeness: tuple[str, ...] = ()
    # A column (e.g. `day`) along which consecutive exceptions with the same reason are printed
    # as one line "first – last (n)"; the CSV keeps every row.
    print_runs: str | None = None
    print_runs_by: tuple[str, ...] = ()  # the columns that must agree along a run

    @property
    def queries(self) -> tuple[Query, ...]:
        """Its query and breakdowns' queries, each after the queries it prepares with."""
        return tuple(with_prepared((self.query, *(b.query for b in self.breakdowns))).values())


@dataclass(frozen=True)
class Citation:
    """A control's use of a library test, with the point of focus it evidences there."""

    test: Test
    point_of_focus: str | None = None


@dataclass(frozen=True)
class Requirement:
    id: str
    gist: str
    criterion: str
    citations: tuple[Citation, ...]

    @property
    def tests(self) -> tuple[Test, ...]:
        return tuple(c.test for c in self.citations)


@dataclass(frozen=True)
class Framework:
    id: str
    title: str
    running_title: str
    standard: str
    source: str  # where the control texts are quoted from
    keywords: str
    template: str
    requirements: tuple[Requirement, ...]

    @property
    def tests(self) -> tuple[Test, ...]:
        """Every test the catalog cites, once each, in order of first citation."""
        seen: dict[str, Test] = {}
        for r in self.requirements:
            for t in r.tests:
                seen.setdefault(t.id, t)
        return tuple(seen.values())

    def cited_by(self, test_id: str) -> tuple[str, ...]:
        """The ids of the controls that cite a test, in catalog order."""
        return tuple(r.id for r in self.requirements if any(t.id == test_id for t in r.tests))

    @property
    def queries(self) -> dict[str, Query]:
        """Every query the catalog's tests name, by file name, in catalog order."""
        return {q.name: q for t in self.tests for q in t.queries}


def frameworks() -> list[str]:
    """Names of the shipped framework catalogs."""
    folder = resources.files("reports").joinpath("frameworks")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


@cache
def load_query(name: str) -> Query:
    """A query file of reports/queries by file name (e.g. `deprovisioning.sql`)."""
    if not name.endswith(".sql") or not _NAME_RE.match(name[: -len(".sql")]):
        raise ReportError(f"query {name!r}: not a query file name")
    if not resources.files("reports").joinpath("queries", name).is_file():
        raise ReportError(f"query {name!r}: no such file in reports/queries")
    try:
        text = load_sql("reports", f"queries/{name}")
    except SqlFileError as e:
        raise ReportError(f"query {name}: {e}") from e
    data = text.encode("utf-8")
    return Query(name=name, text=text, sha256=hashlib.sha256(data).hexdigest())


def make_query(name: str, text: str) -> Query:
    """A Query from its text, as load_query builds one from a file (tests, custom catalogs)."""
    return Query(name=name, text=text, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())


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
    _check_shape(test, where)
    return test


def _load(loader: Callable[[str], Query], name: str, where: str) -> Query:
    try:
        return loader(name)
    except ReportError as e:
        raise ReportError(f"{where}: {e}") from None


def _check_shape(test: Test, where: str) -> None:
    """Run the test's queries on an empty store: each must bind, and return the columns the
    test lists, in order (a query without `status` fails here, not in a report)."""
    con = _empty_store()
    for q, cols in (
        (test.query, test.columns),
        *((b.query, b.columns) for b in test.breakdowns),
    ):
        try:
            from reports.prepare import prepare

            prepare(con, q.prepares, _DUMMY)
            cur = con.execute(
                f"SELECT * FROM (\n{q.text}\n) LIMIT 0", {p: _DUMMY[p] for p in q.parameters}
            )
        except Exception as e:  # duckdb.Error, but the module is imported lazily
            first = str(e).splitlines()[0]
            raise ReportError(f"{where}: {q.name} does not run: {first}") from None
        got = [d[0] for d in cur.description]
        expected = [c.name for c in cols]
        if cols and got != expected:
            raise ReportError(f"{where}: {q.name} returns columns {got}, the test lists {expected}")


_DUMMY: dict[str, Any] = {}


@cache
def _empty_store() -> Any:
    """An in-memory store with the current schema and the report's temp tables."""
    from datetime import UTC, datetime

    import duckdb

    from evidence.config import Policy
    from evidence.store.schema import migrate
    from reports.context import install_tables, query_values

    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    migrate(con)
    install_tables(con, Policy())
    t = datetime(2026, 1, 1, tzinfo=UTC)
    _DUMMY.update(query_values(Policy(), period_start=t, period_end=t, as_of=t, evidence_until=t))
    return con


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
    if not _NAME_RE.match(test_id) or test_id not in tests():
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
