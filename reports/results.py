"""What a report build takes besides the store, framework, period and folder, and what it
gives back (reports/build.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from evidence.config import Policy, SourceConfig
from reports.signing import Signer

__all__ = ["BuildOptions", "ReportResult", "TestResult"]


@dataclass(frozen=True)
class TestResult:
    """The outcome of one test of the catalog."""

    test: str
    controls: tuple[str, ...]
    title: str
    kind: str
    population: int | None
    exceptions: int | None
    sample: int | None
    result: str
    csv: Path | None


@dataclass(frozen=True)
class ReportResult:
    """What a build wrote and the facts an auditor or the CLI reports back."""

    framework: str
    bundle: Path
    bundle_id: str
    pdf: Path
    manifest: Path
    files: dict[str, Path]
    data_as_of: datetime
    evidence_until: datetime
    population_hash: str
    seed: int | None
    tests: tuple[TestResult, ...]
    render_seconds: float
    zip: Path  # the bundle's deterministic zip, beside its folder

    def test(self, test_id: str) -> TestResult:
        return next(t for t in self.tests if t.test == test_id)


@dataclass(frozen=True)
class BuildOptions:
    """What a build takes besides the store, framework, period and folder (the keywords of
    build_report and build_reports)."""

    tool_version: str
    seed: int | None = None
    policy: Policy | None = None
    sources: Sequence[SourceConfig] | None = None
    organisation: str = ""
    signer: Signer | None = None  # signs the manifest and the PDF; None: an unsigned bundle

    @property
    def signer_fingerprint(self) -> str | None:
        return self.signer.fingerprint if self.signer else None
