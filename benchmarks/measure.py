"""One measurement: wall-clock figure plus the client's own CPU time per operation.

The wall-clock figure is what the tables rank by. The client CPU per operation
(``time.process_time`` of the client process) is printed beside it because it
does not include the server's share of a round trip, nor time the client spent
waiting for a core on a busy machine.
"""

from __future__ import annotations

import time
from typing import Any


class Sample:
    """``value`` (seconds per op, or ops per second) and ``cpu`` (client s per op)."""

    __slots__ = ("cpu", "extra", "value")

    def __init__(self, value: float, cpu: float, extra: dict[str, Any] | None = None) -> None:
        self.value = value
        self.cpu = cpu
        self.extra = extra or {}

    def __repr__(self) -> str:
        return f"Sample({self.value:.6g}, cpu={self.cpu:.6g}, {self.extra})"


class Clock:
    """Started once; ``per_op(n)`` or ``rate(n)`` turn the elapsed time into a Sample.

    A sequential benchmark calls ``lap()`` after each operation: ``per_op`` then
    also gives the median and the 99th percentile of the single operations
    (``extra["p50"]``, ``extra["p99"]``, seconds). Reading the clock costs
    ~0.1 µs, the same for every contender.
    """

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        self.laps: list[float] = []
        self._last = self.wall

    def restart(self) -> None:
        """Start again from now."""
        self.wall = self._last = time.perf_counter()
        self.cpu = time.process_time()
        self.laps = []

    def lap(self) -> None:
        """One operation ended now (its duration: since the previous lap or the start)."""
        now = time.perf_counter()
        self.laps.append(now - self._last)
        self._last = now

    def per_op(self, n: int, **extra: Any) -> Sample:
        """Seconds per operation over ``n`` operations."""
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        if self.laps:
            laps = sorted(self.laps)
            extra.setdefault("p50", laps[len(laps) // 2])
            extra.setdefault("p99", laps[min(len(laps) - 1, int(len(laps) * 0.99))])
        return Sample(wall / n, cpu / n, extra)

    def rate(self, n: int, **extra: Any) -> Sample:
        """Operations per second over ``n`` operations."""
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        return Sample(n / wall, cpu / n, extra)
