"""`manifest.json`: what a report was built from and the SHA-256 of every file it wrote.

The only place the wall-clock build time is recorded: the PDF itself is dated from the data.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reports.catalog import Framework, Query
from reports.population import Table, rfc3339
from reports.views import Population, last_day, param_text

__all__ = ["SAMPLE_METHOD", "write_manifest"]

SAMPLE_METHOD = "sha256(seed:population_sha256:key), lowest first, printed in population order"


def write_manifest(
    path: Path,
    *,
    fw: Framework,
    period: tuple[datetime, datetime],
    instants: tuple[datetime, datetime],
    tool_version: str,
    queries: dict[str, Query],
    values: dict[str, Any],
    report_hash: str,
    populations: list[tuple[Population, dict[str, Any]]],
    seed: tuple[int, bool],
    runs: Table,
    files: dict[str, Path],
) -> dict[str, Any]:
    """Write the manifest to `path` and return it; `populations` pairs each with its view."""
    start, end = period
    data_as_of, evidence_until = instants
    used_seed, seed_given = seed
    manifest = {
        "framework": fw.id,
        "title": fw.title,
        "standard": fw.standard,
        "period": {"start": rfc3339(start), "end": rfc3339(end), "last_day": last_day(end)},
        "data_as_of": rfc3339(data_as_of),
        "evidence_until": rfc3339(evidence_until),
        "tool_version": tool_version,
        "queries": {name: q.sha256 for name, q in queries.items()},
        "parameters": {k: param_text(v) for k, v in values.items()},
        "population_hash": report_hash,
        "populations": {
            pop.test.id: {
                "requirement": pop.requirement.id,
                "file": pop.csv_name,
                "rows": view["population"],
                "exceptions": view["exceptions"],
                "sha256": pop.sha256,
                "sample": {
                    "method": SAMPLE_METHOD,
                    "seed": used_seed,
                    "seed_given": seed_given,
                    "key": list(pop.test.key),
                    "size": view["printed"],
                    "rows": view["sample_rows"],
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
        "files": {name: hashlib.sha256(p.read_bytes()).hexdigest() for name, p in files.items()},
        "built_at": rfc3339(datetime.now(UTC)),
    }
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest
