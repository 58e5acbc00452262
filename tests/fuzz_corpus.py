"""The fixed hostile corpus, generated at test time (no committed blobs): 10 MB strings,
nesting 100,000 deep, NUL, invalid UTF-8, lone surrogates, NaN, huge numbers, and every JSON
type in every field of a valid record.

Each case is the bytes of a file holding one record (wrapped as the parser expects) and the
exact problem the parser must report for it (None: it may be read, or refused, but only as
an InputError naming the file).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from connectors.exports import MAX_DEPTH, MAX_TEXT

__all__ = ["Case", "DEEP", "HUGE", "csv_cases", "every_type_cases", "json_cases"]

HUGE = 10_000_000  # characters of the corpus's long strings
DEEP = 100_000  # levels of the corpus's deep nesting
_MARK = "\u0001MARK\u0001"  # replaced at the byte level (invalid UTF-8 cannot be dumped)

Wrap = Callable[[str], str]  # a record's JSON text -> the file's text


@dataclass(frozen=True)
class Case:
    label: str
    data: bytes
    problem: str | None  # the exact message after "<file>: ", when the case fixes one


def _set(rec: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    head, rest = path[0], path[1:]
    inner = rec.get(head) if isinstance(rec.get(head), dict) else {}
    return {**rec, head: _set(inner, rest, value) if rest else value}


def json_cases(record: dict[str, Any], path: tuple[str, ...], wrap: Wrap, name: str) -> list[Case]:
    """The corpus for one text field of `record` (at `path`), in a file whose records are
    named `name[i]` (`[0]`, `Resources[0]`, `value[0]`)."""
    where = f"record {name}[0]: field {'.'.join(path)!r}"

    def doc(value: Any) -> str:
        return wrap(json.dumps(_set(record, path, value)))

    deep_field = wrap(json.dumps(_set(record, path, _MARK))).replace(
        json.dumps(_MARK), "[" * DEEP + "]" * DEEP
    )
    # The deepest path named is capped (jsontext._MAX_STEPS): only the problem is fixed here.
    return [
        Case(
            "10MB-string",
            doc("x" * HUGE).encode(),
            f"{where}: longer than {MAX_TEXT:,} characters ({HUGE:,})",
        ),
        Case("deep-file", ("[" * DEEP + "]" * DEEP).encode(), f"nested deeper than {MAX_DEPTH} levels"),
        Case("deep-field", deep_field.encode(), None),
        Case("nul", doc("a\x00b").encode(), f"{where}: holds a NUL character (U+0000)"),
        Case(
            "invalid-utf8",
            doc(_MARK).encode().replace(json.dumps(_MARK)[1:-1].encode(), b"Al\xe9x"),
            f"{where}: not valid UTF-8 text",
        ),
        Case(
            "lone-surrogate",
            doc("a\ud800b").encode(),
            f"{where}: holds a lone surrogate (not valid Unicode)",
        ),
        Case(
            "nan",
            doc(float("nan")).encode(),
            f"{where}: not a finite number (NaN, Infinity, or beyond a float's range)",
        ),
        Case("huge-int", doc(_MARK).replace(json.dumps(_MARK), "9" * 5000).encode(), None),
        Case("bom", b"\xef\xbb\xbf" + doc("ok").encode(), None),
        Case("crlf", doc("ok").replace(",", ",\r\n").encode(), None),
        Case("utf16", b"\xff\xfe" + doc("ok").encode("utf-16-le"), "UTF-16 text (byte order mark): only UTF-8 is read"),
    ]  # fmt: skip


EVERY_TYPE: list[Any] = [None, True, 0, 2.5, 10**30, "", "x", [], ["x"], [None], {}, {"a": 1}]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:2]):  # the first items stand for the rest
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


def _put(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    if isinstance(value, dict):
        return {**value, path[0]: _put(value[path[0]], path[1:], new)}
    out = list(value)
    out[path[0]] = _put(value[path[0]], path[1:], new)
    return out


def every_type_cases(
    record: dict[str, Any], wrap: Wrap, stride: int = 1
) -> Iterator[tuple[str, bytes]]:
    """`record` with every field (nested ones too) set to each JSON type in turn; with a
    `stride`, every stride-th of those cases (`make test`: tests/soak.py sizes; a stride
    prime to the 12 types still gives every field and every type)."""
    n = 0
    for path in _paths(record):
        for value in EVERY_TYPE:
            n += 1
            if (n - 1) % stride:
                continue
            label = ".".join(map(str, path)) + "=" + json.dumps(value)
            yield label, wrap(json.dumps(_put(record, path, value))).encode()


def csv_cases(header: list[str], row: list[str], column: str) -> list[Case]:
    """The corpus for one column of a CSV export (record 1 is the row)."""
    i = header.index(column)
    where = f"record 1: field {column!r}"

    def text(value: str, newline: str = "\n") -> str:
        cells = [*row[:i], value, *row[i + 1 :]]
        quoted = ['"' + c.replace('"', '""') + '"' for c in cells]
        return ",".join(header) + newline + ",".join(quoted) + newline

    dup = ",".join([*header, header[0]]) + "\n" + ",".join([*row, row[0]]) + "\n"
    return [
        Case(
            "10MB-cell",
            text("x" * HUGE).encode(),
            f"{where}: longer than {MAX_TEXT:,} characters ({HUGE:,})",
        ),
        Case("200k-cell", text("x" * 200_000).encode(), None),  # beyond the csv module's limit
        Case("nul", text("a\x00b").encode(), f"{where}: holds a NUL character (U+0000)"),
        Case(
            "invalid-utf8",
            text(_MARK).encode().replace(_MARK.encode(), b"Al\xe9x"),
            f"{where}: not valid UTF-8 text",
        ),
        Case("latin1", text("Zo\u00eb").encode("latin-1"), f"{where}: not valid UTF-8 text"),
        Case("bom", b"\xef\xbb\xbf" + text("ok").encode(), None),
        Case("crlf", text("ok", "\r\n").encode(), None),
        Case("bare-cr", text("ok", "\r").encode(), None),
        Case("quoted-newline", text("a\nb\r\nc").encode(), None),
        Case("duplicate-header", dup.encode(), f"field {header[0]!r}: duplicate column in the header"),
        Case("utf16", text("ok").encode("utf-16"), "UTF-16 text (byte order mark): only UTF-8 is read"),
        Case("unterminated-quote", (text("ok") + '"abc').encode(), None),
        Case("nul-header", text("ok").replace(column, column + "\x00", 1).encode(), None),
    ]  # fmt: skip
