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

__all__ = ["SOAK", "FUZZ_EXAMPLES", "size"]

T = TypeVar("T")

SOAK = os.environ.get("EVIDENCE_SOAK") == "1"

# Examples per property: `make test` keeps the suite within its budget; the soak's figure is
# the one the README's Guarantees section quotes.
# EVIDENCE_FUZZ_EXAMPLES overrides both, for a shorter soak or a longer local run.
FUZZ_EXAMPLES = int(os.environ.get("EVIDENCE_FUZZ_EXAMPLES") or (10_000 if SOAK else 60))


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
