"""Evidence for auditors: `report` writes the signed bundles, `verify` checks one (or the store)."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from evidence import __version__
from evidence.cli.exit_codes import handled
from evidence.cli.lazy import lazy_module
from evidence.cli.output import err
from evidence.cli.state import STATE, instant
from evidence.cli.terminal import visible
from evidence.errors import ConfigError

__all__ = ["report", "verify"]

# The reports load WeasyPrint and the PDF stack: only `report` and `verify BUNDLE` need them.
build = lazy_module("reports.build")
catalog = lazy_module("reports.catalog_load")
signing = lazy_module("reports.signing")
bundle_verify = lazy_module("reports.verify")
store_verify = lazy_module("evidence.store.verify")


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
        with STATE.store(read_only=True) as con:
            result = store_verify.verify_store(con)
        for line in result.lines:
            typer.echo(visible(line))
        if not result.ok:
            raise typer.Exit(1)
        return
    if key is not None and fingerprint is not None:
        raise ConfigError("verify: give --key or --fingerprint, not both")
    with STATE.store(read_only=True) if store else nullcontext() as con:
        try:
            for line in bundle_verify.verify_bundle(
                bundle, key=key, fingerprint=fingerprint, store=con
            ):
                typer.echo(visible(line))
        except bundle_verify.VerifyError as e:
            typer.echo(visible(f"FAILED {e}"))
            raise typer.Exit(1) from None


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
    known = catalog.frameworks()
    if framework != "all" and framework not in known:
        raise ConfigError(
            f"report {framework!r}: unknown framework (one of {', '.join(known)}, all)"
        )
    names = known if framework == "all" else [framework]
    start = instant("--from", from_)
    end = instant("--to", to) + timedelta(days=1)
    cfg = STATE.config()
    key_file = cfg.reports.signing_key_file
    key_path = key_file or signing.default_key_path(cfg.store.path)
    if key_file is None and not key_path.exists():
        err.print(f"creating the report signing key {key_path} (mode 0600); keep it safe")
    signer = signing.load_signer(key_path, create=key_file is None)
    with STATE.store(read_only=True) as con:
        results = build.build_reports(
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
    for r in results:
        typer.echo(str(r.bundle))
