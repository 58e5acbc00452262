"""The library's errors as one line on stderr and the documented exit code.

Exit codes: 0 ok; 1 the command ran and found a failure it was asked to report (a source
failed, verification failed, findings at or above --fail-on, store busy); 2 usage or input
error, with a one-line message naming the file, record and field. A sync whose failed sources
include one that failed on its input (InputError, ConfigError) exits 2, else 1.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from evidence.cli.terminal import visible
from evidence.errors import (
    ConfigError,
    EvidenceError,
    InputError,
    ReadOnlyViolation,
    StoreBusy,
    StoreError,
)

__all__ = ["exit_code", "handled", "sync_exit_code"]

F = TypeVar("F", bound=Callable[..., Any])


def exit_code(e: EvidenceError) -> int:
    """The exit code of a library error."""
    if isinstance(e, StoreBusy):
        return 1
    if isinstance(e, ConfigError | InputError | ReadOnlyViolation | StoreError):
        return 2
    return 1


def sync_exit_code(failures: list[EvidenceError | None]) -> int:
    """The exit code of a sync whose sources failed with `failures` (0 when none did): 2 when
    any failed on its input (the operator must fix a file or the config), else 1 (a network
    failure, a refused mass removal: the run reports it)."""
    if not failures:
        return 0
    return 2 if any(isinstance(e, ConfigError | InputError) for e in failures) else 1


def handled(fn: F) -> F:
    """Turn the library's errors into one line on stderr and the documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EvidenceError as e:
            typer.echo(f"error: {visible(str(e))}", err=True)
            raise typer.Exit(exit_code(e)) from None

    return wrapper  # type: ignore[return-value]
