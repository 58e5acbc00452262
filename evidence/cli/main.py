"""The `evidence` command line: thin commands over the library, errors as exit codes.

This module holds the app and its global options; the commands live in modules named for
what they hold (pipeline, forward, listings, bundles) and are registered here in the order
`--help` lists them. Exit codes are in `evidence.cli.exit_codes`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evidence import __version__
from evidence.cli import bundles, forward, listings, pipeline
from evidence.cli.state import STATE, default_config
from evidence.cli.terminal import log_to_stderr

__all__ = ["app"]

app = typer.Typer(
    name="evidence",
    help="Audit and compliance evidence for SaaS user provisioning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scim-evidence {__version__}")
        raise typer.Exit()


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
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Audit and compliance evidence for SaaS user provisioning."""
    log_to_stderr()
    STATE.config_path = config or default_config()
    STATE.db = db
    STATE.wait = wait
    STATE._cfg = None


for command in (
    pipeline.init,
    pipeline.sync,
    pipeline.detect,
    listings.findings,
    forward.forward,
    listings.sql,
    bundles.verify,
    bundles.report,
    pipeline.demo,
):
    app.command()(command)
