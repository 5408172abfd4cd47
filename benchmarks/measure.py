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
    """Started once; ``per_op(n)`` or ``rate(n)`` turn the elapsed time into a Sample."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def restart(self) -> None:
        """Start again from now."""
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def per_op(self, n: int, **extra: Any) -> Sample:
        """Seconds per operation over ``n`` operations."""
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        return Sample(wall / n, cpu / n, extra)

    def rate(self, n: int, **extra: Any) -> Sample:
        """Operations per second over ``n`` operations."""
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        return Sample(n / wall, cpu / n, extra)
