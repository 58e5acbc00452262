"""Sizes for the long runs: `make test` takes the small one, `make soak` the full one.

`make soak` sets EVIDENCE_SOAK=1 and runs the tests marked `soak`; the same tests run in
`make test` at their small size, so a soak test is never code that only a soak exercises.
Hypothesis reads its profile from here too (tests/conftest.py loads it): a short,
derandomised one for `make test`, 10,000 examples per property for `make soak`.
"""

from __future__ import annotations

import os
from typing import TypeVar

from hypothesis import HealthCheck, settings
from hypothesis.internal.conjecture import engine

__all__ = ["SOAK", "FUZZ_EXAMPLES", "size"]

T = TypeVar("T")

SOAK = os.environ.get("EVIDENCE_SOAK") == "1"

# Examples per property: `make test` keeps the suite within its budget; the soak's figure is
# the one the README's Guarantees section quotes.
# EVIDENCE_FUZZ_EXAMPLES overrides both, for a shorter soak or a longer local run.
FUZZ_EXAMPLES = int(os.environ.get("EVIDENCE_FUZZ_EXAMPLES") or (10_000 if SOAK else 60))


# Hypothesis keeps the last CACHE_SIZE (10,000) examples' results to speed up shrinking; with
# our 1 MiB values that held ~1.3 MB per example, and a 10,000-example CSV property grew past
# 13 GB (generation alone at 600 examples: 1.1 GB, and 0.41 GB with a cache of 50). A short
# cache only means a failing example re-runs a few more times while it shrinks.
if FUZZ_EXAMPLES > 50 and hasattr(engine, "CACHE_SIZE"):
    engine.CACHE_SIZE = 50


def size(small: T, full: T) -> T:
    """`full` under `make soak`, else `small`."""
    return full if SOAK else small


settings.register_profile(
    "evidence",
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    # The short profile is derandomised so that `make test` is reproducible; the soak explores.
    derandomize=not SOAK,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile("evidence")
