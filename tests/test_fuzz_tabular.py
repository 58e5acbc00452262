"""HR and app user-list exports (CSV, JSON arrays): hostile input is read or refused as one
InputError naming the file, record and field.

Property (hypothesis): each fixture export (tests/data/hris/workers.csv,
tests/data/apps/github.csv) with cells changed to hostile text and odd dates, rows cut or
lengthened, headers repeated, any line ending, BOMs, Latin-1 and UTF-16, byte-level damage;
and the same records as a JSON array with fields turned into other JSON types. Batches
commit; a failed sync leaves the store as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from connectors.records import SourceBatch
from evidence.config import SourceConfig
from evidence.errors import InputError
from tests.export_sources import DATA, app_source, hr_source, read_source
from tests.fuzz_corpus import csv_cases, every_type_cases
from tests.fuzz_strategies import (
    STORE,
    Examples,
    StoreProbe,
    csv_files,
    csv_rows,
    expect_parse,
    mutated_docs,
    scratch,
    write_docs,
    writes,
)
from tests.soak import size


@dataclass(frozen=True)
class Export:
    kind: str
    stem: str  # the export's file name without its suffix
    source: Callable[[Path], SourceConfig]
    text_field: str  # a free-text column the corpus and the type cases aim at
    fixture: Path

    @property
    def table(self) -> tuple[list[str], list[list[str]]]:
        return csv_rows(self.fixture)

    @property
    def records(self) -> list[dict[str, Any]]:
        header, rows = self.table
        return [dict(zip(header, r, strict=True)) for r in rows]

    def read(self, path: Path) -> list[SourceBatch]:
        return read_source(self.source(path))


HR = Export("hris", "workers", hr_source, "Preferred Name", DATA / "hris" / "workers.csv")
APP = Export("app", "github", app_source, "name", DATA / "apps" / "github.csv")
EXPORTS = pytest.mark.parametrize("export", [HR, APP], ids=lambda e: e.kind)


def _fuzz(root: Path, strategies: dict, write: Callable[..., Path], export: Export) -> None:
    probe = StoreProbe(root)
    examples = Examples(root.name.rstrip("0123456789"))

    @given(**strategies, store=STORE)
    def prop(store: bool, **drawn: Any) -> None:
        examples.tick()
        with scratch(root) as folder:
            path = write(folder, **drawn)
            source = export.source(path)
            result = expect_parse(lambda: read_source(source), [str(path)])
            if store:
                probe.feed(source, result, [str(path)])

    try:
        prop()
    finally:
        probe.close()
    examples.check()
    assert probe.committed


@pytest.mark.soak
@EXPORTS
def test_csv_fuzz(tmp_path_factory: pytest.TempPathFactory, export: Export) -> None:
    def write(folder: Path, data: bytes) -> Path:
        path = folder / f"{export.stem}.csv"
        path.write_bytes(data)
        return path

    header, rows = export.table
    root = tmp_path_factory.mktemp(f"fuzz-{export.kind}")
    _fuzz(root, {"data": csv_files(header, rows)}, write, export)


@pytest.mark.soak
@EXPORTS
def test_json_fuzz(tmp_path_factory: pytest.TempPathFactory, export: Export) -> None:
    name = f"{export.stem}.json"

    def write(folder: Path, docs: dict, how: dict) -> Path:
        write_docs(folder, docs, how, name)
        return folder / name

    root = tmp_path_factory.mktemp(f"fuzz-{export.kind}-json")
    _fuzz(root, {"docs": mutated_docs({name: export.records}), "how": writes}, write, export)


CORPUS = [
    pytest.param(e, case, id=f"{e.kind}-{case.label}")
    for e in (HR, APP)
    for case in csv_cases(*(lambda h, r: (h, r[0]))(*e.table), e.text_field)
]


@pytest.mark.parametrize(("export", "case"), CORPUS)
def test_csv_corpus(tmp_path: Path, export: Export, case) -> None:  # noqa: ANN001
    path = tmp_path / f"{export.stem}.csv"
    path.write_bytes(case.data)
    result = expect_parse(lambda: export.read(path), [str(path)])
    if case.problem is not None:
        assert isinstance(result, InputError)
        assert str(result) == f"{path}: {case.problem}"


def test_hris_nul_in_a_name_is_refused(tmp_path: Path) -> None:
    """The issue's case: a NUL in an HR name was stored silently."""
    header, rows = HR.table
    path = tmp_path / "workers.csv"
    row = [*rows[1][:2], "Bob\x00Jones", *rows[1][3:]]
    path.write_text(",".join(header) + "\n" + ",".join(rows[0]) + "\n" + ",".join(row) + "\n")
    with pytest.raises(InputError) as err:
        HR.read(path)
    assert (
        str(err.value)
        == f"{path}: record 2: field 'Preferred Name': holds a NUL character (U+0000)"
    )


@pytest.mark.parametrize(
    ("export", "column", "stored"),
    [
        pytest.param(HR, "Job Title", lambda rows: rows["title"].to_pylist(), id="hris"),
        pytest.param(
            APP,
            "name",
            lambda rows: [json.loads(a)["display_name"] for a in rows["attributes"].to_pylist()],
            id="app",
        ),
    ],
)
def test_huge_cell_within_limit_is_read(
    tmp_path: Path, export: Export, column: str, stored: Callable[[Any], list[str]]
) -> None:
    """Over the csv module's 131,072 characters, under MAX_TEXT: read, as written."""
    header, rows = export.table
    path = tmp_path / f"{export.stem}.csv"
    i = header.index(column)
    row = [*rows[0][:i], "N" * 200_000, *rows[0][i + 1 :]]
    path.write_text(",".join(header) + "\n" + ",".join(row) + "\n")
    (batch,) = export.read(path)
    assert stored(batch.snapshots[0].rows) == ["N" * 200_000]


@pytest.mark.soak
@EXPORTS
def test_json_every_type_in_every_field(tmp_path: Path, export: Export) -> None:
    path = tmp_path / f"{export.stem}.json"
    read = refused = 0
    for label, data in every_type_cases(export.records[0], lambda r: f"[{r}]", size(3, 1)):
        path.write_bytes(data)
        result = expect_parse(lambda: export.read(path), [str(path)])
        if isinstance(result, InputError):
            refused += 1
            assert str(result).startswith(f"{path}: record [0]: field "), (label, str(result))
        else:
            read += 1
    assert read and refused


@EXPORTS
def test_json_object_for_a_name_is_refused(tmp_path: Path, export: Export) -> None:
    path = tmp_path / f"{export.stem}.json"
    path.write_text(json.dumps([{**export.records[0], export.text_field: {"a": 1}}]))
    with pytest.raises(InputError) as err:
        export.read(path)
    assert str(err.value) == (
        f"{path}: record [0]: field {export.text_field!r}: expected text, got an object"
    )
