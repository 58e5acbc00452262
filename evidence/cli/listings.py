"""The analysts' listings: `findings` and read-only `sql` (one query, or a session on stdin)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from evidence.cli.exit_codes import handled
from evidence.cli.lazy import lazy_module
from evidence.cli.output import Format, err, render_rows
from evidence.cli.state import STATE, FormatOpt
from evidence.cli.terminal import visible
from evidence.detections import loader
from evidence.detections.loader import SEVERITIES
from evidence.errors import ConfigError, EvidenceError, InputError

if TYPE_CHECKING:  # for annotations only: DuckDB loads with the first command that opens it
    import duckdb

__all__ = ["findings", "sql"]

queries = lazy_module("evidence.queries")

# The columns a findings table shows; json and csv carry every column.
_FINDING_COLUMNS = [
    "kind",
    "subkind",
    "severity",
    "status",
    "app",
    "account",
    "person_id",
    "explanation",
]


_STATUSES = ("open", "accepted", "resolved", "all")


def _choice(option: str, value: str | None, allowed: Sequence[str]) -> str | None:
    """`value` in lower case when it names one of `allowed`; a usage error otherwise, so that a
    typo is not answered with "0 findings"."""
    if value is None:
        return None
    if value.lower() not in allowed:
        raise ConfigError(f"{option}: {value!r} is not one of {', '.join(allowed)}")
    return value.lower()


@handled
def findings(
    kind: Annotated[str | None, typer.Option("--kind", help="Finding kind, e.g. orphan.")] = None,
    app_: Annotated[str | None, typer.Option("--app", help="App name.")] = None,
    severity: Annotated[str | None, typer.Option("--severity", help="low..critical.")] = None,
    person: Annotated[str | None, typer.Option("--person", help="Person id.")] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="open, accepted, resolved or all (default: open+accepted)."),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """List findings."""
    kind = _choice("--kind", kind, sorted({d.kind for d in loader.load_detections()}))
    severity = _choice("--severity", severity, SEVERITIES)
    status = _choice("--status", status, _STATUSES)
    with STATE.store(read_only=True) as con:
        cols, rows = queries.list_findings(
            con, kind=kind, app=app_, severity=severity, person=person, status=status
        )
    if fmt is Format.table:
        idx = [cols.index(c) for c in _FINDING_COLUMNS]
        render_rows(
            _FINDING_COLUMNS,
            [tuple(r[i] for i in idx) for r in rows],
            fmt,
            title=f"{len(rows)} findings",
        )
    else:
        render_rows(cols, rows, fmt, json_columns=("controls", "evidence"))


@handled
def sql(
    query: Annotated[str | None, typer.Argument(help="SQL to run (read-only).")] = None,
    fmt: FormatOpt = Format.table,
    allow_files: Annotated[
        bool,
        typer.Option(
            "--allow-files", help="Let the query read local files (never http:// or s3://)."
        ),
    ] = False,
) -> None:
    """Query the store with read-only SQL; writes, ATTACH, COPY, INSTALL and LOAD are refused.

    The session is offline: no extension is installed or loaded, no URL is read, and local
    files only with --allow-files; then its configuration is locked."""
    with STATE.store(read_only=True) as con:
        queries.lock_down(con, allow_files=allow_files)
        try:
            if query is None:
                _interactive(con, fmt)
                return
            cols, rows = queries.read_only_sql(con, query)
        except EvidenceError:
            raise
        except Exception as e:  # a DuckDB parse or binder error in the analyst's query
            raise InputError("query", None, None, _query_problem(e, allow_files)) from None
    render_rows(cols, rows, fmt)


def _query_problem(e: Exception, allow_files: bool) -> str:
    problem = str(e).splitlines()[0]
    if "://" in problem and ("disabled" in problem or "httpfs" in problem):
        return f"{problem} (`evidence sql` never reads URLs)"
    if "Permission Error" in problem and not allow_files:
        return f"{problem} (--allow-files reads local files)"
    return problem


def _interactive(con: duckdb.DuckDBPyConnection, fmt: Format) -> None:
    err.print("read-only SQL; end a statement with ';', quit with Ctrl-D")
    buf = ""
    for line in sys.stdin:
        buf += line
        if buf.rstrip().endswith(";"):
            try:
                cols, rows = queries.read_only_sql(con, buf)
                render_rows(cols, rows, fmt)
            except Exception as e:  # keep the session alive on a bad query
                err.print(f"error: {visible(str(e).splitlines()[0])}")
            buf = ""
