"""Hypothesis strategies and checks the parser fuzz tests share (tests/test_fuzz_*.py).

The documents start valid (the export fixtures under tests/data, or records built here) and
are then mutated: a field anywhere in a record becomes a value of another JSON type, hostile
text (NUL, lone surrogates, control and bidi characters, 1 MiB around the limit), or goes
missing; whole files gain a BOM, invalid UTF-8, other line endings or lose their tail. So the
examples reach the mappings rather than failing at the first byte.

The property every test checks (`expect_parse`, `StoreProbe`): a parser returns batches or
raises InputError, one line, naming the file; a sync that fails leaves every data table as
it was and adds exactly one failed sync_runs row.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import given
from hypothesis import strategies as st

from connectors.exports import MAX_TEXT
from connectors.records import SourceBatch
from evidence.config import Config, Policy, SourceConfig
from evidence.errors import ConfigError, EvidenceError, InputError
from evidence.store.db import open_store
from evidence.store.load import commit_batch
from evidence.store.models import TABLES
from evidence.sync import sync_sources
from tests.export_sources import read_source
from tests.soak import FUZZ_EXAMPLES, SOAK

__all__ = [
    "STORE",
    "Examples",
    "StoreProbe",
    "csv_files",
    "csv_rows",
    "csv_text",
    "expect_parse",
    "folder_docs",
    "fuzz_export_folder",
    "hostile_text",
    "json_values",
    "mutated_docs",
    "scratch",
    "write_docs",
    "writes",
]

# ------------------------------------------------------------------------------- values

# Characters that break naive parsers: NUL, CR/LF, bidi overrides, BOM, quotes, separators,
# lone surrogates and a non-BMP character.
_NASTY = ["\x00", "\r", "\n", "\r\n", "\u202e", "\ufeff", '"', ",", ";", "\\", "\ud800",
          "\udfff", "\U0001f600", "\x1b[31m", "[/]", "\u2028", "\t"]  # fmt: skip
_ALL_CHARS = st.characters(codec=None, exclude_categories=())  # surrogates included


@st.composite
def hostile_text(draw: st.DrawFn) -> str:
    """Text of every kind: ordinary, any code point, nasty pieces, or around MAX_TEXT long."""
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        return draw(st.text(max_size=12))
    if kind <= 5:
        return draw(st.text(_ALL_CHARS, max_size=12))
    if kind <= 8:
        parts = draw(st.lists(st.sampled_from(_NASTY) | st.text(max_size=4), max_size=5))
        return "".join(parts)
    # Around the limit: the same character repeated (cheap to build, costly to parse).
    n = draw(st.sampled_from([MAX_TEXT, MAX_TEXT + 1]))
    return draw(st.sampled_from(["x", "é", "\x00"])) * n


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | hostile_text()
)


def json_values(depth: int = 3) -> st.SearchStrategy[Any]:
    """Any JSON value (NaN and Infinity included, as Python's json writes them)."""
    return st.recursive(
        _SCALARS,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=6 if depth else 1,
    )


# Every JSON type, for the fixed corpus's "every type in every field".
EVERY_TYPE: list[Any] = [None, True, False, 0, -1, 2.5, 10**30, "", "x", [], ["x"], [None],
                         {}, {"id": "x"}]  # fmt: skip

# ------------------------------------------------------------------------- documents


def folder_docs(folder: Path) -> dict[str, Any]:
    """Every JSON file under `folder` (relative path -> parsed document)."""
    return {
        p.relative_to(folder).as_posix(): json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(folder.rglob("*.json"))
    }


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every position in a document (containers and leaves), the root excepted."""
    items = (
        doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    )
    for k, v in items:
        yield (*prefix, k)
        yield from _paths(v, (*prefix, k))


def _set(doc: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        out = dict(doc)
        if delete and not rest:
            out.pop(head, None)
        else:
            out[head] = _set(doc[head], rest, value, delete)
        return out
    out_list = list(doc)
    if delete and not rest:
        del out_list[head]
    else:
        out_list[head] = _set(doc[head], rest, value, delete)
    return out_list


@st.composite
def mutated_docs(
    draw: st.DrawFn,
    base: dict[str, Any],
    records: dict[str, st.SearchStrategy[dict[str, Any]]] | None = None,
    max_mutations: int = 3,
) -> dict[str, Any]:
    """`base` (file -> document) with generated records appended to the files named in
    `records`, then up to `max_mutations` fields changed to other values or removed."""
    docs = dict(base)
    for name, strategy in (records or {}).items():
        extra = draw(st.lists(strategy, max_size=2))
        if extra and name in docs:
            doc = docs[name]
            if isinstance(doc, dict) and isinstance(doc.get("Resources"), list):
                docs[name] = {**doc, "Resources": doc["Resources"] + extra}
            elif isinstance(doc, dict) and isinstance(doc.get("value"), list):
                docs[name] = {**doc, "value": doc["value"] + extra}
            elif isinstance(doc, list):
                docs[name] = doc + extra
    for _ in range(draw(st.integers(0, max_mutations))):
        name = draw(st.sampled_from(sorted(docs)))
        paths = list(_paths(docs[name]))
        if not paths:
            continue
        path = draw(st.sampled_from(paths))
        delete = draw(st.integers(0, 5)) == 0
        value = None if delete else draw(json_values())
        docs[name] = _set(docs[name], path, value, delete)
    return docs


# How a document is written: as Python writes JSON, or with non-ASCII kept (a lone surrogate
# then becomes bytes that are not UTF-8), pretty or compact, other line endings; now and then
# one file is damaged (a BOM, a byte that is not UTF-8, a NUL, a cut-off tail).
writes = st.fixed_dictionaries(
    {
        "ascii": st.booleans(),
        "indent": st.sampled_from([None, 1]),
        "newline": st.sampled_from(["\n", "\r\n", "\r"]),
        "damage": st.sampled_from([None] * 6 + ["bom", "utf16", "garbage", "cut"]),
        "garbage": st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80", b"\x80\x80"]),
        "at": st.floats(0, 1),
    }
)


def damage(data: bytes, how: dict[str, Any]) -> bytes:
    """`data` with the byte-level damage `how` drew (none most of the time)."""
    at = int(len(data) * how["at"])
    kind = how["damage"]
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "utf16":
        return b"\xff\xfe" + data
    if kind == "garbage":
        return data[:at] + how["garbage"] + data[at:]
    if kind == "cut":
        return data[:at]
    return data


def write_docs(folder: Path, docs: dict[str, Any], how: dict[str, Any], damaged: str) -> None:
    """Write each document; the file `damaged` gets the byte-level damage `how` drew."""
    for name, doc in docs.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(doc, ensure_ascii=how["ascii"], indent=how["indent"])
        data = text.replace("\n", how["newline"]).encode("utf-8", "surrogatepass")
        path.write_bytes(damage(data, how) if name == damaged else data)


def csv_text(rows: list[list[str]], *, newline: str, quote_all: bool) -> str:
    """Rows as CSV (RFC 4180 quoting: every cell, or only where needed)."""
    out = []
    for row in rows:
        cells = []
        for c in row:
            needs = quote_all or any(ch in c for ch in ',"\r\n') or c != c.strip()
            cells.append('"' + c.replace('"', '""') + '"' if needs else c)
        out.append(",".join(cells))
    return newline.join(out) + newline


# ---------------------------------------------------------------------------- checks


class Examples:
    """How many examples a property ran: the soak prints it (the README's figure) and checks
    that hypothesis did not stop short of the profile's count."""

    def __init__(self, name: str) -> None:
        self.name, self.n = name, 0

    def tick(self) -> None:
        self.n += 1

    def check(self) -> None:
        sys.stderr.write(f"\nfuzz: {self.name}: {self.n} examples\n")
        if SOAK:
            assert self.n >= FUZZ_EXAMPLES, (self.name, self.n)


# Whether an example also goes to the store (one in four: a commit costs ~100 times a parse).
STORE = st.integers(0, 3).map(lambda n: n == 0)


def expect_parse(
    read: Callable[[], list[SourceBatch]], names: list[str]
) -> list[SourceBatch] | InputError:
    """`read()`'s batches, or its InputError checked: one line, naming one of `names`."""
    try:
        return read()
    except InputError as e:
        check_message(str(e), names)
        return e


def check_message(message: str, names: list[str]) -> None:
    assert "\n" not in message and "\r" not in message, message
    assert any(message.startswith(n) for n in names), (message, names)


@contextmanager
def scratch(base: Path) -> Iterator[Path]:
    """A fresh folder under `base` for one example, removed afterwards."""
    folder = Path(tempfile.mkdtemp(dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _state(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int]]:
    """(table, row count, order-free hash of all rows) of every table but sync_runs, in one
    query."""
    parts = [
        f"SELECT '{t}', count(*), coalesce(sum(hash(x)::HUGEINT), 0) FROM \"{t}\" x"
        for t in TABLES
        if t != "sync_runs"
    ]
    return con.execute(" UNION ALL ".join(parts) + " ORDER BY 1").fetchall()


class StoreProbe:
    """One store a property commits its examples into, checking that whatever fails leaves
    every table as it was (a failed sync: but for its one failed sync_runs row). The store is
    replaced every `RESET` examples so that the checks stay cheap in a long soak."""

    RESET = 200

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.con = open_store(folder / "store-0.duckdb")
        self.examples = self.committed = self.refused = 0

    def _next(self) -> None:
        self.examples += 1
        if self.examples % self.RESET == 0:
            self.con.close()
            self.con = open_store(self.folder / f"store-{self.examples}.duckdb")

    def commit(self, batches: list[SourceBatch]) -> None:
        """Commit each batch (commit_batch): done, or an EvidenceError and no change."""
        self._next()
        for batch in batches:
            before = _state(self.con)
            runs = self.con.execute("SELECT count(*) FROM sync_runs").fetchone()
            try:
                commit_batch(self.con, batch, Policy())
            except EvidenceError:
                assert _state(self.con) == before, "a failed commit changed the store"
                assert self.con.execute("SELECT count(*) FROM sync_runs").fetchone() == runs
                self.refused += 1
                return
            self.committed += 1

    def sync_fails(self, source: SourceConfig, names: list[str]) -> None:
        """Sync a source whose read fails: its one-line error is recorded as one failed
        sync_runs row, and nothing else changes."""
        self._next()
        before = _state(self.con)
        (n,) = self.con.execute("SELECT count(*) FROM sync_runs").fetchone()
        (outcome,) = sync_sources(self.con, Config(sources=[source], policy=Policy()))
        assert outcome.error is not None and not outcome.runs
        check_message(outcome.error, names)
        assert _state(self.con) == before, "a failed sync changed the store"
        runs = self.con.execute(
            "SELECT status, error FROM sync_runs ORDER BY run_id OFFSET $n", {"n": n}
        ).fetchall()
        assert runs == [("failed", outcome.error)], runs

    def feed(
        self, source: SourceConfig, result: list[SourceBatch] | InputError, names: list[str]
    ) -> None:
        """What a parse gave, fed to the store: its batches committed, or its failure synced."""
        if isinstance(result, InputError):
            self.sync_fails(source, names)
        else:
            self.commit(result)

    def close(self) -> None:
        self.con.close()


def fuzz_export_folder(
    root: Path, base: dict[str, Any], make_source: Callable[[Path], SourceConfig]
) -> StoreProbe:
    """The property every export-folder kind shares: the fixture folder `base`
    (folder_docs) with its documents mutated and one file damaged; the read gives batches,
    which commit, or one InputError naming the folder, synced as one failed run. Returns
    the closed probe, for the caller's own checks of what reached the store."""
    probe = StoreProbe(root)
    examples = Examples(root.name.rstrip("0123456789"))

    @given(docs=mutated_docs(base), how=writes, damaged=st.sampled_from(sorted(base)), store=STORE)
    def prop(docs: dict, how: dict, damaged: str, store: bool) -> None:
        examples.tick()
        with scratch(root) as folder:
            write_docs(folder, docs, how, damaged)
            source = make_source(folder)
            result = expect_parse(lambda: read_source(source), [str(folder)])
            if store:
                probe.feed(source, result, [str(folder)])

    try:
        prop()
    finally:
        probe.close()
    examples.check()
    return probe


def load_config_or_error(path: Path) -> Config | ConfigError:
    """`load_config(path)` or its ConfigError checked: one line, naming the file."""
    from evidence.config import load_config

    try:
        return load_config(path)
    except ConfigError as e:
        check_message(str(e), [str(path)])
        return e


# ------------------------------------------------------------------------------ CSV

_CELL_VALUES = hostile_text() | st.sampled_from(
    ["", " ", "2020-01-01", "2020-02-30", "9999-12-31T23:00:00-05:00", "0001-01-01", "never",
     "true", "Active", "Terminated", "On Leave", "E1001", "a;b; ;c"]
)  # fmt: skip


@st.composite
def csv_files(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> bytes:
    """A CSV export: `header` and `rows` with cells changed (hostile text, dates, other
    rows' values), rows added, cut or lengthened, a header cell repeated; written with any
    line ending, quoting every cell or only where needed, as UTF-8 (with or without BOM),
    Latin-1 or UTF-16, now and then damaged at the byte level."""
    header = list(header)
    table = [list(r) for r in rows]
    table += draw(st.lists(st.lists(_CELL_VALUES, min_size=len(header), max_size=len(header)),
                           max_size=2))  # fmt: skip
    for _ in range(draw(st.integers(0, 4))):
        r = draw(st.integers(0, len(table) - 1))
        c = draw(st.integers(0, len(header) - 1))
        table[r][c] = draw(_CELL_VALUES)
    shape = draw(st.sampled_from([None] * 8 + ["short", "long", "dup-header", "no-rows"]))
    if shape == "short":
        table[0] = table[0][:-1]
    elif shape == "long":
        table[0] = [*table[0], "extra"]
    elif shape == "dup-header":
        header = [*header, header[0]]
        table = [[*r, r[0]] for r in table]
    elif shape == "no-rows":
        table = []
    text = csv_text(
        [header, *table],
        newline=draw(st.sampled_from(["\n", "\r\n", "\r"])),
        quote_all=draw(st.booleans()),
    )
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "latin-1", "utf-16"]))
    errors = "surrogatepass" if encoding.startswith("utf") else "replace"
    data = text.encode(encoding, errors)
    return damage(data, draw(writes))


def csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    import csv

    with path.open(newline="", encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    return header, rows
