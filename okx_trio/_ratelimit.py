"""Client-side pacing to OKX's trade-op rate limits (okx-protocol.md 5.2).

OKX's rule is "at most N requests in any rolling 2 s window", counted per user
for ``mass-cancel`` and the ``sprd-*`` ops and per user and instrument for the
order ops. Batch ops count orders, not requests, and a batch of one counts
against the single op. Going over gets 50011 from the exchange; pacing here
makes a burst wait locally instead.

The bookkeeping is sans-IO (:class:`RateWindows`: every method takes ``now``),
so it is tested synchronously; :class:`RateLimiter` adds the trio wait. A
request counts from the moment it is granted, and until exactly ``window``
seconds later: a request at time ``t`` is allowed when fewer than ``N``
earlier grants happened in ``(t - window, t]``. A task cancelled while it
waits records nothing.

With ``headroom`` below 1 the limit used is ``floor(N * headroom)`` (at least
1), which leaves room for network jitter (the exchange's clock starts when the
frame arrives, not when it was granted here) and for REST calls the same
account may make, since OKX shares these limits between REST and WebSocket.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import trio

__all__ = ["DEFAULT_LIMITS", "WINDOW", "RateLimiter", "RateWindows", "inst_key"]

WINDOW: Final = 2.0
"""OKX's rate-limit window, seconds."""

# op -> (requests or orders per window, counted per instrument?)
DEFAULT_LIMITS: Final[Mapping[str, tuple[int, bool]]] = {
    "order": (60, True),
    "batch-orders": (300, True),
    "cancel-order": (60, True),
    "batch-cancel-orders": (300, True),
    "amend-order": (60, True),
    "batch-amend-orders": (300, True),
    "mass-cancel": (5, False),
    "sprd-order": (20, False),
    "sprd-amend-order": (20, False),
    "sprd-cancel-order": (20, False),
    "sprd-mass-cancel": (5, False),
}

# A batch of one item counts against the single op's bucket.
_SINGLE_OF_BATCH: Final = {
    "batch-orders": "order",
    "batch-cancel-orders": "cancel-order",
    "batch-amend-orders": "amend-order",
}

Key = tuple[str, Any]


def inst_key(arg: object) -> Any:
    """The default bucket key of an order op's arg: its ``instIdCode``, else its ``instId``.

    The same instrument can be named by code or by id; the trade client sends
    the code whenever it knows it, so that is what identifies the bucket.
    """
    if isinstance(arg, Mapping):
        code = arg.get("instIdCode")
        if code is not None:
            return code
        return arg.get("instId")
    return None


