"""What text and JSON the connectors read: the limits, and one place that checks them.

Rules (docs/decisions.md, "Hostile input"): every limit is refused with an InputError naming
the file and, where it can be known, the record and field; never a traceback.
- Text is UTF-8, with or without a byte order mark; UTF-16/32 (their BOMs) are refused.
  Invalid UTF-8 is named by record and field: the bytes are decoded with surrogateescape and
  the value holding the first bad byte is found (outside any value: line and column).
- No text value may hold U+0000 (NUL): C-string consumers (syslog, CEF, PDF) would cut it.
- No text value (JSON string or key, CSV cell) may be longer than MAX_TEXT characters.
- JSON nests at most MAX_DEPTH objects and arrays deep; NaN, Infinity, numbers too large for
  a float, integers of more than 4300 digits and lone surrogates (`"\\ud800"`) are refused:
  none of them survives re-encoding as the strict JSON every `raw` column holds.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from evidence.errors import InputError

__all__ = [
    "MAX_DEPTH",
    "MAX_TEXT",
    "check_json",
    "decode_text",
    "first_bad_text",
    "json_location",
    "parse_json",
    "shown",
]

MAX_DEPTH = 64  # real exports nest under 10; redaction and encoding recurse per level
MAX_TEXT = 1 << 20  # characters in one value: far above any identity attribute
_MAX_STEPS = 12  # of a field path in a message

_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
         (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))  # fmt: skip
# Code points no stored text may hold: NUL, and surrogates (a lone `\ud800` escape, or a byte
# that was not UTF-8, which surrogateescape decoding turns into U+DC80..U+DCFF).
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")
# A `\u0000` or surrogate escape in JSON text (an even run of backslashes before it): only
# then can a parsed string hold one of those.
_BAD_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def shown(value: Any, limit: int = 60) -> str:
    """A value for an error message: its repr (one line), cut to about `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decode_text(data: bytes, file: str) -> tuple[str, bool]:
    """(text, clean): UTF-8 text without its BOM; `clean` False when some bytes were not UTF-8
    (they are decoded as surrogates, for the caller to find the value holding them)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise InputError(file, None, None, f"{name} text (byte order mark): only UTF-8 is read")
    try:
        return data.decode("utf-8-sig"), True
    except UnicodeDecodeError:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "surrogateescape"), False


def first_bad_text(text: str, clean: bool) -> str | None:
    """Why `text` (one value or key) cannot be stored, or None."""
    if len(text) > MAX_TEXT:
        return f"longer than {MAX_TEXT:,} characters ({len(text):,})"
    bad = _BAD_CHAR.search(text)
    if bad is None:
        return None
    if bad.group() == "\x00":
        return "holds a NUL character (U+0000)"
    return "not valid UTF-8 text" if not clean else "holds a lone surrogate (not valid Unicode)"


def _number_problem(value: float) -> str | None:
    if math.isfinite(value):
        return None
    return "not a finite number (NaN, Infinity, or beyond a float's range)"


def json_location(path: list[Any]) -> tuple[str | None, str | None]:
    """(record, field) naming a position in a document: the record is the path up to the first
    array index (`[3]`, `Resources[3]`, `value[3]`), the field the rest (`profile.login`)."""
    record: str | None = None
    parts: list[str] = []
    for step in path:
        if isinstance(step, int):
            if record is None:
                record = "".join(parts) + f"[{step}]"
                parts = []
            else:
                parts.append(f"[{step}]")
        else:
            parts.append(f".{step}" if parts else str(step))
    if len(parts) > _MAX_STEPS:  # a path 64 levels deep says no more than its start
        parts = [*parts[:_MAX_STEPS], "…"]
    field = "".join(parts) or None
    return record, field


def _scan(doc: Any, clean: bool, *, strings: bool, keys: bool) -> tuple[list[Any], str] | None:
    """The first (path, problem) of a parsed document, without recursion. `strings` asks for
    every string to be checked for NUL and surrogates (only needed when the text had a
    suspicious escape or invalid UTF-8), `keys` for keys to be checked too; value lengths,
    depth and numbers are always checked."""
    # Each stack entry: (container, depth, parent entry, key in the parent).
    stack: list[tuple[Any, int, Any, Any]] = [(doc, 1, None, None)]
    while stack:
        entry = stack.pop()
        value, depth = entry[0], entry[1]
        if depth > MAX_DEPTH:
            return _path(entry), f"nested deeper than {MAX_DEPTH} levels"
        items = value.items() if type(value) is dict else enumerate(value)
        for key, x in items:
            if keys and type(key) is str and (why := first_bad_text(key, clean)):
                return _path(entry) + [key], f"key {why}"
            t = type(x)
            if t is str:
                if len(x) > MAX_TEXT or (strings and _BAD_CHAR.search(x)):
                    return _path(entry) + [key], str(first_bad_text(x, clean))
            elif t is dict or t is list:
                if x:
                    stack.append((x, depth + 1, entry, key))
                elif depth + 1 > MAX_DEPTH:
                    return _path(entry) + [key], f"nested deeper than {MAX_DEPTH} levels"
            elif t is float and (why := _number_problem(x)):
                return _path(entry) + [key], why
    return None


def _path(entry: Any) -> list[Any]:
    keys: list[Any] = []
    while entry is not None and entry[2] is not None:
        keys.append(entry[3])
        entry = entry[2]
    return keys[::-1]


def parse_json(data: bytes, file: str) -> Any:
    """Parse a JSON document held in `data` and check it against the rules above."""
    text, clean = decode_text(data, file)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        problem = f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        raise InputError(file, None, None, problem) from None
    except RecursionError:
        raise InputError(file, None, None, f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as e:  # an integer beyond int's 4300-digit string conversion limit
        raise InputError(file, None, None, f"a number is too large: {str(e)[:60]}") from None
    found = None
    if isinstance(doc, dict | list):
        strings = not clean or _BAD_ESCAPE.search(text) is not None
        found = _scan(doc, clean, strings=strings, keys=strings or len(text) > MAX_TEXT)
    elif isinstance(doc, str) and (why := first_bad_text(doc, clean)):
        found = ([], why)
    elif isinstance(doc, float) and (why := _number_problem(doc)):
        found = ([], why)
    if found is not None:
        record, field = json_location(found[0])
        raise InputError(file, record, field, found[1])
    if not clean:  # the bad bytes sit outside any value json.loads accepted
        raise InputError(file, None, None, "not valid UTF-8 text")
    return doc


def check_json(doc: Any, where: str) -> None:
    """The rules above on a document already parsed (a live page): InputError naming `where`
    (its request), the record and the field."""
    found = _scan(doc, True, strings=True, keys=True) if isinstance(doc, dict | list) else None
    if found is not None:
        record, field = json_location(found[0])
        raise InputError(where, record, field, found[1])
