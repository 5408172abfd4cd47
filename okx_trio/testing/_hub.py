"""The live connections of a simulator, and the fan-out of pushes to them.

``LiveConnections`` is the registry (``connId`` allocation, lookups by
path). ``ConnectionHub`` is what every connection is hosted by (it
implements ``._connection.ConnectionHost``): it counts connections per
account on the counted private channels (``channel-conn-count``), delivers the
engine's pushes to every matching subscription with the armed book faults
applied, and sends the keepalive of subscribed book channels that stayed quiet
for ``._rules.BOOK_KEEPALIVE_S`` (OKX: "around 60 seconds"), from a task of
its own (``ConnectionHub.run_keepalive``) that sleeps until the next one is due.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

import trio

from ._connection import SimConnection
from ._emits import Emit
from ._faults import Faults
from ._rules import BOOK_CHANNELS, BOOK_KEEPALIVE_S, CONN_COUNT_LIMIT
from ._subscription import EncodedEmit


class LiveConnections:
    """The connections being served, by ``connId``.

    Args:
        rng: the source of ``connId`` values (seeded, so runs repeat).
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._by_id: dict[str, SimConnection] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def new_id(self) -> str:
        """A fresh 8-hex ``connId`` no live connection has."""
        while True:
            conn_id = f"{self._rng.getrandbits(32):08x}"
            if conn_id not in self._by_id:
                return conn_id

    def add(self, conn: SimConnection) -> None:
        """Record a live connection."""
        self._by_id[conn.conn_id] = conn

    def remove(self, conn: SimConnection) -> None:
        """Forget a connection (no-op if absent)."""
        self._by_id.pop(conn.conn_id, None)

    def all(self) -> list[SimConnection]:
        """Every live connection, oldest first."""
        return list(self._by_id.values())

    def matching(self, path: str | None) -> list[SimConnection]:
        """The live connections on ``path`` (``None``: all)."""
        return [c for c in self._by_id.values() if path is None or c.path == path]


class ConnectionHub:
    """Hosts the connections: registry, per-account channel counts, push fan-out.

    Args:
        connections: the registry it keeps current.
        faults: the book faults applied to pushes on their way out.
        book_heartbeat: the exchange's keepalive push for a quiet book channel.
        book_keepalive: seconds of quiet before it (``None``: never).
    """

    def __init__(
        self,
        connections: LiveConnections,
        *,
        faults: Faults,
        book_heartbeat: Callable[[str, str], Emit | None],
        book_keepalive: float | None = BOOK_KEEPALIVE_S,
    ) -> None:
        self._connections = connections
        self._faults = faults
        self._book_heartbeat = book_heartbeat
        self._conn_counts: dict[tuple[str, str], set[str]] = {}
        self._book_last: dict[tuple[str, str], float] = {}
        self._keepalive_wake = trio.Event()
        self.book_keepalive = book_keepalive
        """Seconds a subscribed book channel stays quiet before its keepalive."""
        self.conn_count_limit = CONN_COUNT_LIMIT
        """Connections per account and counted channel (OKX: 30)."""

    # -- ConnectionHost -----------------------------------------------------------

    def register(self, conn: SimConnection) -> None:
        """The connection is live."""
        self._connections.add(conn)

    def unregister(self, conn: SimConnection) -> None:
        """The connection is gone: out of the registry and of every count."""
        self._connections.remove(conn)
        for conns in self._conn_counts.values():
            conns.discard(conn.conn_id)

    def count_connection(self, conn: SimConnection, channel: str) -> tuple[bool, int]:
        """Count ``conn`` for ``channel`` of its account (all the account's API keys
        together): ``(admitted, connCount)``.

        Refused (``(False, limit)``) when the account already has the limit.
        """
        account = conn.account_key or ""
        conns = self._conn_counts.setdefault((account, channel), set())
        if conn.conn_id not in conns:
            if len(conns) >= self.conn_count_limit:
                return False, self.conn_count_limit
            conns.add(conn.conn_id)
        return True, len(conns)

    def uncount_connection(self, conn: SimConnection, channel: str) -> None:
        """``conn`` no longer subscribes to ``channel``."""
        conns = self._conn_counts.get((conn.account_key or "", channel))
        if conns is not None:
            conns.discard(conn.conn_id)

    def book_touched(self, inst_id: str, channel: str) -> None:
        """A book channel of ``inst_id`` just pushed; its keepalive waits again."""
        self._book_last[(inst_id, channel)] = trio.current_time()

    def book_subscribed(self, inst_id: str, channel: str) -> None:
        """A connection subscribed to a book channel: its quiet time counts from now
        unless the channel is already watched."""
        self._book_last.setdefault((inst_id, channel), trio.current_time())
        self._keepalive_wake.set()

    def deliver(self, emits: Sequence[Emit]) -> None:
        """Send each emit to every matching subscription."""
        if not emits:
            return
        conns = [c for c in self._connections.all() if c.has_subscriptions]
        subscribed = set().union(*(c.channels for c in conns))
        book_faults = self._faults.has_book_faults()
        for emit in emits:
            if emit.channel not in subscribed:
                # Nobody listens: skip the encoding (the channels' state, seqIds
                # included, moved on in the engine all the same).
                if emit.channel in BOOK_CHANNELS and emit.inst_id is not None:
                    self.book_touched(emit.inst_id, emit.channel)
                continue
            if book_faults:
                faulted = self._faults.apply_book_faults(emit)
                if faulted is None:
                    continue
                emit = faulted
            if emit.channel in BOOK_CHANNELS and emit.inst_id is not None:
                self.book_touched(emit.inst_id, emit.channel)
            enc = EncodedEmit(emit)
            for conn in conns:
                conn.deliver(enc)

    # -- keepalive ------------------------------------------------------------------

    def heartbeats(self) -> float | None:
        """Push the keepalive of every subscribed book channel quiet for long enough.

        Returns:
            When (trio clock) the next keepalive is due; ``None`` when no book
            channel is subscribed (or keepalives are off).
        """
        interval = self.book_keepalive
        if interval is None:
            return None
        now = trio.current_time()
        wanted: set[tuple[str, str]] = set()
        for conn in self._connections.all():
            wanted |= conn.book_subscriptions()
        for key in [k for k in self._book_last if k not in wanted]:
            del self._book_last[key]
        emits = []
        next_due: float | None = None
        for inst_id, channel in sorted(wanted):
            last = self._book_last.setdefault((inst_id, channel), now)
            if now - last >= interval:
                emit = self._book_heartbeat(inst_id, channel)
                self._book_last[(inst_id, channel)] = last = now
                if emit is not None:
                    emits.append(emit)
            due = last + interval
            next_due = due if next_due is None else min(next_due, due)
        self.deliver(emits)
        return next_due

    async def run_keepalive(self) -> None:
        """Send the book keepalives, forever: the simulator's nursery runs it.

        Sleeps until the next one is due, or until a book channel is subscribed
        when none is.
        """
        while True:
            self._keepalive_wake = trio.Event()
            due = self.heartbeats()
            with trio.move_on_at(math.inf if due is None else due):
                await self._keepalive_wake.wait()
