"""Errors the evidence package raises; only the CLI turns them into exit codes.

EvidenceError
├── ConfigError        bad or missing configuration (exit 2)
├── InputError         a source file or record is malformed (exit 2)
├── StoreError         the store cannot be used
│   ├── StoreBusy      another process holds the store (exit 1)
│   └── ReadOnlyViolation  a write was attempted through a read-only path (exit 2)
├── MassRemovalRefused a complete listing would close too many current rows (exit 1)
└── SinkError          a SIEM destination refused or failed (exit 1)
"""

from __future__ import annotations

__all__ = [
    "EvidenceError",
    "ConfigError",
    "InputError",
    "StoreError",
    "StoreBusy",
    "ReadOnlyViolation",
    "MassRemovalRefused",
    "SinkError",
]


class EvidenceError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(EvidenceError):
    """The configuration is missing, malformed or inconsistent."""


class InputError(EvidenceError):
    """A source file or record is malformed; the message names file, record and field."""

    def __init__(self, file: str, record: str | int | None, field: str | None, problem: str):
        self.file, self.record, self.field, self.problem = file, record, field, problem
        where = file
        if record is not None:
            where += f": record {record}"
        if field is not None:
            where += f": field {field!r}"
        super().__init__(f"{where}: {problem}")


class StoreError(EvidenceError):
    """The store cannot be opened or used."""


class StoreBusy(StoreError):
    """Another process holds the store for longer than we were willing to wait."""


class ReadOnlyViolation(StoreError):
    """A statement that would change the store was refused."""


class MassRemovalRefused(EvidenceError):
    """A complete listing would close more of a scope's current rows than policy allows
    (`max_removal_pct`, `max_removals`); `sync --allow-mass-removal SOURCE` accepts it."""


class SinkError(EvidenceError):
    """A SIEM destination failed."""
