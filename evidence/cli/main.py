"""The `evidence` command line: thin commands over the library, errors as exit codes.

Exit codes: 0 ok; 1 the command ran and found a failure it was asked to report (a source
failed, verification failed, findings at or above --fail-on, store busy); 2 usage or input
error, with a one-line message naming the file, record and field.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from evidence.cli.output import Format, render_rows
from evidence.config import Config, load_config, parse_instant
from evidence.errors import (
    ConfigError,
    EvidenceError,
    InputError,
    ReadOnlyViolation,
    StoreBusy,
    StoreError,
)

__all__ = ["app"]

app = typer.Typer(
    name="evidence",
    help="Audit and compliance evidence for SaaS user provisioning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])

FormatOpt = Annotated[Format, typer.Option("--format", help="table, json or csv.")]


@dataclass
class State:
    config_path: Path | None = None
    db: Path | None = None
    wait: float = 30.0
    _cfg: Config | None = None

    def config(self) -> Config:
        if self._cfg is None:
            self._cfg = load_config(self.config_path)
            if self.db is not None:
                self._cfg.store.path = self.db
        return self._cfg

    def open(self, *, read_only: bool = False):  # noqa: ANN201 - duckdb connection
        from evidence.store.db import open_store

        store = self.config().store
        return open_store(
            store.path, read_only=read_only, wait=self.wait, memory_limit=store.memory_limit
        )


STATE = State()


def _exit_code(e: EvidenceError) -> int:
    if isinstance(e, StoreBusy):
        return 1
    if isinstance(e, ConfigError | InputError | ReadOnlyViolation | StoreError):
        return 2
    return 1


def handled(fn: F) -> F:
    """Turn the library's errors into one line on stderr and the documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EvidenceError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(_exit_code(e)) from None

    return wrapper  # type: ignore[return-value]


def _instant(option: str, value: str) -> datetime:
    try:
        return parse_instant(value)
    except ValueError:
        raise ConfigError(f"{option}: {value!r} is not an RFC 3339 instant or a date") from None


def _default_config() -> Path | None:
    env = os.environ.get("EVIDENCE_CONFIG")
    if env:
        return Path(env)
    local = Path("evidence.toml")
    return local if local.exists() else None


@app.callback()
def main(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Config file (default: $EVIDENCE_CONFIG, ./evidence.toml)."),
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="Store path, overriding the config.")
    ] = None,
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait for a busy store before giving up.")
    ] = 30.0,
) -> None:
    """Audit and compliance evidence for SaaS user provisioning."""
    STATE.config_path = config or _default_config()
    STATE.db = db
    STATE.wait = wait
    STATE._cfg = None


@app.command()
@handled
def init() -> None:
    """Create the store (or migrate it to this version's schema)."""
    from evidence.store.schema import current_version

    con = STATE.open()
    try:
        version = current_version(con)
    finally:
        con.close()
    err.print(f"store ready: {STATE.config().store.path} (schema version {version})")


