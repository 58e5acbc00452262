"""A clock and a sleep to inject into HTTP clients and stand-ins: sleeping only moves the
clock and records the wait, so rate-limit tests assert waits without waiting."""

from __future__ import annotations

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z, a fixed epoch for every fake clock


class FakeTime:
    """An injectable clock and sleep."""

    def __init__(self, start: float = T0) -> None:
        self.now, self.sleeps = start, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds
