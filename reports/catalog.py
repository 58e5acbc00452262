"""What a framework catalog is made of, as data: evidence queries (`queries/*.sql`), the
shared tests (`library/*.yaml`) that name them, and the controls (`frameworks/*.yaml`) that cite
the tests. Reading and validating the YAML files is reports/catalog_load.py's.

A test is defined once in the library and names one query; a catalog maps each control of a
standard, written as the standard writes it, to test ids.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from evidence.sql import SqlFileError, load_sql
from reports.errors import ReportError

__all__ = [
    "Breakdown",
    "Citation",
    "Column",
    "Distinct",
    "Framework",
    "Query",
    "Requirement",
    "Sampling",
    "Test",
    "load_query",
    "make_query",
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
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
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


@cache
def load_query(name: str) -> Query:
    """A query file of reports/queries by file name (e.g. `deprovisioning.sql`)."""
    if not name.endswith(".sql") or not NAME_RE.match(name[: -len(".sql")]):
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
