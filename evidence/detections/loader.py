"""Detection files: one `.sql` query each, with a metadata header of `-- key: value` lines."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from evidence.errors import ConfigError
from evidence.sql import load_sql

__all__ = ["Detection", "load_detections", "parse_detection", "SEVERITIES"]

SEVERITIES = ("low", "medium", "high", "critical")
_REQUIRED = ("id", "kind", "subkind", "severity", "description")


@dataclass(frozen=True)
class Detection:
    id: str
    kind: str
    subkind: str
    severity: str
    description: str
    controls: tuple[str, ...]
    parameters: tuple[str, ...]
    sql: str


def parse_detection(name: str, text: str) -> Detection:
    """Parse one detection file; `name` is its file name (the id must equal its stem)."""
    meta: dict[str, str] = {}
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if not s.startswith("--"):
            break
        body = s[2:].strip()
        if ":" in body:
            key, _, value = body.partition(":")
            meta[key.strip().lower()] = value.strip()
    for key in _REQUIRED:
        if not meta.get(key):
            raise ConfigError(f"detection {name}: header lacks '{key}'")
    stem = name.removesuffix(".sql")
    if meta["id"] != stem:
        raise ConfigError(f"detection {name}: id {meta['id']!r} differs from the file name")
    if meta["severity"] not in SEVERITIES:
        raise ConfigError(
            f"detection {name}: severity {meta['severity']!r} is not one of {SEVERITIES}"
        )
    split = lambda v: tuple(x.strip() for x in v.split(",") if x.strip())  # noqa: E731
    return Detection(
        id=meta["id"],
        kind=meta["kind"],
        subkind=meta["subkind"],
        severity=meta["severity"],
        description=meta["description"],
        controls=split(meta.get("controls", "")),
        parameters=split(meta.get("parameters", "")),
        sql=text,
    )


def load_detections() -> list[Detection]:
    """Every detection shipped in evidence/detections, sorted by id, include-blocks filled in."""
    root = resources.files("evidence.detections")
    found = [
        parse_detection(entry.name, load_sql("evidence.detections", entry.name))
        for entry in root.iterdir()
        if entry.name.endswith(".sql")
    ]
    return sorted(found, key=lambda d: d.id)
