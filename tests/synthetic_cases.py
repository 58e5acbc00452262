"""What the synthetic generator's tests share: its default instant, the small size, every
finding subkind it must plant, and readers of the tree it writes."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
SUBKINDS = {
    ("orphan", "terminated_active"),
    ("orphan", "unmatched"),
    ("drift", "missing_account"),
    ("drift", "unassigned_account"),
    ("drift", "attribute_mismatch"),
    ("drift", "group_mismatch"),
    ("creep", "mover_residual"),
    ("creep", "peer_outlier"),
    ("creep", "expired_grant"),
    ("creep", "privilege_accumulation"),
    ("dormant", "no_login"),
    ("sla", "deprovision_late"),
    ("sod", "toxic_combination"),
    ("duplicate", "multiple_accounts"),
}
SMALL = {"people": 200, "apps": 8}


def tree_digest(root: Path) -> dict[str, str]:
    """The SHA-256 of every file below `root`, by relative path."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def load(path: Path) -> Any:
    """A JSON file's value."""
    return json.loads(path.read_text(encoding="utf-8"))
