"""HR exports (CSV or JSON array) → the `people` snapshot and hr.* events.

Rules the architecture leaves to us:
- `[sources.columns]` maps canonical field → header; a canonical field whose name is itself a
  header needs no entry. Unmapped columns are dropped, from `raw` too (HR exports carry PII).
- Text is kept as the source wrote it (no trimming, no case folding: matching is the
  matcher's job); an empty or blank cell is null. `aliases` is normalised: parts trimmed,
  empty parts dropped, re-joined with ';'.
- Dates are ISO 8601. A bare hire date is the start of that day, a bare termination date the
  end of it (23:59:59.999999), an `effective_date` the start, all in the source's timezone.
- Status without a status column (or a blank cell) is derived: `terminated` once the
  termination date has passed at the snapshot's as_of, else `active`.
- Events are what happened by the snapshot's as_of: `hr.hire` at the hire date, `hr.terminate`
  at the termination date (at as_of when a terminated record has none), `hr.leave` at as_of.
  Future-dated hires and terminations are left to a later snapshot; identities
  (`person_id|hire_date|action`) are stable, so each is recorded once whichever snapshot
  reports it first.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pyarrow as pa

from connectors.exports import (
    cell,
    column_mapping,
    page_record,
    parse_instant_field,
    read_records,
    source_zone,
)
from connectors.hris.mapping import (
    PERSON_FIELDS,
    STATUSES,
    TEXT_FIELDS,
    hr_events,
    status_of,
    value_map,
)
from connectors.hris.settings import HrisSettings
from connectors.records import EVENT_SCHEMA, SNAPSHOT_SCHEMAS, Snapshot, SourceBatch
from connectors.redact import dumps, redact
from evidence.errors import ConfigError, InputError

__all__ = ["read_hris", "hris_snapshot_files"]

_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2})$")


def read_hris(
    source: HrisSettings, as_of: datetime | None = None, path: Path | None = None
) -> SourceBatch:
    """Parse one HR export file into a `people` snapshot and hr.hire/terminate/leave events."""
    path = path or source.path
    if path is None:
        raise ConfigError(f"source {source.name!r}: no `path` for the HR export")
    file = str(path)
    header, records, data, numbering = read_records(path)
    when = as_of or source.as_of
    if when is None:
        when = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    when = when.astimezone(UTC)
    mapping = column_mapping(source, header, file, PERSON_FIELDS, "person_id", "a person field")
    statuses = value_map(source, "status_values", source.status_values, STATUSES)
    types = value_map(source, "employment_type_values", source.employment_type_values, None)
    zone = source_zone(source)

    people: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    seen: dict[tuple[str, datetime | None], Any] = {}
    known = ", ".join(dict.fromkeys([*source.status_values, *STATUSES]))
    for n, rec in enumerate(records):
        where = numbering(n)
        cells = {f: cell(rec, col, file, where) for f, col in mapping.items()}
        pid = cells.get("person_id")
        if pid is None:
            raise InputError(file, where, mapping["person_id"], "person_id is missing")

        hire, term, effective = (
            parse_instant_field(cells.get(f), file, where, mapping.get(f, f), zone, end)
            for f, end in (
                ("hire_date", False),
                ("termination_date", True),
                ("effective_date", False),
            )
        )
        status = status_of(cells.get("status"), statuses, known, file, where, mapping.get("status"))
        if status is None:
            status = "terminated" if term is not None and term <= when else "active"
        key = (pid, hire)
        if key in seen:
            raise InputError(
                file,
                where,
                mapping["person_id"],
                f"duplicate of record {seen[key]} (same person_id and hire_date)",
            )
        seen[key] = where
        etype = cells.get("employment_type")
        if etype is not None:
            etype = types.get(etype) or types.get(etype.strip().casefold()) or etype
        aliases = cells.get("aliases")
        if aliases is not None:
            aliases = ";".join(p.strip() for p in aliases.split(";") if p.strip()) or None
        row: dict[str, Any] = {f: cells.get(f) for f in TEXT_FIELDS}
        row.update(
            person_id=pid,
            aliases=aliases,
            employment_type=etype,
            status=status,
            hire_date=hire,
            termination_date=term,
            effective_at=effective,
        )
        people.append(row)
        # Only mapped columns are kept, even in raw: an HR export carries PII we do not need.
        raw = dumps(redact({col: rec.get(col) for col in mapping.values()}))
        events.extend(hr_events(row, when, raw))

    return SourceBatch(
        source=source.name,
        kind=source.kind,
        tenant=source.tenant_key(),
        as_of=when,
        snapshots=[Snapshot("people", pa.Table.from_pylist(people, SNAPSHOT_SCHEMAS["people"]))],
        events=pa.Table.from_pylist(events, EVENT_SCHEMA),
        pages=[page_record(path, source, data, len(records))],
    )


def hris_snapshot_files(source: HrisSettings) -> list[tuple[Path, datetime | None]]:
    """Dated `*-YYYY-MM-DD.csv|json` snapshots oldest first (as_of = that day's start), then
    the one undated file (as_of None: the source's as_of or the file's mtime)."""
    assert source.path is not None
    zone = source_zone(source)
    dated: list[tuple[date, Path]] = []
    undated: list[Path] = []
    for p in sorted(source.path.iterdir()):
        if not p.is_file() or p.suffix.lower() not in (".csv", ".json"):
            continue
        m = _DATED.search(p.stem)
        if m is None:
            undated.append(p)
            continue
        try:
            dated.append((date.fromisoformat(m.group(1)), p))
        except ValueError:
            raise InputError(str(p), None, None, "file name date is not a valid date") from None
    if len(undated) > 1:
        names = ", ".join(p.name for p in undated)
        raise InputError(str(source.path), None, None, f"more than one undated snapshot: {names}")
    if not dated and not undated:
        raise InputError(str(source.path), None, None, "no *.csv or *.json HR snapshot found")
    out: list[tuple[Path, datetime | None]] = [
        (p, datetime.combine(d, time(), zone).astimezone(UTC)) for d, p in sorted(dated)
    ]
    return out + [(p, None) for p in undated]
