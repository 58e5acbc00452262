"""Errors the reports package raises; the CLI turns them into exit codes.

EvidenceError (evidence.errors)
└── ReportError        a report cannot be built: bad catalog, no data for the period,
                       missing fonts (exit 2)
"""

from __future__ import annotations

from evidence.errors import EvidenceError

__all__ = ["ReportError"]


class ReportError(EvidenceError):
    """A report cannot be built from this catalog, store and period."""
