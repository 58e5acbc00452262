"""Reading an IdP export folder: JSON array files (split as `name-0001.json`, ...) and
per-id sub-folders, each file recorded as a page of provenance."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connectors.exports.files import load_json_file, page_record, split_files
from connectors.records import PageRecord
from connectors.settings import SourceSettings
from evidence.errors import InputError

__all__ = ["Records", "json_records", "ExportReader"]

# (where, index, record): `where` names the file (export) or the request (live) in errors.
Records = list[tuple[str, int, dict[str, Any]]]

_SPLIT = re.compile(r"^(?P<id>.+?)(?:-\d{4,6})?$")


def json_records(doc: Any, where: str, *, value_key: str | None = None) -> Records:
    """The records of one loaded JSON array (or of `doc[value_key]`, Graph's `value`)."""
    if value_key and isinstance(doc, dict) and isinstance(doc.get(value_key), list):
        doc = doc[value_key]
    if not isinstance(doc, list):
        also = f" or an object with `{value_key}`" if value_key else ""
        raise InputError(where, None, None, f"expected a JSON array{also}")
    out: Records = []
    for i, rec in enumerate(doc):
        if not isinstance(rec, dict):
            raise InputError(where, f"[{i}]", None, "expected a JSON object")
        out.append((where, i, rec))
    return out


class ExportReader:
    """Loads an export's JSON files in order, recording provenance for each."""

    def __init__(self, source: SourceSettings, to_records: Callable[[Any, str], Records]) -> None:
        self.source = source
        self.to_records = to_records
        self.paths: list[Path] = []
        self.pages: list[PageRecord] = []

    def records(self, paths: list[Path]) -> Records | None:
        """(file, index, record) of every file in order; None when there is no file."""
        if not paths:
            return None
        out: Records = []
        for path in paths:
            doc, data = load_json_file(path)
            recs = self.to_records(doc, str(path))
            out.extend(recs)
            self.paths.append(path)
            self.pages.append(page_record(path, self.source, data, len(recs)))
        return out

    def per_id(self, folder: Path) -> dict[str, Records]:
        """Files `<id>.json` / `<id>-0001.json` of a sub-folder, grouped by id (sorted)."""
        if not folder.is_dir():
            return {}
        ids = sorted({_SPLIT.match(p.stem).group("id") for p in folder.glob("*.json")})  # type: ignore[union-attr]
        return {i: self.records(split_files(folder, i)) or [] for i in ids}
