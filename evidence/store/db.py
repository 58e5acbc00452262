"""Opening the DuckDB store: one writer or many readers, waiting politely when it is busy."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from evidence.errors import StoreBusy, StoreError
from evidence.store.schema import SCHEMA_VERSION, current_version, migrate

__all__ = ["holder", "open_store", "say_waiting", "store_session"]

# DuckDB: 'Conflicting lock is held in <executable> (PID <n>)[ by user <u>]. See also <url>'.
# The executable is a path with dots in it, so the PID, not the first dot, ends it.
_LOCK_PID_RE = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")
_LOCK_RE = re.compile(r"Conflicting lock is held in (.+?)\.?(?:\s+See also |\s*$)")
# Our global options that take a value: skipped to find the command (`evidence --db X sync`).
_VALUED = frozenset({"--config", "--db", "--wait"})
_PYTHON_VALUED = frozenset({"-W", "-X", "--check-hash-based-pycs"})


def _visible(text: str, limit: int = 120) -> str:
    """A command line's words as one printable line: never a control character or markup."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _program(pid: int) -> str | None:
    """The program of a PID as a user would name it ("evidence sync", "python -c",
    "duckdb"), from /proc/<pid>/cmdline; only program and command, never an argument
    (arguments can carry paths or secrets). None when the process cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    argv = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
    if not argv:
        return None
    prog, rest = os.path.basename(argv[0]), argv[1:]
    if prog.startswith("python"):
        prog, rest = _python_program(prog, rest)
    if prog in ("evidence", "evidence.cli.main", "evidence.cli"):
        prog = "evidence"
        it = iter(rest)
        for a in it:
            if a in _VALUED:
                next(it, None)
            elif not a.startswith("-"):
                prog += f" {a}"
                break
    return _visible(prog)


def _python_program(interp: str, args: list[str]) -> tuple[str, list[str]]:
    """The script or module a Python interpreter runs, and the arguments after it."""
    it = iter(args)
    for a in it:
        if a == "-m":
            return next(it, interp), list(it)
        if a.startswith("-m") and len(a) > 2:
            return a[2:], list(it)
        if a == "-c" or a.startswith("-c"):
            return f"{interp} -c", []
        if a in _PYTHON_VALUED:
            next(it, None)
        elif a == "-" or not a.startswith("-"):
            return (os.path.basename(a) if a != "-" else interp), list(it)
    return interp, []


def holder(message: str) -> str:
    """Who holds the store, from DuckDB's lock error: "evidence sync, PID 1234" (the
    program read from /proc when DuckDB gives a PID, else the executable DuckDB names)."""
    m = _LOCK_PID_RE.search(message)
    if m:
        exe, pid = m.group(1).strip(), int(m.group(2))
        return f"{_program(pid) or _visible(exe)}, PID {pid}"
    m = _LOCK_RE.search(message)
    return _visible(m.group(1).strip()) if m else "another process"


def say_waiting(line: str) -> None:
    """Tell the user, on stderr, why nothing is happening yet."""
    print(line, file=sys.stderr, flush=True)


def open_store(
    path: Path,
    *,
    read_only: bool = False,
    wait: float = 30.0,
    memory_limit: str = "3GB",
    on_wait: Callable[[str], None] | None = say_waiting,
) -> duckdb.DuckDBPyConnection:
    """Open (and, read-write, create and migrate) the store at `path`.

    Waits up to `wait` seconds for another process's lock, then raises StoreBusy naming the
    holder. When it has to wait, `on_wait` hears once who for (stderr by default).
    `memory_limit` caps DuckDB's buffers (it spills past it), `[store] memory_limit`.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(f"{path}: no store here (run `evidence sync` or `evidence init` first)")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + max(wait, 0.0)
    delay = 0.05
    told = False
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as e:
            msg = str(e)
            if "lock" not in msg.lower():
                raise StoreError(f"{path}: cannot open store: {msg.splitlines()[0]}") from None
            if time.monotonic() >= deadline:
                waited = f" (waited {wait:g} s)" if wait > 0 else ""
                raise StoreBusy(f"store busy: held by {holder(msg)}{waited}") from None
            if not told and on_wait is not None:
                on_wait(f"waiting for the store (held by {holder(msg)}) up to {wait:g} s")
            told = True
            time.sleep(min(delay, max(deadline - time.monotonic(), 0.0)))
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
    path: Path,
    *,
    read_only: bool = False,
    wait: float = 30.0,
    memory_limit: str = "3GB",
    on_wait: Callable[[str], None] | None = say_waiting,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """`open_store` for a `with` block: the connection is closed however the block ends."""
    con = open_store(
        path, read_only=read_only, wait=wait, memory_limit=memory_limit, on_wait=on_wait
    )
    try:
        yield con
    finally:
        con.close()
