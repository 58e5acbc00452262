"""`manifest.json`: what a report was built from and the SHA-256 of every file it wrote.

The only place the wall-clock build time is recorded: the PDF itself is dated from the data.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reports.catalog import Framework, Query
from reports.population import Table, file_sha256, rfc3339
from reports.views import Population, last_day, param_text

__all__ = ["SAMPLE_METHOD", "write_manifest"]

SAMPLE_METHOD = "sha256(seed:population_sha256:key), lowest first, printed in population order"


def write_manifest(
    path: Path,
    *,
    fw: Framework,
    bundle_id: str,
    period: tuple[datetime, datetime],
    instants: tuple[datetime | None, datetime],
    tool_version: str,
    organisation: str,
    signer_fingerprint: str | None,
    queries: dict[str, Query],
    values: dict[str, Any],
    report_hash: str,
    populations: list[tuple[Population, dict[str, Any]]],
    runs: Table,
    files: dict[str, Path],
) -> dict[str, Any]:
    """Write the manifest to `path` and return it; `populations` pairs each with its view."""
    start, end = period
    data_as_of, evidence_until = instants
    manifest = {
        "framework": fw.id,
        "title": fw.title,
        "standard": fw.standard,
        "bundle_id": bundle_id,
        "organisation": organisation,
        "signer_fingerprint": signer_fingerprint,
        "period": {"start": rfc3339(start), "end": rfc3339(end), "last_day": last_day(end)},
        "data_as_of": rfc3339(data_as_of) if data_as_of else None,
        "evidence_until": rfc3339(evidence_until),
        "tool_version": tool_version,
        "controls": {r.id: [t.id for t in r.tests] for r in fw.requirements},
        "queries": {name: q.sha256 for name, q in queries.items()},
        "parameters": {k: param_text(v) for k, v in values.items()},
        "population_hash": report_hash,
        "populations": {
            pop.test.id: {
                "controls": list(view["controls"]),
                "file": pop.csv_name,
                "rows": view["population"],
                "exceptions": view["exceptions"],
                "sha256": pop.sha256,
                "sample": {
                    "file": view["sample_name"],
                    "method": SAMPLE_METHOD,
                    "size_rule": view["sampling_text"],
                    "planned": view["sample_planned"],
                    "size": view["sample_size"],
                    "seed": view["seed"],
                    "seed_given": view["seed_given"],
                    "key": list(pop.test.key),
                    "rows": view["sample_rows"],
                    "keys": view["sample_keys"],
                },
            }
            for pop, view in populations
        },
        "sync_runs": [
            {
                "run_id": r["run_id"],
                "source": r["source"],
                "mode": r["mode"],
                "as_of": rfc3339(r["as_of"]),
                "digest": r["digest"],
                "chain_hash": r["chain_hash"],
            }
            for r in runs.dicts()
        ],
        "files": {
            # Read in pieces: a population file can be half a gigabyte.
            name: file_sha256(p)
            for name, p in sorted(files.items())
        },
        "built_at": rfc3339(datetime.now(UTC)),
    }
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest
