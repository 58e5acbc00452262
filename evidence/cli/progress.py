"""Progress bars (on stderr) and summary rows around the sync stage."""

from __future__ import annotations

import time
from typing import Any

import duckdb
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from evidence.cli.terminal import cell, console, visible
from evidence.config import Config, SourceConfig
from evidence.store.load import RunResult
from evidence.sync import SourceOutcome, sync_sources

__all__ = ["sync_with_progress", "make_progress", "sync_summary_table"]

err = console(stderr=True)


def make_progress() -> Progress:
    """The progress display every stage uses (stderr, so stdout stays data)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def sync_summary_table(outcomes: list[SourceOutcome]) -> Table:
    """One row per source: runs, rows opened/closed, events, pages, status."""
    t = Table(title="sync")
    for c in ("source", "kind", "runs", "opened", "closed", "events new", "pages", "status"):
        t.add_column(
            c,
            justify="right" if c in {"runs", "opened", "closed", "events new", "pages"} else "left",
        )
    for o in outcomes:
        opened = sum(sum(r.opened.values()) for r in o.runs)
        closed = sum(sum(r.closed.values()) for r in o.runs)
        events = sum(r.events_new for r in o.runs)
        pages = sum(r.pages for r in o.runs)
        status = "ok" if o.ok else f"FAILED: {o.error}"
        if o.ok and o.skipped:
            status = f"ok ({o.skipped} older observations skipped)"
        t.add_row(
            *map(cell, (o.source, o.kind, len(o.runs), opened, closed, events, pages, status))
        )
    return t


def sync_with_progress(
    con: duckdb.DuckDBPyConnection,
    cfg: Config,
    *,
    names: list[str] | None = None,
    delta: bool = False,
    progress: Progress | None = None,
    show_summary: bool = True,
    allow_mass_removal: tuple[str, ...] = (),
) -> list[SourceOutcome]:
    """Sync with a bar over sources and a summary table at the end."""
    own = progress is None
    progress = progress or make_progress()
    total = len(names) if names else len(cfg.sources)
    started = time.monotonic()
    with progress if own else _nullcontext():
        task = progress.add_task("sync", total=total)

        def on_source(src: SourceConfig) -> None:
            progress.update(task, description=visible(f"sync {src.name} ({src.kind})"))

        def on_run(src: SourceConfig, run: RunResult) -> None:
            records = sum(run.opened.values()) + run.events_new
            text = f"sync {src.name}: run {run.run_id} committed, {records} records"
            progress.update(task, description=visible(text))

        http_task = None

        def on_stats(stats: Any) -> None:
            # Live sources: requests (pages), retries and rate-limit waits as they happen.
            nonlocal http_task
            text = (
                f"  http: {stats.requests} requests, {stats.retries} retries, "
                f"{stats.rate_limit_waits} rate-limit waits ({stats.waited_s:.1f}s)"
            )
            if http_task is None:
                http_task = progress.add_task(text, total=None)
            progress.update(http_task, description=text, completed=stats.requests)

        outcomes: list[SourceOutcome] = []
        names_list = names or [s.name for s in cfg.sources]
        for name in names_list:
            outcomes += sync_sources(
                con,
                cfg,
                names=[name],
                mode="delta" if delta else "full",
                on_source=on_source,
                on_run=on_run,
                on_stats=on_stats,
                allow_mass_removal=allow_mass_removal,
            )
            progress.advance(task)
        progress.update(
            task, description=f"sync: {len(outcomes)} sources in {time.monotonic() - started:.1f}s"
        )
    if show_summary:
        err.print(sync_summary_table(outcomes))
    return outcomes


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None
