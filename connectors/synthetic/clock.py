"""Seeded random instants and days, all in UTC, never from the wall clock."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

__all__ = ["between", "day_between", "slug", "seconds"]


def between(rng: random.Random, a: datetime, b: datetime) -> datetime:
    """A whole-second instant in [a, b] (a when the range is empty)."""
    span = int((b - a).total_seconds())
    return a if span <= 0 else a + timedelta(seconds=rng.randint(0, span))


def day_between(rng: random.Random, a: date, b: date) -> date:
    """A day in [a, b] (a when the range is empty)."""
    span = (b - a).days
    return a if span <= 0 else a + timedelta(days=rng.randint(0, span))


def seconds(rng: random.Random, lo: int, hi: int) -> timedelta:
    return timedelta(seconds=rng.randint(lo, hi))


def slug(text: str) -> str:
    return "-".join(text.lower().replace("&", "and").split())
