"""Reading vendor export files: a leaf package every kind's export reader uses.

It knows files (JSON arrays and their splits, CSV with a header, dates, provenance), not
vendors: nothing here imports a source kind's package.
"""

from connectors.exports.files import (
    cell,
    column_mapping,
    files_as_of,
    load_json_file,
    page_record,
    parse_instant_field,
    read_records,
    relative_request,
    source_zone,
    split_files,
)
from connectors.exports.reader import ExportReader, Records, json_records

__all__ = [
    "ExportReader",
    "Records",
    "cell",
    "column_mapping",
    "files_as_of",
    "json_records",
    "load_json_file",
    "page_record",
    "parse_instant_field",
    "read_records",
    "relative_request",
    "source_zone",
    "split_files",
]
