"""Order book of the simulator's exchange engine, and its published feeds.

A ``Book`` holds two sides of price levels. Each level has synthetic
"market" liquidity (placed by the seeded random walk, always ahead of user
orders in the queue) and a FIFO queue of resting user orders.

A ``BookFeed`` is what one incremental channel (``books``,
``books50-l2-tbt``) has told its subscribers: the published top-N levels and the
``seqId`` chain. Diffing the current book against it gives the update to push.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from decimal import Decimal

from ._engine_model import ZERO, Order, fmt

# A published level: [px, sz, "0", orderCount], all strings, as OKX pushes it (the
# third field is OKX's deprecated liquidated-orders count, always "0").
Level4 = list[str]


def book_checksum(bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]]) -> int:
    """OKX's order book CRC32, signed 32-bit.

    ``bids``/``asks`` are best-first lists of ``[px, sz, ...]`` strings exactly
    as pushed; the top 25 of each side are interleaved bid, ask, bid, ask...
    and joined with ``:`` (a side that runs out simply stops contributing).

    The simulator's own copy, not the client's: a client that computed the CRC
    wrongly must see a mismatch here as it would against OKX. OKX announced in
    2026 that its book channels drop the checksum; whether production still
    sends it is unconfirmed, so the simulator sends 0 unless asked
    (``open_simulator(checksum=True)``).
    """
    parts: list[str] = []
    for i in range(25):
        if i < len(bids):
            parts += bids[i][:2]
        if i < len(asks):
            parts += asks[i][:2]
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= 1 << 31 else value


class Level:
    """One price level: synthetic size first, then user orders in time priority.

    ``user`` is the open size of the queued user orders and ``by_key`` the same
    per account, kept as running totals (each queued order remembers what it
    added in ``Order.booked``), so publishing a level or peeking at what a taker
    could fill costs the same with one order at the price or thousands.
    ``row`` caches the published ``[px, sz, "0", count]``; whoever changes the
    level (its synthetic size, its queue, or the open size of a queued order)
    calls ``changed``.
    """

    __slots__ = ("by_key", "k", "orders", "px", "px_s", "row", "synth", "synth_cnt", "user")

    def __init__(self, px: Decimal, k: int) -> None:
        self.px = px
        self.px_s = fmt(px)
        self.k = k
        self.synth = ZERO
        self.synth_cnt = 0
        self.orders: list[Order] = []
        self.user = ZERO
        self.by_key: dict[str, Decimal] = {}
        self.row: Level4 | None = None

    def changed(self) -> None:
        """Drop the cached published row."""
        self.row = None

    def _count(self, order: Order, delta: Decimal) -> None:
        self.user += delta
        key = order.api_key
        left = self.by_key.get(key, ZERO) + delta
        if left:
            self.by_key[key] = left
        else:
            self.by_key.pop(key, None)
        order.booked += delta
        self.row = None

    def add(self, order: Order) -> None:
        """Queue ``order`` at the back, counting its open size."""
        self.orders.append(order)
        self._count(order, order.leaves)

    def discard(self, order: Order) -> bool:
        """Take ``order`` out of the queue (and its size out of the totals); False if absent."""
        try:
            self.orders.remove(order)
        except ValueError:
            return False
        self._count(order, -order.booked)
        return True

    def sync(self, order: Order) -> None:
        """A queued order's open size changed in place: count the difference."""
        if order.booked:
            delta = order.leaves - order.booked
            if delta:
                self._count(order, delta)

    def total(self) -> Decimal:
        """Visible size: synthetic plus the open size of user orders."""
        return self.synth + self.user

    def others(self, api_key: str | None) -> Decimal:
        """Visible size not belonging to ``api_key`` (what its taker could fill here)."""
        if api_key is None:
            return self.synth + self.user
        return self.synth + self.user - self.by_key.get(api_key, ZERO)

    def count(self) -> int:
        """Order count shown in the book."""
        return (self.synth_cnt if self.synth else 0) + len(self.orders)

    def published(self) -> Level4:
        """``[px, sz, "0", orderCount]`` as pushed."""
        row = self.row
        if row is None:
            row = self.row = [self.px_s, fmt(self.synth + self.user), "0", str(self.count())]
        return row

    def empty(self) -> bool:
        """True when nothing rests here."""
        return not self.synth and not self.orders


