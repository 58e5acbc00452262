"""SQL files: the one loader and the one runner every `.sql` file of the project goes through.

A file names another file's block with a line `-- include: <file> <block>`: the loader puts
the lines from `-- shared: <block>` to `-- end shared: <block>` of that file (both included)
right after the include line, so the text as loaded runs as it stands and prints as it ran.
Include-blocks are the one way SQL is composed; no caller splices text into a query.

`<file>` is a file name in the including file's folder, or `package:path` for a file
elsewhere (`evidence.detections:sla_deprovision_late.sql`). A bare name that is not in the
including folder is looked up in evidence/detections, where most shared judgements live.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from evidence.errors import EvidenceError

if TYPE_CHECKING:  # the loader is used where DuckDB is not loaded yet (`evidence --help`)
    import duckdb

__all__ = ["SqlFileError", "load_sql", "run_sql", "sql_parameters", "sql_statements"]

_INCLUDE_RE = re.compile(r"^-- include: ([a-z0-9_.]+:)?([a-z0-9_/]+\.sql) ([a-z0-9_]+)\n", re.M)
_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_STMT_SPLIT = re.compile(r";\s*\n")
# Where a bare include name is looked up when the including folder does not hold it.
_FALLBACK = "evidence.detections"


class SqlFileError(EvidenceError):
    """A .sql file is missing, or an include names a file or block that does not exist."""


def load_sql(package: str, name: str) -> str:
    """The text of `name` (a path under `package`) with its include-blocks filled in."""
    return _load(package, name)


@lru_cache(maxsize=512)
def _load(package: str, name: str) -> str:
    path = resources.files(package).joinpath(name)
    if not path.is_file():
        raise SqlFileError(f"{package}:{name}: no such SQL file")
    text = path.read_bytes().decode("utf-8")
    folder = name.rpartition("/")[0]
    return _INCLUDE_RE.sub(
        lambda m: m.group(0) + _block(package, folder, name, m.group(1), m.group(2), m.group(3)),
        text,
    )


def _block(package: str, folder: str, name: str, pkg: str | None, file: str, block: str) -> str:
    where = f"{package}:{name}"
    if pkg:
        target_pkg, target = pkg[:-1], file
    else:
        target_pkg, target = package, f"{folder}/{file}" if folder else file
        own = target == name or not resources.files(package).joinpath(target).is_file()
        if own:
            target_pkg, target = _FALLBACK, file
    path = resources.files(target_pkg).joinpath(target)
    if not path.is_file():
        raise SqlFileError(f"{where}: includes {file}, no such file")
    text = path.read_text(encoding="utf-8")
    begin, end = f"-- shared: {block}\n", f"-- end shared: {block}\n"
    start = text.find(begin)
    stop = text.find(end, start + 1) if start >= 0 else -1
    if start < 0 or stop < 0 or (start > 0 and text[start - 1] != "\n"):
        raise SqlFileError(f"{where}: {file} has no shared block {block!r}")
    return text[start : stop + len(end)]


def sql_statements(sql: str) -> list[str]:
    """The statements of a script (split at `;` before a line end), comment-only ones dropped."""
    return [
        s
        for s in _STMT_SPLIT.split(sql)
        if any(ln.strip() and not ln.strip().startswith("--") for ln in s.splitlines())
    ]


def sql_parameters(sql: str) -> tuple[str, ...]:
    """The $names a statement uses, in order of first use."""
    return tuple(dict.fromkeys(_PARAM_RE.findall(sql)))


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> list[tuple]:
    """Execute the statements of `sql` with the `params` each names; rows of the last one.

    DuckDB refuses parameters a statement does not use, so each gets only its own.
    """
    rows: list[tuple] = []
    params = params or {}
    for stmt in sql_statements(sql):
        used = set(_PARAM_RE.findall(stmt))
        rows = con.execute(stmt, {k: v for k, v in params.items() if k in used}).fetchall()
    return rows
