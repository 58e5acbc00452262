"""reports/oscal.py: the OSCAL Assessment Results document of a bundle.

Validated with compliance-trestle's models (DOMAIN.md §9.1), and, since trestle is looser than
NIST (it accepts a finding without target.status), checked here for NIST's required fields,
UUID form, states that follow the exception counts, control ids as written, and bytes that
depend on nothing but the arguments.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from reports import oscal
from reports.catalog_load import load_framework

TRESTLE = "compliance-trestle==5.2.0"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[45][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
INSTANT_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")

# The instants of the bundle, some outside UTC, one with milliseconds, and as written.
PERIOD_START = datetime(2025, 1, 1, tzinfo=UTC)
PERIOD_END = datetime(2025, 4, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
DATA_AS_OF = datetime(2025, 4, 1, 6, 30, 15, 250000, tzinfo=UTC)
EVIDENCE_UNTIL = datetime(2025, 4, 2, 12, 0, tzinfo=UTC)
WRITTEN = {
    "start": "2025-01-01T00:00:00+00:00",
    "end": "2025-04-01T00:00:00+00:00",
    "collected": "2025-04-01T06:30:15.250+00:00",
    "last-modified": "2025-04-02T12:00:00+00:00",
}
HIPAA_ID = "164.308(a)(3)(ii)(C)"


def sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


SMALL_TESTS = (
    oscal.TestOutcome(
        test_id="deprovisioning",
        title="Leavers' access removed within the SLA",
        procedure="Every leaver's accounts were disabled within 24 hours.",
        kind="population",
        population=512790,
        exceptions=57,
        file="populations/deprovisioning.csv",
        sha256=sha("deprovisioning"),
    ),
    oscal.TestOutcome(
        test_id="unique_ids",
        title="User ids are unique",
        procedure="No two people share an account.",
        kind="population",
        population=1,
        exceptions=0,
        file="populations/unique_ids.csv",
        sha256=sha("unique_ids"),
    ),
    oscal.TestOutcome(
        test_id="access_inventory",
        title="Access inventory",
        procedure="Accounts per application at the period end.",
        kind="figures",
        population=None,
        exceptions=None,
        file=None,
        sha256=None,
    ),
)
SMALL_CONTROLS = (
    oscal.ControlOutcome("CC6.2", "Registers and authorizes users", ("deprovisioning",)),
    oscal.ControlOutcome("A.5.18", "Access rights", ("unique_ids", "access_inventory")),
    oscal.ControlOutcome(HIPAA_ID, "Termination procedures", ("unique_ids", "deprovisioning")),
)
SMALL_NOT_SATISFIED = {"CC6.2", HIPAA_ID}

# Made-up counts for the real catalogs' tests: exceptions in these two only.
CATALOG_EXCEPTIONS = {"deprovisioning": 57, "monitoring": 3}
SOC2_NOT_SATISFIED = {"CC6.2", "CC7.2", "CC4.1"}


def arguments(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "framework_id": "made_up",
        "framework_title": "Made-up framework — logical access",
        "standard": "A made-up standard",
        "bundle_id": "bundle-2025q1",
        "period_start": PERIOD_START,
        "period_end": PERIOD_END,
        "data_as_of": DATA_AS_OF,
        "evidence_until": EVIDENCE_UNTIL,
        "tool_version": "0.1.0",
        "oscal_version": oscal.OSCAL_VERSION,
        "controls": SMALL_CONTROLS,
        "tests": SMALL_TESTS,
    }
    return {**args, **overrides}


def catalog_arguments(name: str) -> dict[str, Any]:
    fw = load_framework(name)
    tests = []
    for i, t in enumerate(fw.tests):
        population = t.kind == "population"
        file = f"populations/{t.id}.csv" if population else None
        tests.append(
            oscal.TestOutcome(
                test_id=t.id,
                title=t.title,
                procedure=t.procedure,
                kind=t.kind,
                population=1000 + i if population else None,
                exceptions=CATALOG_EXCEPTIONS.get(t.id, 0) if population else None,
                file=file,
                sha256=sha(t.id) if population else None,
            )
        )
    controls = [
        oscal.ControlOutcome(r.id, r.gist, tuple(t.id for t in r.tests)) for r in fw.requirements
    ]
    return arguments(
        framework_id=fw.id,
        framework_title=fw.title,
        standard=fw.standard,
        controls=controls,
        tests=tests,
    )


def inner(doc: dict[str, Any]) -> dict[str, Any]:
    assert list(doc) == ["assessment-results"]
    return doc["assessment-results"]


def result(doc: dict[str, Any]) -> dict[str, Any]:
    results = inner(doc)["results"]
    assert len(results) == 1
    return results[0]


def label(finding: dict[str, Any]) -> str:
    (prop,) = finding["target"]["props"]
    assert prop == {"name": "label", "ns": oscal.NAMESPACE, "value": prop["value"]}
    return prop["value"]


def walk(node: Any, path: str = "$"):
    """Every (path, key, value) of the document's mappings, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")


def strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (k, *strings(v))]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return [node] if isinstance(node, str) else []


def uuids(doc: dict[str, Any]) -> dict[str, str]:
    """The uuid of every object, by its path."""
    return {path: value for path, key, value in walk(doc) if key == "uuid"}


def trestle_models():
    """trestle's AssessmentResults models; a missing trestle fails the test, never skips it."""
    try:
        from trestle.oscal import OSCAL_VERSION
        from trestle.oscal.assessment_results import AssessmentResults, Model
        from trestle.oscal.common import SelectControlById
    except ImportError as exc:
        pytest.fail(
            f"compliance-trestle is not installed in this interpreter's environment ({exc}); "
            f"the OSCAL output cannot be validated: .venv/bin/pip install '{TRESTLE}' "
            "'securesystemslib[crypto]==1.4.0'"
        )
    return OSCAL_VERSION, AssessmentResults, Model, SelectControlById


# --- trestle ---------------------------------------------------------------------------------


def test_oscal_version_is_trestles() -> None:
    version, *_ = trestle_models()
    assert oscal.OSCAL_VERSION == version == "1.2.1"


@pytest.mark.parametrize("name", ["small", "soc2", "iso27001", "hipaa"])
def test_trestle_validates_and_round_trips(name: str) -> None:
    _, AssessmentResults, Model, _ = trestle_models()
    args = arguments() if name == "small" else catalog_arguments(name)
    doc = oscal.assessment_results(**args)
    wrapped = Model.model_validate(doc)
    model = AssessmentResults.model_validate(inner(doc))
    assert wrapped.assessment_results == model
    # trestle writes back exactly what it read: no field dropped, renamed or reformatted.
    assert json.loads(model.oscal_serialize_json(pretty=False, wrapped=True)) == doc
    assert len(model.results[0].findings) == len(args["controls"])
    assert len(model.results[0].observations) == len(args["tests"])


def test_trestle_refuses_the_hipaa_id_as_written() -> None:
    """Why control_token exists: an OSCAL control-id is a token, which HIPAA's ids are not."""
    *_, SelectControlById = trestle_models()
    with pytest.raises(ValueError):
        SelectControlById.model_validate({"control-id": HIPAA_ID})
    token = oscal.control_token(HIPAA_ID)
    assert SelectControlById.model_validate({"control-id": token}).control_id == token


