"""OKX's limit on new WebSocket connections: 3 per second per IP; ``now`` passed in.

OKX documents "Connection limit: 3 requests per second (based on IP)" but not
what a client gets over it. The simulator's reading: the WebSocket upgrade is
refused with HTTP 429 (an in-memory connection fails to connect), and only
admitted connections count, so a client that backs off gets in. The limit is an
option of the simulator (``connect_limit``; ``None`` turns it off).
"""

from __future__ import annotations

from collections import deque

CONNECT_WINDOW = 1.0
"""The window of the limit, seconds."""


class ConnectLimit:
    """At most ``limit`` admitted connections per peer in any window of one second.

    A pure state machine: ``now`` (seconds, any monotonic clock) is passed in.

    Args:
        limit: connections per peer and window (OKX: 3).
        window: the window's length, seconds.
    """

    def __init__(self, limit: int, window: float = CONNECT_WINDOW) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError("the connection limit must be an int >= 1")
        self.limit = limit
        self._window = window
        self._admitted: dict[str, deque[float]] = {}

    def admit(self, peer: str, now: float) -> bool:
        """Count a new connection from ``peer`` if it fits; False (not counted) if not."""
        times = self._admitted.setdefault(peer, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True
