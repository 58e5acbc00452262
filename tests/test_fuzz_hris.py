"""HR exports (CSV, JSON arrays): hostile input is read or refused as one InputError naming
the file, record and field.

Property (hypothesis): the fixture export (tests/data/hris/workers.csv) with cells changed to
hostile text and odd dates, rows cut or lengthened, headers repeated, any line ending, BOMs,
Latin-1 and UTF-16, byte-level damage; and the same records as a JSON array with fields
turned into other JSON types. Batches commit; a failed sync leaves the store as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given

from evidence.errors import InputError
from tests.export_sources import DATA, hr_source, read_source
from tests.fuzz_corpus import csv_cases, every_type_cases
from tests.fuzz_strategies import (
    STORE,
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

HEADER, ROWS = csv_rows(DATA / "hris" / "workers.csv")
RECORDS = [dict(zip(HEADER, r, strict=True)) for r in ROWS]


@pytest.mark.soak
def test_hris_csv_fuzz(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("fuzz-hris")
    probe = StoreProbe(root)

    @given(data=csv_files(HEADER, ROWS), store=STORE)
    def prop(data: bytes, store: bool) -> None:
        with scratch(root) as folder:
            path = folder / "workers.csv"
            path.write_bytes(data)
            source = hr_source(path)
            result = expect_parse(lambda: read_source(source), [str(path)])
            if store:
                probe.feed(source, result, [str(path)])

    try:
        prop()
    finally:
        probe.close()
    assert probe.committed


@pytest.mark.soak
def test_hris_json_fuzz(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("fuzz-hris-json")
    probe = StoreProbe(root)

    @given(docs=mutated_docs({"workers.json": RECORDS}), how=writes, store=STORE)
    def prop(docs: dict, how: dict, store: bool) -> None:
        with scratch(root) as folder:
            write_docs(folder, docs, how, "workers.json")
            path = folder / "workers.json"
            source = hr_source(path)
            result = expect_parse(lambda: read_source(source), [str(path)])
            if store:
                probe.feed(source, result, [str(path)])

    try:
        prop()
    finally:
        probe.close()
    assert probe.committed


@pytest.mark.parametrize(
    "case", csv_cases(HEADER, ROWS[0], "Preferred Name"), ids=lambda c: c.label
)
def test_hris_corpus(tmp_path: Path, case) -> None:
    path = tmp_path / "workers.csv"
    path.write_bytes(case.data)
    result = expect_parse(lambda: read_source(hr_source(path)), [str(path)])
    if case.problem is not None:
        assert isinstance(result, InputError)
        assert str(result) == f"{path}: {case.problem}"


def test_hris_nul_in_a_name_is_refused(tmp_path: Path) -> None:
    """The issue's case: a NUL in an HR name was stored silently."""
    path = tmp_path / "workers.csv"
    row = [*ROWS[1][:2], "Bob\x00Jones", *ROWS[1][3:]]
    path.write_text(",".join(HEADER) + "\n" + ",".join(ROWS[0]) + "\n" + ",".join(row) + "\n")
    with pytest.raises(InputError) as err:
        read_source(hr_source(path))
    assert (
        str(err.value)
        == f"{path}: record 2: field 'Preferred Name': holds a NUL character (U+0000)"
    )


def test_hris_huge_cell_within_limit_is_read(tmp_path: Path) -> None:
    """Over the csv module's 131,072 characters, under MAX_TEXT: read, as written."""
    path = tmp_path / "workers.csv"
    row = [*ROWS[0][:5], "T" * 200_000, *ROWS[0][6:]]
    path.write_text(",".join(HEADER) + "\n" + ",".join(row) + "\n")
    (batch,) = read_source(hr_source(path))
    assert batch.snapshots[0].rows["title"].to_pylist() == ["T" * 200_000]


@pytest.mark.soak
def test_hris_json_every_type_in_every_field(tmp_path: Path) -> None:
    path = tmp_path / "workers.json"
    read = refused = 0
    for label, data in every_type_cases(RECORDS[0], lambda r: f"[{r}]", size(3, 1)):
        path.write_bytes(data)
        result = expect_parse(lambda: read_source(hr_source(path)), [str(path)])
        if isinstance(result, InputError):
            refused += 1
            assert str(result).startswith(f"{path}: record [0]: field "), (label, str(result))
        else:
            read += 1
    assert read and refused


def test_hris_json_object_for_a_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "workers.json"
    path.write_text(__import__("json").dumps([{**RECORDS[0], "Preferred Name": {"a": 1}}]))
    with pytest.raises(InputError) as err:
        read_source(hr_source(path))
    assert (
        str(err.value)
        == f"{path}: record [0]: field 'Preferred Name': expected text, got an object"
    )
