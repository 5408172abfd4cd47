"""The sliding windows of OKX's trade-op rate limits, sans-I/O.

OKX's rule is "at most N requests in any rolling 2 s window", counted per user
for ``mass-cancel`` and the ``sprd-*`` ops and per user and instrument for the
order ops. Batch ops count orders, not requests, and a batch of one counts
against the single op. Going over gets 50011 from the exchange; pacing here
makes a burst wait locally instead.

On top of those, OKX caps each sub-account at 1 000 new and amended orders per
2 s (50061): every order of ``order``, ``batch-orders``, ``amend-order`` and
``batch-amend-orders`` counts, except orders on spot and margin instruments and
MMP orders; cancels do not count. That cap is one more bucket here (key
``("sub-account", None)``), paced with the same headroom as the others.

The bookkeeping is sans-IO (``RateWindows``: every method takes ``now``),
so it is tested synchronously; ``_pacing.RateLimiter`` adds the trio wait. A
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

from ._okx import (
    RATE_LIMITS,
    RATE_WINDOW,
    SINGLE_OF_BATCH,
    SUB_ACCOUNT_EXEMPT_INST_TYPES,
    SUB_ACCOUNT_EXEMPT_ORD_TYPES,
    SUB_ACCOUNT_LIMIT,
    SUB_ACCOUNT_OPS,
    infer_inst_type,
)

__all__ = ["SUB_ACCOUNT_KEY", "RateWindows", "inst_key", "inst_type"]

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


def inst_type(arg: object) -> str | None:
    """The default instrument type of an order op's arg: inferred from its ``instId``.

    ``None`` when the arg names the instrument only by ``instIdCode`` (the
    client's instrument cache knows those; see ``InstrumentCache.inst_type_of``).
    """
    if isinstance(arg, Mapping):
        inst_id = arg.get("instId")
        if isinstance(inst_id, str):
            return infer_inst_type(inst_id)
    return None


SUB_ACCOUNT_KEY: Final = ("sub-account", None)
"""The bucket of OKX's per-sub-account order cap (50061)."""


class _Bucket:
    __slots__ = ("count", "grants", "limit", "window")

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.grants: deque[tuple[float, int]] = deque()
        self.count = 0

    def expire(self, now: float) -> None:
        grants = self.grants
        window = self.window
        # Written as ``t + window <= now`` (not ``now - t >= window``) so it
        # agrees exactly with the wake-up time free_at() computes.
        while grants and grants[0][0] + window <= now:
            self.count -= grants.popleft()[1]

    def free_at(self, need: int) -> float:
        """The earliest time ``need`` more fit, given only the current grants."""
        excess = self.count + need - self.limit
        if excess <= 0:
            return -math.inf
        for t, n in self.grants:
            excess -= n
            if excess <= 0:
                return t + self.window
        return -math.inf  # unreachable: need <= limit is enforced by the caller


class RateWindows:
    """Sans-IO sliding-window bookkeeping for every (op, instrument) bucket.

    Args:
        headroom: fraction of OKX's limits to use (``1.0`` = exactly OKX's).
        window: window length in seconds.
        limits: ``{op: (limit, per_instrument)}``; defaults to OKX's table.
            Ops not in it are not paced.
        inst_key: maps an order op's arg to its instrument bucket (default
            ``inst_key``; the client counts option orders per instrument
            family, as OKX does).
        sub_account_limit: OKX's per-sub-account cap on new and amended orders
            per window (``None``: not paced).
        inst_type: maps an order op's arg to its instrument type, or ``None``
            when unknown (default ``inst_type``); spot and margin orders
            are exempt from the sub-account cap, unknown ones count.
        windows: ``{op: seconds}`` for ops whose window is not ``window``
            (OKX's ``account/bills`` allows 5 requests per second).
    """

    def __init__(
        self,
        *,
        headroom: float = 0.9,
        window: float = RATE_WINDOW,
        limits: Mapping[str, tuple[int, bool]] = RATE_LIMITS,
        inst_key: Callable[[Any], Any] = inst_key,
        sub_account_limit: int | None = SUB_ACCOUNT_LIMIT,
        inst_type: Callable[[Any], str | None] = inst_type,
        windows: Mapping[str, float] | None = None,
    ) -> None:
        if not 0 < headroom <= 1:
            raise ValueError(f"headroom must be in (0, 1], got {headroom!r}")
        if window <= 0 or any(not w > 0 for w in (windows or {}).values()):
            raise ValueError(f"windows must be positive, got {window!r}, {windows!r}")
        self.headroom = headroom
        self.window = window
        self._windows = dict(windows or {})
        self._limits = {
            op: (max(1, math.floor(limit * headroom + 1e-9)), per_inst)
            for op, (limit, per_inst) in limits.items()
        }
        self._sub_account_limit = (
            None if sub_account_limit is None
            else max(1, math.floor(sub_account_limit * headroom + 1e-9))
        )
        self._buckets: dict[Key, _Bucket] = {}
        self.inst_key = inst_key
        """Maps an order op's arg to its instrument bucket."""
        self.inst_type = inst_type
        """Maps an order op's arg to its instrument type (``None``: unknown)."""

    def limit(self, op: str) -> int | None:
        """The limit used for ``op`` (after headroom), or ``None`` if unpaced."""
        rule = self._limits.get(op)
        return rule[0] if rule is not None else None

    @property
    def sub_account_limit(self) -> int | None:
        """The per-sub-account order cap used (after headroom), or ``None`` if unpaced."""
        return self._sub_account_limit

    def demand(self, op: str, args: Sequence[Any]) -> list[tuple[Key, int, int]]:
        """What a request costs: ``[(bucket key, count, limit), ...]``."""
        out = self._op_demand(op, args)
        account_limit = self._sub_account_limit
        if account_limit is not None and op in SUB_ACCOUNT_OPS:
            counted = sum(1 for arg in args if self._counts_to_sub_account(op, arg))
            if counted:
                out.append((SUB_ACCOUNT_KEY, counted, account_limit))
        return out

    def _op_demand(self, op: str, args: Sequence[Any]) -> list[tuple[Key, int, int]]:
        if len(args) == 1 and op in SINGLE_OF_BATCH:
            op = SINGLE_OF_BATCH[op]
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

    def _counts_to_sub_account(self, op: str, arg: Any) -> bool:
        """Whether one order of ``op`` counts against the sub-account cap.

        Spot and margin orders and MMP orders are exempt (an amend does not
        name its order's type, so an amended MMP order still counts: the cap
        is then reached a little early, never exceeded).
        """
        if isinstance(arg, Mapping) and arg.get("ordType") in SUB_ACCOUNT_EXEMPT_ORD_TYPES:
            return False
        return self.inst_type(arg) not in SUB_ACCOUNT_EXEMPT_INST_TYPES

    def _bucket(self, key: Key, limit: int) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            window = self._windows.get(key[0], self.window)
            bucket = self._buckets[key] = _Bucket(limit, window)
        return bucket

    def ready_at(self, demand: Iterable[tuple[Key, int, int]], now: float) -> float:
        """The earliest time the whole demand fits (``<= now``: it fits now)."""
        at = -math.inf
        for key, need, limit in demand:
            bucket = self._bucket(key, limit)
            bucket.expire(now)
            # A batch bigger than the limit could never fit: let it through on
            # an empty window rather than wait forever.
            at = max(at, bucket.free_at(min(need, limit)))
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
            bucket.expire(now)


class EventWindow:
    """At most ``limit`` events in any ``window`` seconds, sans-IO (``now`` passed in).

    Used for OKX's connection limit (3 new connections per second) and each
    connection's control budget (480 subscribe/unsubscribe/login frames per
    hour). An event at ``t`` counts until exactly ``t + window``.
    """

    __slots__ = ("_times", "limit", "window")

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def ready_at(self, now: float) -> float:
        """When one more event fits (``-inf``: it fits now)."""
        times = self._times
        while times and now >= times[0] + self.window:
            times.popleft()
        if len(times) < self.limit:
            return -math.inf
        return times[0] + self.window

    def record(self, now: float) -> None:
        """Count an event at ``now``."""
        self._times.append(now)
