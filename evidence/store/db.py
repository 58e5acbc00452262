"""Opening the DuckDB store: one writer or many readers, waiting politely when it is busy."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from evidence.errors import StoreBusy, StoreError
from evidence.store.schema import SCHEMA_VERSION, current_version, migrate

__all__ = ["open_store", "store_session"]

_LOCK_RE = re.compile(r"Conflicting lock is held in (.*?)(?: \(PID (\d+)\))?(?:\.|$)", re.S)


def _holder(message: str) -> str:
    m = _LOCK_RE.search(message)
    if not m:
        return "another process"
    return f"{m.group(1).strip()} (PID {m.group(2)})" if m.group(2) else m.group(1).strip()


def open_store(
    path: Path, *, read_only: bool = False, wait: float = 30.0, memory_limit: str = "3GB"
) -> duckdb.DuckDBPyConnection:
    """Open (and, read-write, create and migrate) the store at `path`.

    Waits up to `wait` seconds for another process's lock, then raises StoreBusy.
    `memory_limit` caps DuckDB's buffers (it spills past it), `[store] memory_limit`.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(f"{path}: no store here (run `evidence sync` or `evidence init` first)")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + max(wait, 0.0)
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as e:
            msg = str(e)
            if "lock" not in msg.lower():
                raise StoreError(f"{path}: cannot open store: {msg.splitlines()[0]}") from None
            if time.monotonic() >= deadline:
                raise StoreBusy(f"store busy: {_holder(msg)}") from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # stderr belongs to our own progress bars
    try:
        con.execute("SET memory_limit = $m", {"m": memory_limit})
    except duckdb.Error as e:
        con.close()
        raise StoreError(
            f"[store] memory_limit {memory_limit!r}: {str(e).splitlines()[0]}"
        ) from None
    if read_only:
        if current_version(con) < SCHEMA_VERSION:
            con.close()
            raise StoreError(f"{path}: store schema is older than this tool; run a sync first")
    else:
        migrate(con)
    return con


@contextmanager
def store_session(
    path: Path, *, read_only: bool = False, wait: float = 30.0, memory_limit: str = "3GB"
) -> Iterator[duckdb.DuckDBPyConnection]:
    """`open_store` for a `with` block: the connection is closed however the block ends."""
    con = open_store(path, read_only=read_only, wait=wait, memory_limit=memory_limit)
    try:
        yield con
    finally:
        con.close()
