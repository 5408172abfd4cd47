"""Rate limits: rolling windows of request times, per key; ``now`` passed in.

Trade ops (``OpRateLimits``): a key is ``(api_key, op)`` or ``(api_key, op,
instrument)``; its limit is the op's entry in ``._rules.RATE_LIMITS`` (the
second element of the key). REST endpoints (``RestRateLimits``) count on
the same windows, per endpoint and caller. Pure state machines: they never read
a clock, so they are tested without one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from ._rules import RATE_LIMITS, RATE_WINDOW_MS, REST_LIMITS

RateKey = tuple[str, ...]
"""``(api_key, op)`` or ``(api_key, op, instrument key)``."""


class OpRateLimits:
    """At most N requests (or batch items) per key in any rolling window.

    Args:
        limits: op -> ``(limit, per instrument?)``; only the limit is used here.
        window_ms: the window's length, in the unit of ``now``.
    """

    def __init__(
        self,
        limits: dict[str, tuple[int, bool]] = RATE_LIMITS,
        window_ms: int = RATE_WINDOW_MS,
    ) -> None:
        self._limits = limits
        self._window = window_ms
        self._times: dict[RateKey, deque[int]] = {}

    def _cap(self, key: RateKey) -> int:
        return self._limits[key[1]][0]

    def count(self, key: RateKey, now: int) -> int:
        """Requests counted for ``key`` in the window ending at ``now``."""
        window = self._times.get(key)
        if window is None:
            return 0
        while window and window[0] <= now - self._window:
            window.popleft()
        return len(window)

    def _add(self, key: RateKey, now: int) -> None:
        self._times.setdefault(key, deque()).append(now)

    def admit_all(self, keys: Sequence[RateKey], now: int) -> bool:
        """Count one request per key, all or none: False (nothing counted) if any key
        would go over its limit."""
        need: dict[RateKey, int] = {}
        for key in keys:
            need[key] = need.get(key, 0) + 1
        if any(self.count(k, now) + n > self._cap(k) for k, n in need.items()):
            return False
        for key in keys:
            self._add(key, now)
        return True

    def admit_each(self, keys: Sequence[RateKey], now: int) -> list[bool]:
        """Count each key in turn; the ones over their limit are refused (not counted)."""
        admitted = []
        for key in keys:
            if self.count(key, now) + 1 > self._cap(key):
                admitted.append(False)
            else:
                self._add(key, now)
                admitted.append(True)
        return admitted


class RestRateLimits:
    """OKX's REST limits: at most N requests per endpoint and caller in any rolling
    window (2 s, or 1 s for ``account/bills``).

    Args:
        limits: ``"METHOD /path"`` -> ``(limit, window ms, keying parameter)``.
    """

    def __init__(self, limits: dict[str, tuple[int, int, str | None]] = REST_LIMITS) -> None:
        self._limits = limits
        self._windows = {
            window: OpRateLimits({ep: (n, False) for ep, (n, w, _) in limits.items()
                                  if w == window}, window)
            for window in {w for _, w, _ in limits.values()}
        }

    def admit(self, caller: str, endpoint: str, query: dict[str, str], now: int) -> bool:
        """Count one request of ``caller`` (an API key, or ``"ip"`` for public
        endpoints) to ``endpoint``; False (not counted) when it is over the limit."""
        rule = self._limits.get(endpoint)
        if rule is None:
            return True
        _, window, param = rule
        key = (caller, endpoint, query.get(param, "") if param else "")
        return self._windows[window].admit_all([key], now)
