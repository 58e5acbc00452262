"""`python -m tests.kill_probe ARGS`: the `evidence` CLI with each committed run bracketed by
a line in $KILL_PROBE_LOG ("begin", then "end" once the COMMIT has returned), so that a test
that SIGKILLs it can tell where the kill landed: before the first run, inside a run's
transaction, or between runs.

With $KILL_PROBE_SELF=N it SIGKILLs itself inside the N-th run's transaction (1-based),
after every row of the run is written and before COMMIT: the kill a timer rarely hits on a
small tenant. The code under test is the real one; only these two hooks are added.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import evidence.store.load as load
import evidence.sync as sync
from evidence.cli.main import app

_LOG = os.environ.get("KILL_PROBE_LOG")
_SELF = int(os.environ.get("KILL_PROBE_SELF", "0"))
_runs = 0


def _mark(word: str) -> None:
    if _LOG:
        fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{word}\n".encode())
        finally:
            os.close(fd)


_commit_batch = sync.commit_batch
_finish_run = load.finish_run


def _traced_commit(*args: Any, **kwargs: Any) -> Any:
    global _runs
    _runs += 1
    _mark("begin")
    result = _commit_batch(*args, **kwargs)
    _mark("end")
    return result


def _finish_then_die(*args: Any, **kwargs: Any) -> Any:
    result = _finish_run(*args, **kwargs)
    if _runs == _SELF:
        _mark("self-kill")
        os.kill(os.getpid(), signal.SIGKILL)
    return result


sync.commit_batch = _traced_commit
load.finish_run = _finish_then_die

if __name__ == "__main__":
    app(prog_name="evidence")
