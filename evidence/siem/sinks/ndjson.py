"""The NDJSON file sink: one document per line, appended to `SinkConfig.path`.

Each batch is written with one `write`, flushed and fsync'ed before `send` returns, so an
acknowledged line is on disk before the forwarder commits its cursor. What a crash can leave
between the write and that commit is repaired by `last_delivered`: a torn final line (a write
cut short) is cut off, and the last complete line names the newest event the file holds,
which the forwarder then skips instead of writing it twice (see forwarder.py).

The file is locked (flock) while the sink is open, so two forwarders never interleave lines.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from evidence.errors import SinkError
from evidence.siem.mappings import ecs
from evidence.siem.sinks.base import Doc, SendResult

__all__ = ["NdjsonSink"]

_CHUNK = 1 << 16


class NdjsonSink:
    """Append documents to a local NDJSON file."""

    def __init__(
        self, path: Path, event_id_of: Callable[[str], str | None] = ecs.event_id_of
    ) -> None:
        self.path = Path(path)
        self._event_id_of = event_id_of
        self._fh: BinaryIO | None = None

    def _file(self) -> BinaryIO:
        if self._fh is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # "a+b": appends always land at the end, and the tail stays readable.
                fh = open(self.path, "a+b")  # held open across batches
            except OSError as e:
                raise SinkError(f"{self.path}: cannot open: {e.strerror}") from None
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                raise SinkError(f"{self.path}: in use by another forwarder") from None
            self._fh = fh
        return self._fh

    def last_delivered(self) -> str | None:
        """Cut a torn final line; the event id of the last complete line (None if unknown)."""
        fh = self._file()
        line = _last_line(fh)
        if not line:
            return None
        try:
            return self._event_id_of(line.decode())
        except UnicodeDecodeError:
            return None

    def send(self, docs: Sequence[Doc]) -> SendResult:
        """Append every document as one line; all are acknowledged once on disk."""
        if not docs:
            return SendResult()
        fh = self._file()
        data = "".join(d.body + "\n" for d in docs).encode("utf-8")
        try:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        except OSError as e:
            raise SinkError(f"{self.path}: write failed: {e.strerror}") from None
        return SendResult(acked=[d.event_id for d in docs])

    def close(self) -> None:
        """Unlock and close the file."""
        if self._fh is not None:
            self._fh.close()  # closing releases the flock
            self._fh = None


def _last_line(fh: BinaryIO) -> bytes:
    """The file's last complete line, after truncating any bytes past the final newline."""
    size = fh.seek(0, os.SEEK_END)
    if size == 0:
        return b""
    tail = b""
    pos = size
    # Read backwards until the tail holds the final newline and the one before it (or BOF).
    while pos > 0:
        step = min(_CHUNK, pos)
        pos -= step
        fh.seek(pos)
        tail = fh.read(step) + tail
        end = tail.rfind(b"\n")
        if end != -1 and tail.rfind(b"\n", 0, end) != -1:
            break
    end = tail.rfind(b"\n")
    if end == -1:
        # No complete line at all: the whole file is one torn write.
        _truncate(fh, 0)
        return b""
    keep = pos + end + 1
    if keep < size:
        # A crash cut the last write short; those lines were never acknowledged.
        _truncate(fh, keep)
    start = tail.rfind(b"\n", 0, end) + 1
    return tail[start:end]


def _truncate(fh: BinaryIO, size: int) -> None:
    fh.truncate(size)
    fh.flush()
    os.fsync(fh.fileno())