@app.command()
@handled
def sync(
    source: Annotated[
        list[str] | None, typer.Option("--source", help="Source name (repeatable).")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every source of the config.")] = False,
    delta: Annotated[
        bool, typer.Option("--delta", help="Incremental listing where the server supports it.")
    ] = False,
) -> None:
    """Read the configured sources and commit each observation as one atomic run."""
    from evidence.cli.progress import sync_with_progress

    cfg = STATE.config()
    if not cfg.sources:
        raise ConfigError("the config names no sources (see [[sources]] in evidence.toml)")
    con = STATE.open()
    try:
        outcomes = sync_with_progress(con, cfg, names=None if all_ else source, delta=delta)
    finally:
        con.close()
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        typer.echo(f"source {o.source} failed: {o.error}", err=True)
    if failed:
        raise typer.Exit(1)


@app.command()
@handled
def detect(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Evaluate at this RFC 3339 instant.")
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option("--fail-on", help="Exit 1 when open findings reach this severity."),
    ] = None,
    rematch: Annotated[
        bool,
        typer.Option(
            "--rematch",
            help="Re-match every account's owner (normally only accounts whose inputs changed "
            "since the last detect are).",
        ),
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Run every detection and upsert the findings."""
    from evidence.detections.loader import SEVERITIES
    from evidence.detections.runner import detect as run_detect

    if fail_on is not None and fail_on not in SEVERITIES:
        raise ConfigError(f"--fail-on: {fail_on!r} is not one of {', '.join(SEVERITIES)}")
    cfg = STATE.config()
    con = STATE.open()
    try:
        result = run_detect(
            con,
            cfg.policy,
            as_of=_instant("--as-of", as_of) if as_of else None,
            rematch=rematch,
        )
        rows = [(k.split("/")[0], k.split("/")[1], n) for k, n in sorted(result.counts.items())]
        render_rows(
            ["kind", "subkind", "findings"],
            rows,
            fmt,
            title=f"Findings at {result.as_of:%Y-%m-%dT%H:%M:%SZ}",
        )
        err.print(
            f"detect run {result.run_id}: {result.rematched} accounts matched, "
            f"{result.opened} opened, {result.reopened} reopened, "
            f"{result.resolved} resolved, {result.accepted} accepted"
        )
        if fail_on is not None:
            rank = SEVERITIES.index(fail_on)
            worse = [s for s in SEVERITIES if SEVERITIES.index(s) >= rank]
            n = con.execute(
                "SELECT count(*) FROM findings WHERE status = 'open' "
                "AND severity IN (SELECT unnest($s))",
                {"s": worse},
            ).fetchall()[0][0]
            if n:
                err.print(f"{n} open findings at or above {fail_on}")
                raise typer.Exit(1)
    finally:
        con.close()


@app.command()
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
    from evidence.queries import list_findings

    con = STATE.open(read_only=True)
    try:
        cols, rows = list_findings(
            con, kind=kind, app=app_, severity=severity, person=person, status=status
        )
    finally:
        con.close()
    if fmt is Format.table:
        keep = [
            "kind",
            "subkind",
            "severity",
            "status",
            "app",
            "account",
            "person_id",
            "explanation",
        ]
        idx = [cols.index(c) for c in keep]
        render_rows(
            keep, [tuple(r[i] for i in idx) for r in rows], fmt, title=f"{len(rows)} findings"
        )
    else:
        render_rows(cols, rows, fmt, json_columns=("controls", "evidence"))


@app.command()
@handled
def forward(
    to: Annotated[str | None, typer.Option("--to", help="Sink name (default: the first).")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep forwarding as new runs land.")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between polls (--follow).")
    ] = 5.0,
) -> None:
    """Send events, finding changes and account versions (assets) to a SIEM sink, exactly once.

    With --follow it polls every --interval seconds until Ctrl-C (or SIGTERM); a sink or
    store that is unavailable for one poll is reported and tried again at the next.
    """
    import signal
    import time

    from evidence.errors import SinkError
    from evidence.siem.forwarder import forward as run_forward
    from evidence.siem.forwarder import streams

    cfg = STATE.config()
    if not cfg.sinks:
        raise ConfigError("the config names no sinks (see [[sinks]] in evidence.toml)")
    sink = cfg.sink(to) if to else cfg.sinks[0]
    # A service manager stops a follower with SIGTERM: end like Ctrl-C, between transactions.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler) if follow else None
    first = True
    try:
        while True:
            try:
                # Opened per poll, so syncs and detects can take the store in between.
                con = STATE.open()
                try:
                    for stream in streams(sink):
                        result = run_forward(con, sink, stream=stream)
                        if first or result.sent or result.dead or result.skipped:
                            skipped = (
                                f" (skipped {result.skipped} already held)"
                                if result.skipped
                                else ""
                            )
                            err.print(
                                f"{sink.name}: {stream} sent {result.sent}{skipped}, "
                                f"dead-lettered {result.dead}, cursor at {result.last_seq}"
                            )
                finally:
                    con.close()
            except (SinkError, StoreBusy) as e:
                if not follow:
                    raise
                err.print(f"error: {e}; retrying in {interval:g} s")
            else:
                first = False
            if not follow:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        if not follow:
            raise
        err.print(f"{sink.name}: stopped")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


@app.command()
@handled
def sql(
    query: Annotated[str | None, typer.Argument(help="SQL to run (read-only).")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Query the store with read-only SQL; writes, ATTACH, COPY, INSTALL and LOAD are refused."""
    from evidence.queries import read_only_sql

    con = STATE.open(read_only=True)
    try:
        if query is None:
            _interactive(con, fmt)
            return
        cols, rows = read_only_sql(con, query)
    except EvidenceError:
        raise
    except Exception as e:  # a DuckDB parse or binder error in the analyst's query
        raise InputError("query", None, None, str(e).splitlines()[0]) from None
    finally:
        con.close()
    render_rows(cols, rows, fmt)


def _interactive(con: Any, fmt: Format) -> None:
    from evidence.queries import read_only_sql

    err.print("read-only SQL; end a statement with ';', quit with Ctrl-D")
    buf = ""
    for line in sys.stdin:
        buf += line
        if buf.rstrip().endswith(";"):
            try:
                cols, rows = read_only_sql(con, buf)
                render_rows(cols, rows, fmt)
            except Exception as e:  # keep the session alive on a bad query
                err.print(f"[red]error:[/red] {str(e).splitlines()[0]}", highlight=False)
            buf = ""


@app.command()
@handled
def verify(
    bundle: Annotated[
        Path | None, typer.Argument(help="Evidence bundle to check: its folder or its .zip.")
    ] = None,
    key: Annotated[
        Path | None, typer.Option("--key", help="The signer's public key (PEM) it must carry.")
    ] = None,
    fingerprint: Annotated[
        str | None, typer.Option("--fingerprint", help="The signer's fingerprint it must carry.")
    ] = None,
    store: Annotated[
        bool,
        typer.Option(
            "--store",
            help="Without BUNDLE: re-compute the store's event hashes and digest chain. With "
            "BUNDLE: also check its sync runs against the store.",
        ),
    ] = False,
) -> None:
    """Check an evidence bundle offline (hashes, signatures, samples), or the store (--store)."""
    if bundle is None:
        if not store:
            raise ConfigError("verify: name a BUNDLE (folder or .zip), or --store")
        from evidence.store.verify import verify_store

        con = STATE.open(read_only=True)
        try:
            report = verify_store(con)
        finally:
            con.close()
        for line in report.lines:
            typer.echo(line)
        if not report.ok:
            raise typer.Exit(1)
        return
    if key is not None and fingerprint is not None:
        raise ConfigError("verify: give --key or --fingerprint, not both")
    from reports.verify import VerifyError, verify_bundle

    con = STATE.open(read_only=True) if store else None
    try:
        for line in verify_bundle(bundle, key=key, fingerprint=fingerprint, store=con):
            typer.echo(line)
    except VerifyError as e:
        typer.echo(f"FAILED {e}")
        raise typer.Exit(1) from None
    finally:
        if con is not None:
            con.close()


@app.command()
@handled
def report(
    framework: Annotated[
        str, typer.Argument(help="soc2, iso27001, hipaa, or all (one bundle each).")
    ],
    from_: Annotated[str, typer.Option("--from", help="First day of the period.")],
    to: Annotated[str, typer.Option("--to", help="Last day of the period (inclusive).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the bundles.")],
    seed: Annotated[int | None, typer.Option("--seed", help="Sample seed.")] = None,
) -> None:
    """Write each framework's evidence bundle (PDF, populations, samples, queries, manifest)."""
    from datetime import timedelta

    from evidence import __version__
    from reports.build import build_reports
    from reports.catalog_load import frameworks
    from reports.signing import default_key_path, load_signer

    known = frameworks()
    if framework != "all" and framework not in known:
        raise ConfigError(
            f"report {framework!r}: unknown framework (one of {', '.join(known)}, all)"
        )
    names = known if framework == "all" else [framework]
    start = _instant("--from", from_)
    end = _instant("--to", to) + timedelta(days=1)
    cfg = STATE.config()
    key_file = cfg.reports.signing_key_file
    key_path = key_file or default_key_path(cfg.store.path)
    if key_file is None and not key_path.exists():
        err.print(f"creating the report signing key {key_path} (mode 0600); keep it safe")
    signer = load_signer(key_path, create=key_file is None)
    con = STATE.open(read_only=True)
    try:
        results = build_reports(
            con,
            names,
            start,
            end,
            out,
            seed=seed,
            tool_version=__version__,
            policy=cfg.policy,
            sources=cfg.sources,
            organisation=cfg.reports.organisation,
            signer=signer,
        )
    finally:
        con.close()
    for r in results:
        typer.echo(str(r.bundle))


@app.command()
@handled
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder to (re)create.")] = Path("demo-out"),
    people: Annotated[int, typer.Option("--people", help="People in the tenant.")] = 2000,
    apps: Annotated[int, typer.Option("--apps", help="Apps in the tenant.")] = 25,
    seed: Annotated[int, typer.Option("--seed", help="Tenant seed.")] = 7,
    idp: Annotated[
        str,
        typer.Option(
            "--idp", help="The tenant's identity provider: okta, or entra (Microsoft Entra ID)."
        ),
    ] = "okta",
) -> None:
    """Generate a synthetic tenant and run the whole pipeline on it."""
    from evidence.cli.demo import run_demo

    run_demo(out, people=people, apps=apps, seed=seed, idp=idp)
