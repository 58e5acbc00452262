"""The `evidence` CLI as a real process (not CliRunner): for tests of locks, kills and races,
where only separate processes show what DuckDB's file lock and a SIGKILL really do.

The process imports this checkout's code (PYTHONPATH), whichever checkout the venv points at.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["EVIDENCE", "ROOT", "env", "run", "start"]

ROOT = Path(__file__).resolve().parents[1]
# The console script, so that the process is named `evidence` as a user's would be.
EVIDENCE = str(Path(sys.executable).with_name("evidence"))


def env() -> dict[str, str]:
    """The environment of a child `evidence`: this checkout first on the import path."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


def start(*args: str, stdin: int | None = subprocess.DEVNULL, cwd: Path | None = None):  # noqa: ANN201
    """`evidence ARGS...` started, its stdout and stderr captured as text."""
    return subprocess.Popen(
        [EVIDENCE, *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
        cwd=cwd,
    )


def run(*args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
    """`evidence ARGS...` run to its end (a hang fails the test after `timeout` s)."""
    return subprocess.run(
        [EVIDENCE, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env(),
        timeout=timeout,
    )
