"""`evidence forward`: events, finding changes and assets to a SIEM sink, once or following."""

from __future__ import annotations

import signal
import threading
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from evidence.cli.exit_codes import handled
from evidence.cli.lazy import lazy_module
from evidence.cli.output import err
from evidence.cli.state import STATE
from evidence.cli.terminal import visible
from evidence.errors import ConfigError, SinkError, StoreBusy

if TYPE_CHECKING:  # for annotations only: the forwarder loads with the command
    from evidence.siem.forwarder import ForwardResult

__all__ = ["forward"]

forwarder = lazy_module("evidence.siem.forwarder")


def _report(sink: str, stream: str, result: ForwardResult) -> None:
    skipped = f" (skipped {result.skipped} already held)" if result.skipped else ""
    err.print(
        f"{sink}: {stream} sent {result.sent}{skipped}, "
        f"dead-lettered {result.dead}, cursor at {result.last_seq}"
    )


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
    cfg = STATE.config()
    if not cfg.sinks:
        raise ConfigError("the config names no sinks (see [[sinks]] in evidence.toml)")
    sink = cfg.sink(to) if to else cfg.sinks[0]
    report = partial(_report, sink.name)
    if not follow:
        with STATE.store() as con:
            for stream, result in forwarder.forward_streams(con, sink):
                report(stream, result)
        return

    def retrying(e: SinkError | StoreBusy) -> None:
        err.print(visible(f"error: {e}; retrying in {interval:g} s"))

    # Ctrl-C, or SIGTERM from a service manager, ends the follower between transactions. The
    # signal also sets a flag: DuckDB can swallow a KeyboardInterrupt that lands inside a query
    # it then finishes (seen in the outage soak), and the flag still stops the next sleep.
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()
        raise KeyboardInterrupt

    def sleep(seconds: float) -> None:
        if stop.wait(seconds):
            raise KeyboardInterrupt

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        forwarder.follow(
            STATE.store, sink, interval=interval, on_result=report, on_error=retrying, sleep=sleep
        )
    except KeyboardInterrupt:
        err.print(f"{sink.name}: stopped")
    except RuntimeError as e:
        # The signal landed inside a DuckDB query, which DuckDB ends as "Query interrupted";
        # its transaction rolls back, so this is the same clean stop.
        if str(e) != "Query interrupted":
            raise
        err.print(f"{sink.name}: stopped")
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
