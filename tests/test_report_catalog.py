"""Framework catalogs and the shared test library: what loads, what is refused at load time,
how sample sizes follow from the sampling rule, and that docs/ describes every control."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reports.catalog import Sampling, make_query
from reports.catalog_load import (
    frameworks,
    load_framework,
    load_test,
    parse_framework,
    parse_test,
)
from reports.catalog_load import tests as library_tests
from reports.context import PARAMETERS
from reports.errors import ReportError

DOCS = Path(__file__).resolve().parent.parent / "docs"

# The minimum mapping of the issue, control ids exactly as each standard writes them.
CONTROLS = {
    "soc2": ["CC6.1", "CC6.2", "CC6.3", "CC7.2", "CC4.1"],
    "iso27001": ["A.5.3", "A.5.15", "A.5.16", "A.5.18", "A.6.5", "A.8.2", "A.8.15"],
    "hipaa": [
        "164.308(a)(1)(ii)(D)",
        "164.308(a)(3)(ii)(C)",
        "164.308(a)(4)(ii)(C)",
        "164.312(a)(2)(i)",
        "164.312(b)",
    ],
}
TEST_IDS = {
    "access_inventory",
    "deprovisioning",
    "provisioning",
    "role_changes",
    "privileged_access",
    "segregation_of_duties",
    "unique_ids",
    "monitoring",
    "log_integrity",
}


def test_three_frameworks_with_their_controls() -> None:
    assert frameworks() == ["hipaa", "iso27001", "soc2"]
    for name, ids in CONTROLS.items():
        fw = load_framework(name)
        assert [r.id for r in fw.requirements] == ids
        for r in fw.requirements:
            assert r.criterion and r.gist and r.tests


def test_the_library_holds_every_public_test_and_catalogs_share_it() -> None:
    assert set(library_tests()) == TEST_IDS
    cited = {t.id for name in frameworks() for t in load_framework(name).tests}
    assert cited == TEST_IDS
    # One definition per test: every catalog cites the same object, so its query runs once.
    for name in frameworks():
        for t in load_framework(name).tests:
            assert t is load_test(t.id)
    for tid in TEST_IDS:
        t = load_test(tid)
        assert set(t.query.parameters) <= set(t.parameters) <= set(PARAMETERS)
        if t.kind == "population":
            names = [c.name for c in t.columns]
            assert "status" in names and "reason" in names
            # Every population that concerns accounts names them as the app does.
            if "account_id" in names:
                assert "app" in names and "account" in names
            assert t.sampling is not None and t.sampling.size > 0


def test_a_test_cited_by_two_controls_is_listed_once() -> None:
    soc2 = load_framework("soc2")
    assert [t.id for t in soc2.tests].count("monitoring") == 1
    assert soc2.cited_by("monitoring") == ("CC7.2", "CC4.1")
    iso = load_framework("iso27001")
    assert iso.cited_by("deprovisioning") == ("A.5.16", "A.5.18", "A.6.5")


GOOD_QUERY = "SELECT 'x' AS item, 'ok' AS status, 'Fine.' AS reason"


def _raw(query: str = "q.sql", **over: object) -> dict:
    raw: dict = {
        "id": "t1",
        "title": "T",
        "kind": "population",
        "query": query,
        "procedure": "Looked.",
        "key": ["item"],
        "sampling": {"frequency": "daily"},
        "columns": [
            {"name": "item", "label": "Item"},
            {"name": "status", "label": "Status", "type": "status"},
            {"name": "reason", "label": "Reason"},
        ],
    }
    raw.update(over)
    return raw


def _loader(text: str):
    def load(name: str):
        if name != "q.sql":
            raise ReportError(f"query {name!r}: no such file in reports/queries")
        return make_query(name, text)

    return load


def test_a_well_formed_test_loads() -> None:
    t = parse_test(_raw(), "lib/t1.yaml", _loader(GOOD_QUERY))
    assert [c.name for c in t.columns] == ["item", "status", "reason"]
    assert t.sampling == Sampling(method="frequency", frequency="daily")


@pytest.mark.parametrize(
    ("raw", "text", "message"),
    [
        (_raw(query="missing.sql"), GOOD_QUERY, "no such file"),
        # A query without status fails at load, before any store is read.
        (_raw(), "SELECT 'x' AS item, 'Fine.' AS reason", r"returns columns \['item', 'reason'\]"),
        (
            _raw(columns=[{"name": "item", "label": "Item"}, {"name": "reason", "label": "R"}]),
            GOOD_QUERY,
            "needs a 'status' column",
        ),
        (
            _raw(),
            "SELECT 'x' AS item, 'ok' AS status, 'y' AS reason FROM no_such_table",
            "does not run",
        ),
        (_raw(), GOOD_QUERY + " WHERE $nope", "not listed in parameters"),
        (_raw(parameters=["nope"]), GOOD_QUERY, "unknown parameter 'nope'"),
        (_raw(sampling={"frequency": "hourly"}), GOOD_QUERY, "unknown frequency 'hourly'"),
        (_raw(sampling={"risk": 1.5}), GOOD_QUERY, "between 0 and 1"),
        (_raw(key=[]), GOOD_QUERY, "needs a `key`"),
        (_raw(kind="survey"), GOOD_QUERY, "unknown kind 'survey'"),
        ({k: v for k, v in _raw().items() if k != "sampling"}, GOOD_QUERY, "missing 'sampling'"),
    ],
)
def test_a_bad_test_fails_at_load(raw: dict, text: str, message: str) -> None:
    with pytest.raises(ReportError, match=message) as e:
        parse_test(raw, "lib/t1.yaml", _loader(text))
    assert str(e.value).startswith("lib/t1.yaml: test t1")


def test_a_catalog_naming_a_missing_test_fails_at_load() -> None:
    raw = {
        "id": "x",
        "title": "X",
        "standard": "X",
        "requirements": [
            {"id": "C1", "gist": "g", "criterion": "c", "tests": ["deprovisioning"]},
            {"id": "C2", "gist": "g", "criterion": "c", "tests": ["no_such_test"]},
        ],
    }
    with pytest.raises(ReportError, match=r"frameworks/x.yaml: C2: test 'no_such_test'"):
        parse_framework(raw, "frameworks/x.yaml")
    raw["requirements"][1]["tests"] = ["deprovisioning", {"test": "deprovisioning"}]
    with pytest.raises(ReportError, match="C2: a test is cited twice"):
        parse_framework(raw, "frameworks/x.yaml")
    raw["requirements"][1] = dict(raw["requirements"][0])
    with pytest.raises(ReportError, match="control ids must be unique"):
        parse_framework(raw, "frameworks/x.yaml")


def test_unknown_framework_and_test_are_refused() -> None:
    with pytest.raises(ReportError, match="no catalog"):
        load_framework("nist")
    with pytest.raises(ReportError, match="not in reports/library"):
        load_test("nope")


@pytest.mark.parametrize(
    ("sampling", "size"),
    [
        (Sampling("attribute", risk=0.05, tolerable_rate=0.05), 59),
        (Sampling("attribute", risk=0.05, tolerable_rate=0.07), 42),
        (Sampling("attribute", risk=0.05, tolerable_rate=0.10), 29),
        (Sampling("attribute", risk=0.10, tolerable_rate=0.05), 45),
        (Sampling("attribute", risk=0.10, tolerable_rate=0.10), 22),
        (Sampling("frequency", frequency="many_per_day"), 25),
        (Sampling("frequency", frequency="daily"), 25),
        (Sampling("frequency", frequency="weekly"), 5),
        (Sampling("frequency", frequency="quarterly"), 2),
        (Sampling("frequency", frequency="annual"), 1),
    ],
)
def test_sample_sizes_follow_the_rule(sampling: Sampling, size: int) -> None:
    assert sampling.size == size


def test_docs_describe_every_control_and_test() -> None:
    """A control cited by a catalog but described nowhere in docs/ fails here."""
    text = "\n".join(p.read_text("utf-8") for p in sorted(DOCS.rglob("*.md")))
    missing = [
        f"{name}:{r.id}"
        for name in frameworks()
        for r in load_framework(name).requirements
        if not re.search(rf"(?<![\w.]){re.escape(r.id)}(?![\w(])", text)
    ]
    assert missing == []
    assert [t for t in sorted(TEST_IDS) if f"`{t}`" not in text] == []
