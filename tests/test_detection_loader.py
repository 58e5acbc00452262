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
    """One detection per subkind of ARCHITECTURE.md's finding table, named kind_subkind."""
    found = {(d.kind, d.subkind): d.id for d in load_detections()}
    assert found == {
        ("orphan", "terminated_active"): "orphan_terminated_active",
        ("orphan", "unmatched"): "orphan_unmatched",
        ("drift", "missing_account"): "drift_missing_account",
        ("drift", "unassigned_account"): "drift_unassigned_account",
        ("drift", "attribute_mismatch"): "drift_attribute_mismatch",
        ("drift", "group_mismatch"): "drift_group_mismatch",
        ("creep", "mover_residual"): "creep_mover_residual",
        ("creep", "peer_outlier"): "creep_peer_outlier",
        ("creep", "expired_grant"): "creep_expired_grant",
        ("creep", "privilege_accumulation"): "creep_privilege_accumulation",
        ("dormant", "no_login"): "dormant_no_login",
        ("sla", "deprovision_late"): "sla_deprovision_late",
        ("sod", "toxic_combination"): "sod_toxic_combination",
        ("duplicate", "multiple_accounts"): "duplicate_multiple_accounts",
    }