class Side:
    """One side of a book; ``prices()`` is best first (bids descending, asks ascending)."""

    def __init__(self, is_bid: bool, step: Decimal) -> None:
        self.is_bid = is_bid
        self.step = step
        self.levels: dict[Decimal, Level] = {}
        self._sorted: list[Decimal] | None = None

    def prices(self) -> list[Decimal]:
        """Level prices, best first."""
        if self._sorted is None:
            self._sorted = sorted(self.levels, reverse=self.is_bid)
        return self._sorted

    def best(self) -> Decimal | None:
        """Best price, or ``None`` when the side is empty."""
        prices = self.prices()
        return prices[0] if prices else None

    def level(self, px: Decimal) -> Level:
        """The level at ``px``, created if absent."""
        lvl = self.levels.get(px)
        if lvl is None:
            lvl = self.levels[px] = Level(px, int(px // self.step))
            self._sorted = None
        return lvl

    def prune(self, px: Decimal) -> None:
        """Drop the level at ``px`` if nothing rests there."""
        lvl = self.levels.get(px)
        if lvl is not None and lvl.empty():
            del self.levels[px]
            self._sorted = None

    def set_synth(self, px: Decimal, sz: Decimal, cnt: int) -> None:
        """Set the synthetic size at ``px`` (0 removes it)."""
        lvl = self.level(px)
        lvl.synth = sz
        lvl.synth_cnt = cnt if sz else 0
        lvl.row = None
        self.prune(px)

    def add_order(self, order: Order) -> None:
        """Queue a user order at the back of its level."""
        assert order.px is not None
        self.level(order.px).add(order)

    def remove_order(self, order: Order) -> None:
        """Take a user order out of its level (no-op if absent)."""
        if order.px is None:
            return
        lvl = self.levels.get(order.px)
        if lvl is None or not lvl.discard(order):
            return
        self.prune(order.px)

    def order_changed(self, order: Order) -> None:
        """A queued order's open size changed in place (no-op if it is not queued)."""
        if order.px is not None and order.booked:
            lvl = self.levels.get(order.px)
            if lvl is not None:
                lvl.sync(order)

    def user_size(self, beyond: Decimal) -> Decimal:
        """Open size of user orders priced at or through ``beyond`` (bids >=, asks <=)."""
        if self.is_bid:
            return sum((lvl.user for px, lvl in self.levels.items() if px >= beyond), ZERO)
        return sum((lvl.user for px, lvl in self.levels.items() if px <= beyond), ZERO)

    def top(self, depth: int) -> list[Level4]:
        """The best ``depth`` levels as published strings."""
        levels = self.levels
        return [levels[px].published() for px in self.prices()[:depth]]

    def user_orders(self) -> list[Order]:
        """Every resting user order on this side, best price first, then time."""
        return [o for px in self.prices() for o in self.levels[px].orders]


class Book:
    """Both sides of one instrument's book; ``step`` is the synthetic grid (``Level.k``)."""

    def __init__(self, step: Decimal) -> None:
        self.bids = Side(True, step)
        self.asks = Side(False, step)

    def side(self, side: str) -> Side:
        """The side a ``buy``/``sell`` order rests on."""
        return self.bids if side == "buy" else self.asks

    def opposite(self, side: str) -> Side:
        """The side a ``buy``/``sell`` order takes from."""
        return self.asks if side == "buy" else self.bids

    def crossed(self) -> bool:
        """True if best bid >= best ask (must never happen)."""
        bid, ask = self.bids.best(), self.asks.best()
        return bid is not None and ask is not None and bid >= ask


class BookFeed:
    """What an incremental book channel has published: top-``depth`` levels and seqIds."""

    def __init__(self, depth: int, seq_id: int) -> None:
        self.depth = depth
        self.seq_id = seq_id
        self.bids: list[Level4] = []
        self.asks: list[Level4] = []
        self.reset_pending = False

    @staticmethod
    def _diff(old: list[Level4], new: list[Level4]) -> list[Level4]:
        before = {lvl[0]: lvl for lvl in old}
        after = {lvl[0]: lvl for lvl in new}
        changes: list[Level4] = []
        for px, lvl in after.items():
            if before.get(px) != lvl:
                changes.append(lvl)
        for px in before:
            if px not in after:
                changes.append([px, "0", "0", "0"])
        return changes

    def update(
        self, bids: list[Level4], asks: list[Level4], next_seq: int
    ) -> tuple[list[Level4], list[Level4], int, int] | None:
        """Publish the new top levels; ``(bid_changes, ask_changes, prev, seq)`` or None.

        Changes are sorted best first; removed levels have size ``"0"``.
        ``next_seq`` is the seqId to use (a reset passes a smaller one).
        """
        bid_changes = self._diff(self.bids, bids)
        ask_changes = self._diff(self.asks, asks)
        if not bid_changes and not ask_changes:
            return None
        bid_changes.sort(key=lambda lvl: -Decimal(lvl[0]))
        ask_changes.sort(key=lambda lvl: Decimal(lvl[0]))
        self.bids, self.asks = bids, asks
        prev, self.seq_id = self.seq_id, next_seq
        return bid_changes, ask_changes, prev, next_seq

    def checksum(self) -> int:
        """CRC32 of the published top 25 levels."""
        return book_checksum(self.bids, self.asks)
