"""`evidence demo`: synthetic tenant → DuckDB → detections → NDJSON ECS → SOC 2 PDF."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, timedelta
from pathlib import Path

from rich.table import Table

from connectors.synthetic import generate_tenant
from connectors.synthetic.people import MIN_PEOPLE
from connectors.synthetic.tenant import IDPS, MIN_APPS
from evidence import __version__
from evidence.cli.progress import make_progress, sync_summary_table, sync_with_progress
from evidence.cli.terminal import console
from evidence.config import load_config
from evidence.detections.runner import detect
from evidence.errors import ConfigError, EvidenceError
from evidence.siem.forwarder import forward, streams
from evidence.store.db import store_session
from reports.build import build_reports
from reports.catalog_load import frameworks
from reports.signing import default_key_path, load_signer

__all__ = ["run_demo"]

err = console(stderr=True)
_DEMO_MARKERS = ("truth.json", "evidence.toml", "evidence.duckdb")


def _clear(out: Path) -> None:
    # Replace a previous demo, but never wipe a folder that is not one.
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder")
    if any(out.iterdir()) and not any((out / m).exists() for m in _DEMO_MARKERS):
        raise ConfigError(f"{out}: not empty and not a previous demo folder; choose another --out")
    shutil.rmtree(out)


def _shown(p: Path) -> Path:
    """A path relative to the working folder when it lies below it, else absolute."""
    p = p.resolve()
    try:
        return p.relative_to(Path.cwd())
    except ValueError:
        return p


def run_demo(
    out: Path, *, people: int = 2000, apps: int = 25, seed: int = 7, idp: str = "okta"
) -> None:
    """Generate, sync, detect, forward and report; print a summary and the paths written.
    `idp` is the tenant's identity provider: "okta" or "entra" (Microsoft Entra ID)."""
    # Checked before anything is cleared, as one line (the generator's ValueError would be a
    # traceback).
    if idp not in IDPS:
        raise ConfigError(f"--idp must be one of: {', '.join(IDPS)}")
    if people < MIN_PEOPLE:
        raise ConfigError(f"--people must be at least {MIN_PEOPLE}, not {people}")
    if apps < MIN_APPS:
        raise ConfigError(f"--apps must be at least {MIN_APPS}, not {apps}")
    out = Path(out)
    _clear(out)
    timings: list[tuple[str, str, float]] = []
    progress = make_progress()
    with progress:
        t0 = time.monotonic()
        task = progress.add_task("generate synthetic tenant", total=1)
        info = generate_tenant(out, seed=seed, people=people, apps=apps, idp=idp)
        progress.advance(task)
        timings.append(("generate", f"{people} people, {apps} apps, {idp}", time.monotonic() - t0))

        cfg = load_config(out / "evidence.toml")
        with store_session(cfg.store.path, memory_limit=cfg.store.memory_limit) as con:
            t0 = time.monotonic()
            outcomes = sync_with_progress(con, cfg, progress=progress, show_summary=False)
            failed = [o for o in outcomes if not o.ok]
            if failed:
                raise EvidenceError(f"demo sync failed: {failed[0].source}: {failed[0].error}")
            n_events = sum(r.events_new for o in outcomes for r in o.runs)
            timings.append(
                ("sync", f"{len(outcomes)} sources, {n_events} events", time.monotonic() - t0)
            )

            t0 = time.monotonic()
            task = progress.add_task("detect", total=1)
            result = detect(con, cfg.policy)
            progress.advance(task)
            n_found = sum(result.counts.values())
            timings.append(("detect", f"{n_found} findings", time.monotonic() - t0))

            t0 = time.monotonic()
            task = progress.add_task("forward to NDJSON (ECS)", total=None)
            sink = cfg.sink("file")
            sent = {stream: forward(con, sink, stream=stream).sent for stream in streams(sink)}
            progress.update(task, total=1, completed=1)
            timings.append(
                (
                    "forward",
                    f"{sent['events']} events, {sent.get('assets', 0)} account versions",
                    time.monotonic() - t0,
                )
            )

            t0 = time.monotonic()
            names = frameworks()
            task = progress.add_task(f"render {', '.join(names)} reports", total=1)
            # The year ending with the day of the tenant's snapshot, that day included: the sync
            # and detect run at the snapshot instant fall inside the half-open period.
            snapshot_day = info.as_of.astimezone(UTC).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            end = snapshot_day + timedelta(days=1)
            start = end - timedelta(days=365)
            signer = load_signer(default_key_path(cfg.store.path), create=True)
            reps = build_reports(
                con,
                names,
                start,
                end,
                out / "reports",
                tool_version=__version__,
                policy=cfg.policy,
                sources=cfg.sources,
                organisation=cfg.reports.organisation or "Demo Corp (synthetic tenant)",
                signer=signer,
            )
            progress.advance(task)
            timings.append(("report", ", ".join(r.pdf.name for r in reps), time.monotonic() - t0))

    err.print(sync_summary_table(outcomes))
    t = Table(title="demo")
    t.add_column("stage")
    t.add_column("result")
    t.add_column("seconds", justify="right")
    for stage, what, secs in timings:
        t.add_row(stage, what, f"{secs:.1f}")
    t.add_row("total", "", f"{sum(s for _, _, s in timings):.1f}")
    err.print(t)
    f = Table(title="findings")
    f.add_column("kind/subkind")
    f.add_column("count", justify="right")
    for k, n in sorted(result.counts.items()):
        f.add_row(k, str(n))
    err.print(f)
    err.print("wrote:")
    for p in (
        out / "evidence.toml",
        out / "sources",
        out / "truth.json",
        cfg.store.path,
        sink.path,
        *(r.pdf for r in reps),
    ):
        err.print(f"  {_shown(Path(p))}")
