"""Reading vendor export files: a leaf package every kind's export reader uses.

It knows files (JSON arrays and their splits, CSV with a header, dates, provenance), not
vendors: nothing here imports a source kind's package.
"""

from connectors.exports.files import (
    cell,
    column_mapping,
    files_as_of,
    json_type,
    load_json_file,
    page_record,
    parse_instant_field,
    read_records,
    relative_request,
    scalar_text,
    source_zone,
    split_files,
)
from connectors.exports.jsontext import MAX_DEPTH, MAX_TEXT, parse_json, shown
from connectors.exports.reader import ExportReader, Records, json_records

__all__ = [
    "MAX_DEPTH",
    "MAX_TEXT",
    "ExportReader",
    "Records",
    "cell",
    "column_mapping",
    "files_as_of",
    "json_records",
    "json_type",
    "load_json_file",
    "page_record",
    "parse_instant_field",
    "parse_json",
    "read_records",
    "relative_request",
    "scalar_text",
    "shown",
    "source_zone",
    "split_files",
]
