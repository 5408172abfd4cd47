"""Where market liquidity comes from: the seeded random walk (a ``MarketSource``).

The engine's books hold two kinds of liquidity: resting user orders and
synthetic "market" levels. A market source owns the synthetic part: it places
the first levels of each instrument (``MarketSource.seed``) and, on each
market step, moves them (``MarketSource.advance``), trading through user
orders the move crosses and sometimes trading as a taker itself, through the
``take`` callable the engine passes (its matching engine, with the step's
pushes). ``RandomWalk`` is the default source; the replay of a recording
(``_replay_market.ReplayMarket``) is the other.

A source may also own the public market channels (``publishes_public``): the
engine then publishes only what its trades change in the accounts, asks the
source what a fresh public subscription gets first and which it refuses, and
hands it each event of its own (a recorded push) through
``MarketSource.on_event`` with the ``MarketMoves`` it may make.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from ._emits import Emit
from ._engine_model import ZERO, Order, floor_step
from ._venue import Instrument

SYNTH_LEVELS = 120
"""Synthetic levels per side (the book shows about 100, within OKX's 400)."""

Take = Callable[[str, Decimal, Decimal], object]
"""``take(taker_side, limit_px, qty)``: a synthetic taker trades up to ``qty`` at ``limit_px``."""


class MarketMoves(Protocol):
    """What a market source may do to the engine while it handles one event."""

    def take(self, inst: Instrument, taker_side: str, limit_px: Decimal, qty: Decimal) -> Decimal:
        """A market taker trades up to ``qty`` at ``limit_px`` (price-time priority,
        synthetic levels first); returns the quantity filled."""
        ...

    def fill(self, inst: Instrument, order: Order, qty: Decimal) -> None:
        """A market taker trades ``qty`` with the resting user ``order``, at its price."""

    def publish(self, emit: Emit) -> None:
        """A public push of the source's own (a replayed one)."""


class MarketSource:
    """What moves the synthetic liquidity of the engine's books.

    ``seed`` and ``advance`` are what every source does; the rest has
    defaults for a source that leaves the public channels to the engine.
    """

    publishes_public: ClassVar[bool] = False
    """The source publishes the public market channels (book, trades, tickers...);
    the engine then publishes none of its own."""

    def seed(self, inst: Instrument) -> None:
        """Place the instrument's first synthetic levels (at construction, nothing pushed)."""

    def advance(self, inst: Instrument, take: Take) -> None:
        """One periodic market step for ``inst``; trades go through ``take``."""

    def on_event(self, event: Any, moves: MarketMoves) -> None:
        """One event of the source's own (see ``_engine.Exchange.market_event``)."""
        raise NotImplementedError(f"{type(self).__name__} has no events of its own")

    def channel_error(self, path: str, arg: dict[str, Any]) -> tuple[str, str] | None:
        """``(code, msg)`` to refuse a subscription the engine would accept, else ``None``."""
        return None

    def initial_pushes(self, arg: dict[str, Any], now: int) -> list[Emit] | None:
        """What a fresh subscription to ``arg`` gets first, or ``None``: the engine's answer."""
        return None

    def rest_book(
        self, channel: str, inst_id: str, depth: int
    ) -> tuple[list[list[str]], list[list[str]], int] | None:
        """``(bids, asks, seqId)`` REST serves for ``channel`` (``"books"`` or
        ``"books-rpi"``), or ``None``: the engine's published book."""
        return None


class RandomWalk(MarketSource):
    """A seeded random walk of each mid price, with synthetic levels around it.

    Each step moves the mid by up to two grid steps, removes synthetic levels
    the move put on the wrong side, lets the market trade through user orders
    it crossed (as makers at their own price), renews the levels around the new
    mid, and three times in ten trades a synthetic taker against the best
    level. Synthetic levels never cross resting user orders.

    Args:
        rng: the random source (the engine shares it, so a seed fixes the whole market).
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def seed(self, inst: Instrument) -> None:
        """Place the first synthetic levels around the start price."""
        self._regen(inst, initial=True)

    def advance(self, inst: Instrument, take: Take) -> None:
        """One step: move the mid, trade crossed user orders, renew the levels, maybe trade."""
        rng = self._rng
        g = inst.grid
        inst.mid_ticks = max(
            inst.min_mid_ticks, inst.mid_ticks + g * rng.choice((-2, -1, -1, 0, 0, 0, 1, 1, 2))
        )
        mk = inst.mid_ticks // g
        step = inst.tick * g
        kb, ka = mk - 1, mk + 1
        bid_top, ask_top = step * kb, step * ka
        # Synthetic levels on the wrong side of the new mid go first, then the
        # market trades through the user orders it crossed.
        for side in (inst.book.bids, inst.book.asks):
            for lvl in list(side.levels.values()):
                if lvl.synth and (lvl.k > kb if side.is_bid else lvl.k < ka):
                    side.set_synth(lvl.px, ZERO, 0)
        crossed_bids = inst.book.bids.user_size(ask_top)
        if crossed_bids:
            take("sell", ask_top, crossed_bids)
        crossed_asks = inst.book.asks.user_size(bid_top)
        if crossed_asks:
            take("buy", bid_top, crossed_asks)
        self._regen(inst)
        if rng.random() < 0.3:
            taker_side = rng.choice(("buy", "sell"))
            opp = inst.book.opposite(taker_side)
            best = opp.best()
            if best is not None:
                total = opp.levels[best].total()
                qty = floor_step(total * Decimal(str(round(rng.uniform(0.05, 1.0), 3))), inst.lot)
                if qty > 0:
                    take(taker_side, best, qty)

    def _synth_size(self, inst: Instrument) -> Decimal:
        factor = Decimal(str(round(self._rng.uniform(0.2, 2.0), 3)))
        return max(inst.lot, floor_step(Decimal(inst.spec.level_sz) * factor, inst.lot))

    def _regen(self, inst: Instrument, *, initial: bool = False) -> None:
        rng = self._rng
        g = inst.grid
        step = inst.tick * g
        mk = inst.mid_ticks // g
        for side in (inst.book.bids, inst.book.asks):
            is_bid = side.is_bid
            top = mk - 1 if is_bid else mk + 1
            window = (
                range(top, max(0, top - SYNTH_LEVELS), -1) if is_bid
                else range(top, top + SYNTH_LEVELS)
            )
            lowest, highest = min(window), max(window)
            present = set()
            for lvl in list(side.levels.values()):
                if lvl.synth:
                    if lvl.k < lowest or lvl.k > highest:
                        side.set_synth(lvl.px, ZERO, 0)
                    else:
                        present.add(lvl.k)
            old_top = inst.synth_top.get(is_bid)
            # Synthetic levels never cross resting user orders of the other side.
            other = inst.book.asks if is_bid else inst.book.bids
            other_best = other.best()
            for k in window:
                if k in present:
                    continue
                px = step * k
                if px <= 0:
                    continue
                if other_best is not None and (px >= other_best if is_bid else px <= other_best):
                    continue
                fresh = initial or old_top is None or (k > old_top if is_bid else k < old_top)
                if rng.random() < (0.85 if fresh else 0.08):
                    side.set_synth(px, self._synth_size(inst), rng.randint(1, 8))
            inst.synth_top[is_bid] = top
            if not initial:
                synth = [px for px, lvl in side.levels.items() if lvl.synth]
                for _ in range(rng.randint(0, 3)):
                    if not synth:
                        break
                    px = rng.choice(synth)
                    side.set_synth(px, self._synth_size(inst), rng.randint(1, 8))
