"""`assessment-results.json`: a bundle's test outcomes as an OSCAL Assessment Results document.

Built from plain dicts and serialised with `json.dumps`, so the tool does not depend on an OSCAL
library at run time; tests validate the output with compliance-trestle (DOMAIN.md §9.1).

One observation per test (method TEST, its counts, the population file and its SHA-256 as
relevant evidence, collected at the data's as-of instant) and one finding per control, whose
target is the control as an `objective-id` with state `not-satisfied` when any test it cites
found exceptions, else `satisfied`. The result covers the audit period; the metadata is dated
`evidence_until` and versioned with the tool's version.

Reproducible: every UUID is a uuid5 of the bundle id and a stable name, and the only instants
in the document are the ones passed in, so the same bundle gives the same bytes.

Control ids are kept as the standard writes them ("CC6.2", "A.5.18"), not lower-cased as OSCAL
catalogs usually write them: an auditor matches them against the standard and the PDF. OSCAL
types `control-id` and `target-id` as a token (a letter or `_` first, then letters, digits,
`.`, `-`, `_`), which ids such as HIPAA's "164.308(a)(3)(ii)(C)" are not; `control_token`
turns those into the nearest token ("_164.308_a_3_ii_C") and leaves every other id unchanged.
Each finding carries the id exactly as written in its title and in a `label` property of its
target (namespace NAMESPACE); the reviewed controls' description lists them too.

Instants are written in UTC with `+00:00`, to the second, to the millisecond when there are
milliseconds, else to the microsecond: trestle writes them so and reads its own output back
unchanged, except that it cuts microseconds to milliseconds.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "NAMESPACE",
    "OSCAL_VERSION",
    "ControlOutcome",
    "TestOutcome",
    "assessment_results",
    "document_bytes",
    "control_token",
]

# The OSCAL version of compliance-trestle 5.2.0 (trestle.oscal.OSCAL_VERSION), which the tests
# validate with; trestle 3.12.x would need "1.1.3".
OSCAL_VERSION = "1.2.1"
# The namespace of the properties this tool defines (OSCAL reserves the default one to NIST).
NAMESPACE = "urn:scim-evidence:oscal"

# OSCAL's token datatype (metaschema TokenDatatype): NCName-like.
_START = (
    "_A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
)
_REST = _START + "\\-.0-9\u00b7\u0300-\u036f\u203f-\u2040"
_TOKEN_RE = re.compile(f"[{_START}][{_REST}]*")
_GROUP_RE = re.compile(r"\(([^()]*)\)")
_NOT_REST_RE = re.compile(f"[^{_REST}]")
_KINDS = ("population", "figures")


@dataclass(frozen=True)
class TestOutcome:
    """What one test of the bundle found: its counts and the population file they come from."""

    __test__ = False  # not a pytest test class

    test_id: str
    title: str
    procedure: str
    kind: str  # "population" or "figures"
    population: int | None  # rows; None for figures
    exceptions: int | None  # None for figures
    file: str | None  # e.g. "populations/deprovisioning.csv", relative to the bundle
    sha256: str | None  # of that file


@dataclass(frozen=True)
class ControlOutcome:
    """A control of the framework, written as the standard writes it, and the tests it cites."""

    control_id: str  # "CC6.2", "A.5.18", "164.308(a)(3)(ii)(C)"
    title: str
    tests: tuple[str, ...]  # test ids it cites


def control_token(control_id: str) -> str:
    """The control id as an OSCAL token: unchanged when it is one, else each "(x)" becomes
    "_x", any other character a token may not hold becomes "_", and a leading "_" is added
    when the id does not start with a letter ("164.308(a)(3)(ii)(C)" -> "_164.308_a_3_ii_C")."""
    if _TOKEN_RE.fullmatch(control_id):
        return control_id
    token = _NOT_REST_RE.sub("_", _GROUP_RE.sub(r"_\1", control_id))
    if token and not _TOKEN_RE.fullmatch(token):
        token = "_" + token
    if not _TOKEN_RE.fullmatch(token):
        raise ValueError(f"control id {control_id!r}: no OSCAL token can stand for it")
    return token


def _instant(value: datetime, name: str) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: a datetime without a timezone")
    utc = value.astimezone(UTC)
    if utc.microsecond == 0:
        return utc.isoformat(timespec="seconds")
    if utc.microsecond % 1000 == 0:
        return utc.isoformat(timespec="milliseconds")
    return utc.isoformat(timespec="microseconds")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _check_test(t: TestOutcome) -> None:
    where = f"test {t.test_id!r}"
    if t.kind not in _KINDS:
        raise ValueError(f"{where}: unknown kind {t.kind!r} (one of {', '.join(_KINDS)})")
    if t.kind == "population":
        if not isinstance(t.population, int) or not isinstance(t.exceptions, int):
            raise ValueError(f"{where}: a population test needs population and exceptions")
        if t.population < 0 or not 0 <= t.exceptions <= t.population:
            raise ValueError(f"{where}: exceptions must lie between 0 and the population")
    elif t.population is not None or t.exceptions is not None:
        raise ValueError(f"{where}: a figures test has no population or exceptions")
    if (t.file is None) != (t.sha256 is None):
        raise ValueError(f"{where}: a file needs its sha256 and a sha256 its file")
    if t.sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", t.sha256):
        raise ValueError(f"{where}: sha256 {t.sha256!r} is not 64 lower-case hex digits")


def _description(t: TestOutcome) -> str:
    if t.kind == "figures":
        return "Inventory figures; no exceptions tested."
    assert t.population is not None and t.exceptions is not None
    return f"Population {_plural(t.population, 'row')}, {_plural(t.exceptions, 'exception')}."


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": name, "ns": NAMESPACE, "value": value}


def _observation(t: TestOutcome, uid: str, collected: str) -> dict[str, Any]:
    props = [_prop("test-id", t.test_id)]
    if t.kind == "population":
        props += [_prop("population", str(t.population)), _prop("exceptions", str(t.exceptions))]
    obs: dict[str, Any] = {
        "uuid": uid,
        "title": t.title,
        "description": _description(t),
        "props": props,
        "methods": ["TEST"],
    }
    if t.file is not None:
        obs["relevant-evidence"] = [
            {"href": t.file, "description": f"{t.file}, SHA-256 {t.sha256}."}
        ]
    obs["collected"] = collected
    if t.procedure.strip():
        obs["remarks"] = t.procedure
    return obs


def _finding(
    c: ControlOutcome, uid: str, by_id: dict[str, TestOutcome], observations: dict[str, str]
) -> dict[str, Any]:
    failing = [t for t in (by_id[i] for i in c.tests) if (t.exceptions or 0) > 0]
    if failing:
        state = "not-satisfied"
        found = ", ".join(
            f"{t.test_id} ({_plural(t.exceptions or 0, 'exception')})" for t in failing
        )
        description = f"Not satisfied: exceptions in {found}."
    else:
        state = "satisfied"
        description = f"Satisfied: no exceptions in the tests it cites ({', '.join(c.tests)})."
    return {
        "uuid": uid,
        "title": f"{c.control_id} {c.title}".strip(),
        "description": description,
        "target": {
            "type": "objective-id",
            "target-id": control_token(c.control_id),
            "props": [_prop("label", c.control_id)],
            "status": {"state": state},
        },
        "related-observations": [{"observation-uuid": observations[i]} for i in c.tests],
    }


def assessment_results(
    *,
    framework_id: str,
    framework_title: str,
    standard: str,
    bundle_id: str,
    period_start: datetime,
    period_end: datetime,
    data_as_of: datetime,
    evidence_until: datetime,
    tool_version: str,
    oscal_version: str,
    controls: Sequence[ControlOutcome],
    tests: Sequence[TestOutcome],
) -> dict[str, Any]:
    """The OSCAL Assessment Results document, wrapped: {"assessment-results": {...}}.

    Raises ValueError for a naive datetime, inconsistent counts, a duplicate test or control,
    a control citing no test or an unknown one, or two control ids with the same token.
    """

    def uid(*name: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, ":".join(("scim-evidence", bundle_id, *name))))

    start = _instant(period_start, "period_start")
    end = _instant(period_end, "period_end")
    collected = _instant(data_as_of, "data_as_of")
    modified = _instant(evidence_until, "evidence_until")
    if not controls:
        raise ValueError("no controls")
    by_id: dict[str, TestOutcome] = {}
    for t in tests:
        _check_test(t)
        if t.test_id in by_id:
            raise ValueError(f"test {t.test_id!r} listed twice")
        by_id[t.test_id] = t
    tokens: dict[str, str] = {}
    for c in controls:
        token = control_token(c.control_id)
        if token in tokens:
            raise ValueError(f"controls {tokens[token]!r} and {c.control_id!r}: same id {token!r}")
        tokens[token] = c.control_id
        if not c.tests:
            raise ValueError(f"control {c.control_id!r} cites no test")
        unknown = [i for i in c.tests if i not in by_id]
        if unknown:
            raise ValueError(f"control {c.control_id!r} cites unknown test {unknown[0]!r}")

    observations = {t.test_id: uid("observation", t.test_id) for t in tests}
    plan = uid("resource", "assessment-plan")
    written = ", ".join(c.control_id for c in controls)
    result: dict[str, Any] = {
        "uuid": uid("result"),
        "title": f"{framework_title}: {start} to {end}",
        "description": (
            f"Tests of {standard} over bundle {bundle_id}, for the period from {start} "
            f"to {end}, on data as of {collected}."
        ),
        "start": start,
        "end": end,
        "reviewed-controls": {
            "control-selections": [
                {
                    "description": f"The controls as {standard} writes them: {written}.",
                    "include-controls": [{"control-id": token} for token in tokens],
                }
            ]
        },
    }
    result["observations"] = [_observation(t, observations[t.test_id], collected) for t in tests]
    result["findings"] = [
        _finding(c, uid("finding", c.control_id), by_id, observations) for c in controls
    ]
    return {
        "assessment-results": {
            "uuid": uid("assessment-results"),
            "metadata": {
                "title": f"{framework_title} — assessment results",
                "last-modified": modified,
                "version": tool_version,
                "oscal-version": oscal_version,
                "props": [_prop("framework", framework_id), _prop("bundle-id", bundle_id)],
            },
            "import-ap": {"href": f"#{plan}"},
            "results": [result],
            "back-matter": {
                "resources": [
                    {
                        "uuid": plan,
                        "title": f"Assessment plan: the {framework_id} catalog",
                        "description": (
                            f"The tests the {framework_id} catalog of scim-evidence maps to "
                            f"each control of {standard}; no separate OSCAL assessment plan "
                            "is issued."
                        ),
                    }
                ]
            },
        }
    }


def document_bytes(doc: dict[str, Any]) -> bytes:
    """The document as UTF-8 JSON, indented by 2, keys in OSCAL's order, newline-ended."""
    return (json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
