"""Vendor-native export files: the reading helpers every kind's export reader shares.

Provenance: every file read becomes a `PageRecord` whose `request` is the file's path relative
to the folder holding the source's `path` (`okta/users.json`, `workers.csv`), so a bundle
names the same file on any machine.

Observation time (`as_of`) of a batch: the source's `as_of` when set, else the newest
modification time of the files read (the export cannot be younger than its newest file).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.exports.jsontext import MAX_TEXT, decode_text, first_bad_text, parse_json, shown
from connectors.records import PageRecord
from connectors.settings import ColumnSettings, SourceSettings
from evidence.errors import ConfigError, InputError

__all__ = [
    "cell",
    "column_mapping",
    "json_type",
    "scalar_text",
    "load_json_file",
    "page_record",
    "relative_request",
    "parse_instant_field",
    "source_zone",
    "files_as_of",
    "split_files",
    "read_records",
]

_SPLIT = re.compile(r"^(?P<stem>.+)-(?P<n>\d{4,6})$")
_END_OF_DAY = time(23, 59, 59, 999999)
# The csv module refuses a cell over 131,072 characters with its own error; cells are checked
# against MAX_TEXT after parsing instead, so the refusal names the record and the column.
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


def source_zone(source: SourceSettings) -> ZoneInfo:
    """The source's `timezone` as a ZoneInfo (ConfigError when unknown)."""
    try:
        return ZoneInfo(source.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"source {source.name!r}: unknown timezone {source.timezone!r}") from None


def relative_request(path: Path, source: SourceSettings) -> str:
    """`path` relative to the folder holding `source.path` (posix form), for PageRecord."""
    base = source.path.parent if source.path is not None else path.parent
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def page_record(
    path: Path, source: SourceSettings, data: bytes, items: int, total: int | None = None
) -> PageRecord:
    """Provenance of one file read: relative path, sha256 of its bytes, item count."""
    return PageRecord(
        relative_request(path, source), hashlib.sha256(data).hexdigest(), items, total
    )


def load_json_file(path: Path) -> tuple[Any, bytes]:
    """Parse a JSON file under connectors.exports.jsontext's rules; InputError naming the file
    and the record and field (or line and column) at fault."""
    data = path.read_bytes()
    return parse_json(data, str(path)), data


def split_files(folder: Path, stem: str) -> list[Path]:
    """`stem.json` then its splits `stem-0001.json`, ... in order; empty when none exist."""
    found: list[tuple[int, Path]] = []
    whole = folder / f"{stem}.json"
    if whole.is_file():
        found.append((-1, whole))
    for p in folder.glob(f"{stem}-*.json"):
        m = _SPLIT.match(p.stem)
        if m and m.group("stem") == stem:
            found.append((int(m.group("n")), p))
    return [p for _, p in sorted(found)]


def files_as_of(source: SourceSettings, paths: Iterable[Path]) -> datetime:
    """The batch's observation instant: `source.as_of`, else the newest file mtime (UTC)."""
    if source.as_of is not None:
        return source.as_of.astimezone(UTC)
    mtimes = [p.stat().st_mtime for p in paths]
    if not mtimes:
        return datetime.now(UTC)
    return datetime.fromtimestamp(max(mtimes), UTC)