class _Bucket:
    __slots__ = ("count", "grants", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.grants: deque[tuple[float, int]] = deque()
        self.count = 0

    def expire(self, now: float, window: float) -> None:
        grants = self.grants
        # Written as ``t + window <= now`` (not ``now - t >= window``) so it
        # agrees exactly with the wake-up time free_at() computes.
        while grants and grants[0][0] + window <= now:
            self.count -= grants.popleft()[1]

    def free_at(self, need: int, window: float) -> float:
        """The earliest time ``need`` more fit, given only the current grants."""
        excess = self.count + need - self.limit
        if excess <= 0:
            return -math.inf
        for t, n in self.grants:
            excess -= n
            if excess <= 0:
                return t + window
        return -math.inf  # unreachable: need <= limit is enforced by the caller


class RateWindows:
    """Sans-IO sliding-window bookkeeping for every (op, instrument) bucket.

    Args:
        headroom: fraction of OKX's limits to use (``1.0`` = exactly OKX's).
        window: window length in seconds.
        limits: ``{op: (limit, per_instrument)}``; defaults to OKX's table.
            Ops not in it are not paced.
    """

    def __init__(
        self,
        *,
        headroom: float = 0.9,
        window: float = WINDOW,
        limits: Mapping[str, tuple[int, bool]] = DEFAULT_LIMITS,
    ) -> None:
        if not 0 < headroom <= 1:
            raise ValueError(f"headroom must be in (0, 1], got {headroom!r}")
        if window <= 0:
            raise ValueError(f"window must be positive, got {window!r}")
        self.headroom = headroom
        self.window = window
        self._limits = {
            op: (max(1, math.floor(limit * headroom + 1e-9)), per_inst)
            for op, (limit, per_inst) in limits.items()
        }
        self._buckets: dict[Key, _Bucket] = {}
        self.inst_key: Callable[[Any], Any] = inst_key
        """Maps an order op's arg to its instrument bucket; the trade client
        replaces it to count option orders per instrument family, as OKX does."""

    def limit(self, op: str) -> int | None:
        """The limit used for ``op`` (after headroom), or ``None`` if unpaced."""
        rule = self._limits.get(op)
        return rule[0] if rule is not None else None

    def demand(self, op: str, args: Sequence[Any]) -> list[tuple[Key, int, int]]:
        """What a request costs: ``[(bucket key, count, limit), ...]``."""
        if len(args) == 1 and op in _SINGLE_OF_BATCH:
            op = _SINGLE_OF_BATCH[op]
        rule = self._limits.get(op)
        if rule is None:
            return []
        limit, per_inst = rule
        if not per_inst:
            return [((op, None), 1, limit)]
        if len(args) == 1:
            return [((op, self.inst_key(args[0])), 1, limit)]
        counts: dict[Any, int] = {}
        for arg in args:
            k = self.inst_key(arg)
            counts[k] = counts.get(k, 0) + 1
        return [((op, k), n, limit) for k, n in counts.items()]

    def _bucket(self, key: Key, limit: int) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(limit)
        return bucket

    def ready_at(self, demand: Iterable[tuple[Key, int, int]], now: float) -> float:
        """The earliest time the whole demand fits (``<= now``: it fits now)."""
        at = -math.inf
        for key, need, limit in demand:
            bucket = self._bucket(key, limit)
            bucket.expire(now, self.window)
            # A batch bigger than the limit could never fit: let it through on
            # an empty window rather than wait forever.
            at = max(at, bucket.free_at(min(need, limit), self.window))
        return at

    def record(self, demand: Iterable[tuple[Key, int, int]], now: float) -> None:
        """Count the demand as granted at ``now``."""
        for key, need, limit in demand:
            bucket = self._bucket(key, limit)
            bucket.grants.append((now, need))
            bucket.count += need

    def try_acquire(self, op: str, args: Sequence[Any], now: float) -> float | None:
        """Grant and record the request if it fits now, else return when to retry."""
        demand = self.demand(op, args)
        if not demand:
            return None
        at = self.ready_at(demand, now)
        if at > now:
            return at
        self.record(demand, now)
        return None

    def prune(self, now: float) -> None:
        """Forget buckets with no grant left in the window (bounds memory)."""
        for key in [k for k, b in self._buckets.items() if not b.grants]:
            del self._buckets[key]
        for bucket in self._buckets.values():
            bucket.expire(now, self.window)


class RateLimiter:
    """Waits until a trade request fits OKX's rate limits, then counts it.

    ``WsClient.request`` calls :meth:`acquire` inside the request's deadline
    before queueing the frame, so a request whose deadline passes while it
    waits ends in ``OkxNotSent`` and is not counted.

    Args:
        headroom: fraction of OKX's limits to use (default 0.9).
        clock: seconds, monotonic; ``trio.current_time`` (so ``MockClock`` works).
        window: window length in seconds (OKX: 2).
        limits: ``{op: (limit, per_instrument)}``, default OKX's table.
    """

    def __init__(
        self,
        headroom: float = 0.9,
        clock: Callable[[], float] = trio.current_time,
        *,
        window: float = WINDOW,
        limits: Mapping[str, tuple[int, bool]] = DEFAULT_LIMITS,
    ) -> None:
        self.windows = RateWindows(headroom=headroom, window=window, limits=limits)
        self._clock = clock
        self._grants = 0
        self.waits = 0
        """How many acquisitions had to wait (statistics)."""

    async def acquire(self, op: str, args: Sequence[Any]) -> None:
        """Wait until ``op`` with ``args`` fits, then count it. A checkpoint.

        Cancelled while waiting, it records nothing.
        """
        await trio.lowlevel.checkpoint()
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