def test_no_trestle_at_run_time() -> None:
    """The tool builds the document from dicts; trestle is for these tests only."""
    code = (
        "import sys, reports.oscal; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('trestle', 'pydantic')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"


# --- NIST's required fields (DOMAIN.md §9.1), which trestle does not all enforce -------------

REQUIRED = {
    "assessment-results": {"uuid", "metadata", "import-ap", "results"},
    "metadata": {"title", "last-modified", "version", "oscal-version"},
    "import-ap": {"href"},
    "result": {"uuid", "title", "description", "start", "reviewed-controls"},
    "reviewed-controls": {"control-selections"},
    "observation": {"uuid", "description", "methods", "collected"},
    "relevant-evidence": {"description"},
    "finding": {"uuid", "title", "description", "target"},
    "target": {"type", "target-id", "status"},
    "status": {"state"},
    "related-observation": {"observation-uuid"},
}


def has(obj: dict[str, Any], kind: str) -> None:
    missing = REQUIRED[kind] - {k for k, v in obj.items() if v not in (None, "", [], {})}
    assert not missing, f"{kind} lacks {sorted(missing)}"


@pytest.mark.parametrize("name", ["small", "soc2"])
def test_required_fields(name: str) -> None:
    args = arguments() if name == "small" else catalog_arguments(name)
    doc = oscal.assessment_results(**args)
    ar = inner(doc)
    has(ar, "assessment-results")
    has(ar["metadata"], "metadata")
    assert ar["metadata"]["version"] == "0.1.0"
    assert ar["metadata"]["oscal-version"] == oscal.OSCAL_VERSION
    has(ar["import-ap"], "import-ap")
    (resource,) = ar["back-matter"]["resources"]
    assert ar["import-ap"]["href"] == "#" + resource["uuid"]
    res = result(doc)
    has(res, "result")
    has(res["reviewed-controls"], "reviewed-controls")
    (selection,) = res["reviewed-controls"]["control-selections"]
    assert [c["control-id"] for c in selection["include-controls"]] == [
        oscal.control_token(c.control_id) for c in args["controls"]
    ]
    assert len(res["observations"]) == len(args["tests"])
    for obs in res["observations"]:
        has(obs, "observation")
        assert obs["methods"] == ["TEST"]
        for evidence in obs.get("relevant-evidence", []):
            has(evidence, "relevant-evidence")
    observation_uuids = {o["uuid"] for o in res["observations"]}
    assert len(res["findings"]) == len(args["controls"])
    for finding in res["findings"]:
        has(finding, "finding")
        has(finding["target"], "target")
        has(finding["target"]["status"], "status")
        assert finding["target"]["type"] == "objective-id"
        assert finding["target"]["status"]["state"] in ("satisfied", "not-satisfied")
        assert finding["related-observations"]
        for related in finding["related-observations"]:
            has(related, "related-observation")
            assert related["observation-uuid"] in observation_uuids
    found = uuids(doc)
    assert len(found) == 3 + len(args["tests"]) + len(args["controls"])
    assert len(set(found.values())) == len(found)
    refs = [v for _, k, v in walk(doc) if k == "observation-uuid"]
    for value in [*found.values(), *refs, ar["import-ap"]["href"][1:]]:
        assert UUID_RE.match(value), value
        assert value[14] == "5"  # uuid5: reproducible, not random


def test_states_follow_the_exception_counts() -> None:
    res = result(oscal.assessment_results(**arguments()))
    states = {label(f): f["target"]["status"]["state"] for f in res["findings"]}
    assert states == {"CC6.2": "not-satisfied", "A.5.18": "satisfied", HIPAA_ID: "not-satisfied"}
    assert {c for c, s in states.items() if s == "not-satisfied"} == SMALL_NOT_SATISFIED
    by_test = {o["props"][0]["value"]: o["uuid"] for o in res["observations"]}
    related = {
        label(f): [r["observation-uuid"] for r in f["related-observations"]]
        for f in res["findings"]
    }
    assert related == {
        "CC6.2": [by_test["deprovisioning"]],
        "A.5.18": [by_test["unique_ids"], by_test["access_inventory"]],
        HIPAA_ID: [by_test["unique_ids"], by_test["deprovisioning"]],
    }
    descriptions = {label(f): f["description"] for f in res["findings"]}
    assert descriptions == {
        "CC6.2": "Not satisfied: exceptions in deprovisioning (57 exceptions).",
        "A.5.18": "Satisfied: no exceptions in the tests it cites (unique_ids, access_inventory).",
        HIPAA_ID: "Not satisfied: exceptions in deprovisioning (57 exceptions).",
    }


def test_soc2_states_follow_the_exception_counts() -> None:
    res = result(oscal.assessment_results(**catalog_arguments("soc2")))
    states = {label(f): f["target"]["status"]["state"] for f in res["findings"]}
    assert list(states) == ["CC6.1", "CC6.2", "CC6.3", "CC7.2", "CC4.1"]
    assert {c for c, s in states.items() if s == "not-satisfied"} == SOC2_NOT_SATISFIED


def test_control_ids_as_written() -> None:
    res = result(oscal.assessment_results(**arguments()))
    (selection,) = res["reviewed-controls"]["control-selections"]
    tokens = ["CC6.2", "A.5.18", "_164.308_a_3_ii_C"]
    assert [c["control-id"] for c in selection["include-controls"]] == tokens
    assert [f["target"]["target-id"] for f in res["findings"]] == tokens
    assert [label(f) for f in res["findings"]] == ["CC6.2", "A.5.18", HIPAA_ID]
    assert [f["title"] for f in res["findings"]] == [
        "CC6.2 Registers and authorizes users",
        "A.5.18 Access rights",
        "164.308(a)(3)(ii)(C) Termination procedures",
    ]
    assert selection["description"] == (
        "The controls as A made-up standard writes them: CC6.2, A.5.18, 164.308(a)(3)(ii)(C)."
    )
    # Never lower-cased; a token is left alone; the rest become the nearest token.
    assert oscal.control_token("CC6.2") == "CC6.2"
    assert oscal.control_token("A.8.15") == "A.8.15"
    assert oscal.control_token("164.312(b)") == "_164.312_b"
    assert oscal.control_token("164.308(a)(1)(ii)(D)") == "_164.308_a_1_ii_D"


def test_observations() -> None:
    res = result(oscal.assessment_results(**arguments()))
    dep, uid, inv = res["observations"]
    assert dep["title"] == "Leavers' access removed within the SLA"
    assert dep["description"] == "Population 512,790 rows, 57 exceptions."
    assert uid["description"] == "Population 1 row, 0 exceptions."
    assert inv["description"] == "Inventory figures; no exceptions tested."
    assert dep["props"] == [
        {"name": "test-id", "ns": oscal.NAMESPACE, "value": "deprovisioning"},
        {"name": "population", "ns": oscal.NAMESPACE, "value": "512790"},
        {"name": "exceptions", "ns": oscal.NAMESPACE, "value": "57"},
    ]
    assert inv["props"] == [{"name": "test-id", "ns": oscal.NAMESPACE, "value": "access_inventory"}]
    assert dep["relevant-evidence"] == [
        {
            "href": "populations/deprovisioning.csv",
            "description": f"populations/deprovisioning.csv, SHA-256 {sha('deprovisioning')}.",
        }
    ]
    assert "relevant-evidence" not in inv
    assert dep["remarks"] == "Every leaver's accounts were disabled within 24 hours."
    assert [o["collected"] for o in res["observations"]] == [WRITTEN["collected"]] * 3


# --- reproducibility -------------------------------------------------------------------------


def test_same_arguments_same_bytes() -> None:
    first = oscal.document_bytes(oscal.assessment_results(**arguments()))
    second = oscal.document_bytes(oscal.assessment_results(**arguments()))
    assert first == second
    doc = oscal.assessment_results(**arguments())
    expected = json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    assert first == expected.encode("utf-8")
    assert "Made-up framework — logical access — assessment results" in first.decode("utf-8")


def test_another_bundle_changes_every_uuid() -> None:
    one = uuids(oscal.assessment_results(**arguments()))
    other = uuids(oscal.assessment_results(**arguments(bundle_id="bundle-2025q2")))
    assert one.keys() == other.keys()
    assert all(one[path] != other[path] for path in one)
    assert not set(one.values()) & set(other.values())


def test_only_the_instants_passed_in() -> None:
    doc = oscal.assessment_results(**arguments())
    ar, res = inner(doc), result(doc)
    assert ar["metadata"]["last-modified"] == WRITTEN["last-modified"]
    assert (res["start"], res["end"]) == (WRITTEN["start"], WRITTEN["end"])
    at_keys = {v for _, k, v in walk(doc) if k in WRITTEN}
    assert at_keys == set(WRITTEN.values())
    # No instant anywhere in the text (titles and descriptions included) but these.
    found = {m for s in strings(doc) for m in INSTANT_RE.findall(s)}
    assert found == set(WRITTEN.values())


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"data_as_of": datetime(2025, 4, 1)}, "data_as_of: a datetime without a timezone"),
        (
            {"controls": (oscal.ControlOutcome("CC6.2", "x", ("nope",)),)},
            "control 'CC6.2' cites unknown test 'nope'",
        ),
        (
            {"tests": (*SMALL_TESTS, SMALL_TESTS[0])},
            "test 'deprovisioning' listed twice",
        ),
        (
            {
                "controls": (
                    oscal.ControlOutcome("164.312(b)", "x", ("unique_ids",)),
                    oscal.ControlOutcome("_164.312_b", "x", ("unique_ids",)),
                )
            },
            "controls '164.312(b)' and '_164.312_b': same id '_164.312_b'",
        ),
        (
            {"tests": (oscal.TestOutcome("t", "T", "p", "population", 5, 6, None, None),)},
            "test 't': exceptions must lie between 0 and the population",
        ),
        (
            {"tests": (oscal.TestOutcome("t", "T", "p", "figures", 5, None, None, None),)},
            "test 't': a figures test has no population or exceptions",
        ),
    ],
)
def test_refuses(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        oscal.assessment_results(**arguments(**overrides))
    assert str(info.value) == message
