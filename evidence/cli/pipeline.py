"""The pipeline's commands: `init`, `sync`, `detect`, and `demo`, which runs them all."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evidence.cli.exit_codes import handled
from evidence.cli.lazy import lazy_module
from evidence.cli.output import Format, err, render_rows
from evidence.cli.state import STATE, FormatOpt, instant
from evidence.cli.terminal import visible
from evidence.detections.loader import SEVERITIES
from evidence.errors import ConfigError

__all__ = ["demo", "detect", "init", "sync"]

schema = lazy_module("evidence.store.schema")
progress = lazy_module("evidence.cli.progress")
runner = lazy_module("evidence.detections.runner")
demo_run = lazy_module("evidence.cli.demo")


@handled
def init() -> None:
    """Create the store (or migrate it to this version's schema)."""
    with STATE.store() as con:
        version = schema.current_version(con)
    err.print(f"store ready: {STATE.config().store.path} (schema version {version})")


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
    cfg = STATE.config()
    if not cfg.sources:
        raise ConfigError("the config names no sources (see [[sources]] in evidence.toml)")
    with STATE.store() as con:
        outcomes = progress.sync_with_progress(
            con, cfg, names=None if all_ else source, delta=delta
        )
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        typer.echo(visible(f"source {o.source} failed: {o.error}"), err=True)
    if failed:
        raise typer.Exit(1)


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
    if fail_on is not None and fail_on not in SEVERITIES:
        raise ConfigError(f"--fail-on: {fail_on!r} is not one of {', '.join(SEVERITIES)}")
    cfg = STATE.config()
    with STATE.store() as con:
        result = runner.detect(
            con,
            cfg.policy,
            as_of=instant("--as-of", as_of) if as_of else None,
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
        n = runner.open_at_or_above(con, fail_on) if fail_on is not None else 0
    if n:
        err.print(f"{n} open findings at or above {fail_on}")
        raise typer.Exit(1)


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
    demo_run.run_demo(out, people=people, apps=apps, seed=seed, idp=idp)