def parse_instant_field(
    value: Any,
    file: str,
    record: str | int | None,
    field: str,
    zone: ZoneInfo | None = None,
    end_of_day: bool = False,
) -> datetime | None:
    """An ISO 8601 date or date-time as UTC; a bare date is the start (or end) of that day in
    `zone`, a date-time without offset is local to `zone`. Empty means None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(file, record, field, f"expected a date text, got {json_type(value)}")
    text = value.strip()
    if not text:
        return None
    zone = zone or ZoneInfo("UTC")
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            local = datetime.combine(d, _END_OF_DAY if end_of_day else time(), zone)
            return local.astimezone(UTC)
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=zone)
        return dt.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: beyond year 1..9999 once in UTC
        raise InputError(
            file, record, field, f"not an ISO 8601 date or date-time: {shown(text)}"
        ) from None


def read_records(
    path: Path,
) -> tuple[list[str], list[dict[str, Any]], bytes, Callable[[int], str | int]]:
    """CSV (header row) or JSON array of objects: header, records, the file's bytes, and how
    to name record n in an error (CSV: 1-based data row; JSON: `[n]`, 0-based index)."""
    file = str(path)
    if path.suffix.lower() == ".json":
        doc, data = load_json_file(path)
        if not isinstance(doc, list):
            raise InputError(file, None, None, "expected a JSON array of records")
        header: list[str] = []
        for i, rec in enumerate(doc):
            if not isinstance(rec, dict):
                raise InputError(file, f"[{i}]", None, "expected a JSON object")
            header.extend(k for k in rec if k not in header)
        return header, doc, data, lambda n: f"[{n}]"
    data = path.read_bytes()
    text, clean = decode_text(data, file)
    # Only a file that could hold a bad cell has its cells checked one by one.
    suspect = not clean or "\x00" in text or len(text) > MAX_TEXT
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[dict[str, Any]] = []
    try:
        header = next(reader, None)
        if header is None:
            raise InputError(file, None, None, "empty file: no header row")
        if suspect:
            _check_cells(file, None, header, header)
        dup = sorted({h for h in header if header.count(h) > 1})
        if dup:
            raise InputError(file, None, dup[0], "duplicate column in the header")
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise InputError(
                    file,
                    len(records) + 1,
                    None,
                    f"has {len(cells)} fields, the header has {len(header)}",
                )
            if suspect:
                _check_cells(file, len(records) + 1, header, cells)
            records.append(dict(zip(header, cells, strict=True)))
    except csv.Error as e:
        raise InputError(file, len(records) + 1, None, f"malformed CSV: {e}") from None
    return header, records, data, lambda n: n + 1


def _check_cells(file: str, record: int | None, header: list[str], cells: list[str]) -> None:
    """InputError naming the first cell of a row that cannot be stored (jsontext's rules)."""
    for i, value in enumerate(cells):
        if why := first_bad_text(value, False):
            field = header[i] if record is not None else f"column {i + 1} of the header"
            raise InputError(file, record, field, why)


def column_mapping(
    source: ColumnSettings,
    header: list[str],
    file: str,
    fields: tuple[str, ...],
    required: str,
    noun: str,
) -> dict[str, str]:
    """Canonical field -> column: same-named headers, then `[sources.columns]`, all checked."""
    unknown = sorted(set(source.columns) - set(fields))
    if unknown:
        raise ConfigError(
            f"source {source.name!r}: columns: {unknown[0]!r} is not {noun} ({', '.join(fields)})"
        )
    mapping = {f: f for f in fields if f in header}
    mapping.update(source.columns)
    for canonical, col in mapping.items():
        if col not in header:
            raise InputError(file, None, col, f"column (mapped to {canonical}) not in the header")
    if required not in mapping:
        raise InputError(file, None, required, f"no column is mapped to {required}")
    return mapping


def cell(rec: dict[str, Any], col: str, file: str, record: str | int) -> str | None:
    """A cell's text, or None when blank; a JSON number as written, booleans as true/false;
    an object or array is an InputError."""
    text = scalar_text(rec.get(col), file, record, col)
    return text if text is not None and text.strip() else None


def json_type(value: Any) -> str:
    """The JSON type of a parsed value, as error messages name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "an object" if isinstance(value, dict) else "an array"


def scalar_text(value: Any, file: str, record: str | int | None, field: str) -> str | None:
    """A JSON value where text is expected: text as is, a number as its JSON text, a boolean
    as true/false, null as None; an object or array is an InputError."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    raise InputError(file, record, field, f"expected text, got {json_type(value)}")
