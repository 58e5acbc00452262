"""A deterministic zip of a bundle: the same files give the same bytes.

Entries are the bundle's files under its folder name, sorted by path, each dated 1980-01-01
00:00 (the zip format's first instant, so no clock and no timezone reaches the archive), mode
0644, names in UTF-8, no extra fields but ZIP64's where a size or offset needs it. A file may
come already deflated (`Deflated`: raw deflate with its CRC-32 and sizes, e.g. a population
deflated while the PDF renders), so a half-gigabyte CSV is not compressed twice.

Written by hand rather than with `zipfile`, which can neither take precompressed data nor
leave out its own timestamps; `zipfile` and `unzip -t` read the result (tests).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["Deflated", "deflate_file", "stored_file", "write_zip"]

_DOS_DATE = (1 << 5) | 1  # 1980-01-01
_DOS_TIME = 0
_UTF8 = 1 << 11
_MODE = 0o100644 << 16  # a regular file, rw-r--r--
_MADE_BY = (3 << 8) | 45  # Unix, spec 4.5 (ZIP64)
_MARK = 0xFFFFFFFF  # a 32-bit field whose value is in the ZIP64 extra field
_LIMIT = _MARK  # from this value on, a size or offset needs ZIP64
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Deflated:
    """A zip entry's data: a file's raw deflate stream (no zlib header) in `path`, or the file
    itself when `stored`, with the CRC-32 and size of the original."""

    path: Path
    crc32: int
    size: int
    stored: bool = False  # `path` holds the file itself (method 0), not a deflate stream


def deflate_file(src: Path, out: Path, level: int = 6) -> Deflated:
    """Raw-deflate `src` into `out`, in 1 MiB pieces."""
    z = zlib.compressobj(level, zlib.DEFLATED, -15)
    crc, size = 0, 0
    with open(src, "rb") as f, open(out, "wb") as w:
        while chunk := f.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            w.write(z.compress(chunk))
        w.write(z.flush())
    return Deflated(out, crc, size)


def stored_file(src: Path) -> Deflated:
    """`src` as a stored (not deflated) entry: its own bytes, with their CRC-32."""
    crc, size = 0, 0
    with open(src, "rb") as f:
        while chunk := f.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return Deflated(src, crc, size, stored=True)


def _copy(src: Path, dst: BinaryIO) -> int:
    n = 0
    with open(src, "rb") as f:
        while chunk := f.read(_CHUNK):
            dst.write(chunk)
            n += len(chunk)
    return n


def _zip64_extra(*values: int) -> bytes:
    return struct.pack(f"<HH{len(values)}Q", 0x0001, 8 * len(values), *values) if values else b""


def _entries(
    files: Mapping[str, Path], deflated: Mapping[str, Deflated]
) -> Iterator[tuple[str, Path, Deflated | None]]:
    for name in sorted(files):
        if name.startswith("/") or ".." in name.split("/"):
            raise ValueError(f"{name}: not a path inside the bundle")
        yield name, files[name], deflated.get(name)


def write_zip(
    target: Path,
    root: str,
    files: Mapping[str, Path],
    deflated: Mapping[str, Deflated] | None = None,
    level: int = 6,
    stored: Collection[str] = (),
) -> None:
    """Write `target`: every file of `files` (bundle-relative name -> path) as `root/<name>`,
    sorted; a name in `deflated` is copied from its raw deflate stream, one in `stored` kept
    as it is (a PDF is compressed already), the others deflated here. Written to a temp file
    beside `target`, then renamed: never half a zip."""
    deflated = deflated or {}
    zip64_end = False  # set when an entry needed ZIP64 (readers then look for its end record)
    tmp = target.with_name(target.name + ".part")
    central: list[bytes] = []
    with open(tmp, "wb") as out:
        for name, path, pre in _entries(files, deflated):
            if pre is None and name in stored:
                pre = stored_file(path)
            elif pre is None:
                pre = deflate_file(path, tmp.with_name(tmp.name + ".entry"), level)
            method = 0 if pre.stored else 8
            comp = os.path.getsize(pre.path)
            encoded = f"{root}/{name}".encode()
            offset = out.tell()
            big = pre.size >= _LIMIT or comp >= _LIMIT
            # The local header of a ZIP64 entry carries both sizes in its extra field.
            local_extra = _zip64_extra(pre.size, comp) if big else b""
            out.write(
                struct.pack(
                    "<IHHHHHIIIHH",
                    0x04034B50,
                    45 if big else 20,
                    _UTF8,
                    method,
                    _DOS_TIME,
                    _DOS_DATE,
                    pre.crc32,
                    _MARK if big else comp,
                    _MARK if big else pre.size,
                    len(encoded),
                    len(local_extra),
                )
            )
            out.write(encoded + local_extra)
            if _copy(pre.path, out) != comp:
                raise OSError(f"{pre.path}: changed while it was archived")
            if pre.path.name.endswith(".entry"):
                pre.path.unlink()
            wide = [v for v in (pre.size, comp) if big] + ([offset] if offset >= _LIMIT else [])
            extra = _zip64_extra(*wide)
            zip64_end = zip64_end or bool(extra)
            central.append(
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    _MADE_BY,
                    45 if extra else 20,
                    _UTF8,
                    method,
                    _DOS_TIME,
                    _DOS_DATE,
                    pre.crc32,
                    _MARK if big else comp,
                    _MARK if big else pre.size,
                    len(encoded),
                    len(extra),
                    0,
                    0,
                    0,
                    _MODE,
                    _MARK if offset >= _LIMIT else offset,
                )
                + encoded
                + extra
            )
        start = out.tell()
        for record in central:
            out.write(record)
        size = out.tell() - start
        count = len(central)
        if count >= 0xFFFF or start >= _LIMIT or size >= _LIMIT or zip64_end:
            end64 = out.tell()
            out.write(
                struct.pack(
                    "<IQHHIIQQQQ", 0x06064B50, 44, _MADE_BY, 45, 0, 0, count, count, size, start
                )
            )
            out.write(struct.pack("<IIQI", 0x07064B50, 0, end64, 1))
        out.write(
            struct.pack(
                "<IHHHHIIH",
                0x06054B50,
                0,
                0,
                min(count, 0xFFFF),
                min(count, 0xFFFF),
                _MARK if size >= _LIMIT else size,
                _MARK if start >= _LIMIT else start,
                0,
            )
        )
    os.replace(tmp, target)
