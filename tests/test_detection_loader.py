"""The detection loader: headers are checked, names and ids must agree."""

from __future__ import annotations

import pytest

from evidence.detections.loader import load_detections, parse_detection
from evidence.errors import ConfigError

GOOD = """-- id: orphan_x
-- kind: orphan
-- subkind: x
-- severity: high
-- controls: CC6.2, A.5.18
-- parameters: grace_hours
-- description: A test detection.
SELECT 1
"""


def test_parses_the_header() -> None:
    d = parse_detection("orphan_x.sql", GOOD)
    assert (d.id, d.kind, d.subkind, d.severity) == ("orphan_x", "orphan", "x", "high")
    assert d.controls == ("CC6.2", "A.5.18") and d.parameters == ("grace_hours",)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("other.sql", GOOD, "id 'orphan_x' differs from the file name"),
        ("orphan_x.sql", GOOD.replace("-- severity: high\n", ""), "header lacks 'severity'"),
        ("orphan_x.sql", GOOD.replace("high", "urgent"), "severity 'urgent' is not one of"),
        ("orphan_x.sql", GOOD.replace("-- kind: orphan\n", ""), "header lacks 'kind'"),
    ],
)
def test_rejects_bad_headers(name: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_detection(name, text)


def test_shipped_detections_load() -> None:
    ids = [d.id for d in load_detections()]
    assert ids == [
        "dormant_no_login",
        "duplicate_multiple_accounts",
        "orphan_terminated_active",
        "orphan_unmatched",
        "sod_toxic_combination",
    ]
