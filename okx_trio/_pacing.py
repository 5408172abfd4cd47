"""Waiting for OKX's limits, on trio: trade-op rate limits, connection pacing, backoff.

The bookkeeping is sans-IO in ``_ratelimit`` (every method takes ``now``);
this module adds the trio waits around it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import trio

from ._okx import CONNECT_LIMIT, RATE_LIMITS, RATE_WINDOW, SUB_ACCOUNT_LIMIT
from ._ratelimit import EventWindow, RateWindows, inst_key, inst_type

__all__ = ["CONNECT_SPAN", "Backoff", "ConnectPacer", "RateLimiter", "room"]

CONNECT_SPAN = 1.25
"""The span (seconds) in which at most ``limit`` connections are opened: OKX's
second plus a margin, because OKX counts a connection when it arrives and each
one's TCP, TLS and upgrade take their own time, so four opened exactly a second
apart can arrive within one (HTTP 429)."""


class RateLimiter:
    """Waits until a trade request fits OKX's rate limits, then counts it.

    ``WsClient.request`` calls ``acquire`` inside the request's deadline
    before queueing the frame, so a request whose deadline passes while it
    waits ends in ``OkxNotSent`` and is not counted.

    Args:
        headroom: fraction of OKX's limits to use (default 0.9).
        clock: seconds, monotonic; ``trio.current_time`` (so ``MockClock`` works).
        window: window length in seconds (OKX: 2).
        limits: ``{op: (limit, per_instrument)}``, default OKX's table.
        inst_key: an order op's arg -> its instrument bucket (see
            ``RateWindows``).
        sub_account_limit: OKX's per-sub-account order cap (50061), ``None``
            to leave it unpaced.
        inst_type: an order op's arg -> its instrument type (spot and margin
            orders are exempt from the sub-account cap).
        windows: per-op window lengths where they differ from ``window``.
    """

    def __init__(
        self,
        headroom: float = 0.9,
        clock: Callable[[], float] = trio.current_time,
        *,
        window: float = RATE_WINDOW,
        limits: Mapping[str, tuple[int, bool]] = RATE_LIMITS,
        inst_key: Callable[[Any], Any] = inst_key,
        sub_account_limit: int | None = SUB_ACCOUNT_LIMIT,
        inst_type: Callable[[Any], str | None] = inst_type,
        windows: Mapping[str, float] | None = None,
    ) -> None:
        self.windows = RateWindows(headroom=headroom, window=window, limits=limits,
                                   inst_key=inst_key, sub_account_limit=sub_account_limit,
                                   inst_type=inst_type, windows=windows)
        self._clock = clock
        self._grants = 0
        self.waits = 0
        """How many acquisitions had to wait (statistics)."""

    async def acquire(self, op: str, args: Sequence[Any]) -> None:
        """Wait until ``op`` with ``args`` fits, then count it.

        A cancellation point always, a schedule point only when it waits: its
        callers (a request that then waits for its answer, a REST call that
        then does I/O) reach their own schedule point next, and an extra trip
        through the scheduler would cost every request a task step and an
        ``epoll_wait``. Cancelled while waiting, it records nothing.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        demand = self.windows.demand(op, args)
        if not demand:
            return
        waited = False
        while True:
            now = self._clock()
            at = self.windows.ready_at(demand, now)
            if at <= now:
                break
            waited = True
            if self._clock is trio.current_time:
                await trio.sleep_until(at)
            else:
                await trio.sleep(at - now)
        self.windows.record(demand, now)
        if waited:
            self.waits += 1
        self._grants += 1
        if self._grants % 4096 == 0:
            self.windows.prune(now)


class ConnectPacer:
    """Keeps new connections within OKX's limit (``limit`` per second, default 3),
    with a margin (``CONNECT_SPAN``)."""

    def __init__(self, limit: int = CONNECT_LIMIT) -> None:
        self._window = EventWindow(limit, CONNECT_SPAN)

    async def wait(self) -> None:
        """Return once a new connection may be opened, counting it. Not a checkpoint
        when there is room (the connect that follows is one)."""
        await room(self._window, checkpoint=False)


async def room(window: EventWindow, *, checkpoint: bool = True) -> None:
    """Wait (trio time) until ``window`` has room for one more event, and count it.

    A checkpoint unless ``checkpoint=False`` and there is room at once.
    """
    if checkpoint:
        await trio.lowlevel.checkpoint()
    while True:
        now = trio.current_time()
        at = window.ready_at(now)
        if at <= now:
            window.record(now)
            return
        await trio.sleep_until(at)


class Backoff:
    """Full-jitter exponential backoff: 0-``initial`` first, doubling up to ``maximum``."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        self.initial = initial
        self.maximum = maximum
        self._rng = rng or random.Random()

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (1 = the first retry).

        Bounded for any ``attempt``: the exponent stops growing once the cap is
        reached, so an outage of any length keeps retrying at ``maximum``.
        """
        cap = self.initial
        doublings = 0
        while cap < self.maximum and doublings < attempt - 1:
            cap *= 2
            doublings += 1
        return self._rng.uniform(0, min(cap, self.maximum))
