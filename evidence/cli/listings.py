"""The analysts' listings: `findings` and read-only `sql` (one query, or a session on stdin)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from evidence.cli.exit_codes import handled
from evidence.cli.lazy import lazy_module
from evidence.cli.output import Format, err, render_rows
from evidence.cli.state import STATE, FormatOpt
from evidence.errors import EvidenceError, InputError

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
) -> None:
    """Query the store with read-only SQL; writes, ATTACH, COPY, INSTALL and LOAD are refused."""
    with STATE.store(read_only=True) as con:
        try:
            if query is None:
                _interactive(con, fmt)
                return
            cols, rows = queries.read_only_sql(con, query)
        except EvidenceError:
            raise
        except Exception as e:  # a DuckDB parse or binder error in the analyst's query
            raise InputError("query", None, None, str(e).splitlines()[0]) from None
    render_rows(cols, rows, fmt)


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
                err.print(f"[red]error:[/red] {str(e).splitlines()[0]}", highlight=False)
            buf = ""
