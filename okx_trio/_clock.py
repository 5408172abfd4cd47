"""The exchange's clock as one client knows it: an offset from the local wall clock.

OKX judges two things by its own clock: the login timestamp (refused with 60006
outside a 30 s window) and ``expTime``, which the client sends with every
``order``, ``batch-orders``, ``amend-order`` and ``batch-amend-orders`` (refused
with ``sCode`` 50036 once passed). A local clock 10-30 s off passes the login and
gets every order refused, so ``ExchangeClock`` has the offset measured
(``GET /api/v5/public/time``, OKX's own advice) before the first such op, once
per client, and again whenever there is reason to doubt it:

* OKX answered 50036 (a request or an item expired on arrival);
* a trade answer's ``inTime``/``outTime`` (the gateway's receive and send times,
  in µs) cannot be reconciled with the offset: the true offset lies between
  ``outTime - received`` and ``inTime - sent`` (network time only widens that
  interval), so an offset outside it by more than ``SAMPLE_TOLERANCE_MS``
  is wrong.

Measuring is bounded (``MEASURE_TIMEOUT``, and never past the caller's own
deadline) and fails open: if OKX's clock cannot be read in time the request goes
out with the offset it has, and no new attempt is made for
``RETRY_INTERVAL`` seconds, so an unreachable REST host costs each order
nothing. However many tasks need a measurement at once, one is made.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Final, Literal

import trio

__all__ = ["MEASURE_TIMEOUT", "RETRY_INTERVAL", "SAMPLE_TOLERANCE_MS", "ExchangeClock"]

MEASURE_TIMEOUT: Final = 2.0
"""Longest a request waits for the clock to be measured before going out anyway."""
RETRY_INTERVAL: Final = 30.0
"""After a failed or doubted measurement, seconds before the next attempt."""
SAMPLE_TOLERANCE_MS: Final = 1000
"""How far outside a trade answer's ``inTime``/``outTime`` bounds the offset may be."""

ClockState = Literal["unmeasured", "measured", "stale"]


def wall_ms() -> float:
    """The local wall clock in ms, the only one the client reads.

    REST signatures, WebSocket logins, ``expTime``, the exchange clock's
    measurements and samples all call it through this module, so a test that
    pins ``okx_trio._clock.wall_ms`` (to virtual time, say) moves them together.
    """
    return time.time() * 1000


class ExchangeClock:
    """The offset (ms) to add to the local wall clock to get OKX's (see the module docstring).

    Args:
        measure: ``await measure(deadline)`` reads the exchange's clock and
            returns the offset (``GET /api/v5/public/time``); raises on failure.
        automatic: measure before the first ``expTime`` op and when in doubt;
            ``False`` leaves the offset to ``set`` and explicit measurements.
    """

    def __init__(self, measure: Callable[[float], Awaitable[int]], *,
                 automatic: bool = True) -> None:
        self._measure = measure
        self.automatic = automatic
        self.offset_ms = 0
        """Milliseconds added to the local wall clock for login timestamps and ``expTime``."""
        self.state: ClockState = "unmeasured"
        """``unmeasured`` (never measured nor set), ``measured``, or ``stale`` (in doubt)."""
        self.measurements = 0
        """Measurements started automatically (for tests and statistics)."""
        self._retry_at = -math.inf
        self._inflight: trio.Event | None = None

    def now_ms(self) -> int:
        """The exchange's idea of now: local wall clock plus the offset."""
        return int(wall_ms()) + self.offset_ms

    def set(self, offset_ms: int) -> None:
        """Use ``offset_ms`` (measured, or given by the user) until doubted."""
        self.offset_ms = offset_ms
        self.state = "measured"

    def doubt(self) -> None:
        """The offset looks wrong (OKX said 50036): measure again before the next op."""
        if self.state == "measured":
            self.state = "stale"
            self._retry_at = -math.inf

    def sample(self, in_time: str | None, out_time: str | None, sent_ms: float,
               received_ms: float) -> bool:
        """Check the offset against a trade answer's ``inTime``/``outTime``.

        ``sent_ms``: the local wall clock (ms) before the request was handed
        over; ``received_ms``: when its answer was read. Returns True (and
        doubts the offset) when the offset cannot be right.
        """
        try:
            gateway_in = int(in_time) / 1000 if in_time else None
            gateway_out = int(out_time) / 1000 if out_time else None
        except ValueError:
            return False
        low = gateway_out - received_ms if gateway_out is not None else -math.inf
        high = gateway_in - sent_ms if gateway_in is not None else math.inf
        if low - SAMPLE_TOLERANCE_MS <= self.offset_ms <= high + SAMPLE_TOLERANCE_MS:
            return False
        if self.state == "unmeasured":
            self.state = "stale"
        self.doubt()
        return True

    def wanted(self) -> bool:
        """True when an automatic measurement is due now."""
        return (self.automatic and self.state != "measured"
                and trio.current_time() >= self._retry_at)

    async def ensure(self, until: float) -> BaseException | None:
        """Measure the offset if it is due, waiting at most until ``until`` (trio
        time) and ``MEASURE_TIMEOUT``. A checkpoint only when it measures.

        Returns the failure, if the measurement failed or did not finish in time
        (the offset is then left as it was); ``None`` otherwise.
        """
        if not self.wanted():
            return None
        deadline = min(until, trio.current_time() + MEASURE_TIMEOUT)
        if self._inflight is not None:
            # Another task measures: share its result within our own deadline.
            with trio.move_on_at(deadline):
                await self._inflight.wait()
            return None
        done = self._inflight = trio.Event()
        self.measurements += 1
        failure: BaseException | None = None
        try:
            with trio.move_on_at(deadline) as scope:
                self.set(await self._measure(deadline))
            if scope.cancelled_caught:
                failure = trio.TooSlowError("the exchange's clock was not read in time")
        except Exception as exc:
            failure = exc
        finally:
            self._inflight = None
            done.set()
        if failure is not None:
            self._retry_at = trio.current_time() + RETRY_INTERVAL
        return failure
