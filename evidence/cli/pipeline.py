"""The pipeline's commands: `init`, `sync`, `detect`, and `demo`, which runs them all."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evidence.cli.exit_codes import handled, sync_exit_code
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
what_if = lazy_module("evidence.detections.what_if")

if TYPE_CHECKING:  # for annotations only: the config loads with the first command
    from evidence.config import Policy


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
    allow_mass_removal: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-mass-removal",
            metavar="SOURCE",
            help="Accept this run's listing of SOURCE even if it closes more than "
            "policy.max_removal_pct or policy.max_removals (repeatable; the run records it).",
        ),
    ] = None,
) -> None:
    """Read the configured sources and commit each observation as one atomic run."""
    cfg = STATE.config()
    if not cfg.sources:
        raise ConfigError("the config names no sources (see [[sources]] in evidence.toml)")
    for name in allow_mass_removal or ():
        cfg.source(name)  # a name the config does not know is a usage error
    with STATE.store() as con:
        outcomes = progress.sync_with_progress(
            con,
            cfg,
            names=None if all_ else source,
            delta=delta,
            allow_mass_removal=tuple(allow_mass_removal or ()),
        )
    for o in outcomes:
        for r in (r for run in o.runs for r in run.mass_removal_allowed):
            typer.echo(
                f"source {o.source}: --allow-mass-removal accepted closing {r.describe()}", err=True
            )
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        typer.echo(visible(f"source {o.source} failed: {o.error}"), err=True)
    if failed:
        raise typer.Exit(sync_exit_code([o.failure for o in failed]))


@handled
def detect(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="What-if: evaluate at this earlier RFC 3339 instant and print the findings; "
            "nothing is recorded.",
        ),
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
    """Run every detection at the store's now and upsert the findings; with --as-of, a
    read-only what-if at that (earlier) instant that prints its findings and records nothing."""
    if fail_on is not None and fail_on not in SEVERITIES:
        raise ConfigError(f"--fail-on: {fail_on!r} is not one of {', '.join(SEVERITIES)}")
    cfg = STATE.config()
    if as_of is not None:
        _what_if(cfg.policy, instant("--as-of", as_of), fail_on, fmt, rematch)
        return
    with STATE.store() as con:
        result = runner.detect(con, cfg.policy, rematch=rematch)  # at the store's now
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


_FINDING_COLUMNS = ["kind", "subkind", "severity", "status", "app", "account", "person_id"]


def _what_if(policy: Policy, at: datetime, fail_on: str | None, fmt: Format, rematch: bool) -> None:
    """`detect --as-of`: the findings at `at`, from a read-only store (no writer lock)."""
    with STATE.store(read_only=True) as con:
        w = what_if.what_if(con, policy, at, rematch=rematch)
    if fmt is Format.table:
        idx = [w.columns.index(c) for c in (*_FINDING_COLUMNS, "explanation")]
        render_rows(
            [*_FINDING_COLUMNS, "explanation"],
            [tuple(r[i] for i in idx) for r in w.rows],
            fmt,
            title=f"What-if: {len(w.rows)} findings at {w.as_of:%Y-%m-%dT%H:%M:%SZ}",
        )
    else:
        render_rows(w.columns, w.rows, fmt, json_columns=("controls", "evidence"))
    changes = ", ".join(
        f"{a} {w.changes.get(f'finding.{a}', 0)}" for a in ("open", "reopen", "resolve", "accept")
    )
    err.print(
        f"what-if at {w.as_of:%Y-%m-%dT%H:%M:%SZ} (the store's now is "
        f"{w.store_now:%Y-%m-%dT%H:%M:%SZ}): nothing recorded; against the findings on record "
        f"a detect then would {changes}",
        markup=False,
        highlight=False,
    )
    if fail_on is not None:
        worse = set(SEVERITIES[SEVERITIES.index(fail_on) :])
        status, severity = w.columns.index("status"), w.columns.index("severity")
        n = sum(1 for r in w.rows if r[status] == "open" and r[severity] in worse)
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
